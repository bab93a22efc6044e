"""The press kit's printed parts: the one-page press sheet and the high-resolution cover.

The sheet is a piece of the print machinery (declared in :data:`.pieces.SHEETS`),
laid out from the same :class:`~widgets.press.kit.PressKit` as the press page
and rendered by the one WeasyPrint renderer of the process: a fitted one-page
PDF (Letter or A4) with a QR code of the tracked link ``src=press``. The cover
is the one raster cover of :mod:`widgets.cover_raster` (the EPUB sample's), at
the cover's own 1600 x 2400 px; an author's JPEG or PNG cover is never
re-encoded: the kit sends the file itself.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from storefront.catalog import Author, Catalog
from storefront.catalog.model import PHOTO_TYPES
from storefront.templating import render
from storefront.urls import print_proof

from ..cover import book_cover, line_direction
from ..cover_raster import PRESS_SIZE, RASTER_MEDIA_TYPE, raster_cover
from ..press.kit import PressBook, PressKit
from ..textdir import Span
from ..typefaces import font_set
from .layout import PieceJob, check_fonts, data_uri, print_cover, qr_data_uri
from .pieces import SHEETS, FlyerError, Piece
from .render import render_job


def press_sheet_piece(size: str = "letter") -> Piece:
    """The sheet's piece in ``size`` (``letter`` or ``a4``); :class:`FlyerError` otherwise."""
    piece = SHEETS.get(f"press-{size}")
    if piece is None:
        raise FlyerError(f"unknown press sheet size '{size}' (letter or a4)", "size")
    return piece


def _job(piece: Piece, book: str, html: str, css: str, catalog: Catalog, created) -> PieceJob:
    return PieceJob.on_demand(piece, book, html, css, font_set(catalog), created)


def _photo_src(author: Author) -> str | None:
    if author.photo is None:
        return None
    return data_uri(author.photo.read_bytes(), PHOTO_TYPES[author.photo.suffix.lower()])


def press_sheet_html(kit: PressKit, entry: PressBook, piece: Piece) -> tuple[str, str]:
    """The sheet's HTML and CSS for one book of ``kit``."""
    catalog = kit.catalog
    fonts = font_set(catalog)
    check_fonts(catalog, entry.book, piece, fonts)
    cover, cover_src = print_cover(entry.book, fonts, piece.name)
    link = entry.link
    parts = urlsplit(link)
    page = Span.of(catalog.site.language)
    context = {
        "piece": piece,
        "kit": kit,
        "entry": entry,
        "book": entry.book,
        "view": entry.view,
        "site": catalog.site,
        "authors": [(a, _photo_src(a)) for a in kit.authors],
        "cover": cover,
        "cover_src": cover_src,
        "direction": line_direction,
        "page": page,
        "dir_attr": page.attrs,
        "qr_src": qr_data_uri(link),
        "qr_url": link,
        "short_url": parts.netloc + parts.path + (f"?{parts.query}" if parts.query else ""),
        "press_url": kit.urls.press(entry.slug, absolute=True),
        "proof": print_proof(kit.urls.base_url),  # the flyer shell marks every page PROOF
    }
    html = render(piece.template, g=piece.geometry, **context)
    css = render(piece.stylesheet, g=piece.geometry, piece=piece, fonts=fonts)
    return html, css


def build_press_sheet(
    kit: PressKit, book: str, *, size: str = "letter", created: datetime | None = None
) -> bytes:
    """The one-page press sheet (PDF) of ``book`` (a slug of the kit's books)."""
    piece = press_sheet_piece(size)
    entry = next((b for b in kit.books if b.slug == book), None)
    if entry is None:
        raise FlyerError(f"no book '{book}' in this press kit", "book")
    html, css = press_sheet_html(kit, entry, piece)
    return render_job(_job(piece, book, html, css, kit.catalog, created))


def build_press_cover(catalog: Catalog, entry: PressBook) -> tuple[bytes, str]:
    """The high-resolution cover as (bytes, media type): the author's JPEG/PNG, else a JPEG."""
    book = entry.book
    if book.cover is not None and book.cover.suffix.lower() != ".svg":
        image = book_cover(book)
        return image.data, image.media_type
    fonts = font_set(catalog)
    check_fonts(catalog, book, SHEETS["press-letter"], fonts)
    return raster_cover(book, fonts, alt=entry.view.cover_alt, size=PRESS_SIZE), RASTER_MEDIA_TYPE
