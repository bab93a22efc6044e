"""oEmbed 1.0 responses for book pages: a ``rich`` embed of the promo card's iframe.

A consumer (WordPress, a forum, micawber) finds the endpoint through the
``<link rel="alternate" type="application/json+oembed">`` of every book page and
asks ``/oembed?url=<book page>&maxwidth=…``. The answer's ``html`` is made of what
WordPress keeps from a provider it does not know (``wp_filter_oembed_result``): a
``<blockquote>`` with a plain link to the book page first, then the iframe card with
``frameborder``, ``title``, ``width`` and ``height``; then ``widget.js`` for consumers that
keep scripts. The blockquote makes WordPress load ``wp-embed.js``, which resizes the frame
when the card sends its height and follows the card's buy links in the blog's tab; without
any script the frame keeps the height given here, chosen so the card is not cut.
Pure: no Flask import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from storefront.catalog import Book, Catalog
from storefront.catalog import shelf as cs
from storefront.templating import render
from storefront.urls import Urls

from .card import MIN_WIDTH
from .cover import COVER_HEIGHT, COVER_WIDTH

OEMBED_VERSION = "1.0"
CACHE_AGE = 86400  # the html holds no price (the iframe does): a day is safe
# Preferred width per layout.
WIDTHS = {"card": 480, "banner": 720, "compact": 300, "support": 420, "signup": 420}
# The height each layout needs from a width up: measured in Chromium with the built-in
# catalog on its tallest day (a sale line, or the fund-raiser's message), rounded up.
# A card with more text sends its real height (widget.js, wp-embed.js resize the frame).
HEIGHTS: dict[str, tuple[tuple[int, int], ...]] = {
    "card": (
        (280, 1200),
        (300, 1180),
        (360, 1060),
        (420, 1000),
        (480, 870),
        (500, 850),
        (560, 730),
        (640, 670),
        (720, 650),
    ),
    "compact": ((280, 410), (300, 390), (360, 370), (480, 350)),
    "banner": ((280, 270), (300, 230), (420, 190), (500, 150)),
    "signup": ((280, 560), (300, 540), (360, 500), (420, 470), (500, 440)),
    "support": (
        (280, 750),
        (300, 730),
        (360, 690),
        (420, 620),
        (480, 580),
        (500, 560),
        (640, 530),
        (720, 490),
    ),
}
# Without a layout asked for, the richest one whose height fits the consumer's maxheight
# (WordPress asks 500 x 750, where the full card would be cut).
FALLBACKS = ("card", "compact", "banner")
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


def site_path(urls: Urls, url: str) -> str | None:
    """The path of ``url`` under the public base URL, or ``None`` when ``url`` is not ours.

    The host and port must be those of the public base URL (either scheme: sites move
    to https; a default port is the same as none), and the path under the base path.
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
    if parts.path != prefix and not parts.path.startswith(prefix + "/"):
        return None
    return parts.path[len(prefix) :]


def book_for_url(catalog: Catalog, urls: Urls, url: str) -> Book | None:
    """Return the book whose page (or card) ``url`` is, or ``None`` when it is not ours."""
    path = site_path(urls, url)
    match = _BOOK_PATH.fullmatch(path) if path is not None else None
    return catalog.book(unquote(match[1])) if match else None


_PIXELS = re.compile(r"[0-9]{1,6}")  # ASCII digits only: int() and isdigit() take "²", "٣"


def parse_dimension(value: str | None, name: str) -> int | None:
    """A ``maxwidth``/``maxheight`` value: ASCII digits above 0, or None when absent."""
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if not _PIXELS.fullmatch(value) or int(value) == 0:
        raise OEmbedError(400, f"{name} {value!r} is not a whole number of pixels above 0")
    return int(value)


def layout_height(layout: str, width: int) -> int:
    """The height ``layout`` needs at ``width`` (from the measured table)."""
    steps = HEIGHTS[layout]
    return next((h for w, h in reversed(steps) if w <= width), steps[0][1])


def card_size(
    layout: str | None, maxwidth: str | None = None, maxheight: str | None = None
) -> tuple[str, Size]:
    """The layout and iframe size within the consumer's ``maxwidth``/``maxheight``.

    ``layout=None`` picks the richest layout whose card fits whole; a layout asked for
    is kept, its height capped at ``maxheight`` (the card then sends its real height).
    """
    max_w, max_h = parse_dimension(maxwidth, "maxwidth"), parse_dimension(maxheight, "maxheight")
    if max_w is not None and max_w < MIN_WIDTH:
        raise OEmbedError(
            404, f"no card fits in maxwidth={max_w}: the narrowest card is {MIN_WIDTH} px wide"
        )
    for name in (layout,) if layout else FALLBACKS:
        width = WIDTHS[name] if max_w is None else min(WIDTHS[name], max_w)
        height = layout_height(name, width)
        if not layout and max_h is not None and height > max_h and max_w is not None:
            # A wider card wraps into fewer lines: use the room the consumer gives.
            for wider, need in HEIGHTS[name]:
                if width < wider <= max_w and need <= max_h:
                    width, height = wider, need
                    break
        if max_h is None or height <= max_h:
            break
    else:
        height = max_h  # nothing fits whole: the last (smallest) one, resized by its script
    return name, Size(width, height, max_w, max_h)


def author_url(catalog: Catalog, book: Book, urls: Urls) -> str:
    """The page of ``book``'s (first) author: oEmbed's ``author_url``, as the spec means it."""
    who = cs.book_authors(catalog, book)
    return urls.author(who[0].slug, absolute=True) if who else urls.book(book.slug, absolute=True)


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
        page=urls.book(book.slug, absolute=True),
        widget=urls.widget_js(),
        size=size,
        book=book,
        title=f"{title}: promo card",
    )
    data = {
        "version": OEMBED_VERSION,
        "type": "rich",
        "title": title,
        "author_name": ", ".join(book.authors),
        "author_url": author_url(catalog, book, urls),
        "provider_name": site.title,
        "provider_url": urls.index(absolute=True),
        "cache_age": CACHE_AGE,
        "html": " ".join(html.split("\n")).strip(),
        "width": size.width,
        "height": size.height,
    }
    thumb = thumbnail(book, size)
    if thumb:
        data["thumbnail_url"] = urls.cover(book.slug, absolute=True)
        data["thumbnail_width"], data["thumbnail_height"] = thumb
    return data


def thumbnail(book: Book, size: Size) -> tuple[int, int] | None:
    """The cover's size if it may be the thumbnail: the spec says it must fit the limits."""
    thumb = cover_size(book)
    if (
        thumb
        and (size.max_width is None or thumb[0] <= size.max_width)
        and (size.max_height is None or thumb[1] <= size.max_height)
    ):
        return thumb
    return None


def answer_key(book: Book, layout: str, theme: str, size: Size) -> tuple:
    """What the answer depends on: requests that differ only elsewhere share one answer."""
    return (book.slug, layout, theme, size.width, size.height, thumbnail(book, size))


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
