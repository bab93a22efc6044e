"""Load and validate the catalog: one human-edited TOML file.

``load_catalog(path)`` returns a frozen :class:`Catalog` or raises
:class:`CatalogError` listing *every* problem at once, each as
``file:line: key.path: what is wrong``. Money is ``Decimal`` (TOML floats are
parsed as ``Decimal``, never ``float``); datetimes are timezone-aware.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_precision, list_currencies

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
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_CURRENCIES = frozenset(list_currencies())
_TERRITORIES = frozenset(
    code for code in Locale("en").territories if len(code) == 2 and code.isalpha()
)


def builtin_catalog_path() -> Path:
    """Return the path of the built-in Genesis catalog (works from a wheel too)."""
    return Path(str(resources.files("storefront") / "data" / "catalog.toml"))


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Site:
    title: str
    author: str
    description: str
    language: str
    locale: str
    timezone: str
    base_url: str | None
    affiliate_disclosure: str
    default_country: str
    frame_ancestors: tuple[str, ...]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Affiliate:
    """How a vendor's affiliate tag is added to its URLs at redirect time."""

    param: str
    tags: Mapping[str, str]  # country code (or "default") -> tag

    def tag_for(self, country: str | None) -> str | None:
        return self.tags.get((country or "").upper()) or self.tags.get("default")


@dataclass(frozen=True)
class Vendor:
    slug: str
    name: str
    search_url: str | None  # template with {query}
    affiliate: Affiliate | None
    country_search: Mapping[str, str]  # country -> search URL template with {query}

    @property
    def is_affiliate(self) -> bool:
        return self.affiliate is not None


@dataclass(frozen=True)
class Contributor:
    name: str
    role: str


@dataclass(frozen=True)
class Offer:
    slug: str
    book: str
    format: str
    vendor: str
    url: str
    price: Decimal | None  # None: the store shows the price (never invented)
    currency: str
    preferred: bool = False
    reason: str | None = None
    note: str | None = None
    countries: Mapping[str, str] = field(default_factory=dict)  # country -> store URL

    @property
    def key(self) -> tuple[str, str]:
        return (self.book, self.slug)


@dataclass(frozen=True)
class Edition:
    format: str
    isbn: str | None
    offers: tuple[Offer, ...]
    narrator: str | None = None
    duration_minutes: int | None = None
    pages: int | None = None
    published: date | None = None


@dataclass(frozen=True)
class Quote:
    text: str
    source: str
    url: str | None = None
    featured: bool = False


@dataclass(frozen=True)
class Series:
    name: str
    position: int | None = None


@dataclass(frozen=True)
class Book:
    slug: str
    title: str
    subtitle: str | None
    authors: tuple[str, ...]
    contributors: tuple[Contributor, ...]
    description: str
    pitch: str
    language: str
    editions: tuple[Edition, ...]
    quotes: tuple[Quote, ...]
    cover: Path | None = None
    series: Series | None = None
    publisher: str | None = None
    published: date | None = None
    sample_chapter: Path | None = None
    rights: str | None = None

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


@dataclass(frozen=True)
class Campaign:
    slug: str
    name: str
    headline: str
    kind: str
    starts: datetime
    ends: datetime
    percent_off: Decimal | None = None
    sale_price: Decimal | None = None
    books: tuple[str, ...] = ()  # empty: every book
    formats: tuple[str, ...] = ()  # empty: every format
    vendors: tuple[str, ...] = ()  # empty: every vendor
    offers: tuple[str, ...] = ()  # "book/offer" keys; empty: every offer in scope
    message: str | None = None

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


@dataclass(frozen=True)
class SupportMethod:
    slug: str
    name: str
    note: str | None = None
    url: str | None = None
    payable_to: str | None = None
    address: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    path: Path
    version: str  # sha256 of the file: the cache key for everything rendered from it
    site: Site
    vendors: Mapping[str, Vendor]
    books: tuple[Book, ...]
    campaigns: tuple[Campaign, ...]
    support: tuple[SupportMethod, ...]

    def book(self, slug: str) -> Book | None:
        return next((b for b in self.books if b.slug == slug), None)

    def campaign(self, slug: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.slug == slug), None)

    def vendor(self, slug: str) -> Vendor:
        return self.vendors[slug]


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class CatalogProblem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class CatalogError(Exception):
    """The catalog cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[CatalogProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --------------------------------------------------------------------------- line map


_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_RE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def _split_key(raw: str) -> list[str]:
    parts = re.findall(r"""\"[^\"]*\"|'[^']*'|[^.\s]+""", raw)
    return [p.strip("\"'") for p in parts]


def build_line_map(text: str) -> dict[str, int]:
    """Map key paths such as ``books[0].editions[1].price`` to their source line.

    A light scan of table headers and ``key =`` lines: enough to point a person
    at the right line of a hand-edited file. Paths not found fall back to the
    nearest enclosing table (see :func:`_line_for`).
    """
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    prefix = ""
    depth = 0  # open [ or { brackets of a multi-line value: keys inside are not top-level
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if depth == 0 and (m := _HEADER_RE.match(line)):
            is_array = m.group(1) == "[["
            concrete = ""
            names = _split_key(m.group(2))
            for i, name in enumerate(names):
                path = f"{concrete}.{name}" if concrete else name
                if i == len(names) - 1 and is_array:
                    counters[path] = counters.get(path, -1) + 1
                    path = f"{path}[{counters[path]}]"
                elif path in counters:
                    path = f"{path}[{counters[path]}]"
                concrete = path
            prefix = concrete
            lines.setdefault(prefix, number)
            continue
        if depth == 0 and (m := _KEY_RE.match(line)):
            key = ".".join(_split_key(m.group(1)))
            lines.setdefault(f"{prefix}.{key}" if prefix else key, number)
        if not stripped.startswith("#"):
            code = re.sub(r"""("(?:\\.|[^"\\])*"|'[^']*')""", "", line.split(" #")[0])
            depth = max(
                0, depth + code.count("[") + code.count("{") - code.count("]") - code.count("}")
            )
    return lines


def _line_for(lines: Mapping[str, int], path: str) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get(path)


# --------------------------------------------------------------------------- validation


class Invalid(ValueError):
    """A value is wrong; the message says how (the path is added by the caller)."""


Converter = Callable[[Any, str], Any]


class _Validator:
    def __init__(self, file: Path, lines: Mapping[str, int]):
        self.file = file
        self.lines = lines
        self.problems: list[CatalogProblem] = []

    def error(self, path: str, message: str) -> None:
        self.problems.append(
            CatalogProblem(self.file.name, _line_for(self.lines, path), path, message)
        )

    def table(
        self, data: Any, path: str, spec: Mapping[str, tuple[Converter, bool]]
    ) -> dict | None:
        """Check one table against ``spec`` (key -> (converter, required)).

        Returns the converted values that passed; records a problem for every
        unknown key, missing required key and bad value.
        """
        if not isinstance(data, dict):
            self.error(path, f"expected a table, got {_type_name(data)}")
            return None
        out: dict[str, Any] = {}
        for key, value in data.items():
            sub = f"{path}.{key}" if path else key
            if key not in spec:
                hint = difflib.get_close_matches(key, list(spec), n=1)
                extra = f" (did you mean '{hint[0]}'?)" if hint else ""
                self.error(sub, f"unknown key '{key}'{extra}")
                continue
            convert, _ = spec[key]
            try:
                out[key] = convert(value, sub)
            except Invalid as exc:
                self.error(sub, str(exc))
        for key, (_, required) in spec.items():
            if required and key not in data:
                self.error(f"{path}.{key}" if path else key, "is required")
        return out

    def array(self, data: Any, path: str, item: Converter) -> list:
        if not isinstance(data, list):
            self.error(path, f"expected an array, got {_type_name(data)}")
            return []
        out = []
        for i, value in enumerate(data):
            try:
                converted = item(value, f"{path}[{i}]")
            except Invalid as exc:
                self.error(f"{path}[{i}]", str(exc))
                continue
            if converted is not None:
                out.append(converted)
        return out


def _type_name(value: Any) -> str:
    return {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        Decimal: "a number",
        list: "an array",
        dict: "a table",
        datetime: "a datetime",
        date: "a date",
        time: "a time",
    }.get(type(value), type(value).__name__)


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {_type_name(value)}")
    text = value.strip()
    if not text:
        raise Invalid("must not be empty")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise Invalid("contains control characters")
    return text


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {_type_name(value)}")
    return value


def _positive_int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"expected a whole number, got {_type_name(value)}")
    if value <= 0:
        raise Invalid(f"{value} must be greater than 0")
    return value


def _slug(value: Any, path: str) -> str:
    text = _text(value, path)
    if not SLUG_RE.match(text):
        raise Invalid(
            f"'{text}' is not a slug (lower-case letters, digits and inner hyphens, at most 64)"
        )
    return text


def _choice(options: tuple[str, ...]) -> Converter:
    def convert(value: Any, path: str) -> str:
        text = _text(value, path)
        if text not in options:
            raise Invalid(f"'{text}' is not one of: {', '.join(options)}")
        return text

    return convert


def _http_url(value: Any, path: str) -> str:
    text = _text(value, path)
    if any(c.isspace() for c in text):
        raise Invalid(f"'{text}' contains spaces")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"'{text}' is not an http(s) URL")
    return text


def _search_template(value: Any, path: str) -> str:
    text = _http_url(value, path)
    if "{query}" not in text:
        raise Invalid(f"'{text}' has no {{query}} placeholder for the title")
    return text


def _currency(value: Any, path: str) -> str:
    text = _text(value, path)
    if text not in _CURRENCIES:
        raise Invalid(f"'{text}' is not an ISO 4217 currency code")
    return text


def _country(value: Any, path: str) -> str:
    text = _text(value, path).upper()
    if text not in _TERRITORIES:
        raise Invalid(f"'{value}' is not an ISO 3166 country code")
    return text


def _decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, bool):
        raise Invalid("expected a number, got a boolean")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise Invalid(f"'{value}' is not a number") from None
        if not number.is_finite():
            raise Invalid(f"'{value}' is not a finite number")
        return number
    raise Invalid(f"expected a number, got {_type_name(value)}")


def _isbn(value: Any, path: str) -> str:
    text = _text(value, path).replace("-", "").replace(" ", "")
    if len(text) == 13 and text.isdigit():
        check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(text[:12])) % 10) % 10
        if check != int(text[12]):
            raise Invalid(f"'{value}' has a wrong check digit")
        return text
    if len(text) == 10 and text[:9].isdigit() and (text[9].isdigit() or text[9] in "Xx"):
        total = sum((10 - i) * int(d) for i, d in enumerate(text[:9]))
        last = 10 if text[9] in "Xx" else int(text[9])
        if (total + last) % 11:
            raise Invalid(f"'{value}' has a wrong check digit")
        return text.upper()
    raise Invalid(f"'{value}' is not an ISBN-10 or ISBN-13")


def _language(value: Any, path: str) -> str:
    text = _text(value, path)
    try:
        Locale.parse(text.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        raise Invalid(f"'{text}' is not a language tag such as 'en' or 'en-US'") from None
    return text


def _timezone(value: Any, path: str) -> str:
    text = _text(value, path)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"'{text}' is not an IANA time zone such as 'America/Phoenix'") from None
    return text


def _date(value: Any, path: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(f"'{value}' is not a date (YYYY-MM-DD)") from None
    raise Invalid(f"expected a date, got {_type_name(value)}")


def _instant(value: Any, tz: ZoneInfo, *, end_of_day: bool) -> datetime:
    """Turn a TOML date, local datetime or offset datetime into an aware datetime.

    A bare date means the start of that day, or for an end the start of the next
    day (so ``ends = 2026-12-27`` includes all of the 27th). Local times are read
    in the campaign's (or the site's) time zone, DST included.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(f"'{value}' is not an ISO 8601 date or datetime") from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value
        local = value.replace(tzinfo=tz)
        round_trip = local.astimezone(ZoneInfo("UTC")).astimezone(tz)
        if round_trip.replace(tzinfo=None) != value:
            raise Invalid(f"{value.isoformat()} does not exist in {tz.key} (a daylight-saving gap)")
        return local
    if isinstance(value, date):
        day = value + timedelta(days=1) if end_of_day else value
        return datetime.combine(day, time(0), tzinfo=tz)
    raise Invalid(f"expected a date or datetime, got {_type_name(value)}")


def _strings(convert: Converter) -> Converter:
    def convert_all(value: Any, path: str) -> tuple:
        if not isinstance(value, list):
            raise Invalid(f"expected an array, got {_type_name(value)}")
        out = []
        for i, item in enumerate(value):
            try:
                out.append(convert(item, f"{path}[{i}]"))
            except Invalid as exc:
                raise Invalid(f"item {i + 1}: {exc}") from None
        return tuple(out)

    return convert_all


def _identity(value: Any, path: str) -> Any:
    return value


def _money_places(currency: str) -> int:
    return get_currency_precision(currency)


class _CatalogReader:
    """Turn parsed TOML into the frozen model, collecting every problem."""

    def __init__(self, path: Path, data: dict, lines: Mapping[str, int]):
        self.path = path
        self.base = path.parent
        self.data = data
        self.v = _Validator(path, lines)

    def read(self, version: str) -> Catalog:
        v = self.v
        top = (
            v.table(
                self.data,
                "",
                {
                    "site": (_identity, True),
                    "vendors": (_identity, True),
                    "books": (_identity, True),
                    "campaigns": (_identity, False),
                    "support": (_identity, False),
                },
            )
            or {}
        )
        site = self.site(top.get("site"))
        tz = ZoneInfo(site.timezone) if site else ZoneInfo("UTC")
        vendors = self.vendors(top.get("vendors", []))
        books = self.books(top.get("books", []), vendors, site)
        campaigns = self.campaigns(top.get("campaigns", []), tz, books, vendors)
        support = self.support(top.get("support", []))
        if v.problems or site is None:
            raise CatalogError(sorted(v.problems, key=lambda p: p.line or 0))
        return Catalog(
            path=self.path,
            version=version,
            site=site,
            vendors={x.slug: x for x in vendors},
            books=tuple(books),
            campaigns=tuple(campaigns),
            support=tuple(support),
        )

    # -- site and vendors

    def site(self, data: Any) -> Site | None:
        if data is None:
            return None
        d = self.v.table(
            data,
            "site",
            {
                "title": (_text, True),
                "author": (_text, True),
                "description": (_text, False),
                "language": (_language, False),
                "locale": (_language, False),
                "timezone": (_timezone, False),
                "base_url": (_http_url, False),
                "affiliate_disclosure": (_text, False),
                "default_country": (_country, False),
                "frame_ancestors": (_strings(_frame_ancestor), False),
            },
        )
        if d is None or "title" not in d or "author" not in d:
            return None
        return Site(
            title=d["title"],
            author=d["author"],
            description=d.get("description", ""),
            language=d.get("language", "en"),
            locale=d.get("locale", "en_US").replace("-", "_"),
            timezone=d.get("timezone", "UTC"),
            base_url=d.get("base_url"),
            affiliate_disclosure=d.get(
                "affiliate_disclosure",
                "Some links are affiliate links: the author earns a small commission "
                "at no cost to you.",
            ),
            default_country=d.get("default_country", "US"),
            frame_ancestors=d.get("frame_ancestors", ("*",)),
        )

    def vendors(self, data: Any) -> list[Vendor]:
        def vendor(item: Any, path: str) -> Vendor | None:
            d = self.v.table(
                item,
                path,
                {
                    "slug": (_slug, True),
                    "name": (_text, True),
                    "search_url": (_search_template, False),
                    "country_search": (_identity, False),
                    "affiliate": (_identity, False),
                },
            )
            if not d or "slug" not in d or "name" not in d:
                return None
            affiliate = None
            if "affiliate" in d:
                a = self.v.table(
                    d["affiliate"],
                    f"{path}.affiliate",
                    {"param": (_text, True), "tags": (_identity, True)},
                )
                if a and "param" in a and "tags" in a:
                    tags = self.country_map(
                        a["tags"], f"{path}.affiliate.tags", _text, allow_default=True
                    )
                    affiliate = Affiliate(param=a["param"], tags=tags)
            country_search = {}
            if "country_search" in d:
                country_search = self.country_map(
                    d["country_search"], f"{path}.country_search", _search_template
                )
            return Vendor(
                slug=d["slug"],
                name=d["name"],
                search_url=d.get("search_url"),
                affiliate=affiliate,
                country_search=country_search,
            )

        vendors = self.v.array(data, "vendors", vendor)
        self.unique(vendors, "vendors", lambda x: x.slug, "vendor slug")
        return vendors

    def country_map(
        self, data: Any, path: str, convert: Converter, *, allow_default: bool = False
    ) -> dict[str, str]:
        if not isinstance(data, dict):
            self.v.error(path, f"expected a table of country code = value, got {_type_name(data)}")
            return {}
        out = {}
        for key, value in data.items():
            sub = f"{path}.{key}"
            try:
                country = "default" if allow_default and key == "default" else _country(key, sub)
                out[country] = convert(value, sub)
            except Invalid as exc:
                self.v.error(sub, str(exc))
        return out

    # -- books

    def books(self, data: Any, vendors: list[Vendor], site: Site | None) -> list[Book]:
        vendor_slugs = {x.slug for x in vendors}

        def book(item: Any, path: str) -> Book | None:
            d = self.v.table(
                item,
                path,
                {
                    "slug": (_slug, True),
                    "title": (_text, True),
                    "subtitle": (_text, False),
                    "authors": (_strings(_text), True),
                    "contributors": (_identity, False),
                    "description": (_text, True),
                    "pitch": (_text, False),
                    "language": (_language, False),
                    "cover": (self.file_path(COVER_TYPES), False),
                    "series": (_identity, False),
                    "publisher": (_text, False),
                    "published": (_date, False),
                    "sample_chapter": (self.text_file({".md": "text/markdown"}), False),
                    "rights": (_text, False),
                    "editions": (_identity, True),
                    "quotes": (_identity, False),
                },
            )
            if d is None:
                return None
            # Check everything nested even when a required field failed, so one
            # run reports every problem; the book itself is dropped below.
            slug = d.get("slug", f"#{path}")
            if "authors" in d and not d["authors"]:
                self.v.error(f"{path}.authors", "must list at least one author")
            contributors = self.v.array(
                d.get("contributors", []), f"{path}.contributors", self.contributor
            )
            editions = self.v.array(
                d.get("editions", []),
                f"{path}.editions",
                lambda x, p: self.edition(x, p, slug, vendor_slugs),
            )
            if "editions" in d and not editions and isinstance(d["editions"], list):
                self.v.error(f"{path}.editions", "must list at least one edition")
            self.unique(editions, f"{path}.editions", lambda e: e.format, "format", "format")
            offers = [o for e in editions for o in e.offers]
            self.unique(offers, f"{path}.editions", lambda o: o.slug, "offer slug", None)
            for e in editions:
                if sum(o.preferred for o in e.offers) > 1:
                    self.v.error(
                        f"{path}.editions",
                        f"the {e.format} edition has more than one preferred offer",
                    )
            quotes = self.v.array(d.get("quotes", []), f"{path}.quotes", self.quote)
            series = None
            if "series" in d:
                s = self.v.table(
                    d["series"],
                    f"{path}.series",
                    {"name": (_text, True), "position": (_positive_int, False)},
                )
                if s and "name" in s:
                    series = Series(name=s["name"], position=s.get("position"))
            if not {"slug", "title", "authors", "description"} <= d.keys():
                return None
            description = d["description"]
            return Book(
                slug=slug,
                title=d["title"],
                subtitle=d.get("subtitle"),
                authors=d["authors"],
                contributors=tuple(contributors),
                description=description,
                pitch=d.get("pitch") or description.split(". ")[0].rstrip(".") + ".",
                language=d.get("language") or (site.language if site else "en"),
                editions=tuple(editions),
                quotes=tuple(quotes),
                cover=d.get("cover"),
                series=series,
                publisher=d.get("publisher"),
                published=d.get("published"),
                sample_chapter=d.get("sample_chapter"),
                rights=d.get("rights"),
            )

        books = self.v.array(data, "books", book)
        self.unique(books, "books", lambda b: b.slug, "book slug")
        return books

    def contributor(self, item: Any, path: str) -> Contributor | None:
        d = self.v.table(
            item, path, {"name": (_text, True), "role": (_choice(CONTRIBUTOR_ROLES), True)}
        )
        if not d or not {"name", "role"} <= d.keys():
            return None
        return Contributor(name=d["name"], role=d["role"])

    def quote(self, item: Any, path: str) -> Quote | None:
        d = self.v.table(
            item,
            path,
            {
                "text": (_text, True),
                "source": (_text, True),
                "url": (_http_url, False),
                "featured": (_bool, False),
            },
        )
        if not d or not {"text", "source"} <= d.keys():
            return None
        return Quote(
            text=d["text"], source=d["source"], url=d.get("url"), featured=d.get("featured", False)
        )

    def edition(self, item: Any, path: str, book: str, vendors: set[str]) -> Edition | None:
        d = self.v.table(
            item,
            path,
            {
                "format": (_choice(FORMATS), True),
                "isbn": (_isbn, False),
                "narrator": (_text, False),
                "duration_minutes": (_positive_int, False),
                "pages": (_positive_int, False),
                "published": (_date, False),
                "offers": (_identity, True),
            },
        )
        if not d or "format" not in d:
            return None
        fmt = d["format"]
        if fmt != "audiobook":
            for key in ("narrator", "duration_minutes"):
                if key in d:
                    self.v.error(
                        f"{path}.{key}", f"only an audiobook has a {key.replace('_', ' ')}"
                    )
        offers = self.v.array(
            d.get("offers", []), f"{path}.offers", lambda x, p: self.offer(x, p, book, fmt, vendors)
        )
        return Edition(
            format=fmt,
            isbn=d.get("isbn"),
            offers=tuple(offers),
            narrator=d.get("narrator"),
            duration_minutes=d.get("duration_minutes"),
            pages=d.get("pages"),
            published=d.get("published"),
        )

    def offer(self, item: Any, path: str, book: str, fmt: str, vendors: set[str]) -> Offer | None:
        d = self.v.table(
            item,
            path,
            {
                "slug": (_slug, False),
                "vendor": (_slug, True),
                "url": (_http_url, True),
                "price": (_decimal, False),
                "currency": (_currency, True),
                "preferred": (_bool, False),
                "reason": (_text, False),
                "note": (_text, False),
                "countries": (_identity, False),
            },
        )
        if d is None:
            return None
        ok = {"vendor", "url", "currency"} <= d.keys()
        if "vendor" in d and d["vendor"] not in vendors:
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
        countries = self.country_map(d.get("countries", {}), f"{path}.countries", _http_url)
        if not ok:
            return None
        return Offer(
            slug=d.get("slug") or f"{d['vendor']}-{fmt}",
            book=book,
            format=fmt,
            vendor=d["vendor"],
            url=d["url"],
            price=d.get("price"),
            currency=d["currency"],
            preferred=d.get("preferred", False),
            reason=d.get("reason"),
            note=d.get("note"),
            countries=countries,
        )

    def money_ok(self, amount: Decimal, currency: str, path: str) -> bool:
        if amount < 0:
            self.v.error(path, f"'{amount}' is negative")
            return False
        places = _money_places(currency)
        if -amount.as_tuple().exponent > places and amount != amount.quantize(
            Decimal(1).scaleb(-places)
        ):
            self.v.error(path, f"'{amount}' has more than {places} decimals for {currency}")
            return False
        return True

    # -- campaigns and support

    def campaigns(
        self, data: Any, site_tz: ZoneInfo, books: list[Book], vendors: list[Vendor]
    ) -> list[Campaign]:
        book_slugs = {b.slug for b in books}
        vendor_slugs = {x.slug for x in vendors}
        offer_keys = {f"{o.book}/{o.slug}" for b in books for o in b.offers}
        currencies = {o.currency for b in books for o in b.offers}

        def campaign(item: Any, path: str) -> Campaign | None:
            d = self.v.table(
                item,
                path,
                {
                    "slug": (_slug, True),
                    "name": (_text, True),
                    "headline": (_text, False),
                    "kind": (_choice(CAMPAIGN_KINDS), False),
                    "timezone": (_timezone, False),
                    "starts": (_identity, True),
                    "ends": (_identity, True),
                    "percent_off": (_decimal, False),
                    "sale_price": (_decimal, False),
                    "books": (_strings(_slug), False),
                    "formats": (_strings(_choice(FORMATS)), False),
                    "vendors": (_strings(_slug), False),
                    "offers": (_strings(_text), False),
                    "message": (_text, False),
                },
            )
            if not d or not {"slug", "name", "starts", "ends"} <= d.keys():
                return None
            tz = ZoneInfo(d["timezone"]) if "timezone" in d else site_tz
            starts = ends = None
            for key, end_of_day in (("starts", False), ("ends", True)):
                try:
                    instant = _instant(d[key], tz, end_of_day=end_of_day)
                except Invalid as exc:
                    self.v.error(f"{path}.{key}", str(exc))
                    continue
                if key == "starts":
                    starts = instant
                else:
                    ends = instant
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
                for currency in sorted(currencies) or ["USD"]:
                    if not self.money_ok(sale, currency, f"{path}.sale_price"):
                        break
            for key, known, what in (
                ("books", book_slugs, "book"),
                ("vendors", vendor_slugs, "vendor"),
                ("offers", offer_keys, "offer"),
            ):
                for i, ref in enumerate(d.get(key, ())):
                    if ref not in known:
                        hint = (
                            " (write offers as 'book/offer')"
                            if key == "offers" and "/" not in ref
                            else ""
                        )
                        self.v.error(f"{path}.{key}[{i}]", f"unknown {what} '{ref}'{hint}")
            return Campaign(
                slug=d["slug"],
                name=d["name"],
                headline=d.get("headline", d["name"]),
                kind=kind,
                starts=starts or datetime.min.replace(tzinfo=tz),
                ends=ends or datetime.min.replace(tzinfo=tz),
                percent_off=pct,
                sale_price=sale,
                books=d.get("books", ()),
                formats=d.get("formats", ()),
                vendors=d.get("vendors", ()),
                offers=d.get("offers", ()),
                message=d.get("message"),
            )

        campaigns = self.v.array(data, "campaigns", campaign)
        self.unique(campaigns, "campaigns", lambda c: c.slug, "campaign slug")
        return campaigns

    def support(self, data: Any) -> list[SupportMethod]:
        def method(item: Any, path: str) -> SupportMethod | None:
            d = self.v.table(
                item,
                path,
                {
                    "slug": (_slug, True),
                    "name": (_text, True),
                    "note": (_text, False),
                    "url": (_http_url, False),
                    "payable_to": (_text, False),
                    "address": (_strings(_text), False),
                },
            )
            if not d or not {"slug", "name"} <= d.keys():
                return None
            return SupportMethod(
                slug=d["slug"],
                name=d["name"],
                note=d.get("note"),
                url=d.get("url"),
                payable_to=d.get("payable_to"),
                address=d.get("address", ()),
            )

        methods = self.v.array(data, "support", method)
        self.unique(methods, "support", lambda m: m.slug, "support slug")
        return methods

    # -- helpers

    def file_path(self, types: Mapping[str, str]) -> Converter:
        def convert(value: Any, path: str) -> Path:
            text = _text(value, path)
            if "://" in text:
                raise Invalid(f"'{text}' must be a file next to the catalog, not a URL")
            resolved = (self.base / text).resolve()
            if resolved.suffix.lower() not in types:
                raise Invalid(f"'{text}' must be one of: {', '.join(sorted(types))}")
            if not resolved.is_file():
                raise Invalid(f"file '{text}' not found (looked in {self.base})")
            return resolved

        return convert

    def text_file(self, types: Mapping[str, str]) -> Converter:
        """Like :meth:`file_path`, and the file must hold UTF-8 text that is not blank."""
        find = self.file_path(types)

        def convert(value: Any, path: str) -> Path:
            resolved = find(value, path)
            try:
                text = resolved.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise Invalid(f"file '{value}' is not UTF-8 text") from None
            except OSError as exc:
                raise Invalid(f"file '{value}': {exc.strerror or exc}") from None
            if not text.strip():
                raise Invalid(f"file '{value}' is empty")
            return resolved

        return convert

    def unique(
        self,
        items: list,
        path: str,
        key: Callable[[Any], str],
        what: str,
        field: str | None = "slug",
    ) -> None:
        """Report the second and later items whose ``key`` repeats an earlier one."""
        seen: set[str] = set()
        for i, item in enumerate(items):
            k = key(item)
            if k in seen:
                where = f"{path}[{i}].{field}" if field else path
                self.v.error(where, f"duplicate {what} '{k}'")
            seen.add(k)


def _frame_ancestor(value: Any, path: str) -> str:
    text = _text(value, path)
    if text in ("*", "'self'", "'none'"):
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise Invalid(
            f"'{text}' is not an origin such as https://example.com, '*', \"'self'\" or \"'none'\""
        )
    return f"{parts.scheme}://{parts.netloc}"


def parse_catalog(text: str, path: Path) -> Catalog:
    """Validate catalog ``text`` (read from ``path``) and build the model."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(m.group(1)) if m else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise CatalogError(
            [CatalogProblem(path.name, line, "", f"TOML syntax error: {message}")]
        ) from None
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    return _CatalogReader(path, data, build_line_map(text)).read(version)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate the catalog at ``path`` (default: the built-in one)."""
    path = Path(path) if path else builtin_catalog_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError([CatalogProblem(str(path), None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise CatalogError(
            [CatalogProblem(path.name, None, "", f"not UTF-8 text: {exc}")]
        ) from None
    except OSError as exc:
        raise CatalogError(
            [CatalogProblem(str(path), None, "", exc.strerror or str(exc))]
        ) from None
    return parse_catalog(text, path.resolve())


def iter_urls(catalog: Catalog) -> Iterator[tuple[str, str]]:
    """Yield (key path, URL) for every URL in the catalog, for the link checker."""
    for b in catalog.books:
        for o in b.offers:
            yield f"{b.slug}/{o.slug}", o.url
            for country, url in o.countries.items():
                yield f"{b.slug}/{o.slug}[{country}]", url
        for i, q in enumerate(b.quotes):
            if q.url:
                yield f"{b.slug}/quotes[{i}]", q.url
    for m in catalog.support:
        if m.url:
            yield f"support/{m.slug}", m.url
