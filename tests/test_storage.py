"""Click storage on real SQLite and PostgreSQL: schema, migrations, spool on database failure."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, inspect, text

from storefront.spool import Spool
from storefront.storage import (
    SCHEMA_VERSION,
    ClickEvent,
    ClickStore,
    StorageError,
    database_url,
    iter_rows,
    make_engine,
    migrate,
    new_click_id,
    open_click_store,
    schema_version,
)
from storefront.storage.engine import file_lock, lock_path

from .clickdb import click_database, set_connections_allowed

AT = datetime(2026, 11, 25, 19, 30, tzinfo=UTC)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def click(**overrides) -> ClickEvent:
    values = dict(
        id=new_click_id(),
        at=AT,
        day=date(2026, 11, 25),
        book="genesis",
        offer="kindle",
        format="ebook",
        vendor="amazon",
        placement="page",
        campaign="apollo8-anniversary",
        country="GB",
        referrer_host="behindtheblack.com",
    )
    values.update(overrides)
    return ClickEvent(**values)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with click_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(db_url, tmp_path):
    s = ClickStore(db_url, Spool(tmp_path / "spool"), budget=10, retry_after=0, replay_interval=60)
    s.ensure_schema()
    yield s
    s.close()


def test_a_recorded_click_is_committed_with_its_fields(store):
    event = click()
    assert store.record_click(event) is True
    (row,) = iter_rows(store, [event.id])
    assert row == {**event.row(), "at": datetime(2026, 11, 25, 19, 30)}
    assert not store.spool.pending()


def test_a_click_row_has_no_personal_data(store):
    columns = {c["name"] for c in inspect(store.engine).get_columns("clicks")}
    assert columns == {
        "id", "at", "day", "book", "offer", "format", "vendor", "placement",
        "campaign", "country", "referrer_host", "kind", "is_repeat",
    }  # fmt: skip


def test_a_fresh_database_gets_the_latest_schema(db_url):
    engine = make_engine(db_url)
    assert migrate(engine) == 0
    assert migrate(engine) == SCHEMA_VERSION  # the second run has nothing to do
    with engine.connect() as conn:
        assert schema_version(conn) == SCHEMA_VERSION
    engine.dispose()


def test_migrating_from_version_1_keeps_the_clicks(db_url):
    engine = make_engine(db_url)
    migrate(engine, target=1)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO clicks (id, at, day, book, offer, format, vendor, placement, kind,"
                " is_repeat) VALUES ('old-click', :at, :day, 'genesis', 'kindle', 'ebook',"
                " 'amazon', 'page', 'reader', :f)"
            ),
            {"at": datetime(2026, 1, 2, 3, 4, 5), "day": date(2026, 1, 2), "f": False},
        )
    assert "referrer_host" not in {c["name"] for c in inspect(engine).get_columns("clicks")}
    assert migrate(engine) == 1
    assert "referrer_host" in {c["name"] for c in inspect(engine).get_columns("clicks")}
    assert "ix_clicks_day" in {i["name"] for i in inspect(engine).get_indexes("clicks")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT book, referrer_host FROM clicks")).all() == [
            ("genesis", None)
        ]
    engine.dispose()


def test_a_database_newer_than_the_code_is_refused(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE storefront_schema SET version = :v"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(StorageError, match="newer than this Storefront knows"):
        migrate(engine)
    engine.dispose()


def migrate_together(url: str, workers: int = 6) -> list[int | BaseException]:
    """``migrate`` from ``workers`` engines at once; what each returned or raised."""
    engines = [make_engine(url, timeout=10) for _ in range(workers)]
    barrier = threading.Barrier(len(engines))
    results: list[int | BaseException] = []

    def start(engine):
        barrier.wait()
        try:
            results.append(migrate(engine))
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assert
            results.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    return results


def test_workers_starting_together_migrate_once(db_url):
    results = migrate_together(db_url)
    assert sorted(results) == [0] + [SCHEMA_VERSION] * 5  # one migrated, the others found it done


def test_sqlite_connections_switch_the_file_to_wal_one_at_a_time(tmp_path):
    """The race behind "database is locked" when workers start together on a new file.

    Switching to WAL needs an exclusive lock, and two connections escalating at once
    is a deadlock SQLite answers at once (no busy wait): the switch takes turns
    under the file lock every process shares.
    """
    database = tmp_path / "clicks.db"
    engine = make_engine(f"sqlite:///{database}", timeout=10)
    connected = threading.Event()

    def connect():
        with engine.connect():
            connected.set()

    with file_lock(lock_path(str(database))):  # another process is switching the file
        thread = threading.Thread(target=connect)
        thread.start()
        assert not connected.wait(0.3)  # waits its turn
    assert connected.wait(10)
    thread.join(10)
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    engine.dispose()


def test_many_workers_starting_together_on_a_new_sqlite_file_all_succeed(tmp_path):
    # Was flaky (1 round in ~50 failed with "database is locked" from the WAL switch).
    for round_ in range(15):
        results = migrate_together(f"sqlite:///{tmp_path / f'clicks-{round_}.db'}")
        assert sorted(results) == [0] + [SCHEMA_VERSION] * 5, f"round {round_}: {results}"


def test_a_click_recorded_twice_by_replay_counts_once(store):
    event = click()
    store.record_click(event)
    # The commit's answer was lost (connection dropped): the same click was spooled too.
    store.spool.append(event)
    store.spool.append(event)
    assert store.replay_spool() == 2
    assert store.count() == 1


def test_locked_sqlite_spools_then_replays_exactly(tmp_path):
    store = ClickStore(
        f"sqlite:///{tmp_path / 'clicks.db'}",
        Spool(tmp_path / "spool"),
        retry_after=0,
        replay_interval=60,
    )
    store.ensure_schema()
    store.record_click(click())
    holder = sqlite3.connect(tmp_path / "clicks.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock: a real outage for writes
    try:
        locked = [click() for _ in range(5)]
        assert [store.record_click(e) for e in locked] == [False] * 5
        assert store.spool.pending_count() == 5
        assert store.try_replay() == 0  # still locked: nothing lost, nothing replayed
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # The first locked click was spooled when the budget ran out; its write may still
    # have landed once the lock went (a late write): the replay must not count it twice.
    late = store.count() - 1
    assert late in (0, 1)
    assert store.replay_spool() == 5
    assert store.count() == 6
    assert store.replay_spool() == 0
    assert store.count() == 6
    store.close()


def test_after_a_failure_clicks_are_spooled_without_waiting_on_the_database(tmp_path):
    store = ClickStore(
        f"sqlite:///{tmp_path / 'clicks.db'}",
        Spool(tmp_path / "spool"),
        retry_after=3600,
        replay_interval=60,
    )
    store.ensure_schema()
    holder = sqlite3.connect(tmp_path / "clicks.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    assert store.record_click(click()) is False
    holder.execute("ROLLBACK")
    holder.close()
    # The database is back, but this worker does not try it again before retry_after...
    assert store.record_click(click()) is False
    # ...unless a replay shows it answers.
    assert store.replay_spool() == 2
    assert store.record_click(click()) is True
    assert store.count() == 3
    store.close()


@pytest.mark.postgres
def test_postgres_outage_spools_then_replays_exactly(tmp_path):
    with click_database("postgres", tmp_path) as url:
        store = ClickStore(
            url, Spool(tmp_path / "spool"), budget=10, retry_after=0, replay_interval=60
        )
        store.ensure_schema()
        assert store.record_click(click()) is True
        set_connections_allowed(url, False)  # open connections are ended, new ones refused
        try:
            assert [store.record_click(click()) for _ in range(4)] == [False] * 4
            assert store.try_replay() == 0
        finally:
            set_connections_allowed(url, True)
        assert store.replay_spool() == 4
        assert store.record_click(click()) is True
        assert store.count() == 6
        store.close()


def test_background_replayer_empties_the_spool_once_the_database_is_back(tmp_path):
    store = ClickStore(
        f"sqlite:///{tmp_path / 'clicks.db'}",
        Spool(tmp_path / "spool"),
        retry_after=0,
        replay_interval=0.05,
    )
    store.ensure_schema()
    holder = sqlite3.connect(tmp_path / "clicks.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    for _ in range(3):
        store.record_click(click())
    holder.execute("ROLLBACK")
    holder.close()
    deadline = time.monotonic() + 20
    while store.count() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.count() == 3
    assert not store.spool.pending()
    store.close()


def test_a_store_opened_with_a_spool_replays_it_at_start(tmp_path):
    spool = Spool(tmp_path / "instance" / "spool")
    spool.append(click())
    app_store = open_click_store(None, tmp_path / "instance", budget=10)
    assert app_store.url == f"sqlite:///{tmp_path / 'instance' / 'storefront.db'}"
    app_store.ensure_schema()
    assert app_store.replay_spool() == 1
    app_store.close()


@pytest.mark.parametrize(
    ("configured", "url"),
    [
        (None, "sqlite:////srv/instance/storefront.db"),
        ("", "sqlite:////srv/instance/storefront.db"),
        ("postgres://u:p@db/clicks", "postgresql+psycopg://u:p@db/clicks"),
        ("postgresql://db/clicks", "postgresql+psycopg://db/clicks"),
        ("postgresql+psycopg://db/clicks", "postgresql+psycopg://db/clicks"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url(configured, url):
    assert database_url(configured, "/srv/instance") == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("sqlite://", "must be a file"),
        ("sqlite:///:memory:", "must be a file"),
        ("nosuchdb://x/y", "cannot use"),
    ],
)
def test_unusable_database_urls_are_clear_errors(url, message):
    with pytest.raises(StorageError, match=message):
        make_engine(url)


def test_sqlite_runs_in_wal_mode_with_normal_sync(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    engine.dispose()
    plain = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with plain.connect() as conn:  # WAL is a property of the file: it stays
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    plain.dispose()


def test_a_click_with_nowhere_to_go_is_logged_as_lost_not_raised(tmp_path, caplog):
    store = ClickStore(
        f"sqlite:///{tmp_path / 'clicks.db'}", Spool(tmp_path / "spool"), replay_interval=60
    )
    store.ensure_schema()
    holder = sqlite3.connect(tmp_path / "clicks.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    def disk_full(event):
        raise OSError(28, "No space left on device")

    store.log.append = disk_full  # the click log (it replaced the spool on the click path)
    try:
        event = click()
        assert store.record_click(event) is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert f"click {event.id} lost" in caplog.text
    store.close()
