"""The shelf's pages: authors, series and the shelf card (the front page is ``books.index``)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from widgets.shelf import render_shelf_card, render_shelf_page, shelf_card_csp

from .. import catalog_shelf as cs
from ..catalog.model import PHOTO_TYPES
from . import send_rendered, storefront

bp = Blueprint("shelf", __name__)


def _cached(key: tuple, build) -> Response:
    sf = storefront()
    catalog, at = sf.catalog, sf.now()

    def make():
        body = build(catalog, at, sf.urls)
        if body is None:
            abort(404)
        return body, "text/html"

    rendered = sf.cache.get((*key, catalog.version), catalog, at, make)
    return rendered, at


@bp.get("/authors/<slug>")
def author(slug: str) -> Response:
    rendered, at = _cached(
        ("author", slug), lambda c, at, u: render_shelf_page(c, at, u, author=slug)
    )
    return send_rendered(rendered, at, replay=True)


@bp.get("/authors/<slug>/photo.<suffix>")
def author_photo(slug: str, suffix: str) -> Response:
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    who = cs.author(catalog, slug)
    if who is None or who.photo is None or who.photo.suffix.lower() != f".{suffix}":
        abort(404, f"No photo of '{slug}' in this catalog.")

    def build():
        return who.photo.read_bytes(), PHOTO_TYPES[who.photo.suffix.lower()]

    rendered = sf.cache.get(("author-photo", catalog.version, slug), catalog, at, build)
    return send_rendered(rendered, at, replay=True, max_age=86400, swr=86400)


@bp.get("/series/<slug>")
def series(slug: str) -> Response:
    rendered, at = _cached(
        ("series", slug), lambda c, at, u: render_shelf_page(c, at, u, series=slug)
    )
    return send_rendered(rendered, at, replay=True)


@bp.get("/embed/shelf")
def card() -> Response:
    who, series_slug = request.args.get("author"), request.args.get("series")
    if who is not None and series_slug is not None:
        abort(400, "Give ?author= or ?series=, not both.")
    rendered, at = _cached(
        ("shelf-card", who, series_slug),
        lambda c, at, u: render_shelf_card(c, at, u, author=who, series=series_slug),
    )
    sf = storefront()
    csp = shelf_card_csp(sf.urls.base_url, sf.catalog.site.frame_ancestors)
    extra = (("Content-Security-Policy", csp),)
    return send_rendered(rendered, at, replay=True, extra=extra)
