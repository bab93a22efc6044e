"""Campaigns made plain: the list, what a campaign selects, duplicate and end now.

Creating and changing a campaign use the generic forms of :mod:`.catalog`; this
module adds what only campaigns have.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from flask import abort, flash, redirect, url_for

from ...catalog import Catalog
from ...desk import document
from ...desk.fields import KINDS, kind_of
from ...pricing import format_instant, format_money, price_offer
from .. import storefront
from .base import bp, page
from .editing import current, current_catalog, label_for, save_and_go_back, try_catalog

_INDEX = re.compile(r"\[(\d+)\]$")


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


@bp.get("/campaigns")
def campaigns():
    base, _, catalog, problems = current_catalog()
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
    return page("desk/campaigns.html", title="Campaigns", rows=rows, base=base, problems=problems)


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
    return save_and_go_back(
        doc,
        f"ended {label_for(path, None, doc)} now",
        "desk.campaigns",
        what="changed",
        refused="Not ended",
        done=lambda number: f"Ended now (history #{number}). Prices are back to list.",
    )
