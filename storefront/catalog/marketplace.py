"""Store marketplaces by domain: which country's store a URL is, whatever the reader's country.

Affiliate programmes are per marketplace: an Amazon Associates tag earns only
on the store it was issued for (``yourtag-20`` on amazon.com, ``yourtag-21``
on amazon.co.uk, ``yourtag-22`` on amazon.co.jp...). So the tag a click
carries is chosen by the *destination's* domain (:func:`marketplace_of`), not
by where the reader is.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# Every Amazon storefront, by registrable domain.
AMAZON = {
    "amazon.com": "US",
    "amazon.ca": "CA",
    "amazon.com.mx": "MX",
    "amazon.com.br": "BR",
    "amazon.co.uk": "GB",
    "amazon.ie": "IE",
    "amazon.de": "DE",
    "amazon.fr": "FR",
    "amazon.it": "IT",
    "amazon.es": "ES",
    "amazon.nl": "NL",
    "amazon.com.be": "BE",
    "amazon.se": "SE",
    "amazon.pl": "PL",
    "amazon.com.tr": "TR",
    "amazon.ae": "AE",
    "amazon.sa": "SA",
    "amazon.eg": "EG",
    "amazon.in": "IN",
    "amazon.co.jp": "JP",
    "amazon.sg": "SG",
    "amazon.com.au": "AU",
    "amazon.cn": "CN",
    "amazon.co.za": "ZA",
}
# Audible's stores (their affiliate links also go through Amazon Associates).
AUDIBLE = {
    "audible.com": "US",
    "audible.ca": "CA",
    "audible.com.br": "BR",
    "audible.co.uk": "GB",
    "audible.de": "DE",
    "audible.fr": "FR",
    "audible.it": "IT",
    "audible.es": "ES",
    "audible.in": "IN",
    "audible.co.jp": "JP",
    "audible.com.au": "AU",
}
MARKETPLACES = {**AMAZON, **AUDIBLE}


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _domain(host: str, table: dict[str, str]) -> str | None:
    """The entry of ``table`` that ``host`` is (``amazon.de``) or is under (``www.amazon.de``)."""
    labels = host.split(".")
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        if candidate in table:
            return candidate
    return None


def marketplace_of(url: str) -> str | None:
    """The country of the Amazon or Audible store ``url`` is on, or None for any other site."""
    domain = _domain(_host(url), MARKETPLACES)
    return MARKETPLACES[domain] if domain else None


def is_amazon(url: str) -> bool:
    """Whether ``url`` is on an Amazon storefront (not merely a name containing "amazon")."""
    return _domain(_host(url), AMAZON) is not None
