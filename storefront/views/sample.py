"""The EPUB sample download: ``GET /books/<book>/sample.epub``, counted like a click.

``src`` (where the link was shown) and ``c`` (a campaign) are checked and counted
as a tracked click's are (:meth:`~storefront.views.tracking.Clicks.record_sample`).
"""

from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request

from widgets.epub import EPUB_MEDIA_TYPE, SampleError, build_sample, sample_filename, sources_stamp

from ..catalog import Book
from ..clicks import SampleKind
from . import send_rendered, storefront
from .books import get_book
from .go import clicks

logger = logging.getLogger(__name__)

bp = Blueprint("sample", __name__)

# One build at a time per process: a burst of first downloads (threaded
# workers) waits for the one build instead of each making its own.
_build_lock = threading.Lock()


@bp.get("/books/<slug>/sample.epub")
def sample(slug: str) -> Response:
    """Send the book's EPUB sample, built once per catalog version and price window."""
    response, book = send_sample(
        slug,
        SampleKind.EPUB,
        lambda catalog, book, at, urls: (
            build_sample(catalog, book, at, urls, cover_cache=cover_cache()),
            EPUB_MEDIA_TYPE,
        ),
        "build the EPUB sample",
        "built",
        lock=_build_lock,
        max_age=3600,
        swr=86400,
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{sample_filename(book)}"'
    return response


def send_sample(
    slug: str, kind: SampleKind, build, failure: str, unavailable: str, *, lock=None, **send
) -> tuple[Response, Book]:
    """Send ``build(catalog, book, at, urls)`` (``(body, media type)``) from the render cache
    and count the visit like a click; the sample's files changing under it is a 503.

    The catalog version covers the TOML only: the cover and chapter files are stamped
    into the key too. ``lock`` (a ``threading.Lock``) lets one build run at a time.
    """
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    book = get_book(slug)
    key = (kind.value, book.slug, sources_stamp(catalog, book))
    try:
        with lock or nullcontext():
            rendered = sf.cache.get(key, catalog, at, lambda: build(catalog, book, at, sf.urls))
    except SampleError as exc:
        # The files changed after the catalog was validated: say so, never a traceback.
        logger.error("cannot %s of %s: %s", failure, book.slug, exc)
        abort(503, f"The sample of this book cannot be {unavailable} right now: {exc}")
    count_sample(book, kind)
    return send_rendered(rendered, at, **send), book


def cover_cache() -> Path:
    """Where the server keeps the samples' JPEG covers by content (instance/cache/covers)."""
    return Path(current_app.instance_path) / "cache" / "covers"


def count_sample(book, kind: SampleKind) -> None:
    """Count this request (bots apart); a failure to count never fails the download."""
    try:
        clicks().record_sample(
            request.environ, book, kind, request.args.get("src"), request.args.get("c")
        )
    except Exception:  # the store spools what it cannot commit; anything else is logged
        logger.exception("could not count the %s of %s", kind.value, book.slug)
