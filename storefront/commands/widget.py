"""``storefront widget BOOK [--layout L] [--theme T]``: print a card's static HTML snippet."""

from __future__ import annotations

from pathlib import Path

import click

from ..pricing import format_day
from ..urls import LAYOUTS, THEMES, Urls
from . import (
    choice_option,
    find_book,
    open_catalog,
    output_option,
    public_base_url,
    public_options,
    public_urls,
    resolve_now,
)


@click.command("widget")
@click.argument("book", required=False)
@click.option("--shelf", is_flag=True, help="The shelf card (several books) instead of BOOK's.")
@click.option("--author", help="With --shelf: only this author's books (a slug).")
@click.option("--series", help="With --shelf: only this series, in reading order (a slug).")
@choice_option("--layout", LAYOUTS, "card")
@choice_option(
    "--theme",
    THEMES,
    "light",
    "auto follows the reader's light or dark setting (in browsers with light-dark()).",
)
@click.option("--quote", help="Which quote: 1..N, or 'none' (default: the featured one).")
@click.option("--formats", help="Formats to show, comma-separated, e.g. ebook,audiobook.")
@click.option("--cta", help="A call to action shown on the card (plain text, at most 120).")
@public_options(
    "Public URL for the links and cover (default: $STOREFRONT_BASE_URL, the catalog's "
    "site.base_url, or http://127.0.0.1:8000).",
)
@output_option("Write the snippet to this file instead of standard output.")
def widget(
    book,
    shelf,
    author,
    series,
    layout,
    theme,
    quote,
    formats,
    cta,
    base_url,
    output,
    catalog_path,
    now,
) -> None:
    """Print the static HTML snippet of BOOK's promo card (inline styles, no script).

    Paste it into WordPress's Custom HTML block. Its buy links are the tracked /go/
    links with src= set to the layout. Prices are those of --now (default: now):
    regenerate the snippet when a campaign starts or ends, or embed the live card
    with widget.js or the iframe instead.
    """
    from widgets.card import CardOptionError, build_card_view, parse_card, render_card_snippet

    catalog = open_catalog(catalog_path)
    if shelf or author or series:
        snippet = _shelf_snippet(catalog, book, author, series, base_url, now)
        _write(snippet, output)
        return
    if book is None:
        raise click.UsageError("name a BOOK, or give --shelf for the shelf card")
    found = find_book(catalog, book)
    try:
        layout, theme, options = parse_card(
            catalog, found, layout=layout, theme=theme, quote=quote, formats=formats, cta=cta
        )
    except CardOptionError as exc:
        raise click.UsageError(str(exc)) from None
    at = resolve_now(now)
    urls = public_urls(
        base_url, catalog, "the links point at {url}", when=" before pasting the snippet"
    )
    view = build_card_view(catalog, found, at, urls, layout, options)
    snippet = render_card_snippet(view, layout, theme, options)
    if view.valid_until is not None:
        tz = catalog.site.tz
        click.echo(
            f"note: these prices change on {format_day(view.valid_until, tz, catalog.site.locale)}"
            " (a campaign starts or ends): regenerate the snippet then",
            err=True,
        )
    _write(snippet, output)


def _shelf_snippet(catalog, book, author, series, base_url, now) -> str:
    from widgets.shelf import render_shelf_snippet

    from ..presentation_shelf import present_shelf

    if book is not None:
        raise click.UsageError("--shelf takes no BOOK: use --author or --series to choose")
    if author and series:
        raise click.UsageError("give --author or --series, not both")
    url = public_base_url(base_url, catalog)
    shelf = present_shelf(
        catalog, resolve_now(now), Urls(url), author_slug=author, series_slug=series, src="shelf"
    )
    if shelf is None:
        raise click.UsageError(f"no {'author' if author else 'series'} '{author or series}'")
    return render_shelf_snippet(shelf)


def _write(snippet: str, output: Path | None) -> None:
    if output is None:
        click.echo(snippet, nl=not snippet.endswith("\n"))
        return
    try:
        output.write_text(snippet, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"Wrote {output} ({len(snippet.encode()):,} bytes)", err=True)
