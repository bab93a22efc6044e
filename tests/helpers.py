"""What many tests read and write the same way: PDF text, QR codes, HTML, small catalogs.

One whitespace rule for PDF text (runs of whitespace collapse to one space, so a
line a layout wraps still matches), one QR decoder (zxing-cpp on pages pypdfium2
rasterizes), one HTML parser that checks the status first, and small catalogs
built from Python data (``tomlkit`` writes the TOML) instead of TOML strings
pasted into each file.
"""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2
import tomlkit
import zxingcpp
from bs4 import BeautifulSoup

# ------------------------------------------------------------------ PDF text and QR codes


def pdf_text(data: bytes, page: int | None = None) -> str:
    """The PDF's text (every page, or ``page``) with runs of whitespace collapsed."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = reader.pages if page is None else [reader.pages[page]]
    return squash(" ".join(p.extract_text() for p in pages))


def squash(text: str) -> str:
    """Collapse runs of whitespace to one space (the one rule for comparing laid-out text)."""
    return re.sub(r"\s+", " ", text).strip()


def page_images(data: bytes, dpi: int = 150) -> list:
    """Every page of a PDF as a PIL image at ``dpi``."""
    document = pypdfium2.PdfDocument(data)
    try:
        return [document[i].render(scale=dpi / 72).to_pil() for i in range(len(document))]
    finally:
        document.close()


def qr_in_image(image) -> list[str]:
    """The QR codes in an image, top to bottom (as rows are printed)."""
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in sorted(found, key=lambda r: r.position.top_left.y)]


def qr_texts(data: bytes, dpi: int = 150) -> list[list[str]]:
    """The decoded QR codes of every page of a PDF (a list per page, top to bottom)."""
    return [qr_in_image(image) for image in page_images(data, dpi)]


# ------------------------------------------------------------------ HTML


def html_of(response, status: int = 200, parser: str = "html.parser") -> BeautifulSoup:
    """Parse a test-client HTML response after checking its status (the body says why not)."""
    assert response.status_code == status, (response.status_code, response.get_data(True)[:500])
    assert response.mimetype == "text/html", response.mimetype
    return BeautifulSoup(response.data, parser)


def text_of(markup: str | bytes, parser: str = "html.parser") -> str:
    """The visible text of some markup with whitespace squashed."""
    return squash(BeautifulSoup(markup, parser).get_text(" ", strip=True))


# ------------------------------------------------------------------ small catalogs

SITE = {
    "title": "Test Books",
    "author": "A. Writer",
    "timezone": "America/New_York",
}
VENDORS = [
    {"slug": "shop", "name": "The Shop", "search_url": "https://shop.example/search?q={query}"},
    {"slug": "other", "name": "Other Store"},
]


def offer(vendor: str, url: str, price: str | None = "10.00", **fields: Any) -> dict:
    """One ``[[books.editions.offers]]`` table (its slug defaults to ``<vendor>-<format>``)."""
    data = {"vendor": vendor, "url": url, "currency": "USD", **fields}
    if price is not None:
        data["price"] = price
    return data


def edition(fmt: str, *offers: dict, **fields: Any) -> dict:
    """One ``[[books.editions]]`` table."""
    return {"format": fmt, **fields, "offers": list(offers)}


def book(slug: str = "first", title: str = "First Book", *editions: dict, **fields: Any) -> dict:
    """One ``[[books]]`` table; without editions, the conftest catalog's book at its two shops."""
    if not editions:
        fields.setdefault("quotes", [{"text": "Very good.", "source": "A Reviewer"}])
        editions = (
            edition(
                "ebook",
                offer(
                    "shop",
                    f"https://shop.example/{slug}",
                    slug="shop",
                    preferred=True,
                    reason="The author's favourite shop.",
                ),
                offer("other", f"https://other.example/{slug}", slug="other"),
            ),
        )
    data = {
        "slug": slug,
        "title": title,
        "authors": ["A. Writer"],
        "description": "A book for tests. It has two sentences.",
        **fields,
    }
    data["editions"] = list(editions)
    return data


def catalog_data(
    *books: dict,
    site: dict | None = None,
    vendors: list[dict] | None = None,
    **tables: Any,
) -> dict:
    """A whole catalog as data: the test site (a None in ``site`` drops that key) and vendors,
    ``books`` (default: one), and any other top-level tables (``campaigns=[...]``)."""
    site = {k: v for k, v in {**SITE, **(site or {})}.items() if v is not None}
    return {
        "site": site,
        "vendors": copy.deepcopy(vendors if vendors is not None else VENDORS),
        **tables,
        "books": list(books) or [book()],
    }


def catalog_toml(*books: dict, **kwargs: Any) -> str:
    """:func:`catalog_data` written as TOML."""
    return tomlkit.dumps(catalog_data(*books, **kwargs))


def write_test_catalog(directory: Path, *books: dict, name: str = "catalog.toml", **kwargs) -> Path:
    """Write :func:`catalog_toml` to ``directory/name`` and return the path."""
    path = Path(directory) / name
    path.write_text(catalog_toml(*books, **kwargs), encoding="utf-8")
    return path
