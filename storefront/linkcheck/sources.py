"""Every URL the catalog sends readers to, as :class:`Link` rows for the checker."""

from __future__ import annotations

from urllib.parse import quote_plus

from ..catalog import Catalog, Vendor, iter_urls
from ..links import clean_amazon_url, finish_url, search_query
from .model import Link


def catalog_links(catalog: Catalog) -> list[Link]:
    """List every URL the catalog sends readers to, each with its book, vendor and kind.

    Offers and their country stores; the vendors' search fallbacks for each
    title; the affiliate-tagged form of each of those that readers are really
    redirected to (:func:`storefront.links.finish_url`); quote sources and
    support links. Amazon URLs carrying tracking junk get their clean form.
    """
    links: list[Link] = []
    seen: set[tuple[str, str]] = set()

    def add(key: str, url: str, kind: str, book: str | None, vendor: str | None) -> None:
        if (key, url) in seen:
            return
        seen.add((key, url))
        clean = clean_amazon_url(url)
        links.append(Link(key, url, kind, book, vendor, clean if clean != url else None))

    def add_store(key, url, kind, book, vendor: Vendor, marketplace: str) -> None:
        add(key, url, kind, book, vendor.slug)
        tagged = finish_url(url, vendor, marketplace, default_country)
        if vendor.affiliate is not None and tagged != clean_amazon_url(url):
            add(f"{key}+tag", tagged, "affiliate", book, vendor.slug)

    default_country = catalog.site.default_country
    for book in catalog.books:
        for offer in book.offers:
            vendor = catalog.vendor(offer.vendor)
            base = f"{book.slug}/{offer.slug}"
            add_store(base, offer.url, "offer", book.slug, vendor, default_country)
            for country, url in offer.countries.items():
                add_store(f"{base}[{country}]", url, "country store", book.slug, vendor, country)
        query = quote_plus(search_query(book))
        for slug in dict.fromkeys(o.vendor for o in book.offers):
            vendor = catalog.vendor(slug)
            searches = [("", vendor.search_url, default_country)]
            searches += [(f"[{c}]", u, c) for c, u in vendor.country_search.items()]
            for suffix, template, marketplace in searches:
                if template:
                    url = template.replace("{query}", query)
                    key = f"{book.slug}/search:{slug}{suffix}"
                    add_store(key, url, "store search", book.slug, vendor, marketplace)
        for i, quote in enumerate(book.quotes):
            if quote.url:
                add(f"{book.slug}/quotes[{i}]", quote.url, "quote source", book.slug, None)
    for method in catalog.support:
        if method.url:
            add(f"support/{method.slug}", method.url, "support", None, None)

    # The catalog's own list is the contract: nothing it yields may be missed here.
    known = {link.url for link in links}
    for key, url in iter_urls(catalog):
        if url not in known:
            links.append(Link(key, url, "other"))
            known.add(url)
    return links
