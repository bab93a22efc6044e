"""Announcements drafted from the catalog and rendered as the e-mail readers get (pure).

No app and no database: drafts are a function of catalog, instant and URLs, and the
renderer a function of the Markdown. HTML is parsed with BeautifulSoup, links with
``urllib.parse``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from storefront.catalog import load_catalog
from storefront.mail.announce import (
    DraftError,
    book_drafts,
    draft_campaign,
    draft_for,
    escape_markdown,
    sale_drafts,
    subject_line,
)
from storefront.mail.render import UNSUBSCRIBE, render_announcement
from storefront.urls import Urls

BASE = "https://books.example.org"
URLS = Urls(BASE)
BEFORE_SALE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
URL_IN_TEXT = re.compile(r"https?://[^\s)>\]]+")

HOSTILE_SALE = """
[site]
title = "<b>Hostile</b> & Books"
author = "Zoë <Author>"
timezone = "Europe/Berlin"
postal_address = ["<script>alert(1)</script> Street 1", "[click](https://evil.example)"]

[[vendors]]
slug = "shop"
name = "[Shop](https://evil.example) <img src=x onerror=alert(1)>"

[[books]]
slug = "hostile"
title = "<script>alert('t')</script> ![x](https://evil.example/i.png) *em*"
authors = ["A <B> & [C](javascript:alert(1))"]
description = "# Not a heading\\n\\n- not a list [link](https://evil.example) <https://evil.example>"

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
slug = "shop"
vendor = "shop"
url = "https://shop.example/hostile"
price = "10.00"
currency = "USD"
preferred = true
reason = "](https://evil.example) Because."

[[campaigns]]
slug = "sale"
name = "<i>Sale</i>"
headline = "[Huge](https://evil.example) sale <script>"
message = "1. Not a list & &amp; entity"
starts = 2026-12-01
ends = 2026-12-08
percent_off = 50
"""


@pytest.fixture(scope="module")
def builtin():
    return load_catalog(None)


def links_of(html: str) -> list[str]:
    return [a["href"] for a in BeautifulSoup(html, "html.parser").find_all("a", href=True)]


def is_tracked(url: str, campaign: str | None) -> bool:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return (
        f"{parts.scheme}://{parts.netloc}" == BASE
        and parts.path.startswith("/go/")
        and query.get("src") == ["email"]
        and query.get("c") == ([campaign] if campaign else None)
    )


def test_a_sale_draft_names_the_book_the_lowered_price_until_when_and_the_cover(builtin):
    (draft,) = sale_drafts(builtin, URLS, BEFORE_SALE)
    assert (draft.kind, draft.ref, draft.topic) == ("campaign", "apollo8-anniversary", "sales")
    assert draft.books == ("genesis",) and draft.campaign == "apollo8-anniversary"
    assert draft.send_at == builtin.campaign("apollo8-anniversary").starts  # suggested
    html = MarkdownIt("commonmark").render(draft.markdown)
    soup = BeautifulSoup(html, "html.parser")
    item = soup.find("li")
    assert "Ebook: $2.99 (was $5.99) until December 27, 2026" in item.get_text(" ", strip=True)
    assert soup.find("img")["src"] == "/books/genesis/social.png"  # no raster cover: the PNG
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs[0] == "/go/genesis" and "/go/genesis/ebookit" in hrefs
    # Only the format the sale lowers: the audiobook is not in a sale announcement.
    assert "Audiobook" not in soup.get_text()


def test_a_book_draft_has_every_format_with_its_price(builtin):
    draft = book_drafts(builtin, URLS, BEFORE_SALE)[0]
    assert (draft.kind, draft.topic, draft.campaign) == ("book", "new-books", None)
    soup = BeautifulSoup(MarkdownIt("commonmark").render(draft.markdown), "html.parser")
    items = [li.get_text(" ", strip=True) for li in soup.find_all("li")]
    assert items[0].startswith("Ebook: $5.99") and items[1].startswith("Audiobook")
    assert soup.find("blockquote") is not None  # the featured review


def test_no_draft_for_a_fundraiser_or_an_unknown_slug(builtin):
    with pytest.raises(DraftError, match="fundraiser"):
        draft_for(builtin, URLS, BEFORE_SALE, "campaign", "july-fundraiser")
    with pytest.raises(DraftError, match="no book 'nope'"):
        draft_for(builtin, URLS, BEFORE_SALE, "book", "nope")
    with pytest.raises(DraftError):
        draft_for(builtin, URLS, BEFORE_SALE, "page", "genesis")


@pytest.mark.parametrize(
    "text",
    [
        "[x](https://evil.example)",
        "![i](https://evil.example/i.png)",
        "<script>alert(1)</script>",
        "<https://evil.example>",
        "# heading",
        "- item",
        "1. item",
        "*em* _em_ `code` ~~s~~",
        "&amp; &#91;x&#93;(https://evil.example)",
        "a\\\\[b](c)",
        "line\n\n# two",
    ],
)
def test_catalog_text_stays_text_in_markdown(text):
    html = MarkdownIt("commonmark").enable(["strikethrough"]).render(escape_markdown(text))
    soup = BeautifulSoup(html, "html.parser")
    assert [t.name for t in soup.find_all(True)] == ["p"]
    assert soup.p.get_text() == " ".join(text.split())


def test_subject_is_one_line_and_bounded():
    assert subject_line("A\r\nBcc: x@example.org") == "A Bcc: x@example.org"
    assert len(subject_line("x" * 500)) == 150


def test_every_link_goes_through_go_with_src_email_and_the_campaign(builtin):
    draft = sale_drafts(builtin, URLS, BEFORE_SALE)[0]
    extra = (
        "\n\n[page](/books/genesis) [abs](https://books.example.org/go/genesis/kindle) "
        "[store](https://www.ebookit.com/) [evil](https://evil.example/go/genesis) "
        "[mail](mailto:x@example.org) [js](javascript:alert(1)) <https://evil.example> "
        "[admin](/admin/) [no offer](/go/genesis/nope)"
    )
    mail = render_announcement(
        draft.markdown + extra, draft.subject, catalog=builtin, urls=URLS, campaign=draft.campaign
    )
    links = links_of(mail.html)
    assert links[-1] == UNSUBSCRIBE  # the footer's visible unsubscribe link
    tracked = links[:-1]
    assert tracked and all(is_tracked(u, "apollo8-anniversary") for u in tracked), tracked
    assert f"{BASE}/go/genesis?src=email&c=apollo8-anniversary" in tracked  # the book page
    assert f"{BASE}/go/genesis/kindle?src=email&c=apollo8-anniversary" in tracked
    assert set(mail.removed) >= {
        "https://evil.example/go/genesis",
        "mailto:x@example.org",
        "/admin/",
        "/go/genesis/nope",
    }
    soup = BeautifulSoup(mail.html, "html.parser")
    assert "evil" in soup.get_text() and "page" in soup.get_text()  # the words stay
    # The text part: the same links, and no other URL.
    text_urls = URL_IN_TEXT.findall(mail.text)
    assert set(text_urls) == set(links)


def test_a_new_book_announcement_has_no_campaign_in_its_links(builtin):
    draft = book_drafts(builtin, URLS, BEFORE_SALE)[0]
    mail = render_announcement(
        draft.markdown, draft.subject, catalog=builtin, urls=URLS, campaign=None
    )
    assert all(is_tracked(u, None) for u in links_of(mail.html)[:-1])


def test_html_part_has_its_styles_inlined_and_no_style_element(builtin):
    draft = sale_drafts(builtin, URLS, BEFORE_SALE)[0]
    mail = render_announcement(
        draft.markdown, draft.subject, catalog=builtin, urls=URLS, campaign=draft.campaign
    )
    soup = BeautifulSoup(mail.html, "html.parser")
    assert soup.find("style") is None and soup.find("script") is None
    assert "color" in soup.find("a")["style"] and soup.find("h1").has_attr("style")
    assert soup.find("img")["src"] == f"{BASE}/books/genesis/social.png"


def test_the_postal_address_and_unsubscribe_link_are_in_both_parts(builtin):
    draft = book_drafts(builtin, URLS, BEFORE_SALE)[0]
    mail = render_announcement(
        draft.markdown, draft.subject, catalog=builtin, urls=URLS, campaign=None
    )
    text, html = mail.personal("https://books.example.org/readers/unsubscribe/tok.en-1")
    address = builtin.site.postal_address
    assert address and all(line in text for line in address)
    soup = BeautifulSoup(html, "html.parser")
    assert all(line in soup.get_text() for line in address)
    link = soup.find("a", string="Unsubscribe")
    assert link["href"] == "https://books.example.org/readers/unsubscribe/tok.en-1"
    assert "Unsubscribe in one click, at any time: https://books.example.org/readers/" in text
    assert UNSUBSCRIBE not in text + html
    assert mail.warnings == ()


def test_hostile_catalog_text_is_text_in_both_parts(write_catalog):
    catalog = load_catalog(write_catalog(HOSTILE_SALE))
    (draft,) = sale_drafts(catalog, URLS, BEFORE_SALE)
    mail = render_announcement(
        draft.markdown, draft.subject, catalog=catalog, urls=URLS, campaign=draft.campaign
    )
    soup = BeautifulSoup(mail.html, "html.parser")
    assert soup.find("script") is None and soup.find("i") is None
    assert [img["src"] for img in soup.find_all("img")] == [f"{BASE}/books/hostile/social.png"]
    assert all(is_tracked(u, "sale") for u in links_of(mail.html)[:-1]), "catalog text made a link"
    text = soup.get_text(" ")
    assert "<script>alert('t')</script>" in text and "[Shop](https://evil.example)" in text
    assert "<script>alert(1)</script> Street 1" in text  # the address, as text
    assert "evil.example" not in " ".join(links_of(mail.html))
    assert "evil.example" not in " ".join(URL_IN_TEXT.findall(mail.text))


def test_a_catalog_without_postal_address_is_warned_about(write_catalog):
    catalog = load_catalog(write_catalog())
    draft = book_drafts(catalog, URLS, BEFORE_SALE)[0]
    mail = render_announcement(
        draft.markdown, draft.subject, catalog=catalog, urls=URLS, campaign=None
    )
    assert any("postal address" in w for w in mail.warnings)


def test_the_author_cannot_remove_the_unsubscribe_link_or_forge_the_placeholder(builtin):
    mail = render_announcement(
        f"Hello [x]({UNSUBSCRIBE}) {UNSUBSCRIBE}", "Hi", catalog=builtin, urls=URLS, campaign=None
    )
    text, html = mail.personal(f"{BASE}/readers/unsubscribe/abc")
    assert links_of(html) == [f"{BASE}/readers/unsubscribe/abc"]
    assert text.count("/readers/unsubscribe/abc") == 1


def test_plain_text_part_reads_as_the_html_does(builtin):
    markdown = (
        "# Title\n\nA *paragraph* with [a link](/go/genesis/kindle).\n\n"
        "- one\n- two\n\n> quoted\n\n1. first\n2. second\n"
    )
    mail = render_announcement(markdown, "S", catalog=builtin, urls=URLS, campaign=None)
    lines = mail.text.splitlines()
    assert lines[:2] == ["Title", "====="]
    assert f"A paragraph with a link\n({BASE}/go/genesis/kindle?src=email)." in mail.text
    assert "- one\n- two" in mail.text and "> quoted" in mail.text
    assert "1. first\n2. second" in mail.text


def test_draft_for_a_campaign_without_a_lowered_price_is_refused(write_catalog):
    text = HOSTILE_SALE.replace("percent_off = 50", 'sale_price = "20.00"')
    catalog = load_catalog(write_catalog(text))
    assert sale_drafts(catalog, URLS, BEFORE_SALE) == []
    with pytest.raises(DraftError, match="lowers no price"):
        draft_campaign(catalog, catalog.campaign("sale"), URLS, BEFORE_SALE)
