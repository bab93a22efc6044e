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

import statistics
from collections.abc import Callable, Sequence

from .base import (
    DEFAULT_DURATION,
    REPO,
    START_TIMEOUT,
    STOP_TIMEOUT,
    WRK_SLACK,
    BenchError,
    Result,
    Route,
    bench_duration,
    bench_threads,
)
from .servers import (
    free_port,
    serve,
    serve_baseline,
    serve_storefront,
    server_cpu_seconds,
    stop,
    wait_for,
)
from .wrk import check_route, method_script, parse_wrk, run_route, run_wrk

__all__ = [
    "DEFAULT_DURATION",
    "REPO",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "WRK_SLACK",
    "BenchError",
    "Result",
    "Route",
    "bench_duration",
    "bench_threads",
    "check_route",
    "free_port",
    "median_result",
    "medians",
    "method_script",
    "parse_wrk",
    "print_table",
    "run_rounds",
    "run_route",
    "run_wrk",
    "serve",
    "serve_baseline",
    "serve_storefront",
    "server_cpu_seconds",
    "stop",
    "wait_for",
]


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
