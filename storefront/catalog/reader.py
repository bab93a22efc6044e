"""Turn parsed TOML into the frozen model, collecting every problem at once.

Each table is checked against its dataclass's field specs (``spec.table_spec``)
and built with ``spec.build``; this module holds only what a spec cannot say:
nested tables, references between tables (an offer's vendor, a campaign's
books), money against its currency, and defaults that depend on other values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import convert as c
from . import people
from .errors import CatalogError, Invalid
from .model import (
    Affiliate,
    Author,
    Book,
    Campaign,
    Catalog,
    Contributor,
    Edition,
    Offer,
    Quote,
    Series,
    Site,
    SupportMethod,
    Vendor,
)
from .spec import Validator, build, catalog_fields, has_required, table_spec


class CatalogReader:
    """Read one parsed catalog; :meth:`read` returns it or raises :class:`CatalogError`."""

    def __init__(self, path: Path, data: dict, lines: dict[str, int]):
        self.path = path
        self.base = path.parent
        self.data = data
        self.v = Validator(path, lines)
        # Slugs as written of [[vendors]] that were refused: their offers are not
        # reported again (one error for the vendor, not one more per offer).
        self.rejected_vendors: set[str] = set()

    def table(self, cls: type, data: Any, path: str) -> dict | None:
        """Check ``data`` against the field specs of ``cls``."""
        return self.v.table(data, path, table_spec(cls, self.base))

    def read(self, version: str) -> Catalog:
        top = self.table(Catalog, self.data, "") or {}
        site = self.site(top.get("site"))
        tz = ZoneInfo(site.timezone) if site else ZoneInfo("UTC")
        vendors = self.vendors(top.get("vendors", []))
        books = self.books(top.get("books", []), vendors, site)
        campaigns = self.campaigns(top.get("campaigns", []), tz, books, vendors)
        support = self.support(top.get("support", []))
        authors = people.read_authors(self.v, top.get("authors", []), self.simple(Author))
        books = people.link_books(self.v, books, authors, top.get("books"))
        if self.v.problems or site is None:
            raise CatalogError(sorted(self.v.problems, key=lambda p: p.line or 0))
        return Catalog(
            warnings=(
                *self.sale_warnings(campaigns, books),
                *people.bio_warnings(self.v, authors),
            ),
            path=self.path,
            version=version,
            site=site,
            vendors={x.slug: x for x in vendors},
            books=tuple(books),
            campaigns=tuple(campaigns),
            support=tuple(support),
            authors=tuple(authors),
        )

    def simple(self, cls: type) -> Callable[[Any, str], Any]:
        """An array item reader for a table with no nested parts."""

        def read(item: Any, item_path: str) -> Any:
            d = self.table(cls, item, item_path)
            return build(cls, d) if d and has_required(cls, d) else None

        return read

    # -- site and vendors

    def site(self, data: Any) -> Site | None:
        if data is None:
            return None
        d = self.table(Site, data, "site")
        return build(Site, d) if d is not None and has_required(Site, d) else None

    def vendors(self, data: Any) -> list[Vendor]:
        def vendor(item: Any, path: str) -> Vendor | None:
            d = self.table(Vendor, item, path)
            if not d or not has_required(Vendor, d):
                written = item.get("slug") if isinstance(item, dict) else None
                if isinstance(written, str):
                    self.rejected_vendors.add(written.strip())
                return None
            affiliate = None
            if "affiliate" in d:
                a = self.table(Affiliate, d["affiliate"], f"{path}.affiliate")
                if a and has_required(Affiliate, a):
                    tags = self.territory_map(
                        a["tags"], f"{path}.affiliate.tags", c.text, allow_default=True
                    )
                    affiliate = build(Affiliate, a, tags=tags)
            country_search = {}
            if "country_search" in d:
                country_search = self.territory_map(
                    d["country_search"], f"{path}.country_search", c.search_template
                )
            return build(Vendor, d, affiliate=affiliate, country_search=country_search)

        vendors = self.v.array(data, "vendors", vendor)
        self.v.unique(vendors, "vendors", lambda x: x.slug, "vendor slug")
        return vendors

    def territory_map(
        self, data: Any, path: str, convert: c.Converter, *, allow_default: bool = False
    ) -> dict[str, str]:
        """A table keyed by country or group (``territory.GROUPS``), each value converted."""
        if not isinstance(data, dict):
            self.v.error(path, f"expected a table of country code = value, got {c.type_name(data)}")
            return {}
        out = {}
        for key, value in data.items():
            sub = f"{path}.{key}"
            try:
                code = "default" if allow_default and key == "default" else c.territory(key, sub)
                out[code] = convert(value, sub)
            except Invalid as exc:
                self.v.error(sub, str(exc))
        return out

    # -- books

    def books(self, data: Any, vendors: list[Vendor], site: Site | None) -> list[Book]:
        vendor_slugs = {x.slug for x in vendors}

        def book(item: Any, path: str) -> Book | None:
            d = self.table(Book, item, path)
            if d is None:
                return None
            # Check everything nested even when a required field failed, so one
            # run reports every problem; the book itself is dropped below.
            slug = d.get("slug", f"#{path}")
            if "authors" in d and not d["authors"]:
                self.v.error(f"{path}.authors", "must list at least one author")
            contributors = self.v.array(
                d.get("contributors", []), f"{path}.contributors", self.simple(Contributor)
            )
            editions = self.v.array(
                d.get("editions", []),
                f"{path}.editions",
                lambda x, p: self.edition(x, p, slug, vendor_slugs),
            )
            if "editions" in d and not editions and isinstance(d["editions"], list):
                self.v.error(f"{path}.editions", "must list at least one edition")
            self.v.unique(editions, f"{path}.editions", lambda e: e.format, "format", "format")
            offers = [o for e in editions for o in e.offers]
            self.v.unique(offers, f"{path}.editions", lambda o: o.slug, "offer slug", None)
            for e in editions:
                if sum(o.preferred for o in e.offers) > 1:
                    self.v.error(
                        f"{path}.editions",
                        f"the {e.format} edition has more than one preferred offer",
                    )
            quotes = self.v.array(d.get("quotes", []), f"{path}.quotes", self.simple(Quote))
            series = None
            if "series" in d:
                s = self.table(Series, d["series"], f"{path}.series")
                if s and has_required(Series, s):
                    series = build(Series, s, slug=s.get("slug") or people.slugify(s["name"]))
            if not has_required(Book, d):
                return None
            description = d["description"]
            return build(
                Book,
                d,
                slug=slug,
                contributors=tuple(contributors),
                pitch=d.get("pitch") or description.split(". ")[0].rstrip(".") + ".",
                language=d.get("language") or (site.language if site else "en"),
                editions=tuple(editions),
                quotes=tuple(quotes),
                series=series,
            )

        books = self.v.array(data, "books", book)
        self.v.unique(books, "books", lambda b: b.slug, "book slug")
        return books

    def edition(self, item: Any, path: str, book: str, vendors: set[str]) -> Edition | None:
        d = self.table(Edition, item, path)
        if not d or not has_required(Edition, d):
            return None
        fmt = d["format"]
        for f in catalog_fields(Edition):
            only = f.metadata["formats"]
            if only and f.name in d and fmt not in only:
                formats = " or ".join(only)
                article = "an" if formats[0] in "aeiou" else "a"
                name = f.name.replace("_", " ")
                field_article = "an" if name[0] in "aeiou" else "a"
                self.v.error(
                    f"{path}.{f.name}", f"only {article} {formats} has {field_article} {name}"
                )
        offers = self.v.array(
            d.get("offers", []), f"{path}.offers", lambda x, p: self.offer(x, p, book, fmt, vendors)
        )
        return build(Edition, d, offers=tuple(offers))

    def offer(self, item: Any, path: str, book: str, fmt: str, vendors: set[str]) -> Offer | None:
        written = item.get("vendor") if isinstance(item, dict) else None
        rejected = isinstance(written, str) and written.strip() in self.rejected_vendors
        spec = dict(table_spec(Offer, self.base))
        if rejected:
            spec["vendor"] = (c.raw, True)  # the vendor's own error says what is wrong
        d = self.v.table(item, path, spec)
        if d is None:
            return None
        ok = has_required(Offer, d) and not rejected
        if "vendor" in d and d["vendor"] not in vendors and not rejected:
            self.v.error(f"{path}.vendor", f"unknown vendor '{d['vendor']}' (not in [[vendors]])")
            ok = False
        # Decimal places are checked against the currency, or cents when it is unknown.
        currency = d.get("currency", "USD")
        if "price" in d and not self.money_ok(d["price"], currency, f"{path}.price"):
            ok = False
        if d.get("reason") and not d.get("preferred"):
            self.v.error(
                f"{path}.reason",
                "a reason is shown only for the preferred offer: set preferred = true",
            )
        countries = self.territory_map(d.get("countries", {}), f"{path}.countries", c.http_url)
        if not ok:
            return None
        return build(
            Offer,
            d,
            slug=d.get("slug") or f"{d['vendor']}-{fmt}",
            book=book,
            format=fmt,
            countries=countries,
        )

    def money_ok(self, amount: Decimal, currency: str, path: str) -> bool:
        if amount < 0:
            self.v.error(path, f"'{amount}' is negative")
            return False
        places = c.money_places(currency)
        if -amount.as_tuple().exponent > places and amount != amount.quantize(
            Decimal(1).scaleb(-places)
        ):
            step = Decimal(1).scaleb(-places)
            down, up = (amount.quantize(step, rounding=r) for r in (ROUND_FLOOR, ROUND_CEILING))
            self.v.error(
                path,
                f"'{amount}' has more than {places} decimals for {currency}: "
                f'write {path.rsplit(".", 1)[-1]} = "{down}" or "{up}"',
            )
            return False
        return True

    # -- campaigns and support

    def campaigns(
        self, data: Any, site_tz: ZoneInfo, books: list[Book], vendors: list[Vendor]
    ) -> list[Campaign]:
        known = {
            "books": ({b.slug for b in books}, "book"),
            "vendors": ({x.slug for x in vendors}, "vendor"),
            "offers": ({f"{o.book}/{o.slug}" for b in books for o in b.offers}, "offer"),
        }
        currencies = {o.currency for b in books for o in b.offers}

        def campaign(item: Any, path: str) -> Campaign | None:
            d = self.table(Campaign, item, path)
            if not d or not has_required(Campaign, d):
                return None
            tz = ZoneInfo(d["timezone"]) if "timezone" in d else site_tz
            instants: dict[str, datetime] = {}
            for key in ("starts", "ends"):
                try:
                    instants[key] = c.instant(d[key], tz, end_of_day=key == "ends")
                except Invalid as exc:
                    self.v.error(f"{path}.{key}", str(exc))
            starts, ends = instants.get("starts"), instants.get("ends")
            if starts and ends and ends <= starts:
                self.v.error(
                    f"{path}.ends",
                    f"ends ({ends.isoformat()}) before it starts ({starts.isoformat()})",
                )
            kind = d.get("kind", "sale")
            pct, sale = d.get("percent_off"), d.get("sale_price")
            if kind == "sale" and (pct is None) == (sale is None):
                self.v.error(path, "a sale needs exactly one of percent_off or sale_price")
            if kind == "fundraiser" and (pct is not None or sale is not None):
                self.v.error(
                    path,
                    "a fundraiser changes no price: remove percent_off/sale_price "
                    "or set kind = 'sale'",
                )
            if pct is not None and not (0 < pct <= 100):
                self.v.error(f"{path}.percent_off", f"{pct} is not between 0 (exclusive) and 100")
            if sale is not None:
                for code in sorted(currencies) or ["USD"]:
                    if not self.money_ok(sale, code, f"{path}.sale_price"):
                        break
            for key, (slugs, what) in known.items():
                for i, ref in enumerate(d.get(key, ())):
                    if ref not in slugs:
                        hint = (
                            " (write offers as 'book/offer')"
                            if key == "offers" and "/" not in ref
                            else ""
                        )
                        self.v.error(f"{path}.{key}[{i}]", f"unknown {what} '{ref}'{hint}")
            return build(
                Campaign,
                d,
                headline=d.get("headline", d["name"]),
                starts=starts or datetime.min.replace(tzinfo=tz),
                ends=ends or datetime.min.replace(tzinfo=tz),
            )

        campaigns = self.v.array(data, "campaigns", campaign)
        self.v.unique(campaigns, "campaigns", lambda x: x.slug, "campaign slug")
        return campaigns

    def sale_warnings(self, campaigns: list[Campaign], books: list[Book]) -> list:
        """A sale with no ``books`` or ``offers`` that reaches every book of several."""
        found = Validator(self.path, self.v.lines)
        if len(books) < 2:
            return []
        for i, campaign in enumerate(campaigns):
            if campaign.kind != "sale" or campaign.books or campaign.offers:
                continue
            reached = [b for b in books if any(campaign.applies_to(o) for o in b.offers)]
            if len(reached) == len(books):
                found.error(
                    f"campaigns[{i}]",
                    f"the sale '{campaign.slug}' puts every book on sale ({len(books)} books): "
                    "name the books it is for with books = [...]",
                )
        return found.problems

    def support(self, data: Any) -> list[SupportMethod]:
        methods = self.v.array(data, "support", self.simple(SupportMethod))
        self.v.unique(methods, "support", lambda m: m.slug, "support slug")
        return methods
