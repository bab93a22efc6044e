"""The thread that keeps this server's catalog file at the newest version in the database."""

from __future__ import annotations

import logging
import os
import threading
from typing import Protocol


class CatalogFiles(Protocol):
    """What the sync needs of :class:`storefront.desk.history.CatalogFiles`."""

    def sync_once(self) -> bool: ...


logger = logging.getLogger("storefront.desk.history")


class CatalogSync:
    """A daemon thread that calls :meth:`CatalogFiles.sync_once` every ``interval`` seconds."""

    def __init__(self, files: CatalogFiles, interval: float):
        self.files = files
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def start(self) -> None:
        # Once per process: a forked worker starts its own.
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="catalog-sync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.files.sync_once()
            except Exception as exc:  # the database may be down: try again later
                logger.warning("catalog sync: %s", exc)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)
