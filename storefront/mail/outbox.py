"""The outbox: an announcement's send as a durable job, one delivery row per recipient.

The life of a send, all in the one database (SQLite or PostgreSQL, the click engine):

* :meth:`Outbox.start` (now, or when a scheduled ``send_at`` comes) snapshots the
  rendered message and the recipients in one transaction: one ``deliveries`` row per
  reader, unique per (announcement, reader), so a repeated start adds nobody twice.
* Senders :meth:`Outbox.claim` a batch with a lease (``claimed_by``, ``claimed_until``):
  ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite, so two
  senders never hold one row. A sender that dies leaves its lease to run out; the rows
  are then claimed again. The same transaction reserves the batch's slot in the shared
  pace (``mail_pace``), so ``STOREFRONT_MAIL_RATE`` holds across every sender.
* Each message is marked sent (:meth:`Outbox.sent`) in its own commit right after the
  server's ``250``. The one window left is the instant between that ``250`` and the
  commit: a sender killed there sends that one message again when its lease runs out,
  with the same ``Message-ID`` (:func:`message_id`), which mail providers deduplicate.
* A permanent refusal (5xx) marks the row ``suppressed`` and suppresses the reader in
  the same transaction; a temporary one (4xx, a dropped connection) is retried with
  exponential backoff (:func:`backoff`) up to :data:`MAX_ATTEMPTS`, then ``failed``.

Times are naive UTC in the database (as the click table's).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from .database import aware, utc
from .delivery import Batch, Deliveries, Delivery, backoff, message_id
from .tables import announcements, deliveries

if TYPE_CHECKING:
    from .announce import Draft

INSERT_CHUNK = 1000  # delivery rows per INSERT statement

__all__ = ["Batch", "Delivery", "Outbox", "aware", "backoff", "message_id", "utc"]


class Outbox(Deliveries):
    """Announcements and their deliveries in the database behind ``engine``."""

    # ------------------------------------------------------------ announcements

    def create(self, draft: Draft, now: datetime) -> int:
        """Store ``draft`` (as the desk or ``readers announce`` made it); return its id."""
        with self.write() as conn:
            result = conn.execute(
                insert(announcements).values(
                    kind=draft.kind,
                    ref=draft.ref,
                    campaign=draft.campaign,
                    books=" ".join(draft.books),
                    topic=draft.topic,
                    subject=draft.subject,
                    markdown=draft.markdown,
                    status="draft",
                    token=secrets.token_hex(8),
                    total=0,
                    created_at=utc(now),
                    updated_at=utc(now),
                )
            )
            return int(result.inserted_primary_key[0])

    def get(self, announcement_id: int) -> dict | None:
        with self.read() as conn:
            row = conn.execute(
                select(announcements).where(announcements.c.id == announcement_id)
            ).first()
        return dict(row._mapping) if row is not None else None

    def listing(self, limit: int = 50) -> list[dict]:
        """The latest announcements, newest first, without their snapshots."""
        columns = [c for c in announcements.c if c.name not in ("html", "text", "markdown")]
        with self.read() as conn:
            rows = conn.execute(
                select(*columns).order_by(announcements.c.id.desc()).limit(limit)
            ).all()
        return [dict(r._mapping) for r in rows]

    def edit(self, announcement_id: int, *, subject: str, markdown: str, now: datetime) -> bool:
        """Change a draft's (or a scheduled send's) text; False once it has started."""
        with self.write() as conn:
            result = conn.execute(
                update(announcements)
                .where(announcements.c.id == announcement_id)
                .where(announcements.c.status.in_(("draft", "scheduled")))
                .values(subject=subject, markdown=markdown, updated_at=utc(now))
            )
            return result.rowcount == 1

    def schedule(self, announcement_id: int, send_at: datetime, now: datetime) -> bool:
        """Send at ``send_at`` (a draft or a scheduled one); False once it has started."""
        with self.write() as conn:
            result = conn.execute(
                update(announcements)
                .where(announcements.c.id == announcement_id)
                .where(announcements.c.status.in_(("draft", "scheduled")))
                .values(status="scheduled", send_at=utc(send_at), updated_at=utc(now))
            )
            return result.rowcount == 1

    def cancel(self, announcement_id: int, now: datetime) -> bool:
        """Stop a send: nothing more goes out (what went out stays sent)."""
        with self.write() as conn:
            result = conn.execute(
                update(announcements)
                .where(announcements.c.id == announcement_id)
                .where(announcements.c.status.in_(("draft", "scheduled", "sending")))
                .values(status="cancelled", updated_at=utc(now), finished_at=utc(now))
            )
            conn.execute(
                update(deliveries)
                .where(deliveries.c.announcement_id == announcement_id)
                .where(deliveries.c.status == "pending")
                .values(status="cancelled", claimed_by=None, claimed_until=None)
            )
            return result.rowcount == 1

    def start(
        self,
        announcement_id: int,
        *,
        html: str,
        text: str,
        subject: str,
        recipients: Callable[[Connection], Iterable[tuple[int, str]]],
        now: datetime,
    ) -> int | None:
        """Begin sending: snapshot the message and one delivery per recipient, atomically.

        ``recipients(conn)`` yields ``(reader id, address)`` inside the same transaction.
        Returns how many deliveries were made, or None when the announcement is not a
        draft or a scheduled send (another server started it first, or it was cancelled).
        """
        with self.write() as conn:
            query = (
                select(announcements.c.id)
                .where(announcements.c.id == announcement_id)
                .where(announcements.c.status.in_(("draft", "scheduled")))
            )
            if self.dialect == "postgresql":
                query = query.with_for_update()
            if conn.execute(query).first() is None:
                return None
            when = utc(now)
            seen: set[int] = set()
            rows = []
            for reader_id, email in recipients(conn):
                if reader_id in seen:
                    continue
                seen.add(reader_id)
                rows.append(
                    {
                        "announcement_id": announcement_id,
                        "reader_id": reader_id,
                        "email": email,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": when,
                    }
                )
            for i in range(0, len(rows), INSERT_CHUNK):
                conn.execute(insert(deliveries), rows[i : i + INSERT_CHUNK])
            conn.execute(
                update(announcements)
                .where(announcements.c.id == announcement_id)
                .values(
                    status="sending",
                    html=html,
                    text=text,
                    subject=subject,
                    total=len(rows),
                    started_at=when,
                    updated_at=when,
                )
            )
            return len(rows)

    def due(self, now: datetime) -> list[int]:
        """Scheduled announcements whose moment has come."""
        with self.read() as conn:
            return list(
                conn.execute(
                    select(announcements.c.id)
                    .where(announcements.c.status == "scheduled")
                    .where(announcements.c.send_at <= utc(now))
                    .order_by(announcements.c.send_at)
                ).scalars()
            )

    def progress(self, announcement_id: int) -> dict[str, int]:
        """How many deliveries of the announcement are in each state (every state present)."""
        with self.read() as conn:
            rows = conn.execute(
                select(deliveries.c.status, func.count())
                .where(deliveries.c.announcement_id == announcement_id)
                .group_by(deliveries.c.status)
            ).all()
        counts = {state: 0 for state in ("pending", "sent", "failed", "suppressed", "skipped")}
        counts["cancelled"] = 0
        counts.update({status: n for status, n in rows})
        return counts

    def finish(self, now: datetime) -> list[int]:
        """Mark ``sent`` every sending announcement with no pending delivery left."""
        pending = (
            select(deliveries.c.id)
            .where(deliveries.c.announcement_id == announcements.c.id)
            .where(deliveries.c.status == "pending")
            .exists()
        )
        with self.read() as conn:
            done = list(
                conn.execute(
                    select(announcements.c.id)
                    .where(announcements.c.status == "sending")
                    .where(~pending)
                ).scalars()
            )
        if done:
            with self.write() as conn:
                conn.execute(
                    update(announcements)
                    .where(announcements.c.id.in_(done))
                    .where(announcements.c.status == "sending")
                    .where(~pending)
                    .values(status="sent", finished_at=utc(now), updated_at=utc(now))
                )
        return done

    def snapshot(self, announcement_id: int) -> dict | None:
        """What every recipient of a started announcement gets: subject, html, text, token."""
        with self.read() as conn:
            row = conn.execute(
                select(
                    announcements.c.subject,
                    announcements.c.html,
                    announcements.c.text,
                    announcements.c.token,
                    announcements.c.status,
                ).where(announcements.c.id == announcement_id)
            ).first()
        return dict(row._mapping) if row is not None else None
