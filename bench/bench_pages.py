"""Bench the reader's pages against a bare Flask endpoint, in the same run.

    python -m bench.bench_pages [--rounds 3] [--duration 10] [--workers 2]

Routes: the book page (200), the index (200), the book page revalidated with its
ETag (304), the book page with an ETag it does not hold (which skips the WSGI replay layer,
so Flask answers it from the render cache), and the baseline ``/bare``. Each round
runs every route once, the baseline first; the table shows the median of the rounds
and each route's ratio to the baseline. Target (issue 2): the book page at >= 0.9x
the bare endpoint.
"""

from __future__ import annotations

import argparse
import os
import urllib.request
from functools import partial

from .harness import (
    BenchError,
    Route,
    bench_duration,
    medians,
    print_table,
    run_rounds,
    run_route,
    serve_baseline,
    serve_storefront,
)

BOOK_PATH = "/books/genesis"
TARGET = 0.9


def fetch_etag(url: str) -> str:
    """The ETag the server sends for ``url`` (what a browser would revalidate with)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        etag = response.headers.get("ETag")
    if not etag:
        raise BenchError(f"{url} sent no ETag")
    return etag


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the table; return 1 if the book page misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    parser.add_argument("--rounds", type=int, default=default_rounds, help="default: 3")
    parser.add_argument("--duration", type=float, default=None, help="seconds per run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    duration = args.duration or bench_duration()
    wrk = {"duration": duration, "connections": args.connections}

    with (
        serve_storefront(workers=args.workers) as base_url,
        serve_baseline(workers=args.workers) as baseline_url,
    ):
        etag = fetch_etag(base_url + BOOK_PATH)
        routes = [
            Route("book page", BOOK_PATH),
            Route("index", "/"),
            Route("book page, If-None-Match (304)", BOOK_PATH, {"If-None-Match": etag}, "GET", 304),
            # An If-None-Match the replay does not hold goes to Flask, which answers
            # the full page from its RenderCache (the same trick as bench_cards).
            Route("book page via Flask (cached)", BOOK_PATH, {"If-None-Match": '"other"'}),
        ]
        print(
            f"{args.rounds} round(s) x {duration:g} s per route, {args.connections} connections, "
            f"{args.workers} gunicorn worker(s); storefront {base_url}, baseline {baseline_url}",
            flush=True,
        )
        measures = [partial(run_route, base_url, route, **wrk) for route in routes]
        runs = run_rounds(baseline_url, measures, args.rounds, show_rounds=True, **wrk)

    merged = medians(runs)
    print(f"\nmedian of {args.rounds} round(s)")
    print_table(merged, baseline=merged[0])
    page = next(r for r in merged if r.name == "book page")
    ratio = page.requests_per_s / merged[0].requests_per_s
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"\nbook page: {ratio:.2f}x the bare endpoint ({verdict} the {TARGET:.1f}x target)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
