"""Bench the print pieces: regeneration vs bare WeasyPrint, RSS over many renders, skips.

    python -m bench.bench_flyers [--rounds 5] [--renders 500] [--bare-renders 100] [--no-http]

1. Regenerate every piece of the Apollo 8 campaign (prepare, fit, render, write
   atomically, manifest) with one worker and with two, beside a bare render of
   the same HTML in the same rounds: ``weasyprint.HTML(string=...).write_pdf()``
   per piece, as a plain script would do it (the final stylesheet inlined, a new
   font configuration each time, the social image left as a PDF). Each of our
   rounds starts a new renderer, as a new ``storefront flyers`` process would.
2. RSS of one process over ``--renders`` consecutive renders (the campaign's
   pieces in turn) with the shared renderer, and over ``--bare-renders`` bare
   renders for comparison (WeasyPrint keeps every FontConfiguration).
3. A second run with nothing changed: in-process, and ``storefront flyers`` as a
   whole process (Python start-up and imports included).
4. Unless ``--no-http``: ``GET /books/genesis/flyer.pdf`` from the render cache
   under gunicorn and wrk, beside the bare Flask endpoint.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from .harness import (
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
CAMPAIGN = "apollo8-anniversary"
BASE_URL = "https://books.example.org"


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def campaign_jobs():
    from storefront.catalog import load_catalog
    from storefront.urls import Urls
    from widgets.print import prepare_jobs

    catalog = load_catalog()
    campaign = catalog.campaign(CAMPAIGN)
    books = [catalog.book("genesis")]
    return lambda: prepare_jobs(
        catalog, books, urls=Urls(BASE_URL), campaign=campaign, at=campaign.starts
    )


def bare_documents(jobs) -> list[str]:
    """The same HTML as our renders, stylesheets inlined, for a plain write_pdf()."""
    from widgets.print import PIECES, font_faces_css

    documents = []
    for job in jobs:
        fit = "\n".join(
            f'[data-fit="{f.field}"] {{ font-size: {f.base}pt }}' for f in PIECES[job.piece].fits
        )
        style = f"<style>{font_faces_css()}\n{job.css}\n{fit}</style>"
        documents.append(job.html.replace("</head>", style + "</head>", 1))
    return documents


def bare_render(documents: list[str]) -> None:
    import weasyprint

    for html in documents:
        weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")


def our_regeneration(prepare, workers: int, out_dir: Path) -> None:
    import widgets.print as flyer
    from widgets.print import regenerate

    flyer.reset_renderer()  # a new process would start without one
    summary = regenerate(prepare(), out_dir, workers=workers, force=True)
    if summary.failed or len(summary.built) != 7:
        raise SystemExit(f"regeneration failed: {summary.failed}")


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_regeneration(rounds: int) -> None:
    import weasyprint  # noqa: F401  (imports are not what is measured)

    prepare = campaign_jobs()
    documents = bare_documents(prepare())
    bare = "bare WeasyPrint, 7 renders"
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            bare: lambda: bare_render(documents),
            "ours, 1 worker": lambda: our_regeneration(prepare, 1, Path(tmp) / "one"),
            "ours, 2 workers": lambda: our_regeneration(prepare, 2, Path(tmp) / "two"),
        }
        for run in runs.values():  # warm-up: imports, template compilation
            run()
        for _ in range(rounds):
            # Interleaved, so drift on a shared machine hits every kind alike.
            for name, run in runs.items():
                cpu, start = _cpu_seconds(), time.perf_counter()
                run()
                walls.setdefault(name, []).append(time.perf_counter() - start)
                cpus.setdefault(name, []).append(_cpu_seconds() - cpu)
    base_wall = statistics.median(walls[bare])
    base_cpu = statistics.median(cpus[bare])
    print(f"regenerate the {CAMPAIGN} campaign (7 pieces), median of {rounds} rounds")
    print("(CPU: this process and its workers; on a shared machine it is steadier than wall time)")
    header = f"{'run':<28} {'wall s':>7} {'min s':>7} {'ratio':>7} {'CPU s':>7} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for name in runs:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(
            f"{name:<28} {wall:>7.3f} {min(walls[name]):>7.3f} {wall / base_wall:>6.2f}x "
            f"{cpu:>7.3f} {cpu / base_cpu:>6.2f}x"
        )


def bench_rss(renders: int, bare_renders: int) -> None:
    import widgets.print as flyer

    jobs = campaign_jobs()()
    flyer.reset_renderer()  # a new process would start without one
    warmup = min(50, max(1, renders // 10))
    samples: list[tuple[int, float]] = []
    for i in range(renders):
        flyer.render_job(jobs[i % len(jobs)])
        if i + 1 == warmup or (i + 1) % max(1, renders // 5) == 0 or i + 1 == renders:
            gc.collect()
            samples.append((i + 1, rss_mb()))
    first = samples[0][1]
    last = samples[-1][1]
    print(f"\nRSS over {renders} consecutive renders in one process (shared renderer)")
    print("  " + "  ".join(f"{n}: {mb:.0f} MB" for n, mb in samples))
    growth = (last / first - 1) * 100
    print(f"  growth after the first {warmup}: {last - first:+.1f} MB ({growth:+.1f}%)")
    if bare_renders:
        documents = bare_documents(jobs)
        import weasyprint

        gc.collect()
        before = rss_mb()
        for i in range(bare_renders):
            weasyprint.HTML(string=documents[i % len(documents)]).write_pdf()
        gc.collect()
        after = rss_mb()
        print(
            f"  baseline, {bare_renders} bare renders in the same process: {before:.0f} -> "
            f"{after:.0f} MB ({after - before:+.1f} MB, "
            f"{(after - before) / bare_renders * 1000:.0f} KB per render)"
        )


def bench_skip() -> None:
    from widgets.print import regenerate

    prepare = campaign_jobs()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        regenerate(prepare(), out, workers=2)
        start = time.perf_counter()
        summary = regenerate(prepare(), out, workers=2)
        in_process = time.perf_counter() - start
        assert len(summary.skipped) == 7 and not summary.built, summary
        env = {**os.environ, "STOREFRONT_BASE_URL": BASE_URL}
        command = [
            sys.executable,
            "-m",
            "storefront.cli",
            "flyers",
            "--campaign",
            CAMPAIGN,
            "-o",
            str(out),
        ]
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
        walls = []
        for _ in range(3):
            start = time.perf_counter()
            done = subprocess.run(
                command, env=env, check=True, capture_output=True, text=True, timeout=120
            )
            walls.append(time.perf_counter() - start)
            assert "0 built, 7 skipped" in done.stdout, done.stdout
        bare = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
            bare.append(time.perf_counter() - start)
    print("\nsecond run, nothing changed (7 pieces skipped)")
    print(f"  in-process (prepare 7 pieces, hash, compare): {in_process * 1000:.0f} ms")
    print(
        f"  `storefront flyers` as a process, median of 3: {statistics.median(walls):.2f} s "
        f"(a bare `python -c pass`: {statistics.median(bare):.2f} s)"
    )


def bench_http(rounds: int, duration: float) -> None:
    path = "/books/genesis/flyer.pdf"
    with (
        serve_storefront(env={"STOREFRONT_BASE_URL": BASE_URL}) as base_url,
        serve_baseline() as baseline_url,
    ):
        routes = [
            Route("flyer.pdf (cached)", path),
            Route("flyer.pdf?size=a4&campaign", f"{path}?size=a4&campaign={CAMPAIGN}"),
        ]
        measures = [partial(run_route, base_url, route, duration=duration) for route in routes]
        runs = run_rounds(baseline_url, measures, rounds, duration=duration)
    merged = medians(runs)
    print(f"\nGET the flyer from the render cache, median of {rounds} round(s) of {duration:g} s")
    print_table(merged, baseline=merged[0])


def main(argv: list[str] | None = None) -> int:
    """Run every part of the bench (``--no-http`` skips the server part)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "5")))
    parser.add_argument("--renders", type=int, default=int(os.environ.get("BENCH_RENDERS", "500")))
    parser.add_argument("--bare-renders", type=int, default=100)
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk run")
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.renders < 1:
        parser.error("--rounds and --renders must be at least 1")
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} at start")
    bench_regeneration(args.rounds)
    bench_rss(args.renders, args.bare_renders)
    bench_skip()
    if not args.no_http:
        bench_http(min(args.rounds, 3), args.duration or bench_duration())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
