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
from .schema import ClickInsert, clicks, insert_if_absent, migrate

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 1.0  # after a failure, spool without trying the database for this long
DEFAULT_REPLAY_INTERVAL = 5.0  # seconds between replay attempts while clicks are spooled
REPLAY_CHUNK = 500  # clicks per replay transaction


_stores: weakref.WeakSet[ClickStore] = weakref.WeakSet()


def _after_fork() -> None:
    # A connection must never be shared by two processes: forget the parent's.
    for store in list(_stores):
        store._forget_connections()


os.register_at_fork(after_in_child=_after_fork)


class ClickStore:
    """The click database with its spool: ``record_click`` never fails and never waits long."""

    def __init__(
        self,
        url: str,
        spool: Spool,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
        replay_interval: float = DEFAULT_REPLAY_INTERVAL,
    ):
        self.url = url
        self.engine = make_engine(url, timeout)
        self.spool = spool
        self.retry_after = retry_after
        self.replay_interval = replay_interval
        self._insert = ClickInsert(self.engine.dialect)
        # The hot insert runs on the driver's cursor: its errors are the driver's own.
        self._driver_error = self.engine.dialect.loaded_dbapi.Error
        database = self.engine.url.database if self.backend == "sqlite" else None
        self._writer = WriterLock(lock_path(database)) if database else contextlib.nullcontext()
        self._local = threading.local()
        self._ready = False  # schema checked by this process
        self._down_until = 0.0
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

        Returns only once the click is durable in one of the two, so the caller
        may answer the reader. Never raises for a storage problem: if the spool
        cannot be written either (a full disk), the click is logged as lost.
        """
        now = time.monotonic()
        if now >= self._down_until:
            try:
                self._commit(event)
            except (SQLAlchemyError, self._driver_error, OSError, StorageError) as exc:
                self._down_until = time.monotonic() + self.retry_after
                self._forget_connections()
                logger.warning("click database unavailable, spooling clicks: %s", _short(exc))
            else:
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

    def _commit(self, event: ClickEvent) -> None:
        if not self._ready:
            self.ensure_schema()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # Checked out of the pool for good: this thread's persistent connection.
            conn = self._local.conn = self.engine.raw_connection()
        try:
            with self._writer:
                cursor = conn.cursor()
                try:
                    cursor.execute(self._insert.sql, self._insert.parameters(event))
                finally:
                    cursor.close()
                conn.commit()
        except BaseException:
            self._local.conn = None
            with contextlib.suppress(Exception):
                conn.invalidate()
            raise

    def _forget_connections(self) -> None:
        # Thread-local connections of this thread only; others notice on their next error.
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()

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

        replayed = self.spool.replay(sink)
        if replayed:
            logger.info("replayed %s spooled click(s) into the database", replayed)
        self._down_until = 0.0
        return replayed

    def try_replay(self) -> int:
        """Replay now if the database answers; log and return 0 if it does not."""
        try:
            return self.replay_spool()
        except (SQLAlchemyError, OSError, StorageError) as exc:
            logger.warning("click database still unavailable; %s", _short(exc))
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
        self._forget_connections()
        self.engine.dispose()

    # -- health

    def status(self) -> dict:
        """Database reachability and whether clicks wait in the spool (for /healthz)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            database = "ok"
        except SQLAlchemyError as exc:
            logger.warning("health check: click database unavailable: %s", _short(exc))
            database = "unavailable"
        return {"database": database, "backend": self.backend, "spooled": self.spool.pending()}

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
    replay_interval: float = DEFAULT_REPLAY_INTERVAL,
) -> ClickStore:
    """The click store for these settings: database URL and the spool in the instance folder."""
    url = database_url(configured_url, instance_path)
    spool = Spool(Path(instance_path) / "spool")
    return ClickStore(url, spool, timeout=timeout, replay_interval=replay_interval)


def iter_rows(store: ClickStore, ids: Iterable[str]) -> list[dict]:
    """The stored rows with these ids (tests)."""
    with store.engine.connect() as conn:
        result = conn.execute(select(clicks).where(clicks.c.id.in_(list(ids))))
        return [dict(row._mapping) for row in result]


def _short(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text_[0] if text_ else ''}"
