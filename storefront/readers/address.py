"""What counts as a reader's e-mail address, and its one-way hash.

Addresses are checked by ``email-validator`` for syntax only (no DNS: a sign-up never
waits on the network) and stored normalised and in lower case, so ``Ann@Example.ORG``
and ``ann@example.org`` are one reader. Internationalised addresses (RFC 6531, e.g.
``ünïcode@exämple.org``) are accepted; whether they can be mailed depends on the
provider (``SMTPUTF8``), which the sender finds out.
"""

from __future__ import annotations

import hashlib

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254  # RFC 5321's limit for a path, less the angle brackets


class AddressError(ValueError):
    """Not an e-mail address we can take; the message says why, without echoing it."""


def normalize_email(raw: str) -> str:
    """The address as stored, or :class:`AddressError` saying what is wrong."""
    text = raw.strip()
    if not text:
        raise AddressError("Please enter your e-mail address.")
    if len(text) > MAX_LENGTH:
        raise AddressError(f"That address is too long (at most {MAX_LENGTH} characters).")
    if any(not c.isprintable() or c.isspace() for c in text):
        raise AddressError("An e-mail address has no spaces or line breaks.")
    try:
        valid = validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
        )
    except EmailNotValidError as exc:
        raise AddressError(f"That is not an e-mail address: {exc}") from None
    return valid.normalized.lower()


def address_hash(email: str) -> str:
    """A one-way hash of a normalised address (for forgotten readers and rate limits)."""
    return hashlib.sha256(f"storefront-reader:{email}".encode()).hexdigest()
