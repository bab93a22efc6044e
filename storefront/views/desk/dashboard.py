"""The dashboard: what readers see now, recent clicks, link health and what to do next."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, url_for
from sqlalchemy.exc import SQLAlchemyError

from ...catalog import Campaign, Catalog
from ...clickdb import get_click_store
from ...desk.builds import is_current, pieces_folder
from ...linkcheck.report import load_report
from ...pricing import active_campaigns, book_prices, format_instant, format_money, price_window
from ...settings import is_loopback
from ...stats import click_stats, daily, totals
from ...storage import StorageError
from .. import storefront
from .base import bp, page

logger = logging.getLogger(__name__)

CLICK_DAYS = 14
SOON = timedelta(days=21)
STALE_LINK_CHECK = timedelta(days=30)


@dataclass(frozen=True)
class Todo:
    text: str
    href: str
    action: str


def next_change(catalog: Catalog, at: datetime) -> tuple[datetime, list[str]] | None:
    """The next instant a price changes and what happens then (campaigns starting/ending)."""
    until = price_window(catalog, at)[1]
    if until is None:
        return None
    what = []
    for c in catalog.campaigns:
        if c.starts == until:
            what.append(f"{c.name} starts")
        if c.ends == until:
            what.append(f"{c.name} ends")
    return until, what


def recent_clicks(today) -> dict | None:
    since = today - timedelta(days=CLICK_DAYS - 1)
    try:
        store = get_click_store()
        store.ensure_schema()
        engine = store.engine
        days = daily(engine, since, today)
        return {
            "since": since,
            "until": today,
            "total": totals(days),
            "vendor": click_stats(engine, "vendor", since, today)[:8],
            "placement": click_stats(engine, "placement", since, today)[:8],
        }
    except (SQLAlchemyError, OSError, StorageError) as exc:
        logger.warning("desk dashboard: click database unavailable: %s", exc)
        return None


def todos(catalog: Catalog, at: datetime, report: dict | None) -> list[Todo]:
    sf = storefront()
    items: list[Todo] = []
    # First: without it every print piece and card built now carries a dead address.
    # `serve` without a setting sets its own http://127.0.0.1:PORT: that is no public address.
    if is_loopback(urlsplit(sf.urls.base_url).hostname or ""):
        items.append(
            Todo(
                "Public address not set: QR codes, print pieces and cards point at this "
                "server, which readers cannot reach.",
                url_for("desk.edit", path="site"),
                "Set the public address",
            )
        )
    for c in sorted(catalog.campaigns, key=lambda c: c.starts):
        if c.ends <= at or c.starts - at > SOON:
            continue
        folder = pieces_folder(current_app.instance_path, c.slug)
        try:
            ready = is_current(catalog, c, sf.urls, at, folder)
        except Exception as exc:  # a piece that cannot be prepared: say so, never a 500
            logger.warning("desk: cannot check the pieces of %s: %s", c.slug, exc)
            ready = False
        if not ready:
            when = (
                "is running"
                if c.is_active(at)
                else f"starts {format_instant(c.starts, catalog.site.tz)}"
            )
            items.append(
                Todo(
                    f"“{c.name}” {when} and its print pieces are not built for this version.",
                    url_for("desk.pieces", slug=c.slug),
                    "Build the pieces",
                )
            )
    if report is None:
        items.append(
            Todo(
                "No link check has been saved yet.",
                url_for("desk.dashboard") + "#links",
                "Run storefront links check on the server",
            )
        )
    else:
        broken = report["run"].get("broken", 0)
        if broken:
            items.append(
                Todo(
                    f"{broken} broken store link(s) in the last check.",
                    url_for("desk.dashboard") + "#links",
                    "See which",
                )
            )
        try:
            checked = datetime.fromisoformat(report["checked_at"])
            if at - checked > STALE_LINK_CHECK:
                items.append(
                    Todo(
                        "The last link check is more than 30 days old.",
                        url_for("desk.dashboard") + "#links",
                        "Run storefront links check again",
                    )
                )
        except (KeyError, TypeError, ValueError):
            pass
    return items


@bp.get("/")
def dashboard():
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    site = catalog.site
    prices = []
    for book in catalog.books:
        for_book = book_prices(catalog, book, at)
        for offer in book.offers:
            price = for_book[offer.slug]
            prices.append(
                {
                    "book": book,
                    "offer": offer,
                    "vendor": catalog.vendor(offer.vendor).name,
                    "now": format_money(price.amount, offer.currency, site.locale)
                    if price.amount is not None
                    else None,
                    "list": format_money(price.list_price, offer.currency, site.locale)
                    if price.on_sale
                    else None,
                    "campaign": price.campaign,
                }
            )
    running: list[Campaign] = active_campaigns(catalog, at)
    change = next_change(catalog, at)
    report = load_report(current_app.instance_path)
    links = None
    if report is not None:
        run = report["run"]
        links = {
            "checked_at": report.get("checked_at"),
            "counts": run.get("counts", {}),
            "total": run.get("links", 0),
            "problems": [
                r
                for r in run.get("reports", [])
                if r.get("status") not in ("ok", "redirected", "blocked")
            ][:20],
        }
    today = at.astimezone(site.tz).date()
    return page(
        "desk/dashboard.html",
        title="Dashboard",
        now_text=format_instant(at, site.tz, site.locale),
        prices=prices,
        running=running,
        change=(format_instant(change[0], site.tz, site.locale), change[1]) if change else None,
        clicks=recent_clicks(today),
        links=links,
        todos=todos(catalog, at, report),
        format_instant=lambda t: format_instant(t, site.tz, site.locale),
    )
