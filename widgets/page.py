"""The book page and the index: HTML rendered from the shared view model."""

from __future__ import annotations

from datetime import datetime

from storefront.catalog import Catalog
from storefront.presentation import BookView
from storefront.presentation_shelf import present_shelf
from storefront.templating import render
from storefront.urls import Urls
from widgets.shelf import render_shelf_page, shelf_nav


def render_book_page(view: BookView) -> str:
    """Render the full book page (server-side: readable and buyable without JavaScript)."""
    return render(
        "books/page.html",
        view=view,
        site=view.site,
        urls=view.urls,
        book=view.book,
        shelf_nav=shelf_nav(view),
    )


def render_index(catalog: Catalog, at: datetime, urls: Urls) -> str:
    """Render the front page: the author's shelf (``widgets.shelf``)."""
    return render_shelf_page(present_shelf(catalog, at, urls))
