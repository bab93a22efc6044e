"""Cards embedded in a hostile host page, in a real headless Chromium.

Two real HTTP servers on 127.0.0.1: the store, and a "blog" on another port (another
origin) whose CSS tries to restyle everything. The catalog's store URLs point at the
blog's ``/vendor/`` pages, and the browser may reach nothing but 127.0.0.1: no test
touches the internet. Screenshots of every layout and theme go to artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import re
import threading
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from storefront.catalog import builtin_catalog_path
from storefront.urls import LAYOUTS, THEMES

from .conftest import serve_wsgi

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHOENIX = ZoneInfo("America/Phoenix")
QUIET_DAY = datetime(2026, 11, 25, 12, 0, tzinfo=PHOENIX)
SALE_DAY = datetime(2026, 12, 22, 10, 0, tzinfo=PHOENIX)
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
WIDTHS = {"card": 480, "banner": 760, "compact": 300, "support": 420, "signup": 420}
RED, YELLOW = "rgb(255, 0, 0)", "rgb(255, 255, 0)"
# Every element's colours, to compare two renderings of a card.
COLOURS_JS = """(root) => [root, ...root.querySelectorAll('*')].map((el) => {
  const s = getComputedStyle(el);
  return [el.tagName, s.color, s.backgroundColor, s.borderTopColor, s.borderLeftColor];
})"""
# (theme, the reader's colour scheme): auto is shown in both.
THEME_SCHEMES = [("light", "light"), ("dark", "dark"), ("auto", "light"), ("auto", "dark")]
HOSTILE_CSS = """
* { color: red !important; font-size: 40px !important; font-family: monospace !important;
    line-height: 3 !important; letter-spacing: 4px !important }
div, aside, iframe { border: 5px dashed red; padding: 30px }
a { background: yellow !important; text-transform: uppercase }
html { font-size: 40px }
"""


@contextlib.contextmanager
def serve_lazy():
    """Serve a WSGI app that is set after the port is known (its base URL needs the port)."""
    from werkzeug.serving import make_server

    holder: dict = {}
    server = make_server(
        "127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", holder
    finally:
        server.shutdown()
        thread.join(timeout=5)


def blog_app(pages: dict[str, str]):
    """The host site: pages the test writes, and stand-in store pages under /vendor/."""

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path.startswith("/vendor/"):
            body = f"<!doctype html><title>Store</title><p>Store page {path}</p>"
        elif path in pages:
            body = pages[path]
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]

    return app


@pytest.fixture
def sites(make_app, clock, write_catalog):
    """The store and the blog, each on its own port; store links lead to the blog's /vendor/."""
    pages: dict[str, str] = {}
    with serve_wsgi(blog_app(pages)) as blog, serve_lazy() as (store, holder):
        text = builtin_catalog_path().read_text(encoding="utf-8")
        text = re.sub(r'"https://([^"]+)"', rf'"{blog}/vendor/\1"', text)
        holder["app"] = make_app(CATALOG=str(write_catalog(text)), BASE_URL=store)
        yield SimpleNamespace(store=store, blog=blog, pages=pages, clock=clock)


def new_context(chromium, **options):
    """A fresh browser context that can reach 127.0.0.1 only; it records navigations."""
    ctx = chromium.new_context(**options)
    ctx.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])"), lambda route: route.abort())
    navigations: list[str] = []
    ctx.on("request", lambda r: navigations.append(r.url) if r.is_navigation_request() else None)
    ctx.navigations = navigations
    return ctx


@pytest.fixture
def context(chromium):
    ctx = new_context(chromium, viewport={"width": 1000, "height": 900})
    yield ctx
    ctx.close()


def host_page(body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>A blog post</title>"
        f"<style>{HOSTILE_CSS}</style></head><body><h1>A post</h1>"
        "<p id='host-text' class='sf-pitch sf'>The host's own paragraph.</p>"
        "<a id='host-link' class='sf-buy sf-buy-preferred sf-root sf' href='#host'>host link</a>"
        f"{body}</body></html>"
    )


def style_of(locator, prop: str) -> str:
    return locator.evaluate(f"(el) => getComputedStyle(el).getPropertyValue('{prop}')")


def assert_host_styles_untouched(page) -> None:
    """The card's CSS (.sf-* classes) did not reach the host's own elements."""
    text, link = page.locator("#host-text"), page.locator("#host-link")
    assert style_of(text, "color") == RED and style_of(text, "font-size") == "40px"
    assert style_of(link, "background-color") == YELLOW
    assert style_of(link, "border-top-width") == "0px"  # .sf-buy has a 2px border
    assert style_of(link, "border-top-left-radius") == "0px"
    assert style_of(link, "display") == "inline"


def assert_card_styles_intact(title, button) -> None:
    """The host's hostile CSS did not reach into the card."""
    assert style_of(title, "color") != RED
    assert style_of(title, "font-size") == "21px"
    assert "monospace" not in style_of(title, "font-family")
    assert style_of(title, "letter-spacing") in ("normal", "0px")
    assert style_of(button, "background-color") != YELLOW
    assert style_of(button, "text-transform") == "none"


def click_buy(context, page, button, store: str, expected: str) -> None:
    """Click a buy button: a new tab opens the tracked /go/ URL; the host page stays."""
    host_url = page.url
    with context.expect_page() as popup_info:
        button.click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert f"{store}{expected}" in context.navigations
    assert popup.evaluate("window.opener") is None  # rel=noopener
    assert page.url == host_url
    popup.close()


# --------------------------------------------------------------------------- script embed


def test_script_embed_renders_isolated_cards_including_ones_added_later(sites, context):
    sites.clock.set(QUIET_DAY)
    sites.pages["/post"] = host_page(
        '<div id="c1" data-storefront-book="genesis" data-layout="card"></div>'
        '<div id="c2" data-storefront-book="genesis" data-layout="compact" data-theme="dark">'
        '<a href="/fallback">Genesis</a></div>'
        '<div id="c3" data-storefront-book="genesis" data-layout="card"></div>'
        f'<script async src="{sites.store}/widget.js"></script>'
    )
    fragments: list[str] = []
    context.on("request", lambda r: fragments.append(r.url) if "/fragment" in r.url else None)
    page = context.new_page()
    page.goto(f"{sites.blog}/post")
    page.wait_for_function(
        "document.querySelectorAll('[data-storefront-state=ready]').length === 3"
    )
    # A card added after load (as infinite-scroll blogs do) is found by the observer.
    page.evaluate(
        """() => { const d = document.createElement('div');
        d.id = 'c4'; d.dataset.storefrontBook = 'genesis'; d.dataset.layout = 'banner';
        document.body.appendChild(d); }"""
    )
    page.wait_for_function("document.querySelector('#c4').dataset.storefrontState === 'ready'")

    for card_id in ("c1", "c2", "c3", "c4"):
        assert page.evaluate(f"!!document.getElementById('{card_id}').shadowRoot")
    # Locators pierce open shadow roots; the host document itself has no card markup.
    assert page.evaluate("document.querySelectorAll('aside').length") == 0
    c1 = page.locator("#c1 aside")
    assert c1.get_attribute("data-layout") == "card"
    assert "Genesis" in page.locator("#c1 h2").inner_text()
    ebook_head = page.locator('#c1 [data-format="ebook"] .sf-format-head')
    assert ebook_head.inner_text().split() == ["Ebook", "$5.99"]
    assert page.locator("#c2 aside").get_attribute("class") == "sf sf-dark sf-root"
    assert "Ebook at ebookit $5.99" in page.locator('#c2 a[data-offer="ebookit"]').inner_text()
    assert page.locator("#c4 aside").get_attribute("data-layout") == "banner"
    # Two identical cards share one request.
    assert len([u for u in fragments if "layout=card" in u]) == 1

    button = page.locator('#c1 a[data-offer="ebookit"]')
    assert_card_styles_intact(page.locator("#c1 h2"), button)
    assert_host_styles_untouched(page)
    assert context.cookies() == []

    click_buy(context, page, button, sites.store, "/go/genesis/ebookit?src=card")
    click_buy(
        context,
        page,
        page.locator('#c4 a[data-offer="audible"]'),
        sites.store,
        "/go/genesis/audible?src=banner",
    )
    assert page.evaluate("document.getElementById('c1').shadowRoot !== null")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "host-script-embed.png"), full_page=True)


def test_script_embed_leaves_the_hosts_fallback_when_the_card_fails(sites, context):
    sites.pages["/post"] = host_page(
        '<div id="bad" data-storefront-book="genesis" data-layout="poster">'
        '<a id="fallback" href="/fallback">Genesis at the store</a></div>'
        f'<script async src="{sites.store}/widget.js"></script>'
    )
    page = context.new_page()
    page.goto(f"{sites.blog}/post")
    page.wait_for_function("document.querySelector('#bad').dataset.storefrontState === 'error'")
    assert page.evaluate("document.getElementById('bad').shadowRoot") is None
    assert page.locator("#fallback").is_visible()


# --------------------------------------------------------------------------- iframe embed


def test_iframe_embed_resizes_to_its_content_and_opens_links_in_a_new_tab(sites, context):
    sites.clock.set(SALE_DAY)
    sites.pages["/post"] = host_page(
        f'<iframe id="frame" src="{sites.store}/embed/genesis?layout=card&amp;theme=light" '
        'width="480" height="150" title="Genesis promo card"></iframe>'
        f'<script async src="{sites.store}/widget.js"></script>'
    )
    violations: list[str] = []
    page = context.new_page()
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    page.goto(f"{sites.blog}/post")
    page.wait_for_function("document.getElementById('frame').getAttribute('height') !== '150'")
    frame = page.frame_locator("#frame")
    inner = page.frame(url=re.compile(r"/embed/genesis"))
    content = inner.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")
    # Hostile host CSS adds 30px padding and a 5px border around the frame.
    client_height = page.evaluate("document.getElementById('frame').clientHeight")
    assert abs(client_height - 60 - content) <= 1
    assert content > 400  # the whole card, not the 150 px the host guessed
    assert inner.evaluate("document.documentElement.scrollHeight") <= client_height - 60 + 1
    # A narrower column (a phone, a sidebar): the card wraps, and the frame follows.
    page.evaluate("document.getElementById('frame').setAttribute('width', '300')")
    page.wait_for_function(f"+document.getElementById('frame').getAttribute('height') > {content}")
    narrow = inner.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")
    assert page.evaluate("document.getElementById('frame').clientHeight") - 60 == narrow

    head = frame.locator('[data-format="ebook"] .sf-format-head')
    assert head.inner_text().split() == ["Ebook", "$2.99", "was", "$5.99"]
    assert_card_styles_intact(frame.locator("h1"), frame.locator('a[data-offer="ebookit"]'))
    assert_host_styles_untouched(page)
    assert violations == []  # the hash-based CSP let the card's own style and script run
    click_buy(
        context,
        page,
        frame.locator('a[data-offer="kindle"]'),
        sites.store,
        "/go/genesis/kindle?src=card&c=apollo8-anniversary",
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "host-iframe-embed.png"), full_page=True)


GO_EBOOKIT = "/go/genesis/ebookit?src=card"


def plain_page(body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>A post</title>"
        f"</head><body><h1>A post</h1>{body}</body></html>"
    )


def test_a_card_in_a_sandbox_without_popups_shows_the_store_address(sites, context):
    # As WordPress frames an unknown provider, without its secret: no popups, no top.
    sites.pages["/post"] = plain_page(
        f'<iframe id="frame" sandbox="allow-scripts" src="{sites.store}/embed/genesis" '
        'width="480" height="900" title="Genesis promo card"></iframe>'
    )
    page = context.new_page()
    opened: list[str] = []
    context.on("page", lambda popup: opened.append(popup.url))
    page.goto(f"{sites.blog}/post")
    frame = page.frame_locator("#frame")
    frame.locator('a[data-offer="ebookit"]').click()
    note = frame.locator(".sf-blocked")
    note.wait_for()
    assert opened == []
    address = note.locator("a")
    assert address.get_attribute("href") == f"{sites.store}{GO_EBOOKIT}"
    assert address.inner_text() == f"{sites.store}{GO_EBOOKIT}"  # visible, to copy
    assert address.evaluate("a => a === document.activeElement")
    # Following it moves the frame itself to the tracked link: the click still counts.
    with page.expect_request(f"{sites.store}{GO_EBOOKIT}") as request:
        address.click()
    assert request.value.frame.parent_frame is not None
    assert page.url == f"{sites.blog}/post"


def test_a_card_in_a_sandbox_with_popups_opens_a_new_tab(sites, context):
    sites.pages["/post"] = plain_page(
        f'<iframe id="frame" sandbox="allow-scripts allow-popups" '
        f'src="{sites.store}/embed/genesis" width="480" height="900" title="Card"></iframe>'
    )
    page = context.new_page()
    page.goto(f"{sites.blog}/post")
    frame = page.frame_locator("#frame")
    with context.expect_page() as popup_info:
        frame.locator('a[data-offer="ebookit"]').click()
    popup = popup_info.value
    popup.wait_for_url(re.compile(r"/vendor/"))
    assert f"{sites.store}{GO_EBOOKIT}" in context.navigations
    assert page.url == f"{sites.blog}/post"
    assert frame.locator(".sf-blocked").count() == 0


def test_a_card_with_a_wordpress_secret_speaks_wp_embeds_protocol(sites, context):
    """The messages wp-embed.js reads; with nobody to follow the link, the address shows."""
    sites.pages["/post"] = plain_page(
        f'<iframe id="frame" sandbox="allow-scripts" '
        f'src="{sites.store}/embed/genesis#?secret=Ab12Cd34Ef" width="480" height="300" '
        'title="Card"></iframe>'
        "<script>window.got = []; addEventListener('message', (e) => window.got.push(e.data));"
        "</script>"
    )
    page = context.new_page()
    page.goto(f"{sites.blog}/post")
    page.wait_for_function("window.got.some((m) => m.message === 'height')")
    inner = page.frame(url=re.compile(r"/embed/genesis"))
    height = inner.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")
    (sent,) = [m for m in page.evaluate("window.got") if m.get("message") == "height"]
    assert sent == {"message": "height", "value": height, "secret": "Ab12Cd34Ef"}
    # wp-embed.js says it is ready: the card tells its height again.
    page.evaluate(
        "document.getElementById('frame').contentWindow"
        ".postMessage({message: 'ready', secret: 'Ab12Cd34Ef'}, '*')"
    )
    page.wait_for_function("window.got.filter((m) => m.message === 'height').length === 2")
    frame = page.frame_locator("#frame")
    frame.locator('a[data-offer="ebookit"]').click()
    page.wait_for_function("window.got.some((m) => m.message === 'link')")
    (link,) = [m for m in page.evaluate("window.got") if m.get("message") == "link"]
    assert link == {
        "message": "link",
        "value": f"{sites.store}{GO_EBOOKIT}",
        "secret": "Ab12Cd34Ef",
    }
    # No wp-embed.js on this page navigated the tab: the reader gets the address.
    frame.locator(".sf-blocked a").wait_for(timeout=5000)
    assert page.url == f"{sites.blog}/post"


def test_oembed_html_on_a_host_that_keeps_scripts_shows_the_card_not_the_link(sites, context):
    import json
    import urllib.request

    with urllib.request.urlopen(f"{sites.store}/oembed?url={sites.store}/books/genesis") as r:
        html = json.load(r)["html"]
    sites.pages["/post"] = plain_page(html)
    page = context.new_page()
    page.goto(f"{sites.blog}/post")
    page.wait_for_function("document.querySelector('blockquote').hidden")
    inner = page.frame(url=re.compile(r"/embed/genesis"))
    height = inner.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")
    assert page.evaluate("document.querySelector('iframe').clientHeight") == height


def test_iframe_refuses_hosts_outside_frame_ancestors(make_app, write_catalog, context):
    text = (
        builtin_catalog_path()
        .read_text(encoding="utf-8")
        .replace(
            '# frame_ancestors = ["https://behindtheblack.com"]',
            'frame_ancestors = ["https://behindtheblack.com"]',
        )
    )
    pages: dict[str, str] = {}
    app = make_app(CATALOG=str(write_catalog(text)))
    with serve_wsgi(blog_app(pages)) as blog, serve_wsgi(app) as store:
        pages["/post"] = f'<iframe id="f" src="{store}/embed/genesis"></iframe>'
        page = context.new_page()
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text))
        page.goto(f"{blog}/post")
        page.wait_for_timeout(500)
        frame = page.frame(url=re.compile(r"/embed/genesis"))
        shown = frame is not None and frame.evaluate("!!document.querySelector('aside')")
        page.close()
    assert not shown
    assert any("frame-ancestors" in line for line in blocked)


# --------------------------------------------------------------------------- every layout


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_and_theme_is_accessible_fits_and_is_photographed(sites, chromium, layout):
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    sites.clock.set(SALE_DAY if layout != "support" else datetime(2027, 7, 10, tzinfo=PHOENIX))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ctx = new_context(chromium, viewport={"width": WIDTHS[layout], "height": 600})
    page = ctx.new_page()
    colours: dict[str, list] = {}
    assert {theme for theme, _ in THEME_SCHEMES} == set(THEMES)
    for theme, scheme in THEME_SCHEMES:
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{sites.store}/embed/genesis?layout={layout}&theme={theme}")
        card = page.locator("main.sf")
        expected = "rgb(21, 22, 26)" if scheme == "dark" else "rgb(255, 255, 255)"
        assert style_of(card, "background-color") == expected
        name = f"{layout}-{theme}" + (f"-{scheme}" if theme == "auto" else "")
        card.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        colours[name] = card.evaluate(COLOURS_JS)
        if theme == "auto":
            # auto follows the reader: every colour of the light or the dark card.
            assert colours[name] == colours[f"{layout}-{scheme}"]
        # axe's default rules, best practices included (a main landmark, one h1).
        results = axe.Axe().run(page)
        assert results.violations_count == 0, (name, results.generate_report())
    # The narrowest supported width: nothing sticks out sideways.
    page.set_viewport_size({"width": 280, "height": 600})
    page.goto(f"{sites.store}/embed/genesis?layout={layout}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 280
    ctx.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_static_snippet_follows_the_readers_colour_scheme(sites, runner, chromium, scheme):
    from storefront.cli import main

    sites.clock.set(QUIET_DAY)
    result = runner.invoke(
        main,
        ["widget", "genesis", "--layout", "compact", "--theme", "auto", "--base-url", sites.store],
    )
    assert result.exit_code == 0, result.output
    sites.pages["/snippet"] = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Sidebar</title>"
        f"</head><body><div style='width:300px'>{result.stdout}</div></body></html>"
    )
    ctx = new_context(chromium, viewport={"width": 400, "height": 700}, color_scheme=scheme)
    page = ctx.new_page()
    page.goto(f"{sites.blog}/snippet")
    card = page.locator("aside")
    expected = "rgb(21, 22, 26)" if scheme == "dark" else "rgb(255, 255, 255)"
    assert style_of(card, "background-color") == expected
    assert page.locator('a[data-offer="ebookit"]').get_attribute("target") == "_blank"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SCREENSHOTS / f"snippet-compact-auto-{scheme}.png"))
    ctx.close()
