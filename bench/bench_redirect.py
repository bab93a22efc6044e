"""Bench the tracked redirect (a durable click per request) against a bare Flask endpoint.

    python -m bench.bench_redirect [--rounds 3] [--duration 10] [--workers 2]
                                   [--postgres postgresql:///storefront_bench]

Routes: ``/go/genesis/kindle`` as a reader (each request appends its click to the
worker's click log before the 302; the worker's writer commits the log to SQLite in WAL
mode, ``synchronous=NORMAL``, in batches every 100 ms), the same as a crawler (recorded
apart), the store chooser page, and, with ``--postgres``, the reader click on
PostgreSQL. Each round runs the baseline first, then every route; the table shows the
medians. Afterwards the rows are counted: every answered click is in the database (the
count may exceed wrk's by the requests in flight when a run stops, and by the warm-up runs).
Target: the reader click at >= 0.7x the bare endpoint on SQLite.

Then (unless ``--no-frozen``) the reader click on a private PostgreSQL cluster started
here, healthy and then frozen with SIGSTOP for one run: p99 side by side (the click
budget bounds the wait), and every answered click counted once the cluster thaws.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import tempfile
import time
import urllib.request
from dataclasses import replace
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text

from storefront.spool import Spool

from .faults import PrivatePostgres
from .harness import (
    BenchError,
    Result,
    Route,
    bench_duration,
    medians,
    print_table,
    run_rounds,
    run_wrk,
    serve_baseline,
    serve_storefront,
)

TARGET = 0.7
BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Accept-Language": "en-US,en;q=0.9",
}
GOOGLEBOT = {
    "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
}
READER = "click: reader (SQLite)"


def count_kinds(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT kind, count(*) FROM clicks GROUP BY kind")).all())
    finally:
        engine.dispose()


def fresh_postgres(url: str) -> str:
    """Empty the bench database's click tables so the row count is this run's."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("DROP TABLE IF EXISTS clicks, storefront_schema"))
    finally:
        engine.dispose()
    return url


def check(base_url: str, route: Route) -> None:
    """Request ``route`` once, not following redirects (the targets are on the internet)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(route.method, route.path, headers=route.headers)
        status = conn.getresponse().status
    finally:
        conn.close()
    if status != route.expect_status:
        raise BenchError(f"{route.name}: {route.path} answered {status}, not {route.expect_status}")


def measure(base_url: str, route: Route, **options) -> Result:
    check(base_url, route)
    return run_wrk(base_url + route.path, name=route.name, headers=route.headers, **options)


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the table; return 1 if the reader click misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--duration", type=float, default=None, help="seconds per run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", help="also bench the click on this PostgreSQL database URL")
    parser.add_argument(
        "--no-frozen",
        dest="frozen",
        action="store_false",
        help="skip the click with a frozen (SIGSTOPped) private PostgreSQL",
    )
    args = parser.parse_args(argv)
    duration = args.duration or bench_duration()
    wrk = {"duration": duration, "connections": args.connections}

    with (
        tempfile.TemporaryDirectory(prefix="bench-redirect-") as tmpdir,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmpdir)
        sqlite_url = f"sqlite:///{tmp / 'clicks.db'}"
        settings = {
            "STOREFRONT_DATABASE_URL": sqlite_url,
            "STOREFRONT_INSTANCE_PATH": str(tmp / "i"),
        }
        base_url = stack.enter_context(serve_storefront(settings, workers=args.workers))
        baseline_url = stack.enter_context(serve_baseline(workers=args.workers))
        servers = [
            (base_url, Route(READER, "/go/genesis/kindle?src=page", BROWSER, "GET", 302)),
            (
                base_url,
                Route("click: crawler, kept apart", "/go/genesis/kindle", GOOGLEBOT, "GET", 302),
            ),
            (base_url, Route("store chooser page", "/go/genesis?src=qr", BROWSER, "GET", 200)),
        ]
        pg_url = None
        if args.postgres:
            pg_url = fresh_postgres(
                args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
            )
            pg_settings = {
                "STOREFRONT_DATABASE_URL": pg_url,
                "STOREFRONT_INSTANCE_PATH": str(tmp / "p"),
            }
            pg_base = stack.enter_context(serve_storefront(pg_settings, workers=args.workers))
            servers.append(
                (
                    pg_base,
                    Route(
                        "click: reader (PostgreSQL)",
                        "/go/genesis/kindle?src=page",
                        BROWSER,
                        "GET",
                        302,
                    ),
                )
            )
        print(
            f"{args.rounds} round(s) x {duration:g} s per route, {args.connections} connections, "
            f"{args.workers} gunicorn worker(s); baseline {baseline_url}",
            flush=True,
        )
        measures = [partial(measure, url, route, **wrk) for url, route in servers]
        runs = run_rounds(baseline_url, measures, args.rounds, show_rounds=True, **wrk)
        stack.close()  # stop the servers (gracefully) before counting
        stored = count_kinds(sqlite_url)
        spooled = Spool(tmp / "i" / "spool").pending_count()
        pg_stored = count_kinds(pg_url) if pg_url else None

    merged = medians(runs)
    print(f"\nmedian of {args.rounds} round(s)")
    print_table(merged, baseline=merged[0])
    answered = sum(r.requests for r in runs[READER])
    print(
        f"\nSQLite rows: {stored.get('reader', 0)} reader clicks for {answered} answered in the "
        f"measured runs (plus warm-ups and in-flight), {stored.get('bot', 0)} crawler clicks kept "
        f"apart; {spooled} click(s) left in the spool"
    )
    if pg_stored is not None:
        pg_answered = sum(r.requests for r in runs["click: reader (PostgreSQL)"])
        print(
            f"PostgreSQL rows: {pg_stored.get('reader', 0)} reader clicks for {pg_answered} "
            "answered"
        )
    reader = next(r for r in merged if r.name == READER)
    ratio = reader.requests_per_s / merged[0].requests_per_s
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(
        f"\nreader click (durable, SQLite): {ratio:.2f}x the bare endpoint "
        f"({verdict} the {TARGET:.1f}x target)"
    )
    lost = stored.get("reader", 0) + spooled < answered
    if lost:
        print("LOST CLICKS: fewer rows than answered clicks")
    if args.frozen:
        lost = frozen_database(args.workers, **wrk) or lost
    return 0 if ratio >= TARGET and not lost else 1


def frozen_database(workers: int, duration: float, connections: int) -> bool:
    """``/go`` latency with the database healthy, then frozen (SIGSTOP); True if clicks were lost.

    On a private PostgreSQL cluster started here (initdb + pg_ctl, its own port): only its
    processes are frozen. The click budget (``STOREFRONT_CLICK_BUDGET``, 50 ms) bounds
    what a reader waits; the clicks go to the spool and are replayed after the thaw.
    """
    try:
        cluster = PrivatePostgres()
    except FileNotFoundError as exc:
        print(f"\nfrozen database: skipped ({exc})")
        return False
    route = Route(READER, "/go/genesis/kindle?src=page", BROWSER, "GET", 302)
    try:
        cluster.start()
        url = cluster.create_database("bench")
        with tempfile.TemporaryDirectory(prefix="bench-frozen-") as tmpdir:
            settings = {"STOREFRONT_DATABASE_URL": url, "STOREFRONT_INSTANCE_PATH": tmpdir}
            with serve_storefront(settings, workers=workers) as base_url:
                wrk = {"duration": duration, "connections": connections}
                healthy = measure(base_url, replace(route, name="click, database healthy"), **wrk)
                frozen_pids = cluster.freeze()
                try:
                    frozen = run_wrk(
                        base_url + route.path, name="click, database frozen", headers=BROWSER, **wrk
                    )
                finally:
                    cluster.thaw(frozen_pids)
                spooled = wait_for_spool(base_url)
            stored = count_kinds(url).get("reader", 0)
    finally:
        cluster.destroy()
    print(f"\n/go on PostgreSQL, healthy then frozen (SIGSTOP) for {duration:g} s")
    print_table([healthy, frozen], baseline=healthy)
    answered = healthy.requests + frozen.requests
    print(
        f"p99 {healthy.p99_ms:.1f} ms healthy, {frozen.p99_ms:.1f} ms frozen "
        f"(click budget 50 ms); {stored} reader clicks stored for {answered} answered "
        f"(plus the check request), {spooled} left in the spool"
    )
    return stored < answered


def wait_for_spool(base_url: str, timeout: float = 60) -> int:
    """Wait until the server's spool is replayed; return how many clicks still wait."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(base_url + "/healthz", timeout=10) as response:
            clicks = json.load(response)["clicks"]
        if (clicks["database"] == "ok" and clicks["spooled"] == 0) or time.monotonic() > deadline:
            return clicks["spooled"]
        time.sleep(0.25)


if __name__ == "__main__":
    raise SystemExit(main())
