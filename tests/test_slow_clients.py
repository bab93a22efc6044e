"""Slow clients cannot take the site down: 50 of them hold connections, readers are still served.

Against the real `storefront serve` (Granian, 2 workers): 25 half-open connections
(connected, never a byte) and 25 slowloris clients (a request line, then one header byte a
second, never finishing) hold their connections for the whole test while readers ask for
/healthz and the book page. Each reader request gets a few seconds, generous on a busy
machine. Granian holds connections on its event loop, not on the Python threads that run
requests, so this holds with the default threads and with one thread per worker, where a
server with a thread or a process per connection (gunicorn's sync worker, the default
before round 2) left readers waiting 30 s behind two silent clients.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from .test_serve import running_server

pytestmark = pytest.mark.slow

SLOW_CLIENTS = 50
READER_TIMEOUT = 5.0  # seconds one reader request may take before it counts as stalled
HOLD = 8.0  # seconds of reading while the slow clients hold on


@contextlib.contextmanager
def slow_clients(url: str, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections to ``url``: half never send, half drip a never-ending header."""
    host, port = url.removeprefix("http://").split(":")
    sockets: list[socket.socket] = []
    stop = threading.Event()
    for i in range(count):
        sock = socket.create_connection((host, int(port)), timeout=5)
        if i % 2:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
        sockets.append(sock)

    def drip() -> None:
        while not stop.wait(1.0):
            for sock in sockets[1::2]:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")  # a header name that never ends

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        yield sockets
    finally:
        stop.set()
        dripper.join(timeout=5)
        for sock in sockets:
            sock.close()


def read_for(url: str, seconds: float) -> list[tuple[str, str]]:
    """Ask for /healthz and the book page until ``seconds`` pass: (path, outcome) per request."""
    outcomes = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in ("/healthz", "/books/genesis"):
            try:
                # A new connection each time, as a new reader's would be.
                response = requests.get(
                    url + path, timeout=READER_TIMEOUT, headers={"Connection": "close"}
                )
                outcome = str(response.status_code)
            except requests.RequestException as exc:
                outcome = f"{type(exc).__name__} at {seconds - (deadline - time.monotonic()):.1f} s"
            outcomes.append((path, outcome))
        time.sleep(0.2)
    return outcomes


@pytest.mark.parametrize("threads", [[], ["--threads", "1"]], ids=["default threads", "1 thread"])
def test_fifty_slow_clients_do_not_stop_readers(tmp_path, threads):
    with (
        running_server(tmp_path, *threads) as server,
        slow_clients(server.url, SLOW_CLIENTS) as held,
    ):
        outcomes = read_for(server.url, HOLD)
        # The slow clients still hold their connections: none was answered or dropped.
        still_open = 0
        for sock in held:
            sock.setblocking(False)
            try:
                sock.recv(1)  # data, or b"" (closed by the server): not held any more
            except BlockingIOError:
                still_open += 1  # nothing to read: the connection is still open, unanswered
            except OSError:
                pass
    failures = [o for o in outcomes if o[1] != "200"]
    assert not failures, f"{len(failures)} of {len(outcomes)} reader requests failed: {failures}"
    assert len(outcomes) >= 10
    assert {path for path, _ in outcomes} == {"/healthz", "/books/genesis"}
    assert still_open >= SLOW_CLIENTS // 2  # the test really held connections open
