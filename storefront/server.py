"""Run the app under gunicorn, the production WSGI server."""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Callable
from importlib import import_module
from typing import Any

from gunicorn import sock as gunicorn_sock
from gunicorn.app.base import BaseApplication


def _create_storefront_app():
    # Imported in each worker: every worker builds its own app, catalog and
    # database connection (nothing shared across fork).
    from .app import create_app

    return create_app()


class GunicornServer(BaseApplication):
    """Gunicorn serving the WSGI app that ``factory`` builds in each worker."""

    def __init__(self, options: dict, factory: Callable[[], object] = _create_storefront_app):
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.factory()


def control_socket_path(instance: str | os.PathLike) -> str | None:
    """gunicorn's control socket for this instance: ``instance/gunicorn.ctl``.

    gunicorn's default (``~/.gunicorn/gunicorn.ctl``) is shared by every server the
    user runs, so a second store would take the first one's socket. ``None`` (no
    socket) when the path is too long for a Unix socket.
    """
    path = os.path.join(os.fspath(instance), "gunicorn.ctl")
    return path if len(os.fsencode(path)) < _UNIX_PATH_MAX else None


_UNIX_PATH_MAX = 104  # sun_path is 108 bytes on Linux, 104 on the BSDs


def gunicorn_options(
    host: str,
    port: int,
    workers: int,
    threads: int = 1,
    access_log: bool = False,
    control_socket: str | None = None,
) -> dict:
    """The server settings shared by `storefront serve` and the bench baseline.

    ``control_socket``: the path of gunicorn's control socket, or ``None`` for none.
    """
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "storefront",
        # gunicorn trusts X-Forwarded-Proto from 127.0.0.1 by default; here trust in
        # forwarded headers is the app's alone (STOREFRONT_PROXY_COUNT, via ProxyFix).
        "forwarded_allow_ips": "",
    }
    if access_log:
        options["accesslog"] = "-"
    if control_socket:
        options["control_socket"] = control_socket
    else:
        options["control_socket_disable"] = True
    return options


class _ReusePortConfig:
    """gunicorn's settings with ``reuse_port`` on, for the sockets :class:`SpreadListeners` adds."""

    reuse_port = True

    def __init__(self, cfg) -> None:
        self._cfg = cfg

    def __getattr__(self, name):
        return getattr(self._cfg, name)


class SpreadListeners:
    """Server hooks giving each worker slot a listening socket of its own (SO_REUSEPORT).

    gthread workers accepting from one shared socket do not share a burst of new
    connections: whichever wakes first takes most of it, and keep-alive connections
    stay where they landed (measured: worker CPU splits up to 100/0). With one socket
    per worker in a reuseport group, the kernel hashes each new connection over the
    sockets instead. The master holds every socket (slot 0 is gunicorn's own listener,
    the others are created once): a worker that dies, even by ``kill -9``, leaves its
    socket and the connections queued on it to the worker that replaces it in its
    slot, and no socket is ever without a worker (gunicorn's own ``reuse_port``
    makes each worker open and close its socket, losing that queue).
    """

    def __init__(self) -> None:
        self.slots: dict[int, list] = {}

    def options(self) -> dict:
        return {"pre_fork": self.pre_fork, "post_fork": self.post_fork, "on_exit": self.on_exit}

    def pre_fork(self, arbiter, worker) -> None:
        """In the master: pick the lowest free slot for ``worker``; open its sockets once."""
        if self.slots.get(0) != list(arbiter.LISTENERS):  # first fork, or a reload rebound
            self._close_own()
            self.slots = {0: list(arbiter.LISTENERS)}
        taken = {getattr(w, "listener_slot", None) for w in arbiter.WORKERS.values()}
        worker.listener_slot = next(i for i in itertools.count() if i not in taken)
        if worker.listener_slot not in self.slots:
            self.slots[worker.listener_slot] = [
                self._twin(listener, arbiter) for listener in self.slots[0]
            ]

    def post_fork(self, arbiter, worker) -> None:
        """In the worker: accept only from its slot's sockets."""
        worker.sockets = self.slots.get(worker.listener_slot, worker.sockets)

    def on_exit(self, arbiter) -> None:
        self._close_own()

    def _twin(self, listener, arbiter):
        """A listener bound to the same address in the same reuseport group, or ``listener``."""
        if not isinstance(listener, gunicorn_sock.TCPSocket):  # a Unix socket: shared
            return listener
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            return type(listener)(
                listener.getsockname(), _ReusePortConfig(arbiter.cfg), arbiter.log
            )
        except (OSError, AttributeError) as exc:  # no SO_REUSEPORT: the shared socket
            arbiter.log.warning("One listening socket for all workers: %s", exc)
            return listener

    def _close_own(self) -> None:
        shared = {id(listener) for listener in self.slots.get(0, [])}
        for slot, listeners in self.slots.items():
            for listener in listeners:
                if slot and id(listener) not in shared:
                    listener.close()


def preload_modules() -> None:
    """Import the app's modules in gunicorn's master, before it forks its workers.

    A worker the master starts, or starts again after one died, then only builds its
    app (catalog, engine): on a busy 2-core machine that is about 2 s instead of 6.
    Nothing is created here: no app, no connection, no thread (each worker makes its own).
    The view modules ``create_app`` imports are imported too, and the crawler patterns
    compiled: together they were 0.7 s of a worker's 0.9 s start on a quiet machine, and
    while a worker killed by ``kill -9`` is replaced, the connections on its listening
    socket wait for that start (:class:`SpreadListeners`).
    """
    app = import_module("storefront.app")
    for name in app.VIEW_MODULES:
        import_module(f"storefront.views.{name}")
    import_module("storefront.bots").warm_up()


def run_server(**settings: Any) -> None:
    """Run the app under gunicorn; ``settings`` are :func:`gunicorn_options`'s arguments."""
    options = gunicorn_options(**settings)
    # Only here, not in gunicorn_options: the bench's sync baseline stays gunicorn's default.
    options.update(SpreadListeners().options())
    preload_modules()
    GunicornServer(options).run()
