"""The catalog: the built-in facts, and validation that names file, line, key and problem."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from storefront.catalog import (
    CatalogError,
    build_line_map,
    builtin_catalog_path,
    load_catalog,
    parse_catalog,
)

from .conftest import MINIMAL_CATALOG


def problems_of(text: str, tmp_path) -> list:
    path = tmp_path / "catalog.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    return info.value.problems


def line_of(text: str, needle: str | tuple[str, int]) -> int:
    """The 1-based line of the first (or n-th) line containing ``needle``."""
    needle, nth = needle if isinstance(needle, tuple) else (needle, 1)
    for number, line in enumerate(textwrap.dedent(text).splitlines(), start=1):
        if needle in line:
            nth -= 1
            if nth == 0:
                return number
    raise AssertionError(f"{needle!r} not in catalog text")


# --------------------------------------------------------------------------- built-in


def test_builtin_catalog_has_every_fact_of_the_genesis_page():
    catalog = load_catalog()
    book = catalog.book("genesis")
    assert book.title == "Genesis" and book.subtitle == "the Story of Apollo 8"
    assert book.authors == ("Robert Zimmerman",)
    roles = {(c.role, c.name) for c in book.contributors}
    assert roles == {("foreword", "Valerie Anders"), ("introduction", "Robert Zimmerman")}
    assert book.description.startswith("On Christmas Eve 1968 three Americans")
    assert "tells that story." in book.description

    ebook = book.edition("ebook")
    assert {catalog.vendor(o.vendor).name for o in ebook.offers} == {
        "ebookit",
        "Amazon",
        "Apple Books",
        "Kobo",
        "Barnes & Noble",
        "Google Play Books",
    }
    assert all(o.price == Decimal("5.99") and o.currency == "USD" for o in ebook.offers)
    preferred = [o for o in ebook.offers if o.preferred]
    assert [o.vendor for o in preferred] == ["ebookit"]
    assert "big tech companies" in preferred[0].reason and "bigger cut" in preferred[0].reason

    audio = book.edition("audiobook")
    assert {catalog.vendor(o.vendor).name for o in audio.offers} == {
        "Audible",
        "Apple Books",
        "Kobo",
        "Google Play Books",
        "Chirp",
        "Libro.fm",
    }
    audible = book.offer("audible")
    assert "30-day" in audible.note and "trial" in audible.note
    # Audiobook prices are the stores' to set: never invented.
    assert all(o.price is None for o in audio.offers)

    quote = book.featured_quote
    assert quote.source == "San Antonio Express-News"
    assert quote.text.startswith("Not simply about one mission, [Genesis]")

    sale = catalog.campaign("apollo8-anniversary")
    phoenix = ZoneInfo("America/Phoenix")
    assert sale.starts == datetime(2026, 12, 21, tzinfo=phoenix)
    assert sale.ends == datetime(2026, 12, 28, tzinfo=phoenix)  # all of the 27th
    assert catalog.campaign("july-fundraiser").kind == "fundraiser"

    support = {m.slug: m for m in catalog.support}
    assert set(support) == {"zelle", "patreon", "paypal-donation", "paypal-subscription", "check"}
    assert "No fees" in support["zelle"].note
    assert support["check"].payable_to == "Robert Zimmerman"
    assert support["check"].address == (
        "Behind The Black",
        "c/o Robert Zimmerman",
        "P.O. Box 1262",
        "Cortaro, AZ 85652",
    )


def test_builtin_store_urls_are_searches_for_the_title_not_invented_products():
    book = load_catalog().book("genesis")
    for offer in book.offers:
        assert "Genesis" in offer.url and "Apollo" in offer.url, offer.url
        for url in offer.countries.values():
            assert "Genesis" in url


def test_prices_are_decimals_even_when_written_as_toml_floats(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace('price = "10.00"', "price = 10.10"))
    offer = load_catalog(path).book("first").offer("shop")
    assert isinstance(offer.price, Decimal) and offer.price == Decimal("10.10")


# --------------------------------------------------------------------------- validation


def replace(old: str, new: str):
    def mutate(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return mutate


def append(extra: str):
    return lambda text: text + textwrap.dedent(extra)


CAMPAIGN = """
[[campaigns]]
slug = "sale"
name = "Sale"
starts = 2026-12-21
ends = 2026-12-27
percent_off = 20
"""

CASES = [
    # (id, mutation, expected path, expected message fragment, text on the expected line)
    (
        "wrong type",
        replace('title = "First Book"', "title = 42"),
        "books[0].title",
        "expected a string, got an integer",
        "title = 42",
    ),
    (
        "unknown key with hint",
        replace('name = "The Shop"', 'name = "The Shop"\nserch_url = "x"'),
        "vendors[0].serch_url",
        "did you mean 'search_url'",
        "serch_url",
    ),
    (
        "missing required",
        replace('description = "A book for tests. It has two sentences."\n', ""),
        "books[0].description",
        "is required",
        "[[books]]",
    ),
    (
        "duplicate book slug",
        append("""
        [[books]]
        slug = "first"
        title = "Again"
        authors = ["B"]
        description = "D."
        [[books.editions]]
        format = "ebook"
        [[books.editions.offers]]
        vendor = "shop"
        url = "https://shop.example/again"
        price = "1.00"
        currency = "USD"
        """),
        "books[1].slug",
        "duplicate book slug 'first'",
        ('slug = "first"', 2),
    ),
    (
        "unknown vendor",
        replace('vendor = "other"', 'vendor = "nowhere"'),
        "books[0].editions[0].offers[1].vendor",
        "unknown vendor 'nowhere'",
        'vendor = "nowhere"',
    ),
    (
        "bad currency",
        replace('currency = "USD"', 'currency = "USX"'),
        "books[0].editions[0].offers[0].currency",
        "'USX' is not an ISO 4217",
        'currency = "USX"',
    ),
    (
        "negative price",
        replace('price = "10.00"', 'price = "-1.00"'),
        "books[0].editions[0].offers[0].price",
        "negative",
        'price = "-1.00"',
    ),
    (
        "too many decimals",
        replace('price = "10.00"', 'price = "5.999"'),
        "books[0].editions[0].offers[0].price",
        "more than 2 decimals for USD",
        "5.999",
    ),
    (
        "yen has no decimals",
        replace('price = "10.00"\ncurrency = "USD"', 'price = "500.5"\ncurrency = "JPY"'),
        "books[0].editions[0].offers[0].price",
        "more than 0 decimals for JPY",
        "500.5",
    ),
    (
        "javascript url",
        replace('url = "https://other.example/first"', 'url = "javascript:alert(1)"'),
        "books[0].editions[0].offers[1].url",
        "is not an http(s) URL",
        "javascript:",
    ),
    (
        "campaign ends before it starts",
        append(CAMPAIGN.replace("2026-12-27", "2026-12-01")),
        "campaigns[0].ends",
        "before it starts",
        "ends = 2026-12-01",
    ),
    (
        "unparsable date",
        append(CAMPAIGN.replace("starts = 2026-12-21", 'starts = "2026-02-30"')),
        "campaigns[0].starts",
        "is not an ISO 8601 date",
        "2026-02-30",
    ),
    (
        "dst gap",
        append(CAMPAIGN.replace("starts = 2026-12-21", "starts = 2026-03-08T02:30:00")),
        "campaigns[0].starts",
        "does not exist in America/New_York",
        "02:30",
    ),
    (
        "unknown campaign book",
        append(CAMPAIGN + 'books = ["second"]\n'),
        "campaigns[0].books[0]",
        "unknown book 'second'",
        'books = ["second"]',
    ),
    (
        "percent out of range",
        append(CAMPAIGN.replace("percent_off = 20", "percent_off = 120")),
        "campaigns[0].percent_off",
        "not between 0",
        "percent_off = 120",
    ),
    (
        "sale without discount",
        append(CAMPAIGN.replace("percent_off = 20\n", "")),
        "campaigns[0]",
        "exactly one of percent_off or sale_price",
        "[[campaigns]]",
    ),
    (
        "bad format",
        replace('format = "ebook"', 'format = "scroll"'),
        "books[0].editions[0].format",
        "'scroll' is not one of",
        'format = "scroll"',
    ),
    (
        "bad isbn",
        replace('format = "ebook"', 'format = "ebook"\nisbn = "9780000000001"'),
        "books[0].editions[0].isbn",
        "wrong check digit",
        "isbn",
    ),
    (
        "missing cover file",
        replace('slug = "first"', 'slug = "first"\ncover = "nope.jpg"'),
        "books[0].cover",
        "not found",
        "cover =",
    ),
    (
        "bad time zone",
        replace('timezone = "America/New_York"', 'timezone = "Mars/Olympus"'),
        "site.timezone",
        "not an IANA time zone",
        "Mars/Olympus",
    ),
    (
        "narrator on an ebook",
        replace('format = "ebook"', 'format = "ebook"\nnarrator = "A. Voice"'),
        "books[0].editions[0].narrator",
        "only an audiobook has a narrator",
        "narrator =",
    ),
    (
        "transcript on an ebook",
        replace('format = "ebook"', 'format = "ebook"\ntranscript = "Words."'),
        "books[0].editions[0].transcript",
        "only an audiobook has a transcript",
        "transcript =",
    ),
    (
        "unknown country in a store map",
        append('[books.editions.offers.countries]\nQQ = "https://other.example/qq"\n'),
        "books[0].editions[0].offers[1].countries.QQ",
        "'QQ' is not an ISO 3166 country code",
        "QQ =",
    ),
    (
        "group the store chooser does not resolve",
        append('[books.editions.offers.countries]\nUN = "https://other.example/un"\n'),
        "books[0].editions[0].offers[1].countries.UN",
        "'UN' is a group Storefront does not resolve (groups it does: EU)",
        "UN =",
    ),
    (
        "default country is a group",
        replace(
            'timezone = "America/New_York"', 'timezone = "America/New_York"\ndefault_country = "EU"'
        ),
        "site.default_country",
        "'EU' is a group of countries: name one country",
        "default_country",
    ),
]


@pytest.mark.parametrize(
    "mutate, path, message, line_text", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_validation_names_line_key_and_problem(tmp_path, mutate, path, message, line_text):
    text = mutate(MINIMAL_CATALOG)
    problems = problems_of(text, tmp_path)
    matching = [p for p in problems if p.path == path and message in p.message]
    assert matching, [str(p) for p in problems]
    problem = matching[0]
    assert problem.file == "catalog.toml"
    assert problem.line == line_of(text, line_text)
    assert str(problem).startswith(f"catalog.toml:{problem.line}: {path}: ")


def test_every_problem_is_reported_at_once(tmp_path):
    text = MINIMAL_CATALOG
    for case in CASES[:10]:
        if case[0] == "duplicate book slug":
            continue
        try:
            text = case[1](text)
        except AssertionError:
            continue  # an earlier mutation already rewrote that spot
    problems = problems_of(text, tmp_path)
    assert len(problems) >= 7
    assert [p.line for p in problems] == sorted(p.line or 0 for p in problems)


def test_nested_problems_are_reported_even_when_the_parent_is_invalid(tmp_path):
    text = MINIMAL_CATALOG.replace('slug = "first"', 'slug = "Not A Slug"').replace(
        'url = "https://shop.example/first"', 'url = "ftp://shop.example/first"'
    )
    paths = {p.path for p in problems_of(text, tmp_path)}
    assert {"books[0].slug", "books[0].editions[0].offers[0].url"} <= paths


def test_toml_syntax_error_names_the_line(tmp_path):
    text = MINIMAL_CATALOG.replace('name = "The Shop"', 'name = "The Shop')
    (problem,) = problems_of(text, tmp_path)
    assert problem.line == line_of(text, 'name = "The Shop')
    assert "TOML syntax error" in problem.message


def test_missing_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match="file not found"):
        load_catalog(tmp_path / "absent.toml")


def test_local_campaign_times_follow_the_zone_across_dst(tmp_path):
    text = MINIMAL_CATALOG + textwrap.dedent("""
        [[campaigns]]
        slug = "spring"
        name = "Spring"
        starts = 2026-03-07T12:00:00
        ends = 2026-03-09T12:00:00
        percent_off = 10
    """)
    catalog = parse_catalog(text, tmp_path / "catalog.toml")
    campaign = catalog.campaign("spring")
    # New York moves from UTC-5 to UTC-4 on 8 March 2026: the window is 47 hours.
    assert campaign.starts.astimezone(UTC) == datetime(2026, 3, 7, 17, tzinfo=UTC)
    assert campaign.ends.astimezone(UTC) == datetime(2026, 3, 9, 16, tzinfo=UTC)


def test_line_map_tracks_arrays_of_tables():
    text = textwrap.dedent("""
        [[books]]
        slug = "a"
        [[books.editions]]
        format = "ebook"
        [[books.editions.offers]]
        price = 1
        [[books]]
        slug = "b"
        [[books.editions]]
        format = "audiobook"
        [[books.editions]]
        format = "paperback"
        [[books.editions.offers]]
        price = 2
    """)
    lines = build_line_map(text)
    assert lines["books[0].editions[0].offers[0].price"] == 7
    assert lines["books[1].slug"] == 9
    assert lines["books[1].editions[1].format"] == 13
    assert lines["books[1].editions[1].offers[0].price"] == 15


def test_a_territory_group_is_accepted_where_the_store_chooser_resolves_it(tmp_path):
    text = MINIMAL_CATALOG + '[books.editions.offers.countries]\neu = "https://other.example/eu"\n'
    offer = parse_catalog(text, tmp_path / "catalog.toml").book("first").offer("other")
    assert offer.countries == {"EU": "https://other.example/eu"}


# --------------------------------------------------------------------------- field specs


def test_a_field_declared_with_spec_is_checked_required_and_built():
    """The one-line field: its spec alone gives conversion, required, hints and the value."""
    from dataclasses import dataclass
    from pathlib import Path

    from storefront.catalog import convert as c
    from storefront.catalog.spec import Validator, build, has_required, spec, table_spec

    @dataclass(frozen=True, kw_only=True)
    class Thing:
        name: str = spec(c.text, required=True)
        pages: int | None = spec(c.positive_int, default=None)
        origin: str = "context"  # no spec: not a catalog key

    lines = {"thing": 1, "thing.pages": 3, "thing.colour": 4}
    v = Validator(Path("catalog.toml"), lines)
    spec_ = table_spec(Thing, Path("."))
    assert list(spec_) == ["name", "pages"]
    d = v.table({"pages": 0, "colour": "red", "origin": "x"}, "thing", spec_)
    assert not has_required(Thing, d)
    assert [str(p) for p in v.problems] == [
        "catalog.toml:3: thing.pages: 0 must be greater than 0",
        "catalog.toml:4: thing.colour: unknown key 'colour'",
        "catalog.toml:1: thing.origin: unknown key 'origin'",
        "catalog.toml:1: thing.name: is required",
    ]
    d = Validator(Path("catalog.toml"), lines).table({"name": " A ", "pages": 2}, "thing", spec_)
    assert build(Thing, d) == Thing(name="A", pages=2)


def test_every_model_key_comes_from_field_metadata():
    """The reader knows no key that its dataclass does not declare (and the reverse)."""
    import dataclasses

    from storefront import catalog as cat
    from storefront.catalog.spec import catalog_fields

    keys = {
        cls.__name__: [f.name for f in catalog_fields(cls)]
        for cls in (cat.Site, cat.Vendor, cat.Affiliate, cat.Book, cat.Edition, cat.Offer)
    }
    assert keys["Offer"] == [
        "slug",
        "vendor",
        "url",
        "price",
        "currency",
        "preferred",
        "reason",
        "note",
        "countries",
    ]
    assert "narrator" in keys["Edition"] and "sample_chapter" in keys["Book"]
    for cls in (cat.Book, cat.Offer, cat.Campaign):
        assert all(f.kw_only for f in dataclasses.fields(cls))


# --------------------------------------------------------------------------- warnings

SECOND_BOOK = """
[[books]]
slug = "second"
title = "Second Book"
authors = ["A. Writer"]
description = "Another book."

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
vendor = "shop"
url = "https://shop.example/second"
price = "8.00"
currency = "USD"
"""


@pytest.mark.parametrize(
    ("books", "extra", "warned"),
    [
        (SECOND_BOOK, "", True),  # two books, an unscoped sale: both on sale
        (SECOND_BOOK, 'books = ["first", "second"]\n', False),  # said so: no surprise
        (SECOND_BOOK, 'books = ["first"]\n', False),
        (SECOND_BOOK, 'vendors = ["other"]\n', False),  # the second book has no such offer
        (SECOND_BOOK, 'offers = ["first/shop", "second/shop-ebook"]\n', False),
        ("", "", False),  # one book
    ],
)
def test_check_warns_when_a_sale_puts_every_book_of_several_on_sale(
    write_catalog, runner, books, extra, warned
):
    from storefront.cli import main

    text = MINIMAL_CATALOG + books + CAMPAIGN + extra
    catalog = load_catalog(write_catalog(text))
    assert bool(catalog.warnings) == warned
    result = runner.invoke(main, ["check", "--catalog", str(write_catalog(text))])
    assert result.exit_code == 0, result.output
    if warned:
        (warning,) = catalog.warnings
        assert warning.line == line_of(text, "[[campaigns]]") and warning.path == "campaigns[0]"
        assert "puts every book on sale (2 books)" in warning.message
        assert result.stderr.strip() == f"warning: {warning}"
    else:
        assert "warning" not in result.stderr


def test_builtin_sale_is_scoped_to_genesis_so_a_new_book_is_not_on_sale(write_catalog):
    builtin = builtin_catalog_path().read_text(encoding="utf-8")
    assert load_catalog().campaign("apollo8-anniversary").books == ("genesis",)
    new_book = SECOND_BOOK.replace('vendor = "shop"', 'vendor = "ebookit"').replace(
        'url = "https://shop.example/second"', 'url = "https://www.ebookit.com/second"'
    )
    assert not load_catalog(write_catalog(builtin + new_book)).warnings
    unscoped = builtin.replace('books = ["genesis"]', "")
    (warning,) = load_catalog(write_catalog(unscoped + new_book)).warnings
    assert "'apollo8-anniversary' puts every book on sale" in warning.message


@pytest.mark.parametrize(
    ("vendor", "change"),
    [
        (
            "Other Store!",
            replace(
                'slug = "other"\nname = "Other Store"',
                'slug = "Other Store!"\nname = "Other Store"',
            ),
        ),
        ("other", replace('name = "Other Store"\n', "")),  # refused for a missing name
    ],
    ids=["bad slug", "missing name"],
)
def test_a_refused_vendor_is_one_error_not_one_more_per_offer(tmp_path, vendor, change):
    text = change(MINIMAL_CATALOG).replace('vendor = "other"', f'vendor = "{vendor}"')
    text += textwrap.dedent(f"""
        [[books]]
        slug = "second"
        title = "Second"
        authors = ["A. Writer"]
        description = "Another."
        [[books.editions]]
        format = "ebook"
        [[books.editions.offers]]
        vendor = "{vendor}"
        url = "https://other.example/second"
        currency = "USD"
    """)
    problems = problems_of(text, tmp_path)
    assert [p.path for p in problems] == [
        "vendors[1].slug" if vendor != "other" else "vendors[1].name"
    ], [str(p) for p in problems]


@pytest.mark.parametrize(
    "name", ["../outside.png", "covers/../../outside.png", "/tmp/x/outside.png"]
)
def test_a_file_outside_the_catalogs_folder_is_refused(tmp_path, name):
    # Catalog files (covers, photos, samples) are served to readers: a path that leaves
    # the catalog's folder could publish any file on the server.
    folder = tmp_path / "catalog"
    folder.mkdir()
    (tmp_path / "outside.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    name = name.replace("/tmp/x", str(tmp_path))
    text = MINIMAL_CATALOG.replace(
        'description = "A book for tests. It has two sentences."',
        f'description = "A book for tests. It has two sentences."\ncover = "{name}"',
    )
    (problem,) = problems_of(text, folder)
    assert (problem.path, problem.line) == ("books[0].cover", line_of(text, "cover = "))
    assert problem.message == f"'{name}' is outside the catalog's folder"


@pytest.mark.parametrize(
    "value",
    [
        '"""\ntext [ with a bracket\n"""',  # multi-line basic string
        "'''\n[not a header]\nkey = 1\n'''",  # multi-line literal string
        '[\n  "a [", # a comment ]\n  "b",\n]',  # an array over lines, brackets in text
        '"\u2028 [ a line separator is text in TOML"',
    ],
)
def test_line_map_reads_past_brackets_and_headers_inside_values(value):
    text = f"[site]\ntitle = 1\nblurb = {value}\n[[books]]\nslug = 2\n"
    lines = build_line_map(text)
    assert lines["site.blurb"] == 3
    assert (lines["books[0]"], lines["books[0].slug"]) == (
        3 + value.count("\n") + 1,
        3 + value.count("\n") + 2,
    )
    assert "site.key" not in lines and "not a header" not in lines
