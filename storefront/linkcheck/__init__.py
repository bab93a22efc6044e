"""Check that the catalog's outbound links still work, with ``requests``.

One :class:`requests.Session` (connection pooling, a clear User-Agent) checks
every link: HEAD first, GET where a server refuses HEAD or answers with an
error (some servers only get HEAD wrong), redirects followed one hop at a
time so the chain is recorded and loops are caught, retries with backoff on
429 and 5xx honouring ``Retry-After``. Links are checked concurrently by a
bounded pool, and each host is asked politely: at most ``per_host`` requests
in flight, a minimum interval between them, and a host that says "retry
after N seconds" is left alone that long by every worker.

Each link ends in one :class:`Status`. A bot wall (a 403/503 challenge page,
an Akamai "Access Denied", LinkedIn's 999) is ``blocked``: the store
refuses robots, which says nothing about whether a reader's browser gets
the page, so it is not called broken.

Pure: no Flask. The CLI (``storefront links check``) and the static export's
tests use the same functions; :mod:`.report` keeps the last run for the desk.
"""

from . import model
from .checker import LinkChecker, check_links, make_session
from .classify import (
    CHALLENGE_HEADERS,
    CHALLENGE_MARKERS,
    RETRY_STATUSES,
    classify_error,
    classify_response,
    is_challenge,
    retry_after,
)
from .model import *  # noqa: F403  (its __all__: the statuses, the configuration, the reports)
from .sources import catalog_links

__all__ = [
    *model.__all__,
    "CHALLENGE_HEADERS",
    "CHALLENGE_MARKERS",
    "RETRY_STATUSES",
    "LinkChecker",
    "catalog_links",
    "check_links",
    "classify_error",
    "classify_response",
    "is_challenge",
    "make_session",
    "retry_after",
]
