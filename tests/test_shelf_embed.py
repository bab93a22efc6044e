"""The shelf card's other ways (oEmbed, widget.js fragment, static snippet), its fast path,
and the static export of the shelf, the sitemap, the feed and the favicon."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
import xmlschema
from bs4 import BeautifulSoup
from flask import request_started

from storefront import fastpath
from storefront.cli import main

ROOT = Path(__file__).resolve().parent.parent
ZIMMERMAN = ROOT / "examples" / "zimmerman" / "catalog.toml"
BASE = "https://books.example.org"
SALE = datetime(2026, 12, 22, 12, tzinfo=UTC)


def test_oembed_of_shelf_author_and_series_pages(make_app, clock):
    clock.set(SALE)
    client = make_app(CATALOG=str(ZIMMERMAN)).test_client()
    for page, src in (
        (f"{BASE}/", f"{BASE}/embed/shelf"),
        (f"{BASE}/authors/zimmerman", f"{BASE}/embed/shelf?author=zimmerman"),
    ):
        response = client.get("/oembed", query_string={"url": page, "maxwidth": "300"})
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        data = response.get_json()
        assert data["type"] == "rich" and data["width"] == 300
        frame = BeautifulSoup(data["html"], "html.parser").iframe
        assert frame["src"] == src
        assert BeautifulSoup(data["html"], "html.parser").blockquote.a["href"] == page
    # The page itself names its oEmbed answer.
    page = BeautifulSoup(client.get("/authors/zimmerman").data, "html.parser")
    link = page.select_one('link[type="application/json+oembed"]')["href"]
    assert client.get(link.replace(BASE, "")).status_code == 200
    for bad in (f"{BASE}/series/nope", f"{BASE}/authors/nobody", "https://elsewhere.example/"):
        assert client.get("/oembed", query_string={"url": bad}).status_code == 404
    bad_width = client.get("/oembed", query_string={"url": f"{BASE}/", "maxwidth": "²"})
    assert bad_width.status_code == 400


def test_fragment_for_widget_js_is_cors_and_tracked(make_app, clock):
    clock.set(SALE)
    client = make_app(CATALOG=str(ZIMMERMAN)).test_client()
    response = client.get("/embed/shelf/fragment?author=zimmerman")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    fragment = BeautifulSoup(response.data, "html.parser")
    assert fragment.style and fragment.select_one("section.shelf-card")
    assert fragment.find("html") is None and fragment.find("script") is None
    assert all("src=shelf" in a["href"] for a in fragment.select("a.buy"))
    widget = client.get("/widget.js").get_data(as_text=True)
    assert "data-storefront-shelf" in widget and "embed/shelf/fragment" in widget


def test_shelf_routes_replay_exactly_like_the_book_pages(app):
    # The fast path answers these routes under the same conditions as the book pages:
    # whatever keeps it from one (a hook on the app) keeps it from all, and nothing else.
    refused = fastpath.refusals(app)
    page = refused.get("books.book_page (/books/<slug>)")
    for endpoint, rule in (
        ("shelf.author", "/authors/<slug>"),
        ("shelf.series", "/series/<slug>"),
        ("shelf.card", "/embed/shelf"),
        ("shelf.fragment", "/embed/shelf/fragment"),
        ("feeds.sitemap", "/sitemap.xml"),
        ("feeds.feed", "/feed.atom"),
        ("feeds.favicon", "/favicon.ico"),
    ):
        assert endpoint in fastpath.ROUTES
        assert refused.get(f"{endpoint} ({rule})") == page


def test_widget_shelf_snippet(runner):
    args = ["widget", "--shelf", "--catalog", str(ZIMMERMAN), "--base-url", BASE]
    result = runner.invoke(main, [*args, "--now", "2026-12-22T12:00:00+00:00"])
    assert result.exit_code == 0, result.output
    snippet = BeautifulSoup(result.stdout, "html.parser")
    assert snippet.find("script") is None and snippet.find("style") is None
    books = [p["data-book"] for p in snippet.select("[data-book]")]
    assert books == ["conscious-choice", "universe-in-a-mirror", "leaving-earth", "genesis"]
    genesis = snippet.select_one('[data-book="genesis"]')
    assert "$2.99" in genesis.get_text()
    assert "src=shelf" in genesis.select("a")[-1]["href"]
    both = runner.invoke(main, [*args, "--author", "zimmerman", "--series", "x"])
    assert both.exit_code == 2 and "not both" in both.output
    unknown = runner.invoke(main, [*args, "--series", "x"])
    assert unknown.exit_code == 2 and "no series 'x'" in unknown.output
    assert runner.invoke(main, ["widget"]).exit_code == 2


def test_export_writes_the_shelf_sitemap_feed_and_favicon(runner, tmp_path):
    site = tmp_path / "site"
    result = runner.invoke(
        main,
        ["export", str(site), "--catalog", str(ZIMMERMAN), "--base-url", BASE, "--direct"],
    )
    assert result.exit_code == 0, result.output
    for name in (
        "sitemap.xml",
        "robots.txt",
        "feed.atom",
        "favicon.ico",
        "authors/zimmerman/index.html",
        "embed/shelf/index.html",
        "embed/shelf/author-zimmerman.html",
        "embed/shelf/fragment/author-zimmerman.html",
    ):
        assert (site / name).is_file(), name
    schema = xmlschema.XMLSchema(ROOT / "tests" / "data" / "sitemap.xsd")
    sitemap = (site / "sitemap.xml").read_bytes()
    schema.validate(io.BytesIO(sitemap))
    locs = [u["loc"] for u in schema.to_dict(io.BytesIO(sitemap))["url"]]
    assert f"{BASE}/books/genesis/" in locs  # the exported page's address
    assert not feedparser.parse((site / "feed.atom").read_bytes()).bozo
    manifest = json.loads((site / "manifest.json").read_text())
    assert "sitemap.xml" in json.dumps(manifest)


@pytest.mark.parametrize(
    "path",
    [
        "/authors/robert-zimmerman",
        "/embed/shelf",
        "/embed/shelf/fragment?author=robert-zimmerman",
        "/sitemap.xml",
        "/feed.atom",
        "/favicon.ico",
        "/robots.txt",
    ],
)
def test_repeat_requests_are_replayed_without_flask(app, path):
    seen: list[str] = []

    def count(sender, **extra):
        seen.append("run")

    client = app.test_client()
    request_started.connect(count, app)
    try:
        first = client.get(path)
        again = [client.get(path) for _ in range(3)]
    finally:
        request_started.disconnect(count, app)
    assert first.status_code == 200
    assert len(seen) == 1
    for response in again:
        assert (response.status, sorted(response.headers.items()), response.data) == (
            first.status,
            sorted(first.headers.items()),
            first.data,
        )
