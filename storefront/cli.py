"""The ``storefront`` command line."""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit

import click

from .commands import catalog_option, now_option, open_catalog, resolve_now
from .settings import (
    DEFAULT_THREADS,
    SettingsError,
    ensure_instance_folder,
    instance_folder,
    is_loopback,
    load_settings,
    url_host,
)

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
    "backlist": "storefront.commands.backlist:backlist",
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

    def invoke(self, ctx: click.Context):
        # An author's mistake (a setting, a folder that cannot be written) is one line
        # and exit status 1, from every command, never a traceback.
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            raise  # click's own handling: the reader of our output went away
        except OSError as exc:
            raise click.ClickException(describe_os_error(exc)) from None


def describe_os_error(exc: OSError) -> str:
    """``cannot use '/srv/out/.x.builds': Permission denied`` for an OSError."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    return f"cannot use '{os.fsdecode(exc.filename)}': {reason}"


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS)
@click.version_option(package_name="storefront")
def main() -> None:
    """Storefront: an author's own storefront and promo kit."""


@main.command()
@catalog_option
def check(catalog_path: Path | None) -> None:
    """Validate the catalog: exit 0 with a summary, or 1 listing every problem."""
    catalog = open_catalog(catalog_path)
    from widgets.print.checks import print_problems  # fonts and covers, before a print run

    if problems := print_problems(catalog):
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(problems)} problem(s) in the catalog.", err=True)
        raise SystemExit(1)
    for warning in catalog.warnings:
        click.echo(f"warning: {warning}", err=True)
    offers = sum(len(b.offers) for b in catalog.books)
    for book in catalog.books:  # the audio samples, as mutagen read them
        for edition in book.editions:
            if (sample := edition.audio_sample) is not None:
                name = sample.path.relative_to(catalog.path.parent.resolve()).as_posix()
                click.echo(
                    f"{book.slug}: audio sample {name} "
                    f"({sample.extension.upper()}, {sample.seconds:.1f} s)"
                )
    click.echo(
        f"{catalog.path.name}: OK ({len(catalog.books)} book(s), {offers} offer(s), "
        f"{len(catalog.vendors)} vendor(s), {len(catalog.campaigns)} campaign(s), "
        f"{len(catalog.support)} support method(s)); version {catalog.version}"
    )


WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")


@main.command()
@catalog_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
)
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Threads per worker: a slow or idle client holds one thread, not a whole worker.",
)
@now_option
@click.option("--access-log/--no-access-log", default=False, help="Log every request.")
def serve(catalog_path, host, port, workers, threads, now, access_log) -> None:
    """Serve the store with the production WSGI server (gunicorn).

    Without STOREFRONT_BASE_URL (or site.base_url), links, cards and QR codes
    point at http://HOST:PORT/.
    """
    catalog = open_catalog(catalog_path)  # fail here, with the same messages as `check`
    if now:
        resolve_now(now)
        os.environ["STOREFRONT_NOW"] = now
    if catalog_path:
        os.environ["STOREFRONT_CATALOG"] = str(catalog_path.resolve())
    instance = instance_folder()
    # Checked once here, so a mistake is one line, not a traceback from every worker.
    from .app import DEFAULTS

    try:
        settings = load_settings(DEFAULTS, instance)
        ensure_instance_folder(instance)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    _check_database(settings["DATABASE_URL"], instance)
    public = settings["BASE_URL"] or catalog.site.base_url
    if not public:
        shown = "127.0.0.1" if host in WILDCARD_HOSTS else host
        public = f"http://{url_host(shown)}:{port}"
        os.environ["STOREFRONT_BASE_URL"] = public  # the workers build links with it
    public_host = urlsplit(public).hostname or ""
    if is_loopback(public_host) and not is_loopback(host):
        click.echo(
            f"Warning: serving on {host}, but the public URL in links, cards and QR codes is "
            f"{public}, which only this machine can open: set STOREFRONT_BASE_URL.",
            err=True,
        )
    from .server import control_socket_path, run_server

    os.environ.setdefault("STOREFRONT_INSTANCE_PATH", str(instance))  # workers: the same folder
    click.echo(
        f"Storefront on http://{url_host(host)}:{port}/ ({workers} worker(s) x {threads} "
        f"thread(s)); public URL {public}; instance folder {instance}",
        err=True,
    )
    click.echo(_desk_password_line(instance), err=True)
    run_server(
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        access_log=access_log,
        control_socket=control_socket_path(instance),
    )


def _desk_password_line(instance: Path) -> str:
    """Whether the desk can be signed in to, and where its password is read from."""
    from .desk.auth import AuthStore

    if AuthStore(instance).has_password():
        return f"The desk (/admin/) has a password (kept in the instance folder {instance})."
    return (
        "The desk (/admin/) has no password yet: run `storefront admin set-password` with "
        f"the same instance folder ({instance}; STOREFRONT_INSTANCE_PATH sets it)."
    )


def _check_database(configured: str | None, instance: Path) -> None:
    """Refuse a database URL SQLAlchemy cannot use (its password never shown); no connection."""
    from .storage import StorageError, database_url, make_engine

    try:
        make_engine(database_url(configured, instance)).dispose()
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    main()
