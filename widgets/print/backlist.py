"""The backlist sheet: every book (or one series) on one printed page, each with a QR code.

For conventions and signings: cover, one line, the formats and a QR code to the
tracked store chooser (``src=sheet``). The bookstore edition leaves Amazon out,
as the bookstore flyers do. Rendered by the print pieces' WeasyPrint renderer
(one font configuration per process); the piece is declared in
``widgets.print.pieces.SHEETS``.
"""

from __future__ import annotations

from datetime import datetime

from storefront import presentation_shelf as ps
from storefront.catalog import Catalog
from storefront.catalog import shelf as cs
from storefront.presentation import present_book
from storefront.pricing import utcnow
from storefront.templating import render
from storefront.urls import Urls, print_proof

from ..cover import line_direction
from ..typefaces import FontSet, font_set
from .layout import PieceJob, check_fonts, print_cover, qr_data_uri, without_amazon
from .pieces import SHEETS, FlyerError, FlyerFitError, Piece
from .render import render_job


def sheet_name(*, size: str = "letter", bookstore: bool = False) -> str:
    name = f"backlist{'-bookstore' if bookstore else ''}-{size}"
    if name not in SHEETS:
        raise FlyerError(f"unknown sheet size '{size}' (letter or a4)", "size")
    return name


def sheet_context(
    catalog: Catalog,
    urls: Urls,
    at: datetime,
    *,
    series: str | None,
    bookstore: bool,
    piece: Piece,
    fonts: FontSet,
) -> dict:
    """Every row of the sheet; text no configured font can draw is refused, as on every piece."""
    if series is not None:
        found = cs.series(catalog, series)
        if found is None:
            raise FlyerError(f"no series '{series}' in this catalog", "series")
        books, title = list(found.books), found.name
    else:
        shelf = ps.present_shelf(catalog, at, urls)
        books, title = [v.book for v in shelf.views], catalog.site.title
    rows = []
    for book in books:
        check_fonts(catalog, book, piece, fonts)
        shown = without_amazon(catalog, book) if bookstore else book
        view = present_book(catalog, shown, at, urls, src="sheet")
        qr_url = urls.chooser(book.slug, src="sheet", absolute=True)
        cover, cover_src = print_cover(book, fonts, piece.name, catalog.site.locale)
        n = cs.neighbours(catalog, book)
        rows.append(
            {
                "view": view,
                "book": book,
                "series": f"Book {n.number} of {n.series.name}" if n else None,
                "formats": [f.label for f in view.formats],
                "stores": sorted({o.vendor.name for o in view.offers}),
                "qr_url": qr_url,
                "qr_src": qr_data_uri(qr_url),
                "cover": cover,
                "cover_src": cover_src,
            }
        )
    return {
        "rows": rows,
        "title": title,
        "site": catalog.site,
        "bookstore": bookstore,
        "proof": print_proof(urls.base_url),
        "direction": line_direction,  # the typographic cover's lines
    }


def build_backlist(
    catalog: Catalog,
    *,
    urls: Urls,
    series: str | None = None,
    bookstore: bool = False,
    size: str = "letter",
    at: datetime | None = None,
    created: datetime | None = None,
) -> bytes:
    """The backlist sheet's PDF: every book (or ``series``), one page."""
    piece = SHEETS[sheet_name(size=size, bookstore=bookstore)]
    at = at or utcnow()
    fonts = font_set(catalog)
    context = sheet_context(
        catalog, urls, at, series=series, bookstore=bookstore, piece=piece, fonts=fonts
    )
    html = render(piece.template, g=piece.geometry, piece=piece, **context)
    css = render(piece.stylesheet, g=piece.geometry, piece=piece, fonts=fonts)
    job = PieceJob.on_demand(piece, series or "backlist", html, css, fonts, created)
    try:
        return render_job(job)
    except FlyerFitError as exc:
        raise FlyerError(
            f"{len(context['rows'])} books do not fit on one {piece.title}: {exc.detail}; "
            "print one sheet per series (--series) or shorten the pitches",
            "series",
        ) from None
