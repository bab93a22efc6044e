"""Print-ready promo pieces rendered with WeasyPrint from the shared view model.

The pieces (:mod:`.pieces`): a one-page flyer in US Letter and A4, a "bookstore
edition" of it without Amazon, a 6x4 in postcard (front and back, with bleed), a
Letter sheet of 2x7 in bookmarks with bleed and crop marks, and the 1200x630
social image (PNG) that the book page names as its ``og:image``.

The modules, in the order a piece goes through them: :mod:`.pieces` (which pieces
exist, their sizes and fitted fields), :mod:`.layout` (campaign scope, template
context, HTML and CSS, content digest; no WeasyPrint), :mod:`.fit` (text
fitting), :mod:`.render` (WeasyPrint and pdfium, one font configuration per
process), :mod:`.campaign` (a whole campaign
into a folder), :mod:`.checks` (what `storefront check` verifies); the fonts are
:mod:`widgets.typefaces`.

The stable entry points, called the same way by ``storefront flyers``, the web
views and the author's desk::

    build_campaign(
        catalog: Catalog,
        out_dir: Path,
        *,
        urls: Urls,                      # builds the tracked links and QR codes
        campaign: str | None = None,     # a campaign slug; None: no campaign
        book: str | None = None,         # one book's slug; None: every book in scope
        pieces: Iterable[str] = (),      # piece names (see PIECES); empty: all
        at: datetime | None = None,      # prices shown without a campaign (default now)
        workers: int = 1,                # render processes
        force: bool = False,             # rebuild unchanged pieces too
        progress: Callable[[int, int], None] | None = None,  # (pieces just done, total)
    ) -> Summary                         # .built, .skipped, .failed [(file, reason)], .ok

    build_piece(catalog, book: Book, piece: str, *, urls, campaign: Campaign | None = None,
                at=None, created=None) -> bytes   # one piece's PDF (or PNG) bytes

Both raise :class:`FlyerError` for what the caller asked wrongly (an unknown
campaign, book or piece; ``.option`` names the option) and
:class:`FlyerTextError` (a ``FlyerError``) for catalog text that cannot be printed
as it is, naming the piece and the field: characters no configured font can
draw, or (:class:`FlyerFitError`) text that does not fit even at its smallest
size. A campaign piece shows the campaign as on its first day.
"""

from __future__ import annotations

from ..typefaces import FONT_FACES, FONTS_DIR, font_faces_css
from .campaign import Summary, build_campaign, prepare_jobs, regenerate, select_books
from .layout import PieceJob, campaign_covers, prepare_piece, resolve_campaign
from .pieces import (
    PIECES,
    FlyerError,
    FlyerFitError,
    FlyerTextError,
    Piece,
    flyer_piece,
    get_piece,
    output_name,
    piece_names,
)
from .render import build_piece, render_job, renderer, reset_renderer

__all__ = [
    "FONT_FACES",
    "FONTS_DIR",
    "PIECES",
    "FlyerError",
    "FlyerFitError",
    "FlyerTextError",
    "Piece",
    "PieceJob",
    "Summary",
    "build_campaign",
    "build_piece",
    "campaign_covers",
    "flyer_piece",
    "font_faces_css",
    "get_piece",
    "output_name",
    "piece_names",
    "prepare_jobs",
    "prepare_piece",
    "regenerate",
    "render_job",
    "renderer",
    "reset_renderer",
    "resolve_campaign",
    "select_books",
]
