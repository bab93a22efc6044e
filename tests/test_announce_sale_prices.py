"""A sale announcement names every price the sale sets, each as the offers and the page show it.

The catalog of tests/test_sale_banner.py: the ebook at Kobo in EUR and at Amazon in GBP,
the audiobook at Amazon in GBP, all 40% off in January. The announcement is drafted,
rendered and made into the message readers get (the per-announcement template, as the
sender sends it), then parsed with ``email``: its text part must name each format with
each of its sale prices, that price's list price and the stores that have it, and no
other amount; during the sale those are the prices the book page shows.
"""

from __future__ import annotations

import email
import re
from email import policy
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from storefront.catalog import load_catalog
from storefront.mail.announce import draft_campaign
from storefront.mail.message import MessageTemplate
from storefront.mail.render import UNSUBSCRIBE, render_announcement
from storefront.pricing import sale_summary
from storefront.urls import Urls
from tests.test_sale_banner import BEFORE, CATALOG, DURING, MONEY, SALE, banner_prices, shown

BASE = "https://books.example.org"
URLS = Urls(BASE)
PAIR = re.compile(r"([€£]\d+\.\d\d) \(was ([€£]\d+\.\d\d)\)")


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(CATALOG)


@pytest.fixture
def sale_app(make_app):
    return make_app(CATALOG=str(CATALOG))


def received(catalog, at) -> email.message.EmailMessage:
    """The announcement of the January sale drafted at ``at``, as a reader receives it."""
    draft = draft_campaign(catalog, catalog.campaign("january"), URLS, at)
    mail = render_announcement(
        draft.markdown, draft.subject, catalog=catalog, urls=URLS, campaign=draft.campaign
    )
    template = MessageTemplate.build(
        subject=mail.subject,
        sender="Anna Zweig <news@books.example.org>",
        text=mail.text,
        html=mail.html,
        placeholder=UNSUBSCRIBE,
        list_id="Zweig Books <readers.books.example.org>",
        unsubscribe_mailto="mailto:news@books.example.org?subject=unsubscribe",
    )
    data = template.fill(
        to="reader@example.org",
        msgid="<storefront.t.1@books.example.org>",
        unsubscribe_url=f"{BASE}/readers/unsubscribe/abc",
        date=at,
    )
    return email.message_from_bytes(data, policy=policy.default)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("at", [BEFORE, DURING])
def test_the_text_part_names_each_format_with_each_price_and_store(catalog, at):
    msg = received(catalog, at)
    text = flat(msg.get_body(("plain",)).get_content())
    ends = sale_summary(catalog, catalog.book("winter"), at).ends_text
    assert (
        f"- Ebook: €2.99 (was €4.99) at Kobo, or £2.39 (was £3.99) at Amazon until {ends}" in text
    )
    assert f"- Audiobook: £8.99 (was £14.99) until {ends}" in text
    # Every amount is a sale price next to its own list price, in its own currency.
    assert dict(PAIR.findall(text)) == SALE
    assert len(PAIR.findall(text)) == len(SALE)
    assert set(MONEY.findall(text)) == set(SALE) | set(SALE.values())
    # The HTML part says the same, the sale prices in bold.
    html = BeautifulSoup(msg.get_body(("html",)).get_content(), "html.parser")
    assert {s.get_text(strip=True) for s in html.find_all("strong")} >= set(SALE)
    assert dict(PAIR.findall(flat(html.get_text(" ")))) == SALE


def test_each_store_keeps_its_tracked_buy_link(catalog):
    msg = received(catalog, DURING)
    html = BeautifulSoup(msg.get_body(("html",)).get_content(), "html.parser")
    go = {}
    for a in html.find_all("a", href=True):
        parts = urlsplit(a["href"])
        if parts.path.startswith("/go/winter/"):
            query = parse_qs(parts.query)
            assert (query["src"], query["c"]) == (["email"], ["january"])
            go[parts.path.rsplit("/", 1)[1]] = a.get_text(strip=True)
    assert go == {"kobo": "Kobo", "kindle": "Amazon", "audio": "Amazon"}


def test_the_announcement_names_the_prices_the_page_shows(sale_app, clock, catalog):
    clock.set(DURING)
    page = BeautifulSoup(sale_app.test_client().get("/books/winter").data, "html.parser")
    heads = {h.get_text(strip=True) for h in page.select("section.format .price .now")}
    strong, _ = banner_prices(page.select_one(".banner.sale"))
    on_page = strong | heads
    text = flat(received(catalog, DURING).get_body(("plain",)).get_content())
    announced = {sale for sale, _ in PAIR.findall(text)}
    assert announced == on_page == shown(catalog, DURING)
