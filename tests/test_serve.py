"""`storefront serve`: the real production server (Granian) answering over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup

from .conftest import MINIMAL_CATALOG

pytestmark = pytest.mark.slow

START_TIMEOUT = 60.0
SALE_INSTANT = "2026-12-22T10:00:00-07:00"  # inside the built-in Apollo 8 anniversary sale


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def storefront_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "storefront.cli", *args]


def server_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env["STOREFRONT_INSTANCE_PATH"] = str(tmp_path / "instance")
    return env


class Server:
    def __init__(self, process: subprocess.Popen, url: str, log: Path):
        self.process, self.url, self.log = process, url, log

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_server(tmp_path: Path, *args: str) -> Iterator[Server]:
    """Start `storefront serve` on a free port; wait for /healthz; always stop it."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            storefront_command("serve", "--port", str(port), "--workers", "2", *args),
            env=server_env(tmp_path),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers go with it
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"server exited early:\n{server.output()}"
            assert time.monotonic() < deadline, f"no answer on /healthz:\n{server.output()}"
            try:
                if server.get("/healthz").status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def ebook_price(html: str) -> tuple[str, str | None]:
    """The ebook's price on the book page: (now, struck list price or None)."""
    soup = BeautifulSoup(html, "html.parser")
    section = soup.select_one('section.format[data-format="ebook"] p.price')
    assert section is not None, "no ebook price on the page"
    struck = section.find("del")
    return section.select_one(".now").get_text(strip=True), (
        struck.get_text(strip=True) if struck else None
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """One `storefront serve` for the tests that only read from it."""
    with running_server(tmp_path_factory.mktemp("serve")) as running:
        yield running


def test_serve_answers_the_health_check(server):
    health = server.get("/healthz")
    assert health.status_code == 200
    assert health.headers["Content-Type"] == "application/json"
    assert health.json()["status"] == "ok"


def test_serve_starts_two_workers_without_advice_against_its_own_settings(server):
    log = server.output()
    assert log.count("[INFO] Started worker-") == 2
    assert "WARNING" not in log  # Granian's thread-count advice is filtered (server.py)


def test_serve_lists_the_books_on_the_index(server):
    index = server.get("/")
    assert index.status_code == 200
    links = {a["href"] for a in BeautifulSoup(index.text, "html.parser").find_all("a", href=True)}
    assert any(href.endswith("/books/genesis") for href in links)


def test_serve_renders_the_genesis_page_with_its_ebook_price(server):
    page = server.get("/books/genesis")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    (h1,) = BeautifulSoup(page.text, "html.parser").find_all("h1")
    assert "Genesis" in h1.get_text()
    # The real clock may fall inside a sale; then $5.99 is the struck list price.
    now, was = ebook_price(page.text)
    assert (now, was) == ("$5.99", None) or was == "$5.99"


def test_serve_revalidates_the_book_page_with_its_etag(server):
    first = server.get("/books/genesis")
    again = server.get("/books/genesis", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_serve_answers_an_unknown_book_with_a_404_page(server):
    missing = server.get("/books/no-such-book")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["Content-Type"]
    assert "Traceback" not in missing.text


@pytest.mark.parametrize(
    ("instant", "now", "was"),
    [
        ("2026-11-25T12:00:00+00:00", "$5.99", None),  # a quiet day
        (SALE_INSTANT, "$2.99", "$5.99"),  # the Apollo 8 anniversary sale
    ],
)
def test_serve_now_previews_the_price_at_that_instant(tmp_path, instant, now, was):
    with running_server(tmp_path, "--now", instant) as server:
        health = server.get("/healthz").json()
        page = server.get("/books/genesis")
    # SIGTERM is a graceful stop: the server exits 0.
    assert server.process.returncode == 0, server.output()
    assert health["now"] == instant
    assert page.status_code == 200
    assert ebook_price(page.text) == (now, was)


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        storefront_command(*args),
        env=server_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_with_a_broken_catalog_exits_1_with_the_same_problems_as_check(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text(
        MINIMAL_CATALOG.replace('title = "First Book"', "title = 7").replace(
            'price = "10.00"', 'price = "-1.00"', 1
        ),
        encoding="utf-8",
    )
    check = run_cli(tmp_path, "check", "--catalog", str(broken))
    serve = run_cli(tmp_path, "serve", "--port", str(free_port()), "--catalog", str(broken))

    assert check.returncode == 1
    assert serve.returncode == 1
    problems = check.stderr.strip().splitlines()
    assert problems[-1] == "2 problem(s) in the catalog."
    assert all(line.startswith("broken.toml:") for line in problems[:-1])
    assert serve.stderr.strip().splitlines() == problems
    assert "Traceback" not in serve.stderr + serve.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--now", "next tuesday"], "not an ISO 8601 instant"),
        (["--now", "2026-12-22T10:00:00"], "needs a UTC offset"),
        (["--port", "0"], "--port"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_serve_rejects_bad_options_without_a_traceback(tmp_path, args, message):
    result = run_cli(tmp_path, "serve", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_links_to_its_own_port_without_a_base_url(server):
    """No STOREFRONT_BASE_URL: canonical links, oEmbed discovery and cards name this server."""
    page = BeautifulSoup(server.get("/books/genesis").text, "html.parser")
    canonical = page.find("link", rel="canonical")["href"]
    assert canonical == server.url + "/books/genesis"
    oembed = page.find("link", type="application/json+oembed")["href"]
    assert oembed.startswith(server.url + "/oembed?")


def test_serve_ignores_forwarded_headers(server):
    # Without STOREFRONT_PROXY_COUNT a forwarded scheme or host changes nothing.
    forged = server.get(
        "/books/genesis", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    )
    assert forged.status_code == 200
    assert "evil.example" not in forged.text


def _raw_request(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        return conn.recv(65536)


def test_serve_refuses_oversized_headers_and_bodies_before_reading_them(server):
    # Request line and headers are bounded: a 1 MB header, or more than 100 headers, is
    # refused (431) without reaching the app.
    huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
    assert _raw_request(server.url, huge).startswith(b"HTTP/1.1 431"), "a 1 MB header"
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%d: v\r\n" % i for i in range(101)
    )
    assert _raw_request(server.url, many + b"\r\n").startswith(b"HTTP/1.1 431"), "101 headers"
    # A body announced over the app's limit is refused at once, unread (413), by a
    # server that streams bodies to the app instead of buffering them first.
    announced = (
        b"POST /admin/login HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 300000000\r\n\r\n"
        + b"a"
        * 1000
    )
    answer = _raw_request(server.url, announced)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert server.get("/healthz").status_code == 200


def test_serve_streams_a_chunked_body_to_its_limit_without_buffering_it(server):
    """300 MB sent chunked to a form: refused once past the limit; the workers' memory is flat."""
    workers = _workers(server.process.pid)
    before = {pid: _rss_kb(pid) for pid in workers}
    host, port = server.url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    conn.sendall(
        b"POST /admin/login HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"a" * 65536
    sent = 0
    with conn:
        try:
            while sent < 300_000_000:
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed the connection
        answer = conn.recv(200)
    assert sent < 50_000_000, f"the server read {sent} bytes of an unbounded body"
    assert answer.split(b" ", 2)[1] in (b"400", b"413"), answer[:80]
    for pid in workers:
        assert _rss_kb(pid) - before[pid] < 20_000, (pid, before[pid], _rss_kb(pid))


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def _tcp_inodes(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets bound to local ``port`` in ``state`` (0A listen, 01 connected)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _workers(master: int) -> set[int]:
    workers = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                workers.add(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return workers


def _open_connections(port: int, count: int) -> list[socket.socket]:
    """``count`` keep-alive connections, each answered once (so a worker has accepted it).

    One that lands on a worker still booting waits in its socket's queue for it.
    """
    connections = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=START_TIMEOUT)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        connections.append(conn)
    return connections


def _connections_per_worker(port: int, workers: set[int]) -> list[int]:
    connected = _tcp_inodes(port, "01")
    return sorted(len(_socket_inodes(pid) & connected) for pid in workers)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_serve_spreads_connections_over_its_workers_even_after_a_kill_9(tmp_path):
    with running_server(tmp_path) as server:
        port = int(server.url.rsplit(":", 1)[1])
        master = server.process.pid
        workers = _workers(master)
        assert len(workers) == 2
        # One listening socket per worker, in one SO_REUSEPORT group the kernel spreads
        # over, all held by the master.
        listening = _tcp_inodes(port, "0A")
        assert len(listening) == 2
        assert listening <= _socket_inodes(master)
        connections = _open_connections(port, 40)
        try:
            counts = _connections_per_worker(port, workers)
            assert sum(counts) == 40 and counts[0] >= 8, counts
        finally:
            for conn in connections:
                conn.close()

        os.kill(max(workers), signal.SIGKILL)
        # The dead worker's socket stays open (the master holds it) for its successor.
        assert _tcp_inodes(port, "0A") == listening
        assert server.get("/healthz").status_code == 200
        deadline = time.monotonic() + START_TIMEOUT
        while len(new := _workers(master)) != 2 or new == workers:
            assert time.monotonic() < deadline, f"no new worker:\n{server.output()}"
            time.sleep(0.2)
        # The successor accepts from the same socket: the two share connections again.
        while True:
            connections = _open_connections(port, 40)
            try:
                counts = _connections_per_worker(port, new)
            finally:
                for conn in connections:
                    conn.close()
            assert sum(counts) == 40, counts
            if counts[0] >= 8:
                break
            assert time.monotonic() < deadline, f"the new worker takes no share: {counts}"
            time.sleep(0.5)
