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

Beside the shared file, each process that serves readers keeps its own click log
(:class:`ClickLog`, ``log-<pid>-<ns>.jsonl``): every reader click is one ``write()``
to it, with no lock shared between processes, and the process's writer moves it
into the database. The owner holds an ``flock`` on its log for as long as it lives;
the kernel drops that lock when the process dies, however it dies, so
:meth:`Spool.replay` knows a dead process's log (it can take the lock) and
replays it like a batch.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .clicks import ClickEvent

logger = logging.getLogger(__name__)

LIVE = "clicks.jsonl"
BATCH_GLOB = "batch-*.jsonl"
LOG_GLOB = "log-*.jsonl"  # one per process (ClickLog); claimed by replay once its owner is gone


def _is_spooled(name: str) -> bool:
    return name == LIVE or (name.endswith(".jsonl") and name.startswith(("batch-", "log-")))


def _batch_name(directory: Path) -> Path:
    return directory / f"batch-{time.time_ns():020d}-{os.getpid()}.jsonl"


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
                return any(_is_spooled(e.name) and _size(e) > 0 for e in entries)
        except FileNotFoundError:
            return False

    def pending_count(self) -> int:
        """How many clicks wait (counts the lines of the files: for /healthz, stats, tests)."""
        total = 0
        for path in [
            self.path,
            *self.directory.glob(BATCH_GLOB),
            *self.directory.glob(LOG_GLOB),
        ]:
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

    def _claim_orphans(self) -> None:
        """Turn the click logs of processes that are gone into batches (their lock is free)."""
        for path in self.directory.glob(LOG_GLOB):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # its owner rotated it meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # a live process holds it
                continue
            try:
                os.rename(path, _batch_name(self.directory))
                logger.info("spool: claimed %s, the click log of a process that ended", path.name)
            except FileNotFoundError:
                pass  # renamed by its owner (then closed) or another replayer: not ours
            finally:
                os.close(fd)

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
            self._claim_orphans()
            total = 0
            for batch in sorted(self.directory.glob(BATCH_GLOB)):
                clicks: list[ClickEvent] = []
                rejected: list[bytes] = []
                try:
                    f = open(batch, "rb")  # noqa: SIM115 - closed below
                except FileNotFoundError:
                    continue  # its process's writer stored and removed it meanwhile
                with f:
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
                with contextlib.suppress(FileNotFoundError):  # a writer may have stored it too
                    os.unlink(batch)  # only now: every click of the batch is committed
                total += len(clicks)
            return total


def _size(entry: os.DirEntry) -> int:
    try:
        return entry.stat().st_size
    except FileNotFoundError:
        return 0


@dataclass
class Batch:
    """Clicks taken from a :class:`ClickLog`: the file they are in and the events themselves."""

    path: Path
    events: list[ClickEvent]
    upto: int  # the sequence number of the last click in it


@dataclass(eq=False)
class _Open:
    fd: int
    path: Path
    events: list[ClickEvent] = field(default_factory=list)


_logs: weakref.WeakSet[ClickLog] = weakref.WeakSet()


class ClickLog:
    """This process's own click log in a spool directory: one ``write()`` per click.

    :meth:`append` writes one JSON line to an ``O_APPEND`` file this process holds an
    ``flock`` on, and keeps the event in memory for the writer; once it returns the
    click is in the kernel (it survives ``kill -9`` of the process; an operating-system
    crash may lose what the kernel had not yet written back, as with SQLite's
    ``synchronous=NORMAL``). :meth:`take` hands what was appended to the writer: the
    file is renamed to a ``batch-*.jsonl`` (so it stays durable until the writer has
    committed it and removes it; a later replay inserts it again only where absent)
    and the next click starts a new file.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._open: _Open | None = None
        self.appended = 0  # sequence number of the last click appended by this process
        _logs.add(self)

    def __repr__(self) -> str:
        return f"ClickLog({str(self.directory)!r})"

    def _start(self) -> _Open:
        # Locked under a private name, then renamed: a replayer never sees it unlocked.
        stamp = f"{os.getpid()}-{time.time_ns()}"
        new = self.directory / f".new-{stamp}.jsonl"
        fd = os.open(new, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path = self.directory / f"log-{stamp}.jsonl"
            os.rename(new, path)
        except BaseException:
            os.close(fd)
            raise
        self._open = _Open(fd, path)
        return self._open

    def append(self, click: ClickEvent) -> int:
        """Append one click; durable (against a crash of the process) when this returns.

        Returns the click's sequence number in this process (see :meth:`take`).
        Raises ``OSError`` when the disk refuses.
        """
        line = (click.to_json() + "\n").encode()
        with self._lock:
            log = self._open or self._start()
            view = memoryview(line)
            while view:
                view = view[os.write(log.fd, view) :]
            log.events.append(click)
            self.appended += 1
            return self.appended

    @property
    def path(self) -> Path | None:
        """The file clicks are appended to now (None before the first click after a take)."""
        log = self._open
        return None if log is None else log.path

    def pending(self) -> bool:
        """Whether clicks were appended since the last :meth:`take`."""
        return self._open is not None and bool(self._open.events)

    def take(self) -> Batch | None:
        """What was appended since the last take, as a batch file and its events."""
        with self._lock:
            log = self._open
            if log is None:
                return None
            self._open = None
            upto = self.appended
            target = _batch_name(self.directory)
            try:
                os.rename(log.path, target)
            finally:
                os.close(log.fd)
        return Batch(target, log.events, upto)

    def _forget(self) -> None:
        # In a forked child: the parent's file and lock stay the parent's.
        self._lock = threading.Lock()
        if self._open is not None:
            with contextlib.suppress(OSError):
                os.close(self._open.fd)
            self._open = None


def _after_fork() -> None:
    for log in list(_logs):
        log._forget()


os.register_at_fork(after_in_child=_after_fork)
