"""The static export in a real headless Chromium, served by Python's ``http.server``.

The export is served under ``/store/`` on one port; a "blog" on another port
(another origin, as in real life) embeds its cards: the iframe and script from
the exported oEmbed answer, and script-tag cards with their own layout and theme.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storefront.export import export_site
from storefront.urls import LAYOUTS, THEMES

from .test_export import serve_static

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SALE_DAY = datetime(2026, 12, 22, 9, 0, tzinfo=ZoneInfo("America/Phoenix"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The built-in catalog exported during the sale (direct buy links), served under /store."""
    root = tmp_path_factory.mktemp("static")
    with serve_static(root, "/store") as server_url:
        base = server_url + "/store"
        export_site(root / "store", catalog_path=None, base_url=base, at=SALE_DAY)
        yield root / "store", base


@pytest.fixture(scope="module")
def blog(tmp_path_factory, store):
    """A host page on another origin, embedding the exported cards as a blog would."""
    site, base = store
    oembed = json.loads((site / "oembed-url-genesis_format-json.json").read_text())
    root = tmp_path_factory.mktemp("blog")
    (root / "post.html").write_text(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A post</title>
<style>aside, a {{ color: red !important; font-size: 40px !important; }}</style></head>
<body><h1>A post about Apollo 8</h1>
<div id="banner" data-storefront-book="genesis" data-layout="banner" data-theme="dark"></div>
<div id="default" data-storefront-book="genesis"></div>
<div id="missing" data-storefront-book="no-such-book">The author's own fallback text.</div>
{oembed["html"]}
</body></html>""",
        encoding="utf-8",
    )
    with serve_static(root) as blog_url:
        yield blog_url + "/post.html"


def watch(page) -> list[str]:
    """Collect failed requests and HTTP errors the page meets."""
    problems: list[str] = []
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    return problems


def test_exported_store_browses_from_the_index_to_the_book_and_its_downloads(chromium, store):
    _, base = store
    context = chromium.new_context(accept_downloads=True)
    page = context.new_page()
    problems = watch(page)
    page.goto(base + "/")
    page.click("ul.shelf a")
    page.wait_for_load_state("load")
    assert page.url == base + "/books/genesis/index.html"
    assert page.locator("h1").inner_text().startswith("Genesis")
    assert page.locator(".banner.sale").is_visible()
    cover_width = page.eval_on_selector(".cover img", "img => img.complete && img.naturalWidth")
    assert cover_width > 0

    with page.expect_download() as sample:
        page.click("text=Free sample (EPUB)")
    epub = zipfile.ZipFile(io.BytesIO(Path(sample.value.path()).read_bytes()))
    assert epub.read("mimetype") == b"application/epub+zip"

    flyers = page.locator("a[href$='.pdf']")
    assert flyers.count() >= 1  # the page offers a printable flyer
    for i in range(flyers.count()):
        response = page.request.get(
            page.url.rsplit("/", 1)[0] + "/" + flyers.nth(i).get_attribute("href")
        )
        assert response.ok and response.body()[:5] == b"%PDF-"
        assert response.headers["content-type"] == "application/pdf"
    # Buy links go straight to the stores: nothing on this static host to count clicks.
    hrefs = page.eval_on_selector_all("a.buy", "links => links.map(a => a.href)")
    assert hrefs and all(h.startswith("https://") and "/go/" not in h for h in hrefs)
    assert problems == []
    context.close()


def test_exported_cards_render_on_another_site_by_iframe_and_script(chromium, blog):
    page = chromium.new_page()
    problems = watch(page)
    page.goto(blog)
    page.wait_for_selector("#banner[data-storefront-state=ready]")
    page.wait_for_selector("#default[data-storefront-state=ready]")
    page.wait_for_selector("#missing[data-storefront-state=error]")

    # Script cards: the requested layout in a shadow root the host's CSS cannot reach.
    layout = page.eval_on_selector(
        "#banner", "el => el.shadowRoot.querySelector('aside').dataset.layout"
    )
    assert layout == "banner"
    assert (
        page.eval_on_selector(
            "#default", "el => el.shadowRoot.querySelector('aside').dataset.layout"
        )
        == "card"
    )
    colour = page.eval_on_selector(
        "#banner", "el => getComputedStyle(el.shadowRoot.querySelector('a')).color"
    )
    assert colour != "rgb(255, 0, 0)"
    assert page.locator("#missing").inner_text() == "The author's own fallback text."

    # The oEmbed iframe: its card, its cover, and widget.js sizing the frame to its content.
    frame = page.frame_locator("iframe[data-storefront-frame]")
    assert frame.locator("[data-layout=card]").is_visible()
    assert frame.locator("img").evaluate("img => img.complete && img.naturalWidth") > 0
    page.wait_for_function(
        "() => document.querySelector('iframe[data-storefront-frame]').style.height !== ''"
    )
    # (the cards' own failure, a book the catalog lacks, is the one expected 404)
    assert [p for p in problems if "no-such-book" not in p] == []
    page.close()


def test_every_exported_card_page_renders_its_layout(chromium, store):
    _, base = store
    page = chromium.new_page()
    problems = watch(page)
    for layout in LAYOUTS:
        for theme in THEMES:
            page.goto(f"{base}/embed/genesis/layout-{layout}_theme-{theme}.html")
            assert page.locator(f"[data-layout={layout}]").is_visible(), (layout, theme)
            assert page.locator("a[data-offer]").count() >= 1
    assert problems == []
    page.close()
