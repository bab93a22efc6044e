"""The crawl: ask the app for every file of the export, as a browser would.

Every file is requested from the Flask app itself (through its test client),
so the export is exactly what the server serves. The crawl starts from
:func:`seed_urls` (the index, the book pages and the routes nothing links to:
cards, oEmbed, ``widget.js``, downloads) and goes on until it has fetched every
app URL that :class:`~.naming.ExportUrls` named while rendering: the links of
every page are the URLs the app built, so no page is parsed for links.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from ..catalog import Catalog, shelf
from ..presentation import audio_sample_url
from ..pricing import book_campaigns
from ..urls import FLYER_SIZES, LAYOUTS, THEMES
from .naming import ExportError, ExportUrls, extension, guess_type

logger = logging.getLogger(__name__)

MAX_FILES = 20_000  # a runaway crawl stops here


@dataclass
class Resource:
    """One answer of the app: an app URL, its media type and body, and its static file."""

    url: str
    media_type: str
    body: bytes
    path: str = ""  # the static file, relative to the export root


@dataclass
class Crawl:
    resources: dict[str, Resource] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)  # app URL -> HTTP status
    missing: dict[str, str] = field(default_factory=dict)  # app URL -> why (linked, not exported)


def seed_urls(catalog: Catalog, urls: ExportUrls, at: datetime) -> list[str]:
    """Name (through ``urls``) the routes exported even when no page links them.

    Returns every app URL ``urls`` has named so far: what :func:`crawl` starts from.
    """
    urls.index()
    urls.widget_js()
    seed_shelf(catalog, urls)
    urls.press()  # the press kit: its page links the cover, sheet and photo downloads
    urls.press_kit()
    for book in catalog.books:
        slug = book.slug
        urls.book(slug)
        urls.cover(slug)
        urls.sample(slug)
        urls.read(slug)
        urls.social_image(slug)
        urls.press(slug)
        urls.press_kit(slug)
        urls.oembed(urls.book(slug, absolute=True))
        for edition in book.editions:  # the audiobook's sample, copied beside the page
            audio_sample_url(urls, book, edition)
        # A flyer for each running campaign about the book: the rule the flyers use.
        for campaign in [None, *(c.slug for c in book_campaigns(catalog, book, at))]:
            for size in FLYER_SIZES:
                urls.flyer(slug, size=size, campaign=campaign)
        for layout in (None, *LAYOUTS):
            for theme in (None, *THEMES):
                urls.embed(slug, layout=layout, theme=theme)
                # widget.js asks for the card's fragment beside the iframe page.
                urls.fragment(slug, layout=layout, theme=theme)
    return list(urls.named)


def seed_shelf(catalog: Catalog, urls: ExportUrls) -> None:
    """The shelf's pages and card, and what the web expects (sitemap, robots, feed, icon)."""
    urls.sitemap()
    urls.robots()
    urls.feed()
    urls.favicon()
    urls.shelf_embed()
    urls.shelf_fragment()
    for who in shelf.authors(catalog):
        urls.author(who.slug)
        urls.shelf_embed(author=who.slug)
        urls.shelf_fragment(author=who.slug)
    for series in shelf.all_series(catalog):
        urls.series(series.slug)
        urls.shelf_embed(series=series.slug)
        urls.shelf_fragment(series=series.slug)


def crawl(client, urls: ExportUrls, limit: int = MAX_FILES) -> Crawl:
    """Request every app URL ``urls`` named, including those named while rendering, in order.

    ``urls`` must be the app's URL seam: each answer is rendered with its
    :attr:`~.naming.ExportUrls.document` set, so the links inside it are named
    relative to it and join the walk.
    """
    result = Crawl()
    i = 0
    while i < len(urls.named):  # the list grows while we walk it: breadth first
        url = urls.named[i]
        i += 1
        name = urls.files[url]
        urls.document = name
        try:
            response = client.get(url)
            body = response.get_data()  # read it all, then close what it streamed from (a file)
            getattr(response, "close", lambda: None)()
        finally:
            urls.document = None
        if response.status_code != 200:
            # An unlinked seed the app does not serve is simply not part of this store;
            # a linked one is reported.
            result.failed[url] = response.status_code
            if url in urls.linked_from:
                result.missing[url] = (
                    f"linked from {urls.linked_from[url]}, "
                    f"but the app answers HTTP {response.status_code}"
                )
            logger.debug("not exported: %s answered %s", url, response.status_code)
            continue
        media_type = response.mimetype or "application/octet-stream"
        if not name.endswith(extension(media_type)) and guess_type(name) != media_type:
            # A static host sends a file by its extension: a wrong one would mislabel it.
            result.missing[url] = f"the app answers {media_type}, not what {name} says"
            continue
        result.resources[url] = Resource(url, media_type, body, name)
        if len(result.resources) > limit:
            raise ExportError(f"more than {limit} files: is a page linking to endless URLs?")
    return result
