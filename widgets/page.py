"""The book page and the index: HTML rendered from the shared view model."""

from __future__ import annotations

from datetime import datetime

from storefront.catalog import Catalog
from storefront.presentation import BookView, present_book
from storefront.templating import render
from storefront.urls import Urls


def render_book_page(view: BookView) -> str:
    """Render the full book page (server-side: readable and buyable without JavaScript)."""
    return render("books/page.html", view=view, site=view.site, urls=view.urls, book=view.book)


def render_index(catalog: Catalog, at: datetime, urls: Urls) -> str:
    """Render the list of books."""
    views = [present_book(catalog, book, at, urls, src="page") for book in catalog.books]
    return render("books/index.html", views=views, site=catalog.site, urls=urls)
