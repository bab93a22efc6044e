"""The fast path: repeat views and plain clicks answered without Flask, routed by Flask's map.

Never stale, never per-client, and never past a hook, a URL preprocessor or a view
argument it does not know: then Flask answers (and the refusals test names what to update).
"""

from __future__ import annotations

import textwrap
import time
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from flask import abort, request_started

from storefront import fastpath
from storefront.views import books, header_hook

from .conftest import MINIMAL_CATALOG

PHOENIX = ZoneInfo("America/Phoenix")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
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


def flask_alone(app, path: str, **kwargs):
    """``path`` answered by Flask with the fast path out of the way."""
    fast_path, app.wsgi_app = app.wsgi_app, app.wsgi_app.wsgi_app
    try:
        return app.test_client().get(path, **kwargs)
    finally:
        app.wsgi_app = fast_path


@pytest.mark.parametrize(
    "if_none_match",
    [
        "{etag}",  # what a browser sends back
        "W/{etag}",  # what it sends back after nginx's gzip weakened the ETag
        '"other", W/{etag}',  # a list
        "*",
    ],
)
def test_if_none_match_is_compared_weakly_on_both_paths(app, client, flask_runs, if_none_match):
    etag = client.get("/books/genesis").headers["ETag"]
    header = {"If-None-Match": if_none_match.format(etag=etag)}
    fast = client.get("/books/genesis", headers=header)
    assert len(flask_runs) == 1  # the 304 came from the fast path
    by_flask = flask_alone(app, "/books/genesis", headers=header)
    assert fast.status_code == by_flask.status_code == 304
    assert answer(fast) == answer(by_flask)
    assert fast.data == b""
    assert fast.headers["ETag"] == etag


def test_another_etag_gets_the_page(client, flask_runs):
    etag = client.get("/books/genesis").headers["ETag"]
    other = client.get("/books/genesis", headers={"If-None-Match": '"stale", W/"old"'})
    assert other.status_code == 200
    assert other.headers["ETag"] == etag
    assert len(flask_runs) == 1


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("HEAD", "/books/genesis", {}),  # only GET is replayed
        ("GET", "/books/genesis/cover", {}),  # a view that did not opt in
        ("GET", "/books/genesis/", {}),  # not this route: Flask's 404 (or redirect)
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


# --------------------------------------------------------------------------- what it knows


def test_the_fast_path_knows_every_hook_and_view_argument_of_its_routes(app):
    """Fails when a hook, URL preprocessor or view argument it does not know is added.

    If this fails after you added one: make an after_request hook that only sets
    headers a ``storefront.views.header_hook``; otherwise teach ``storefront/fastpath.py``
    (ROUTES, ``refusal``) what the new hook or argument means, or drop the route from
    ROUTES so Flask answers it. Until then those routes lose their fast path.
    """
    assert fastpath.refusals(app) == {}
    assert isinstance(app.wsgi_app, fastpath.FastPath)
    assert not isinstance(app.wsgi_app.wsgi_app, fastpath.FastPath)  # installed once


FAST_REQUESTS = [
    ("/books/genesis", {}),
    ("/", {}),
    ("/embed/genesis?layout=card", {}),
    ("/widget.js", {}),
    ("/go/genesis/kindle?src=card", {"User-Agent": BROWSER}),
]


# Added to the app's registries directly: Flask's decorators refuse once it has answered
# a request, and the fast path must notice a hook however it got there.


def add_before_request(app):
    def maintenance():
        abort(503, "Down for maintenance.")

    app.before_request_funcs.setdefault(None, []).append(maintenance)
    return lambda response: response.status_code == 503


def add_blueprint_after_request(app):
    def rate_limit_headers(response):
        response.headers["X-RateLimit-Remaining"] = "9"
        return response

    for bp in ("books", "embed", "go"):
        app.after_request_funcs.setdefault(bp, []).append(rate_limit_headers)
    return lambda response: response.headers.get("X-RateLimit-Remaining") == "9"


def add_url_value_preprocessor(app):
    seen = []

    def note(endpoint, values):
        seen.append(endpoint)

    app.url_value_preprocessors.setdefault(None, []).append(note)
    return lambda response: bool(seen)


def add_teardown(app):
    seen = []

    def note(exc):
        seen.append(exc)

    app.teardown_request_funcs.setdefault(None, []).append(note)
    return lambda response: bool(seen)


@pytest.mark.parametrize(
    "add_hook",
    [add_before_request, add_blueprint_after_request, add_url_value_preprocessor, add_teardown],
)
@pytest.mark.parametrize(("path", "headers"), FAST_REQUESTS)
def test_a_hook_it_does_not_know_sends_every_request_to_flask(
    app, client, flask_runs, add_hook, path, headers
):
    client.get(path, headers=headers)  # learned (pages) or answered fast (clicks)
    took_effect = add_hook(app)
    assert fastpath.refusals(app)  # and the test above would name it
    before = len(flask_runs)
    response = client.get(path, headers=headers)
    assert len(flask_runs) == before + 1
    assert took_effect(response)


def test_csrf_protection_that_checks_reads_too_sends_them_to_flask(app, client, flask_runs):
    # Flask-WTF's app-wide CSRFProtect (an operator's extension may install it) has a global
    # before_request hook that the fast path knows does nothing for a GET. Made to check
    # GETs, Flask must run it.
    from flask_wtf.csrf import CSRFProtect

    CSRFProtect(app)
    assert fastpath.refusals(app) == {}
    client.get("/books/genesis")
    client.get("/books/genesis")
    assert len(flask_runs) == 1
    app.config["WTF_CSRF_CHECK_DEFAULT"] = True
    assert fastpath.refusals(app) == {}  # it checks POST, PUT, PATCH and DELETE only
    app.config["WTF_CSRF_METHODS"] = {"GET", "POST"}
    assert fastpath.refusals(app)
    client.get("/books/genesis")
    assert len(flask_runs) == 2


def test_a_header_hook_added_later_is_applied_on_the_fast_path_too(app, client, flask_runs):
    client.get("/books/genesis")
    client.get("/go/genesis/kindle", headers={"User-Agent": BROWSER})

    def server_timing(headers, endpoint, mimetype):
        headers["Server-Timing"] = f"fast;desc={endpoint}"

    app.after_request_funcs.setdefault(None, []).append(header_hook(server_timing))
    assert fastpath.refusals(app) == {}
    page = client.get("/books/genesis")
    click = client.get("/go/genesis/kindle", headers={"User-Agent": BROWSER})
    assert len(flask_runs) == 1  # the first page view only
    assert page.headers["Server-Timing"] == "fast;desc=books.book_page"
    assert click.headers["Server-Timing"] == "fast;desc=go.go"


def test_a_view_argument_it_does_not_know_goes_to_flask(app, flask_runs):
    app.add_url_rule(
        "/books/<slug>/in/<lang>", endpoint="books.book_page", view_func=books.book_page
    )
    assert "books.book_page (/books/<slug>/in/<lang>)" in fastpath.refusals(app)
    client = app.test_client()
    for _ in range(2):
        client.get("/books/genesis/in/fr")  # the view does not take `lang`: Flask's 500
    assert len(flask_runs) == 2
    client.get("/books/genesis")
    client.get("/books/genesis")  # the arguments it knows: fast
    assert len(flask_runs) == 3


def test_a_replaced_view_is_answered_by_flask(app, client, flask_runs):
    client.get("/books/genesis")
    app.view_functions["books.book_page"] = lambda slug: f"page of {slug}"
    assert client.get("/books/genesis").data == b"page of genesis"
    assert len(flask_runs) == 2


def test_the_rendered_answers_it_keeps_are_a_bounded_lru(app, client):
    fast_path = app.wsgi_app
    fast_path.size = 2
    client.get("/books/genesis")
    client.get("/")
    client.get("/books/genesis")  # used: now the most recent
    client.get("/widget.js")  # evicts the least recently used: the index
    keys = [key[0] for key in fast_path._replays]
    assert keys == ["books.book_page", "embed.widget_js"]


# --------------------------------------------------------------------------- clicks

JAPANESE_CATALOG = MINIMAL_CATALOG.replace(
    'url = "https://other.example/first"',
    'url = "https://www.kobo.com/jp/ja/search?query=月面&fcsearchfield=Book"',
)


@pytest.mark.parametrize("path", ["/go/first/other", "/go/first/other?remember=1"])
def test_a_store_url_in_any_script_is_a_valid_percent_encoded_location(
    make_app, write_catalog, path
):
    app = make_app(CATALOG=str(write_catalog(JAPANESE_CATALOG)))
    fast = app.test_client().get(path, headers={"User-Agent": BROWSER})
    by_flask = flask_alone(app, path, headers={"User-Agent": BROWSER})
    expected = "https://www.kobo.com/jp/ja/search?query=%E6%9C%88%E9%9D%A2&fcsearchfield=Book"
    for response in (fast, by_flask):
        assert response.status_code == 302
        location = response.headers["Location"]
        assert location == expected
        location.encode("ascii")  # a header gunicorn accepts
        assert unquote(urlsplit(location).query) == "query=月面&fcsearchfield=Book"
    assert app.extensions["clicks"].count() == 2
