"""Shared pieces of the ``storefront`` commands: options and catalog loading.

Each command module in this package defines click commands; ``storefront.cli``
adds them to the ``storefront`` group.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..catalog import Book, Catalog, CatalogError, load_catalog
from ..state import parse_now

if TYPE_CHECKING:
    from ..urls import Urls

CATALOG_HELP = "Catalog TOML file (default: $STOREFRONT_CATALOG or the built-in catalog)."


def catalog_option(f):
    """The ``--catalog`` option every command takes; it sets ``STOREFRONT_CATALOG``."""
    return click.option(
        "--catalog",
        "catalog_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="STOREFRONT_CATALOG",
        help=CATALOG_HELP,
    )(f)


def open_catalog(path: Path | None) -> Catalog:
    """Load the catalog or exit 1 with one line per problem (never a traceback)."""
    try:
        return load_catalog(path)
    except CatalogError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s) in the catalog.", err=True)
        sys.exit(1)


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (its type's name if it has none) for a one-line error."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def resolve_now(value: str | None):
    """``--now`` / ``STOREFRONT_NOW`` as an aware datetime, or the real clock."""
    from ..pricing import utcnow

    try:
        return parse_now(value) or utcnow()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--now") from None


def now_option(f):
    return click.option(
        "--now",
        envvar="STOREFRONT_NOW",
        help="Preview at this instant (ISO 8601 with offset, e.g. 2026-12-22T09:00:00-07:00).",
    )(f)


def base_url_option(help_text: str):
    """The ``--base-url`` option (default ``$STOREFRONT_BASE_URL``) of commands that print links."""
    return click.option("--base-url", envvar="STOREFRONT_BASE_URL", help=help_text)


def public_options(base_url_help: str):
    """``--base-url``, ``--catalog`` and ``--now``: the options of every command that builds
    a public piece (a snippet, a sample, a sheet) from the catalog at an instant."""

    def decorate(f):
        return base_url_option(base_url_help)(catalog_option(now_option(f)))

    return decorate


def public_base_url(value: str | None, catalog: Catalog) -> str:
    """``--base-url`` / ``STOREFRONT_BASE_URL``, else the catalog's ``site.base_url``, else local.

    The same order as the web app's ``BASE_URL`` setting.
    """
    from urllib.parse import urlsplit

    from ..urls import DEFAULT_BASE_URL

    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise click.BadParameter(f"'{value}' is not an http(s) URL", param_hint="--base-url")
        return value
    return catalog.site.base_url or DEFAULT_BASE_URL


def output_option(help_text: str, **extra):
    """The ``-o/--output`` file option of commands that write one file."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help=help_text,
        **extra,
    )


def choice_option(name: str, choices, default: str, help_text: str | None = None):
    """An option taking one of ``choices``, its default shown in ``--help``."""
    return click.option(
        name, type=click.Choice(choices), default=default, show_default=True, help=help_text
    )


def public_urls(value: str | None, catalog: Catalog, local_warning: str, when: str = "") -> Urls:
    """The :class:`Urls` of :func:`public_base_url`; warn when they are only this machine's.

    ``local_warning`` names what would point at the local address ("buy links and the
    QR code point at {url}") and may use ``{url}``; the warning then says how to set
    the public address, ``when`` it matters (" before pasting the snippet").
    """
    from ..urls import DEFAULT_BASE_URL, Urls

    url = public_base_url(value, catalog)
    if url == DEFAULT_BASE_URL:
        click.echo(
            f"warning: {local_warning.format(url=url)}; "
            f"set STOREFRONT_BASE_URL or --base-url to the public address{when}",
            err=True,
        )
    return Urls(url)


def open_public(catalog_path, book: str | None, base_url, now, local_warning: str):
    """The catalog, ``book`` in it (or ``None``), the instant and the public :class:`Urls`
    of a command that writes a piece for readers (see :func:`public_urls`)."""
    catalog = open_catalog(catalog_path)
    found = find_book(catalog, book) if book is not None else None
    at = resolve_now(now)
    return catalog, found, at, public_urls(base_url, catalog, local_warning)


def proof_urls(value: str | None, catalog: Catalog) -> Urls:
    """The :class:`Urls` of :func:`public_base_url` for print pieces; say when they are PROOF."""
    from ..urls import Urls

    urls = Urls(public_base_url(value, catalog))
    warn_if_proof(urls)
    return urls


def write_output(target: Path, data: bytes) -> None:
    """Write ``data`` next to ``target`` and rename (a reader never sees half a file); say so.

    A missing folder or a file that cannot be written is a clean error, not a traceback.
    """
    from ..files import write_atomic

    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise click.ClickException(f"folder '{folder}' does not exist")
    try:
        write_atomic(target, data, mode=0o644)
    except OSError as exc:
        raise click.ClickException(f"cannot write '{target}': {exc.strerror or exc}") from None
    click.echo(f"Wrote {target} ({len(data):,} bytes)")


def instance_note(verb: str, folder: Path, what: str = "") -> None:
    """Name the instance folder a command read or wrote, on standard error.

    The default folder is ``./instance`` of the working directory: a command run
    from another folder reads or writes another one, so every command says which.
    """
    how = "set by STOREFRONT_INSTANCE_PATH" if _instance_env() else "./instance of this folder"
    click.echo(f"{verb} the instance folder {folder}{what} ({how})", err=True)


def _instance_env() -> bool:
    import os

    return bool(os.environ.get("STOREFRONT_INSTANCE_PATH"))


def warn_if_proof(urls) -> None:
    """Say in one line (standard error) why the pieces about to be built are marked PROOF."""
    from ..urls import print_proof

    proof = print_proof(urls.base_url)
    if proof is not None:
        click.echo(f"warning: {proof.warning}", err=True)


def find_book(catalog: Catalog, slug: str) -> Book:
    """The book ``slug`` of ``catalog``, or a usage error listing the books there are."""
    book = catalog.book(slug)
    if book is None:
        known = ", ".join(b.slug for b in catalog.books)
        raise click.BadParameter(
            f"no book '{slug}' in {catalog.path.name} (books: {known})", param_hint="BOOK"
        )
    return book
