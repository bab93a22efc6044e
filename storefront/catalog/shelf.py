"""The shelf's queries: the catalog's books by author and by series, in reading order.

Pure functions of the catalog: who wrote a book, the books of an author, a
series in reading order, a book's neighbours in its series, more by the same
authors. The shelf's view model and JSON-LD are
:mod:`storefront.presentation_shelf`; the pages, the shelf card, the backlist
sheet, the sitemap and the feed read the shelf through these two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .model import Author, Book, Catalog
from .people import site_author


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


def published_on(book: Book) -> date:
    """The day a book came out (1 January of its year; the far future when unknown)."""
    if book.published:
        return book.published
    return date(book.year, 1, 1) if book.year else date.max


def reading_order(books) -> list[Book]:
    """A series in reading order: by ``position``, then publication date, then title."""
    return sorted(
        books,
        key=lambda b: (
            b.series.position if b.series and b.series.position else 10**6,
            published_on(b),
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
    return tuple(sorted(out, key=lambda s: (min(published_on(b) for b in s.books), s.name)))


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
    return tuple(sorted(others, key=published_on, reverse=True)[:limit])
