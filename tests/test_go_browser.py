"""The universal link in a real browser (headless Chromium): choose a store, be sent there next
time, choose again. The stores are a local server: tests never reach the internet."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from storefront.storage import clicks

from .conftest import serve_wsgi
from .helpers import book, catalog_toml, edition, offer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A reader's browser: headless Chromium's own user agent says "HeadlessChrome", a bot.
READER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def catalog(stores: str) -> str:
    """The test catalog's book, sold at two stores served on ``stores``."""
    ebook = edition(
        "ebook",
        offer("shop", f"{stores}/shop/first", slug="shop"),
        offer("other", f"{stores}/other/first", slug="other"),
    )
    vendors = [{"slug": "shop", "name": "The Shop"}, {"slug": "other", "name": "Other Store"}]
    return catalog_toml(book("first", "First Book", ebook), vendors=vendors)


def store_app() -> Flask:
    """The stores: a page per product, so the browser has somewhere to land."""
    app = Flask("stores")

    @app.get("/<vendor>/<book>")
    def product(vendor: str, book: str) -> str:
        return f"<title>{vendor} sells {book}</title><h1>{vendor}</h1>"

    return app


@pytest.fixture
def sites(make_app, write_catalog):
    with serve_wsgi(store_app()) as stores:
        app = make_app(CATALOG=str(write_catalog(catalog(stores))))
        with serve_wsgi(app) as storefront:
            yield app, storefront, stores


def test_pick_a_store_then_go_straight_there_then_choose_again(chromium, sites):
    app, storefront, stores = sites
    context = chromium.new_context(user_agent=READER_AGENT)
    page = context.new_page()
    try:
        page.goto(f"{storefront}/go/first?src=qr")
        assert page.locator("h2", has_text="Choose your store").is_visible()
        page.locator("li[data-offer=other] a").click()
        page.wait_for_url(f"{stores}/other/first")

        # Next time the universal link goes straight to the store picked.
        page.goto(f"{storefront}/go/first?src=social")
        assert page.url == f"{stores}/other/first"

        # The book page's "Choose your store" shows the chooser with the saved store.
        page.goto(f"{storefront}/books/first")
        page.locator(".choose-store a").click()
        note = page.locator(".saved-note")
        assert "Other Store" in note.inner_text()
        note.get_by_role("link", name="forget my choice").click()
        assert "forgotten" in page.locator(".saved-note").inner_text()
        page.goto(f"{storefront}/go/first")
        assert page.url == f"{storefront}/go/first"  # the chooser again, not a redirect
    finally:
        context.close()

    store = app.extensions["clicks"]
    with store.engine.connect() as conn:
        recorded = conn.execute(
            select(clicks.c.offer, clicks.c.placement, clicks.c.kind).order_by(clicks.c.id)
        ).all()
    assert recorded == [("other", "qr", "reader"), ("other", "social", "reader")]
