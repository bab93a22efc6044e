"""The reader's pages: the index, the book page, the cover, and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify

from widgets.cover import book_cover
from widgets.page import render_book_page, render_index

from ..catalog import Book
from ..presentation import present_book
from . import send_rendered, storefront

bp = Blueprint("books", __name__)


def get_book(slug: str) -> Book:
    book = storefront().catalog.book(slug)
    if book is None:
        abort(404, f"No book '{slug}' in this catalog.")
    return book


@bp.get("/")
def index() -> Response:
    return _send_page("index", render_index)


@bp.get("/books/<slug>")
def book_page(slug: str) -> Response:
    book = get_book(slug)
    return _send_page(
        ("page", book.slug),
        lambda catalog, at, urls: render_book_page(present_book(catalog, book, at, urls)),
    )


def _send_page(key, render) -> Response:
    """A site page, ``render(catalog, at, urls)`` once per catalog version and price window."""
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    rendered = sf.cache.get(key, catalog, at, lambda: (render(catalog, at, sf.urls), "text/html"))
    return send_rendered(rendered, at, replay=True)


@bp.get("/books/<slug>/cover")
def cover(slug: str) -> Response:
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    book = get_book(slug)

    def build():
        image = book_cover(book, locale=catalog.site.locale)
        return image.data, image.media_type

    rendered = sf.cache.get(("cover", book.slug), catalog, at, build)
    response = send_rendered(rendered, at, max_age=86400, swr=86400)
    if rendered.media_type == "image/svg+xml":
        # An SVG opened directly must not run anything, whatever the catalog says.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'"
        )
    return response


@bp.get("/healthz")
def healthz() -> Response:
    sf = storefront()
    clicks = current_app.extensions.get("clicks")
    response = jsonify(
        status="ok",
        catalog=sf.catalog.version,
        now=sf.now().isoformat(),
        # The click database may be down: still "ok", clicks go to the spool meanwhile.
        clicks=clicks.status() if clicks is not None else None,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
