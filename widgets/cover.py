"""The book's cover: the author's image, or a clean typographic cover drawn as SVG."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from storefront.catalog import COVER_TYPES, Book
from storefront.templating import render

COVER_WIDTH, COVER_HEIGHT = 600, 900


@dataclass(frozen=True)
class CoverImage:
    data: bytes
    media_type: str
    extension: str  # ".svg", ".jpg", ".png"


def _wrap(text: str, width: int, max_lines: int) -> list[str]:
    lines = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" .,;:") + "…"
    return lines


def _title_layout(title: str) -> tuple[list[str], int]:
    """Pick the largest font size (px) at which the title wraps into few lines."""
    for size, chars, max_lines in ((96, 10, 3), (76, 13, 4), (60, 17, 5), (46, 22, 6)):
        lines = textwrap.wrap(title, width=chars)
        if len(lines) <= max_lines and all(len(line) <= chars for line in lines):
            return lines, size
    return _wrap(title, 22, 6), 46


def render_typographic_cover(book: Book) -> str:
    """Draw a 600x900 SVG cover from the title, subtitle and authors.

    Flat colours only (no gradients: Poppler drops them in print); every text is
    escaped by the template, so a hostile title stays text.
    """
    title_lines, title_size = _title_layout(book.title)
    subtitle_lines = _wrap(book.subtitle, 30, 3) if book.subtitle else []
    return render(
        "covers/typographic.svg",
        book=book,
        width=COVER_WIDTH,
        height=COVER_HEIGHT,
        title_lines=title_lines,
        title_size=title_size,
        subtitle_lines=subtitle_lines,
        author=", ".join(book.authors),
    )


def book_cover(book: Book) -> CoverImage:
    """Return the cover image bytes: the catalog's file, or the typographic SVG."""
    if book.cover is not None:
        suffix = book.cover.suffix.lower()
        extension = ".jpg" if suffix == ".jpeg" else suffix
        return CoverImage(book.cover.read_bytes(), COVER_TYPES[suffix], extension)
    return CoverImage(render_typographic_cover(book).encode(), "image/svg+xml", ".svg")
