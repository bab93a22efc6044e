"""The press kit on the web: the pages parse and link every download, buy links are counted
as ``src=press``, hostile catalog text stays text in the page, the sheet and the ZIP, and a
catalog without a photo or bio degrades cleanly."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import extruct
import pypdf
import pytest
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from storefront.catalog import load_catalog

from .conftest import MINIMAL_CATALOG
from .test_desk import author, catalog_file, desk_app, form_of, png_bytes  # noqa: F401
from .test_press import squeeze

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "press" / "catalog.toml"
BASE = "https://books.example.org"

HOSTILE = "<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"

HOSTILE_CATALOG = (
    MINIMAL_CATALOG.replace(
        'description = "A book for tests. It has two sentences."',
        f"description = '''Blurb {HOSTILE} end.'''",
    ).replace('text = "Very good."', f"text = '''Quote {HOSTILE}'''")
    + f"""
[[authors]]
slug = "a-writer"
name = "A. Writer"
bio = '''Bio {HOSTILE}'''
long_bio = '''Long {HOSTILE} **bold** # not a heading'''
press_email = "press@example.com"
"""
)


@pytest.fixture
def example_client(make_app):
    return make_app(CATALOG=str(EXAMPLE)).test_client()


def soup_of(response) -> BeautifulSoup:
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "text/html"
    return BeautifulSoup(response.data, "html.parser")


def test_the_press_page_shows_every_part_of_the_kit(example_client):
    response = example_client.get("/press")
    soup = soup_of(response)
    assert soup.find("link", rel="canonical")["href"] == f"{BASE}/press"
    download = soup.find("a", string="Download the press kit (ZIP)")
    assert download["href"] == "/press/kit.zip"
    books = soup.select("section.press-book")
    assert [s["id"] for s in books] == ["book-salt-and-signal", "book-lighthouse-almanac"]
    almanac = soup.find(id="book-lighthouse-almanac")
    facts = {
        d.find("dt").get_text(): d.find("dd").get_text() for d in almanac.select("dl.facts > div")
    }
    assert facts["Publisher"] == "Harbour Light Press"
    assert facts["Paperback"].startswith("ISBN 9798000001011; 312 pages")
    hrefs = {a.get_text(): a["href"] for a in almanac.find_all("a")}
    assert hrefs["High-resolution cover (JPEG)"] == "/books/lighthouse-almanac/press/cover.jpg"
    assert hrefs["One-page press sheet (PDF)"] == "/books/lighthouse-almanac/press/sheet.pdf"
    buy = [a["href"] for a in almanac.select("ul.buy-links a")]
    assert buy and all(h.startswith("/go/lighthouse-almanac/") and "src=press" in h for h in buy)
    quotes = [q.get_text(" ", strip=True) for q in almanac.select("figure.quote blockquote")]
    assert quotes[0].startswith("A quiet, salt-stung marvel")
    who = soup.find(id="author-elena-marsh")
    assert who.find("img")["src"] == "/authors/elena-marsh/photo.png"
    assert who.find("p", class_="bio-short").get_text().startswith("Elena Marsh writes")
    assert who.find("p", class_="bio-long").get_text().startswith("Elena Marsh was born")
    contact = soup.find("section", class_="press-contact")
    assert [a["href"] for a in contact.find_all("a")] == [
        "mailto:press@example.com",
        "https://example.com/elena-marsh/press",
    ]
    data = extruct.extract(response.data.decode(), base_url=BASE + "/", syntaxes=["json-ld"])
    types = sorted(item["@type"] for item in data["json-ld"])
    assert types == ["Book", "Book", "Person"]
    offers = [
        o["url"]
        for b in data["json-ld"]
        if b["@type"] == "Book"
        for e in b["workExample"]
        for o in e["offers"]
    ]
    assert offers and all("src=press" in url for url in offers)
    # The footer of every page links the kit, and the sitemap names it.
    assert soup_of(example_client.get("/")).find("footer").find("a", string="Press kit")
    sitemap = example_client.get("/sitemap.xml").data.decode()
    assert f"<loc>{BASE}/press</loc>" in sitemap
    assert f"<loc>{BASE}/books/salt-and-signal/press</loc>" not in sitemap  # linked from /press


def test_a_books_press_page_is_about_that_book(example_client):
    soup = soup_of(example_client.get("/books/salt-and-signal/press"))
    assert soup.h1.get_text() == "Press kit: Salt and Signal"
    assert [s["id"] for s in soup.select("section.press-book")] == ["book-salt-and-signal"]
    assert soup.find("a", string="Download the press kit (ZIP)")["href"] == (
        "/books/salt-and-signal/press/kit.zip"
    )


def test_the_zip_is_sent_with_an_etag(example_client):
    response = example_client.get("/books/salt-and-signal/press/kit.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="salt-and-signal-press-kit.zip"'
    )
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert "salt-and-signal-press-kit/press-sheet-salt-and-signal.pdf" in names
    etag = response.headers["ETag"]
    again = example_client.get(
        "/books/salt-and-signal/press/kit.zip", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304


def test_the_downloads_the_page_links_are_served(example_client):
    cover = example_client.get("/books/lighthouse-almanac/press/cover.jpg")
    assert cover.status_code == 200 and cover.mimetype == "image/jpeg"
    sheet = example_client.get("/books/lighthouse-almanac/press/sheet.pdf?size=a4")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    assert len(pypdf.PdfReader(io.BytesIO(sheet.data)).pages) == 1
    photo = example_client.get("/authors/elena-marsh/photo.png")
    assert (
        photo.status_code == 200
        and photo.data == (EXAMPLE.parent / "photos/elena-marsh.png").read_bytes()
    )


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/books/nope/press", 404),
        ("/books/nope/press/kit.zip", 404),
        ("/books/lighthouse-almanac/press/cover.png", 404),
        ("/books/lighthouse-almanac/press/sheet.pdf?size=legal", 400),
    ],
)
def test_wrong_press_urls_get_a_clear_answer(example_client, url, status):
    response = example_client.get(url)
    assert response.status_code == status
    assert b"Traceback" not in response.data


def test_hostile_catalog_text_stays_text_everywhere(make_app, write_catalog):
    client = make_app(CATALOG=str(write_catalog(HOSTILE_CATALOG))).test_client()
    soup = soup_of(client.get("/books/first/press"))
    assert all(s.get("type") == "application/ld+json" for s in soup.find_all("script"))
    assert not soup.find("img", src="x")
    assert not any(a["href"].startswith("javascript:") for a in soup.find_all("a"))
    assert HOSTILE in soup.find("p", class_="blurb").get_text()
    assert HOSTILE in soup.find("p", class_="bio-short").get_text()

    archive = zipfile.ZipFile(io.BytesIO(client.get("/books/first/press/kit.zip").data))
    sheet = archive.read("first-press-kit/press-sheet-first.pdf")
    text = squeeze("\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(sheet)).pages))
    for value in (f"Blurb {HOSTILE} end.", f"Quote {HOSTILE}", f"Bio {HOSTILE}"):
        assert squeeze(value) in text  # printed as the characters the author typed
    md = MarkdownIt("commonmark")
    for name in ("bio-a-writer.md", "facts.md", "quotes.md"):
        source = archive.read(f"first-press-kit/{name}").decode()
        html = md.render(source)
        page = BeautifulSoup(html, "html.parser")
        assert not page.find(["script", "img"]), name
        assert not any(a["href"].startswith("javascript:") for a in page.find_all("a")), name
        if name == "bio-a-writer.md":
            assert not page.find("strong")  # the author's asterisks, not emphasis
        rendered = page.get_text()
        assert "<script>alert(1)</script>" in rendered, name  # the words, shown as words
    bio = BeautifulSoup(
        md.render(archive.read("first-press-kit/bio-a-writer.md").decode()), "html.parser"
    )
    assert "Long " + HOSTILE + " **bold** # not a heading" in bio.get_text()
    facts = json.loads(archive.read("first-press-kit/facts.json"))
    assert facts["authors"][0]["bio"] == f"Bio {HOSTILE}"


def test_a_kit_without_photo_or_bio_leaves_them_out(make_app, write_catalog):
    client = make_app(CATALOG=str(write_catalog())).test_client()
    soup = soup_of(client.get("/press"))
    who = soup.find("section", class_="press-author")
    assert who.find("h2").get_text() == "About A. Writer"
    assert not who.find("img")
    assert not who.find("p", class_=["bio-short", "bio-long"])
    assert who.find("p", class_="muted").get_text() == "No biography yet."
    assert not soup.find("section", class_="press-contact")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/press/kit.zip").data))
    names = {n.removeprefix("press-kit/") for n in archive.namelist()}
    assert not any(n.startswith("photo-") for n in names)
    assert {"README.txt", "cover-first.jpg", "press-sheet-first.pdf", "bio-a-writer.md"} <= names
    assert "No biography yet." in archive.read("press-kit/bio-a-writer.md").decode()
    readme = archive.read("press-kit/README.txt").decode()
    assert f"See {BASE}/press" in readme  # no contact named: the page is the way in


# --------------------------------------------------------------------------- the desk


def test_the_desk_edits_bios_and_contact_and_uploads_a_photo(author, catalog_file, desk_app):  # noqa: F811
    overview = BeautifulSoup(author.get("/admin/catalog").text, "html.parser")
    assert overview.find("a", string="Robert Zimmerman")["href"] == "/admin/edit/authors%5B0%5D"
    url = "/admin/edit/authors[0]"
    page = author.get(url)
    assert page.status_code == 200
    form = form_of(page.text, url)
    form.update(
        long_bio="A longer text, as the author writes it.",
        press_email="press@example.com",
        press_url="https://example.com/press",
    )
    assert author.post(url, data=form).status_code == 302
    written = load_catalog(catalog_file).authors[0]
    assert written.long_bio == "A longer text, as the author writes it."
    assert (written.press_email, written.press_url) == (
        "press@example.com",
        "https://example.com/press",
    )
    form = form_of(author.get(url).text, url)  # the form of the file as it is now
    form["press_email"] = "not an address"
    refused = author.post(url, data=form)
    assert refused.status_code == 422
    assert "is not an e-mail address" in refused.text

    photo = form_of(author.get(url).text, "/admin/photo/")
    photo["photo"] = (io.BytesIO(png_bytes(4, 4)), "me.png")
    response = author.post(
        "/admin/photo/authors[0]", data=photo, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    stored = load_catalog(catalog_file).authors[0].photo
    assert stored.parent == catalog_file.parent / "photos" and stored.read_bytes() == png_bytes(
        4, 4
    )
    press = BeautifulSoup(desk_app.test_client().get("/press").data, "html.parser")
    img = press.find("section", class_="press-author").find("img")
    assert img["src"] == "/authors/robert-zimmerman/photo.png"
    assert (
        press.find("p", class_="bio-long").get_text() == "A longer text, as the author writes it."
    )

    bad = form_of(author.get(url).text, "/admin/photo/")
    bad["photo"] = (io.BytesIO(b"<svg onload=alert(1)>"), "me.png")
    response = author.post("/admin/photo/authors[0]", data=bad, content_type="multipart/form-data")
    assert response.status_code == 415 and "not a PNG or JPEG" in response.text


# --------------------------------------------------------------------------- the export


def test_the_export_holds_the_press_kit(tmp_path):
    from datetime import UTC, datetime

    from storefront.export import export_site

    target = tmp_path / "site"
    export_site(
        target,
        catalog_path=EXAMPLE,
        base_url=BASE,
        at=datetime(2026, 11, 25, 12, tzinfo=UTC),
    )
    root = target.resolve()
    for name in (
        "press/index.html",
        "press/kit.zip",
        "books/salt-and-signal/press/index.html",
        "books/salt-and-signal/press/kit.zip",
        "books/salt-and-signal/press/cover.jpg",
        "books/salt-and-signal/press/sheet.pdf",
        "authors/elena-marsh/photo.png",
    ):
        assert (root / name).is_file(), name
    page = BeautifulSoup((root / "press/index.html").read_text(), "html.parser")
    download = page.find("a", string="Download the press kit (ZIP)")["href"]
    assert (root / "press" / download).resolve() == root / "press/kit.zip"
    assert zipfile.ZipFile(root / "press/kit.zip").testzip() is None
