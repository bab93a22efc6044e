"""The shelf's HTML: the front page, author and series pages, and the shelf card.

Plain functions of (catalog, clock, urls): the views cache what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from storefront import catalog_shelf as cs
from storefront.catalog import Author, Book, Catalog
from storefront.presentation import BookView
from storefront.templating import render, templates_dir
from storefront.urls import Urls
from widgets.card import csp_hash

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
    data = [cs.person_json_ld(a, urls, catalog) for a in who]
    if n:
        data.append(cs.book_series_json_ld(n, book, urls))
    return ShelfNav(n, who, cs.more_by(catalog, book), tuple(data))


def render_shelf_page(
    catalog: Catalog,
    at: datetime,
    urls: Urls,
    *,
    author: str | None = None,
    series: str | None = None,
) -> str | None:
    """The front page (no argument), an author's page or a series page; None: unknown slug."""
    shelf = cs.present_shelf(catalog, at, urls, author_slug=author, series_slug=series)
    if shelf is None:
        return None
    kind = "series" if series else "author" if author else "index"
    first = shelf.authors[0] if shelf.authors else None
    description = (
        f"{shelf.title}: the books in reading order"
        if kind == "series"
        else (first.bio if kind == "author" and first else "") or catalog.site.description
    )
    return render(
        "books/index.html" if kind == "index" else "shelf/page.html",
        shelf=shelf,
        kind=kind,
        several=len(catalog.authors) > 1,
        description=description,
        site=catalog.site,
        urls=urls,
    )


def render_shelf_card(
    catalog: Catalog,
    at: datetime,
    urls: Urls,
    *,
    author: str | None = None,
    series: str | None = None,
) -> str | None:
    """The shelf card's page for an iframe: several books, buy links tracked with ``src=shelf``."""
    shelf = cs.present_shelf(catalog, at, urls, author_slug=author, series_slug=series, src="shelf")
    if shelf is None:
        return None
    return render("shelf/card.html", shelf=shelf, site=catalog.site, urls=urls, css=CARD_CSS)


def shelf_card_csp(base_url: str, frame_ancestors: tuple[str, ...]) -> str:
    """The shelf card's policy: its own style and images, no script, framed where allowed."""
    parts = urlsplit(base_url)
    images = f"'self' {parts.scheme}://{parts.netloc} data:" if parts.netloc else "'self' data:"
    return (
        f"default-src 'none'; img-src {images}; style-src {csp_hash(CARD_CSS)}; "
        f"base-uri 'none'; form-action 'none'; frame-ancestors {' '.join(frame_ancestors) or '*'}"
    )
