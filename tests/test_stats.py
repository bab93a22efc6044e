"""Click statistics: grouping, date ranges, the day chart's geometry, and `storefront stats`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from storefront.cli import main
from storefront.spool import Spool
from storefront.stats import (
    StatRow,
    click_stats,
    daily,
    day_chart,
    nice_ceiling,
    render_csv,
    render_json,
    render_table,
)
from storefront.storage import ClickEvent, ClickStore, new_click_id

DAY1, DAY2, DAY3 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 23)

# (day, vendor, offer, placement, campaign, country, kind, repeat) x count
CLICKS = [
    ((DAY1, "amazon", "kindle", "page", None, "US", "reader", False), 3),
    ((DAY1, "amazon", "kindle", "page", None, "US", "reader", True), 1),
    ((DAY1, "ebookit", "ebookit", "card", "apollo8-anniversary", "GB", "reader", False), 2),
    ((DAY2, "amazon", "kindle", "flyer", "apollo8-anniversary", None, "reader", False), 4),
    ((DAY2, "amazon", "kindle", "page", None, "US", "bot", False), 5),
    ((DAY3, "audible", "audible", "qr", None, "CA", "reader", False), 1),
    ((DAY3, "audible", "audible", "qr", None, "CA", "head", False), 2),
    ((DAY3, "ebookit", "ebookit", "page", None, "DE", "prefetch", False), 1),
]


def event(day, vendor, offer, placement, campaign, country, kind, repeat) -> ClickEvent:
    return ClickEvent(
        id=new_click_id(),
        at=datetime(day.year, day.month, day.day, 15, tzinfo=UTC),
        day=day,
        book="genesis",
        offer=offer,
        format="audiobook" if offer == "audible" else "ebook",
        vendor=vendor,
        placement=placement,
        campaign=campaign,
        country=country,
        kind=kind,
        is_repeat=repeat,
    )


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'clicks.db'}"


@pytest.fixture
def store(db_url, tmp_path):
    s = ClickStore(db_url, Spool(tmp_path / "spool"), budget=10)  # not about the budget
    for values, count in CLICKS:
        for _ in range(count):
            assert s.record_click(event(*values))
    yield s
    s.close()


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("vendor", [("amazon", 8, 7, 5), ("ebookit", 2, 2, 1), ("audible", 1, 1, 2)]),
        ("placement", [("page", 4, 3, 6), ("flyer", 4, 4, 0), ("card", 2, 2, 0), ("qr", 1, 1, 2)]),
        ("campaign", [("apollo8-anniversary", 6, 6, 0), (None, 5, 4, 8)]),
        ("day", [("2026-11-20", 6, 5, 0), ("2026-11-21", 4, 4, 5), ("2026-11-23", 1, 1, 3)]),
        (
            "country",
            [("US", 4, 3, 5), (None, 4, 4, 0), ("GB", 2, 2, 0), ("CA", 1, 1, 2), ("DE", 0, 0, 1)],
        ),
        ("format", [("ebook", 10, 9, 6), ("audiobook", 1, 1, 2)]),
    ],
)
def test_clicks_grouped(store, by, expected):
    rows = click_stats(store.engine, by)
    assert [(r.key, r.clicks, r.unique, r.not_counted) for r in rows] == expected


def test_date_range_is_inclusive_local_days(store):
    rows = click_stats(store.engine, "vendor", since=DAY2, until=DAY2)
    assert [(r.key, r.clicks, r.not_counted) for r in rows] == [("amazon", 4, 5)]


def test_daily_fills_days_without_clicks(store):
    rows = daily(store.engine, DAY1, DAY3 + timedelta(days=1))
    assert [(r.key, r.clicks) for r in rows] == [
        ("2026-11-20", 6),
        ("2026-11-21", 4),
        ("2026-11-22", 0),
        ("2026-11-23", 1),
        ("2026-11-24", 0),
    ]


def test_unknown_group_is_refused(store):
    with pytest.raises(ValueError, match="cannot group clicks by 'ip'"):
        click_stats(store.engine, "ip")


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (99, 100), (501, 1000)],
)
def test_nice_ceiling(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_day_chart_bars_are_proportional_and_ticks_exact():
    rows = [
        StatRow(f"2026-11-{d:02d}", n, n // 2, 0)
        for d, n in zip(range(1, 31), range(30), strict=True)
    ]
    chart = day_chart(rows)
    assert len(chart.bars) == 30
    assert chart.ticks[0].value == 0 and chart.ticks[-1].value == 50  # 29 -> a scale to 50
    assert [t.value for t in chart.ticks] == sorted(t.value for t in chart.ticks)
    baseline = chart.top + chart.plot_height
    for bar in chart.bars:
        assert bar.y + bar.height == pytest.approx(baseline, abs=0.02)
        assert bar.height == pytest.approx(chart.plot_height * bar.row.clicks / 50, abs=0.02)
        assert bar.unique_height <= bar.height
        assert chart.left <= bar.x and bar.x + bar.width <= chart.left + chart.plot_width + 0.01
    assert len(chart.labels) <= 8


def test_day_chart_of_no_clicks_has_a_scale_and_flat_bars():
    chart = day_chart([StatRow("2026-11-01", 0, 0, 0)])
    assert [t.value for t in chart.ticks] == [0, 1]
    assert chart.bars[0].height == 0


ROWS = [StatRow("amazon", 8, 7, 5), StatRow(None, 1, 1, 0), StatRow("=cmd()", 1, 1, 0)]


def test_table_has_totals():
    lines = render_table(ROWS, "campaign").splitlines()
    assert lines[0].split() == ["campaign", "clicks", "unique", "not", "counted"]
    assert lines[3].split() == ["(none)", "1", "1", "0"]
    assert lines[-1].split() == ["total", "10", "9", "5"]


def test_csv_parses_and_defuses_formulas():
    parsed = list(csv.reader(io.StringIO(render_csv(ROWS, "campaign"))))
    assert parsed == [
        ["campaign", "clicks", "unique", "not_counted"],
        ["amazon", "8", "7", "5"],
        ["(none)", "1", "1", "0"],
        ["'=cmd()", "1", "1", "0"],
    ]


def test_json_has_rows_and_totals():
    data = json.loads(render_json(ROWS[:2], "vendor", DAY1, None))
    assert data == {
        "by": "vendor",
        "since": "2026-11-20",
        "until": None,
        "rows": [
            {"key": "amazon", "clicks": 8, "unique": 7, "not_counted": 5},
            {"key": None, "clicks": 1, "unique": 1, "not_counted": 0},
        ],
        "totals": {"clicks": 9, "unique": 8, "not_counted": 5},
    }


# --------------------------------------------------------------------------- the command


@pytest.fixture
def env(store, db_url, tmp_path) -> dict[str, str]:
    return {
        "STOREFRONT_DATABASE_URL": db_url,
        "STOREFRONT_INSTANCE_PATH": str(tmp_path / "instance"),
    }


def test_stats_command_json(runner, env):
    result = runner.invoke(main, ["stats", "--by", "vendor", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(r["key"], r["clicks"]) for r in data["rows"]] == [
        ("amazon", 8),
        ("ebookit", 2),
        ("audible", 1),
    ]
    assert data["totals"] == {"clicks": 11, "unique": 10, "not_counted": 8}


def test_stats_command_csv_by_day_since(runner, env):
    result = runner.invoke(
        main, ["stats", "--by", "day", "--since", "2026-11-21", "--format", "csv"], env=env
    )
    assert result.exit_code == 0, result.output
    assert list(csv.DictReader(io.StringIO(result.output))) == [
        {"day": "2026-11-21", "clicks": "4", "unique": "4", "not_counted": "5"},
        {"day": "2026-11-23", "clicks": "1", "unique": "1", "not_counted": "3"},
    ]


def test_stats_command_relative_since(runner, env):
    result = runner.invoke(
        main,
        ["stats", "--by", "placement", "--since", "3d", "--now", "2026-11-23T12:00:00-07:00"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["placement", "clicks", "unique", "not", "counted"]
    assert lines[-1].split() == ["total", "5", "5", "8"]  # 21 to 23 November


def test_stats_command_replays_the_spool_first(runner, env, tmp_path):
    Spool(tmp_path / "instance" / "spool").append(
        event(DAY3, "kobo", "kobo-ebook", "email", None, None, "reader", False)
    )
    result = runner.invoke(main, ["stats", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    assert {"key": "kobo", "clicks": 1, "unique": 1, "not_counted": 0} in json.loads(result.output)[
        "rows"
    ]


def test_stats_command_default_database_is_in_the_instance_folder(runner, tmp_path):
    instance = tmp_path / "elsewhere"
    store = ClickStore(
        f"sqlite:///{instance / 'storefront.db'}", Spool(instance / "spool"), budget=10
    )
    store.record_click(event(DAY1, "amazon", "kindle", "page", None, "US", "reader", False))
    store.close()
    result = runner.invoke(
        main, ["stats", "--format", "json"], env={"STOREFRONT_INSTANCE_PATH": str(instance)}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["clicks"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "is not a date"),
        (["--since", "0d"], "at least 1d"),
        (["--since", "2026-11-23", "--until", "2026-11-01"], "after --until"),
        (["--by", "ip"], "Invalid value for '--by'"),
        (["--format", "xml"], "Invalid value for '--format'"),
    ],
)
def test_stats_command_bad_options_are_clear_errors(runner, env, args, message):
    result = runner.invoke(main, ["stats", *args], env=env)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_stats_command_without_a_database_is_a_clear_error(runner, tmp_path):
    env = {
        "STOREFRONT_DATABASE_URL": "postgresql://127.0.0.1:1/nothing",
        "STOREFRONT_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    result = runner.invoke(main, ["stats"], env=env)
    assert result.exit_code == 1
    assert "the click database is unavailable" in result.output
    assert "Traceback" not in result.output
