"""``storefront readers announce`` and ``storefront readers send``: the desk's sends, for scripts.

``announce --campaign SLUG | --book SLUG [--at WHEN]`` writes the desk's draft and starts
sending it now (or schedules it); ``--dry-run`` prints the message instead. ``send``
delivers what the outbox holds until nothing is due (for cron), or keeps watching with
``--loop`` (a sender service beside servers that run none). Both read the settings,
the database and the signing key exactly as the app server does.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from . import catalog_option, first_line, open_catalog


def _context(catalog_path: Path | None):
    """``(mailing or None, outbox, catalog, urls, settings)`` as ``create_app`` would make them."""
    from ..app import DEFAULTS
    from ..desk.auth import AuthStore
    from ..mail.outbox import Outbox
    from ..mail.sender import Mailing
    from ..mail.settings import mail_settings
    from ..pricing import utcnow
    from ..settings import ensure_instance_folder, instance_folder, load_settings
    from ..storage import StorageError, database_url, make_engine
    from ..urls import DEFAULT_BASE_URL, Urls

    catalog = open_catalog(catalog_path)
    instance = instance_folder()
    settings = load_settings(DEFAULTS, instance)
    ensure_instance_folder(instance)
    urls = Urls(settings["BASE_URL"] or catalog.site.base_url or DEFAULT_BASE_URL)
    try:
        engine = make_engine(
            database_url(settings["DATABASE_URL"], instance), float(settings["DATABASE_TIMEOUT"])
        )
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    outbox = Outbox(engine)
    mail = mail_settings(settings)
    mailing = None
    if mail is not None:
        mailing = Mailing(
            outbox=outbox,
            settings=mail,
            catalog=lambda: catalog,
            urls=urls,
            # The key the app servers sign with: shared through the database.
            secret_key=settings["SECRET_KEY"] or AuthStore(instance, engine=engine).secret_key(),
            clock=utcnow,
        )
    return mailing, outbox, catalog, urls, settings


NOT_CONFIGURED = (
    "mail is not configured: set STOREFRONT_SMTP_URL and STOREFRONT_MAIL_FROM (docs/readers.md)"
)


def parse_when(value: str, tz) -> datetime:
    """``2026-12-21T09:00`` (the site's time zone), with an offset, or ``now``."""
    from ..pricing import utcnow

    text = value.strip()
    if text.lower() == "now":
        return utcnow()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is not a moment: write 2026-12-21T09:00 (the site's time zone), "
            "2026-12-21T09:00-07:00 or now",
            param_hint="--at",
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


@click.command("announce")
@click.option("--campaign", "campaign", metavar="SLUG", help="Announce this sale.")
@click.option("--book", "book", metavar="SLUG", help="Announce this book.")
@click.option("--at", "at", metavar="WHEN", help="Send then (ISO 8601; default: now).")
@click.option("--dry-run", is_flag=True, help="Print the message; store and send nothing.")
@catalog_option
def announce(campaign, book, at, dry_run, catalog_path) -> None:
    """Write the desk's draft for a sale or a book and send it to readers (now or --at)."""
    from ..mail.announce import DraftError, draft_for
    from ..pricing import utcnow

    if bool(campaign) == bool(book):
        raise click.UsageError("name one: --campaign SLUG or --book SLUG")
    mailing, outbox, catalog, urls, _ = _context(catalog_path)
    now = utcnow()
    kind, ref = ("campaign", campaign) if campaign else ("book", book)
    try:
        draft = draft_for(catalog, urls, now, kind, ref)
    except DraftError as exc:
        raise click.ClickException(str(exc)) from None
    when = parse_when(at, catalog.site.tz) if at else None
    if dry_run:
        from ..mail.render import render_announcement

        mail = render_announcement(
            draft.markdown, draft.subject, catalog=catalog, urls=urls, campaign=draft.campaign
        )
        click.echo(f"Subject: {mail.subject}\n")
        click.echo(mail.text)
        for warning in mail.warnings:
            click.echo(f"warning: {warning}", err=True)
        return
    if mailing is None:
        raise click.ClickException(NOT_CONFIGURED)
    try:
        _queue(mailing, outbox, catalog, draft, when, now)
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"the database is unavailable ({first_line(exc)}); nothing was queued"
        ) from None


def _queue(mailing, outbox, catalog, draft, when, now) -> None:
    """Store the draft, then schedule it or start it now; say what happened."""
    announcement_id = outbox.create(draft, now)
    if when is not None and when > now:
        outbox.schedule(announcement_id, when, now)
        shown = when.astimezone(catalog.site.tz).strftime("%Y-%m-%d %H:%M %Z")
        click.echo(f"announcement {announcement_id}: “{draft.subject}” scheduled for {shown}")
        return
    count = mailing.start(announcement_id)
    click.echo(
        f"announcement {announcement_id}: “{draft.subject}” queued for {count} reader(s); "
        "the servers' sender (or `storefront readers send`) delivers it"
    )


@click.command("send")
@click.option(
    "--loop", is_flag=True, help="Keep watching the outbox (a sender service), until stopped."
)
@catalog_option
def send(loop, catalog_path) -> None:
    """Deliver what the outbox holds: scheduled sends that are due, then every waiting message."""
    from ..mail.sender import Sender

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    mailing, _, _, _, settings = _context(catalog_path)
    if mailing is None:
        raise click.ClickException(NOT_CONFIGURED)
    sender = Sender(mailing)
    interval = float(settings.get("MAIL_SEND_INTERVAL") or 5.0)
    total = 0
    try:
        while True:
            total += sender.run_until_idle()
            if not loop:
                break
            time.sleep(interval)
    except KeyboardInterrupt:  # pragma: no cover - a person stopping the service
        pass
    except SQLAlchemyError as exc:
        # Nothing is lost: what was not sent waits in the outbox for the next run.
        raise click.ClickException(
            f"the database is unavailable ({first_line(exc)}); {total} message(s) handled"
        ) from None
    click.echo(f"{total} message(s) handled")
    if sender.trouble:
        raise click.ClickException(
            f"sending paused: {sender.trouble}; what is left waits in the outbox"
        )
