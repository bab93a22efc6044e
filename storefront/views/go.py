"""Tracked click-through: ``/go/<book>/<offer>`` and the universal link ``/go/<book>``.

The redirect target only ever comes from the catalog (see :mod:`storefront.links`);
``src`` and ``c`` are checked against the known placements and the catalog's
campaigns (anything else is recorded as ``other``/none) and never echoed back.
Each click is committed (or spooled) before the 302 is sent, and nothing here
may be cached: ``Cache-Control: no-store``.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

from babel import Locale
from flask import Blueprint, Flask, Response, abort, current_app, request

from ..bots import READER, RepeatWindow, classify, warm_up
from ..catalog import SLUG_RE, Book, Catalog, Offer
from ..links import Destination, destination, reader_country
from ..presentation import present_book
from ..state import RenderCache, Storefront
from ..storage import ClickEvent, ClickStore, new_click_id, open_click_store
from ..templating import render
from ..urls import PLACEMENTS
from . import storefront

logger = logging.getLogger(__name__)

bp = Blueprint("go", __name__)

COOKIE_PREFIX = "sf_store_"  # + book slug; the value is an offer slug, nothing else
COOKIE_MAX_AGE = 365 * 24 * 3600
_HOST_RE = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$")
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def init_app(app: Flask) -> None:
    """Open the click store, replay any spooled clicks, put the fast path in front."""
    try:
        timeout = float(app.config["DATABASE_TIMEOUT"])
        interval = float(app.config["SPOOL_REPLAY_INTERVAL"])
        window = float(app.config["REPEAT_WINDOW"])
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"STOREFRONT_DATABASE_TIMEOUT, STOREFRONT_SPOOL_REPLAY_INTERVAL and "
            f"STOREFRONT_REPEAT_WINDOW must be numbers of seconds: {exc}"
        ) from None
    store = open_click_store(
        app.config["DATABASE_URL"], app.instance_path, timeout=timeout, replay_interval=interval
    )
    app.extensions["clicks"] = store
    app.extensions["go"] = Clicks(
        app.extensions["storefront"], store, RepeatWindow(window), app.config["COUNTRY_HEADER"]
    )
    warm_up()
    # The schema is created or migrated on first use (the first click, stats or replay),
    # so an app that serves no click never touches the database.
    if store.spool.pending():
        store.try_replay()  # never raises: if the database is down, the replayer retries
        if store.spool.pending():
            store.start_replayer()
    app.wsgi_app = FastClick(app.wsgi_app, app.extensions["go"])


def click_store() -> ClickStore:
    """The app's :class:`~storefront.storage.ClickStore`."""
    return current_app.extensions["clicks"]


def clicks() -> Clicks:
    return current_app.extensions["go"]


def get_book(catalog: Catalog, slug: str) -> Book:
    book = catalog.book(slug)
    if book is None:
        # Only a well-formed slug is named back; anything else could be an injection attempt.
        abort(404, f"No book '{slug}' in this catalog." if SLUG_RE.match(slug) else "No such book.")
    return book


_offer_index: dict[str, dict[tuple[str, str], tuple[Book, Offer]]] = {}


def find_offer(catalog: Catalog, book_slug: str, offer_slug: str) -> tuple[Book, Offer] | None:
    """The book and offer for these slugs, or None (an index per catalog version)."""
    index = _offer_index.get(catalog.version)
    if index is None:
        _offer_index.clear()  # only the live catalog version is kept
        index = _offer_index[catalog.version] = {
            (b.slug, o.slug): (b, o) for b in catalog.books for o in b.offers
        }
    return index.get((book_slug, offer_slug))


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


def placement(value: str | None) -> str:
    """``src`` if it is a known placement, else ``other``."""
    return value if value in PLACEMENTS else "other"


def campaign_slug(catalog: Catalog, value: str | None) -> str | None:
    """``c`` if it names a campaign in the catalog, else None."""
    return value if value and catalog.campaign(value) is not None else None


def referrer_host(value: str | None) -> str | None:
    """Only the host of the Referer (never its path or query), if it looks like one."""
    if not value:
        return None
    try:
        host = urlsplit(value[:2048]).hostname
    except ValueError:
        return None
    return host if host and _HOST_RE.match(host) else None


# The only request headers a click reads, by their WSGI environ keys.
_HEADERS = (
    ("User-Agent", "HTTP_USER_AGENT"),
    ("Accept-Language", "HTTP_ACCEPT_LANGUAGE"),
    ("Referer", "HTTP_REFERER"),
    ("Sec-Purpose", "HTTP_SEC_PURPOSE"),
    ("Purpose", "HTTP_PURPOSE"),
    ("X-Purpose", "HTTP_X_PURPOSE"),
    ("X-Moz", "HTTP_X_MOZ"),
)


def click_headers(environ: dict, country_header: str | None) -> dict[str, str]:
    """The headers a click needs (and the trusted country header), straight from the environ.

    ``request.headers.get`` raises and catches an exception for each absent header,
    and most of these are absent: on the redirect's hot path that shows.
    """
    headers = {name: environ[key] for name, key in _HEADERS if key in environ}
    if country_header:
        key = "HTTP_" + country_header.upper().replace("-", "_")
        if key in environ:
            headers[country_header] = environ[key]
    return headers


def client_ip(environ: dict) -> str:
    """The address the repeat window hashes: the peer's.

    Behind ``STOREFRONT_PROXY_COUNT`` proxies, ProxyFix has already put the reader's
    own address here; a client's ``X-Forwarded-For`` is never taken on its word.
    """
    return environ.get("REMOTE_ADDR", "")


_destinations: dict[tuple, Destination] = {}


def _destination(catalog: Catalog, book: Book, offer: Offer, country: str | None) -> Destination:
    """:func:`~storefront.links.destination`, memoized per catalog version (a pure function)."""
    key = (catalog.version, book.slug, offer.slug, country)
    found = _destinations.get(key)
    if found is None:
        if len(_destinations) >= 4096:
            _destinations.clear()  # a new catalog version, or a flood of countries
        found = _destinations[key] = destination(catalog, book, offer, country)
    return found


class Clicks:
    """The one click path: classify, record (commit or spool), and choose the store."""

    def __init__(
        self, sf: Storefront, store: ClickStore, window: RepeatWindow, country_header: str | None
    ):
        self.sf = sf
        self.store = store
        self.window = window
        self.country_header = country_header or None
        # Apart from the app's cache: countries x placements must not evict book pages.
        self.chooser_cache = RenderCache(256)

    def country(self, environ: dict) -> str | None:
        return reader_country(click_headers(environ, self.country_header), self.country_header)

    def record(
        self, environ: dict, book: Book, offer: Offer, src: str | None, c: str | None
    ) -> tuple[str, str]:
        """Record one click on ``offer``; return its store URL and the click's kind.

        Returns once the click is committed to the database or, if that fails,
        written to the spool: the caller may then answer the reader.
        """
        catalog, at = self.sf.catalog, self.sf.now()
        headers = click_headers(environ, self.country_header)
        kind = classify(environ.get("REQUEST_METHOD", "GET"), headers)
        country = reader_country(headers, self.country_header)
        target = _destination(catalog, book, offer, country).url
        repeat = kind == READER and self.window.is_repeat(
            client_ip(environ), headers.get("User-Agent"), f"{book.slug}/{offer.slug}", at
        )
        self.store.record_click(
            ClickEvent(
                id=new_click_id(),
                at=at,
                day=at.astimezone(catalog.site.tz).date(),
                book=book.slug,
                offer=offer.slug,
                format=offer.format,
                vendor=offer.vendor,
                placement=placement(src),
                campaign=campaign_slug(catalog, c),
                country=country,
                referrer_host=referrer_host(headers.get("Referer")),
                kind=kind,
                is_repeat=repeat,
            )
        )
        return target, kind


_PLAIN_CLICK = "storefront.go.plain"  # environ mark: this answer is a plain click's 302


def track(book: Book, offer: Offer, *, remember: bool = False) -> Response:
    """Record a click on ``offer`` (or spool it) and answer the 302 to its store."""
    target, kind = clicks().record(
        request.environ, book, offer, request.args.get("src"), request.args.get("c")
    )
    # No body, so text/plain: the HTML-only headers (CSP) would be wasted bytes per click.
    response = Response(
        status=302, mimetype="text/plain", headers={"Location": target, "Cache-Control": "no-store"}
    )
    if remember and kind == READER:
        response.set_cookie(
            COOKIE_PREFIX + book.slug,
            offer.slug,
            max_age=COOKIE_MAX_AGE,
            path=f"/go/{book.slug}",
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    else:
        request.environ[_PLAIN_CLICK] = True
    return response


class FastClick:
    """WSGI middleware: answer a plain click on ``/go/<book>/<offer>`` without Flask.

    Clicks are the one request whose every instance does real work (a database
    commit), and Flask's dispatch would double its cost. A ``GET`` or ``HEAD`` of an
    offer that exists, without ``remember``, is recorded by the same
    :meth:`Clicks.record` as the Flask view and answered with the headers the app
    itself sent for its first plain click (security headers included), with this
    click's ``Location``. Everything else (unknown offers, the chooser, cookies,
    before the first answer) goes to Flask.
    """

    def __init__(self, wsgi_app, clicks: Clicks):
        self.wsgi_app = wsgi_app
        self.clicks = clicks
        self.answer: tuple[str, list[tuple[str, str]]] | None = None

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/go/") and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            if self.answer is None:
                return self.wsgi_app(environ, self._learn(environ, start_response))
            target = None
            try:
                click = self._plain_click(environ, path[4:])
                if click is not None:
                    # Storing is record()'s last step and never raises: a failure here
                    # came before the click was kept, so Flask may answer it instead.
                    target, _ = self.clicks.record(environ, *click)
            except Exception:
                logger.exception("fast click path failed on %s; Flask answers", path)
            if target is not None:
                status, headers = self.answer
                start_response(status, [*headers, ("Location", target)])
                return []
        return self.wsgi_app(environ, start_response)

    def _plain_click(self, environ: dict, rest: str):
        book_slug, _, offer_slug = rest.partition("/")
        if not offer_slug or "/" in offer_slug:
            return None
        found = find_offer(self.clicks.sf.catalog, book_slug, offer_slug)
        if found is None:
            return None  # Flask answers the 404 page
        args: dict[str, str] = {}
        for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
            args.setdefault(key, value)  # the first value, as Flask's request.args.get
        if "remember" in args:
            return None  # sets a cookie: Flask's
        return (*found, args.get("src"), args.get("c"))

    def _learn(self, environ: dict, start_response):
        def capture(status: str, headers: list[tuple[str, str]], exc_info=None):
            if environ.get(_PLAIN_CLICK) and status.startswith("302") and exc_info is None:
                self.answer = (status, [(k, v) for k, v in headers if k.lower() != "location"])
            return start_response(status, headers, exc_info)

        return capture


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
    key = (catalog.version, book.slug, src, campaign, country, saved and saved.slug, forget)
    rendered = clicks().chooser_cache.get(
        key,
        catalog,
        at,
        lambda: (
            render_chooser(
                catalog,
                book,
                at,
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


def country_name(code: str | None, locale: str) -> str | None:
    if not code:
        return None
    try:
        return Locale.parse(locale).territories.get(code, code)
    except (ValueError, TypeError):
        return code


def render_chooser(
    catalog: Catalog,
    book: Book,
    at: datetime,
    *,
    src: str | None,
    campaign: str | None,
    country: str | None,
    saved: Offer | None,
    forgotten: bool,
) -> str:
    """The store chooser: the stores for the reader's country, grouped by format."""
    sf = storefront()
    view = present_book(catalog, book, at, sf.urls, src=src or "other", campaign=campaign)
    groups = []
    for fmt in view.formats:
        stores = []
        for o in fmt.offers:
            where = destination(catalog, book, o.offer, country)
            stores.append(
                {
                    "view": o,
                    "href": sf.urls.choose(book.slug, o.offer.slug, src=src, campaign=campaign),
                    "host": where.host.removeprefix("www."),
                    # Catalog prices are the default store's: elsewhere the store shows its own.
                    "price": o.price_text if where.how == "default store" else None,
                    "list_price": o.list_text if where.how == "default store" else None,
                    "saved": saved is not None and saved.slug == o.offer.slug,
                }
            )
        groups.append({"format": fmt, "stores": stores})
    return render(
        "go/chooser.html",
        view=view,
        site=catalog.site,
        urls=sf.urls,
        book=book,
        groups=groups,
        country=country_name(country, catalog.site.locale),
        saved=saved,
        saved_vendor=catalog.vendor(saved.vendor) if saved else None,
        forgotten=forgotten,
        forget_href=sf.urls.choose_again(book.slug, forget=True, src=src, campaign=campaign),
    )
