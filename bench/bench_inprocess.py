"""What the app itself costs per request, with no server: WSGI calls in this process.

    python -m bench.bench_inprocess [--rounds 5] [--calls 2000]

Calls the Storefront app (the built-in catalog, SQLite in a temporary instance folder) and,
as the baseline, the bare Flask "hello" of ``bench/bare_app.py`` directly as WSGI
applications, the way a server would, and reads this process's CPU time. Prints, per route,
the best and median CPU microseconds per call over the rounds and the ratio to the bare app.
What a served request costs beyond these figures is the server's (``bench_all`` serves the
same routes under gunicorn). Bounded: ``rounds x routes x calls`` calls.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

from .bare_app import create_bare_app

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
WARM_UP = 200  # calls before each route's rounds


def environ(path: str, query: str = "", **headers: str) -> dict:
    """A WSGI environ for ``GET path?query`` from a browser on 127.0.0.1."""
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": BROWSER,
    }
    env.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    return env


def call(app, env: dict) -> tuple[str, dict[str, str]]:
    """Call ``app`` once, read and close its body; its status and headers."""
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    body = app(env, start_response)
    try:
        for _ in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return answer["status"], answer["headers"]


def clicks() -> Iterator[dict]:
    """Reader clicks from ever new referrers and addresses (none is a repeat)."""
    for n in itertools.count():
        yield environ(
            "/go/genesis/kindle",
            "src=page",
            referer=f"https://r{n}.example.org/",
        ) | {"REMOTE_ADDR": f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250 + 1}"}


def measure(app, make: Callable[[], dict], expect: str, rounds: int, calls: int) -> list[float]:
    """CPU microseconds per call in each round (the status checked on every call)."""
    for _ in range(WARM_UP):
        status, _ = call(app, make())
        if not status.startswith(expect):
            raise SystemExit(f"expected {expect}, got {status}")
    per_round = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            call(app, make())
        per_round.append((time.process_time() - started) / calls * 1e6)
    return per_round


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args(argv)
    if not (1 <= args.rounds <= 50 and 1 <= args.calls <= 100_000):
        parser.error("--rounds 1-50 and --calls 1-100000")

    with tempfile.TemporaryDirectory(prefix="bench-inprocess-") as instance:
        os.environ["STOREFRONT_INSTANCE_PATH"] = instance
        from storefront.app import create_app
        from storefront.clickdb import EXTENSION

        app = create_app()
        _, headers = call(app, environ("/embed/genesis"))
        etag = headers["ETag"]
        click_env = clicks()
        routes = [
            ("bare hello", create_bare_app(), lambda: environ("/bare"), "200"),
            ("book page", app, lambda: environ("/books/genesis"), "200"),
            ("card 200", app, lambda: environ("/embed/genesis"), "200"),
            ("card 304", app, lambda: environ("/embed/genesis", if_none_match=etag), "304"),
            ("reader click", app, lambda: next(click_env), "302"),
        ]
        results = [
            (name, measure(a, make, expect, args.rounds, args.calls))
            for name, a, make, expect in routes
        ]
        bare = min(results[0][1])
        print(f"{args.rounds} round(s) of {args.calls} WSGI calls; CPU time of this process")
        print(f"{'route':<14}{'best us':>9}{'median us':>11}{'x bare':>8}")
        for name, per_round in results:
            best = min(per_round)
            print(f"{name:<14}{best:>9.1f}{statistics.median(per_round):>11.1f}{best / bare:>8.2f}")
        app.extensions[EXTENSION].close()  # store the clicks before the folder goes
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
