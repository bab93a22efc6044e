"""The three ways to put a card in a real WordPress, read and clicked in headless Chromium.

A real WordPress 6.1 (Debian's packages, MariaDB in a private folder, ``php -S``; see
``tests/wordpress/site.py``) and the Storefront app, both on 127.0.0.1. WordPress's embed
handling is its own: the one must-use plugin only lets it fetch the app on 127.0.0.1.

1. oEmbed: the book's URL alone on a line of a post.
2. The script embed (``widget.js``) in a Custom HTML block, by an administrator.
3. The static snippet of ``storefront widget``, pasted by a user with the Author role
   (WordPress filters their HTML with kses).

Each way: the card is shown whole, a buy click reaches ``/go/`` and ``storefront stats``
counts it. Screenshots go to ``artifacts/screenshots/wordpress-*.png`` (the ones in
``docs/screenshots/`` are copies of them).
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from storefront.app import create_app
from storefront.catalog import builtin_catalog_path

from .conftest import require
from .test_go_browser import READER_AGENT
from .test_widget_browser import new_context, serve_lazy
from .wordpress.site import WordPress, missing

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
QUIET_DAY = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def blog(tmp_path_factory):
    """A WordPress blog and the Storefront app (its store links lead back to the blog)."""
    reason = missing()
    require(reason is None, reason or "")
    root = tmp_path_factory.mktemp("wordpress")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve_lazy() as (store, holder):
        wp = WordPress(root / "wp", app_port=urlsplit(store).port)
        # The vendors' pages: the blog's front page (the browser reaches 127.0.0.1 only).
        text = builtin_catalog_path().read_text(encoding="utf-8")
        text = re.sub(r'"https://([^"]+)"', lambda m: f'"{wp.url}/?store={m[1]}"', text)
        catalog = root / "catalog.toml"
        catalog.write_text(text, encoding="utf-8")
        database = f"sqlite:///{root / 'clicks.db'}"
        holder["app"] = create_app(
            {
                "TESTING": True,
                "CLOCK": lambda: QUIET_DAY,
                "BASE_URL": store,
                "CATALOG": str(catalog),
                "DATABASE_URL": database,
                "CATALOG_RELOAD_INTERVAL": 0,
            },
            instance_path=str(root / "instance"),
        )
        try:
            wp.start()
            yield SimpleNamespace(
                wp=wp,
                store=store,
                catalog=catalog,
                database=database,
                author=wp.add_user("author", "author"),
            )
        finally:
            wp.stop()


@pytest.fixture
def reader(chromium):
    """A reader's browser tab: a desktop user agent, 127.0.0.1 only, navigations recorded."""
    ctx = new_context(chromium, viewport={"width": 1100, "height": 1000}, user_agent=READER_AGENT)
    top: list[str] = []

    def record(request) -> None:
        # A popup's first request has no frame yet: those are not the blog's tab.
        try:
            if request.is_navigation_request() and request.frame.parent_frame is None:
                top.append(request.url)
        except Exception:  # noqa: BLE001 (playwright.Error: no frame)
            pass

    ctx.on("request", record)
    ctx.top_navigations = top
    yield ctx
    ctx.close()


def clicks(blog, runner, by: str = "placement") -> dict[str | None, int]:
    """``storefront stats --by BY --format json``: clicks per key."""
    from storefront.cli import main

    result = runner.invoke(
        main,
        ["stats", "--by", by, "--format", "json", "--catalog", str(blog.catalog)],
        env={"STOREFRONT_DATABASE_URL": blog.database},
    )
    assert result.exit_code == 0, result.output
    return {row["key"]: row["clicks"] for row in json.loads(result.stdout)["rows"]}


def content_height(frame) -> int:
    return frame.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")


# --------------------------------------------------------------------------- 1. oEmbed


def test_a_book_url_alone_on_a_line_embeds_a_card_that_fits_and_sells(blog, reader, runner):
    book = f"{blog.store}/books/genesis"
    post = blog.wp.add_post(1, "Christmas reading", f"Christmas reading:\n\n{book}\n\nEnjoy!")
    before = clicks(blog, runner)

    page = reader.new_page()
    page.goto(post)
    # What WordPress made of our oEmbed html (its own filter and secret).
    soup = BeautifulSoup(page.content(), "html.parser")
    (quote,) = soup.select("blockquote.wp-embedded-content")
    assert [a["href"] for a in quote.find_all("a")] == [book]  # the fallback link
    assert quote.a.get_text() == "Genesis: the Story of Apollo 8, by Robert Zimmerman"
    (iframe,) = soup.select("iframe.wp-embedded-content")
    secret = iframe["data-secret"]
    assert iframe["sandbox"] == ["allow-scripts"]  # no popups, no top navigation
    assert (
        iframe["src"] == f"{blog.store}/embed/genesis?layout=compact&theme=light#?secret={secret}"
    )
    assert int(iframe["width"]) <= 500 and int(iframe["height"]) <= 750
    assert soup.find("script", src=re.compile(r"wp-embed(\.min)?\.js"))

    # wp-embed.js shows the frame and sizes it to the card's own height.
    selector = "iframe.wp-embedded-content"
    page.wait_for_function(f"!document.querySelector('{selector}').hasAttribute('style')")
    frame = page.frame(url=re.compile(r"/embed/genesis"))
    height = content_height(frame)
    page.wait_for_function(
        f"Math.abs(document.querySelector('{selector}').clientHeight - {height}) <= 2"
    )
    assert height > 200  # the whole compact card, more than WordPress's minimum
    assert frame.evaluate("document.documentElement.scrollHeight") <= height + 1  # nothing cut
    assert page.locator("blockquote.wp-embedded-content").is_hidden()
    page.locator(selector).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "wordpress-oembed.png"))

    # A buy click navigates the blog's own tab to the tracked link (no popup).
    opened: list = []
    reader.on("page", lambda popup: opened.append(popup.url))
    with page.expect_navigation(url=re.compile(r"\?store=")):
        page.frame_locator(selector).locator('a[data-offer="ebookit"]').click()
    assert f"{blog.store}/go/genesis/ebookit?src=compact" in reader.top_navigations
    assert opened == []
    after = clicks(blog, runner)
    assert after.get("compact", 0) == before.get("compact", 0) + 1


# --------------------------------------------------------------------------- 2. Custom HTML


def test_the_script_embed_in_a_custom_html_block_renders_and_sells(blog, reader, runner):
    html = (
        "<!-- wp:html -->\n"
        '<div data-storefront-book="genesis" data-layout="card">'
        f'<a href="{blog.store}/books/genesis">Genesis: the Story of Apollo 8</a></div>\n'
        f'<script async src="{blog.store}/widget.js"></script>\n'
        "<!-- /wp:html -->"
    )
    post = blog.wp.add_post(1, "From the script embed", html)
    before = clicks(blog, runner)
    page = reader.new_page()
    page.goto(post)
    host = page.locator("[data-storefront-book]")
    page.wait_for_function(
        "document.querySelector('[data-storefront-book]').dataset.storefrontState === 'ready'"
    )
    card = host.locator("aside")
    assert card.get_attribute("data-layout") == "card"
    assert "Genesis" in host.locator("h2").inner_text()
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "wordpress-custom-html.png"))

    with reader.expect_page() as popup_info:
        host.locator('a[data-offer="ebookit"]').click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.url.startswith(f"{blog.wp.url}/?store=")
    popup.close()
    after = clicks(blog, runner)
    assert after.get("card", 0) == before.get("card", 0) + 1


# --------------------------------------------------------------------------- 3. Author snippet


def snippet(blog, runner, layout: str = "card") -> str:
    from storefront.cli import main

    result = runner.invoke(
        main,
        [
            "widget",
            "genesis",
            "--layout",
            layout,
            "--base-url",
            blog.store,
            "--catalog",
            str(blog.catalog),
            "--now",
            QUIET_DAY.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def elements(html: str) -> list[tuple[str, dict]]:
    soup = BeautifulSoup(html, "html.parser")
    return [(el.name, dict(el.attrs)) for el in soup.find("aside").find_all(True)]


@pytest.mark.parametrize("layout", ["card", "banner", "compact", "support"])
def test_the_static_snippet_is_made_of_what_kses_keeps(blog, runner, layout):
    html = snippet(blog, runner, layout)
    kept = blog.wp.kses(blog.author, html)
    assert elements(kept) == elements(html)
    root = BeautifulSoup(kept, "html.parser").find("aside")
    assert root["style"] == BeautifulSoup(html, "html.parser").find("aside")["style"]


def test_an_authors_pasted_snippet_looks_like_the_standalone_card_and_sells(blog, reader, runner):
    html = snippet(blog, runner)
    post = blog.wp.add_post(blog.author, "From the snippet", html)
    before = clicks(blog, runner)
    page = reader.new_page()
    page.goto(post)
    # WordPress's content filters (wptexturize, smilies, wpautop) changed no character.
    served = BeautifulSoup(page.content(), "html.parser").find("aside")
    pasted = BeautifulSoup(html, "html.parser").find("aside")
    assert served.get_text(" ", strip=True) == pasted.get_text(" ", strip=True)
    card = page.locator("aside[data-layout=card]")
    box = card.bounding_box()
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "wordpress-snippet.png"))
    in_blog = card.screenshot()

    # The same snippet alone on a blank page, in a column as wide as the post's.
    alone = reader.new_page()
    alone.set_content(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Snippet</title>"
        f"</head><body style='margin:0'><div style='width:{box['width']}px'>{html}</div>"
        "</body></html>",
        wait_until="load",
    )
    standalone = alone.locator("aside[data-layout=card]")
    assert abs(standalone.bounding_box()["height"] - box["height"]) <= 2
    alone_shot = standalone.screenshot()
    (ARTIFACTS / "wordpress-snippet-in-post.png").write_bytes(in_blog)
    (ARTIFACTS / "wordpress-snippet-alone.png").write_bytes(alone_shot)
    assert same_picture(in_blog, alone_shot), "the snippet looks different inside WordPress"
    alone.close()

    with reader.expect_page() as popup_info:
        card.locator('a[data-offer="ebookit"]').click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.url.startswith(f"{blog.wp.url}/?store=")
    popup.close()
    after = clicks(blog, runner)
    assert after.get("card", 0) == before.get("card", 0) + 1


def same_picture(first: bytes, second: bytes, tolerance: float = 0.01) -> bool:
    """Two screenshots that differ in at most ``tolerance`` of their pixels.

    A card may sit half a pixel lower on one page than on the other: the best of the
    alignments within a pixel counts.
    """
    from PIL import Image, ImageChops

    a = Image.open(io.BytesIO(first)).convert("RGB")
    b = Image.open(io.BytesIO(second)).convert("RGB")
    if abs(a.width - b.width) > 2 or abs(a.height - b.height) > 2:
        return False
    width, height = min(a.width, b.width) - 2, min(a.height, b.height) - 2
    best = width * height
    for dx in (0, 1, 2):
        for dy in (0, 1, 2):
            diff = ImageChops.difference(
                a.crop((1, 1, 1 + width, 1 + height)),
                b.crop((dx, dy, dx + width, dy + height)),
            ).convert("L")
            best = min(best, diff.point(lambda v: 255 if v > 48 else 0).histogram()[255])
    return best <= tolerance * width * height
