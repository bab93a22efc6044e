"""Print-ready promo pieces rendered with WeasyPrint from the shared view model.

The pieces: a one-page flyer in US Letter and A4, a "bookstore edition" of it
without Amazon, a 6x4 in postcard (front and back, with bleed), a Letter sheet
of 2x7 in bookmarks with bleed and crop marks, and the 1200x630 social image
(PNG) that the book page names as its ``og:image``.

Building a piece has two steps, so the CLI can skip unchanged pieces without
even importing WeasyPrint:

* :func:`prepare_piece` renders the HTML and the stylesheet (Jinja, QR code)
  and hashes every input into :attr:`PieceJob.digest`. Pure and cheap.
* :func:`render_job` lays the job out with this process's :class:`Renderer`
  (one ``FontConfiguration`` per process: WeasyPrint retains each one forever),
  fits text that would overflow, and returns PDF or PNG bytes.

Text is fitted by measuring the laid-out boxes: every element marked
``data-fit="<field>"`` in a template must hold its content. When one does not,
its font size shrinks (towards the minimum in :data:`PIECES`) and the page is
laid out again; past the minimum the build fails with :class:`FlyerFitError`
naming the piece and the field. A flyer is never clipped and never spills onto
a second page.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache, lru_cache
from importlib.metadata import version as package_version
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from storefront.catalog import Book, Campaign, Catalog, Quote, Vendor
from storefront.presentation import BookView, present_book
from storefront.pricing import campaign_covers, utcnow
from storefront.templating import render
from storefront.urls import FLYER_SIZES, Urls

from .cover import book_cover
from .qr import qr_svg
from .reproducible import code_digest, source_date

logger = logging.getLogger(__name__)

FONTS_DIR = Path(__file__).resolve().parent / "fonts"

# Every face the pieces use, so nothing is synthesized and no system font is
# picked: the output is the same on every machine. Debian's EB Garamond Bold
# covers ASCII only (no curly quotes), so the bold the typographic cover asks
# for is drawn with the regular face; the templates themselves use no bold serif.
FONT_FACES = (
    ("Inter", 400, "normal", "Inter-Regular.otf"),
    ("Inter", 600, "normal", "Inter-SemiBold.otf"),
    ("Inter", 700, "normal", "Inter-Bold.otf"),
    ("EB Garamond", 400, "normal", "EBGaramond12-Regular.otf"),
    ("EB Garamond", 400, "italic", "EBGaramond12-Italic.otf"),
    ("EB Garamond", 700, "normal", "EBGaramond12-Regular.otf"),
)

# Vendors a bookstore or library will not display: Amazon and its brands.
AMAZON_BRANDS = ("amazon", "audible", "kindle")

# Shrink attempts per piece before giving up (each is one WeasyPrint layout).
MAX_FIT_ATTEMPTS = 6
# Leftover overflow below this many CSS px is rounding, not overflow.
_TOLERANCE_PX = 0.5

SOCIAL_WIDTH, SOCIAL_HEIGHT = 1200, 630

# Tagged PDFs (structure tree, /Lang, title shown in the window) for screen readers.
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1"}


class FlyerError(Exception):
    """A piece cannot be built; the message says which and why."""


class FlyerFitError(FlyerError):
    """Text does not fit its box even at the smallest allowed size."""

    def __init__(self, piece: str, book: str, field: str, detail: str):
        self.piece = piece
        self.book = book
        self.field = field
        self.detail = detail
        super().__init__(f"{piece} for book '{book}': {detail}")

    def __reduce__(self):
        # Raised in worker processes: pickle the fields, not the formatted message.
        return (type(self), (self.piece, self.book, self.field, self.detail))


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


def _flyer_fits() -> tuple[Fit, ...]:
    return (
        Fit("headline", "headline", "the campaign's headline (or the book's pitch)", 26, 14),
        Fit("title", "title", "the book's title and subtitle", 36, 18),
        Fit("description", "description", "the book's description", 11.5, 8.5),
        Fit("quotes", "quotes", "the book's quotes (fewer or shorter)", 16, 8, plural=True),
        Fit("vendors", "vendor list", "the offers and their notes", 8.25, 6.5),
    )


_GEOMETRY = {
    # Office printers cannot print to the edge: generous margins, no bleed. The
    # page area reaches 0.35 in below the last zone, so a zone that overflows is
    # measured there instead of being cut off at the page's edge.
    "letter": {
        "page": "letter",
        "margin": "0.5in 0.5in 0.15in",
        "quotes": "2.42in",
        "cover": "2.4in",
        "about_left": "2.7in",
    },
    "a4": {
        "page": "A4",
        "margin": "12mm 12mm 3mm",
        "quotes": "3.12in",
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


def _bookmark_sheet(count: int = 4, bleed: float = 0.125, mark: float = 0.3) -> dict:
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
                Fit(
                    "headline", "headline", "the campaign's headline (or the book's pitch)", 16, 10
                ),
                Fit("title", "title", "the book's title and subtitle", 22, 12),
                Fit("quote", "featured quote", "the book's featured quote", 10.5, 7),
                Fit("vendors", "vendor list", "the offers", 7, 5.5),
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
                Fit("title", "title", "the book's title and subtitle", 17, 9),
                Fit(
                    "headline", "headline", "the campaign's headline (or the book's pitch)", 9, 6.5
                ),
                Fit("quote", "featured quote", "the book's featured quote", 8.5, 6.5),
            ),
            geometry=_bookmark_sheet(),
        ),
        Piece(
            name="social",
            title="social image (1200x630)",
            template="flyers/social.html",
            stylesheet="flyers/social.css",
            src="social",
            pages=1,
            fits=(
                Fit(
                    "headline", "headline", "the campaign's headline (or the book's pitch)", 27, 16
                ),
                Fit("title", "title", "the book's title and subtitle", 44, 24),
            ),
            media_type="image/png",
        ),
    )
}


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


# --------------------------------------------------------------------------- campaigns


def resolve_campaign(
    catalog: Catalog, slug: str | None, book: Book | None = None
) -> Campaign | None:
    """Look up ``slug`` (None or empty: no campaign); raise :class:`FlyerError` if unusable."""
    if not slug:
        return None
    campaign = catalog.campaign(slug)
    if campaign is None:
        known = ", ".join(c.slug for c in catalog.campaigns) or "none"
        raise FlyerError(f"no campaign '{slug}' in the catalog (campaigns: {known})")
    if book is not None and not campaign_covers(campaign, book):
        raise FlyerError(f"campaign '{slug}' does not include book '{book.slug}'")
    return campaign


def is_amazon(vendor: Vendor) -> bool:
    """Whether a vendor is Amazon or one of its brands (left out of the bookstore edition)."""
    names = (vendor.slug.lower(), vendor.name.lower())
    return any(brand in name for brand in AMAZON_BRANDS for name in names)


def without_amazon(catalog: Catalog, book: Book) -> Book:
    """Return ``book`` with every Amazon-branded offer removed."""
    editions = tuple(
        replace(e, offers=tuple(o for o in e.offers if not is_amazon(catalog.vendor(o.vendor))))
        for e in book.editions
    )
    return replace(book, editions=editions)


# --------------------------------------------------------------------------- preparing


@dataclass(frozen=True)
class PieceJob:
    """Everything WeasyPrint needs for one piece; picklable for worker processes."""

    piece: str
    book: str
    campaign: str | None
    html: str
    css: str
    created: str  # PDF creation date (ISO 8601, UTC): not part of the digest
    digest: str  # sha256 of every input that changes the output

    @property
    def filename(self) -> str:
        return output_name(self.book, self.piece, self.campaign)

    @property
    def media_type(self) -> str:
        return PIECES[self.piece].media_type


def _data_uri(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


@lru_cache(maxsize=256)
def _qr_data_uri(url: str) -> str:
    # Encoding picks the best of 8 masks: most of the cost of preparing a piece,
    # and every piece of a book and campaign carries the same URL.
    return _data_uri(qr_svg(url, for_print=True).encode(), "image/svg+xml")


def _split_quotes(quotes: tuple[Quote, ...]) -> list[list[Quote]]:
    """One column for up to two quotes; else two columns balanced by length, in order."""
    if len(quotes) <= 2:
        return [list(quotes)]
    total = sum(len(q.text) + 40 for q in quotes)
    left: list[Quote] = []
    size = 0
    for q in quotes:
        if size >= total / 2 and left:
            break
        left.append(q)
        size += len(q.text) + 40
    return [left, list(quotes[len(left) :])]


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")


def _piece_context(
    catalog: Catalog, book: Book, piece: Piece, urls: Urls, campaign: Campaign | None, at: datetime
) -> dict:
    shown_book = without_amazon(catalog, book) if piece.bookstore else book
    view: BookView = present_book(
        catalog, shown_book, at, urls, src=piece.src, campaign=campaign.slug if campaign else None
    )
    # A piece printed during a sale is about that sale, even without --campaign.
    shown = campaign or (view.sale.campaign if view.sale else None)
    tag = shown.slug if shown else None
    qr_url = urls.chooser(book.slug, src="qr", campaign=tag, absolute=True)
    cover = book_cover(book)
    offers = [o for f in view.formats for o in f.offers]
    preferred = next((o for o in offers if o.offer.preferred and o.offer.reason), None)
    isbns = [(f.label, f.edition.isbn) for f in view.formats if f.edition.isbn]
    return {
        "piece": piece,
        "view": view,
        "book": book,
        "site": catalog.site,
        "campaign": shown,
        "sale": view.sale,
        "kicker": shown.name if shown else catalog.site.title,
        "headline": shown.headline if shown else book.pitch,
        "giving": catalog.support if shown and shown.kind == "fundraiser" else (),
        "quote_columns": _split_quotes(book.quotes),
        "featured": book.featured_quote,
        "cover_src": _data_uri(cover.data, cover.media_type),
        "qr_src": _qr_data_uri(qr_url),
        "qr_url": qr_url,
        "link_url": urls.chooser(book.slug, src=piece.src, campaign=tag, absolute=True),
        "short_url": _short_url(urls.chooser(book.slug, campaign=tag, absolute=True)),
        "host": urlsplit(urls.base_url).netloc,
        "absolute": urls.absolute,
        "preferred": preferred,
        "isbns": isbns,
        "doc_title": f"{book.full_title}: {piece.title}" + (f", {shown.name}" if shown else ""),
        "subject": shown.headline if shown else book.pitch,
        "keywords": [
            k for k in (book.title, shown.name if shown else None, catalog.site.title) if k
        ],
    }


@cache
def _code_digest() -> str:
    """Hash the code, templates and fonts: a change to any of them rebuilds every piece."""
    h = hashlib.sha256(code_digest().encode())
    for *_, filename in FONT_FACES:
        h.update((FONTS_DIR / filename).read_bytes())
    h.update(package_version("weasyprint").encode())
    h.update(package_version("pypdfium2").encode())
    return h.hexdigest()


def prepare_piece(
    catalog: Catalog,
    book: Book,
    piece: str,
    *,
    urls: Urls,
    campaign: Campaign | None = None,
    at: datetime | None = None,
    created: datetime | None = None,
) -> PieceJob:
    """Render the HTML and stylesheet of ``piece`` and hash its inputs (no WeasyPrint).

    A campaign piece shows the campaign as it will be on its first day (so the
    sale price shows); without a campaign the piece shows the prices at ``at``
    (default: now). ``created`` is the PDF's creation date (default:
    ``SOURCE_DATE_EPOCH`` or now); it is left out of the digest so an unchanged
    piece is not rebuilt just because time passed.
    """
    try:
        spec = PIECES[piece]
    except KeyError:
        raise FlyerError(f"unknown piece '{piece}' (one of: {', '.join(PIECES)})") from None
    if campaign is not None:
        at = campaign.starts
    at = at or utcnow()
    context = _piece_context(catalog, book, spec, urls, campaign, at)
    html = render(spec.template, g=spec.geometry, **context)
    css = render(spec.stylesheet, g=spec.geometry, piece=spec)
    stamp = source_date(created).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hashlib.sha256(
        json.dumps(
            {
                "code": _code_digest(),
                "piece": spec.name,
                "fits": [(f.field, f.base, f.minimum) for f in spec.fits],
                "html": html,
                "css": css,
                # A pinned creation date is part of the bytes; "now" is not an input.
                "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH", ""),
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()
    return PieceJob(
        piece=spec.name,
        book=book.slug,
        campaign=campaign.slug if campaign else None,
        html=html,
        css=css,
        created=stamp,
        digest=digest,
    )


# --------------------------------------------------------------------------- rendering


def font_faces_css() -> str:
    """Return the ``@font-face`` rules for the bundled fonts (``file:`` URLs)."""
    rules = []
    for family, weight, style, filename in FONT_FACES:
        url = (FONTS_DIR / filename).as_uri()
        rules.append(
            f"@font-face {{ font-family: '{family}'; src: url('{url}'); "
            f"font-weight: {weight}; font-style: {style}; }}"
        )
    return "\n".join(rules)


def _make_fetcher(roots: tuple[Path, ...]):
    """A URL fetcher for ``data:`` URLs and files under ``roots`` only (no SSRF)."""
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class BlockedResource(FatalURLFetchingError):
        """Raised for any other URL; a BaseException, so WeasyPrint stops the render."""

    class LocalOnlyFetcher(URLFetcher):
        blocked = BlockedResource

        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(url2pathname(urlsplit(url).path)).resolve()
                if any(path.is_relative_to(root) for root in roots):
                    return super().fetch(url, headers)
            raise BlockedResource(url)

    return LocalOnlyFetcher(allowed_protocols=("data", "file"), fail_on_errors=True)


class Renderer:
    """WeasyPrint state for one process: fonts, parsed stylesheets and an image cache.

    WeasyPrint keeps every ``FontConfiguration`` alive, so a process makes one
    and renders everything with it (see :func:`renderer`). A lock serialises
    renders: neither WeasyPrint's font state nor pdfium is thread-safe.
    """

    _IMAGE_CACHE_LIMIT = 256

    def __init__(self) -> None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self._css = CSS
        self.font_config = FontConfiguration()
        self.fetcher = _make_fetcher((FONTS_DIR,))
        self.fonts = CSS(
            string=font_faces_css(), font_config=self.font_config, url_fetcher=self.fetcher
        )
        self.stylesheets: dict[str, object] = {}
        self.images: dict = {}
        self.renders = 0  # layouts done, fitting attempts included
        self._lock = threading.Lock()

    def stylesheet(self, text: str):
        sheet = self.stylesheets.get(text)
        if sheet is None:
            sheet = self._css(string=text, font_config=self.font_config, url_fetcher=self.fetcher)
            self.stylesheets[text] = sheet
        return sheet

    def render(self, job: PieceJob) -> bytes:
        """Lay out ``job``, fitting its text, and return the PDF (or PNG) bytes."""
        from weasyprint.urls import FatalURLFetchingError

        piece = PIECES[job.piece]
        with self._lock:
            if len(self.images) > self._IMAGE_CACHE_LIMIT:
                self.images.clear()
            try:
                document = self._fit(job, piece)
                document.metadata.created = document.metadata.modified = job.created
                pdf = document.write_pdf(**self._options(piece))
            except FatalURLFetchingError as exc:
                raise FlyerError(
                    f"{piece.name} for book '{job.book}': refused to fetch {exc.args[0]!r} "
                    "(only data: URLs and the bundled fonts may be read while rendering)"
                ) from None
            if piece.media_type == "image/png":
                return _rasterize(pdf, SOCIAL_WIDTH, SOCIAL_HEIGHT)
            return pdf

    def _options(self, piece: Piece) -> dict:
        # The social image is rasterized: tagging it would be wasted work.
        return dict(PDF_OPTIONS) if piece.media_type == "application/pdf" else {}

    def _layout(self, job: PieceJob, piece: Piece, sizes: Mapping[str, float]):
        from weasyprint import HTML

        fit_css = "\n".join(
            f'[data-fit="{name}"] {{ font-size: {size}pt }}' for name, size in sizes.items()
        )
        self.renders += 1
        html = HTML(string=job.html, url_fetcher=self.fetcher)
        document = html.render(
            font_config=self.font_config,
            stylesheets=[self.fonts, self.stylesheet(job.css), self.stylesheet(fit_css)],
            cache=self.images,
            **self._options(piece),
        )
        return document, html.etree_element

    def _fit(self, job: PieceJob, piece: Piece):
        fits = {f.field: f for f in piece.fits}
        sizes = {f.field: float(f.base) for f in piece.fits}
        for _ in range(MAX_FIT_ATTEMPTS):
            document, root = self._layout(job, piece, sizes)
            over = overflows(document, root)
            if not over:
                if len(document.pages) != piece.pages:
                    raise FlyerFitError(
                        piece.name,
                        job.book,
                        "layout",
                        f"the layout ran onto {len(document.pages)} pages instead of {piece.pages}",
                    )
                return document
            unknown = [name for name in over if name not in fits]
            if unknown:
                raise FlyerFitError(
                    piece.name, job.book, "layout", "some text does not fit on the page at all"
                )
            # Shrink everything that still can; fail only when nothing can, naming
            # the innermost field (it is why its container overflows too).
            shrinkable = [name for name in over if sizes[name] > fits[name].minimum]
            if not shrinkable:
                name = next(iter(over))
                raise _too_long(piece, job.book, fits[name], over[name])
            for name in shrinkable:
                # Text area grows with the square of the size: aim just under the fit.
                target = sizes[name] * min(0.95, 0.98 / math.sqrt(over[name]))
                sizes[name] = max(fits[name].minimum, math.floor(target * 4) / 4)
            logger.debug("%s/%s: shrinking %s", job.book, piece.name, sizes)
        name, ratio = next(iter(over.items()))
        raise _too_long(piece, job.book, fits[name], ratio)


def _too_long(piece: Piece, book: str, fit: Fit, ratio: float) -> FlyerFitError:
    return FlyerFitError(
        piece.name,
        book,
        fit.field,
        f"the {fit.label} {'do' if fit.plural else 'does'} not fit even at {fit.minimum:g} pt "
        f"(it needs {ratio:.0%} of its space): shorten {fit.source}",
    )


def overflows(document, root) -> dict[str, float]:
    """Return {field: needed / available} for every ``data-fit`` box whose content overflows.

    Two checks: a box whose laid-out content reaches past its own height, and a
    box whose text is not all on the page (WeasyPrint silently drops whatever
    would fall below the bottom of a page). Innermost fields come first: a
    nested box that overflows explains its container's overflow.
    """
    body = root.find("body")
    parents = {child: parent for parent in body.iter() for child in parent}

    def depth(element) -> int:
        n = 0
        while element in parents:
            element, n = parents[element], n + 1
        return n

    found: dict[str, tuple[float, int]] = {}

    def add(element, ratio: float) -> None:
        name = element.get("data-fit") or "layout"
        old_ratio, old_depth = found.get(name, (0.0, 0))
        found[name] = (max(old_ratio, ratio), max(old_depth, depth(element)))

    for element, ratio in _truncated(document, body, parents):
        add(element, ratio)
    for page in document.pages:
        seen: set[int] = set()
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            element = getattr(box, "element", None)
            if element is not None and element.get("data-fit") and id(element) not in seen:
                seen.add(id(element))  # the outermost box of an element holds the others
                ratio = _overflow_ratio(box)
                if ratio > 1:
                    add(element, ratio)
            stack.extend(getattr(box, "children", ()))
    ordered = sorted(found.items(), key=lambda item: -item[1][1])
    return {name: ratio for name, (ratio, _) in ordered}


def _squashed_length(text: str) -> int:
    return sum(1 for char in text if not char.isspace())


def _truncated(document, body, parents) -> list[tuple[object, float]]:
    """Return (field element, expected / laid-out text) for fields whose text was cut off.

    Text outside every field that went missing is reported against ``body``
    (its "field" is then None: the layout itself is wrong).
    """
    expected = {
        el: _squashed_length("".join(el.itertext())) for el in body.iter() if el.get("data-fit")
    }
    laid_out = dict.fromkeys(expected, 0)
    total = 0
    for page in document.pages:
        for box in page._page_box.descendants(placeholders=True):
            text = getattr(box, "text", None)
            if not isinstance(text, str):
                continue
            count = _squashed_length(text)
            total += count
            element = box.element
            while element is not None:
                if element in laid_out:
                    laid_out[element] += count
                element = parents.get(element)
    cut = [
        (element, want / max(laid_out[element], 1))
        for element, want in expected.items()
        if laid_out[element] < want
    ]
    if not cut and total < _squashed_length("".join(body.itertext())):
        cut.append((body, 2.0))
    return cut


def _overflow_ratio(box) -> float:
    top, left = box.content_box_y(), box.content_box_x()
    height, width = max(box.height, 1), max(box.width, 1)
    bottom = right = 0.0
    for child in box.descendants(placeholders=True):
        if child is box:
            continue
        bottom = max(bottom, child.position_y + child.margin_height() - top)
        right = max(right, child.position_x + child.margin_width() - left)
    ratio = 1.0
    if bottom > height + _TOLERANCE_PX:
        ratio = bottom / height
    if right > width + _TOLERANCE_PX:
        # Too wide (an unbreakable word) scales linearly with the size.
        ratio = max(ratio, (right / width) ** 2)
    return ratio


_RASTER_LOCK = threading.Lock()


def _rasterize(pdf: bytes, width: int, height: int) -> bytes:
    """Rasterize the first page of ``pdf`` to an exactly ``width`` x ``height`` PNG."""
    import pypdfium2

    with _RASTER_LOCK:
        document = pypdfium2.PdfDocument(pdf)
        try:
            page = document[0]
            page_width, _ = page.get_size()
            image = page.render(scale=width / page_width).to_pil().convert("RGB")
            page.close()
        finally:
            document.close()
    if image.size != (width, height):
        image = image.resize((width, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


_RENDERER: Renderer | None = None
# A forked child must neither use nor free its parent's renderer: freeing a
# FontConfiguration deletes its font folder, which the parent still uses.
_INHERITED: list[Renderer] = []


def _after_fork_in_child() -> None:
    global _RENDERER
    if _RENDERER is not None:
        _INHERITED.append(_RENDERER)
        _RENDERER = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def renderer() -> Renderer:
    """Return this process's :class:`Renderer`, made on first use (a forked child makes its own)."""
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = Renderer()
    return _RENDERER


def render_job(job: PieceJob) -> bytes:
    """Render a prepared piece to PDF (or PNG) bytes in this process."""
    return renderer().render(job)


def build_piece(
    catalog: Catalog,
    book: Book,
    piece: str,
    *,
    urls: Urls,
    campaign: Campaign | None = None,
    at: datetime | None = None,
    created: datetime | None = None,
) -> bytes:
    """Prepare and render one piece; see :func:`prepare_piece` for the arguments."""
    job = prepare_piece(catalog, book, piece, urls=urls, campaign=campaign, at=at, created=created)
    return render_job(job)
