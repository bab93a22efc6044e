"""The store chooser behind the universal link ``/go/<book>``: the reader's stores by format."""

from __future__ import annotations

from datetime import datetime

from babel import Locale

from storefront.catalog import Book, Catalog, Offer
from storefront.links import destination
from storefront.presentation import present_book
from storefront.templating import render
from storefront.urls import Urls


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
    urls: Urls,
    *,
    src: str | None,
    campaign: str | None,
    country: str | None,
    saved: Offer | None,
    forgotten: bool,
) -> str:
    """The store chooser: the stores for the reader's country, grouped by format."""
    view = present_book(catalog, book, at, urls, src=src or "other", campaign=campaign)
    groups = []
    for fmt in view.formats:
        stores = []
        for o in fmt.offers:
            where = destination(catalog, book, o.offer, country)
            stores.append(
                {
                    "view": o,
                    "href": urls.choose(book.slug, o.offer.slug, src=src, campaign=campaign),
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
        urls=urls,
        book=book,
        groups=groups,
        country=country_name(country, catalog.site.locale),
        saved=saved,
        saved_vendor=catalog.vendor(saved.vendor) if saved else None,
        forgotten=forgotten,
        forget_href=urls.choose_again(book.slug, forget=True, src=src, campaign=campaign),
    )
