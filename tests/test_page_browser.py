"""The book page in real headless Chromium: axe-core (WCAG 2.1 AA), phone widths, no script."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from .conftest import serve_wsgi

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SALE_DAY = datetime(2026, 12, 22, 10, 0, tzinfo=ZoneInfo("America/Phoenix"))
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def site(app, clock):
    clock.set(SALE_DAY)  # the sale banner and struck prices are on the page too
    with serve_wsgi(app) as base_url:
        yield base_url


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [320, 1280])
def test_book_page_passes_axe_wcag_aa(chromium, site, scheme, width):
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True
    )
    page = context.new_page()
    page.goto(f"{site}/books/genesis")
    results = axe.Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()
    # Responsive: nothing wider than the viewport, even at 320 px.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width
    context.close()


def test_keyboard_focus_is_visible(chromium, site):
    page = chromium.new_page()
    page.goto(f"{site}/books/genesis")
    page.keyboard.press("Tab")  # the skip link
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "getComputedStyle(document.activeElement).outlineStyle + ' ' +"
        " getComputedStyle(document.activeElement).outlineWidth"
    )
    assert outline.startswith("solid") and outline.endswith("3px")
    page.close()


def test_page_is_readable_and_buyable_without_javascript(chromium, site):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site}/books/genesis")
    assert page.locator("h1").inner_text().startswith("Genesis")
    first_ebook = page.locator('section.format[data-format="ebook"] a.buy').first
    assert first_ebook.is_visible()
    assert first_ebook.get_attribute("href").startswith("/go/genesis/ebookit")
    assert "$2.99" in first_ebook.inner_text()
    context.close()
