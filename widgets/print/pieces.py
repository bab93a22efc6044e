"""Which print pieces exist: their templates, sizes, placements and fitted fields.

Pure data and naming, no WeasyPrint: the CLI lists pieces from here without
importing the renderer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from storefront.urls import FLYER_SIZES

SOCIAL_WIDTH, SOCIAL_HEIGHT = 1200, 630


class FlyerError(Exception):
    """A piece cannot be built; the message says which and why.

    ``option`` names the command-line option at fault (``"campaign"``,
    ``"book"``) when the error is about what the caller asked for.
    """

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option

    def __reduce__(self):
        return (type(self), (str(self), self.option))


class FlyerTextError(FlyerError):
    """The catalog's text cannot be printed as it is: the author must change ``field``."""

    def __init__(self, piece: str, book: str, field: str, detail: str):
        self.piece = piece
        self.book = book
        self.field = field
        self.detail = detail
        super().__init__(f"{piece} for book '{book}': {detail}")

    def __reduce__(self):
        # Raised in worker processes: pickle the fields, not the formatted message.
        return (type(self), (self.piece, self.book, self.field, self.detail))


class FlyerFitError(FlyerTextError):
    """Text does not fit its box even at the smallest allowed size."""


@dataclass(frozen=True)
class Fit:
    """A box whose text may shrink from ``base`` to ``minimum`` points to fit."""

    field: str  # the template's data-fit name
    label: str  # what a person calls it
    source: str  # what to shorten in the catalog
    base: float
    minimum: float
    plural: bool = False


@dataclass(frozen=True)
class Piece:
    """One printed (or shared) piece: its template, size and fitted fields."""

    name: str
    title: str  # for the PDF title and the summary
    template: str
    stylesheet: str
    src: str  # the placement its tracked links carry
    pages: int
    fits: tuple[Fit, ...]
    size: str | None = None  # "letter" or "a4" for the flyers
    bookstore: bool = False  # without Amazon
    media_type: str = "application/pdf"
    geometry: Mapping[str, str] = field(default_factory=dict)

    @property
    def extension(self) -> str:
        return ".png" if self.media_type == "image/png" else ".pdf"


# What each fitted box is called and what to shorten in the catalog when its text does
# not fit, on whichever piece it is (the sizes are the piece's): (label, source, plural).
_FIELDS = {
    "headline": ("headline", "the campaign's name and headline (or the book's pitch)", False),
    "title": ("title", "the book's title and subtitle", False),
    "authors": ("author line", "the book's authors and contributors", False),
    "description": ("description", "the book's description", False),
    "quote": ("featured quote", "the book's featured quote", False),
    "quotes": ("quotes", "the book's quotes (fewer or shorter)", True),
    "vendors": ("vendor list", "the offers", False),
    "facts": ("facts", "the editions' ISBNs, pages, publisher and stores", False),
    "bio": ("short bio", "the authors' short bios (about 50 words)", False),
}


def _fit(name: str, base: float, minimum: float, source: str | None = None) -> Fit:
    """Box ``name``, shrinking from ``base`` to ``minimum`` points; ``source`` if it differs."""
    label, usual_source, plural = _FIELDS[name]
    return Fit(name, label, source or usual_source, base, minimum, plural=plural)


def _flyer_fits() -> tuple[Fit, ...]:
    return (
        _fit("headline", 26, 14),
        _fit("title", 36, 18),
        _fit("authors", 9, 6.5),
        _fit("description", 11.5, 8.5),
        _fit("quotes", 16, 8),
        _fit("vendors", 8.25, 6.5, source="the offers and their notes"),  # the flyer shows notes
    )


_GEOMETRY = {
    # Office printers cannot print to the edge: generous margins, no bleed. The
    # page area reaches 0.35 in below the last zone, so a zone that overflows is
    # measured there instead of being cut off at the page's edge.
    "letter": {
        "page": "letter",
        "margin": "0.5in 0.5in 0.15in",
        "quotes": "2.42in",
        "text_width": "7.5in",  # the page's width inside its margins
        "cover": "2.4in",
        "about_left": "2.7in",
    },
    "a4": {
        "page": "A4",
        "margin": "12mm 12mm 3mm",
        "quotes": "3.12in",
        "text_width": "186mm",
        "cover": "2.4in",
        "about_left": "2.7in",
    },
}


def _flyer(name: str, title: str, size: str, bookstore: bool = False) -> Piece:
    return Piece(
        name=name,
        title=title,
        template="flyers/flyer.html",
        stylesheet="flyers/flyer.css",
        src="flyer",
        pages=1,
        fits=_flyer_fits(),
        size=size,
        bookstore=bookstore,
        geometry=_GEOMETRY[size],
    )


def bookmark_sheet(count: int = 4, bleed: float = 0.125, mark: float = 0.3) -> dict:
    """Place ``count`` 2x7 in bookmarks on a landscape Letter sheet (inches).

    Neighbours are two bleeds apart, so one guillotine cut between two crop
    marks trims both; the marks stop 1/16 in short of the bleed.
    """
    sheet_w, sheet_h, trim_w, trim_h = 11.0, 8.5, 2.0, 7.0
    pitch = trim_w + 2 * bleed
    first_trim = (sheet_w - (count * trim_w + (count - 1) * 2 * bleed)) / 2
    top_trim = (sheet_h - trim_h) / 2
    gap = 0.0625
    trim_xs = [round(first_trim + n * pitch + dx, 4) for n in range(count) for dx in (0, trim_w)]
    return {
        "count": count,
        "pitch": pitch,
        "first_left": first_trim - bleed,
        "top": top_trim - bleed,
        "bleed_w": trim_w + 2 * bleed,
        "bleed_h": trim_h + 2 * bleed,
        "safe": bleed + 0.15,
        "trim_xs": trim_xs,
        "trim_ys": [top_trim, top_trim + trim_h],
        "mark_len": mark,
        "mark_top": top_trim - bleed - gap - mark,
        "mark_bottom": top_trim + trim_h + bleed + gap,
        "mark_left": first_trim - bleed - gap - mark,
        "mark_right": trim_xs[-1] + bleed + gap,
    }


PIECES: dict[str, Piece] = {
    p.name: p
    for p in (
        _flyer("flyer-letter", "flyer (US Letter)", "letter"),
        _flyer("flyer-a4", "flyer (A4)", "a4"),
        _flyer("bookstore-letter", "bookstore flyer (US Letter)", "letter", bookstore=True),
        _flyer("bookstore-a4", "bookstore flyer (A4)", "a4", bookstore=True),
        Piece(
            name="postcard",
            title="postcard (6x4 in)",
            template="flyers/postcard.html",
            stylesheet="flyers/postcard.css",
            src="postcard",
            pages=2,
            fits=(
                _fit("headline", 16, 10),
                _fit("title", 22, 12),
                _fit("authors", 7.5, 5.5),
                _fit("quote", 10.5, 7),
                _fit("vendors", 7, 5.5),
            ),
        ),
        Piece(
            name="bookmarks",
            title="bookmark sheet (4 bookmarks, 2x7 in)",
            template="flyers/bookmarks.html",
            stylesheet="flyers/bookmarks.css",
            src="bookmark",
            pages=1,
            fits=(
                _fit("title", 17, 9),
                _fit("authors", 6.5, 5),
                _fit("headline", 9, 6.5),
                _fit("quote", 8.5, 6.5),
            ),
            geometry=bookmark_sheet(),
        ),
        Piece(
            name="social",
            title="social image (1200x630)",
            template="flyers/social.html",
            stylesheet="flyers/social.css",
            src="social",
            pages=1,
            fits=(
                _fit("headline", 27, 16),
                _fit("title", 44, 24),
                _fit("authors", 14, 10),
            ),
            media_type="image/png",
        ),
    )
}


def _backlist(size: str, bookstore: bool = False) -> Piece:
    edition = "bookstore " if bookstore else ""
    return Piece(
        name=f"backlist{'-bookstore' if bookstore else ''}-{size}",
        title=f"{edition}backlist sheet ({'US Letter' if size == 'letter' else 'A4'})",
        template="shelf/sheet.html",
        stylesheet="shelf/sheet.css",
        src="sheet",
        pages=1,
        fits=(),
        size=size,
        bookstore=bookstore,
        geometry=_GEOMETRY[size],
    )


def _press(size: str) -> Piece:
    return Piece(
        name=f"press-{size}",
        title=f"press sheet ({'US Letter' if size == 'letter' else 'A4'})",
        template="press/sheet.html",
        stylesheet="press/sheet.css",
        src="press",
        pages=1,
        fits=(
            _fit("title", 26, 14),
            _fit("authors", 10, 7),
            _fit("description", 10.5, 7.5),
            _fit("facts", 9, 6.5),
            _fit("quotes", 11, 7),
            _fit("bio", 9.5, 7),
        ),
        size=size,
        geometry=_GEOMETRY[size],
    )


# Pieces built on demand by other widgets: the backlist sheet (several books on
# one page, widgets.print.backlist) and the press kit's sheet (widgets.print.press).
# Not in PIECES, which `storefront flyers` builds for each book.
SHEETS: dict[str, Piece] = {
    p.name: p
    for size in FLYER_SIZES
    for p in (_backlist(size), _backlist(size, True), _press(size))
}


def get_piece(name: str) -> Piece:
    """Return the piece called ``name``; raise :class:`FlyerError` naming the known ones."""
    try:
        return PIECES[name]
    except KeyError:
        raise FlyerError(f"unknown piece '{name}' (one of: {', '.join(PIECES)})") from None


def piece_names() -> tuple[str, ...]:
    """Return the names of every piece (the order they are built in)."""
    return tuple(PIECES)


def flyer_piece(size: str) -> str:
    """Return the piece name of the reader's flyer in ``size`` (``letter`` or ``a4``)."""
    if size not in FLYER_SIZES:
        raise FlyerError(f"unknown flyer size '{size}' (one of: {', '.join(FLYER_SIZES)})")
    return f"flyer-{size}"


def output_name(book: str, piece: str, campaign: str | None = None) -> str:
    """Return the file name of a piece, e.g. ``genesis-apollo8-anniversary-flyer-letter.pdf``."""
    stem = f"{book}-{campaign}-{piece}" if campaign else f"{book}-{piece}"
    return stem + PIECES[piece].extension
