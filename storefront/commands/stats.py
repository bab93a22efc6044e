"""``storefront stats [--since] [--by ...] [--format table|csv|json]``: clicks by group."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from ..stats import FORMATS, GROUPS, click_stats, render_csv, render_json, render_table
from ..storage import StorageError, open_click_store
from . import catalog_option, instance_note, now_option, open_catalog, resolve_now


def click_settings() -> tuple[str | None, str]:
    """The database URL and instance folder, found exactly as ``create_app`` finds them."""
    from ..settings import instance_config, instance_folder, read_environ

    instance = instance_folder()
    config = {**instance_config(instance), **read_environ(("DATABASE_URL",))}
    url = config.get("DATABASE_URL")
    return (str(url) if url else None), str(instance)


def parse_day(value: str | None, today: date, option: str) -> date | None:
    """``2026-11-01``, or ``7d`` (the last 7 days, today included), or ``today``."""
    if not value:
        return None
    text = value.strip().lower()
    if text == "today":
        return today
    match = re.fullmatch(r"(\d{1,4})d", text)
    if match:
        days = int(match.group(1))
        if days < 1:
            raise click.BadParameter("must be at least 1d", param_hint=option)
        return today - timedelta(days=days - 1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is not a date (2026-11-01), a number of days (30d) or 'today'",
            param_hint=option,
        ) from None


@click.command("stats")
@click.option("--since", help="First day: 2026-11-01, 30d (the last 30 days) or today.")
@click.option("--until", help="Last day (same forms; default: no limit).")
@click.option("--by", type=click.Choice(GROUPS), default="vendor", show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@catalog_option
@now_option
def stats(since, until, by, fmt, catalog_path: Path | None, now) -> None:
    """Print reader clicks (total and unique) and the clicks not counted (bots, prefetch, HEAD).

    Reads $STOREFRONT_DATABASE_URL (default: SQLite in the instance folder); clicks
    waiting in the local spool are replayed into the database first.
    """
    catalog = open_catalog(catalog_path)
    today = resolve_now(now).astimezone(catalog.site.tz).date()
    first = parse_day(since, today, "--since")
    last = parse_day(until, today, "--until")
    if first and last and first > last:
        raise click.BadParameter("--since is after --until", param_hint="--since")
    url, instance = click_settings()
    if url is None:  # the default SQLite database lives in the instance folder
        instance_note("reading clicks from", Path(instance), " (storefront.db)")
    try:
        store = open_click_store(url, instance)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        store.replay_spool()  # also creates or migrates the schema
        rows = click_stats(store.engine, by, first, last)
    except (SQLAlchemyError, OSError) as exc:
        raise click.ClickException(f"the click database is unavailable: {exc}") from None
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    if fmt == "csv":
        click.echo(render_csv(rows, by), nl=False)
    elif fmt == "json":
        click.echo(render_json(rows, by, first, last))
    else:
        click.echo(render_table(rows, by))
