"""The reader list's tables and their migration (appended to the one schema history).

- ``readers``: one row per address: its status (``pending`` until confirmed,
  ``confirmed``, ``unsubscribed``, ``suppressed`` after a permanent refusal), what it
  wants to hear about (``topics``: ``sales``, ``new-books``; ``book``: one book only),
  where it signed up (``source``: ``form`` or ``mailchimp``/``mailerlite`` for an import;
  ``placement``: page, shelf, card…) and when each step happened.
- ``reader_consents``: the proof of consent, one row per event (sign-up, confirmation,
  import, change, unsubscribe): when, which form and page, the exact text shown and
  its version.
- ``reader_forgotten``: one-way hashes of erased addresses (``readers forget``), so an
  import does not bring one back by accident.
- ``reader_attempts``: recent sign-up attempts by client and by address (hashed), the
  rate limit every server shares; rows older than a day are deleted as new ones come.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Connection

metadata = MetaData()


def utc(at: datetime | None = None) -> datetime:
    """``at`` (default now) as a naive UTC datetime, as the tables store it."""
    return (at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)


STATUSES = ("pending", "confirmed", "unsubscribed", "suppressed")


def _readers(meta: MetaData) -> Table:
    return Table(
        "readers",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("email", String(320), nullable=False, unique=True),
        Column("status", String(16), nullable=False),
        Column("topics", String(64), nullable=False),  # "sales,new-books"
        Column("book", String(64)),  # set: this book's news only
        Column("source", String(32), nullable=False),  # form | mailchimp | mailerlite | csv
        Column("placement", String(16)),
        Column("created_at", DateTime(), nullable=False),
        Column("updated_at", DateTime(), nullable=False),
        Column("confirmed_at", DateTime()),
        Column("unsubscribed_at", DateTime()),
        Column("last_confirmation_at", DateTime()),  # the last confirmation e-mail sent
        Column("reason", String(200)),  # why suppressed (the server's refusal)
        sqlite_autoincrement=True,  # an erased reader's id is never given to another
    )


def _consents(meta: MetaData) -> Table:
    return Table(
        "reader_consents",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("reader_id", Integer, ForeignKey("readers.id", ondelete="CASCADE"), nullable=False),
        Column("at", DateTime(), nullable=False),
        Column("event", String(16), nullable=False),  # signup | confirm | import | unsubscribe
        Column("form", String(16)),  # the placement of the form: page, shelf, card, widget
        Column("page", String(500)),  # the page the form was on
        Column("text", Text(), nullable=False),  # exactly what the reader agreed to
        Column("version", String(16), nullable=False),
        Column("topics", String(64)),
        Column("book", String(64)),
        Index("ix_reader_consents_reader", "reader_id"),
        sqlite_autoincrement=True,
    )


def _forgotten(meta: MetaData) -> Table:
    return Table(
        "reader_forgotten",
        meta,
        Column("hash", String(64), primary_key=True),
        Column("at", DateTime(), nullable=False),
    )


def _attempts(meta: MetaData) -> Table:
    return Table(
        "reader_attempts",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("key", String(64), nullable=False),  # "c:<hash of client>" or "a:<hash of address>"
        Column("at", DateTime(), nullable=False),
        Index("ix_reader_attempts_key_at", "key", "at"),
    )


readers = _readers(metadata)
consents = _consents(metadata)
forgotten = _forgotten(metadata)
attempts = _attempts(metadata)


def migrate_reader_tables(conn: Connection) -> None:
    """Migration: the reader list (readers, consents, forgotten hashes, attempts)."""
    # Its own MetaData, frozen in this shape: a later change is a later migration.
    frozen = MetaData()
    for build in (_readers, _consents, _forgotten, _attempts):
        build(frozen)
    frozen.create_all(conn)
