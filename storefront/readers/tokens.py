"""Signed, expiring tokens for the links in e-mails and the sign-up form (itsdangerous).

Each kind has its own salt, so a confirmation token never works as an unsubscribe
token. Tokens carry the reader's id only (no address) and the instant they were made,
read from the caller's clock (the app's clock in a preview or a test).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

CONFIRM = ("storefront.readers.confirm", timedelta(days=7))
UNSUBSCRIBE = ("storefront.readers.unsubscribe", timedelta(days=400))
FORM = ("storefront.readers.form", timedelta(days=400))


class TokenError(ValueError):
    """A token that is not ours, was altered, or has expired (``expired`` says which)."""

    def __init__(self, message: str, expired: bool = False, value=None):
        super().__init__(message)
        self.expired = expired
        self.value = value  # an expired token's (genuine) value


def _serializer(secret_key: str | bytes, salt: str, now: datetime | None):
    at = int((now or datetime.now(UTC)).timestamp())

    class AtSigner(TimestampSigner):
        def get_timestamp(self) -> int:  # the caller's clock, not the process's
            return at

    return URLSafeTimedSerializer(secret_key, salt=salt, signer=AtSigner)


def make_token(secret_key, kind: tuple[str, timedelta], value, now: datetime | None = None) -> str:
    return _serializer(secret_key, kind[0], now).dumps(value)


def read_token(secret_key, kind: tuple[str, timedelta], token: str, now: datetime | None = None):
    """The value in ``token``, or :class:`TokenError`."""
    salt, max_age = kind
    serializer = _serializer(secret_key, salt, now)
    try:
        return serializer.loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired as exc:  # the signature was checked: the value is ours
        value = serializer.load_payload(exc.payload) if exc.payload is not None else None
        raise TokenError("This link has expired.", expired=True, value=value) from None
    except BadData:
        raise TokenError("This link is not valid.") from None


def token_age(secret_key, kind: tuple[str, timedelta], token: str, now: datetime) -> float:
    """Seconds since ``token`` was made, or :class:`TokenError`."""
    salt, max_age = kind
    try:
        _, made = _serializer(secret_key, salt, now).loads(
            token, max_age=int(max_age.total_seconds()), return_timestamp=True
        )
    except SignatureExpired:
        raise TokenError("This form has expired.", expired=True) from None
    except BadData:
        raise TokenError("This form is not valid.") from None
    return (now - made).total_seconds()


def confirm_token(secret_key, reader_id: int, now: datetime | None = None) -> str:
    return make_token(secret_key, CONFIRM, int(reader_id), now)


def unsubscribe_token(secret_key, reader_id: int, now: datetime | None = None) -> str:
    """The token in a reader's unsubscribe URL (``urls.reader_unsubscribe(token)``)."""
    return make_token(secret_key, UNSUBSCRIBE, int(reader_id), now)


def reader_id(secret_key, kind, token: str, now: datetime | None = None) -> int:
    try:
        value = read_token(secret_key, kind, token, now)
    except TokenError as exc:
        if exc.value is not None and not _is_id(exc.value):
            raise TokenError("This link is not valid.") from None
        raise
    if not _is_id(value):
        raise TokenError("This link is not valid.")
    return value


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
