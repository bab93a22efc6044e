"""A buy link to a store URL in any script, through the production server (Granian).

A WSGI server refuses a response header that is not Latin-1 (gunicorn did, when the fast
path handed it the raw catalog URL: a 500, with the click recorded). Both paths must send a
percent-encoded ``Location``: the fast path (a plain click) and Flask (``remember=1`` sets a
cookie).
"""

from __future__ import annotations

import http.client
import textwrap
from urllib.parse import unquote, urlsplit

import pytest

from .conftest import MINIMAL_CATALOG
from .test_click_load import storefront_server

pytestmark = pytest.mark.slow

KOBO_JP = "https://www.kobo.com/jp/ja/search?query=月面&fcsearchfield=Book"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


def test_a_store_url_with_japanese_is_a_valid_location_on_both_paths(tmp_path):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        textwrap.dedent(MINIMAL_CATALOG).replace("https://other.example/first", KOBO_JP),
        encoding="utf-8",
    )
    settings = {"STOREFRONT_CATALOG": str(catalog)}
    with storefront_server(tmp_path, None, settings) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        for path in ("/go/first/other", "/go/first/other?remember=1"):
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                conn.request("GET", path, headers={"User-Agent": BROWSER})
                response = conn.getresponse()
                response.read()
            finally:
                conn.close()
            assert response.status == 302, path
            location = response.getheader("Location")
            assert location == (
                "https://www.kobo.com/jp/ja/search?query=%E6%9C%88%E9%9D%A2&fcsearchfield=Book"
            )
            assert unquote(urlsplit(location).query) == "query=月面&fcsearchfield=Book"
