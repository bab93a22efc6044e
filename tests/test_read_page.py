"""Read it now (``/books/<book>/read``) and samples counted like clicks.

The reading page holds what the EPUB holds (title, credits, every review quote,
the blurb, the sample chapter, "Get the book" with the live prices) and buy links
counted with ``src=read``; the book page, the card and the EPUB link to it. Every
visit, EPUB download and audio listen is a row in the click store (placement,
campaign, bots apart), and ``storefront stats`` shows them apart from store clicks.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from storefront.catalog import load_catalog
from storefront.cli import main
from storefront.storage import clicks

from .test_audio import audio_catalog, fetch, spoken  # noqa: F401 - the audio tests' fixtures

BASE = "https://books.example.org"
DATA = Path(__file__).resolve().parent / "data" / "epub"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
BOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"


def rows(app) -> list[dict]:
    store = app.extensions["clicks"]
    store.ensure_schema()
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(clicks).order_by(clicks.c.id))]


def soup_of(response) -> BeautifulSoup:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def query(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


# --------------------------------------------------------------------------- the page


def test_the_reading_page_has_the_samples_content(client):
    catalog = load_catalog(None)
    book = catalog.book("genesis")
    soup = soup_of(client.get("/books/genesis/read", headers={"User-Agent": BROWSER}))
    assert soup.select_one("main h1").get_text(" ", strip=True) == f"{book.title} {book.subtitle}"
    assert [li.get_text(strip=True) for li in soup.select(".credits li")] == [
        "by Robert Zimmerman",
        "Foreword by Valerie Anders",
        "Introduction by Robert Zimmerman",
    ]
    quotes = [" ".join(q.get_text(" ", strip=True).split()) for q in soup.select("blockquote")]
    assert quotes == [" ".join(q.text.split()) for q in book.quotes]
    about = " ".join(p.get_text(" ", strip=True) for p in soup.select(".about p"))
    assert " ".join(about.split()) == " ".join(book.description.split())
    # Get the book: every offer, its live price, counted with src=read.
    buttons = soup.select(".buy-section a.buy")
    assert len(buttons) == len(book.offers) > 0
    for button in buttons:
        assert urlsplit(button["href"]).path.startswith("/go/genesis/")
        assert query(button["href"])["src"] == ["read"]
    assert soup.select(".buy-section .amount")
    epub = soup.select_one(".buy-section a[download]")
    assert urlsplit(epub["href"]).path == "/books/genesis/sample.epub"
    assert query(epub["href"])["src"] == ["read"]


def test_canonical_and_json_ld(client):
    soup = soup_of(client.get("/books/genesis/read"))
    (canonical,) = soup.select('link[rel="canonical"]')
    assert canonical["href"] == f"{BASE}/books/genesis/read"
    (script,) = soup.select('script[type="application/ld+json"]')
    data = json.loads(script.string)
    assert data["@context"] == "https://schema.org"
    page, book = data["@graph"]
    assert page["@type"] == "WebPage" and page["url"] == canonical["href"]
    assert page["isAccessibleForFree"] is True
    assert page["mainEntity"] == {"@id": f"{BASE}/books/genesis#book"} == {"@id": book["@id"]}
    assert book["@type"] == "Book" and book["url"] == f"{BASE}/books/genesis"
    offers = [o for example in book["workExample"] for o in example["offers"]]
    assert offers and all(query(o["url"])["src"] == ["read"] for o in offers)


def test_the_sample_chapter_is_on_the_page_sanitized(make_app):
    app = make_app(CATALOG=str(DATA / "hostile.toml"))
    soup = soup_of(app.test_client().get("/books/hostile/read"))
    chapter = soup.select_one("section.chapter")
    assert chapter is not None and chapter.select_one("h2").get_text(strip=True)
    assert chapter.find("script") is None and chapter.find("iframe") is None
    images = chapter.find_all("img")
    assert images and all(img["src"].startswith("data:image/") for img in images)
    # Hostile catalog text stays text.
    assert [s for s in soup.find_all("script") if s.get("type") != "application/ld+json"] == []
    assert "<script>alert('title')</script>" in soup.select_one("main h1").get_text()


def test_unknown_book_is_a_clear_404(client):
    response = client.get("/books/nope/read")
    assert response.status_code == 404
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert "No book 'nope' in this catalog." in page.get_text()


def test_the_page_the_card_and_the_epub_link_to_it(client):
    page = soup_of(client.get("/books/genesis"))
    (link,) = [a for a in page.select("a[href]") if urlsplit(a["href"]).path.endswith("/read")]
    assert urlsplit(link["href"]).path == "/books/genesis/read"
    assert query(link["href"])["src"] == ["page"]
    card = soup_of(client.get("/embed/genesis"))
    (link,) = [a for a in card.select("a[href]") if "/read" in a["href"]]
    assert link["href"] == f"{BASE}/books/genesis/read?src=card"
    epub = zipfile.ZipFile(io.BytesIO(client.get("/books/genesis/sample.epub").data))
    (buy,) = [n for n in epub.namelist() if n.endswith("buy.xhtml")]
    links = BeautifulSoup(epub.read(buy), "xml").find_all("a", href=True)
    assert f"{BASE}/books/genesis/read?src=epub" in [a["href"] for a in links]


# --------------------------------------------------------------------------- counted


def test_visits_and_downloads_are_counted_like_clicks(app):
    client = app.test_client()
    reader = {"User-Agent": BROWSER}
    assert client.get("/books/genesis/read?src=card&c=nope", headers=reader).status_code == 200
    assert client.get("/books/genesis/read", headers={"User-Agent": BOT}).status_code == 200
    assert client.get("/books/genesis/sample.epub?src=page", headers=reader).status_code == 200
    assert client.get("/books/nope/read", headers=reader).status_code == 404
    found = [
        (r["book"], r["vendor"], r["offer"], r["format"], r["placement"], r["campaign"], r["kind"])
        for r in rows(app)
    ]
    assert found == [
        ("genesis", "storefront", "read", "web", "card", None, "reader"),
        ("genesis", "storefront", "read", "web", "other", None, "bot"),
        ("genesis", "storefront", "sample-epub", "ebook", "page", None, "reader"),
    ]


def test_stats_by_placement_shows_samples_and_reads_apart(app, runner, tmp_path):
    client = app.test_client()
    reader = {"User-Agent": BROWSER}
    client.get("/books/genesis/read?src=card", headers=reader)
    client.get("/books/genesis/sample.epub?src=card", headers=reader)
    client.get("/books/genesis/sample.epub?src=page", headers={"User-Agent": BROWSER + " 2"})
    assert client.get("/go/genesis/kindle?src=page", headers=reader).status_code == 302
    env = {
        "STOREFRONT_DATABASE_URL": app.config["DATABASE_URL"],
        "STOREFRONT_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    result = runner.invoke(main, ["stats", "--by", "placement", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by = {r["key"]: (r["clicks"], r["samples"], r["reads"]) for r in data["rows"]}
    assert by == {"page": (1, 1, 0), "card": (0, 1, 1)}
    table = runner.invoke(main, ["stats", "--by", "placement"], env=env)
    header = table.output.splitlines()[0].split()
    assert header[:5] == ["placement", "clicks", "unique", "samples", "reads"]


@pytest.mark.parametrize(
    "headers, counted",
    [({}, True), ({"Range": "bytes=0-"}, True), ({"Range": "bytes=5000-"}, False)],
)
def test_an_audio_listen_counts_once_not_each_seek(make_app, audio_catalog, headers, counted):  # noqa: F811
    app = make_app(CATALOG=str(audio_catalog))
    response = fetch(
        app.test_client(),
        "/books/voyage/sample.mp3?src=page",
        headers={"User-Agent": BROWSER, **headers},
    )
    assert response.status_code in (200, 206)
    found = [(r["offer"], r["placement"]) for r in rows(app)]
    assert found == ([("sample-audio", "page")] if counted else [])


def test_the_statistics_page_shows_samples_and_reads_apart(make_app):
    # /admin/stats and the desk's statistics page render the same partial (admin/_stats.html).
    token = "a-long-enough-admin-token-for-tests"
    app = make_app(ADMIN_TOKEN=token)
    client = app.test_client()
    reader = {"User-Agent": BROWSER}
    client.get("/books/genesis/read?src=card", headers=reader)
    client.get("/books/genesis/sample.epub?src=page", headers=reader)
    client.get("/go/genesis/kindle?src=page", headers=reader)
    soup = soup_of(client.get("/admin/stats", headers={"Authorization": f"Bearer {token}"}))
    totals = {t["data-total"]: int(t.get_text()) for t in soup.select("[data-total]")}
    assert (totals["clicks"], totals["samples"], totals["reads"]) == (1, 1, 1)
    table = soup.select_one('table[data-by="placement"]')
    cells = {
        row["data-key"]: [td.get_text() for td in row.find_all("td")[1:]]
        for row in table.select("tbody tr")
    }
    # Store clicks, unique, samples, reads, not counted.
    assert cells == {"page": ["1", "1", "1", "0", "0"], "card": ["0", "0", "0", "1", "0"]}
