"""What the web expects of the shelf: ``sitemap.xml``, ``robots.txt``, the Atom feed, a favicon.

XML is built with ElementTree (catalog text is escaped by construction); the
favicon is drawn here as a real ICO (32-bit BMP images, 16 and 32 pixels), so no
binary file or image library is needed.
"""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from xml.etree import ElementTree as ET

from storefront.catalog import Book, Campaign, Catalog
from storefront.catalog import shelf as cs
from storefront.urls import Urls

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
ATOM_NS = "http://www.w3.org/2005/Atom"


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def book_date(book: Book) -> date | None:
    if book.published:
        return book.published
    return date(book.year, 1, 1) if book.year else None


def _day_start(day: date, catalog: Catalog) -> datetime:
    return datetime.combine(day, time(0), tzinfo=catalog.site.tz)


def page_lastmod(catalog: Catalog, at: datetime, edited: datetime, books=()) -> datetime:
    """When a page last changed: the catalog's edit, or a sale of its books starting or ending."""
    points = [edited]
    for c in catalog.campaigns:
        if books and not any(c.applies_to(o) for b in books for o in b.offers):
            continue
        points += [p for p in (c.starts, c.ends) if p <= at]
    return max(points)


def render_sitemap(catalog: Catalog, at: datetime, urls: Urls, edited: datetime) -> bytes:
    """Every public page with its ``lastmod`` (W3C datetime, UTC)."""
    ET.register_namespace("", SITEMAP_NS)
    root = ET.Element(f"{{{SITEMAP_NS}}}urlset")

    def add(loc: str, books) -> None:
        url = ET.SubElement(root, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = loc
        when = page_lastmod(catalog, at, edited, books).astimezone(UTC)
        ET.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = when.isoformat(timespec="seconds")

    add(urls.index(absolute=True), catalog.books)
    for a in cs.authors(catalog):  # every author page, the site's author alone included
        add(urls.author(a.slug, absolute=True), cs.books_by(catalog, a.slug))
    for s in cs.all_series(catalog):
        add(urls.series(s.slug, absolute=True), s.books)
    for b in catalog.books:
        add(urls.book(b.slug, absolute=True), (b,))
    add(urls.press(absolute=True), catalog.books)  # each book's kit is linked from it
    return _xml(root)


def render_robots(urls: Urls) -> str:
    return (
        "User-agent: *\n"
        "Disallow: /go/\n"
        "Disallow: /admin/\n"
        "Disallow: /embed/\n"
        f"Sitemap: {urls.sitemap(absolute=True)}\n"
    )


def feed_entries(catalog: Catalog, at: datetime) -> list[tuple[datetime, str, object]]:
    """(when, kind, book or campaign), newest first: books once published, sales once started."""
    out: list[tuple[datetime, str, object]] = []
    for b in catalog.books:
        day = book_date(b)
        if day is not None and _day_start(day, catalog) <= at:
            out.append((_day_start(day, catalog), "book", b))
    for c in catalog.campaigns:
        if c.kind == "sale" and c.starts <= at:
            out.append((c.starts, "sale", c))
    return sorted(out, key=lambda e: e[0], reverse=True)


def _sale_books(catalog: Catalog, c: Campaign) -> list[Book]:
    return [b for b in catalog.books if any(c.applies_to(o) for o in b.offers)]


def render_feed(catalog: Catalog, at: datetime, urls: Urls, edited: datetime) -> bytes:
    """The Atom feed (RFC 4287) of new books and sales."""
    ET.register_namespace("", ATOM_NS)
    a = lambda tag: f"{{{ATOM_NS}}}{tag}"  # noqa: E731
    root = ET.Element(a("feed"))
    root.set("{http://www.w3.org/XML/1998/namespace}lang", catalog.site.language)
    ET.SubElement(root, a("title")).text = f"{catalog.site.title}: new books and sales"
    ET.SubElement(root, a("id")).text = urls.feed(absolute=True)
    ET.SubElement(root, a("link"), rel="self", href=urls.feed(absolute=True))
    ET.SubElement(root, a("link"), rel="alternate", href=urls.index(absolute=True))
    author = ET.SubElement(root, a("author"))
    ET.SubElement(author, a("name")).text = catalog.site.author
    entries = feed_entries(catalog, at)
    updated = max([e[0] for e in entries] + [edited])
    ET.SubElement(root, a("updated")).text = updated.astimezone(UTC).isoformat()
    for when, kind, item in entries:
        entry = ET.SubElement(root, a("entry"))
        stamp = when.astimezone(UTC).isoformat()
        if kind == "book":
            link = urls.book(item.slug, absolute=True)
            ET.SubElement(entry, a("id")).text = link
            ET.SubElement(entry, a("title")).text = f"New book: {item.full_title}"
            summary = item.pitch
        else:
            books = _sale_books(catalog, item)
            link = urls.book(books[0].slug, absolute=True) if books else urls.index(absolute=True)
            ET.SubElement(entry, a("id")).text = f"{urls.index(absolute=True)}#sale-{item.slug}"
            ET.SubElement(entry, a("title")).text = f"{item.name}: {item.headline}"
            titles = ", ".join(b.full_title for b in books)
            ends = (item.ends - timedelta(seconds=1)).astimezone(catalog.site.tz).date().isoformat()
            summary = f"On sale until {ends}: {titles}." + (
                f" {item.message}" if item.message else ""
            )
        ET.SubElement(entry, a("link"), rel="alternate", href=link)
        ET.SubElement(entry, a("published")).text = stamp
        ET.SubElement(entry, a("updated")).text = stamp
        ET.SubElement(entry, a("summary")).text = summary
    return _xml(root)


# -- the favicon


def _icon_pixels(size: int) -> list[tuple[int, int, int, int]]:
    """An open book, white on blue, drawn with integer geometry (RGBA rows, top first)."""
    blue, white, clear = (11, 87, 208, 255), (255, 255, 255, 255), (0, 0, 0, 0)
    r = max(2, size // 6)  # corner radius
    pixels = []
    for y in range(size):
        for x in range(size):
            cx = min(x, size - 1 - x)
            cy = min(y, size - 1 - y)
            if cx < r and cy < r and (r - cx - 0.5) ** 2 + (r - cy - 0.5) ** 2 > r * r:
                pixels.append(clear)
                continue
            page = size // 5 <= y < size - size // 5 and size // 6 <= x < size - size // 6
            spine = abs(2 * x - (size - 1)) <= max(1, size // 16)
            pixels.append(white if page and not spine else blue)
    return pixels


def _bmp(size: int) -> bytes:
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    pixels = _icon_pixels(size)
    rows = [pixels[y * size : (y + 1) * size] for y in range(size)]
    xor = b"".join(bytes((b, g, r, a)) for row in reversed(rows) for (r, g, b, a) in row)
    mask_row = ((size + 31) // 32) * 4
    return header + xor + bytes(mask_row * size)  # alpha decides; the AND mask is all zero


@cache
def favicon_ico() -> bytes:
    """A real ICO file with 16x16 and 32x32 images."""
    images = [(s, _bmp(s)) for s in (16, 32)]
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for s, data in images:
        out += struct.pack("<BBBBHHII", s, s, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + b"".join(d for _, d in images)
