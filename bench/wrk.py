"""Drive a route with ``wrk`` in a bounded run and read its report."""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from .base import WRK_SLACK, BenchError, Result, Route, bench_duration
from .servers import server_cpu_seconds

logger = logging.getLogger(__name__)


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def method_script(
    method: str, headers: Mapping[str, str] | None = None, body: str | None = None
) -> str:
    """A wrk Lua prelude that sends ``method`` (and optionally headers and a body)."""
    if method.upper() == "HEAD":
        # wrk 4.1's parser waits for the body a HEAD response's Content-Length
        # announces, so every HEAD request ends as a read error: refuse, don't mislead.
        raise BenchError("wrk cannot measure HEAD (it waits for a body that never comes); use GET")
    if not re.fullmatch(r"[A-Z]+", method.upper()):
        raise BenchError(f"not an HTTP method: {method!r}")
    lines = [f"wrk.method = {_lua_string(method.upper())}"]
    for key, value in (headers or {}).items():
        lines.append(f"wrk.headers[{_lua_string(key)}] = {_lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    return "\n".join(lines) + "\n"


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise BenchError(f"unreadable wrk latency: {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(output: str, name: str) -> Result:
    """Read ``wrk --latency`` output into a :class:`Result`."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in ", output, re.M)
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.M)
    if not (rps and total and p50 and p99):
        raise BenchError(f"unreadable wrk output for {name}:\n{output}")
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors = sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Result(
        name=name,
        requests_per_s=float(rps[1]),
        p50_ms=_ms(p50[1]),
        p99_ms=_ms(p99[1]),
        requests=int(total[1]),
        errors=errors,
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        output=output,
    )


def run_wrk(
    url: str,
    *,
    name: str,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    duration: float | None = None,
    connections: int = 32,
    threads: int = 1,
    script: str | Path | None = None,
    warmup: float = 1.0,
) -> Result:
    """Drive ``url`` with ``wrk --latency`` for ``duration`` seconds and parse the report.

    ``duration`` defaults to ``$BENCH_DURATION`` or 10 s. A ``warmup`` run (not
    reported) first fills every worker's caches. A ``method`` other than GET is
    sent by a generated Lua prelude, followed by ``script`` (a Lua file) if given.
    """
    wrk = _which("wrk")
    seconds = duration if duration is not None else bench_duration()
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:
        command = [wrk, "--latency", f"-t{threads}", f"-c{connections}", "--timeout", "5s"]
        for key, value in (headers or {}).items():
            command += ["-H", f"{key}: {value}"]
        lua = method_script(method) if method.upper() != "GET" else ""
        if script is not None:
            lua += Path(script).read_text()
        if lua:
            lua_file = Path(tmp) / "script.lua"
            lua_file.write_text(lua)
            command += ["-s", str(lua_file)]
        if warmup > 0:
            _wrk(command + [f"-d{_whole(warmup)}s", url], warmup + WRK_SLACK)
        cpu_before = server_cpu_seconds(url)
        output = _wrk(command + [f"-d{_whole(seconds)}s", url], seconds + WRK_SLACK)
        cpu_after = server_cpu_seconds(url)
    result = parse_wrk(output, name)
    if cpu_before is not None and cpu_after is not None and result.requests:
        result.cpu_us_per_request = (cpu_after - cpu_before) / result.requests * 1e6
    logger.info("%s: %.0f req/s", name, result.requests_per_s)
    return result


def _whole(seconds: float) -> int:
    # wrk takes whole seconds only.
    return max(1, round(seconds))


def _which(name: str) -> str:
    from shutil import which

    path = which(name)
    if path is None:
        raise BenchError(f"{name} is not installed (Debian: apt-get install {name})")
    return path


def _wrk(command: list[str], timeout: float) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk overran its {timeout:.0f} s bound: {' '.join(command)}") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


def check_route(base_url: str, route: Route) -> None:
    """Request ``route`` once and fail unless it answers ``expect_status``.

    Measuring a route that answers an error page would print a meaningless ratio.
    """
    request = urllib.request.Request(
        base_url + route.path, headers=route.headers, method=route.method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:  # 3xx (not followed for 304), 4xx, 5xx
        status = exc.code
    if status != route.expect_status:
        raise BenchError(
            f"{route.name}: {route.method} {route.path} answered {status}, "
            f"expected {route.expect_status}"
        )


def run_route(base_url: str, route: Route, **options: object) -> Result:
    """Check ``route`` answers its expected status, then measure it with :func:`run_wrk`."""
    check_route(base_url, route)
    return run_wrk(
        base_url + route.path,
        name=route.name,
        headers=route.headers,
        method=route.method,
        **options,  # type: ignore[arg-type]
    )
