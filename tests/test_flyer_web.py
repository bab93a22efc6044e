"""``/books/<book>/flyer.pdf`` and ``/books/<book>/social.png``: cached builds with clear errors."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pypdf
import pytest
from bs4 import BeautifulSoup
from PIL import Image

from tests.test_flyer import BASE, CAMPAIGN, LONG_CATALOG, POINTS, link_uris, pdf_text, qr_texts

DURING_SALE = datetime(2026, 12, 22, 16, 0, tzinfo=UTC)


@pytest.fixture
def cache(app):
    return app.extensions["storefront.print"]


@pytest.mark.parametrize("size", ["letter", "a4"])
def test_flyer_is_a_one_page_pdf_in_the_requested_size(client, size):
    response = client.get(f"/books/genesis/flyer.pdf?size={size}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'inline; filename="genesis-flyer-{size}.pdf"'
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(POINTS[size], abs=0.05)


def test_flyer_defaults_to_letter_with_the_prices_now_and_the_public_base_url(client):
    data = client.get("/books/genesis/flyer.pdf").data
    assert pypdf.PdfReader(io.BytesIO(data)).pages[0].mediabox.width == 612
    text = pdf_text(data)
    assert "$5.99" in text and "$2.99" not in text  # a quiet day: no sale
    assert qr_texts(data) == [[f"{BASE}/go/genesis?src=qr"]]
    assert all(u.startswith(f"{BASE}/go/genesis") for u in link_uris(data))


def test_campaign_flyer_shows_the_sale_whatever_the_day(client):
    data = client.get(f"/books/genesis/flyer.pdf?campaign={CAMPAIGN}&size=a4").data
    assert "$2.99 was $5.99 save 50%" in pdf_text(data)
    assert qr_texts(data) == [[f"{BASE}/go/genesis?src=qr&c={CAMPAIGN}"]]


def test_flyer_is_built_once_then_served_from_cache_with_an_etag(client, cache):
    first = client.get("/books/genesis/flyer.pdf")
    second = client.get("/books/genesis/flyer.pdf")
    assert first.data == second.data and cache.renders == 1
    etag = first.headers["ETag"]
    assert "max-age=" in first.headers["Cache-Control"]
    revalidated = client.get("/books/genesis/flyer.pdf", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304 and revalidated.data == b""


def test_two_apps_build_the_same_bytes(make_app):
    # Two workers must agree on the ETag: no "now" inside the PDF.
    one = make_app().test_client().get("/books/genesis/flyer.pdf")
    two = make_app().test_client().get("/books/genesis/flyer.pdf")
    assert one.headers["ETag"] == two.headers["ETag"]


def test_the_flyer_changes_when_a_sale_starts(client, clock):
    assert "$2.99" not in pdf_text(client.get("/books/genesis/flyer.pdf").data)
    clock.set(DURING_SALE)
    during = client.get("/books/genesis/flyer.pdf")
    assert "$2.99" in pdf_text(during.data)
    # The cache never outlives the sale: max-age stops at the sale's end.
    max_age = int(during.headers["Cache-Control"].split("max-age=")[1].split(",")[0])
    assert max_age <= 3600


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/books/genesis/flyer.pdf?size=tabloid", 400, "Unknown flyer size 'tabloid'"),
        ("/books/genesis/flyer.pdf?campaign=nope", 404, "No campaign 'nope' in the catalog"),
        ("/books/nope/flyer.pdf", 404, "No book 'nope'"),
        ("/books/nope/social.png", 404, "No book 'nope'"),
    ],
)
def test_bad_requests_get_a_clear_error_page(client, path, status, message):
    response = client.get(path)
    assert response.status_code == status
    assert message in BeautifulSoup(response.data, "html.parser").get_text()


def test_a_catalog_that_does_not_fit_gets_a_422_naming_the_piece_and_field(make_app, tmp_path):
    catalog = tmp_path / "long.toml"
    text = LONG_CATALOG.read_text(encoding="utf-8")
    catalog.write_text(
        text.replace('source = "Cape Chronicle"', 'source = "' + "Cape " * 400 + '"'),
        encoding="utf-8",
    )
    response = make_app(CATALOG=str(catalog)).test_client().get("/books/chronicle/flyer.pdf")
    assert response.status_code == 422
    page = BeautifulSoup(response.data, "html.parser").get_text()
    assert "flyer-letter for book 'chronicle': the quotes do not fit" in page
    assert "Traceback" not in page


def test_social_image_is_the_book_pages_og_image(client):
    page = BeautifulSoup(client.get("/books/genesis").data, "html.parser")
    og_image = page.find("meta", property="og:image")["content"]
    assert og_image == f"{BASE}/books/genesis/social.png"
    response = client.get(og_image.removeprefix(BASE))
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (1200, 630)
    assert page.find("meta", property="og:image:width")["content"] == "1200"
    assert page.find("meta", property="og:image:height")["content"] == "630"


def test_unknown_parameters_neither_render_nor_evict_a_flyer(app, client, cache):
    first = client.get("/books/genesis/flyer.pdf?size=a4")
    # Junk parameters on the flyer: the same piece, no new render.
    for n in range(50):
        again = client.get(f"/books/genesis/flyer.pdf?size=a4&junk={n}&utm_source=x{n}")
        assert again.status_code == 200 and again.data == first.data
    assert cache.renders == 1
    # A flood that fills the pages' and cards' cache does not push the flyer out.
    shared = app.extensions["storefront"].cache
    for n in range(shared.size + 50):
        client.get(f"/embed/genesis?junk={n}")
    client.get("/books/genesis/flyer.pdf?size=a4&x=1")
    assert cache.renders == 1
