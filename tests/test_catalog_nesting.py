"""Deeply nested TOML is one clear catalog error in check, serve and hot reload: no traceback."""

from __future__ import annotations

import logging
import os

import pytest

from storefront.catalog import CatalogError, load_catalog
from storefront.catalog.nesting import MAX_NESTING, too_deep_line
from storefront.cli import main

from .conftest import MINIMAL_CATALOG

DEEP = 100_000
DEEP_VALUES = {
    "arrays": "deep = " + "[" * DEEP + "]" * DEEP,
    "inline tables": "deep = " + "{a = " * DEEP + "1" + "}" * DEEP,
    "arrays of inline tables": "deep = " + "[{a = " * (DEEP // 2) + "1" + "}]" * (DEEP // 2),
    "unclosed": "deep = " + "[" * DEEP,
}


@pytest.mark.parametrize("value", DEEP_VALUES.values(), ids=DEEP_VALUES.keys())
def test_deep_nesting_is_one_catalog_error_naming_the_line(write_catalog, value):
    text = MINIMAL_CATALOG.replace(
        'timezone = "America/New_York"\n', f'timezone = "America/New_York"\n{value}\n'
    )
    line = text.splitlines().index(value) + 1
    with pytest.raises(CatalogError) as info:
        load_catalog(write_catalog(text))
    (problem,) = info.value.problems
    assert str(problem) == (
        f"catalog.toml:{line}: values nested too deeply "
        f"(more than {MAX_NESTING} levels of [ ] or {{ }})"
    )


def test_nesting_a_catalog_needs_is_accepted(write_catalog):
    value = "[" * MAX_NESTING + "]" * MAX_NESTING
    assert too_deep_line(f"x = {value}") is None
    text = MINIMAL_CATALOG.replace('authors = ["A. Writer"]', 'authors = ["A. [Writer]"]')
    assert load_catalog(write_catalog(text)).book("first").authors == ("A. [Writer]",)


@pytest.mark.parametrize(
    "text",
    [
        'a = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["',
        "a = '{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{'",
        'a = """\n' + "[" * 50 + '\n"""',
        "a = '''" + "{" * 50 + "''''",
        "# " + "[" * 50,
        'a = "\\"' + "[" * 50 + '"',
    ],
)
def test_brackets_in_strings_and_comments_do_not_count(text):
    assert too_deep_line(text) is None


def test_a_very_deep_table_header_is_an_unknown_key_not_a_traceback(write_catalog):
    text = MINIMAL_CATALOG + "\n[" + ".".join(["a"] * 20_000) + "]\nb = 1\n"
    with pytest.raises(CatalogError) as info:
        load_catalog(write_catalog(text))
    assert [p.message for p in info.value.problems] == ["unknown key 'a'"]


@pytest.mark.parametrize("command", ["check", "serve"])
def test_check_and_serve_print_one_line_and_exit_1(write_catalog, runner, command):
    text = DEEP_VALUES["arrays"] + "\n" + MINIMAL_CATALOG
    result = runner.invoke(main, [command, "--catalog", str(write_catalog(text))])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    message = f"values nested too deeply (more than {MAX_NESTING} levels of [ ] or {{ }})"
    assert result.stderr.splitlines() == [
        f"catalog.toml:1: {message}",
        "1 problem(s) in the catalog.",
    ]


def test_hot_reload_of_a_deep_catalog_keeps_serving_the_last_good_one(
    make_app, write_catalog, caplog
):
    path = write_catalog(MINIMAL_CATALOG)
    client = make_app(CATALOG=str(path)).test_client()
    assert client.get("/books/first").status_code == 200
    path.write_text(DEEP_VALUES["inline tables"] + "\n" + MINIMAL_CATALOG, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))
    with caplog.at_level(logging.ERROR):
        response = client.get("/books/first")
    assert response.status_code == 200
    assert "First Book" in response.get_data(as_text=True)
    assert any("nested too deeply" in r.getMessage() for r in caplog.records)


def _toml(value, rng) -> str:
    """``value`` as a TOML inline value, strings in any of the four quoting styles."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v, rng) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"k{i} = {_toml(v, rng)}" for i, v in enumerate(value.values())) + "}"
        )
    if isinstance(value, int):
        return str(value)
    style = rng.choice(("basic", "literal", "ml-basic", "ml-literal"))
    if style == "literal" and "'" not in value and "\n" not in value:
        return f"'{value}'"
    if (
        style == "ml-literal"
        and "'''" not in value
        and not value.endswith("'")
        and (
            not value.startswith("\n")  # a first newline is trimmed by TOML
        )
    ):
        return f"'''{value}'''"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"""{escaped}"""' if style == "ml-basic" else f'"{escaped}"'


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


def _value(rng, depth: int):
    if depth == 0 or rng.random() < 0.2:
        if rng.random() < 0.3:
            return rng.randrange(100)
        return "".join(rng.choice("ab[]{}#'\" \\\n=,") for _ in range(rng.randrange(8)))
    items = [_value(rng, depth - 1) for _ in range(rng.randrange(1, 4))]
    if rng.random() < 0.5:
        return items
    return {f"k{i}": v for i, v in enumerate(items)}


def test_the_scan_measures_the_depth_the_parser_sees():
    """Random values, brackets and quotes inside their strings: scan depth = structure depth."""
    import random
    import tomllib

    rng = random.Random(20261201)
    for _ in range(400):
        value = _value(rng, rng.randrange(1, 12))
        text = f"# a [comment {{\nx = {_toml(value, rng)}\n"
        assert tomllib.loads(text)["x"] == value, text  # the generator writes valid TOML
        depth = _depth(value)
        if depth:
            line = too_deep_line(text, limit=depth - 1)
            assert line and line >= 2, text  # a multi-line string can push it further down
            assert set("[{") & set(text.splitlines()[line - 1]), (line, text)
        assert too_deep_line(text, limit=depth) is None, text
