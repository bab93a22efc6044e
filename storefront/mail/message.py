"""Build one e-mail: a plain-text and an HTML part, with the headers mail systems expect.

Every header value is caller data (a book's title in a subject, an address from a form):
line breaks are folded into spaces here, so a value can never start a second header.

:class:`MessageTemplate` is the same message composed once per announcement as bytes:
a send of thousands fills in only what differs per reader (``To``, ``Date``,
``Message-ID``, ``List-Unsubscribe`` and the unsubscribe link in both parts), encoding
each part after the link is in, so nothing is cut by a quoted-printable line break.
"""

from __future__ import annotations

import binascii
import html as html_lib
import re
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


# ----------------------------------------------------------- one message, many readers

# Where the per-reader parts go in a template's bytes (each is replaced, never sent).
_READER_HEADER = "X-Storefront-Reader"
_TEXT_MARK = b"storefront-text-part-1b7e9c"
_HTML_MARK = b"storefront-html-part-1b7e9c"
MAX_URL = 500  # characters: a longer unsubscribe URL goes the slow way (compose)
# An address the template can put in ``To`` as it is: ASCII, no display name, no quoting.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9][A-Za-z0-9.-]{0,252}"
)
_PLAIN_URL = re.compile(r"[A-Za-z0-9._~:/?#@!$&'()*+;=%-]+")  # no space, comma, quote or <>
_MESSAGE_ID = re.compile(r"<[A-Za-z0-9._+=-]+@[A-Za-z0-9.-]+>")


@dataclass(frozen=True)
class MessageTemplate:
    """An announcement's message as bytes, composed once; :meth:`fill` makes one reader's.

    The bytes are what :func:`compose` and ``as_bytes`` make for the same message
    (headers encoded and folded by the ``email`` package, the same MIME structure),
    except that ``To``, ``Date``, ``Message-ID`` and ``List-Unsubscribe`` are written per
    reader and each body part is encoded per reader with ``placeholder`` replaced
    (quoted-printable through :func:`binascii.b2a_qp`, or 7bit when the part is short-lined
    ASCII). :meth:`build` and :meth:`fill` return None where this fast way cannot carry
    the message exactly (a non-ASCII sender or recipient address, an unusual URL): the
    caller composes that one with :func:`compose`.
    """

    pieces: tuple[bytes, bytes, bytes, bytes]  # head, to the text part, to the HTML, the end
    text: str
    html: str
    placeholder: str
    text_qp: bool
    html_qp: bool
    unsubscribe_mailto: str | None

    @classmethod
    def build(
        cls,
        *,
        subject: str,
        sender: str,
        text: str,
        html: str,
        placeholder: str,
        list_id: str,
        unsubscribe_mailto: str | None,
    ) -> MessageTemplate | None:
        """The template of a list message with ``placeholder`` for the unsubscribe URL."""
        mailto = one_line(unsubscribe_mailto) if unsubscribe_mailto else None
        if not parseaddr(sender)[1].isascii() or not (mailto or "").isascii():
            return None  # the transport has to rewrite address headers: compose each one
        msg = EmailMessage()
        msg["Subject"] = one_line(subject)
        msg["From"] = one_line(sender)
        msg[_READER_HEADER] = "1"
        ListHeaders(list_id, placeholder).apply(msg)
        del msg["List-Unsubscribe"]  # the reader's own, written by fill()
        text_qp, html_qp = _needs_qp(text), _needs_qp(html)
        cte = {True: "quoted-printable", False: "7bit"}
        msg.set_content(_TEXT_MARK.decode(), subtype="plain", cte=cte[text_qp])
        msg.add_alternative(_HTML_MARK.decode(), subtype="html", cte=cte[html_qp])
        data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
        boundary = msg.get_boundary()  # chosen by as_bytes, unique in the marks only
        if not boundary or boundary in text or boundary in html:
            return None
        head, _, rest = data.partition(f"{_READER_HEADER}: 1\r\n".encode())
        to_text, _, rest = rest.partition(_TEXT_MARK + b"\r\n")
        to_html, _, end = rest.partition(_HTML_MARK + b"\r\n")
        return cls((head, to_text, to_html, end), text, html, placeholder, text_qp, html_qp, mailto)

    def fill(self, *, to: str, msgid: str, unsubscribe_url: str, date: datetime) -> bytes | None:
        """One reader's message as bytes for ``sendmail``, or None (compose this one)."""
        if (
            len(to) > 254
            or not _PLAIN_ADDRESS.fullmatch(to)
            or len(unsubscribe_url) > MAX_URL
            or not _PLAIN_URL.fullmatch(unsubscribe_url)
            or not _MESSAGE_ID.fullmatch(msgid)
        ):
            return None
        targets = f"<{unsubscribe_url}>"
        if self.unsubscribe_mailto:
            targets += f",\r\n <{self.unsubscribe_mailto}>"
        reader = (
            f"To: {to}\r\nDate: {format_datetime(date)}\r\nMessage-ID: {msgid}\r\n"
            f"List-Unsubscribe: {targets}\r\n"
        )
        text = self.text.replace(self.placeholder, unsubscribe_url)
        html = self.html.replace(self.placeholder, html_lib.escape(unsubscribe_url, quote=True))
        head, to_text, to_html, end = self.pieces
        return b"".join(
            (
                head,
                reader.encode("ascii"),
                to_text,
                _encode_body(text, self.text_qp),
                to_html,
                _encode_body(html, self.html_qp),
                end,
            )
        )


def _needs_qp(body: str) -> bool:
    # 7bit only with room on every line for the longest URL the template puts in.
    return not (body.isascii() and all(len(line) < 990 - MAX_URL for line in body.splitlines()))


def _encode_body(body: str, qp: bool) -> bytes:
    data = "\r\n".join(body.splitlines()).encode("utf-8") + b"\r\n"
    if not qp:
        return data
    encoded = binascii.b2a_qp(data, istext=True)
    lines = encoded.split(b"\r\n")
    if max(map(len, lines)) <= QP_LINE:
        return encoded
    # b2a_qp lets a line reach 77 when its last space is encoded ("=20"): re-cut those.
    return b"\r\n".join(_qp_cut(line) if len(line) > QP_LINE else line for line in lines)


QP_LINE = 76  # RFC 2045: encoded lines of at most 76 characters


def _qp_cut(line: bytes) -> bytes:
    """A quoted-printable ``line`` cut with soft breaks (``=``), never inside an ``=XX``."""
    out = []
    while len(line) > QP_LINE:
        cut = QP_LINE - 1
        if line[cut - 1 : cut] == b"=":
            cut -= 1
        elif line[cut - 2 : cut - 1] == b"=":
            cut -= 2
        out.append(line[:cut] + b"=")
        line = line[cut:]
    out.append(line)
    return b"\r\n".join(out)
