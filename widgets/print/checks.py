"""What ``storefront check`` verifies for print before any run: fonts and covers.

Both are cheap (no WeasyPrint): every character of the catalog's printed text
must be drawable by a configured font (:func:`font_problems`), and every
generated cover must fit its lines at its smallest sizes (:func:`cover_problems`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache

from fontTools import unicodedata as font_unicodedata

from storefront.catalog import Book, Catalog, CatalogProblem, build_line_map

from ..cover import CoverFitError, render_typographic_cover
from ..typefaces import BUNDLED_SCRIPTS, fc_list, font_set

# A family name an author can copy into [site.fonts]: its plain-ASCII alias (fontconfig also
# lists localized names, such as "VL ゴシック" beside "VL Gothic").
FAMILY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$")

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
    """What to tell the author about characters no font can draw, with a font that can.

    For each script, an installed family that has every one of its characters
    (fontconfig: ``fc-list ':charset=…' family``) is named as the ``[site.fonts]``
    line to copy; when none is installed, the message says so.
    """
    by_script: dict[str, list[str]] = {}
    for ch in chars:
        by_script.setdefault(font_unicodedata.script(ch), []).append(ch)
    scripts = sorted(by_script)
    # Common (Zyyy) is symbols and emoji: any font that has them, e.g. Zyyy = "Noto Emoji".
    named = [f"{s} (symbols, emoji)" if s == "Zyyy" else s for s in scripts]
    fixes, none = [], []
    for script in scripts:
        family = family_that_draws("".join(by_script[script]))
        if family:
            fixes.append(f'{script} = "{family}"')
        else:
            none.append(script)
    advice = ""
    if fixes:
        advice += f"; installed fonts that can: add {', '.join(fixes)} under [site.fonts]"
    if none:
        advice += (
            f"; no installed font draws every {'/'.join(none)} character: install one "
            "(e.g. Debian's fonts-noto-core) or put a font file next to the catalog"
        )
    return (
        f"no configured font can draw {_describe(chars)}: name a font for "
        f"{', '.join(named)} under [site.fonts] (the bundled fonts cover "
        f"{', '.join(BUNDLED_SCRIPTS)}){advice}"
    )


@lru_cache(maxsize=64)
def family_that_draws(chars: str) -> str | None:
    """An installed font family that has every character of ``chars`` (fontconfig), or None.

    The family name is one ``[site.fonts]`` accepts (letters, digits, spaces, ``- _ .``),
    the first in alphabetical order so the advice is the same on every run.
    """
    if not chars:
        return None
    out = fc_list(":charset=" + " ".join(f"{ord(ch):x}" for ch in sorted(set(chars))), "family")
    if out is None:
        return None
    names = {
        name.strip()
        for line in out.splitlines()
        for name in line.split(",")
        if FAMILY_NAME.match(name.strip())
    }
    return min(names, default=None)


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
