"""Click statistics: totals grouped by vendor, placement, campaign, day or country, and a chart.

Counts, per group: ``clicks`` (reader clicks to a store), ``unique`` (those that are
not a repeat by the same visitor within the window), ``samples`` (EPUB and audio
sample downloads by readers), ``reads`` (visits to the reading page) and
``not_counted`` (bots, prefetches and HEAD requests, kept apart). Days are the
site's local days.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, case, func, select

from .clicks import SAMPLE_VENDOR, SampleKind
from .storage import clicks

GROUPS = ("vendor", "placement", "campaign", "day", "country", "book", "offer", "format")
FORMATS = ("table", "csv", "json")
NONE_LABEL = {"campaign": "(none)", "country": "(unknown)"}


@dataclass(frozen=True)
class StatRow:
    key: str | None
    clicks: int
    unique: int
    not_counted: int
    samples: int = 0  # EPUB and audio sample downloads by readers
    reads: int = 0  # reading-page visits by readers

    def label(self, by: str) -> str:
        return self.key if self.key is not None else NONE_LABEL.get(by, "(none)")


@dataclass(frozen=True)
class Totals:
    clicks: int
    unique: int
    not_counted: int
    samples: int = 0
    reads: int = 0


def click_stats(
    engine: Engine, by: str, since: date | None = None, until: date | None = None
) -> list[StatRow]:
    """Clicks grouped ``by`` a column, from ``since`` to ``until`` (inclusive local days).

    Days come in date order; other groups by most clicks first.
    """
    if by not in GROUPS:
        raise ValueError(f"cannot group clicks by '{by}': choose one of {', '.join(GROUPS)}")
    column = clicks.c[by]
    reader = clicks.c.kind == "reader"
    on_site = clicks.c.vendor == SAMPLE_VENDOR
    store = reader & ~on_site
    read = reader & on_site & (clicks.c.offer == SampleKind.READ.value)
    sample = reader & on_site & (clicks.c.offer != SampleKind.READ.value)

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = select(
        column,
        count(store),
        count(store & ~clicks.c.is_repeat),
        count(~reader),
        count(sample),
        count(read),
    ).group_by(column)
    if since is not None:
        query = query.where(clicks.c.day >= since)
    if until is not None:
        query = query.where(clicks.c.day <= until)
    with engine.connect() as conn:
        rows = [
            StatRow(_key(key), int(total), int(unique), int(other), int(samples), int(reads))
            for key, total, unique, other, samples, reads in conn.execute(query)
        ]
    if by == "day":
        return sorted(rows, key=lambda r: r.key or "")
    return sorted(
        rows, key=lambda r: (-r.clicks, -r.samples - r.reads, -r.not_counted, r.key or "\uffff")
    )


def _key(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def totals(rows: Sequence[StatRow]) -> Totals:
    return Totals(
        sum(r.clicks for r in rows),
        sum(r.unique for r in rows),
        sum(r.not_counted for r in rows),
        sum(r.samples for r in rows),
        sum(r.reads for r in rows),
    )


def _columns(rows: Sequence[StatRow]) -> list[tuple[str, str]]:
    """(attribute, heading) of the table: samples and reads only when there are any."""
    columns = [("clicks", "clicks"), ("unique", "unique")]
    if any(r.samples or r.reads for r in rows):
        columns += [("samples", "samples"), ("reads", "reads")]
    return [*columns, ("not_counted", "not counted")]


def daily(engine: Engine, since: date, until: date) -> list[StatRow]:
    """One row per local day from ``since`` to ``until``, days without clicks included."""
    found = {r.key: r for r in click_stats(engine, "day", since, until)}
    days = (since + timedelta(days=n) for n in range((until - since).days + 1))
    return [found.get(d.isoformat(), StatRow(d.isoformat(), 0, 0, 0)) for d in days]


# --------------------------------------------------------------------------- output


def render_table(rows: Sequence[StatRow], by: str) -> str:
    """A plain-text table with a total line (store clicks apart from samples and reads)."""
    columns = _columns(rows)
    header = (by, *(heading for _, heading in columns))
    body = [(r.label(by), *(str(getattr(r, name)) for name, _ in columns)) for r in rows]
    t = totals(rows)
    footer = ("total", *(str(getattr(t, name)) for name, _ in columns))
    widths = [max(len(line[i]) for line in (header, *body, footer)) for i in range(len(header))]

    def fmt(line: Sequence[str]) -> str:
        first = line[0].ljust(widths[0])
        return "  ".join(
            [first, *(cell.rjust(w) for cell, w in zip(line[1:], widths[1:], strict=True))]
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(line) for line in body), rule, fmt(footer)])


def render_csv(rows: Sequence[StatRow], by: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = [name for name, _ in _columns(rows)]
    writer.writerow([by, *columns])
    for r in rows:
        # A leading =, +, - or @ would be a formula in a spreadsheet: keys are slugs, but be safe.
        label = r.label(by)
        writer.writerow(
            ["'" + label if label[:1] in "=+-@" else label, *(getattr(r, c) for c in columns)]
        )
    return out.getvalue()


def _fields(values: dict, rows: Sequence[StatRow]) -> dict:
    """``samples`` and ``reads`` only when there are any (as in the table)."""
    shown = {name for name, _ in _columns(rows)} | {"key"}
    return {k: v for k, v in values.items() if k in shown}


def render_json(rows: Sequence[StatRow], by: str, since: date | None, until: date | None) -> str:
    data = {
        "by": by,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "rows": [_fields(asdict(r), rows) for r in rows],
        "totals": _fields(asdict(totals(rows)), rows),
    }
    return json.dumps(data, indent=2)


# --------------------------------------------------------------------------- the chart


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float  # top of the total bar
    height: float
    unique_y: float
    unique_height: float
    row: StatRow


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class DayChart:
    """Geometry of the clicks-per-day SVG bar chart (the template only draws it)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: float
    plot_height: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[Label, ...]
    total: Totals


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^n at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover


def day_chart(rows: Sequence[StatRow], width: int = 720, height: int = 260) -> DayChart:
    """Lay out one bar per day (total clicks, unique inside), a y axis and date labels."""
    left, right, top, bottom = 44, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = nice_ceiling(max((r.clicks for r in rows), default=0))
    slot = plot_w / max(len(rows), 1)
    bar_w = max(1.0, slot * 0.8)
    bars = []
    for i, r in enumerate(rows):
        h = plot_h * r.clicks / peak
        uh = plot_h * r.unique / peak
        x = left + i * slot + (slot - bar_w) / 2
        bars.append(
            Bar(
                round(x, 2),
                round(bar_w, 2),
                round(top + plot_h - h, 2),
                round(h, 2),
                round(top + plot_h - uh, 2),
                round(uh, 2),
                r,
            )
        )
    # Exact integer ticks: peak is 1, 2 or 5 x 10^n, so one of these divides it.
    steps = next(s for s in (5, 4, 2, 1) if s <= peak and peak % s == 0)
    ticks = tuple(
        Tick(round(top + plot_h - plot_h * k / steps, 2), peak * k // steps)
        for k in range(steps + 1)
    )
    every = max(1, math.ceil(len(rows) / 8))  # at most ~8 date labels
    labels = tuple(
        Label(round(left + i * slot + slot / 2, 2), (r.key or "")[5:])
        for i, r in enumerate(rows)
        if i % every == 0
    )
    return DayChart(
        width, height, left, top, plot_w, plot_h, tuple(bars), ticks, labels, totals(rows)
    )
