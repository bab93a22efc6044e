"""Outbound URLs: reader country, country stores, search fallback, affiliate tags, clean Amazon."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from storefront.catalog import load_catalog
from storefront.links import (
    accept_language_country,
    clean_amazon_url,
    destination,
    reader_country,
    search_query,
    set_query_param,
)

LINKS_CATALOG = """
[site]
title = "Test Books"
author = "A. Writer"
timezone = "America/New_York"
default_country = "US"

[[vendors]]
slug = "amazon"
name = "Amazon"
search_url = "https://www.amazon.com/s?k={query}"
[vendors.affiliate]
param = "tag"
tags = { default = "writer-20", GB = "writer-21", DE = "writer0d-21" }
[vendors.country_search]
GB = "https://www.amazon.co.uk/s?k={query}"
DE = "https://www.amazon.de/s?k={query}"
US = "https://www.amazon.com/s?k={query}&us=1"

[[vendors]]
slug = "shop"
name = "The Shop"

[[books]]
slug = "first"
title = "First Book"
subtitle = "A Story: Told"
authors = ["A. Writer"]
description = "A book for tests. It has two sentences."

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
slug = "kindle"
vendor = "amazon"
url = "https://www.amazon.com/First-Book/dp/B000000001/ref=sr_1_1?crid=ABC&qid=1700000000&sr=8-1&keywords=first+book&tag=someone-20"
currency = "USD"
[books.editions.offers.countries]
GB = "https://www.amazon.co.uk/dp/B000000002/ref=tmm_kin_swatch_0?_encoding=UTF8&pd_rd_w=x&pf_rd_p=y"
CA = "https://www.amazon.ca/dp/B000000003"

[[books.editions.offers]]
slug = "shop"
vendor = "shop"
url = "https://shop.example/first?ref=keep&qid=keep"
currency = "USD"
[books.editions.offers.countries]
GB = "https://shop.example/uk/first"
"""


@pytest.fixture
def catalog(write_catalog):
    return load_catalog(write_catalog(LINKS_CATALOG))


@pytest.mark.parametrize(
    ("header", "country"),
    [
        ("en-GB,en;q=0.9", "GB"),
        ("en-US", "US"),
        ("de-de", "DE"),
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "CH"),
        ("en;q=0.9, en-AU;q=0.8", "AU"),
        ("en-AU;q=0.5, de-AT;q=0.9", "AT"),  # ordered by quality, not position
        ("zh-Hant-TW", "TW"),
        ("es-419, es-MX;q=0.8", "MX"),  # a numeric region is no country
        ("en", None),
        ("de-DE;q=0", None),  # q=0 means "not acceptable"
        ("en-XX", None),
        ("en-EU", None),  # a grouping, not a country
        ("", None),
        (None, None),
        ("en-GB;q=abc", None),
        ("x" * 5000, None),
    ],
)
def test_accept_language_region_is_the_country(header, country):
    assert accept_language_country(header) == country


@pytest.mark.parametrize(
    ("headers", "country_header", "country"),
    [
        ({"CF-IPCountry": "de", "Accept-Language": "en-GB"}, "CF-IPCountry", "DE"),
        ({"CF-IPCountry": "XX", "Accept-Language": "en-GB"}, "CF-IPCountry", "GB"),  # unknown
        ({"CF-IPCountry": "T1", "Accept-Language": "en-CA"}, "CF-IPCountry", "CA"),  # Tor
        ({"CF-IPCountry": "DE", "Accept-Language": "en-GB"}, None, "GB"),  # header not trusted
        ({"Accept-Language": "en-GB"}, "CF-IPCountry", "GB"),
        ({}, "CF-IPCountry", None),
    ],
)
def test_trusted_country_header_wins_over_accept_language(headers, country_header, country):
    assert reader_country(headers, country_header) == country


def test_search_query_is_the_full_title_without_punctuation(catalog):
    assert search_query(catalog.book("first")) == "First Book A Story Told"


@pytest.mark.parametrize(
    ("country", "host", "how", "tag"),
    [
        ("GB", "www.amazon.co.uk", "country store", "writer-21"),
        ("CA", "www.amazon.ca", "country store", None),  # no CA tag: a US tag earns nothing there
        ("DE", "www.amazon.de", "country search", "writer0d-21"),
        ("US", "www.amazon.com", "default store", "writer-20"),  # the default country: no search
        ("FR", "www.amazon.com", "default store", "writer-20"),  # no French store: the default
        (None, "www.amazon.com", "default store", "writer-20"),
    ],
)
def test_country_store_then_country_search_then_default(catalog, country, host, how, tag):
    book = catalog.book("first")
    where = destination(catalog, book, book.offer("kindle"), country)
    parts = urlsplit(where.url)
    assert (parts.hostname, where.how) == (host, how)
    assert parse_qs(parts.query).get("tag") == ([tag] if tag else None)


def test_country_search_fills_in_the_title(catalog):
    book = catalog.book("first")
    where = destination(catalog, book, book.offer("kindle"), "DE")
    assert parse_qs(urlsplit(where.url).query)["k"] == ["First Book A Story Told"]


def test_amazon_url_loses_tracking_but_keeps_the_product(catalog):
    book = catalog.book("first")
    url = destination(catalog, book, book.offer("kindle"), None).url
    parts = urlsplit(url)
    assert parts.path == "/First-Book/dp/B000000001"
    query = parse_qs(parts.query)
    assert query == {"keywords": ["first book"], "tag": ["writer-20"]}  # our tag replaces theirs


def test_country_store_url_is_cleaned_too(catalog):
    book = catalog.book("first")
    url = destination(catalog, book, book.offer("kindle"), "GB").url
    assert url == "https://www.amazon.co.uk/dp/B000000002?tag=writer-21"


def test_non_amazon_urls_are_left_alone_and_get_no_tag(catalog):
    book = catalog.book("first")
    shop = book.offer("shop")
    assert (
        destination(catalog, book, shop, None).url == "https://shop.example/first?ref=keep&qid=keep"
    )
    assert destination(catalog, book, shop, "GB").url == "https://shop.example/uk/first"
    # The shop has no country search: a German reader gets the default store.
    assert destination(catalog, book, shop, "DE").url == shop.url


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://www.amazon.com/dp/B01/ref=sr_1_1?qid=1&sr=8-1", "https://www.amazon.com/dp/B01"),
        (
            "https://amazon.de/gp/product/B02?psc=1&th=1&smid=X",
            "https://amazon.de/gp/product/B02?smid=X",
        ),
        (
            "https://www.amazon.com.au/s?k=apollo&ref=nb_sb_noss&crid=2&sprefix=ap",
            "https://www.amazon.com.au/s?k=apollo",
        ),
        (
            "https://www.amazon.co.jp/dp/B03?pf_rd_r=1&pd_rd_i=2&content-id=3",
            "https://www.amazon.co.jp/dp/B03",
        ),
        ("https://notamazon.com/dp/B04/ref=x?qid=1", "https://notamazon.com/dp/B04/ref=x?qid=1"),
        (
            "https://amazon.com.evil.example/dp/B05?qid=1",
            "https://amazon.com.evil.example/dp/B05?qid=1",
        ),
    ],
)
def test_clean_amazon_url(url, clean):
    assert clean_amazon_url(url) == clean


def test_set_query_param_replaces_every_existing_value():
    url = set_query_param("https://x.example/p?tag=a&k=v&tag=b#frag", "tag", "mine")
    parts = urlsplit(url)
    assert parse_qs(parts.query) == {"k": ["v"], "tag": ["mine"]}
    assert parts.fragment == "frag"


# --------------------------------------------------------------------------- territory groups

GROUP_CATALOG = LINKS_CATALOG.replace(
    'CA = "https://www.amazon.ca/dp/B000000003"',
    'CA = "https://www.amazon.ca/dp/B000000003"\n'
    'EU = "https://www.amazon.fr/dp/B000000004"\n'
    'IT = "https://www.amazon.it/dp/B000000005"',
).replace(
    'tags = { default = "writer-20", GB = "writer-21", DE = "writer0d-21" }',
    'tags = { default = "writer-20", GB = "writer-21", DE = "writer0d-21", EU = "writer-eu-21" }',
)


@pytest.mark.parametrize(
    ("country", "host", "how"),
    [
        ("FR", "www.amazon.fr", "country store"),  # in the EU: the EU store
        ("AT", "www.amazon.fr", "country store"),
        ("IT", "www.amazon.it", "country store"),  # a country named beats its group
        ("DE", "www.amazon.fr", "country store"),  # the offer's EU store beats the DE search
        ("GB", "www.amazon.co.uk", "country store"),
        ("CH", "www.amazon.com", "default store"),  # not in the EU
        ("US", "www.amazon.com", "default store"),
    ],
)
def test_an_eu_store_serves_readers_in_every_eu_country(write_catalog, country, host, how):
    catalog = load_catalog(write_catalog(GROUP_CATALOG))
    book = catalog.book("first")
    where = destination(catalog, book, book.offer("kindle"), country)
    assert (urlsplit(where.url).hostname, where.how) == (host, how)


def test_a_group_in_country_search_serves_its_members(write_catalog):
    text = LINKS_CATALOG.replace(
        'DE = "https://www.amazon.de/s?k={query}"', 'EU = "https://www.amazon.de/s?k={query}"'
    )
    catalog = load_catalog(write_catalog(text))
    book = catalog.book("first")
    where = destination(catalog, book, book.offer("shop"), "ES")
    assert where.url == book.offer("shop").url  # the shop has no country search
    where = destination(catalog, book, book.offer("kindle"), "ES")
    assert (urlsplit(where.url).hostname, where.how) == ("www.amazon.de", "country search")


def test_every_territory_the_catalog_accepts_reaches_its_readers():
    """One set: each key `check` accepts is chosen for a reader in each of its countries."""
    from storefront.catalog import GROUPS, TERRITORIES, country_code, lookup

    assert "EU" in TERRITORIES and "FR" in TERRITORIES
    for code in TERRITORIES:
        for member in GROUPS.get(code, {code}):
            assert country_code(member) == member, (code, member)
            assert lookup({code: "store"}, member) == (code, "store"), (code, member)


# --------------------------------------------------------------------------- marketplace tags

MARKET_CATALOG = """
[site]
title = "Test Books"
author = "A. Writer"
default_country = "US"

[[vendors]]
slug = "amazon"
name = "Amazon"
[vendors.affiliate]
param = "tag"
tags = { default = "us-20", JP = "jp-22", GB = "uk-21", EU = "eu-21", IT = "it-21" }

[[vendors]]
slug = "shop"
name = "Shop"
[vendors.affiliate]
param = "aff"
tags = { default = "shop-any", GB = "shop-gb" }

[[books]]
slug = "first"
title = "First"
authors = ["A. Writer"]
description = "A book."

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
slug = "kindle"
vendor = "amazon"
url = "{url}"
currency = "USD"

[[books.editions.offers]]
slug = "shop"
vendor = "shop"
url = "https://shop.example/first"
currency = "USD"
[books.editions.offers.countries]
GB = "https://shop.example/uk/first"
"""


@pytest.mark.parametrize(
    ("url", "reader", "marketplace", "tag"),
    [
        ("https://www.amazon.co.jp/dp/B01", None, "JP", "jp-22"),
        ("https://www.amazon.co.jp/dp/B01", "US", "JP", "jp-22"),  # the store, not the reader
        ("https://www.amazon.com/dp/B01", "JP", "US", "us-20"),
        ("https://www.amazon.co.uk/dp/B01", "US", "GB", "uk-21"),
        ("https://www.amazon.de/dp/B01", None, "DE", "eu-21"),  # DE is in the EU group
        ("https://www.amazon.fr/dp/B01", None, "FR", "eu-21"),
        ("https://www.amazon.it/dp/B01", None, "IT", "it-21"),  # a country beats its group
        ("https://www.amazon.ca/dp/B01", "CA", "CA", None),  # no CA tag: none, never US's
        ("https://www.amazon.com.au/dp/B01", None, "AU", None),
        ("https://www.amazon.com.mx/dp/B01", None, "MX", None),
        ("https://www.amazon.com.br/dp/B01", None, "BR", None),
        ("https://www.amazon.in/dp/B01", None, "IN", None),
        ("https://www.amazon.nl/dp/B01", None, "NL", "eu-21"),
        ("https://www.amazon.se/dp/B01", None, "SE", "eu-21"),
        ("https://www.amazon.pl/dp/B01", None, "PL", "eu-21"),
        ("https://www.amazon.com.be/dp/B01", None, "BE", "eu-21"),
        ("https://www.amazon.sg/dp/B01", None, "SG", None),
        ("https://www.amazon.ae/dp/B01", None, "AE", None),
        ("https://www.amazon.sa/dp/B01", None, "SA", None),
        ("https://www.amazon.com.tr/dp/B01", None, "TR", None),
        ("https://www.amazon.eg/dp/B01", None, "EG", None),
        ("https://amazon.co.jp/dp/B01", None, "JP", "jp-22"),  # no www
        ("https://smile.amazon.com/dp/B01", None, "US", "us-20"),
    ],
)
def test_affiliate_tag_is_chosen_by_the_store_marketplace(
    write_catalog, url, reader, marketplace, tag
):
    catalog = load_catalog(write_catalog(MARKET_CATALOG.replace("{url}", url)))
    book = catalog.book("first")
    where = destination(catalog, book, book.offer("kindle"), reader)
    assert where.marketplace == marketplace
    assert parse_qs(urlsplit(where.url).query).get("tag") == ([tag] if tag else None)


@pytest.mark.parametrize(
    ("url", "marketplace"),
    [
        ("https://www.amazon.co.jp/dp/B01", "JP"),
        ("https://www.audible.co.uk/pd/B01", "GB"),
        ("https://www.amazon.com.au./s?k=x", "AU"),
        ("https://amazon.com.evil.example/dp/B01", None),
        ("https://notamazon.com/dp/B01", None),
        ("https://www.amazon.co.zz/dp/B01", None),
        ("https://shop.example/first", None),
    ],
)
def test_marketplace_of_a_url_is_its_domain(url, marketplace):
    from storefront.catalog.marketplace import marketplace_of

    assert marketplace_of(url) == marketplace


def test_a_store_that_is_no_marketplace_keeps_the_tag_of_the_entry_chosen(write_catalog):
    text = MARKET_CATALOG.replace("{url}", "https://www.amazon.com/dp/B01")
    catalog = load_catalog(write_catalog(text))
    book = catalog.book("first")
    gb = destination(catalog, book, book.offer("shop"), "GB").url
    assert gb == "https://shop.example/uk/first?aff=shop-gb"
    assert destination(catalog, book, book.offer("shop"), "JP").url.endswith("?aff=shop-any")


def test_a_default_tag_serves_the_default_country_store_of_a_uk_site(write_catalog):
    text = (
        MARKET_CATALOG.replace("{url}", "https://www.amazon.co.uk/dp/B01")
        .replace('default_country = "US"', 'default_country = "GB"')
        .replace('GB = "uk-21", ', "")
    )
    catalog = load_catalog(write_catalog(text))
    book = catalog.book("first")
    url = destination(catalog, book, book.offer("kindle"), None).url
    assert parse_qs(urlsplit(url).query)["tag"] == ["us-20"]  # "default" is the GB store's tag
