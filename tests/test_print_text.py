"""Any author's text prints whole: long, multi-script, multi-author catalog text (issue 12).

The catalog ``tests/data/print/multiscript.toml`` has three co-authors, a long
subtitle, Japanese, Arabic, Hebrew, Greek and Cyrillic text, a series and a
contributor line. Every piece and cover built from it is read back as a printer
and a reader would: rasterized with pdfium and checked for ink outside the safe
area; its text extracted (pypdf) and compared with the catalog's; its embedded
fonts' character maps checked to hold every printed character.

Extracting right-to-left text puts it in visual order, and mixed runs come out
in an order no two extractors agree on, so a field with right-to-left text is
compared as the multiset of its characters (nothing missing, nothing replaced);
every other field must appear verbatim (whitespace aside: lines wrap).
"""

from __future__ import annotations

import base64
import io
import re
import shutil
from collections import Counter
from dataclasses import replace
from html import unescape
from pathlib import Path

import pypdf
import pypdfium2
import pytest
from PIL import Image

from storefront.catalog import load_catalog
from storefront.cli import main
from storefront.templating import render
from storefront.urls import Urls
from tests.conftest import require
from widgets.cover import (
    COVER_HEIGHT,
    COVER_WIDTH,
    SAFE_LEFT,
    cover_layout,
    line_direction,
    render_typographic_cover,
)
from widgets.print import PIECES, FlyerError, build_piece
from widgets.print.pieces import bookmark_sheet
from widgets.textdir import text_direction
from widgets.typefaces import font_set

from .helpers import pdf_text

DATA = Path(__file__).resolve().parent / "data" / "print" / "multiscript.toml"
# The Arabic font is a file next to the catalog (a copy of DejaVu Sans: Amiri's
# lam ligatures lose a letter in the PDF's text layer), Hebrew an installed family.
ARABIC_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BASE = "https://books.example.org"
CAMPAIGN = "moon-week"
BOOKS = ("tsuki", "qamar")
NAVY, COVER_NAVY, WHITE = (0x24, 0x36, 0x5F), (0x14, 0x21, 0x3D), (255, 255, 255)
# Bundled, installed families by name, and catalog font files (named "Storefront <script> <n>").
ALLOWED_FONTS = (
    "Inter",
    "EB-Garamond",
    "VL-Gothic",
    "DejaVuSans",
    "DejaVu-Sans",
    "Storefront-Arab-",
)
INK = 48  # a channel this far from the background is ink


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory) -> Path:
    require(ARABIC_FONT.is_file(), "DejaVu Sans (fonts-dejavu-core) is not installed")
    require(shutil.which("fc-list") is not None, "fontconfig's fc-list is not installed")
    folder = tmp_path_factory.mktemp("multiscript")
    shutil.copy(DATA, folder / "catalog.toml")
    shutil.copy(ARABIC_FONT, folder / ARABIC_FONT.name)
    return folder / "catalog.toml"


@pytest.fixture(scope="module")
def catalog(catalog_path):
    catalog = load_catalog(catalog_path)
    fonts = font_set(catalog)
    require(not fonts.problems, f"the test fonts are not installed: {fonts.problems}")
    return catalog


@pytest.fixture(scope="module")
def pieces(catalog) -> dict[tuple[str, str], bytes]:
    """Every piece of the campaign for both books, built once for this module."""
    campaign = catalog.campaign(CAMPAIGN)
    return {
        (slug, name): build_piece(
            catalog, catalog.book(slug), name, urls=Urls(BASE), campaign=campaign
        )
        for slug in BOOKS
        for name in PIECES
    }


# --------------------------------------------------------------------------- helpers


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def is_rtl(text: str) -> bool:
    return any(text_direction(ch) == "rtl" for ch in text)


def shown_fields(catalog, slug: str, piece: str) -> list[tuple[str, str]]:
    """(name, text) of the catalog fields ``piece`` prints for the book."""
    book = catalog.book(slug)
    campaign = catalog.campaign(CAMPAIGN)
    fields = [("title", book.title), ("headline", campaign.headline)]
    fields += [("subtitle", book.subtitle)] if book.subtitle else []
    fields += [(f"authors[{n}]", a) for n, a in enumerate(book.authors)]
    featured = book.featured_quote
    if piece.startswith(("flyer", "bookstore")):
        fields += [("campaign name", campaign.name), ("description", book.description)]
        fields += [(f"contributors[{n}]", c.name) for n, c in enumerate(book.contributors)]
        for n, quote in enumerate(book.quotes):
            fields += [(f"quotes[{n}].text", quote.text), (f"quotes[{n}].source", quote.source)]
        fields += [("vendor", catalog.vendor(o.vendor).name) for o in book.offers]
        fields += [("reason", o.reason) for o in book.offers if o.preferred and o.reason]
    elif piece in ("postcard", "bookmarks") and featured:
        fields += [("featured quote", featured.text), ("featured source", featured.source)]
    if piece == "postcard":
        fields += [("campaign name", campaign.name)]
    return fields


_BFCHAR = re.compile(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")


def font_maps(data: bytes) -> dict[str, dict[int, str]]:
    """{font name: {CID: text}} from every embedded font's ToUnicode CMap."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts: dict[str, dict[int, str]] = {}
    for page in reader.pages:
        for ref in (page["/Resources"].get("/Font") or {}).values():
            font = ref.get_object()
            name = str(font["/BaseFont"]).split("+", 1)[-1]
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            mapping = fonts.setdefault(name, {})
            for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
                for cid, text in _BFCHAR.findall(block):
                    mapping[int(cid, 16)] = bytes.fromhex(text).decode("utf-16-be")
            for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
                for lo, hi, start in re.findall(
                    r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
                ):
                    first = int.from_bytes(bytes.fromhex(start), "big")
                    for n, cid in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                        mapping[cid] = chr(first + n)
    return fonts


def render_pages(data: bytes, dpi: float) -> list[Image.Image]:
    document = pypdfium2.PdfDocument(data)
    try:
        return [page.render(scale=dpi / 72).to_pil().convert("RGB") for page in document]
    finally:
        document.close()


def ink_outside(
    image: Image.Image,
    trim: tuple[float, float, float, float],
    inset: float,
    background: tuple[int, int, int],
    skip: tuple[float, float] | None = None,
) -> list[tuple[int, int]]:
    """Pixels in the ring between ``trim`` (x, y, w, h in pixels) and ``inset`` inside it
    that are not ``background``; ``skip`` leaves out a band (from, to) of the ring's depth."""
    x0, y0, w, h = trim
    bad = []
    pixels = image.load()
    for y in range(int(y0) + 1, int(y0 + h) - 1):
        for x in range(int(x0) + 1, int(x0 + w) - 1):
            depth = min(x - x0, y - y0, x0 + w - 1 - x, y0 + h - 1 - y)
            # One pixel of tolerance: a box edge on the safe line anti-aliases into it.
            if depth >= inset - 1 or (skip and skip[0] <= depth <= skip[1]):
                continue
            if max(abs(a - b) for a, b in zip(pixels[x, y][:3], background, strict=True)) > INK:
                bad.append((x, y))
    return bad


# --------------------------------------------------------------------------- check


def test_check_accepts_the_multiscript_catalog(runner, catalog_path, catalog):
    result = runner.invoke(main, ["check", "--catalog", str(catalog_path)])
    assert result.exit_code == 0, result.output


def test_a_character_no_font_can_draw_is_a_named_check_error(runner, catalog_path, catalog):
    text = catalog_path.read_text(encoding="utf-8")
    bad = catalog_path.with_name("emoji.toml")
    bad.write_text(
        text.replace("first left the Earth.", "first left the Earth 🚀.").replace(
            'Hebr = "DejaVu Sans"', ""
        ),
        encoding="utf-8",
    )
    no_japanese = catalog_path.with_name("nojapanese.toml")
    no_japanese.write_text(text.replace('Jpan = "VL Gothic"', ""), encoding="utf-8")
    result = runner.invoke(main, ["check", "--catalog", str(bad)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    (pitch,) = [line for line in lines if "books[0].pitch" in line]
    assert pitch.startswith("emoji.toml:") and "'🚀' (U+1F680" in pitch
    assert "no configured font can draw" in pitch
    assert "problem(s) in the catalog" in lines[-1]
    result = runner.invoke(main, ["check", "--catalog", str(no_japanese)])
    assert result.exit_code == 1
    (title,) = [line for line in result.output.splitlines() if "books[0].title:" in line]
    assert "'月' (U+6708 Hani)" in title and "Hani, Hira, Kana" in title


def test_a_piece_with_a_character_no_font_can_draw_is_not_built(catalog):
    book = replace(catalog.book("tsuki"), pitch="Liftoff 🚀")
    with pytest.raises(FlyerError, match=r"books\[0\]\.pitch: no configured font can draw '🚀'"):
        build_piece(catalog, book, "postcard", urls=Urls(BASE), at=None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NoSuchFont.ttf", "font file 'NoSuchFont.ttf' not found next to the catalog"),
        ("No Such Family", "no font family 'No Such Family' is installed"),
        ("../../etc/passwd.ttf", "is outside the catalog's folder"),
    ],
)
def test_a_font_that_cannot_be_used_is_a_named_check_error(
    runner, catalog_path, catalog, value, message
):
    text = catalog_path.read_text(encoding="utf-8").replace(
        'Hebr = "DejaVu Sans"', f'Hebr = "{value}"'
    )
    bad = catalog_path.with_name("badfont.toml")
    bad.write_text(text, encoding="utf-8")
    result = runner.invoke(main, ["check", "--catalog", str(bad)])
    assert result.exit_code == 1
    assert "site.fonts.Hebr: " in result.output and message in result.output


# --------------------------------------------------------------------------- the PDFs' text


PDF_PIECES = [name for name, piece in PIECES.items() if piece.media_type == "application/pdf"]


@pytest.mark.parametrize("slug", BOOKS)
@pytest.mark.parametrize("piece", PDF_PIECES)
def test_every_catalog_field_is_printed_whole(catalog, pieces, slug, piece):
    text = pdf_text(pieces[(slug, piece)])
    chars = Counter(squash(text))
    for name, value in shown_fields(catalog, slug, piece):
        if is_rtl(value):
            missing = Counter(squash(value)) - chars
            assert not missing, f"{piece}: {name}: {''.join(missing.elements())!r} missing"
        else:
            assert squash(value) in squash(text), f"{piece}: {name} not printed whole: {value!r}"


@pytest.mark.parametrize("slug", BOOKS)
@pytest.mark.parametrize("piece", PDF_PIECES)
def test_embedded_fonts_are_configured_ones_and_cover_every_printed_character(pieces, slug, piece):
    data = pieces[(slug, piece)]
    maps = font_maps(data)
    assert maps and all(name.startswith(ALLOWED_FONTS) for name in maps), sorted(maps)
    # No glyph 0 (.notdef, the empty box) is mapped to text.
    assert all(0 not in mapping for mapping in maps.values())
    drawable = {ch for mapping in maps.values() for text in mapping.values() for ch in text}
    printed = {ch for ch in pdf_text(data) if not ch.isspace()}
    assert printed - drawable == set()


# --------------------------------------------------------------------------- ink in the safe area


def _trim_and_safe(piece: str, page: int, dpi: float) -> list[tuple[tuple, float, tuple, tuple]]:
    """(trim box px, safe inset px, background, skipped band) of each area of a page."""
    px = dpi / 72
    if piece.startswith(("flyer", "bookstore")):
        width, height = (612, 792) if piece.endswith("letter") else (595.28, 841.89)
        return [((0, 0, width * px, height * px), 0.3 * dpi, WHITE, None)]
    if piece == "postcard":
        bleed = 9 * px  # the page is the trim plus a 1/8 in bleed
        background = NAVY if page == 0 else WHITE
        return [((bleed, bleed, 6 * dpi, 4 * dpi), 0.2 * dpi, background, None)]
    if piece == "bookmarks":
        g = bookmark_sheet()
        out = []
        for n in range(g["count"]):
            left = (g["first_left"] + n * g["pitch"] + 0.125) * dpi
            out.append(((left, (g["top"] + 0.125) * dpi, 2 * dpi, 7 * dpi), 0.15 * dpi, NAVY, None))
        return out
    raise AssertionError(piece)


@pytest.mark.parametrize("slug", BOOKS)
@pytest.mark.parametrize("piece", PDF_PIECES)
def test_no_ink_outside_the_safe_area(pieces, slug, piece):
    dpi = 50
    for number, image in enumerate(render_pages(pieces[(slug, piece)], dpi)):
        for trim, inset, background, skip in _trim_and_safe(piece, number, dpi):
            bad = ink_outside(image, trim, inset, background, skip)
            assert not bad, f"{piece} page {number + 1}: ink at {bad[:5]} (px at {dpi} dpi)"


@pytest.mark.parametrize("slug", BOOKS)
def test_social_image_keeps_its_margin_clear(pieces, slug):
    image = Image.open(io.BytesIO(pieces[(slug, "social")])).convert("RGB")
    assert image.size == (1200, 630)
    assert not ink_outside(image, (0, 0, 1200, 630), 30, NAVY)


# --------------------------------------------------------------------------- covers


def _cover_pdf(catalog, slug: str, *, html: bool, authors: tuple[str, ...] | None = None) -> bytes:
    """The typographic cover alone on a 600x900 px page (its HTML or its SVG)."""
    import weasyprint

    fonts = font_set(catalog)
    book = catalog.book(slug)
    if authors:
        book = replace(book, authors=authors)
    if html:
        body = render(
            "covers/typographic.html",
            cover=cover_layout(book, fonts, strict=True),
            px=COVER_WIDTH,
            alt="cover",
            direction=line_direction,
        )
    else:
        svg = render_typographic_cover(book, fonts, strict=True)
        data = base64.b64encode(svg.encode()).decode()
        body = f'<img src="data:image/svg+xml;base64,{data}">'
    css = render("flyers/_common.css", fonts=fonts)
    page = f"@page {{ size: {COVER_WIDTH}px {COVER_HEIGHT}px; margin: 0 }} img {{ width: 100% }}"
    html_doc = (
        f"<html><head><style>{fonts.face_css()}{css}{page}</style></head><body>{body}</body></html>"
    )
    return weasyprint.HTML(string=html_doc).write_pdf()


THREE = ("Robert Zimmerman", "Jane Doe", "John Smith")


@pytest.mark.parametrize(
    ("slug", "html", "authors"),
    [
        ("tsuki", True, None),
        ("qamar", True, None),
        ("tsuki", False, None),  # the SVG of the page and the EPUB (WeasyPrint's SVG is LTR only)
        ("tsuki", False, THREE * 2),
    ],
)
def test_typographic_cover_keeps_every_line_inside_the_frame(catalog, slug, html, authors):
    (image,) = render_pages(_cover_pdf(catalog, slug, html=html, authors=authors), 96)
    assert image.size == (COVER_WIDTH, COVER_HEIGHT)
    # The frame is stroked 26.5-29.5 px in; text keeps SAFE_LEFT (48 px) in.
    bad = ink_outside(image, (0, 0, COVER_WIDTH, COVER_HEIGHT), SAFE_LEFT - 2, COVER_NAVY, (23, 33))
    assert not bad, f"ink at {bad[:5]}"


def test_three_co_authors_fit_the_600px_cover(catalog):
    book = replace(catalog.book("tsuki"), authors=("ROBERT ZIMMERMAN", "JANE DOE", "JOHN SMITH"))
    layout = cover_layout(book, font_set(catalog), strict=True)
    text = " ".join(line.text for line in layout["author_lines"])
    assert text == "ROBERT ZIMMERMAN, JANE DOE, AND JOHN SMITH"  # the credits rule
    assert len(layout["author_lines"]) >= 1


def test_a_cover_past_its_limits_fails_naming_the_field(catalog, runner, catalog_path):
    book = replace(catalog.book("tsuki"), authors=tuple(f"Author Number {n}" for n in range(40)))
    with pytest.raises(FlyerError, match=r"postcard for book 'tsuki': the author line"):
        build_piece(catalog, book, "postcard", urls=Urls(BASE), at=None)


def test_check_names_a_cover_that_cannot_fit(runner, catalog_path, catalog):
    many = ", ".join(f'"Author Number {n}"' for n in range(40))
    text = catalog_path.read_text(encoding="utf-8").replace(
        'authors = ["Robert Zimmerman", "Jane Doe", "John Smith"]', f"authors = [{many}]"
    )
    bad = catalog_path.with_name("authors.toml")
    bad.write_text(text, encoding="utf-8")
    result = runner.invoke(main, ["check", "--catalog", str(bad)])
    assert result.exit_code == 1
    assert "authors.toml: books[0].authors: the author line does not fit the cover" in result.output


@pytest.mark.parametrize("piece", ["flyer-letter", "postcard", "bookmarks", "social"])
def test_right_to_left_text_is_laid_out_right_to_left(catalog, piece):
    from bs4 import BeautifulSoup

    from widgets.print import prepare_piece

    book = catalog.book("qamar")
    job = prepare_piece(catalog, book, piece, urls=Urls(BASE), campaign=catalog.campaign(CAMPAIGN))
    soup = BeautifulSoup(job.html, "html.parser")
    assert soup.html["lang"] == "en" and not soup.html.get("dir")  # the template's words
    title = soup.select_one("h1.title")
    assert (title["lang"], title["dir"]) == ("ar", "rtl")
    assert soup.select_one("h1.title .subtitle")["dir"] == "rtl"  # Hebrew first
    lines = soup.select(".tc-title")
    assert lines and all(line["dir"] == "rtl" for line in lines)  # the cover's title
    if piece in ("postcard", "bookmarks"):
        quote = soup.select_one("blockquote p")
        assert quote["dir"] == "rtl"  # Hebrew, language not given: read from the text


def test_the_web_flyer_of_text_no_font_can_draw_is_a_422_naming_the_field(
    make_app, catalog_path, catalog
):
    bad = catalog_path.with_name("web-emoji.toml")
    bad.write_text(
        catalog_path.read_text(encoding="utf-8").replace(
            "first left the Earth.", "first left the Earth 🚀."
        ),
        encoding="utf-8",
    )
    response = make_app(CATALOG=str(bad)).test_client().get("/books/tsuki/flyer.pdf")
    assert response.status_code == 422
    text = unescape(response.get_data(as_text=True))
    assert "books[0].pitch: no configured font can draw '🚀'" in text
