"""The raster cover of the EPUB sample: size, colour, the same bytes twice, and its caches."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

import widgets.cover_raster as raster
from storefront.catalog import load_catalog


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch):
    """Each test starts as a new worker would: nothing drawn in this process yet."""
    monkeypatch.setattr(raster, "_CACHE", raster.OrderedDict())


@pytest.fixture
def genesis():
    return load_catalog(None).book("genesis")


def test_the_typographic_cover_is_a_1600_by_2560_rgb_jpeg(genesis):
    image = Image.open(io.BytesIO(raster.raster_cover(genesis)))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (1600, 2560))
    # The cover's own navy fills the page; its gold frame is drawn inside it.
    assert image.getpixel((800, 20)) == pytest.approx(raster.BACKGROUND, abs=6)


def test_the_same_book_draws_the_same_bytes_and_a_new_worker_reads_them_from_disk(
    genesis, tmp_path, monkeypatch
):
    first = raster.raster_cover(genesis, cache_dir=tmp_path)
    (kept,) = tmp_path.glob("*.jpg")
    assert kept.read_bytes() == first
    # A restarted worker: nothing in memory, and drawing is not allowed.
    monkeypatch.setattr(raster, "_CACHE", raster.OrderedDict())
    monkeypatch.setattr(raster, "_draw", lambda *a: pytest.fail("drew the cover again"))
    assert raster.raster_cover(genesis, cache_dir=tmp_path) == first


def test_an_unwritable_cache_folder_only_costs_the_cache(genesis, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    data = raster.raster_cover(genesis, cache_dir=blocker / "covers")
    assert Image.open(io.BytesIO(data)).size == (1600, 2560)


def test_the_server_keeps_the_cover_in_its_instance_folder(app, client):
    response = client.get("/books/genesis/sample.epub")
    assert response.status_code == 200
    epub = zipfile.ZipFile(io.BytesIO(response.data))
    (cover,) = [n for n in epub.namelist() if n.endswith("cover.jpg")]
    folder = Path(app.instance_path) / "cache" / "covers"
    assert [p.read_bytes() for p in folder.glob("*.jpg")] == [epub.read(cover)]
