"""The universal link /go/<book>: a store chooser that remembers the reader's pick in a cookie."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from storefront.storage import clicks

from .helpers import html_of

BROWSER = {
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Safari/605.1.15"
}


def stores(soup: BeautifulSoup) -> dict[str, list[tuple[str, str, str]]]:
    """format -> [(offer, href, shown host)] in page order."""
    return {
        section["data-format"]: [
            (li["data-offer"], li.a["href"], li.select_one(".host").get_text(strip=True))
            for li in section.select("li[data-offer]")
        ]
        for section in soup.select("section[data-format]")
    }


def set_cookie(response) -> SimpleCookie:
    cookie = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        cookie.load(header)
    return cookie


def rows(app) -> list[dict]:
    store = app.extensions["clicks"]
    store.ensure_schema()
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(clicks).order_by(clicks.c.id))]


def test_chooser_lists_the_stores_by_format_preferred_first(client, app):
    response = client.get("/go/genesis?src=qr&c=apollo8-anniversary", headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    soup = html_of(response)
    found = stores(soup)
    book = app.extensions["storefront"].catalog.book("genesis")
    assert list(found) == ["ebook", "audiobook"]
    for fmt, listed in found.items():
        assert [offer for offer, _, _ in listed] == sorted(
            (o.slug for o in book.edition(fmt).offers),
            key=lambda slug: (
                not book.offer(slug).preferred,
                [o.slug for o in book.offers].index(slug),
            ),
        )
    assert found["ebook"][0][0] == "ebookit"
    for offer, href, _ in found["ebook"] + found["audiobook"]:
        parts = urlsplit(href)
        assert parts.path == f"/go/genesis/{offer}"
        assert parse_qs(parts.query) == {
            "src": ["qr"],
            "c": ["apollo8-anniversary"],
            "remember": ["1"],
        }
    assert soup.find("meta", attrs={"name": "robots"})["content"] == "noindex"
    assert soup.find("script") is None
    assert rows(app) == []  # showing the chooser is not a click


def test_chooser_shows_the_readers_country_stores_and_prices_only_where_they_hold(client):
    soup = html_of(client.get("/go/genesis", headers={**BROWSER, "Accept-Language": "en-GB"}))
    assert "your country: United Kingdom." in soup.select_one(".where").get_text()
    ebook = {offer: host for offer, _, host in stores(soup)["ebook"]}
    assert ebook["kindle"] == "amazon.co.uk"
    assert ebook["ebookit"] == "ebookit.com"
    amounts = {
        li["data-offer"]: li.select_one(".amount").get_text(" ", strip=True)
        for li in soup.select("li[data-offer]")
    }
    assert (
        amounts["kindle"] == "price at the store"
    )  # the catalog's USD price is not the UK store's
    assert amounts["ebookit"] == "$5.99"


def test_unknown_placement_and_campaign_are_dropped_from_chooser_links(client):
    soup = html_of(client.get("/go/genesis?src=<b>x</b>&c=nope", headers=BROWSER))
    href = soup.select_one("li[data-offer] a")["href"]
    assert parse_qs(urlsplit(href).query) == {"src": ["other"], "remember": ["1"]}
    assert "<b>x</b>" not in soup.decode() and "nope" not in soup.decode()


def test_picked_store_is_remembered_and_the_link_then_goes_straight_there(client, app):
    response = client.get("/go/genesis/audible?src=qr&remember=1", headers=BROWSER)
    assert response.status_code == 302
    cookie = set_cookie(response)["sf_store_genesis"]
    assert cookie.value == "audible"
    assert cookie["path"] == "/go/genesis"
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) >= 180 * 24 * 3600

    again = client.get("/go/genesis?src=social", headers=BROWSER)
    assert again.status_code == 302
    assert (
        again.headers["Location"]
        == "https://www.audible.com/search?keywords=Genesis+the+Story+of+Apollo+8"
    )
    assert again.headers["Cache-Control"] == "no-store"
    assert [(r["offer"], r["placement"]) for r in rows(app)] == [
        ("audible", "qr"),
        ("audible", "social"),
    ]


def test_choose_again_shows_the_saved_store_and_a_way_to_forget_it(client):
    client.get("/go/genesis/kindle?remember=1", headers=BROWSER)
    soup = html_of(client.get("/go/genesis?choose=1", headers=BROWSER))
    note = soup.select_one(".saved-note")
    assert "Amazon" in note.get_text()
    assert soup.select_one("li.saved")["data-offer"] == "kindle"
    forget = note.find("a", string="forget my choice")["href"]

    response = client.get(forget, headers=BROWSER)
    assert response.status_code == 200
    assert set_cookie(response)["sf_store_genesis"].value == ""  # deleted
    assert "forgotten" in html_of(response).select_one(".saved-note").get_text()
    assert client.get("/go/genesis", headers=BROWSER).status_code == 200  # the chooser again


def test_the_book_page_links_to_the_chooser(client):
    soup = BeautifulSoup(client.get("/books/genesis").data, "html.parser")
    link = soup.select_one(".choose-store a")
    assert urlsplit(link["href"]).path == "/go/genesis"
    assert parse_qs(urlsplit(link["href"]).query)["choose"] == ["1"]


@pytest.mark.parametrize("value", ["no-such-offer", "", "kindle; other=1", "../admin"])
def test_a_cookie_naming_no_offer_is_ignored(client, value):
    client.set_cookie("sf_store_genesis", value, path="/go/genesis")
    assert client.get("/go/genesis", headers=BROWSER).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
        {**BROWSER, "Sec-Purpose": "prefetch"},
    ],
)
def test_bots_and_prefetches_do_not_set_the_cookie(client, headers):
    response = client.get("/go/genesis/kindle?remember=1", headers=headers)
    assert response.status_code == 302
    assert "Set-Cookie" not in response.headers


def test_a_cookie_for_one_book_does_not_choose_for_another(make_app, write_catalog):
    from .conftest import MINIMAL_CATALOG

    app = make_app(CATALOG=str(write_catalog(MINIMAL_CATALOG)))
    client = app.test_client()
    client.set_cookie("sf_store_genesis", "shop", path="/go/genesis")
    assert client.get("/go/first", headers=BROWSER).status_code == 200


def test_chooser_for_an_unknown_book_is_404(client):
    assert client.get("/go/nope", headers=BROWSER).status_code == 404
