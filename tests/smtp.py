"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd), that collects what it receives.

Use the ``smtp_server`` fixture (tests/conftest.py)::

    def test_x(smtp_server, make_app):
        app = make_app(SMTP_URL=smtp_server.url, MAIL_FROM="news@books.example.org")
        ...
        [mail] = smtp_server.wait_for(1)
        mail.message["Subject"]             # an email.message.EmailMessage, parsed

It can be made to misbehave, one rule at a time (first match wins, ``times`` counts down):

    smtp_server.answer("rcpt", 550, "5.1.1 no such user", address="gone@example.org")
    smtp_server.answer("data", 451, "4.3.0 try later", times=1)
    smtp_server.drop("data", times=1)       # close the connection instead of answering
    smtp_server.smtputf8 = False            # stop offering SMTPUTF8 (RFC 6531)

``server.connections`` counts the connections it accepted; ``server.logins`` the
(user, password) pairs it accepted (``make_smtp_server(auth=("u", "p"))``).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, Parser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

STAGES = ("mail", "rcpt", "data")


@dataclass
class Received:
    """One message as the server accepted it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    smtputf8: bool  # the client asked for SMTPUTF8 on MAIL FROM
    message: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        if self.smtputf8:  # RFC 6532: headers in raw UTF-8, which BytesParser takes as ASCII
            self.message = Parser(policy=policy.default).parsestr(self.data.decode("utf-8"))
        else:
            self.message = BytesParser(policy=policy.default).parsebytes(self.data)

    def part(self, subtype: str) -> str:
        """The decoded text of the ``text/<subtype>`` part."""
        found = [p for p in self.message.walk() if p.get_content_type() == f"text/{subtype}"]
        assert len(found) == 1, f"expected one text/{subtype} part, found {len(found)}"
        return found[0].get_content()


@dataclass
class Rule:
    stage: str
    code: int | None  # None: drop the connection
    text: str
    address: str | None
    times: int | None

    def matches(self, stage: str, address: str | None) -> bool:
        if self.stage != stage or self.times == 0:
            return False
        return self.address is None or (address or "").lower() == self.address.lower()


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_EHLO(self, smtp: SMTP, session, envelope, hostname, responses):
        session.host_name = hostname
        self.server.connections += 1
        if not self.server.smtputf8:
            responses = [r for r in responses if "SMTPUTF8" not in r.upper()]
        return responses

    async def handle_MAIL(self, smtp: SMTP, session, envelope, address, options):
        if (answer := self.server._rule("mail", address, smtp)) is not None:
            return answer
        if "SMTPUTF8" in [o.upper() for o in options] and not self.server.smtputf8:
            return "555 5.5.4 SMTPUTF8 not offered"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, smtp: SMTP, session, envelope, address, options):
        if (answer := self.server._rule("rcpt", address, smtp)) is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session, envelope):
        if (answer := self.server._rule("data", None, smtp)) is not None:
            return answer
        mail = Received(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            envelope.original_content or envelope.content,
            "SMTPUTF8" in [o.upper() for o in envelope.mail_options],
        )
        with self.server._lock:
            self.server.messages.append(mail)
            self.server._arrived.notify_all()
        return "250 2.0.0 queued"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 in a thread; ``url`` is a ``STOREFRONT_SMTP_URL`` for it."""

    def __init__(self, *, smtputf8: bool = True, auth: tuple[str, str] | None = None):
        self.smtputf8 = smtputf8
        self.auth = auth
        self.messages: list[Received] = []
        self.rules: list[Rule] = []
        self.connections = 0
        self.logins: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.host = "127.0.0.1"
        self.port = _free_port()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        user = f"{self.auth[0]}:{self.auth[1]}@" if self.auth else ""
        return f"smtp://{user}{self.host}:{self.port}?security=none"

    def start(self) -> SmtpServer:
        kwargs: dict = {"enable_SMTPUTF8": True, "decode_data": False}
        if self.auth is not None:
            kwargs.update(auth_require_tls=False, authenticator=self._authenticate)
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
            controller.loop.close()

    def answer(
        self, stage: str, code: int, text: str, *, address: str | None = None, times=None
    ) -> None:
        """Answer ``stage`` (mail, rcpt, data) with ``code text`` (for ``address`` only)."""
        assert stage in STAGES
        self.rules.append(Rule(stage, code, text, address, times))

    def drop(self, stage: str, *, address: str | None = None, times=None) -> None:
        """Close the connection at ``stage`` without answering."""
        assert stage in STAGES
        self.rules.append(Rule(stage, None, "", address, times))

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
        self.rules.clear()

    def to(self, address: str) -> list[Received]:
        """The messages received for ``address`` (compared case-insensitively)."""
        with self._lock:
            return [m for m in self.messages if address.lower() in map(str.lower, m.rcpt_tos)]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least ``count`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} message(s) within {timeout} s, got {len(self.messages)}"
                    )
                self._arrived.wait(left)
            return list(self.messages)

    def _rule(self, stage: str, address: str | None, smtp: SMTP) -> str | None:
        for rule in self.rules:
            if rule.matches(stage, address):
                if rule.times is not None:
                    rule.times -= 1
                if rule.code is None:
                    smtp.transport.abort()
                    return "421 4.4.2 closing"  # written to a closed transport: never seen
                return f"{rule.code} {rule.text}"
        return None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and self.auth is not None:
            pair = (auth_data.login.decode(), auth_data.password.decode())
            if pair == self.auth:
                self.logins.append(pair)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
