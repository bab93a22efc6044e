"""The outbox's database: the one engine, write transactions that take turns, UTC times.

Writes on SQLite begin with ``BEGIN IMMEDIATE`` under the writer lock every click
writer of every process shares, so a claim never interleaves with another; on
PostgreSQL, row locks (``FOR UPDATE SKIP LOCKED``) do that job. Times are naive UTC
in the database, as the click table's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from ..storage import WriterLock, migrate
from ..storage.engine import lock_path

BUSY_TRIES = 50  # times BEGIN IMMEDIATE is tried while another SQLite writer holds the file


def utc(at: datetime) -> datetime:
    """``at`` as the naive UTC the database stores."""
    if at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)


def aware(at: datetime | None) -> datetime | None:
    """A naive UTC time from the database as an aware one."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


class MailDatabase:
    """The engine the outbox uses, with its schema checked once per process."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        database = engine.url.database if self.dialect == "sqlite" else None
        # SQLite: take turns with the click writers of every process (their lock).
        self._writer = WriterLock(lock_path(database)) if database else contextlib.nullcontext()
        self._ready = False

    def ensure_schema(self) -> None:
        if not self._ready:
            migrate(self.engine)
            self._ready = True

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction, committed on leaving the block (rolled back on an error)."""
        self.ensure_schema()
        with self._writer, self.engine.connect() as conn:
            if self.dialect == "sqlite":
                self._begin_immediate(conn)
            yield conn
            conn.commit()

    def _begin_immediate(self, conn: Connection) -> None:
        for attempt in range(BUSY_TRIES):
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if "locked" not in str(exc) or attempt == BUSY_TRIES - 1:
                    raise
                conn.rollback()
                time.sleep(0.02 * (attempt + 1))

    def read(self) -> Connection:
        self.ensure_schema()
        return self.engine.connect()
