"""Database engines for clicks: SQLite in WAL mode by default, PostgreSQL by URL.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and one persistent connection
per worker thread: a commit survives the process being killed (``kill -9``); an
operating-system crash or power cut may lose the last commits. PostgreSQL commits
are durable with its own settings (``synchronous_commit``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_TIMEOUT = 0.25  # seconds the database may keep a click waiting before it is spooled


class StorageError(Exception):
    """The click database cannot be used as configured (bad URL, newer schema)."""


_PASSWORD = re.compile(r"(?<=:)[^:@/\s]+(?=@)")  # the "secret" in user:secret@host


def redact_url(url: object) -> str:
    """``url`` with its password replaced by ``***``, safe for an error message or a log."""
    text = str(url)
    try:
        return make_url(text).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy parses: mask anything like user:secret@
        return _PASSWORD.sub("***", text)


def lock_path(database: str) -> str:
    """The file every process using the SQLite file ``database`` flocks to take turns."""
    return f"{database}.writer-lock"


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if missing), released on exit."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def database_url(configured: str | None, instance_path: str | os.PathLike) -> str:
    """The configured SQLAlchemy URL, or SQLite in the instance folder.

    ``postgres://`` and ``postgresql://`` mean PostgreSQL through psycopg 3.
    """
    if not configured:
        return f"sqlite:///{Path(instance_path) / 'storefront.db'}"
    url = configured.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """An engine for ``url``: SQLite in WAL mode, or PostgreSQL with short timeouts."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(
            f"STOREFRONT_DATABASE_URL: '{redact_url(url)}' is not a database URL"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StorageError("the click database must be a file: sqlite:////path/to/clicks.db")
        database = parsed.database
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": timeout})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            # WAL lets readers run beside the writer; NORMAL syncs at checkpoints only,
            # which keeps every commit through a process crash (not a power cut).
            # Switching a file to WAL needs an exclusive lock and SQLite does not wait
            # for it (no busy handler: "database is locked" at once), so connections
            # opening together take turns under the file lock every process shares.
            with file_lock(lock_path(database)):
                cursor = dbapi_connection.cursor()
                try:
                    cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.execute("PRAGMA synchronous=NORMAL")
                finally:
                    cursor.close()

        return engine
    if backend == "postgresql":
        ms = max(100, int(timeout * 4000))
        return create_engine(
            url,
            connect_args={
                "connect_timeout": 2,
                # A server that vanished (not one that refuses) is noticed by TCP itself.
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 2,
                "tcp_user_timeout": 5000,
                # A locked table or a stalled server must not hold a reader for long.
                "options": f"-c statement_timeout={ms} -c lock_timeout={ms}",
            },
        )
    try:
        return create_engine(url)
    except (ArgumentError, ImportError) as exc:
        raise StorageError(
            f"STOREFRONT_DATABASE_URL: cannot use '{redact_url(url)}': {exc}"
        ) from None


class WriterLock:
    """Take turns writing to one SQLite file: a lock every worker process shares.

    SQLite makes a writer that finds the database locked sleep 1 ms, then longer,
    although a click's commit holds the lock for tens of microseconds; workers
    queueing on this ``flock`` instead wake the moment it is free. A thread lock
    orders the threads of one process (``flock`` does not). SQLite's own locking
    still applies (and its timeout sends the click to the spool): this lock only
    orders the writers that share it.
    """

    def __init__(self, path: str):
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._pid != os.getpid():  # a forked child needs its own open file
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def insert_absent(dialect: str, table: Table, needs: str, **values):
    """``INSERT`` of ``values`` into ``table`` that does nothing when its primary key is there.

    ``ON CONFLICT DO NOTHING`` exists in SQLite and PostgreSQL only; with another
    database it is a :class:`StorageError` saying what ``needs`` them ("desk builds need").
    """
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise StorageError(f"{needs} SQLite or PostgreSQL, not {dialect}")
    keys = [column.name for column in table.primary_key]
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
