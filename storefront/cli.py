"""The ``storefront`` command line."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .commands import catalog_option, now_option, open_catalog, resolve_now
from .commands.export import export as export_command
from .commands.flyers import flyers as flyers_command
from .commands.links import links as links_command
from .commands.sample import sample as sample_command
from .commands.stats import stats as stats_command
from .commands.widget import widget as widget_command


@click.group()
@click.version_option(package_name="storefront")
def main() -> None:
    """Storefront: an author's own storefront and promo kit."""


@main.command()
@catalog_option
def check(catalog_path: Path | None) -> None:
    """Validate the catalog: exit 0 with a summary, or 1 listing every problem."""
    catalog = open_catalog(catalog_path)
    offers = sum(len(b.offers) for b in catalog.books)
    click.echo(
        f"{catalog.path.name}: OK ({len(catalog.books)} book(s), {offers} offer(s), "
        f"{len(catalog.vendors)} vendor(s), {len(catalog.campaigns)} campaign(s), "
        f"{len(catalog.support)} support method(s)); version {catalog.version}"
    )


@main.command()
@catalog_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
)
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64))
@now_option
@click.option("--access-log/--no-access-log", default=False, help="Log every request.")
def serve(catalog_path, host, port, workers, threads, now, access_log) -> None:
    """Serve the store with the production WSGI server (gunicorn)."""
    open_catalog(catalog_path)  # fail here, with the same messages as `check`
    if now:
        resolve_now(now)
        os.environ["STOREFRONT_NOW"] = now
    if catalog_path:
        os.environ["STOREFRONT_CATALOG"] = str(catalog_path.resolve())
    from .server import run_server

    click.echo(f"Storefront on http://{host}:{port}/ ({workers} worker(s))", err=True)
    run_server(host=host, port=port, workers=workers, threads=threads, access_log=access_log)


main.add_command(sample_command)
main.add_command(links_command)
main.add_command(export_command)
main.add_command(stats_command)
main.add_command(widget_command)
main.add_command(flyers_command)


if __name__ == "__main__":  # pragma: no cover
    main()
