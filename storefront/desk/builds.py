"""Build a campaign's print pieces in the background, with progress a page can poll.

The build is the one ``storefront flyers`` runs: :func:`widgets.print.build_campaign`,
the stable entry point of the print package. Same files, same manifest, so a re-run
with nothing changed skips every piece and is instant. Progress is written to
``.desk-build.json`` in the output folder after every piece, so any app server
process can answer a poll.
"""

from __future__ import annotations

import fcntl
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
from ..files import write_atomic
from ..urls import Urls

logger = logging.getLogger(__name__)

STATUS_FILE = ".desk-build.json"
LOCK_FILE = ".desk-build.lock"  # held (flock) by the process that builds, for as long as it does
_running: dict[Path, threading.Thread] = {}
_lock = threading.Lock()


def pieces_folder(instance_path: str | os.PathLike, campaign: str) -> Path:
    return Path(instance_path) / "desk" / "pieces" / campaign


def _try_lock(folder: Path):
    """The build lock of ``folder`` as an open file, or None when another build holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_FILE, "a+b")  # noqa: SIM115  (closed by the build)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def read_status(folder: Path) -> dict:
    """The last build's progress; a "running" build whose process is gone is "interrupted"."""
    try:
        data = json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"state": "none", "done": 0, "total": 0, "files": [], "failed": []}
    if data.get("state") == "running":
        lock = _try_lock(folder)
        if lock is not None:  # nobody builds: the server stopped mid-build
            lock.close()
            data["state"] = "interrupted"
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
        lock = _try_lock(folder)
        if lock is None:  # another server process is building this campaign
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
            finally:
                status["files"] = built_files(folder)
                _write_status(folder, status)
                lock.close()

        thread = threading.Thread(target=run, name=f"pieces-{campaign.slug}", daemon=True)
        _running[folder] = thread
        thread.start()
    return status


def zip_pieces(folder: Path) -> bytes:
    """Every built piece of ``folder`` in one ZIP (fixed timestamps: same pieces, same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in built_files(folder):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (folder / name).read_bytes())
    return buffer.getvalue()
