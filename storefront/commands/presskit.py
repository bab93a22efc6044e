"""``storefront presskit [BOOK] -o FILE.zip``: the press kit (every book, or one) as one ZIP."""

from __future__ import annotations

from pathlib import Path

import click

from ..urls import FLYER_SIZES
from . import choice_option, open_public, output_option, public_options, write_output


@click.command("presskit")
@click.argument("book", required=False)
@output_option(
    "Where to write the ZIP (default: BOOK-press-kit.zip, or press-kit.zip for every book)."
)
@choice_option("--size", FLYER_SIZES, "letter", "Paper size of the press sheet.")
@public_options(
    "Public URL for the links and the sheet's QR code (default: $STOREFRONT_BASE_URL, "
    "the catalog's site.base_url, or http://127.0.0.1:8000).",
)
def presskit(book, output, size, base_url, catalog_path, now) -> None:
    """Write the press kit of BOOK (default: every book) as a ZIP.

    Covers in high resolution, the authors' photos and bios, the facts, the
    review quotes, a one-page press sheet per book and a README. The same
    catalog gives the same bytes (SOURCE_DATE_EPOCH dates the files).
    """
    from widgets.press.bundle import build_press_zip
    from widgets.press.kit import build_press_kit
    from widgets.print import FlyerError

    catalog, _, at, urls = open_public(
        catalog_path, book, base_url, now, "links and the QR code point at {url}"
    )
    kit = build_press_kit(catalog, at, urls, book)
    try:
        data = build_press_zip(kit, size=size)
    except FlyerError as exc:
        raise click.ClickException(str(exc)) from None
    write_output(output or Path(f"{kit.name}.zip"), data)
