"""The reader list's rules, one function each: sign up, confirm, unsubscribe, suppress, forget.

Every function takes an open SQLAlchemy ``Connection`` and leaves committing to the
caller (``engine.begin()``), so a view, a command and a test share one rule.

The rules:

- A sign-up stores or refreshes a *pending* reader; only a confirmation (a POST from
  the link in the e-mail) makes it *confirmed*. A confirmed reader signing up again
  changes nothing. A *suppressed* address (the provider refused it for good) is never
  mailed again, not even a confirmation.
- At most one confirmation e-mail per address per day, whoever asks, however often:
  :func:`claim_confirmation_mail` reserves it with one conditional ``UPDATE``, so two
  servers answering two sign-ups at once still send one.
- :func:`recipients` yields only confirmed readers who asked for the topic; a reader
  who chose one book hears only about that book.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, insert, inspect, literal, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from .address import address_hash
from .limits import forget_attempts
from .tables import STATUSES, consents, forgotten, readers, utc

TOPICS = ("sales", "new-books")
CONFIRMATION_INTERVAL = timedelta(days=1)
CHUNK = 1000  # recipients read per query


@dataclass(frozen=True)
class Recipient:
    id: int
    email: str


@dataclass(frozen=True)
class Consent:
    """What the reader agreed to, where: stored with every sign-up and confirmation."""

    text: str
    version: str
    form: str | None = None  # the placement: page, shelf, card, widget, export
    page: str | None = None  # the page the form was on


def topics_text(topics: tuple[str, ...] | list[str]) -> str:
    """The stored form of a set of topics, in a fixed order."""
    return ",".join(t for t in TOPICS if t in topics)


def find_reader(conn: Connection, email: str):
    """The reader row for a normalised address, or ``None``."""
    return conn.execute(select(readers).where(readers.c.email == email)).first()


def get_reader(conn: Connection, reader_id: int):
    return conn.execute(select(readers).where(readers.c.id == reader_id)).first()


def record_consent(
    conn: Connection, reader_id: int, event: str, consent: Consent, at: datetime, *, row=None
) -> None:
    row = row or get_reader(conn, reader_id)
    conn.execute(
        insert(consents).values(
            reader_id=reader_id,
            at=utc(at),
            event=event,
            form=(consent.form or "")[:16] or None,
            page=(consent.page or "")[:500] or None,
            text=consent.text,
            version=consent.version,
            topics=row.topics if row is not None else None,
            book=row.book if row is not None else None,
        )
    )


def sign_up(
    conn: Connection,
    email: str,
    *,
    topics: tuple[str, ...],
    book: str | None,
    consent: Consent,
    at: datetime | None = None,
    source: str = "form",
) -> int | None:
    """Store a sign-up for the normalised ``email``; return the reader's id.

    ``None`` when nothing may follow (the address is suppressed). A confirmed reader
    is left as is; a pending or unsubscribed one takes the new topics and book (they
    apply once confirmed). Each sign-up of a pending address adds a consent record.
    """
    now = utc(at)
    row = find_reader(conn, email)
    if row is None:
        values = dict(
            email=email,
            status="pending",
            topics=topics_text(topics),
            book=book,
            source=source,
            placement=consent.form,
            created_at=now,
            updated_at=now,
        )
        try:
            with conn.begin_nested():
                reader_id = conn.execute(insert(readers).values(**values)).inserted_primary_key[0]
        except IntegrityError:  # the same address signed up at this very moment elsewhere
            row = find_reader(conn, email)
            if row is None:
                raise
        else:
            record_consent(conn, reader_id, "signup", consent, now)
            return reader_id
    if row.status in ("suppressed", "confirmed"):
        return None if row.status == "suppressed" else row.id
    conn.execute(
        update(readers)
        .where(readers.c.id == row.id)
        .values(topics=topics_text(topics), book=book, placement=consent.form, updated_at=now)
    )
    record_consent(conn, row.id, "signup", consent, now)
    return row.id


def claim_confirmation_mail(conn: Connection, reader_id: int, at: datetime | None = None):
    """Reserve the day's confirmation e-mail for a pending or unsubscribed reader.

    Returns the previous ``last_confirmation_at`` (``None`` for the first) when this
    caller may send it, or ``False`` when one went out in the last day or the reader
    is not waiting for one. :func:`release_confirmation_mail` undoes it if sending fails.
    """
    now = utc(at)
    previous = conn.execute(
        select(readers.c.last_confirmation_at).where(readers.c.id == reader_id)
    ).scalar()
    claimed = conn.execute(
        update(readers)
        .where(
            readers.c.id == reader_id,
            readers.c.status.in_(("pending", "unsubscribed")),
            or_(
                readers.c.last_confirmation_at.is_(None),
                readers.c.last_confirmation_at <= now - CONFIRMATION_INTERVAL,
            ),
        )
        .values(last_confirmation_at=now)
    ).rowcount
    return previous if claimed == 1 else False


def release_confirmation_mail(conn: Connection, reader_id: int, previous) -> None:
    """The confirmation e-mail did not go out: let the next sign-up try again."""
    conn.execute(
        update(readers).where(readers.c.id == reader_id).values(last_confirmation_at=previous)
    )


def confirm(conn: Connection, reader_id: int, consent: Consent, at: datetime | None = None) -> bool:
    """Confirm a pending (or re-subscribing) reader; ``True`` if the reader is now confirmed."""
    now = utc(at)
    row = get_reader(conn, reader_id)
    if row is None or row.status == "suppressed":
        return False
    if row.status == "confirmed":
        return True
    conn.execute(
        update(readers)
        .where(readers.c.id == reader_id, readers.c.status.in_(("pending", "unsubscribed")))
        .values(status="confirmed", confirmed_at=now, unsubscribed_at=None, updated_at=now)
    )
    record_consent(conn, reader_id, "confirm", consent, now)
    return True


def unsubscribe(
    conn: Connection,
    reader_id: int,
    *,
    keep: tuple[str, ...] = (),
    consent: Consent | None = None,
    at: datetime | None = None,
) -> bool:
    """Stop mail to a reader at once; ``keep`` topics (e.g. ``("new-books",)``) stay on.

    Returns ``False`` when there is no such reader (erased). A suppressed reader stays
    suppressed; keeping topics never re-subscribes someone who had left.
    """
    now = utc(at)
    row = get_reader(conn, reader_id)
    if row is None:
        return False
    kept = topics_text([t for t in keep if t in row.topics.split(",")])
    if kept and row.status == "confirmed":
        values = dict(topics=kept, updated_at=now)
        event = "change"
    elif row.status in ("pending", "confirmed"):
        values = dict(status="unsubscribed", unsubscribed_at=now, updated_at=now)
        event = "unsubscribe"
    else:
        return True  # already unsubscribed or suppressed
    conn.execute(update(readers).where(readers.c.id == reader_id).values(**values))
    if consent is not None:
        record_consent(conn, reader_id, event, consent, now)
    return True


def suppress(conn: Connection, reader_id: int, reason: str, at: datetime | None = None) -> None:
    """Never mail this reader again (a permanent refusal); ``reason`` is the server's words."""
    now = utc(at)
    conn.execute(
        update(readers)
        .where(readers.c.id == reader_id)
        .values(status="suppressed", reason=" ".join(reason.split())[:200], updated_at=now)
    )


def recipients(conn: Connection, *, topic: str, book: str | None = None) -> Iterator[Recipient]:
    """Confirmed readers who want ``topic`` news (about ``book``), in id order.

    A reader who chose one book only gets that book's news: with ``book=None`` (news not
    about one book) they are left out. Read in chunks, so a long list is never held
    in memory and no cursor stays open while the caller works.
    """
    if topic not in TOPICS:
        raise ValueError(f"unknown topic '{topic}': one of {', '.join(TOPICS)}")
    wanted = (literal(",") + readers.c.topics + literal(",")).like(f"%,{topic},%")
    which = (
        readers.c.book.is_(None)
        if book is None
        else or_(readers.c.book.is_(None), readers.c.book == book)
    )
    last = 0
    while True:
        rows = conn.execute(
            select(readers.c.id, readers.c.email)
            .where(readers.c.status == "confirmed", wanted, which, readers.c.id > last)
            .order_by(readers.c.id)
            .limit(CHUNK)
        ).all()
        for row in rows:
            yield Recipient(row.id, row.email)
        if len(rows) < CHUNK:
            return
        last = rows[-1].id


def counts(conn: Connection) -> dict[str, int]:
    """How many readers have each status (every status present, zeros included)."""
    found = dict(
        conn.execute(select(readers.c.status, func.count()).group_by(readers.c.status)).all()
    )
    return {status: int(found.get(status, 0)) for status in STATUSES}


def signups_by_placement(conn: Connection) -> dict[str, int]:
    """Confirmed readers by the form they signed up on (``import`` for imported ones)."""
    placement = func.coalesce(readers.c.placement, readers.c.source)
    rows = conn.execute(
        select(placement, func.count())
        .where(readers.c.status == "confirmed")
        .group_by(placement)
        .order_by(func.count().desc())
    ).all()
    return {str(name): int(n) for name, n in rows}


def confirmed_since(conn: Connection, since: datetime) -> list[datetime]:
    """When each reader confirmed since ``since`` (for growth by week)."""
    return list(
        conn.execute(
            select(readers.c.confirmed_at).where(
                and_(readers.c.status == "confirmed", readers.c.confirmed_at >= utc(since))
            )
        ).scalars()
    )


def is_forgotten(conn: Connection, email: str) -> bool:
    return (
        conn.execute(
            select(forgotten.c.hash).where(forgotten.c.hash == address_hash(email))
        ).first()
        is not None
    )


def forget(conn: Connection, email: str, at: datetime | None = None) -> bool:
    """Erase ``email`` everywhere; keep its one-way hash. ``True`` if it was on the list.

    Its consent records and sign-up attempts go with it, and so do the outbox's rows
    for it (the ``deliveries`` table, when it exists).
    """
    row = find_reader(conn, email)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete=ON")  # overwrite, do not just free, the rows
    if row is not None:
        if inspect(conn).has_table("deliveries"):
            from sqlalchemy import column, table

            deliveries = table("deliveries", column("reader_id"))
            conn.execute(delete(deliveries).where(deliveries.c.reader_id == row.id))
        conn.execute(delete(consents).where(consents.c.reader_id == row.id))
        conn.execute(delete(readers).where(readers.c.id == row.id))
    forget_attempts(conn, email)
    if not is_forgotten(conn, email):
        conn.execute(insert(forgotten).values(hash=address_hash(email), at=utc(at)))
    return row is not None


def scrub(engine: Engine) -> None:
    """After :func:`forget`: leave no copy of erased rows in the database's files.

    SQLite keeps old page images in its write-ahead log until a checkpoint; PostgreSQL
    keeps deleted rows until a vacuum. Both are done here, outside any transaction.
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM readers, reader_consents, reader_attempts")
