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

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from ..storage import WriterLock, migrate
from ..storage.engine import lock_path
from .tables import announcements, deliveries, mail_pace

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10  # temporary refusals before a delivery is given up as failed
BACKOFF_BASE = 60.0  # seconds before the first retry; doubled each time
BACKOFF_CAP = 6 * 3600.0  # seconds: the longest wait between two tries
LEASE_MARGIN = 120.0  # seconds a lease outlives its batch's planned sending time
INSERT_CHUNK = 1000  # delivery rows per INSERT statement


@dataclass(frozen=True)
class Delivery:
    """One claimed delivery, with what its message is made of."""

    id: int
    announcement_id: int
    reader_id: int
    email: str
    attempts: int


@dataclass(frozen=True)
class Batch:
    """Claimed deliveries and their pace: message ``i`` may go at ``start + i * interval``."""

    deliveries: tuple[Delivery, ...]
    start: float  # time.time() of the first message
    interval: float  # seconds between two messages
    until: float  # time.time() when the lease runs out
    wait: float = 0.0  # nothing claimed: seconds until the pace allows the next batch


def utc(at: datetime) -> datetime:
    """``at`` as the naive UTC the database stores."""
    if at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)


def aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def backoff(attempts: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after the ``attempts``-th temporary refusal: base, 2x, 4x... capped."""
    return min(cap, base * 2 ** max(0, attempts - 1))


def message_id(token: str, delivery_id: int, domain: str) -> str:
    """The one ``Message-ID`` of a delivery: a resend after a crash carries the same."""
    return f"<storefront.{token}.{delivery_id}@{domain}>"


class Outbox:
    """Announcements and their deliveries in the database behind ``engine``."""

    def __init__(self, engine: Engine, *, backoff_base: float = BACKOFF_BASE):
        self.engine = engine
        self.backoff_base = backoff_base
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
        """One write transaction (SQLite: ``BEGIN IMMEDIATE``), retried while SQLite is busy."""
        self.ensure_schema()
        for attempt in range(50):
            try:
                with self._writer, self.engine.connect() as conn:
                    if self.dialect == "sqlite":
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    yield conn
                    conn.commit()
                return
            except OperationalError as exc:
                if self.dialect != "sqlite" or "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.02 * (attempt + 1))

    def read(self) -> Connection:
        self.ensure_schema()
        return self.engine.connect()

    # ------------------------------------------------------------ announcements

    def create(
        self,
        *,
        kind: str,
        ref: str,
        campaign: str | None,
        books: Iterable[str],
        topic: str,
        subject: str,
        markdown: str,
        now: datetime,
    ) -> int:
        """Store a draft; return its id."""
        with self.write() as conn:
            result = conn.execute(
                insert(announcements).values(
                    kind=kind,
                    ref=ref,
                    campaign=campaign,
                    books=" ".join(books),
                    topic=topic,
                    subject=subject,
                    markdown=markdown,
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

    # ------------------------------------------------------------ deliveries

    def claim(
        self,
        worker: str,
        limit: int,
        *,
        rate: float,
        now: float | None = None,
        horizon: float = 5.0,
        still_subscribed: Callable[[Connection, list[int]], set[int]] | None = None,
    ) -> Batch:
        """Claim up to ``limit`` due deliveries for ``worker``, with a lease and a pace slot.

        Nothing is claimed while the shared pace is more than ``horizon`` seconds ahead
        (``Batch.wait`` says how long). ``still_subscribed(conn, reader_ids)`` returns the
        readers who may still be mailed: the others' deliveries become ``skipped`` here,
        so an address unsubscribed after the send started is never mailed.
        """
        wall = time.time() if now is None else now
        at = datetime.fromtimestamp(wall, UTC).replace(tzinfo=None)
        interval = 1.0 / rate if rate > 0 else 0.0
        with self.write() as conn:
            pace_query = select(mail_pace.c.next_at).where(mail_pace.c.id == 1)
            if self.dialect == "postgresql":
                pace_query = pace_query.with_for_update()
            next_at = conn.execute(pace_query).scalar()
            if next_at is None:
                conn.execute(insert(mail_pace).values(id=1, next_at=at))
                next_at = at
            start = max(at, next_at)
            ahead = (start - at).total_seconds()
            if ahead > horizon:
                return Batch((), 0.0, interval, 0.0, wait=ahead - horizon)
            sending = select(announcements.c.id).where(announcements.c.status == "sending")
            query = (
                select(
                    deliveries.c.id,
                    deliveries.c.announcement_id,
                    deliveries.c.reader_id,
                    deliveries.c.email,
                    deliveries.c.attempts,
                )
                .where(deliveries.c.status == "pending")
                .where(deliveries.c.next_attempt_at <= at)
                .where(or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < at))
                .where(deliveries.c.announcement_id.in_(sending))
                .order_by(deliveries.c.id)
                .limit(limit)
            )
            if self.dialect == "postgresql":
                query = query.with_for_update(of=deliveries, skip_locked=True)
            rows = [Delivery(*r) for r in conn.execute(query).all()]
            if rows and still_subscribed is not None:
                allowed = still_subscribed(conn, [r.reader_id for r in rows])
                gone = [r.id for r in rows if r.reader_id not in allowed]
                if gone:
                    conn.execute(
                        update(deliveries)
                        .where(deliveries.c.id.in_(gone))
                        .values(status="skipped", last_error="unsubscribed before it was sent")
                    )
                rows = [r for r in rows if r.reader_id in allowed]
            if not rows:
                return Batch((), 0.0, interval, 0.0)
            seconds = len(rows) * interval
            until = start + timedelta(seconds=seconds + LEASE_MARGIN)
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_([r.id for r in rows]))
                .values(claimed_by=worker, claimed_until=until)
            )
            conn.execute(
                update(mail_pace)
                .where(mail_pace.c.id == 1)
                .values(next_at=start + timedelta(seconds=seconds))
            )
        start_wall = wall + ahead
        return Batch(tuple(rows), start_wall, interval, wall + ahead + seconds + LEASE_MARGIN)

    def _finish_delivery(self, conn: Connection, delivery_id: int, worker: str, **values) -> bool:
        result = conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .where(deliveries.c.claimed_by == worker)
            .where(deliveries.c.status == "pending")
            .values(claimed_by=None, claimed_until=None, **values)
        )
        if result.rowcount != 1:
            logger.warning("delivery %s: its lease had passed to another sender", delivery_id)
        return result.rowcount == 1

    def sent(self, delivery: Delivery, worker: str, msgid: str, now: datetime) -> bool:
        """The server accepted the message: commit that at once (the crash window's end)."""
        with self.write() as conn:
            return self._finish_delivery(
                conn,
                delivery.id,
                worker,
                status="sent",
                attempts=delivery.attempts + 1,
                message_id=msgid,
                sent_at=utc(now),
                last_error=None,
            )

    def retry(self, delivery: Delivery, worker: str, error: str, now: datetime) -> str:
        """A temporary refusal: try again after :func:`backoff`, or give up; return the state."""
        attempts = delivery.attempts + 1
        state = "failed" if attempts >= MAX_ATTEMPTS else "pending"
        wait = backoff(attempts, self.backoff_base)
        with self.write() as conn:
            self._finish_delivery(
                conn,
                delivery.id,
                worker,
                status=state,
                attempts=attempts,
                next_attempt_at=utc(now) + timedelta(seconds=wait),
                last_error=error[:500],
            )
        return state

    def refused(
        self,
        delivery: Delivery,
        worker: str,
        error: str,
        now: datetime,
        suppress: Callable[[Connection, int, str], None] | None,
    ) -> None:
        """A permanent refusal: the delivery ends; with ``suppress``, the reader is suppressed."""
        with self.write() as conn:
            if (
                self._finish_delivery(
                    conn,
                    delivery.id,
                    worker,
                    status="suppressed" if suppress else "failed",
                    attempts=delivery.attempts + 1,
                    last_error=error[:500],
                )
                and suppress is not None
            ):
                suppress(conn, delivery.reader_id, error[:500])

    def release(self, ids: Iterable[int], worker: str) -> None:
        """Give back claimed rows not sent (a sender stopping or backing off)."""
        ids = list(ids)
        if not ids:
            return
        with self.write() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids))
                .where(and_(deliveries.c.claimed_by == worker, deliveries.c.status == "pending"))
                .values(claimed_by=None, claimed_until=None)
            )
