"""Bench every reader route against the fixed baseline, alternating, and show the spread.

    python -m bench.bench_all [--rounds 5] [--duration 5] [--connections 16]

The baseline is fixed and never tuned: a bare Flask "hello" under gunicorn with 2
**sync** workers (``bench.bare_app``). Storefront runs as ``storefront serve`` does by
default. Each round measures, for every route, the baseline and then the route
(``wrk -t1 -c16 --latency``), so each ratio compares two runs seconds apart; with
``--rounds 5`` the table gives, per route, the median ratio, its range, how far the
worst round is from the median, and the median p50/p99 of the route. One more run
per round drives the reader click at 32 connections for its p99. The load average
is printed before and after: on a shared machine, read the ratios with it.

Targets: book page, card 200 and card 304 >= 1.3x, the durable reader click
>= 0.9x, every round within +-15% of the median, the click's p99 at 32 connections
<= 40 ms. Exit status 1 when a target is missed (2 when the bench itself failed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from .bench_redirect import measure
from .harness import BenchError, Result, Route, run_route, run_wrk, serve_baseline, serve_storefront

BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Accept-Language": "en-US,en;q=0.9",
}
BOOK = "/books/genesis"
CARD = "/embed/genesis?layout=card&theme=light"
CLICK = "/go/genesis/kindle?src=page"
TARGETS = {"book page": 1.3, "card 200": 1.3, "card 304": 1.3, "click (durable)": 0.9}
SPREAD = 0.15  # every round's ratio within this fraction of the median
CLICK_P99_MS = 40.0  # the reader click's p99 at 32 connections


@dataclass
class Summary:
    """One route over the rounds: ratios to the paired baseline run, latencies."""

    name: str
    ratios: list[float]
    runs: list[Result]

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def worst_deviation(self) -> float:
        return max(abs(r / self.median - 1) for r in self.ratios) if self.median else 0.0


def etag_of(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        etag = response.headers.get("ETag")
    if not etag:
        raise BenchError(f"{url} sent no ETag")
    return etag


def worker_cpu(base_url: str) -> dict[int, float]:
    """CPU seconds so far of each worker of the server at ``base_url`` (by pid)."""
    from .servers import _CLOCK_TICKS, _SERVERS

    master = _SERVERS.get(base_url)
    found: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if master is not None and int(fields[1]) == master:  # ppid: a worker
            found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return found


def cpu_split(before: dict[int, float], after: dict[int, float]) -> str:
    """How the run's CPU divided between the workers, e.g. ``52/48``."""
    used = [after[pid] - before.get(pid, 0.0) for pid in sorted(after)]
    total = sum(used)
    return "/".join(f"{100 * u / total:.0f}" for u in used) if total else "-"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def count_reader_clicks(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM clicks WHERE kind = 'reader'")).scalar()
    finally:
        engine.dispose()


def _cpu(runs: list[Result]) -> str:
    # CPU the server spent per request: unlike req/s, it barely moves with the machine's load.
    values = [r.cpu_us_per_request for r in runs if r.cpu_us_per_request]
    return f"{statistics.median(values):.0f}" if values else "-"


def print_summary(summaries: list[Summary], baseline: list[Result]) -> list[str]:
    """Print the table of medians and ranges; return the targets missed."""
    header = (
        f"{'route':<18} {'ratio':>6} {'range':>13} {'worst':>6} "
        f"{'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'cpu us':>7}  target"
    )
    print(header)
    print("-" * len(header))
    base_rps = statistics.median(r.requests_per_s for r in baseline)
    print(
        f"{'bare (2 sync)':<18} {'1.00x':>6} {'':>13} {'':>6} {base_rps:>7.0f} "
        f"{statistics.median(r.p50_ms for r in baseline):>7.2f} "
        f"{statistics.median(r.p99_ms for r in baseline):>7.2f} {_cpu(baseline):>7}  baseline"
    )
    missed = []
    for s in summaries:
        target = TARGETS.get(s.name)
        verdict = ""
        if target is not None:
            ok = s.median >= target and s.worst_deviation <= SPREAD
            verdict = f">= {target:.1f}x, +-{SPREAD:.0%}: {'ok' if ok else 'MISSED'}"
            if not ok:
                missed.append(s.name)
        print(
            f"{s.name:<18} {s.median:>5.2f}x {min(s.ratios):>5.2f}-{max(s.ratios):.2f}x "
            f"{s.worst_deviation:>5.0%} "
            f"{statistics.median(r.requests_per_s for r in s.runs):>7.0f} "
            f"{statistics.median(r.p50_ms for r in s.runs):>7.2f} "
            f"{statistics.median(r.p99_ms for r in s.runs):>7.2f} {_cpu(s.runs):>7}  {verdict}"
        )
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="storefront threads/worker")
    parser.add_argument("--only", action="append", help="measure only these routes")
    args = parser.parse_args(argv)
    wrk = {"duration": args.duration, "connections": args.connections}
    load_before = load_average()

    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'clicks.db'}"
        settings = {"STOREFRONT_DATABASE_URL": db_url}
        with (
            serve_storefront(settings, workers=2, threads=args.threads) as base,
            serve_baseline(workers=2, threads=1) as bare,
        ):
            routes = [
                Route("book page", BOOK),
                Route("card 200", CARD),
                Route("card 304", CARD, {"If-None-Match": etag_of(base + CARD)}, "GET", 304),
                Route("click (durable)", CLICK, BROWSER, "GET", 302),
            ]
            if args.only:
                routes = [r for r in routes if r.name in args.only]
            summaries = {r.name: Summary(r.name, [], []) for r in routes}
            baseline: list[Result] = []
            click_32: list[Result] = []
            answered = 0
            for number in range(1, args.rounds + 1):
                line = []
                for route in routes:
                    bare_run = run_wrk(bare + "/bare", name="bare", **wrk)
                    # A redirect is checked without following it (its target is on the internet).
                    cpu_before = worker_cpu(base)
                    run = (measure if route.expect_status == 302 else run_route)(base, route, **wrk)
                    split = cpu_split(cpu_before, worker_cpu(base))
                    baseline.append(bare_run)
                    summaries[route.name].ratios.append(
                        run.requests_per_s / bare_run.requests_per_s
                    )
                    summaries[route.name].runs.append(run)
                    if route.name == "click (durable)":
                        answered += run.requests
                    line.append(
                        f"{route.name} {run.requests_per_s / bare_run.requests_per_s:.2f}x "
                        f"(p99 {run.p99_ms:.1f} ms, worker CPU {split})"
                    )
                if any(r.name == "click (durable)" for r in routes):
                    run = measure(
                        base,
                        Route("click c32", CLICK, BROWSER, "GET", 302),
                        duration=args.duration,
                        connections=32,
                    )
                    answered += run.requests
                    click_32.append(run)
                    line.append(f"click c32 p99 {run.p99_ms:.1f} ms")
                print(
                    f"round {number}: " + ", ".join(line) + f" (load {load_average()})", flush=True
                )
        stored = count_reader_clicks(db_url) if click_32 else None

    print(
        f"\n{args.rounds} round(s), {args.duration:g} s per run, wrk -t1 -c{args.connections}; "
        f"load average before {load_before}, after {load_average()}; "
        f"{os.cpu_count()} CPUs"
    )
    missed = print_summary(list(summaries.values()), baseline)
    if click_32:
        p99s = [r.p99_ms for r in click_32]
        p99 = statistics.median(p99s)
        ok = p99 <= CLICK_P99_MS
        print(
            f"click p99 at 32 connections: median {p99:.1f} ms "
            f"(rounds {', '.join(f'{x:.1f}' for x in p99s)}; <= {CLICK_P99_MS:.0f} ms: "
            f"{'ok' if ok else 'MISSED'})"
        )
        if not ok:
            missed.append("click p99")
        print(
            f"reader clicks stored: {stored} for {answered} answered in measured runs (+ warm-ups)"
        )
        if stored is not None and stored < answered:
            print("LOST CLICKS: fewer rows than answered clicks")
            missed.append("lost clicks")
    return 1 if missed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
