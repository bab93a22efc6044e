"""The click store: the one ``record_click`` seam, a per-process click log, the database.

Every click goes through :meth:`ClickStore.record_click`, which appends it to this
process's :class:`~storefront.spool.ClickLog` (one ``write()``: durable against a crash
of the process once it returns) so the reader can be answered at once. This process's
writer then moves the log into the database in batches (group commit, inserted only
if the click's id is absent) at most ``flush_delay`` seconds later while the database
answers; when it does not (down, locked, full), clicks wait in the log and the spool
and are replayed once it is back: at start-up, from a background thread, and by
``storefront stats``. The log of a process that died (``kill -9``) is replayed by
whichever process replays next.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import func, select

from ..clicks import ClickEvent
from ..spool import ClickLog, Spool
from .engine import DEFAULT_TIMEOUT, WriterLock, database_url, lock_path, make_engine
from .guard import Breaker, DatabaseThread, SqliteFile
from .schema import ClickInsert, clicks, insert_if_absent, migrate
from .writer import ClickWriter, _short

logger = logging.getLogger(__name__)

DEFAULT_BUDGET = 0.05  # seconds a write may take before the database counts as not answering
DEFAULT_FLUSH_DELAY = 0.1  # seconds at most between a click's 302 and its batch's commit
DEFAULT_RETRY_AFTER = 0.5  # after a failure, spool without asking the database (doubling)
DEFAULT_FILE_CHECK = 0.05  # seconds between checks that the SQLite file is still the one open
RECENT = 5.0  # seconds of written clicks kept to write again if the SQLite file was removed
DEFAULT_REPLAY_INTERVAL = 5.0  # seconds between replay attempts while clicks are spooled


_stores: weakref.WeakSet[ClickStore] = weakref.WeakSet()


def _after_fork() -> None:
    # A connection must never be shared by two processes: forget the parent's.
    for store in list(_stores):
        store._conn = None
        store._conn_generation = -1
        store._recent = collections.deque()


os.register_at_fork(after_in_child=_after_fork)


class ClickStore(ClickWriter):
    """The click database with its log and spool: ``record_click`` never fails, never waits long.

    A click is appended to this process's click log, then written into the database
    by this process's database thread, in batches. ``wait=False`` (the server): the
    reader is answered once the click is in the log, and a ticker thread hands the log
    to the database thread every ``flush_delay`` seconds. ``wait=True`` (the default for
    scripts and tests): ``record_click`` also waits for the click's commit, at most
    ``budget`` seconds (``STOREFRONT_CLICK_BUDGET``), and says whether it was committed.

    A write that fails, or runs past the budget, opens the breaker: clicks stay in the
    log, with no write attempted, until a probe or the background replayer finds the
    database answering again. A write that finishes after the breaker opened leaves its
    batch to the replayer, and clicks are inserted only if their id is absent, so
    nothing counts twice.

    With SQLite, the file is checked (at most every ``file_check`` seconds, and after
    the writes since the last check) to be the one the connection opened: a removed
    or replaced file is noticed, logged, reopened or recreated, and the clicks
    written since the last check are written again into the file now at the path.
    """

    def __init__(
        self,
        url: str,
        spool: Spool,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        budget: float = DEFAULT_BUDGET,
        retry_after: float = DEFAULT_RETRY_AFTER,
        replay_interval: float = DEFAULT_REPLAY_INTERVAL,
        file_check: float = DEFAULT_FILE_CHECK,
        wait: bool = True,
        flush_delay: float = DEFAULT_FLUSH_DELAY,
    ):
        self.url = url
        self.engine = make_engine(url, timeout)
        self.spool = spool
        self.log = ClickLog(spool.directory)
        self.budget = budget
        self.wait = wait
        self.flush_delay = flush_delay
        self.breaker = Breaker(base=retry_after)
        self.replay_interval = replay_interval
        self._insert = ClickInsert(self.engine.dialect)
        database = self.engine.url.database if self.backend == "sqlite" else None
        self._writer = WriterLock(lock_path(database)) if database else contextlib.nullcontext()
        self._file = SqliteFile(database, file_check) if database else None
        self._thread = DatabaseThread("storefront-click-writer")
        # The database thread's own connection, and the file generation it was opened in.
        self._conn = None
        self._conn_generation = -1
        # SQLite: the clicks written in the last RECENT seconds, and the file generation
        # they went into: written again if that file turns out removed or replaced.
        self._recent: collections.deque[tuple[float, list[ClickEvent]]] = collections.deque()
        self._recent_generation = 0
        self._recent_for = RECENT
        self._ready = False  # schema checked by this process
        # What the writer has settled, by the log's sequence numbers (waiters watch it).
        self._settled = threading.Condition()
        self._stored = 0
        self._failed = 0
        self._flush_queued = False
        self._ticker_pid = 0
        self._replayer: threading.Thread | None = None
        self._replayer_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        _stores.add(self)

    def __repr__(self) -> str:
        return f"ClickStore({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    # -- the seam

    def record_click(self, event: ClickEvent) -> bool:
        """Store one click: durable in the click log when this returns, never raises.

        Without ``wait``: True once the click is in the log (the writer commits it
        within ``flush_delay`` while the database answers). With ``wait``: True once it
        is committed, False when it was left in the log for the replay (the database
        failed or did not answer within the budget). False too when the log cannot be
        written either (a full disk): then the click is logged as lost.
        """
        try:
            number = self.log.append(event)
        except OSError as exc:
            # The local disk refuses: nothing left to keep it in.
            logger.error("click %s lost: the click log cannot be written: %s", event.id, exc)
            return False
        if not self.wait:
            if self._ticker_pid != os.getpid():
                self._start_ticker()
            return True
        # A write still running past the budget means the database went silent.
        if self._thread.busy_for() >= self.budget or not self.breaker.allows(time.monotonic()):
            self.start_replayer()
            return False
        self._request_flush()
        with self._settled:
            self._settled.wait_for(
                lambda: self._stored >= number or self._failed >= number, timeout=self.budget
            )
            stored, failed = self._stored >= number, self._failed >= number
        if stored:
            return True
        if not failed:
            self._trip(f"no answer within the click budget ({self.budget * 1000:.0f} ms)")
        self.start_replayer()
        return False

    def _trip(self, reason: str) -> None:
        if self.breaker.failure(reason):
            logger.warning("click database unavailable, spooling clicks: %s", reason)

    def _write(self, events: list[ClickEvent]) -> None:
        """Commit clicks in one transaction (on the database thread only)."""
        if self._recent and self._file.generation != self._recent_generation:
            # The file was found moved elsewhere (a probe, a replay) after these went into
            # the old one: they go into the file now at the path too.
            events = [*self._recent_events(), *events]
        conn = self._connection()
        try:
            with self._writer:
                cursor = conn.cursor()
                try:
                    if len(events) == 1:
                        cursor.execute(self._insert.sql, self._insert.parameters(events[0]))
                    else:
                        rows = [self._insert.parameters(event) for event in events]
                        cursor.executemany(self._insert.sql, rows)
                finally:
                    cursor.close()
                conn.commit()
        except BaseException:
            self._drop_connection()
            raise
        if self._file is not None:
            now = time.monotonic()
            self._recent.append((now, events))
            self._recent_generation = self._conn_generation
            while self._recent and self._recent[0][0] < now - RECENT:
                self._recent.popleft()
            if self._file.moved():
                # Written into a file that is no longer the database (since the last check,
                # or just before it was removed): write them again into the one at the path.
                lost = self._recent_events()
                self._recover_file()
                self._write(lost)

    def _recent_events(self) -> list[ClickEvent]:
        events = [event for _, batch in self._recent for event in batch]
        self._recent.clear()
        return events

    def _connection(self, schema: bool = True):
        if schema and not self._ready:
            self.ensure_schema()
        generation = self._file.generation if self._file is not None else 0
        if self._conn is not None and self._conn_generation != generation:
            self._drop_connection()  # opened on a file that has since been replaced
        if self._conn is None:
            # Checked out of the pool for good: the database thread's persistent connection.
            self._conn = self.engine.raw_connection()
            self._conn_generation = generation
            if self._file is not None:
                self._file.remember()
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()

    def _recover_file(self, own_connection: bool = True) -> None:
        """The SQLite file was removed or replaced: reopen (or recreate) it, safely.

        ``own_connection``: called on the database thread, which drops its connection
        now; from another thread, the new generation makes it drop it on its next write.
        """
        with self._writer:
            what = self._file.recover()
        if what:
            logger.warning("click database %s %s; reopening it", self._file.path, what)
        if own_connection:
            self._drop_connection()
        self.engine.dispose()  # pooled connections have the old file open too
        self._ready = False

    def _insert_replayed(self, conn, rows: list[dict]) -> None:
        insert_if_absent(conn, rows)  # idempotent: a replay may repeat after a crash

    def ensure_schema(self) -> None:
        """Create or migrate the schema (once per process)."""
        migrate(self.engine)
        self._ready = True

    def close(self) -> None:
        """Store what this process's log holds, stop the threads, close the connections."""
        self._flush_at_exit()
        self._closed = True
        self._wake.set()
        thread = self._replayer
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        # The database thread's connection is closed on that thread, if it answers.
        with contextlib.suppress(Exception):
            self._thread.submit(self._drop_connection).result(timeout=max(self.budget, 1.0))
        self._thread.stop()
        self.engine.dispose()

    # -- health

    def status(self) -> dict:
        """The real state of click storage, for /healthz (waits at most about the budget).

        ``database``: ``ok`` (answered just now), or ``unreachable`` (it failed or
        did not answer within the budget; clicks are spooled); ``spooling``: whether
        clicks go to the spool now; ``spooled``: how many clicks wait in the spool.
        """
        database = "unreachable"
        # An open breaker is asked again only at its retry time (this is a probe too).
        if self._thread.busy_for() < self.budget and self.breaker.allows(time.monotonic()):
            future = self._thread.submit(self._probe)
            try:
                future.result(timeout=max(self.budget, 0.25))
                database = "ok"
                if self.breaker.success():
                    logger.warning("click database answers again (health check)")
            except TimeoutError:
                self._trip("no answer to the health check")
            except Exception as exc:  # noqa: BLE001 - reported, and the breaker opens
                self._trip(_short(exc))
        spooled = self.spool.pending_count()
        return {
            "database": database,
            "backend": self.backend,
            "spooling": self.breaker.is_open,
            "spooled": spooled,
        }

    def _probe(self) -> None:
        """Ask the database one trivial question (on the database thread)."""
        if self._file is not None and self._file.moved(force=True):
            self._recover_file()
        conn = self._connection(schema=False)
        try:
            cursor = conn.cursor()
            try:
                cursor.execute("SELECT 1")
                cursor.fetchall()
            finally:
                cursor.close()
            conn.rollback()
        except BaseException:
            self._drop_connection()
            raise

    # -- reading

    def count(self, **where: object) -> int:
        """How many click rows match ``where`` (column=value); for tests and the CLI."""
        query = select(func.count()).select_from(clicks)
        for key, value in where.items():
            query = query.where(clicks.c[key] == value)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()


def open_click_store(
    configured_url: str | None,
    instance_path: str | os.PathLike,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    budget: float = DEFAULT_BUDGET,
    replay_interval: float = DEFAULT_REPLAY_INTERVAL,
    wait: bool = True,
) -> ClickStore:
    """The click store for these settings: database URL and the spool in the instance folder.

    ``wait=False`` for a server: a reader's click is answered once it is in the click log.
    """
    url = database_url(configured_url, instance_path)
    spool = Spool(Path(instance_path) / "spool")
    return ClickStore(
        url, spool, timeout=timeout, budget=budget, replay_interval=replay_interval, wait=wait
    )


def iter_rows(store: ClickStore, ids: Iterable[str]) -> list[dict]:
    """The stored rows with these ids (tests)."""
    with store.engine.connect() as conn:
        result = conn.execute(select(clicks).where(clicks.c.id.in_(list(ids))))
        return [dict(row._mapping) for row in result]
