"""The desk's tables in the app's one database, each declared once for its model and migration.

The migrations in :mod:`storefront.storage.schema` create these tables with the same
functions (:func:`create_desk_tables`, :func:`create_builds_table`,
:func:`create_signin_failures_table`), since none has changed since it was added. A change
to one is a new migration, and the migration that created it then keeps a frozen copy of
the shape it made (``tests/test_schema_history.py`` fails otherwise).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text
from sqlalchemy.engine import Connection


def _catalog_versions(meta: MetaData) -> Table:
    # The catalog text each save wrote, for the other servers' CatalogSync.
    return Table(
        "desk_catalog_versions",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("sha256", String(64), nullable=False),
        Column("saved_at", DateTime(timezone=True), nullable=False),
        Column("summary", Text, nullable=False),
        Column("text", Text, nullable=False),
    )


def _state(meta: MetaData) -> Table:
    # The password hash, the session generation, the session secret.
    return Table(
        "desk_state",
        meta,
        Column("name", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )


def _versions(meta: MetaData) -> Table:
    # Every version of the catalog text the desk kept, by its sha256.
    return Table(
        "desk_versions",
        meta,
        Column("sha256", String(64), primary_key=True),
        Column("text", Text, nullable=False),
    )


def _saves(meta: MetaData) -> Table:
    # The save history: what each save replaced and wrote, by hash.
    return Table(
        "desk_saves",
        meta,
        Column("number", Integer, primary_key=True, autoincrement=True),
        Column("at", String(32), nullable=False),
        Column("summary", Text, nullable=False),
        Column("before_sha", String(64), nullable=False),
        Column("after_sha", String(64), nullable=False),
    )


def _builds(meta: MetaData) -> Table:
    # One row per campaign: the state of its print build, seen by every server.
    return Table(
        "desk_builds",
        meta,
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


def _signin_failures(meta: MetaData) -> Table:
    # Wrong desk passwords and admin tokens, per client key (storefront.desk.throttle).
    return Table(
        "signin_failures",
        meta,
        Column("key", String(80), primary_key=True),
        Column("failures", Integer, nullable=False),
        Column("last_at", Float, nullable=False),
        Column("next_at", Float, nullable=False),
    )


metadata = MetaData()
catalog_versions = _catalog_versions(metadata)
state = _state(metadata)
versions = _versions(metadata)
saves = _saves(metadata)
builds = _builds(metadata)
signin_failures = _signin_failures(metadata)


def create_signin_failures_table(conn: Connection) -> None:
    """Migration: the sign-in failures per client."""
    _signin_failures(MetaData()).create(conn, checkfirst=True)


def create_desk_tables(conn: Connection) -> None:
    """Migration: the desk's state, history and catalog versions.

    The catalog versions table was created outside the migrations before: checkfirst.
    """
    frozen = MetaData()
    for build in (_catalog_versions, _state, _versions, _saves):
        build(frozen).create(conn, checkfirst=True)


def create_builds_table(conn: Connection) -> None:
    """Migration: the desk's print builds."""
    _builds(MetaData()).create(conn)
