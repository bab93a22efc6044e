"""The press kit on the web: ``/press``, ``/books/<book>/press`` and their downloads.

The pages are cached like every page (per catalog version and price window,
replayed by the fast path). The downloads (the ZIP, the sheet, the
high-resolution cover) are built on first request into the print pieces' cache
and sent with an ETag; their dates are the catalog file's modification time, so
every worker builds the same bytes and the ETag holds across workers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Blueprint, Response, abort, request

from widgets.press.bundle import build_press_zip
from widgets.press.kit import PressError, PressKit, build_press_kit
from widgets.press.page import render_press_page
from widgets.print import FlyerError, FlyerTextError
from widgets.print.press import build_press_cover, build_press_sheet

from ..catalog import Catalog
from ..catalog import shelf as cs
from ..state import Rendered
from ..urls import FLYER_SIZES
from . import send_rendered, storefront
from .books import get_book
from .flyer import _created, print_cache

logger = logging.getLogger(__name__)

bp = Blueprint("press", __name__)

# One build at a time per process: a burst of first requests waits for one build.
_build_lock = threading.Lock()


def _kit(slug: str | None) -> PressKit:
    sf = storefront()
    try:
        return build_press_kit(sf.catalog, sf.now(), sf.urls, slug)
    except PressError as exc:
        abort(404, str(exc)[:1].upper() + str(exc)[1:] + ".")


def _files_stamp(catalog: Catalog, slug: str | None) -> tuple:
    """What the catalog version does not cover: the cover and photo files' sizes and times."""
    books = [catalog.book(slug)] if slug else list(catalog.books)
    authors = cs.book_authors(catalog, books[0]) if slug else cs.authors(catalog)
    paths = [b.cover for b in books if b and b.cover] + [a.photo for a in authors if a.photo]
    out = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            out.append("missing")
            continue
        out.append((stat.st_mtime_ns, stat.st_size))
    return tuple(out)


def _page(slug: str | None) -> Response:
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    if slug is not None:
        get_book(slug)
    rendered = sf.cache.get(
        ("press", slug),
        catalog,
        at,
        lambda: (render_press_page(_kit(slug)), "text/html"),
    )
    return send_rendered(rendered, at, replay=True)


def _download(key: tuple, slug: str | None, build: Callable[[], tuple[bytes, str]]) -> Rendered:
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    full_key = ("press", *key, _files_stamp(catalog, slug))
    try:
        with _build_lock:
            return print_cache().get(full_key, catalog, at, build)
    except FlyerTextError as exc:
        logger.error("cannot build the press kit: %s", exc)
        abort(422, f"The press kit cannot be printed from the catalog as it is: {exc}.")
    except FlyerError as exc:
        logger.error("cannot build the press kit: %s", exc)
        abort(503, f"The press kit cannot be built right now: {exc}.")


def _send(rendered: Rendered, filename: str, disposition: str = "attachment") -> Response:
    response = send_rendered(rendered, storefront().now(), max_age=3600, swr=86400)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def _zip(slug: str | None) -> Response:
    if slug is not None:
        get_book(slug)
    kit = _kit(slug)
    created = _created(kit.catalog)
    rendered = _download(
        ("zip", slug), slug, lambda: (build_press_zip(kit, created=created), "application/zip")
    )
    return _send(rendered, f"{kit.name}.zip")


@bp.get("/press")
def press() -> Response:
    """The author's press kit: every book, the authors, the contact."""
    return _page(None)


@bp.get("/press/kit.zip")
def press_zip() -> Response:
    return _zip(None)


@bp.get("/books/<slug>/press")
def book_press(slug: str) -> Response:
    """One book's press kit."""
    return _page(slug)


@bp.get("/books/<slug>/press/kit.zip")
def book_press_zip(slug: str) -> Response:
    return _zip(slug)


@bp.get("/books/<slug>/press/sheet.pdf")
def press_sheet(slug: str) -> Response:
    """The one-page press sheet: ``?size=letter|a4``."""
    get_book(slug)
    size = request.args.get("size") or "letter"
    if size not in FLYER_SIZES:
        abort(400, f"Unknown sheet size '{size}': use one of {', '.join(FLYER_SIZES)}.")
    kit = _kit(slug)
    created = _created(kit.catalog)
    rendered = _download(
        ("sheet", slug, size),
        slug,
        lambda: (
            build_press_sheet(kit, slug, size=size, created=created),
            "application/pdf",
        ),
    )
    return _send(rendered, f"{slug}-press-sheet-{size}.pdf", "inline")


@bp.get("/books/<slug>/press/cover.<ext>")
def press_cover(slug: str, ext: str) -> Response:
    """The high-resolution cover: the author's JPEG or PNG as it is, else a 1600x2400 JPEG."""
    get_book(slug)
    kit = _kit(slug)
    entry = kit.books[0]
    if ext != entry.cover_extension:
        abort(
            404, f"The cover of '{slug}' is at {kit.urls.press_cover(slug, entry.cover_extension)}."
        )
    rendered = _download(("cover", slug), slug, lambda: build_press_cover(kit.catalog, entry))
    return _send(rendered, entry.cover_name, "inline")
