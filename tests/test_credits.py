"""One credits rule: every output names the same people in the same words and order.

One audiobook with three translators, a foreword and a narrator; the page, the
card, the cover, the EPUB sample and every print piece are built and parsed
(HTML, SVG and XHTML, PDF text), and each must show the same credit parts. The
narrator is credited wherever the audiobook is shown, and not on the cover (the
book's, not the audiobook's).
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup

from storefront.catalog import load_catalog
from storefront.credits import book_credits, join_names
from storefront.urls import Urls
from widgets.epub import build_sample
from widgets.print import PIECES, build_piece, prepare_piece
from widgets.print.backlist import build_backlist

from .helpers import book, edition, html_of, offer, pdf_text, squash, write_test_catalog

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
URLS = Urls("https://books.example.org")

AUTHORS = "by Ann Writer"
FOREWORD = "foreword by Val Fore"
TRANSLATORS = "translated by Tom One, Tina Two, and Theo Three"
NARRATOR = "read by Nora Voice"
BOOK_PARTS = (AUTHORS, FOREWORD, TRANSLATORS)
AUDIOBOOK_PARTS = (*BOOK_PARTS, NARRATOR)


def credited_book() -> dict:
    return book(
        "orbit",
        "Orbit",
        edition("ebook", offer("shop", "https://shop.example/orbit-ebook", preferred=True)),
        edition(
            "audiobook",
            offer("shop", "https://shop.example/orbit-audio", slug="shop-audio"),
            offer("other", "https://other.example/orbit-audio", slug="other-audio"),
            narrator="Nora Voice",
        ),
        authors=["Ann Writer"],
        contributors=[
            {"name": "Val Fore", "role": "foreword"},
            {"name": "Tom One", "role": "translator"},
            {"name": "Tina Two", "role": "translator"},
            {"name": "Theo Three", "role": "translator"},
        ],
        language="en",
    )


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory):
    return write_test_catalog(tmp_path_factory.mktemp("credits"), credited_book())


@pytest.fixture(scope="module")
def catalog(catalog_path):
    return load_catalog(catalog_path)


@pytest.fixture
def orbit_client(make_app, catalog_path):
    return make_app(CATALOG=str(catalog_path)).test_client()


def assert_credits(text: str, parts: tuple[str, ...], where: str, *, narrator: bool) -> None:
    """``parts`` stand in ``text`` in order (case aside: the cover sets authors in capitals)."""
    text = squash(text).casefold()
    position = 0
    for part in parts:
        found = text.find(part.casefold(), position)
        assert found >= 0, f"{where}: {part!r} missing (after {position}) in {text[:600]!r}"
        position = found + len(part)
    assert ("nora voice" in text) is narrator, f"{where}: narrator shown is not {narrator}"


def test_one_function_decides_the_parts(catalog):
    credits = book_credits(catalog.book("orbit"), "en_US", audiobook=True)
    assert [p.role for p in credits.parts] == ["author", "foreword", "translator", "narrator"]
    assert credits.line == "; ".join(AUDIOBOOK_PARTS)
    assert credits.lines == (
        AUTHORS,
        "Foreword by Val Fore",
        "Translated by Tom One, Tina Two, and Theo Three",
        "Read by Nora Voice",
    )
    assert book_credits(catalog.book("orbit")).line == "; ".join(BOOK_PARTS)


@pytest.mark.parametrize(
    ("locale", "joined"),
    [("en_US", "A, B, and C"), ("en_GB", "A, B and C"), ("de_DE", "A, B und C")],
)
def test_names_follow_the_locale_list_pattern(locale, joined):
    assert join_names(["A", "B", "C"], locale) == joined


def test_page_and_card_show_the_audiobook_credits(orbit_client):
    page = html_of(orbit_client.get("/books/orbit"))
    assert_credits(
        page.select_one(".credits").get_text(" "), AUDIOBOOK_PARTS, "page", narrator=True
    )
    card = html_of(orbit_client.get("/embed/orbit"))
    credits = card.select("[class*=credits]") or card.find_all("p")
    text = " ".join(p.get_text(" ") for p in credits)
    assert_credits(text, AUDIOBOOK_PARTS, "card", narrator=True)


def test_cover_shows_the_book_credits_without_the_narrator(orbit_client):
    response = orbit_client.get("/books/orbit/cover")
    assert response.status_code == 200
    svg = BeautifulSoup(response.data, "xml")
    text = " ".join(t.get_text() for t in svg.find_all("text"))
    # The cover sets the authors alone on their line (no "by"), in capitals.
    assert_credits(text, ("Ann Writer", *BOOK_PARTS[1:]), "cover", narrator=False)


def test_epub_title_page_shows_the_audiobook_credits(catalog):
    data = build_sample(catalog, catalog.book("orbit"), AT, URLS)
    with zipfile.ZipFile(io.BytesIO(data)) as epub:
        name = next(n for n in epub.namelist() if n.endswith("title.xhtml"))
        page = BeautifulSoup(epub.read(name), "xml")
    lines = [li.get_text(" ", strip=True) for li in page.select(".credits li")]
    assert lines == [AUTHORS, *(p[:1].upper() + p[1:] for p in AUDIOBOOK_PARTS[1:])]


@pytest.mark.parametrize("piece", [p for p in PIECES if PIECES[p].media_type == "application/pdf"])
def test_every_print_piece_shows_the_audiobook_credits(catalog, piece):
    pdf = build_piece(catalog, catalog.book("orbit"), piece, urls=URLS, at=AT)
    assert_credits(pdf_text(pdf), AUDIOBOOK_PARTS, piece, narrator=True)


def test_social_image_lays_out_the_audiobook_credits(catalog):
    # The social image is a PNG rasterized from this HTML: read the text it sets.
    job = prepare_piece(catalog, catalog.book("orbit"), "social", urls=URLS, at=AT)
    credits = BeautifulSoup(job.html, "html.parser").select_one(".credits")
    assert_credits(credits.get_text(" "), AUDIOBOOK_PARTS, "social", narrator=True)
    assert build_piece(catalog, catalog.book("orbit"), "social", urls=URLS, at=AT)[:4] == (
        b"\x89PNG"
    )


def test_backlist_sheet_shows_the_audiobook_credits(catalog):
    pdf = build_backlist(catalog, urls=URLS, at=AT)
    assert_credits(pdf_text(pdf), AUDIOBOOK_PARTS, "backlist sheet", narrator=True)
