"""``storefront readers``: the reader list's counts, export, import and erasure.

``storefront readers`` alone prints how many readers have each status. The subcommands
take the same settings as the app (``STOREFRONT_DATABASE_URL``, the instance folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from ..readers import AddressError, counts, normalize_email
from ..readers.records import forget as forget_reader
from ..readers.records import scrub
from ..readers.transfer import (
    MAX_IMPORT_BYTES,
    ImportFormatError,
    export_rows,
    import_csv,
    write_export,
)
from ..storage import StorageError, database_url, make_engine, migrate
from . import announce as announce_commands
from . import catalog_option, open_catalog, output_option
from .stats import click_settings


def open_engine():
    """The database ``create_app`` would use, migrated; a clean error if it cannot be."""
    url, instance = click_settings()
    try:
        engine = make_engine(database_url(url, instance), timeout=5.0)
        migrate(engine)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        raise click.ClickException(f"the database is unavailable: {exc}") from None
    return engine


@click.group("readers", invoke_without_command=True)
@catalog_option
@click.pass_context
def readers(ctx: click.Context, catalog_path: Path | None) -> None:
    """The reader list: how many are confirmed, pending, unsubscribed and suppressed."""
    if catalog_path is not None:
        open_catalog(catalog_path)  # the same check (and message) as every command
    if ctx.invoked_subcommand is not None:
        return
    engine = open_engine()
    try:
        with engine.connect() as conn:
            found = counts(conn)
    finally:
        engine.dispose()
    width = max(len(k) for k in found)
    for status, number in found.items():
        click.echo(f"{status:<{width}}  {number}")


@readers.command("export")
@output_option("A file to write (default: standard output).")
def export(output: Path | None) -> None:
    """Write every reader and their consent records as CSV."""
    engine = open_engine()
    try:
        with engine.connect() as conn:
            if output is None:
                count = write_export(export_rows(conn), sys.stdout)
            else:
                with output.open("w", encoding="utf-8", newline="") as out:
                    count = write_export(export_rows(conn), out)
    finally:
        engine.dispose()
    click.echo(f"{count} reader(s) exported.", err=True)


@readers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(file: Path) -> None:
    """Import a MailChimp or MailerLite CSV export: the confirmed readers, marked by source."""
    if file.stat().st_size > MAX_IMPORT_BYTES:
        raise click.ClickException(f"{file}: larger than {MAX_IMPORT_BYTES // 2**20} MB")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(f"{file}: not UTF-8 text (export the list as CSV)") from None
    engine = open_engine()
    try:
        with engine.begin() as conn:
            report = import_csv(conn, text, name=file.name)
    except ImportFormatError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    for problem in report.invalid:
        click.echo(f"{file.name}: {problem}", err=True)
    click.echo(
        f"{report.imported} imported from {report.source}; {report.already} already on the list; "
        f"{report.not_confirmed} not confirmed or left; {report.forgotten} forgotten; "
        f"{len(report.invalid)} not an address."
    )


@readers.command("forget")
@click.argument("email")
def forget(email: str) -> None:
    """Erase EMAIL everywhere; keep a one-way hash so no import brings it back."""
    try:
        address = normalize_email(email)
    except AddressError as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL") from None
    engine = open_engine()
    try:
        with engine.begin() as conn:
            found = forget_reader(conn, address)
        scrub(engine)
    finally:
        engine.dispose()
    if found:
        click.echo(f"{address}: erased; a one-way hash is kept so an import skips it.")
    else:
        click.echo(f"{address}: not on the list; its hash is kept so an import skips it.")


# Announcements (storefront/commands/announce.py): `readers announce` and `readers send`.
for command in (announce_commands.announce, announce_commands.send):
    readers.add_command(command)
