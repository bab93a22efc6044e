"""gunicorn's sync worker beside gthread: the same routes on both, runs interleaved.

    python -m bench.bench_workers [--rounds 3] [--duration 5] [--threads 64]

Starts `storefront serve` twice (``--threads 1``: sync workers; ``--threads N``:
gthread) and the bare Flask baseline under each, then measures every route on both
servers one right after the other, round after round, so load from other work on a
shared machine falls on both alike. Prints, per worker model, the medians and each
route's ratio to the bare endpoint under the same model: the figure the other benches'
targets are set in. Bounded: ``rounds x routes x 2 x duration`` seconds of ``wrk``.
"""

from __future__ import annotations

import argparse
import contextlib
import os

from .harness import (
    Route,
    bench_duration,
    median_result,
    print_table,
    run_route,
    run_wrk,
    serve_baseline,
    serve_storefront,
)

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"}
# The click is measured without check_route: that would follow the 302 to the store.
ROUTES = [
    Route("book page", "/books/genesis"),
    Route("card 200", "/embed/genesis"),
    Route("click: reader (SQLite)", "/go/genesis/kindle?src=card", BROWSER, expect_status=302),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--duration", type=float, default=None, help="seconds per run")
    parser.add_argument("--threads", type=int, default=64, help="gthread's threads per worker")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    wrk = {"duration": args.duration or bench_duration(), "connections": args.connections}
    models = {"sync (--threads 1)": 1, f"gthread (--threads {args.threads})": args.threads}
    runs: dict[str, dict[str, list]] = {model: {} for model in models}

    with contextlib.ExitStack() as stack:
        urls = {
            model: (
                stack.enter_context(serve_storefront(threads=threads)),
                stack.enter_context(serve_baseline(threads=threads)),
            )
            for model, threads in models.items()
        }
        print(
            f"{args.rounds} round(s) x {wrk['duration']:g} s per route and model, "
            f"{args.connections} connections, 2 workers",
            flush=True,
        )
        for _ in range(args.rounds):
            for model, (_, bare) in urls.items():
                result = run_wrk(bare + "/bare", name="bare flask", **wrk)
                runs[model].setdefault(result.name, []).append(result)
            for route in ROUTES:
                for model, (base, _) in urls.items():
                    if route.expect_status == 302:
                        result = run_wrk(
                            base + route.path, name=route.name, headers=route.headers, **wrk
                        )
                    else:
                        result = run_route(base, route, **wrk)
                    runs[model].setdefault(result.name, []).append(result)

    for model, results in runs.items():
        merged = [median_result(r) for r in results.values()]
        print(f"\n{model}: median of {args.rounds} round(s)")
        print_table(merged, baseline=merged[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
