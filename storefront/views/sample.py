"""The EPUB sample download: ``GET /books/<book>/sample.epub``, counted like a click.

``src`` (where the link was shown) and ``c`` (a campaign) are checked and counted
as a tracked click's are (:meth:`~storefront.views.tracking.Clicks.record_sample`).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request

from widgets.epub import EPUB_MEDIA_TYPE, SampleError, build_sample, sample_filename, sources_stamp

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
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    book = get_book(slug)
    # The catalog version covers the TOML only: the cover and chapter files are stamped too.
    key = ("sample", book.slug, sources_stamp(catalog, book))
    try:
        with _build_lock:
            rendered = sf.cache.get(
                key,
                catalog,
                at,
                lambda: (
                    build_sample(catalog, book, at, sf.urls, cover_cache=cover_cache()),
                    EPUB_MEDIA_TYPE,
                ),
            )
    except SampleError as exc:
        # The files changed after the catalog was validated: say so, never a traceback.
        logger.error("cannot build the EPUB sample of %s: %s", book.slug, exc)
        abort(503, f"The sample of this book cannot be built right now: {exc}")
    count_sample(book, SampleKind.EPUB)
    response = send_rendered(rendered, at, max_age=3600, swr=86400)
    response.headers["Content-Disposition"] = f'attachment; filename="{sample_filename(book)}"'
    return response


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
