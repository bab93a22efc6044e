"""The click spool: an append-only local file for clicks the database could not take.

Guarantees, and how:

* **Append is durable against a crash of the process**: one ``write()`` of one
  JSON line per click, ``O_APPEND``, under an exclusive ``flock`` shared by every
  worker on the machine, before the reader is answered. (Like SQLite with
  ``synchronous=NORMAL``, it is not fsynced: a power cut may lose the last lines.)
* **Replay is idempotent**: every click carries the unique id it got at capture,
  and the database inserts a click only if its id is absent. Replaying a line
  twice counts it once.
* **Replay survives a crash mid-way**: the live file is first renamed to a
  ``batch-*.jsonl`` file (under the append lock, so no append is in flight);
  batches are inserted chunk by chunk and deleted only after every chunk has
  committed. A crash leaves the batch behind, and the next replay inserts what
  is missing and skips the rest.
* Lines that are not whole clicks (a torn write on a full disk) are moved to a
  ``rejected-*.jsonl`` file and logged, never silently dropped.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .clicks import ClickEvent

logger = logging.getLogger(__name__)

LIVE = "clicks.jsonl"
BATCH_GLOB = "batch-*.jsonl"


class Spool:
    """Spooled clicks in ``directory`` (one per machine; every worker shares it)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / LIVE
        self._append_lock = self.directory / "append.lock"
        self._replay_lock = self.directory / "replay.lock"

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r})"

    @contextlib.contextmanager
    def _flock(self, path: Path, blocking: bool = True) -> Iterator[bool]:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def append(self, click: ClickEvent) -> None:
        """Append one click; durable (against a process crash) when this returns."""
        line = (click.to_json() + "\n").encode()
        with self._flock(self._append_lock):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)

    def pending(self) -> bool:
        """Whether any click waits to be replayed (a cheap directory scan)."""
        try:
            with os.scandir(self.directory) as entries:
                return any(
                    (e.name == LIVE or (e.name.startswith("batch-") and e.name.endswith(".jsonl")))
                    and e.stat().st_size > 0
                    for e in entries
                )
        except FileNotFoundError:
            return False

    def pending_count(self) -> int:
        """How many clicks wait (counts the lines of the files: for /healthz, stats, tests)."""
        total = 0
        for path in [self.path, *self.directory.glob(BATCH_GLOB)]:
            with contextlib.suppress(FileNotFoundError):
                with open(path, "rb") as f:
                    last = b"\n"
                    # Counted by the megabyte, not line by line: /healthz asks during outages.
                    while chunk := f.read(1 << 20):
                        total += chunk.count(b"\n")
                        last = chunk[-1:]
                    total += last != b"\n"  # a last line without its newline (a torn write)
        return total

    def _rotate(self) -> None:
        # Under the append lock no write is half done; later appends start a new live file.
        with self._flock(self._append_lock):
            if self.path.exists() and self.path.stat().st_size > 0:
                target = self.directory / f"batch-{time.time_ns():020d}-{os.getpid()}.jsonl"
                os.rename(self.path, target)

    def replay(self, sink: Callable[[list[ClickEvent]], None]) -> int:
        """Hand every spooled click to ``sink`` (which commits them); return how many.

        ``sink`` must insert each click only if its id is absent; if it raises, the
        batch stays and the next replay tries again. Only one process replays at a
        time: if another holds the replay lock, this returns 0 at once.
        """
        with self._flock(self._replay_lock, blocking=False) as locked:
            if not locked:
                return 0
            self._rotate()
            total = 0
            for batch in sorted(self.directory.glob(BATCH_GLOB)):
                clicks: list[ClickEvent] = []
                rejected: list[bytes] = []
                with open(batch, "rb") as f:
                    for number, raw in enumerate(f, start=1):
                        if not raw.strip():
                            continue
                        try:
                            clicks.append(ClickEvent.from_json(raw.decode("utf-8")))
                        except (UnicodeDecodeError, ValueError) as exc:
                            logger.error(
                                "spool %s:%s is not a click (%s); set aside",
                                batch.name,
                                number,
                                exc,
                            )
                            rejected.append(raw if raw.endswith(b"\n") else raw + b"\n")
                if clicks:
                    sink(clicks)
                if rejected:
                    with open(self.directory / f"rejected-{batch.name}", "ab") as out:
                        out.writelines(rejected)
                os.unlink(batch)  # only now: every click of the batch is committed
                total += len(clicks)
            return total
