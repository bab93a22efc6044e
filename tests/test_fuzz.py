"""No request gets a 500 for what a reader or a crawler can type (Hypothesis, every public route).

The routes come from the app's own URL map, so a route added later is fuzzed too.
Each route gets arbitrary path arguments (the catalog's real slugs, and junk),
query strings (known parameter names with junk values, junk names, raw bytes),
headers (conditional requests, Accept, Host, forwarded headers, the admin token)
and methods; every answer must be a 2xx, 3xx or 4xx, and no redirect may lead to
the host a request named. Bounded: ``max_examples`` per route, derandomized.
"""

from __future__ import annotations

import re
import tempfile
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from storefront.app import create_app

ADMIN_TOKEN = "fuzz-admin-token"
EVIL_HOST = "evil.example"
MAX_EXAMPLES = 60
EXPENSIVE = ("flyer", "social", "sample", "cover")  # renders a PDF, PNG or EPUB per miss


def _rules() -> list[tuple[str, str, tuple[str, ...]]]:
    with tempfile.TemporaryDirectory(prefix="storefront-fuzz-") as tmp:
        app = create_app({"TESTING": True}, instance_path=tmp)
        rules = [
            (rule.rule, rule.endpoint, tuple(sorted(rule.arguments)))
            for rule in app.url_map.iter_rules()
            if rule.endpoint != "static"
        ]
        app.extensions["clicks"].close()
    return rules


RULES = _rules()

# Every query parameter a view reads today, and a few a crawler or a tracker adds.
PARAMS = [
    "url", "format", "maxwidth", "maxheight", "layout", "theme", "quote", "formats", "cta",
    "src", "c", "remember", "forget", "choose", "size", "campaign", "since", "until", "by",
    "author", "series", "country", "page", "q", "utm_source", "fbclid", "callback", "lang",
]  # fmt: skip
TEXT = st.text(max_size=40)
NUMBERISH = st.sampled_from(
    ["0", "-1", "1e309", "²", "¹", "٣", "0x10", "nan", "inf", "99999999999999999999", "500", ""]
)
DATEISH = st.sampled_from(
    ["0001-01-05", "0001-01-01", "9999-12-31", "2026-02-30", "2026-11-01", "30d", "-1d", ""]
)
HEADER_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)


URLS = st.sampled_from(
    [
        "https://books.example.org/books/genesis",
        "https://books.example.org/embed/genesis",
        "https://books.example.org/books/genesis?x=1#y",
        "https://evil.example/books/genesis",
        "//books.example.org/books/genesis",
        "javascript:alert(1)",
    ]
)


@st.composite
def query_strings(draw) -> str:
    """Mostly the parameters the views read, with junk, numbers, dates and URLs as values."""
    pairs = draw(
        st.lists(
            st.tuples(
                st.one_of(st.sampled_from(PARAMS), st.sampled_from(PARAMS), TEXT),
                st.one_of(NUMBERISH, DATEISH, URLS, TEXT),
            ),
            max_size=6,
        )
    )
    encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    raw = draw(st.sampled_from(["", "&", "%", "%ff%fe", "a=%zz", "=&=", ";;", "a[]=1&a[]=2"]))
    return "&".join(filter(None, [encoded, raw]))


@st.composite
def header_sets(draw) -> dict[str, str]:
    headers = {}
    names = draw(
        st.lists(
            st.sampled_from(
                [
                    "Accept",
                    "Accept-Language",
                    "Accept-Encoding",
                    "If-None-Match",
                    "If-Modified-Since",
                    "Range",
                    "If-Range",
                    "User-Agent",
                    "Referer",
                    "Cookie",
                    "X-Forwarded-For",
                    "X-Forwarded-Proto",
                    "X-Forwarded-Host",
                    "Authorization",
                    "CF-IPCountry",
                    "Sec-Purpose",
                    "Origin",
                    "Content-Type",
                ]
            ),  # fmt: skip
            unique=True,
            max_size=6,
        )
    )
    for name in names:
        headers[name] = draw(
            st.one_of(
                HEADER_VALUE,
                st.sampled_from(
                    [
                        '"x"',
                        "*",
                        'W/"x", "y"',
                        "bytes=0-1",
                        "bytes=9-1",
                        "application/json",
                        f"Bearer {ADMIN_TOKEN}",
                        "Bearer",
                        "Basic !!!",
                        "Basic OjE=",
                        "zz",
                        "FR",
                        "prefetch",
                        "cookie_choice=kindle; other=1",
                    ]
                ),  # fmt: skip
            )
        )
    return headers


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    from datetime import UTC, datetime

    tmp = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        {
            "TESTING": False,  # errors are answered as they would be in production
            "BASE_URL": "https://books.example.org",
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "COUNTRY_HEADER": "CF-IPCountry",
            "DATABASE_URL": f"sqlite:///{tmp / 'clicks.db'}",
            "CATALOG_RELOAD_INTERVAL": -1,
            "CLOCK": lambda: datetime(2026, 12, 22, 17, 0, tzinfo=UTC),  # inside a sale
        },
        instance_path=str(tmp / "instance"),
    )
    yield app
    app.extensions["clicks"].close()


def slugs(app) -> dict[str, list[str]]:
    catalog = app.extensions["storefront"].catalog
    books = [b.slug for b in catalog.books]
    offers = sorted({o.slug for b in catalog.books for o in b.offers})
    vendors = list(catalog.vendors)
    return {"book": books, "offer": offers, "other": sorted({*books, *offers, *vendors})}


def converters(rule: str) -> dict[str, str]:
    """``{argument: converter}`` as the rule string writes them (``<int:number>``)."""
    return {
        name: converter or "default"
        for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule)
    }


def argument_values(app, name: str, converter: str = "default") -> st.SearchStrategy:
    if converter == "int":
        return st.one_of(st.integers(0, 12), st.integers(0, 10**18))
    if converter == "float":
        return st.floats(0, 1e9, allow_nan=False)
    known = slugs(app)
    real = (
        known["offer"]
        if "offer" in name
        else known["book"]
        if "slug" in name or "book" in name
        else known["other"]
    )
    junk = st.one_of(
        TEXT.filter(lambda s: s != ""),
        st.sampled_from(["..", ".", "%2e%2e", "GENESIS", "genesis ", "a/b", "\u202e", "null"]),
    )
    return st.one_of(st.sampled_from(real), junk)  # fmt: skip


def check_answer(response, rule: str, sent_host: str | None) -> None:
    status = response.status_code
    # The oEmbed spec's own answer to a format the provider does not offer is 501.
    if not (rule == "/oembed" and status == 501):
        assert 200 <= status < 500, f"{rule}: answered {status}"
    location = response.headers.get("Location")
    if location and sent_host:
        target = urlsplit(location).hostname or ""
        assert target != sent_host.split(":")[0].lower() or sent_host in (
            "books.example.org",
            "localhost",
        ), f"{rule}: redirected to the Host the request named: {location}"


@pytest.mark.parametrize(("rule", "endpoint", "arguments"), RULES, ids=[r[0] for r in RULES])
def test_every_public_route_answers_below_500_to_anything(fuzz_app, rule, endpoint, arguments):
    client = fuzz_app.test_client()
    adapter = fuzz_app.url_map.bind("books.example.org")
    kinds = converters(rule)
    values = st.fixed_dictionaries(
        {name: argument_values(fuzz_app, name, kinds.get(name, "default")) for name in arguments}
    )
    budget = MAX_EXAMPLES // 3 if endpoint.split(".")[-1] in EXPENSIVE else MAX_EXAMPLES

    @settings(
        max_examples=budget,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        values=values,
        query=query_strings(),
        headers=header_sets(),
        method=st.sampled_from(["GET", "GET", "GET", "HEAD", "POST", "OPTIONS", "PUT"]),
        host=st.sampled_from([None, EVIL_HOST, "evil.example:8443", "[::1]", "a b", ""]),
    )
    def attempt(values, query, headers, method, host):
        path = adapter.build(endpoint, values, append_unknown=False)
        if host is not None:
            headers = {**headers, "Host": host}
        response = client.open(path, method=method, query_string=query, headers=headers)
        check_answer(response, rule, host)

    attempt()


@given(
    path=st.one_of(
        st.binary(max_size=60).map(lambda b: "/" + b.decode("latin-1")),
        st.lists(
            st.sampled_from(["books", "genesis", "go", "embed", "admin", "", "..", "%00", "é"]),
            max_size=5,
        ).map(lambda parts: "/" + "/".join(parts)),
    ),
    query=query_strings(),
    host=st.sampled_from([None, EVIL_HOST]),
)
@example(path="/books//genesis", query="", host=EVIL_HOST)
@example(path="//evil.example/books/genesis", query="", host=EVIL_HOST)
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_any_raw_path_answers_below_500(fuzz_app, path, query, host):
    client = fuzz_app.test_client()
    headers = {"Host": host} if host else {}
    response = client.get(
        "/", headers=headers, environ_overrides={"PATH_INFO": path, "QUERY_STRING": query}
    )
    check_answer(response, path, host)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/stats?until=0001-01-05",
        "/admin/stats?since=0001-01-01&until=0001-01-02",
        "/admin/stats?until=9999-12-31",
        "/oembed?url=https://books.example.org/books/genesis&maxwidth=²",
        "/oembed?url=https://books.example.org/books/genesis&maxheight=¹",
        "/embed/genesis?quote=²",
    ],
)
def test_the_reported_500s_are_4xx_or_answers(fuzz_app, url):
    response = fuzz_app.test_client().get(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert 200 <= response.status_code < 500


def test_a_doubled_slash_does_not_redirect_to_the_requested_host(fuzz_app):
    response = fuzz_app.test_client().get("/books//genesis", headers={"Host": EVIL_HOST})
    assert response.status_code == 404
    assert "Location" not in response.headers
