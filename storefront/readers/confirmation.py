"""The confirmation e-mail: one link to a page whose button confirms the address."""

from __future__ import annotations

from datetime import UTC, datetime

from ..catalog import Catalog
from ..mail import MailSettings, SmtpTransport, compose
from ..templating import render
from ..urls import Urls
from .tokens import confirm_token

TIMEOUT = 10.0  # seconds: a reader is waiting for the answer


def build_confirmation(
    mail: MailSettings,
    catalog: Catalog,
    urls: Urls,
    secret_key: str,
    reader_id: int,
    email: str,
    book: str | None = None,
    now: datetime | None = None,
):
    """The confirmation message for a reader (an ``EmailMessage``)."""
    site = catalog.site
    chosen = next((b for b in catalog.books if b.slug == book), None) if book else None
    context = dict(
        site=site,
        book=chosen,
        confirm_url=urls.reader_confirm(confirm_token(secret_key, reader_id, now)),
        site_url=urls.index(absolute=True),
    )
    return compose(
        subject=f"Please confirm: news from {site.author}",
        sender=mail.sender,
        to=email,
        text=render("readers/confirm_mail.txt", **context),
        html=render("readers/confirm_mail.html", **context),
        date=now or datetime.now(UTC),
        extra_headers={"Auto-Submitted": "auto-generated"},
    )


def send_confirmation(
    mail: MailSettings,
    catalog: Catalog,
    urls: Urls,
    secret_key,
    reader_id,
    email,
    book=None,
    now=None,
) -> str:
    """Build and send the confirmation e-mail; raises a ``MailError`` when it did not go."""
    msg = build_confirmation(mail, catalog, urls, secret_key, reader_id, email, book, now)
    with SmtpTransport(mail, timeout=TIMEOUT) as transport:
        return transport.send(msg)
