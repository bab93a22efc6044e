"""What every editing view shares: the catalog file as text, document and model."""

from __future__ import annotations

from dataclasses import replace

from widgets.print.checks import print_problems

from ...catalog import Catalog, CatalogError, parse_catalog
from ...desk import document
from ...desk.fields import KINDS, TITLES, Field, kind_of
from ...desk.history import Entry, Invalid, digest
from .base import desk


def fields_for(kind: str, catalog: Catalog | None) -> tuple[Field, ...]:
    """The fields of ``kind``, with choices taken from the catalog where they depend on it."""
    fields = KINDS[kind]
    if catalog is None:
        return fields
    dynamic = {
        ("offer", "vendor"): tuple(catalog.vendors),
        ("campaign", "books"): tuple(b.slug for b in catalog.books),
        ("campaign", "vendors"): tuple(catalog.vendors),
    }
    return tuple(
        replace(f, choices=dynamic[(kind, f.key)]) if (kind, f.key) in dynamic else f
        for f in fields
    )


def current() -> tuple[str, str, document.TOMLDocument]:
    """The catalog file's text, its version (kept for conflict diffs) and its document."""
    files = desk().files
    text = files.read()
    files.keep(text)
    return text, digest(text), document.parse(text)


def try_catalog(text: str) -> tuple[Catalog | None, list]:
    try:
        return parse_catalog(text, desk().files.path), []
    except CatalogError as exc:
        return None, exc.problems


def save(text: str, base: str, summary: str) -> Entry:
    """Save ``text`` through the whole of ``storefront check``, else raise :class:`Invalid`.

    The catalog's own validator runs in :meth:`CatalogFiles.save`; the checks ``check``
    adds for print (fonts that cannot draw the text, covers that cannot fit it) run here.
    """
    catalog, _ = try_catalog(text)
    if catalog is not None and (problems := print_problems(catalog)):
        raise Invalid(CatalogError(problems))
    return desk().files.save(text, base, summary)


def label_for(path: str, catalog: Catalog | None, doc) -> str:
    """A human name for the table at ``path`` (e.g. the campaign's name)."""
    kind = kind_of(path)
    try:
        table = document.resolve(doc, path)
    except document.PathError:
        return path
    for key in ("name", "title", "slug", "format", "source"):
        value = table.get(key) if hasattr(table, "get") else None
        if value:
            return f"{TITLES.get(kind, kind)}: {value}"
    return TITLES.get(kind or "", path)
