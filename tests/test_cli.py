"""The `storefront check` command and the shared CLI behaviour."""

from __future__ import annotations

from storefront.cli import main

from .conftest import MINIMAL_CATALOG


def test_check_builtin_catalog_prints_a_summary(runner):
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "catalog.toml: OK (1 book(s), 12 offer(s), 9 vendor(s), 2 campaign(s)" in result.stdout


def test_check_lists_every_mistake_and_exits_1(runner, write_catalog):
    broken = (
        MINIMAL_CATALOG.replace('title = "First Book"', "title = 7")
        .replace('currency = "USD"', 'currency = "usd"', 1)
        .replace('url = "https://other.example/first"', 'url = "javascript:alert(1)"')
        .replace('name = "Other Store"', 'name = "Other Store"\nnickname = "x"')
    )
    path = write_catalog(broken)
    result = runner.invoke(main, ["check", "--catalog", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "4 problem(s) in the catalog."
    problems = lines[:-1]
    assert [p.split(": ")[1] for p in problems] == [
        "vendors[1].nickname",
        "books[0].title",
        "books[0].editions[0].offers[0].currency",
        "books[0].editions[0].offers[1].url",
    ]
    assert all(p.startswith("catalog.toml:") for p in problems)
    assert "Traceback" not in result.output


def test_catalog_setting_is_read_from_the_environment(runner, write_catalog, monkeypatch):
    path = write_catalog()
    monkeypatch.setenv("STOREFRONT_CATALOG", str(path))
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0
    assert "1 book(s), 2 offer(s)" in result.stdout


def test_missing_catalog_file_is_a_clean_error(runner, tmp_path):
    result = runner.invoke(main, ["check", "--catalog", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1
    assert "file not found" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
