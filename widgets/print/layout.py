"""What a piece shows: its campaign, its books' offers, and the HTML and CSS to lay out.

:func:`prepare_piece` renders a piece's HTML and stylesheet (Jinja, QR code,
cover) and hashes every input into :attr:`PieceJob.digest`, without importing
WeasyPrint, so the CLI can skip unchanged pieces cheaply.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache, lru_cache
from importlib.metadata import version as package_version
from urllib.parse import urlsplit

from storefront.catalog import Book, Campaign, Catalog, Quote, Vendor
from storefront.presentation import BookView, present_book
from storefront.pricing import campaign_covers, utcnow
from storefront.templating import render
from storefront.urls import Urls, print_proof

from ..cover import CoverFitError, book_cover, cover_layout, line_direction
from ..qr import qr_svg
from ..reproducible import code_digest as tree_digest
from ..reproducible import source_date
from ..textdir import Span
from ..typefaces import FontSet, font_set
from .checks import missing_glyphs, uncovered_message
from .pieces import (
    PIECES,
    FlyerError,
    FlyerFitError,
    FlyerTextError,
    Piece,
    get_piece,
    output_name,
)

# Vendors a bookstore or library will not display: Amazon and its brands.
AMAZON_BRANDS = ("amazon", "audible", "kindle")


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
        raise FlyerError(
            f"no campaign '{slug}' in the catalog (campaigns: {known})", option="campaign"
        )
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
    fonts_css: str  # the @font-face rules (bundled fonts and the catalog's font files)
    font_files: tuple[str, ...]  # the catalog's font files the renderer may read
    created: str  # PDF creation date (ISO 8601, UTC): not part of the digest
    digest: str  # sha256 of every input that changes the output

    @property
    def filename(self) -> str:
        return output_name(self.book, self.piece, self.campaign)

    @classmethod
    def on_demand(
        cls, piece: Piece, book: str, html: str, css: str, fonts: FontSet, created=None
    ) -> PieceJob:
        """A piece of several books built when asked (backlist, press sheet): no manifest."""
        return cls(
            piece=piece.name,
            book=book,
            campaign=None,
            html=html,
            css=css,
            fonts_css=fonts.face_css(),
            font_files=fonts.font_files(),
            created=source_date(created).strftime("%Y-%m-%dT%H:%M:%SZ"),
            digest="",  # never kept in a manifest, so never compared
        )

    @property
    def media_type(self) -> str:
        return PIECES[self.piece].media_type


def data_uri(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


@lru_cache(maxsize=256)
def qr_data_uri(url: str) -> str:
    # Encoding picks the best of 8 masks: most of the cost of preparing a piece,
    # and every piece of a book and campaign carries the same URL.
    return data_uri(qr_svg(url, for_print=True).encode(), "image/svg+xml")


def split_quotes(quotes: tuple[Quote, ...]) -> list[list[Quote]]:
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


# The quote zone's text: EB Garamond italic sets about 0.37 em a character (0.38 with the
# slack of word wrapping, measured on the Genesis flyers); lines are 1.25 em; the source
# line, its gap and the zone's top padding take about 0.5 in.
_CHAR_EM, _LINE_EM, _SOURCE_PT = 0.38, 1.25, 36.0
_LENGTH_PT = {"in": 72.0, "mm": 72 / 25.4, "pt": 1.0}


def _points(length: str) -> float:
    return float(length[:-2]) * _LENGTH_PT[length[-2:]]


@dataclass(frozen=True)
class LoneText:
    """How a lone quote (or the pitch) is set: a scale of the zone's size and a top pad."""

    scale: float = 1.0  # times the fitted size of the quote zone
    pad_em: float = 0.0  # space above, in the text's own em: it sits in the zone's middle


def lone_text(text: str, piece: Piece, base_pt: float, max_pt: float = 44.0) -> LoneText:
    """Set a flyer's one quote (or, with none, its pitch) as a pull quote that fills its zone.

    A flyer with one short quote would leave most of its quote zone blank. The
    text is set as large as the zone holds (at most ``max_pt``), estimated from its
    length, and what is left is split above and below it. Text fitting still
    shrinks it (pad included: it is in em) if the estimate is too generous.
    """
    geometry = piece.geometry
    if "quotes" not in geometry or "text_width" not in geometry:
        return LoneText()
    width = _points(geometry["text_width"])
    height = (_points(geometry["quotes"]) - _SOURCE_PT) * 0.95
    size, lines = max_pt, 1
    while size > base_pt:
        per_line = max(1, int(width / (_CHAR_EM * size)))
        lines = -(-(len(text) + 2) // per_line)  # with its quotation marks; ceil
        if lines * _LINE_EM * size <= height:
            break
        size -= 0.5
    size = max(size, base_pt)
    spare = height - lines * _LINE_EM * size
    return LoneText(round(size / base_pt, 3), round(max(0.0, spare / 2 / size), 3))


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")


def print_cover(
    book: Book, fonts: FontSet, piece: str, locale: str = "en_US"
) -> tuple[dict | None, str | None]:
    """``(typographic layout, None)`` for a generated cover, ``(None, data URI)`` for an image.

    WeasyPrint draws SVG text letter by letter (no shaping): the pieces set the
    typographic cover as HTML (``covers/typographic.html``) from the same layout.
    """
    if book.cover is not None:
        image = book_cover(book)
        return None, data_uri(image.data, image.media_type)
    try:
        return cover_layout(book, fonts, strict=True, locale=locale), None
    except CoverFitError as exc:
        raise FlyerFitError(piece, book.slug, f"cover {exc.field}", exc.detail) from None


def piece_context(
    catalog: Catalog, book: Book, piece: Piece, urls: Urls, campaign: Campaign | None, at: datetime
) -> dict:
    """Return the template context of ``piece`` for ``book`` as it is at ``at``."""
    fonts = font_set(catalog)
    page = Span.of(catalog.site.language)
    shown_book = without_amazon(catalog, book) if piece.bookstore else book
    view: BookView = present_book(
        catalog, shown_book, at, urls, src=piece.src, campaign=campaign.slug if campaign else None
    )
    # A piece printed during a sale is about that sale, even without --campaign.
    shown = campaign or (view.sale.campaign if view.sale else None)
    tag = shown.slug if shown else None
    qr_url = urls.chooser(book.slug, src="qr", campaign=tag, absolute=True)
    cover, cover_src = print_cover(book, fonts, piece.name, catalog.site.locale)
    offers = [o for f in view.formats for o in f.offers]
    preferred = next((o for o in offers if o.offer.preferred and o.offer.reason), None)
    isbns = [(f.label, f.edition.isbn) for f in view.formats if f.edition.isbn]
    return {
        "piece": piece,
        "fonts": fonts,
        "view": view,
        "book": book,
        "site": catalog.site,
        "campaign": shown,
        "sale": view.banner if view.banner and not view.banner.upcoming else None,
        "kicker": shown.name if shown else catalog.site.title,
        "headline": shown.headline if shown else book.pitch,
        "headline_lang": catalog.site.language if shown else book.language,
        "giving": catalog.support if shown and shown.kind == "fundraiser" else (),
        "quote_columns": split_quotes(book.quotes),
        "lone": lone_text(
            book.quotes[0].text if book.quotes else book.pitch, piece, _quotes_base(piece)
        )
        if len(book.quotes) <= 1
        else LoneText(),
        "featured": book.featured_quote,
        "cover": cover,
        "cover_src": cover_src,
        "direction": line_direction,
        # lang/dir for catalog text whose language or direction differs from the
        # page's (the templates' own words are in the site's language).
        "page": page,
        "dir_attr": page.attrs,
        "proof": print_proof(urls.base_url),
        "qr_src": qr_data_uri(qr_url),
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


def _quotes_base(piece: Piece) -> float:
    return next((f.base for f in piece.fits if f.field == "quotes"), 16.0)


def check_fonts(catalog: Catalog, book: Book, piece: Piece, fonts: FontSet) -> None:
    """Refuse to print text no configured font can draw (it would print as empty boxes)."""
    problems = list(fonts.problems)
    problems += [(p, uncovered_message(c)) for p, c in missing_glyphs(catalog, [book])]
    if problems:
        path, message = problems[0]
        more = f" (and {len(problems) - 1} more: run storefront check)" if len(problems) > 1 else ""
        raise FlyerTextError(piece.name, book.slug, path, f"{path}: {message}{more}")


@cache
def code_digest() -> str:
    """Hash the code, templates and fonts that draw the pieces: a change to any rebuilds them.

    Every module, template and font of the tree (see :func:`widgets.reproducible.code_digest`),
    and the versions of WeasyPrint and pdfium.
    """
    h = hashlib.sha256(tree_digest().encode())
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
    spec = get_piece(piece)
    fonts = font_set(catalog)
    check_fonts(catalog, book, spec, fonts)
    if campaign is not None:
        at = campaign.starts
    at = at or utcnow()
    context = piece_context(catalog, book, spec, urls, campaign, at)
    html = render(spec.template, g=spec.geometry, **context)
    css = render(spec.stylesheet, g=spec.geometry, piece=spec, fonts=fonts)
    fonts_css = fonts.face_css()
    stamp = source_date(created).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hashlib.sha256(
        json.dumps(
            {
                "code": code_digest(),
                "piece": spec.name,
                "fits": [(f.field, f.base, f.minimum) for f in spec.fits],
                "html": html,
                "css": css,
                "fonts": [fonts_css, fonts.digest()],
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
        fonts_css=fonts_css,
        font_files=fonts.font_files(),
        created=stamp,
        digest=digest,
    )
