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
from ...desk.history import ChangedOnDisk, Invalid, ReadOnlyCatalog, SaveError, digest
from .. import storefront
from .base import bp, desk, page
from .campaigns import campaign_preview, duplicate_values
from .editing import current, fields_for, label_for, save, try_catalog

_INDEX = re.compile(r"\[(\d+)\]$")


# --------------------------------------------------------------------------- forms


def form_page(
    *,
    path: str,
    kind: str,
    fields: tuple[Field, ...],
    values: dict,
    base: str,
    action: str,
    errors: dict | None = None,
    problems: list | None = None,
    conflict: str | None = None,
    preview: dict | None = None,
    status: int = 200,
    new: bool = False,
    heading: str | None = None,
):
    html = page(
        "desk/form.html",
        title=heading or TITLES[kind],
        path=path,
        kind=kind,
        fields=fields,
        values=values,
        base=base,
        action=action,
        errors=errors or {},
        problems=problems or [],
        conflict=conflict,
        preview=preview,
        new=new,
    )
    return html, status


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


@bp.get("/catalog")
def overview():
    text, base, doc = current()
    catalog, problems = try_catalog(text)
    return page(
        "desk/catalog.html",
        title="Catalog",
        doc=doc,
        base=base,
        problems=[str(p) for p in problems],
        read_only=desk().files.read_only,
        catalog_path=str(desk().files.path),
    )


@bp.route("/edit/<path>", methods=["GET", "POST"])
def edit(path: str):
    kind = kind_of(path)
    if kind is None:
        abort(404, f"No catalog table '{path}'.")
    text, base, doc = current()
    try:
        table = document.resolve(doc, path)
    except document.PathError:
        abort(404, f"No catalog table '{path}'.")
    catalog, _ = try_catalog(text)
    fields = fields_for(kind, catalog or storefront().catalog)
    index = int(_INDEX.search(path).group(1)) if kind == "campaign" else None
    heading = label_for(path, catalog, doc)

    def render(values=None, **extra):
        preview = extra.pop("preview", None)
        if preview is None and kind == "campaign" and catalog is not None:
            preview = campaign_preview(catalog, index)
        args = dict(
            path=path,
            kind=kind,
            fields=fields,
            values=values if values is not None else document.form_values(table, fields),
            base=base,
            action=url_for("desk.edit", path=path),
            preview=preview,
            heading=heading,
        )
        args.update(extra)
        return form_page(**args)

    if request.method == "GET":
        return render()
    values = document.submitted(fields, request.form)
    opened = request.form.get("base", "")
    try:
        changed = document.apply(table, fields, values)
    except document.ValueProblem as exc:
        return render(values, errors={k: [v] for k, v in exc.errors.items()}, status=422)
    new_text = document.dumps(doc)
    if request.form.get("do") == "preview":
        candidate, problems = try_catalog(new_text)
        if candidate is None:
            errors, other = document.problems_by_field(problems, path, fields)
            return render(values, errors=errors, problems=other, base=opened, status=422)
        preview = campaign_preview(candidate, index) if kind == "campaign" else None
        return render(values, preview=preview, base=opened)
    if not changed:
        if opened != base:
            return render(values, base=base)
        flash("Nothing changed.", "info")
        return redirect(url_for("desk.edit", path=path))
    refused = save_or_explain(
        new_text,
        opened,
        _summary(heading, changed),
        path,
        fields,
        lambda **extra: render(values, **extra),
    )
    return refused or redirect(url_for("desk.edit", path=path))


@bp.route("/new/<array>", methods=["GET", "POST"])
def new(array: str):
    kind = array_kind(array)
    if kind is None:
        abort(404, f"No catalog list '{array}'.")
    text, base, doc = current()
    parent = array.rpartition(".")[0]
    if parent:
        try:
            document.resolve(doc, parent)
        except document.PathError:
            abort(404, f"No catalog table '{parent}'.")
    catalog, _ = try_catalog(text)
    fields = fields_for(kind, catalog or storefront().catalog)
    new_path = f"{array}[{len(document.items(doc, array))}]"
    heading = f"New {TITLES[kind].lower()}"

    def render(values, **extra):
        args = dict(
            path=new_path,
            kind=kind,
            fields=fields,
            values=values,
            base=base,
            action=url_for("desk.new", array=array),
            new=True,
            heading=heading,
        )
        args.update(extra)
        return form_page(**args)

    if request.method == "GET":
        source = request.args.get("from")
        values = {f.key: document.display({}, f) for f in fields}
        if source:
            if kind_of(source) != kind:
                abort(404, f"Cannot copy '{source}' into {array}.")
            try:
                values = document.form_values(document.resolve(doc, source), fields)
            except document.PathError:
                abort(404, f"No catalog table '{source}'.")
            values = duplicate_values(kind, values)
            heading = f"Copy of {label_for(source, catalog, doc)}"
        return render(values)
    values = document.submitted(fields, request.form)
    opened = request.form.get("base", "")
    try:
        path = document.add_item(doc, array, fields, values)
    except document.ValueProblem as exc:
        return render(values, errors={k: [v] for k, v in exc.errors.items()}, status=422)
    new_text = document.dumps(doc)
    if request.form.get("do") == "preview":
        candidate, problems = try_catalog(new_text)
        if candidate is None:
            errors, other = document.problems_by_field(problems, path, fields)
            return render(values, errors=errors, problems=other, base=opened, status=422)
        index = len(candidate.campaigns) - 1
        preview = campaign_preview(candidate, index) if kind == "campaign" else None
        return render(values, preview=preview, base=opened)
    refused = save_or_explain(
        new_text,
        opened,
        f"added {TITLES[kind].lower()} {values.get('slug') or values.get('name') or ''}".strip(),
        path,
        fields,
        lambda **extra: render(values, **extra),
    )
    return refused or redirect(url_for("desk.edit", path=path))


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
    try:
        entry = save(document.dumps(doc), request.form.get("base", ""), f"removed {label}")
    except ChangedOnDisk:
        flash("The file changed on disk since the page was opened: nothing was removed.", "error")
        return redirect(url_for("desk.overview"))
    except Invalid as exc:
        for problem in exc.problems[:5]:
            flash(f"Not removed: {problem}", "error")
        return redirect(url_for("desk.overview"))
    except SaveError as exc:
        flash(f"Not removed: {exc}", "error")
        return redirect(url_for("desk.overview"))
    flash(f"Removed {label} (history #{entry.number}: restore brings it back).", "success")
    return redirect(url_for("desk.overview"))
