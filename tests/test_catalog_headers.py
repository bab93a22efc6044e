"""Catalog values that end up in response headers are checked against the header's grammar."""

from __future__ import annotations

import re

import pytest

from storefront.catalog import SLUG_RE, CatalogError, load_catalog
from storefront.catalog.errors import Invalid
from storefront.catalog.header import csp_ancestor_source
from storefront.cli import main

from .conftest import MINIMAL_CATALOG

INJECTION = "https://blog.example; report-uri https:evil.example"


def with_site(line: str) -> str:
    return MINIMAL_CATALOG.replace(
        'timezone = "America/New_York"\n', f'timezone = "America/New_York"\n{line}\n'
    )


def problems(write_catalog, text: str) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog(write_catalog(text))
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("*", "*"),
        ("'self'", "'self'"),
        ("'none'", "'none'"),
        ("https:", "https:"),
        ("https://blog.example", "https://blog.example"),
        ("https://blog.example/", "https://blog.example"),
        ("https://www.blog.example:8443/", "https://www.blog.example:8443"),
        ("blog.example", "blog.example"),
        ("*.blog.example", "*.blog.example"),
        ("https://*.blog.example:*", "https://*.blog.example:*"),
    ],
)
def test_csp_sources_are_accepted_and_normalised(source, expected):
    assert csp_ancestor_source(source) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (INJECTION, "a space and ';' would end it"),
        ("https://blog.example;sandbox", "';' would end it"),
        ("https://a.example,https://b.example", "',' would end it"),
        ("https://blog.example/path", "is not a Content-Security-Policy source"),
        ("https://blog.exa_mple", "is not a Content-Security-Policy source"),
        ("https://bl\u00f6g.example", "is not a Content-Security-Policy source"),
        ("'unsafe-inline'", "is not a Content-Security-Policy source"),
        ("https://blog.example:80a", "is not a Content-Security-Policy source"),
        ("//blog.example", "is not a Content-Security-Policy source"),
    ],
)
def test_values_that_are_not_one_csp_source_are_refused(source, message):
    with pytest.raises(Invalid, match=re.escape(message)):
        csp_ancestor_source(source)


def test_check_rejects_a_frame_ancestor_that_adds_a_directive(write_catalog, runner):
    text = with_site(f'frame_ancestors = ["https://ok.example", "{INJECTION}"]')
    (problem,) = problems(write_catalog, text)
    line = text.splitlines().index(f'frame_ancestors = ["https://ok.example", "{INJECTION}"]') + 1
    assert problem.startswith(f"catalog.toml:{line}: site.frame_ancestors: item 2: ")
    assert "is not one Content-Security-Policy source" in problem

    result = runner.invoke(main, ["check", "--catalog", str(write_catalog(text))])
    assert result.exit_code == 1
    assert "is not one Content-Security-Policy source" in result.output
    assert "Traceback" not in result.output


def test_none_must_stand_alone_in_frame_ancestors(write_catalog):
    (problem,) = problems(write_catalog, with_site("frame_ancestors = [\"'none'\", \"'self'\"]"))
    assert "site.frame_ancestors: \"'none'\" must be the only entry" in problem


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://www.amazon.com@evil.example/dp/1", "has a user name or password before the host"),
        ("https://user:pw@shop.example/first", "has a user name or password before the host"),
        ("https://shop.example;sandbox/first", "has no valid host name"),
        ("https://shop..example/first", "has no valid host name"),
        ("https://-shop.example/first", "has no valid host name"),
        ("https://shop.example:99999/first", "has a port that is not a number"),
        ("https://shop.example:8o/first", "has a port that is not a number"),
        ("https://[::1/first", "is not an http(s) URL"),
        ("https://shop.example/first\\u007f", "contains control characters"),  # TOML escape
    ],
)
def test_store_urls_need_a_host_a_location_header_can_carry(write_catalog, url, message):
    text = MINIMAL_CATALOG.replace('url = "https://shop.example/first"', f'url = "{url}"')
    found = problems(write_catalog, text)
    assert any("books[0].editions[0].offers[0].url" in p and message in p for p in found), found


@pytest.mark.parametrize(
    "url",
    [
        "https://www.kobo.com/jp/ja/search?query=月面",
        "https://例え.jp/本",
        "http://127.0.0.1:8080/first",
        "https://[2001:db8::1]/first",
        "https://shop.example./first",
    ],
)
def test_non_ascii_and_ip_hosts_are_still_store_urls(write_catalog, url):
    text = MINIMAL_CATALOG.replace('url = "https://shop.example/first"', f'url = "{url}"')
    assert load_catalog(write_catalog(text)).book("first").offer("shop").url == url


def test_base_url_host_cannot_add_a_csp_directive(write_catalog):
    found = problems(write_catalog, with_site('base_url = "https://books.example;sandbox"'))
    assert any("site.base_url" in p and "has no valid host name" in p for p in found), found


# RFC 9110 token characters: what a Content-Disposition filename may hold unquoted.
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@pytest.mark.parametrize("slug", ["genesis", "a", "leaving-earth-2", "x" * 64])
def test_file_names_in_headers_are_built_from_slugs_that_are_tokens(slug):
    from widgets.epub import sample_filename
    from widgets.print import PIECES, output_name

    assert SLUG_RE.match(slug)
    book = type("B", (), {"slug": slug})()
    assert TOKEN.match(sample_filename(book))
    for piece in PIECES:
        assert TOKEN.match(output_name(slug, piece, slug))


@pytest.mark.parametrize("slug", ['a"b', "a;b", "a b", "A", "-a", "a/b", "a\\b"])
def test_a_slug_that_is_no_token_is_refused(write_catalog, slug):
    text = MINIMAL_CATALOG.replace('slug = "first"', f"slug = '{slug}'")
    found = problems(write_catalog, text)
    assert any("books[0].slug" in p and "is not a slug" in p for p in found), found
