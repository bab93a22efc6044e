"""Build a campaign's print pieces in the background, with progress any server can poll.

The build is the one ``storefront flyers`` runs: :func:`widgets.print.build_campaign`,
the stable entry point of the print package. Same files, same manifest, so a re-run
with nothing changed skips every piece and is instant.

The status of each campaign's build is one row of ``desk_builds`` in the app's one
database (a migration of :mod:`storefront.storage.schema`), so every server sharing it
answers a poll alike. A build starts only by claiming that row in one statement
(``UPDATE … WHERE state != 'running' OR heartbeat is stale``): two servers never build
the same campaign at once. The building process beats a heartbeat while it works; a
"running" build whose heartbeat stopped (its process died) reads as "interrupted".

The files stay in the pieces folder of the server that built them; the status names
that server and folder, so another server can say where they are.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import socket
import threading
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, bindparam, or_, select
from sqlalchemy.exc import SQLAlchemyError

from widgets.print import FlyerError, build_campaign, prepare_jobs, select_books
from widgets.print.campaign import MANIFEST, load_manifest

from ..catalog import Catalog
from ..storage import StorageError, insert_absent, migrate
from ..urls import Urls
from .tables import builds as builds_table

logger = logging.getLogger(__name__)

HEARTBEAT = 5.0  # seconds between a running build's heartbeats
STALE_AFTER = 30.0  # a "running" build silent this long has lost its process

_live: set[str] = set()  # the runs building in this process (any app in it)
_live_lock = threading.Lock()


def pieces_folder(instance_path: str | os.PathLike, campaign: str) -> Path:
    return Path(instance_path) / "desk" / "pieces" / campaign


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


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def _none(campaign: str) -> dict:
    return {
        "state": "none",
        "campaign": campaign,
        "done": 0,
        "total": 0,
        "files": [],
        "failed": [],
        "server": None,
        "started": None,
        "finished": None,
    }


class BuildsUnavailableError(Exception):
    """The build status cannot be read or claimed (the database does not answer)."""


class Builds:
    """The print builds of every campaign, their status in the shared database."""

    def __init__(
        self,
        engine: Engine,
        *,
        server: str | None = None,
        heartbeat: float = HEARTBEAT,
        stale_after: float = STALE_AFTER,
        clock: Callable[[], float] = time.time,
    ):
        self.engine = engine
        self.server = server or socket.gethostname()
        self.heartbeat, self.stale_after, self.clock = heartbeat, stale_after, clock
        self._ready = False

    def _prepare(self) -> Engine:
        if not self._ready:
            migrate(self.engine)  # the table is a migration of the one schema history
            self._ready = True
        return self.engine

    # ------------------------------------------------------------------ reading

    def status(self, campaign: str) -> dict:
        """The last build of ``campaign`` as a poll shows it (state "none" if never built)."""
        try:
            with self._prepare().connect() as conn:
                row = conn.execute(
                    select(builds_table).where(builds_table.c.campaign == campaign)
                ).first()
        except (SQLAlchemyError, StorageError) as exc:
            raise BuildsUnavailableError(str(exc)) from exc
        return _none(campaign) if row is None else self._present(row)

    def _present(self, row) -> dict:
        result = json.loads(row.result or "{}")
        state = row.state
        if state == "running" and self._lost(row):
            state = "interrupted"
        return {
            **result,
            "state": state,
            "campaign": row.campaign,
            "done": row.done,
            "total": row.total,
            "files": result.get("files", []),
            "failed": result.get("failed", []),
            "server": row.server,
            "pid": row.pid,
            "folder": row.folder,
            "started": _iso(row.started_at),
            "finished": _iso(row.finished_at),
            "heartbeat": _iso(row.heartbeat),
        }

    def _lost(self, row) -> bool:
        """Whether a "running" row's process is gone (heartbeat stale, or it was this one)."""
        if row.heartbeat < self.clock() - self.stale_after:
            return True
        if row.server == self.server and row.pid == os.getpid():
            with _live_lock:
                return row.run not in _live
        return False

    def holds(self, status: dict, folder: Path) -> bool:
        """Whether this server has the files of ``status`` (False: another server keeps them)."""
        return bool(status.get("files")) and set(status["files"]) <= set(built_files(folder))

    # ------------------------------------------------------------------ building

    def claim(self, campaign: str, folder: Path) -> str | None:
        """Claim ``campaign``'s build for this process: its run token, or None when taken.

        One ``INSERT … ON CONFLICT DO NOTHING`` and one ``UPDATE … WHERE`` not running (or
        running with a stale heartbeat) in one transaction: the row lock (PostgreSQL) or the
        database's write lock (SQLite) lets exactly one server win.
        """
        now, run = self.clock(), secrets.token_hex(16)
        values = dict(
            state="running",
            run=run,
            server=self.server[:255],
            pid=os.getpid(),
            folder=str(folder),
            done=0,
            total=0,
            result="{}",
            started_at=now,
            finished_at=None,
            heartbeat=now,
        )
        try:
            with self._prepare().begin() as conn:
                conn.execute(_insert_absent(conn.dialect.name), dict(campaign=campaign, now=now))
                claimed = conn.execute(
                    builds_table.update()
                    .where(builds_table.c.campaign == campaign)
                    .where(
                        or_(
                            builds_table.c.state != "running",
                            builds_table.c.heartbeat < now - self.stale_after,
                        )
                    )
                    .values(**values)
                    .returning(builds_table.c.run)
                ).scalar()
        except (SQLAlchemyError, StorageError) as exc:
            raise BuildsUnavailableError(str(exc)) from exc
        if claimed is None:
            return None
        with _live_lock:
            _live.add(run)
        return run

    def _update(self, campaign: str, run: str, **values) -> None:
        """Write the progress of ``run`` (never over a build that took the row over)."""
        try:
            with self._prepare().begin() as conn:
                conn.execute(
                    builds_table.update()
                    .where(builds_table.c.campaign == campaign)
                    .where(builds_table.c.run == run)
                    .values(heartbeat=self.clock(), **values)
                )
        except (SQLAlchemyError, StorageError) as exc:  # the build goes on; the poll lags
            logger.warning("cannot record the build of %s: %s", campaign, exc)

    def start(self, catalog: Catalog, campaign, urls: Urls, at: datetime, folder: Path) -> dict:
        """Start building ``campaign``'s pieces into ``folder`` unless a build of it runs.

        Returns the status (the running build's, when another holds it). Raises
        :class:`widgets.print.FlyerError` at once when the campaign covers no book, and
        :class:`BuildsUnavailableError` when the database does not answer.
        """
        select_books(catalog, campaign, None)
        slug = campaign.slug
        run = self.claim(slug, folder)
        if run is None:
            return self.status(slug)
        progress_done = [0]
        finished = threading.Event()

        def progress(step: int, total: int) -> None:
            progress_done[0] += step
            self._update(slug, run, done=progress_done[0], total=total)

        def beat() -> None:  # a piece can take a while: say the process is alive meanwhile
            while not finished.wait(self.heartbeat):
                self._update(slug, run)

        def work() -> None:
            result: dict = {}
            state = "failed"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                summary = build_campaign(
                    catalog, folder, urls=urls, campaign=slug, at=at, progress=progress
                )
                state = "done" if summary.ok else "failed"
                result = dict(
                    built=summary.built,
                    skipped=summary.skipped,
                    failed=[f"{name}: {reason}" for name, reason in summary.failed],
                    seconds=round(summary.seconds, 3),
                )
            except (FlyerError, OSError) as exc:  # shown on the page, never a 500
                logger.warning("building the pieces of %s failed: %s", slug, exc)
                result = dict(failed=[str(exc)])
            finally:
                finished.set()
                result["files"] = built_files(folder)
                self._update(
                    slug, run, state=state, result=json.dumps(result), finished_at=self.clock()
                )
                with _live_lock:
                    _live.discard(run)

        threading.Thread(target=beat, name=f"pieces-{slug}-heartbeat", daemon=True).start()
        threading.Thread(target=work, name=f"pieces-{slug}", daemon=True).start()
        return self.status(slug)


def _insert_absent(dialect: str):
    # A row that is not running, for the claim's UPDATE to take.
    return insert_absent(
        dialect,
        builds_table,
        "desk builds need",
        campaign=bindparam("campaign"),
        state="none",
        run="",
        server="",
        pid=0,
        folder="",
        done=0,
        total=0,
        result="{}",
        started_at=bindparam("now"),
        heartbeat=bindparam("now"),
    )


def zip_pieces(folder: Path) -> bytes:
    """Every built piece of ``folder`` in one ZIP (fixed timestamps: same pieces, same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in built_files(folder):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (folder / name).read_bytes())
    return buffer.getvalue()
