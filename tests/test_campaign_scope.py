"""One rule for which campaign is about which book: page, card, flyer and export agree.

The catalog runs four sales at once. Only ``real`` lowers a price of the book;
the three others reach no priced offer of it: one is scoped to a vendor the book
is not sold at, one to a format whose offer has no price (the store sets it), and
one sets a "sale" price above the list price. Each output is parsed, and none may
show or build anything for those three, while all of them show ``real``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from bs4 import BeautifulSoup

from storefront.app import create_app
from storefront.catalog import load_catalog
from storefront.export import export_site
from storefront.pricing import campaign_covers

from .helpers import book, catalog_toml, edition, offer, pdf_text, text_of

BASE = "https://books.example.org"
DURING = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

MARCH = {"starts": date(2026, 3, 1), "ends": date(2026, 3, 31)}


def sale(slug: str, name: str, headline: str, **scope) -> dict:
    return {"slug": slug, "name": name, "headline": headline, **MARCH, **scope}


CATALOG = catalog_toml(
    book(
        "first",
        "First Book",
        edition("ebook", offer("shop", "https://shop.example/first", slug="shop")),
        edition("audiobook", offer("listen", "https://listen.example/first", None, slug="listen")),
        description="A book for tests.",
    ),
    book(
        "second",
        "Second Book",
        edition("ebook", offer("kobo", "https://kobo.example/second", "8.00", slug="kobo")),
        description="The book sold at Kobo.",
    ),
    site={"timezone": "UTC"},
    vendors=[
        {"slug": "shop", "name": "The Shop"},
        {"slug": "listen", "name": "Listen Store"},
        {"slug": "kobo", "name": "Kobo"},
    ],
    campaigns=[
        sale("real", "Zebra Real Sale", "Half price, for real", books=["first"], percent_off=50),
        sale("kobo-week", "Quokka Kobo Week", "Kobo only", vendors=["kobo"], percent_off=40),
        sale(
            "audio-days",
            "Narwhal Audio Days",
            "Audiobooks for less",
            formats=["audiobook"],
            percent_off=30,
        ),
        sale(
            "dearer",
            "Wombat Dearer Deal",
            "A price that is no sale",
            books=["first"],
            sale_price="20.00",
        ),
    ],
)

COVERING = "Zebra Real Sale"
NOT_COVERING = {
    "kobo-week": "Quokka Kobo Week",
    "audio-days": "Narwhal Audio Days",
    "dearer": "Wombat Dearer Deal",
}


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("scope") / "catalog.toml"
    path.write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def client(catalog_path, tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "TESTING": True,
            "CATALOG": str(catalog_path),
            "CLOCK": lambda: DURING,
            "BASE_URL": BASE,
            "DATABASE_URL": f"sqlite:///{instance / 'storefront.db'}",
            "CATALOG_RELOAD_INTERVAL": -1,
        },
        instance_path=str(instance),
    )
    return app.test_client()


def assert_only_the_covering_sale(text: str, where: str) -> None:
    text = text.casefold()  # print pieces set campaign names in capitals
    assert COVERING.casefold() in text, where
    for name in NOT_COVERING.values():
        assert name.casefold() not in text, (where, name)


def test_the_rule_lives_in_pricing(catalog_path):
    catalog = load_catalog(catalog_path)
    first = catalog.book("first")
    assert campaign_covers(catalog.campaign("real"), first)
    for slug in NOT_COVERING:
        assert not campaign_covers(catalog.campaign(slug), first), slug
    # The Kobo sale is about the book that is sold at Kobo.
    assert campaign_covers(catalog.campaign("kobo-week"), catalog.book("second"))


def test_the_page_shows_only_the_sale_that_lowers_a_price(client):
    response = client.get("/books/first")
    assert response.status_code == 200
    soup = BeautifulSoup(response.data, "html.parser")
    assert soup.select_one(".banner.sale") is not None
    assert_only_the_covering_sale(text_of(response.data), "page")


@pytest.mark.parametrize(
    "path", ["/embed/first?layout=card", "/embed/first/fragment?layout=banner"]
)
def test_the_cards_show_only_the_sale_that_lowers_a_price(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert_only_the_covering_sale(text_of(response.data), path)


def test_a_flyer_is_made_only_for_the_sale_that_lowers_a_price(client):
    covering = client.get("/books/first/flyer.pdf?campaign=real")
    assert covering.status_code == 200 and covering.mimetype == "application/pdf"
    assert_only_the_covering_sale(pdf_text(covering.data), "flyer for real")
    for slug in NOT_COVERING:
        response = client.get(f"/books/first/flyer.pdf?campaign={slug}")
        assert response.status_code == 404, slug
        assert "does not include book 'first'" in text_of(response.data)
    # Without --campaign, a flyer printed during the sales is about the covering one.
    plain = client.get("/books/first/flyer.pdf")
    assert plain.status_code == 200
    assert_only_the_covering_sale(pdf_text(plain.data), "flyer")


@pytest.mark.slow
def test_the_export_builds_and_shows_only_the_sale_that_lowers_a_price(catalog_path, tmp_path):
    result = export_site(tmp_path / "site", catalog_path=catalog_path, base_url=BASE, at=DURING)
    root = result.target
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    flyers = {f for f in files if f.startswith("books/first/flyer")}
    assert "books/first/flyer-size-letter_campaign-real.pdf" in flyers
    for slug in NOT_COVERING:
        assert not [f for f in files if slug in f and f.startswith("books/first/")], slug
        assert not [url for url in result.missing if slug in url], slug
    # The Kobo sale is about the second book: its flyer is exported there.
    assert "books/second/flyer-size-letter_campaign-kobo-week.pdf" in files
    assert_only_the_covering_sale(text_of((root / "books/first/index.html").read_bytes()), "page")
    card = (root / "embed/first/layout-card_theme-light.html").read_bytes()
    assert_only_the_covering_sale(text_of(card), "exported card")
    for name in sorted(flyers):
        assert_only_the_covering_sale(pdf_text((root / name).read_bytes()), name)
