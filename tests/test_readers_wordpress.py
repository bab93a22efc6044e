"""Signing up from a card in a real WordPress post, in headless Chromium, with real SMTP.

WordPress frames an oEmbed card with ``sandbox="allow-scripts"``: no form may be sent,
no popup opened, no top navigation made by the frame. Two ways still work, and both are
tested: the ``signup`` card (its URL pasted alone on a line) sends the form with fetch()
from its script; any other card links to the sign-up page, which wp-embed.js opens in the
blog's own tab (the card's ``link`` message). The confirmation comes from the e-mail.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import create_engine, select

from storefront.app import create_app
from storefront.catalog import builtin_catalog_path
from storefront.readers import readers

from .conftest import require
from .smtp import SmtpServer
from .test_go_browser import READER_AGENT
from .test_widget_browser import new_context, serve_lazy
from .wordpress.site import WordPress, missing

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUIET_DAY = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def blog(tmp_path_factory):
    reason = missing()
    require(reason is None, reason or "")
    root = tmp_path_factory.mktemp("wordpress-readers")
    smtp = SmtpServer().start()
    with serve_lazy() as (store, holder):
        wp = WordPress(root / "wp", app_port=urlsplit(store).port)
        text = builtin_catalog_path().read_text(encoding="utf-8")
        text = re.sub(r'"https://([^"]+)"', lambda m: f'"{wp.url}/?store={m[1]}"', text)
        catalog = root / "catalog.toml"
        catalog.write_text(text, encoding="utf-8")
        database = f"sqlite:///{root / 'store.db'}"
        holder["app"] = create_app(
            {
                "TESTING": True,
                "CLOCK": lambda: QUIET_DAY,
                "BASE_URL": store,
                "CATALOG": str(catalog),
                "DATABASE_URL": database,
                "CATALOG_RELOAD_INTERVAL": 0,
                "SMTP_URL": smtp.url,
                "MAIL_FROM": "Robert Zimmerman <news@books.example.org>",
            },
            instance_path=str(root / "instance"),
        )
        try:
            wp.start()
            yield SimpleNamespace(wp=wp, store=store, database=database, smtp=smtp)
        finally:
            wp.stop()
            smtp.stop()


@pytest.fixture
def reader(chromium):
    ctx = new_context(chromium, viewport={"width": 1100, "height": 1000}, user_agent=READER_AGENT)
    yield ctx
    ctx.close()


def status(blog, email: str) -> str | None:
    engine = create_engine(blog.database)
    try:
        with engine.connect() as conn:
            return conn.execute(select(readers.c.status).where(readers.c.email == email)).scalar()
    finally:
        engine.dispose()


def confirm_from_mail(blog, reader, email: str) -> None:
    [mail] = [m for m in blog.smtp.wait_for(1) if email in m.rcpt_tos]
    html = BeautifulSoup(mail.part("html"), "html.parser")
    [url] = {a["href"] for a in html.find_all("a") if "/readers/confirm/" in a["href"]}
    tab = reader.new_page()
    tab.goto(url)  # the page alone (what a link scanner fetches) confirms nothing
    assert status(blog, email) == "pending"
    tab.get_by_role("button", name="Yes, send me the news").click()
    tab.get_by_role("heading", name="You are on the list").wait_for()
    assert status(blog, email) == "confirmed"


def test_sign_up_inside_the_signup_card_of_a_wordpress_post(blog, reader):
    card = f"{blog.store}/embed/genesis?layout=signup"
    post = blog.wp.add_post(1, "Hear about the sale", f"Want to know?\n\n{card}\n\nThanks!")
    page = reader.new_page()
    page.goto(post)
    soup = BeautifulSoup(page.content(), "html.parser")
    (iframe,) = soup.select("iframe.wp-embedded-content")
    assert iframe["sandbox"] == ["allow-scripts"]  # no forms, popups or top navigation
    assert iframe["src"].startswith(f"{blog.store}/embed/genesis?layout=signup")
    selector = "iframe.wp-embedded-content"
    page.wait_for_function(f"!document.querySelector('{selector}').hasAttribute('style')")
    frame = page.frame_locator(selector)
    field = frame.get_by_label("Your e-mail address")
    field.fill("wp-reader@example.org")
    page.wait_for_timeout(1700)  # a person's pace
    field.press("Enter")
    answer = frame.locator("[data-answer]")
    answer.filter(has_text=re.compile(r"^(?!Sending)\w")).wait_for()
    assert "on its way" in answer.inner_text()
    assert status(blog, "wp-reader@example.org") == "pending"
    confirm_from_mail(blog, reader, "wp-reader@example.org")


def test_the_link_in_another_card_opens_the_sign_up_page_in_the_blogs_tab(blog, reader):
    book = f"{blog.store}/books/genesis"
    post = blog.wp.add_post(1, "Christmas reading", f"Christmas reading:\n\n{book}\n\nEnjoy!")
    page = reader.new_page()
    page.goto(post)
    selector = "iframe.wp-embedded-content"
    page.wait_for_function(f"!document.querySelector('{selector}').hasAttribute('style')")
    opened: list = []
    reader.on("page", lambda popup: opened.append(popup.url))
    frame = page.frame_locator(selector)
    link = frame.get_by_role("link", name="Tell me about sales and new books")
    with page.expect_navigation(url=re.compile(r"/readers/subscribe")):
        link.click()
    assert opened == []  # the blog's own tab, not a popup
    assert urlsplit(page.url).path == "/readers/subscribe"
    page.get_by_label("Your e-mail address").fill("wp-link@example.org")
    page.wait_for_timeout(1700)
    page.get_by_role("button", name="Sign me up").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    confirm_from_mail(blog, reader, "wp-link@example.org")
