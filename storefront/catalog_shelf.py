"""The shelf: the catalog's books by author and by series, as readers and robots see them.

Pure functions of the catalog and the clock (prices come from
:func:`storefront.presentation.present_book`, hence from the one pricing
function); the pages, the shelf card, the backlist sheet, the sitemap and the
feed all read the shelf from here. The JSON-LD (``Person``, ``BookSeries``,
``ItemList``) is built here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .catalog import Author, Book, Catalog
from .catalog.people import site_author
from .presentation import BookView, present_book
from .pricing import price_window
from .urls import Urls


def authors(catalog: Catalog) -> tuple[Author, ...]:
    """``[[authors]]``, or the site's author alone when there is none."""
    return catalog.authors or (site_author(catalog.site),)


def author(catalog: Catalog, slug: str) -> Author | None:
    return next((a for a in authors(catalog) if a.slug == slug), None)


def book_authors(catalog: Catalog, book: Book) -> tuple[Author, ...]:
    if not catalog.authors:
        return authors(catalog)
    return tuple(a for a in catalog.authors if a.slug in book.by)


def books_by(catalog: Catalog, slug: str) -> tuple[Book, ...]:
    if not catalog.authors:
        return catalog.books if author(catalog, slug) else ()
    return tuple(b for b in catalog.books if slug in b.by)


def _when(book: Book) -> date:
    if book.published:
        return book.published
    return date(book.year, 1, 1) if book.year else date.max


def reading_order(books) -> list[Book]:
    """A series in reading order: by ``position``, then publication date, then title."""
    return sorted(
        books,
        key=lambda b: (
            b.series.position if b.series and b.series.position else 10**6,
            _when(b),
            b.title.casefold(),
        ),
    )


@dataclass(frozen=True)
class SeriesInfo:
    slug: str
    name: str
    books: tuple[Book, ...]  # in reading order

    def number(self, book: Book) -> int:
        """The book's place, 1-based: its ``position`` if set, else its rank."""
        if book.series and book.series.position:
            return book.series.position
        return self.books.index(book) + 1


def all_series(catalog: Catalog) -> tuple[SeriesInfo, ...]:
    found: dict[str, list[Book]] = {}
    names: dict[str, str] = {}
    for b in catalog.books:
        if b.series:
            found.setdefault(b.series.slug, []).append(b)
            names.setdefault(b.series.slug, b.series.name)
    out = [SeriesInfo(s, names[s], tuple(reading_order(bs))) for s, bs in found.items()]
    return tuple(sorted(out, key=lambda s: (min(_when(b) for b in s.books), s.name)))


def series(catalog: Catalog, slug: str) -> SeriesInfo | None:
    return next((s for s in all_series(catalog) if s.slug == slug), None)


@dataclass(frozen=True)
class Neighbours:
    series: SeriesInfo
    number: int
    previous: Book | None
    next: Book | None


def neighbours(catalog: Catalog, book: Book) -> Neighbours | None:
    """ "Book N of the series" with the previous and next books, or None outside a series."""
    if not book.series:
        return None
    s = series(catalog, book.series.slug)
    i = s.books.index(book)
    return Neighbours(
        s,
        s.number(book),
        s.books[i - 1] if i > 0 else None,
        s.books[i + 1] if i + 1 < len(s.books) else None,
    )


def more_by(catalog: Catalog, book: Book, limit: int = 4) -> tuple[Book, ...]:
    """Other books by the book's authors, newest first."""
    slugs = {a.slug for a in book_authors(catalog, book)}
    others = [
        b
        for b in catalog.books
        if b is not book and (not catalog.authors or slugs.intersection(b.by))
    ]
    return tuple(sorted(others, key=lambda b: _when(b), reverse=True)[:limit])


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
        return ShelfView(
            catalog, urls, at, who, sections, s.name, urls.series(s.slug, absolute=True), src
        )
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
    alone = sorted((b for b in books if not b.series), key=_when, reverse=True)
    if alone:
        views = tuple(present_book(catalog, b, at, urls, src=src) for b in alone)
        sections.append(Section(None, views))
    return ShelfView(catalog, urls, at, who, tuple(sections), title, canonical, src)


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
