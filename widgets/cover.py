"""The book's cover: the author's image, or a clean typographic cover drawn as SVG.

The typographic cover sets every line it shows (series, title, subtitle,
authors, contributors) inside the frame: each block is wrapped at word breaks
(and between CJK characters) by measuring its text with the fonts' own metrics,
and shrinks together with the others until everything fits its zone. Past the
smallest sizes a strict build (the print pieces, ``storefront check``) fails
with :class:`CoverFitError` naming the field; the web page and the EPUB sample
get the smallest sizes with the last line of an overlong block cut with "…",
never text outside the frame.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from storefront.catalog import COVER_TYPES, Book
from storefront.credits import book_credits
from storefront.templating import render

from .textdir import text_direction
from .typefaces import SERIF, FontSet, text_width

logger = logging.getLogger(__name__)

COVER_WIDTH, COVER_HEIGHT = 600, 900
# The frame is drawn 28 px inside the edge; text keeps 20 px more inside it.
SAFE_LEFT, SAFE_RIGHT = 48, COVER_WIDTH - 48
SAFE_WIDTH = SAFE_RIGHT - SAFE_LEFT
TOP_ZONE = (64, 505)  # series, title, subtitle
BOTTOM_ZONE = (700, COVER_HEIGHT - 52)  # authors, contributors
MOON_Y = 605
# Widths are measured without kerning or shaping: keep this much slack.
_MARGIN = 0.94

_CJK = {"Hani", "Hira", "Kana", "Hang", "Bopo"}


class CoverFitError(ValueError):
    """A line of the typographic cover does not fit even at its smallest size."""

    def __init__(self, book: str, field: str, detail: str):
        self.book, self.field, self.detail = book, field, detail
        super().__init__(f"cover of book '{book}': {detail}")


@dataclass(frozen=True)
class CoverImage:
    data: bytes
    media_type: str
    extension: str  # ".svg", ".jpg", ".png"


@dataclass(frozen=True)
class Style:
    """How one block of the cover is set."""

    field: str  # the catalog field, for errors
    label: str
    size: float  # px at scale 1
    minimum: float  # px
    line_height: float  # x size
    style: str = "normal"
    letter_spacing: float = 0.0  # px
    upper: bool = False
    max_lines: int = 12


SERIES = Style("series.name", "series", 20, 12, 1.25, letter_spacing=2, upper=True, max_lines=2)
TITLE = Style("title", "title", 96, 30, 1.05)
SUBTITLE = Style("subtitle", "subtitle", 36, 18, 1.2, style="italic")
AUTHORS = Style("authors", "author line", 34, 15, 1.2, letter_spacing=3, upper=True, max_lines=3)
CREDITS = Style("contributors", "contributor line", 21, 12, 1.25, style="italic", max_lines=3)


@dataclass(frozen=True)
class Line:
    text: str
    y: float
    size: float
    width: float  # as measured in the cover's own font (the SVG's textLength)


def _tokens(text: str) -> list[str]:
    """Split ``text`` at its break opportunities: spaces, and around CJK characters."""
    from fontTools.unicodedata import script

    tokens: list[str] = []
    current = ""
    for ch in text:
        if ch.isspace():
            if current:
                tokens.append(current)
            current = ""
            tokens.append(" ")
        elif script(ch) in _CJK and ch not in "、。，．」』）":
            if current:
                tokens.append(current)
            current = ch
            tokens.append(current)
            current = ""
        else:
            current += ch
    if current:
        tokens.append(current)
    # Closing CJK punctuation sticks to the character before it.
    merged: list[str] = []
    for token in tokens:
        if merged and token[:1] in "、。，．」』）" and merged[-1] != " ":
            merged[-1] += token
        else:
            merged.append(token)
    return merged


def wrap(text: str, width: float, measure) -> list[str]:
    """Wrap ``text`` into lines no wider than ``width`` (words longer than a line are split)."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        if token == " ":
            if line and not line.endswith(" "):
                line += " "
            continue
        candidate = line + token
        if measure(candidate.rstrip()) <= width or not line.strip():
            line = candidate
        else:
            lines.append(line.rstrip())
            line = token
        while measure(line) > width and len(line) > 1:
            # One word wider than the line: break it where it stops fitting.
            cut = max(1, next(i for i in range(1, len(line) + 1) if measure(line[:i]) > width) - 1)
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines


@dataclass(frozen=True)
class _Block:
    style: Style
    text: str


def _set(block: _Block, scale: float, fonts: FontSet) -> tuple[list[str], float]:
    style = block.style
    size = max(style.minimum, style.size * scale)
    text = block.text.upper() if style.upper else block.text

    def measure(s: str) -> float:
        return text_width(
            s, size, fonts, family=SERIF, style=style.style, letter_spacing=style.letter_spacing
        )

    # Each paragraph (one per contributor role) starts a line of its own.
    lines = [
        line for part in text.split("\n") for line in wrap(part, SAFE_WIDTH * _MARGIN, measure)
    ]
    return lines, size


def _height(blocks: Sequence[tuple[list[str], float, Style]], gap: float) -> float:
    used = [len(lines) * size * style.line_height for lines, size, style in blocks if lines]
    return sum(used) + gap * max(0, len(used) - 1)


def _layout_zone(
    book: str, blocks: Sequence[_Block], zone: tuple[int, int], fonts: FontSet, strict: bool
) -> list[list[Line]]:
    """Set ``blocks`` top to bottom in ``zone`` at the largest common scale that fits."""
    top, bottom = zone
    gap = 18.0
    scale = 1.0
    while True:
        setting = [(*_set(b, scale, fonts), b.style) for b in blocks]
        too_many = [s for lines, _, s in setting if len(lines) > s.max_lines]
        fits = not too_many and _height(setting, gap) <= bottom - top
        at_minimum = all(
            size <= b.style.minimum for (_, size, _), b in zip(setting, blocks, strict=True)
        )
        if fits or at_minimum:
            break
        scale *= 0.93
    if not fits:
        style = (
            too_many[0]
            if too_many
            else max(
                (s for s in setting if s[0]), key=lambda s: len(s[0]) * s[1] * s[2].line_height
            )[2]
        )
        detail = (
            f"the {style.label} does not fit the cover even at {style.minimum:g} px: "
            f"shorten the book's {style.field}"
        )
        if strict:
            raise CoverFitError(book, style.field, detail)
        logger.warning("cover of book '%s': %s", book, detail)
        setting = _truncate(setting, bottom - top, gap)
    out: list[list[Line]] = []
    y = float(top)
    for lines, size, style in setting:
        placed = []
        for line in lines:
            width = text_width(
                line,
                size,
                fonts,
                family=SERIF,
                style=style.style,
                letter_spacing=style.letter_spacing,
            )
            placed.append(Line(line, round(y + size * 0.8, 1), round(size, 1), round(width, 1)))
            y += size * style.line_height
        out.append(placed)
        if lines:
            y += gap
    return out


def _truncate(setting, room: float, gap: float):
    """Cut the blocks' lines (last line ends with "…") until they fit ``room``."""
    setting = [(list(lines[: style.max_lines]), size, style) for lines, size, style in setting]
    while _height(setting, gap) > room:
        longest = max(setting, key=lambda s: len(s[0]))
        if len(longest[0]) <= 1:
            break
        longest[0].pop()
    for lines, _, _ in setting:
        if lines:
            lines[-1] = lines[-1].rstrip(" .,;:") + "…"
    return setting


def cover_layout(
    book: Book, fonts: FontSet | None = None, *, strict: bool = False, locale: str = "en_US"
) -> dict:
    """Place every line of the typographic cover; see the module docstring.

    The author and contributor lines are :func:`storefront.credits.book_credits`
    (no narrator: the cover is the book's, not the audiobook's), one role a line.
    """
    credits = book_credits(book, locale)
    series = book.series.name if book.series else ""
    if book.series and book.series.position:
        series = f"{series} · {book.series.position}"
    texts = (
        series,
        book.title,
        book.subtitle or "",
        credits.authors.joined,
        "\n".join(p.line for p in credits.contributors),
    )
    return dict(_cover_layout(book.slug, texts, fonts or FontSet(), strict))


@lru_cache(maxsize=256)
def _cover_layout(slug: str, texts: tuple[str, ...], fonts: FontSet, strict: bool) -> tuple:
    # Every piece of a book sets the same cover: measure it once.
    series, title, subtitle, authors, credits = texts
    top = [_Block(SERIES, series), _Block(TITLE, title), _Block(SUBTITLE, subtitle)]
    bottom = [_Block(AUTHORS, authors), _Block(CREDITS, credits)]
    series_lines, title_lines, subtitle_lines = _layout_zone(slug, top, TOP_ZONE, fonts, strict)
    author_lines, credit_lines = _layout_zone(slug, bottom, BOTTOM_ZONE, fonts, strict)
    return tuple(
        {
            "moon_y": MOON_Y,
            "series_lines": series_lines,
            "title_lines": title_lines,
            "subtitle_lines": subtitle_lines,
            "author_lines": author_lines,
            "credit_lines": credit_lines,
        }.items()
    )


def render_typographic_cover(
    book: Book, fonts: FontSet | None = None, *, strict: bool = False, locale: str = "en_US"
) -> str:
    """Draw a 600x900 SVG cover from the series, title, subtitle, authors and contributors.

    Flat colours only (no gradients: Poppler drops them in print); every text is
    escaped by the template, so a hostile title stays text. ``fonts`` adds the
    catalog's fonts to the font list; ``strict`` raises :class:`CoverFitError`
    instead of cutting an overlong block; ``locale`` (the site's) joins the names.
    """
    fonts = fonts or FontSet()
    return render(
        "covers/typographic.svg",
        book=book,
        width=COVER_WIDTH,
        height=COVER_HEIGHT,
        font_family=fonts.serif + ", Georgia, serif",
        author=book_credits(book, locale).authors.joined,
        direction=line_direction,
        **cover_layout(book, fonts, strict=strict, locale=locale),
    )


def line_direction(text: str) -> str:
    """``rtl`` or ``ltr``: the direction one line of the cover runs in (its first strong letter)."""
    return text_direction(text) or "ltr"


def book_cover(
    book: Book, fonts: FontSet | None = None, *, strict: bool = False, locale: str = "en_US"
) -> CoverImage:
    """Return the cover image bytes: the catalog's file, or the typographic SVG."""
    if book.cover is not None:
        suffix = book.cover.suffix.lower()
        extension = ".jpg" if suffix == ".jpeg" else suffix
        return CoverImage(book.cover.read_bytes(), COVER_TYPES[suffix], extension)
    svg = render_typographic_cover(book, fonts, strict=strict, locale=locale)
    return CoverImage(svg.encode(), "image/svg+xml", ".svg")
