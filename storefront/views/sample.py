"""The EPUB sample download: ``GET /books/<book>/sample.epub``."""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, Response, abort

from widgets.epub import EPUB_MEDIA_TYPE, SampleError, build_sample, sample_filename, sources_stamp

from . import send_rendered, storefront
from .books import get_book

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
    key = ("sample", catalog.version, book.slug, sources_stamp(catalog, book))
    try:
        with _build_lock:
            rendered = sf.cache.get(
                key,
                catalog,
                at,
                lambda: (build_sample(catalog, book, at, sf.urls), EPUB_MEDIA_TYPE),
            )
    except SampleError as exc:
        # The files changed after the catalog was validated: say so, never a traceback.
        logger.error("cannot build the EPUB sample of %s: %s", book.slug, exc)
        abort(503, f"The sample of this book cannot be built right now: {exc}")
    response = send_rendered(rendered, at, max_age=3600, swr=86400)
    response.headers["Content-Disposition"] = f'attachment; filename="{sample_filename(book)}"'
    return response
