"""A worker killed with ``kill -9`` every second: every click that got its 302 is counted once.

(Every second, the oldest worker that has lived three seconds: on a busy machine a worker
needs about that long to start, and killing it sooner would leave no worker at all.)

The production server (Granian, 2 workers) on SQLite and on a real PostgreSQL takes reader
clicks from 24 concurrent clients while a thread kills one of its workers with SIGKILL every
second; the clients go on until at least 5,000 clicks were sent and four workers were killed
(a fast machine answers 5,000 clicks before the second kill: the load is measured in kills,
not in requests). Each request carries its own Referer host, which the click
row keeps, so the rows can be matched to the requests one by one: every request
answered with a 302 has exactly one row (its click was in the worker's click log
before the answer, and the log of a killed worker is replayed by another process);
a request cut off by a kill may have its row or not, never two.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from .clickdb import click_database
from .test_click_load import (
    BACKENDS,
    CONCURRENCY,
    reader,
    send,
    storefront_server,
    wait_for_readers,
)

# A worker's start (create_app) takes a second or more on a busy machine: the run is long.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CLICKS = 5000  # at least this many clicks are sent
KILLS = 4  # and the clients go on until this many workers were killed
LIMIT = 240.0  # seconds: a load that has not reached both by then fails
EVERY = 1.0  # seconds between two kills (of a worker that has started: see READY)
READY = 3.0  # seconds a worker has lived before it may be killed (its start-up on a busy machine)
_TICKS = os.sysconf("SC_CLK_TCK")


def age(pid: int) -> float:
    """Seconds since process ``pid`` started (0 if it is gone)."""
    try:
        started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return 0.0
    return uptime - started / _TICKS


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    with click_database(request.param, tmp_path) as url:
        yield request.param, url


def referrer(n: int) -> str:
    return f"r{n}.example.org"


def rows_by_referrer(url: str) -> dict[str, int]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            result = conn.execute(
                text(
                    "SELECT referrer_host, count(*) FROM clicks WHERE kind = 'reader' "
                    "GROUP BY referrer_host"
                )
            )
            return {host: n for host, n in result}
    finally:
        engine.dispose()


class Stream:
    """``CONCURRENCY`` clients send click 0, 1, 2, … until ``stop`` is set.

    Click ``n`` carries its own Referer host (``referrer(n)``); ``statuses[n]`` is the answer's
    status, None when the connection was cut (a worker killed while it answered).
    """

    def __init__(self, base_url: str):
        self.host, port = base_url.removeprefix("http://").split(":")
        self.port = int(port)
        self.statuses: dict[int, int | None] = {}
        self.stop = threading.Event()
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    def _client(self) -> None:
        while not self.stop.is_set():
            with self._lock:
                n = next(self._numbers)
            shot = reader(n)
            shot = replace(shot, headers={**shot.headers, "Referer": f"https://{referrer(n)}/"})
            status = send(self.host, self.port, shot)
            with self._lock:
                self.statuses[n] = status

    def sent(self) -> int:
        with self._lock:
            return len(self.statuses)

    def run(self, enough) -> None:
        """Send until ``enough()`` is true (checked every 50 ms) or ``LIMIT`` seconds passed."""
        clients = [threading.Thread(target=self._client, daemon=True) for _ in range(CONCURRENCY)]
        for client in clients:
            client.start()
        deadline = time.monotonic() + LIMIT
        try:
            while not enough() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            self.stop.set()
            for client in clients:
                client.join(timeout=30)


def test_a_worker_killed_every_second_loses_and_doubles_no_answered_click(database, tmp_path):
    backend, url = database
    killed: list[int] = []
    with storefront_server(tmp_path, url) as server:
        load = Stream(server.base_url)
        done = threading.Event()

        def killer() -> None:
            while not done.wait(EVERY):
                # The oldest worker, once it has had time to start serving: a replacement
                # killed while it still starts up would leave no worker at all, and the test
                # would measure the server's start-up instead of the click log.
                workers = [(age(pid), pid) for pid in server.workers()]
                ready = [(a, pid) for a, pid in workers if a >= READY]
                if ready:
                    _, pid = max(ready)
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        continue
                    killed.append(pid)

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        try:
            load.run(lambda: load.sent() >= CLICKS and len(killed) >= KILLS)
        finally:
            done.set()
            thread.join(timeout=10)
        answered = [n for n, status in load.statuses.items() if status == 302]
        cut_off = [n for n, status in load.statuses.items() if status is None]
        others = {n: s for n, s in load.statuses.items() if s not in (302, None)}
        assert others == {}  # nothing but 302s and cut connections
        assert len(load.statuses) >= CLICKS
        assert len(killed) >= KILLS, f"{len(killed)} kills in {LIMIT:.0f} s: not the test it claims"
        wait_for_readers(url, len(answered), server, timeout=60)
        found = rows_by_referrer(url)
    print(f"\n{backend}: {len(killed)} kills, {len(answered)} answered, {len(cut_off)} cut off")
    missing = [n for n in answered if found.get(referrer(n), 0) == 0]
    doubled = {host: count for host, count in found.items() if count > 1}
    assert missing == [], f"{len(missing)} answered clicks not stored"
    assert doubled == {}
    # Rows only for requests that were sent: answered, or cut off after the click was logged.
    sent = {referrer(n) for n in answered + cut_off}
    assert set(found) <= sent
