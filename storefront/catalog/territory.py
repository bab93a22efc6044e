"""The one set of territories: what the catalog may name and what a reader can be in.

A reader is always in one *country* (an ISO 3166 code from CLDR, via Babel). A
catalog map keyed by territory (an offer's ``countries``, a vendor's
``country_search``, affiliate ``tags``) may also name a *group* of countries
from :data:`GROUPS`; :func:`lookup` is the one rule that picks an entry for a
reader, used by the validator's vocabulary and the store chooser alike:

1. the reader's own country, when the map names it;
2. else the first group (in :data:`GROUPS` order) that contains the country.

So ``countries.EU`` sends a reader in France to that store, and
``countries.FR`` next to it still wins for France.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from babel import Locale

# Groups a catalog may name, with their members. The EU's 27 member states.
GROUPS: Mapping[str, frozenset[str]] = {
    "EU": frozenset(
        "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
    ),
}

# Two-letter codes CLDR lists that are not one country: groupings it knows but
# Storefront does not resolve (EZ: the euro area, UN, QO: outlying Oceania),
# pseudo-locales (XA, XB) and "unknown region" (ZZ).
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})

COUNTRIES = frozenset(
    code
    for code in Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
)
TERRITORIES = COUNTRIES | frozenset(GROUPS)

_V = TypeVar("_V")


def country_code(value: str | None) -> str | None:
    """``value`` as an upper-case ISO 3166 country code, or None (groups and ``XX`` are None)."""
    code = (value or "").strip().upper()
    return code if code in COUNTRIES else None


def territory_problem(code: str) -> str | None:
    """Why ``code`` (upper case) cannot key a catalog map, or None when it can."""
    if code in TERRITORIES:
        return None
    if code in NOT_COUNTRIES:
        known = ", ".join(sorted(GROUPS))
        return f"'{code}' is a group Storefront does not resolve (groups it does: {known})"
    return f"'{code}' is not an ISO 3166 country code"


def groups_of(country: str) -> tuple[str, ...]:
    """The groups from :data:`GROUPS` that contain ``country``, in their order."""
    return tuple(name for name, members in GROUPS.items() if country in members)


def lookup(mapping: Mapping[str, _V], country: str | None) -> tuple[str, _V] | None:
    """The ``(key, value)`` of ``mapping`` that serves a reader in ``country``, or None.

    The country itself first, then the groups containing it (module docstring).
    """
    if not country:
        return None
    for key in (country, *groups_of(country)):
        if key in mapping:
            return key, mapping[key]
    return None
