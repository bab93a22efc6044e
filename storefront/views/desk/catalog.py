"""Editing the catalog: every table, new and removed items, campaigns, covers, samples.

Every change follows the same path: the file is read (its sha256 is the version
the form was opened on), the submitted values are written into the tomlkit
document, and :meth:`storefront.desk.history.CatalogFiles.save` refuses the save
when the file changed meanwhile, or when ``storefront check`` would fail; the
problems are shown next to their fields.
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, request, url_for

from ...desk import document
from ...desk.fields import TITLES, Field, array_kind, kind_of
from ...desk.history import ChangedOnDisk, Invalid, ReadOnlyCatalog, digest
from .. import storefront
from .base import bp, desk, page
from .campaigns import campaign_preview, duplicate_values
from .editing import (
    current,
    current_catalog,
    fields_for,
    label_for,
    save,
    save_and_go_back,
    try_catalog,
)

_INDEX = re.compile(r"\[(\d+)\]$")


# --------------------------------------------------------------------------- forms


def _summary(label: str, changed: list[str]) -> str:
    return f"{label}: changed {', '.join(changed)}" if changed else label


def save_or_explain(text: str, base: str, summary: str, path: str, fields, render):
    """Save ``text``; on a refusal re-render the form (``render(**extra)``) saying why."""
    files = desk().files
    try:
        entry = save(text, base, summary)
    except ChangedOnDisk as exc:
        files.keep(exc.current)
        return render(
            conflict=exc.diff or "(the version the form was opened on is not in the history)",
            base=digest(exc.current),
            status=409,
        )
    except Invalid as exc:
        errors, other = document.problems_by_field(exc.problems, path, fields)
        return render(errors=errors, problems=other, status=422)
    except ReadOnlyCatalog as exc:
        return render(problems=[str(exc)], status=409)
    flash(f"Saved (history #{entry.number}). The site shows it within seconds.", "success")
    return None


def _form(
    path: str, kind: str, fields: tuple[Field, ...], base: str, action: str, heading: str, new=False
):
    """``render(values, **extra)``: the form page of one item and its status.

    ``extra`` may set ``errors``, ``problems``, ``conflict``, ``preview``, ``status``,
    ``heading`` and ``base`` (the version the form was opened on).
    """

    def render(values: dict, *, heading=heading, errors=None, problems=None, status=200, **extra):
        context = dict(path=path, kind=kind, fields=fields, base=base, action=action, new=new)
        context.update(conflict=None, preview=None)
        context.update(extra)
        html = page(
            "desk/form.html",
            title=heading or TITLES[kind],
            values=values,
            errors=errors or {},
            problems=problems or [],
            **context,
        )
        return html, status

    return render


def _current_for(kind: str | None, missing: str):
    """The catalog's text, digest and document for a form of ``kind``; 404 ``missing`` if none."""
    if kind is None:
        abort(404, missing)
    return current()


def _resolve_or_404(doc, path: str):
    """The table at ``path`` of the catalog document, or 404 naming it."""
    try:
        return document.resolve(doc, path)
    except document.PathError:
        abort(404, f"No catalog table '{path}'.")


def _refused_values(render, values: dict, exc: document.ValueProblem):
    """The form again, each value the catalog cannot take marked at its field (422)."""
    return render(values, errors={k: [v] for k, v in exc.errors.items()}, status=422)


def _last_campaign(candidate) -> int:
    return len(candidate.campaigns) - 1


def _preview(new_text: str, kind: str, path: str, fields, values, opened: str, render, index_of):
    """The form with the edited catalog's preview (a campaign's), or its problems (422).

    ``index_of(catalog)`` is the campaign's place in the edited catalog.
    """
    candidate, problems = try_catalog(new_text)
    if candidate is None:
        errors, other = document.problems_by_field(problems, path, fields)
        return render(values, errors=errors, problems=other, base=opened, status=422)
    preview = campaign_preview(candidate, index_of(candidate)) if kind == "campaign" else None
    return render(values, preview=preview, base=opened)


def _save(new_text: str, opened: str, summary: str, path: str, fields, values, render):
    """Save the edited catalog and go to the item's form, or show the form saying why not."""
    refused = save_or_explain(
        new_text, opened, summary, path, fields, lambda **extra: render(values, **extra)
    )
    return refused or redirect(url_for("desk.edit", path=path))


@bp.get("/catalog")
def overview():
    base, doc, _, problems = current_catalog()
    return page(
        "desk/catalog.html",
        title="Catalog",
        doc=doc,
        base=base,
        problems=problems,
        read_only=desk().files.read_only,
        catalog_path=str(desk().files.path),
    )


@bp.route("/edit/<path>", methods=["GET", "POST"])
def edit(path: str):
    kind = kind_of(path)
    text, base, doc = _current_for(kind, f"No catalog table '{path}'.")
    table = _resolve_or_404(doc, path)
    catalog, _ = try_catalog(text)
    fields = fields_for(kind, catalog or storefront().catalog)
    index = int(_INDEX.search(path).group(1)) if kind == "campaign" else None
    heading = label_for(path, catalog, doc)

    form = _form(path, kind, fields, base, url_for("desk.edit", path=path), heading)

    def render(values=None, **extra):
        if extra.get("preview") is None and kind == "campaign" and catalog is not None:
            extra["preview"] = campaign_preview(catalog, index)
        return form(values if values is not None else document.form_values(table, fields), **extra)

    if request.method == "GET":
        return render()
    values = document.submitted(fields, request.form)
    opened = request.form.get("base", "")
    try:
        changed = document.apply(table, fields, values)
    except document.ValueProblem as exc:
        return _refused_values(render, values, exc)
    new_text = document.dumps(doc)
    if request.form.get("do") == "preview":
        return _preview(new_text, kind, path, fields, values, opened, render, lambda _: index)
    if not changed:
        if opened != base:
            return render(values, base=base)
        flash("Nothing changed.", "info")
        return redirect(url_for("desk.edit", path=path))
    return _save(new_text, opened, _summary(heading, changed), path, fields, values, render)


@bp.route("/new/<array>", methods=["GET", "POST"])
def new(array: str):
    kind = array_kind(array)
    text, base, doc = _current_for(kind, f"No catalog list '{array}'.")
    parent = array.rpartition(".")[0]
    if parent:
        _resolve_or_404(doc, parent)
    catalog, _ = try_catalog(text)
    fields = fields_for(kind, catalog or storefront().catalog)
    new_path = f"{array}[{len(document.items(doc, array))}]"
    heading = f"New {TITLES[kind].lower()}"

    render = _form(
        new_path, kind, fields, base, url_for("desk.new", array=array), heading, new=True
    )

    if request.method == "GET":
        source = request.args.get("from")
        values = {f.key: document.display({}, f) for f in fields}
        if source:
            if kind_of(source) != kind:
                abort(404, f"Cannot copy '{source}' into {array}.")
            values = document.form_values(_resolve_or_404(doc, source), fields)
            values = duplicate_values(kind, values)
            return render(values, heading=f"Copy of {label_for(source, catalog, doc)}")
        return render(values)
    values = document.submitted(fields, request.form)
    opened = request.form.get("base", "")
    try:
        path = document.add_item(doc, array, fields, values)
    except document.ValueProblem as exc:
        return _refused_values(render, values, exc)
    new_text = document.dumps(doc)
    if request.form.get("do") == "preview":
        return _preview(new_text, kind, path, fields, values, opened, render, _last_campaign)
    summary = f"added {TITLES[kind].lower()} {values.get('slug') or values.get('name') or ''}"
    return _save(new_text, opened, summary.strip(), path, fields, values, render)


@bp.post("/remove/<path>")
def remove(path: str):
    if kind_of(path) in (None, "site"):
        abort(404, f"Nothing to remove at '{path}'.")
    text, base, doc = current()
    label = label_for(path, None, doc)
    try:
        document.remove_item(doc, path)
    except document.PathError:
        abort(404, f"Nothing to remove at '{path}'.")
    return save_and_go_back(
        doc,
        f"removed {label}",
        "desk.overview",
        what="removed",
        refused="Not removed",
        done=lambda number: f"Removed {label} (history #{number}: restore brings it back).",
    )
