"""Who is a reader: bots, prefetches and repeat clicks, decided per request. Pure: no Flask.

The rules (README, "Click-through"):

1. A ``HEAD`` request is not a click (``head``): link checkers and unfurlers send it.
2. A prefetch or prerender is not a click (``prefetch``): ``Sec-Purpose: prefetch``
   (or ``prefetch;prerender``), ``Purpose: prefetch``/``preview``,
   ``X-Purpose: preview`` and ``X-Moz: prefetch``.
3. A crawler is not a reader (``bot``): the user agent matches the maintained
   `crawlerdetect` list, or there is none (every browser sends one).
4. Everything else is a ``reader`` click. A reader's second click on the same
   offer within the repeat window (30 minutes by default) is marked
   ``is_repeat``: stats show total and unique clicks.

The repeat window needs to recognise a visitor without storing who they are:
the key is a keyed BLAKE2b hash (a MAC) of IP address, user agent and offer under a random
salt that lives only in this process's memory and is replaced every UTC day
(the remembered keys are dropped with it). Nothing of it is written anywhere.
Each worker keeps its own window, so with several workers a repeat that reaches
another worker counts as unique: unique counts are an upper bound.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from crawlerdetect import CrawlerDetect

from .clicks import ClickKind

_detector = CrawlerDetect()
_detector_lock = threading.Lock()  # is_crawler stores its last match on the instance


def is_prefetch(headers: Mapping[str, str]) -> bool:
    """Whether the browser fetches this speculatively, not because a person clicked."""
    for name, words in (
        ("Sec-Purpose", ("prefetch", "prerender")),
        ("Purpose", ("prefetch", "preview", "prerender")),
        ("X-Purpose", ("prefetch", "preview", "prerender")),
        ("X-Moz", ("prefetch",)),
    ):
        value = (headers.get(name) or "").lower()
        if value and any(word in value for word in words):
            return True
    return False


def is_bot(user_agent: str | None) -> bool:
    """Whether ``user_agent`` is a crawler's (or missing: every browser sends one)."""
    agent = (user_agent or "").strip()
    if not agent:
        return True
    with _detector_lock:
        return _detector.is_crawler(agent[:1000])


def classify(method: str, headers: Mapping[str, str]) -> ClickKind:
    """The :class:`~storefront.clicks.ClickKind` of one request to a tracked link."""
    if method.upper() == "HEAD":
        return ClickKind.HEAD
    if is_prefetch(headers):
        return ClickKind.PREFETCH
    if is_bot(headers.get("User-Agent")):
        return ClickKind.BOT
    return ClickKind.READER


def warm_up() -> None:
    """Compile the crawler patterns now (~50 ms) rather than on a reader's first click."""
    is_bot("Mozilla/5.0 (warm-up)")


class RepeatWindow:
    """Remember recent (visitor, offer) pairs for ``seconds``, keyed by a salted hash only."""

    def __init__(self, seconds: float = 1800, max_entries: int = 200_000):
        self.window = timedelta(seconds=seconds)
        self.max_entries = max_entries
        self._seen: OrderedDict[bytes, datetime] = OrderedDict()  # key -> expiry, oldest first
        self._lock = threading.Lock()
        self._salt = secrets.token_bytes(32)
        self._salt_day = datetime.now(UTC).date()

    def __len__(self) -> int:
        return len(self._seen)

    def _key(self, ip: str, user_agent: str, item: str) -> bytes:
        message = "\x00".join((ip, user_agent, item)).encode("utf-8", "replace")
        # Keyed BLAKE2b is a MAC (like HMAC-SHA256) at a fraction of the cost.
        return hashlib.blake2b(message, key=self._salt, digest_size=16).digest()

    def is_repeat(self, ip: str | None, user_agent: str | None, item: str, at: datetime) -> bool:
        """Record this click; return whether the same visitor clicked ``item`` in the window."""
        if self.window <= timedelta(0):
            return False
        with self._lock:
            today = datetime.now(UTC).date()
            if today != self._salt_day:
                # A new salt each day; yesterday's keys could not match anyway.
                self._salt, self._salt_day = secrets.token_bytes(32), today
                self._seen.clear()
            key = self._key(ip or "", user_agent or "", item)
            while self._seen:
                oldest_key, expiry = next(iter(self._seen.items()))
                if expiry > at and len(self._seen) < self.max_entries:
                    break
                del self._seen[oldest_key]
            expiry = self._seen.get(key)
            repeat = expiry is not None and expiry > at
            self._seen[key] = at + self.window
            self._seen.move_to_end(key)
            return repeat
