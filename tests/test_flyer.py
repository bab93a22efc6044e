"""Print pieces (widgets.print): real WeasyPrint output, read back as a reader and a printer would.

Every PDF is parsed with pypdf (text, page boxes, link annotations, metadata) and
rasterized with pdfium, whose pixels go to a real QR decoder (zxing-cpp).
"""

from __future__ import annotations

import http.server
import io
import re
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest
from PIL import Image

import widgets.print as flyer
from storefront.catalog import load_catalog
from storefront.urls import Urls
from widgets.print import PIECES, FlyerError, FlyerFitError, build_piece, prepare_piece, render_job

from .helpers import page_images, pdf_text, qr_texts

BASE = "https://books.example.org"
CAMPAIGN = "apollo8-anniversary"
QUIET_DAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LONG_CATALOG = Path(__file__).resolve().parent / "data" / "flyers" / "long.toml"
PDF_PIECES = [name for name, piece in PIECES.items() if piece.media_type == "application/pdf"]
POINTS = {"letter": (612, 792), "a4": (595.28, 841.89)}
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "flyers"


# --------------------------------------------------------------------------- helpers


def link_uris(data: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    uris = []
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") == "/Link" and "/A" in annot:
                uris.append(annot["/A"]["/URI"])
    return uris


def embedded_fonts(data: bytes) -> set[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    names = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return names


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def genesis(catalog):
    return catalog.book("genesis")


@pytest.fixture(scope="module")
def urls():
    return Urls(BASE)


@pytest.fixture(scope="module")
def campaign_pieces(catalog, genesis, urls):
    """Every piece of the Apollo 8 sale, built once for this module."""
    campaign = catalog.campaign(CAMPAIGN)
    return {
        name: build_piece(catalog, genesis, name, urls=urls, campaign=campaign) for name in PIECES
    }


@pytest.fixture(scope="module")
def quiet_flyer(catalog, genesis, urls):
    """The Letter flyer on a day without any campaign."""
    return build_piece(catalog, genesis, "flyer-letter", urls=urls, at=QUIET_DAY)


@pytest.fixture(scope="module")
def long_catalog():
    return load_catalog(LONG_CATALOG)


@pytest.fixture(scope="module")
def long_pieces(long_catalog, urls):
    """Every piece of the 200-character title, five-quote book: its bytes or its FlyerFitError."""
    book = long_catalog.book("chronicle")
    campaign = long_catalog.campaign("launch-week")
    built = {}
    for name in PIECES:
        try:
            built[name] = build_piece(long_catalog, book, name, urls=urls, campaign=campaign)
        except FlyerFitError as exc:
            built[name] = exc
    return built


# --------------------------------------------------------------------------- QR codes


@pytest.mark.parametrize(
    ("piece", "page", "count"),
    [
        ("flyer-letter", 0, 1),
        ("flyer-a4", 0, 1),
        ("bookstore-letter", 0, 1),
        ("bookstore-a4", 0, 1),
        ("postcard", 1, 1),
        ("bookmarks", 0, 4),
    ],
)
def test_qr_code_decodes_to_the_tracked_campaign_link(campaign_pieces, piece, page, count):
    codes = qr_texts(campaign_pieces[piece])
    assert codes[page] == [f"{BASE}/go/genesis?src=qr&c={CAMPAIGN}"] * count
    assert sum(len(c) for c in codes) == count  # no other page carries one


def test_postcard_front_has_no_qr_code(campaign_pieces):
    assert qr_texts(campaign_pieces["postcard"])[0] == []


def test_outside_a_campaign_the_qr_code_carries_no_campaign(quiet_flyer):
    assert qr_texts(quiet_flyer) == [[f"{BASE}/go/genesis?src=qr"]]


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize("piece", PDF_PIECES)
def test_campaign_piece_shows_headline_sale_price_list_price_and_end(campaign_pieces, piece):
    text = pdf_text(campaign_pieces[piece])
    assert "58 years since the first voyage to the Moon: Genesis on sale" in text
    assert "$2.99" in text and "was $5.99" in text
    assert "Sale price until December 27, 2026" in text


@pytest.mark.parametrize(
    "piece", ["flyer-letter", "flyer-a4", "bookstore-a4", "postcard", "bookmarks"]
)
def test_piece_quotes_the_review_with_its_source(campaign_pieces, piece):
    text = pdf_text(campaign_pieces[piece])
    assert "Zimmerman has done a masterful job of tying disparate events together" in text
    assert "San Antonio Express-News" in text


@pytest.mark.parametrize("piece", ["flyer-letter", "flyer-a4"])
def test_flyer_has_blurb_formats_vendors_and_the_authors_reason(campaign_pieces, piece):
    text = pdf_text(campaign_pieces[piece])
    assert "On Christmas Eve 1968 three Americans became the first humans" in text
    assert "Ebook" in text and "Audiobook" in text
    for vendor in ("ebookit", "Amazon", "Apple Books", "Kobo", "Audible", "Libro.fm"):
        assert vendor in text
    assert "you don't support the big tech companies" in text
    assert "Free with a 30-day Audible trial membership" in text
    assert f"books.example.org/go/genesis?c={CAMPAIGN}" in text  # the short printed URL


def test_outside_a_campaign_the_flyer_shows_the_list_price_and_no_sale_wording(quiet_flyer):
    text = pdf_text(quiet_flyer)
    assert "$5.99" in text
    assert "$2.99" not in text
    for wording in ("sale", "save ", "was $", "until"):
        assert wording not in text.lower()
    assert "The first humans to visit another world, on Christmas Eve 1968." in text  # the pitch


def test_fundraiser_flyer_shows_its_message_ways_to_give_and_list_prices(catalog, genesis, urls):
    data = build_piece(
        catalog, genesis, "flyer-letter", urls=urls, campaign=catalog.campaign("july-fundraiser")
    )
    text = pdf_text(data)
    assert "Support Behind The Black in its anniversary month" in text
    assert "Behind The Black is funded by its readers" in text
    assert (
        "Ways to give: Zelle · Patreon · PayPal donation · PayPal subscription · Check by mail"
        in text
    )
    assert "$5.99" in text and "save" not in text
    assert qr_texts(data) == [[f"{BASE}/go/genesis?src=qr&c=july-fundraiser"]]


# --------------------------------------------------------------------------- bookstore edition


@pytest.mark.parametrize("piece", ["bookstore-letter", "bookstore-a4"])
def test_bookstore_edition_leaves_out_amazon_and_its_brands(campaign_pieces, piece):
    data = campaign_pieces[piece]
    text = pdf_text(data)
    for brand in ("Amazon", "Kindle", "Audible"):
        assert brand not in text
    assert "Ask for it at your bookstore or library" in text
    offers = {
        re.search(r"/go/genesis/([^?]+)", u).group(1)
        for u in link_uris(data)
        if "/go/genesis/" in u
    }
    assert offers == {
        "ebookit",
        "apple-ebook",
        "kobo-ebook",
        "bn",
        "google-ebook",
        "apple-audiobook",
        "kobo-audiobook",
        "google-audiobook",
        "chirp",
        "librofm",
    }


def test_bookstore_edition_prints_isbns_when_the_catalog_has_them(long_catalog, urls):
    book = long_catalog.book("chronicle")
    text = pdf_text(build_piece(long_catalog, book, "bookstore-a4", urls=urls, at=QUIET_DAY))
    assert "Paperback ISBN 9780306406157" in text
    assert "Amazon" not in text and "Audible" not in text


# --------------------------------------------------------------------------- pages and links


@pytest.mark.parametrize(
    ("piece", "pages", "trim", "media"),
    [
        ("flyer-letter", 1, POINTS["letter"], POINTS["letter"]),
        ("flyer-a4", 1, POINTS["a4"], POINTS["a4"]),
        ("bookstore-letter", 1, POINTS["letter"], POINTS["letter"]),
        ("bookstore-a4", 1, POINTS["a4"], POINTS["a4"]),
        # 6x4 in trimmed; 1/8 in (9 pt) of bleed on every side.
        ("postcard", 2, (432, 288), (450, 306)),
        ("bookmarks", 1, (792, 612), (792, 612)),  # a landscape Letter sheet
    ],
)
def test_page_count_and_size_in_points(campaign_pieces, piece, pages, trim, media):
    reader = pypdf.PdfReader(io.BytesIO(campaign_pieces[piece]))
    assert len(reader.pages) == pages
    for page in reader.pages:
        assert (float(page.trimbox.width), float(page.trimbox.height)) == pytest.approx(
            trim, abs=0.05
        )
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            media, abs=0.05
        )


def test_flyer_links_every_offer_through_the_tracked_redirect(campaign_pieces, genesis):
    uris = set(link_uris(campaign_pieces["flyer-letter"]))
    expected = {f"{BASE}/go/genesis/{o.slug}?src=flyer&c={CAMPAIGN}" for o in genesis.offers}
    assert expected <= uris
    assert f"{BASE}/go/genesis?src=flyer&c={CAMPAIGN}" in uris  # the printed short URL
    assert all(u.startswith(f"{BASE}/go/genesis") for u in uris)


@pytest.mark.parametrize(("piece", "src"), [("postcard", "postcard"), ("bookmarks", "bookmark")])
def test_small_pieces_link_with_their_own_placement(campaign_pieces, piece, src):
    uris = link_uris(campaign_pieces[piece])
    assert uris and all(f"src={src}&c={CAMPAIGN}" in u for u in uris)


# --------------------------------------------------------------------------- PDF properties


@pytest.mark.parametrize("piece", PDF_PIECES)
def test_pdf_is_tagged_with_title_author_subject_and_language(campaign_pieces, piece):
    reader = pypdf.PdfReader(io.BytesIO(campaign_pieces[piece]))
    meta = reader.metadata
    assert meta.title.startswith("Genesis: the Story of Apollo 8: ")
    assert meta.title.endswith("Apollo 8 anniversary sale")
    assert meta.author == "Robert Zimmerman"
    assert meta.subject == "58 years since the first voyage to the Moon: Genesis on sale"
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    assert bool(root["/MarkInfo"]["/Marked"]) is True
    assert "/StructTreeRoot" in root


@pytest.mark.parametrize("piece", PDF_PIECES)
def test_pdf_embeds_only_the_bundled_fonts(campaign_pieces, piece):
    fonts = embedded_fonts(campaign_pieces[piece])
    assert fonts and all(name.startswith(("Inter", "EB-Garamond")) for name in fonts), fonts


def test_every_bundled_font_file_exists_with_its_licence():
    folder = flyer.FONTS_DIR
    for family, _, _, filename in flyer.FONT_FACES:
        assert (folder / filename).is_file()
        licence = folder / f"{family.replace(' ', '')}-OFL.txt"
        assert "SIL OPEN FONT LICENSE Version 1.1" in licence.read_text()


def test_reproducible_bytes_with_source_date_epoch(catalog, genesis, urls, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    campaign = catalog.campaign(CAMPAIGN)
    first = build_piece(catalog, genesis, "flyer-a4", urls=urls, campaign=campaign)
    second = build_piece(catalog, genesis, "flyer-a4", urls=urls, campaign=campaign)
    assert first == second
    assert pypdf.PdfReader(io.BytesIO(first)).metadata.creation_date == datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=UTC
    )


@pytest.mark.slow
def test_reproducible_bytes_across_processes(tmp_path):
    env = {"SOURCE_DATE_EPOCH": "1700000000", "STOREFRONT_BASE_URL": BASE, "PATH": "/usr/bin:/bin"}
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        command = ["flyers", "--campaign", CAMPAIGN, "-o", str(out), "-j", "1"]
        command += ["--piece", "postcard", "--piece", "social"]
        cli = [sys.executable, "-m", "storefront.cli"]
        subprocess.run(cli + command, env=env, check=True, capture_output=True)
        outputs.append(
            {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}
        )
    assert outputs[0] == outputs[1] and len(outputs[0]) == 2


def test_digest_ignores_the_creation_date_but_not_the_content(catalog, genesis, urls):
    campaign = catalog.campaign(CAMPAIGN)
    jan = prepare_piece(
        catalog,
        genesis,
        "postcard",
        urls=urls,
        campaign=campaign,
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )
    feb = prepare_piece(
        catalog,
        genesis,
        "postcard",
        urls=urls,
        campaign=campaign,
        created=datetime(2026, 2, 1, tzinfo=UTC),
    )
    other_host = prepare_piece(
        catalog, genesis, "postcard", urls=Urls("https://x.example"), campaign=campaign
    )
    assert jan.created != feb.created and jan.digest == feb.digest
    assert other_host.digest != jan.digest


# --------------------------------------------------------------------------- social image


def test_social_image_is_a_1200x630_png_with_the_headline_colours(campaign_pieces):
    data = campaign_pieces["social"]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    assert image.size == (1200, 630) and image.mode == "RGB"
    assert image.getpixel((5, 5)) == (0x24, 0x36, 0x5F)  # the background, edge to edge
    # The sale badge: a white box with the price in sale red.
    reds = sum(
        1
        for x in range(480, 1000)
        for y in range(300, 480)
        if image.getpixel((x, y)) == (0xA4, 0x16, 0x1A)
    )
    assert reds > 50


# --------------------------------------------------------------------------- artifacts


def test_every_piece_rasterizes_to_a_png_artifact(campaign_pieces, long_pieces):
    """Write a PNG of every page (artifacts/flyers/) and check none is blank."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    renders = {f"{CAMPAIGN}-{name}": data for name, data in campaign_pieces.items()}
    renders |= {f"long-{n}": d for n, d in long_pieces.items() if isinstance(d, bytes)}
    for name, data in renders.items():
        if data[:4] == b"%PDF":
            images = page_images(data, dpi=72)
        else:
            images = [Image.open(io.BytesIO(data))]
        for number, image in enumerate(images, start=1):
            suffix = f"-{number}" if len(images) > 1 else ""
            image.convert("RGB").save(ARTIFACTS / f"{name}{suffix}.png")
            colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
            assert colours is None or len(colours) > 20, f"{name} page {number} looks blank"


# ------------------------------------------------------------------ bookmarks: bleed and crop marks


def test_bookmark_sheet_geometry_keeps_marks_outside_the_bleed():
    g = flyer.pieces.bookmark_sheet()
    assert g["count"] == 4
    lefts = g["trim_xs"][0::2]
    rights = g["trim_xs"][1::2]
    assert [r - left for left, r in zip(lefts, rights, strict=True)] == [2.0] * 4  # 2 in wide
    assert g["trim_ys"][1] - g["trim_ys"][0] == 7.0  # 7 in tall
    assert all(
        b - a == pytest.approx(0.25) for a, b in zip(rights[:-1], lefts[1:], strict=True)
    )  # two bleeds apart
    assert g["mark_top"] + g["mark_len"] < g["top"]  # above the bleed
    assert g["mark_bottom"] > g["top"] + g["bleed_h"]
    assert g["mark_left"] + g["mark_len"] < g["first_left"]
    assert g["mark_right"] + g["mark_len"] < 11 and g["mark_left"] > 0


def test_bookmark_sheet_prints_crop_marks_and_bleeds_past_the_trim(campaign_pieces):
    g = flyer.pieces.bookmark_sheet()
    dpi = 200
    (image,) = page_images(campaign_pieces["bookmarks"], dpi)
    px = lambda inches: round(inches * dpi)  # noqa: E731

    def dark(x, y):  # a hairline, anti-aliased: anything clearly not paper white
        return sum(image.getpixel((x, y))[:3]) < 600

    mark_y = px(g["mark_top"] + g["mark_len"] / 2)
    for x in g["trim_xs"]:
        assert any(dark(px(x) + dx, mark_y) for dx in (-2, -1, 0, 1)), f"no crop mark at x={x} in"
    assert not dark(px(g["trim_xs"][0]) + px(1), mark_y)  # nothing between marks
    # Background colour reaches past the trim into the bleed, and stops at it.
    bleed_y = px(g["top"] + g["bleed_h"] / 2)
    assert image.getpixel((px(g["trim_xs"][0] - 0.06), bleed_y))[:3] == (0x24, 0x36, 0x5F)
    assert image.getpixel((px(g["first_left"] - 0.05), bleed_y))[:3] == (255, 255, 255)


# --------------------------------------------------------------------------- fitting


@pytest.mark.parametrize("piece", list(PIECES))
def test_long_title_and_five_quotes_fit_or_fail_naming_piece_and_field(long_pieces, piece):
    result = long_pieces[piece]
    if isinstance(result, FlyerFitError):
        assert result.piece == piece
        assert result.field in {f.field for f in PIECES[piece].fits} | {"layout"}
        assert str(result).startswith(f"{piece} for book 'chronicle': ")
        return
    if PIECES[piece].media_type == "image/png":
        assert Image.open(io.BytesIO(result)).size == (1200, 630)
        return
    reader = pypdf.PdfReader(io.BytesIO(result))
    assert len(reader.pages) == PIECES[piece].pages
    assert "Launch Pad at Cape Canaveral" in pdf_text(result)


@pytest.mark.parametrize("piece", ["flyer-letter", "flyer-a4"])
def test_long_title_and_five_quotes_fit_on_the_flyer_in_full(long_pieces, long_catalog, piece):
    book = long_catalog.book("chronicle")
    text = pdf_text(long_pieces[piece])
    assert book.title in text  # the whole title, shrunk, not clipped
    for quote in book.quotes:
        assert quote.text.split(".")[0][-40:] in text
    assert "$19.99 was $24.99 save 20%" in text


def test_catalog_text_is_printed_as_text_not_markup(long_catalog, urls):
    book = long_catalog.book("chronicle")
    text = pdf_text(build_piece(long_catalog, book, "flyer-a4", urls=urls, at=QUIET_DAY))
    assert "<b>Orbital</b> Monthly & Friends" in text


def test_overlong_quote_fails_with_a_message_naming_the_piece_and_the_field(long_catalog, urls):
    book = long_catalog.book("chronicle")
    huge = replace(book.quotes[0], text="An endless review. " * 150)
    book = replace(book, quotes=(huge, *book.quotes[1:]))
    with pytest.raises(FlyerFitError) as caught:
        build_piece(long_catalog, book, "flyer-letter", urls=urls, at=QUIET_DAY)
    assert caught.value.field == "quotes"
    assert str(caught.value).startswith("flyer-letter for book 'chronicle': the quotes do not fit")
    assert "shorten the book's quotes" in str(caught.value)


def test_overlong_headline_fails_on_the_bookmark_naming_the_field(long_catalog, urls):
    book = long_catalog.book("chronicle")
    campaign = replace(
        long_catalog.campaign("launch-week"), headline="A headline that never ends. " * 30
    )
    with pytest.raises(FlyerFitError) as caught:
        build_piece(long_catalog, book, "bookmarks", urls=urls, campaign=campaign)
    assert caught.value.piece == "bookmarks" and caught.value.field == "headline"
    assert "the headline does not fit even at 6.5 pt" in str(caught.value)


def test_fit_error_survives_pickling_for_worker_processes():
    import pickle

    error = FlyerFitError("postcard", "b", "quote", "the featured quote does not fit")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.piece, copy.book, copy.field, str(copy)) == (
        "postcard",
        "b",
        "quote",
        "postcard for book 'b': the featured quote does not fit",
    )


# --------------------------------------------------------------------------- resources (SSRF)


@pytest.fixture
def trap_server():
    """A real HTTP server on 127.0.0.1 that records every request it gets."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    "src",
    ["{server}/pixel.png", "file:///etc/passwd", "file://{fonts}/../flyer.py", "ftp://127.0.0.1/x"],
)
def test_renderer_fetches_nothing_but_data_urls_and_bundled_fonts(
    catalog, genesis, urls, trap_server, src
):
    server, hits = trap_server
    job = prepare_piece(catalog, genesis, "flyer-letter", urls=urls, at=QUIET_DAY)
    url = src.format(server=server, fonts=flyer.FONTS_DIR)
    hostile = replace(job, html=job.html.replace("</body>", f'<img src="{url}" alt=""></body>'))
    with pytest.raises(FlyerError, match="refused to fetch"):
        render_job(hostile)
    assert hits == []


# --------------------------------------------------------------------------- campaigns


def test_unknown_campaign_is_a_clear_error(catalog, genesis):
    with pytest.raises(FlyerError, match="no campaign 'nope' in the catalog"):
        flyer.resolve_campaign(catalog, "nope", genesis)


def test_a_campaign_covers_only_books_it_discounts(long_catalog, catalog):
    # The Apollo 8 sale covers ebooks only; the chronicle is a paperback and an audiobook.
    chronicle = long_catalog.book("chronicle")
    sale = replace(catalog.campaign(CAMPAIGN), books=())
    assert not flyer.campaign_covers(sale, chronicle)
    assert flyer.campaign_covers(catalog.campaign(CAMPAIGN), catalog.book("genesis"))
