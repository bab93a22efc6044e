"""Read it now: ``GET /books/<book>/read``, the sample as a web page, each visit counted.

The page is rendered once per catalog version, price window and chapter/cover
file state (as the EPUB is) and served from the render cache; each GET is then
counted like a click (``src``, ``c``, bots apart) through the one click seam,
which is why the fast path never replays it.
"""

from __future__ import annotations

from flask import Blueprint, Response

from widgets.epub.web import render_read_page

from ..clicks import SampleKind
from .sample import send_sample

bp = Blueprint("read", __name__)


@bp.get("/books/<slug>/read")
def read(slug: str) -> Response:
    response, _ = send_sample(
        slug,
        SampleKind.READ,
        lambda catalog, book, at, urls: (render_read_page(catalog, book, at, urls), "text/html"),
        "render the reading page",
        "shown",
    )
    return response
