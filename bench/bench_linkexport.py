"""Bench the link checker and the static export, each beside a baseline from the same run.

Link checker: 48 links spread over 4 local "stores" (real HTTP servers on
127.0.0.1, each answering after ``LATENCY`` seconds, as a remote store would).
Baseline: the naive loop, one ``requests.get`` after another. Figures: the
checker with its pool (default 8 at once, 2 per host) and with 1 per host.

Export: the built-in catalog exported during the sale. Baseline: requesting
the same URLs through the app's test client (the least work that yields the
bytes). Figures: a full export into a new folder, a no-op re-run (nothing
changed: nothing written, no swap), and a re-run across a price boundary.

Run: ``python -m bench.bench_linkexport`` (about a minute; rounds via ``BENCH_ROUNDS``).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from storefront.app import create_app
from storefront.export import ExportUrls, crawl, export_site, seed_urls
from storefront.linkcheck import CheckConfig, Link, check_links

LATENCY = 0.05
HOSTS = 4
LINKS_PER_HOST = 12
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PHOENIX = ZoneInfo("America/Phoenix")
SALE_DAY = datetime(2026, 12, 22, 9, 0, tzinfo=PHOENIX)
AFTER_SALE = datetime(2026, 12, 29, 9, 0, tzinfo=PHOENIX)
BASE = "https://static.example.org"


class _SlowStore(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - stdlib name
        pass

    def _answer(self, body: bool) -> None:
        time.sleep(LATENCY)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "12")
        self.end_headers()
        if body:
            self.wfile.write(b"<p>book</p>\n")

    def do_HEAD(self):
        self._answer(False)

    def do_GET(self):
        self._answer(True)


@contextmanager
def store() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowStore)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def timed(fn, clock=time.perf_counter) -> float:
    """Median time of ``ROUNDS`` runs of ``fn`` by ``clock`` (wall time by default)."""
    times = []
    for _ in range(ROUNDS):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def print_rows(title: str, rows: list[tuple[str, float]], unit: str = "wall s") -> None:
    baseline = rows[0][1]
    print(f"\n{title} (median of {ROUNDS}; ratio = time / baseline time, lower is faster)")
    print(f"{'what':<52} {unit:>9} {'ratio':>7}")
    for name, seconds in rows:
        print(f"{name:<52} {seconds:>9.3f} {seconds / baseline:>6.2f}x")


def bench_links() -> None:
    with ExitStack() as stack:
        hosts = [stack.enter_context(store()) for _ in range(HOSTS)]
        urls = [f"{h}/book/{i}" for h in hosts for i in range(LINKS_PER_HOST)]
        links = [Link(f"k{i}", url, "offer") for i, url in enumerate(urls)]

        def naive() -> None:
            for url in urls:
                requests.get(url, timeout=5).raise_for_status()

        def checker(**config) -> None:
            run = check_links(links, CheckConfig(**config))
            assert all(r.result.status == "ok" for r in run.reports)

        rows = [
            (f"baseline: requests.get loop, {len(urls)} links", timed(naive)),
            ("links check: 8 at once, 2 per host (defaults)", timed(checker)),
            ("links check: 8 at once, 1 per host", timed(lambda: checker(per_host=1))),
            ("links check: 1 at a time", timed(lambda: checker(concurrency=1, per_host=1))),
        ]
    print_rows(f"Link checker: {HOSTS} stores answering after {LATENCY * 1000:.0f} ms", rows)


def bench_export() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)

        def crawl_only() -> None:
            app = create_app(
                {"BASE_URL": BASE, "CLOCK": lambda: SALE_DAY, "CATALOG_RELOAD_INTERVAL": -1},
                instance_path=str(scratch / "instance"),
            )
            sf = app.extensions["storefront"]
            urls = sf.urls = ExportUrls(BASE, sf.catalog)
            seed_urls(sf.catalog, urls, SALE_DAY)
            crawl(app.test_client(), urls)

        counter = iter(range(1000))

        def full() -> None:
            export_site(
                scratch / f"new{next(counter)}", catalog_path=None, base_url=BASE, at=SALE_DAY
            )

        def again() -> None:
            result = export_site(scratch / "live", catalog_path=None, base_url=BASE, at=SALE_DAY)
            assert not result.changed

        export_site(scratch / "live", catalog_path=None, base_url=BASE, at=SALE_DAY)
        crawl_only()  # imports and fonts: not part of any figure
        flip = iter(range(1000))

        def boundary() -> None:
            at = AFTER_SALE if next(flip) % 2 == 0 else SALE_DAY
            assert export_site(scratch / "flip", catalog_path=None, base_url=BASE, at=at).changed

        export_site(scratch / "flip", catalog_path=None, base_url=BASE, at=SALE_DAY)
        # CPU time of this process: the export is one thread, and CPU time barely
        # moves when other work shares the machine (wall time does).
        cpu = time.process_time
        rows = [
            ("baseline: every export URL through the test client", timed(crawl_only, cpu)),
            ("export into a new folder", timed(full, cpu)),
            ("re-run, nothing changed (no write, no swap)", timed(again, cpu)),
            ("re-run across a price boundary (write changes, swap)", timed(boundary, cpu)),
        ]
    print_rows("Static export of the built-in catalog (Genesis, sale day)", rows, "CPU s")


if __name__ == "__main__":
    bench_links()
    bench_export()
