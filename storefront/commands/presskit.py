"""``storefront presskit [BOOK] -o FILE.zip``: the press kit (every book, or one) as one ZIP."""

from __future__ import annotations

from pathlib import Path

import click

from ..files import write_atomic
from ..urls import DEFAULT_BASE_URL, FLYER_SIZES, Urls
from . import (
    base_url_option,
    catalog_option,
    find_book,
    now_option,
    open_catalog,
    public_base_url,
    resolve_now,
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
    url = public_base_url(base_url, catalog)
    if url == DEFAULT_BASE_URL:
        click.echo(
            f"warning: links and the QR code point at {url}; "
            "set STOREFRONT_BASE_URL or --base-url to the public address",
            err=True,
        )
    kit = build_press_kit(catalog, resolve_now(now), Urls(url), book)
    try:
        data = build_press_zip(kit, size=size)
    except FlyerError as exc:
        raise click.ClickException(str(exc)) from None
    target = output or Path(f"{kit.name}.zip")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise click.ClickException(f"folder '{folder}' does not exist")
    try:
        write_atomic(target, data, mode=0o644)
    except OSError as exc:
        raise click.ClickException(f"cannot write '{target}': {exc.strerror or exc}") from None
    click.echo(f"Wrote {target} ({len(data):,} bytes)")
