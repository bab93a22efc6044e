"""The backlist sheet: one page, every book with its QR code decoded to its tracked URL."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from storefront.catalog import load_catalog
from storefront.cli import main
from storefront.urls import Urls
from widgets.print import FlyerError
from widgets.print.backlist import build_backlist

from .helpers import pdf_text, qr_texts

ROOT = Path(__file__).resolve().parent.parent
ZIMMERMAN = ROOT / "examples" / "zimmerman" / "catalog.toml"
AT = datetime(2026, 11, 25, 12, tzinfo=UTC)
BASE = "https://books.example.org"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ZIMMERMAN)


def test_every_book_on_one_page_with_a_tracked_qr_code(catalog):
    pdf = build_backlist(catalog, urls=Urls(BASE), at=AT)
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
    order = ["conscious-choice", "universe-in-a-mirror", "leaving-earth", "genesis"]
    assert qr_texts(pdf)[0] == [f"{BASE}/go/{slug}?src=sheet" for slug in order]
    words = pdf_text(pdf)
    for title in ("Leaving Earth", "The Universe in a Mirror", "Conscious Choice", "Genesis"):
        assert title in words
    assert "Hardcover" in words and "Amazon" in words


def test_the_bookstore_edition_leaves_amazon_out(catalog):
    pdf = build_backlist(catalog, urls=Urls(BASE), at=AT, bookstore=True)
    words = pdf_text(pdf)
    assert "Amazon" not in words and "Barnes & Noble" in words
    assert len(qr_texts(pdf)[0]) == 4


def test_an_unknown_series_is_a_clear_error(catalog):
    with pytest.raises(FlyerError, match="no series 'nope'"):
        build_backlist(catalog, urls=Urls(BASE), at=AT, series="nope")


def test_backlist_command(runner, tmp_path):
    out = tmp_path / "sheet.pdf"
    args = ["backlist", "--catalog", str(ZIMMERMAN), "--base-url", BASE, "-o", str(out)]
    result = runner.invoke(main, [*args, "--size", "a4"])
    assert result.exit_code == 0, result.output
    assert len(qr_texts(out.read_bytes())[0]) == 4
    box = pypdf.PdfReader(out).pages[0].mediabox
    assert round(float(box.width)) == 595  # A4
    bad = runner.invoke(main, [*args, "--series", "nope"])
    assert bad.exit_code == 1 and "no series 'nope'" in bad.output


def test_too_many_books_for_one_page_is_one_clear_error(tmp_path):
    text = ZIMMERMAN.read_text(encoding="utf-8")
    start = text.index('[[books]]\nslug = "leaving-earth"')
    book = text[start : text.index('[[books]]\nslug = "universe-in-a-mirror"')]
    copies = "".join(book.replace('"leaving-earth"', f'"copy-{i}"') for i in range(8))
    path = tmp_path / "catalog.toml"
    path.write_text(text[:start] + copies + text[start:], encoding="utf-8")
    with pytest.raises(FlyerError, match="12 books do not fit on one backlist sheet"):
        build_backlist(load_catalog(path), urls=Urls(BASE), at=AT)


def test_text_no_font_can_draw_is_refused_naming_the_field(tmp_path):
    # As on every print piece: never an empty box on a sheet handed out at a signing.
    text = ZIMMERMAN.read_text(encoding="utf-8").replace(
        'pitch = "The first humans to visit another world, on Christmas Eve 1968."',
        'pitch = "The first humans to visit another world \U0001f680"',
    )
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    catalog = load_catalog(path)
    with pytest.raises(FlyerError, match=r"pitch: no configured font can draw .*U\+1F680"):
        build_backlist(catalog, urls=Urls(BASE), at=AT)


def test_generated_covers_are_set_as_shaped_html_like_the_other_pieces(catalog):
    from widgets.print.backlist import sheet_context
    from widgets.print.pieces import SHEETS
    from widgets.typefaces import font_set

    context = sheet_context(
        catalog,
        Urls(BASE),
        AT,
        series=None,
        bookstore=False,
        piece=SHEETS["backlist-letter"],
        fonts=font_set(catalog),
    )
    genesis = next(row for row in context["rows"] if row["book"].slug == "genesis")
    assert genesis["cover_src"] is None  # no SVG image: WeasyPrint would not shape its text
    assert [line.text for line in genesis["cover"]["title_lines"]] == ["Genesis"]
