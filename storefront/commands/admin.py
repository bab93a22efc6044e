"""``storefront admin set-password``: the author's password for the desk (``/admin/``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from ..desk.auth import AuthStore, PasswordError
from ..storage import StorageError
from . import first_line
from .stats import click_settings


@click.group()
def admin() -> None:
    """The author's desk in the browser (/admin/)."""


@admin.command("set-password")
def set_password() -> None:
    """Set the desk's password (prompted twice on a terminal; else one line of stdin).

    The password is kept as an Argon2id hash in the app's database
    (STOREFRONT_DATABASE_URL; by default SQLite in STOREFRONT_INSTANCE_PATH), where
    every server on that database reads it; never in the catalog. Setting it ends
    every open desk session, on every server.
    """
    if sys.stdin.isatty():
        password = click.prompt("New desk password", hide_input=True, confirmation_prompt=True)
    else:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password.rstrip("\r")
    url, instance = click_settings()
    try:
        store = AuthStore(instance, url=url)
        store.set_password(password)
    except PasswordError as exc:
        raise click.ClickException(str(exc)) from None
    except (SQLAlchemyError, StorageError, OSError) as exc:
        raise click.ClickException(
            f"cannot keep the password in the database: {first_line(exc)}"
        ) from None
    folder = Path(instance)
    click.echo(
        f"Desk password set in the instance folder {folder} ({store.where}). "
        "Sign in at /admin/login of a server that uses this database: `storefront serve` run "
        f"from {folder.parent}, or with STOREFRONT_INSTANCE_PATH={folder} "
        "(or the same STOREFRONT_DATABASE_URL)."
    )
    store.engine.dispose()
