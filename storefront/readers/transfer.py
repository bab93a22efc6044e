"""The reader's data in and out: CSV export with consent records, imports from MailChimp
and MailerLite exports.

An import keeps only readers who had confirmed with the old service, never brings back an
address already here (whatever its status: an unsubscribe or a suppression stands) or
forgotten (``readers forget``), and records where each came from as their consent.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from .address import AddressError, normalize_email
from .records import TOPICS, find_reader, is_forgotten, topics_text
from .tables import consents, readers, utc

EXPORT_FIELDS = (
    "email",
    "status",
    "topics",
    "book",
    "source",
    "placement",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
    "reason",
    "consents",
)
SOURCES = ("mailchimp", "mailerlite")
# The statuses each service writes for a confirmed, still subscribed reader.
KEEP = {"mailchimp": {"subscribed"}, "mailerlite": {"active", "subscribed"}}
MAX_IMPORT_BYTES = 200 * 1024 * 1024
MAILERLITE_TIMES = ("opted_in_at", "confirmed_at", "subscribed_at", "subscribed", "date")


class ImportFormatError(ValueError):
    """A file that is not a MailChimp or MailerLite export we can read."""


def export_rows(conn: Connection) -> Iterator[dict]:
    """Every reader as a dict of :data:`EXPORT_FIELDS`, consents as JSON, in id order."""
    records: dict[int, list[dict]] = {}
    for c in conn.execute(select(consents).order_by(consents.c.id)):
        records.setdefault(c.reader_id, []).append(
            {
                "at": _iso(c.at),
                "event": c.event,
                "form": c.form,
                "page": c.page,
                "text": c.text,
                "version": c.version,
                "topics": c.topics,
                "book": c.book,
            }
        )
    for r in conn.execute(select(readers).order_by(readers.c.id)):
        yield {
            "email": r.email,
            "status": r.status,
            "topics": r.topics,
            "book": r.book or "",
            "source": r.source,
            "placement": r.placement or "",
            "created_at": _iso(r.created_at),
            "confirmed_at": _iso(r.confirmed_at),
            "unsubscribed_at": _iso(r.unsubscribed_at),
            "reason": r.reason or "",
            "consents": json.dumps(records.get(r.id, []), ensure_ascii=False),
        }


def write_export(rows: Iterable[dict], out: io.TextIOBase) -> int:
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
        count += 1
    return count


def _cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula is written as text (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _iso(at: datetime | None) -> str:
    return at.replace(tzinfo=UTC).isoformat() if at else ""


@dataclass
class ImportReport:
    source: str
    imported: int = 0
    already: int = 0  # on the list already (any status): left as it is
    forgotten: int = 0
    not_confirmed: int = 0  # unsubscribed, cleaned, unconfirmed… with the old service
    invalid: list[str] = field(default_factory=list)  # "line 12: why"


@dataclass(frozen=True)
class _Columns:
    email: str
    status: str | None
    confirmed: tuple[str, ...]  # columns with when the reader confirmed, best first


def detect(header: list[str], name: str = "") -> tuple[str, _Columns]:
    """Which service wrote this header, and which columns to read."""
    lower = {h.strip().lower(): h for h in header}
    if "email address" in lower:  # MailChimp's audience export
        cols = _Columns(
            lower["email address"],
            lower.get("status"),
            tuple(lower[c] for c in ("confirm_time", "optin_time") if c in lower),
        )
        return "mailchimp", cols
    if "email" in lower or "subscriber" in lower:  # MailerLite's subscribers export
        cols = _Columns(
            lower.get("email") or lower["subscriber"],
            lower.get("status") or lower.get("type"),
            tuple(lower[c] for c in MAILERLITE_TIMES if c in lower),
        )
        return "mailerlite", cols
    raise ImportFormatError(
        f"{name or 'the file'}: no 'Email Address' (MailChimp) or 'email' (MailerLite) column"
    )


def import_csv(
    conn: Connection, text: str, *, name: str = "", now: datetime | None = None
) -> ImportReport:
    """Import a MailChimp or MailerLite export (the whole file's text)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFormatError(f"{name or 'the file'} is empty") from None
    source, cols = detect(header, name)
    index = {h: i for i, h in enumerate(header)}
    lowered_name = name.lower()
    # MailChimp writes one file per status; the unsubscribed and cleaned ones have no column.
    whole_file_left = any(w in lowered_name for w in ("unsubscribed", "cleaned", "bounced"))
    report = ImportReport(source)
    at = utc(now)
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(column: str | None, row: list[str] = row) -> str:
            if column is None:
                return ""
            i = index[column]
            return row[i].strip() if i < len(row) else ""

        status = cell(cols.status).lower()
        if whole_file_left or (status and status not in KEEP[source]):
            report.not_confirmed += 1
            continue
        try:
            email = normalize_email(cell(cols.email))
        except AddressError as exc:
            report.invalid.append(f"line {line}: {exc}")
            continue
        if is_forgotten(conn, email):
            report.forgotten += 1
            continue
        if find_reader(conn, email) is not None:
            report.already += 1
            continue
        confirmed_text = next((cell(c) for c in cols.confirmed if cell(c)), "")
        confirmed_at = _parse_time(confirmed_text) or at
        reader_id = conn.execute(
            insert(readers).values(
                email=email,
                status="confirmed",
                topics=topics_text(TOPICS),
                source=source,
                placement=None,
                created_at=at,
                updated_at=at,
                confirmed_at=confirmed_at,
            )
        ).inserted_primary_key[0]
        label = "MailChimp" if source == "mailchimp" else "MailerLite"
        conn.execute(
            insert(consents).values(
                reader_id=reader_id,
                at=at,
                event="import",
                form=source,
                page=(name or None) and name[:500],
                text=f"Imported from a {label} export: {status or 'subscribed'}"
                + (f", confirmed {confirmed_text}" if confirmed_text else ""),
                version="import",
                topics=topics_text(TOPICS),
            )
        )
        report.imported += 1
    return report


def _parse_time(text: str) -> datetime | None:
    for candidate in (text, text.replace(" ", "T", 1)):
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
    return None
