"""Deliveries: claimed in leased batches at the shared pace, then sent, retried or refused.

See :mod:`storefront.mail.outbox` for the whole life of a send; this module holds the
part the senders run: :meth:`Deliveries.claim` and the outcome of each message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection, Engine

from ..storage.engine import insert_absent
from .database import MailDatabase, utc
from .tables import announcements, deliveries, mail_pace

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10  # temporary refusals before a delivery is given up as failed
BACKOFF_BASE = 60.0  # seconds before the first retry; doubled each time
BACKOFF_CAP = 6 * 3600.0  # seconds: the longest wait between two tries
LEASE = 120.0  # seconds a claim is held when the caller does not say


@dataclass(frozen=True)
class Delivery:
    """One claimed delivery: who gets which announcement, and how many tries so far."""

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


def backoff(attempts: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after the ``attempts``-th temporary refusal: base, 2x, 4x... capped."""
    return min(cap, base * 2 ** max(0, attempts - 1))


def message_id(token: str, delivery_id: int, domain: str) -> str:
    """The one ``Message-ID`` of a delivery: a resend after a crash carries the same."""
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "localhost"
    return f"<storefront.{token}.{delivery_id}@{domain}>"


class Deliveries(MailDatabase):
    """The senders' side of the outbox."""

    def __init__(self, engine: Engine, *, backoff_base: float = BACKOFF_BASE):
        super().__init__(engine)
        self.backoff_base = backoff_base

    # ------------------------------------------------------------ deliveries

    def claim(
        self,
        worker: str,
        limit: int,
        *,
        rate: float,
        now: float | None = None,
        horizon: float = 5.0,
        lease: float = LEASE,
        still_subscribed: Callable[[Connection, list[int]], set[int]] | None = None,
    ) -> Batch:
        """Claim up to ``limit`` due deliveries for ``worker``, with a lease and a pace slot.

        The rows are held for ``lease`` seconds from the batch's start. Nothing is claimed
        while the shared pace is more than ``horizon`` seconds ahead (``Batch.wait`` says
        how long). ``still_subscribed(conn, reader_ids)`` returns the
        readers who may still be mailed: the others' deliveries become ``skipped`` here,
        so an address unsubscribed after the send started is never mailed.
        """
        wall = time.time() if now is None else now
        at = datetime.fromtimestamp(wall, UTC).replace(tzinfo=None)
        interval = 1.0 / rate if rate > 0 else 0.0
        with self.write() as conn:
            # The pace row, made by the first claim ever: two senders starting together on
            # one PostgreSQL both find it missing, so the insert does nothing when it is there
            # (a plain insert failed the second sender on the primary key).
            conn.execute(
                insert_absent(self.dialect, mail_pace, "the reader list needs", id=1, next_at=at)
            )
            pace_query = select(mail_pace.c.next_at).where(mail_pace.c.id == 1)
            if self.dialect == "postgresql":
                pace_query = pace_query.with_for_update()
            next_at = conn.execute(pace_query).scalar()
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
            until = start + timedelta(seconds=lease)
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
        return Batch(tuple(rows), start_wall, interval, start_wall + lease)

    def _finish_delivery(self, conn: Connection, delivery_id: int, worker: str, **values) -> bool:
        # claimed_by stays on a finished row: which sender handed it over.
        result = conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .where(deliveries.c.claimed_by == worker)
            .where(deliveries.c.status == "pending")
            .values(claimed_until=None, **values)
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
