"""The book page and index, parsed: prices, order, sale wording, JSON-LD, tags, caching."""

from __future__ import annotations

import textwrap
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import extruct
import pytest
from bs4 import BeautifulSoup

from .conftest import MINIMAL_CATALOG
from .helpers import html_of

PHOENIX = ZoneInfo("America/Phoenix")
SALE_DAY = datetime(2026, 12, 22, 10, 0, tzinfo=PHOENIX)
SALE_END = datetime(2026, 12, 28, 0, 0, tzinfo=PHOENIX)


def json_ld(response) -> dict:
    data = extruct.extract(
        response.data.decode(), base_url="https://books.example.org/", syntaxes=["json-ld"]
    )
    (book,) = [item for item in data["json-ld"] if item.get("@type") == "Book"]
    return book


def offers_by_seller(book: dict, fmt: str) -> dict[str, dict]:
    (example,) = [e for e in book["workExample"] if e["bookFormat"].endswith(fmt)]
    return {o["seller"]["name"]: o for o in example["offers"]}


def format_section(soup: BeautifulSoup, fmt: str):
    return soup.select_one(f'section.format[data-format="{fmt}"]')


def test_genesis_page_on_a_quiet_day(client):
    soup = html_of(client.get("/books/genesis"))
    assert len(soup.find_all("h1")) == 1
    assert soup.h1.get_text(" ", strip=True) == "Genesis the Story of Apollo 8"
    assert soup.find("main") and soup.find("header") and soup.find("footer")
    credits = soup.select_one(".credits").get_text()
    assert "by Robert Zimmerman" in credits
    assert "foreword by Valerie Anders" in credits and "introduction by Robert Zimmerman" in credits

    ebook = format_section(soup, "ebook")
    assert ebook.select_one(".price .now").get_text(strip=True) == "$5.99"
    assert ebook.select_one("del") is None
    vendors = [
        li.select_one(".vendor").get_text(strip=True) for li in ebook.select("ul.vendors > li")
    ]
    assert vendors[0] == "ebookit"  # the author's preferred vendor comes first
    assert set(vendors) == {
        "ebookit",
        "Amazon",
        "Apple Books",
        "Kobo",
        "Barnes & Noble",
        "Google Play Books",
    }
    first = ebook.select_one("ul.vendors > li")
    assert "preferred" in first["class"]
    assert "big tech companies" in first.select_one(".reason").get_text()
    assert first.a["aria-label"] == "Buy the ebook at ebookit, $5.99"

    audio = format_section(soup, "audiobook")
    notes = [p.get_text(strip=True) for p in audio.select(".note")]
    assert "Free with a 30-day Audible trial membership" in notes
    assert audio.select_one(".price") is None  # no invented audiobook price
    assert "price at the store" in audio.get_text()

    quote = soup.select_one(".quotes blockquote")
    assert "masterful job" in quote.get_text()
    assert quote.cite.get_text() == "San Antonio Express-News"
    assert (
        soup.select_one("#support address").get_text(" ", strip=True).endswith("Cortaro, AZ 85652")
    )
    assert soup.select_one(".banner.sale") is None


def test_every_buy_link_goes_through_the_tracked_redirect(client):
    soup = html_of(client.get("/books/genesis"))
    buy_links = soup.select("a.buy")
    assert len(buy_links) == 12
    for a in buy_links:
        assert a["href"].startswith("/go/genesis/"), a["href"]
        assert "src=page" in a["href"]
        assert "noopener" in a["rel"]


def test_images_have_alt_text_and_head_has_social_tags(client):
    soup = html_of(client.get("/books/genesis"))
    for img in soup.find_all("img"):
        assert img.get("alt", None) is not None
    cover = soup.select_one(".cover img")
    assert cover["alt"] == "Cover of Genesis: the Story of Apollo 8 by Robert Zimmerman"
    meta = {m.get("property") or m.get("name"): m.get("content") for m in soup.find_all("meta")}
    assert meta["og:title"] == "Genesis: the Story of Apollo 8"
    assert meta["og:url"] == "https://books.example.org/books/genesis"
    assert meta["og:image"] == "https://books.example.org/books/genesis/social.png"
    assert meta["twitter:card"] == "summary_large_image"
    assert soup.find("link", rel="canonical")["href"] == "https://books.example.org/books/genesis"
    oembed = soup.find("link", type="application/json+oembed")
    assert oembed["href"].startswith("https://books.example.org/oembed?url=")


def test_json_ld_is_a_book_with_offers_and_a_review(client):
    book = json_ld(client.get("/books/genesis"))
    assert book["name"] == "Genesis: the Story of Apollo 8"
    assert book["author"] == [{"@type": "Person", "name": "Robert Zimmerman"}]
    ebook = offers_by_seller(book, "EBook")
    assert set(ebook) >= {"ebookit", "Amazon"}
    assert ebook["ebookit"]["price"] == "5.99" and ebook["ebookit"]["priceCurrency"] == "USD"
    assert ebook["ebookit"]["availability"] == "https://schema.org/InStock"
    assert ebook["ebookit"]["url"].startswith("https://books.example.org/go/genesis/ebookit")
    assert "priceValidUntil" not in ebook["ebookit"]
    audio = offers_by_seller(book, "AudiobookFormat")
    assert "price" not in audio["Audible"]
    (review,) = book["review"]
    assert review["@type"] == "Review"
    assert review["author"]["name"] == "San Antonio Express-News"


def test_sale_shows_was_now_and_end_then_reverts_without_restart(client, clock):
    clock.set(SALE_DAY)
    response = client.get("/books/genesis")
    soup = html_of(response)
    ebook = format_section(soup, "ebook")
    assert ebook.select_one(".price .now").get_text(strip=True) == "$2.99"
    assert ebook.select_one(".price del").get_text(strip=True) == "$5.99"
    assert ebook.select_one(".price .save").get_text(strip=True) == "save 50%"
    banner = soup.select_one(".banner.sale")
    assert "Apollo 8 anniversary sale" in banner.get_text()
    assert "The ebook is $2.99 instead of $5.99: save 50%, until" in banner.get_text(
        " ", strip=True
    )
    assert banner.time.get_text() == "December 27, 2026"
    offer = offers_by_seller(json_ld(response), "EBook")["ebookit"]
    assert (offer["price"], offer["priceValidUntil"]) == ("2.99", "2026-12-27")
    assert "c=apollo8-anniversary" in ebook.select_one("a.buy")["href"]
    # Cache-Control never reaches past the end of the sale.
    assert "max-age=60" in response.headers["Cache-Control"]

    clock.set(SALE_END - timedelta(seconds=30))
    near_end = client.get("/books/genesis")
    assert "max-age=30," in near_end.headers["Cache-Control"]

    clock.set(SALE_END + timedelta(seconds=1))
    after = client.get("/books/genesis")
    soup = html_of(after)
    assert format_section(soup, "ebook").select_one(".price .now").get_text(strip=True) == "$5.99"
    assert soup.select_one(".banner.sale") is None
    offer = offers_by_seller(json_ld(after), "EBook")["ebookit"]
    assert offer["price"] == "5.99" and "priceValidUntil" not in offer


def test_before_a_sale_the_page_says_it_is_coming(client, clock):
    clock.set(datetime(2026, 12, 10, tzinfo=PHOENIX))
    soup = html_of(client.get("/books/genesis"))
    banner = soup.select_one(".banner.upcoming")
    assert "Coming soon: Apollo 8 anniversary sale" in banner.get_text()
    assert banner.time.get_text() == "December 21, 2026"
    assert format_section(soup, "ebook").select_one(".price .now").get_text(strip=True) == "$5.99"


def test_fundraiser_month_shows_the_ways_to_give(client, clock):
    clock.set(datetime(2027, 7, 4, tzinfo=PHOENIX))
    soup = html_of(client.get("/books/genesis"))
    banner = soup.select_one(".banner.fundraiser")
    assert "Support Behind The Black" in banner.get_text()
    assert banner.a["href"] == "#support"
    names = [li["data-support"] for li in soup.select("#support li")]
    assert names == ["zelle", "patreon", "paypal-donation", "paypal-subscription", "check"]


def test_index_lists_the_books(client):
    soup = html_of(client.get("/"))
    links = [a["href"] for a in soup.select(".shelf a")]
    assert links == ["/books/genesis"]


@pytest.mark.parametrize("path", ["/books/nope", "/books/genesis/nope", "/books/%3Cscript%3E"])
def test_unknown_pages_get_a_404_page(client, path):
    response = client.get(path)
    assert response.status_code == 404
    soup = BeautifulSoup(response.data, "html.parser")
    assert soup.h1.get_text() == "404 Not Found"
    assert "<script>" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_unknown_book_json_error_for_json_clients(client):
    response = client.get("/books/nope", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json["status"] == 404


def test_repeat_requests_are_served_from_the_cache_with_etags(app, client):
    first = client.get("/books/genesis")
    renders = app.extensions["storefront"].cache.renders
    second = client.get("/books/genesis")
    assert second.data == first.data
    assert app.extensions["storefront"].cache.renders == renders
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    not_modified = client.get("/books/genesis", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""


HOSTILE = MINIMAL_CATALOG.replace(
    'title = "First Book"', 'title = "</script><script>alert(1)</script>"'
).replace('text = "Very good."', 'text = "\\"onload=alert(1) <b>bold</b> & </script>"')


def test_catalog_text_is_escaped_everywhere_on_the_page(make_app, write_catalog):
    client = make_app(CATALOG=str(write_catalog(HOSTILE))).test_client()
    response = client.get("/books/first")
    html = response.get_data(as_text=True)
    soup = html_of(response)
    assert soup.h1.get_text() == "</script><script>alert(1)</script>"
    assert not [s for s in soup.find_all("script") if s.get("type") != "application/ld+json"]
    assert soup.find("b") is None
    assert "<script>alert(1)" not in html
    book = json_ld(response)  # the JSON-LD block still parses: nothing escaped its script
    assert book["name"] == "</script><script>alert(1)</script>"
    assert book["review"][0]["reviewBody"].startswith('"onload=alert(1)')


def test_pages_forbid_scripts_and_framing(client):
    csp = client.get("/books/genesis").headers["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'self'" in csp


def test_catalog_edits_are_served_without_restart(make_app, write_catalog):
    path = write_catalog()
    client = make_app(CATALOG=str(path)).test_client()
    soup = html_of(client.get("/books/first"))
    assert soup.select_one(".price .now").get_text(strip=True) == "$10.00"
    time.sleep(0.01)  # a new mtime
    path.write_text(textwrap.dedent(MINIMAL_CATALOG.replace('"10.00"', '"12.00"')))
    soup = html_of(client.get("/books/first"))
    assert soup.select_one(".price .now").get_text(strip=True) == "$12.00"
    # A broken edit is refused: the last good catalog keeps serving.
    path.write_text("[site\n")
    soup = html_of(client.get("/books/first"))
    assert soup.select_one(".price .now").get_text(strip=True) == "$12.00"


def test_typographic_cover_when_the_catalog_has_none(client):
    response = client.get("/books/genesis/cover")
    assert response.mimetype == "image/svg+xml"
    svg = BeautifulSoup(response.data, "xml")
    texts = [t.get_text() for t in svg.find_all("text")]
    assert "Genesis" in texts and "ROBERT ZIMMERMAN" in texts
    assert svg.find("linearGradient") is None
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
