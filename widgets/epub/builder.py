"""Build the sample in steps, as Sphinx's EPUB builder does.

1. **sources** (:mod:`.sources`): read the chapter, check the cover, date the build;
2. **metadata** (:mod:`.metadata`): the OPF's ``dc:*``, roles, series, accessibility;
3. **resources** (:mod:`.resources`): stylesheet, raster cover, QR code, chapter images;
4. **pages** (:mod:`.pages`): the XHTML pages, spine, TOC, nav and guide;
5. **package** (:mod:`.container`): ebooklib's ``write_epub``, re-packed reproducibly.
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from pathlib import Path

from ebooklib import epub

from storefront.catalog import Book, Catalog
from storefront.presentation import present_book
from storefront.urls import Urls

from ..cover import book_cover
from ..reproducible import source_date
from ..textdir import Span, language_direction
from .container import repack
from .metadata import imprint, set_metadata
from .pages import add_pages, plan_pages
from .resources import add_resources
from .sources import ZIP_EPOCH, check_cover, default_modified, load_chapter

logger = logging.getLogger(__name__)


def build_sample(
    catalog: Catalog,
    book: Book,
    at: datetime,
    urls: Urls,
    *,
    modified: datetime | None = None,
    cover_cache: Path | None = None,
) -> bytes:
    """Build the EPUB 3 sample of ``book`` with prices at ``at`` and links under ``urls``.

    ``modified`` (an aware datetime) overrides the default modification date;
    ``SOURCE_DATE_EPOCH`` overrides both. ``cover_cache`` is a folder where the
    JPEG cover is kept by content (:func:`widgets.cover_raster.raster_cover`).
    Raises :class:`SampleError` when the sample chapter or the cover cannot be
    used (the message names the file).
    """
    # 1. sources
    view = present_book(catalog, book, at, urls, src="epub")
    chapter = load_chapter(catalog, book)
    check_cover(book_cover(book, locale=catalog.site.locale), book)
    stamp = source_date(default=modified or default_modified(catalog, book, chapter, at))
    stamp = max(stamp.astimezone(UTC), ZIP_EPOCH)
    direction = language_direction(book.language)
    facts = imprint(catalog, book, stamp)
    page_url = urls.book(book.slug, absolute=True)

    # 2. metadata, 3. resources
    ebook = epub.EpubBook()
    set_metadata(ebook, book, urls, facts, direction)
    names = add_resources(ebook, book, chapter, page_url, view.cover_alt, cover_cache)

    # 4. pages
    page_span = Span(book.language, direction)
    context = {
        # Text in another language or direction than the page's says so (widgets.textdir).
        "tx": page_span,
        "ui": page_span.inner(lang=catalog.site.language),  # the templates' own words
        "view": view,
        "book": book,
        "site": catalog.site,
        "urls": urls,
        "lang": book.language,
        "direction": direction,
        "stylesheet": names.stylesheet,
        "cover_name": names.cover_name,
        "qr_name": names.qr_name,
        "page_url": page_url,
        "read_url": urls.read(book.slug, src="epub", absolute=True),
        "chapter": chapter,
        "credits": view.credits.lines,
        "publisher": facts.publisher,
        "published": book.published.isoformat() if book.published else None,
        "rights": facts.rights,
        "rights_language": facts.rights_language,
    }
    add_pages(ebook, plan_pages(bool(book.quotes), chapter), context)

    # 5. package
    written = io.BytesIO()
    options = {
        "mtime": stamp,
        "epub3_pages": False,
        "epub2_guide": False,
        "landmark_title": "Landmarks",
        "raise_exceptions": True,
    }
    epub.write_epub(written, ebook, options)
    data = repack(written.getvalue(), book.language, stamp.timetuple()[:6])
    logger.info("built the EPUB sample of %s: %d bytes", book.slug, len(data))
    return data
