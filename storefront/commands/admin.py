"""``storefront admin set-password``: the author's password for the desk (``/admin/``)."""

from __future__ import annotations

import sys

import click

from ..desk.auth import AuthStore, PasswordError
from ..desk.linkreport import instance_path


@click.group()
def admin() -> None:
    """The author's desk in the browser (/admin/)."""


@admin.command("set-password")
def set_password() -> None:
    """Set the desk's password (prompted twice on a terminal; else one line of stdin).

    The password is kept as an Argon2id hash in the instance folder
    (STOREFRONT_INSTANCE_PATH), never in the catalog. Setting it ends every
    open desk session.
    """
    if sys.stdin.isatty():
        password = click.prompt("New desk password", hide_input=True, confirmation_prompt=True)
    else:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password.rstrip("\r")
    store = AuthStore(instance_path())
    try:
        store.set_password(password)
    except PasswordError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {store.path}: {exc.strerror or exc}") from None
    folder = store.path.parent
    click.echo(
        f"Desk password set in the instance folder {folder} ({store.path.name}). "
        "Sign in at /admin/login of a server that uses this folder: `storefront serve` run "
        f"from {folder.parent}, or with STOREFRONT_INSTANCE_PATH={folder}."
    )
