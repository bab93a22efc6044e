"""The benchmark harness: real servers on 127.0.0.1, driven by ``wrk`` in bounded runs.

Every bench measures routes of the real production server (``storefront serve``,
gunicorn) and, in the same run, a bare Flask endpoint under the same gunicorn
settings; figures are printed as ratios to that baseline, because absolute
numbers move with the machine and ratios measured side by side do not (much)::

    from bench.harness import Route, serve_storefront, serve_baseline, run_wrk, print_table

    with serve_storefront() as base_url, serve_baseline() as baseline_url:
        results = [run_wrk(baseline_url + "/bare", name="bare flask"),
                   run_wrk(base_url + "/books/genesis", name="book page")]
    print_table(results, baseline=results[0])

Bounded: each ``wrk`` run lasts ``duration`` seconds (default ``$BENCH_DURATION`` or
10) under a subprocess timeout, and servers are always stopped, even on errors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DURATION = 10.0
START_TIMEOUT = 60.0  # seconds for a server to answer its health check
STOP_TIMEOUT = 15.0  # seconds for gunicorn's graceful stop before SIGKILL
WRK_SLACK = 30.0  # seconds a wrk run may overrun its duration before it is killed


class BenchError(RuntimeError):
    """A server did not start, a route answered the wrong status, or wrk failed."""


@dataclass
class Route:
    """One route to measure: a path on the server, its headers and the status it must answer."""

    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    expect_status: int = 200


@dataclass
class Result:
    """One wrk run: throughput, latency percentiles and what went wrong."""

    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors: connect, read, write and timeouts
    non_2xx_3xx: int
    output: str = field(default="", repr=False)  # wrk's own report
    # CPU the server's processes spent per request (user + system), when the URL
    # belongs to a server this harness started: unlike req/s, it barely moves when
    # other work shares the machine.
    cpu_us_per_request: float | None = None


def bench_duration() -> float:
    """Seconds per wrk run: ``$BENCH_DURATION`` or 10."""
    raw = os.environ.get("BENCH_DURATION", "")
    if not raw:
        return DEFAULT_DURATION
    try:
        value = float(raw)
    except ValueError:
        raise BenchError(f"BENCH_DURATION: '{raw}' is not a number of seconds") from None
    if not 0 < value <= 600:
        raise BenchError(f"BENCH_DURATION: {raw} is outside 0-600 seconds")
    return value


def bench_threads() -> int:
    """Threads per gunicorn worker: ``$BENCH_THREADS`` or what ``storefront serve`` uses."""
    from storefront.settings import DEFAULT_THREADS

    raw = os.environ.get("BENCH_THREADS", "")
    if not raw:
        return DEFAULT_THREADS
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 256:
        raise BenchError(f"BENCH_THREADS: '{raw}' is not a number of threads from 1 to 256")
    return int(raw)


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
            # gunicorn's master stops its workers gracefully on SIGTERM.
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
    """Run ``storefront serve`` (gunicorn) on a free port with a temp instance folder.

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
def serve_baseline(workers: int = 2, threads: int | None = None) -> Iterator[str]:
    """Run the bare Flask app (``bench.bare_app``) under the same gunicorn settings."""
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
            str(threads or bench_threads()),
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


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def method_script(
    method: str, headers: Mapping[str, str] | None = None, body: str | None = None
) -> str:
    """A wrk Lua prelude that sends ``method`` (and optionally headers and a body)."""
    if method.upper() == "HEAD":
        # wrk 4.1's parser waits for the body a HEAD response's Content-Length
        # announces, so every HEAD request ends as a read error: refuse, don't mislead.
        raise BenchError("wrk cannot measure HEAD (it waits for a body that never comes); use GET")
    if not re.fullmatch(r"[A-Z]+", method.upper()):
        raise BenchError(f"not an HTTP method: {method!r}")
    lines = [f"wrk.method = {_lua_string(method.upper())}"]
    for key, value in (headers or {}).items():
        lines.append(f"wrk.headers[{_lua_string(key)}] = {_lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    return "\n".join(lines) + "\n"


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise BenchError(f"unreadable wrk latency: {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(output: str, name: str) -> Result:
    """Read ``wrk --latency`` output into a :class:`Result`."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in ", output, re.M)
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.M)
    if not (rps and total and p50 and p99):
        raise BenchError(f"unreadable wrk output for {name}:\n{output}")
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors = sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Result(
        name=name,
        requests_per_s=float(rps[1]),
        p50_ms=_ms(p50[1]),
        p99_ms=_ms(p99[1]),
        requests=int(total[1]),
        errors=errors,
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        output=output,
    )


def run_wrk(
    url: str,
    *,
    name: str,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    duration: float | None = None,
    connections: int = 32,
    threads: int = 1,
    script: str | Path | None = None,
    warmup: float = 1.0,
) -> Result:
    """Drive ``url`` with ``wrk --latency`` for ``duration`` seconds and parse the report.

    ``duration`` defaults to ``$BENCH_DURATION`` or 10 s. A ``warmup`` run (not
    reported) first fills every worker's caches. A ``method`` other than GET is
    sent by a generated Lua prelude, followed by ``script`` (a Lua file) if given.
    """
    wrk = _which("wrk")
    seconds = duration if duration is not None else bench_duration()
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:
        command = [wrk, "--latency", f"-t{threads}", f"-c{connections}", "--timeout", "5s"]
        for key, value in (headers or {}).items():
            command += ["-H", f"{key}: {value}"]
        lua = method_script(method) if method.upper() != "GET" else ""
        if script is not None:
            lua += Path(script).read_text()
        if lua:
            lua_file = Path(tmp) / "script.lua"
            lua_file.write_text(lua)
            command += ["-s", str(lua_file)]
        if warmup > 0:
            _wrk(command + [f"-d{_whole(warmup)}s", url], warmup + WRK_SLACK)
        cpu_before = server_cpu_seconds(url)
        output = _wrk(command + [f"-d{_whole(seconds)}s", url], seconds + WRK_SLACK)
        cpu_after = server_cpu_seconds(url)
    result = parse_wrk(output, name)
    if cpu_before is not None and cpu_after is not None and result.requests:
        result.cpu_us_per_request = (cpu_after - cpu_before) / result.requests * 1e6
    logger.info("%s: %.0f req/s", name, result.requests_per_s)
    return result


def _whole(seconds: float) -> int:
    # wrk takes whole seconds only.
    return max(1, round(seconds))


def _which(name: str) -> str:
    from shutil import which

    path = which(name)
    if path is None:
        raise BenchError(f"{name} is not installed (Debian: apt-get install {name})")
    return path


def _wrk(command: list[str], timeout: float) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk overran its {timeout:.0f} s bound: {' '.join(command)}") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


def check_route(base_url: str, route: Route) -> None:
    """Request ``route`` once and fail unless it answers ``expect_status``.

    Measuring a route that answers an error page would print a meaningless ratio.
    """
    request = urllib.request.Request(
        base_url + route.path, headers=route.headers, method=route.method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:  # 3xx (not followed for 304), 4xx, 5xx
        status = exc.code
    if status != route.expect_status:
        raise BenchError(
            f"{route.name}: {route.method} {route.path} answered {status}, "
            f"expected {route.expect_status}"
        )


def run_route(base_url: str, route: Route, **options: object) -> Result:
    """Check ``route`` answers its expected status, then measure it with :func:`run_wrk`."""
    check_route(base_url, route)
    return run_wrk(
        base_url + route.path,
        name=route.name,
        headers=route.headers,
        method=route.method,
        **options,  # type: ignore[arg-type]
    )


def median_result(results: list[Result], name: str | None = None) -> Result:
    """Merge repeated runs of one route: median req/s and latencies, summed counts."""
    if not results:
        raise BenchError("no results to merge")
    cpus = [r.cpu_us_per_request for r in results if r.cpu_us_per_request is not None]
    return Result(
        name=name or results[0].name,
        requests_per_s=statistics.median(r.requests_per_s for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        non_2xx_3xx=sum(r.non_2xx_3xx for r in results),
        cpu_us_per_request=statistics.median(cpus) if cpus else None,
    )


def run_rounds(
    baseline_url: str,
    measures: Sequence[Callable[[], Result]],
    rounds: int,
    *,
    show_rounds: bool = False,
    **wrk,
) -> dict[str, list[Result]]:
    """Run the bare baseline, then each measurement, ``rounds`` times; results by name.

    The baseline runs in every round, so slow drift on a shared machine affects
    it and the routes alike. ``show_rounds`` prints each round's table.
    """
    runs: dict[str, list[Result]] = {}
    for number in range(1, rounds + 1):
        results = [run_wrk(baseline_url + "/bare", name="bare flask", **wrk)]
        results += [measure() for measure in measures]
        if show_rounds:
            print(f"\nround {number}")
            print_table(results, baseline=results[0])
        for result in results:
            runs.setdefault(result.name, []).append(result)
    return runs


def medians(runs: dict[str, list[Result]]) -> list[Result]:
    """The median result of each name from :func:`run_rounds`, the baseline first."""
    return [median_result(results) for results in runs.values()]


def print_table(results: list[Result], baseline: Result) -> str:
    """Print (and return) req/s, p50, p99 and the ratio to ``baseline`` for each result.

    When the server's CPU was sampled, two more columns: CPU per request and the
    CPU ratio (baseline CPU per request / this route's), the throughput ratio the
    route would reach if the server's CPU were the only limit.
    """
    header = (
        f"{'route':<32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} "
        f"{'cpu us/req':>10} {'cpu ratio':>9}  notes"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        ratio = result.requests_per_s / baseline.requests_per_s if baseline.requests_per_s else 0.0
        cpu = cpu_ratio = "-"
        if result.cpu_us_per_request:
            cpu = f"{result.cpu_us_per_request:.0f}"
            if baseline.cpu_us_per_request:
                cpu_ratio = f"{baseline.cpu_us_per_request / result.cpu_us_per_request:.2f}x"
        notes = []
        if result is baseline:
            notes.append("baseline")
        if result.errors:
            notes.append(f"{result.errors} socket errors")
        if result.non_2xx_3xx:
            notes.append(f"{result.non_2xx_3xx} non-2xx/3xx")
        lines.append(
            f"{result.name:<32} {result.requests_per_s:>9.0f} {result.p50_ms:>8.2f} "
            f"{result.p99_ms:>8.2f} {ratio:>6.2f}x {cpu:>10} {cpu_ratio:>9}  "
            f"{', '.join(notes)}".rstrip()
        )
    text = "\n".join(lines)
    print(text, flush=True)
    return text
