"""What the sender and the desk ask of the reader list beyond its public functions.

:func:`still_subscribed` is checked when each batch is claimed, so a reader who leaves
during a send is not mailed; :func:`list_summary` is the desk's picture of the list
(counts, growth by week, sign-ups by placement).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from ..readers import counts, readers

WEEKS = 12  # weeks of growth the desk shows


def still_subscribed(conn: Connection, reader_ids: list[int]) -> set[int]:
    """Those of ``reader_ids`` who are confirmed now (not unsubscribed, suppressed, erased)."""
    if not reader_ids:
        return set()
    return set(
        conn.execute(
            select(readers.c.id)
            .where(readers.c.id.in_(reader_ids))
            .where(readers.c.status == "confirmed")
        ).scalars()
    )


def week_of(day: date) -> date:
    """The Monday that starts ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def list_summary(conn: Connection, at: datetime) -> dict:
    """Counts by status, the last :data:`WEEKS` weeks' growth, and sign-ups by placement.

    A week's ``signed_up`` counts the forms sent (every status), ``confirmed`` the
    confirmations, ``left`` the unsubscribes; readers erased with ``readers forget``
    are gone from every figure.
    """
    since = week_of(at.date()) - timedelta(weeks=WEEKS - 1)
    start = datetime(since.year, since.month, since.day)
    weeks: dict[date, Counter] = {since + timedelta(weeks=i): Counter() for i in range(WEEKS)}
    for column, key in (
        (readers.c.created_at, "signed_up"),
        (readers.c.confirmed_at, "confirmed"),
        (readers.c.unsubscribed_at, "left"),
    ):
        for (moment,) in conn.execute(select(column).where(column >= start)):
            bucket = weeks.get(week_of(moment.date()))
            if bucket is not None:
                bucket[key] += 1
    rows = [
        {"week": w.isoformat(), **{k: c[k] for k in ("signed_up", "confirmed", "left")}}
        for w, c in sorted(weeks.items(), reverse=True)
    ]
    placement = func.coalesce(readers.c.placement, readers.c.source)
    confirmed = func.sum(case((readers.c.status == "confirmed", 1), else_=0))
    by_placement = [
        {"placement": str(name), "signed_up": int(total), "confirmed": int(ok or 0)}
        for name, total, ok in conn.execute(
            select(placement, func.count(), confirmed)
            .group_by(placement)
            .order_by(func.count().desc())
        )
    ]
    return {
        "counts": counts(conn),
        "weeks": [r for r in rows if any(r[k] for k in ("signed_up", "confirmed", "left"))],
        "placements": by_placement,
    }
