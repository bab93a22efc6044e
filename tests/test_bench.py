"""The benchmark harness: wrk output parsing, Lua for methods, the table, real bounded runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bench.harness import (
    BenchError,
    Result,
    Route,
    check_route,
    median_result,
    method_script,
    parse_wrk,
    print_table,
    run_route,
    run_wrk,
    serve_baseline,
    serve_storefront,
)

from .conftest import require_executable

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/books/genesis
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.51ms    1.21ms  22.05ms   90.00%
    Req/Sec     4.27k   234.56     4.60k    78.00%
  Latency Distribution
     50%  {p50}
     75%    7.80ms
     90%    8.50ms
     99%  {p99}
  42500 requests in 10.00s, 5.00MB read
{extra}Requests/sec:   4249.87
Transfer/sec:    500.00KB
"""


@pytest.mark.parametrize(
    ("p50", "p99", "p50_ms", "p99_ms"),
    [
        ("812.00us", "1.20ms", 0.812, 1.2),
        ("7.31ms", "12.00ms", 7.31, 12.0),
        ("1.50s", "2.00s", 1500.0, 2000.0),
        ("0.00us", "0.00us", 0.0, 0.0),
    ],
)
def test_parse_wrk_reads_throughput_and_latency_in_any_unit(p50, p99, p50_ms, p99_ms):
    result = parse_wrk(WRK_OUTPUT.format(p50=p50, p99=p99, extra=""), "page")
    assert result.name == "page"
    assert result.requests_per_s == pytest.approx(4249.87)
    assert result.requests == 42500
    assert result.p50_ms == pytest.approx(p50_ms)
    assert result.p99_ms == pytest.approx(p99_ms)
    assert (result.errors, result.non_2xx_3xx) == (0, 0)


def test_parse_wrk_counts_socket_errors_and_non_2xx_responses():
    extra = (
        "  Socket errors: connect 1, read 2, write 3, timeout 4\n  Non-2xx or 3xx responses: 17\n"
    )
    result = parse_wrk(WRK_OUTPUT.format(p50="7.31ms", p99="12.00ms", extra=extra), "x")
    assert result.errors == 10
    assert result.non_2xx_3xx == 17


def test_parse_wrk_refuses_output_it_cannot_read():
    with pytest.raises(BenchError, match="unreadable wrk output"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n", "x")


def test_method_script_sets_method_headers_and_an_escaped_body():
    lua = method_script("post", {"X-Test": 'a "quoted" value'}, body='{"a": 1}\n')
    assert lua.splitlines() == [
        'wrk.method = "POST"',
        'wrk.headers["X-Test"] = "a \\"quoted\\" value"',
        'wrk.body = "{\\"a\\": 1}\\n"',
    ]


@pytest.mark.parametrize("method", ["HEAD", "head", "GET /x", ""])
def test_method_script_refuses_head_and_non_methods(method):
    with pytest.raises(BenchError):
        method_script(method)


def result(name: str, rps: float, cpu: float | None = None, **counts: int) -> Result:
    return Result(name, rps, 1.0, 2.0, 100, counts.get("errors", 0), counts.get("non", 0), "", cpu)


def test_print_table_shows_each_ratio_to_the_baseline(capsys):
    base = result("bare flask", 4000, cpu=250)
    rows = [base, result("book page", 3600, cpu=275), result("broken", 1000, errors=3, non=5)]
    text = print_table(rows, baseline=base)
    assert capsys.readouterr().out.strip() == text.strip()
    lines = {line.split("  ")[0].strip(): line for line in text.splitlines()[2:]}
    assert lines["bare flask"].split()[-4:] == ["1.00x", "250", "1.00x", "baseline"]
    assert "0.90x" in lines["book page"].split()
    assert "0.91x" in lines["book page"].split()  # CPU ratio: 250 / 275
    assert lines["broken"].endswith("3 socket errors, 5 non-2xx/3xx")


def test_median_result_takes_medians_and_sums_counts():
    merged = median_result(
        [result("p", 100, cpu=10), result("p", 300, cpu=30, errors=1), result("p", 200)]
    )
    assert merged.requests_per_s == 200
    assert merged.cpu_us_per_request == 20
    assert (merged.requests, merged.errors) == (300, 1)


def test_bench_duration_must_be_a_bounded_number(monkeypatch):
    from bench.harness import bench_duration

    monkeypatch.setenv("BENCH_DURATION", "2.5")
    assert bench_duration() == 2.5
    for bad in ("ten", "0", "-1", "100000"):
        monkeypatch.setenv("BENCH_DURATION", bad)
        with pytest.raises(BenchError, match="BENCH_DURATION"):
            bench_duration()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_real_servers_are_measured_in_bounded_runs_and_always_stopped():
    require_executable("wrk")
    from bench import servers

    with serve_storefront() as base_url, serve_baseline() as baseline_url:
        groups = dict(servers._SERVERS)
        baseline = run_wrk(baseline_url + "/bare", name="bare", duration=1, warmup=0.5)
        page = run_route(base_url, Route("page", "/books/genesis"), duration=1, warmup=0.5)
        with pytest.raises(BenchError, match="answered 404, expected 200"):
            check_route(base_url, Route("missing", "/books/no-such-book"))
        with urllib.request.urlopen(baseline_url + "/bare", timeout=5) as response:
            assert response.read() == b"ok\n"
    assert set(groups) == {base_url, baseline_url}
    assert not any(group_alive(pgid) for pgid in groups.values())
    for measured in (baseline, page):
        assert measured.requests > 0 and measured.requests_per_s > 0
        assert measured.errors == 0 and measured.non_2xx_3xx == 0
        assert measured.cpu_us_per_request and measured.cpu_us_per_request > 0


# ---------------------------------------------------------------- the benches run

ROOT = Path(__file__).resolve().parent.parent


def run_bench(*args: str) -> str:
    """Run ``python -m bench.<args>`` from the checkout; its standard output (exit 0 checked)."""
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_the_mail_bench_sends_every_message_to_a_real_smtp_server():
    # A few recipients: the bench uses the outbox's own API, so a change to it breaks here,
    # not on the day someone measures.
    out = run_bench("bench.bench_mail", "--recipients", "20")
    accepted = re.search(r"recipients: (\d+); the server accepted (\d+) \((\d+) sent\)", out)
    assert accepted, out
    assert accepted.groups() == ("20", "20", "20")
    assert re.search(r"send: [\d.]+ s for 20 messages", out), out


def test_the_in_process_bench_measures_each_route_beside_the_bare_app():
    out = run_bench("bench.bench_inprocess", "--rounds", "1", "--calls", "20")
    rows = {}
    for line in out.splitlines()[2:]:
        name, best, median, ratio = line.rsplit(None, 3)
        rows[name] = (float(best), float(median), float(ratio))
    assert list(rows) == ["bare hello", "book page", "card 200", "card 304", "reader click"]
    assert rows["bare hello"][2] == 1.0
    assert all(best > 0 and median >= best for best, median, _ in rows.values())
