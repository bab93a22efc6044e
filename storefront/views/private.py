"""What every route under ``/admin`` shares: never cached, and wrong secrets slowed."""

from __future__ import annotations

import logging
import math

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable, TooManyRequests

from ..desk.throttle import ThrottleUnavailableError, client_key

logger = logging.getLogger(__name__)


def never_cache(response: Response) -> Response:
    """Mark ``response`` private to its one reader: ``no-store``, ``noindex``."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def client_address() -> str:
    """The client's address: the proxy's X-Forwarded-For entry with STOREFRONT_PROXY_COUNT."""
    return request.remote_addr or "unknown"


def throttle_attempt(scope: str) -> tuple[str, HTTPException | None]:
    """Reserve an attempt at a secret for this client: its key, and the refusal if it must wait.

    ``scope`` keeps the desk's password and the admin token counted apart. The attempt
    counts as a failure until :func:`throttle_succeeded` takes it back.
    """
    key = client_key(scope, client_address())
    try:
        wait = current_app.extensions["desk"].throttle.attempt(key)
    except ThrottleUnavailableError as exc:
        logger.warning("desk: cannot count sign-in attempts: %s", exc)
        message = "Sign-in attempts cannot be counted right now; try again in a minute."
        return key, ServiceUnavailable(message, retry_after=60)
    if wait <= 0:
        return key, None
    seconds = math.ceil(wait)
    message = f"Too many wrong attempts from your address. Wait {seconds} s and try again."
    return key, TooManyRequests(message, retry_after=seconds)


def throttle_succeeded(key: str) -> None:
    """The secret was right: forget this client's failures."""
    current_app.extensions["desk"].throttle.succeeded(key)
