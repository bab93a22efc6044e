"""What a reader or an author may ask of a card: layout, theme, quote, formats, a call to action.

Every option arrives as text (a query string, a CLI flag, a ``data-`` attribute) and is
validated here into a :class:`CardOptions`, or refused with a :class:`CardOptionError`
whose message says which option and why. Pure: no Flask import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from storefront.catalog import FORMATS, Book, Catalog
from storefront.urls import LAYOUTS, THEMES

DEFAULT_LAYOUT = "card"
DEFAULT_THEME = "light"
CTA_MAX = 120
_NUMBER = re.compile(r"[0-9]{1,4}")  # ASCII: isdigit() is true for "²", which int() refuses


class CardOptionError(ValueError):
    """A card option is not valid; the message says which and why (shown to the user)."""


@dataclass(frozen=True)
class CardOptions:
    """What an author can choose per card, besides layout and theme.

    ``quote`` is an index into ``book.quotes`` (``None``: no quote); ``formats``
    limits the formats shown (``None``: all); ``cta`` is a call to action.
    """

    quote: int | None = None
    formats: tuple[str, ...] | None = None
    cta: str | None = None


def card_layout(value: str | None) -> str:
    """Validate a layout name (empty: the default ``card``)."""
    return _choice("layout", value, LAYOUTS, DEFAULT_LAYOUT)


def card_theme(value: str | None) -> str:
    """Validate a theme name (empty: the default ``light``)."""
    return _choice("theme", value, THEMES, DEFAULT_THEME)


def _choice(what: str, value: str | None, allowed: tuple[str, ...], default: str) -> str:
    if not value:
        return default
    if value not in allowed:
        raise CardOptionError(f"{what} '{value}' is not one of: {', '.join(allowed)}")
    return value


def card_options(
    book: Book,
    *,
    quote: str | None = None,
    formats: str | Iterable[str] | None = None,
    cta: str | None = None,
) -> CardOptions:
    """Validate the per-card options as a reader or author typed them.

    ``quote``: ``1``..``N`` picks a quote of the book, ``none`` (or ``0``) hides it,
    empty picks the featured one. ``formats``: comma-separated formats the book sells,
    e.g. ``ebook,audiobook``. ``cta``: up to 120 characters of plain text.
    """
    return CardOptions(
        quote=_quote_index(book, quote),
        formats=_formats(book, formats),
        cta=_cta(cta),
    )


def parse_card(
    catalog: Catalog,
    book: Book,
    *,
    layout: str | None = None,
    theme: str | None = None,
    quote: str | None = None,
    formats: str | Iterable[str] | None = None,
    cta: str | None = None,
) -> tuple[str, str, CardOptions]:
    """Validate a whole card request: (layout, theme, options) or :class:`CardOptionError`."""
    layout, theme = card_layout(layout), card_theme(theme)
    if layout == "support" and not catalog.support:
        raise CardOptionError(
            "layout 'support' lists the ways to give, and this catalog has none: "
            "add [[support]] entries"
        )
    return layout, theme, card_options(book, quote=quote, formats=formats, cta=cta)


def _quote_index(book: Book, value: str | None) -> int | None:
    if value is None or value.strip() == "":
        featured = book.featured_quote
        return book.quotes.index(featured) if featured is not None else None
    value = value.strip().lower()
    if value in ("none", "0"):
        return None
    if not _NUMBER.fullmatch(value):
        raise CardOptionError(
            f"quote '{value}' is not a number from 1 to {len(book.quotes)} or 'none'"
        )
    number = int(value)
    if not 1 <= number <= len(book.quotes):
        if not book.quotes:
            raise CardOptionError(f"book '{book.slug}' has no quotes: use quote=none")
        raise CardOptionError(
            f"quote {number} does not exist: book '{book.slug}' has {len(book.quotes)} quote(s)"
        )
    return number - 1


def _formats(book: Book, value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = value.split(",") if isinstance(value, str) else list(value)
    wanted = {n.strip().lower() for n in names if n.strip()}
    if not wanted:
        return None
    for name in sorted(wanted):
        if name not in FORMATS:
            raise CardOptionError(f"format '{name}' is not one of: {', '.join(FORMATS)}")
        edition = book.edition(name)
        if edition is None or not edition.offers:
            sold = [e.format for e in book.editions if e.offers]
            raise CardOptionError(
                f"book '{book.slug}' has no {name} offers (it has: {', '.join(sold) or 'none'})"
            )
    # Canonical order, so equal choices share one cache entry.
    return tuple(f for f in FORMATS if f in wanted)


def _cta(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    if not text:
        return None
    if len(text) > CTA_MAX:
        raise CardOptionError(f"cta is {len(text)} characters long; the most is {CTA_MAX}")
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text):
        raise CardOptionError("cta contains control characters")
    return text
