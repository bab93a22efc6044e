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

from .catalog import FORMATS, Book, Campaign, Catalog, Offer

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


# --------------------------------------------------------------------------- the sale banner


@dataclass(frozen=True)
class SalePrice:
    """One price a sale sets in one format: the offers that share it, and both amounts."""

    amount: Decimal
    list_price: Decimal
    currency: str
    percent_saved: int
    vendors: tuple[str, ...]  # vendor names, empty when every priced offer of the format has it
    text: str  # "€2.99"
    list_text: str  # "€4.99"


@dataclass(frozen=True)
class FormatSale:
    """What one format costs during the sale: one :class:`SalePrice` per distinct price."""

    format: str  # "ebook"
    prices: tuple[SalePrice, ...]

    @property
    def percent_saved(self) -> int:
        """The deepest saving in this format, in whole percent."""
        return max(p.percent_saved for p in self.prices)


@dataclass(frozen=True)
class SaleSummary:
    """What a sale does to one book: every format it lowers, each price as the offers show it.

    The one source of the sale banner's words: the page, the cards, the flyers and
    the readers' announcements lay out :attr:`segments` (or print :attr:`text`), so
    no output can name a price or a currency the offers do not show.
    """

    campaign: Campaign
    upcoming: bool  # True: announced (it starts later); False: running at the instant asked
    formats: tuple[FormatSale, ...]
    starts_text: str  # "1 January 2027"
    ends_text: str  # the last day, as a reader says it
    save_text: str  # "40% off" or "save up to 45%"

    @property
    def segments(self) -> tuple[tuple[str, str], ...]:
        """The phrase as ``(text, role)``: role ``price``, ``list``, ``starts``, ``ends`` or ``""``.

        Each output styles the roles its own way (``<strong>``, ``<time>``), never the words.
        """
        out: list[tuple[str, str]] = []
        verb = "will be" if self.upcoming else "is"
        if self.upcoming:
            out += [("From ", ""), (self.starts_text, "starts"), (" to ", "")]
            out += [(self.ends_text, "ends"), (", the ", "")]
        else:
            out.append(("The ", ""))
        for i, fmt in enumerate(self.formats):
            if i:
                out.append(("; the ", ""))
            out.append((f"{fmt.format} {verb} ", ""))
            for j, p in enumerate(fmt.prices):
                if j:
                    out.append((" or ", ""))
                out += [(p.text, "price"), (" instead of ", ""), (p.list_text, "list")]
                if p.vendors:
                    out.append((" at " + _and(p.vendors), ""))
        if self.upcoming:
            out.append((f": {self.save_text}.", ""))
        else:
            out += [(f": {self.save_text}, until ", ""), (self.ends_text, "ends"), (".", "")]
        return tuple(out)

    def format_sale(self, fmt: str) -> FormatSale | None:
        """What the sale does to format ``fmt``, or None when it lowers none of its prices."""
        return next((f for f in self.formats if f.format == fmt), None)

    @property
    def text(self) -> str:
        """The phrase as plain text (e-mail, PDF metadata, tests)."""
        return "".join(t for t, _ in self.segments)


def _and(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def sale_summary(
    catalog: Catalog, book: Book, at: datetime, campaign: Campaign | None = None
) -> SaleSummary | None:
    """Return what the sale running at ``at`` (else the next one) does to ``book``, or None.

    ``campaign`` picks one sale (running or still to come at ``at``); without it the
    running sale with the deepest saving wins, then the next sale to start. An
    announced sale is described with the prices it will set on its first instant,
    so the announcement names the same prices the offers will show. None when no
    sale lowers a price of the book at or after ``at`` (a sale that has ended
    describes nothing: the offers show their list prices again).
    """
    _require_aware(at)
    if campaign is None:
        campaign = _banner_campaign(catalog, book, at)
    if campaign is None or campaign.kind != "sale" or campaign.ends <= at:
        return None
    upcoming = campaign.starts > at
    when = campaign.starts if upcoming else at
    site = catalog.site
    formats: list[FormatSale] = []
    for fmt in FORMATS:  # the order every output lists formats in
        edition = book.edition(fmt)
        if edition is None:
            continue
        offers = sorted(edition.offers, key=lambda o: not o.preferred)
        priced = [price_offer(catalog, o, when) for o in offers if o.price is not None]
        lowered = [p for p in priced if p.campaign is campaign]
        if not lowered:
            continue
        groups: dict[tuple[str, Decimal, Decimal], list[Price]] = {}
        for p in lowered:
            groups.setdefault((p.currency, p.amount, p.list_price), []).append(p)
        everyone = len(groups) == 1 and len(lowered) == len(priced)  # no vendor to name
        prices = tuple(_sale_price(catalog, group, named=not everyone) for group in groups.values())
        formats.append(FormatSale(edition.format, prices))
    if not formats:
        return None
    return SaleSummary(
        campaign=campaign,
        upcoming=upcoming,
        formats=tuple(formats),
        starts_text=format_day(campaign.starts, site.tz, site.locale),
        ends_text=format_day(last_moment(campaign, site.tz), site.tz, site.locale),
        save_text=_save_text(campaign, formats),
    )


def _sale_price(catalog: Catalog, group: list[Price], *, named: bool) -> SalePrice:
    """One price of a format in the sale, shared by the offers of ``group``."""
    first, locale = group[0], catalog.site.locale
    vendors = dict.fromkeys(catalog.vendor(p.offer.vendor).name for p in group) if named else {}
    return SalePrice(
        first.amount,
        first.list_price,
        first.currency,
        first.percent_saved,
        tuple(vendors),
        format_money(first.amount, first.currency, locale),
        format_money(first.list_price, first.currency, locale),
    )


def _save_text(campaign: Campaign, formats: list[FormatSale]) -> str:
    percents = {p.percent_saved for f in formats for p in f.prices}
    if campaign.percent_off is not None and len(percents) == 1:
        return f"{campaign.percent_off.normalize():f}% off"
    if len(percents) == 1:
        return f"save {percents.pop()}%"
    return f"save up to {max(percents)}%"


def _banner_campaign(catalog: Catalog, book: Book, at: datetime) -> Campaign | None:
    """The running sale with the deepest saving on ``book``, else the next one to start."""
    prices = [price_offer(catalog, o, at) for o in book.offers]
    running = [p for p in prices if p.on_sale]
    if running:
        best = max(running, key=lambda p: (p.percent_saved, p.offer.preferred))
        return best.campaign
    coming = [p for p in prices if p.upcoming is not None]
    if coming:
        return min(coming, key=lambda p: (p.upcoming.starts, not p.offer.preferred)).upcoming
    return None
