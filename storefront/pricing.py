"""Live prices: a pure function of the catalog and an instant.

The rules, in full:

* A campaign is active from ``starts`` (inclusive) to ``ends`` (exclusive).
  At the end instant the list price is back: a sale reverts by itself.
* A sale sets either ``percent_off`` of the list price or a fixed
  ``sale_price``; it applies to the offers its ``books``/``formats``/
  ``vendors``/``offers`` select (an empty selector selects everything).
* The result is rounded half-up to the currency's minor unit (cents for USD,
  none for JPY), never below zero and never above the list price: a "sale"
  that would raise a price is ignored.
* When several active sales cover one offer, **the reader gets the best
  price**; on a tie, the sale that ends first wins (its end is the honest
  ``priceValidUntil``), then the slug, so the choice is deterministic.
* An offer without a list price (the store sets it) is never discounted.

Everything rendered from prices changes only at campaign boundaries, so
:func:`price_window` gives render caches their exact validity.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, get_currency_precision

from .catalog import Book, Campaign, Catalog, Offer

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Price:
    """The price of one offer at one instant."""

    offer: Offer
    list_price: Decimal | None
    amount: Decimal | None  # what the reader pays now (None: set by the store)
    campaign: Campaign | None = None  # the sale that sets ``amount``, if any
    upcoming: Campaign | None = None  # the next sale that will cover this offer

    @property
    def currency(self) -> str:
        return self.offer.currency

    @property
    def on_sale(self) -> bool:
        return self.campaign is not None

    @property
    def saving(self) -> Decimal:
        if self.list_price is None or self.amount is None:
            return Decimal(0)
        return self.list_price - self.amount

    @property
    def percent_saved(self) -> int:
        if not self.on_sale or not self.list_price:
            return 0
        return int((self.saving / self.list_price * _HUNDRED).to_integral_value(ROUND_HALF_UP))

    @property
    def valid_until(self) -> datetime | None:
        return self.campaign.ends if self.campaign else None


def quantize(amount: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round ``amount`` (half-up unless told) to the minor unit of ``currency``."""
    places = get_currency_precision(currency)
    return amount.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def sale_amount(campaign: Campaign, list_price: Decimal, currency: str) -> Decimal:
    """Return what ``campaign`` makes of ``list_price``, clamped to [0, list].

    A percent off is rounded down to the minor unit: "50% off" $5.99 is $2.99, never
    more than the percentage promises (half-up would charge the reader $3.00).
    """
    if campaign.percent_off is not None:
        amount = list_price * (_HUNDRED - campaign.percent_off) / _HUNDRED
        rounding = ROUND_FLOOR
    elif campaign.sale_price is not None:
        amount = campaign.sale_price
        rounding = ROUND_HALF_UP
    else:
        return list_price
    return quantize(min(list_price, max(Decimal(0), amount)), currency, rounding)


def _is_discount(campaign: Campaign, offer: Offer) -> bool:
    return (
        campaign.kind == "sale"
        and offer.price is not None
        and campaign.applies_to(offer)
        and sale_amount(campaign, offer.price, offer.currency) < offer.price
    )


def campaign_covers(campaign: Campaign, book: Book) -> bool:
    """Whether ``campaign`` is about ``book``: the one rule for page, cards, flyers and export.

    A sale covers a book only when it discounts at least one of the book's offers
    now or when it runs: a sale scoped to a vendor, format or offer where the book
    has no priced offer, or whose price would not be lower, is not about the book
    (nothing about it is shown, and no flyer is made for it). Any other campaign
    (a fundraiser) covers the books it names, or every book when it names none.
    """
    if campaign.books and book.slug not in campaign.books:
        return False
    if campaign.kind == "sale":
        return any(_is_discount(campaign, offer) for offer in book.offers)
    return True


def book_campaigns(
    catalog: Catalog, book: Book, at: datetime, kind: str | None = None
) -> list[Campaign]:
    """Return the campaigns running at ``at`` that cover ``book`` (optionally of one ``kind``)."""
    _require_aware(at)
    return [
        c
        for c in catalog.campaigns  # the catalog's order, as the author wrote them
        if c.is_active(at) and (kind is None or c.kind == kind) and campaign_covers(c, book)
    ]


def price_offer(catalog: Catalog, offer: Offer, at: datetime) -> Price:
    """Return the live price of ``offer`` at the aware instant ``at``."""
    _require_aware(at)
    list_price = offer.price
    if list_price is None:
        return Price(offer, None, None)
    best: tuple[Decimal, datetime, str, Campaign] | None = None
    upcoming: Campaign | None = None
    for campaign in catalog.campaigns:
        if not _is_discount(campaign, offer):
            continue
        if campaign.is_active(at):
            candidate = (
                sale_amount(campaign, list_price, offer.currency),
                campaign.ends,
                campaign.slug,
                campaign,
            )
            if best is None or candidate[:3] < best[:3]:
                best = candidate
        elif campaign.starts > at and (upcoming is None or campaign.starts < upcoming.starts):
            upcoming = campaign
    if best is None:
        return Price(offer, list_price, list_price, None, upcoming)
    return Price(offer, list_price, best[0], best[3], upcoming)


def book_prices(catalog: Catalog, book: Book, at: datetime) -> dict[str, Price]:
    """Return the live price of every offer of ``book``, keyed by offer slug."""
    return {o.slug: price_offer(catalog, o, at) for o in book.offers}


def active_campaigns(catalog: Catalog, at: datetime, kind: str | None = None) -> list[Campaign]:
    """Return the campaigns running at ``at`` (optionally of one ``kind``), by start."""
    _require_aware(at)
    found = [c for c in catalog.campaigns if c.is_active(at) and (kind is None or c.kind == kind)]
    return sorted(found, key=lambda c: (c.starts, c.slug))


def boundaries(catalog: Catalog) -> list[datetime]:
    """Return every campaign start and end, sorted: the only instants prices change."""
    return sorted({t for c in catalog.campaigns for t in (c.starts, c.ends)})


def price_window(catalog: Catalog, at: datetime) -> tuple[datetime | None, datetime | None]:
    """Return (last boundary <= at, first boundary > at): prices are constant inside.

    Either side is ``None`` when there is no boundary that way. Render caches key
    on this window, so a cached page is never served past a campaign change.
    """
    _require_aware(at)
    points = boundaries(catalog)
    i = bisect.bisect_right(points, at)
    return (points[i - 1] if i else None, points[i] if i < len(points) else None)


def format_money(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    """Format ``amount`` for display, e.g. ``$5.99`` or ``5,99 €``."""
    return format_currency(amount, currency, locale=locale)


def format_instant(at: datetime, tz, locale: str = "en_US") -> str:
    """Format an instant for readers: date and time in the site's time zone."""
    return format_datetime(at, "d MMMM y, h:mm a zzz", tzinfo=tz, locale=locale)


def format_day(at: datetime, tz, locale: str = "en_US") -> str:
    """Format an instant's calendar day in the site's time zone, e.g. ``27 December 2026``."""
    return format_date(at.astimezone(tz).date(), "long", locale=locale)


def last_moment(campaign: Campaign, tz) -> datetime:
    """Return the day a reader would call a campaign's last, as an instant in ``tz``.

    A campaign that ends at midnight "ends on" the previous day for humans.
    """
    end = campaign.ends.astimezone(tz)
    if (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0):
        return end - timedelta(microseconds=1)
    return end


def utcnow() -> datetime:
    return datetime.now(UTC)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"instant {at!r} has no time zone")
