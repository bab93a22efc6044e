"""One announcement composed once, filled in per reader: the same message as composing each.

:class:`~storefront.mail.message.MessageTemplate` makes a reader's message as bytes; each
is parsed with ``email`` and compared with what :func:`~storefront.mail.message.compose`
makes for the same reader: every header, and each part's decoded content. Then a real
send through aiosmtpd: plain addresses go the fast way, an internationalised one is
composed in full (SMTPUTF8), and every message arrives whole.
"""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy

import pytest

from storefront.mail.message import ListHeaders, MessageTemplate, compose
from storefront.mail.render import UNSUBSCRIBE
from storefront.mail.sender import MAILING, Sender

from .test_outbox import BASE, SENDER, add_readers, announce, links_in, mail_app  # noqa: F401

LIST_ID = "Zweig Books <readers.books.example.org>"
MAILTO = "mailto:news@books.example.org?subject=unsubscribe"
WHEN = datetime(2027, 1, 10, 9, 30, tzinfo=UTC)
LINK = f"{BASE}/readers/unsubscribe/" + "t0ken.ABC-def_" * 8
TEXT = (
    "Winter Light — 40 % off, €2.99 = a bargain   \n"
    ".a line that starts with a dot\nFrom the author\n"
    + "long " * 60
    + f"\nUnsubscribe: {UNSUBSCRIBE}\n"
)
HTML = (
    '<html><body><p style="color: #333; font-family: Georgia, serif">'
    + "Ünïcode and a long line " * 20
    + f'</p><p><a href="{UNSUBSCRIBE}" style="color:#06c">Unsubscribe</a></p></body></html>'
)
SUBJECT = "Winter Light at 40% off — for a very short time only, which is a long subject line"


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)


def template(text=TEXT, html=HTML, sender=SENDER) -> MessageTemplate | None:
    return MessageTemplate.build(
        subject=SUBJECT,
        sender=sender,
        text=text,
        html=html,
        placeholder=UNSUBSCRIBE,
        list_id=LIST_ID,
        unsubscribe_mailto=MAILTO,
    )


def composed(to: str, msgid: str, text=TEXT, html=HTML) -> email.message.EmailMessage:
    msg = compose(
        subject=SUBJECT,
        sender=SENDER,
        to=to,
        text=text.replace(UNSUBSCRIBE, LINK),
        html=html.replace(UNSUBSCRIBE, LINK),
        list_headers=ListHeaders(LIST_ID, LINK, MAILTO),
        date=WHEN,
    )
    del msg["Message-ID"]
    msg["Message-ID"] = msgid
    return parse(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))


@pytest.mark.parametrize(
    ("text", "html", "ctes"),
    [
        (TEXT, HTML, ["quoted-printable", "quoted-printable"]),
        (
            f"Short ASCII lines.\n{UNSUBSCRIBE}\n",
            f'<p><a href="{UNSUBSCRIBE}">Unsubscribe</a></p>',
            ["7bit", "7bit"],
        ),
    ],
)
def test_a_filled_template_reads_as_the_composed_message(text, html, ctes):
    msgid = "<storefront.abc.42@books.example.org>"
    data = template(text, html).fill(
        to="reader@example.org", msgid=msgid, unsubscribe_url=LINK, date=WHEN
    )
    body = data.partition(b"\r\n\r\n")[2]
    assert all(len(line) <= 76 for line in body.split(b"\r\n")) or ctes == ["7bit", "7bit"]
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only, as SMTP wants
    fast, slow = parse(data), composed("reader@example.org", msgid, text, html)
    assert fast.defects == [] and all(not p.defects for p in fast.walk())
    names = [
        "Subject", "From", "To", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
        "List-Unsubscribe-Post", "MIME-Version", "Content-Type",
    ]  # fmt: skip
    assert sorted(fast.keys()) == sorted(slow.keys()) == sorted(names)
    for name in names[:-1]:
        assert str(fast[name]) == str(slow[name]), name
    assert fast["List-Unsubscribe"] == f"<{LINK}>, <{MAILTO}>"
    assert [p.get_content_type() for p in fast.iter_parts()] == ["text/plain", "text/html"]
    assert [p["Content-Transfer-Encoding"] for p in fast.iter_parts()] == ctes
    for mine, theirs in zip(fast.iter_parts(), slow.iter_parts(), strict=True):
        assert mine.get_content() == theirs.get_content()
        assert mine.get_content_charset() == theirs.get_content_charset() == "utf-8"
    assert UNSUBSCRIBE not in fast.get_body(("plain",)).get_content()
    assert LINK in fast.get_body(("plain",)).get_content()
    assert f'href="{LINK}"' in fast.get_body(("html",)).get_content()


def test_what_the_template_cannot_carry_exactly_is_left_to_compose():
    assert template(sender="Zoë <zoë@exämple.org>") is None  # headers to rewrite per server
    filled = template()
    args = {"msgid": "<a.1@books.example.org>", "unsubscribe_url": LINK, "date": WHEN}
    assert filled.fill(to="reader@example.org", **args) is not None
    for to in ("ünïcode@exämple.org", "a@b.org\r\nBcc: x@y.org", "Name <a@b.org>", "a b@c.org"):
        assert filled.fill(to=to, **args) is None, to
    assert filled.fill(to="a@b.org", **{**args, "unsubscribe_url": LINK + "x" * 500}) is None
    assert filled.fill(to="a@b.org", **{**args, "unsubscribe_url": LINK + ">\r\nX: y"}) is None
    assert filled.fill(to="a@b.org", **{**args, "msgid": "<a\r\nX: y@b>"}) is None


def test_a_send_mixes_the_fast_way_and_composing_and_every_message_arrives_whole(
    mail_app,  # noqa: F811
    smtp_server,
):
    engine = mail_app.extensions["outbox"].engine
    plain = [f"reader{i}@example.org" for i in range(5)]
    add_readers(engine, [*plain, "ünïcode@exämple.org"])
    mailing = mail_app.extensions[MAILING]
    announcement_id = announce(mail_app)
    assert mailing.start(announcement_id) == 6
    assert Sender(mailing).run_until_idle() == 6
    received = smtp_server.wait_for(6)
    by_address = {m.rcpt_tos[0]: m for m in received}
    assert sorted(by_address) == sorted([*plain, "ünïcode@exämple.org"])
    assert by_address["ünïcode@exämple.org"].smtputf8  # composed in full, SMTPUTF8
    assert not any(by_address[a].smtputf8 for a in plain)
    unsubscribe = set()
    for address, mail in by_address.items():
        msg = mail.message
        assert msg["To"].addresses[0].addr_spec == address
        for name in ("Date", "Message-ID", "List-Id", "List-Unsubscribe-Post", "Subject"):
            assert msg[name], name
        https = msg["List-Unsubscribe"].split(",")[0].strip().strip("<>")
        hrefs, text_urls = links_in(msg)
        assert hrefs[-1] == https and https in text_urls
        unsubscribe.add(https)
    assert len(unsubscribe) == 6  # each reader's own link, in the headers and both parts
