"""The `storefront check` command and the shared CLI behaviour."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture
def served(monkeypatch, tmp_path) -> Iterator[list[dict]]:
    """`storefront serve` up to the point it starts the server: the arguments it would use."""
    calls: list[dict] = []
    monkeypatch.setattr("storefront.server.run_server", lambda **kw: calls.append(kw))
    monkeypatch.chdir(tmp_path)
    before = dict(os.environ)
    yield calls
    os.environ.clear()
    os.environ.update(before)  # serve sets STOREFRONT_* for its workers


def test_serve_without_a_base_url_links_to_its_own_host_and_port(runner, served, tmp_path):
    result = runner.invoke(main, ["serve", "--port", "18001"])
    assert result.exit_code == 0, result.output
    assert os.environ["STOREFRONT_BASE_URL"] == "http://127.0.0.1:18001"
    assert "Warning" not in result.stderr
    (call,) = served
    assert (call["host"], call["port"]) == ("127.0.0.1", 18001)
    # Its own instance folder (./instance of the working dir), passed on to the workers.
    assert os.environ["STOREFRONT_INSTANCE_PATH"] == str(tmp_path / "instance")


def test_serve_keeps_a_configured_base_url(runner, served, monkeypatch):
    monkeypatch.setenv("STOREFRONT_BASE_URL", "https://books.example.org")
    result = runner.invoke(main, ["serve", "--port", "18001"])
    assert result.exit_code == 0, result.output
    assert os.environ["STOREFRONT_BASE_URL"] == "https://books.example.org"


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        ("0.0.0.0", None),
        ("::", None),
        ("192.0.2.10", "http://localhost:8000"),
        ("0.0.0.0", "http://127.0.0.1:8000"),
    ],
)
def test_serve_warns_when_public_interface_has_a_loopback_public_url(
    runner, served, monkeypatch, host, base_url
):
    if base_url:
        monkeypatch.setenv("STOREFRONT_BASE_URL", base_url)
    result = runner.invoke(main, ["serve", "--host", host, "--port", "18002"])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.stderr.splitlines() if line.startswith("Warning")]
    assert len(warning) == 1
    assert "STOREFRONT_BASE_URL" in warning[0]


@pytest.mark.parametrize(
    ("host", "base_url"),
    [("192.0.2.10", None), ("0.0.0.0", "https://books.example.org"), ("127.0.0.1", None)],
)
def test_serve_does_not_warn_when_the_public_url_can_be_reached(
    runner, served, monkeypatch, host, base_url
):
    if base_url:
        monkeypatch.setenv("STOREFRONT_BASE_URL", base_url)
    result = runner.invoke(main, ["serve", "--host", host, "--port", "18002"])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr


def test_serve_refuses_a_broken_instance_config_with_one_line(runner, served, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("DATABASE_TIMEOUT = (\n")
    result = runner.invoke(main, ["serve"])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {tmp_path / 'instance' / 'config.py'}: SyntaxError")
    assert served == []


def test_serve_reads_instance_config_like_the_app(runner, served, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text('BASE_URL = "https://books.example.org"\n')
    result = runner.invoke(main, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr  # the public URL is the configured one
    assert "public URL https://books.example.org" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STOREFRONT_DATABASE_TIMEOUT": "fast"}, "STOREFRONT_DATABASE_TIMEOUT: 'fast' is not"),
        ({"STOREFRONT_REPEAT_WINDOW": "30m"}, "STOREFRONT_REPEAT_WINDOW: '30m' is not a number"),
        # Refused once by serve, not by every worker as it starts.
        ({"STOREFRONT_CLICK_BUDGET": "0"}, "STOREFRONT_CLICK_BUDGET: '0' must be more than 0"),
        ({"STOREFRONT_INSTANCE_PATH": "/proc/storefront"}, "cannot create the instance folder"),
        (
            {"STOREFRONT_DATABASE_URL": "nosuchdb://writer:hunter2@db.example/x"},
            "STOREFRONT_DATABASE_URL: cannot use 'nosuchdb://writer:***@db.example/x'",
        ),
    ],
)
def test_serve_refuses_a_bad_setting_with_one_line(runner, served, monkeypatch, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(main, ["serve"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"Error: {result.stderr[7:].strip()}"]
    assert message in result.stderr
    assert "hunter2" not in result.output
    assert served == []


@pytest.mark.parametrize("where", ["file", "proc"])
def test_export_into_a_folder_that_cannot_be_written_is_one_line(runner, tmp_path, where):
    if where == "file":
        (tmp_path / "a-file").write_text("not a folder")
        target = tmp_path / "a-file" / "site"
    else:
        target = Path("/proc/storefront-site")
    result = runner.invoke(
        main, ["export", str(target), "--direct", "--base-url", "https://books.example.org"]
    )
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: cannot use '")
    assert str(target.parent) in line
