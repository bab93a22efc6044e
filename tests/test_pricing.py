"""Live pricing: a pure function of catalog and instant."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from storefront.catalog import load_catalog, parse_catalog
from storefront.pricing import (
    active_campaigns,
    format_money,
    price_offer,
    price_window,
    quantize,
)

from .conftest import MINIMAL_CATALOG

NY = ZoneInfo("America/New_York")
PHOENIX = ZoneInfo("America/Phoenix")


def catalog_with(campaigns: str, tmp_path, base: str = MINIMAL_CATALOG):
    return parse_catalog(base + textwrap.dedent(campaigns), tmp_path / "catalog.toml")


def campaign(
    slug="sale", starts="2026-12-21T00:00:00-05:00", ends="2026-12-28T00:00:00-05:00", **extra
):
    lines = [f'slug = "{slug}"', f'name = "{slug.title()}"', f"starts = {starts}", f"ends = {ends}"]
    for key, value in extra.items():
        lines.append(f"{key} = {value}")
    return "\n[[campaigns]]\n" + "\n".join(lines) + "\n"


START = datetime(2026, 12, 21, 0, 0, tzinfo=NY)
END = datetime(2026, 12, 28, 0, 0, tzinfo=NY)
US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    "at, expected",
    [
        (START - US, "10.00"),  # a microsecond before the start: list price
        (START, "8.00"),  # the start instant is inside
        (START + timedelta(days=3), "8.00"),
        (END - US, "8.00"),  # the last microsecond is inside
        (END, "10.00"),  # the end instant is outside: the sale has reverted
        (END + timedelta(seconds=1), "10.00"),
    ],
    ids=["before", "at-start", "during", "last-moment", "at-end", "after"],
)
def test_sale_boundaries_are_half_open(tmp_path, at, expected):
    catalog = catalog_with(campaign(percent_off=20), tmp_path)
    offer = catalog.book("first").offer("shop")
    assert price_offer(catalog, offer, at).amount == Decimal(expected)


@pytest.mark.parametrize(
    "list_price, currency, discount, expected",
    [
        ("5.99", "USD", "percent_off = 50", "2.99"),  # 2.995: never more than 50% of the price
        ("5.99", "USD", "percent_off = 33", "4.01"),  # 4.0133 -> 4.01
        ("5.99", "USD", "percent_off = 100", "0.00"),
        ("5.99", "USD", 'sale_price = "2.99"', "2.99"),
        ("5.99", "USD", 'sale_price = "0"', "0.00"),
        ("5.99", "USD", 'sale_price = "7.99"', "5.99"),  # a "sale" never raises a price
        ("1999", "JPY", "percent_off = 15", "1699"),  # 1699.15 -> no minor unit
        ("1999", "JPY", "percent_off = 5", "1899"),  # 1899.05 -> down, not up
        ("0.99", "USD", "percent_off = 25", "0.74"),  # 0.7425 -> 0.74
        ("2.50", "EUR", "percent_off = 10", "2.25"),
        ("9.995", "BHD", "percent_off = 50", "4.997"),  # three decimals: 4.9975 -> 4.997
    ],
)
def test_discounts_round_to_the_currency_minor_unit_never_above_the_percent(
    tmp_path, list_price, currency, discount, expected
):
    base = MINIMAL_CATALOG.replace(
        'price = "10.00"\ncurrency = "USD"', f'price = "{list_price}"\ncurrency = "{currency}"', 1
    )
    catalog = catalog_with(campaign(**dict([discount.split(" = ")])), tmp_path, base)
    offer = catalog.book("first").offer("shop")
    price = price_offer(catalog, offer, START + timedelta(hours=1))
    assert price.amount == Decimal(expected)
    assert price.amount.as_tuple().exponent == quantize(Decimal(1), currency).as_tuple().exponent
    assert price.amount >= 0


def test_overlapping_sales_give_the_reader_the_best_price(tmp_path):
    campaigns = (
        campaign("twenty", percent_off=20)
        + campaign("fixed", starts="2026-12-24T00:00:00-05:00", sale_price='"7.50"')
        + campaign("small", percent_off=5)
    )
    catalog = catalog_with(campaigns, tmp_path)
    offer = catalog.book("first").offer("shop")
    early = price_offer(catalog, offer, datetime(2026, 12, 22, tzinfo=NY))
    assert (early.amount, early.campaign.slug) == (Decimal("8.00"), "twenty")
    both = price_offer(catalog, offer, datetime(2026, 12, 25, tzinfo=NY))
    assert (both.amount, both.campaign.slug) == (Decimal("7.50"), "fixed")


def test_equal_sales_pick_the_one_ending_first_then_the_slug(tmp_path):
    campaigns = campaign("zeta", percent_off=20) + campaign(
        "alpha", ends="2026-12-30T00:00:00-05:00", percent_off=20
    )
    catalog = catalog_with(campaigns, tmp_path)
    price = price_offer(catalog, catalog.book("first").offer("shop"), START)
    assert price.campaign.slug == "zeta"
    assert price.valid_until == END


@pytest.mark.parametrize(
    "scope, shop_on_sale, other_on_sale",
    [
        ("", True, True),
        ('books = ["first"]', True, True),
        ('formats = ["audiobook"]', False, False),
        ('vendors = ["other"]', False, True),
        ('offers = ["first/shop"]', True, False),
    ],
)
def test_campaigns_apply_only_to_their_scope(tmp_path, scope, shop_on_sale, other_on_sale):
    extra = dict([scope.split(" = ")]) if scope else {}
    catalog = catalog_with(campaign(percent_off=20, **extra), tmp_path)
    book = catalog.book("first")
    assert price_offer(catalog, book.offer("shop"), START).on_sale is shop_on_sale
    assert price_offer(catalog, book.offer("other"), START).on_sale is other_on_sale


def test_upcoming_sale_is_known_before_it_starts(tmp_path):
    catalog = catalog_with(campaign(percent_off=20), tmp_path)
    price = price_offer(catalog, catalog.book("first").offer("shop"), START - timedelta(days=2))
    assert not price.on_sale and price.upcoming.slug == "sale"


def test_fundraisers_change_no_price(tmp_path):
    fundraiser = (
        '\n[[campaigns]]\nslug = "fund"\nname = "Fund"\nkind = "fundraiser"\n'
        "starts = 2026-12-01\nends = 2026-12-31\n"
    )
    catalog = catalog_with(fundraiser, tmp_path)
    at = datetime(2026, 12, 10, tzinfo=NY)
    assert not price_offer(catalog, catalog.book("first").offer("shop"), at).on_sale
    assert [c.slug for c in active_campaigns(catalog, at, kind="fundraiser")] == ["fund"]


def test_builtin_anniversary_sale_in_phoenix_time():
    catalog = load_catalog()
    ebook = catalog.book("genesis").offer("ebookit")
    audible = catalog.book("genesis").offer("audible")
    before = datetime(2026, 12, 20, 23, 59, 59, tzinfo=PHOENIX)
    first = datetime(2026, 12, 21, 0, 0, tzinfo=PHOENIX)
    last = datetime(2026, 12, 27, 23, 59, 59, tzinfo=PHOENIX)
    after = last + timedelta(seconds=1)
    assert price_offer(catalog, ebook, before).amount == Decimal("5.99")
    assert price_offer(catalog, ebook, first).amount == Decimal("2.99")
    assert price_offer(catalog, ebook, last).amount == Decimal("2.99")
    assert price_offer(catalog, ebook, after).amount == Decimal("5.99")
    # The same instant written in UTC: 07:00 UTC is midnight in Phoenix (UTC-7, no DST).
    assert price_offer(catalog, ebook, datetime(2026, 12, 21, 7, 0, tzinfo=UTC)).on_sale
    assert not price_offer(catalog, ebook, datetime(2026, 12, 21, 6, 59, 59, tzinfo=UTC)).on_sale
    # Audiobooks are not in the sale and have no invented price.
    assert price_offer(catalog, audible, first).amount is None


def test_dst_change_inside_a_campaign_keeps_local_midnight_boundaries(tmp_path):
    spring = campaign("spring", starts="2026-03-07", ends="2026-03-08", percent_off=10)
    catalog = catalog_with(spring, tmp_path)  # the site's zone is America/New_York
    offer = catalog.book("first").offer("shop")
    # Ends at midnight local on 9 March, which is 04:00 UTC after the switch to EDT.
    assert price_offer(catalog, offer, datetime(2026, 3, 9, 3, 59, 59, tzinfo=UTC)).on_sale
    assert not price_offer(catalog, offer, datetime(2026, 3, 9, 4, 0, tzinfo=UTC)).on_sale
    # Started at midnight local on 7 March, 05:00 UTC under EST.
    assert not price_offer(catalog, offer, datetime(2026, 3, 7, 4, 59, 59, tzinfo=UTC)).on_sale
    assert price_offer(catalog, offer, datetime(2026, 3, 7, 5, 0, tzinfo=UTC)).on_sale


def test_price_window_brackets_the_instant_by_campaign_boundaries(tmp_path):
    catalog = catalog_with(campaign(percent_off=20), tmp_path)
    assert price_window(catalog, START - US) == (None, START)
    assert price_window(catalog, START) == (START, END)
    assert price_window(catalog, END) == (END, None)


def test_naive_instants_are_refused(tmp_path):
    catalog = catalog_with(campaign(percent_off=20), tmp_path)
    with pytest.raises(ValueError, match="no time zone"):
        price_offer(catalog, catalog.book("first").offer("shop"), datetime(2026, 12, 22))


@pytest.mark.parametrize(
    "amount, currency, locale, expected",
    [
        ("5.99", "USD", "en_US", "$5.99"),
        ("5.99", "EUR", "de_DE", "5,99\xa0€"),
        ("1699", "JPY", "ja_JP", "￥1,699"),
        ("5.99", "GBP", "en_GB", "£5.99"),
    ],
)
def test_money_is_formatted_for_the_locale(amount, currency, locale, expected):
    assert format_money(Decimal(amount), currency, locale) == expected
