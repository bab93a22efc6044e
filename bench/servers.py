"""Real servers on 127.0.0.1 for the benches: started, health-checked, measured, always stopped."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

from .base import REPO, START_TIMEOUT, STOP_TIMEOUT, BenchError, bench_threads

logger = logging.getLogger(__name__)

_SERVERS: dict[str, int] = {}  # base URL -> process group id of a server started here
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _group_stats(group: int) -> list[list[str]]:
    """The /proc stat fields (after the command name) of every process in ``group``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (field 2) may hold spaces: split after its ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[2]) == group:  # pgrp
            members.append(fields)
    return members


def server_cpu_seconds(url: str) -> float | None:
    """CPU seconds used so far by the server behind ``url`` (master and workers), if ours."""
    parts = urllib.parse.urlsplit(url)
    group = _SERVERS.get(f"{parts.scheme}://{parts.netloc}")
    if group is None:
        return None
    ticks = sum(int(f[11]) + int(f[12]) for f in _group_stats(group))  # utime + stime
    return ticks / _CLOCK_TICKS


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    url: str, process: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT
) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it dies or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(
                f"server exited with status {process.returncode} before {url} answered:\n"
                + _tail(log)
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s:\n" + _tail(log))


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """Stop a server started by :func:`serve` (its whole process group): TERM, then KILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            # The server's master stops its workers gracefully on SIGTERM.
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            logger.warning("server %s ignored SIGTERM; killing it", process.pid)
    # The group id is the master's pid (start_new_session): this reaches any
    # worker the master left behind and nothing else.
    if _group_stats(process.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@contextlib.contextmanager
def serve(
    command: list[str],
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    health_path: str = "/healthz",
    log: Path,
) -> Iterator[str]:
    """Run ``command`` (a server on ``port``) until the block ends; yield its base URL."""
    base_url = f"http://127.0.0.1:{port}"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches the workers
        )
    try:
        wait_for(base_url + health_path, process, log)
        logger.info("started %s (pid %s)", base_url, process.pid)
        _SERVERS[base_url] = process.pid
        yield base_url
    finally:
        _SERVERS.pop(base_url, None)
        stop(process)


@contextlib.contextmanager
def serve_storefront(
    env: Mapping[str, str] | None = None, workers: int = 2, threads: int | None = None
) -> Iterator[str]:
    """Run ``storefront serve`` (Granian) on a free port with a temp instance folder.

    ``env`` adds settings such as ``STOREFRONT_NOW`` or ``STOREFRONT_CATALOG``.
    Yields the base URL, e.g. ``http://127.0.0.1:41234``.
    """
    with tempfile.TemporaryDirectory(prefix="storefront-bench-") as tmp:
        port = free_port()
        settings = {"STOREFRONT_INSTANCE_PATH": str(Path(tmp) / "instance"), **(env or {})}
        command = [
            sys.executable,
            "-m",
            "storefront.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads or bench_threads()),
        ]
        with serve(command, port=port, env=settings, cwd=tmp, log=Path(tmp) / "server.log") as url:
            yield url


@contextlib.contextmanager
def serve_baseline(workers: int = 2, threads: int = 1) -> Iterator[str]:
    """Run the bare Flask app (``bench.bare_app``): gunicorn, 2 sync workers, the fixed baseline."""
    with tempfile.TemporaryDirectory(prefix="storefront-baseline-") as tmp:
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "bench.bare_app",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ]
        pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        with serve(
            command,
            port=port,
            env={"PYTHONPATH": pythonpath},
            cwd=REPO,
            log=Path(tmp) / "server.log",
        ) as url:
            yield url
