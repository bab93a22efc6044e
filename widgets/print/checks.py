"""What ``storefront check`` verifies for print before any run: fonts and covers.

Both are cheap (no WeasyPrint): every character of the catalog's printed text
must be drawable by a configured font (:func:`widgets.typefaces.font_problems`),
and every generated cover must fit its lines at its smallest sizes.
"""

from __future__ import annotations

from storefront.catalog import Catalog, CatalogProblem

from ..cover import CoverFitError, render_typographic_cover
from ..typefaces import font_problems, font_set


def cover_problems(catalog: Catalog) -> list[CatalogProblem]:
    """One problem per book whose typographic cover cannot hold its lines."""
    fonts = font_set(catalog)
    problems = []
    for n, book in enumerate(catalog.books):
        if book.cover is not None:
            continue
        try:
            render_typographic_cover(book, fonts, strict=True)
        except CoverFitError as exc:
            path = f"books[{n}].{exc.field}"
            problems.append(CatalogProblem(catalog.path.name, None, path, exc.detail))
    return problems


def print_problems(catalog: Catalog) -> list[CatalogProblem]:
    """Every problem a print run would hit that can be found without rendering."""
    return font_problems(catalog) + cover_problems(catalog)
