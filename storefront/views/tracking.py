"""The click path: from a request to ``/go`` to a recorded :class:`~storefront.clicks.ClickEvent`.

:class:`Clicks` classifies the request (:mod:`storefront.bots`), picks the store for
the reader's country (:mod:`storefront.links`) and hands the click to the click store,
which commits or spools it. The ``/go`` view and :mod:`storefront.fastpath` both call
:meth:`Clicks.record`: there is one click path. It reads the WSGI environ directly
(a handful of headers), so a click costs no more than it must.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..bots import RepeatWindow, classify
from ..catalog import Book, Catalog, Offer
from ..clicks import SAMPLE_VENDOR, ClickEvent, ClickKind, SampleKind, new_click_id
from ..links import Destination, destination, reader_country
from ..state import RenderCache, Storefront
from ..storage import ClickStore
from ..urls import PLACEMENTS

_HOST_RE = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$")

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
    ) -> tuple[str, ClickKind]:
        """Record one click on ``offer``; return its store URL and the click's kind.

        Returns once the click is committed to the database or, if that fails,
        written to the spool: the caller may then answer the reader.
        """
        catalog = self.sf.catalog
        headers = click_headers(environ, self.country_header)
        country = reader_country(headers, self.country_header)
        target = _destination(catalog, book, offer, country).url
        kind = self._count(
            catalog, environ, headers, book, offer.slug, offer.format, offer.vendor, country, src, c
        )
        return target, kind

    def record_sample(
        self, environ: dict, book: Book, kind: SampleKind, src: str | None, c: str | None
    ) -> ClickKind:
        """Count a sample download or a reading-page visit, as a click is counted.

        The same classification (bots, prefetches and HEAD apart), repeat window and
        click store as :meth:`record`; the row's vendor is ``storefront`` and its offer
        the :class:`~storefront.clicks.SampleKind`, so stats keep them apart from store clicks.
        """
        headers = click_headers(environ, self.country_header)
        country = reader_country(headers, self.country_header)
        return self._count(
            self.sf.catalog,
            environ,
            headers,
            book,
            kind.value,
            kind.format,
            SAMPLE_VENDOR,
            country,
            src,
            c,
        )

    def _count(
        self,
        catalog: Catalog,
        environ: dict,
        headers,
        book: Book,
        offer: str,
        format: str,
        vendor: str,
        country: str | None,
        src: str | None,
        c: str | None,
    ) -> ClickKind:
        """Classify the request, mark a repeat, and store one :class:`ClickEvent` row."""
        at = self.sf.now()
        kind = classify(environ.get("REQUEST_METHOD", "GET"), headers)
        repeat = kind == ClickKind.READER and self.window.is_repeat(
            client_ip(environ), headers.get("User-Agent"), f"{book.slug}/{offer}", at
        )
        self.store.record_click(
            ClickEvent(
                id=new_click_id(),
                at=at,
                day=at.astimezone(catalog.site.tz).date(),
                book=book.slug,
                offer=offer,
                format=format,
                vendor=vendor,
                placement=placement(src),
                campaign=campaign_slug(catalog, c),
                country=country,
                referrer_host=referrer_host(headers.get("Referer")),
                kind=kind,
                is_repeat=repeat,
            )
        )
        return kind
