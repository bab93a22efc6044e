"""Outbound store URLs: country stores, search fallback, affiliate tags, clean Amazon URLs.

Pure functions of the catalog and the reader's country; the ``/go/`` redirect
and the store chooser call them. Every URL they return is built from the
catalog (a store URL, or a store's search template filled with the book's
title), never from the request: the country only chooses among catalog URLs.

Which store, for a reader in country ``C`` (``None`` when unknown):

1. the offer's own store for ``C`` (``[books.editions.offers.countries]``);
2. else, when ``C`` is not the site's default country, the vendor's search in
   ``C``'s store for the title (``[vendors.country_search]``);
3. else the offer's default URL.

"The store for ``C``" is the entry for ``C`` itself, else for a group that
contains it (``EU`` for a reader in France): one rule,
:func:`storefront.catalog.territory.lookup`, shared with the validator.

Then Amazon URLs lose their tracking junk (``/ref=…``, ``qid``, ``sr``, ``pd_rd_*``…)
and, for an affiliate vendor, its tag is set (``[vendors.affiliate]``). The
destination's marketplace decides the tag, not the reader's country: on an
Amazon or Audible store (:mod:`storefront.catalog.marketplace`, by domain) the tag for
that store's country, and ``default`` only on the site's default country's
store (an offer at amazon.co.jp gets the JP tag or none, never the US one); on
any other site the tag for the catalog entry chosen, else ``default``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from .catalog import Book, Catalog, Offer, Vendor, country_code, lookup
from .catalog.marketplace import is_amazon, marketplace_of

# Readers are in countries; catalog maps may also name groups (storefront.catalog.territory).

_AMAZON_JUNK = frozenset(
    {
        "ref",
        "ref_",
        "qid",
        "sr",
        "sprefix",
        "crid",
        "psc",
        "th",
        "_encoding",
        "content-id",
        "dib",
        "dib_tag",
        "sp_csd",
        "spia",
        "sbo",
        "social_share",
        "starsleft",
    }
)
_AMAZON_JUNK_PREFIXES = ("pd_rd_", "pf_rd_")


@dataclass(frozen=True)
class Destination:
    """Where a click on ``offer`` goes, and why."""

    url: str
    marketplace: str  # the country whose store this is
    how: str  # "country store", "country search" or "default store"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


@lru_cache(maxsize=2048)  # a handful of header values cover nearly every reader
def accept_language_country(header: str | None) -> str | None:
    """The region of the reader's most preferred language tag that has one (``en-GB`` -> GB)."""
    if not header:
        return None
    weighted = []
    for position, part in enumerate(header[:512].split(",")[:32]):
        tag, *params = part.strip().split(";")
        quality: float | None = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = None  # a malformed weight: ignore the tag
        if quality is not None and 0 < quality <= 1:
            weighted.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(weighted):
        for subtag in re.split(r"[-_]", tag)[1:]:
            if len(subtag) == 2 and subtag.isalpha():
                code = country_code(subtag)
                if code:
                    return code
                break
    return None


def reader_country(headers: Mapping[str, str], country_header: str | None = None) -> str | None:
    """The reader's country: the trusted proxy header if configured and valid, else Accept-Language.

    Only name ``country_header`` (e.g. ``CF-IPCountry``) when a proxy you run sets it:
    a reader could send it themselves otherwise.
    """
    if country_header:
        code = country_code(headers.get(country_header))
        if code:
            return code
    return accept_language_country(headers.get("Accept-Language"))


def search_query(book: Book) -> str:
    """The title as a store search query: ``Genesis the Story of Apollo 8``."""
    return " ".join(re.sub(r"[:;,/]+", " ", book.full_title).split())


def destination(catalog: Catalog, book: Book, offer: Offer, country: str | None) -> Destination:
    """Choose the store for a reader in ``country`` (rules in the module docstring)."""
    vendor = catalog.vendor(offer.vendor)
    default_country = catalog.site.default_country
    store = lookup(offer.countries, country)
    search = lookup(vendor.country_search, country) if country != default_country else None
    if store:
        (marketplace, url), how = store, "country store"
    elif search:
        marketplace, template = search
        url = template.replace("{query}", quote_plus(search_query(book)))
        how = "country search"
    else:
        url, marketplace, how = offer.url, default_country, "default store"
    final = finish_url(url, vendor, marketplace, default_country)
    return Destination(final, marketplace_of(final) or marketplace, how)


def outbound_url(catalog: Catalog, book: Book, offer: Offer, country: str | None) -> str:
    """The URL a click on ``offer`` redirects to, for a reader in ``country``."""
    return destination(catalog, book, offer, country).url


def finish_url(url: str, vendor: Vendor, territory: str, default_country: str) -> str:
    """Clean an Amazon URL, then set the vendor's affiliate tag for its marketplace."""
    url = clean_amazon_url(url)
    tag = affiliate_tag(vendor, url, territory, default_country)
    if tag and vendor.affiliate is not None:
        url = set_query_param(url, vendor.affiliate.param, tag)
    return url


def affiliate_tag(vendor: Vendor, url: str, territory: str, default_country: str) -> str | None:
    """The vendor's tag for the store ``url`` is on (rules in the module docstring).

    On a known marketplace (``amazon.co.jp``: JP) the tag for that country (or a
    group holding it), and ``default`` only when it is the site's default
    country's store: a tag earns nothing on another marketplace. Elsewhere the
    tag for ``territory`` (the catalog entry chosen), else ``default``.
    """
    if vendor.affiliate is None:
        return None
    tags = vendor.affiliate.tags
    market = marketplace_of(url)
    if market is None:
        return vendor.affiliate.tag_for(territory)
    hit = lookup(tags, market)
    if hit:
        return hit[1]
    return tags.get("default") if market == default_country else None


def clean_amazon_url(url: str) -> str:
    """Drop Amazon's tracking junk (``/ref=…`` path segments, ``qid``, ``sr``, …); keep the rest."""
    if not is_amazon(url):
        return url
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if not s.lower().startswith("ref=")]
    path = "/".join(segments) or "/"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _AMAZON_JUNK and not k.lower().startswith(_AMAZON_JUNK_PREFIXES)
    ]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), parts.fragment))


def set_query_param(url: str, name: str, value: str) -> str:
    """``url`` with exactly one ``name=value`` in its query (an existing value is replaced)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
