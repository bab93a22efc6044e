"""Every price on a page agrees at every instant: two currencies, two formats, one sale.

The catalog (tests/data/sale_two_currencies) sells the ebook at Kobo in EUR and at
Amazon in GBP and the audiobook at Amazon in GBP; a January sale takes 40% off all
three. Before the sale (announced), during it and after it, the book page's banner,
its per-format prices and JSON-LD, the card and the flyer's text may show only the
prices the offers have (or, announcing, will have), each in its own currency, and the
banner names every format the sale lowers.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from storefront.catalog import load_catalog
from storefront.pricing import book_prices, format_money, sale_summary
from tests.test_flyer import pdf_text

CATALOG = Path(__file__).parent / "data" / "sale_two_currencies" / "catalog.toml"
BEFORE = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
DURING = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
AFTER = datetime(2027, 1, 25, 12, 0, tzinfo=UTC)
SALE = {"€2.99": "€4.99", "£2.39": "£3.99", "£8.99": "£14.99"}  # sale price: list price
LIST = set(SALE.values())
MONEY = re.compile(r"[€£$]\d+(?:[.,]\d\d)?")


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(CATALOG)


@pytest.fixture
def sale_app(make_app):
    return make_app(CATALOG=str(CATALOG))


def shown(catalog, at) -> set[str]:
    """What the offers cost at ``at``, formatted as every output formats money."""
    book = catalog.book("winter")
    locale = catalog.site.locale
    return {
        format_money(p.amount, p.currency, locale) for p in book_prices(catalog, book, at).values()
    }


def test_offers_are_what_the_test_says(catalog):
    assert shown(catalog, BEFORE) == LIST == shown(catalog, AFTER)
    assert shown(catalog, DURING) == set(SALE)


@pytest.mark.parametrize("at", [BEFORE, DURING])
def test_summary_names_every_format_with_each_currency(catalog, at):
    summary = sale_summary(catalog, catalog.book("winter"), at)
    assert summary.upcoming is (at == BEFORE)
    assert [f.format for f in summary.formats] == ["ebook", "audiobook"]
    ebook, audio = summary.formats
    assert [(p.text, p.list_text, p.vendors) for p in ebook.prices] == [
        ("€2.99", "€4.99", ("Kobo",)),
        ("£2.39", "£3.99", ("Amazon",)),
    ]
    assert [(p.text, p.list_text, p.vendors) for p in audio.prices] == [("£8.99", "£14.99", ())]
    verb = "will be" if at == BEFORE else "is"
    assert (
        f"ebook {verb} €2.99 instead of €4.99 at Kobo or £2.39 instead of £3.99 at Amazon"
        in summary.text
    )
    assert f"the audiobook {verb} £8.99 instead of £14.99: 40% off" in summary.text


def test_no_summary_after_the_sale(catalog):
    assert sale_summary(catalog, catalog.book("winter"), AFTER) is None


def banner_prices(banner) -> tuple[set[str], set[str]]:
    """The banner's sale prices (<strong>) and every amount it names."""
    return {
        s.get_text(strip=True)
        for s in banner.find_all("strong")
        if MONEY.fullmatch(s.get_text(strip=True))
    }, set(MONEY.findall(banner.get_text(" ")))


@pytest.mark.parametrize("at", [BEFORE, DURING, AFTER])
def test_page_banner_prices_and_json_ld_agree(sale_app, clock, catalog, at):
    clock.set(at)
    soup = BeautifulSoup(sale_app.test_client().get("/books/winter").data, "html.parser")
    now = shown(catalog, at)
    # The format's headline prices: one per currency, each an offer's price now.
    for fmt, expected in (("ebook", 2), ("audiobook", 1)):
        heads = soup.select(f'section.format[data-format="{fmt}"] .price .now')
        assert len(heads) == expected
        assert {h.get_text(strip=True) for h in heads} <= now
    # Every offer's button shows its own price, nothing else.
    for li in soup.select("ul.vendors li"):
        amounts = MONEY.findall(li.select_one(".amount").get_text(" "))
        assert amounts and amounts[0] in now
    # JSON-LD offers: the same amounts and currencies as the page.
    data = json.loads(soup.find("script", type="application/ld+json").string)
    ld = {
        format_money(Decimal(o["price"]), o["priceCurrency"], catalog.site.locale)
        for ex in data["workExample"]
        for o in ex["offers"]
    }
    assert ld == now
    banner = soup.select_one(".banner.sale, .banner.upcoming")
    if at == AFTER:
        assert banner is None
        assert not set(MONEY.findall(soup.get_text(" "))) & set(SALE)
        return
    strong, named = banner_prices(banner)
    assert strong == set(SALE)  # every sale price, announced or running
    assert named == set(SALE) | LIST
    text = banner.get_text(" ", strip=True)
    assert "ebook" in text and "audiobook" in text
    if at == DURING:
        assert strong == now and "sale" in banner["class"]
        assert {o["price"] for ex in data["workExample"] for o in ex["offers"]} == {
            "2.99",
            "2.39",
            "8.99",
        }
    else:
        assert "upcoming" in banner["class"] and "will be" in text


@pytest.mark.parametrize("at", [BEFORE, DURING, AFTER])
@pytest.mark.parametrize("layout", ["card", "banner", "compact"])
def test_card_shows_the_same_prices(sale_app, clock, catalog, at, layout):
    clock.set(at)
    soup = BeautifulSoup(
        sale_app.test_client().get(f"/embed/winter?layout={layout}").data, "html.parser"
    )
    root = soup.find(attrs={"data-layout": layout})
    named = set(MONEY.findall(root.get_text(" ")))
    if at == AFTER:
        assert named <= LIST
    elif at == BEFORE:
        assert named <= LIST | set(SALE)
        assert "Coming soon" in root.get_text(" ")
        assert set(SALE) <= named  # the announcement names every price it will set
    else:
        assert set(SALE) <= named <= set(SALE) | LIST
        text = root.get_text(" ", strip=True)
        assert "ebook is €2.99 instead of €4.99 at Kobo or £2.39 instead of £3.99 at Amazon" in text
        assert "audiobook is £8.99 instead of £14.99" in text


@pytest.mark.parametrize("at", [BEFORE, DURING, AFTER])
def test_flyer_text_shows_the_same_prices(sale_app, clock, catalog, at):
    clock.set(at)
    response = sale_app.test_client().get("/books/winter/flyer.pdf")
    assert response.status_code == 200
    named = set(MONEY.findall(pdf_text(response.data)))
    now = shown(catalog, at)
    if at == DURING:
        assert named == set(SALE) | LIST  # each sale price with its list price, every currency
    else:
        assert named == now == LIST
