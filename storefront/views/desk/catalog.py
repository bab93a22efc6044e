"""Editing the catalog: every table, new and removed items, campaigns, covers, samples.

Every change follows the same path: the file is read (its sha256 is the version
the form was opened on), the submitted values are written into the tomlkit
document, and :meth:`storefront.desk.history.CatalogFiles.save` refuses the save
when the file changed meanwhile, or when ``storefront check`` would fail; the
problems are shown next to their fields.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime

from flask import abort, flash, redirect, request, url_for

from ...catalog import Catalog, CatalogError, parse_catalog
from ...desk import document
from ...desk.fields import KINDS, TITLES, Field, array_kind, kind_of
from ...desk.history import ChangedOnDisk, Invalid, ReadOnlyCatalog, SaveError, digest
from ...pricing import format_instant, format_money, price_offer
from .. import storefront
from . import bp, desk, page

_INDEX = re.compile(r"\[(\d+)\]$")


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


# --------------------------------------------------------------------------- campaigns


def campaign_preview(catalog: Catalog, index: int) -> dict | None:
    """Which offers campaign ``index`` selects and what each costs on its first day."""
    if index >= len(catalog.campaigns):
        return None
    campaign = catalog.campaigns[index]
    site = catalog.site
    rows, warnings = [], []
    for book in catalog.books:
        if campaign.books and book.slug not in campaign.books:
            continue
        for offer in book.offers:
            if not campaign.applies_to(offer):
                continue
            price = price_offer(catalog, offer, campaign.starts)
            rows.append(
                {
                    "book": book.title,
                    "format": offer.format,
                    "vendor": catalog.vendor(offer.vendor).name,
                    "offer": offer.slug,
                    "list": format_money(offer.price, offer.currency, site.locale)
                    if offer.price is not None
                    else "set by the store",
                    "then": format_money(price.amount, offer.currency, site.locale)
                    if price.amount is not None
                    else "set by the store",
                    "by_this": price.campaign is not None and price.campaign.slug == campaign.slug,
                    "other": price.campaign.name
                    if price.campaign is not None and price.campaign.slug != campaign.slug
                    else None,
                }
            )
    if campaign.kind == "sale" and not campaign.books:
        names = ", ".join(b.title for b in catalog.books)
        warnings.append(
            f"This sale names no books, so it selects every book ({names}), "
            "including any book you add later. Tick the books it is for."
        )
    if campaign.kind == "sale" and not rows:
        warnings.append("This sale selects no offer: no price changes.")
    unpriced = [r for r in rows if r["list"] == "set by the store"]
    if campaign.kind == "sale" and unpriced:
        warnings.append(
            f"{len(unpriced)} selected offer(s) have no list price: the store sets it, "
            "so the sale cannot lower it here."
        )
    return {
        "campaign": campaign,
        "starts": format_instant(campaign.starts, site.tz, site.locale),
        "ends": format_instant(campaign.ends, site.tz, site.locale),
        "rows": rows,
        "warnings": warnings,
    }


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
        entry = files.save(text, base, summary)
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


def duplicate_values(kind: str, values: dict) -> dict:
    """A copy to start from: a new slug and, for a campaign, the same dates a year later."""
    values = dict(values)
    if values.get("slug"):
        values["slug"] = f"{values['slug']}-copy"
    if kind == "campaign":
        for key in ("starts", "ends"):
            values[key] = _next_year(values.get(key, ""))
    return values


def _next_year(text: str) -> str:
    try:
        if "T" in text:
            t = datetime.fromisoformat(text)
        else:
            t = date.fromisoformat(text)
        return t.replace(year=t.year + 1).isoformat()
    except ValueError:
        return text  # 29 February, or not a date: the author picks


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
        entry = desk().files.save(
            document.dumps(doc), request.form.get("base", ""), f"removed {label}"
        )
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


@bp.get("/campaigns")
def campaigns():
    text, base, doc = current()
    catalog, problems = try_catalog(text)
    sf = storefront()
    at = sf.now()
    rows = []
    if catalog is not None:
        site = catalog.site
        for i, c in enumerate(catalog.campaigns):
            state = "running" if c.is_active(at) else ("ended" if c.ends <= at else "upcoming")
            rows.append(
                {
                    "path": f"campaigns[{i}]",
                    "campaign": c,
                    "state": state,
                    "starts": format_instant(c.starts, site.tz, site.locale),
                    "ends": format_instant(c.ends, site.tz, site.locale),
                    "preview_day": max(c.starts, min(at, c.ends)).astimezone(site.tz).date(),
                }
            )
    return page(
        "desk/campaigns.html",
        title="Campaigns",
        rows=rows,
        base=base,
        problems=[str(p) for p in problems],
    )


@bp.post("/end/<path>")
def end_now(path: str):
    if kind_of(path) != "campaign":
        abort(404, f"No campaign at '{path}'.")
    text, base, doc = current()
    catalog, _ = try_catalog(text)
    try:
        table = document.resolve(doc, path)
    except document.PathError:
        abort(404, f"No campaign at '{path}'.")
    sf = storefront()
    at = sf.now()
    index = int(_INDEX.search(path).group(1))
    if catalog is not None:
        campaign = catalog.campaigns[index]
        if campaign.starts > at:
            flash(f"“{campaign.name}” has not started: change its dates or remove it.", "error")
            return redirect(url_for("desk.campaigns"))
        if campaign.ends <= at:
            flash(f"“{campaign.name}” has already ended.", "info")
            return redirect(url_for("desk.campaigns"))
        tz = catalog.site.tz
    else:
        tz = None
    moment = at.astimezone(tz).replace(microsecond=0) if tz else at.replace(microsecond=0)
    ends = next(f for f in KINDS["campaign"] if f.key == "ends")
    document.apply(table, (ends,), {"ends": moment.isoformat()})
    try:
        entry = desk().files.save(
            document.dumps(doc),
            request.form.get("base", ""),
            f"ended {label_for(path, None, doc)} now",
        )
    except ChangedOnDisk:
        flash("The file changed on disk since the page was opened: nothing was changed.", "error")
        return redirect(url_for("desk.campaigns"))
    except SaveError as exc:
        flash(f"Not ended: {exc}", "error")
        return redirect(url_for("desk.campaigns"))
    flash(f"Ended now (history #{entry.number}). Prices are back to list.", "success")
    return redirect(url_for("desk.campaigns"))


from . import uploads  # noqa: E402, F401  (cover and sample chapter)
