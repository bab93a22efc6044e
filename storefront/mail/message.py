"""Build one e-mail: a plain-text and an HTML part, with the headers mail systems expect.

Every header value is caller data (a book's title in a subject, an address from a form):
line breaks are folded into spaces here, so a value can never start a second header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr


@dataclass(frozen=True)
class ListHeaders:
    """RFC 2369 and RFC 8058 headers of list mail.

    ``list_id`` is the list's name and id, e.g. ``Genesis readers <readers.example.org>``
    (a bare ``readers.example.org`` is put in angle brackets); ``unsubscribe_https`` the
    reader's one-click URL; ``unsubscribe_mailto`` a ``mailto:`` URL, or ``None``.
    """

    list_id: str
    unsubscribe_https: str
    unsubscribe_mailto: str | None = None

    def apply(self, msg: EmailMessage) -> None:
        list_id = one_line(self.list_id)
        if "<" not in list_id:
            list_id = f"<{list_id}>"
        msg["List-Id"] = list_id
        targets = [f"<{one_line(self.unsubscribe_https)}>"]
        if self.unsubscribe_mailto:
            targets.append(f"<{one_line(self.unsubscribe_mailto)}>")
        msg["List-Unsubscribe"] = ", ".join(targets)
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"


def one_line(value: str) -> str:
    """``value`` with every run of line breaks and control characters made one space."""
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())


def compose(
    *,
    subject: str,
    sender: str,
    to: str,
    text: str,
    html: str,
    list_headers: ListHeaders | None = None,
    date: datetime | None = None,
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A ``multipart/alternative`` message: ``text`` first, then ``html`` (the preferred part).

    ``Message-ID`` is made in the sender's domain; ``Date`` is ``date`` (default now, UTC).
    Raises ``ValueError`` for an address the ``email`` package cannot put in a header.
    """
    msg = EmailMessage()
    msg["Subject"] = one_line(subject)
    msg["From"] = one_line(sender)
    msg["To"] = one_line(to)
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=_ascii_domain(domain))
    if list_headers is not None:
        list_headers.apply(msg)
    for name, value in (extra_headers or {}).items():
        msg[name] = one_line(value)
    msg.set_content(text, subtype="plain", cte=_cte(text))
    msg.add_alternative(html, subtype="html", cte=_cte(html))
    return msg


def _cte(body: str) -> str:
    # ASCII bodies stay readable; others are quoted-printable (safe through every relay).
    return (
        "7bit"
        if body.isascii() and all(len(line) < 990 for line in body.splitlines())
        else ("quoted-printable")
    )


def _ascii_domain(domain: str | None) -> str | None:
    if not domain:
        return None
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
