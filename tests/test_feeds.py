"""What the web expects: sitemap.xml (sitemaps.org schema), robots.txt, the Atom feed, a favicon."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
import xmlschema
from bs4 import BeautifulSoup
from PIL import Image

from storefront.cli import main

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://books.example.org"
ZIMMERMAN = ROOT / "examples" / "zimmerman" / "catalog.toml"
SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "data" / "sitemap.xsd")
BEFORE = datetime(2026, 12, 21, 6, 59, tzinfo=UTC)  # the sale starts 21 Dec 00:00 Phoenix (07:00Z)
AFTER = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)


def test_sitemap_is_valid_and_lists_every_page_with_lastmod(make_app, clock):
    clock.set(AFTER)
    client = make_app(CATALOG=str(ZIMMERMAN)).test_client()
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    SCHEMA.validate(io.BytesIO(response.data))  # raises on any deviation from the schema
    data = SCHEMA.to_dict(io.BytesIO(response.data))
    locs = {u["loc"]: u["lastmod"] for u in data["url"]}
    books = ("genesis", "leaving-earth", "universe-in-a-mirror", "conscious-choice")
    assert set(locs) == {
        "https://books.example.org/",
        "https://books.example.org/authors/zimmerman",  # every author page, one author too
        "https://books.example.org/press",  # the press kit; each book's is linked from it
        *(f"https://books.example.org/books/{s}" for s in books),
    }
    # Genesis's page changed when its sale started; the others when the file was edited.
    assert locs["https://books.example.org/books/genesis"] >= "2026-12-21T07:00:00"
    assert locs["https://books.example.org/books/leaving-earth"] < "2026-12-21T07:00:00"


def test_robots_points_at_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert "Sitemap: https://books.example.org/sitemap.xml" in lines
    assert "Disallow: /go/" in lines


def feed(make_app, clock, at):
    clock.set(at)
    client = make_app(CATALOG=str(ZIMMERMAN)).test_client()
    response = client.get("/feed.atom")
    assert response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def test_feed_has_the_sale_from_its_start_and_none_before(make_app, clock):
    before = feed(make_app, clock, BEFORE)
    assert not [e for e in before.entries if "sale" in e.id]
    books = [e.link for e in before.entries]
    assert books[0] == "https://books.example.org/books/conscious-choice"  # newest first
    assert len(books) == 4
    after = feed(make_app, clock, AFTER)
    sale = after.entries[0]
    assert sale.id == "https://books.example.org/#sale-apollo8-anniversary"
    assert sale.link == "https://books.example.org/books/genesis"
    assert sale.published_parsed[:5] == (2026, 12, 21, 7, 0)
    assert "until 2026-12-27" in sale.summary
    assert after.feed.title.endswith("new books and sales")


def test_favicon_is_a_real_ico_cached_a_day(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert "max-age=86400" in response.headers["Cache-Control"]
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "ICO"
    assert set(image.info["sizes"]) == {(16, 16), (32, 32)}
    assert (
        client.get("/favicon.ico", headers={"If-None-Match": response.headers["ETag"]}).status_code
        == 304
    )


def test_a_click_from_the_shelf_card_is_counted_with_src_shelf(make_app, runner, tmp_path, clock):
    app = make_app(CATALOG=str(ZIMMERMAN))
    client = app.test_client()
    card = BeautifulSoup(client.get("/embed/shelf").data, "html.parser")
    href = card.select_one('li[data-book="genesis"] a.buy')["href"]
    assert "src=shelf" in href
    response = client.get(
        href.replace("https://books.example.org", ""),
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"},
    )
    assert response.status_code in (302, 303)
    env = {
        "STOREFRONT_DATABASE_URL": app.config["DATABASE_URL"],
        "STOREFRONT_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    result = runner.invoke(main, ["stats", "--by", "placement", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r["clicks"] for r in json.loads(result.output)["rows"]}
    assert rows == {"shelf": 1}


TWO_AUTHORS = """
[site]
title = "Two Pens"
author = "Ann Lee"
timezone = "UTC"

[[vendors]]
slug = "shop"
name = "The Shop"

[[authors]]
slug = "ann-lee"
name = "Ann Lee"

[[authors]]
slug = "bo-park"
name = "Bo Park"

[[books]]
slug = "first"
title = "First"
authors = ["Ann Lee"]
description = "One."

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
vendor = "shop"
url = "https://shop.example/first"
currency = "USD"

[[books]]
slug = "second"
title = "Second"
authors = ["Bo Park"]
description = "Two."

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
vendor = "shop"
url = "https://shop.example/second"
currency = "USD"
"""


@pytest.mark.parametrize("catalog", ["two-authors", "zimmerman"])
def test_sitemap_lists_every_author_page_and_oembed_points_there(make_app, tmp_path, catalog):
    path = ZIMMERMAN
    if catalog == "two-authors":
        path = tmp_path / "catalog.toml"
        path.write_text(TWO_AUTHORS, encoding="utf-8")
    client = make_app(CATALOG=str(path)).test_client()
    data = client.get("/sitemap.xml").data
    SCHEMA.validate(io.BytesIO(data))
    locs = {u["loc"] for u in SCHEMA.to_dict(io.BytesIO(data))["url"]}
    authors = {loc for loc in locs if "/authors/" in loc}
    expected = {"ann-lee", "bo-park"} if catalog == "two-authors" else {"zimmerman"}
    assert authors == {f"{BASE}/authors/{slug}" for slug in expected}
    for loc in authors:  # each one a page that exists
        assert client.get(loc.removeprefix(BASE)).status_code == 200
    book = "second" if catalog == "two-authors" else "genesis"
    oembed = client.get(f"/oembed?url={BASE}/books/{book}").get_json()
    assert oembed["author_url"] == (
        f"{BASE}/authors/bo-park" if catalog == "two-authors" else f"{BASE}/authors/zimmerman"
    )
