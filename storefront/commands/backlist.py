"""``storefront backlist -o FILE.pdf``: the backlist sheet (every book, or one series)."""

from __future__ import annotations

from pathlib import Path

import click

from ..urls import FLYER_SIZES
from . import (
    choice_option,
    open_catalog,
    output_option,
    proof_urls,
    public_options,
    resolve_now,
    write_output,
)


@click.command("backlist")
@output_option("Where to write the PDF.", default=Path("backlist.pdf"), show_default=True)
@click.option("--series", help="Only this series (its slug), in reading order.")
@click.option("--bookstore", is_flag=True, help="The bookstore edition: without Amazon.")
@choice_option("--size", FLYER_SIZES, "letter")
@public_options(
    "Public URL the QR codes point at (default: $STOREFRONT_BASE_URL or site.base_url; "
    "without one the sheet is marked PROOF)."
)
def backlist(output, series, bookstore, size, base_url, catalog_path, now) -> None:
    """Write the backlist sheet: each book with cover, one line, formats and a QR code."""
    from widgets.print import FlyerError
    from widgets.print.backlist import build_backlist

    catalog = open_catalog(catalog_path)
    urls = proof_urls(base_url, catalog)
    try:
        data = build_backlist(
            catalog, urls=urls, series=series, bookstore=bookstore, size=size, at=resolve_now(now)
        )
    except FlyerError as exc:
        raise click.ClickException(str(exc)) from None
    write_output(output, data)
