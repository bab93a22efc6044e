"""The click store: the one ``record_click`` seam, the database with its spool.

Every click goes through :meth:`ClickStore.record_click`. It commits the click to
the database before the caller answers the reader; when the database is down,
locked or full it appends the click to the local :class:`~storefront.spool.Spool`
instead, so the reader is redirected at once and no click is lost. The spool is
replayed into the database (insert-if-absent by the click's unique id, so a
replay can be repeated after a crash without counting anything twice) at start-up,
from a background thread while anything is spooled, and by ``storefront stats``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..clicks import ClickEvent
from ..spool import Spool
from .engine import DEFAULT_TIMEOUT, StorageError, WriterLock, database_url, lock_path, make_engine
from .guard import Breaker, DatabaseThread, GroupCommit, SqliteFile
from .schema import ClickInsert, clicks, insert_if_absent, migrate

logger = logging.getLogger(__name__)

DEFAULT_BUDGET = 0.05  # seconds a reader's redirect may wait on storage (STOREFRONT_CLICK_BUDGET)
DEFAULT_RETRY_AFTER = 0.5  # after a failure, spool without asking the database (doubling)
DEFAULT_FILE_CHECK = 0.05  # seconds between checks that the SQLite file is still the one open
DEFAULT_REPLAY_INTERVAL = 5.0  # seconds between replay attempts while clicks are spooled
REPLAY_CHUNK = 500  # clicks per replay transaction


_stores: weakref.WeakSet[ClickStore] = weakref.WeakSet()


def _after_fork() -> None:
    # A connection must never be shared by two processes: forget the parent's.
    for store in list(_stores):
        store._conn = None
        store._conn_generation = -1
        store._unchecked = []


os.register_at_fork(after_in_child=_after_fork)


class ClickStore:
    """The click database with its spool: ``record_click`` never fails and never waits long.

    A click is written by this process's database thread; the reader's request waits
    for it at most ``budget`` seconds (``STOREFRONT_CLICK_BUDGET``). Past that, or on
    any error, the click is spooled and the breaker opens: the next clicks go straight
    to the spool (no wait at all) until a probe or the background replayer finds the
    database answering again. A write that finishes after its click was spooled is
    harmless: clicks are inserted only if their id is absent, the spool's replay too.

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
    ):
        self.url = url
        self.engine = make_engine(url, timeout)
        self.spool = spool
        self.budget = budget
        self.breaker = Breaker(base=retry_after)
        self.replay_interval = replay_interval
        self._insert = ClickInsert(self.engine.dialect)
        database = self.engine.url.database if self.backend == "sqlite" else None
        self._writer = WriterLock(lock_path(database)) if database else contextlib.nullcontext()
        self._file = SqliteFile(database, file_check) if database else None
        self._thread = DatabaseThread("storefront-click-writer")
        self._batch = GroupCommit(self._thread, self._write)
        # The database thread's own connection, and the file generation it was opened in.
        self._conn = None
        self._conn_generation = -1
        self._unchecked: list[ClickEvent] = []  # written since the file was last checked
        self._ready = False  # schema checked by this process
        self._next_spool_check = 0.0
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
        """Store one click: committed to the database (True), else spooled (False).

        Returns within the click budget (plus the spool's append), once the click is
        durable in one of the two, so the caller may answer the reader. Never raises
        for a storage problem: if the spool cannot be written either (a full disk),
        the click is logged as lost.
        """
        now = time.monotonic()
        # A write still running past the budget means the database went silent.
        if self._thread.busy_for() < self.budget and self.breaker.allows(now):
            future = self._batch.submit(event)
            try:
                future.result(timeout=self.budget)
            except TimeoutError:
                self._trip(f"no answer within the click budget ({self.budget * 1000:.0f} ms)")
            except Exception as exc:  # noqa: BLE001 - whatever the database says, spool
                self._trip(_short(exc))
            else:
                if self.breaker.success():
                    logger.warning("click database answers again; clicks are committed")
                if now >= self._next_spool_check:
                    # Another worker (or a crashed one) may have left clicks in the spool.
                    self._next_spool_check = now + self.replay_interval
                    if self.spool.pending():
                        self.start_replayer()
                return True
        try:
            self.spool.append(event)
        except OSError as exc:
            # The database and the local disk both refuse: nothing left to keep it in.
            logger.error("click %s lost: database and spool both unavailable: %s", event.id, exc)
            return False
        self.start_replayer()
        return False

    def _trip(self, reason: str) -> None:
        if self.breaker.failure(reason):
            logger.warning("click database unavailable, spooling clicks: %s", reason)

    def _write(self, events: list[ClickEvent]) -> None:
        """Commit clicks in one transaction (on the database thread only)."""
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
            self._unchecked.extend(events)
            if self._file.moved():
                # Written into a file that is no longer the database: write them again.
                lost, self._unchecked = self._unchecked, []
                self._recover_file()
                self._write(lost)
            elif self._file.checked:
                self._unchecked.clear()

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

    def ensure_schema(self) -> None:
        """Create or migrate the schema (once per process)."""
        migrate(self.engine)
        self._ready = True

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
                    insert_if_absent(conn, [e.row() for e in events[start : start + REPLAY_CHUNK]])
            if self._file is not None and self._file.moved(force=True):
                # Keep the batch: the next replay writes it into the file now at the path.
                self._recover_file(own_connection=False)
                raise StorageError(f"the click database {self._file.path} was removed or replaced")

        replayed = self.spool.replay(sink)
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
                if not self.spool.pending():
                    self._replayer = None
                    return

    def wake_replayer(self) -> None:
        """Ask the background replayer (if running) to try now."""
        self._wake.set()

    def close(self) -> None:
        """Stop the replayer and close the connections (tests, CLI)."""
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
) -> ClickStore:
    """The click store for these settings: database URL and the spool in the instance folder."""
    url = database_url(configured_url, instance_path)
    spool = Spool(Path(instance_path) / "spool")
    return ClickStore(url, spool, timeout=timeout, budget=budget, replay_interval=replay_interval)


def iter_rows(store: ClickStore, ids: Iterable[str]) -> list[dict]:
    """The stored rows with these ids (tests)."""
    with store.engine.connect() as conn:
        result = conn.execute(select(clicks).where(clicks.c.id.in_(list(ids))))
        return [dict(row._mapping) for row in result]


def _short(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text_[0] if text_ else ''}"
