"""The book's cover as pixels: a JPEG for e-readers, which ignore an SVG cover.

Kindle (through Send-to-Kindle or Calibre), Kobo and most reading apps take the
cover from a raster image declared as the cover. :func:`raster_cover` gives the
same cover the site shows, as a 1,600 x 2,560 px RGB JPEG (Kindle's guidance:
1.6:1):

- the author's own image (JPEG, PNG, WebP or SVG), scaled to fit and centred on
  a canvas of its own edge colour, so nothing of it is cut;
- or the typographic cover, set by WeasyPrint's HTML engine from the very layout
  of the SVG (:func:`widgets.cover.cover_layout`, ``covers/typographic.html``),
  rasterized with pdfium as the social image is, on a page 1.6 times as tall as
  it is wide (the cover's own background fills the extra height).

The JPEG is cached in memory by a digest of what it is made from (the image
bytes or the layout, fonts, size and code), so a second sample build costs
nothing, and the same input gives the same bytes (Pillow's encoder is
deterministic). Other sizes are asked with ``size``: the press kit's
high-resolution cover is the same cover at its own 2:3 (``PRESS_SIZE``).
With ``cache_dir`` (the server passes a folder of its instance) it is kept on
disk under that digest too, so a restarted worker neither imports WeasyPrint nor
draws the cover again (a cold draw costs seconds on a busy machine).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from functools import cache
from importlib.metadata import version as package_version
from pathlib import Path

from storefront.catalog import Book
from storefront.templating import render

from .cover import COVER_HEIGHT, COVER_WIDTH, book_cover, cover_layout, line_direction
from .reproducible import code_digest
from .typefaces import FontSet

RASTER_WIDTH, RASTER_HEIGHT = 1600, 2560
PRESS_SIZE = (1600, 2400)  # the cover's own proportions: nothing added above or below
RASTER_MEDIA_TYPE = "image/jpeg"
JPEG_QUALITY = 90
BACKGROUND = (0x14, 0x21, 0x3D)  # the typographic cover's own (covers/typographic.css)

logger = logging.getLogger(__name__)

_CACHE: OrderedDict[str, bytes] = OrderedDict()
_CACHE_SIZE = 32  # about 200 KB each
_DISK_FILES = 64  # covers kept on disk; the oldest go first
_lock = threading.Lock()


def raster_cover(
    book: Book,
    fonts: FontSet | None = None,
    *,
    alt: str = "",
    size: tuple[int, int] = (RASTER_WIDTH, RASTER_HEIGHT),
    cache_dir: Path | None = None,
) -> bytes:
    """The cover of ``book`` as an RGB JPEG of ``size`` px (see the module docstring)."""
    fonts = fonts or FontSet()
    key = _digest(book, fonts, size)
    with _lock:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    data = _read(cache_dir, key) if cache_dir is not None else None
    if data is None:
        data = _draw(book, fonts, alt, size)
        if cache_dir is not None:
            _write(cache_dir, key, data)
    with _lock:
        _CACHE[key] = data
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return data


def _read(folder: Path, key: str) -> bytes | None:
    try:
        return (folder / f"{key}.jpg").read_bytes()
    except OSError:
        return None


def _write(folder: Path, key: str, data: bytes) -> None:
    """Keep ``data`` as ``<key>.jpg`` (written whole, then renamed); a failure is only logged."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, folder / f"{key}.jpg")
        kept = sorted(folder.glob("*.jpg"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[_DISK_FILES:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("cannot keep the raster cover in %s: %s", folder, exc)


def _draw(book: Book, fonts: FontSet, alt: str, size: tuple[int, int]) -> bytes:
    if book.cover is not None:
        image = book_cover(book)
        if image.media_type == "image/svg+xml":
            data = _encode(_svg_pixels(image.data, size))
        else:
            data = _encode(_fit(_open(image.data), size))
    else:
        data = _encode(_typographic_pixels(book, fonts, alt, size))
    return data


def _digest(book: Book, fonts: FontSet, size: tuple[int, int]) -> str:
    """What the JPEG is made of: the image's bytes, or the layout and fonts, size and code."""
    h = hashlib.sha256(f"{_tools()} {size[0]}x{size[1]}".encode())
    if book.cover is not None:
        h.update(b"image\0" + book_cover(book).data)
    else:
        layout = cover_layout(book, fonts)
        h.update(json.dumps(layout, default=repr, sort_keys=True).encode())
        h.update(fonts.digest().encode() + fonts.serif.encode())
        h.update(_css(fonts, size).encode())
    return h.hexdigest()


@cache
def _tools() -> str:
    """The libraries that draw the pixels, and the size and quality (read once)."""
    versions = [package_version(name) for name in ("pillow", "pypdfium2", "weasyprint")]
    # Every module and template: a cover kept on disk never outlives the code that drew it.
    return f"{versions} q{JPEG_QUALITY} {code_digest()}"


def _open(data: bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    if image.mode in ("RGBA", "LA", "P"):
        # Transparent parts show white, as the page behind an <img> would.
        image = image.convert("RGBA")
        canvas = Image.new("RGB", image.size, (255, 255, 255))
        canvas.paste(image, mask=image.getchannel("A"))
        return canvas
    return image.convert("RGB")


def _edge_colour(image) -> tuple[int, int, int]:
    """The mean colour of the image's outermost pixels: the canvas it is centred on."""
    from PIL import ImageStat

    w, h = image.size
    strips = [
        image.crop(box) for box in ((0, 0, w, 1), (0, h - 1, w, h), (0, 0, 1, h), (w - 1, 0, w, h))
    ]
    means = [ImageStat.Stat(s).mean for s in strips]
    return tuple(round(sum(m[i] for m in means) / len(means)) for i in range(3))


def _fit(image, canvas_size: tuple[int, int]):
    """Scale ``image`` to fit ``canvas_size`` and centre it on its own edge colour."""
    from PIL import Image

    width, height = canvas_size
    w, h = image.size
    scale = min(width / w, height / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    scaled = image.resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (width, height), _edge_colour(image))
    canvas.paste(scaled, ((width - size[0]) // 2, (height - size[1]) // 2))
    return canvas


def _css(fonts: FontSet, size: tuple[int, int]) -> str:
    return render("covers/raster.css", fonts=fonts, width=size[0], height=size[1])


def _pdf_pixels(html: str, fonts: FontSet, size: tuple[int, int]):
    from .print.render import rasterize_image, renderer

    css = fonts.face_css() + "\n" + _css(fonts, size)
    pdf = renderer().render_html(html, css, fonts.font_files())
    return rasterize_image(pdf, *size)


def _typographic_pixels(book: Book, fonts: FontSet, alt: str, size: tuple[int, int]):
    width, height = size
    html = render(
        "covers/raster.html",
        image=None,
        cover=cover_layout(book, fonts),
        px=width,
        top=(height - width * COVER_HEIGHT / COVER_WIDTH) / 2,
        alt=alt or book.full_title,
        direction=line_direction,
        lang=book.language,
    )
    return _pdf_pixels(html, fonts, size)


def _svg_pixels(svg: bytes, size: tuple[int, int]):
    """The author's SVG cover drawn by WeasyPrint (it was checked: no script, no fetch)."""
    from .print.layout import data_uri

    html = render("covers/raster.html", image=data_uri(svg, "image/svg+xml"), alt="", lang="")
    return _pdf_pixels(html, FontSet(), size)


def _encode(image) -> bytes:
    out = io.BytesIO()
    # No EXIF, no timestamp: the bytes depend on the pixels only.
    image.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()
