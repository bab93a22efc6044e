"""What each catalog table holds, as form fields (label, input kind, help).

The keys and their meaning are the catalog's (``storefront.catalog`` validates
them); this module only says how the desk shows each one. A table kind is found
from its key path: ``books[0].editions[1].offers[2]`` is an offer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..catalog import CAMPAIGN_KINDS, CONTRIBUTOR_ROLES, FORMATS


@dataclass(frozen=True)
class Field:
    key: str  # dotted for a sub-table: "affiliate.param"
    label: str
    kind: str = "text"  # text, textarea, url, bool, choice, list, lines, map, int, decimal, when
    help: str = ""
    choices: tuple[str, ...] = ()
    required: bool = False

    @property
    def id(self) -> str:
        return "f-" + self.key.replace(".", "-")


SITE = (
    Field("title", "Site title", required=True),
    Field("author", "Author", required=True),
    Field("description", "Description", "textarea"),
    Field("language", "Language", help="A language code such as en or en-GB."),
    Field("locale", "Locale", help="How money and dates are written, e.g. en_US."),
    Field("timezone", "Time zone", help="Campaign dates without an offset are read here."),
    Field("default_country", "Default country", help="Two letters, e.g. US."),
    Field("base_url", "Public address", "url", help="e.g. https://books.example.com"),
    Field("affiliate_disclosure", "Affiliate disclosure", "textarea"),
    Field("frame_ancestors", "Sites that may frame the card", "lines", help="One per line."),
    Field(
        "postal_address",
        "Postal address",
        "lines",
        help="One line per line; printed at the foot of every e-mail to readers.",
    ),
    Field(
        "fonts",
        "Fonts for other scripts",
        "map",
        help="One per line: Arab = fonts/NotoNaskhArabic.ttf (a file next to the catalog) "
        "or a font family name.",
    ),
)

VENDOR = (
    Field("slug", "Slug", required=True, help="Lower-case letters, digits and dashes."),
    Field("name", "Name", required=True),
    Field("search_url", "Search URL", "url", help="With {query} where the title goes."),
    Field(
        "country_search",
        "Country search URLs",
        "map",
        help="One per line: GB = https://…{query}",
    ),
    Field("affiliate.param", "Affiliate parameter", help="The query parameter, e.g. tag."),
    Field(
        "affiliate.tags",
        "Affiliate tags",
        "map",
        help="One per line: default = yourtag-20, GB = yourtag-21",
    ),
)

BOOK = (
    Field("slug", "Slug", required=True, help="Lower-case letters, digits and dashes."),
    Field("title", "Title", required=True),
    Field("subtitle", "Subtitle"),
    Field("authors", "Authors", "lines", required=True, help="One per line."),
    Field(
        "contributors",
        "Contributors",
        "lines",
        help="One per line as role: name, e.g. foreword: Valerie Anders. Roles: "
        + ", ".join(CONTRIBUTOR_ROLES)
        + ".",
    ),
    Field("description", "Description", "textarea", required=True),
    Field("pitch", "One-line pitch"),
    Field("language", "Language"),
    Field("publisher", "Publisher"),
    Field("published", "Published", "when", help="A date such as 1998-10-01."),
    Field("year", "Year", "int", help="When only the year is known, e.g. 2003."),
    Field("by", "Author slugs", "lines", help="[[authors]] slugs, one per line; empty: by name."),
    Field("rights", "Rights"),
    Field("series.name", "Series"),
    Field("series.position", "Number in the series", "int"),
    Field("cover", "Cover file", help="Set by uploading a cover below."),
    Field("sample_chapter", "Sample chapter file", help="Markdown next to the catalog."),
)

EDITION = (
    Field("format", "Format", "choice", choices=FORMATS, required=True),
    Field("isbn", "ISBN"),
    Field("pages", "Pages", "int"),
    Field("published", "Published", "when"),
    Field("narrator", "Narrator", help="Audiobooks only."),
    Field("duration_minutes", "Length in minutes", "int", help="Audiobooks only."),
    Field(
        "audio_sample",
        "Audio sample file",
        help="Audiobooks only: MP3, M4A or Ogg next to the catalog.",
    ),
    Field(
        "transcript", "Sample transcript", "textarea", help="Audiobooks only: the sample's words."
    ),
)

OFFER = (
    Field("slug", "Slug", help="Lower-case letters, digits and dashes."),
    Field("vendor", "Store", "choice", required=True),
    Field("url", "Store page URL", "url", required=True),
    Field("price", "List price", "decimal", help="Empty: the store shows its price."),
    Field("currency", "Currency", required=True, help="ISO code, e.g. USD."),
    Field("preferred", "The author's preferred store for this format", "bool"),
    Field("reason", "Why readers should prefer it", "textarea"),
    Field("note", "Note shown with the offer"),
    Field("countries", "Country stores", "map", help="One per line: GB = https://…"),
)

QUOTE = (
    Field("text", "Quote", "textarea", required=True),
    Field("source", "Source", required=True),
    Field("url", "Source URL", "url"),
    Field("featured", "Featured quote", "bool"),
    Field("language", "Language", help="Empty: read from the text, e.g. de."),
)

SUPPORT = (
    Field("slug", "Slug", required=True),
    Field("name", "Name", required=True),
    Field("note", "Note", "textarea"),
    Field("url", "URL", "url"),
    Field("payable_to", "Payable to"),
    Field("address", "Postal address", "lines", help="One line per line of the address."),
)

AUTHOR = (
    Field("slug", "Slug", required=True, help="Lower-case letters, digits and dashes."),
    Field("name", "Name", required=True),
    Field(
        "bio",
        "Short bio",
        "textarea",
        help="About 50 words: the shelf, the card and the press kit's short bio.",
    ),
    Field("long_bio", "Long bio", "textarea", help="The author page and the press kit."),
    Field("photo", "Photo file", help="Set by uploading a photo below."),
    Field("links", "Links", "lines", help="One URL per line: blog, Patreon…"),
    Field("press_email", "Press contact e-mail", help="Shown in the press kit."),
    Field("press_url", "Press contact page", "url", help="Shown in the press kit."),
)

CAMPAIGN = (
    Field("slug", "Slug", required=True, help="Lower-case letters, digits and dashes."),
    Field("name", "Name", required=True),
    Field("headline", "Headline", help="Shown on pages, cards and flyers."),
    Field("kind", "Kind", "choice", choices=CAMPAIGN_KINDS, help="Not set: a sale."),
    Field(
        "starts",
        "Starts",
        "when",
        required=True,
        help="A date (midnight in the site's time zone) or 2026-12-21T09:00-07:00.",
    ),
    Field(
        "ends",
        "Ends",
        "when",
        required=True,
        help="A date includes that whole day; a time is the first instant it is over.",
    ),
    Field("timezone", "Time zone", help="Empty: the site's."),
    Field("percent_off", "Percent off", "decimal", help="A sale sets this or a sale price."),
    Field("sale_price", "Sale price", "decimal"),
    Field("books", "Books", "checks", help="None ticked: every book."),
    Field("formats", "Formats", "checks", choices=FORMATS, help="None ticked: every format."),
    Field("vendors", "Stores", "checks", help="None ticked: every store."),
    Field("offers", "Only these offers", "lines", help="One per line as book/offer."),
    Field("message", "Message", "textarea", help="For fund-raisers."),
)

KINDS = {
    "site": SITE,
    "vendor": VENDOR,
    "author": AUTHOR,
    "book": BOOK,
    "edition": EDITION,
    "offer": OFFER,
    "quote": QUOTE,
    "support": SUPPORT,
    "campaign": CAMPAIGN,
}

TITLES = {
    "site": "Site settings",
    "vendor": "Store",
    "author": "Author",
    "book": "Book",
    "edition": "Edition",
    "offer": "Offer",
    "quote": "Quote",
    "support": "Way to support",
    "campaign": "Campaign",
}

# Where the items of each kind live: the array's path (a regular expression) -> their kind.
_ARRAY_PATHS = (
    (r"vendors", "vendor"),
    (r"authors", "author"),
    (r"books", "book"),
    (r"books\[\d+\]\.editions", "edition"),
    (r"books\[\d+\]\.editions\[\d+\]\.offers", "offer"),
    (r"books\[\d+\]\.quotes", "quote"),
    (r"support", "support"),
    (r"campaigns", "campaign"),
)

# Where new items go: the array path -> the kind of its items.
ARRAYS = tuple((re.compile(rf"^{path}$"), kind) for path, kind in _ARRAY_PATHS)

# A table's path -> its kind: the site, or an item of one of the arrays.
_PATTERNS = (
    (re.compile(r"^site$"), "site"),
    *((re.compile(rf"^{path}\[\d+\]$"), kind) for path, kind in _ARRAY_PATHS),
)


def kind_of(path: str) -> str | None:
    """The kind of table at ``path`` (``site``, ``book``, ``offer``…), or None."""
    return next((kind for pattern, kind in _PATTERNS if pattern.match(path)), None)


def array_kind(path: str) -> str | None:
    """The kind of the items of the array at ``path``, or None."""
    return next((kind for pattern, kind in ARRAYS if pattern.match(path)), None)


def field_for(fields: tuple[Field, ...], rest: str) -> Field | None:
    """The field a problem at ``rest`` (a path inside the table) belongs to."""
    best = None
    for f in fields:
        if rest == f.key or rest.startswith(f.key + ".") or rest.startswith(f.key + "["):
            if best is None or len(f.key) > len(best.key):
                best = f
    return best
