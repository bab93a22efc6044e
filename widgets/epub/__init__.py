"""The EPUB 3 sample of a book: cover, title page, reviews, blurb, a chapter, a way to buy.

:func:`build_sample` is a plain function of (catalog, book, instant, urls) that
returns the bytes of a valid EPUB 3 (checked in CI by the W3C EPUBCheck with no
message at all, DAISY Ace, and Calibre's converter). Every page is XHTML rendered
from ``templates/epub/`` by the shared autoescaping Jinja environment; ebooklib
assembles the package, the navigation document and the NCX. The build runs in
steps (:mod:`.builder`). The output is reproducible: fixed zip entry order and
timestamps, and the modification date comes from ``SOURCE_DATE_EPOCH`` or,
without it, from the newest source file and the start of the price window (so
every worker process builds the same bytes, hence the same ETag).
"""

from __future__ import annotations

from storefront.catalog import Book

from .builder import build_sample
from .metadata import sample_identifier
from .sources import SampleError, load_chapter, source_files, sources_stamp

EPUB_MEDIA_TYPE = "application/epub+zip"

__all__ = [
    "EPUB_MEDIA_TYPE",
    "SampleError",
    "build_sample",
    "load_chapter",
    "sample_filename",
    "sample_identifier",
    "source_files",
    "sources_stamp",
]


def sample_filename(book: Book) -> str:
    """The download name: the slug is validated, so the name is safe in any header."""
    return f"{book.slug}-sample.epub"
