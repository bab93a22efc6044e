"""The shelf with several books: pages, order, neighbours, live prices, JSON-LD, the shelf card."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import extruct
import pytest

from storefront.catalog import CatalogError, load_catalog

from .helpers import book, catalog_toml, edition, html_of, offer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*/catalog.toml"))
ZIMMERMAN = ROOT / "examples" / "zimmerman" / "catalog.toml"
IN_SALE = datetime(2026, 12, 22, 12, tzinfo=UTC)  # the Genesis sale runs 21-27 December

# A fictional trilogy by two authors: positions given out of file order.
ANN = {
    "slug": "ann",
    "name": "Ann Writer",
    "bio": "Writes trilogies.",
    "links": ["https://ann.example/", "https://social.example/@ann"],
}
BO = {"slug": "bo", "name": "Bo Other", "bio": "Writes one-offs."}
MIDDLE_SALE = {
    "slug": "middle-sale",
    "name": "Middle sale",
    "starts": date(2026, 12, 1),
    "ends": date(2026, 12, 31),
    "sale_price": "1.99",
    "books": ["two"],
}


def shelf_book(slug: str, title: str, name: str, price: str, **fields) -> dict:
    ebook = edition("ebook", offer("shop", f"https://shop.example/{slug}", price))
    return book(slug, title, ebook, authors=[name], description="A test book.", **fields)


def series_catalog() -> str:
    ring = "The Ring"
    return catalog_toml(
        shelf_book(
            "three", "Third", "Ann Writer", "7.00", by=["ann"], series={"name": ring, "position": 3}
        ),
        shelf_book(
            "one", "First", "Ann Writer", "5.00", series={"name": ring, "position": 1}, year=2001
        ),
        shelf_book("two", "Second", "Ann Writer", "6.00", series={"name": ring, "position": 2}),
        shelf_book("solo", "Alone", "Bo Other", "4.00", published=date(2020, 5, 1)),
        site={"title": "Two Writers", "author": "A. Writer", "timezone": None},
        vendors=[{"slug": "shop", "name": "The Shop"}],
        authors=[ANN, BO],
        campaigns=[MIDDLE_SALE],
    )


@pytest.fixture
def series_client(make_app, write_catalog, clock):
    clock.set(datetime(2026, 12, 10, tzinfo=UTC))
    return make_app(CATALOG=str(write_catalog(series_catalog()))).test_client()


@pytest.fixture
def zimmerman(make_app, clock):
    clock.set(IN_SALE)
    return make_app(CATALOG=str(ZIMMERMAN)).test_client()


def json_ld(response) -> list[dict]:
    return extruct.extract(response.data.decode(), syntaxes=["json-ld"], uniform=True)["json-ld"]


def test_every_example_catalog_loads_without_warnings():
    assert EXAMPLES, "examples/*/catalog.toml"
    for path in EXAMPLES:
        catalog = load_catalog(path)
        assert len(catalog.books) >= 2
        assert catalog.warnings == ()
        # No invented prices or ids: every offer leads to the store's search, no price.
        for each in (o for b in catalog.books for o in b.offers):
            assert "search" in each.url or "/s?" in each.url or "/s/" in each.url, each.url
            assert each.price is None or each.book == "genesis"


def test_example_books_point_at_their_author():
    catalog = load_catalog(ZIMMERMAN)
    assert [a.slug for a in catalog.authors] == ["zimmerman"]
    assert all(b.by == ("zimmerman",) for b in catalog.books)
    titles = {b.slug: (b.title, b.year, b.publisher) for b in catalog.books}
    assert titles["universe-in-a-mirror"] == (
        "The Universe in a Mirror",
        2008,
        "Princeton University Press",
    )


def test_an_unknown_author_slug_is_one_clear_error(write_catalog):
    text = series_catalog().replace('by = ["ann"]', 'by = ["anne"]')
    with pytest.raises(CatalogError) as info:
        load_catalog(write_catalog(text))
    assert "unknown author 'anne'" in str(info.value)
    assert "by[0]" in str(info.value)


def test_books_without_by_are_matched_by_name(write_catalog):
    catalog = load_catalog(write_catalog(series_catalog()))
    assert {b.slug: b.by for b in catalog.books} == {
        "three": ("ann",),
        "one": ("ann",),
        "two": ("ann",),
        "solo": ("bo",),
    }
    assert {b.series.slug for b in catalog.books if b.series} == {"the-ring"}


def test_front_page_is_the_shelf_grouped_by_series_with_live_prices(series_client):
    page = html_of(series_client.get("/"))
    sections = page.select("section.shelf-section")
    ring = [li["data-book"] for li in sections[0].select("li[data-book]")]
    assert ring == ["one", "two", "three"]  # reading order, not file order
    assert [li["data-book"] for li in sections[1].select("li[data-book]")] == ["solo"]
    two = sections[0].select_one('li[data-book="two"]')
    assert two.select_one(".now").get_text() == "$1.99"  # the sale, from the pricing rules
    assert two.select_one("del").get_text() == "$6.00"
    assert "Middle sale" in two.select_one(".banner.sale").get_text()
    assert page.select_one('li[data-book="one"] .now').get_text() == "$5.00"
    # Several authors: each links to their page.
    assert [a["href"] for a in page.select("section.author h2 a")] == [
        "/authors/ann",
        "/authors/bo",
    ]


def test_author_page_lists_only_their_books(series_client):
    page = html_of(series_client.get("/authors/bo"))
    assert [li["data-book"] for li in page.select("li[data-book]")] == ["solo"]
    assert page.h1.get_text() == "Bo Other"
    assert series_client.get("/authors/nobody").status_code == 404


def test_series_page_in_reading_order(series_client):
    response = series_client.get("/series/the-ring")
    page = html_of(response)
    assert [li["data-book"] for li in page.select("li[data-book]")] == ["one", "two", "three"]
    numbers = [p.get_text() for p in page.select(".series-number")]
    assert numbers == [f"Book {n} of The Ring" for n in (1, 2, 3)]
    data = json_ld(response)
    series = next(d for d in data if d["@type"] == "BookSeries")
    assert [p["@id"].rsplit("/", 1)[1] for p in series["hasPart"]] == [
        "one#book",
        "two#book",
        "three#book",
    ]
    assert series_client.get("/series/nope").status_code == 404


def test_book_page_shows_its_place_previous_next_and_more_by(series_client):
    response = series_client.get("/books/two")
    page = html_of(response)
    nav = page.select_one("nav.series-nav")
    assert nav.select_one(".series-number").get_text(" ", strip=True) == "Book 2 of The Ring"
    assert nav.select_one('a[rel="prev"]')["href"] == "/books/one"
    assert nav.select_one('a[rel="next"]')["href"] == "/books/three"
    more = [a["href"] for a in page.select(".more-by a")]
    assert set(more) == {"/books/one", "/books/three"}
    first = html_of(series_client.get("/books/one")).select_one("nav.series-nav")
    assert first.select_one('a[rel="prev"]') is None
    assert html_of(series_client.get("/books/solo")).select_one("nav.series-nav") is None


def test_json_ld_person_bookseries_and_itemlist(series_client):
    book = json_ld(series_client.get("/books/three"))
    person = next(d for d in book if d["@type"] == "Person")
    assert person["name"] == "Ann Writer"
    assert person["sameAs"] == ["https://ann.example/", "https://social.example/@ann"]
    part = next(d for d in book if d["@type"] == "Book" and "position" in d)
    assert part["position"] == 3
    assert part["isPartOf"]["@type"] == "BookSeries"
    assert part["isPartOf"]["url"] == "https://books.example.org/series/the-ring"
    shelf = json_ld(series_client.get("/"))
    items = next(d for d in shelf if d["@type"] == "ItemList")
    urls = [i["url"] for i in items["itemListElement"]]
    assert urls == [f"https://books.example.org/books/{s}" for s in ("one", "two", "three", "solo")]
    assert [i["position"] for i in items["itemListElement"]] == [1, 2, 3, 4]


def test_single_author_store_uses_the_site_author(client):
    page = html_of(client.get("/"))
    assert page.select("li[data-book]")
    person = next(d for d in json_ld(client.get("/")) if d["@type"] == "Person")
    assert person["name"] == "Robert Zimmerman"
    assert client.get("/authors/robert-zimmerman").status_code == 200


def test_example_shelf_shows_the_genesis_sale_only_on_genesis(zimmerman):
    page = html_of(zimmerman.get("/"))
    books = {li["data-book"]: li for li in page.select("li[data-book]")}
    assert set(books) == {"genesis", "leaving-earth", "universe-in-a-mirror", "conscious-choice"}
    assert books["genesis"].select_one(".banner.sale")
    assert [b for b, li in books.items() if li.select_one(".banner.sale")] == ["genesis"]
    # Outside any series, newest first.
    assert list(books) == ["conscious-choice", "universe-in-a-mirror", "leaving-earth", "genesis"]


def test_shelf_card_tracks_src_shelf_and_is_cached(series_client):
    response = series_client.get("/embed/shelf?series=the-ring")
    page = html_of(response)
    hrefs = [a["href"] for a in page.select("a.buy")]
    assert len(hrefs) == 3 and all("src=shelf" in h and "/go/" in h for h in hrefs)
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    etag = response.headers["ETag"]
    again = series_client.get("/embed/shelf?series=the-ring", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert series_client.get("/embed/shelf?series=x").status_code == 404
    assert series_client.get("/embed/shelf?series=the-ring&author=ann").status_code == 400
    go = series_client.get(hrefs[1].replace("https://books.example.org", ""))
    assert go.status_code in (302, 303)
    assert go.headers["Location"] == "https://shop.example/two"


def test_pages_link_the_feed_and_favicon(series_client):
    for url in ("/", "/books/one", "/series/the-ring", "/authors/ann"):
        page = html_of(series_client.get(url))
        assert page.select_one('link[rel="alternate"][type="application/atom+xml"]')["href"]
        assert page.select_one('link[rel="icon"]')["href"] == "/favicon.ico"
