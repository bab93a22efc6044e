"""Converters: check one TOML value and return it in the model's type.

A converter is ``convert(value, path) -> converted`` and raises
:class:`~storefront.catalog.errors.Invalid` with a message saying what is wrong
(the reader adds file, line and key path). :class:`FileField` is the one kind
that needs the catalog's folder: the reader binds it with :meth:`FileField.bind`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_precision, list_currencies

from .errors import Invalid
from .header import check_ancestor_list, check_url_host, csp_ancestor_source
from .territory import COUNTRIES, GROUPS, territory_problem

Converter = Callable[[Any, str], Any]

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_CURRENCIES = frozenset(list_currencies())
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab and line feed are text
_SPACE = re.compile(r"\s")


def type_name(value: Any) -> str:
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


def raw(value: Any, path: str) -> Any:
    """Keep the value as TOML gave it: the reader checks it with its context."""
    return value


def text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {type_name(value)}")
    stripped = value.strip()
    if not stripped:
        raise Invalid("must not be empty")
    if _CONTROL.search(stripped):
        raise Invalid("contains control characters")
    return stripped


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {type_name(value)}")
    return value


def positive_int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"expected a whole number, got {type_name(value)}")
    if value <= 0:
        raise Invalid(f"{value} must be greater than 0")
    return value


def slug(value: Any, path: str) -> str:
    result = text(value, path)
    if not SLUG_RE.match(result):
        raise Invalid(
            f"'{result}' is not a slug (lower-case letters, digits and inner hyphens, at most 64)"
        )
    return result


def choice(options: tuple[str, ...]) -> Converter:
    def convert(value: Any, path: str) -> str:
        result = text(value, path)
        if result not in options:
            raise Invalid(f"'{result}' is not one of: {', '.join(options)}")
        return result

    return convert


def http_url(value: Any, path: str) -> str:
    result = text(value, path)
    if _SPACE.search(result):
        raise Invalid(f"'{result}' contains spaces")
    try:
        parts = urlsplit(result)
    except ValueError:  # an unbalanced [ or ] around an IPv6 host
        raise Invalid(f"'{result}' is not an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"'{result}' is not an http(s) URL")
    check_url_host(result, parts)
    return result


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
# The local part people use (no "?" or "&": it goes into a mailto: link as it is).
_EMAIL = re.compile(rf"^[A-Za-z0-9._%+-]+@{_LABEL}(?:\.{_LABEL})+$")


def email(value: Any, path: str) -> str:
    """An e-mail address as people write it (``press@example.com``); no DNS lookup."""
    result = text(value, path)
    if len(result) > 254 or not _EMAIL.match(result):
        raise Invalid(f"'{result}' is not an e-mail address (e.g. press@example.com)")
    return result


def search_template(value: Any, path: str) -> str:
    result = http_url(value, path)
    if "{query}" not in result:
        raise Invalid(f"'{result}' has no {{query}} placeholder for the title")
    return result


def currency(value: Any, path: str) -> str:
    result = text(value, path)
    if result not in _CURRENCIES:
        raise Invalid(f"'{result}' is not an ISO 4217 currency code")
    return result


def country(value: Any, path: str) -> str:
    """One ISO 3166 country (a reader's, a site's default): never a group."""
    code = text(value, path).upper()
    if code in GROUPS:
        raise Invalid(f"'{value}' is a group of countries: name one country")
    if code not in COUNTRIES:
        raise Invalid(f"'{value}' is not an ISO 3166 country code")
    return code


def territory(value: Any, path: str) -> str:
    """A key of a territory map: a country or a group from ``territory.GROUPS``."""
    code = text(value, path).upper()
    problem = territory_problem(code)
    if problem:
        raise Invalid(problem.replace(f"'{code}'", f"'{value}'", 1))
    return code


def decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, bool):
        raise Invalid("expected a number, got a boolean")
    if isinstance(value, int | Decimal):
        # TOML's bare floats arrive as Decimal read from the source text (parse_float=Decimal):
        # `2.99` is exactly 2.99. Its `nan` and `inf` are refused like the strings.
        number = Decimal(value)
        if not number.is_finite():
            raise Invalid(f"'{value}' is not a finite number")
        return number
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise Invalid(f"'{value}' is not a number") from None
        if not number.is_finite():
            raise Invalid(f"'{value}' is not a finite number")
        return number
    raise Invalid(f"expected a number, got {type_name(value)}")


def money_places(code: str) -> int:
    return get_currency_precision(code)


def isbn(value: Any, path: str) -> str:
    digits = text(value, path).replace("-", "").replace(" ", "")
    if len(digits) == 13 and digits.isdigit():
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
        check = str((10 - total % 10) % 10)
        if check != digits[12]:
            raise Invalid(_wrong_check_digit(value, digits[12], check))
        return digits
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] in "Xx"):
        total = sum((10 - i) * int(d) for i, d in enumerate(digits[:9]))
        check = (11 - total % 11) % 11
        expected = "X" if check == 10 else str(check)
        if expected != digits[9].upper():
            raise Invalid(_wrong_check_digit(value, digits[9], expected))
        return digits.upper()
    raise Invalid(f"'{value}' is not an ISBN-10 or ISBN-13")


def _wrong_check_digit(value: Any, found: str, expected: str) -> str:
    return (
        f"'{value}' has a wrong check digit: the last character is {found}, but the digits "
        f"before it make it {expected} (a typo in those digits gives the same error: copy the "
        "ISBN from the book's imprint page)"
    )


def language(value: Any, path: str) -> str:
    result = text(value, path)
    try:
        Locale.parse(result.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        raise Invalid(f"'{result}' is not a language tag such as 'en' or 'en-US'") from None
    return result


def locale(value: Any, path: str) -> str:
    """A language tag, written the way Babel names locales (``en_US``)."""
    return language(value, path).replace("-", "_")


def timezone(value: Any, path: str) -> str:
    result = text(value, path)
    try:
        ZoneInfo(result)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"'{result}' is not an IANA time zone such as 'America/Phoenix'") from None
    return result


def a_date(value: Any, path: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(f"'{value}' is not a date (YYYY-MM-DD)") from None
    raise Invalid(f"expected a date, got {type_name(value)}")


def instant(value: Any, tz: ZoneInfo, *, end_of_day: bool) -> datetime:
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
    raise Invalid(f"expected a date or datetime, got {type_name(value)}")


def strings(convert: Converter) -> Converter:
    """An array whose every item passes ``convert``, as a tuple."""

    def convert_all(value: Any, path: str) -> tuple:
        if not isinstance(value, list):
            raise Invalid(f"expected an array, got {type_name(value)}")
        out = []
        for i, item in enumerate(value):
            try:
                out.append(convert(item, f"{path}[{i}]"))
            except Invalid as exc:
                raise Invalid(f"item {i + 1}: {exc}") from None
        return tuple(out)

    return convert_all


def frame_ancestor(value: Any, path: str) -> str:
    """One source of the card's ``frame-ancestors`` (see ``header.csp_ancestor_source``)."""
    return csp_ancestor_source(text(value, path))


def frame_ancestors(value: Any, path: str) -> tuple[str, ...]:
    return check_ancestor_list(strings(frame_ancestor)(value, path))


def font_table(value: Any, path: str) -> dict[str, str]:
    """``[site.fonts]``: ISO 15924 script code -> a font file next to the catalog or a family.

    Whether the file or family exists and what it covers is checked by ``storefront check``
    (``widgets.typefaces.font_problems``), which knows fonts.
    """
    if not isinstance(value, dict):
        raise Invalid(f"expected a table, got {type_name(value)}")
    out = {}
    for script, font in value.items():
        if not re.fullmatch(r"[A-Z][a-z]{3}", script):
            raise Invalid(f"'{script}' is not an ISO 15924 script code (e.g. Arab, Jpan)")
        try:
            out[script] = text(font, f"{path}.{script}")
        except Invalid as exc:
            raise Invalid(f"{script}: {exc}") from None
    return out


class FileField:
    """A file next to the catalog, with one of ``types``' suffixes (suffix -> media type).

    With ``utf8_text=True`` the file must also hold UTF-8 text that is not blank.
    """

    def __init__(self, types: Mapping[str, str], *, utf8_text: bool = False):
        self.types = types
        self.utf8_text = utf8_text

    def bind(self, base: Path) -> Converter:
        def convert(value: Any, path: str) -> Path:
            name = text(value, path)
            if "://" in name:
                raise Invalid(f"'{name}' must be a file next to the catalog, not a URL")
            resolved = (base / name).resolve()
            if not resolved.is_relative_to(base.resolve()):
                # Catalog files are served to readers: never one from elsewhere on the disk.
                raise Invalid(f"'{name}' is outside the catalog's folder")
            if resolved.suffix.lower() not in self.types:
                raise Invalid(f"'{name}' must be one of: {', '.join(sorted(self.types))}")
            if not resolved.is_file():
                raise Invalid(f"file '{name}' not found (looked in {base})")
            if self.utf8_text:
                try:
                    content = resolved.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    raise Invalid(f"file '{value}' is not UTF-8 text") from None
                except OSError as exc:
                    raise Invalid(f"file '{value}': {exc.strerror or exc}") from None
                if not content.strip():
                    raise Invalid(f"file '{value}' is empty")
            return resolved

        return convert
