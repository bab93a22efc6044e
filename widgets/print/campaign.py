"""Build every piece of a campaign into a folder, skipping the ones that have not changed.

Pieces are prepared first (HTML and a content hash: cheap, no WeasyPrint) and
compared with the manifest the last run left in the folder; only pieces whose
inputs changed are rendered, in worker processes when asked (WeasyPrint is
CPU-bound and not thread-safe), each with its own font configuration. Every file
is written to a temporary name and renamed, so a reader never sees half a PDF.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from storefront.catalog import Book, Campaign, Catalog
from storefront.files import write_atomic
from storefront.urls import Urls

from .layout import PieceJob, campaign_covers, prepare_piece, resolve_campaign
from .pieces import FlyerError, piece_names
from .render import render_job

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
            raise FlyerError(f"no book '{book_slug}' (books: {known})", option="book")
        if campaign is not None and not campaign_covers(campaign, book):
            raise FlyerError(f"campaign '{campaign.slug}' does not include book '{book.slug}'")
        return [book]
    books = [b for b in catalog.books if campaign is None or campaign_covers(campaign, b)]
    if not books:
        raise FlyerError(f"campaign '{campaign.slug}' does not include any book")
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


def build_campaign(
    catalog: Catalog,
    out_dir: Path,
    *,
    urls: Urls,
    campaign: str | None = None,
    book: str | None = None,
    pieces: Iterable[str] = (),
    at: datetime | None = None,
    workers: int = 1,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """Build every piece of ``campaign`` (a slug; None: no campaign) into ``out_dir``.

    See the package docstring for the arguments. Raises :class:`FlyerError`
    (with ``option`` set to ``"campaign"`` or ``"book"`` where that is the
    mistake) before anything is rendered; a piece that fails to render is listed
    in :attr:`Summary.failed` and the others are still built. ``OSError``
    propagates when ``out_dir`` cannot be created.
    """
    from storefront.pricing import utcnow

    chosen = resolve_campaign(catalog, campaign)
    books = select_books(catalog, chosen, book)
    jobs = prepare_jobs(
        catalog, books, urls=urls, campaign=chosen, at=at or utcnow(), pieces=pieces
    )
    report = progress or (lambda step, total: None)
    report(0, len(jobs))
    return regenerate(
        jobs, out_dir, workers=workers, force=force, progress=lambda n: report(n, len(jobs))
    )
