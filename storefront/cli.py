"""The ``storefront`` command line."""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path

import click

from .commands import catalog_option, now_option, open_catalog, resolve_now

# Commands with heavy imports (SQLAlchemy, WeasyPrint, ebooklib) are loaded only
# when run, so `storefront check` or a no-op `storefront flyers` starts fast.
LAZY_COMMANDS = {
    "sample": "storefront.commands.sample:sample",
    "flyers": "storefront.commands.flyers:flyers",
    "widget": "storefront.commands.widget:widget",
    "links": "storefront.commands.links:links",
    "stats": "storefront.commands.stats:stats",
    "export": "storefront.commands.export:export",
    "admin": "storefront.commands.admin:admin",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module the first time it is needed."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attr = self.lazy[name].split(":")
            self.add_command(getattr(import_module(module), attr), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS)
@click.version_option(package_name="storefront")
def main() -> None:
    """Storefront: an author's own storefront and promo kit."""


@main.command()
@catalog_option
def check(catalog_path: Path | None) -> None:
    """Validate the catalog: exit 0 with a summary, or 1 listing every problem."""
    catalog = open_catalog(catalog_path)
    for warning in catalog.warnings:
        click.echo(f"warning: {warning}", err=True)
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


if __name__ == "__main__":  # pragma: no cover
    main()
