"""``storefront sample BOOK -o FILE.epub``: write a book's EPUB sample."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import click

from ..urls import DEFAULT_BASE_URL, Urls
from . import catalog_option, now_option, open_catalog, resolve_now


def _base_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"'{value}' is not an http(s) URL", param_hint="--base-url")
    return value


@click.command("sample")
@click.argument("book")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the EPUB (default: BOOK-sample.epub in the current folder).",
)
@click.option(
    "--base-url",
    envvar="STOREFRONT_BASE_URL",
    help="Public URL for the buy links and QR code (default: $STOREFRONT_BASE_URL, "
    "the catalog's site.base_url, or http://127.0.0.1:8000).",
)
@catalog_option
@now_option
def sample(book: str, output: Path | None, base_url: str | None, catalog_path, now) -> None:
    """Write the EPUB 3 sample of BOOK: reviews, blurb, sample chapter and buy links."""
    from widgets.epub import SampleError, build_sample, sample_filename

    catalog = open_catalog(catalog_path)
    found = catalog.book(book)
    if found is None:
        known = ", ".join(b.slug for b in catalog.books)
        raise click.BadParameter(
            f"no book '{book}' in {catalog.path.name} (books: {known})", param_hint="BOOK"
        )
    at = resolve_now(now)
    url = _base_url(base_url) or catalog.site.base_url or DEFAULT_BASE_URL
    if url == DEFAULT_BASE_URL:
        click.echo(
            f"warning: buy links and the QR code point at {url}; "
            "set STOREFRONT_BASE_URL or --base-url to the public address",
            err=True,
        )
    try:
        data = build_sample(catalog, found, at, Urls(url))
    except SampleError as exc:
        raise click.ClickException(str(exc)) from None
    target = output or Path(sample_filename(found))
    _write_atomically(target, data)
    click.echo(f"Wrote {target} ({len(data):,} bytes)")


def _write_atomically(target: Path, data: bytes) -> None:
    """Write next to ``target`` and rename, so a reader never sees half a file."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise click.ClickException(f"folder '{folder}' does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        raise click.ClickException(f"cannot write '{target}': {exc.strerror or exc}") from None
