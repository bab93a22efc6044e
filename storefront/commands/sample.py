"""``storefront sample BOOK -o FILE.epub``: write a book's EPUB sample."""

from __future__ import annotations

from pathlib import Path

import click

from . import open_public, output_option, public_options, write_output


@click.command("sample")
@click.argument("book")
@output_option("Where to write the EPUB (default: BOOK-sample.epub in the current folder).")
@public_options(
    "Public URL for the buy links and QR code (default: $STOREFRONT_BASE_URL, "
    "the catalog's site.base_url, or http://127.0.0.1:8000).",
)
def sample(book: str, output: Path | None, base_url: str | None, catalog_path, now) -> None:
    """Write the EPUB 3 sample of BOOK: reviews, blurb, sample chapter and buy links."""
    from widgets.epub import SampleError, build_sample, sample_filename

    catalog, found, at, urls = open_public(
        catalog_path, book, base_url, now, "buy links and the QR code point at {url}"
    )
    try:
        data = build_sample(catalog, found, at, urls)
    except SampleError as exc:
        raise click.ClickException(str(exc)) from None
    target = output or Path(sample_filename(found))
    write_output(target, data)
