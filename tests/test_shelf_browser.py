"""The shelf card on a blog's page in a real headless Chromium: iframe and script, and a click.

Two servers on 127.0.0.1: the store (the example catalog, its store URLs moved to the
blog's ``/vendor/`` pages) and the blog on another origin. The browser reaches nothing
else. A click from the shelf card is then counted by ``storefront stats`` as ``shelf``.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storefront.cli import main

from .conftest import serve_wsgi
from .test_widget_browser import blog_app, host_page, new_context, serve_lazy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ZIMMERMAN = ROOT / "examples" / "zimmerman" / "catalog.toml"
SALE_DAY = datetime(2026, 12, 22, 10, 0, tzinfo=ZoneInfo("America/Phoenix"))
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
READER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
ORDER = ["conscious-choice", "universe-in-a-mirror", "leaving-earth", "genesis"]


@pytest.fixture
def sites(make_app, clock, write_catalog):
    pages: dict[str, str] = {}
    clock.set(SALE_DAY)
    with serve_wsgi(blog_app(pages)) as blog, serve_lazy() as (store, holder):
        text = ZIMMERMAN.read_text(encoding="utf-8")
        text = re.sub(r'"https://([^"]+)"', rf'"{blog}/vendor/\1"', text)
        app = make_app(CATALOG=str(write_catalog(text)), BASE_URL=store)
        holder["app"] = app
        yield store, blog, pages, app


@pytest.fixture
def context(chromium):
    # A reader's browser: headless Chromium's own user agent is (rightly) counted as a bot.
    ctx = new_context(chromium, viewport={"width": 1000, "height": 900}, user_agent=READER)
    yield ctx
    ctx.close()


def test_iframe_shelf_card_on_a_host_page_and_a_counted_click(sites, context, runner, tmp_path):
    store, blog, pages, app = sites
    pages["/post"] = host_page(
        f'<iframe id="shelf" src="{store}/embed/shelf?author=zimmerman" width="320" '
        'height="300" title="Books"></iframe>'
        f'<script async src="{store}/widget.js"></script>'
    )
    page = context.new_page()
    page.goto(f"{blog}/post")
    frame = page.frame_locator("#shelf")
    rows = frame.locator("li[data-book]")
    rows.first.wait_for()
    assert [rows.nth(i).get_attribute("data-book") for i in range(rows.count())] == ORDER
    genesis = frame.locator('li[data-book="genesis"]')
    assert genesis.locator(".sale").inner_text() == "$2.99"  # the running sale, live
    # widget.js sizes the frame to the card (the card posts its height).
    page.wait_for_function("document.getElementById('shelf').height !== '300'")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#shelf").screenshot(path=str(SCREENSHOTS / "shelf-card.png"))
    with page.expect_navigation():
        genesis.locator("a.buy").click()
    go = [u for u in context.navigations if "/go/genesis/" in u]
    assert go and "src=shelf" in go[0]
    assert page.url.startswith(f"{blog}/vendor/")
    env = {
        "STOREFRONT_DATABASE_URL": app.config["DATABASE_URL"],
        "STOREFRONT_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    result = runner.invoke(main, ["stats", "--by", "placement", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    assert {r["key"]: r["clicks"] for r in json.loads(result.output)["rows"]} == {"shelf": 1}


def test_script_shelf_card_renders_in_a_shadow_root(sites, context):
    store, blog, pages, _ = sites
    pages["/side"] = host_page(
        '<div id="s1" data-storefront-shelf data-author="zimmerman"></div>'
        '<div id="s2" data-storefront-shelf data-series="nope"><a href="/x">Books</a></div>'
        f'<script async src="{store}/widget.js"></script>'
    )
    page = context.new_page()
    page.goto(f"{blog}/side")
    page.wait_for_function("document.querySelector('#s1').dataset.storefrontState === 'ready'")
    page.wait_for_function("document.querySelector('#s2').dataset.storefrontState === 'error'")
    assert page.evaluate("!!document.getElementById('s1').shadowRoot")
    assert page.evaluate("document.querySelectorAll('li[data-book]').length") == 0  # shadowed
    books = page.locator("#s1 li[data-book]")
    assert [books.nth(i).get_attribute("data-book") for i in range(books.count())] == ORDER
    hrefs = [h for h in page.locator("#s1 a.buy").evaluate_all("(a) => a.map((x) => x.href)")]
    assert len(hrefs) == 4 and all("/go/" in h and "src=shelf" in h for h in hrefs)
    # The host's hostile CSS does not reach into the card.
    title = page.locator("#s1 h2 a")
    assert title.evaluate("(el) => getComputedStyle(el).color") != "rgb(255, 0, 0)"
    # The fallback link of the card that failed stays for the reader.
    assert page.locator("#s2 a").text_content() == "Books"


def test_shelf_page_screenshot(sites, context):
    store, _, _, _ = sites
    page = context.new_page()
    page.goto(f"{store}/")
    page.locator("li[data-book]").first.wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "shelf-page.png"), full_page=True)
    assert shutil.disk_usage(SCREENSHOTS).free > 0
