"""Run the app under Granian, the production WSGI server.

Granian parses HTTP in Rust on an event loop and calls the WSGI app on a small pool of
Python threads per worker process. A connection costs the loop, not a thread, so slow or
silent clients hold no Python thread; the app's own Python time is the only Python time a
request costs (under gunicorn the HTTP parser and poller in Python cost more than the app:
docs/benchmarks.md, "Granian against gunicorn").
"""

from __future__ import annotations

import atexit
import gc
import logging
import multiprocessing.util
import socket
from importlib import import_module
from typing import Any

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.server import MPServer

HEADER_READ_TIMEOUT_MS = 30_000  # a client has 30 s to send its request line and headers
# Granian's HTTP/1 read buffer. Headers past it are refused with a 431 (measured: 70 KB
# passes, 500 KB and more is refused; at most 100 headers), before the app sees them.
HEADER_BUFFER_BYTES = 64 * 1024
RESPAWN_INTERVAL = 0.1  # seconds before a worker that died is started again
GRACEFUL_TIMEOUT = 10  # seconds a stopping worker has to finish its requests


def _create_storefront_app():
    """Build the app in a worker: every worker has its own app, catalog and database connection."""
    # A Granian worker is a multiprocessing child, which ends with os._exit(): Python's
    # atexit handlers (the click log's last flush, the mail sender's release) would not
    # run. multiprocessing runs its finalizers on that exit: run them there.
    multiprocessing.util.Finalize(None, atexit._run_exitfuncs, exitpriority=0)  # noqa: SLF001
    from .app import create_app

    app = create_app()
    # The app, its catalog and caches live as long as the worker: out of the cyclic
    # garbage collector's reach, a full collection scans only what requests leave behind.
    # Without it, collections of the whole heap held every thread up: the click's p99 at
    # 32 connections was 59-75 ms, with it 16-18 ms (docs/benchmarks.md).
    gc.freeze()
    return app


class StorefrontServer(MPServer):
    """Granian's process server, with a listening socket per worker slot held by the master.

    Workers accepting from one shared socket do not share a burst of new connections:
    whichever wakes first takes most of it, and keep-alive connections stay where they
    landed (measured with one shared socket: worker CPU splits 90/10 and 13/87). With one
    socket per worker in a ``SO_REUSEPORT`` group, the kernel hashes each new connection
    over the sockets instead. Granian's own sockets on Linux are like that, but each
    worker opens its own, and a worker killed by ``kill -9`` takes its socket and the
    connections queued on it along (the clients see a reset). Here the master opens the
    sockets once and holds them all, as it did for gunicorn in round 2: a dead worker
    leaves its socket and queue to the worker that replaces it in its slot (after
    ``RESPAWN_INTERVAL``), and no socket is ever without a worker for longer.
    """

    _slots: list[tuple[Any, socket.socket]] = []

    def _init_shared_socket(self) -> None:
        if self.bind_uds:  # a Unix socket: Granian's own (shared) handling
            super()._init_shared_socket()
            return
        self._ssp = None
        self._slots = [self._listener() for _ in range(self.workers)]
        self._shd, self._sso = self._slots[0]

    def _listener(self) -> tuple[Any, socket.socket]:
        from granian.net import SocketSpec

        holder = SocketSpec(self.bind_addr, self.bind_port, self.backlog).build()  # reuseport
        sock = socket.socket(fileno=holder.get_fd())
        sock.set_inheritable(True)
        return holder, sock

    def _spawn_worker(self, idx, target, callback_loader):
        if self._slots:  # the worker in slot ``idx``, first or a replacement, gets its socket
            self._shd, self._sso = self._slots[idx]
        return super()._spawn_worker(idx, target, callback_loader)

    def _drop_shared_socket(self) -> None:
        for _, sock in self._slots:
            sock.close()
        self._slots = []
        self._sso = None


def server_options(
    host: str, port: int, workers: int, threads: int, access_log: bool = False
) -> dict[str, Any]:
    """Granian's settings for ``storefront serve``: ``threads`` Python threads per worker.

    Granian's ``backpressure`` is left at its default (the backlog over the workers): it
    bounds a worker's open connections, not its requests in Python, and a low one closes
    idle keep-alive connections (measured: 40 connections to 2 workers with 8 each, 13 kept).
    """
    return {
        "target": "storefront.server:_create_storefront_app",
        "address": host,
        "port": port,
        "interface": Interfaces.WSGI,
        "http": HTTPModes.http1,
        "websockets": False,
        "workers": workers,
        "blocking_threads": threads,
        "http1_settings": HTTP1Settings(
            header_read_timeout=HEADER_READ_TIMEOUT_MS, max_buffer_size=HEADER_BUFFER_BYTES
        ),
        "respawn_failed_workers": True,
        "respawn_interval": RESPAWN_INTERVAL,
        "workers_kill_timeout": GRACEFUL_TIMEOUT,
        "log_access": access_log,
        "factory": True,
    }


def preload_modules() -> None:
    """Import the app's modules in the master, before it forks its workers.

    A worker the master starts, or starts again after one died, then only builds its
    app (catalog, engine). Nothing is created here: no app, no connection, no thread
    (each worker makes its own). The view modules ``create_app`` imports are imported
    too, and the crawler patterns compiled: together they were 0.7 s of a worker's 0.9 s
    start on a quiet machine.
    """
    app = import_module("storefront.app")
    for name in app.VIEW_MODULES:
        import_module(f"storefront.views.{name}")
    import_module("storefront.bots").warm_up()


def run_server(**settings: Any) -> None:
    """Run the app under Granian; ``settings`` are :func:`server_options`'s arguments."""
    options = server_options(**settings)
    preload_modules()
    gc.freeze()  # what the master imported: shared with the workers, never scanned again
    server = StorefrontServer(**options)  # configures Granian's logging
    logging.getLogger("_granian").addFilter(_no_thread_count_advice)
    server.serve()


def _no_thread_count_advice(record: logging.LogRecord) -> bool:
    # Granian warns that more blocking threads than 2 x cores + 1 "seems quite high" and
    # suggests its backpressure setting, which bounds open connections, not threads: a low
    # one closes idle keep-alive connections (server_options). The default 8 is measured
    # (docs/benchmarks.md).
    return not record.getMessage().startswith("Configuration allows spawning up to")
