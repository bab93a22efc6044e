"""Build a campaign's print pieces in the background, with progress a page can poll.

The build is the one ``storefront flyers`` runs: :func:`widgets.print.build_campaign`,
the stable entry point of the print package. Same files, same manifest, so a re-run
with nothing changed skips every piece and is instant. Progress is written to
``.desk-build.json`` in the output folder after every piece, so any app server
process can answer a poll.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from widgets.print import FlyerError, build_campaign, prepare_jobs, select_books
from widgets.print.campaign import MANIFEST, load_manifest

from ..catalog import Catalog
from ..urls import Urls
from .history import write_atomic

logger = logging.getLogger(__name__)

STATUS_FILE = ".desk-build.json"
_running: dict[Path, threading.Thread] = {}
_lock = threading.Lock()


def pieces_folder(instance_path: str | os.PathLike, campaign: str) -> Path:
    return Path(instance_path) / "desk" / "pieces" / campaign


def read_status(folder: Path) -> dict:
    try:
        data = json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"state": "none", "done": 0, "total": 0, "files": [], "failed": []}
    return data


def _write_status(folder: Path, status: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / STATUS_FILE, json.dumps(status).encode("utf-8"))


def built_files(folder: Path) -> list[str]:
    """The pieces in ``folder`` the last build made (from its manifest), by name."""
    try:
        files = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return []
    return sorted(name for name in files if (folder / name).is_file())


def is_current(catalog: Catalog, campaign, urls: Urls, at: datetime, folder: Path) -> bool:
    """Whether every piece of ``campaign`` in ``folder`` is up to date (nothing to build)."""
    try:
        books = select_books(catalog, campaign, None)
    except FlyerError:
        return False
    manifest = load_manifest(folder)
    jobs = prepare_jobs(catalog, books, urls=urls, campaign=campaign, at=at)
    return all(
        (manifest.get(job.filename) or {}).get("inputs") == job.digest
        and (folder / job.filename).is_file()
        for job in jobs
    )


def start_build(catalog: Catalog, campaign, urls: Urls, at: datetime, folder: Path) -> dict:
    """Start building ``campaign``'s pieces into ``folder`` unless a build is running there.

    Raises :class:`widgets.print.FlyerError` at once when the campaign covers no book.
    """
    select_books(catalog, campaign, None)
    with _lock:
        thread = _running.get(folder)
        if thread is not None and thread.is_alive():
            return read_status(folder)
        status = {
            "state": "running",
            "campaign": campaign.slug,
            "done": 0,
            "total": 0,
            "files": [],
            "failed": [],
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _write_status(folder, status)

        def progress(step: int, total: int) -> None:
            status["done"] += step
            status["total"] = total
            _write_status(folder, status)

        def run() -> None:
            try:
                summary = build_campaign(
                    catalog, folder, urls=urls, campaign=campaign.slug, at=at, progress=progress
                )
                status.update(
                    state="done" if summary.ok else "failed",
                    built=summary.built,
                    skipped=summary.skipped,
                    failed=[f"{name}: {reason}" for name, reason in summary.failed],
                    seconds=round(summary.seconds, 3),
                )
            except (FlyerError, OSError) as exc:  # shown on the page, never a 500
                logger.warning("building the pieces of %s failed: %s", campaign.slug, exc)
                status.update(state="failed", failed=[str(exc)])
            status["files"] = built_files(folder)
            _write_status(folder, status)

        thread = threading.Thread(target=run, name=f"pieces-{campaign.slug}", daemon=True)
        _running[folder] = thread
        thread.start()
    return status


def wait(folder: Path, timeout: float | None = None) -> None:
    """Wait for the build in ``folder`` (tests and the CLI)."""
    thread = _running.get(folder)
    if thread is not None:
        thread.join(timeout)


def zip_pieces(folder: Path) -> bytes:
    """Every built piece of ``folder`` in one ZIP (fixed timestamps: same pieces, same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in built_files(folder):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (folder / name).read_bytes())
    return buffer.getvalue()
