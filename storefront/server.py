"""Run the app under gunicorn, the production WSGI server."""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import import_module
from typing import Any

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


def preload_modules() -> None:
    """Import the app's modules in gunicorn's master, before it forks its workers.

    A worker the master starts, or starts again after one died, then only builds its
    app (catalog, engine): on a busy 2-core machine that is about 2 s instead of 6.
    Nothing is created here: no app, no connection, no thread (each worker makes its own).
    """
    import_module("storefront.app")


def run_server(**settings: Any) -> None:
    """Run the app under gunicorn; ``settings`` are :func:`gunicorn_options`'s arguments."""
    options = gunicorn_options(**settings)
    preload_modules()
    GunicornServer(options).run()
