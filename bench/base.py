"""What every bench shares: its errors, routes, results and settings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DURATION = 10.0
START_TIMEOUT = 60.0  # seconds for a server to answer its health check
STOP_TIMEOUT = 15.0  # seconds for a server's graceful stop before SIGKILL
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
    """Threads per `storefront serve` worker: ``$BENCH_THREADS`` or what it uses by default."""
    from storefront.settings import DEFAULT_THREADS

    raw = os.environ.get("BENCH_THREADS", "")
    if not raw:
        return DEFAULT_THREADS
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 256:
        raise BenchError(f"BENCH_THREADS: '{raw}' is not a number of threads from 1 to 256")
    return int(raw)
