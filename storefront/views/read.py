"""Read it now: ``GET /books/<book>/read``, the sample as a web page, each visit counted.

The page is rendered once per catalog version, price window and chapter/cover
file state (as the EPUB is) and served from the render cache; each GET is then
counted like a click (``src``, ``c``, bots apart) through the one click seam,
which is why the fast path never replays it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort

from widgets.epub import SampleError, sources_stamp
from widgets.epub.web import render_read_page

from ..clicks import SampleKind
from . import send_rendered, storefront
from .books import get_book
from .sample import count_sample

logger = logging.getLogger(__name__)

bp = Blueprint("read", __name__)


@bp.get("/books/<slug>/read")
def read(slug: str) -> Response:
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    book = get_book(slug)
    key = ("read", book.slug, sources_stamp(catalog, book))
    try:
        rendered = sf.cache.get(
            key, catalog, at, lambda: (render_read_page(catalog, book, at, sf.urls), "text/html")
        )
    except SampleError as exc:
        logger.error("cannot render the reading page of %s: %s", book.slug, exc)
        abort(503, f"The sample of this book cannot be shown right now: {exc}")
    count_sample(book, SampleKind.READ)
    return send_rendered(rendered, at)
