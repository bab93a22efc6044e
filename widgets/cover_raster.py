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
bytes or the layout, fonts and code), so a second sample build costs nothing,
and the same input gives the same bytes (Pillow's encoder is deterministic).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import OrderedDict
from functools import cache
from importlib.metadata import version as package_version

from storefront.catalog import Book
from storefront.templating import render

from .cover import COVER_HEIGHT, COVER_WIDTH, book_cover, cover_layout, line_direction
from .typefaces import FontSet

RASTER_WIDTH, RASTER_HEIGHT = 1600, 2560
RASTER_MEDIA_TYPE = "image/jpeg"
JPEG_QUALITY = 90
BACKGROUND = (0x14, 0x21, 0x3D)  # the typographic cover's own (covers/typographic.css)

_CACHE: OrderedDict[str, bytes] = OrderedDict()
_CACHE_SIZE = 32  # about 200 KB each
_lock = threading.Lock()


def raster_cover(book: Book, fonts: FontSet | None = None, *, alt: str = "") -> bytes:
    """The cover of ``book`` as a 1,600 x 2,560 RGB JPEG (see the module docstring)."""
    fonts = fonts or FontSet()
    key = _digest(book, fonts)
    with _lock:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    if book.cover is not None:
        image = book_cover(book)
        if image.media_type == "image/svg+xml":
            data = _encode(_svg_pixels(image.data))
        else:
            data = _encode(_fit(_open(image.data)))
    else:
        data = _encode(_typographic_pixels(book, fonts, alt))
    with _lock:
        _CACHE[key] = data
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return data


def _digest(book: Book, fonts: FontSet) -> str:
    """What the JPEG is made of: the image's bytes, or the layout and fonts, and the code."""
    h = hashlib.sha256(_tools().encode())
    if book.cover is not None:
        h.update(b"image\0" + book_cover(book).data)
    else:
        layout = cover_layout(book, fonts)
        h.update(json.dumps(layout, default=repr, sort_keys=True).encode())
        h.update(fonts.digest().encode() + fonts.serif.encode())
        h.update(render("covers/raster.css", fonts=fonts).encode())
    return h.hexdigest()


@cache
def _tools() -> str:
    """The libraries that draw the pixels, and the size and quality (read once)."""
    versions = [package_version(name) for name in ("pillow", "pypdfium2", "weasyprint")]
    return f"{versions} {RASTER_WIDTH}x{RASTER_HEIGHT} q{JPEG_QUALITY}"


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


def _fit(image):
    """Scale ``image`` to fit 1,600 x 2,560 and centre it on its own edge colour."""
    from PIL import Image

    w, h = image.size
    scale = min(RASTER_WIDTH / w, RASTER_HEIGHT / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    scaled = image.resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (RASTER_WIDTH, RASTER_HEIGHT), _edge_colour(image))
    canvas.paste(scaled, ((RASTER_WIDTH - size[0]) // 2, (RASTER_HEIGHT - size[1]) // 2))
    return canvas


def _pdf_pixels(html: str, fonts: FontSet):
    from .print.render import rasterize_image, renderer

    css = fonts.face_css() + "\n" + render("covers/raster.css", fonts=fonts)
    pdf = renderer().render_html(html, css, fonts.font_files())
    return rasterize_image(pdf, RASTER_WIDTH, RASTER_HEIGHT)


def _typographic_pixels(book: Book, fonts: FontSet, alt: str):
    html = render(
        "covers/raster.html",
        image=None,
        cover=cover_layout(book, fonts),
        px=RASTER_WIDTH,
        top=(RASTER_HEIGHT - RASTER_WIDTH * COVER_HEIGHT / COVER_WIDTH) / 2,
        alt=alt or book.full_title,
        direction=line_direction,
        lang=book.language,
    )
    return _pdf_pixels(html, fonts)


def _svg_pixels(svg: bytes):
    """The author's SVG cover drawn by WeasyPrint (it was checked: no script, no fetch)."""
    from .print.layout import data_uri

    html = render("covers/raster.html", image=data_uri(svg, "image/svg+xml"), alt="", lang="")
    return _pdf_pixels(html, FontSet())


def _encode(image) -> bytes:
    out = io.BytesIO()
    # No EXIF, no timestamp: the bytes depend on the pixels only.
    image.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()
