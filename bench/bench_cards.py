"""Bench the embeddable cards against the bare Flask endpoint, in the same run.

Targets (issue 4): the full card (200) at least 0.9x the bare endpoint, and the
conditional request (304) at least 1.0x. Also measured: the same two through Flask
(the replay of repeat requests bypassed), the widget.js fragment, the widget.js 304
and oEmbed. Each round measures every route once, the bare endpoint
included, so a busy spell on the machine hits them all alike; the table shows medians.

    python -m bench.bench_cards                 # 3 rounds, 10 s per route
    python -m bench.bench_cards --rounds 5 --duration 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import urllib.request

from bench.harness import (
    BenchError,
    Route,
    median_result,
    print_table,
    run_route,
    run_wrk,
    serve_baseline,
    serve_storefront,
)

CARD = "/embed/genesis?layout=card&theme=light"
FRAGMENT = "/embed/genesis/fragment?layout=compact&theme=auto"
OEMBED = "/oembed?url={base}/books/genesis&format=json&maxwidth=480"
PUBLIC = "https://books.example.org"  # the public base URL oEmbed checks page URLs against
TARGETS = {"card 200": 0.9, "card 304 (If-None-Match)": 1.0}


def etag_of(url: str) -> str:
    """The current ETag of ``url`` (a 304 bench needs the real one)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers["ETag"]


def main(argv: list[str] | None = None) -> int:
    """Run the card bench; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--duration", type=float, help="seconds per route ($BENCH_DURATION, 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are shown (3)")
    args = parser.parse_args(argv)
    options = {"duration": args.duration} if args.duration else {}

    with (
        serve_storefront({"STOREFRONT_BASE_URL": PUBLIC}, workers=args.workers) as base,
        serve_baseline(workers=args.workers) as baseline,
    ):
        routes = [
            Route("card 200", CARD),
            Route(
                "card 304 (If-None-Match)",
                CARD,
                {"If-None-Match": etag_of(base + CARD)},
                expect_status=304,
            ),
            # The same answers through Flask (render cache warm, replay bypassed): an
            # If-None-Match the replay does not handle (another tag; a list of tags).
            Route("card 200 via Flask", CARD, {"If-None-Match": '"other"'}),
            Route(
                "card 304 via Flask",
                CARD,
                {"If-None-Match": f'"other", {etag_of(base + CARD)}'},
                expect_status=304,
            ),
            Route("fragment 200 (widget.js)", FRAGMENT),
            Route(
                "widget.js 304",
                "/widget.js",
                {"If-None-Match": etag_of(base + "/widget.js")},
                expect_status=304,
            ),
            Route("oembed 200", OEMBED.format(base=PUBLIC)),
        ]
        runs: dict[str, list] = {"bare flask": [], **{route.name: [] for route in routes}}
        for _ in range(max(1, args.rounds)):
            runs["bare flask"].append(run_wrk(baseline + "/bare", name="bare flask", **options))
            for route in routes:
                runs[route.name].append(run_route(base, route, **options))
    results = [median_result(found, name) for name, found in runs.items()]
    bare = results[0]
    print(f"medians of {max(1, args.rounds)} round(s)")
    print_table(results, baseline=bare)

    missed = []
    for name, target in TARGETS.items():
        # Each round's ratio to the bare endpoint measured in that round, then the median.
        ratios = [
            run.requests_per_s / base_run.requests_per_s
            for run, base_run in zip(runs[name], runs["bare flask"], strict=True)
        ]
        ratio = statistics.median(ratios)
        verdict = "ok" if ratio >= target else "MISSED"
        rounds = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"target {name}: {ratio:.2f}x (>= {target:.1f}x; rounds {rounds}) {verdict}")
        if ratio < target:
            missed.append(name)
    spread = [r.requests_per_s for r in runs["bare flask"]]
    print(f"bare flask per round: {', '.join(f'{x:.0f}' for x in spread)} req/s")
    return 1 if missed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
