"""Fault injection for the bench and tests: a private PostgreSQL, a TCP black hole, a clicker.

- :class:`PrivatePostgres`: a PostgreSQL cluster of our own (``initdb`` and ``pg_ctl`` in
  a temporary folder, its own port and socket folder). Only its processes are ever
  stopped, frozen (``SIGSTOP``) or thawed: never the machine's shared server.
- :class:`BlackHole`: a TCP port that accepts connections and never answers, until
  :meth:`BlackHole.heal` makes it forward to a real server.
- :class:`Clicker`: a few clients clicking ``/go`` in a loop, recording each answer's
  status and latency, that can be paused (no request in flight) and stopped.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

READER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin(name: str) -> str | None:
    """A PostgreSQL server program (``initdb``, ``pg_ctl``), from PATH or Debian's folder."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self.initdb = postgres_bin("initdb")
        self.pg_ctl = postgres_bin("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            raise FileNotFoundError("PostgreSQL's initdb and pg_ctl are not installed")
        # Outside pytest's private tmp: the server runs as the postgres user when we are root.
        self.root = Path(tempfile.mkdtemp(prefix="sf-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.sockets.mkdir()
        self.log = self.root / "server.log"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
        self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str, port: int | None = None) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port or self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=50"
        )
        self._run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url_for(name)

    def pids(self) -> list[int]:
        """The postmaster of THIS cluster (from its own postmaster.pid) and its children."""
        pid_file = self.data / "postmaster.pid"
        postmaster = int(pid_file.read_text().splitlines()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    children.append(int(stat.parent.name))
        return [postmaster, *children]

    def freeze(self) -> list[int]:
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        return pids

    def thaw(self, pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.thaw(self.pids())
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class BlackHole:
    """A TCP port that accepts and never answers; :meth:`heal` forwards it to a real port."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target: int | None = None
        self.held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.target is None:
                self.held.append(conn)  # accepted, never read, never answered
            else:
                self._forward(conn, self.target)

    def _forward(self, client: socket.socket, port: int) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            # Wake the other direction's recv with an end of file; each pump closes its source.
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_RDWR)
            src.close()

        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    def heal(self, port: int) -> None:
        """From now on, forward to ``port``; drop the connections held so far."""
        self.target = port
        for conn in self.held:
            with contextlib.suppress(OSError):
                conn.close()
        self.held.clear()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.heal(0)


@dataclass
class Answer:
    at: float  # monotonic time the request was sent
    latency: float  # seconds until the whole answer was read
    status: int | None  # None: a socket error (no answer)
    location: str | None = None


@dataclass
class Clicker:
    """``threads`` clients clicking ``path`` one request at a time each, until stopped."""

    base_url: str
    path: str = "/go/genesis/kindle?src=page"
    threads: int = 2
    answers: list[Answer] = field(default_factory=list)
    fault_at: float = 0.0  # monotonic time a fault was injected (0: none), for reports

    def __post_init__(self) -> None:
        self.host, port = self.base_url.removeprefix("http://").split(":")
        self.port = int(port)
        self._go = threading.Event()
        self._go.set()
        self._stop = threading.Event()
        self._in_flight = 0
        self._lock = threading.Lock()
        self._workers = [
            threading.Thread(target=self._loop, daemon=True) for _ in range(self.threads)
        ]

    def start(self) -> Clicker:
        for worker in self._workers:
            worker.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._go.wait()
            with self._lock:
                if not self._go.is_set() or self._stop.is_set():
                    continue
                self._in_flight += 1
            try:
                self.answers.append(self._click())
            finally:
                with self._lock:
                    self._in_flight -= 1

    def _click(self) -> Answer:
        start = time.monotonic()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request("GET", self.path, headers={"User-Agent": READER_AGENT})
            response = conn.getresponse()
            response.read()
            return Answer(
                start, time.monotonic() - start, response.status, response.getheader("Location")
            )
        except OSError:
            return Answer(start, time.monotonic() - start, None)
        finally:
            conn.close()

    def pause(self, timeout: float = 30) -> None:
        """Stop sending and wait until no request is in flight."""
        self._go.clear()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._in_flight == 0:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("requests still in flight")
            time.sleep(0.005)

    def resume(self) -> None:
        self._go.set()

    def stop(self) -> None:
        self._stop.set()
        self._go.set()
        for worker in self._workers:
            worker.join(timeout=40)

    @property
    def redirects(self) -> int:
        return sum(1 for a in self.answers if a.status == 302)

    @property
    def failures(self) -> int:
        return sum(1 for a in self.answers if a.status is None)

    def latencies(self, since: float = 0.0, until: float = float("inf")) -> list[float]:
        return sorted(a.latency for a in self.answers if a.status == 302 and since <= a.at < until)


def summary(latencies: list[float]) -> dict[str, float]:
    """p50, p99 and max in milliseconds."""
    if not latencies:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "p50": statistics.median(ordered) * 1000,
        "p99": p99 * 1000,
        "max": ordered[-1] * 1000,
    }
