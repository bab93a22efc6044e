"""The shelf's HTML: the front page, author and series pages, and the shelf card.

Plain functions of a presented shelf (:func:`storefront.presentation_shelf.present_shelf`,
which answers None for an unknown author or series): the views cache what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from urllib.parse import unquote, urlsplit

from markupsafe import Markup

from storefront import presentation_shelf as ps
from storefront.catalog import Author, Book, Catalog
from storefront.catalog import shelf as cs
from storefront.presentation import BookView
from storefront.pricing import format_day
from storefront.templating import render, templates_dir
from storefront.urls import Urls
from widgets.card import csp_hash, resize_script
from widgets.oembed import CACHE_AGE, OEMBED_VERSION, site_path

CARD_CSS = (templates_dir() / "shelf" / "card.css").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ShelfNav:
    """What ``books/_series.html`` shows on a book page."""

    neighbours: cs.Neighbours | None
    authors: tuple[Author, ...]
    more: tuple[Book, ...]
    json_ld: tuple[dict, ...]


def shelf_nav(view: BookView) -> ShelfNav:
    catalog, book, urls = view.catalog, view.book, view.urls
    n = cs.neighbours(catalog, book)
    who = cs.book_authors(catalog, book)
    data = [ps.person_json_ld(a, urls, catalog) for a in who]
    if n:
        data.append(ps.book_series_json_ld(n, book, urls))
    return ShelfNav(n, who, cs.more_by(catalog, book), tuple(data))


def render_shelf_page(shelf: ps.ShelfView) -> str:
    """The front page (``kind`` index), an author's page or a series page."""
    site = shelf.catalog.site
    first = shelf.authors[0] if shelf.authors else None
    description = (
        f"{shelf.title}: the books in reading order"
        if shelf.kind == "series"
        else (first.bio if shelf.kind == "author" and first else "") or site.description
    )
    return render(
        "books/index.html" if shelf.kind == "index" else "shelf/page.html",
        shelf=shelf,
        kind=shelf.kind,
        several=len(shelf.catalog.authors) > 1,
        description=description,
        site=site,
        urls=shelf.urls,
    )


def render_shelf_card(shelf: ps.ShelfView, *, fragment: bool = False) -> str:
    """The shelf card's page for an iframe (or, ``fragment``, its markup and style alone).

    Several books; present the shelf with ``src="shelf"`` so buy links say so.
    """
    template = "shelf/fragment.html" if fragment else "shelf/card.html"
    # Trusted constants (their hashes are in the CSP): inserted as written, not escaped.
    css, script = Markup(CARD_CSS), Markup(resize_script())
    return render(
        template, shelf=shelf, site=shelf.catalog.site, urls=shelf.urls, css=css, script=script
    )


def render_shelf_snippet(shelf: ps.ShelfView) -> str:
    """The shelf card as static HTML with inline styles and no script (WordPress Custom HTML)."""
    tz, locale = shelf.catalog.site.tz, shelf.catalog.site.locale
    until = shelf.valid_until
    return render(
        "shelf/snippet.html",
        shelf=shelf,
        urls=shelf.urls,
        generated=format_day(shelf.at, tz, locale),
        valid_until=format_day(until, tz, locale) if until else None,
    )


@cache
def shelf_card_csp(base_url: str, frame_ancestors: tuple[str, ...]) -> str:
    """The shelf card's policy: its own style, images and resize script; framed where allowed."""
    parts = urlsplit(base_url)
    images = f"'self' {parts.scheme}://{parts.netloc} data:" if parts.netloc else "'self' data:"
    return (
        f"default-src 'none'; img-src {images}; style-src {csp_hash(CARD_CSS)}; "
        f"script-src {csp_hash(resize_script())}; "
        f"base-uri 'none'; form-action 'none'; frame-ancestors {' '.join(frame_ancestors) or '*'}"
    )


# -- oEmbed of the shelf, author and series pages

SHELF_WIDTH, ROW_HEIGHT, HEAD_HEIGHT = 320, 96, 56


def shelf_for_url(catalog: Catalog, urls: Urls, url: str) -> tuple[str | None, str | None] | None:
    """``(author, series)`` when ``url`` is our shelf, an author or a series page; else None."""
    path = site_path(urls, url)
    if path is None:
        return None
    path = path.rstrip("/") or "/"
    if path == "/":
        return (None, None)
    kind, _, slug = path.lstrip("/").partition("/")
    slug = unquote(slug)
    if kind == "authors" and cs.author(catalog, slug):
        return (slug, None)
    if kind == "series" and cs.series(catalog, slug):
        return (None, slug)
    return None


def build_shelf_oembed(
    catalog: Catalog,
    urls: Urls,
    *,
    author: str | None,
    series: str | None,
    at: datetime,
    max_width: int | None = None,
    max_height: int | None = None,
) -> dict:
    """The oEmbed ``rich`` answer for a shelf page: its shelf card in an iframe."""
    shelf = ps.present_shelf(catalog, at, urls, author_slug=author, series_slug=series)
    count = len(shelf.views)
    width = min(SHELF_WIDTH, max_width or SHELF_WIDTH)
    height = HEAD_HEIGHT + ROW_HEIGHT * count
    if max_height:
        height = min(height, max_height)
    html = render(
        "shelf/oembed.html",
        src=urls.shelf_embed(author=author, series=series),
        page=shelf.canonical,
        widget=urls.widget_js(),
        width=width,
        height=height,
        title=shelf.title,
    )
    return {
        "version": OEMBED_VERSION,
        "type": "rich",
        "title": shelf.title,
        "author_name": ", ".join(a.name for a in shelf.authors),
        "author_url": shelf.canonical,
        "provider_name": catalog.site.title,
        "provider_url": urls.index(absolute=True),
        "cache_age": CACHE_AGE,
        "html": " ".join(html.split("\n")).strip(),
        "width": width,
        "height": height,
    }
