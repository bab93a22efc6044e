"""``storefront check``: validate the catalog, its fonts, covers and audio samples."""

from __future__ import annotations

from pathlib import Path

import click

from . import catalog_option, open_catalog


@click.command("check")
@catalog_option
def check(catalog_path: Path | None) -> None:
    """Validate the catalog: exit 0 with a summary, or 1 listing every problem."""
    catalog = open_catalog(catalog_path)
    from widgets.print.checks import print_problems  # fonts and covers, before a print run

    if problems := print_problems(catalog):
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(problems)} problem(s) in the catalog.", err=True)
        raise SystemExit(1)
    for warning in catalog.warnings:
        click.echo(f"warning: {warning}", err=True)
    offers = sum(len(b.offers) for b in catalog.books)
    for book in catalog.books:  # the audio samples, as mutagen read them
        for edition in book.editions:
            if (sample := edition.audio_sample) is not None:
                name = sample.path.relative_to(catalog.path.parent.resolve()).as_posix()
                click.echo(
                    f"{book.slug}: audio sample {name} "
                    f"({sample.extension.upper()}, {sample.seconds:.1f} s)"
                )
    click.echo(
        f"{catalog.path.name}: OK ({len(catalog.books)} book(s), {offers} offer(s), "
        f"{len(catalog.vendors)} vendor(s), {len(catalog.campaigns)} campaign(s), "
        f"{len(catalog.support)} support method(s)); version {catalog.version}"
    )
    line = reader_list_line()
    click.echo(line)
    if line.startswith("readers: the sign-up form is shown") and not catalog.site.postal_address:
        click.echo(
            "warning: site.postal_address: the reader list is on, but the catalog has no "
            "postal address; US law (CAN-SPAM) asks for one at the foot of every announcement",
            err=True,
        )


def reader_list_line() -> str:
    """Whether the sign-up form is shown, and why not (a bad mail setting fails here)."""
    from ..app import DEFAULTS
    from ..mail.settings import mail_settings, missing_settings
    from ..settings import instance_folder, load_settings

    config = load_settings(DEFAULTS, instance_folder())
    mail = mail_settings(config)  # a MailSettingsError is one line and exit 1
    if mail is None:
        unset = " and ".join(missing_settings(config))
        return f"readers: the sign-up form is hidden: {unset} not set (see docs/readers.md)"
    return (
        f"readers: the sign-up form is shown; confirmations go through {mail.host}:{mail.port} "
        f"({mail.security}) from {mail.sender}"
    )
