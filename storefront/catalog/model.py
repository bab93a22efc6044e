"""The catalog's frozen model: each TOML key is declared once, here, by :func:`spec`.

The field's ``spec(...)`` names its converter (``storefront.catalog.convert``)
and whether it is required; the reader derives every check from it. Fields
without a spec are supplied by the reader from context (an offer's book and
format, the catalog's path and version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from . import convert as c
from .audio import AudioField, AudioFile
from .errors import CatalogProblem
from .spec import spec
from .territory import lookup

# What the package re-exports (storefront.catalog): the model's public names, listed once.
__all__ = [
    "CAMPAIGN_KINDS",
    "CONTRIBUTOR_ROLES",
    "COVER_TYPES",
    "FORMATS",
    "Affiliate",
    "Author",
    "Book",
    "Campaign",
    "Catalog",
    "Contributor",
    "Edition",
    "Offer",
    "Quote",
    "Series",
    "Site",
    "SupportMethod",
    "Vendor",
]

FORMATS = ("ebook", "audiobook", "paperback", "hardcover")
CAMPAIGN_KINDS = ("sale", "fundraiser")
CONTRIBUTOR_ROLES = (
    "author",
    "foreword",
    "introduction",
    "afterword",
    "editor",
    "illustrator",
    "translator",
    "narrator",
    "contributor",
)
COVER_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
AFFILIATE_DISCLOSURE = (
    "Some links are affiliate links: the author earns a small commission at no cost to you."
)

_model = dataclass(frozen=True, kw_only=True)


@_model
class Site:
    title: str = spec(c.text, required=True)
    author: str = spec(c.text, required=True)
    description: str = spec(c.text, default="")
    language: str = spec(c.language, default="en")
    locale: str = spec(c.locale, default="en_US")
    timezone: str = spec(c.timezone, default="UTC")
    base_url: str | None = spec(c.http_url, default=None)
    affiliate_disclosure: str = spec(c.text, default=AFFILIATE_DISCLOSURE)
    default_country: str = spec(c.country, default="US")
    frame_ancestors: tuple[str, ...] = spec(c.frame_ancestors, default=("*",))
    fonts: Mapping[str, str] = spec(c.font_table, default_factory=dict)  # script -> file/family
    # At the foot of every e-mail to readers (CAN-SPAM): one line per line of the address.
    postal_address: tuple[str, ...] = spec(c.strings(c.text), default=())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@_model
class Affiliate:
    """How a vendor's affiliate tag is added to its URLs at redirect time."""

    param: str = spec(c.text, required=True)
    # territory (a country, a group such as EU, or "default") -> tag
    tags: Mapping[str, str] = spec(required=True)

    def tag_for(self, country: str | None) -> str | None:
        hit = lookup(self.tags, (country or "").upper())
        return (hit[1] if hit else None) or self.tags.get("default")


@_model
class Vendor:
    slug: str = spec(c.slug, required=True)
    name: str = spec(c.text, required=True)
    search_url: str | None = spec(c.search_template, default=None)  # template with {query}
    # territory -> search URL template with {query}
    country_search: Mapping[str, str] = spec(default_factory=dict)
    affiliate: Affiliate | None = spec(nested=True, default=None)

    @property
    def is_affiliate(self) -> bool:
        return self.affiliate is not None


@_model
class Contributor:
    name: str = spec(c.text, required=True)
    role: str = spec(c.choice(CONTRIBUTOR_ROLES), required=True)


@_model
class Offer:
    slug: str = spec(c.slug)  # default: "<vendor>-<format>"
    book: str
    format: str
    vendor: str = spec(c.slug, required=True)
    url: str = spec(c.http_url, required=True)
    price: Decimal | None = spec(c.decimal, default=None)  # None: the store shows the price
    currency: str = spec(c.currency, required=True)
    preferred: bool = spec(c.boolean, default=False)
    reason: str | None = spec(c.text, default=None)
    note: str | None = spec(c.text, default=None)
    countries: Mapping[str, str] = spec(default_factory=dict)  # territory -> store URL

    @property
    def key(self) -> tuple[str, str]:
        return (self.book, self.slug)


@_model
class Edition:
    format: str = spec(c.choice(FORMATS), required=True)
    isbn: str | None = spec(c.isbn, default=None)
    narrator: str | None = spec(c.text, formats=("audiobook",), default=None)
    duration_minutes: int | None = spec(c.positive_int, formats=("audiobook",), default=None)
    # A sample to listen to (MP3, M4A or Ogg next to the catalog), and what it says.
    audio_sample: AudioFile | None = spec(AudioField(), formats=("audiobook",), default=None)
    transcript: str | None = spec(c.text, formats=("audiobook",), default=None)
    pages: int | None = spec(c.positive_int, default=None)
    published: date | None = spec(c.a_date, default=None)
    offers: tuple[Offer, ...] = spec(required=True, nested=True)


@_model
class Quote:
    text: str = spec(c.text, required=True)
    source: str = spec(c.text, required=True)
    url: str | None = spec(c.http_url, default=None)
    featured: bool = spec(c.boolean, default=False)
    language: str | None = spec(c.language, default=None)  # None: unknown, read from the text


PHOTO_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


@_model
class Author:
    """An ``[[authors]]`` entry; a store without any has one, from ``[site] author``."""

    slug: str = spec(c.slug, required=True)
    name: str = spec(c.text, required=True)
    # About 50 words: the shelf's, the card's and the press kit's short bio (check warns past 80).
    bio: str = spec(c.text, default="")
    long_bio: str = spec(c.text, default="")  # the author page's and the press kit's
    photo: Path | None = spec(c.FileField(PHOTO_TYPES), default=None)
    links: tuple[str, ...] = spec(c.strings(c.http_url), default=())  # blog, Patreon...
    # Who journalists write to: the press kit's contact (either or both).
    press_email: str | None = spec(c.email, default=None)
    press_url: str | None = spec(c.http_url, default=None)


@_model
class Series:
    name: str = spec(c.text, required=True)
    position: int | None = spec(c.positive_int, default=None)
    slug: str = spec(c.slug)  # default: from the name ("Leaving Earth" -> "leaving-earth")


@_model
class Book:
    slug: str = spec(c.slug, required=True)
    title: str = spec(c.text, required=True)
    subtitle: str | None = spec(c.text, default=None)
    authors: tuple[str, ...] = spec(c.strings(c.text), required=True)
    contributors: tuple[Contributor, ...] = spec(nested=True, default=())
    description: str = spec(c.text, required=True)
    pitch: str = spec(c.text)  # default: the description's first sentence
    language: str = spec(c.language)  # default: the site's language
    cover: Path | None = spec(c.FileField(COVER_TYPES), default=None)
    series: Series | None = spec(nested=True, default=None)
    publisher: str | None = spec(c.text, default=None)
    published: date | None = spec(c.a_date, default=None)
    year: int | None = spec(c.positive_int, default=None)  # when only the year is known
    sample_chapter: Path | None = spec(
        c.FileField({".md": "text/markdown"}, utf8_text=True), default=None
    )
    rights: str | None = spec(c.text, default=None)
    by: tuple[str, ...] = spec(c.strings(c.slug), default=())  # [[authors]] slugs; default: by name
    editions: tuple[Edition, ...] = spec(required=True, nested=True)
    quotes: tuple[Quote, ...] = spec(nested=True, default=())

    @property
    def full_title(self) -> str:
        return f"{self.title}: {self.subtitle}" if self.subtitle else self.title

    @property
    def offers(self) -> tuple[Offer, ...]:
        return tuple(o for e in self.editions for o in e.offers)

    def offer(self, slug: str) -> Offer | None:
        return next((o for o in self.offers if o.slug == slug), None)

    def edition(self, fmt: str) -> Edition | None:
        return next((e for e in self.editions if e.format == fmt), None)

    @property
    def featured_quote(self) -> Quote | None:
        return next((q for q in self.quotes if q.featured), self.quotes[0] if self.quotes else None)


@_model
class Campaign:
    slug: str = spec(c.slug, required=True)
    name: str = spec(c.text, required=True)
    headline: str = spec(c.text)  # default: the name
    kind: str = spec(c.choice(CAMPAIGN_KINDS), default="sale")
    timezone: str | None = spec(c.timezone, default=None)  # None: the site's zone
    starts: datetime = spec(required=True)
    ends: datetime = spec(required=True)
    percent_off: Decimal | None = spec(c.decimal, default=None)
    sale_price: Decimal | None = spec(c.decimal, default=None)
    books: tuple[str, ...] = spec(c.strings(c.slug), default=())  # empty: every book
    formats: tuple[str, ...] = spec(c.strings(c.choice(FORMATS)), default=())  # empty: every one
    vendors: tuple[str, ...] = spec(c.strings(c.slug), default=())  # empty: every vendor
    # "book/offer" keys; empty: every offer in scope
    offers: tuple[str, ...] = spec(c.strings(c.text), default=())
    message: str | None = spec(c.text, default=None)

    def is_active(self, at: datetime) -> bool:
        """Campaigns are half-open: active from ``starts`` up to, not at, ``ends``."""
        return self.starts <= at < self.ends

    def applies_to(self, offer: Offer) -> bool:
        return (
            (not self.books or offer.book in self.books)
            and (not self.formats or offer.format in self.formats)
            and (not self.vendors or offer.vendor in self.vendors)
            and (not self.offers or f"{offer.book}/{offer.slug}" in self.offers)
        )


@_model
class SupportMethod:
    slug: str = spec(c.slug, required=True)
    name: str = spec(c.text, required=True)
    note: str | None = spec(c.text, default=None)
    url: str | None = spec(c.http_url, default=None)
    payable_to: str | None = spec(c.text, default=None)
    address: tuple[str, ...] = spec(c.strings(c.text), default=())


@_model
class Catalog:
    path: Path
    version: str  # sha256 of the file: the cache key for everything rendered from it
    site: Site = spec(required=True, nested=True)
    vendors: Mapping[str, Vendor] = spec(required=True, nested=True)
    books: tuple[Book, ...] = spec(required=True, nested=True)
    campaigns: tuple[Campaign, ...] = spec(nested=True, default=())
    support: tuple[SupportMethod, ...] = spec(nested=True, default=())
    authors: tuple[Author, ...] = spec(nested=True, default=())  # none: the site's author
    # Not errors: what `storefront check` points out (a sale that covers every book).
    warnings: tuple[CatalogProblem, ...] = ()

    def book(self, slug: str) -> Book | None:
        return next((b for b in self.books if b.slug == slug), None)

    def campaign(self, slug: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.slug == slug), None)

    def vendor(self, slug: str) -> Vendor:
        return self.vendors[slug]
