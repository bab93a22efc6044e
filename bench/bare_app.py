"""The fixed baseline: a bare Flask endpoint under gunicorn with 2 sync workers.

Run as ``python -m bench.bare_app --port N --workers 2 --threads 1``; the harness
starts it with :func:`bench.harness.serve_baseline`. It is the server a user would
compare with, and it stays as it is whatever ``storefront serve`` runs on (Granian since
round 3): a baseline that moved with our own server settings would hide what a change cost.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from flask import Flask, Response
from gunicorn.app.base import BaseApplication

BODY = "ok\n"


def create_bare_app() -> Flask:
    """Create the smallest useful Flask app: a constant text and a health check."""
    app = Flask(__name__)

    @app.get("/bare")
    def bare() -> Response:
        return Response(BODY, mimetype="text/plain")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(BODY, mimetype="text/plain")

    return app


class GunicornServer(BaseApplication):
    """gunicorn serving the WSGI app that ``factory`` builds in each worker."""

    def __init__(self, options: dict, factory: Callable[[], object]):
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.factory()


def gunicorn_options(host: str, port: int, workers: int, threads: int = 1) -> dict:
    """The baseline's gunicorn settings (``storefront serve`` used these until round 3)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "storefront-baseline",
        "forwarded_allow_ips": "",
        "control_socket_disable": True,
    }


def main(argv: list[str] | None = None) -> None:
    """Serve the bare app under gunicorn."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    options = gunicorn_options(args.host, args.port, args.workers, args.threads)
    GunicornServer(options, create_bare_app).run()


if __name__ == "__main__":
    main()
