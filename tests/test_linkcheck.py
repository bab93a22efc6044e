"""The link checker against real HTTP servers on 127.0.0.1 (no mocks of ``requests``).

Every class a link can end in is produced by a real server (or a real
socket that never answers, a closed port, a plain-HTTP port spoken to with
TLS, an unresolvable ``.invalid`` name) and must be reached within the time
bounds the configuration sets.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from storefront.catalog import iter_urls, load_catalog
from storefront.cli import main
from storefront.linkcheck import (
    CheckConfig,
    Link,
    LinkChecker,
    Status,
    catalog_links,
    check_links,
    retry_after,
)

CHALLENGE_PAGE = b"""<!doctype html><html><head><title>Just a moment...</title></head>
<body><div id="challenge-running">Checking if the site connection is secure</div>
<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1"></script></body></html>"""

# Tight bounds keep the suite fast; each case below must end within its own bound.
FAST = CheckConfig(
    connect_timeout=1.0, read_timeout=0.5, retries=2, backoff=0.05, max_time=8.0, concurrency=4
)


@pytest.fixture(autouse=True)
def _instance_outside_the_checkout(_clear_storefront_env, monkeypatch, tmp_path):
    # `links check` saves its report into the instance folder for the desk's dashboard:
    # a test's report goes to its own folder, never the checkout's ./instance.
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the session's pool is exercised
    server: LinkServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_GET(self) -> None:
        self._route("GET")

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        headers.setdefault("Content-Type", "text/html; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self, method: str) -> None:
        path = urlsplit(self.path).path
        srv = self.server
        with srv.lock:
            srv.log.append((method, self.path, self.headers.get("User-Agent", "")))
            srv.hits[self.path] = srv.hits.get(self.path, 0) + 1
            hits = srv.hits[self.path]
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            self._answer(method, path, hits)
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def _answer(self, method: str, path: str, hits: int) -> None:  # noqa: C901 - a route table
        if path == "/ok":
            self._send(200, b"<p>the book</p>")
        elif path.startswith("/chain/"):
            step = int(path.rsplit("/", 1)[1])
            # Absolute, then relative Location headers: both must be followed.
            if step == 1:
                self._send(301, Location=f"{self.server.url}/chain/2")
            elif step == 2:
                self._send(308, Location="3")
            else:
                self._send(301, Location="/ok")
        elif path == "/temp":
            self._send(302, Location="/ok")
        elif path == "/moved-then-temp":
            self._send(301, Location="/temp")
        elif path == "/see-other":
            self._send(303, Location="/temp-307")
        elif path == "/temp-307":
            self._send(307, Location="/ok")
        elif path == "/loop/a":
            self._send(302, Location="/loop/b")
        elif path == "/loop/b":
            self._send(302, Location="/loop/a")
        elif path == "/missing":
            self._send(404, b"<h1>Not Found</h1>")
        elif path == "/gone":
            self._send(410, b"<h1>Gone</h1>")
        elif path == "/to-missing":
            self._send(301, Location="/missing")
        elif path == "/busy-once":
            if hits == 1:
                self._send(429, b"slow down", Retry_After="1")
            else:
                self._send(200, b"ok now")
        elif path == "/busy-always":
            self._send(429, b"slow down", Retry_After="1")
        elif path == "/busy-for-an-hour":
            self._send(429, b"slow down", Retry_After="3600")
        elif path == "/down":
            self._send(503, b"<h1>Service Unavailable</h1>")
        elif path == "/flaky":
            self._send(502 if hits <= 2 else 200, b"")
        elif path == "/challenge":
            self._send(503, CHALLENGE_PAGE)
        elif path == "/cf-403":
            self._send(403, b"", cf_mitigated="challenge")
        elif path == "/forbidden":
            self._send(403, b"<h1>Forbidden</h1>")
        elif path == "/head-405":
            if method == "HEAD":
                self._send(405, Allow="GET")
            else:
                self._send(200, b"<p>GET only</p>")
        elif path == "/to-ftp":
            self._send(302, Location="ftp://files.example/book")
        elif path.startswith("/slow/"):
            time.sleep(float(path.rsplit("/", 1)[1]))
            self._send(200, b"late")
        else:
            self._send(404, b"no such route")


class LinkServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.log: list[tuple[str, str, str]] = []
        self.hits: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def requests_for(self, path: str) -> list[str]:
        return [method for method, p, _ in self.log if urlsplit(p).path == path]


@contextmanager
def link_server():
    """Start a :class:`LinkServer` in a thread; stop it afterwards."""
    server = LinkServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server():
    """A port that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def refused_url() -> str:
    """A URL on a port nothing listens on (bound, then closed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/ok"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def server():
    with link_server() as srv:
        yield srv


def check(url: str, config: CheckConfig = FAST):
    with LinkChecker(config) as checker:
        return checker.check(url)


# --------------------------------------------------------------------------- each class


# path, class, final HTTP status, the time bound in seconds (429 with Retry-After: below)
HTTP_CASES = [
    ("/ok", Status.OK, 200, 1.0),
    ("/chain/1", Status.REDIRECTED, 200, 1.0),
    ("/temp", Status.REDIRECTED, 200, 1.0),
    ("/loop/a", Status.REDIRECT_LOOP, 302, 1.0),
    ("/missing", Status.BROKEN, 404, 1.0),
    ("/gone", Status.BROKEN, 410, 1.0),
    ("/to-missing", Status.BROKEN, 404, 1.0),
    ("/busy-for-an-hour", Status.RATE_LIMITED, 429, 1.0),
    ("/down", Status.SERVER_ERROR, 503, 1.5),
    ("/flaky", Status.OK, 200, 1.0),
    ("/challenge", Status.BLOCKED, 503, 1.0),
    ("/cf-403", Status.BLOCKED, 403, 1.0),
    ("/forbidden", Status.BLOCKED, 403, 1.0),
    ("/head-405", Status.OK, 200, 1.0),
    ("/to-ftp", Status.INVALID, 302, 1.0),
]


@pytest.mark.parametrize(
    ("path", "status", "http_status", "bound"), HTTP_CASES, ids=[c[0] for c in HTTP_CASES]
)
def test_each_answer_ends_in_its_class_within_the_bound(server, path, status, http_status, bound):
    result = check(server.url + path)
    assert (result.status, result.http_status) == (status, http_status), result.detail
    assert result.elapsed < bound


def test_redirect_chain_is_recorded_hop_by_hop_with_relative_locations(server):
    result = check(server.url + "/chain/1")
    assert [(h.status, urlsplit(h.url).path) for h in result.chain] == [
        (301, "/chain/1"),
        (308, "/chain/2"),
        (301, "/chain/3"),
    ]
    assert result.final_url == server.url + "/ok"
    assert "3 permanent redirect(s)" in result.detail


def test_temporary_redirect_says_so_and_where_it_lands(server):
    result = check(server.url + "/temp")
    assert result.final_url == server.url + "/ok"
    assert "temporary" in result.detail


@pytest.mark.parametrize(
    ("path", "codes", "detail"),
    [
        ("/chain/1", [301, 308, 301], "3 permanent redirect(s) (301, 308, 301) to "),
        ("/temp", [302], "1 temporary redirect(s) (302) to "),
        ("/see-other", [303, 307], "2 temporary redirect(s) (303, 307) to "),
        (
            "/moved-then-temp",
            [301, 302],
            "2 redirects (1 permanent: 301; 1 temporary: 302) to ",
        ),
    ],
)
def test_redirects_are_reported_permanent_or_temporary_by_their_codes(server, path, codes, detail):
    result = check(server.url + path)
    assert result.status is Status.REDIRECTED
    assert [h.status for h in result.chain] == codes
    assert result.detail == detail + server.url + "/ok"
    chain = result.to_dict()["chain"]
    assert [hop["permanent"] for hop in chain] == [c in (301, 308) for c in codes]


def test_redirect_loop_stops_at_the_first_repeat(server):
    result = check(server.url + "/loop/a")
    assert len(result.chain) == 2
    assert server.hits["/loop/a"] == 1  # HEAD once: no second lap around the loop


def test_broken_after_redirects_keeps_the_chain(server):
    result = check(server.url + "/to-missing")
    assert [h.status for h in result.chain] == [301]
    assert result.final_url == server.url + "/missing"


def test_retry_after_is_honoured_before_the_second_attempt(server):
    result = check(server.url + "/busy-once")
    assert result.status is Status.OK
    assert result.attempts == 2
    assert 1.0 <= result.elapsed < 2.5  # the server said "Retry-After: 1"


def test_persistent_429_is_retried_then_reported_rate_limited(server):
    result = check(server.url + "/busy-always")
    assert result.status is Status.RATE_LIMITED
    assert result.attempts == 1 + FAST.retries
    assert len(server.requests_for("/busy-always")) == 3  # HEAD each time: a 429 needs no body
    assert 2.0 <= result.elapsed < 3.5
    assert not result.status.is_broken


def test_retry_after_longer_than_the_cap_is_not_waited_for(server):
    result = check(server.url + "/busy-for-an-hour")
    assert result.attempts == 1
    assert "3600" in result.detail


def test_max_time_bounds_a_link_however_long_the_server_asks_to_wait(server):
    config = CheckConfig(
        connect_timeout=1.0, read_timeout=0.5, retries=5, backoff=0.05, max_time=1.5
    )
    result = check(server.url + "/busy-always", config)
    assert result.status is Status.RATE_LIMITED
    assert result.attempts == 2
    assert result.elapsed < 1.5


def test_server_errors_are_retried_with_backoff(server):
    result = check(server.url + "/down")
    assert result.attempts == 3
    assert server.requests_for("/down").count("GET") == 3
    assert "after 3 attempts" in result.detail
    assert result.status.is_transient and not result.status.is_broken


def test_bad_gateway_on_head_is_confirmed_with_get_then_retried(server):
    result = check(server.url + "/flaky")
    assert (result.status, result.attempts) == (Status.OK, 2)
    assert server.requests_for("/flaky") == ["HEAD", "GET", "HEAD"]


def test_challenge_page_is_blocked_not_broken_and_not_asked_again(server):
    result = check(server.url + "/challenge")
    assert result.status is Status.BLOCKED and not result.status.is_broken
    assert "challenge" in result.detail
    assert server.requests_for("/challenge") == ["HEAD", "GET"]


def test_head_refused_falls_back_to_get_and_the_host_is_asked_with_get_after(server):
    config = CheckConfig(connect_timeout=1.0, read_timeout=0.5, concurrency=1, per_host=1)
    with LinkChecker(config) as checker:
        first = checker.check(server.url + "/head-405")
        second = checker.check(server.url + "/ok")
    assert (first.status, first.method) == (Status.OK, "GET")
    assert server.requests_for("/head-405") == ["HEAD", "GET"]
    assert (second.status, second.method) == (Status.OK, "GET")
    assert server.requests_for("/ok") == ["GET"]


def test_plain_ok_needs_only_one_head(server):
    result = check(server.url + "/ok")
    assert result.method == "HEAD"
    assert server.requests_for("/ok") == ["HEAD"]


def test_requests_carry_the_checker_user_agent(server):
    check(server.url + "/ok")
    (_, _, agent), *_ = server.log
    assert agent.startswith("StorefrontLinkCheck/")


def test_a_server_that_never_answers_times_out_within_the_read_timeout():
    with silent_server() as url:
        result = check(url + "/book")
    assert result.status is Status.TIMEOUT
    assert FAST.read_timeout * 0.9 <= result.elapsed < FAST.read_timeout + 1.0


def test_a_refused_connection_is_unreachable_at_once():
    result = check(refused_url())
    assert result.status is Status.UNREACHABLE
    assert "refused" in result.detail
    assert result.elapsed < 1.0


def test_tls_failure_is_classified_from_the_exception(server):
    # TLS spoken to a plain-HTTP port: the handshake fails, offline and at once.
    result = check(server.url.replace("http://", "https://") + "/ok")
    assert result.status is Status.TLS
    assert result.status.is_broken
    assert result.elapsed < 1.0


def test_unresolvable_name_is_a_dns_failure_offline_and_fast():
    result = check("http://storefront-linkcheck-test.invalid/book")
    assert result.status is Status.DNS
    assert "storefront-linkcheck-test.invalid" in result.detail
    assert result.elapsed < 3.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past: no wait
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_parses_seconds_and_http_dates(value, seconds):
    from datetime import UTC, datetime

    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert retry_after(value, now) == seconds


# --------------------------------------------------------------------------- the pool


def test_concurrent_checks_respect_the_per_host_limit(server):
    config = CheckConfig(connect_timeout=1.0, read_timeout=2.0, concurrency=6, per_host=2)
    links = [Link(f"k{i}", f"{server.url}/slow/0.2?i={i}", "offer") for i in range(6)]
    run = check_links(links, config)
    assert all(r.result.status is Status.OK for r in run.reports)
    assert server.max_in_flight == 2


def test_each_distinct_url_is_checked_once_and_reported_for_every_link(server):
    url = server.url + "/ok"
    run = check_links([Link("a/x", url, "offer"), Link("b/y", url, "offer")], FAST)
    assert [r.link.key for r in run.reports] == ["a/x", "b/y"]
    assert server.requests_for("/ok") == ["HEAD"]


def test_run_summary_counts_broken_apart_from_transient_and_blocked(server):
    links = [
        Link("b/ok", server.url + "/ok", "offer"),
        Link("b/missing", server.url + "/missing", "offer"),
        Link("b/wall", server.url + "/challenge", "offer"),
        Link("b/down", server.url + "/down", "offer"),
    ]
    run = check_links(links, FAST)
    assert run.counts() == {"ok": 1, "blocked": 1, "server-error": 1, "broken": 1}
    assert [r.link.key for r in run.broken] == ["b/missing"]
    assert [r.link.key for r in run.transient] == ["b/down"]
    data = json.loads(json.dumps(run.to_dict()))
    assert data["broken"] == 1 and data["unique_urls"] == 4


# --------------------------------------------------------------------------- catalog links


def test_catalog_links_cover_every_url_the_catalog_lists(builtin_catalog):
    catalog = load_catalog(builtin_catalog)
    links = catalog_links(catalog)
    assert {url for _, url in iter_urls(catalog)} <= {link.url for link in links}
    assert not [link for link in links if link.kind == "other"]


def test_catalog_links_carry_book_vendor_and_kind(builtin_catalog):
    links = catalog_links(load_catalog(builtin_catalog))
    by_key = {link.key: link for link in links}
    kindle_gb = by_key["genesis/kindle[GB]"]
    assert (kindle_gb.book, kindle_gb.vendor, kindle_gb.kind) == (
        "genesis",
        "amazon",
        "country store",
    )
    patreon = by_key["support/patreon"]
    assert (patreon.book, patreon.vendor, patreon.group) == (None, None, ("(site)", "support"))


def test_catalog_links_include_each_vendor_search_fallback_for_the_title(builtin_catalog):
    links = catalog_links(load_catalog(builtin_catalog))
    searches = {link.key: link.url for link in links if link.kind == "store search"}
    assert searches["genesis/search:amazon[GB]"] == (
        "https://www.amazon.co.uk/s?k=Genesis+the+Story+of+Apollo+8&i=digital-text"
    )
    assert "genesis/search:ebookit" in searches


# --------------------------------------------------------------------------- the command

LINK_CATALOG = """
[site]
title = "Test Books"
author = "A. Writer"
timezone = "UTC"

[[vendors]]
slug = "shop"
name = "The Shop"

[[vendors]]
slug = "wall"
name = "Walled Store"

[[books]]
slug = "first"
title = "First Book"
authors = ["A. Writer"]
description = "A book for tests."

[[books.quotes]]
text = "Very good."
source = "A Reviewer"
url = "{base}/temp"

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
slug = "shop"
vendor = "shop"
url = "{base}/ok"
price = "10.00"
currency = "USD"

[[books.editions.offers]]
slug = "wall"
vendor = "wall"
url = "{base}/challenge"
price = "10.00"
currency = "USD"

[[books.editions.offers]]
slug = "gone"
vendor = "shop"
url = "{gone}"
price = "10.00"
currency = "USD"

[[support]]
slug = "tips"
name = "Tip jar"
url = "{base}/down"
"""


@pytest.fixture
def link_catalog(write_catalog, server):
    def write(gone: str = "/ok") -> str:
        text = LINK_CATALOG.replace("{gone}", server.url + gone).replace("{base}", server.url)
        return str(write_catalog(text))

    return write


FAST_ARGS = ["--timeout", "0.5", "--connect-timeout", "1", "--backoff", "0.05"]


def test_command_json_lists_every_link_and_exits_1_when_one_is_broken(runner, link_catalog):
    result = runner.invoke(
        main, ["links", "check", "--catalog", link_catalog("/gone"), "--format", "json", *FAST_ARGS]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    statuses = {r["key"]: r["status"] for r in data["reports"]}
    assert statuses == {
        "first/shop": "ok",
        "first/wall": "blocked",
        "first/gone": "broken",
        "first/quotes[0]": "redirected",
        "support/tips": "server-error",
    }
    assert data["broken"] == 1 and data["transient"] == 1
    moved = next(r for r in data["reports"] if r["key"] == "first/quotes[0]")
    assert moved["final_url"].endswith("/ok") and moved["chain"][0]["status"] == 302


@pytest.mark.parametrize(
    ("extra", "exit_code"), [([], 0), (["--strict"], 1)], ids=["default", "strict"]
)
def test_command_exit_status_ignores_walls_and_fails_transients_only_when_strict(
    runner, link_catalog, extra, exit_code
):
    result = runner.invoke(
        main, ["links", "check", "--catalog", link_catalog(), *FAST_ARGS, *extra]
    )
    assert result.exit_code == exit_code, result.output


def test_command_table_groups_by_book_then_vendor(runner, link_catalog):
    result = runner.invoke(main, ["links", "check", "--catalog", link_catalog("/gone"), *FAST_ARGS])
    lines = result.stdout.splitlines()
    # Sections: the book, its vendors (indented), then the site's own links.
    headings = [line for line in lines if line and not line.startswith("    ")]
    assert headings[:4] == ["first", "  shop", "  wall", "  quote source"]
    assert "(site)" in headings and "  support" in headings
    broken = [line for line in lines if line.startswith("    !!")]
    assert len(broken) == 1 and "first/gone" in broken[0]
    assert lines[-1] == "1 broken link(s): fix them in the catalog."
    assert "5 link(s), 5 distinct URL(s)" in lines[-2]


def test_command_filters_by_book_and_rejects_an_unknown_one(runner, link_catalog, server):
    path = link_catalog()
    result = runner.invoke(
        main,
        ["links", "check", "--catalog", path, "--kind", "offer", "--format", "json", *FAST_ARGS],
    )
    assert {r["kind"] for r in json.loads(result.stdout)["reports"]} == {"offer"}
    result = runner.invoke(main, ["links", "check", "--catalog", path, "--book", "nope"])
    assert result.exit_code == 2
    assert "no book 'nope'" in result.output and "Traceback" not in result.output


AMAZON_CATALOG = """
[site]
title = "Test Books"
author = "A. Writer"
timezone = "UTC"

[[vendors]]
slug = "amazon"
name = "Amazon"
search_url = "https://www.amazon.com/s?k={query}&i=digital-text"
[vendors.affiliate]
param = "tag"
tags = { default = "writer-20", GB = "writer-21" }
[vendors.country_search]
GB = "https://www.amazon.co.uk/s?k={query}&i=digital-text"

[[books]]
slug = "first"
title = "First Book"
authors = ["A. Writer"]
description = "A book for tests."

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
slug = "kindle"
vendor = "amazon"
url = "https://www.amazon.com/dp/B00TEST123/ref=sr_1_1?qid=1700000000&sr=8-1"
price = "10.00"
currency = "USD"
[books.editions.offers.countries]
GB = "https://www.amazon.co.uk/dp/B00TEST123"
"""


def test_catalog_links_add_the_affiliate_tagged_form_readers_are_sent_to(write_catalog):
    links = {link.key: link for link in catalog_links(load_catalog(write_catalog(AMAZON_CATALOG)))}
    assert links["first/kindle+tag"].url == "https://www.amazon.com/dp/B00TEST123?tag=writer-20"
    assert (
        links["first/kindle[GB]+tag"].url == "https://www.amazon.co.uk/dp/B00TEST123?tag=writer-21"
    )
    assert links["first/search:amazon[GB]+tag"].url == (
        "https://www.amazon.co.uk/s?k=First+Book&i=digital-text&tag=writer-21"
    )
    assert {links[k].kind for k in links if k.endswith("+tag")} == {"affiliate"}


def test_amazon_links_with_tracking_junk_are_reported_with_their_clean_form(write_catalog):
    links = {link.key: link for link in catalog_links(load_catalog(write_catalog(AMAZON_CATALOG)))}
    assert links["first/kindle"].clean_url == "https://www.amazon.com/dp/B00TEST123"
    assert links["first/kindle[GB]"].clean_url is None  # already clean


def test_table_prints_the_clean_form_of_a_junk_amazon_link(write_catalog):
    # Rendered from a made-up result: this test must not ask Amazon anything.
    from datetime import UTC, datetime

    from storefront.commands.links import render_table
    from storefront.linkcheck import LinkReport, LinkResult, LinkRun

    link = next(
        link
        for link in catalog_links(load_catalog(write_catalog(AMAZON_CATALOG)))
        if link.key == "first/kindle"
    )
    result = LinkResult(link.url, Status.BLOCKED, 503, detail="503 Service Unavailable: a wall")
    run = LinkRun((LinkReport(link, result),), datetime(2026, 1, 1, tzinfo=UTC), 0.1)
    lines = render_table(run).splitlines()
    assert lines[:2] == ["first", "  amazon"]
    assert lines[4].strip() == "clean form: https://www.amazon.com/dp/B00TEST123"


def test_a_full_check_saves_its_report_where_the_desk_reads_it(runner, link_catalog, tmp_path):
    from storefront.linkcheck.report import load_report

    result = runner.invoke(main, ["links", "check", "--catalog", link_catalog("/gone"), *FAST_ARGS])
    assert result.exit_code == 1, result.output
    report = load_report(tmp_path / "instance")
    assert report is not None
    assert report["run"]["broken"] == 1
    (gone,) = [r for r in report["run"]["reports"] if r["url"].endswith("/gone")]
    assert gone["book"] == "first" and gone["http_status"] == 410  # the test server's /gone
