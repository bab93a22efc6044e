"""The desk's tables in the app's one database, each declared once for its model and migration.

The migrations in :mod:`storefront.storage.schema` create these very tables
(:func:`create_signin_failures_table`, :func:`create_desk_tables`,
:func:`create_builds_table`), since none has changed since it was added. A change to one
is a new migration, and the migration that created it then gets a frozen copy of the
shape it made (``tests/test_schema_history.py`` fails otherwise).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text
from sqlalchemy.engine import Connection

metadata = MetaData()

# The catalog text each save wrote, for the other servers' CatalogSync.
catalog_versions = Table(
    "desk_catalog_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    Column("summary", Text, nullable=False),
    Column("text", Text, nullable=False),
)

# The password hash, the session generation, the session secret.
state = Table(
    "desk_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Every version of the catalog text the desk kept, by its sha256.
versions = Table(
    "desk_versions",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("text", Text, nullable=False),
)

# The save history: what each save replaced and wrote, by hash.
saves = Table(
    "desk_saves",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("summary", Text, nullable=False),
    Column("before_sha", String(64), nullable=False),
    Column("after_sha", String(64), nullable=False),
)

# One row per campaign: the state of its print build, seen by every server.
builds = Table(
    "desk_builds",
    metadata,
    Column("campaign", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("run", String(32), nullable=False),
    Column("server", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("folder", Text, nullable=False),
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("result", Text, nullable=False),  # JSON: files, failed, built, skipped, seconds
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("heartbeat", Float, nullable=False),
)

# Wrong desk passwords and admin tokens, per client key (storefront.desk.throttle).
signin_failures = Table(
    "signin_failures",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_at", Float, nullable=False),
    Column("next_at", Float, nullable=False),
)


def create_signin_failures_table(conn: Connection) -> None:
    """Migration: the sign-in failures per client."""
    signin_failures.create(conn, checkfirst=True)


def create_desk_tables(conn: Connection) -> None:
    """Migration: the desk's state, history and catalog versions.

    The catalog versions table was created outside the migrations before: checkfirst.
    """
    for table in (catalog_versions, state, versions, saves):
        table.create(conn, checkfirst=True)


def create_builds_table(conn: Connection) -> None:
    """Migration: the desk's print builds."""
    builds.create(conn)
