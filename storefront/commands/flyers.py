"""``storefront flyers``: regenerate every print piece of a campaign.

Pieces are prepared here (HTML and a content hash: cheap, no WeasyPrint) and
compared with the manifest left in the output folder by the last run; only
pieces whose inputs changed are rendered, in worker processes (WeasyPrint is
CPU-bound and not thread-safe), each with its own font configuration. Every file
is written to a temporary name and renamed, so a reader never sees half a PDF.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click

from widgets.flyer import (
    PIECES,
    FlyerError,
    PieceJob,
    campaign_covers,
    piece_names,
    prepare_piece,
    render_job,
    resolve_campaign,
)

from ..catalog import Book, Campaign, Catalog
from ..urls import Urls
from . import catalog_option, now_option, open_catalog, public_base_url, resolve_now

logger = logging.getLogger(__name__)

MANIFEST = ".storefront-flyers.json"
MANIFEST_VERSION = 1


@dataclass
class Summary:
    """What a run did, file by file."""

    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    seconds: float = 0.0
    workers: int = 1

    @property
    def ok(self) -> bool:
        return not self.failed


def select_books(catalog: Catalog, campaign: Campaign | None, book_slug: str | None) -> list[Book]:
    """Return the books to build: one by slug, or every book the campaign is about."""
    if book_slug:
        book = catalog.book(book_slug)
        if book is None:
            known = ", ".join(b.slug for b in catalog.books)
            raise click.BadParameter(f"no book '{book_slug}' (books: {known})", param_hint="--book")
        if campaign is not None and not campaign_covers(campaign, book):
            raise click.ClickException(
                f"campaign '{campaign.slug}' does not include book '{book.slug}'"
            )
        return [book]
    books = [b for b in catalog.books if campaign is None or campaign_covers(campaign, b)]
    if not books:
        raise click.ClickException(f"campaign '{campaign.slug}' does not include any book")
    return books


def prepare_jobs(
    catalog: Catalog,
    books: Iterable[Book],
    *,
    urls: Urls,
    campaign: Campaign | None,
    at: datetime,
    pieces: Iterable[str] = (),
) -> list[PieceJob]:
    """Prepare every piece of every book (HTML and content hash; no rendering)."""
    names = tuple(pieces) or piece_names()
    return [
        prepare_piece(catalog, book, name, urls=urls, campaign=campaign, at=at)
        for book in books
        for name in names
    ]


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def load_manifest(out_dir: Path) -> dict[str, dict]:
    """Return {file name: {"inputs": digest, "sha256": of the file}} from the last run."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_manifest(out_dir: Path, files: dict[str, dict]) -> None:
    body = {"version": MANIFEST_VERSION, "files": dict(sorted(files.items()))}
    write_atomic(out_dir / MANIFEST, (json.dumps(body, indent=2) + "\n").encode())


def _is_current(job: PieceJob, out_dir: Path, manifest: dict[str, dict]) -> bool:
    entry = manifest.get(job.filename)
    if not isinstance(entry, dict) or entry.get("inputs") != job.digest:
        return False
    # A file edited or deleted since is rebuilt, whatever the manifest says.
    return _sha256(out_dir / job.filename) == entry.get("sha256")


def _render_in_worker(job: PieceJob) -> tuple[bool, bytes | str]:
    """Render in a worker; failures come back as messages (exceptions may not pickle)."""
    try:
        return True, render_job(job)
    except FlyerError as exc:
        return False, str(exc)


def _pool_context():
    # Fork: workers inherit the imported WeasyPrint instead of importing it again
    # (~1 s each). The parent holds no FontConfiguration when it forks.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def regenerate(
    jobs: list[PieceJob],
    out_dir: Path,
    *,
    workers: int = 1,
    force: bool = False,
    progress: Callable[[int], None] = lambda n: None,
) -> Summary:
    """Build the ``jobs`` whose inputs changed into ``out_dir``; return what happened."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(out_dir)
    summary = Summary()
    todo = []
    for job in jobs:
        if not force and _is_current(job, out_dir, manifest):
            summary.skipped.append(job.filename)
            progress(1)
        else:
            todo.append(job)

    def done(job: PieceJob, ok: bool, payload: bytes | str) -> None:
        if ok:
            assert isinstance(payload, bytes)
            try:
                write_atomic(out_dir / job.filename, payload)
            except OSError as exc:
                ok, payload = False, f"cannot write {out_dir / job.filename}: {exc.strerror or exc}"
        if ok:
            manifest[job.filename] = {
                "inputs": job.digest,
                "sha256": hashlib.sha256(payload).hexdigest(),
            }
            summary.built.append(job.filename)
        else:
            manifest.pop(job.filename, None)
            summary.failed.append((job.filename, str(payload)))
        progress(1)

    workers = max(1, min(workers, len(todo)))
    summary.workers = workers
    try:
        if workers == 1:
            for job in todo:
                try:
                    done(job, True, render_job(job))
                except FlyerError as exc:
                    done(job, False, str(exc))
        elif todo:
            import weasyprint  # noqa: F401  (imported once, before the fork)

            with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
                # Slowest first (bookmarks and the social image), so no worker idles at the end.
                order = sorted(todo, key=lambda j: j.piece not in ("bookmarks", "social"))
                futures = {pool.submit(_render_in_worker, job): job for job in order}
                for future in as_completed(futures):
                    job = futures[future]
                    try:
                        done(job, *future.result())
                    except BrokenProcessPool as exc:
                        done(job, False, f"the worker process died: {exc}")
    finally:
        if summary.built or summary.failed:
            try:
                _save_manifest(out_dir, manifest)
            except OSError as exc:
                # Without a manifest the next run rebuilds everything: slower, never wrong.
                logger.warning("cannot write the manifest in %s: %s", out_dir, exc)
    summary.seconds = time.perf_counter() - started
    return summary


@click.command("flyers")
@catalog_option
@click.option(
    "--campaign",
    "campaign_slug",
    metavar="SLUG",
    help="Build the campaign's pieces, as on its first day.",
)
@click.option(
    "--book", "book_slug", metavar="BOOK", help="Only this book (default: every book in scope)."
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the pieces (created if missing).",
)
@click.option(
    "--piece",
    "pieces",
    multiple=True,
    type=click.Choice(piece_names()),
    help="Only this piece (repeat for several; default: all).",
)
@click.option(
    "-j",
    "--jobs",
    "workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes (default: one per CPU core).",
)
@click.option("--force", is_flag=True, help="Rebuild every piece, even unchanged ones.")
@now_option
def flyers(catalog_path, campaign_slug, book_slug, out_dir, pieces, workers, force, now) -> None:
    """Build every print piece (flyers, postcard, bookmarks, social image) into DIR.

    With --campaign the pieces show the campaign (its sale price and end date);
    without, they show the prices at --now (default: now). Unchanged pieces are
    skipped; STOREFRONT_BASE_URL sets the host in QR codes and links.
    """
    started = time.perf_counter()
    catalog = open_catalog(catalog_path)
    try:
        campaign = resolve_campaign(catalog, campaign_slug)
    except FlyerError as exc:
        raise click.BadParameter(str(exc), param_hint="--campaign") from None
    books = select_books(catalog, campaign, book_slug)
    at = resolve_now(now)
    urls = Urls(public_base_url(os.environ.get("STOREFRONT_BASE_URL"), catalog))
    jobs = prepare_jobs(catalog, books, urls=urls, campaign=campaign, at=at, pieces=pieces)
    workers = workers or os.cpu_count() or 1
    with click.progressbar(length=len(jobs), label="Building pieces", file=sys.stderr) as bar:
        try:
            summary = regenerate(jobs, out_dir, workers=workers, force=force, progress=bar.update)
        except OSError as exc:
            raise click.ClickException(
                f"cannot write to {out_dir}: {exc.strerror or exc}"
            ) from None
    summary.seconds = time.perf_counter() - started
    for name in summary.built:
        click.echo(f"built    {name}")
    for name in summary.skipped:
        click.echo(f"skipped  {name}")
    for name, reason in summary.failed:
        click.echo(f"FAILED   {name}: {reason}", err=True)
    click.echo(
        f"{len(summary.built)} built, {len(summary.skipped)} skipped, {len(summary.failed)} failed "
        f"in {summary.seconds:.2f} s ({summary.workers} worker(s)) -> {out_dir}"
    )
    if not summary.ok:
        raise SystemExit(1)


__all__ = ["PIECES", "flyers", "prepare_jobs", "regenerate", "select_books", "Summary"]
