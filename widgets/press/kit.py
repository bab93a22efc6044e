"""What a press kit holds: the books with their facts, the authors, the contact.

One :class:`PressKit` is built per request (or command) and laid out by every
output: the page (:mod:`.page`), the one-page sheet (:mod:`widgets.print.press`)
and the ZIP (:mod:`.bundle`). Each phrase a journalist copies (a fact's value,
the credits line) is decided here once, so the three never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date

from storefront import presentation_shelf as ps
from storefront.catalog import Author, Book, Catalog
from storefront.catalog import shelf as cs
from storefront.presentation import BookView, format_duration, present_book
from storefront.urls import Urls

SRC = "press"  # the placement of every tracked link in the kit


class PressError(LookupError):
    """The kit asked for does not exist (an unknown book)."""


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class PressBook:
    view: BookView  # buy links carry src=press
    facts: tuple[Fact, ...]
    link: str  # the tracked store chooser (absolute): the QR code's and the kit's link
    cover_extension: str  # "jpg" or "png": the high-resolution cover's file type

    @property
    def book(self) -> Book:
        return self.view.book

    @property
    def slug(self) -> str:
        return self.view.book.slug

    @property
    def cover_name(self) -> str:
        return f"cover-{self.slug}.{self.cover_extension}"


@dataclass(frozen=True)
class PressKit:
    catalog: Catalog
    at: datetime
    urls: Urls
    books: tuple[PressBook, ...]
    authors: tuple[Author, ...]
    book: str | None  # the one book of a book's kit; None: the author's whole kit

    @property
    def title(self) -> str:
        if self.book is not None:
            return f"Press kit: {self.books[0].book.full_title}"
        return f"Press kit: {self.catalog.site.title}"

    @property
    def name(self) -> str:
        """The kit's folder and file stem: ``genesis-press-kit`` or ``press-kit``."""
        return f"{self.book}-press-kit" if self.book else "press-kit"

    @property
    def page_url(self) -> str:
        return self.urls.press(self.book, absolute=True)

    @property
    def contacts(self) -> tuple[tuple[Author, str | None, str | None], ...]:
        """(author, e-mail, page) for each author who named a press contact."""
        return tuple(
            (a, a.press_email, a.press_url) for a in self.authors if a.press_email or a.press_url
        )


def cover_extension(book: Book) -> str:
    """The author's own PNG is sent as it is (``png``); every other cover is a JPEG."""
    if book.cover is not None and book.cover.suffix.lower() == ".png":
        return "png"
    return "jpg"


def photo_name(author: Author) -> str | None:
    """``photo-<author>.jpg`` (or ``.png``) in the ZIP; None without a photo."""
    if author.photo is None:
        return None
    suffix = author.photo.suffix.lower().lstrip(".")
    return f"photo-{author.slug}.{'jpg' if suffix == 'jpeg' else suffix}"


def book_facts(catalog: Catalog, view: BookView) -> tuple[Fact, ...]:
    """The facts of one book, each as the page, the sheet and the ZIP print it."""
    book, locale = view.book, catalog.site.locale
    facts = [Fact("Title", book.full_title), Fact("Credits", view.credits.line)]
    n = cs.neighbours(catalog, book)
    if n is not None:
        facts.append(Fact("Series", f"Book {n.number} of {n.series.name}"))
    if book.publisher:
        facts.append(Fact("Publisher", book.publisher))
    if book.published:
        facts.append(Fact("Published", format_date(book.published, "long", locale=locale)))
    elif book.year:
        facts.append(Fact("Published", str(book.year)))
    for fmt in view.formats:
        facts.append(Fact(fmt.label, edition_line(fmt, locale)))
    return tuple(facts)


def edition_line(fmt, locale: str) -> str:
    """``ISBN 978…; 320 pages; published 1 October 1998; from ebookit, Amazon``."""
    edition = fmt.edition
    parts = []
    if edition.isbn:
        parts.append(f"ISBN {edition.isbn}")
    if edition.pages:
        parts.append(f"{edition.pages} pages")
    if edition.duration_minutes:
        parts.append(format_duration(edition.duration_minutes, locale))
    if edition.narrator:
        parts.append(f"read by {edition.narrator}")
    if edition.published:
        parts.append(f"published {format_date(edition.published, 'long', locale=locale)}")
    stores = list(dict.fromkeys(o.vendor.name for o in fmt.offers))
    if stores:
        parts.append("from " + ", ".join(stores))
    return "; ".join(parts)


def build_press_kit(
    catalog: Catalog, at: datetime, urls: Urls, book: str | None = None
) -> PressKit:
    """The kit of one book (its slug), or of every book when ``book`` is None."""
    if book is not None:
        found = catalog.book(book)
        if found is None:
            known = ", ".join(b.slug for b in catalog.books)
            raise PressError(f"no book '{book}' in this catalog (books: {known})")
        books: tuple[Book, ...] = (found,)
        authors = cs.book_authors(catalog, found)
    else:
        books = tuple(v.book for v in ps.present_shelf(catalog, at, urls).views)
        authors = cs.authors(catalog)
    shown = []
    for b in books:
        view = present_book(catalog, b, at, urls, src=SRC)
        shown.append(
            PressBook(
                view=view,
                facts=book_facts(catalog, view),
                link=urls.chooser(b.slug, src=SRC, absolute=True),
                cover_extension=cover_extension(b),
            )
        )
    return PressKit(
        catalog=catalog, at=at, urls=urls, books=tuple(shown), authors=tuple(authors), book=book
    )
