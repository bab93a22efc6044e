"""What ``storefront check`` verifies for print before any run: fonts and covers.

Both are cheap (no WeasyPrint): every character of the catalog's printed text
must be drawable by a configured font (:func:`font_problems`), and every
generated cover must fit its lines at its smallest sizes (:func:`cover_problems`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from fontTools import unicodedata as font_unicodedata

from storefront.catalog import Book, Catalog, CatalogProblem, build_line_map

from ..cover import CoverFitError, render_typographic_cover
from ..typefaces import BUNDLED_SCRIPTS, font_set

# --------------------------------------------------------------------------- the printed text


def book_text(book: Book, index: int) -> Iterator[tuple[str, str]]:
    """(key path, text) of every field of ``book`` a print piece or cover can show."""
    at = f"books[{index}]"
    yield f"{at}.title", book.title
    if book.subtitle:
        yield f"{at}.subtitle", book.subtitle
    for n, author in enumerate(book.authors):
        yield f"{at}.authors[{n}]", author
    for n, person in enumerate(book.contributors):
        yield f"{at}.contributors[{n}].name", person.name
    yield f"{at}.description", book.description
    yield f"{at}.pitch", book.pitch
    if book.series:
        yield f"{at}.series.name", book.series.name
    for n, quote in enumerate(book.quotes):
        yield f"{at}.quotes[{n}].text", quote.text
        yield f"{at}.quotes[{n}].source", quote.source
    for e, edition in enumerate(book.editions):
        for o, offer in enumerate(edition.offers):
            for name in ("reason", "note"):
                value = getattr(offer, name)
                if value:
                    yield f"{at}.editions[{e}].offers[{o}].{name}", value


def catalog_text(
    catalog: Catalog, books: Iterable[Book] | None = None
) -> Iterator[tuple[str, str]]:
    """(key path, text) of everything printed from ``catalog`` (only ``books`` if given).

    ``books`` may be edited copies of the catalog's books: their own text is read,
    under the key path of the catalog's book with the same slug.
    """
    yield "site.title", catalog.site.title
    yield "site.affiliate_disclosure", catalog.site.affiliate_disclosure
    for n, vendor in enumerate(catalog.vendors.values()):
        yield f"vendors[{n}].name", vendor.name
    index = {book.slug: n for n, book in enumerate(catalog.books)}
    for book in catalog.books if books is None else books:
        yield from book_text(book, index.get(book.slug, 0))
    for n, campaign in enumerate(catalog.campaigns):
        yield f"campaigns[{n}].name", campaign.name
        yield f"campaigns[{n}].headline", campaign.headline
        if campaign.message:
            yield f"campaigns[{n}].message", campaign.message
    for n, method in enumerate(catalog.support):
        yield f"support[{n}].name", method.name


def _describe(chars: str) -> str:
    shown = ", ".join(f"'{ch}' (U+{ord(ch):04X} {font_unicodedata.script(ch)})" for ch in chars[:8])
    return shown + (f" and {len(chars) - 8} more" if len(chars) > 8 else "")


def missing_glyphs(catalog: Catalog, books: Iterable[Book] | None = None) -> list[tuple[str, str]]:
    """(key path, characters) of every field with characters no configured font can draw."""
    fonts = font_set(catalog)
    found = []
    for path, text in catalog_text(catalog, books):
        chars = fonts.missing(text)
        if chars:
            found.append((path, chars))
    return found


def uncovered_message(chars: str) -> str:
    """What to tell the author about characters no font can draw."""
    scripts = sorted({font_unicodedata.script(ch) for ch in chars})
    # Common (Zyyy) is symbols and emoji: any font that has them, e.g. Zyyy = "Noto Emoji".
    scripts = [f"{s} (symbols, emoji)" if s == "Zyyy" else s for s in scripts]
    return (
        f"no configured font can draw {_describe(chars)}: name a font for "
        f"{', '.join(scripts)} under [site.fonts] (the bundled fonts cover "
        f"{', '.join(BUNDLED_SCRIPTS)})"
    )


def font_problems(catalog: Catalog) -> list[CatalogProblem]:
    """Every font problem of ``catalog``, as ``storefront check`` prints them (with lines)."""
    fonts = font_set(catalog)
    found = list(fonts.problems)
    found += [(path, uncovered_message(chars)) for path, chars in missing_glyphs(catalog)]
    if not found:
        return []
    try:
        lines = build_line_map(catalog.path.read_text(encoding="utf-8"))
    except OSError:
        lines = {}
    return [CatalogProblem(catalog.path.name, _line(lines, p), p, m) for p, m in found]


def _line(lines: Mapping[str, int], path: str) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", path) if re.search(r"[.\[]", path) else ""
    return None


def cover_problems(catalog: Catalog) -> list[CatalogProblem]:
    """One problem per book whose typographic cover cannot hold its lines."""
    fonts = font_set(catalog)
    problems = []
    for n, book in enumerate(catalog.books):
        if book.cover is not None:
            continue
        try:
            render_typographic_cover(book, fonts, strict=True, locale=catalog.site.locale)
        except CoverFitError as exc:
            path = f"books[{n}].{exc.field}"
            problems.append(CatalogProblem(catalog.path.name, None, path, exc.detail))
    return problems


def print_problems(catalog: Catalog) -> list[CatalogProblem]:
    """Every problem a print run would hit that can be found without rendering."""
    return font_problems(catalog) + cover_problems(catalog)
