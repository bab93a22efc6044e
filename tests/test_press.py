"""The press kit: the ZIP holds every file, the sheet says what the catalog says, its QR code
decodes to the tracked link, and the bytes are the same from one build to the next."""

from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import zxingcpp
from bs4 import BeautifulSoup
from PIL import Image

from storefront.catalog import load_catalog
from storefront.cli import main
from storefront.urls import Urls
from widgets.press.bundle import build_press_zip, kit_files
from widgets.press.kit import PressError, build_press_kit
from widgets.print.press import build_press_sheet

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "press" / "catalog.toml"
BASE = "https://books.example.org"
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def squeeze(text: str) -> str:
    """The one whitespace rule for comparing a PDF's text with the catalog's.

    Compatibility forms folded (a ligature is its letters), no space after a hyphen
    (a line may break there), every other run of whitespace one space.
    """
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", re.sub(r"-\s+", "-", text)).strip()


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


def qr_codes(pdf: bytes, dpi: int = 150) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.fixture(scope="module")
def example():
    catalog = load_catalog(EXAMPLE)
    kit = build_press_kit(catalog, AT, Urls(BASE))
    return catalog, kit, kit_files(kit, created=CREATED)


# --------------------------------------------------------------------------- the ZIP


def test_the_zip_holds_every_file_of_the_kit(example):
    catalog, kit, _ = example
    data = build_press_zip(kit, created=CREATED)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    names = archive.namelist()
    assert all(n.startswith("press-kit/") for n in names)
    files = {n.removeprefix("press-kit/") for n in names}
    slugs = [b.slug for b in catalog.books]
    assert files == {
        "README.txt",
        *(f"cover-{s}.jpg" for s in slugs),
        "photo-elena-marsh.png",
        "bio-elena-marsh.md",
        "facts.md",
        "facts.json",
        "quotes.md",
        *(f"press-sheet-{s}.pdf" for s in slugs),
    }
    readme = archive.read("press-kit/README.txt").decode()
    listed = {line.split()[0] for line in readme.splitlines() if line[:1].isalpha()}
    assert files <= listed, files - listed  # the README names every file
    author = catalog.authors[0]
    assert archive.read("press-kit/photo-elena-marsh.png") == author.photo.read_bytes()
    for slug in slugs:
        cover = Image.open(io.BytesIO(archive.read(f"press-kit/cover-{slug}.jpg")))
        assert (cover.format, cover.size, cover.mode) == ("JPEG", (1600, 2400), "RGB")
        # The typographic cover (its navy ground at the corners), never a QR code.
        assert cover.getpixel((5, 5)) == pytest.approx((20, 33, 61), abs=3)
        assert not zxingcpp.read_barcodes(cover)
        pages, _ = pdf_text(archive.read(f"press-kit/press-sheet-{slug}.pdf"))
        assert pages == 1
    facts = json.loads(archive.read("press-kit/facts.json"))
    assert [b["slug"] for b in facts["books"]] == [b.slug for b in kit.books]
    assert facts["authors"][0]["press_email"] == "press@example.com"
    bio = archive.read("press-kit/bio-elena-marsh.md").decode()
    assert squeeze(author.long_bio) in squeeze(bio.replace("\\", ""))


def test_the_zip_is_the_same_bytes_each_time(example, monkeypatch):
    _, kit, _ = example
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767323045")  # 2026-01-02 03:04:05 UTC
    first = build_press_zip(kit)
    second = build_press_zip(kit)
    assert first == second
    for info in zipfile.ZipFile(io.BytesIO(first)).infolist():
        assert info.date_time == (2026, 1, 2, 3, 4, 4)  # DOS time counts even seconds
        assert info.external_attr >> 16 == 0o644


# --------------------------------------------------------------------------- the sheet


def test_the_sheet_says_what_the_catalog_says(example):
    catalog, kit, files = example
    for entry in kit.books:
        pages, text = pdf_text(files[f"press-sheet-{entry.slug}.pdf"])
        assert pages == 1
        said = squeeze(text)
        book = entry.book
        expected = [book.title, book.description, *book.authors]
        expected += [f"{f.label}: {f.value}" for f in entry.facts]
        expected += [q.text for q in book.quotes] + [q.source for q in book.quotes]
        expected += [a.name for a in kit.authors] + [a.bio for a in kit.authors]
        expected += ["press@example.com", "https://example.com/elena-marsh/press"]
        for value in expected:
            assert squeeze(value) in said, value


def test_the_sheets_qr_code_decodes_to_the_tracked_link(example):
    _, kit, files = example
    for entry in kit.books:
        assert qr_codes(files[f"press-sheet-{entry.slug}.pdf"]) == [
            f"{BASE}/go/{entry.slug}?src=press"
        ]


def test_the_a4_sheet_is_one_page_too(example):
    _, kit, _ = example
    pages, _ = pdf_text(build_press_sheet(kit, kit.books[0].slug, size="a4", created=CREATED))
    assert pages == 1


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_the_authors_own_cover_is_sent_as_it_is(write_catalog, tmp_path, suffix):
    from .conftest import MINIMAL_CATALOG

    image = Image.new("RGB", (300, 450), (200, 40, 40))
    out = io.BytesIO()
    image.save(out, format="JPEG" if suffix == ".jpg" else "PNG")
    (tmp_path / f"cover{suffix}").write_bytes(out.getvalue())
    path = write_catalog(
        MINIMAL_CATALOG.replace(
            'authors = ["A. Writer"]', f'authors = ["A. Writer"]\ncover = "cover{suffix}"'
        )
    )
    kit = build_press_kit(load_catalog(path), AT, Urls(BASE))
    files = kit_files(kit, created=CREATED)
    assert files[f"cover-first{suffix}"] == out.getvalue()


# --------------------------------------------------------------------------- the kit


def test_facts_name_isbns_pages_length_publisher_and_date(example):
    _, kit, _ = example
    entry = next(b for b in kit.books if b.slug == "lighthouse-almanac")
    facts = {f.label: f.value for f in entry.facts}
    assert facts["Publisher"] == "Harbour Light Press"
    assert facts["Published"] == "18 March 2021"
    assert facts["Paperback"].startswith("ISBN 9798000001011; 312 pages; published 18 March 2021")
    assert facts["Ebook"] == "ISBN 9798000001028; from Kobo, Apple Books"
    assert facts["Audiobook"] == "10 hrs, 12 mins; read by Fiona Grant; from Libro.fm"
    assert facts["Credits"] == "by Elena Marsh; read by Fiona Grant"  # the one credits rule


def test_an_unknown_book_has_no_kit(example):
    catalog, _, _ = example
    with pytest.raises(PressError, match="no book 'nope'"):
        build_press_kit(catalog, AT, Urls(BASE), "nope")


def test_a_long_short_bio_is_a_warning(write_catalog):
    from .conftest import MINIMAL_CATALOG

    words = " ".join(["word"] * 120)
    path = write_catalog(
        MINIMAL_CATALOG + f'\n[[authors]]\nslug = "a"\nname = "A. Writer"\nbio = "{words}"\n'
    )
    warnings = load_catalog(path).warnings
    assert [w.path for w in warnings] == ["authors[0].bio"]
    assert "120 words" in warnings[0].message


@pytest.mark.parametrize(
    "value", ["press", "a@b", "a b@example.com", "<a@example.com>", "a?cc=b@example.com"]
)
def test_a_press_email_must_be_an_address(write_catalog, value):
    from storefront.catalog import CatalogError

    from .conftest import MINIMAL_CATALOG

    path = write_catalog(
        MINIMAL_CATALOG + f'\n[[authors]]\nslug = "a"\nname = "A"\npress_email = "{value}"\n'
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert [p.path for p in caught.value.problems] == ["authors[0].press_email"]


# --------------------------------------------------------------------------- the command


def test_presskit_command_writes_the_zip(runner, tmp_path):
    target = tmp_path / "kit.zip"
    result = runner.invoke(
        main,
        ["presskit", "lighthouse-almanac", "-o", str(target), "--catalog", str(EXAMPLE)],
        env={"SOURCE_DATE_EPOCH": "1767323045"},
    )
    assert result.exit_code == 0, result.output
    # No public address: the same one-line warning `sample` prints.
    assert "warning: links and the QR code point at http://127.0.0.1:8000" in result.output
    names = zipfile.ZipFile(target).namelist()
    assert "lighthouse-almanac-press-kit/press-sheet-lighthouse-almanac.pdf" in names
    assert not any("salt-and-signal" in n for n in names)
    again = tmp_path / "again.zip"
    result = runner.invoke(
        main,
        ["presskit", "lighthouse-almanac", "-o", str(again), "--catalog", str(EXAMPLE)],
        env={"SOURCE_DATE_EPOCH": "1767323045", "STOREFRONT_BASE_URL": BASE},
    )
    assert result.exit_code == 0 and "warning" not in result.output
    assert again.read_bytes() != target.read_bytes()  # the links moved to the public address


def test_presskit_command_refuses_an_unknown_book(runner, tmp_path):
    result = runner.invoke(main, ["presskit", "nope", "--catalog", str(EXAMPLE)])
    assert result.exit_code == 2
    assert "no book 'nope'" in result.output and "lighthouse-almanac" in result.output


def test_text_too_long_for_the_sheet_names_the_field(write_catalog, make_app):
    from widgets.print import FlyerFitError

    from .conftest import MINIMAL_CATALOG

    long = " ".join(["A sentence of the blurb that goes on and on."] * 60)
    path = write_catalog(
        MINIMAL_CATALOG.replace(
            'description = "A book for tests. It has two sentences."', f'description = "{long}"'
        )
    )
    kit = build_press_kit(load_catalog(path), AT, Urls(BASE), "first")
    with pytest.raises(FlyerFitError) as caught:
        build_press_sheet(kit, "first", created=CREATED)
    assert caught.value.field == "description"
    response = make_app(CATALOG=str(path)).test_client().get("/books/first/press/sheet.pdf")
    assert response.status_code == 422
    message = BeautifulSoup(response.data, "html.parser").find("main").get_text()
    assert "shorten the book's description" in message
