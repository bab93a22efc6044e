"""Mail settings, messages and the SMTP transport, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import pytest

from storefront.mail import (
    ListHeaders,
    MailSettingsError,
    MailSetupError,
    PermanentMailError,
    SmtpTransport,
    TemporaryMailError,
    UnsupportedAddressError,
    compose,
    mail_settings,
)
from storefront.settings import SettingsError
from tests.smtp import SmtpServer

SENDER = "Robert Zimmerman <news@books.example.org>"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", ("mail.example.org", 587, "starttls", None, None)),
        ("smtps://u:p%40ss@mail.example.org", ("mail.example.org", 465, "tls", "u", "p@ss")),
        ("smtp://u:p@mail.example.org:2525", ("mail.example.org", 2525, "starttls", "u", "p")),
        ("smtp://127.0.0.1:25?security=none", ("127.0.0.1", 25, "none", None, None)),
    ],
)
def test_smtp_url_is_read_into_settings(url, expected):
    s = mail_settings({"SMTP_URL": url, "MAIL_FROM": SENDER, "MAIL_RATE": 5})
    assert (s.host, s.port, s.security, s.username, s.password) == expected
    assert s.sender_address == "news@books.example.org" and s.rate == 5
    assert "p@ss" not in repr(s)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"SMTP_URL": "http://mail.example.org"}, "must start with smtp://"),
        ({"SMTP_URL": "smtp://"}, "names no host"),
        ({"SMTP_URL": "smtp://h:99999"}, "is not a URL"),
        ({"SMTP_URL": "smtp://h?security=maybe"}, "security='maybe'"),
        ({"SMTP_URL": "smtp://h?tls=1"}, "unknown parameter 'tls'"),
        ({"SMTP_URL": "smtp://:secret@h"}, "password but no user"),
        ({"MAIL_FROM": "not an address"}, "is not an e-mail address"),
        ({"MAIL_FROM": "a@b.org\nBcc: x@y.org"}, "one line"),
        ({"MAIL_RATE": "fast"}, "is not a number"),
        ({"MAIL_RATE": 0}, "more than 0"),
    ],
)
def test_bad_mail_settings_say_which_and_why(config, message):
    settings = {"SMTP_URL": "smtp://u:secret@mail.example.org", "MAIL_FROM": SENDER, **config}
    with pytest.raises(MailSettingsError) as err:
        mail_settings(settings)
    assert message in str(err.value)
    assert "secret" not in str(err.value) or "secret@" not in str(err.value)
    assert isinstance(err.value, SettingsError)


def test_no_url_or_no_sender_means_no_mail():
    assert mail_settings({"SMTP_URL": None, "MAIL_FROM": SENDER}) is None
    assert mail_settings({"SMTP_URL": "smtp://h", "MAIL_FROM": ""}) is None


def test_composed_message_has_both_parts_and_list_headers():
    msg = compose(
        subject="Sale:\r\nBcc: victim@example.org",
        sender=SENDER,
        to="ann@example.org",
        text="Hello",
        html="<p>Héllo</p>",
        list_headers=ListHeaders(
            "Genesis readers <readers.books.example.org>",
            "https://books.example.org/readers/unsubscribe/t",
            "mailto:news@books.example.org?subject=unsubscribe",
        ),
    )
    from email import policy
    from email.parser import BytesParser

    parsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    assert parsed["Bcc"] is None and "\n" not in parsed["Subject"]
    assert parsed.get_content_type() == "multipart/alternative"
    kinds = [p.get_content_type() for p in parsed.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Héllo</p>"
    assert parsed["Message-ID"].endswith("@books.example.org>")
    assert parsed["Date"].datetime.tzinfo is not None
    assert parsed["List-Id"] == "Genesis readers <readers.books.example.org>"
    assert parsed["List-Unsubscribe"] == (
        "<https://books.example.org/readers/unsubscribe/t>, "
        "<mailto:news@books.example.org?subject=unsubscribe>"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def _settings(server: SmtpServer):
    return mail_settings({"SMTP_URL": server.url, "MAIL_FROM": SENDER})


def _msg(to: str):
    return compose(subject="Hi", sender=SENDER, to=to, text="t", html="<p>h</p>")


def test_transport_sends_many_on_one_connection(smtp_server):
    with SmtpTransport(_settings(smtp_server)) as transport:
        for n in range(5):
            transport.send(_msg(f"r{n}@example.org"))
    received = smtp_server.wait_for(5)
    assert [m.rcpt_tos for m in received] == [[f"r{n}@example.org"] for n in range(5)]
    assert received[0].mail_from == "news@books.example.org"
    assert smtp_server.connections == 1


def test_refusals_are_permanent_or_temporary(smtp_server):
    smtp_server.answer("rcpt", 550, "5.1.1 no such user", address="gone@example.org")
    smtp_server.answer("rcpt", 452, "4.2.2 mailbox full", address="full@example.org")
    smtp_server.answer("data", 554, "5.7.1 rejected", times=1)
    smtp_server.answer("data", 451, "4.3.0 try later", times=1)
    with SmtpTransport(_settings(smtp_server)) as transport:
        with pytest.raises(PermanentMailError) as err:
            transport.send(_msg("gone@example.org"))
        assert err.value.code == 550 and "no such user" in str(err.value)
        with pytest.raises(TemporaryMailError) as err:
            transport.send(_msg("full@example.org"))
        assert err.value.code == 452 and not isinstance(err.value, PermanentMailError)
        with pytest.raises(PermanentMailError):
            transport.send(_msg("a@example.org"))
        with pytest.raises(TemporaryMailError):
            transport.send(_msg("a@example.org"))
        transport.send(_msg("a@example.org"))  # the same connection still works
    assert [m.rcpt_tos for m in smtp_server.wait_for(1)] == [["a@example.org"]]


def test_dropped_connection_is_temporary_and_the_next_send_reconnects(smtp_server):
    smtp_server.drop("data", times=1)
    with SmtpTransport(_settings(smtp_server)) as transport:
        with pytest.raises(TemporaryMailError, match="connection lost"):
            transport.send(_msg("a@example.org"))
        transport.send(_msg("b@example.org"))
    assert [m.rcpt_tos for m in smtp_server.wait_for(1)] == [["b@example.org"]]
    assert smtp_server.connections == 2


def test_unreachable_server_is_temporary():
    server = SmtpServer()  # never started: nothing listens on its port
    with pytest.raises(TemporaryMailError, match="cannot connect"):
        SmtpTransport(_settings(server), timeout=2).send(_msg("a@example.org"))


def test_login_and_a_refused_login():
    server = SmtpServer(auth=("author", "s3cret")).start()
    try:
        with SmtpTransport(_settings(server)) as transport:
            transport.send(_msg("a@example.org"))
        assert server.logins == [("author", "s3cret")]
        bad = mail_settings(
            {"SMTP_URL": server.url.replace("s3cret", "wrong"), "MAIL_FROM": SENDER}
        )
        with pytest.raises(MailSetupError, match="refused the login") as err:
            SmtpTransport(bad).send(_msg("a@example.org"))
        assert not isinstance(err.value, PermanentMailError)  # never suppresses a reader
    finally:
        server.stop()


def test_starttls_required_but_not_offered_is_a_setup_error(smtp_server):
    settings = mail_settings(
        {"SMTP_URL": smtp_server.url.replace("?security=none", ""), "MAIL_FROM": SENDER}
    )
    with pytest.raises(MailSetupError, match="does not offer STARTTLS"):
        SmtpTransport(settings).send(_msg("a@example.org"))


def test_internationalised_address_uses_smtputf8_where_offered(smtp_server):
    with SmtpTransport(_settings(smtp_server)) as transport:
        transport.send(_msg("ünïcode@exämple.org"))
    [mail] = smtp_server.wait_for(1)
    assert mail.smtputf8 and mail.rcpt_tos == ["ünïcode@exämple.org"]
    assert mail.message["To"].addresses[0].addr_spec == "ünïcode@exämple.org"


def test_internationalised_address_is_refused_clearly_without_smtputf8(smtp_server):
    smtp_server.smtputf8 = False
    with SmtpTransport(_settings(smtp_server)) as transport:
        with pytest.raises(UnsupportedAddressError, match="no SMTPUTF8"):
            transport.send(_msg("ünïcode@exämple.org"))
        # An ASCII local part at an internationalised domain goes out in IDNA form.
        transport.send(_msg("reader@exämple.org"))
    [mail] = smtp_server.wait_for(1)
    assert not mail.smtputf8 and mail.rcpt_tos == ["reader@xn--exmple-cua.org"]
    assert mail.message["To"].addresses[0].domain == "xn--exmple-cua.org"
