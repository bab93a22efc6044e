"""The click table, its schema versions and migrations, and the two ways a click row is written.

Migrations are append-only: version N is ``MIGRATIONS[N - 1]``, each creating the shape
it had. A table changed since keeps that shape frozen in its migration (the clicks); one
unchanged since is declared once, for its model and its migration (the desk's and the
reader list's tables); ``tests/test_schema_history.py`` holds every version to what it
created. :func:`migrate` runs them once, in one transaction, under a lock, so workers
starting together migrate once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

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
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

from ..clicks import ClickEvent
from ..desk.tables import create_builds_table, create_desk_tables, create_signin_failures_table
from ..mail.tables import create_outbox_tables
from ..readers.tables import migrate_reader_tables
from .engine import StorageError

logger = logging.getLogger(__name__)


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
    ("sign-in failures per client", create_signin_failures_table),
    ("announcements, deliveries and the mail pace (the outbox)", create_outbox_tables),
    ("the desk's state, history and catalog versions", create_desk_tables),
    ("the reader list: readers, consents, forgotten addresses, attempts", migrate_reader_tables),
    ("the desk's print builds", create_builds_table),
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


class ClickInsert:
    """The click ``INSERT``, compiled once for a dialect, run on the driver's own cursor.

    A Core ``execute`` of one row spends more time in SQLAlchemy than SQLite spends
    committing it. This keeps SQLAlchemy's SQL and the dialect's bind processors, so
    a row is stored exactly as Core would store it, and skips the rest. Like the
    spool's replay it inserts a click only if its id is absent: a write that ends
    after its click was spooled (past the click budget) never counts it twice.
    """

    def __init__(self, dialect):
        compiled = _insert_if_absent_statement(dialect.name).compile(dialect=dialect)
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


def _insert_if_absent_statement(dialect_name: str):
    if dialect_name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:  # pragma: no cover - other databases: a plain insert (a duplicate is an error)
        return insert(clicks)
    return dialect_insert(clicks).on_conflict_do_nothing(index_elements=["id"])


def insert_if_absent(conn: Connection, rows: Sequence[dict]) -> None:
    """Insert click rows, skipping any whose id is already stored (idempotent replay)."""
    if not rows:
        return
    name = conn.dialect.name
    if name not in ("sqlite", "postgresql"):  # pragma: no cover - check first, then insert
        ids = [r["id"] for r in rows]
        present = set(conn.execute(select(clicks.c.id).where(clicks.c.id.in_(ids))).scalars())
        missing = [r for r in rows if r["id"] not in present]
        if missing:
            conn.execute(insert(clicks), missing)
        return
    conn.execute(_insert_if_absent_statement(name), list(rows))
