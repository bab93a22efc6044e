"""What keeps a sick database from holding a reader: a bounded wait, a breaker, a file check.

- :class:`DatabaseThread` runs each click write on one thread per process; the reader's
  request waits for it at most the click budget. A database that says nothing (a
  frozen server, a TCP black hole, a lock held forever) keeps only that thread waiting.
- :class:`Breaker` stops asking a database that failed or went silent: clicks go
  straight to the spool until a retry time (backing off up to a cap), when one click
  probes it again; the spool replayer probes it in the background too.
- :class:`SqliteFile` notices that the SQLite file a connection opened is no longer
  the file at its path (removed, or replaced by a restore).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

logger = logging.getLogger(__name__)


class DatabaseThread:
    """One daemon thread per process that runs database jobs in order.

    :meth:`submit` returns a :class:`~concurrent.futures.Future`: the caller waits on it
    as long as it may (``future.result(timeout=...)``) and walks away after that; the
    job still runs to its end on this thread (a late write), so jobs must be idempotent.
    The thread is started on first use in each process (never inherited by a fork)
    and is a daemon: a hung database never holds up the process's exit.
    """

    def __init__(self, name: str):
        self.name = name
        self._pid = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._busy_since: float | None = None  # monotonic start of the running job

    def submit(self, job: Callable[[], Any]) -> Future:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._queue = queue.SimpleQueue()  # a fork's copy may hold the parent's jobs
                    self._busy_since = None
                    threading.Thread(target=self._run, name=self.name, daemon=True).start()
                    self._pid = os.getpid()
        future: Future = Future()
        self._queue.put((job, future))
        return future

    def busy_for(self) -> float:
        """Seconds the running job has been running (0 if idle)."""
        since = self._busy_since
        return 0.0 if since is None else time.monotonic() - since

    def stop(self) -> None:
        """End the thread once the jobs before this call are done (a new job restarts it)."""
        if self._pid == os.getpid():
            with self._lock:
                self._queue.put(None)
                self._pid = 0

    def _run(self) -> None:
        jobs = self._queue
        while True:
            item = jobs.get()
            if item is None:
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            self._busy_since = time.monotonic()
            try:
                result = job()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                future.set_exception(exc)
            else:
                future.set_result(result)
            finally:
                self._busy_since = None


class GroupCommit:
    """Commit every item waiting for the database thread in one transaction (group commit).

    :meth:`submit` queues an item and returns a future that is resolved once the item is
    committed (or fails with the write's error). While the thread is busy, items pile
    up; its next job writes them all at once, so many concurrent readers cost one
    commit instead of one each. Each caller still waits for its own item to be durable.
    """

    def __init__(self, thread: DatabaseThread, write: Callable[[list], Any]):
        self._thread = thread
        self._write = write
        self._lock = threading.Lock()
        self._pid = 0
        self._waiting: list[tuple[Any, Future]] = []
        self._queued = False  # a flush job is on the thread's queue

    def submit(self, item: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._pid != os.getpid():  # a fork's copy may hold the parent's items
                self._pid, self._waiting, self._queued = os.getpid(), [], False
            self._waiting.append((item, future))
            if not self._queued:
                self._queued = True
                self._thread.submit(self._flush)
        return future

    def _flush(self) -> None:
        with self._lock:
            batch, self._waiting, self._queued = self._waiting, [], False
        batch = [(item, f) for item, f in batch if f.set_running_or_notify_cancel()]
        if not batch:
            return
        try:
            self._write([item for item, _ in batch])
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting caller
            for _, future in batch:
                future.set_exception(exc)
        else:
            for _, future in batch:
                future.set_result(None)


class Breaker:
    """A circuit breaker: closed (ask the database), or open until a retry time.

    Each failure in a row doubles the time it stays open, from ``base`` up to ``cap``
    seconds; a success closes it. While open, :meth:`allows` is False until the retry
    time, then True for one caller at a time (the probe).
    """

    def __init__(self, base: float = 0.5, cap: float = 15.0):
        self.base = base
        self.cap = cap
        self.failures = 0
        self.open_until = 0.0
        self.reason = ""
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self.failures > 0

    def allows(self, now: float) -> bool:
        """Whether a caller may ask the database now (closed, or due for a probe)."""
        if self.failures == 0:
            return True
        if now < self.open_until:
            return False
        with self._lock:
            if now < self.open_until:
                return False
            # One probe per retry time: the others keep spooling meanwhile.
            self.open_until = now + self._delay()
            return True

    def failure(self, reason: str) -> bool:
        """Record a failure; return True if this opened a closed breaker."""
        with self._lock:
            opened = self.failures == 0
            self.failures += 1
            self.reason = reason
            self.open_until = time.monotonic() + self._delay()
            return opened

    def success(self) -> bool:
        """Record a success; return True if this closed an open breaker."""
        if self.failures == 0:
            return False
        with self._lock:
            closed = self.failures > 0
            self.failures = 0
            self.reason = ""
            self.open_until = 0.0
            return closed

    def _delay(self) -> float:
        return min(self.cap, self.base * 2 ** max(0, self.failures - 1))


class SqliteFile:
    """Whether the SQLite file a connection opened is still the file at its path.

    The identity is (device, inode). :meth:`moved` stats the path at most once per
    ``interval`` seconds (or when forced): True when the file is gone or another file
    is at the path. :meth:`recover` then sets aside the old file's ``-wal`` and
    ``-shm`` (a new database must never start from another file's log) and starts a
    new generation: connections opened before it are dropped by their owners.
    """

    def __init__(self, path: str, interval: float = 0.05):
        self.path = path
        self.interval = interval
        self.generation = 0
        self.opened: tuple[int, int] | None = None
        self.wal: tuple[int, int] | None = None  # the log of the file we opened, once seen
        self.checked = False  # whether the last moved() call looked at the file
        self._last = 0.0

    def _identity(self, path: str) -> tuple[int, int] | None:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return None
        return (stat.st_dev, stat.st_ino)

    def remember(self) -> None:
        """The file at the path now is the one a new connection opened."""
        self.opened = self._identity(self.path)
        # In WAL mode the log exists once the connection is open: this one is ours.
        self.wal = self._identity(self.path + "-wal")
        self._last = time.monotonic()

    def moved(self, force: bool = False) -> bool:
        now = time.monotonic()
        self.checked = force or now - self._last >= self.interval
        if not self.checked or self.opened is None:
            return False
        self._last = now
        if self._identity(self.path) != self.opened:
            return True
        if self.wal is None:
            self.wal = self._identity(self.path + "-wal")
        return False

    def recover(self) -> str:
        """Set aside the old file's log if it is still at the path; return what happened.

        Call it under the lock every process writing the file shares: another process
        may have recovered already, and then the log at the path is the new file's.
        """
        current = self._identity(self.path)
        if self.opened is None or current == self.opened:
            return ""
        stale = current is None or (
            self.wal is not None and self._identity(self.path + "-wal") == self.wal
        )
        if stale:
            stamp = time.strftime("%Y%m%dT%H%M%S")
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.rename(
                        self.path + suffix, f"{self.path}{suffix}.stale-{stamp}-{os.getpid()}"
                    )
        self.generation += 1
        self.opened = None
        self.wal = None
        return "was removed" if current is None else "was replaced by another file"
