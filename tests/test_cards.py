"""Promo cards rendered without an app: layouts, themes, options, escaping, the snippet."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import html5lib
import pytest
from bs4 import BeautifulSoup

from storefront.catalog import load_catalog
from storefront.urls import LAYOUTS, THEMES, Urls
from widgets.card import (
    PALETTES,
    TEXT_PAIRS,
    CardOptionError,
    build_card_view,
    card_css,
    card_page_csp,
    csp_hash,
    page_css,
    parse_card,
    render_card,
    render_card_fragment,
    render_card_page,
    render_card_snippet,
    resize_script,
)
from widgets.card_style import KSES_PROPERTIES

from .conftest import MINIMAL_CATALOG
from .helpers import VENDORS, catalog_toml

PHOENIX = ZoneInfo("America/Phoenix")
QUIET_DAY = datetime(2026, 11, 25, 12, 0, tzinfo=PHOENIX)
SALE_DAY = datetime(2026, 12, 22, 10, 0, tzinfo=PHOENIX)
AFTER_SALE = datetime(2026, 12, 28, 0, 0, tzinfo=PHOENIX)
FUNDRAISER_DAY = datetime(2027, 7, 10, 12, 0, tzinfo=PHOENIX)
BASE = "https://books.example.org"
URLS = Urls(BASE)


@pytest.fixture(scope="module")
def genesis_catalog():
    return load_catalog()


def card_soup(catalog, slug="genesis", at=QUIET_DAY, *, inline=False, **choices):
    """Render one card (class mode, or inline for the snippet) and parse it."""
    book = catalog.book(slug)
    layout, theme, options = parse_card(catalog, book, **choices)
    view = build_card_view(catalog, book, at, URLS, layout, options)
    if inline:
        html = render_card_snippet(view, layout, theme, options)
    else:
        html = render_card(view, layout, theme, options)
    return BeautifulSoup(html, "html.parser")


def buy_links(soup):
    return [a for a in soup.find_all("a") if "/go/" in a["href"]]


def go_target(href: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(href)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


# --------------------------------------------------------------------------- layouts


@pytest.mark.parametrize("inline", [False, True], ids=["classes", "inline"])
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_and_theme_renders_one_labelled_card(genesis_catalog, layout, theme, inline):
    soup = card_soup(genesis_catalog, layout=layout, theme=theme, inline=inline)
    (card,) = soup.find_all("aside")
    assert card["data-layout"] == layout
    if layout == "support":
        assert card["aria-label"] == "Support Robert Zimmerman"
    else:
        assert card["aria-label"] == "Genesis: the Story of Apollo 8"
        assert "Genesis" in card.get_text()
        img = card.find("img")
        assert img["src"] == f"{BASE}/books/genesis/cover"
        assert img["alt"] == "Cover of Genesis: the Story of Apollo 8 by Robert Zimmerman"
    if inline:
        assert "class" not in card.attrs and card["style"]
    else:
        assert card["class"] == ["sf", f"sf-{theme}", "sf-root"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_buy_links_are_tracked_absolute_and_open_in_a_new_tab(genesis_catalog, layout):
    soup = card_soup(genesis_catalog, layout=layout)
    links = buy_links(soup)
    assert links
    for a in links:
        target, query = go_target(a["href"])
        assert target.startswith(f"{BASE}/go/genesis/")
        assert query["src"] == [layout]
    for a in soup.find_all("a"):  # every link, not only the buy links: never the host page
        assert a["target"] == "_blank"
        assert "noopener" in a["rel"]
        assert a["href"].startswith("https://")


def test_card_lists_every_vendor_preferred_first_with_the_authors_reason(genesis_catalog):
    soup = card_soup(genesis_catalog, layout="card")
    ebook = soup.select_one('[data-format="ebook"]')
    buttons = ebook.select("a[data-offer]")
    assert [b.get_text(strip=True) for b in buttons] == [
        "ebookit",
        "Amazon",
        "Apple Books",
        "Kobo",
        "Barnes & Noble",
        "Google Play Books",
    ]
    assert "sf-buy-preferred" in buttons[0]["class"]
    assert not any("sf-buy-preferred" in b["class"] for b in buttons[1:])
    assert buttons[0]["aria-label"] == "Buy the ebook at ebookit, $5.99"
    assert "big tech companies" in ebook.get_text()
    assert ebook.select_one(".sf-price").get_text(strip=True) == "$5.99"
    audio = soup.select_one('[data-format="audiobook"]')
    assert audio.select_one("a[data-offer]")["aria-label"] == "Buy the audiobook at Audible"
    assert "Free with a 30-day Audible trial membership" in audio.get_text()
    assert audio.select_one(".sf-price") is None  # the stores set audiobook prices
    assert "masterful job" in soup.select_one("blockquote").get_text()
    assert "San Antonio Express-News" in soup.select_one("cite").get_text()


@pytest.mark.parametrize("layout", ["banner", "compact"])
def test_small_layouts_show_one_button_per_format_preferred_first(genesis_catalog, layout):
    soup = card_soup(genesis_catalog, layout=layout)
    buttons = [a for a in soup.select("a[data-offer]")]
    assert [b["data-offer"] for b in buttons] == ["ebookit", "audible"]
    assert buttons[0].get_text(" ", strip=True) == "Ebook at ebookit $5.99"
    assert buttons[1].get_text(" ", strip=True) == "Audiobook at Audible"


def priced_part(soup, layout: str):
    """Where a layout shows the ebook's price: the format heading (card) or its button."""
    if layout == "card":
        return soup.select_one('[data-format="ebook"] .sf-format-head')
    return soup.select_one('a[data-offer="ebookit"]')


@pytest.mark.parametrize("layout", ["card", "banner", "compact"])
def test_sale_shows_the_sale_price_the_list_price_and_the_last_day(genesis_catalog, layout):
    soup = card_soup(genesis_catalog, at=SALE_DAY, layout=layout)
    text = soup.get_text(" ", strip=True)
    assert "Apollo 8 anniversary sale" in text
    assert "December 27, 2026" in text
    priced = priced_part(soup, layout)
    assert "$2.99" in priced.get_text()
    assert priced.find("del").get_text(" ", strip=True) == "was $5.99"
    first = soup.select_one('a[data-offer="ebookit"]')
    assert go_target(first["href"])[1]["c"] == ["apollo8-anniversary"]
    if layout == "card":
        assert first["aria-label"] == "Buy the ebook at ebookit, $2.99"


@pytest.mark.parametrize("layout", ["card", "banner", "compact"])
def test_sale_price_reverts_when_the_campaign_ends(genesis_catalog, layout):
    soup = card_soup(genesis_catalog, at=AFTER_SALE, layout=layout)
    assert soup.find("del") is None
    assert "$2.99" not in soup.get_text()
    assert "$5.99" in priced_part(soup, layout).get_text()
    assert "c" not in go_target(soup.select_one('a[data-offer="ebookit"]')["href"])[1]


# --------------------------------------------------------------------------- options

TWO_QUOTES = (
    MINIMAL_CATALOG
    + """
[[books.quotes]]
text = "Second opinion: better still."
source = "Another Reviewer"
featured = true

[[books.editions]]
format = "audiobook"

[[books.editions.offers]]
slug = "shop-audio"
vendor = "shop"
url = "https://shop.example/first-audio"
currency = "USD"
"""
)


@pytest.fixture
def two_quotes(write_catalog):
    return load_catalog(write_catalog(TWO_QUOTES))


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        (None, "Second opinion"),  # the featured one
        ("", "Second opinion"),
        ("1", "Very good."),
        ("2", "Second opinion"),
        ("none", None),
        ("0", None),
    ],
)
def test_quote_option_picks_or_hides_the_quote(two_quotes, quote, expected):
    soup = card_soup(two_quotes, "first", layout="card", quote=quote)
    block = soup.find("blockquote")
    if expected is None:
        assert block is None
    else:
        assert expected in block.get_text()


@pytest.mark.parametrize(
    ("formats", "shown"),
    [
        (None, ["ebook", "audiobook"]),
        ("audiobook", ["audiobook"]),
        ("audiobook,ebook", ["ebook", "audiobook"]),
        (" ebook , ", ["ebook"]),
    ],
)
def test_formats_option_limits_the_formats_shown(two_quotes, formats, shown):
    soup = card_soup(two_quotes, "first", layout="card", formats=formats)
    assert [d["data-format"] for d in soup.select("[data-format]")] == shown


@pytest.mark.parametrize("layout", LAYOUTS)
def test_call_to_action_is_shown_as_plain_text(genesis_catalog, layout):
    cta = 'Read it <b>this</b> Christmas & "share"'
    soup = card_soup(genesis_catalog, layout=layout, cta=cta)
    assert cta in soup.get_text()
    assert soup.find("b") is None


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ({"layout": "poster"}, "layout 'poster' is not one of: card, banner, compact, support"),
        ({"theme": "neon"}, "theme 'neon' is not one of: light, dark, auto"),
        ({"quote": "3"}, "quote 3 does not exist: book 'first' has 2 quote(s)"),
        ({"quote": "best"}, "quote 'best' is not a number from 1 to 2 or 'none'"),
        ({"formats": "vinyl"}, "format 'vinyl' is not one of: ebook, audiobook, paperback"),
        (
            {"formats": "paperback"},
            "book 'first' has no paperback offers (it has: ebook, audiobook)",
        ),
        ({"cta": "x" * 121}, "cta is 121 characters long; the most is 120"),
        ({"cta": "bell\x07"}, "cta contains control characters"),
        (
            {"layout": "support"},
            "layout 'support' lists the ways to give, and this catalog has none",
        ),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(two_quotes, choices, message):
    with pytest.raises(CardOptionError) as info:
        parse_card(two_quotes, two_quotes.book("first"), **choices)
    assert message in str(info.value)


# --------------------------------------------------------------------------- support card


def test_support_card_during_a_fundraiser_lists_every_way_to_give(genesis_catalog):
    soup = card_soup(genesis_catalog, at=FUNDRAISER_DAY, layout="support")
    assert soup.find("h2").get_text(strip=True) == (
        "Support Behind The Black in its anniversary month"
    )
    text = soup.get_text(" ", strip=True)
    assert "Behind The Black's July fund-raising month" in text
    assert "No ads, no paywall" in text
    ways = {li["data-support"]: li for li in soup.select("[data-support]")}
    assert list(ways) == ["zelle", "patreon", "paypal-donation", "paypal-subscription", "check"]
    assert ways["patreon"].a["href"] == "https://www.patreon.com/search?q=Behind+The+Black"
    assert ways["zelle"].find("a") is None and "No fees" in ways["zelle"].get_text()
    address = ways["check"].find("address").get_text("\n", strip=True).splitlines()
    assert address == [
        "Payable to Robert Zimmerman",
        "Behind The Black",
        "c/o Robert Zimmerman",
        "P.O. Box 1262",
        "Cortaro, AZ 85652",
    ]
    (book_link,) = buy_links(soup)
    assert go_target(book_link["href"]) == (f"{BASE}/go/genesis/ebookit", {"src": ["support"]})


def test_support_card_without_a_fundraiser_asks_for_support_by_name(genesis_catalog):
    soup = card_soup(genesis_catalog, at=QUIET_DAY, layout="support")
    assert soup.find("h2").get_text(strip=True) == "Support Robert Zimmerman"
    assert "fund-raising" not in soup.get_text()


# --------------------------------------------------------------------------- affiliate links

# The test catalog, with an affiliate tag on the second store.
TAGGED = {**VENDORS[1], "affiliate": {"param": "tag", "tags": {"default": "me-20"}}}
AFFILIATE = catalog_toml(vendors=[VENDORS[0], TAGGED])


@pytest.mark.parametrize("layout", ["card", "compact"])
def test_affiliate_links_are_sponsored_and_disclosed(write_catalog, layout):
    catalog = load_catalog(write_catalog(AFFILIATE))
    soup = card_soup(catalog, "first", layout=layout, formats="ebook")
    rels = {a["data-offer"]: a["rel"] for a in soup.select("a[data-offer]")}
    assert rels["shop"] == ["noopener"]
    if layout == "card":  # compact shows only the preferred store
        assert rels["other"] == ["sponsored", "noopener"]
        assert "affiliate links" in soup.get_text()


def test_no_disclosure_without_affiliate_links(genesis_catalog):
    assert "affiliate" not in card_soup(genesis_catalog, layout="card").get_text()


# --------------------------------------------------------------------------- untrusted text

HOSTILE = """
[site]
title = "Evil </title><script>alert('site')</script>"
author = "Mallory <img src=x onerror=alert(1)>"
affiliate_disclosure = "<script>alert('disclosure')</script>"

[[vendors]]
slug = "shop"
name = "Shop<script>alert('vendor')</script>"
[vendors.affiliate]
param = "tag"
tags = { default = "x" }

[[books]]
slug = "evil"
title = "<script>alert('title')</script>"
subtitle = "\\"><img src=x onerror=alert('subtitle')>"
authors = ["A \\" onmouseover=\\"alert(1)"]
description = "Plain. <iframe src=javascript:alert(1)>"
pitch = "</aside><script>alert('pitch')</script>"

[[books.quotes]]
text = "\\"onload=alert('quote') <script>alert('quote')</script>"
source = "</cite><style>*{display:none}</style>"
url = "https://example.com/?a=\\"onclick=alert(1)"

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
slug = "shop"
vendor = "shop"
url = "https://shop.example/evil"
price = "1.00"
currency = "USD"
preferred = true
reason = "<b onmouseover=alert('reason')>x</b>"
note = "<script>alert('note')</script>"

[[campaigns]]
slug = "evil-sale"
name = "<script>alert('campaign')</script>"
headline = "<img src=x onerror=alert('headline')>"
starts = 2026-01-01
ends = 2027-01-01
percent_off = 50

[[campaigns]]
slug = "evil-fund"
name = "<script>alert('fund')</script>"
kind = "fundraiser"
headline = "<svg onload=alert('fund')>"
message = "\\"><script>alert('message')</script>"
starts = 2026-01-01
ends = 2027-01-01

[[support]]
slug = "evil"
name = "<script>alert('support')</script>"
note = "<img src=x onerror=alert('support')>"
url = "https://give.example/?\\"onclick=alert(1)"
payable_to = "<b>Mallory</b>"
address = ["<script>alert('address')</script>"]
"""


def _render_hostile(catalog, layout: str, output: str) -> str:
    book = catalog.book("evil")
    cta = "<script>alert('cta')</script>\"onload=x"
    layout, theme, options = parse_card(catalog, book, layout=layout, cta=cta)
    view = build_card_view(
        catalog, book, datetime(2026, 6, 1, tzinfo=PHOENIX), URLS, layout, options
    )
    render = {
        "card": render_card,
        "fragment": render_card_fragment,
        "page": render_card_page,
    }.get(output)
    if render is None:
        return render_card_snippet(view, layout, theme, options)
    return render(view, layout, theme, options)


@pytest.mark.parametrize("output", ["card", "fragment", "page", "snippet"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_catalog_text_renders_as_text_in_every_layout_and_output(write_catalog, layout, output):
    catalog = load_catalog(write_catalog(HOSTILE))
    html = _render_hostile(catalog, layout, output)
    soup = BeautifulSoup(html, "html5lib")
    scripts = soup.find_all("script")
    if output == "page":
        assert [s.string for s in scripts] == [resize_script()]
    else:
        assert scripts == []
    styles = soup.find_all("style")
    assert [s.string for s in styles] == {"fragment": [card_css()], "page": [page_css()]}.get(
        output, []
    )
    assert soup.find_all(["iframe", "svg", "b"]) == []
    for tag in soup.find_all(True):
        assert not [name for name in tag.attrs if name.lower().startswith("on")], tag
    images = soup.find_all("img")
    assert [img["src"] for img in images] == (
        [] if layout == "support" else [f"{BASE}/books/evil/cover"]
    )
    text = soup.get_text()
    assert "<script>alert('cta')</script>" in text
    if layout == "support":
        assert "<script>alert('support')</script>" in text
        assert "<script>alert('address')</script>" in text
    else:
        assert "<script>alert('title')</script>" in text
    if layout == "card":
        assert "\"onload=alert('quote') <script>alert('quote')</script>" in text
        assert "<script>alert('note')</script>" in text


# --------------------------------------------------------------------------- static snippet


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_static_snippet_is_valid_html_with_inline_styles_and_no_script(
    genesis_catalog, layout, theme
):
    book = genesis_catalog.book("genesis")
    layout, theme, options = parse_card(genesis_catalog, book, layout=layout, theme=theme)
    view = build_card_view(genesis_catalog, book, SALE_DAY, URLS, layout, options)
    snippet = render_card_snippet(view, layout, theme, options)
    # Strict parse: any HTML error raises (WordPress's Custom HTML block keeps it verbatim).
    html5lib.HTMLParser(strict=True).parseFragment(snippet)
    soup = BeautifulSoup(snippet, "html5lib")
    assert soup.find_all(["script", "style", "link"]) == []
    assert soup.find_all(class_=True) == []
    for tag in soup.find_all(["aside", "div", "p", "a", "ul", "li", "img", "h2"]):
        assert tag.get("style"), tag.name
    root = soup.find("aside")
    # Only auto needs a colour scheme (for light-dark()); kses would drop it anyway.
    assert root["style"].endswith("color-scheme:light dark") == (theme == "auto")
    # Only what WordPress's kses keeps for an Author (tests/test_wordpress.py runs it).
    for tag in soup.find_all(style=True):
        properties = {d.partition(":")[0] for d in tag["style"].split(";")}
        allowed = KSES_PROPERTIES | ({"color-scheme"} if theme == "auto" else set())
        assert properties <= allowed, (tag.name, properties - allowed)
    comment = snippet.split("\n", 1)[0]
    assert comment == (
        "<!-- Storefront genesis card: prices as of 2026-12-22; "
        "regenerate on 2026-12-28, when they change. -->"
    )


@pytest.mark.parametrize(
    ("theme", "background"),
    [
        ("light", ["background:#ffffff"]),
        ("dark", ["background:#15161a"]),
        # The light colour first: browsers without light-dark() keep it.
        ("auto", ["background:#ffffff", "background:light-dark(#ffffff,#15161a)"]),
    ],
)
def test_snippet_colours_follow_the_theme(genesis_catalog, theme, background):
    soup = card_soup(genesis_catalog, layout="card", theme=theme, inline=True)
    declarations = soup.find("aside")["style"].split(";")
    assert [d for d in declarations if d.startswith("background:")] == background


# --------------------------------------------------------------------------- styles


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(("text", "background"), TEXT_PAIRS)
@pytest.mark.parametrize("theme", sorted(PALETTES))
def test_text_colours_meet_wcag_aa_contrast(theme, text, background):
    palette = PALETTES[theme]
    assert contrast(palette[text], palette[background]) >= 4.5


def test_card_css_sizes_never_follow_the_host_root_font_size():
    # A host's `html { font-size: 40px }` would scale rem units inside a shadow root.
    assert not re.search(r"\d(\.\d+)?rem\b", card_css())


def test_card_page_csp_allows_exactly_its_own_script_and_style(genesis_catalog):
    book = genesis_catalog.book("genesis")
    layout, theme, options = parse_card(genesis_catalog, book)
    view = build_card_view(genesis_catalog, book, QUIET_DAY, URLS, layout, options)
    soup = BeautifulSoup(render_card_page(view, layout, theme, options), "html5lib")
    policy = dict((d.split(" ", 1) + [""])[:2] for d in card_page_csp(BASE, ("*",)).split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == csp_hash(soup.find("script").string)
    assert policy["style-src"] == csp_hash(soup.find("style").string)
    assert policy["img-src"] == f"'self' {BASE} data:"
    assert policy["frame-ancestors"] == "*"
    assert not soup.find_all(style=True)  # style attributes would be blocked by the policy


@pytest.mark.parametrize(
    ("ancestors", "expected"),
    [
        (("*",), "frame-ancestors *"),
        (("https://blog.example", "'self'"), "frame-ancestors https://blog.example 'self'"),
        (("'none'",), "frame-ancestors 'none'"),
    ],
)
def test_card_page_csp_frame_ancestors_come_from_the_site_setting(ancestors, expected):
    assert card_page_csp(BASE, ancestors).endswith(expected)
