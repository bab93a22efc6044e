"""ReplayCache: repeat page views answered without Flask, never stale, never per-client."""

from __future__ import annotations

import textwrap
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from flask import request_started

from .conftest import MINIMAL_CATALOG

PHOENIX = ZoneInfo("America/Phoenix")
SALE_END = datetime(2026, 12, 28, 0, 0, tzinfo=PHOENIX)  # end of the built-in anniversary sale


@pytest.fixture
def flask_runs(app):
    """How many requests reached Flask (replayed ones do not)."""
    seen: list[str] = []

    def count(sender, **extra):
        seen.append("run")

    request_started.connect(count, app)
    yield seen
    request_started.disconnect(count, app)


def answer(response) -> tuple:
    return response.status, sorted(response.headers.items()), response.data


def ebook_price(response) -> str:
    soup = BeautifulSoup(response.data, "html.parser")
    return soup.select_one('section.format[data-format="ebook"] .price .now').get_text(strip=True)


@pytest.mark.parametrize("path", ["/", "/books/genesis"])
def test_repeat_views_are_replayed_with_the_same_answer_without_flask(client, flask_runs, path):
    first = client.get(path)
    assert len(flask_runs) == 1
    again = [client.get(path) for _ in range(3)]
    assert len(flask_runs) == 1
    assert all(answer(r) == answer(first) for r in again)
    assert "Content-Security-Policy" in first.headers  # after_request headers are kept


def test_exact_etag_is_answered_304_like_flask_does(client, flask_runs):
    etag = client.get("/books/genesis").headers["ETag"]
    first = client.get("/books/genesis", headers={"If-None-Match": etag})
    assert len(flask_runs) == 2  # Flask's own 304 is recorded, as its 200 was
    replayed = client.get("/books/genesis", headers={"If-None-Match": etag})
    assert len(flask_runs) == 2
    assert answer(replayed) == answer(first)
    # A list of ETags goes to Flask, which parses it: the 304s must be the same.
    parsed = client.get("/books/genesis", headers={"If-None-Match": f'"other", {etag}'})
    assert len(flask_runs) == 3
    assert replayed.status_code == parsed.status_code == 304
    assert answer(replayed) == answer(parsed)
    assert replayed.data == b""


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("HEAD", "/books/genesis", {}),  # only GET is replayed
        ("GET", "/books/genesis", {"If-None-Match": '"stale"'}),  # an ETag that differs
        ("GET", "/books/genesis/cover", {}),  # a view that did not opt in
    ],
)
def test_anything_but_a_plain_repeat_get_goes_to_flask(client, flask_runs, method, path, headers):
    client.get(path.split("?")[0])
    before = len(flask_runs)
    client.open(path, method=method, headers=headers)
    client.open(path, method=method, headers=headers)
    assert len(flask_runs) == before + 2


def test_a_catalog_edit_is_served_at_once(make_app, write_catalog):
    path = write_catalog()
    client = make_app(CATALOG=str(path)).test_client()
    assert ebook_price(client.get("/books/first")) == "$10.00"
    assert ebook_price(client.get("/books/first")) == "$10.00"  # replayed
    time.sleep(0.01)  # a new mtime
    path.write_text(textwrap.dedent(MINIMAL_CATALOG.replace('"10.00"', '"12.00"')))
    assert ebook_price(client.get("/books/first")) == "$12.00"


def test_the_sale_ends_on_time_for_replayed_pages(client, clock, flask_runs):
    clock.set(SALE_END - timedelta(hours=2))
    assert ebook_price(client.get("/books/genesis")) == "$2.99"
    assert ebook_price(client.get("/books/genesis")) == "$2.99"
    assert len(flask_runs) == 1
    # In the last minute before the end, max-age shrinks: the replay recomputes it.
    clock.set(SALE_END - timedelta(seconds=30))
    late = client.get("/books/genesis")
    assert late.headers["Cache-Control"] == "public, max-age=30, stale-while-revalidate=0"
    assert len(flask_runs) == 1
    clock.set(SALE_END + timedelta(seconds=1))
    assert ebook_price(client.get("/books/genesis")) == "$5.99"
    assert len(flask_runs) == 2  # past the boundary: Flask renders the new price


def test_answers_that_set_a_cookie_are_never_replayed(app, client, flask_runs):
    @app.after_request
    def remember(response):
        response.set_cookie("seen", "1")
        return response

    client.get("/books/genesis")
    client.get("/books/genesis")
    assert len(flask_runs) == 2


def test_each_query_string_is_its_own_entry(client, flask_runs):
    client.get("/books/genesis")
    client.get("/books/genesis")
    before = len(flask_runs)
    client.get("/books/genesis?src=blog")  # a new URL: Flask answers and it is recorded
    assert len(flask_runs) == before + 1
    client.get("/books/genesis?src=blog")
    assert len(flask_runs) == before + 1
