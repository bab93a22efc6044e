"""A click on a tracked link, as stored: the one vocabulary of click kinds. Pure: no Flask, no SQL.

:class:`ClickKind` is how a request to ``/go`` was classified (:mod:`storefront.bots`
decides it; storage, the spool and the stats read it). :class:`ClickEvent` is the row
the click store commits or spools: no IP address, no user agent, no cookie id.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

_dumps = json.JSONEncoder(separators=(",", ":")).encode


class ClickKind(StrEnum):
    """How a request to a tracked link counts: only ``reader`` clicks are clicks."""

    READER = "reader"  # a person followed the link
    BOT = "bot"  # a crawler's user agent, or none at all
    PREFETCH = "prefetch"  # a browser fetching speculatively
    HEAD = "head"  # a HEAD request: link checkers and unfurlers


# A visit that stayed on this site, stored as a click with this vendor: the EPUB sample
# downloaded, the audio sample played or downloaded, the reading page opened. Its ``offer``
# column says which (:class:`SampleKind`); stats count them apart from store clicks.
SAMPLE_VENDOR = "storefront"


class SampleKind(StrEnum):
    """What a sample "click" was: the offer slug it is stored under."""

    EPUB = "sample-epub"
    AUDIO = "sample-audio"
    READ = "read"

    @property
    def format(self) -> str:
        return {"sample-epub": "ebook", "sample-audio": "audiobook", "read": "web"}[self.value]


@dataclass(frozen=True)
class ClickEvent:
    """One click on a tracked link, as stored: no IP, no user agent, no cookie id."""

    id: str  # unique from capture on: replay inserts it only if absent
    at: datetime  # aware
    day: date  # the site's local day of ``at``
    book: str
    offer: str
    format: str
    vendor: str
    placement: str
    campaign: str | None = None
    country: str | None = None
    referrer_host: str | None = None
    kind: ClickKind = ClickKind.READER
    is_repeat: bool = False

    def row(self) -> dict:
        """The database row: ``at`` as naive UTC (the same in SQLite and PostgreSQL)."""
        # Spelled out: dataclasses.asdict deep-copies every value, a third of a click's cost.
        return {
            "id": self.id,
            "at": self.at.astimezone(UTC).replace(tzinfo=None),
            "day": self.day,
            "book": self.book,
            "offer": self.offer,
            "format": self.format,
            "vendor": self.vendor,
            "placement": self.placement,
            "campaign": self.campaign,
            "country": self.country,
            "referrer_host": self.referrer_host,
            "kind": str(self.kind),  # the plain string: every driver stores it as such
            "is_repeat": self.is_repeat,
        }

    def to_json(self) -> str:
        """One line of the click log (sorted keys, no spaces); :meth:`from_json` reads it."""
        # Spelled out rather than asdict (a deep copy): this runs once per reader click.
        values = {
            "at": self.at.astimezone(UTC).isoformat(),
            "book": self.book,
            "campaign": self.campaign,
            "country": self.country,
            "day": self.day.isoformat(),
            "format": self.format,
            "id": self.id,
            "is_repeat": self.is_repeat,
            "kind": str(self.kind),
            "offer": self.offer,
            "placement": self.placement,
            "referrer_host": self.referrer_host,
            "vendor": self.vendor,
        }
        return _dumps(values)

    @classmethod
    def from_json(cls, line: str) -> ClickEvent:
        """Parse a spool line; raise ``ValueError`` for anything that is not a whole click."""
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            at = datetime.fromisoformat(data.pop("at"))
            day = date.fromisoformat(data.pop("day"))
            kind = ClickKind(data.pop("kind", ClickKind.READER))
            click = cls(at=at, day=day, kind=kind, **data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a click: {exc}") from None
        if at.tzinfo is None or not click.id or not isinstance(click.id, str):
            raise ValueError("not a click: naive time or no id")
        return click


def new_click_id() -> str:
    """A unique id, time-ordered (nanoseconds, then 64 random bits) for index locality.

    Uniqueness, not secrecy, is what matters: ``random`` (reseeded from the OS in
    every forked worker) is enough, and skips a system call per click.
    """
    return f"{time.time_ns():016x}{random.getrandbits(64):016x}"
