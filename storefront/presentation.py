"""What a reader is shown about a book at one instant: the shared view model.

The book page, the promo cards, the EPUB sample and the flyers all render from
:func:`present_book`, so the offer order (preferred vendor first), the price
wording and the buy links are the same everywhere. Pure: no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from babel.lists import format_list
from babel.units import format_unit

from .catalog import (
    FORMATS,
    Book,
    Campaign,
    Catalog,
    Edition,
    Quote,
    SupportMethod,
    Vendor,
    iso_duration,
)
from .credits import Credits, book_credits
from .pricing import (
    Price,
    SaleSummary,
    book_campaigns,
    book_prices,
    format_day,
    format_money,
    last_moment,
    price_window,
    sale_summary,
)
from .urls import Urls

FORMAT_LABELS = {
    "ebook": "Ebook",
    "audiobook": "Audiobook",
    "paperback": "Paperback",
    "hardcover": "Hardcover",
}
SCHEMA_FORMATS = {
    "ebook": "https://schema.org/EBook",
    "audiobook": "https://schema.org/AudiobookFormat",
    "paperback": "https://schema.org/Paperback",
    "hardcover": "https://schema.org/Hardcover",
}


@dataclass(frozen=True)
class OfferView:
    price: Price
    vendor: Vendor
    href: str  # tracked /go/ link
    label: str  # accessible name: "Buy the ebook at ebookit"
    price_text: str | None  # "$2.99" or None when the store sets the price
    list_text: str | None  # "$5.99" during a sale, else None

    @property
    def offer(self):
        return self.price.offer

    @property
    def is_affiliate(self) -> bool:
        return self.vendor.is_affiliate

    @property
    def rel(self) -> str:
        return "sponsored noopener" if self.is_affiliate else "noopener"


@dataclass(frozen=True)
class FormatView:
    format: str
    label: str
    edition: Edition
    offers: tuple[OfferView, ...]
    audio_sample: str | None = None  # where the audiobook's sample is served, if it has one
    length_text: str | None = None  # the audiobook's length for the site's locale: "9 hr, 12 min"

    @property
    def listen_line(self) -> str | None:
        """``Read by Jane Doe · 9 hr, 12 min``: what a listener chooses by, or None."""
        parts = []
        if self.edition.narrator:
            parts.append(f"Read by {self.edition.narrator}")
        if self.length_text:
            parts.append(self.length_text)
        return " · ".join(parts) or None

    @property
    def preferred(self) -> OfferView | None:
        return next((o for o in self.offers if o.offer.preferred), None)

    @property
    def best(self) -> OfferView | None:
        """The format's headline price: the first of :attr:`bests` (the preferred's currency)."""
        return next(iter(self.bests), None)

    @property
    def bests(self) -> tuple[OfferView, ...]:
        """The lowest price per currency, preferred first: two currencies never compete."""
        by_currency: dict[str, list[OfferView]] = {}
        for o in self.offers:
            if o.price.amount is not None:
                by_currency.setdefault(o.offer.currency, []).append(o)
        return tuple(
            min(group, key=lambda o: (o.price.amount, not o.offer.preferred))
            for group in by_currency.values()
        )

    @property
    def notes(self) -> tuple[tuple[OfferView, str], ...]:
        return tuple((o, o.offer.note) for o in self.offers if o.offer.note)


@dataclass(frozen=True)
class SaleView:
    campaign: Campaign
    ends_text: str  # "27 December 2026"
    starts_text: str
    best: OfferView  # the offer with the deepest saving


@dataclass(frozen=True)
class BookView:
    catalog: Catalog
    book: Book
    at: datetime
    urls: Urls
    formats: tuple[FormatView, ...]
    credits: Credits  # str() gives the one-line form: "by A; foreword by B"
    sale: SaleView | None
    fundraisers: tuple[Campaign, ...]
    valid_until: datetime | None
    banner: SaleSummary | None = None  # the sale banner's phrase (running or announced)

    @property
    def site(self):
        return self.catalog.site

    @property
    def quotes(self) -> tuple[Quote, ...]:
        return self.book.quotes

    @property
    def support(self) -> tuple[SupportMethod, ...]:
        return self.catalog.support

    @property
    def offers(self) -> tuple[OfferView, ...]:
        return tuple(o for f in self.formats for o in f.offers)

    @property
    def has_affiliate(self) -> bool:
        return any(o.is_affiliate for o in self.offers)

    @property
    def cover_alt(self) -> str:
        return f"Cover of {self.book.full_title} by {self.credits.authors.joined}"

    def money(self, amount: Decimal, currency: str) -> str:
        return format_money(amount, currency, self.site.locale)

    def json_ld(self) -> dict:
        return book_json_ld(self)


def present_book(
    catalog: Catalog,
    book: Book,
    at: datetime,
    urls: Urls,
    *,
    src: str = "page",
    campaign: str | None = None,
    formats: tuple[str, ...] | None = None,
) -> BookView:
    """Build what a reader sees of ``book`` at ``at``; buy links carry ``src``/``campaign``."""
    prices = book_prices(catalog, book, at)
    site = catalog.site
    views: list[FormatView] = []
    for fmt in FORMATS:
        edition = book.edition(fmt)
        if edition is None or not edition.offers or (formats and fmt not in formats):
            continue
        offer_views = []
        for offer in edition.offers:
            price = prices[offer.slug]
            vendor = catalog.vendor(offer.vendor)
            on_sale = price.on_sale
            offer_views.append(
                OfferView(
                    price=price,
                    vendor=vendor,
                    href=urls.go(
                        book.slug,
                        offer.slug,
                        src=src,
                        campaign=campaign or (price.campaign.slug if on_sale else None),
                    ),
                    label=f"Buy the {FORMAT_LABELS[fmt].lower()} at {vendor.name}",
                    price_text=(
                        format_money(price.amount, offer.currency, site.locale)
                        if price.amount is not None
                        else None
                    ),
                    list_text=(
                        format_money(price.list_price, offer.currency, site.locale)
                        if on_sale
                        else None
                    ),
                )
            )
        # Preferred first (the author's wish), then the catalog's order.
        offer_views.sort(key=lambda o: not o.offer.preferred)
        sample = audio_sample_url(urls, book, edition, src=src)
        length = edition.duration_minutes
        length_text = format_duration(length, site.locale) if length else None
        views.append(
            FormatView(fmt, FORMAT_LABELS[fmt], edition, tuple(offer_views), sample, length_text)
        )

    all_offers = [o for f in views for o in f.offers]
    on_sale = [o for o in all_offers if o.price.on_sale]
    sale = None
    if on_sale:
        best = max(on_sale, key=lambda o: (o.price.percent_saved, o.offer.preferred))
        sale = _sale_view(best.price.campaign, best, site)
    fundraisers = tuple(book_campaigns(catalog, book, at, kind="fundraiser"))
    return BookView(
        catalog=catalog,
        book=book,
        at=at,
        urls=urls,
        formats=tuple(views),
        credits=book_credits(
            book, site.locale, audiobook=any(v.format == "audiobook" for v in views)
        ),
        sale=sale,
        fundraisers=fundraisers,
        valid_until=price_window(catalog, at)[1],
        banner=sale_summary(catalog, book, at),
    )


def audio_sample_url(
    urls: Urls, book: Book, edition: Edition, *, src: str | None = None
) -> str | None:
    """The URL of ``edition``'s audio sample (``sample.mp3``...), or None when it has none.

    ``src`` says where the player is shown: a listen is counted like a click.
    """
    sample = edition.audio_sample
    if sample is None:
        return None
    return urls.audio_sample(book.slug, sample.extension, src=src)


def format_duration(minutes: int, locale: str) -> str:
    """A length in hours and minutes, in CLDR's short units for ``locale``.

    ``9 hr, 12 min`` (en_US), ``9 Std., 12 Min.`` (de_DE), ``9 h et 12 min`` (fr_FR):
    each unit by Babel's ``format_unit`` and the pair joined by the locale's own
    ``unit-short`` list pattern (``babel.dates.format_timedelta`` rounds to one unit).
    """
    hours, mins = divmod(minutes, 60)
    parts = [
        format_unit(n, unit, length="short", locale=locale)
        for n, unit in ((hours, "duration-hour"), (mins, "duration-minute"))
        if n
    ]
    try:
        return format_list(parts, style="unit-short", locale=locale)
    except KeyError:  # Babel misses CLDR's inherited "2" pattern for a few locales (es)
        return ", ".join(parts)


def _sale_view(campaign: Campaign, best: OfferView, site) -> SaleView:
    tz = site.tz
    return SaleView(
        campaign=campaign,
        ends_text=format_day(last_moment(campaign, tz), tz, site.locale),
        starts_text=format_day(campaign.starts, tz, site.locale),
        best=best,
    )


def book_json_ld(view: BookView) -> dict:
    """Build schema.org ``Book`` JSON-LD: editions as ``workExample``, offers, reviews."""
    book, urls, site = view.book, view.urls, view.site
    page = urls.book(book.slug, absolute=True)
    people = lambda names: [{"@type": "Person", "name": n} for n in names]  # noqa: E731
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Book",
        "@id": page + "#book",
        "name": book.full_title,
        "author": people(book.authors),
        "description": book.description,
        "inLanguage": book.language,
        "url": page,
        "image": urls.cover(book.slug, absolute=True),
    }
    if book.contributors:
        data["contributor"] = [
            {"@type": "Person", "name": c.name, "roleName": c.role} for c in book.contributors
        ]
    if book.publisher:
        data["publisher"] = {"@type": "Organization", "name": book.publisher}
    if book.series:
        data["isPartOf"] = {"@type": "BookSeries", "name": book.series.name}
    examples = []
    for fmt in view.formats:
        edition = fmt.edition
        example: dict = {
            "@type": "Audiobook" if fmt.format == "audiobook" else "Book",
            "@id": f"{page}#{fmt.format}",
            "name": book.full_title,
            "bookFormat": SCHEMA_FORMATS[fmt.format],
            "inLanguage": book.language,
            "author": people(book.authors),
        }
        if edition.isbn:
            example["isbn"] = edition.isbn
        if edition.narrator:
            example["readBy"] = {"@type": "Person", "name": edition.narrator}
        if edition.duration_minutes:
            example["duration"] = iso_duration(edition.duration_minutes * 60)
        if edition.audio_sample is not None and fmt.audio_sample:
            sample = edition.audio_sample
            example["encodingFormat"] = sample.media_type
            example["audio"] = {
                "@type": "AudioObject",
                "name": f"Sample of {book.full_title}",
                "contentUrl": urls.audio_sample(book.slug, sample.extension, absolute=True),
                "encodingFormat": sample.media_type,
                "duration": sample.iso_duration,
                **({"transcript": edition.transcript} if edition.transcript else {}),
            }
        if edition.pages:
            example["numberOfPages"] = edition.pages
        offers = []
        for o in fmt.offers:
            offer: dict = {
                "@type": "Offer",
                "url": urls.absolute(o.href),
                "availability": "https://schema.org/InStock",
                "seller": {"@type": "Organization", "name": o.vendor.name},
                "priceCurrency": o.offer.currency,
            }
            if o.price.amount is not None:
                offer["price"] = str(o.price.amount)
            if o.price.on_sale:
                end = last_moment(o.price.campaign, site.tz)
                offer["priceValidUntil"] = end.date().isoformat()
            offers.append(offer)
        example["offers"] = offers
        examples.append(example)
    data["workExample"] = examples
    if book.quotes:
        data["review"] = [
            {
                "@type": "Review",
                "reviewBody": q.text,
                "author": {"@type": "Organization", "name": q.source},
                **({"url": q.url} if q.url else {}),
            }
            for q in book.quotes
        ]
    return data
