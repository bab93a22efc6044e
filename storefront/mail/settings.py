"""The mail settings: where to hand messages over, as whom, and how fast.

``STOREFRONT_SMTP_URL`` names the author's provider::

    smtp://user:password@smtp.example.org        STARTTLS, port 587
    smtps://user:password@smtp.example.org       TLS from the first byte, port 465
    smtp://127.0.0.1:2525?security=none           no encryption (a relay on this machine)

User and password are percent-encoded in the URL (``@`` is ``%40``). ``STOREFRONT_MAIL_FROM``
is the sender (``Robert Zimmerman <news@behindtheblack.com>`` or a bare address);
``STOREFRONT_MAIL_RATE`` the most messages per second the provider accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from functools import cached_property
from urllib.parse import parse_qs, unquote, urlsplit

from ..settings import PREFIX, SettingsError

SECURITY = ("starttls", "tls", "none")
SCHEMES = {"smtp": ("starttls", 587), "smtps": ("tls", 465)}
DEFAULT_RATE = 10.0


class MailSettingsError(SettingsError):
    """A mail setting that cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class MailSettings:
    """How to reach the author's mail provider (``password`` never shown in ``repr``)."""

    host: str
    port: int
    security: str  # "starttls" | "tls" | "none"
    username: str | None
    password: str | None = field(repr=False)
    sender: str  # the From header, e.g. "Robert Zimmerman <news@example.org>"
    rate: float = DEFAULT_RATE  # messages per second

    @cached_property  # read for every message: parsed once
    def sender_address(self) -> str:
        """The bare address of the sender (the envelope's ``MAIL FROM``)."""
        return parseaddr(self.sender)[1]

    @property
    def sender_domain(self) -> str:
        return self.sender_address.rpartition("@")[2]


def mail_settings(config: Mapping[str, object]) -> MailSettings | None:
    """The mail settings from ``config`` (``SMTP_URL``, ``MAIL_FROM``, ``MAIL_RATE``).

    ``None`` when ``SMTP_URL`` or ``MAIL_FROM`` is unset (the sign-up form is then
    hidden); raises :class:`MailSettingsError` when one is set but unusable.
    """
    url, sender = config.get("SMTP_URL"), config.get("MAIL_FROM")
    if not url or not sender:
        return None
    host, port, security, username, password = parse_smtp_url(str(url))
    return MailSettings(
        host=host,
        port=port,
        security=security,
        username=username,
        password=password,
        sender=parse_sender(str(sender)),
        rate=parse_rate(config.get("MAIL_RATE", DEFAULT_RATE)),
    )


def missing_settings(config: Mapping[str, object]) -> list[str]:
    """The names of the mail settings that are unset (empty: mail is configured)."""
    return [f"{PREFIX}{name}" for name in ("SMTP_URL", "MAIL_FROM") if not config.get(name)]


def parse_smtp_url(url: str) -> tuple[str, int, str, str | None, str | None]:
    """``(host, port, security, username, password)`` from an ``smtp://`` or ``smtps://`` URL."""
    name = f"{PREFIX}SMTP_URL"
    shown = _redact(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise MailSettingsError(f"{name}: '{shown}' is not a URL ({exc})") from None
    if parts.scheme not in SCHEMES:
        raise MailSettingsError(
            f"{name}: '{shown}' must start with smtp:// (STARTTLS) or smtps:// (TLS)"
        )
    if not parts.hostname:
        raise MailSettingsError(f"{name}: '{shown}' names no host")
    if parts.path not in ("", "/"):
        raise MailSettingsError(f"{name}: '{shown}' has a path; an SMTP URL has none")
    security, default_port = SCHEMES[parts.scheme]
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"security"})
    if unknown:
        raise MailSettingsError(f"{name}: unknown parameter '{unknown[0]}' (only 'security')")
    if "security" in query:
        security = query["security"][-1].strip().lower()
        if security not in SECURITY:
            raise MailSettingsError(
                f"{name}: security='{query['security'][-1]}' must be one of {', '.join(SECURITY)}"
            )
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password and not username:
        raise MailSettingsError(f"{name}: '{shown}' has a password but no user")
    return parts.hostname, port or default_port, security, username, password


def parse_sender(value: str) -> str:
    """The ``From`` header for ``STOREFRONT_MAIL_FROM``, or :class:`MailSettingsError`."""
    name = f"{PREFIX}MAIL_FROM"
    text = value.strip()
    if "\n" in text or "\r" in text:
        raise MailSettingsError(f"{name}: must be one line")
    display, address = parseaddr(text)
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        raise MailSettingsError(f"{name}: '{text}' is not an e-mail address")
    try:
        return str(Address(display_name=display, addr_spec=address))
    except (ValueError, IndexError) as exc:
        raise MailSettingsError(f"{name}: '{text}' is not an e-mail address ({exc})") from None


def parse_rate(value: object) -> float:
    name = f"{PREFIX}MAIL_RATE"
    try:
        rate = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise MailSettingsError(f"{name}: '{value}' is not a number") from None
    if not 0 < rate <= 10_000:
        raise MailSettingsError(f"{name}: '{value}' must be more than 0 and at most 10000")
    return rate


def _redact(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()
    except ValueError:
        return "<the URL>"
