"""``storefront flyers``: regenerate every print piece of a campaign.

A thin command over :func:`widgets.print.build_campaign` (the same call the
author's desk makes): it parses the options, shows a progress bar and prints
what was built, skipped and failed.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import click

from widgets.print import FlyerError, build_campaign, piece_names

from . import open_catalog, proof_urls, public_options, resolve_now


@click.command("flyers")
@click.option(
    "--campaign",
    "campaign_slug",
    metavar="SLUG",
    help="Build the campaign's pieces, as on its first day.",
)
@click.option(
    "--book", "book_slug", metavar="BOOK", help="Only this book (default: every book in scope)."
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the pieces (created if missing).",
)
@click.option(
    "--piece",
    "pieces",
    multiple=True,
    type=click.Choice(piece_names()),
    help="Only this piece (repeat for several; default: all).",
)
@click.option(
    "-j",
    "--jobs",
    "workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes (default: one per CPU core).",
)
@click.option("--force", is_flag=True, help="Rebuild every piece, even unchanged ones.")
@public_options(
    "Public URL the QR codes and links point at (default: $STOREFRONT_BASE_URL or "
    "site.base_url; without one every page is marked PROOF)."
)
def flyers(
    catalog_path, campaign_slug, book_slug, out_dir, pieces, workers, force, base_url, now
) -> None:
    """Build every print piece (flyers, postcard, bookmarks, social image) into DIR.

    With --campaign the pieces show the campaign (its sale price and end date);
    without, they show the prices at --now (default: now). Unchanged pieces are
    skipped. --base-url (or STOREFRONT_BASE_URL, or site.base_url) is the public
    address in QR codes and links; without one every page is marked PROOF.
    """
    started = time.perf_counter()
    catalog = open_catalog(catalog_path)
    at = resolve_now(now)
    urls = proof_urls(base_url, catalog)
    with ExitStack() as stack:
        bars: list = []

        def progress(step: int, total: int) -> None:
            if not bars:
                bar = click.progressbar(length=total, label="Building pieces", file=sys.stderr)
                bars.append(stack.enter_context(bar))
            bars[0].update(step)

        try:
            summary = build_campaign(
                catalog,
                out_dir,
                urls=urls,
                campaign=campaign_slug,
                book=book_slug,
                pieces=pieces,
                at=at,
                workers=workers or os.cpu_count() or 1,
                force=force,
                progress=progress,
            )
        except FlyerError as exc:
            if exc.option:
                raise click.BadParameter(str(exc), param_hint=f"--{exc.option}") from None
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(
                f"cannot write to {out_dir}: {exc.strerror or exc}"
            ) from None
    summary.seconds = time.perf_counter() - started
    for name in summary.built:
        click.echo(f"built    {name}")
    for name in summary.skipped:
        click.echo(f"skipped  {name}")
    for name, reason in summary.failed:
        click.echo(f"FAILED   {name}: {reason}", err=True)
    click.echo(
        f"{len(summary.built)} built, {len(summary.skipped)} skipped, {len(summary.failed)} failed "
        f"in {summary.seconds:.2f} s ({summary.workers} worker(s)) -> {out_dir}"
    )
    if not summary.ok:
        raise SystemExit(1)
