"""What every editing view shares: the catalog file as text, document and model."""

from __future__ import annotations

from dataclasses import replace

from flask import flash, redirect, request, url_for

from widgets.print.checks import print_problems

from ...catalog import Catalog, CatalogError, parse_catalog
from ...desk import document
from ...desk.fields import KINDS, TITLES, Field, kind_of
from ...desk.history import ChangedOnDisk, Entry, Invalid, SaveError, digest
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


def current_catalog() -> tuple[str, document.TOMLDocument, Catalog | None, list[str]]:
    """The catalog file as the desk shows it: its digest, its document, the catalog it
    makes (None if it makes none) and its problems as text."""
    text, base, doc = current()
    catalog, problems = try_catalog(text)
    return base, doc, catalog, [str(p) for p in problems]


def save(text: str, base: str, summary: str) -> Entry:
    """Save ``text`` through the whole of ``storefront check``, else raise :class:`Invalid`.

    The catalog's own validator runs in :meth:`CatalogFiles.save`; the checks ``check``
    adds for print (fonts that cannot draw the text, covers that cannot fit it) run here.
    """
    catalog, _ = try_catalog(text)
    if catalog is not None and (problems := print_problems(catalog)):
        raise Invalid(CatalogError(problems))
    return desk().files.save(text, base, summary)


def save_and_go_back(doc, summary: str, back: str, *, what: str, refused: str, done):
    """Save a one-button change (end a campaign, remove an item), flash how it went and
    redirect to the page ``back`` (an endpoint). ``what`` ends "nothing was ...",
    ``refused`` starts each refusal, ``done(number)`` is the message of the history entry."""
    try:
        entry = save(document.dumps(doc), request.form.get("base", ""), summary)
    except ChangedOnDisk:
        flash(f"The file changed on disk since the page was opened: nothing was {what}.", "error")
    except Invalid as exc:
        for problem in exc.problems[:5]:
            flash(f"{refused}: {problem}", "error")
    except SaveError as exc:
        flash(f"{refused}: {exc}", "error")
    else:
        flash(done(entry.number), "success")
    return redirect(url_for(back))


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
