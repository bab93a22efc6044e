"""Click storage: SQLite by default, PostgreSQL by URL, and the one ``record_click`` seam.

Every click goes through :meth:`ClickStore.record_click`. It commits the click to
the database before the caller answers the reader; when the database is down,
locked or full it appends the click to the local :class:`~storefront.spool.Spool`
instead, so the reader is redirected at once and no click is lost. The spool is
replayed into the database (insert-if-absent by the click's unique id, so a
replay can be repeated after a crash without counting anything twice) at start-up,
from a background thread while anything is spooled, and by ``storefront stats``.

A click row holds the time, the site-local day, book, format, offer, vendor,
placement, campaign, country and referrer host, and how it was classified
(``reader``, ``bot``, ``prefetch``, ``head``; ``is_repeat`` for a reader's repeat
click). Never an IP address, a user agent or a cookie id.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and one persistent connection
per worker thread: a commit survives the process being killed (``kill -9``); an
operating-system crash or power cut may lose the last commits. PostgreSQL commits
are durable with its own settings (``synchronous_commit``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .settings import redact_url
from .spool import Spool

logger = logging.getLogger(__name__)

CLICK_KINDS = ("reader", "bot", "prefetch", "head")
DEFAULT_TIMEOUT = 0.25  # seconds the database may keep a click waiting before it is spooled
DEFAULT_RETRY_AFTER = 1.0  # after a failure, spool without trying the database for this long
DEFAULT_REPLAY_INTERVAL = 5.0  # seconds between replay attempts while clicks are spooled
REPLAY_CHUNK = 500  # clicks per replay transaction


class StorageError(Exception):
    """The click database cannot be used as configured (bad URL, newer schema)."""


# --------------------------------------------------------------------------- the click


@dataclass(frozen=True)
class ClickEvent:
    """One click on a tracked link, as stored: no IP, no user agent, no cookie id."""

    id: str  # unique from capture on: replay inserts it only if absent
    at: datetime  # aware
    day: date  # the site's local day of ``at``
    book: str
    offer: str
    format: str
    vendor: str
    placement: str
    campaign: str | None = None
    country: str | None = None
    referrer_host: str | None = None
    kind: str = "reader"
    is_repeat: bool = False

    @property
    def is_reader(self) -> bool:
        return self.kind == "reader"

    def row(self) -> dict:
        """The database row: ``at`` as naive UTC (the same in SQLite and PostgreSQL)."""
        # Spelled out: dataclasses.asdict deep-copies every value, a third of a click's cost.
        return {
            "id": self.id,
            "at": self.at.astimezone(UTC).replace(tzinfo=None),
            "day": self.day,
            "book": self.book,
            "offer": self.offer,
            "format": self.format,
            "vendor": self.vendor,
            "placement": self.placement,
            "campaign": self.campaign,
            "country": self.country,
            "referrer_host": self.referrer_host,
            "kind": self.kind,
            "is_repeat": self.is_repeat,
        }

    def to_json(self) -> str:
        values = asdict(self)
        values["at"] = self.at.astimezone(UTC).isoformat()
        values["day"] = self.day.isoformat()
        return json.dumps(values, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> ClickEvent:
        """Parse a spool line; raise ``ValueError`` for anything that is not a whole click."""
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            at = datetime.fromisoformat(data.pop("at"))
            day = date.fromisoformat(data.pop("day"))
            click = cls(at=at, day=day, **data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a click: {exc}") from None
        if at.tzinfo is None or click.kind not in CLICK_KINDS or not click.id:
            raise ValueError("not a click: naive time, unknown kind or no id")
        return click


def new_click_id() -> str:
    """A unique id, time-ordered (nanoseconds, then 64 random bits) for index locality.

    Uniqueness, not secrecy, is what matters: ``random`` (reseeded from the OS in
    every forked worker) is enough, and skips a system call per click.
    """
    return f"{time.time_ns():016x}{random.getrandbits(64):016x}"


# --------------------------------------------------------------------------- schema

metadata = MetaData()

clicks = Table(
    "clicks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("at", DateTime(), nullable=False),
    Column("day", Date(), nullable=False),
    Column("book", String(64), nullable=False),
    Column("offer", String(64), nullable=False),
    Column("format", String(16), nullable=False),
    Column("vendor", String(64), nullable=False),
    Column("placement", String(16), nullable=False),
    Column("campaign", String(64)),
    Column("country", String(2)),
    Column("referrer_host", String(253)),
    Column("kind", String(8), nullable=False),
    Column("is_repeat", Boolean(), nullable=False),
)

SCHEMA_TABLE = "storefront_schema"
_schema = Table(SCHEMA_TABLE, MetaData(), Column("version", Integer, nullable=False))


def _v1_clicks_table(conn: Connection) -> None:
    # The shape of version 1, frozen here: migrations never read the current model.
    v1 = Table(
        "clicks",
        MetaData(),
        Column("id", String(32), primary_key=True),
        Column("at", DateTime(), nullable=False),
        Column("day", Date(), nullable=False),
        Column("book", String(64), nullable=False),
        Column("offer", String(64), nullable=False),
        Column("format", String(16), nullable=False),
        Column("vendor", String(64), nullable=False),
        Column("placement", String(16), nullable=False),
        Column("campaign", String(64)),
        Column("country", String(2)),
        Column("kind", String(8), nullable=False),
        Column("is_repeat", Boolean(), nullable=False),
    )
    v1.create(conn, checkfirst=True)


def _v2_referrer_and_day_index(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE clicks ADD COLUMN referrer_host VARCHAR(253)")
    conn.exec_driver_sql("CREATE INDEX ix_clicks_day ON clicks (day)")


# Append only: version N is MIGRATIONS[N - 1]. Each runs once, in a transaction,
# under a lock, so two workers starting together migrate once.
MIGRATIONS: tuple[tuple[str, Callable[[Connection], None]], ...] = (
    ("clicks table", _v1_clicks_table),
    ("referrer host column, index by day", _v2_referrer_and_day_index),
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: Connection) -> int:
    """The schema version of the database (0: empty)."""
    if not inspect(conn).has_table(SCHEMA_TABLE):
        return 0
    return conn.execute(select(func.max(_schema.c.version))).scalar() or 0


def migrate(engine: Engine, target: int = SCHEMA_VERSION) -> int:
    """Create or upgrade the schema to ``target``; return the version before.

    Raises :class:`StorageError` when the database is newer than this code.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # Take the write lock before reading the version: no second migrator slips in.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7365636173)"))
        before = schema_version(conn)
        if before > SCHEMA_VERSION:
            conn.rollback()
            raise StorageError(
                f"the click database has schema version {before}, newer than this Storefront "
                f"knows ({SCHEMA_VERSION}): upgrade Storefront"
            )
        if before < target:
            if before == 0:
                _schema.create(conn, checkfirst=True)
            for version in range(before + 1, target + 1):
                name, step = MIGRATIONS[version - 1]
                logger.info("click database: migrating to version %s (%s)", version, name)
                step(conn)
            conn.execute(_schema.delete())
            conn.execute(_schema.insert().values(version=target))
        conn.commit()
    return before


# --------------------------------------------------------------------------- engines


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
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": timeout})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets readers run beside the writer; NORMAL syncs at checkpoints only,
            # which keeps every commit through a process crash (not a power cut).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if backend == "postgresql":
        ms = max(100, int(timeout * 4000))
        return create_engine(
            url,
            connect_args={
                "connect_timeout": 2,
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


class ClickInsert:
    """The click ``INSERT``, compiled once for a dialect, run on the driver's own cursor.

    A Core ``execute`` of one row spends more time in SQLAlchemy than SQLite spends
    committing it. This keeps SQLAlchemy's SQL and the dialect's bind processors, so
    a row is stored exactly as Core would store it, and skips the rest.
    """

    def __init__(self, dialect):
        compiled = insert(clicks).compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if self.positional else tuple(clicks.c.keys())
        self.fields = tuple(
            (name, dialect.type_descriptor(clicks.c[name].type).bind_processor(dialect))
            for name in names
        )

    def parameters(self, event: ClickEvent) -> tuple | dict:
        row = event.row()
        values = [
            (value if process is None or value is None else process(value))
            for name, process in self.fields
            for value in (row[name],)
        ]
        if self.positional:
            return tuple(values)
        return dict(zip((name for name, _ in self.fields), values, strict=True))


def insert_if_absent(conn: Connection, rows: Sequence[dict]) -> None:
    """Insert click rows, skipping any whose id is already stored (idempotent replay)."""
    if not rows:
        return
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:  # pragma: no cover - other databases: check first, then insert
        ids = [r["id"] for r in rows]
        present = set(conn.execute(select(clicks.c.id).where(clicks.c.id.in_(ids))).scalars())
        missing = [r for r in rows if r["id"] not in present]
        if missing:
            conn.execute(insert(clicks), missing)
        return
    conn.execute(dialect_insert(clicks).on_conflict_do_nothing(index_elements=["id"]), list(rows))


# --------------------------------------------------------------------------- the store


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
        self._writer = (
            WriterLock(f"{database}.writer-lock") if database else contextlib.nullcontext()
        )
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
