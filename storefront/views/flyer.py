"""Print pieces on the web: ``/books/<book>/flyer.pdf`` and ``/books/<book>/social.png``.

Both are built on first request and cached per catalog version and price window
(a build takes ~0.1-0.2 s once WeasyPrint is warm). Their creation date is the
catalog file's modification time, so every worker builds the same bytes and
the ETag holds across workers.

The pieces have a cache of their own, keyed on the parsed options (piece, book,
campaign), never on the raw query string: a parameter the view does not know
changes nothing, and a flood of junk URLs on other routes (whose caches it
fills) cannot push a flyer out of memory.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, current_app, request

from widgets.print import (
    PIECES,
    FlyerError,
    FlyerTextError,
    build_piece,
    flyer_piece,
    output_name,
    resolve_campaign,
)

from ..catalog import Book, Catalog
from ..state import RenderCache
from ..urls import FLYER_SIZES
from . import send_rendered, storefront
from .books import get_book

logger = logging.getLogger(__name__)

bp = Blueprint("flyer", __name__)

# Every key is a valid (piece, book, campaign) of the catalog: a few per book.
PRINT_CACHE_SIZE = 64
_CACHE_KEY = "storefront.print"


@bp.record_once
def _init_cache(state) -> None:
    state.app.extensions[_CACHE_KEY] = RenderCache(size=PRINT_CACHE_SIZE)


def print_cache() -> RenderCache:
    """The app's cache of built print pieces (separate from pages and cards)."""
    return current_app.extensions[_CACHE_KEY]


# One WeasyPrint render at a time per process: a burst of first requests waits
# for one build instead of each starting its own (the renderer is not thread-safe).
_build_lock = threading.Lock()


def _stamp(catalog: Catalog, book: Book) -> tuple:
    """What the catalog version does not cover: the cover image file."""
    if book.cover is None:
        return ()
    try:
        stat = book.cover.stat()
    except OSError:
        return ("missing",)
    return (stat.st_mtime_ns, stat.st_size)


def _created(catalog: Catalog) -> datetime:
    try:
        return datetime.fromtimestamp(int(catalog.path.stat().st_mtime), UTC)
    except OSError:
        return datetime(2000, 1, 1, tzinfo=UTC)


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _send_piece(book: Book, piece: str, campaign_slug: str | None, *, max_age: int, swr: int):
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    try:
        campaign = resolve_campaign(catalog, campaign_slug, book)
    except FlyerError as exc:
        abort(404, _sentence(exc))
    key = (
        piece,
        book.slug,
        campaign.slug if campaign else None,
        _stamp(catalog, book),
    )

    def build() -> tuple[bytes, str]:
        data = build_piece(
            catalog, book, piece, urls=sf.urls, campaign=campaign, at=at, created=_created(catalog)
        )
        return data, PIECES[piece].media_type

    try:
        with _build_lock:
            rendered = print_cache().get(key, catalog, at, build)
    except FlyerTextError as exc:
        # The catalog's text does not fit the page or has no font: the author must change it.
        logger.error("cannot build %s: %s", piece, exc)
        abort(422, f"This piece cannot be printed from the catalog as it is: {exc}.")
    except FlyerError as exc:
        logger.error("cannot build %s: %s", piece, exc)
        abort(503, f"This piece cannot be built right now: {exc}.")
    response = send_rendered(rendered, at, max_age=max_age, swr=swr)
    name = output_name(book.slug, piece, campaign.slug if campaign else None)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@bp.get("/books/<slug>/flyer.pdf")
def flyer(slug: str) -> Response:
    """Send the book's one-page flyer: ``?size=letter|a4`` and ``?campaign=<slug>``."""
    book = get_book(slug)
    size = request.args.get("size") or "letter"
    if size not in FLYER_SIZES:
        abort(400, f"Unknown flyer size '{size}': use one of {', '.join(FLYER_SIZES)}.")
    return _send_piece(
        book, flyer_piece(size), request.args.get("campaign") or None, max_age=3600, swr=86400
    )


@bp.get("/books/<slug>/social.png")
def social(slug: str) -> Response:
    """Send the 1200x630 social image (``og:image``) showing the prices now."""
    book = get_book(slug)
    return _send_piece(book, "social", None, max_age=3600, swr=86400)
