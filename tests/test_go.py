"""The tracked redirect /go/<book>/<offer>: recorded, catalog-only targets, bots apart, no-store."""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from storefront.storage import clicks

from .conftest import MINIMAL_CATALOG

BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
}
GOOGLEBOT = {
    "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
}

AFFILIATE_CATALOG = (
    MINIMAL_CATALOG.replace(
        """[[vendors]]
slug = "other"
name = "Other Store"
""",
        """[[vendors]]
slug = "other"
name = "Other Store"
[vendors.affiliate]
param = "aff"
tags = { default = "writer", GB = "writer-uk" }
[vendors.country_search]
DE = "https://other.example/de/search?q={query}"
""",
    ).replace(
        """url = "https://other.example/first"
price = "10.00"
currency = "USD"
""",
        """url = "https://other.example/first"
price = "10.00"
currency = "USD"
[books.editions.offers.countries]
GB = "https://other.example/uk/first"
""",
    )
    + """
[[campaigns]]
slug = "spring"
name = "Spring sale"
starts = 2026-03-01
ends = 2026-03-31
percent_off = 10
"""
)


def rows(app) -> list[dict]:
    store = app.extensions["clicks"]
    store.ensure_schema()
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(clicks).order_by(clicks.c.id))]


@pytest.fixture
def aff_app(make_app, write_catalog):
    return make_app(CATALOG=str(write_catalog(AFFILIATE_CATALOG)))


def test_click_redirects_to_the_catalog_url_and_is_recorded(client, app):
    response = client.get(
        "/go/genesis/ebookit?src=card&c=apollo8-anniversary",
        headers={**BROWSER, "Referer": "https://behindtheblack.com/2026/11/post/?utm=x"},
    )
    assert response.status_code == 302
    assert (
        response.headers["Location"]
        == "https://www.ebookit.com/search?query=Genesis+the+Story+of+Apollo+8"
    )
    assert response.headers["Cache-Control"] == "no-store"
    (row,) = rows(app)
    assert {k: row[k] for k in ("book", "offer", "format", "vendor", "placement", "campaign")} == {
        "book": "genesis",
        "offer": "ebookit",
        "format": "ebook",
        "vendor": "ebookit",
        "placement": "card",
        "campaign": "apollo8-anniversary",
    }
    assert (row["kind"], row["is_repeat"], row["referrer_host"]) == (
        "reader",
        False,
        "behindtheblack.com",
    )
    assert str(row["day"]) == "2026-11-25"


@pytest.mark.parametrize(
    ("query", "placement", "campaign"),
    [
        ("", "other", None),
        ("?src=flyer", "flyer", None),
        ("?src=qr&c=july-fundraiser", "qr", "july-fundraiser"),
        ("?src=PAGE", "other", None),
        ("?src=<script>alert(1)</script>", "other", None),
        ("?src=page%0d%0aSet-Cookie:%20evil=1", "other", None),
        ("?src=page&c=no-such-campaign", "page", None),
        ("?src=page&c=%0d%0aLocation:%20https://evil.example", "page", None),
        ("?src=page&src=card", "page", None),
    ],
)
def test_unknown_placement_and_campaign_are_recorded_as_other_and_none(
    client, app, query, placement, campaign
):
    response = client.get("/go/genesis/kindle" + query, headers=BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://www.amazon.com/")
    assert "Set-Cookie" not in response.headers
    assert response.data == b""  # nothing of the request is echoed
    (row,) = rows(app)
    assert (row["placement"], row["campaign"]) == (placement, campaign)


CATALOG_TARGETS = {
    "https://www.amazon.com/s?k=Genesis+the+Story+of+Apollo+8&i=digital-text",
}


@pytest.mark.parametrize(
    "path",
    [
        "/go//evil.example",
        "/go//evil.example/kindle",
        "/go/genesis//evil.example",
        "/go/genesis/%2F%2Fevil.example",
        "/go/genesis/%252F%252Fevil.example",
        "/go/genesis/%5C%5Cevil.example",
        "/go/genesis/\\\\evil.example",
        "/go/genesis/https:%2F%2Fevil.example",
        "/go/%2F%2Fevil.example/kindle",
        "/go/genesis/kindle%0d%0aLocation:%20https://evil.example",
        "/go/genesis/kindle/..%2F..%2Fevil.example",
        "/go/genesis/kindle?url=https://evil.example",
        "/go/genesis/kindle?next=//evil.example&redirect=https%3A%2F%2Fevil.example",
        "/go/genesis/kindle?src=%2F%2Fevil.example",
        "/go/genesis/kindle#//evil.example",
        "/go/genesis/nope",
        "/go/nope/kindle",
    ],
)
def test_open_redirect_attempts_get_404_or_the_catalog_url(client, path):
    response = client.get(path, headers=BROWSER)
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response.headers["Location"] in CATALOG_TARGETS
    for name, value in response.headers.items():
        assert "evil" not in value, (name, value)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/go/genesis/kobo", "No offer 'kobo' for book 'genesis'."),
        ("/go/nope/kindle", "No book 'nope' in this catalog."),
        ("/go/genesis/%3Cscript%3Ealert(1)", "No such offer for book 'genesis'."),
        ("/go/%3Cimg%20src=x%3E/kindle", "No such book."),
        ("/go/%3Cimg%20src=x%3E", "No such book."),
    ],
)
def test_unknown_book_or_offer_is_a_404_page_that_names_only_slugs(client, app, path, message):
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 404
    soup = BeautifulSoup(response.data, "html.parser")
    assert message in soup.get_text()
    assert soup.find("script") is None and soup.find("img") is None
    assert rows(app) == []


@pytest.mark.parametrize(
    ("method", "headers", "kind"),
    [
        ("GET", BROWSER, "reader"),
        ("HEAD", BROWSER, "head"),
        ("GET", GOOGLEBOT, "bot"),
        ("GET", {"User-Agent": ""}, "bot"),
        ("GET", {**BROWSER, "Sec-Purpose": "prefetch;prerender"}, "prefetch"),
        ("GET", {**BROWSER, "Purpose": "prefetch"}, "prefetch"),
        ("GET", {**BROWSER, "X-Moz": "prefetch"}, "prefetch"),
    ],
)
def test_bots_prefetch_and_head_still_redirect_but_are_kept_apart(
    client, app, method, headers, kind
):
    response = client.open("/go/genesis/kindle?src=page", method=method, headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] in CATALOG_TARGETS
    (row,) = rows(app)
    assert row["kind"] == kind


def test_a_repeat_click_is_marked(client, app, clock):
    for _ in range(2):
        client.get("/go/genesis/kindle", headers=BROWSER)
    clock.advance(minutes=31)
    client.get("/go/genesis/kindle", headers=BROWSER)
    client.get("/go/genesis/ebookit", headers=BROWSER)
    assert [(r["offer"], r["is_repeat"]) for r in rows(app)] == [
        ("kindle", False),
        ("kindle", True),
        ("kindle", False),
        ("ebookit", False),
    ]


@pytest.mark.parametrize(
    ("headers", "target", "country"),
    [
        (
            {"Accept-Language": "en-GB,en;q=0.8"},
            "https://www.amazon.co.uk/s?k=Genesis+the+Story+of+Apollo+8&i=digital-text",
            "GB",
        ),
        (
            {"Accept-Language": "de-DE"},
            "https://www.amazon.de/s?k=Genesis+the+Story+of+Apollo+8&i=digital-text",
            "DE",
        ),
        (
            {"Accept-Language": "fr-FR"},
            "https://www.amazon.com/s?k=Genesis+the+Story+of+Apollo+8&i=digital-text",
            "FR",
        ),
        ({}, "https://www.amazon.com/s?k=Genesis+the+Story+of+Apollo+8&i=digital-text", None),
    ],
)
def test_readers_go_to_their_countrys_store(client, app, headers, target, country):
    response = client.get("/go/genesis/kindle", headers={**BROWSER, **headers})
    assert response.headers["Location"] == target
    assert rows(app)[0]["country"] == country


def test_trusted_country_header_is_used_only_when_configured(make_app):
    headers = {**BROWSER, "CF-IPCountry": "CA", "Accept-Language": "en-GB"}
    trusting = make_app(COUNTRY_HEADER="CF-IPCountry").test_client()
    assert (
        urlsplit(trusting.get("/go/genesis/kindle", headers=headers).headers["Location"]).hostname
        == "www.amazon.ca"
    )
    plain = make_app().test_client()
    assert (
        urlsplit(plain.get("/go/genesis/kindle", headers=headers).headers["Location"]).hostname
        == "www.amazon.co.uk"
    )


@pytest.mark.parametrize(
    ("language", "url", "tag"),
    [
        ("en-US", "https://other.example/first", "writer"),
        ("en-GB", "https://other.example/uk/first", "writer-uk"),
        ("de-DE", "https://other.example/de/search", "writer"),
    ],
)
def test_affiliate_tag_is_added_at_redirect_time_per_marketplace(aff_app, language, url, tag):
    response = aff_app.test_client().get(
        "/go/first/other", headers={**BROWSER, "Accept-Language": language}
    )
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == url
    assert parse_qs(location.query)["aff"] == [tag]


def test_affiliate_links_on_the_book_page_are_sponsored_with_the_disclosure(aff_app):
    client = aff_app.test_client()
    soup = BeautifulSoup(client.get("/books/first").data, "html.parser")
    links = {a["href"]: a for a in soup.select("a.buy")}
    assert set(links) == {"/go/first/shop?src=page", "/go/first/other?src=page"}
    assert links["/go/first/other?src=page"]["rel"] == ["sponsored", "noopener"]
    assert "sponsored" not in links["/go/first/shop?src=page"]["rel"]
    assert soup.select_one(".disclosure") is not None


def test_every_buy_link_on_the_book_page_goes_through_go_to_its_catalog_url(client, app):
    catalog = app.extensions["storefront"].catalog
    book = catalog.book("genesis")
    soup = BeautifulSoup(client.get("/books/genesis").data, "html.parser")
    buy = soup.select("a.buy")
    assert len(buy) == len(book.offers)
    for a in buy:
        path = urlsplit(a["href"]).path
        assert path.startswith("/go/genesis/")
        offer = book.offer(path.rsplit("/", 1)[1])
        response = client.get(a["href"], headers=BROWSER)
        assert response.status_code == 302
        assert response.headers["Location"] == offer.url
    assert {r["placement"] for r in rows(app)} == {"page"}
    assert len(rows(app)) == len(book.offers)


def test_a_locked_database_still_redirects_and_the_click_is_replayed(make_app, tmp_path):
    app = make_app(DATABASE_TIMEOUT=0.05)
    client = app.test_client()
    client.get("/go/genesis/kindle", headers=BROWSER)
    holder = sqlite3.connect(tmp_path / "storefront.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = client.get("/go/genesis/ebookit?src=flyer", headers=BROWSER)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("https://www.ebookit.com/")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store = app.extensions["clicks"]
    assert store.spool.pending_count() == 1
    store.replay_spool()
    assert [(r["offer"], r["placement"]) for r in rows(app)] == [
        ("kindle", "other"),
        ("ebookit", "flyer"),
    ]
    store.close()


def test_healthz_reports_the_click_database(client):
    data = client.get("/healthz").get_json()
    assert data["clicks"] == {
        "database": "ok",
        "backend": "sqlite",
        "spooling": False,
        "spooled": 0,
    }


def test_post_is_not_a_click(client, app):
    assert client.post("/go/genesis/kindle", headers=BROWSER).status_code == 405
    assert rows(app) == []


# --------------------------------------------------------------------------- the fast path


@pytest.fixture
def flask_runs(app):
    """The requests that reached Flask (the fast path answers without it)."""
    from flask import request_started

    seen: list[str] = []

    def count(sender, **extra):
        seen.append("run")

    request_started.connect(count, app)
    yield seen
    request_started.disconnect(count, app)


def by_flask_alone(app):
    """The app without its fast path in front: every request is Flask's."""
    app.wsgi_app = app.wsgi_app.wsgi_app
    return app


def test_repeat_clicks_skip_flask_with_the_same_answer_and_row(
    make_app, tmp_path, client, app, flask_runs
):
    first = client.get("/go/genesis/kindle?src=card&c=apollo8-anniversary", headers=BROWSER)
    second = client.get("/go/genesis/kindle?src=card&c=apollo8-anniversary", headers=BROWSER)
    assert flask_runs == []
    flask = by_flask_alone(make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'flask.db'}"))
    by_flask = flask.test_client().get(
        "/go/genesis/kindle?src=card&c=apollo8-anniversary", headers=BROWSER
    )
    assert second.status == first.status == by_flask.status == "302 FOUND"
    assert sorted(second.headers.items()) == sorted(by_flask.headers.items())
    assert second.headers["X-Content-Type-Options"] == "nosniff"  # the app's own headers
    one, two = rows(app)
    ignore = {"id", "at", "is_repeat"}
    assert {k: v for k, v in one.items() if k not in ignore} == {
        k: v for k, v in two.items() if k not in ignore
    }
    assert (one["is_repeat"], two["is_repeat"]) == (False, True)


@pytest.mark.parametrize(
    ("method", "path", "headers", "kind"),
    [
        ("HEAD", "/go/genesis/ebookit", BROWSER, "head"),
        ("GET", "/go/genesis/ebookit?src=qr", GOOGLEBOT, "bot"),
        ("GET", "/go/genesis/ebookit?src=qr", {**BROWSER, "Sec-Purpose": "prefetch"}, "prefetch"),
        (
            "GET",
            "/go/genesis/kindle?src=x&src=flyer",
            {**BROWSER, "Accept-Language": "en-GB"},
            "reader",
        ),
    ],
)
def test_fast_path_classifies_and_chooses_stores_like_flask(
    make_app, tmp_path, method, path, headers, kind
):
    by_flask = by_flask_alone(make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'flask.db'}"))
    flask_answer = by_flask.test_client().open(path, method=method, headers=headers)
    fast = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'fast.db'}")
    from flask import request_started

    runs: list = []
    request_started.connect(lambda sender, **extra: runs.append(1), fast, weak=False)
    fast_answer = fast.test_client().open(path, method=method, headers=headers)
    assert runs == []  # answered by the fast path
    assert sorted(fast_answer.headers.items()) == sorted(flask_answer.headers.items())
    ignore = {"id", "at"}
    flask_row, fast_row = rows(by_flask)[-1], rows(fast)[-1]
    assert fast_row["kind"] == kind
    assert {k: v for k, v in fast_row.items() if k not in ignore} == {
        k: v for k, v in flask_row.items() if k not in ignore
    }


@pytest.mark.parametrize(
    "path",
    [
        "/go/genesis/nope",
        "/go/genesis/kindle/",
        "/go/genesis/kindle/x",
        "/go/genesis",
        "/go/genesis/",
    ],
)
def test_fast_path_leaves_everything_else_to_flask(client, path):
    client.get("/go/genesis/audible", headers=BROWSER)
    response = client.get(path, headers=BROWSER)
    assert response.status_code in (200, 404)  # the chooser, or Flask's 404 page
    if response.status_code == 404:
        assert "text/html" in response.headers["Content-Type"]


def test_fast_path_leaves_remembering_to_flask(client):
    client.get("/go/genesis/audible", headers=BROWSER)
    response = client.get("/go/genesis/kindle?remember=1", headers=BROWSER)
    assert response.headers.getlist("Set-Cookie")[0].startswith("sf_store_genesis=kindle;")


def test_reader_is_redirected_even_when_the_click_cannot_be_kept(make_app, tmp_path):
    app = make_app(DATABASE_TIMEOUT=0.05)
    client = app.test_client()
    store = app.extensions["clicks"]

    def disk_full(event):
        raise OSError(28, "No space left on device")

    store.log.append = disk_full  # the click log (it replaced the spool on the click path)
    holder = sqlite3.connect(tmp_path / "storefront.db", isolation_level=None)
    store.ensure_schema()
    holder.execute("BEGIN IMMEDIATE")
    try:
        for _ in range(2):  # through Flask, then the fast path
            response = client.get("/go/genesis/kindle", headers=BROWSER)
            assert response.status_code == 302
            assert response.headers["Location"] in CATALOG_TARGETS
    finally:
        holder.execute("ROLLBACK")
        holder.close()
