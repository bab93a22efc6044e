"""The author's reader list: sign-ups with double opt-in, consent records, unsubscribes.

Public functions for the sender (:mod:`storefront.mail`, the outbox) and the CLI:
:func:`recipients`, :func:`suppress`, :func:`unsubscribe_token`, :func:`counts`.
The rules live in :mod:`.records`; tokens in :mod:`.tokens`; the tables in :mod:`.tables`.
"""

from __future__ import annotations

from .address import AddressError, address_hash, normalize_email
from .records import (
    TOPICS,
    Consent,
    Recipient,
    confirm,
    counts,
    forget,
    recipients,
    sign_up,
    signups_by_placement,
    suppress,
    unsubscribe,
)
from .tables import consents, readers
from .tokens import TokenError, confirm_token, unsubscribe_token

__all__ = [
    "TOPICS",
    "AddressError",
    "Consent",
    "Recipient",
    "TokenError",
    "address_hash",
    "confirm",
    "confirm_token",
    "consents",
    "counts",
    "forget",
    "normalize_email",
    "readers",
    "recipients",
    "sign_up",
    "signups_by_placement",
    "suppress",
    "unsubscribe",
    "unsubscribe_token",
]
