"""The baseline: a bare Flask endpoint under the same gunicorn settings as ``storefront serve``.

Run as ``python -m bench.bare_app --port N --workers 2 --threads 1``; the harness
starts it with :func:`bench.harness.serve_baseline`.
"""

from __future__ import annotations

import argparse

from flask import Flask, Response

from storefront.server import GunicornServer, gunicorn_options

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


def main(argv: list[str] | None = None) -> None:
    """Serve the bare app with the options ``storefront serve`` uses."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    # Identical settings to storefront.server.run_server: only the app differs.
    options = gunicorn_options(args.host, args.port, args.workers, args.threads)
    GunicornServer(options, create_bare_app).run()


if __name__ == "__main__":
    main()
