"""Delivering the EPUB sample: ``GET /books/<book>/sample.epub`` and ``storefront sample``."""

from __future__ import annotations

import os
import shutil
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup

from storefront.cli import main

from .conftest import MINIMAL_CATALOG
from .test_epub import Epub

PHOENIX = ZoneInfo("America/Phoenix")
SALE_DAY = datetime(2026, 12, 22, 10, 0, tzinfo=PHOENIX)
DATA = Path(__file__).resolve().parent / "data" / "epub"


def buy_prices(data: bytes) -> list[str]:
    soup = BeautifulSoup(Epub(data).read("buy.xhtml"), "xml")
    return [p.get_text(" ", strip=True) for p in soup.select("section.format")[0].select(".price")]


@pytest.fixture
def chapter_catalog(write_catalog, tmp_path):
    """A catalog whose book has a sample chapter (chapter.md) next to it."""
    (tmp_path / "chapter.md").write_text("# One\n\nThe first version.\n", encoding="utf-8")
    return write_catalog(
        MINIMAL_CATALOG.replace(
            'description = "A book', 'sample_chapter = "chapter.md"\ndescription = "A book'
        )
    )


# --------------------------------------------------------------------------- web


def test_sample_download_is_an_epub_attachment_with_an_etag(client):
    response = client.get("/books/genesis/sample.epub")
    assert response.status_code == 200
    assert response.mimetype == "application/epub+zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="genesis-sample.epub"'
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    epub = Epub(response.data)
    assert epub.zip.infolist()[0].filename == "mimetype"
    buy = BeautifulSoup(epub.read("buy.xhtml"), "xml")
    assert buy.select_one("li > a")["href"] == (
        "https://books.example.org/go/genesis/ebookit?src=epub"
    )


def test_sample_answers_304_to_a_matching_etag(client):
    first = client.get("/books/genesis/sample.epub")
    again = client.get(
        "/books/genesis/sample.epub", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_sample_is_built_once_per_catalog_version_and_price_window(app, client, clock):
    cache = app.extensions["storefront"].cache
    before = cache.renders
    quiet = client.get("/books/genesis/sample.epub")
    client.get("/books/genesis/sample.epub")
    clock.advance(days=1)  # still no campaign: the same price window
    client.get("/books/genesis/sample.epub")
    assert cache.renders == before + 1
    assert buy_prices(quiet.data)[0] == "$5.99"

    clock.set(SALE_DAY)  # the Apollo 8 sale starts: a new price window, a new build
    sale = client.get("/books/genesis/sample.epub")
    assert cache.renders == before + 2
    assert sale.headers["ETag"] != quiet.headers["ETag"]
    assert buy_prices(sale.data)[0] == "$5.99 $2.99"
    assert client.get("/books/genesis/sample.epub").headers["ETag"] == sale.headers["ETag"]
    assert cache.renders == before + 2


def test_editing_the_sample_chapter_rebuilds_the_sample(make_app, chapter_catalog, tmp_path):
    client = make_app(CATALOG=str(chapter_catalog)).test_client()
    first = client.get("/books/first/sample.epub")
    assert "The first version." in Epub(first.data).read("chapter.xhtml").decode()
    chapter = tmp_path / "chapter.md"
    chapter.write_text("# One\n\nThe second, longer version.\n", encoding="utf-8")
    stat = chapter.stat()
    os.utime(chapter, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = client.get("/books/first/sample.epub")
    assert second.headers["ETag"] != first.headers["ETag"]
    assert "The second, longer version." in Epub(second.data).read("chapter.xhtml").decode()


def test_unknown_book_sample_is_404(client):
    response = client.get("/books/nope/sample.epub")
    assert response.status_code == 404
    assert "No book &#39;nope&#39;" in response.text or "No book 'nope'" in response.text


def test_sample_chapter_broken_after_start_is_a_clear_503(
    make_app, chapter_catalog, tmp_path, caplog
):
    client = make_app(CATALOG=str(chapter_catalog)).test_client()
    (tmp_path / "chapter.md").write_text("![x](https://evil.example/x.png)\n", encoding="utf-8")
    response = client.get("/books/first/sample.epub")
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    message = BeautifulSoup(response.data, "html.parser").get_text(" ", strip=True)
    assert "chapter.md: image 'https://evil.example/x.png' is remote" in message
    assert "Traceback" not in response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert any("cannot build the EPUB sample of first" in r.getMessage() for r in caplog.records)


def test_book_page_links_the_sample(client):
    soup = BeautifulSoup(client.get("/books/genesis").data, "html.parser")
    assert soup.find("a", href="/books/genesis/sample.epub?src=page") is not None


# --------------------------------------------------------------------------- CLI


def test_cli_writes_the_sample(runner, tmp_path):
    out = tmp_path / "genesis.epub"
    result = runner.invoke(
        main, ["sample", "genesis", "-o", str(out), "--base-url", "https://shop.example"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Wrote {out} (")
    assert "warning" not in result.stderr
    epub = Epub(out.read_bytes())
    buy = BeautifulSoup(epub.read("buy.xhtml"), "xml")
    assert buy.select_one("li > a")["href"] == "https://shop.example/go/genesis/ebookit?src=epub"
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] == ["genesis.epub"]  # no temporary file left


def test_cli_now_shows_the_sale_price(runner, tmp_path):
    out = tmp_path / "sale.epub"
    result = runner.invoke(
        main, ["sample", "genesis", "-o", str(out), "--now", "2026-12-22T09:00:00-07:00"]
    )
    assert result.exit_code == 0, result.output
    assert buy_prices(out.read_bytes())[0] == "$5.99 $2.99"


def test_cli_default_output_name_and_localhost_warning(runner, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["sample", "genesis"])
    assert result.exit_code == 0, result.output
    assert zipfile.is_zipfile(tmp_path / "genesis-sample.epub")
    assert "point at http://127.0.0.1:8000" in result.stderr


def test_cli_base_url_from_the_environment(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("STOREFRONT_BASE_URL", "https://env.example")
    out = tmp_path / "g.epub"
    assert runner.invoke(main, ["sample", "genesis", "-o", str(out)]).exit_code == 0
    assert "https://env.example/books/genesis" in Epub(out.read_bytes()).read("buy.xhtml").decode()


@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            ["sample", "nope"],
            2,
            "Invalid value for BOOK: no book 'nope' in catalog.toml (books: genesis)",
        ),
        (["sample", "genesis", "--now", "tomorrow"], 2, "'tomorrow' is not an ISO 8601 instant"),
        (["sample", "genesis", "--base-url", "ftp://x"], 2, "'ftp://x' is not an http(s) URL"),
        (
            ["sample", "genesis", "-o", "/no/such/folder/x.epub"],
            1,
            "folder '/no/such/folder' does not exist",
        ),
    ],
)
def test_cli_mistakes_are_clear_errors(runner, args, code, message):
    result = runner.invoke(main, args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_cli_sample_chapter_problem_exits_1_naming_the_file(runner, chapter_catalog, tmp_path):
    (tmp_path / "chapter.md").write_text("# One\n\n![x](missing.png)\n", encoding="utf-8")
    out = tmp_path / "x.epub"
    result = runner.invoke(
        main, ["sample", "first", "--catalog", str(chapter_catalog), "-o", str(out)]
    )
    assert result.exit_code == 1
    assert "Error: chapter.md: image 'missing.png' not found" in result.stderr
    assert not out.exists()


def test_cli_invalid_catalog_lists_the_problems(runner, chapter_catalog, tmp_path):
    (tmp_path / "chapter.md").write_text("", encoding="utf-8")
    result = runner.invoke(main, ["sample", "first", "--catalog", str(chapter_catalog)])
    assert result.exit_code == 1
    assert "books[0].sample_chapter: file 'chapter.md' is empty" in result.stderr


def test_cli_and_web_build_the_same_bytes(runner, make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    shutil.copy(DATA / "hostile.toml", tmp_path / "hostile.toml")
    shutil.copy(DATA / "chapter.md", tmp_path / "chapter.md")
    shutil.copytree(DATA / "images", tmp_path / "images")
    catalog = tmp_path / "hostile.toml"
    out = tmp_path / "cli.epub"
    result = runner.invoke(
        main,
        [
            "sample", "hostile", "--catalog", str(catalog), "-o", str(out),
            "--base-url", "https://books.example.org", "--now", "2026-11-25T12:00:00Z",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    web = make_app(CATALOG=str(catalog)).test_client().get("/books/hostile/sample.epub")
    assert web.status_code == 200
    assert web.data == out.read_bytes()
