"""Tracked click-through: ``/go/<book>/<offer>`` and the universal link ``/go/<book>``.

The redirect target only ever comes from the catalog (see :mod:`storefront.links`);
``src`` and ``c`` are checked against the known placements and the catalog's
campaigns (anything else is recorded as ``other``/none) and never echoed back.
Each click is committed (or spooled) before the 302 is sent, and nothing here
may be cached: ``Cache-Control: no-store``. Plain clicks on an offer are usually
answered by :mod:`storefront.fastpath`, through the same :meth:`Clicks.record`
and :func:`click_redirect`.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, current_app, request
from werkzeug.urls import iri_to_uri

from widgets.chooser import render_chooser

from .. import clickdb
from ..bots import RepeatWindow, warm_up
from ..catalog import SLUG_RE, Book, Catalog, Offer
from ..clicks import ClickKind
from . import storefront
from .tracking import Clicks, campaign_slug, find_offer, placement

bp = Blueprint("go", __name__)

COOKIE_PREFIX = "sf_store_"  # + book slug; the value is an offer slug, nothing else
COOKIE_MAX_AGE = 365 * 24 * 3600
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def init_app(app: Flask) -> None:
    """Set up the click path (repeat window, country header) over the app's click store."""
    window = app.config["REPEAT_WINDOW"]  # a number: checked by storefront.settings
    app.extensions["go"] = Clicks(
        app.extensions["storefront"],
        app.extensions[clickdb.EXTENSION],
        RepeatWindow(window),
        app.config["COUNTRY_HEADER"],
    )
    warm_up()


def clicks() -> Clicks:
    return current_app.extensions["go"]


def get_book(catalog: Catalog, slug: str) -> Book:
    book = catalog.book(slug)
    if book is None:
        # Only a well-formed slug is named back; anything else could be an injection attempt.
        abort(404, f"No book '{slug}' in this catalog." if SLUG_RE.match(slug) else "No such book.")
    return book


def get_offer(catalog: Catalog, book_slug: str, offer_slug: str) -> tuple[Book, Offer]:
    found = find_offer(catalog, book_slug, offer_slug)
    if found is not None:
        return found
    book = get_book(catalog, book_slug)
    offer = book.offer(offer_slug)
    if offer is None:
        message = (
            f"No offer '{offer_slug}' for book '{book.slug}'."
            if SLUG_RE.match(offer_slug)
            else f"No such offer for book '{book.slug}'."
        )
        abort(404, message)
    return book, offer


def click_redirect(target: str) -> Response:
    """The 302 to a store: the one place a click's answer is built (view and fast path).

    ``Location`` is encoded as a URI (RFC 3986) whatever the catalog wrote: a store
    URL with non-ASCII characters (a Kobo Japan search for 月面) is percent-encoded.
    No body, so text/plain: the HTML-only headers (CSP) would be wasted bytes per click.
    """
    return Response(
        status=302,
        mimetype="text/plain",
        headers={"Location": iri_to_uri(target), "Cache-Control": "no-store"},
    )


def track(book: Book, offer: Offer, *, remember: bool = False) -> Response:
    """Record a click on ``offer`` (or spool it) and answer the 302 to its store."""
    target, kind = clicks().record(
        request.environ, book, offer, request.args.get("src"), request.args.get("c")
    )
    response = click_redirect(target)
    if remember and kind == ClickKind.READER:
        response.set_cookie(
            COOKIE_PREFIX + book.slug,
            offer.slug,
            max_age=COOKIE_MAX_AGE,
            path=f"/go/{book.slug}",
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response


# merge_slashes=False: "/go//evil.example" is a 404, not a 308 to a normalized path.
@bp.get("/go/<book_slug>/<offer_slug>", merge_slashes=False)
def go(book_slug: str, offer_slug: str) -> Response:
    book, offer = get_offer(storefront().catalog, book_slug, offer_slug)
    return track(book, offer, remember=request.args.get("remember") == "1")


@bp.get("/go/<book_slug>", merge_slashes=False)
def chooser(book_slug: str) -> Response:
    sf = storefront()
    catalog = sf.catalog
    book = get_book(catalog, book_slug)
    cookie = COOKIE_PREFIX + book.slug
    forget = "forget" in request.args
    saved = None if forget else book.offer(request.cookies.get(cookie, ""))
    if saved is not None and "choose" not in request.args:
        return track(book, saved)
    at = sf.now()
    src = placement(request.args.get("src")) if request.args.get("src") else None
    campaign = campaign_slug(catalog, request.args.get("c"))
    country = clicks().country(request.environ)
    # Rendered once per catalog version, price window and these few choices.
    key = (book.slug, src, campaign, country, saved and saved.slug, forget)
    rendered = clicks().chooser_cache.get(
        key,
        catalog,
        at,
        lambda: (
            render_chooser(
                catalog,
                book,
                at,
                sf.urls,
                src=src,
                campaign=campaign,
                country=country,
                saved=saved,
                forgotten=forget,
            ),
            "text/html",
        ),
    )
    response = Response(rendered.body, mimetype="text/html", headers=NO_STORE)
    if forget:
        response.delete_cookie(
            cookie, path=f"/go/{book.slug}", secure=request.is_secure, httponly=True, samesite="Lax"
        )
    return response
