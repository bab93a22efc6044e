"""The EPUB sample as readers' devices take it: through Calibre, to Kindle's AZW3 and back.

Debian's ``calibre`` (``ebook-convert``, ``ebook-meta``, run headless) is the
converter readers and send-to-device tools use. Two samples are tried: Genesis
(the typographic cover) and a book with the author's own cover image. Each is
converted to AZW3 once and back to EPUB once (about a second each, module-scoped
fixtures), and the tests read what came out: the log, the cover ``ebook-meta``
extracts, and the OPF and XHTML of the round trip.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zxingcpp
from bs4 import BeautifulSoup
from lxml import etree
from PIL import Image, ImageDraw, ImageStat

from storefront.catalog import Book, load_catalog
from storefront.urls import Urls
from widgets.cover_raster import raster_cover
from widgets.epub import build_sample

from .conftest import MINIMAL_CATALOG, require_executable
from .test_epub_check import epubcheck

pytestmark = [pytest.mark.slow]

AT = datetime(2026, 3, 10, 12, tzinfo=UTC)
URLS = Urls("https://books.example.org")
NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
}
# What a failed conversion leaves in Calibre's log.
TROUBLE = re.compile(r"Traceback|\bERROR\b|Error:|failed|Failed to", re.IGNORECASE)

OWN_COVER_CATALOG = MINIMAL_CATALOG.replace(
    'description = "A book for tests. It has two sentences."',
    'cover = "own-cover.jpg"\ndescription = "A book for tests. It has two sentences."',
).replace(
    '[[books.quotes]]\ntext = "Very good."\nsource = "A Reviewer"\n',
    '[[books.quotes]]\ntext = "Very good."\nsource = "A Reviewer"\n\n'
    '[[books.quotes]]\ntext = "A second opinion & a <kind> one: read it twice."\n'
    'source = "The Other Paper"\n',
)


def calibre(tool: str, *args: str | Path) -> subprocess.CompletedProcess:
    executable = require_executable(tool)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [executable, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def picture(path: Path) -> Image.Image:
    """An image read whole (no file handle left open)."""
    return Image.open(io.BytesIO(path.read_bytes()))


def own_cover_image() -> Image.Image:
    """An author's cover: 1000 x 1500, a coloured field, a band and a disc (no barcode)."""
    image = Image.new("RGB", (1000, 1500), (200, 60, 40))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 900, 1000, 1150), fill=(240, 220, 90))
    draw.ellipse((300, 250, 700, 650), fill=(30, 40, 120))
    return image


@dataclass
class Converted:
    book: Book
    epub: Path
    azw3: Path
    log: str
    cover: Path  # what ebook-meta reads from the AZW3
    back: Path  # the AZW3 converted back to EPUB
    back_log: str


def convert(folder: Path, catalog_path: Path | None, slug: str) -> Converted:
    catalog = load_catalog(catalog_path)
    book = catalog.book(slug)
    epub = folder / f"{slug}.epub"
    epub.write_bytes(build_sample(catalog, book, AT, URLS))
    azw3 = folder / f"{slug}.azw3"
    done = calibre("ebook-convert", epub, azw3)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cover = folder / f"{slug}-cover.jpg"
    meta = calibre("ebook-meta", azw3, f"--get-cover={cover}")
    assert meta.returncode == 0, meta.stderr[-2000:]
    back = folder / f"{slug}-back.epub"
    again = calibre("ebook-convert", azw3, back)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    return Converted(
        book, epub, azw3, done.stdout + done.stderr, cover, back, again.stdout + again.stderr
    )


@pytest.fixture(scope="module")
def genesis(tmp_path_factory) -> Converted:
    return convert(tmp_path_factory.mktemp("genesis"), None, "genesis")


@pytest.fixture(scope="module")
def own_cover(tmp_path_factory) -> Converted:
    folder = tmp_path_factory.mktemp("own")
    own_cover_image().save(folder / "own-cover.jpg", quality=92)
    catalog_path = folder / "catalog.toml"
    catalog_path.write_text(OWN_COVER_CATALOG, encoding="utf-8")
    return convert(folder, catalog_path, "first")


@pytest.fixture(params=["genesis", "own_cover"])
def converted(request) -> Converted:
    return request.getfixturevalue(request.param)


def looks_alike(a: Image.Image, b: Image.Image) -> float:
    """The mean difference (0-255) of two images at a small common size: a few for the same."""
    size = (40, 64)
    small_a = a.convert("RGB").resize(size, Image.Resampling.BOX)
    small_b = b.convert("RGB").resize(size, Image.Resampling.BOX)
    diff = Image.frombytes(
        "RGB",
        size,
        bytes(abs(x - y) for x, y in zip(small_a.tobytes(), small_b.tobytes(), strict=True)),
    )
    return sum(ImageStat.Stat(diff).mean) / 3


# --------------------------------------------------------------------------- the EPUB itself


def package(path: Path) -> tuple[zipfile.ZipFile, str, etree._Element]:
    archive = zipfile.ZipFile(io.BytesIO(path.read_bytes()))  # no file left open
    container = etree.fromstring(archive.read("META-INF/container.xml"))
    opf_path = container.xpath("string(c:rootfiles/c:rootfile/@full-path)", namespaces=NS)
    return archive, opf_path, etree.fromstring(archive.read(opf_path))


def test_the_epub_declares_its_cover_both_ways_and_it_is_the_first_image(genesis):
    archive, opf_path, opf = package(genesis.epub)
    (item,) = opf.findall("opf:manifest/opf:item[@properties='cover-image']", NS)
    (meta,) = opf.findall("opf:metadata/opf:meta[@name='cover']", NS)
    assert meta.get("content") == item.get("id")
    assert item.get("media-type") == "image/jpeg"
    assert opf.findtext("opf:metadata/dc:language", namespaces=NS) == "en"
    base = opf_path.rpartition("/")[0]
    # The first image in reading order is the cover, never the QR code.
    spine = [i.get("idref") for i in opf.findall("opf:spine/opf:itemref", NS)]
    hrefs = {i.get("id"): i.get("href") for i in opf.findall("opf:manifest/opf:item", NS)}
    images = []
    for idref in spine:
        page = archive.read(f"{base}/{hrefs[idref]}")
        assert page.startswith(b'<?xml version="1.0" encoding="utf-8"?>')  # declared encoding
        images += [img["src"] for img in BeautifulSoup(page, "xml").find_all("img")]
    assert images[0] == item.get("href")
    assert images[-1].endswith("qr.png")
    # ebook-meta (what send-to-device tools read) finds it in the EPUB too.
    out = genesis.epub.with_name("from-epub.jpg")
    assert calibre("ebook-meta", genesis.epub, f"--get-cover={out}").returncode == 0
    assert picture(out).size == (1600, 2560)


def test_every_link_inside_the_book_has_a_target(genesis):
    archive, opf_path, opf = package(genesis.epub)
    base = opf_path.rpartition("/")[0]
    pages = {
        i.get("href"): BeautifulSoup(archive.read(f"{base}/{i.get('href')}"), "xml")
        for i in opf.findall("opf:manifest/opf:item[@media-type='application/xhtml+xml']", NS)
    }
    for name, soup in pages.items():
        for link in soup.find_all("a", href=True):
            href = link["href"]
            if re.match(r"^[a-z]+:", href):
                continue
            target, _, fragment = href.partition("#")
            assert target in pages or not target, (name, href)
            if fragment:
                assert pages[target or name].find(id=fragment) is not None, (name, href)


# --------------------------------------------------------------------------- through Calibre


def test_conversion_to_azw3_logs_no_error(converted):
    assert converted.azw3.stat().st_size > 10_000
    assert not TROUBLE.findall(converted.log), converted.log[-3000:]
    assert not TROUBLE.findall(converted.back_log), converted.back_log[-3000:]


def test_the_kindle_cover_is_the_books_cover(converted):
    cover = picture(converted.cover)
    width, height = cover.size
    assert max(width, height) >= 1000
    assert 1.4 <= height / width <= 1.7
    # Not the QR code (nor any code): zxing finds nothing to decode.
    assert zxingcpp.read_barcodes(cover) == []
    ours = Image.open(io.BytesIO(raster_cover(converted.book)))
    assert looks_alike(cover, ours) < 8


def test_the_author_cover_survives_as_the_authors_picture(own_cover):
    # Scaled to fit and centred on its own colour: the middle of the cover is the picture's.
    # 1000 x 1500 in 1600 x 2560: scaled 1.6 times, 80 px of its edge colour above and below.
    cover = picture(own_cover.cover)
    w, h = cover.size
    middle = cover.crop((w // 4, h // 4, 3 * w // 4, 3 * h // 4))
    expected = own_cover_image().crop((250, 350, 750, 1150))
    assert looks_alike(middle, expected) < 12


def test_round_trip_keeps_cover_title_author_and_every_quote(converted):
    archive, opf_path, opf = package(converted.back)
    book = converted.book
    title = opf.findtext("opf:metadata/dc:title", namespaces=NS)
    assert title == f"{book.full_title} (free sample)"
    creators = [c.text for c in opf.findall("opf:metadata/dc:creator", NS)]
    assert creators == list(book.authors)
    (meta,) = opf.findall("opf:metadata/opf:meta[@name='cover']", NS)
    base = opf_path.rpartition("/")[0]
    (item,) = [
        i for i in opf.findall("opf:manifest/opf:item", NS) if i.get("id") == meta.get("content")
    ]
    href = f"{base}/{item.get('href')}" if base else item.get("href")
    cover = Image.open(io.BytesIO(archive.read(href)))
    assert looks_alike(cover, Image.open(io.BytesIO(raster_cover(book)))) < 8
    text = " ".join(
        BeautifulSoup(archive.read(name), "html.parser").get_text(" ")
        for name in archive.namelist()
        if name.endswith((".html", ".xhtml", ".htm"))
    )
    text = " ".join(text.split())
    assert book.quotes
    for quote in book.quotes:
        assert " ".join(quote.text.split()) in text
        assert quote.source in text


def test_the_own_cover_sample_passes_epubcheck_with_no_message(own_cover):
    report = epubcheck(own_cover.epub)
    assert [m["message"] for m in report["messages"]] == []
    assert report["exit_code"] == 0
