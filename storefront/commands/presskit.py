"""``storefront presskit [BOOK] -o FILE.zip``: the press kit (every book, or one) as one ZIP."""

from __future__ import annotations

from pathlib import Path

import click

from ..urls import FLYER_SIZES
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


@click.command("presskit")
@click.argument("book", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the ZIP (default: BOOK-press-kit.zip, or press-kit.zip for every book).",
)
@click.option(
    "--size",
    type=click.Choice(FLYER_SIZES),
    default="letter",
    show_default=True,
    help="Paper size of the press sheet.",
)
@base_url_option(
    "Public URL for the links and the sheet's QR code (default: $STOREFRONT_BASE_URL, "
    "the catalog's site.base_url, or http://127.0.0.1:8000).",
)
@catalog_option
@now_option
def presskit(book, output, size, base_url, catalog_path, now) -> None:
    """Write the press kit of BOOK (default: every book) as a ZIP.

    Covers in high resolution, the authors' photos and bios, the facts, the
    review quotes, a one-page press sheet per book and a README. The same
    catalog gives the same bytes (SOURCE_DATE_EPOCH dates the files).
    """
    from widgets.press.bundle import build_press_zip
    from widgets.press.kit import build_press_kit
    from widgets.print import FlyerError

    catalog = open_catalog(catalog_path)
    if book is not None:
        find_book(catalog, book)
    urls = public_urls(
        base_url,
        catalog,
        "links and the QR code point at {url}; "
        "set STOREFRONT_BASE_URL or --base-url to the public address",
    )
    kit = build_press_kit(catalog, resolve_now(now), urls, book)
    try:
        data = build_press_zip(kit, size=size)
    except FlyerError as exc:
        raise click.ClickException(str(exc)) from None
    write_output(output or Path(f"{kit.name}.zip"), data)
