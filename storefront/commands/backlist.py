"""``storefront backlist -o FILE.pdf``: the backlist sheet (every book, or one series)."""

from __future__ import annotations

from pathlib import Path

import click

from ..urls import FLYER_SIZES, Urls
from . import (
    base_url_option,
    catalog_option,
    now_option,
    open_catalog,
    public_base_url,
    resolve_now,
    warn_if_proof,
    write_output,
)


@click.command("backlist")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("backlist.pdf"),
    show_default=True,
    help="Where to write the PDF.",
)
@click.option("--series", help="Only this series (its slug), in reading order.")
@click.option("--bookstore", is_flag=True, help="The bookstore edition: without Amazon.")
@click.option("--size", type=click.Choice(FLYER_SIZES), default="letter", show_default=True)
@base_url_option(
    "Public URL the QR codes point at (default: $STOREFRONT_BASE_URL or site.base_url; "
    "without one the sheet is marked PROOF)."
)
@catalog_option
@now_option
def backlist(output, series, bookstore, size, base_url, catalog_path, now) -> None:
    """Write the backlist sheet: each book with cover, one line, formats and a QR code."""
    from widgets.print import FlyerError
    from widgets.print.backlist import build_backlist

    catalog = open_catalog(catalog_path)
    urls = Urls(public_base_url(base_url, catalog))
    warn_if_proof(urls)
    try:
        data = build_backlist(
            catalog, urls=urls, series=series, bookstore=bookstore, size=size, at=resolve_now(now)
        )
    except FlyerError as exc:
        raise click.ClickException(str(exc)) from None
    write_output(output, data)
