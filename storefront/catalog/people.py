"""Authors and series: ``[[authors]]``, what each book's ``by`` names, and series slugs.

Kept apart from ``reader`` so the reader stays about tables; these checks need
every book and every author at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .model import Author, Book, Site
from .spec import Validator


def slugify(name: str) -> str:
    """``"Leaving Earth: Space Stations"`` -> ``"leaving-earth-space-stations"`` (at most 64)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-")
    return slug or "series"


def read_authors(
    v: Validator, data: Any, read_author: Callable[[Any, str], Author | None]
) -> list[Author]:
    """``[[authors]]`` read item by item with ``read_author``; slugs must be unique."""
    authors = v.array(data, "authors", read_author)
    v.unique(authors, "authors", lambda a: a.slug, "author slug")
    return authors


# The press kit's short bio is "about 50 words"; past this it is a long bio in the wrong key.
SHORT_BIO_WORDS = 50
SHORT_BIO_LIMIT = 80


def bio_warnings(v: Validator, authors: list[Author]) -> list:
    """A short ``bio`` far past about 50 words (not an error: `storefront check` says it)."""
    found = Validator(v.file, v.lines)
    for i, author in enumerate(authors):
        words = len(author.bio.split())
        if words > SHORT_BIO_LIMIT:
            found.error(
                f"authors[{i}].bio",
                f"the short bio of '{author.slug}' has {words} words: journalists expect about "
                f"{SHORT_BIO_WORDS}; move the rest to long_bio",
            )
    return found.problems


def link_books(
    v: Validator, books: list[Book], authors: list[Author], raw_books: Any
) -> list[Book]:
    """Check each book's ``by`` against ``[[authors]]``; fill it in by name when absent."""
    by_slug = {a.slug: a for a in authors}
    by_name = {a.name.casefold(): a.slug for a in authors}
    index = {id(b): i for i, b in enumerate(books)}
    positions = _positions(raw_books)
    out = []
    for book in books:
        path = f"books[{positions.get(book.slug, index[id(book)])}]"
        for i, ref in enumerate(book.by):
            if ref not in by_slug:
                known = ", ".join(sorted(by_slug)) or "none: add an [[authors]] table"
                v.error(f"{path}.by[{i}]", f"unknown author '{ref}' (known: {known})")
        if not book.by and authors:
            found = tuple(by_name[n.casefold()] for n in book.authors if n.casefold() in by_name)
            book = replace(book, by=found)
        out.append(book)
    return out


def _positions(raw_books: Any) -> dict[str, int]:
    if not isinstance(raw_books, list):
        return {}
    return {b.get("slug"): i for i, b in enumerate(raw_books) if isinstance(b, dict)}


def site_author(site: Site) -> Author:
    """The one author of a store without ``[[authors]]``: ``[site] author``."""
    return Author(slug=slugify(site.author), name=site.author, bio=site.description)
