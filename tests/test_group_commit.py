"""The click writer's group commit: clicks that wait together are committed together."""

from __future__ import annotations

import threading
from concurrent.futures import wait
from datetime import UTC, datetime

import pytest

from storefront.clicks import ClickEvent, new_click_id
from storefront.spool import Spool
from storefront.storage import ClickStore
from storefront.storage.guard import DatabaseThread, GroupCommit

AT = datetime(2026, 12, 22, 16, 0, tzinfo=UTC)


def test_items_that_wait_while_the_thread_is_busy_are_written_in_one_call():
    thread = DatabaseThread("test-writer")
    gate = threading.Event()
    thread.submit(gate.wait)  # the thread is busy: what comes next waits
    writes: list[list[int]] = []
    batch = GroupCommit(thread, writes.append)
    futures = [batch.submit(n) for n in range(20)]
    gate.set()
    done, _ = wait(futures, timeout=10)
    assert len(done) == 20 and all(f.exception() is None for f in futures)
    assert writes == [list(range(20))]  # one commit for the twenty, in order
    later = batch.submit(20)
    later.result(timeout=10)
    assert writes[-1] == [20]
    thread.stop()


def test_a_failed_write_fails_every_caller_in_its_batch():
    thread = DatabaseThread("test-writer")
    gate = threading.Event()
    thread.submit(gate.wait)

    def refuse(items):
        raise OSError("disk I/O error")

    batch = GroupCommit(thread, refuse)
    futures = [batch.submit(n) for n in range(5)]
    gate.set()
    for future in futures:
        with pytest.raises(OSError, match="disk I/O error"):
            future.result(timeout=10)
    thread.stop()


def test_concurrent_readers_clicks_are_all_committed_once(tmp_path):
    store = ClickStore(f"sqlite:///{tmp_path / 'clicks.db'}", Spool(tmp_path / "spool"), budget=5)
    events = [
        ClickEvent(
            id=new_click_id(),
            at=AT,
            day=AT.date(),
            book="genesis",
            offer="ebookit",
            format="ebook",
            vendor="ebookit",
            placement="page",
        )
        for _ in range(200)
    ]
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda e=e: results.append(store.record_click(e))) for e in events
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == [True] * 200  # each committed, none spooled
    assert store.spool.pending() == 0
    with store.engine.connect() as conn:
        ids = {row[0] for row in conn.exec_driver_sql("SELECT id FROM clicks")}
    assert ids == {e.id for e in events}
    store.close()
