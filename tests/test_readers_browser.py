"""Signing up in a card on a hostile host page, in a real headless Chromium, with real SMTP.

The card is framed as WordPress frames it (``sandbox="allow-scripts"``: an opaque origin,
no forms, no popups, no top navigation): the card's script sends the form with fetch().
The confirmation e-mail is read from the SMTP server; its link's page confirms only when
its button is pressed.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from storefront.catalog import builtin_catalog_path
from storefront.readers import readers

from .conftest import serve_wsgi
from .test_widget_browser import blog_app, host_page, new_context, serve_lazy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SENDER = "Robert Zimmerman <news@books.example.org>"


@pytest.fixture
def sites(make_app, clock, write_catalog, smtp_server):
    pages: dict[str, str] = {}
    with serve_wsgi(blog_app(pages)) as blog, serve_lazy() as (store, holder):
        text = builtin_catalog_path().read_text(encoding="utf-8")
        text = re.sub(r'"https://([^"]+)"', rf'"{blog}/vendor/\1"', text)
        app = make_app(
            CATALOG=str(write_catalog(text)),
            BASE_URL=store,
            SMTP_URL=smtp_server.url,
            MAIL_FROM=SENDER,
        )
        holder["app"] = app
        yield SimpleNamespace(store=store, blog=blog, pages=pages, app=app, smtp=smtp_server)


@pytest.fixture
def context(chromium):
    ctx = new_context(chromium, viewport={"width": 1000, "height": 900})
    yield ctx
    ctx.close()


def reader_status(app, email: str) -> str | None:
    from storefront.clickdb import get_click_store

    with app.app_context(), get_click_store().engine.connect() as conn:
        return conn.execute(select(readers.c.status).where(readers.c.email == email)).scalar()


def confirm_link(mail) -> str:
    html = BeautifulSoup(mail.part("html"), "html.parser")
    [url] = {a["href"] for a in html.find_all("a") if "/readers/confirm/" in a["href"]}
    assert url in mail.part("plain")
    return url


def fill_and_send(frame, email: str, page) -> str:
    frame.get_by_label("Your e-mail address").fill(email)
    page.wait_for_timeout(1700)  # a person's pace: past the minimum fill time
    # Enter in the field: the implicit submission clicks the form's button, which is
    # what the card's script catches (the sandbox never lets a submit event fire).
    frame.get_by_label("Your e-mail address").press("Enter")
    answer = frame.locator("[data-answer]")
    answer.filter(has_text=re.compile(r"^(?!Sending)\w")).wait_for()
    return answer.inner_text()


def test_sign_up_in_a_sandboxed_card_on_a_hostile_page_then_confirm(sites, context):
    sites.pages["/post"] = host_page(
        f'<iframe id="frame" sandbox="allow-scripts" src="{sites.store}/embed/genesis'
        '?layout=signup#?secret=abcdefghij" width="420" height="600" title="Sign up"></iframe>'
    )
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.goto(f"{sites.blog}/post")
    frame = page.frame_locator("#frame")
    assert frame.locator("main").get_attribute("data-layout") == "signup"
    said = fill_and_send(frame, "Reader@Example.org", page)
    assert "Check your inbox" in said or "e-mail is on its way" in said, said
    [mail] = sites.smtp.wait_for(1)
    assert mail.rcpt_tos == ["reader@example.org"]
    assert reader_status(sites.app, "reader@example.org") == "pending"
    assert not [c for c in console if "Content Security Policy" in c], console

    # The link in the e-mail: its page alone confirms nothing; its button does.
    url = confirm_link(mail)
    assert urlsplit(url).netloc == urlsplit(sites.store).netloc
    tab = context.new_page()
    tab.goto(url)
    assert reader_status(sites.app, "reader@example.org") == "pending"
    tab.get_by_role("button", name="Yes, send me the news").click()
    tab.get_by_role("heading", name="You are on the list").wait_for()
    assert reader_status(sites.app, "reader@example.org") == "confirmed"


def test_the_card_shows_a_clear_answer_for_a_bad_address(sites, context):
    sites.pages["/post"] = host_page(
        f'<iframe id="frame" sandbox="allow-scripts" src="{sites.store}/embed/genesis'
        '?layout=signup" width="420" height="600" title="Sign up"></iframe>'
    )
    page = context.new_page()
    page.goto(f"{sites.blog}/post")
    frame = page.frame_locator("#frame")
    said = fill_and_send(frame, "not-an-address", page)
    assert "@-sign" in said
    assert sites.smtp.messages == []


def test_other_layouts_link_to_the_sign_up_page(sites, context):
    page = context.new_page()
    page.goto(f"{sites.store}/embed/genesis?layout=compact")
    link = page.get_by_role("link", name="Tell me about sales and new books")
    href = link.get_attribute("href")
    assert href == f"{sites.store}/readers/subscribe?book=genesis&src=compact"
    signup = context.new_page()
    signup.goto(href)
    signup.get_by_label("Your e-mail address").fill("page@example.org")
    signup.wait_for_timeout(1700)
    signup.get_by_role("button", name="Sign me up").click()
    signup.get_by_role("heading", name="Check your inbox").wait_for()
    [mail] = sites.smtp.wait_for(1)
    assert mail.rcpt_tos == ["page@example.org"]


def test_sign_up_in_the_script_embed_opens_the_answer_in_a_new_tab(sites, context):
    sites.pages["/post"] = host_page(
        '<div data-storefront-book="genesis" data-layout="signup"></div>'
        f'<script async src="{sites.store}/widget.js"></script>'
    )
    page = context.new_page()
    page.goto(f"{sites.blog}/post")
    page.wait_for_function(
        "document.querySelector('[data-storefront-book]').dataset.storefrontState === 'ready'"
    )
    host = page.locator("[data-storefront-book]")
    field = host.get_by_label("Your e-mail address")
    field.fill("shadow@example.org")
    page.wait_for_timeout(1700)
    with context.expect_page() as answer_info:
        host.get_by_role("button", name="Sign me up").click()
    answer = answer_info.value
    answer.get_by_role("heading", name="Check your inbox").wait_for()
    assert page.url == f"{sites.blog}/post"  # the blog's tab stays on the post
    [mail] = sites.smtp.wait_for(1)
    assert mail.rcpt_tos == ["shadow@example.org"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_signup_card_with_its_form_is_accessible_and_fits(sites, chromium, theme):
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    ctx = new_context(chromium, viewport={"width": 420, "height": 700})
    try:
        page = ctx.new_page()
        page.goto(f"{sites.store}/embed/genesis?layout=signup&theme={theme}")
        assert page.locator("form[data-storefront-signup]").count() == 1
        results = axe.Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
        page.set_viewport_size({"width": 280, "height": 700})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 280
    finally:
        ctx.close()
