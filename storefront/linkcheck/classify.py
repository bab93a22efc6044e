"""Classify what a server answered (or the failure to get an answer) into a :class:`Status`."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import urlsplit

import requests

from .model import Status

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_FORBIDDEN = frozenset({401, 403, 451, 999})  # 999: LinkedIn's "no robots"
SNIFF_BYTES = 64 * 1024

# Lower-case fragments of challenge pages (Cloudflare, Amazon, Akamai, DataDome,
# PerimeterX, Imperva) and headers their walls set.
CHALLENGE_MARKERS = (
    "captcha",
    "cf-chl",
    "challenge-platform",
    "just a moment...",
    "attention required",
    "are you a robot",
    "not a robot",
    "robot check",
    "automated access",
    "verify you are human",
    "unusual traffic",
    "access denied",
    "ddos protection",
    "_incapsula_resource",
    "perimeterx",
    "datadome",
)
CHALLENGE_HEADERS = ("cf-mitigated", "x-datadome", "x-amzn-waf-action", "x-px-block")


class OutOfTime(Exception):
    """The link's --max-time would pass before the next request could start."""


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_challenge(headers, body: bytes) -> bool:
    """Return True when a response looks like a bot wall rather than the page itself."""
    if any(name in headers for name in CHALLENGE_HEADERS):
        return True
    text = body[:SNIFF_BYTES].decode("utf-8", "replace").lower()
    return any(marker in text for marker in CHALLENGE_MARKERS)


def classify_response(code: int, headers, body: bytes, note: str = "") -> tuple[Status, str]:
    """Classify a final (non-redirect) HTTP answer."""
    try:
        reason = HTTPStatus(code).phrase
    except ValueError:
        reason = ""
    text = f"{code} {reason}".strip() + (f" ({note})" if note else "")
    if 200 <= code < 300:
        return Status.OK, text
    if code < 400:
        return Status.BROKEN, f"{text}: a redirect without a Location"
    if is_challenge(headers, body):
        return Status.BLOCKED, f"{text}: a bot-wall challenge page"
    if code in _FORBIDDEN:
        return Status.BLOCKED, f"{text}: the store refuses robots"
    if code == 429:
        return Status.RATE_LIMITED, text
    if code >= 500:
        return Status.SERVER_ERROR, text
    return Status.BROKEN, text


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Walk an exception, what it wraps (args, ``reason``) and its causes."""
    todo, seen = [exc], set()
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        nested = [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
        todo.extend(x for x in nested if isinstance(x, BaseException))


def classify_error(exc: BaseException, url: str = "") -> tuple[Status, str]:
    """Classify a failure to get any HTTP answer from the exception types."""
    from urllib3.exceptions import NameResolutionError, ProtocolError, ReadTimeoutError

    if isinstance(exc, OutOfTime):
        return Status.TIMEOUT, str(exc)
    causes = list(_causes(exc))
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes
    ):
        message = next((str(c) for c in causes if isinstance(c, ssl.SSLError)), str(exc))
        return Status.TLS, f"TLS failure: {_short(message)}"
    if any(isinstance(c, NameResolutionError | socket.gaierror) for c in causes):
        name = urlsplit(url).hostname or "the host name"
        return Status.DNS, f"{name} does not resolve (DNS)"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Status.TIMEOUT, "no connection within the connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout) or any(
        isinstance(c, ReadTimeoutError | TimeoutError | socket.timeout) for c in causes
    ):
        return Status.TIMEOUT, "no answer within the read timeout"
    invalid = (
        requests.exceptions.InvalidURL,
        requests.exceptions.InvalidSchema,
        requests.exceptions.MissingSchema,
    )
    if isinstance(exc, invalid):
        return Status.INVALID, _short(str(exc))
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return Status.UNREACHABLE, "connection refused"
    if any(isinstance(c, ConnectionResetError | ProtocolError) for c in causes):
        return Status.UNREACHABLE, "connection dropped before an answer"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Status.UNREACHABLE, _short(str(exc))
    return Status.UNREACHABLE, f"{type(exc).__name__}: {_short(str(exc))}"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
