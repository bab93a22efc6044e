"""A flyer with one quote is a designed page: the quote takes the space, no third left blank.

Measured from the PDF with poppler's ``pdftotext -bbox-layout`` (the position of every
line of text): the quote block's height, its type size, and the blank between the
quote's source line and the footer, as fractions of the page height. Before the pull
quote, the Genesis letter flyer's quote filled 9% of the page and left 15% blank below.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from storefront.catalog import builtin_catalog_path, load_catalog
from storefront.urls import Urls
from tests.conftest import require_executable
from widgets.print import build_piece

BASE = "https://books.example.org"
TWO_CURRENCIES = Path(__file__).parent / "data" / "sale_two_currencies" / "catalog.toml"


def text_lines(pdf: bytes, tmp_path) -> tuple[float, list[tuple[float, float, str]]]:
    """(page height, [(top, bottom, text)]) of the first page, from pdftotext."""
    tool = require_executable("pdftotext")
    (tmp_path / "piece.pdf").write_bytes(pdf)
    out = tmp_path / "piece.html"
    subprocess.run([tool, "-bbox-layout", str(tmp_path / "piece.pdf"), str(out)], check=True)
    soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    page = soup.find("page")
    lines = [
        (float(line["ymin"]), float(line["ymax"]), " ".join(w.get_text() for w in line("word")))
        for line in page("line")
    ]
    return float(page["height"]), lines


def measure(pdf: bytes, tmp_path) -> dict[str, float]:
    height, lines = text_lines(pdf, tmp_path)
    quote = next(line for line in lines if line[2].startswith("“"))
    source = next(line for line in lines if line[2].startswith("—"))
    scan = next(line for line in lines if line[2].startswith("Scan the code"))
    return {
        "block": (source[1] - quote[0]) / height,
        "blank_below": (scan[0] - source[1]) / height,
        "type_pt": quote[1] - quote[0],
    }


@pytest.mark.parametrize(("piece", "block"), [("flyer-letter", 0.15), ("flyer-a4", 0.2)])
def test_one_long_quote_fills_its_zone(tmp_path, piece, block):
    catalog = load_catalog(builtin_catalog_path())
    book = catalog.book("genesis")
    assert len(book.quotes) == 1
    m = measure(build_piece(catalog, book, piece, urls=Urls(BASE)), tmp_path)
    assert m["block"] >= block, m  # the quote fills the page, not 9% of it
    assert m["blank_below"] <= 0.09, m  # no third of the zone left blank (was 15% of the page)
    assert m["type_pt"] >= 20, m  # a pull quote, larger than the 16 pt of several quotes


def test_one_short_quote_is_a_large_pull_quote_in_the_middle(tmp_path):
    catalog = load_catalog(TWO_CURRENCIES)
    book = catalog.book("winter")
    assert [q.text for q in book.quotes] == ["Luminous."]
    m = measure(build_piece(catalog, book, "flyer-letter", urls=Urls(BASE)), tmp_path)
    assert m["type_pt"] >= 36, m
    assert m["blank_below"] <= 0.1, m


def test_several_quotes_keep_their_columns(tmp_path):
    from tests.test_flyer import LONG_CATALOG  # five long quotes in two columns

    catalog = load_catalog(LONG_CATALOG)
    book = catalog.books[0]
    pdf = build_piece(catalog, book, "flyer-letter", urls=Urls(BASE))
    _, lines = text_lines(pdf, tmp_path)
    assert sum(line[2].startswith("—") for line in lines) == len(book.quotes)
