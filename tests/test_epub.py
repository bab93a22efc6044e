"""The EPUB sample builder, parsed: OPF metadata with namespaces, spine, nav, pages, zip.

EPUBCheck itself runs in test_epub_check.py on two representative files; these
tests read the package as XML and assert what each part must hold.
"""

from __future__ import annotations

import io
import posixpath
import re
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from bs4 import BeautifulSoup
from lxml import etree
from PIL import Image

from storefront.catalog import Catalog, load_catalog
from storefront.urls import Urls
from widgets.epub import SampleError, build_sample, sample_identifier

from .conftest import MINIMAL_CATALOG

DATA = Path(__file__).resolve().parent / "data" / "epub"
HOSTILE = DATA / "hostile.toml"
URLS = Urls("https://books.example.org")
PHOENIX = ZoneInfo("America/Phoenix")
QUIET_DAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SALE_DAY = datetime(2026, 12, 22, 10, 0, tzinfo=PHOENIX)
HOSTILE_SALE_DAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"


class Epub:
    """An EPUB read the way a reading system does: container, then OPF, then items."""

    def __init__(self, data: bytes):
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        container = etree.fromstring(self.zip.read("META-INF/container.xml"))
        self.opf_path = container.find(".//c:rootfile", NS).get("full-path")
        self.base = posixpath.dirname(self.opf_path)
        self.opf = etree.fromstring(self.zip.read(self.opf_path))

    def read(self, href: str) -> bytes:
        return self.zip.read(posixpath.join(self.base, href))

    def xml(self, href: str):
        return etree.fromstring(self.read(href))

    def soup(self, href: str) -> BeautifulSoup:
        return BeautifulSoup(self.read(href), "xml")

    def dc(self, name: str) -> list[str]:
        return [e.text for e in self.opf.findall(f"opf:metadata/dc:{name}", NS)]

    def meta(self, prop: str) -> list[str]:
        return [
            e.text
            for e in self.opf.findall("opf:metadata/opf:meta", NS)
            if e.get("property") == prop and e.get("refines") is None
        ]

    def refined(self, element_id: str, prop: str) -> str | None:
        for e in self.opf.findall("opf:metadata/opf:meta", NS):
            if e.get("refines") == f"#{element_id}" and e.get("property") == prop:
                return e.text
        return None

    def people(self, name: str) -> list[tuple[str, str | None]]:
        return [
            (e.text, self.refined(e.get("id"), "role"))
            for e in self.opf.findall(f"opf:metadata/dc:{name}", NS)
        ]

    @property
    def manifest(self) -> dict[str, dict[str, str]]:
        return {e.get("id"): dict(e.attrib) for e in self.opf.findall("opf:manifest/opf:item", NS)}

    @property
    def spine(self) -> list[tuple[str, str]]:
        """(href, linear) of every spine item, in reading order."""
        items = self.manifest
        return [
            (items[e.get("idref")]["href"], e.get("linear", "yes"))
            for e in self.opf.findall("opf:spine/opf:itemref", NS)
        ]

    def documents(self) -> list[str]:
        """Every XHTML document in the manifest, the navigation document included."""
        return [
            i["href"] for i in self.manifest.values() if i["media-type"] == "application/xhtml+xml"
        ]

    @property
    def nav_href(self) -> str:
        (nav,) = [i["href"] for i in self.manifest.values() if "nav" in i.get("properties", "")]
        return nav

    def nav_links(self, kind: str) -> list[tuple[str | None, str, str]]:
        """(epub:type, href, text) of each link in the nav's ``kind`` list (toc, landmarks)."""
        nav = self.xml(self.nav_href)
        (section,) = [n for n in nav.iter(f"{{{NS['x']}}}nav") if n.get(EPUB_TYPE) == kind]
        return [
            (a.get(EPUB_TYPE), a.get("href"), "".join(a.itertext()))
            for a in section.iter(f"{{{NS['x']}}}a")
        ]


def page_text(epub: Epub, href: str, selector: str) -> list[str]:
    return [el.get_text(" ", strip=True) for el in epub.soup(href).select(selector)]


@pytest.fixture(scope="module")
def genesis_catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def hostile_catalog() -> Catalog:
    return load_catalog(HOSTILE)


@pytest.fixture(scope="module")
def genesis(genesis_catalog) -> Epub:
    return Epub(build_sample(genesis_catalog, genesis_catalog.book("genesis"), QUIET_DAY, URLS))


@pytest.fixture(scope="module")
def genesis_on_sale(genesis_catalog) -> Epub:
    return Epub(build_sample(genesis_catalog, genesis_catalog.book("genesis"), SALE_DAY, URLS))


@pytest.fixture(scope="module")
def hostile(hostile_catalog) -> Epub:
    book = hostile_catalog.book("hostile")
    return Epub(build_sample(hostile_catalog, book, HOSTILE_SALE_DAY, URLS))


# --------------------------------------------------------------------------- metadata

GENESIS_METADATA = [
    ("title", ["Genesis: the Story of Apollo 8 (free sample)"]),
    ("language", ["en"]),
    ("creator", [("Robert Zimmerman", "aut")]),
    ("contributor", [("Valerie Anders", "wfw"), ("Robert Zimmerman", "win")]),
    ("publisher", ["Behind The Black Books"]),
    ("rights", ["Copyright © Robert Zimmerman. All rights reserved."]),
    ("accessMode", ["textual", "visual"]),
    ("accessModeSufficient", ["textual"]),
    (
        "accessibilityFeature",
        [
            "alternativeText",
            "readingOrder",
            "structuralNavigation",
            "tableOfContents",
            "displayTransformability",
        ],
    ),
    ("accessibilityHazard", ["none"]),
]


def metadata_value(epub: Epub, field: str):
    if field in ("creator", "contributor"):
        return epub.people(field)
    if field.startswith("access"):
        return epub.meta(f"schema:{field}")
    return epub.dc(field)


@pytest.mark.parametrize("field, expected", GENESIS_METADATA)
def test_genesis_sample_metadata(genesis, field, expected):
    assert metadata_value(genesis, field) == expected


def test_description_date_and_modified_are_well_formed(genesis, genesis_catalog):
    assert genesis.dc("description") == [genesis_catalog.book("genesis").description]
    (day,) = genesis.dc("date")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", day)
    (modified,) = genesis.meta("dcterms:modified")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", modified)
    (summary,) = genesis.meta("schema:accessibilitySummary")
    assert "text alternative" in summary


def test_package_carries_the_book_language_and_a_stable_identifier(genesis, genesis_catalog):
    assert genesis.opf.get(XML_LANG) == "en"
    assert genesis.opf.get("version") == "3.0"
    unique = genesis.opf.get("unique-identifier")
    (identifier,) = genesis.opf.findall(f"opf:metadata/dc:identifier[@id='{unique}']", NS)
    assert identifier.text == sample_identifier(genesis_catalog.book("genesis"), URLS)
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", identifier.text)


def test_identifier_is_the_same_across_builds_and_differs_between_books(
    genesis, genesis_on_sale, hostile
):
    assert genesis.dc("identifier") == genesis_on_sale.dc("identifier")
    assert genesis.dc("identifier") != hostile.dc("identifier")


def test_hostile_metadata_keeps_every_character(hostile, hostile_catalog):
    book = hostile_catalog.book("hostile")
    assert hostile.dc("title") == [f"{book.full_title} (free sample)"]
    assert hostile.people("creator") == [(name, "aut") for name in book.authors]
    assert hostile.people("contributor") == [
        ("Fore <Word> & Writer", "wfw"),
        ('Tränslator "T"', "trl"),
        ("Ill & Ustrator", "ill"),
    ]
    assert hostile.dc("publisher") == [book.publisher]
    assert hostile.dc("rights") == [book.rights]
    assert hostile.dc("date") == ["2024-02-29"]
    assert hostile.dc("source") == ["urn:isbn:9780306406157"]
    assert hostile.meta("belongs-to-collection") == ["Moon & <Stars>"]
    assert hostile.refined("series", "group-position") == "2"


# --------------------------------------------------------------------------- structure


def test_spine_starts_with_the_cover_and_every_page_is_linear(genesis, hostile):
    assert genesis.spine == [
        (href, "yes")
        for href in ("cover.xhtml", "title.xhtml", "reviews.xhtml", "about.xhtml", "buy.xhtml")
    ]
    assert [href for href, _ in hostile.spine] == [
        "cover.xhtml",
        "title.xhtml",
        "reviews.xhtml",
        "about.xhtml",
        "chapter.xhtml",
        "buy.xhtml",
    ]


@pytest.mark.parametrize("sample", ["genesis", "hostile"])
def test_navigation_lists_every_page_and_landmarks_only_spine_items(sample, request):
    epub: Epub = request.getfixturevalue(sample)
    spine = [href for href, _ in epub.spine]
    assert [href for _, href, _ in epub.nav_links("toc")] == spine
    landmarks = epub.nav_links("landmarks")
    assert {kind for kind, _, _ in landmarks} >= {"cover", "titlepage", "bodymatter", "backmatter"}
    assert all(href in spine for _, href, _ in landmarks)
    ncx_id = epub.opf.find("opf:spine", NS).get("toc")
    ncx = epub.xml(epub.manifest[ncx_id]["href"])
    points = [c.get("src") for c in ncx.iterfind(".//ncx:navPoint/ncx:content", NS)]
    assert points == spine
    ids = [p.get("id") for p in ncx.iterfind(".//ncx:navPoint", NS)]
    assert all(re.fullmatch(r"[A-Za-z_][\w.-]*", i) for i in ids)


@pytest.mark.parametrize("sample", ["genesis", "hostile"])
def test_every_page_links_the_one_stylesheet_nav_included(sample, request):
    epub: Epub = request.getfixturevalue(sample)
    styles = [i["href"] for i in epub.manifest.values() if i["media-type"] == "text/css"]
    assert len(styles) == 1
    for href in epub.documents():
        links = epub.xml(href).findall("x:head/x:link[@rel='stylesheet']", NS)
        assert [link.get("href") for link in links] == styles, href


@pytest.mark.parametrize("sample", ["genesis", "hostile"])
def test_no_script_and_no_remote_resource(sample, request):
    epub: Epub = request.getfixturevalue(sample)
    manifest_hrefs = {i["href"] for i in epub.manifest.values()}
    for item in epub.manifest.values():
        assert "://" not in item["href"]
        assert not set(item.get("properties", "").split()) & {"scripted", "remote-resources"}
    for href in epub.documents():
        root = epub.xml(href)  # well-formed XML, or this raises
        assert root.get(XML_LANG) == "en"
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            assert etree.QName(el).localname not in ("script", "iframe", "object", "embed")
            assert not [a for a in el.attrib if etree.QName(a).localname.startswith("on")]
        for img in root.iter(f"{{{NS['x']}}}img"):
            assert img.get("src") in manifest_hrefs
            assert img.get("alt") is not None
        for a in root.iter(f"{{{NS['x']}}}a"):
            target = a.get("href")
            if target is not None:
                assert target.startswith(("https://", "http://", "mailto:")) or (
                    target.split("#")[0] in manifest_hrefs
                ), target


def test_zip_is_reproducible_with_source_date_epoch(genesis_catalog, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    book = genesis_catalog.book("genesis")
    first = build_sample(genesis_catalog, book, QUIET_DAY, URLS)
    second = build_sample(genesis_catalog, book, QUIET_DAY, URLS)
    assert first == second
    epub = Epub(first)
    assert epub.meta("dcterms:modified") == ["2023-11-14T22:13:20Z"]
    entries = epub.zip.infolist()
    assert entries[0].filename == "mimetype"
    assert entries[0].compress_type == zipfile.ZIP_STORED
    assert epub.zip.read("mimetype") == b"application/epub+zip"
    assert {e.date_time for e in entries} == {(2023, 11, 14, 22, 13, 20)}


def test_builds_without_source_date_epoch_are_identical_too(hostile_catalog):
    # Every worker process must build the same bytes, so they all send one ETag.
    book = hostile_catalog.book("hostile")
    assert build_sample(hostile_catalog, book, HOSTILE_SALE_DAY, URLS) == build_sample(
        hostile_catalog, book, HOSTILE_SALE_DAY, URLS
    )


def test_modified_date_follows_the_last_price_change(write_catalog):
    path = write_catalog(
        MINIMAL_CATALOG
        + """
[[campaigns]]
slug = "far"
name = "Far future sale"
starts = 2090-05-01T12:00:00Z
ends = 2090-06-01T00:00:00Z
percent_off = 10
"""
    )
    catalog = load_catalog(path)
    during = datetime(2090, 5, 2, tzinfo=UTC)
    epub = Epub(build_sample(catalog, catalog.book("first"), during, URLS))
    assert epub.meta("dcterms:modified") == ["2090-05-01T12:00:00Z"]


# --------------------------------------------------------------------------- pages


def test_cover_page_shows_the_raster_cover_with_real_alt_text(genesis):
    # Kindle, Kobo and Calibre ignore an SVG cover: a 1.6:1 RGB JPEG, declared both ways.
    (cover_id,) = [k for k, i in genesis.manifest.items() if i.get("properties") == "cover-image"]
    cover = genesis.manifest[cover_id]
    assert cover["media-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(genesis.read(cover["href"])))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (1600, 2560))
    (img,) = genesis.xml("cover.xhtml").iter(f"{{{NS['x']}}}img")
    assert img.get("src") == cover["href"]
    assert img.get("alt") == "Cover of Genesis: the Story of Apollo 8 by Robert Zimmerman"
    names = genesis.opf.findall("opf:metadata/opf:meta[@name='cover']", NS)
    assert [m.get("content") for m in names] == [cover_id]


def test_catalog_cover_file_is_the_raster_cover(write_catalog, tmp_path):
    shutil.copy(DATA / "images" / "earthrise.png", tmp_path / "cover.png")
    text = MINIMAL_CATALOG.replace(
        'description = "A book', 'cover = "cover.png"\ndescription = "A book'
    )
    catalog = load_catalog(write_catalog(text))
    epub = Epub(build_sample(catalog, catalog.book("first"), QUIET_DAY, URLS))
    (cover,) = [i for i in epub.manifest.values() if i.get("properties") == "cover-image"]
    assert cover["media-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(epub.read(cover["href"])))
    assert image.size == (1600, 2560)
    # The author's picture, scaled to fit and centred: its middle is the picture's middle.
    source = Image.open(tmp_path / "cover.png").convert("RGB")
    w, h = source.size
    expected = source.getpixel((w // 2, h // 2))
    got = image.getpixel((800, 1280))
    assert all(abs(a - b) <= 24 for a, b in zip(expected, got, strict=True)), (expected, got)


@pytest.mark.parametrize(
    "svg, problem",
    [
        ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "<script>"),
        ('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "event handler"),
        (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            '<image xlink:href="https://evil.example/x.png"/></svg>',
            "refers to 'https://evil.example/x.png'",
        ),
        ("<svg", "not well-formed"),
    ],
)
def test_catalog_svg_cover_that_scripts_or_fetches_is_refused(
    svg, problem, write_catalog, tmp_path
):
    (tmp_path / "cover.svg").write_text(svg, encoding="utf-8")
    text = MINIMAL_CATALOG.replace(
        'description = "A book', 'cover = "cover.svg"\ndescription = "A book'
    )
    catalog = load_catalog(write_catalog(text))
    with pytest.raises(SampleError, match=re.escape(problem)) as info:
        build_sample(catalog, catalog.book("first"), QUIET_DAY, URLS)
    assert "cover.svg" in str(info.value)


def test_title_page_has_the_credits(genesis):
    assert page_text(genesis, "title.xhtml", "h1") == ["Genesis"]
    assert page_text(genesis, "title.xhtml", ".subtitle") == ["the Story of Apollo 8"]
    assert page_text(genesis, "title.xhtml", ".credits li") == [
        "by Robert Zimmerman",
        "Foreword by Valerie Anders",
        "Introduction by Robert Zimmerman",
    ]


def test_reviews_page_has_every_quote_and_its_source(hostile, hostile_catalog):
    quotes = hostile_catalog.book("hostile").quotes
    soup = hostile.soup("reviews.xhtml")
    assert [q.get_text(" ", strip=True) for q in soup.select("blockquote")] == [
        q.text for q in quotes
    ]
    assert [c.get_text(" ", strip=True) for c in soup.select("figcaption")] == [
        f"— {q.source}" for q in quotes
    ]
    assert soup.select_one("figcaption a")["href"] == quotes[0].url


def test_about_page_has_the_blurb_paragraphs(hostile, hostile_catalog):
    paragraphs = hostile_catalog.book("hostile").description.split("\n\n")
    assert page_text(hostile, "about.xhtml", "section p") == paragraphs


def test_hostile_text_stays_text_everywhere(hostile, hostile_catalog):
    book = hostile_catalog.book("hostile")
    assert page_text(hostile, "title.xhtml", "h1") == [book.title]
    for href in hostile.documents():
        assert hostile.soup(href).find("script") is None
    assert "alert(" not in "".join(hostile.xml("chapter.xhtml").itertext())


def test_buy_page_on_a_quiet_day_lists_tracked_links_preferred_first(genesis, genesis_catalog):
    book = genesis_catalog.book("genesis")
    soup = genesis.soup("buy.xhtml")
    ebook, audio = soup.select("section.format")
    assert [ebook.h2.get_text(), audio.h2.get_text()] == ["Ebook", "Audiobook"]
    links = [a["href"] for a in ebook.select("li > a")]
    assert links[0] == URLS.go("genesis", "ebookit", src="epub", absolute=True)
    assert sorted(links) == sorted(
        URLS.go("genesis", o.slug, src="epub", absolute=True) for o in book.edition("ebook").offers
    )
    assert {p.get_text() for p in ebook.select(".price")} == {"$5.99"}
    assert ebook.select(".reason")[0].get_text().startswith("Buy direct from the publisher")
    assert "30-day Audible trial" in audio.select_one(".note").get_text()
    assert {p.get_text() for p in audio.select(".price")} == {"price at the store"}
    assert soup.select_one(".sale") is None


def test_buy_page_during_the_sale_shows_was_and_now(genesis_on_sale):
    soup = genesis_on_sale.soup("buy.xhtml")
    ebook = soup.select_one("section.format")
    first = ebook.select_one("li")
    assert first.select_one("del").get_text() == "$5.99"
    assert first.select_one(".price strong").get_text() == "$2.99"
    assert first.a["href"] == URLS.go(
        "genesis", "ebookit", src="epub", campaign="apollo8-anniversary", absolute=True
    )
    assert "December 27, 2026" in soup.select_one(".sale").get_text()


def test_buy_page_shows_the_affiliate_disclosure_when_a_vendor_is_affiliate(hostile, genesis):
    assert "affiliate" in hostile.soup("buy.xhtml").select_one(".disclosure").get_text()
    assert genesis.soup("buy.xhtml").select_one(".disclosure") is None


def test_qr_code_decodes_to_the_book_page(genesis):
    (img,) = genesis.xml("buy.xhtml").iterfind(".//x:figure/x:img", NS)
    page = URLS.book("genesis", absolute=True)
    assert page in img.get("alt")
    (item,) = [i for i in genesis.manifest.values() if i["href"] == img.get("src")]
    assert item["media-type"] == "image/png"
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(genesis.read(item["href"]))))
    assert code.text == page


def test_chapter_page_from_markdown(hostile):
    soup = hostile.soup("chapter.xhtml")
    assert soup.h1.get_text() == "Chapter 1: Earthrise & the Night"
    assert [h.get_text() for h in soup.select("h2")] == ["What they carried"]
    assert [h.get_text() for h in soup.select("h3")] == ["A smaller heading"]
    assert [li.get_text() for li in soup.select("ol li")] == [
        "A camera",
        "Film & filters",
        "A flight plan",
    ]
    assert [li.get_text() for li in soup.select("ul li")] == ["Borman", "Lovell", "Anders"]
    assert soup.select_one("blockquote p").get_text().startswith('"We came all this way')
    assert soup.select_one("em").get_text() == "unexpected"
    img = soup.select_one("img")
    assert img["alt"] == "The Earth rising over the Moon's horizon"
    assert hostile.read(img["src"]) == (DATA / "images" / "earthrise.png").read_bytes()
    links = {a.get_text(): a.get("href") for a in soup.select("a")}
    assert links == {
        "link home": "https://www.nasa.gov/",
        "relative link": None,
        "javascript link": None,
    }
    text = soup.get_text()
    assert "must not run" not in text and soup.find("iframe") is None
    assert soup.select_one("p[onclick]") is None and soup.select_one("[style*=color]") is None
    assert soup.select_one("span[dir=rtl]").get_text() == "שלום עולם"


def test_book_without_quotes_starts_its_body_at_the_blurb(write_catalog):
    text = MINIMAL_CATALOG.replace(
        '[[books.quotes]]\ntext = "Very good."\nsource = "A Reviewer"\n', ""
    )
    catalog = load_catalog(write_catalog(text))
    assert catalog.book("first").quotes == ()
    epub = Epub(build_sample(catalog, catalog.book("first"), QUIET_DAY, URLS))
    assert [href for href, _ in epub.spine] == [
        "cover.xhtml",
        "title.xhtml",
        "about.xhtml",
        "buy.xhtml",
    ]
    assert ("bodymatter", "about.xhtml") in [(k, h) for k, h, _ in epub.nav_links("landmarks")]


def test_right_to_left_book_reads_right_to_left(write_catalog):
    text = MINIMAL_CATALOG.replace(
        'authors = ["A. Writer"]', 'authors = ["A. Writer"]\nlanguage = "he"'
    )
    catalog = load_catalog(write_catalog(text))
    epub = Epub(build_sample(catalog, catalog.book("first"), QUIET_DAY, URLS))
    assert epub.opf.get(XML_LANG) == "he"
    assert epub.opf.find("opf:spine", NS).get("page-progression-direction") == "rtl"
    assert epub.xml("title.xhtml").get("dir") == "rtl"


def test_sample_chapter_that_breaks_after_loading_raises_a_clear_error(write_catalog, tmp_path):
    (tmp_path / "chapter.md").write_text("# One\n\nText.\n", encoding="utf-8")
    text = MINIMAL_CATALOG.replace(
        'description = "A book', 'sample_chapter = "chapter.md"\ndescription = "A book'
    )
    catalog = load_catalog(write_catalog(text))
    (tmp_path / "chapter.md").write_text("![x](https://evil.example/x.png)\n", encoding="utf-8")
    with pytest.raises(
        SampleError, match=r"chapter\.md: image 'https://evil.example/x.png' is remote"
    ):
        build_sample(catalog, catalog.book("first"), QUIET_DAY, URLS)


def test_the_builder_uses_only_ebooklibs_public_interface():
    # A private method overridden or called pins ebooklib forever; write_epub and the
    # EpubBook/Epub* item classes are its documented interface.
    import ast

    import widgets.epub

    package = Path(widgets.epub.__file__).parent
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in sorted(package.glob("*.py"))]
    private = [
        f"line {node.lineno}: epub.{node.attr}"
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("epub", "ebooklib")
        and node.attr.startswith("_")
    ]
    subclasses = [
        f"line {node.lineno}: class {node.name}"
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(
            isinstance(b, ast.Attribute) and getattr(b.value, "id", "") == "epub"
            for b in node.bases
        )
    ]
    assert private == [] and subclasses == []
