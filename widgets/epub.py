"""The EPUB 3 sample of a book: cover, title page, reviews, blurb, a chapter, a way to buy.

:func:`build_sample` is a plain function of (catalog, book, instant, urls) that
returns the bytes of a valid EPUB 3 (checked in CI by the W3C EPUBCheck with no
message at all). Every page is XHTML rendered from ``templates/epub/`` by the
shared autoescaping Jinja environment; ebooklib assembles the package, the
navigation document and the NCX. The output is reproducible: fixed zip entry
order and timestamps, and the modification date comes from ``SOURCE_DATE_EPOCH``
or, without it, from the newest source file and the start of the price window
(so every worker process builds the same bytes, hence the same ETag).
"""

from __future__ import annotations

import io
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from ebooklib import epub
from lxml import etree

from storefront.catalog import Book, Catalog
from storefront.presentation import present_book
from storefront.pricing import price_window
from storefront.templating import render
from storefront.urls import Urls

from .cover import CoverImage, book_cover
from .epub_container import repack
from .markdown import Chapter, ChapterError, render_chapter
from .qr import qr_png
from .reproducible import source_date
from .textdir import Span, language_direction

logger = logging.getLogger(__name__)

EPUB_MEDIA_TYPE = "application/epub+zip"
STYLESHEET = "styles/sample.css"
XHTML = "application/xhtml+xml"

# MARC relator codes for the OPF (https://id.loc.gov/vocabulary/relators).
MARC_ROLES = {
    "author": "aut",
    "foreword": "wfw",
    "introduction": "win",
    "afterword": "aft",
    "editor": "edt",
    "illustrator": "ill",
    "translator": "trl",
    "narrator": "nrt",
    "contributor": "ctb",
}
ACCESSIBILITY = (
    ("schema:accessMode", "textual"),
    ("schema:accessMode", "visual"),
    ("schema:accessModeSufficient", "textual"),
    ("schema:accessibilityFeature", "alternativeText"),
    ("schema:accessibilityFeature", "readingOrder"),
    ("schema:accessibilityFeature", "structuralNavigation"),
    ("schema:accessibilityFeature", "tableOfContents"),
    ("schema:accessibilityFeature", "displayTransformability"),
    ("schema:accessibilityHazard", "none"),
)
ACCESSIBILITY_SUMMARY = (
    "A short sample in reading order with headings and a table of contents. Every image "
    "(the cover, pictures in the chapter and the QR code) has a text alternative, and every "
    "link is also written out as text. No audio, video, animation or script."
)

# Characters XML 1.0 forbids: removed from every page, whatever the catalog holds.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)  # the earliest time a zip entry can carry


class SampleError(ValueError):
    """The sample cannot be built from the catalog's files; the message names the file."""


@dataclass(frozen=True)
class Page:
    """One content document: its manifest id (an XML name), file, title and landmark."""

    uid: str
    file_name: str
    title: str
    landmark: str | None = None

    @property
    def template(self) -> str:
        return f"epub/{self.uid}.xhtml"


def sample_filename(book: Book) -> str:
    """The download name: the slug is validated, so the name is safe in any header."""
    return f"{book.slug}-sample.epub"


def sample_identifier(book: Book, urls: Urls) -> str:
    """A stable identifier per book: a UUID named by the sample's public URL."""
    return uuid.uuid5(uuid.NAMESPACE_URL, urls.sample(book.slug, absolute=True)).urn


def load_chapter(catalog: Catalog, book: Book) -> Chapter | None:
    """Render the book's sample chapter, or raise :class:`SampleError` naming the file."""
    if book.sample_chapter is None:
        return None
    try:
        return render_chapter(book.sample_chapter, root=catalog.path.parent)
    except ChapterError as exc:
        raise SampleError(str(exc)) from exc


def source_files(catalog: Catalog, book: Book, chapter: Chapter | None = None) -> list[Path]:
    """Every file the sample is built from (the catalog, cover, chapter, its images)."""
    files = [catalog.path]
    if book.cover is not None:
        files.append(book.cover)
    if book.sample_chapter is not None:
        files.append(book.sample_chapter)
    if chapter is not None:
        files.extend(image.source for image in chapter.images)
    return files


def sources_stamp(catalog: Catalog, book: Book) -> tuple:
    """A cheap cache key part that changes when the cover or chapter file changes."""
    stamp = []
    for path in source_files(catalog, book)[1:]:
        try:
            st = path.stat()
            stamp.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            stamp.append((str(path), None, None))
    return tuple(stamp)


def _default_modified(
    catalog: Catalog, book: Book, chapter: Chapter | None, at: datetime
) -> datetime:
    """When the content last changed: the newest source file or the last price change."""
    times = [_ZIP_EPOCH]
    for path in source_files(catalog, book, chapter):
        try:
            times.append(datetime.fromtimestamp(path.stat().st_mtime, UTC))
        except OSError:
            continue
    start = price_window(catalog, at)[0]
    if start is not None:
        times.append(start.astimezone(UTC))
    return max(times).replace(microsecond=0)


def _check_cover(cover: CoverImage, book: Book) -> None:
    """Refuse a catalog SVG cover that scripts or fetches: an EPUB may do neither."""
    if cover.media_type != "image/svg+xml" or book.cover is None:
        return
    name = book.cover.name
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(cover.data, parser)
    except etree.XMLSyntaxError as exc:
        raise SampleError(f"cover '{name}' is not well-formed SVG: {exc}") from None
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        local = etree.QName(el).localname
        if local in ("script", "foreignObject"):
            raise SampleError(f"cover '{name}' contains <{local}>, which an EPUB may not run")
        for attr, value in el.attrib.items():
            attr_local = etree.QName(attr).localname
            if attr_local.lower().startswith("on"):
                raise SampleError(f"cover '{name}' has an event handler ({attr_local})")
            if attr_local == "href" and not value.startswith(("#", "data:")):
                raise SampleError(
                    f"cover '{name}' refers to '{value}': an EPUB ships every resource"
                )


@lru_cache(maxsize=256)
def _qr_png(url: str) -> bytes:
    # Two thirds of a build is segno's mask search: the page URL of a book rarely changes.
    return qr_png(url, scale=6, for_print=False)


def _page_bytes(page: Page, context: dict) -> bytes:
    text = _NOT_XML.sub("", render(page.template, page=page, **context))
    data = text.encode("utf-8")
    try:
        etree.fromstring(data)  # a page that is not well-formed XML must never ship
    except etree.XMLSyntaxError as exc:  # pragma: no cover - a template bug
        raise RuntimeError(f"EPUB page {page.file_name} is not well-formed: {exc}") from exc
    return data


def build_sample(
    catalog: Catalog,
    book: Book,
    at: datetime,
    urls: Urls,
    *,
    modified: datetime | None = None,
) -> bytes:
    """Build the EPUB 3 sample of ``book`` with prices at ``at`` and links under ``urls``.

    ``modified`` (an aware datetime) overrides the default modification date;
    ``SOURCE_DATE_EPOCH`` overrides both. Raises :class:`SampleError` when the
    sample chapter or the cover cannot be used (the message names the file).
    """
    view = present_book(catalog, book, at, urls, src="epub")
    chapter = load_chapter(catalog, book)
    cover = book_cover(book, locale=catalog.site.locale)
    _check_cover(cover, book)
    stamp = source_date(default=modified or _default_modified(catalog, book, chapter, at))
    stamp = max(stamp.astimezone(UTC), _ZIP_EPOCH)
    language = book.language
    direction = language_direction(language)
    publisher = book.publisher or catalog.site.title
    rights = book.rights or f"Copyright © {view.credits.authors.joined}. All rights reserved."
    page_url = urls.book(book.slug, absolute=True)

    pages = [
        Page("cover", "cover.xhtml", "Cover", "cover"),
        Page("title", "title.xhtml", "Title page", "titlepage"),
    ]
    if book.quotes:
        pages.append(Page("reviews", "reviews.xhtml", "What readers say", "bodymatter"))
    pages.append(
        Page("about", "about.xhtml", "About the book", None if book.quotes else "bodymatter")
    )
    if chapter is not None:
        pages.append(Page("chapter", "chapter.xhtml", chapter.title))
    pages.append(Page("buy", "buy.xhtml", "Get the book", "backmatter"))

    ebook = epub.EpubBook()
    ebook.set_identifier(sample_identifier(book, urls))
    ebook.set_title(f"{book.full_title} (free sample)")
    ebook.set_language(language)
    if direction == "rtl":
        ebook.set_direction("rtl")
    creators = [(name, "author") for name in book.authors]
    creators += [(c.name, c.role) for c in book.contributors if c.role == "author"]
    for i, (name, role) in enumerate(creators, start=1):
        # Each creator needs its own id, or the role refines the wrong one.
        ebook.add_author(name, role=MARC_ROLES[role], uid=f"creator-{i}")
    others = [c for c in book.contributors if c.role != "author"]
    for i, contributor in enumerate(others, start=1):
        uid = f"contributor-{i}"
        ebook.add_metadata("DC", "contributor", contributor.name, {"id": uid})
        role = {"refines": f"#{uid}", "property": "role", "scheme": "marc:relators"}
        ebook.add_metadata(None, "meta", MARC_ROLES.get(contributor.role, "ctb"), role)
    ebook.add_metadata("DC", "publisher", publisher)
    ebook.add_metadata("DC", "date", (book.published or stamp.date()).isoformat())
    ebook.add_metadata("DC", "description", book.description)
    ebook.add_metadata("DC", "rights", rights)
    ebook_edition = book.edition("ebook")
    if ebook_edition is not None and ebook_edition.isbn:
        ebook.add_metadata("DC", "source", f"urn:isbn:{ebook_edition.isbn}")
    if book.series is not None:
        ebook.add_metadata(
            None, "meta", book.series.name, {"property": "belongs-to-collection", "id": "series"}
        )
        ebook.add_metadata(
            None, "meta", "series", {"refines": "#series", "property": "collection-type"}
        )
        if book.series.position:
            position = {"refines": "#series", "property": "group-position"}
            ebook.add_metadata(None, "meta", str(book.series.position), position)
    for prop, value in ACCESSIBILITY:
        ebook.add_metadata(None, "meta", value, {"property": prop})
    ebook.add_metadata(
        None, "meta", ACCESSIBILITY_SUMMARY, {"property": "schema:accessibilitySummary"}
    )

    css = render("epub/sample.css").encode("utf-8")
    ebook.add_item(
        epub.EpubItem(uid="style", file_name=STYLESHEET, media_type="text/css", content=css)
    )
    cover_name = f"images/cover{cover.extension}"
    cover_item = epub.EpubCover(uid="cover-image", file_name=cover_name)
    cover_item.media_type = cover.media_type
    cover_item.content = cover.data
    ebook.add_item(cover_item)
    # EPUB 2 reading systems find the cover through this meta.
    ebook.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})
    qr_name = "images/qr.png"
    qr = _qr_png(page_url)
    ebook.add_item(
        epub.EpubImage(uid="qr-code", file_name=qr_name, media_type="image/png", content=qr)
    )
    for i, image in enumerate(chapter.images if chapter else (), start=1):
        try:
            data = image.source.read_bytes()
        except OSError as exc:
            raise SampleError(f"image '{image.source}': {exc.strerror or exc}") from None
        item = epub.EpubImage(
            uid=f"chapter-image-{i}",
            file_name=image.name,
            media_type=image.media_type,
            content=data,
        )
        ebook.add_item(item)

    page_span = Span(language, direction)
    context = {
        # Text in another language or direction than the page's says so (widgets.textdir).
        "tx": page_span,
        "ui": page_span.inner(lang=catalog.site.language),  # the templates' own words
        "view": view,
        "book": book,
        "site": catalog.site,
        "urls": urls,
        "lang": language,
        "direction": direction,
        "stylesheet": STYLESHEET,
        "cover_name": cover_name,
        "qr_name": qr_name,
        "page_url": page_url,
        "chapter": chapter,
        "credits": view.credits.lines,
        "publisher": publisher,
        "published": book.published.isoformat() if book.published else None,
        "rights": rights,
        "rights_language": language if book.rights else catalog.site.language,
    }
    items = []
    for page in pages:
        item = epub.EpubItem(
            uid=page.uid,
            file_name=page.file_name,
            media_type=XHTML,
            content=_page_bytes(page, context),
        )
        ebook.add_item(item)
        items.append(item)

    nav = epub.EpubNav(title="Contents")
    nav.add_item(ebook.get_item_with_id("style"))
    ebook.add_item(nav)
    ebook.add_item(epub.EpubNcx())
    ebook.toc = [epub.Link(p.file_name, p.title, f"toc-{p.uid}") for p in pages]
    ebook.spine = items  # the cover first and linear; the nav is not a reading page
    ebook.guide = [
        {"href": p.file_name, "title": p.title, "type": p.landmark} for p in pages if p.landmark
    ]

    written = io.BytesIO()
    options = {
        "mtime": stamp,
        "epub3_pages": False,
        "epub2_guide": False,
        "landmark_title": "Landmarks",
        "raise_exceptions": True,
    }
    epub.write_epub(written, ebook, options)
    data = repack(written.getvalue(), language, stamp.timetuple()[:6])
    logger.info("built the EPUB sample of %s: %d bytes", book.slug, len(data))
    return data
