"""The click spool: append-only, shared by processes, replayed idempotently, crash-safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest

from storefront.spool import Spool
from storefront.storage import ClickEvent, ClickStore, new_click_id

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def click(**overrides) -> ClickEvent:
    values = dict(
        id=new_click_id(),
        at=AT,
        day=AT.date(),
        book="genesis",
        offer="kindle",
        format="ebook",
        vendor="amazon",
        placement="page",
    )
    values.update(overrides)
    return ClickEvent(**values)


def test_spooled_clicks_come_back_whole_and_in_order(tmp_path):
    spool = Spool(tmp_path / "spool")
    sent = [click(campaign="sale", country="GB", referrer_host="blog.example"), click(kind="bot")]
    for event in sent:
        spool.append(event)
    assert spool.pending() and spool.pending_count() == 2
    received: list[ClickEvent] = []
    assert spool.replay(received.extend) == 2
    assert received == sent
    assert not spool.pending()
    assert spool.replay(received.extend) == 0


def test_a_failed_replay_keeps_every_click_for_the_next(tmp_path):
    spool = Spool(tmp_path / "spool")
    sent = [click() for _ in range(3)]
    for event in sent:
        spool.append(event)

    def database_down(events):
        raise OSError("database down")

    with pytest.raises(OSError):
        spool.replay(database_down)
    assert spool.pending_count() == 3
    received: list[ClickEvent] = []
    spool.replay(received.extend)
    assert received == sent


def test_clicks_spooled_during_a_replay_wait_for_the_next(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.append(click())
    late = click()
    received: list[ClickEvent] = []

    def sink(events):
        received.extend(events)
        spool.append(late)  # another worker spools while this batch is replayed

    assert spool.replay(sink) == 1
    assert spool.pending_count() == 1
    spool.replay(received.extend)
    assert received[-1] == late


def test_a_torn_line_is_set_aside_not_lost_and_not_blocking(tmp_path, caplog):
    spool = Spool(tmp_path / "spool")
    good = click()
    spool.append(good)
    with open(spool.path, "ab") as f:
        f.write(b'{"id": "torn", "at": "2026-11-')  # a write cut short (disk full)
    received: list[ClickEvent] = []
    assert spool.replay(received.extend) == 1
    assert received == [good]
    (rejected,) = (tmp_path / "spool").glob("rejected-*.jsonl")
    assert rejected.read_bytes() == b'{"id": "torn", "at": "2026-11-\n'
    assert "is not a click" in caplog.text


@pytest.mark.parametrize(
    "line",
    [
        "[]",
        '{"id": "x"}',
        json.dumps({**json.loads(click().to_json()), "kind": "alien"}),
        json.dumps({**json.loads(click().to_json()), "at": "2026-11-25T12:00:00"}),  # naive
        json.dumps({**json.loads(click().to_json()), "extra": 1}),
    ],
)
def test_lines_that_are_not_clicks_are_refused(line):
    with pytest.raises(ValueError):
        ClickEvent.from_json(line)


def test_appends_from_many_processes_interleave_whole_lines(tmp_path):
    directory = tmp_path / "spool"
    Spool(directory)
    script = textwrap.dedent(
        f"""
        from datetime import UTC, datetime
        from storefront.spool import Spool
        from storefront.storage import ClickEvent, new_click_id
        spool = Spool({str(directory)!r})
        at = datetime(2026, 11, 25, tzinfo=UTC)
        for n in range(300):
            spool.append(ClickEvent(new_click_id(), at, at.date(), "genesis", "kindle", "ebook",
                                    "amazon", "page", referrer_host="x" * (n % 200) or None))
        """
    )
    workers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(4)]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0, 0]
    received: list[ClickEvent] = []
    Spool(directory).replay(received.extend)
    assert len(received) == 1200
    assert len({e.id for e in received}) == 1200


def test_replay_after_a_crash_mid_replay_counts_every_click_once(tmp_path):
    """A replayer killed (SIGKILL) after two of three chunks: nothing lost, nothing doubled."""
    url = f"sqlite:///{tmp_path / 'clicks.db'}"
    directory = tmp_path / "spool"
    store = ClickStore(url, Spool(directory), budget=10)
    store.ensure_schema()
    for _ in range(1200):  # three replay chunks of 500
        store.spool.append(click())
    script = textwrap.dedent(
        f"""
        import os, signal
        import storefront.storage.store as storage
        from storefront.spool import Spool

        real, calls = storage.insert_if_absent, []

        def crash_on_third_chunk(conn, rows):
            calls.append(len(rows))
            if len(calls) == 3:
                os.kill(os.getpid(), signal.SIGKILL)  # two chunks are committed
            real(conn, rows)

        storage.insert_if_absent = crash_on_third_chunk
        storage.ClickStore({url!r}, Spool({str(directory)!r})).replay_spool()
        """
    )
    child = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    assert child.returncode == -signal.SIGKILL
    assert store.count() == 1000
    assert store.spool.pending()

    assert store.replay_spool() == 1200  # the whole batch again, inserted only where absent
    assert store.count() == 1200
    assert not store.spool.pending()
    store.close()


def test_only_one_process_replays_at_a_time(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.append(click())
    inner: list[int] = []

    def sink(events):
        inner.append(Spool(tmp_path / "spool").replay(lambda e: None))  # a second replayer

    spool.replay(sink)
    assert inner == [0]


def test_spool_files_are_private(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.append(click())
    assert os.stat(spool.path).st_mode & 0o077 == 0
