"""The shelf as readers and robots see it: the view model and JSON-LD of a shelf.

One author's books, one series, or the whole store, each book presented by
:func:`storefront.presentation.present_book` (hence priced by the one pricing
function), grouped by series; and the ``Person``, ``BookSeries`` and
``ItemList`` JSON-LD. The queries behind it are :mod:`storefront.catalog.shelf`.
Pure: no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .catalog import Author, Book, Catalog
from .catalog.shelf import (
    Neighbours,
    SeriesInfo,
    all_series,
    author,
    authors,
    book_authors,
    books_by,
    published_on,
    series,
)
from .presentation import BookView, present_book
from .pricing import price_window
from .urls import Urls


@dataclass(frozen=True)
class Section:
    series: SeriesInfo | None  # None: the books outside any series
    views: tuple[BookView, ...]


@dataclass(frozen=True)
class ShelfView:
    catalog: Catalog
    urls: Urls
    at: datetime
    authors: tuple[Author, ...]  # whose shelf (one on an author page)
    sections: tuple[Section, ...]
    title: str
    canonical: str
    src: str = "page"
    kind: str = "index"  # "index" (the whole store), "author" or "series"

    @property
    def site(self):
        return self.catalog.site

    @property
    def views(self) -> tuple[BookView, ...]:
        return tuple(v for s in self.sections for v in s.views)

    @property
    def valid_until(self) -> datetime | None:
        return price_window(self.catalog, self.at)[1]

    def json_ld(self) -> list[dict]:
        return shelf_json_ld(self)

    @staticmethod
    def buy(view: BookView):
        """The one offer a shelf shows for a book: the sale's, the cheapest, else the preferred."""
        if view.sale:
            return view.sale.best
        for f in view.formats:
            if f.best or f.preferred:
                return f.best or f.preferred
        return view.offers[0] if view.offers else None


def present_shelf(
    catalog: Catalog,
    at: datetime,
    urls: Urls,
    *,
    author_slug: str | None = None,
    series_slug: str | None = None,
    src: str = "page",
) -> ShelfView | None:
    """The books of one author, one series, or the whole store; None for an unknown slug."""
    if series_slug is not None:
        s = series(catalog, series_slug)
        if s is None:
            return None
        sections = (
            Section(s, tuple(present_book(catalog, b, at, urls, src=src) for b in s.books)),
        )
        who = tuple(dict.fromkeys(a for b in s.books for a in book_authors(catalog, b)))
        canonical = urls.series(s.slug, absolute=True)
        return ShelfView(catalog, urls, at, who, sections, s.name, canonical, src, "series")
    if author_slug is not None:
        a = author(catalog, author_slug)
        if a is None:
            return None
        books, who, title = books_by(catalog, a.slug), (a,), a.name
        canonical = urls.author(a.slug, absolute=True)
    else:
        books, who, title = catalog.books, authors(catalog), catalog.site.title
        canonical = urls.index(absolute=True)
    chosen = set(map(id, books))
    sections = []
    for s in all_series(catalog):
        members = [b for b in s.books if id(b) in chosen]
        if members:
            views = tuple(present_book(catalog, b, at, urls, src=src) for b in members)
            sections.append(Section(s, views))
    alone = sorted((b for b in books if not b.series), key=published_on, reverse=True)
    if alone:
        views = tuple(present_book(catalog, b, at, urls, src=src) for b in alone)
        sections.append(Section(None, views))
    kind = "author" if author_slug is not None else "index"
    return ShelfView(catalog, urls, at, who, tuple(sections), title, canonical, src, kind)


# -- JSON-LD


def person_json_ld(a: Author, urls: Urls, catalog: Catalog) -> dict:
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Person",
        "@id": urls.author(a.slug, absolute=True) + "#person",
        "name": a.name,
        "url": urls.author(a.slug, absolute=True) if catalog.authors else urls.index(absolute=True),
    }
    if a.bio:
        data["description"] = a.bio
    if a.links:
        data["sameAs"] = list(a.links)
    return data


def series_json_ld(s: SeriesInfo, urls: Urls) -> dict:
    return {
        "@context": "https://schema.org",
        "@type": "BookSeries",
        "@id": urls.series(s.slug, absolute=True) + "#series",
        "name": s.name,
        "url": urls.series(s.slug, absolute=True),
        "hasPart": [
            {"@id": urls.book(b.slug, absolute=True) + "#book", "name": b.full_title}
            for b in s.books
        ],
    }


def book_series_json_ld(n: Neighbours, book: Book, urls: Urls) -> dict:
    """What the book page adds for a series book: ``isPartOf`` its series and ``position``."""
    return {
        "@context": "https://schema.org",
        "@type": "Book",
        "@id": urls.book(book.slug, absolute=True) + "#book",
        "name": book.full_title,
        "position": n.number,
        "isPartOf": {
            "@type": "BookSeries",
            "@id": urls.series(n.series.slug, absolute=True) + "#series",
            "name": n.series.name,
            "url": urls.series(n.series.slug, absolute=True),
        },
    }


def shelf_json_ld(view: ShelfView) -> list[dict]:
    urls = view.urls
    items = [
        {
            "@type": "ListItem",
            "position": i,
            "url": urls.book(v.book.slug, absolute=True),
            "name": v.book.full_title,
        }
        for i, v in enumerate(view.views, 1)
    ]
    out: list[dict] = [
        {
            "@context": "https://schema.org",
            "@type": "ItemList",
            "name": view.title,
            "url": view.canonical,
            "numberOfItems": len(items),
            "itemListElement": items,
        }
    ]
    out += [person_json_ld(a, urls, view.catalog) for a in view.authors]
    out += [series_json_ld(s.series, urls) for s in view.sections if s.series]
    return out
