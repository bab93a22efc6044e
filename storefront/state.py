"""Per-app state: the live catalog, the clock and the render cache.

Kept apart from ``app.py`` so views and CLI commands share one definition of
"the catalog now" and "the time now" (the ``STOREFRONT_NOW`` preview clock).
"""

from __future__ import annotations

import gc
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .catalog import Catalog, CatalogError, load_catalog
from .lru import LRU
from .pricing import price_window, utcnow
from .urls import Urls

logger = logging.getLogger(__name__)


def parse_now(value: str | datetime | None) -> datetime | None:
    """Parse the ``STOREFRONT_NOW`` preview instant (ISO 8601 with an offset)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        instant = value
    else:
        try:
            instant = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"STOREFRONT_NOW: '{value}' is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise ValueError(
            f"STOREFRONT_NOW: '{value}' needs a UTC offset, e.g. 2026-12-22T09:00:00-07:00"
        )
    return instant


class CatalogStore:
    """Hold the live catalog; pick up edits to the file without a restart or a stall.

    The file's modification time is checked at most once per ``interval``
    seconds (a ``stat``, on the request that happens to come then). A changed
    file is loaded and validated on a background thread while readers go on
    being answered from the current catalog; the new one replaces it only once
    it is complete and valid. A new version that fails validation is logged and
    ignored: the last good catalog keeps serving (a broken catalog never serves).

    ``interval`` 0 checks on every :meth:`get` and loads inline, before
    answering (tests, a local preview); a negative interval never reloads.
    """

    def __init__(self, path: str | Path | None, interval: float = 1.0):
        self.path = Path(path) if path else None
        self.interval = interval
        self._catalog = load_catalog(self.path)  # raises CatalogError: the app must not start
        self._stamp = self._mtime()
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None

    def _mtime(self) -> int | None:
        try:
            return self._catalog.path.stat().st_mtime_ns
        except OSError:
            return None

    def get(self) -> Catalog:
        """The current catalog; never waits for a reload."""
        if self.interval >= 0 and time.monotonic() - self._checked >= self.interval:
            self._check()
        return self._catalog

    @property
    def reloading(self) -> bool:
        """Whether a changed catalog is being loaded in the background right now."""
        loader = self._loader
        return loader is not None and loader.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background reload to finish; ``False`` if it still runs after ``timeout``."""
        loader = self._loader
        if loader is not None:
            loader.join(timeout)
        return not self.reloading

    def _check(self) -> None:
        # A reader that finds the check taken, or a load running, goes on with the
        # catalog it has: only one thread ever stats or loads at a time.
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._checked = time.monotonic()
            if self.reloading:
                return
            stamp = self._mtime()
            if stamp == self._stamp:
                return
            self._stamp = stamp
            if self.interval == 0:
                self._load()
                return
            self._loader = threading.Thread(
                target=self._load, name="storefront-catalog-reload", daemon=True
            )
            self._loader.start()
        finally:
            self._lock.release()

    def _load(self) -> None:
        current = self._catalog
        try:
            catalog = load_catalog(current.path)
        except CatalogError as exc:
            logger.error(
                "catalog changed but is invalid; still serving version %s:\n%s",
                current.version,
                exc,
            )
            return
        except Exception:  # a bug must not kill reloads for good: log it, keep serving
            logger.exception("catalog reload failed; still serving version %s", current.version)
            return
        if catalog.version != current.version:
            logger.info("catalog reloaded: version %s", catalog.version)
            self._catalog = catalog  # one reference swap: readers see old or new, never half
            del current  # the old catalog: collectable from here
            _refreeze_heap()


def _refreeze_heap() -> None:
    """After a reload in a process that froze its heap (the server's workers): let the old
    catalog's reference cycles be collected, then freeze what lives on, the new catalog too.
    One full collection per catalog edit."""
    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
        gc.freeze()


@dataclass(frozen=True)
class Rendered:
    """A rendered body with its strong ETag and the instants it is valid between."""

    body: bytes
    etag: str
    media_type: str
    valid_from: datetime | None
    valid_until: datetime | None

    def is_valid(self, at: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= at) and (
            self.valid_until is None or at < self.valid_until
        )


def make_rendered(
    body: bytes | str, media_type: str, window: tuple[datetime | None, datetime | None]
) -> Rendered:
    data = body.encode() if isinstance(body, str) else body
    etag = hashlib.sha256(data).hexdigest()[:32]
    return Rendered(data, etag, media_type, window[0], window[1])


class RenderCache:
    """A bounded LRU of rendered outputs, per catalog version and price window.

    The catalog version is part of every key (callers pass what else the output depends
    on); each entry also carries the price window it was rendered in, so a price is
    never served past a boundary, and a new catalog version is never served an old body.
    """

    def __init__(self, size: int = 512):
        self.size = size
        self._items: LRU[Rendered] = LRU(size)
        self.renders = 0  # how many times a body was built (tests read it)

    def get(
        self,
        key: Hashable,
        catalog: Catalog,
        at: datetime,
        build: Callable[[], tuple[bytes | str, str]],
    ) -> Rendered:
        """The output for ``key`` in ``catalog``'s version at ``at``: kept, or built now."""
        full_key = (catalog.version, key)
        item = self._items.get(full_key)
        if item is not None and item.is_valid(at):
            return item
        body, media_type = build()
        self.renders += 1
        return self._items.put(full_key, make_rendered(body, media_type, price_window(catalog, at)))


class Storefront:
    """What every view needs: catalog, clock, URLs and caches."""

    def __init__(self, catalog_store: CatalogStore, base_url: str, clock: Callable[[], datetime]):
        self.catalog_store = catalog_store
        self.urls = Urls(base_url)
        self.clock = clock
        self.cache = RenderCache()

    @property
    def catalog(self) -> Catalog:
        return self.catalog_store.get()

    def now(self) -> datetime:
        return self.clock()


def make_clock(now: datetime | None) -> Callable[[], datetime]:
    """A clock fixed at the preview instant, or the real UTC clock."""
    return (lambda: now) if now is not None else utcnow
