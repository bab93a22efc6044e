"""The click store's background half: the writer that moves the click log into the database,
and the replay of batches, older spools and the logs of processes that died.

:class:`ClickWriter` is a base of :class:`~storefront.storage.store.ClickStore`; it uses the
store's database thread, breaker, log, spool and ``_write``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from ..clicks import ClickEvent
from ..spool import Batch
from .engine import StorageError

logger = logging.getLogger("storefront.storage.store")  # one logger for the store's messages

REPLAY_CHUNK = 500  # clicks per replay transaction


class ClickWriter:
    """The writer (every ``flush_delay``) and the replayer (while clicks wait elsewhere)."""

    # -- the writer

    def _request_flush(self) -> None:
        with self._settled:
            if self._flush_queued:
                return
            self._flush_queued = True
        self._thread.submit(self._flush)

    def _flush(self) -> None:
        """Commit what the click log holds in one transaction (on the database thread)."""
        with self._settled:
            self._flush_queued = False
        batch = self.log.take()
        if batch is None:
            self._check_file()
            return
        failures = self.breaker.failures
        try:
            if batch.events:
                self._write(batch.events)
        except Exception as exc:  # noqa: BLE001 - whatever the database says, keep the batch
            if self.breaker.failures == failures:  # no waiter gave up on it already
                self._trip(_short(exc))
            self._settle(failed=batch.upto)
            self.start_replayer()  # the batch file stays for it
            return
        self._stored_batch(batch, late=self.breaker.failures > failures)
        self._settle(stored=batch.upto)  # after the breaker closed: a waiter sees it closed

    def _check_file(self) -> None:
        """SQLite: write the recent clicks again if their file was removed or replaced."""
        if self._file is None or not self._recent:
            return
        while self._recent and self._recent[0][0] < time.monotonic() - self._recent_for:
            self._recent.popleft()
        if self._recent and self._file.moved():
            lost = self._recent_events()
            self._recover_file()
            self._write(lost)

    def _stored_batch(self, batch: Batch, late: bool) -> None:
        if late:
            # Someone gave up waiting and opened the breaker meanwhile: the replayer
            # decides when the database is back, and takes this batch (counted once).
            self.start_replayer()
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(batch.path)
        if self.breaker.success():
            logger.warning("click database answers again; clicks are committed")

    def _settle(self, stored: int = 0, failed: int = 0) -> None:
        with self._settled:
            self._stored = max(self._stored, stored)
            self._failed = max(self._failed, failed)
            self._settled.notify_all()

    def _start_ticker(self) -> None:
        with self._replayer_lock:
            if self._ticker_pid == os.getpid() or self._closed:
                return
            self._ticker_pid = os.getpid()
            threading.Thread(target=self._tick, name="storefront-click-ticker", daemon=True).start()
            atexit.register(self._flush_at_exit)

    def _tick(self) -> None:
        """Hand the log to the database thread every ``flush_delay``; watch for others' clicks."""
        pid = os.getpid()
        next_look = 0.0
        while not self._closed and self._ticker_pid == pid:
            time.sleep(self.flush_delay)
            now = time.monotonic()
            # With SQLite, recent writes are also looked after: the file they went into
            # may be removed after them, with no new click to notice it.
            waiting = self.log.pending() or self._recent
            if waiting and self._thread.busy_for() == 0 and self.breaker.allows(now):
                self._request_flush()
            if now >= next_look:
                # Clicks of a process that died, or spooled by an older version.
                next_look = now + min(self.replay_interval, 1.0)
                if self._others_waiting():
                    self.start_replayer()

    def _others_waiting(self) -> bool:
        """Whether clicks wait that this process's writer will not store: batches left by a
        failed or late write, an older version's spool, the log of a process that died."""
        try:
            with os.scandir(self.spool.directory) as entries:
                return any(
                    (
                        e.name.startswith("batch-")
                        or e.name == "clicks.jsonl"
                        or (e.name.startswith("log-") and not _owner_alive(e.name))
                    )
                    and e.name.endswith(".jsonl")
                    and e.stat().st_size > 0
                    for e in entries
                )
        except OSError:
            return False

    def _flush_at_exit(self) -> None:
        # A worker stopping gracefully stores its last clicks (else the next replay does).
        if (
            not self._closed
            and self.log.pending()
            and (self.wait or self._ticker_pid == os.getpid())
        ):
            with contextlib.suppress(Exception):
                self._request_flush()
                with self._settled:
                    number = self.log.appended
                    self._settled.wait_for(
                        lambda: self._stored >= number or self._failed >= number, timeout=2.0
                    )

    # -- replay

    def replay_spool(self) -> int:
        """Move spooled clicks into the database; return how many were replayed.

        Safe to run at any time, in several processes, and again after a crash:
        each click is inserted only if its id is absent.
        """
        if not self._ready:
            self.ensure_schema()

        def sink(events: list[ClickEvent]) -> None:
            for start in range(0, len(events), REPLAY_CHUNK):
                with self.engine.begin() as conn:
                    self._insert_replayed(
                        conn, [e.row() for e in events[start : start + REPLAY_CHUNK]]
                    )
            if self._file is not None and self._file.moved(force=True):
                # Keep the batch: the next replay writes it into the file now at the path.
                self._recover_file(own_connection=False)
                raise StorageError(f"the click database {self._file.path} was removed or replaced")

        taken = self.log.take()  # this process's own log goes with the rest
        replayed = self.spool.replay(sink)
        if taken is not None and not taken.path.exists():
            self._settle(stored=taken.upto)
        if replayed:
            logger.info("replayed %s spooled click(s) into the database", replayed)
        if self.breaker.success():
            logger.warning("click database answers again (replay); clicks are committed")
        return replayed

    def try_replay(self) -> int:
        """Replay now if the database answers; log and return 0 if it does not."""
        try:
            return self.replay_spool()
        except (SQLAlchemyError, OSError, StorageError) as exc:
            logger.warning("click database still unavailable; %s", _short(exc))
            self.breaker.failure(_short(exc))
            return 0

    def start_replayer(self) -> None:
        if self._closed:
            return
        with self._replayer_lock:
            if self._replayer is not None and self._replayer.is_alive():
                return
            self._replayer = threading.Thread(
                target=self._replay_loop, name="storefront-click-replay", daemon=True
            )
            self._replayer.start()

    def _replay_loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.replay_interval)
            self._wake.clear()
            if self._closed:
                return
            self.try_replay()
            with self._replayer_lock:
                # Decided under the lock: a click spooled after this check starts a new thread.
                if not self._others_waiting() and not (self.breaker.is_open and self.log.pending()):
                    self._replayer = None
                    return

    def wake_replayer(self) -> None:
        """Ask the background replayer (if running) to try now."""
        self._wake.set()


def _owner_alive(name: str) -> bool:
    """Whether the process named in a click log's name (``log-<pid>-<ns>.jsonl``) runs.

    A hint only (a pid may be reused): the replay takes a log by its lock, never by this.
    """
    try:
        os.kill(int(name.split("-")[1]), 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _short(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text_[0] if text_ else ''}"
