"""The sample's resources: the stylesheet, the cover, the QR code, the chapter's images.

The third step of a build (Sphinx's manifest): every file the pages refer to,
added to the book before the pages themselves. The cover is a JPEG (Kindle,
Kobo and Calibre ignore an SVG cover) declared both ways: EPUB 3's
``properties="cover-image"`` and EPUB 2's ``<meta name="cover">``. It is the
first image of the book, so no reader mistakes the QR code for the cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ebooklib import epub

from storefront.catalog import Book
from storefront.templating import render

from ..cover_raster import RASTER_MEDIA_TYPE, raster_cover
from ..markdown import Chapter
from ..qr import qr_png
from .sources import SampleError

STYLESHEET = "styles/sample.css"
COVER_ID = "cover-image"
COVER_NAME = "images/cover.jpg"
QR_NAME = "images/qr.png"


@dataclass(frozen=True)
class Resources:
    """The names the pages use for the files added by :func:`add_resources`."""

    stylesheet: str
    cover_name: str
    qr_name: str


@lru_cache(maxsize=256)
def _qr_png(url: str) -> bytes:
    # Two thirds of a build is segno's mask search: the page URL of a book rarely changes.
    return qr_png(url, scale=6, for_print=False)


def add_resources(
    ebook: epub.EpubBook,
    book: Book,
    chapter: Chapter | None,
    page_url: str,
    cover_alt: str,
    cover_cache: Path | None = None,
) -> Resources:
    """Add the stylesheet, the cover, the QR code and the chapter's images to ``ebook``."""
    css = render("epub/sample.css").encode("utf-8")
    ebook.add_item(
        epub.EpubItem(uid="style", file_name=STYLESHEET, media_type="text/css", content=css)
    )
    cover = epub.EpubCover(uid=COVER_ID, file_name=COVER_NAME)
    cover.media_type = RASTER_MEDIA_TYPE
    cover.content = raster_cover(book, alt=cover_alt, cache_dir=cover_cache)
    ebook.add_item(cover)
    # EPUB 2 reading systems (and Kindle's converters) find the cover through this meta.
    ebook.add_metadata(None, "meta", "", {"name": "cover", "content": COVER_ID})
    ebook.add_item(
        epub.EpubImage(
            uid="qr-code", file_name=QR_NAME, media_type="image/png", content=_qr_png(page_url)
        )
    )
    for i, image in enumerate(chapter.images if chapter else (), start=1):
        try:
            data = image.source.read_bytes()
        except OSError as exc:
            raise SampleError(f"image '{image.source}': {exc.strerror or exc}") from None
        ebook.add_item(
            epub.EpubImage(
                uid=f"chapter-image-{i}",
                file_name=image.name,
                media_type=image.media_type,
                content=data,
            )
        )
    return Resources(STYLESHEET, COVER_NAME, QR_NAME)
