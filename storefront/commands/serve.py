"""``storefront serve``: the store under the production WSGI server (Granian)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import click

from ..settings import (
    DEFAULT_THREADS,
    SettingsError,
    ensure_instance_folder,
    instance_folder,
    is_loopback,
    load_settings,
    url_host,
)
from . import catalog_option, first_line, now_option, open_catalog, resolve_now

WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")


@click.command("serve")
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
    help="Python threads per worker running requests (slow clients hold none).",
)
@now_option
@click.option("--access-log/--no-access-log", default=False, help="Log every request.")
def serve(catalog_path, host, port, workers, threads, now, access_log) -> None:
    """Serve the store with the production WSGI server (Granian).

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
    from ..app import DEFAULTS

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
    from ..server import run_server

    os.environ.setdefault("STOREFRONT_INSTANCE_PATH", str(instance))  # workers: the same folder
    click.echo(
        f"Storefront on http://{url_host(host)}:{port}/ ({workers} worker(s) x {threads} "
        f"thread(s)); public URL {public}; instance folder {instance}",
        err=True,
    )
    click.echo(_desk_password_line(instance, settings["DATABASE_URL"]), err=True)
    run_server(
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        access_log=access_log,
    )


def _desk_password_line(instance: Path, url: str | None) -> str:
    """Whether the desk can be signed in to, and where its password is read from."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..desk.auth import AuthStore
    from ..storage import StorageError

    store = AuthStore(instance, url=url)
    try:
        has_password = store.has_password()
    except (SQLAlchemyError, StorageError, OSError) as exc:
        first = first_line(exc)
        return f"The desk (/admin/): cannot read its password from the database yet ({first})."
    finally:
        store.engine.dispose()
    if has_password:
        return f"The desk (/admin/) has a password (kept in {store.where})."
    return (
        "The desk (/admin/) has no password yet: run `storefront admin set-password` with "
        f"the same database and instance folder ({store.where}; STOREFRONT_DATABASE_URL and "
        "STOREFRONT_INSTANCE_PATH set them)."
    )


def _check_database(configured: str | None, instance: Path) -> None:
    """Refuse a database URL SQLAlchemy cannot use (its password never shown); no connection."""
    from ..storage import StorageError, database_url, make_engine

    try:
        make_engine(database_url(configured, instance)).dispose()
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
