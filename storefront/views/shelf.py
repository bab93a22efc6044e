"""The shelf's pages: authors, series and the shelf card (the front page is ``books.index``)."""

from __future__ import annotations

import json
from functools import partial

from flask import Blueprint, Response, abort, request

from widgets.oembed import OEmbedError, parse_dimension
from widgets.shelf import (
    build_shelf_oembed,
    render_shelf_card,
    render_shelf_page,
    shelf_card_csp,
    shelf_for_url,
)

from ..catalog import shelf as cs
from ..catalog.model import PHOTO_TYPES
from ..presentation_shelf import present_shelf
from . import header_hook, send_rendered, storefront

bp = Blueprint("shelf", __name__)


def _cached(key: tuple, build) -> Response:
    sf = storefront()
    catalog, at = sf.catalog, sf.now()

    def make():
        body = build(catalog, at, sf.urls)
        if body is None:
            abort(404)
        return body, "text/html"

    rendered = sf.cache.get(key, catalog, at, make)
    return rendered, at


def _shelf(render, **query):
    """A cache build: ``render`` the shelf of ``query``; None (404) for an unknown slug."""

    def build(catalog, at, urls):
        shelf = present_shelf(catalog, at, urls, **query)
        return None if shelf is None else render(shelf)

    return build


@bp.get("/authors/<slug>")
def author(slug: str) -> Response:
    rendered, at = _cached(("author", slug), _shelf(render_shelf_page, author_slug=slug))
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

    rendered = sf.cache.get(("author-photo", slug), catalog, at, build)
    return send_rendered(rendered, at, replay=True, max_age=86400, swr=86400)


@bp.get("/series/<slug>")
def series(slug: str) -> Response:
    rendered, at = _cached(("series", slug), _shelf(render_shelf_page, series_slug=slug))
    return send_rendered(rendered, at, replay=True)


def _shelf_args() -> tuple[str | None, str | None]:
    who, series_slug = request.args.get("author"), request.args.get("series")
    if who is not None and series_slug is not None:
        abort(400, "Give ?author= or ?series=, not both.")
    return who, series_slug


@bp.get("/embed/shelf/fragment")
def fragment() -> Response:
    """The shelf card's markup and style alone, which ``widget.js`` puts in a shadow root."""
    who, series_slug = _shelf_args()
    rendered, at = _cached(
        ("shelf-fragment", who, series_slug),
        _shelf(
            partial(render_shelf_card, fragment=True),
            author_slug=who,
            series_slug=series_slug,
            src="shelf",
        ),
    )
    return send_rendered(rendered, at, replay=True)


@bp.after_request
@header_hook
def _cors(headers, endpoint: str | None, mimetype: str | None) -> None:
    if endpoint == "shelf.fragment":
        headers.add("Access-Control-Allow-Origin", "*")


@bp.get("/embed/shelf")
def card() -> Response:
    who, series_slug = _shelf_args()
    rendered, at = _cached(
        ("shelf-card", who, series_slug),
        _shelf(render_shelf_card, author_slug=who, series_slug=series_slug, src="shelf"),
    )
    sf = storefront()
    csp = shelf_card_csp(sf.urls.base_url, sf.catalog.site.frame_ancestors)
    extra = (("Content-Security-Policy", csp),)
    return send_rendered(rendered, at, replay=True, extra=extra)


def shelf_oembed(url: str) -> Response | None:
    """The oEmbed answer for a shelf, author or series page URL; None when it is not one."""
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    found = shelf_for_url(catalog, sf.urls, url)
    if found is None:
        return None
    who, series_slug = found
    try:
        limits = [
            parse_dimension(request.args.get(name), name) for name in ("maxwidth", "maxheight")
        ]
    except OEmbedError as exc:
        abort(exc.status, str(exc))

    def build() -> tuple[str, str]:
        data = build_shelf_oembed(
            catalog,
            sf.urls,
            author=who,
            series=series_slug,
            at=at,
            max_width=limits[0],
            max_height=limits[1],
        )
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")), "application/json"

    key = ("shelf-oembed", who, series_slug, *limits)
    rendered = sf.cache.get(key, catalog, at, build)
    return send_rendered(rendered, at, replay=True, max_age=86400, swr=86400)
