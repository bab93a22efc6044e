"""The outbox's tables: announcements, one delivery row per recipient, and the send pace.

Each table is declared once, for the model the outbox queries and for its migration
(:func:`create_outbox_tables`): none has changed since that migration was added.
"""

from __future__ import annotations

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
    UniqueConstraint,
)
from sqlalchemy.engine import Connection

metadata = MetaData()

ANNOUNCEMENT_STATES = ("draft", "scheduled", "sending", "sent", "cancelled")
DELIVERY_STATES = ("pending", "sent", "failed", "suppressed", "skipped", "cancelled")


def _announcements(meta: MetaData) -> Table:
    return Table(
        "announcements",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("kind", String(16), nullable=False),  # campaign | book
        Column("ref", String(64), nullable=False),  # the campaign's or the book's slug
        Column("campaign", String(64)),  # the c= of every link (None for a book)
        Column("books", String(1000), nullable=False),  # the books it is about, space-separated
        Column("topic", String(16), nullable=False),  # sales | new-books
        Column("subject", String(300), nullable=False),
        Column("markdown", Text, nullable=False),
        Column("status", String(16), nullable=False),
        Column("send_at", DateTime()),  # UTC; scheduled sends start then
        Column("token", String(32), nullable=False),  # in every Message-ID of this announcement
        # The snapshot taken when sending starts: what every recipient gets.
        Column("html", Text),
        Column("text", Text),
        Column("total", Integer, nullable=False, default=0),  # default: on insert, not in DDL
        Column("created_at", DateTime(), nullable=False),
        Column("updated_at", DateTime(), nullable=False),
        Column("started_at", DateTime()),
        Column("finished_at", DateTime()),
    )


def _deliveries(meta: MetaData) -> Table:
    return Table(
        "deliveries",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("announcement_id", Integer, ForeignKey("announcements.id"), nullable=False),
        Column("reader_id", Integer, nullable=False),
        Column("email", String(320), nullable=False),
        Column("status", String(16), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", DateTime(), nullable=False),
        Column("claimed_by", String(64)),
        Column("claimed_until", DateTime()),
        Column("message_id", String(255)),
        Column("last_error", String(500)),
        Column("sent_at", DateTime()),
        UniqueConstraint("announcement_id", "reader_id", name="uq_deliveries_reader"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )


def _mail_pace(meta: MetaData) -> Table:
    # One row (id 1): the earliest moment the next message may be handed to the provider,
    # shared by every sender of every server so STOREFRONT_MAIL_RATE holds for them all.
    return Table(
        "mail_pace",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("next_at", DateTime(), nullable=False),
    )


announcements = _announcements(metadata)
deliveries = _deliveries(metadata)
mail_pace = _mail_pace(metadata)


def create_outbox_tables(conn: Connection) -> None:
    """Migration: the announcements, deliveries and mail_pace tables."""
    # Unchanged since this migration: a later change is a later migration, and this one
    # then keeps a frozen copy of these shapes (tests/test_schema_history.py).
    frozen = MetaData()
    for build in (_announcements, _deliveries, _mail_pace):
        build(frozen)
    frozen.create_all(conn)
