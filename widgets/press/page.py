"""The press kit's page: ``/press`` (every book) and ``/books/<book>/press``."""

from __future__ import annotations

from storefront import presentation_shelf as ps
from storefront.presentation import book_json_ld
from storefront.templating import render

from .kit import PressKit


def press_json_ld(kit: PressKit) -> list[dict]:
    """Each book (schema.org ``Book``, buy links ``src=press``) and each author (``Person``)."""
    data = [book_json_ld(entry.view) for entry in kit.books]
    data += [ps.person_json_ld(a, kit.urls, kit.catalog) for a in kit.authors]
    return data


def render_press_page(kit: PressKit) -> str:
    """Render the press page (server-side; every catalog string autoescaped)."""
    return render(
        "press/page.html",
        kit=kit,
        site=kit.catalog.site,
        urls=kit.urls,
        json_ld=press_json_ld(kit),
    )
