"""Bench the EPUB sample: build time in-process, then the download under wrk.

    python -m bench.bench_epub [--builds 30] [--rounds 3] [--duration 10] [--no-http]

Build time: the median of N builds of the Genesis sample (and of the hostile
test catalog's sample, which has a Markdown chapter and an image), interleaved
with N builds of a bare minimal ebooklib book (one chapter, nav, NCX) in the same
process, printed as a ratio to that baseline. The first build of each is timed
apart: it pays for imports and template compilation once per process.

Download: the real server (gunicorn) answering ``/books/genesis/sample.epub``
(built once, then served from the render cache) and the same URL revalidated
with its ETag (304), beside the bare Flask endpoint in the same round.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

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

REPO = Path(__file__).resolve().parent.parent
HOSTILE = REPO / "tests" / "data" / "epub" / "hostile.toml"
SAMPLE_PATH = "/books/genesis/sample.epub"
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def bare_ebooklib_book() -> bytes:
    """The baseline: the smallest valid EPUB 3 ebooklib writes (one chapter, nav, NCX)."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("urn:uuid:00000000-0000-4000-8000-000000000000")
    book.set_title("Baseline")
    book.set_language("en")
    book.add_author("A. Writer")
    chapter = epub.EpubHtml(title="One", file_name="one.xhtml", lang="en")
    chapter.content = "<h1>One</h1><p>A paragraph of text.</p>"
    book.add_item(chapter)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.toc = [chapter]
    book.spine = [chapter]
    out = io.BytesIO()
    epub.write_epub(out, book, {"mtime": AT})
    return out.getvalue()


def sample_builder(catalog_path: Path | None, slug: str) -> Callable[[], bytes]:
    from storefront.catalog import load_catalog
    from storefront.urls import Urls
    from widgets.epub import build_sample

    catalog = load_catalog(catalog_path)
    book = catalog.book(slug)
    urls = Urls("https://books.example.org")
    return lambda: build_sample(catalog, book, AT, urls)


def timed(build: Callable[[], bytes]) -> tuple[float, int]:
    start = time.perf_counter()
    data = build()
    return (time.perf_counter() - start) * 1000, len(data)


def bench_builds(count: int) -> None:
    """Time ``count`` builds of each kind, interleaved, and print medians and ratios."""
    builds = {
        "bare ebooklib book": bare_ebooklib_book,
        "Genesis sample": sample_builder(None, "genesis"),
        "hostile sample (chapter)": sample_builder(HOSTILE, "hostile"),
    }
    first = {name: timed(build) for name, build in builds.items()}
    times: dict[str, list[float]] = {name: [] for name in builds}
    sizes: dict[str, int] = {}
    for _ in range(count):
        # Interleaved, so drift on a shared machine hits every kind alike.
        for name, build in builds.items():
            ms, size = timed(build)
            times[name].append(ms)
            sizes[name] = size
    base = statistics.median(times["bare ebooklib book"])
    print(f"build time, median of {count} builds in one process (first build timed apart)")
    header = (
        f"{'build':<28} {'median ms':>10} {'p90 ms':>8} {'first ms':>9} {'bytes':>8} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, values in times.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else median
        print(
            f"{name:<28} {median:>10.2f} {p90:>8.2f} {first[name][0]:>9.1f} "
            f"{sizes[name]:>8,} {median / base:>6.1f}x"
        )


def fetch_etag(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        etag = response.headers.get("ETag")
    if not etag:
        raise BenchError(f"{url} sent no ETag")
    return etag


def bench_http(rounds: int, duration: float, workers: int, connections: int) -> None:
    """Measure the cached download and its 304 beside the bare Flask endpoint."""
    wrk = {"duration": duration, "connections": connections}
    env = {"STOREFRONT_BASE_URL": "https://books.example.org"}
    with (
        serve_storefront(env=env, workers=workers) as base_url,
        serve_baseline(workers=workers) as baseline_url,
    ):
        etag = fetch_etag(base_url + SAMPLE_PATH)
        routes = [
            Route("sample.epub (cached)", SAMPLE_PATH),
            Route(
                "sample.epub, If-None-Match (304)", SAMPLE_PATH, {"If-None-Match": etag}, "GET", 304
            ),
        ]
        print(
            f"\n{rounds} round(s) x {duration:g} s per route, {connections} connections, "
            f"{workers} gunicorn worker(s)",
            flush=True,
        )
        measures = [partial(run_route, base_url, route, **wrk) for route in routes]
        runs = run_rounds(baseline_url, measures, rounds, **wrk)
    merged = medians(runs)
    print(f"download, median of {rounds} round(s)")
    print_table(merged, baseline=merged[0])


def main(argv: list[str] | None = None) -> int:
    """Run the build bench, then (unless ``--no-http``) the download bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=int(os.environ.get("BENCH_BUILDS", "30")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-http", action="store_true", help="only time the builds")
    args = parser.parse_args(argv)
    if args.builds < 1 or args.rounds < 1:
        parser.error("--builds and --rounds must be at least 1")
    # A fixed date: the bench measures the build, and the bytes stay comparable.
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    # The hostile chapter's dropped <script> is logged at every build: not news here.
    logging.getLogger("widgets.markdown").setLevel(logging.ERROR)
    bench_builds(args.builds)
    if not args.no_http:
        bench_http(args.rounds, args.duration or bench_duration(), args.workers, args.connections)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
