"""``storefront export DIR``: the whole store as static files for any host or CDN."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from . import catalog_option, now_option, open_catalog, resolve_now


def _http_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise click.BadParameter(
            f"'{value}' is not an http(s) URL such as https://books.example.org"
        )
    return value.strip().rstrip("/")


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@catalog_option
@click.option(
    "--base-url",
    callback=_http_url,
    help="The public URL the export will be served from "
    "(default: $STOREFRONT_BASE_URL, else the catalog's site.base_url).",
)
@click.option(
    "--click-server",
    callback=_http_url,
    metavar="URL",
    help="Send buy links through this running Storefront's /go/ (clicks are counted).",
)
@click.option(
    "--direct",
    is_flag=True,
    help="Send buy links straight to the stores, with affiliate tags (no click counts).",
)
@now_option
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when a page links to something the export could not include.",
)
def export(
    directory: Path,
    catalog_path: Path | None,
    base_url: str | None,
    click_server: str | None,
    direct: bool,
    now: str | None,
    strict: bool,
) -> None:
    """Export pages, cards, widget.js, oEmbed, samples, flyers and images to DIR.

    DIR becomes a symlink to a complete build in .DIR.builds/ beside it: a run
    builds a new folder, then swaps the link, so a host never serves a
    half-written site. Unchanged files are kept, not rewritten; a run that
    changes nothing swaps nothing. Prices are those at --now (default: now);
    DIR/manifest.json says until when they hold: re-run from cron then.
    """
    from ..export import ExportError, export_site

    if bool(click_server) == direct:
        raise click.UsageError("choose where buy links go: --click-server URL or --direct")
    catalog = open_catalog(catalog_path)
    base = base_url or _env_base_url() or catalog.site.base_url
    if not base:
        raise click.UsageError(
            "the export needs its public URL for canonical links, social images and embeds: "
            "pass --base-url (or set STOREFRONT_BASE_URL or site.base_url in the catalog)"
        )
    at = resolve_now(now)
    try:
        result = export_site(
            directory,
            catalog_path=catalog.path,
            base_url=base,
            at=at,
            click_server=click_server,
        )
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None

    files = len(result.written) + len(result.unchanged)
    if result.changed:
        click.echo(
            f"Exported {files} file(s) to {directory} -> {result.build.name}: "
            f"{len(result.written)} written, {len(result.unchanged)} unchanged, "
            f"{len(result.removed)} removed."
        )
    else:
        click.echo(f"{directory} is up to date ({files} file(s) in {result.build.name}).")
    until = result.manifest.get("prices_valid_until")
    if until:
        click.echo(f"Prices hold until {until}: re-run the export then.")
    else:
        click.echo("No campaign change ahead: prices hold until the catalog changes.")
    for url, why in result.missing.items():
        click.echo(f"warning: not exported: {url}: {why}", err=True)
    if strict and result.missing:
        sys.exit(1)


def _env_base_url() -> str | None:
    value = os.environ.get("STOREFRONT_BASE_URL", "").strip()
    return value.rstrip("/") or None
