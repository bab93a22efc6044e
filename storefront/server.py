"""Run the app under gunicorn, the production WSGI server."""

from __future__ import annotations

from collections.abc import Callable

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


def gunicorn_options(
    host: str, port: int, workers: int, threads: int = 1, access_log: bool = False
) -> dict:
    """The server settings shared by `storefront serve` and the bench baseline."""
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
    }
    if access_log:
        options["accesslog"] = "-"
    return options


def run_server(
    host: str, port: int, workers: int, threads: int = 1, access_log: bool = False
) -> None:
    GunicornServer(gunicorn_options(host, port, workers, threads, access_log)).run()
