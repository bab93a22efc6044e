"""``storefront export``: the static site, its links, its buy links, and the swap.

Most tests share one export of the built-in catalog during the Apollo 8 sale
(exports take seconds: samples and flyers are real builds). The served tests
put the export behind Python's ``http.server`` on 127.0.0.1 and run the
project's own link checker over every internal link.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatch
from functools import cache, partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from bs4 import BeautifulSoup

from storefront.app import create_app
from storefront.catalog import load_catalog
from storefront.cli import main
from storefront.export import (
    ExportError,
    ExportResult,
    ExportUrls,
    export_site,
    make_manifest,
    publish,
    query_name,
    static_path,
)
from storefront.linkcheck import CheckConfig, Link, Status, check_links
from storefront.urls import LAYOUTS, THEMES

PHOENIX = ZoneInfo("America/Phoenix")
SALE_DAY = datetime(2026, 12, 22, 9, 0, tzinfo=PHOENIX)  # the Apollo 8 sale is on
SALE_ENDS = datetime(2026, 12, 28, 0, 0, tzinfo=PHOENIX)
QUIET_DAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SALE_STARTS = datetime(2026, 12, 21, 0, 0, tzinfo=PHOENIX)
BASE = "https://static.example.org/store"  # a path prefix, as on GitHub Pages
# Exports build real samples and flyers (seconds each): most tests share one of these.


# --------------------------------------------------------------------------- helpers


def files_of(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def manifest_of(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text(encoding="utf-8"))


def html_links(text: str) -> list[str]:
    """Every href and src, and absolute URLs in meta content (Open Graph, Twitter)."""
    soup = BeautifulSoup(text, "html.parser")
    found = []
    for tag in soup.find_all(True):
        for attr in ("href", "src"):
            if tag.get(attr):
                found.append(tag[attr])
        if tag.name == "meta" and (tag.get("content") or "").startswith(("http://", "https://")):
            found.append(tag["content"])
    return found


@cache
def _reference_client():
    """The app as the server runs it on the sale day: what the export must match."""
    app = create_app({"CLOCK": lambda: SALE_DAY, "BASE_URL": BASE, "CATALOG_RELOAD_INTERVAL": -1})
    return app.test_client()


def app_serves(url: str) -> bool:
    """Whether the app itself answers ``url`` on the sale day (pieces land separately)."""
    return _reference_client().get(url).status_code == 200


class _StaticHandler(SimpleHTTPRequestHandler):
    """Python's static file server, plus the export's ``_headers`` rules (as Netlify reads them)."""

    site_prefix = ""  # where the export sits under the served folder, e.g. "/store"

    def log_message(self, format, *args):  # noqa: A002 - stdlib name
        pass

    def end_headers(self):
        rules = Path(self.directory, self.site_prefix.strip("/"), "_headers")
        path = urlsplit(self.path).path
        if rules.is_file():
            pattern = None
            for line in rules.read_text().splitlines():
                if line.startswith("/"):
                    pattern = self.site_prefix + line.strip()
                elif line.strip() and pattern and fnmatch(path, pattern):
                    name, _, value = line.strip().partition(":")
                    self.send_header(name, value.strip())
        super().end_headers()


@contextmanager
def serve_static(directory: Path, site_prefix: str = ""):
    """Serve ``directory`` with ``http.server`` on 127.0.0.1 in a thread; yield the base URL."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = type("Handler", (_StaticHandler,), {"site_prefix": site_prefix})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(directory)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Served:
    result: ExportResult
    base: str  # the public URL: the static server plus the /store prefix

    @property
    def root(self) -> Path:
        return self.result.target


@pytest.fixture(scope="module")
def sale_export(tmp_path_factory):
    """One direct export of the built-in catalog during the sale, served under /store/."""
    root = tmp_path_factory.mktemp("export")
    with serve_static(root, "/store") as server_url:
        base = server_url + "/store"  # a path prefix, as on GitHub Pages
        result = export_site(root / "store", catalog_path=None, base_url=base, at=SALE_DAY)
        yield Served(result, base)


SMALL_CATALOG = """
[site]
title = "Test Books"
author = "A. Writer"
timezone = "UTC"

[[vendors]]
slug = "shop"
name = "The Shop"
[vendors.affiliate]
param = "tag"
tags = { default = "writer-20" }

[[books]]
slug = "first"
title = "First Book"
authors = ["A. Writer"]
description = "A book for tests."

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
slug = "shop"
vendor = "shop"
url = "https://shop.example/first?ref=x"
price = "10.00"
currency = "USD"

[[campaigns]]
slug = "spring"
name = "Spring sale"
starts = 2026-03-01
ends = 2026-03-31
percent_off = 50
"""
NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC)  # before the spring sale
SPRING = datetime(2026, 3, 5, tzinfo=UTC)  # during it
SPRING_LATER = datetime(2026, 3, 6, tzinfo=UTC)  # same price window


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("catalog") / "catalog.toml"
    path.write_text(SMALL_CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def history(tmp_path_factory, small_catalog):
    """Three cron runs of one export: before the sale, at its start, and a day later."""
    site = tmp_path_factory.mktemp("history") / "site"
    runs = [
        export_site(site, catalog_path=small_catalog, base_url=BASE, at=at)
        for at in (NEW_YEAR, SPRING, SPRING_LATER)
    ]
    return site, runs


# --------------------------------------------------------------------------- naming


@pytest.mark.parametrize(
    ("url", "media_type", "path"),
    [
        ("/", "text/html", "index.html"),
        ("/books/genesis", "text/html", "books/genesis/index.html"),
        ("/books/genesis/cover", "image/svg+xml", "books/genesis/cover.svg"),
        ("/books/genesis/cover", "image/jpeg", "books/genesis/cover.jpg"),
        ("/books/genesis/sample.epub", "application/epub+zip", "books/genesis/sample.epub"),
        ("/books/genesis/flyer.pdf?size=a4", "application/pdf", "books/genesis/flyer-size-a4.pdf"),
        ("/widget.js", "text/javascript", "widget.js"),
        ("/embed/genesis", "text/html", "embed/genesis/index.html"),
        (
            "/embed/genesis?layout=card&theme=dark",
            "text/html",
            "embed/genesis/layout-card_theme-dark.html",
        ),
        (
            "/embed/genesis/fragment?theme=auto",
            "text/html",
            "embed/genesis/fragment/theme-auto.html",
        ),
        (
            "/oembed?url=https%3A%2F%2Fx.org%2Fbooks%2Fgenesis&format=json",
            "application/json",
            "oembed-url-genesis_format-json.json",
        ),
        ("/books/..%2F..%2Fetc/passwd", "text/html", "books/etc/passwd/index.html"),
        ("/books/genesis/sample.mp3", "audio/mpeg", "books/genesis/sample.mp3"),
        ("/books/genesis/sample.m4a", "audio/mp4", "books/genesis/sample.m4a"),
        ("/books/genesis/sample.ogg", "audio/ogg", "books/genesis/sample.ogg"),
    ],
)
def test_each_app_url_gets_a_static_file_name(url, media_type, path):
    assert static_path(url, media_type) == path


def test_query_names_are_stable_and_file_safe():
    assert query_name("layout=card&theme=dark") == "layout-card_theme-dark"
    assert query_name("q=a b/../c") == "q-a-b-..-c"
    long = query_name("k=" + "x" * 200)
    assert len(long) < 60 and "/" not in long


# --------------------------------------------------------------------------- naming links


@pytest.fixture
def export_urls():
    return ExportUrls(BASE, load_catalog(None), None)


def test_pages_link_relatively_and_metadata_stays_absolute(export_urls):
    urls = export_urls
    urls.document = "books/genesis/index.html"  # rendering the book page
    assert urls.index() == "../../index.html"
    assert urls.cover("genesis") == "cover.svg"
    assert urls.flyer("genesis", size="a4") == "flyer-size-a4.pdf"
    assert urls.embed("genesis", layout="card", theme="dark", absolute=False) == (
        "../../embed/genesis/layout-card_theme-dark.html"
    )
    assert urls.book("genesis", absolute=True) == f"{BASE}/books/genesis/"
    assert urls.cover("genesis", absolute=True) == f"{BASE}/books/genesis/cover.svg"
    assert urls.absolute("/books/genesis") == f"{BASE}/books/genesis/"
    # Every URL named is remembered, with the page that links it: what the crawl fetches.
    assert urls.files["/books/genesis/flyer.pdf?size=a4"] == "books/genesis/flyer-size-a4.pdf"
    assert urls.linked_from["/"] == "books/genesis/index.html"


def test_embedded_outputs_get_absolute_links(export_urls):
    urls = export_urls
    for document in (None, "oembed-url-genesis_format-json.json", "widget.js"):
        urls.document = document
        assert urls.embed("genesis", layout="card", theme="dark", absolute=False) == (
            f"{BASE}/embed/genesis/layout-card_theme-dark.html"
        )
        assert urls.book("genesis") == f"{BASE}/books/genesis/"
    urls.document = None
    assert urls.oembed(urls.book("genesis", absolute=True)) == (
        f"{BASE}/oembed-url-genesis_format-json.json"
    )
    assert (
        urls.fragment("genesis", theme="auto") == f"{BASE}/embed/genesis/fragment/theme-auto.html"
    )


def test_buy_links_are_never_named_as_files(export_urls):
    urls = export_urls
    urls.document = "books/genesis/index.html"
    assert urls.go("genesis", "kindle", src="page").startswith("https://www.amazon.com/")
    assert urls.chooser("genesis", absolute=True) == f"{BASE}/books/genesis/"
    clicks = ExportUrls(BASE, urls.catalog, "https://click.example.org/")
    assert clicks.go("genesis", "kindle", src="page") == (
        "https://click.example.org/go/genesis/kindle?src=page"
    )
    assert not [url for url in urls.files if url.startswith("/go")]


def test_two_urls_never_share_a_file(export_urls):
    urls = export_urls
    first = urls.static_file("/books/a b", "text/html")
    second = urls.static_file("/books/a-b", "text/html")
    assert first == "books/a-b/index.html" and second != first
    assert urls.static_file("/manifest.json", "application/json") != "manifest.json"


class _Answer:
    def __init__(self, status: int, mimetype: str, body: bytes = b"x"):
        self.status_code, self.mimetype, self.body = status, mimetype, body

    def get_data(self) -> bytes:
        return self.body


def test_crawl_reports_what_it_cannot_export_and_keeps_the_rest(export_urls):
    from storefront.export import crawl

    urls = export_urls
    urls.index()
    urls.document = "index.html"  # the index links a cover and a flyer
    urls.cover("genesis")
    urls.flyer("genesis", size="a4")
    urls.document = None
    urls.social_image("genesis")  # a seed nothing links
    answers = {
        "/": _Answer(200, "text/html"),
        "/books/genesis/cover": _Answer(200, "image/png"),  # not the SVG its name says
        "/books/genesis/flyer.pdf?size=a4": _Answer(404, "text/html"),
        "/books/genesis/social.png": _Answer(404, "text/html"),
    }
    client = type("Client", (), {"get": lambda self, url: answers[url]})()
    result = crawl(client, urls)
    assert set(result.resources) == {"/"}
    assert result.resources["/"].path == "index.html"
    assert result.missing == {
        "/books/genesis/cover": "the app answers image/png, not what books/genesis/cover.svg says",
        "/books/genesis/flyer.pdf?size=a4": "linked from index.html, but the app answers HTTP 404",
    }
    assert result.failed == {
        "/books/genesis/flyer.pdf?size=a4": 404,
        "/books/genesis/social.png": 404,
    }


def test_widget_js_asks_for_fragment_files_named_like_the_export(export_urls, tmp_path):
    def widget_js(urls) -> str:
        config = {"CLOCK": lambda: QUIET_DAY, "BASE_URL": BASE}
        app = create_app(config, instance_path=str(tmp_path / str(id(urls))))
        if urls is not None:
            app.extensions["storefront"].urls = urls
        return app.test_client().get("/widget.js").get_data(as_text=True)

    served = widget_js(None)
    assert '"/fragment" + (query.length' in served and "{%" not in served
    static = widget_js(export_urls)
    assert '"/fragment/" + (parts.join("_") || "index") + ".html"' in static
    assert static.count("function fragmentUrl") == 1 and "{%" not in static


# --------------------------------------------------------------------------- the export


@pytest.mark.slow
def test_export_holds_every_page_card_and_download_the_app_serves(sale_export):
    root = sale_export.root
    assert root.is_symlink() and root.resolve() == sale_export.result.build
    files = files_of(root)
    expected = {
        "index.html",
        "books/genesis/index.html",
        "books/genesis/cover.svg",
        "books/genesis/sample.epub",
        "widget.js",
        "manifest.json",
        "404.html",
        "_headers",
        "oembed-url-genesis_format-json.json",
        "embed/genesis/index.html",
        "embed/genesis/fragment/index.html",
    }
    for layout in LAYOUTS:
        for theme in THEMES:
            expected.add(f"embed/genesis/layout-{layout}_theme-{theme}.html")
            expected.add(f"embed/genesis/fragment/layout-{layout}_theme-{theme}.html")
    assert expected <= files
    # Flyers (each size, and the running campaign's) and social images: whatever the app serves.
    for url, path in [
        ("/books/genesis/flyer.pdf?size=letter", "books/genesis/flyer-size-letter.pdf"),
        ("/books/genesis/flyer.pdf?size=a4", "books/genesis/flyer-size-a4.pdf"),
        (
            "/books/genesis/flyer.pdf?size=letter&campaign=apollo8-anniversary",
            "books/genesis/flyer-size-letter_campaign-apollo8-anniversary.pdf",
        ),
        ("/books/genesis/social.png", "books/genesis/social.png"),
    ]:
        assert (path in files) == app_serves(url), url


@pytest.mark.slow
def test_sample_download_is_the_epub_the_app_builds(sale_export):
    import io
    import zipfile

    served = zipfile.ZipFile(io.BytesIO(_reference_client().get("/books/genesis/sample.epub").data))
    exported = zipfile.ZipFile(sale_export.root / "books/genesis/sample.epub")
    assert exported.read("mimetype") == b"application/epub+zip"
    # Built by the same code with another base URL: the same pages, links aside.
    assert exported.namelist() == served.namelist()
    opf = next(name for name in served.namelist() if name.endswith(".opf"))
    title = re.compile(rb"<dc:title[^>]*>([^<]*)</dc:title>")
    assert title.search(exported.read(opf))[1] == title.search(served.read(opf))[1] != b""


@pytest.mark.slow
def test_sample_and_flyers_link_to_the_exported_files(sale_export):
    import io
    import zipfile

    from pypdf import PdfReader

    base = sale_export.base
    epub = zipfile.ZipFile(sale_export.root / "books/genesis/sample.epub")
    buy = BeautifulSoup(epub.read("EPUB/buy.xhtml"), "html.parser")
    assert buy.figcaption.a["href"] == f"{base}/books/genesis/"
    pdf = PdfReader(io.BytesIO((sale_export.root / "books/genesis/flyer-size-a4.pdf").read_bytes()))
    links = {
        a["/A"]["/URI"]
        for page in pdf.pages
        for a in (annot.get_object() for annot in page.get("/Annots") or [])
        if "/A" in a and "/URI" in a["/A"]
    }
    assert f"{base}/books/genesis/" in links  # the chooser, in a direct export: the book page
    assert not [link for link in links if "/go/" in link]


@pytest.mark.slow
def test_manifest_lists_every_file_with_its_hash(sale_export):
    root = sale_export.root
    manifest = manifest_of(root)
    assert set(manifest["files"]) == files_of(root) - {"manifest.json"}
    for path, entry in manifest["files"].items():
        data = (root / path).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
    # Only what the app itself does not serve (yet) may be missing.
    assert not [url for url in manifest["missing"] if app_serves(url)]


@pytest.mark.slow
def test_manifest_records_the_price_instant_and_when_to_rerun(sale_export, history):
    manifest = manifest_of(sale_export.root)
    assert datetime.fromisoformat(manifest["prices_at"]) == SALE_DAY
    assert datetime.fromisoformat(manifest["prices_valid_from"]) == SALE_STARTS
    assert datetime.fromisoformat(manifest["rerun_at"]) == SALE_ENDS
    assert manifest["buy_links"] == {"mode": "direct"}
    first = history[1][0].manifest  # before any campaign has started
    assert first["prices_valid_from"] is None
    assert datetime.fromisoformat(first["rerun_at"]) == datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.slow
def test_sale_prices_are_in_the_exported_pages(sale_export):
    page = (sale_export.root / "books/genesis/index.html").read_text()
    soup = BeautifulSoup(page, "html.parser")
    assert soup.select_one(".banner.sale") is not None
    assert "$2.99" in soup.select_one('[data-format="ebook"] .price').get_text()


@pytest.mark.slow
def test_no_exported_text_links_to_an_app_route(sale_export):
    root, base = sale_export.root, sale_export.base
    for path in files_of(root):
        if not path.endswith((".html", ".json", ".js")) or path == "manifest.json":
            continue
        text = (root / path).read_text(encoding="utf-8")
        assert "/go/" not in text, path
        if path.endswith(".html"):
            for link in html_links(text):
                url = urljoin(f"{base}/{path}", link)
                if url.startswith(base + "/") and "#" not in link:
                    assert "?" not in link, (path, link)


@pytest.mark.slow
def test_pages_link_relatively_so_the_export_works_from_any_folder(sale_export):
    base = sale_export.base
    text = (sale_export.root / "books/genesis/index.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(text, "html.parser")
    assert soup.select_one("a.site-title")["href"] == "../../index.html"
    assert soup.select_one(".cover img")["src"] == "cover.svg"
    assert soup.find("a", string="Free sample (EPUB)")["href"] == "sample.epub"
    assert soup.find("link", rel="canonical")["href"] == f"{base}/books/genesis/"
    oembed = soup.find("link", type="application/json+oembed")["href"]
    assert oembed == f"{base}/oembed-url-genesis_format-json.json"
    data = json.loads(soup.find("script", type="application/ld+json").string)
    assert data["url"] == f"{base}/books/genesis/"
    assert data["image"] == f"{base}/books/genesis/cover.svg"


@pytest.mark.slow
def test_oembed_json_embeds_the_exported_card_and_script(sale_export):
    base = sale_export.base
    data = json.loads((sale_export.root / "oembed-url-genesis_format-json.json").read_text())
    frame = BeautifulSoup(data["html"], "html.parser")
    assert frame.iframe["src"] == f"{base}/embed/genesis/layout-card_theme-light.html"
    assert frame.script["src"] == f"{base}/widget.js"
    assert data["thumbnail_url"] == f"{base}/books/genesis/cover.svg"


@pytest.mark.slow
def test_direct_export_sends_buy_links_to_the_stores(sale_export):
    page = (sale_export.root / "books/genesis/index.html").read_text()
    soup = BeautifulSoup(page, "html.parser")
    hrefs = {
        li["data-offer"]: li.select_one("a.buy")["href"] for li in soup.select("li[data-offer]")
    }
    assert hrefs["ebookit"] == "https://www.ebookit.com/search?query=Genesis+the+Story+of+Apollo+8"
    assert hrefs["kindle"].startswith("https://www.amazon.com/s?")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "href"),
    [
        (["--direct"], "https://shop.example/first?ref=x&tag=writer-20"),
        (
            ["--click-server", "https://click.example.org/"],
            "https://click.example.org/go/first/shop?src=page",
        ),
    ],
    ids=["direct", "click-server"],
)
def test_buy_links_go_direct_with_the_affiliate_tag_or_through_the_click_server(
    runner, small_catalog, tmp_path, args, href
):
    result = runner.invoke(
        main,
        ["export", str(tmp_path / "site"), "--catalog", str(small_catalog), "--base-url", BASE,
         "--now", "2026-01-01T00:00:00Z", *args],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    page = BeautifulSoup((tmp_path / "site/books/first/index.html").read_text(), "html.parser")
    assert page.select_one('li[data-offer="shop"] a.buy')["href"] == href
    card = (tmp_path / "site/embed/first/layout-card_theme-dark.html").read_text()
    card_href = BeautifulSoup(card, "html.parser").select_one("a[data-offer=shop]")["href"]
    assert card_href == href.replace("src=page", "src=card")  # the placement is still told
    mode = manifest_of(tmp_path / "site")["buy_links"]
    expected = {"mode": "direct"}
    if "--click-server" in args:
        expected = {"mode": "click-server", "url": "https://click.example.org"}
    assert mode == expected


# --------------------------------------------------------------------------- re-runs and the swap


@pytest.mark.slow
def test_rerun_in_the_same_price_window_changes_nothing(history):
    site, (_, spring, later) = history
    assert later.changed is False and later.written == ()
    assert later.build == spring.build == site.resolve()


@pytest.mark.slow
def test_rerun_at_a_boundary_writes_only_what_changed_and_keeps_the_rest(history):
    site, (first, spring, _) = history
    assert spring.changed and spring.build != first.build
    # The cover and widget.js do not depend on prices: the same file, not a new copy.
    for path in ("books/first/cover.svg", "widget.js"):
        assert path in spring.unchanged
        assert os.stat(first.build / path).st_ino == os.stat(spring.build / path).st_ino
    assert "books/first/index.html" in spring.written
    assert _headline_prices(site / "books/first/index.html") == ["$5.00"]
    # Before the sale the page may announce its price, but the price readers pay is the list's.
    assert _headline_prices(first.build / "books/first/index.html") == ["$10.00"]
    assert first.build.is_dir()  # kept: a reader may still be fetching from it


def _headline_prices(page: Path) -> list[str]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return [p.select_one(".now").get_text(strip=True) for p in soup.select(".format .price")]


def _fake_export(n: int) -> tuple[dict, dict]:
    files = {
        f"page{i}.html": (f"<p>{i} of run {n}</p>".encode(), "text/html", f"/p{i}")
        for i in range(3)
    }
    files["same.txt"] = (b"never changes", "text/plain", "/same")
    at = datetime(2026, 1, n, tzinfo=UTC)
    manifest = make_manifest(files, base_url=BASE, click_server=None, catalog_version=f"v{n}",
                             at=at, window=(None, None), missing={})  # fmt: skip
    return files, manifest


def test_old_builds_are_pruned_to_the_live_one_and_the_one_before(tmp_path):
    builds = []
    for n in (1, 2, 3):
        files, manifest = _fake_export(n)
        builds.append(
            publish(tmp_path / "site", files, manifest, datetime(2026, 1, n, tzinfo=UTC)).build
        )
    remaining = {p for p in (tmp_path / ".site.builds").iterdir() if p.is_dir()}
    assert remaining == {builds[1], builds[2]}
    assert (tmp_path / "site").resolve() == builds[2]
    assert (tmp_path / "site/page0.html").read_text() == "<p>0 of run 3</p>"


def test_a_failed_export_leaves_the_live_site_whole(tmp_path, monkeypatch):
    site = tmp_path / "site"
    files, manifest = _fake_export(1)
    first = publish(site, files, manifest, datetime(2026, 1, 1, tzinfo=UTC))
    before = {p: (site / p).read_bytes() for p in files_of(site)}
    calls = []
    real_write = Path.write_bytes

    def failing_write(self, data):
        calls.append(self)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    files, manifest = _fake_export(2)
    with pytest.raises(OSError, match="No space"):
        publish(site, files, manifest, datetime(2026, 1, 2, tzinfo=UTC))
    assert site.resolve() == first.build
    assert {p: (site / p).read_bytes() for p in files_of(site)} == before
    assert [p.name for p in (tmp_path / ".site.builds").iterdir() if p.name != ".lock"] == [
        first.build.name
    ]


def test_the_swap_replaces_the_symlink_and_never_the_folder_readers_use(tmp_path):
    site = tmp_path / "site"
    first = publish(site, *_fake_export(1), datetime(2026, 1, 1, tzinfo=UTC))
    held = (site / "page0.html").open()  # a reader mid-download of the old build
    second = publish(site, *_fake_export(2), datetime(2026, 1, 2, tzinfo=UTC))
    assert held.read() == "<p>0 of run 1</p>"
    held.close()
    assert os.readlink(site) == os.path.relpath(second.build, tmp_path)
    assert first.build.is_dir()
    assert "same.txt" in second.unchanged


def test_export_refuses_a_folder_it_did_not_make_and_takes_an_empty_one(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "precious.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not a Storefront export"):
        publish(full, *_fake_export(1), datetime(2026, 1, 1, tzinfo=UTC))
    assert (full / "precious.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert publish(empty, *_fake_export(1), datetime(2026, 1, 1, tzinfo=UTC)).changed
    assert empty.is_symlink()


def test_a_second_export_into_the_same_folder_is_refused_while_one_runs(tmp_path):
    import fcntl

    builds = tmp_path / ".site.builds"
    builds.mkdir()
    with open(builds / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ExportError, match="another export"):
            export_site(tmp_path / "site", catalog_path=None, base_url=BASE, at=QUIET_DAY)


# --------------------------------------------------------------------------- the command


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "choose where buy links go"),
        (["--direct", "--click-server", "https://c.example.org"], "choose where buy links go"),
        (["--click-server", "javascript:alert(1)"], "is not an http(s) URL"),
        (["--direct", "--base-url", "ftp://x.example"], "is not an http(s) URL"),
        (["--direct", "--now", "tomorrow"], "not an ISO 8601 instant"),
    ],
)
def test_command_rejects_bad_options_with_a_clear_message(runner, tmp_path, args, message):
    result = runner.invoke(main, ["export", str(tmp_path / "site"), "--base-url", BASE, *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "site").exists()


def test_command_needs_a_public_base_url(runner, tmp_path):
    result = runner.invoke(main, ["export", str(tmp_path / "site"), "--direct"])
    assert result.exit_code == 2
    assert "--base-url" in result.output


@pytest.mark.slow
def test_command_reports_what_it_wrote_and_when_to_rerun(runner, tmp_path, small_catalog):
    args = ["export", str(tmp_path / "site"), "--catalog", str(small_catalog), "--direct",
            "--base-url", BASE, "--now", SPRING.isoformat()]  # fmt: skip
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "written, 0 unchanged, 0 removed" in first.output
    assert "Prices hold until 2026-04-01T00:00:00+00:00: re-run the export then." in first.output
    second = runner.invoke(main, args)
    assert second.exit_code == 0
    assert "is up to date" in second.output


def test_command_error_for_a_foreign_folder_is_clean(runner, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("mine")
    result = runner.invoke(main, ["export", str(tmp_path / "site"), "--direct", "--base-url", BASE])
    assert result.exit_code == 1
    assert "not a Storefront export" in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------- served


@pytest.mark.slow
def test_link_checker_finds_no_broken_internal_link_in_the_served_export(sale_export):
    root, base = sale_export.root, sale_export.base
    links = []
    for path in sorted(files_of(root)):
        url = f"{base}/{path}"
        links.append(Link(path, url, "file"))
        if path.endswith(".html"):
            for link in html_links((root / path).read_text(encoding="utf-8")):
                target = urljoin(url, link).partition("#")[0]
                if target.startswith(base + "/") or target == base:
                    links.append(Link(f"{path} -> {link}", target, "internal"))
    data = json.loads((root / "oembed-url-genesis_format-json.json").read_text())
    for key in ("author_url", "provider_url", "thumbnail_url"):
        links.append(Link(f"oembed {key}", data[key], "internal"))
    assert len([link for link in links if link.kind == "internal"]) > 50
    run = check_links(links, CheckConfig(connect_timeout=2, read_timeout=5, concurrency=4))
    # A route the app itself does not serve (yet) is listed in the manifest, not hidden.
    missing = [urlsplit(url).path for url in manifest_of(root)["missing"]]
    bad = [
        (r.link.key, r.result.status, r.result.detail)
        for r in run.reports
        if r.result.status is not Status.OK
        and not any(urlsplit(r.link.url).path.endswith(m) for m in missing)
    ]
    assert bad == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/books/genesis/", "text/html"),
        ("/books/genesis/cover.svg", "image/svg+xml"),
        ("/books/genesis/sample.epub", "application/epub+zip"),
        ("/widget.js", "text/javascript"),
        ("/oembed-url-genesis_format-json.json", "application/json"),
    ],
)
def test_a_plain_static_server_sends_each_file_with_its_type(sale_export, path, media_type):
    response = requests.get(sale_export.base + path, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type


@pytest.mark.slow
def test_app_style_links_in_samples_and_flyers_work_on_the_static_host(sale_export):
    # EPUB and PDF files are not rewritten: their /books/<book> links must still land.
    response = requests.get(sale_export.base + "/books/genesis", timeout=5)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [301]
    assert BeautifulSoup(response.text, "html.parser").h1.get_text().startswith("Genesis")


@pytest.mark.slow
def test_cards_script_and_oembed_carry_cors_headers_for_other_sites(sale_export):
    for path in (
        "/widget.js",
        "/embed/genesis/fragment/layout-card_theme-dark.html",
    ):
        response = requests.get(sale_export.base + path, timeout=5)
        assert response.headers.get("Access-Control-Allow-Origin") == "*", path
    page = requests.get(sale_export.base + "/books/genesis/", timeout=5)
    assert "Access-Control-Allow-Origin" not in page.headers


def test_a_runaway_crawl_stops_with_a_clear_error(tmp_path):
    from storefront.export import crawl, seed_urls

    app = create_app({"CLOCK": lambda: QUIET_DAY, "BASE_URL": BASE}, instance_path=str(tmp_path))
    sf = app.extensions["storefront"]
    urls = sf.urls = ExportUrls(BASE, sf.catalog)
    seed_urls(sf.catalog, urls, QUIET_DAY)
    with pytest.raises(ExportError, match="more than 3 files"):
        crawl(app.test_client(), urls, limit=3)


def test_the_reading_page_is_exported_and_counts_nothing(sale_export):
    page = sale_export.root / "books" / "genesis" / "read" / "index.html"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    assert soup.select(".buy-section a.buy")
    # A static file counts nothing: its own links carry no src, and they resolve in the export.
    epub = soup.select_one(".buy-section a[download]")["href"]
    assert "?" not in epub
    assert (page.parent / epub).resolve().is_file()
    book_page = BeautifulSoup(
        (sale_export.root / "books" / "genesis" / "index.html").read_text(encoding="utf-8"),
        "html.parser",
    )
    links = [a["href"] for a in book_page.select(".downloads a[href]")]
    assert any(link.rstrip("/").endswith("read") or "read/" in link for link in links), links
