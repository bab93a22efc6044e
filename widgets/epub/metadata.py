"""The package metadata of a sample: identifier, title, language, creators, rights, a11y.

The second step of a build (Sphinx's ``content.opf`` metadata): everything the
OPF says about the book, set on an ebooklib ``EpubBook`` through its public API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from ebooklib import epub

from storefront.catalog import Book, Catalog
from storefront.credits import join_names
from storefront.urls import Urls

# MARC relator codes for the OPF (https://id.loc.gov/vocabulary/relators).
MARC_ROLES = {
    "author": "aut",
    "foreword": "wfw",
    "introduction": "win",
    "afterword": "aft",
    "editor": "edt",
    "illustrator": "ill",
    "translator": "trl",
    "narrator": "nrt",
    "contributor": "ctb",
}
ACCESSIBILITY = (
    ("schema:accessMode", "textual"),
    ("schema:accessMode", "visual"),
    ("schema:accessModeSufficient", "textual"),
    ("schema:accessibilityFeature", "alternativeText"),
    ("schema:accessibilityFeature", "readingOrder"),
    ("schema:accessibilityFeature", "structuralNavigation"),
    ("schema:accessibilityFeature", "tableOfContents"),
    ("schema:accessibilityFeature", "displayTransformability"),
    ("schema:accessibilityHazard", "none"),
)
ACCESSIBILITY_SUMMARY = (
    "A short sample in reading order with headings and a table of contents. Every image "
    "(the cover, pictures in the chapter and the QR code) has a text alternative, and every "
    "link is also written out as text. No audio, video, animation or script."
)


@dataclass(frozen=True)
class Imprint:
    """Who publishes the sample, when, and under which rights statement."""

    publisher: str
    date: str
    rights: str
    rights_language: str


def sample_identifier(book: Book, urls: Urls) -> str:
    """A stable identifier per book: a UUID named by the sample's public URL."""
    return uuid.uuid5(uuid.NAMESPACE_URL, urls.sample(book.slug, absolute=True)).urn


def imprint(catalog: Catalog, book: Book, stamp: datetime) -> Imprint:
    return Imprint(
        publisher=book.publisher or catalog.site.title,
        date=(book.published or stamp.date()).isoformat(),
        rights=book.rights
        or f"Copyright © {join_names(book.authors, catalog.site.locale)}. All rights reserved.",
        rights_language=book.language if book.rights else catalog.site.language,
    )


def set_metadata(
    ebook: epub.EpubBook, book: Book, urls: Urls, facts: Imprint, direction: str
) -> None:
    """Fill the OPF metadata of ``ebook`` (``dc:*``, roles, series, accessibility)."""
    ebook.set_identifier(sample_identifier(book, urls))
    ebook.set_title(f"{book.full_title} (free sample)")
    ebook.set_language(book.language)  # Send-to-Kindle refuses a book without dc:language
    if direction == "rtl":
        ebook.set_direction("rtl")
    _set_creators(ebook, book)
    ebook.add_metadata("DC", "publisher", facts.publisher)
    ebook.add_metadata("DC", "date", facts.date)
    ebook.add_metadata("DC", "description", book.description)
    ebook.add_metadata("DC", "rights", facts.rights)
    ebook_edition = book.edition("ebook")
    if ebook_edition is not None and ebook_edition.isbn:
        ebook.add_metadata("DC", "source", f"urn:isbn:{ebook_edition.isbn}")
    if book.series is not None:
        ebook.add_metadata(
            None, "meta", book.series.name, {"property": "belongs-to-collection", "id": "series"}
        )
        ebook.add_metadata(
            None, "meta", "series", {"refines": "#series", "property": "collection-type"}
        )
        if book.series.position:
            position = {"refines": "#series", "property": "group-position"}
            ebook.add_metadata(None, "meta", str(book.series.position), position)
    for prop, value in ACCESSIBILITY:
        ebook.add_metadata(None, "meta", value, {"property": prop})
    ebook.add_metadata(
        None, "meta", ACCESSIBILITY_SUMMARY, {"property": "schema:accessibilitySummary"}
    )


def _set_creators(ebook: epub.EpubBook, book: Book) -> None:
    creators = [(name, "author") for name in book.authors]
    creators += [(c.name, c.role) for c in book.contributors if c.role == "author"]
    for i, (name, role) in enumerate(creators, start=1):
        # Each creator needs its own id, or the role refines the wrong one.
        ebook.add_author(name, role=MARC_ROLES[role], uid=f"creator-{i}")
    others = [c for c in book.contributors if c.role != "author"]
    for i, contributor in enumerate(others, start=1):
        uid = f"contributor-{i}"
        ebook.add_metadata("DC", "contributor", contributor.name, {"id": uid})
        role = {"refines": f"#{uid}", "property": "role", "scheme": "marc:relators"}
        ebook.add_metadata(None, "meta", MARC_ROLES.get(contributor.role, "ctb"), role)
