"""``lang`` and ``dir`` for text set inside a page of another language or direction.

A page says its language and direction once (``<html lang dir>``); any element
whose text is in another language, or runs the other way, says so itself, so
reading systems pick the right fonts, hyphenation, voice and bidi layout. The
rule, for one element's text:

* its **language** is declared when the catalog knows it (the book's, the site's,
  a quote's ``language``); ``lang``/``xml:lang`` are written where it differs from
  the surrounding element's;
* its **direction** is that of its language, unless the text has strong
  characters of the other direction only (an Arabic title in a book left at the
  site's ``en``); for text of unknown language, the first strong character decides
  (what ``dir="auto"`` does, written out for reading systems that lack it).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

from babel import Locale, UnknownLocaleError
from markupsafe import Markup, escape

_RTL = frozenset({"R", "AL"})


@cache
def language_direction(language: str) -> str:
    """``rtl`` for right-to-left languages (Arabic, Hebrew, ...), else ``ltr``."""
    try:
        return Locale.parse(language.replace("-", "_")).text_direction
    except (ValueError, UnknownLocaleError):
        return "ltr"


def _strong(text: str):
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            yield "ltr"
        elif kind in _RTL:
            yield "rtl"


def text_direction(text: str, language: str | None = None) -> str | None:
    """The direction ``text`` runs in; ``None`` when nothing in it says (digits, emoji)."""
    if language is None:
        return next(_strong(text), None)
    natural = language_direction(language)
    found = set(_strong(text))
    if found and natural not in found:
        return found.pop()
    return natural


@dataclass(frozen=True)
class Span:
    """The language (``None``: unknown) and direction of an element's text."""

    lang: str | None
    dir: str

    @classmethod
    def of(cls, language: str) -> Span:
        return cls(language, language_direction(language))

    def attrs(self, text: str = "", lang: str | None = None, within: Span | None = None) -> Markup:
        """The attributes (with a leading space) an element needs for ``text`` in ``lang``.

        ``self`` is the surrounding element's span (or ``within`` when given);
        the result is empty when the text reads as its surroundings do.
        """
        outer = within or self
        parts = []
        if lang is not None and lang.lower() != (outer.lang or "").lower():
            parts += [f'lang="{escape(lang)}"', f'xml:lang="{escape(lang)}"']
        direction = text_direction(text, lang) if (text or lang) else None
        if direction is not None and direction != outer.dir:
            parts.append(f'dir="{direction}"')
        # Safe: the language tags are escaped and the direction is one of two words.
        return Markup("".join(" " + p for p in parts))

    def inner(self, text: str = "", lang: str | None = None) -> Span:
        """The span of an element inside this one holding ``text`` in ``lang``."""
        return Span(lang or self.lang, text_direction(text, lang) or self.dir)
