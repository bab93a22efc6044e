"""Text in any script reaches the EPUB whole, and says its language and direction.

A Japanese edition sold on an English site, with quotes in Arabic (language
declared), Hebrew (not declared) and English, emoji in every field and an Arabic
note: each text is extracted from the XHTML and compared with the catalog's,
character for character, and each element carries ``lang``/``xml:lang`` and
``dir`` exactly where its language or direction differs from its surroundings.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from storefront.catalog import load_catalog
from storefront.urls import Urls
from widgets.epub import build_sample
from widgets.textdir import Span, text_direction

from .conftest import MINIMAL_CATALOG

CATALOG = Path(__file__).resolve().parent / "data" / "epub" / "multiscript.toml"
SALE_DAY = datetime(2026, 12, 10, 12, tzinfo=UTC)
X = {"x": "http://www.w3.org/1999/xhtml"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(CATALOG)


@pytest.fixture(scope="module")
def pages(catalog):
    data = build_sample(catalog, catalog.book("tsuki"), SALE_DAY, Urls("https://books.example"))
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {
        name.rpartition("/")[2]: etree.fromstring(archive.read(name))
        for name in archive.namelist()
        if name.endswith(".xhtml")
    }


def text(el) -> str:
    return "".join(el.itertext()).strip()


def one(page, path: str):
    found = page.xpath(path, namespaces=X)
    assert len(found) == 1, path
    return found[0]


def labels(el) -> tuple[str | None, str | None, str | None]:
    return el.get("lang"), el.get(XML_LANG), el.get("dir")


def test_pages_are_in_the_books_language(pages):
    for name, page in pages.items():
        if name == "nav.xhtml":
            continue  # ebooklib's own page
        assert page.get("lang") == page.get(XML_LANG) == "ja", name
        assert page.get("dir") == "ltr", name


def test_title_page_text_is_the_catalog_text(pages, catalog):
    book = catalog.book("tsuki")
    page = pages["title.xhtml"]
    assert text(one(page, "//x:h1")) == book.title
    assert labels(one(page, "//x:h1")) == (None, None, None)  # the page's own language
    assert text(one(page, "//x:p[@class='subtitle']")) == book.subtitle
    credits = [text(li) for li in page.xpath("//x:ul[@class='credits']/x:li", namespaces=X)]
    assert credits == ["by 山田 太郎 and Jane Doe", "Translated by דוד לוי"]
    # "by ..." is the site's English: labelled, since the page is Japanese.
    assert labels(page.xpath("//x:ul[@class='credits']/x:li", namespaces=X)[0])[0] == "en"
    assert text(one(page, "//x:p[@class='rights']")) == book.rights
    assert text(one(page, "//x:p[@class='imprint']")) == book.publisher
    assert text(one(page, "//x:p[@class='series']")) == "宇宙の本, book 1"


def test_blurb_paragraphs_are_the_catalog_text(pages, catalog):
    paras = pages["about.xhtml"].xpath("//x:section/x:p", namespaces=X)
    assert [text(p) for p in paras] == catalog.book("tsuki").description.split("\n\n")
    assert {labels(p) for p in paras} == {(None, None, None)}
    assert labels(one(pages["about.xhtml"], "//x:h1")) == ("en", "en", None)


def test_each_quote_is_its_catalog_text_with_its_language_and_direction(pages, catalog):
    figures = pages["reviews.xhtml"].xpath("//x:figure", namespaces=X)
    quotes = catalog.book("tsuki").quotes
    assert len(figures) == len(quotes)
    expected = [
        ("ar", "ar", "rtl"),  # declared Arabic
        (None, None, "rtl"),  # undeclared: its first letter is Hebrew
        ("en", "en", None),  # declared English: another language, the same direction
    ]
    for figure, quote, attrs in zip(figures, quotes, expected, strict=True):
        block = one(figure, "x:blockquote")
        paras = [text(p) for p in block.xpath("x:p", namespaces=X)]
        assert "\n\n".join(paras) == quote.text
        assert labels(block) == attrs
        caption = one(figure, "x:figcaption")
        assert text(caption) == f"— {quote.source}"
        assert labels(caption) == attrs


def test_buy_page_words_are_the_sites_and_catalog_text_stays_whole(pages, catalog):
    book = catalog.book("tsuki")
    page = pages["buy.xhtml"]
    section = one(page, "//x:section[@class='buy']")
    assert labels(section) == ("en", "en", None)  # the templates' own words
    cite = one(section, "x:p[@class='lead']/x:cite")
    assert text(cite) == book.full_title
    assert labels(cite) == ("ja", "ja", None)  # back to the book's language inside
    offer = book.offer("shop")
    assert text(one(section, ".//x:span[@class='reason']")) == offer.reason
    note = one(section, ".//x:span[@class='note']")
    assert text(note) == offer.note
    assert labels(note) == (None, None, "rtl")  # Arabic only: it runs right to left
    headline = one(section, "x:p[@class='sale']/x:strong")
    assert text(headline) == catalog.campaign("moon").headline
    vendors = [text(a) for a in section.xpath(".//x:ul[@class='offers']/x:li/x:a", namespaces=X)]
    assert vendors == ["Buy the ebook at 月面書店", "Buy the ebook at Kobo"]


def test_a_right_to_left_book_on_an_english_site(write_catalog):
    text_ = MINIMAL_CATALOG.replace(
        'authors = ["A. Writer"]', 'authors = ["A. Writer"]\nlanguage = "he"'
    ).replace('source = "A Reviewer"', 'source = "A Reviewer"\nlanguage = "en"')
    text_ = text_.replace('title = "First Book"', 'title = "ספר ראשון"')
    catalog = load_catalog(write_catalog(text_))
    data = build_sample(catalog, catalog.book("first"), SALE_DAY, Urls("https://books.example"))
    archive = zipfile.ZipFile(io.BytesIO(data))
    read = lambda name: etree.fromstring(archive.read(f"EPUB/{name}"))  # noqa: E731
    assert labels(read("title.xhtml")) == ("he", "he", "rtl")
    block = one(read("reviews.xhtml"), "//x:blockquote")
    assert labels(block) == ("en", "en", "ltr")
    buy = read("buy.xhtml")
    assert labels(one(buy, "//x:section[@class='buy']")) == ("en", "en", "ltr")
    assert labels(one(buy, "//x:cite")) == ("he", "he", "rtl")


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        ("月面の記録", None, "ltr"),
        ("كتاب رائع", None, "rtl"),
        ("ספר מרתק על Apollo 8", None, "rtl"),  # the first strong letter decides
        ("Apollo 8 על הירח", None, "ltr"),
        ("🚀🌕 8", None, None),  # nothing in it says
        ("iPhone ו-Android", "he", "rtl"),  # a declared language keeps its direction
        ("كتاب رائع", "en", "rtl"),  # ... unless every letter runs the other way
        ("🚀", "ar", "rtl"),
    ],
)
def test_text_direction(value, language, expected):
    assert text_direction(value, language) == expected


def test_attributes_are_written_only_where_something_differs():
    page = Span.of("en")
    assert page.attrs("Plain English", "en") == ""
    assert page.attrs("Plain English", "en-US") == ' lang="en-US" xml:lang="en-US"'
    assert page.attrs("שלום") == ' dir="rtl"'
    assert page.attrs(lang="ar") == ' lang="ar" xml:lang="ar" dir="rtl"'
    assert page.attrs("x", 'en" onload="x') == (
        ' lang="en&#34; onload=&#34;x" xml:lang="en&#34; onload=&#34;x"'
    )
