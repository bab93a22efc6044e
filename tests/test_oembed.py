"""oEmbed: URL matching, sizes, the JSON per the 1.0 spec, and a real consumer (micawber)."""

from __future__ import annotations

import re
import sys
import urllib.request
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from micawber import Provider, ProviderRegistry
from micawber.exceptions import ProviderHTTPException

from storefront.catalog import load_catalog
from storefront.urls import Urls
from widgets.oembed import OEmbedError, book_for_url, card_size

from .conftest import MINIMAL_CATALOG

BASE = "https://books.example.org"
OEMBED = "/oembed?url=https://books.example.org/books/genesis"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize(
    "url",
    [
        "https://books.example.org/books/genesis",
        "https://books.example.org/books/genesis/",
        "https://books.example.org/books/genesis?utm_source=blog#buy",
        "http://books.example.org/books/genesis",  # either scheme: sites move to https
        "https://BOOKS.example.org/books/genesis",
        "https://books.example.org:443/books/genesis",
        "https://books.example.org/embed/genesis?layout=banner",
        " https://books.example.org/books/genesis ",
    ],
)
def test_book_page_urls_are_ours(catalog, url):
    assert book_for_url(catalog, Urls(BASE), url).slug == "genesis"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/books/genesis",
        "https://books.example.org.evil.example/books/genesis",
        "https://books.example.org:8443/books/genesis",
        "https://books.example.org:99999/books/genesis",  # unparseable port
        "https://books.example.org/books/nope",
        "https://books.example.org/books/genesis/cover",
        "https://books.example.org/go/genesis/ebookit",
        "https://books.example.org/",
        "ftp://books.example.org/books/genesis",
        "javascript:alert(1)//books.example.org/books/genesis",
        "/books/genesis",
        "genesis",
        "",
    ],
)
def test_other_urls_are_not_ours(catalog, url):
    assert book_for_url(catalog, Urls(BASE), url) is None


@pytest.mark.parametrize(
    ("url", "ours"),
    [
        ("https://example.org/store/books/genesis", True),
        ("https://example.org/books/genesis", False),
        ("https://example.org/storefront/books/genesis", False),
    ],
)
def test_a_base_url_with_a_path_prefix_is_respected(catalog, url, ours):
    assert (book_for_url(catalog, Urls("https://example.org/store/"), url) is not None) == ours


@pytest.mark.parametrize(
    ("layout", "maxwidth", "maxheight", "size"),
    [
        ("card", None, None, (480, 900)),
        ("card", "1000", None, (480, 900)),
        ("card", "400", None, (400, 1080)),  # narrower: more lines, taller
        ("card", "400", "711", (400, 711)),
        ("banner", None, None, (720, 120)),
        ("banner", "600", None, (600, 120)),
        ("compact", None, None, (300, 460)),
        ("support", "280", None, (280, 960)),
    ],
)
def test_card_size_fits_the_consumers_limits(layout, maxwidth, maxheight, size):
    fitted = card_size(layout, maxwidth, maxheight)
    assert (fitted.width, fitted.height) == size


@pytest.mark.parametrize(
    ("maxwidth", "maxheight", "status", "message"),
    [
        ("279", None, 404, "no card fits in maxwidth=279"),
        ("wide", None, 400, "maxwidth 'wide' is not a whole number"),
        ("0", None, 400, "maxwidth '0' is not a whole number"),
        ("-5", None, 400, "maxwidth '-5' is not a whole number"),
        (None, "1.5", 400, "maxheight '1.5' is not a whole number"),
    ],
)
def test_impossible_sizes_are_refused(maxwidth, maxheight, status, message):
    with pytest.raises(OEmbedError) as info:
        card_size("card", maxwidth, maxheight)
    assert info.value.status == status
    assert message in str(info.value)


# --------------------------------------------------------------------------- the endpoint


def test_oembed_answers_a_rich_response_per_the_spec(client):
    response = client.get(OEMBED + "&format=json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = response.get_json()
    assert {k: v for k, v in data.items() if k != "html"} == {
        "version": "1.0",
        "type": "rich",
        "title": "Genesis: the Story of Apollo 8",
        "author_name": "Robert Zimmerman",
        "author_url": f"{BASE}/books/genesis",
        "provider_name": "Behind The Black Books",
        "provider_url": f"{BASE}/",
        "cache_age": 86400,
        "width": 480,
        "height": 900,
        "thumbnail_url": f"{BASE}/books/genesis/cover",
        "thumbnail_width": 600,
        "thumbnail_height": 900,
    }
    soup = BeautifulSoup(data["html"], "html.parser")
    iframe = soup.find("iframe")
    assert iframe["src"] == f"{BASE}/embed/genesis?layout=card&theme=light"
    assert (iframe["width"], iframe["height"]) == ("480", "900")
    assert iframe["title"] == "Genesis: the Story of Apollo 8: promo card"
    assert soup.find("script")["src"] == f"{BASE}/widget.js"
    assert soup.find("script").has_attr("async")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("&layout=compact&theme=dark", ("compact", "dark", 300)),
        ("&layout=banner&maxwidth=640", ("banner", "light", 640)),
        ("&theme=auto", ("card", "auto", 480)),
    ],
)
def test_oembed_layout_and_theme_choose_the_card(client, query, expected):
    data = client.get(OEMBED + query).get_json()
    iframe = BeautifulSoup(data["html"], "html.parser").find("iframe")
    layout, theme, width = expected
    assert iframe["src"] == f"{BASE}/embed/genesis?layout={layout}&theme={theme}"
    assert data["width"] == width == int(iframe["width"])


def test_oembed_drops_the_thumbnail_when_it_would_not_fit(client):
    data = client.get(OEMBED + "&maxwidth=500&maxheight=800").get_json()
    assert (data["width"], data["height"]) == (480, 800)
    assert not {"thumbnail_url", "thumbnail_width", "thumbnail_height"} & data.keys()


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("/oembed?url=https://evil.example/books/genesis", 404, "is not a book page of"),
        ("/oembed?url=https://books.example.org/books/nope", 404, "is not a book page of"),
        (OEMBED + "&format=xml", 501, "format 'xml' is not supported"),
        (OEMBED + "&format=XML", 501, "format 'xml' is not supported"),
        ("/oembed", 400, "the url parameter is required"),
        (OEMBED + "&maxwidth=100", 404, "no card fits in maxwidth=100"),
        (OEMBED + "&maxwidth=abc", 400, "maxwidth 'abc' is not a whole number"),
        (OEMBED + "&layout=poster", 400, "layout 'poster' is not one of"),
    ],
)
def test_oembed_errors_are_json_with_the_spec_status(client, query, status, message):
    response = client.get(query)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert message in response.get_json()["message"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_oembed_html_escapes_catalog_text(make_app, write_catalog):
    catalog = MINIMAL_CATALOG.replace(
        'title = "First Book"', 'title = "\\"><script>alert(\'t\')</script>"'
    )
    client = make_app(CATALOG=str(write_catalog(catalog))).test_client()
    data = client.get("/oembed?url=https://books.example.org/books/first").get_json()
    soup = BeautifulSoup(data["html"], "html.parser")
    assert [t.name for t in soup.find_all(True)] == ["iframe", "script"]
    assert soup.iframe["title"] == "\"><script>alert('t')</script>: promo card"
    assert data["title"] == "\"><script>alert('t')</script>"


# --------------------------------------------------------------------------- a real consumer


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """``storefront serve`` (gunicorn) on a free port, its base URL set to where it listens."""
    from bench.harness import free_port, serve

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = tmp_path_factory.mktemp("oembed-server")
    command = [
        sys.executable,
        "-m",
        "storefront.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {"STOREFRONT_BASE_URL": base, "STOREFRONT_INSTANCE_PATH": str(tmp / "instance")}
    with serve(command, port=port, env=env, cwd=tmp, log=Path(tmp) / "server.log") as url:
        yield url


def discover(page_url: str) -> str:
    """Find the oEmbed endpoint the way consumers do: the page's alternate link."""
    with urllib.request.urlopen(page_url, timeout=10) as response:
        soup = BeautifulSoup(response.read(), "html.parser")
    (link,) = soup.find_all("link", rel="alternate", type="application/json+oembed")
    return link["href"]


@pytest.mark.slow
def test_micawber_discovers_and_embeds_the_card_from_a_running_server(live_server):
    page = f"{live_server}/books/genesis"
    href = discover(page)
    endpoint, _, query = href.partition("?")
    assert endpoint == f"{live_server}/oembed"
    assert "format=json" in query
    registry = ProviderRegistry()
    registry.register(re.escape(live_server) + r"/books/\S+", Provider(endpoint))

    data = registry.request(page, maxwidth=400)
    assert data["type"] == "rich" and data["version"] == "1.0"
    assert data["width"] == 400 and data["height"] <= 400 * 16 // 9  # micawber's maxheight
    iframe = BeautifulSoup(data["html"], "html.parser").find("iframe")
    assert iframe["src"] == f"{live_server}/embed/genesis?layout=card&theme=light"
    with urllib.request.urlopen(iframe["src"], timeout=10) as card:
        assert card.status == 200
        assert "frame-ancestors *" in card.headers["Content-Security-Policy"]
        assert "Genesis" in card.read().decode()

    post = f"Christmas reading:\n\n{page}\n\nMerry Christmas!"
    embedded = registry.parse_text(post)
    assert f'<iframe src="{live_server}/embed/genesis?layout=card&amp;theme=light"' in embedded
    assert embedded.startswith("Christmas reading:")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("url", "params", "status"),
    [
        ("https://evil.example/books/genesis", {}, 404),
        ("{base}/books/nope", {}, 404),
        ("{base}/books/genesis", {"format": "xml"}, 501),
    ],
)
def test_micawber_sees_the_spec_error_statuses(live_server, url, params, status):
    provider = Provider(f"{live_server}/oembed")
    with pytest.raises(ProviderHTTPException) as info:
        provider.request(url.format(base=live_server), **params)
    # micawber leaves urllib's HTTPError (and its socket) open: close it, or the
    # ResourceWarning turns into an error under filterwarnings=error.
    info.value.__cause__.close()
    assert info.value.status == status
