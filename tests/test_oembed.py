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
    ("layout", "maxwidth", "maxheight", "fitted"),
    [
        ("card", None, None, ("card", 480, 870)),
        ("card", "1000", None, ("card", 480, 870)),
        ("card", "400", None, ("card", 400, 1060)),  # narrower: more lines, taller
        ("card", "400", "711", ("card", 400, 711)),  # asked for: capped, its script resizes
        ("banner", None, None, ("banner", 720, 150)),
        ("banner", "600", None, ("banner", 600, 150)),
        ("compact", None, None, ("compact", 300, 390)),
        ("support", "280", None, ("support", 280, 750)),
        # No layout asked for: the richest card that fits whole.
        (None, None, None, ("card", 480, 870)),
        (None, "640", "750", ("card", 560, 730)),  # wider than 480: fits
        (None, "500", "750", ("compact", 300, 390)),  # WordPress's default request
        (None, "400", "300", ("banner", 400, 230)),
        (None, "400", "100", ("banner", 400, 100)),  # nothing fits: the smallest, capped
    ],
)
def test_card_size_fits_the_consumers_limits(layout, maxwidth, maxheight, fitted):
    chosen, size = card_size(layout, maxwidth, maxheight)
    assert (chosen, size.width, size.height) == fitted
    if maxheight:
        assert size.height <= int(maxheight)


@pytest.mark.parametrize(
    ("maxwidth", "maxheight", "status", "message"),
    [
        ("279", None, 404, "no card fits in maxwidth=279"),
        ("wide", None, 400, "maxwidth 'wide' is not a whole number"),
        ("0", None, 400, "maxwidth '0' is not a whole number"),
        ("-5", None, 400, "maxwidth '-5' is not a whole number"),
        (None, "1.5", 400, "maxheight '1.5' is not a whole number"),
        # Unicode digits: isdigit() says yes to all, int() takes the last two.
        ("\u00b2", None, 400, "maxwidth '\u00b2' is not a whole number"),
        (None, "\u00b9", 400, "maxheight '\u00b9' is not a whole number"),
        ("\u0664\u0668\u0660", None, 400, "is not a whole number"),
        ("\uff15\uff10\uff10", None, 400, "is not a whole number"),
        ("9" * 40, None, 400, "is not a whole number"),
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
        "author_url": f"{BASE}/authors/robert-zimmerman",  # the author's page
        "provider_name": "Behind The Black Books",
        "provider_url": f"{BASE}/",
        "cache_age": 86400,
        "width": 480,
        "height": 870,
        "thumbnail_url": f"{BASE}/books/genesis/cover",
        "thumbnail_width": 600,
        "thumbnail_height": 900,
    }
    soup = BeautifulSoup(data["html"], "html.parser")
    # What WordPress keeps of an unknown provider's html, in its order: the blockquote
    # with a plain link to the book page, then the iframe (wp_filter_oembed_result).
    assert [t.name for t in soup.find_all(True, recursive=False)] == [
        "blockquote",
        "iframe",
        "script",
    ]
    assert data["html"].startswith("<blockquote><a href=")
    (link,) = soup.blockquote.find_all("a")
    assert link["href"] == f"{BASE}/books/genesis"
    assert link.get_text() == "Genesis: the Story of Apollo 8, by Robert Zimmerman"
    iframe = soup.find("iframe")
    assert iframe["src"] == f"{BASE}/embed/genesis?layout=card&theme=light"
    assert (iframe["width"], iframe["height"]) == ("480", "870")
    assert (iframe["frameborder"], iframe["marginwidth"], iframe["marginheight"]) == ("0",) * 3
    assert iframe["title"] == "Genesis: the Story of Apollo 8: promo card"
    assert soup.find("script")["src"] == f"{BASE}/widget.js"
    assert soup.find("script").has_attr("async")


def test_wordpress_gets_a_card_that_fits_its_default_box(client):
    data = client.get(OEMBED + "&maxwidth=500&maxheight=750").get_json()
    iframe = BeautifulSoup(data["html"], "html.parser").find("iframe")
    assert iframe["src"] == f"{BASE}/embed/genesis?layout=compact&theme=light"
    assert (data["width"], data["height"]) == (300, 390)
    assert (iframe["width"], iframe["height"]) == ("300", "390")


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
    data = client.get(OEMBED + "&layout=card&maxwidth=500&maxheight=800").get_json()
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
        (OEMBED + "&maxwidth=%C2%B2", 400, "maxwidth '\u00b2' is not a whole number"),
        (OEMBED + "&maxheight=%C2%B9", 400, "maxheight '\u00b9' is not a whole number"),
        (OEMBED + "&maxwidth=%D9%A4%D9%A8%D9%A0", 400, "is not a whole number"),
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
    assert [t.name for t in soup.find_all(True)] == ["blockquote", "a", "iframe", "script"]
    assert soup.a.get_text() == "\"><script>alert('t')</script>, by A. Writer"
    assert soup.iframe["title"] == "\"><script>alert('t')</script>: promo card"
    assert data["title"] == "\"><script>alert('t')</script>"


# --------------------------------------------------------------------------- a real consumer


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """``storefront serve`` on a free port, its base URL set to where it listens."""
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
    # micawber asks maxheight 711 (16:9): the full card would be cut, the compact one fits.
    assert data["width"] == 300 and data["height"] <= 400 * 16 // 9
    iframe = BeautifulSoup(data["html"], "html.parser").find("iframe")
    assert iframe["src"] == f"{live_server}/embed/genesis?layout=compact&theme=light"
    with urllib.request.urlopen(iframe["src"], timeout=10) as card:
        assert card.status == 200
        assert "frame-ancestors *" in card.headers["Content-Security-Policy"]
        assert "Genesis" in card.read().decode()

    post = f"Christmas reading:\n\n{page}\n\nMerry Christmas!"
    embedded = registry.parse_text(post)
    soup = BeautifulSoup(embedded, "html.parser")
    assert soup.blockquote.a["href"] == page
    assert soup.iframe["src"].startswith(f"{live_server}/embed/genesis?layout=")
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


# --------------------------------------------------------------------------- the cache


def test_oembed_is_cached_on_what_it_answers_not_on_the_query_string(app, client):
    cache = app.extensions["storefront"].cache
    first = client.get(OEMBED + "&maxwidth=500&maxheight=750")
    renders = cache.renders
    # Junk parameters, another order, equal values spelt differently: no new render.
    for query in (
        "&maxheight=750&maxwidth=500",
        "&maxwidth=500&maxheight=750&utm_source=x&junk=1",
        "&maxwidth=0500&maxheight=750&format=JSON",
        # Other limits, the same answer (the same compact card, no thumbnail either way).
        "&maxwidth=501&maxheight=751",
        *(f"&maxwidth={w}&maxheight=700" for w in range(300, 480, 7)),
        *(f"&maxwidth=500&maxheight=750&n={i}" for i in range(50)),
    ):
        again = client.get(OEMBED + query)
        assert again.status_code == 200
        assert again.data == first.data
    assert cache.renders == renders
    # A request that answers differently renders once.
    client.get(OEMBED + "&maxwidth=640")
    assert cache.renders == renders + 1
