"""Draft an announcement from what the catalog knows: a sale starting, or a new book.

Pure: a function of the catalog, an instant and the one :class:`~storefront.urls.Urls`
object, no Flask and no database. A draft is Markdown the author edits in the desk
(or sends as it is with ``storefront readers announce``); :mod:`storefront.mail.render`
turns it into the e-mail. Buy links in a draft are plain ``/go/<book>/<offer>`` paths:
the renderer adds ``src=email`` and the campaign to every link at send time, so an
edited link keeps being counted.

Catalog text is untrusted: every value is escaped for Markdown (:func:`escape_markdown`)
before it goes into a draft, so a title can never add a link, an image or a heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..catalog import Book, Campaign, Catalog
from ..presentation import present_book
from ..pricing import (
    FormatSale,
    campaign_covers,
    format_day,
    last_moment,
    price_offer,
    sale_summary,
)
from ..urls import Urls

KINDS = ("campaign", "book")
TOPICS = {"campaign": "sales", "book": "new-books"}
NEW_BOOK_DAYS = 120  # a book published this recently (or not yet) is "new"
SUBJECT_LIMIT = 150  # characters: longer subjects are cut by every mail client anyway

# What makes Markdown of plain text: emphasis, code, links and images, autolinks, tables,
# strikethrough, a heading mark, an entity; and, at the start of a line, a list or quote mark.
_INLINE = re.compile(r"([\\`*_\[\]<>~|#]|&(?=#?\w+;))")
_LINE_START = re.compile(r"^([+\-=])|^(\d+)([.)])")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Draft:
    """An announcement to edit: its subject and Markdown, and who it is for.

    ``topic`` is what readers chose to hear about (``sales`` or ``new-books``);
    ``books`` the books it is about (a reader who chose one book hears only of it);
    ``campaign`` the ``c=`` every link carries (None for a new book); ``send_at`` a
    suggested moment (a sale's start, when it is still to come).
    """

    kind: str
    ref: str  # the campaign's or the book's slug
    label: str  # what the desk lists it as
    subject: str
    markdown: str
    topic: str
    books: tuple[str, ...]
    campaign: str | None
    send_at: datetime | None = None


class DraftError(ValueError):
    """No draft can be made: the campaign or book is unknown, or a campaign lowers no price."""


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown inline text: one line, every Markdown mark escaped."""
    line = _INLINE.sub(r"\\\1", one_line(text))
    return _LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line)


def one_line(text: str) -> str:
    """``text`` with every run of white space (newlines too) made one space."""
    return _SPACE.sub(" ", text).strip()


def subject_line(text: str) -> str:
    """A header-safe subject: one line, at most :data:`SUBJECT_LIMIT` characters."""
    line = one_line(text)
    if len(line) > SUBJECT_LIMIT:
        line = line[: SUBJECT_LIMIT - 1].rstrip() + "…"
    return line


def cover_path(urls: Urls, book: Book) -> str:
    """The image a mail client can show for ``book``: its raster cover, else the social image.

    Mail clients do not show SVG, and a book without a cover file gets a typographic
    SVG cover; the social image (PNG) shows that cover with the book's prices.
    """
    if book.cover is not None and book.cover.suffix.lower() in (".jpg", ".jpeg", ".png"):
        return urls.cover(book.slug)
    return urls.social_image(book.slug, absolute=False)


def is_new(book: Book, at: datetime) -> bool:
    """Whether ``book`` counts as new at ``at``: published recently, or not yet."""
    if book.published is None:
        return False
    today = at.date()
    return book.published >= today - timedelta(days=NEW_BOOK_DAYS)


def sale_drafts(catalog: Catalog, urls: Urls, at: datetime) -> list[Draft]:
    """A draft for every sale not yet over that lowers at least one price, by start."""
    found = [
        c
        for c in catalog.campaigns
        if c.kind == "sale" and c.ends > at and any(campaign_covers(c, b) for b in catalog.books)
    ]
    return [draft_campaign(catalog, c, urls, at) for c in sorted(found, key=lambda c: c.starts)]


def book_drafts(catalog: Catalog, urls: Urls, at: datetime) -> list[Draft]:
    """A draft for every book: the new ones first, then the catalog's order."""
    books = sorted(catalog.books, key=lambda b: not is_new(b, at))
    return [draft_book(catalog, b, urls, at) for b in books]


def draft_for(catalog: Catalog, urls: Urls, at: datetime, kind: str, ref: str) -> Draft:
    """The draft for ``kind`` (``campaign`` or ``book``) ``ref``; :class:`DraftError` if none."""
    if kind == "campaign":
        campaign = catalog.campaign(ref)
        if campaign is None:
            raise DraftError(f"no campaign '{ref}' in the catalog")
        return draft_campaign(catalog, campaign, urls, at)
    if kind == "book":
        book = catalog.book(ref)
        if book is None:
            raise DraftError(f"no book '{ref}' in the catalog")
        return draft_book(catalog, book, urls, at)
    raise DraftError(f"an announcement is about a campaign or a book, not '{kind}'")


def draft_campaign(catalog: Catalog, campaign: Campaign, urls: Urls, at: datetime) -> Draft:
    """Announce a sale: each book it covers, each format it lowers, until when, the cover.

    Prices are those of the sale's first moment (or of ``at``, once it runs). Raises
    :class:`DraftError` for a fundraiser or a sale that lowers no price.
    """
    if campaign.kind != "sale":
        raise DraftError(
            f"'{campaign.slug}' is a {campaign.kind}: only sales are announced to readers"
        )
    site = catalog.site
    moment = max(at, campaign.starts)
    until = format_day(last_moment(campaign, site.tz), site.tz, site.locale)
    books = [b for b in catalog.books if campaign_covers(campaign, b)]
    sections = []
    for book in books:
        section = _sale_section(catalog, campaign, book, urls, moment, until)
        if section:
            sections.append(section)
    if not sections:
        raise DraftError(
            f"the sale '{campaign.slug}' lowers no price: there is nothing to announce"
        )
    lines = [f"# {escape_markdown(campaign.headline)}", ""]
    if campaign.message:
        lines += [escape_markdown(campaign.message), ""]
    for section in sections:
        lines += section
    lines += [f"The sale ends on {escape_markdown(until)}.", ""]
    return Draft(
        kind="campaign",
        ref=campaign.slug,
        label=f"{one_line(campaign.name)} (until {until})",
        subject=subject_line(campaign.headline),
        markdown="\n".join(lines).rstrip() + "\n",
        topic=TOPICS["campaign"],
        books=tuple(b.slug for b in books),
        campaign=campaign.slug,
        send_at=campaign.starts if campaign.starts > at else None,
    )


def _sale_section(
    catalog: Catalog, campaign: Campaign, book: Book, urls: Urls, at: datetime, until: str
) -> list[str]:
    view = present_book(catalog, book, at, urls)
    lines = [
        f"[![{escape_markdown(view.cover_alt)}]({cover_path(urls, book)})]"
        f"({urls.chooser(book.slug)})",
        "",
        f"**{escape_markdown(book.full_title)}**, {escape_markdown(view.credits.line)}",
        "",
    ]
    summary = sale_summary(catalog, book, at, campaign)
    if summary is None:
        return []
    for fmt in view.formats:
        sale = summary.format_sale(fmt.format)
        if sale is None:
            continue
        offers = [
            o
            for o in fmt.offers
            if o.price.amount is not None
            and (p := price_offer(catalog, o.offer, at)).campaign is not None
            and p.campaign.slug == campaign.slug
        ]
        lines.append(f"- {fmt.label}: {_sale_prices(sale)} until {escape_markdown(until)}\\")
        lines.append(f"  {_buy_links(urls, book, offers)}")
    return [*lines, ""]


def _sale_prices(sale: FormatSale) -> str:
    """``**€2.99** (was €4.99) at Kobo, or **£2.39** (was £3.99) at Amazon``: as the offers say.

    One entry per distinct sale price (:func:`~storefront.pricing.sale_summary`), each in
    its own currency with its list price and, when the format's offers differ, the stores.
    """
    parts = []
    for p in sale.prices:
        part = f"**{escape_markdown(p.text)}** (was {escape_markdown(p.list_text)})"
        if p.vendors:
            part += " at " + escape_markdown(_and(p.vendors))
        parts.append(part)
    return ", or ".join(parts)


def _and(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def draft_book(catalog: Catalog, book: Book, urls: Urls, at: datetime) -> Draft:
    """Announce a book: cover, title and credits, the blurb, a quote, each format's price."""
    view = present_book(catalog, book, at, urls)
    lines = [
        f"# {escape_markdown(('New: ' if is_new(book, at) else '') + book.full_title)}",
        "",
        f"[![{escape_markdown(view.cover_alt)}]({cover_path(urls, book)})]"
        f"({urls.chooser(book.slug)})",
        "",
        f"**{escape_markdown(book.full_title)}**, {escape_markdown(view.credits.line)}",
        "",
        escape_markdown(book.description),
        "",
    ]
    quote = book.featured_quote
    if quote is not None:
        lines += [f"> {escape_markdown(quote.text)}", ">", f"> — {escape_markdown(quote.source)}"]
        lines.append("")
    for fmt in view.formats:
        price = fmt.best.price_text if fmt.best is not None else None
        head = f"- {fmt.label}" + (f": {escape_markdown(price)}" if price else "") + "\\"
        lines += [head, f"  {_buy_links(urls, book, list(fmt.offers))}"]
    lines.append("")
    title = book.full_title
    return Draft(
        kind="book",
        ref=book.slug,
        label=one_line(title) + (" (new)" if is_new(book, at) else ""),
        subject=subject_line(("New: " if is_new(book, at) else "") + title),
        markdown="\n".join(lines).rstrip() + "\n",
        topic=TOPICS["book"],
        books=(book.slug,),
        campaign=None,
    )


def _buy_links(urls: Urls, book: Book, offers) -> str:
    """``[Buy at ebookit](/go/genesis/ebookit-ebook) (the author's reason) · [Amazon](…)``."""
    parts = []
    for o in offers:
        link = f"[{escape_markdown(o.vendor.name)}]({urls.go(book.slug, o.offer.slug)})"
        if o.offer.preferred and o.offer.reason:
            link += f" ({escape_markdown(o.offer.reason)})"
        parts.append(link)
    return "Buy it at " + " · ".join(parts)


__all__ = [
    "KINDS",
    "TOPICS",
    "Draft",
    "DraftError",
    "book_drafts",
    "cover_path",
    "draft_book",
    "draft_campaign",
    "draft_for",
    "escape_markdown",
    "is_new",
    "sale_drafts",
    "subject_line",
]
