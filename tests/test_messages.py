"""Messages that tell the fix: the right check digit, the TOML line with a caret, exact prices,
and a font that can draw what no configured font can."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storefront.catalog import CatalogError, load_catalog
from storefront.cli import main
from tests.conftest import MINIMAL_CATALOG, require_executable
from widgets.print.checks import family_that_draws, uncovered_message

SHOP_PRICE = 'url = "https://shop.example/first"\nprice = "10.00"'


def problems_of(text: str, tmp_path) -> list:
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    return info.value.problems


def with_isbn(isbn: str) -> str:
    return MINIMAL_CATALOG.replace('format = "ebook"\n', f'format = "ebook"\nisbn = "{isbn}"\n')


@pytest.mark.parametrize(
    ("isbn", "found", "right"),
    [
        ("978-0-306-40615-6", "6", "7"),  # ISBN-13: 978-0-306-40615-7 is right
        ("0-306-40615-3", "3", "2"),  # ISBN-10: 0-306-40615-2
        ("0-8044-2957-5", "5", "X"),  # ISBN-10 whose check character is X
    ],
)
def test_wrong_isbn_check_digit_names_the_right_one(tmp_path, isbn, found, right):
    (problem,) = problems_of(with_isbn(isbn), tmp_path)
    assert problem.path == "books[0].editions[0].isbn"
    assert f"the last character is {found}, but the digits before it make it {right}" in (
        problem.message
    )


@pytest.mark.parametrize("isbn", ["978-0-306-40615-7", "0-306-40615-2", "0-8044-2957-X"])
def test_the_named_digit_is_accepted(tmp_path, isbn):
    path = tmp_path / "catalog.toml"
    path.write_text(with_isbn(isbn), encoding="utf-8")
    assert load_catalog(path).books[0].editions[0].isbn


@pytest.mark.parametrize(
    ("bad", "good", "column", "words"),
    [
        ('name = "The Shop"', "name = The Shop", 8, "TOML expected a value here"),
        ('name = "The Shop"', 'name = "The" Shop', 14, "TOML expected the line to end"),
        ('slug = "shop"', 'slug "shop"', 6, "TOML expected `=` after the key"),
        ('title = "First Book"', 'title = "First Book', 20, "a string is not closed"),
    ],
)
def test_toml_syntax_error_shows_the_line_and_a_caret(tmp_path, bad, good, column, words):
    text = MINIMAL_CATALOG.replace(bad, good, 1)
    (problem,) = problems_of(text, tmp_path)
    line = text.splitlines()[problem.line - 1]
    assert line == good
    assert words in problem.message and f"column {column}" in problem.message
    shown, caret = problem.excerpt.splitlines()
    assert shown == "    " + good
    assert caret.index("^") - 4 == column - 1  # under the column tomllib names
    assert str(problem).splitlines()[1:] == [shown, caret]


def test_check_prints_the_caret_under_the_column(tmp_path, runner):
    path = tmp_path / "catalog.toml"
    path.write_text(MINIMAL_CATALOG.replace('title = "Test Books"', "title = Test Books"))
    result = runner.invoke(main, ["check", "--catalog", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if "TOML syntax error" in line)
    assert lines[at].startswith("catalog.toml:3: TOML syntax error at column 9:")
    assert lines[at + 1] == "    title = Test Books"
    assert lines[at + 2] == "            ^"


def test_a_bare_float_price_is_read_exactly_from_the_source(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text(MINIMAL_CATALOG.replace(SHOP_PRICE, SHOP_PRICE.replace('"10.00"', "2.99")))
    offer = load_catalog(path).books[0].offers[0]
    assert offer.price == Decimal("2.99") and str(offer.price) == "2.99"
    assert isinstance(offer.price, Decimal)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2.999", """'2.999' has more than 2 decimals for USD: write price = "2.99" or "3.00\""""),
        ("nan", "is not a finite number"),
        ("-inf", "is not a finite number"),
    ],
)
def test_an_inexact_or_impossible_price_is_refused_with_the_fix(tmp_path, value, message):
    text = MINIMAL_CATALOG.replace(SHOP_PRICE, SHOP_PRICE.replace('"10.00"', value))
    (problem,) = problems_of(text, tmp_path)
    assert problem.path == "books[0].editions[0].offers[0].price"
    assert message in problem.message


def test_an_undrawable_character_names_an_installed_font_that_can(tmp_path, runner):
    require_executable("fc-list")
    family = family_that_draws("あ")
    assert family == "VL Gothic"  # fonts-vlgothic, installed by .ci/run
    message = uncovered_message("あ")
    assert 'add Hira = "VL Gothic" under [site.fonts]' in message
    # The advice works: copied into [site.fonts], the catalog passes `check`.
    text = MINIMAL_CATALOG.replace('title = "First Book"', 'title = "First Book あ"')
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    failed = runner.invoke(main, ["check", "--catalog", str(path)])
    assert failed.exit_code == 1 and 'Hira = "VL Gothic"' in failed.output
    fixed = text.replace(
        'timezone = "America/New_York"\n',
        'timezone = "America/New_York"\n[site.fonts]\nHira = "VL Gothic"\n',
        1,
    )
    path.write_text(fixed, encoding="utf-8")
    assert runner.invoke(main, ["check", "--catalog", str(path)]).exit_code == 0


def test_no_installed_font_is_said_plainly():
    message = uncovered_message("\U0001d800")  # Sutton SignWriting: no font here has it
    assert "no installed font draws every Sgnw character" in message
