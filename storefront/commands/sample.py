"""``storefront sample BOOK -o FILE.epub``: write a book's EPUB sample."""

from __future__ import annotations

from pathlib import Path

import click

from . import (
    base_url_option,
    catalog_option,
    find_book,
    now_option,
    open_catalog,
    public_urls,
    resolve_now,
    write_output,
)


@click.command("sample")
@click.argument("book")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the EPUB (default: BOOK-sample.epub in the current folder).",
)
@base_url_option(
    "Public URL for the buy links and QR code (default: $STOREFRONT_BASE_URL, "
    "the catalog's site.base_url, or http://127.0.0.1:8000).",
)
@catalog_option
@now_option
def sample(book: str, output: Path | None, base_url: str | None, catalog_path, now) -> None:
    """Write the EPUB 3 sample of BOOK: reviews, blurb, sample chapter and buy links."""
    from widgets.epub import SampleError, build_sample, sample_filename

    catalog = open_catalog(catalog_path)
    found = find_book(catalog, book)
    at = resolve_now(now)
    urls = public_urls(
        base_url,
        catalog,
        "buy links and the QR code point at {url}; "
        "set STOREFRONT_BASE_URL or --base-url to the public address",
    )
    try:
        data = build_sample(catalog, found, at, urls)
    except SampleError as exc:
        raise click.ClickException(str(exc)) from None
    target = output or Path(sample_filename(found))
    write_output(target, data)
