"""Embeddable cards: the iframe page, the shadow-DOM fragment, ``widget.js`` and oEmbed.

Every card response is rendered once per (catalog version, price window, options)
by the app's render cache and answered with a strong ETag. Cards are public and
cookie-free: the fragment, ``widget.js`` and ``/oembed`` allow any origin (CORS ``*``).

Cards are requested on every page view of every blog that embeds them, so repeat
requests skip Flask altogether: :mod:`storefront.fastpath` answers them with the
same rendered body and the same header functions while the catalog version and
the price window it was rendered in still hold.
"""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Response, abort, request

from widgets.card import (
    CardOptionError,
    build_card_view,
    card_page_csp,
    parse_card,
    render_card_fragment,
    render_card_page,
)
from widgets.oembed import OEmbedError, answer_key, book_for_url, build_oembed, card_size

from .. import templating
from ..state import Rendered, make_rendered
from . import header_hook, send_rendered, storefront
from .books import get_book
from .shelf import shelf_oembed

bp = Blueprint("embed", __name__)

CARD_MAX_AGE, CARD_SWR = 60, 300  # short: prices are live; bounded by the next campaign change
WIDGET_MAX_AGE, WIDGET_SWR = 3600, 86400
_CORS = {"embed.fragment", "embed.widget_js", "embed.oembed"}
_CARD_ARGS = ("layout", "theme", "quote", "formats", "cta")


def _card(slug: str, kind: str, render, csp: bool = False) -> Response:
    """Answer one card request (``kind`` is the output) from the render cache."""
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    book = get_book(slug)
    args = request.args
    try:
        layout, theme, options = parse_card(
            catalog, book, **{name: args.get(name) for name in _CARD_ARGS}
        )
    except CardOptionError as exc:
        abort(400, str(exc))
    # Keyed on the parsed options, not the query string: junk parameters, their order
    # or spelling (``quote=01``) never cause a render or push a card out of the cache.
    key = ("card", kind, book.slug, layout, theme, options)

    def build() -> tuple[str, str]:
        view = build_card_view(catalog, book, at, sf.urls, layout, options)
        return render(view, layout, theme, options), "text/html"

    rendered = sf.cache.get(key, catalog, at, build)
    # The card page's own policy, so the app's default (frame-ancestors 'self') does not apply.
    extra = (
        (
            (
                "Content-Security-Policy",
                card_page_csp(sf.urls.base_url, catalog.site.frame_ancestors),
            ),
        )
        if csp
        else ()
    )
    return send_rendered(rendered, at, replay=True, extra=extra, max_age=CARD_MAX_AGE, swr=CARD_SWR)


@bp.get("/embed/<slug>")
def card_page(slug: str) -> Response:
    """The iframe card: a self-contained page with a strict CSP and framing policy."""
    return _card(slug, "page", render_card_page, csp=True)


@bp.get("/embed/<slug>/fragment")
def fragment(slug: str) -> Response:
    """The card and its stylesheet, for ``widget.js`` to put in a shadow root."""
    return _card(slug, "fragment", render_card_fragment)


@cache
def _widget_js(static_files: bool) -> Rendered:
    # Constant per process: valid in every price window.
    source = templating.render("embed/widget.js", static_files=static_files)
    return make_rendered(source, "text/javascript", (None, None))


@bp.get("/widget.js")
def widget_js() -> Response:
    """The script embed: renders every ``[data-storefront-book]`` element on the host page."""
    rendered = _widget_js(storefront().urls.static_files)
    return send_rendered(
        rendered, storefront().now(), replay=True, max_age=WIDGET_MAX_AGE, swr=WIDGET_SWR
    )


@bp.get("/oembed")
def oembed() -> Response:
    """oEmbed 1.0 for book page URLs: ``rich`` JSON; 404 if not ours, 501 for XML."""
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    args = request.args
    fmt = (args.get("format") or "json").strip().lower()
    if fmt != "json":
        abort(501, f"format '{fmt}' is not supported: use format=json")
    url = args.get("url", "").strip()
    if not url:
        abort(400, "the url parameter is required: the address of a book page")
    book = book_for_url(catalog, sf.urls, url)
    if book is None and (shelf := shelf_oembed(url)) is not None:
        return shelf  # the shelf, an author's or a series page: the shelf card
    if book is None:
        abort(404, f"'{url}' is not a book page of {sf.urls.base_url}")
    # A card's own URL (/embed/<book>?layout=signup) pasted into a blog embeds that card.
    pasted = parse_qs(urlsplit(url).query)
    asked = args.get("layout") or pasted.get("layout", [None])[0] or None
    theme_asked = args.get("theme") or pasted.get("theme", [None])[0]
    try:
        layout, theme, _ = parse_card(catalog, book, layout=asked, theme=theme_asked)
        layout, size = card_size(asked and layout, args.get("maxwidth"), args.get("maxheight"))
    except CardOptionError as exc:
        abort(400, str(exc))
    except OEmbedError as exc:
        abort(exc.status, str(exc))
    # Keyed on what the answer depends on: equal requests share one entry, junk does not add.
    key = ("oembed", *answer_key(book, layout, theme, size))

    def build() -> tuple[str, str]:
        data = build_oembed(catalog, book, sf.urls, layout=layout, theme=theme, size=size)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")), "application/json"

    rendered = sf.cache.get(key, catalog, at, build)
    return send_rendered(rendered, at, replay=True, max_age=CARD_MAX_AGE, swr=CARD_SWR)


@bp.after_request
@header_hook
def _cors(headers, endpoint: str | None, mimetype: str | None) -> None:
    # Error answers too, so widget.js and consumers can read why a card failed.
    if endpoint in _CORS:
        headers.add("Access-Control-Allow-Origin", "*")  # never set before here
