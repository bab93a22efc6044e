"""E-mail to readers: settings, message building and the SMTP transport (no Flask).

- :mod:`.settings`: ``STOREFRONT_SMTP_URL``, ``STOREFRONT_MAIL_FROM`` and
  ``STOREFRONT_MAIL_RATE`` read into one :class:`~.settings.MailSettings`.
- :mod:`.message`: :func:`~.message.compose` builds a text + HTML message with
  ``Message-ID``, ``Date`` and, for list mail, RFC 2369/8058 list headers.
- :mod:`.transport`: :class:`~.transport.SmtpTransport` hands messages to the
  author's provider and says whether a refusal is permanent or temporary.
"""

from __future__ import annotations

from .message import ListHeaders, compose
from .settings import MailSettings, MailSettingsError, mail_settings
from .transport import (
    MailError,
    MailSetupError,
    PermanentMailError,
    SmtpTransport,
    TemporaryMailError,
    UnsupportedAddressError,
)

__all__ = [
    "ListHeaders",
    "MailError",
    "MailSettings",
    "MailSettingsError",
    "MailSetupError",
    "PermanentMailError",
    "SmtpTransport",
    "TemporaryMailError",
    "UnsupportedAddressError",
    "compose",
    "mail_settings",
]
