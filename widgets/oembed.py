"""oEmbed 1.0 responses for book pages: a ``rich`` embed of the promo card's iframe.

A consumer (WordPress, a forum, micawber) finds the endpoint through the
``<link rel="alternate" type="application/json+oembed">`` of every book page and
asks ``/oembed?url=<book page>&maxwidth=…``. The answer's ``html`` is the iframe
card plus ``widget.js``, which resizes the frame to its content; without the script
the frame keeps the estimated height given here. Pure: no Flask import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from storefront.catalog import Book, Catalog
from storefront.templating import render
from storefront.urls import Urls

from .card import MIN_WIDTH
from .cover import COVER_HEIGHT, COVER_WIDTH

OEMBED_VERSION = "1.0"
CACHE_AGE = 86400  # the html holds no price (the iframe does): a day is safe
# Preferred width per layout, and the height each needs at that width (measured in
# Chromium with the built-in catalog, rounded up; widget.js corrects it on the page).
WIDTHS = {"card": 480, "banner": 720, "compact": 300, "support": 420}
HEIGHTS = {"card": 900, "banner": 120, "compact": 460, "support": 640}
_BOOK_PATH = re.compile(r"/(?:books|embed)/([^/]+)/?")


class OEmbedError(ValueError):
    """The request cannot be answered; ``status`` is the HTTP status to send."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Size:
    """The iframe's size, and the consumer's limits it was fitted into."""

    width: int
    height: int
    max_width: int | None = None
    max_height: int | None = None


def _origin(scheme: str, hostname: str | None, port: int | None) -> tuple[str, int | None]:
    default = {"http": 80, "https": 443}.get(scheme)
    return ((hostname or "").lower(), None if port == default else port)


def book_for_url(catalog: Catalog, urls: Urls, url: str) -> Book | None:
    """Return the book whose page (or card) ``url`` is, or ``None`` when it is not ours.

    The host and port must be those of the public base URL (either scheme: sites
    move to https), and the path that of a book page under the base path.
    """
    try:
        parts = urlsplit(url.strip())
        base = urlsplit(urls.base_url)
        port, base_port = parts.port, base.port
    except ValueError:  # a malformed port or IPv6 literal
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if _origin(parts.scheme, parts.hostname, port) != _origin(
        base.scheme, base.hostname, base_port
    ):
        return None
    prefix = base.path.rstrip("/")
    if not parts.path.startswith(prefix + "/"):
        return None
    match = _BOOK_PATH.fullmatch(parts.path[len(prefix) :])
    return catalog.book(unquote(match[1])) if match else None


def _dimension(value: str | None, name: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if not value.isdigit() or int(value) == 0:
        raise OEmbedError(400, f"{name} '{value}' is not a whole number of pixels above 0")
    return int(value)


def card_size(layout: str, maxwidth: str | None = None, maxheight: str | None = None) -> Size:
    """The iframe's size for ``layout`` within the consumer's ``maxwidth``/``maxheight``."""
    max_w, max_h = _dimension(maxwidth, "maxwidth"), _dimension(maxheight, "maxheight")
    width = WIDTHS[layout] if max_w is None else min(WIDTHS[layout], max_w)
    if width < MIN_WIDTH:
        raise OEmbedError(
            404, f"no card fits in maxwidth={max_w}: the narrowest card is {MIN_WIDTH} px wide"
        )
    # A narrower card wraps into more lines: scale the height up to match.
    height = HEIGHTS[layout] * WIDTHS[layout] // width if layout != "banner" else HEIGHTS[layout]
    height = height if max_h is None else min(height, max_h)
    return Size(width, height, max_w, max_h)


def build_oembed(
    catalog: Catalog,
    book: Book,
    urls: Urls,
    *,
    layout: str,
    theme: str,
    size: Size,
) -> dict:
    """Build the oEmbed ``rich`` response for ``book``'s card."""
    site = catalog.site
    title = book.full_title
    html = render(
        "embed/oembed.html",
        src=urls.embed(book.slug, layout=layout, theme=theme),
        widget=urls.widget_js(),
        size=size,
        title=f"{title}: promo card",
    )
    data = {
        "version": OEMBED_VERSION,
        "type": "rich",
        "title": title,
        "author_name": ", ".join(book.authors),
        "author_url": urls.book(book.slug, absolute=True),
        "provider_name": site.title,
        "provider_url": urls.index(absolute=True),
        "cache_age": CACHE_AGE,
        "html": " ".join(html.split("\n")).strip(),
        "width": size.width,
        "height": size.height,
    }
    # The spec: a thumbnail must respect maxwidth/maxheight, and the cover has one size.
    thumb = cover_size(book)
    if (
        thumb
        and (size.max_width is None or thumb[0] <= size.max_width)
        and (size.max_height is None or thumb[1] <= size.max_height)
    ):
        data["thumbnail_url"] = urls.cover(book.slug, absolute=True)
        data["thumbnail_width"], data["thumbnail_height"] = thumb
    return data


def cover_size(book: Book) -> tuple[int, int] | None:
    """The cover's pixel size: the typographic cover's, or the image file's (None: unknown)."""
    if book.cover is None:
        return COVER_WIDTH, COVER_HEIGHT
    if book.cover.suffix.lower() == ".svg":
        return None  # scalable: no pixel size to promise
    try:
        from PIL import Image  # installed with WeasyPrint

        with Image.open(book.cover) as image:
            return image.size
    except (ImportError, OSError):
        return None
