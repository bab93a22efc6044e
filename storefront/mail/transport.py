"""Hand messages to the author's mail provider over SMTP, and say what a refusal means.

:class:`SmtpTransport` holds one connection for many messages (a send of thousands
logs in once), notices a connection the server dropped while idle and reconnects.
Each failure is one of two kinds, which decides what the caller does with the address:

- :class:`PermanentMailError`: a 5xx answer to the recipient or the message (every
  recipient refused with 5xx, or the message refused with 5xx). Do not try this
  address again; suppress it.
- :class:`TemporaryMailError`: a 4xx answer, a dropped connection, a timeout. Try
  again later. :class:`MailSetupError` is the temporary kind for a problem that is
  the sender's, not the reader's (the login refused, TLS failed, the sender refused):
  the address must never be suppressed for it.

An internationalised address (a non-ASCII local part) needs the server's ``SMTPUTF8``
extension (RFC 6531). Where it is missing, an address whose only non-ASCII part is
the domain goes out with the domain in IDNA (``xn--``) form; any other raises
:class:`UnsupportedAddressError`, a permanent error with a message saying why.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from copy import deepcopy as copy_message
from email.message import EmailMessage
from email.utils import formataddr, getaddresses

from .settings import MailSettings

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0  # seconds for the connection and each command
IDLE_CHECK = 10.0  # after this many idle seconds, ask the server (NOOP) before sending


class MailError(Exception):
    """A message was not handed over. ``code`` is the SMTP reply code, if there was one."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class PermanentMailError(MailError):
    """The server refused the recipient or the message for good (5xx): suppress the address."""


class TemporaryMailError(MailError):
    """The message may go through later (4xx, dropped connection, timeout): retry."""


class MailSetupError(TemporaryMailError):
    """The sender's side is wrong (login, TLS, sender address): retry, never suppress."""


class UnsupportedAddressError(PermanentMailError):
    """An internationalised address the server cannot take (no SMTPUTF8)."""


class SmtpTransport:
    """One SMTP connection to the provider in ``settings``; use as a context manager.

    ``send`` connects on first use and again after the server dropped the connection.
    """

    def __init__(
        self,
        settings: MailSettings,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ):
        self.settings = settings
        self.timeout = timeout
        self._ssl_context = ssl_context
        self.local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None
        self._last_used = 0.0

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context, made when first needed (loading the CA store costs ~0.1 s)."""
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT (politely, ignoring a server that already went) and drop the connection."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def connect(self) -> smtplib.SMTP:
        """The open connection, opened (and logged in) if needed."""
        if self._smtp is not None and time.monotonic() - self._last_used > IDLE_CHECK:
            try:
                if self._smtp.noop()[0] != 250:
                    self._drop()
            except (smtplib.SMTPException, OSError):
                self._drop()  # dropped while idle: a new connection is safe
        if self._smtp is None:
            self._smtp = self._open()
        return self._smtp

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            if s.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host,
                    s.port,
                    timeout=self.timeout,
                    context=self.ssl_context,
                    local_hostname=self.local_hostname,
                )
            else:
                smtp = smtplib.SMTP(
                    s.host, s.port, timeout=self.timeout, local_hostname=self.local_hostname
                )
        except ssl.SSLError as exc:
            raise MailSetupError(f"TLS with {where} failed: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryMailError(f"cannot connect to {where}: {_reason(exc)}") from None
        try:
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailSetupError(
                        f"{where} does not offer STARTTLS: use smtps:// or ?security=none"
                    )
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise MailSetupError(
                f"{where} refused the login for '{s.username}': {_reason(exc)}", exc.smtp_code
            ) from None
        except ssl.SSLError as exc:
            smtp.close()
            raise MailSetupError(f"STARTTLS with {where} failed: {exc}") from None
        except smtplib.SMTPNotSupportedError as exc:
            smtp.close()
            raise MailSetupError(f"{where}: {exc}") from None
        except MailError:
            smtp.close()
            raise
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise TemporaryMailError(f"{where}: {_reason(exc)}", _code(exc)) from None
        return smtp

    def send(self, msg: EmailMessage) -> str:
        """Hand ``msg`` to the server for its ``To`` (and ``Cc``/``Bcc``) addresses.

        Returns the message's ``Message-ID``. Raises :class:`PermanentMailError` or
        :class:`TemporaryMailError` (see the module's docstring).
        """
        recipients = [a for _, a in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", []))]
        recipients += [a for _, a in getaddresses(msg.get_all("Bcc", []))]
        if not recipients:
            raise PermanentMailError("the message has no recipient")
        smtp = self.connect()
        utf8 = smtp.has_extn("smtputf8")
        envelope = [_envelope_address(a, utf8) for a in recipients]
        sender = _envelope_address(self.settings.sender_address, utf8)
        needs_utf8 = not all(a.isascii() for a in [sender, *envelope])
        if needs_utf8 and not utf8:
            raise UnsupportedAddressError(
                f"{self.settings.host} does not accept internationalised addresses (no SMTPUTF8)"
            )
        if not needs_utf8 and not _headers_ascii(msg):
            if utf8:
                needs_utf8 = True  # raw UTF-8 addresses in the headers, as RFC 6532 allows
            else:
                msg = _idna_headers(msg)
        options = ["SMTPUTF8", "BODY=8BITMIME"] if needs_utf8 else []
        data = msg.as_bytes(policy=msg.policy.clone(utf8=needs_utf8, linesep="\r\n"))
        self._transmit(smtp, sender, envelope, data, options)
        return str(msg.get("Message-ID", ""))

    def send_bytes(self, to: str, data: bytes) -> None:
        """Hand ``data``, a whole message with CRLF line ends, to the server for ``to``.

        For messages made once and filled in per reader
        (:class:`~storefront.mail.message.MessageTemplate`): ``to`` and the sender must be
        ASCII addresses (others go through :meth:`send`, which can rewrite headers or ask
        for SMTPUTF8); ``ValueError`` otherwise. Errors are classified as :meth:`send` does.
        """
        sender = self.settings.sender_address
        if not to.isascii() or not sender.isascii():
            raise ValueError("send_bytes takes ASCII addresses only: use send()")
        self._transmit(self.connect(), sender, [to], data, [])

    def _transmit(
        self, smtp: smtplib.SMTP, sender: str, envelope: list[str], data: bytes, options: list
    ) -> None:
        try:
            refused = smtp.sendmail(sender, envelope, data, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset(smtp)
            codes = [code for code, _ in exc.recipients.values()]
            text = "; ".join(f"{a}: {c} {_text(m)}" for a, (c, m) in exc.recipients.items())
            if all(code >= 500 for code in codes):
                raise PermanentMailError(f"refused: {text}", max(codes)) from None
            raise TemporaryMailError(f"deferred: {text}", min(codes)) from None
        except smtplib.SMTPSenderRefused as exc:
            self._reset(smtp)
            raise MailSetupError(
                f"the server refused the sender {exc.sender}: {exc.smtp_code} "
                f"{_text(exc.smtp_error)}",
                exc.smtp_code,
            ) from None
        except smtplib.SMTPResponseException as exc:  # DATA refused, or a 421 closing
            self._reset(smtp)
            kind = PermanentMailError if exc.smtp_code >= 500 else TemporaryMailError
            raise kind(f"{exc.smtp_code} {_text(exc.smtp_error)}", exc.smtp_code) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            self._drop()  # the state of the conversation is unknown: start again next time
            raise TemporaryMailError(f"connection lost: {_reason(exc)}") from None
        self._last_used = time.monotonic()
        if refused:  # some of several recipients refused: report them, others got it
            logger.warning("mail: some recipients refused: %s", refused)

    def _reset(self, smtp: smtplib.SMTP) -> None:
        # After a refusal, RSET clears the half-made transaction; if that fails, reconnect.
        try:
            smtp.rset()
            self._last_used = time.monotonic()
        except (smtplib.SMTPException, OSError):
            self._drop()


def _envelope_address(address: str, utf8: bool) -> str:
    """``address`` for ``MAIL FROM``/``RCPT TO``: the domain in IDNA unless it must stay UTF-8."""
    local, _, domain = address.rpartition("@")
    if address.isascii() or (utf8 and not local.isascii()):
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


ADDRESS_HEADERS = ("From", "To", "Cc", "Reply-To")


def _headers_ascii(msg: EmailMessage) -> bool:
    # Only addresses need raw UTF-8; display names and subjects are RFC 2047-encoded.
    return all(
        a.isascii() for name in ADDRESS_HEADERS for _, a in getaddresses(msg.get_all(name, []))
    )


def _idna_headers(msg: EmailMessage) -> EmailMessage:
    """A copy of ``msg`` whose address headers name internationalised domains in IDNA."""
    copy = copy_message(msg)
    for name in ADDRESS_HEADERS:
        values = msg.get_all(name, [])
        if not values:
            continue
        del copy[name]
        pairs = getaddresses(values)
        copy[name] = ", ".join(
            formataddr((display, _envelope_address(address, False))) for display, address in pairs
        )
    return copy


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _code(exc: BaseException) -> int | None:
    return getattr(exc, "smtp_code", None)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return str(exc) or type(exc).__name__
