"""Who wrote, translated, introduced and narrated a book: the one credits rule.

Every output that names a book's people (the page, the cards, the cover, the
EPUB sample, every print piece) takes its credits from :func:`book_credits`
and only lays them out: one line (``by A; translated by B, C, and D``), one
line per role, or the contributors without the authors. The rule decides the
parts (which roles, in which order, whose names) and joins each role's names
with the locale's own list pattern (Babel's ``format_list``). Pure: no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.core import UnknownLocaleError
from babel.lists import format_list

from .catalog import Book

ROLE_PHRASES = {
    "author": "by",
    "foreword": "foreword by",
    "introduction": "introduction by",
    "afterword": "afterword by",
    "editor": "edited by",
    "illustrator": "illustrated by",
    "translator": "translated by",
    "narrator": "read by",
    "contributor": "with",
}


@dataclass(frozen=True)
class Credit:
    """One role's part of the credits: ``translated by A, B, and C``."""

    role: str  # "author" for the book's authors, else the contributor role
    names: tuple[str, ...]
    phrase: str  # "translated by"
    joined: str  # the names in the locale's list pattern: "A, B, and C"

    @property
    def text(self) -> str:
        """``translated by A, B, and C`` (lower case: it continues a line)."""
        return f"{self.phrase} {self.joined}"

    @property
    def line(self) -> str:
        """``Translated by A, B, and C`` (capitalised: it stands on a line of its own)."""
        return self.text[:1].upper() + self.text[1:]


@dataclass(frozen=True)
class Credits:
    """A book's credits in order: the authors first, then each role in catalog order."""

    parts: tuple[Credit, ...]

    @property
    def authors(self) -> Credit:
        return self.parts[0]

    @property
    def contributors(self) -> tuple[Credit, ...]:
        return self.parts[1:]

    @property
    def line(self) -> str:
        """``by A; foreword by B; translated by C, D, and E; read by F``."""
        return "; ".join(p.text for p in self.parts)

    @property
    def lines(self) -> tuple[str, ...]:
        """``by A``, ``Foreword by B``, ...: one line per role (the authors' stays lower case)."""
        return (self.authors.text, *(p.line for p in self.contributors))

    def __str__(self) -> str:
        return self.line


def book_credits(book: Book, locale: str = "en", *, audiobook: bool = False) -> Credits:
    """Decide the credit parts of ``book``; ``audiobook`` adds the edition's narrator.

    Authors come first, then the contributors grouped by role in the order the
    catalog first names each role. The audiobook edition's ``narrator`` joins the
    ``narrator`` role (once, after any listed there) only where the audiobook is
    shown, since the ebook's readers never hear it.
    """
    roles: dict[str, list[str]] = {"author": list(book.authors)}
    for contributor in book.contributors:
        names = roles.setdefault(contributor.role, [])
        if contributor.name not in names:
            names.append(contributor.name)
    edition = book.edition("audiobook") if audiobook else None
    if edition is not None and edition.narrator:
        names = roles.setdefault("narrator", [])
        if edition.narrator not in names:
            names.append(edition.narrator)
    return Credits(
        tuple(
            Credit(role, tuple(names), ROLE_PHRASES.get(role, "with"), join_names(names, locale))
            for role, names in roles.items()
            if names
        )
    )


def join_names(names, locale: str = "en") -> str:
    """``A, B, and C`` in ``locale``'s list pattern (``A, B und C`` in German)."""
    names = list(names)
    try:
        return format_list(names, locale=locale)
    except (UnknownLocaleError, ValueError):
        return format_list(names, locale="en")
