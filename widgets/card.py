"""Promo cards: the embeddable block that sells a book, in four layouts and three themes.

One template tree (``templates/cards/``) renders every card in two styling modes:

* **class mode** (``inline=False``): elements carry ``sf-*`` classes and one stylesheet,
  :func:`card_css`, styles them. The iframe page (:func:`render_card_page`) and the
  shadow-DOM fragment for ``widget.js`` (:func:`render_card_fragment`) use it.
* **inline mode** (``inline=True``): the same elements carry ``style`` attributes and
  there is no ``<style>`` and no script: the static snippet to paste into WordPress
  (:func:`render_card_snippet`), its text written so WordPress's filters keep it
  (:mod:`widgets.card_paste`).

Both modes take their declarations from one table (:mod:`widgets.card_style`); the
options a card takes are validated in :mod:`widgets.card_options`. Every catalog string
reaches the markup through the autoescaping template: a quote containing ``<script>``
renders as text. Pure: no Flask import.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from functools import cache
from urllib.parse import urlsplit

from markupsafe import Markup

from storefront.catalog import Book, Catalog
from storefront.presentation import BookView, present_book
from storefront.templating import render
from storefront.urls import Urls

from .card_options import (
    CTA_MAX,
    DEFAULT_LAYOUT,
    DEFAULT_THEME,
    CardOptionError,
    CardOptions,
    card_layout,
    card_options,
    card_theme,
    parse_card,
)
from .card_paste import keep_as_pasted
from .card_style import PALETTES, STYLES, TEXT_PAIRS, Styler, card_css, inline_style

__all__ = [  # one import for callers: options and styles live in their own modules
    "CTA_MAX",
    "DEFAULT_LAYOUT",
    "DEFAULT_THEME",
    "MIN_WIDTH",
    "PALETTES",
    "STYLES",
    "TEXT_PAIRS",
    "CardOptionError",
    "CardOptions",
    "build_card_view",
    "card_css",
    "card_layout",
    "card_options",
    "card_page_csp",
    "card_theme",
    "csp_hash",
    "inline_style",
    "page_css",
    "parse_card",
    "render_card",
    "render_card_fragment",
    "render_card_page",
    "render_card_snippet",
    "resize_script",
]

MIN_WIDTH = 280  # every layout fits from this width up


def build_card_view(
    catalog: Catalog,
    book: Book,
    at: datetime,
    urls: Urls,
    layout: str,
    options: CardOptions,
) -> BookView:
    """The shared view model for a card: buy links carry ``src=<layout>``."""
    return present_book(catalog, book, at, urls, src=layout, formats=options.formats)


def render_card(
    view: BookView,
    layout: str = DEFAULT_LAYOUT,
    theme: str = DEFAULT_THEME,
    options: CardOptions | None = None,
    *,
    inline: bool = False,
    page: bool = False,
) -> Markup:
    """Render the card markup (one ``<aside>``) for ``view`` in ``layout`` and ``theme``.

    Links are absolute (the card lives on other sites), open in a new tab and carry
    ``rel="noopener"`` (plus ``sponsored`` for affiliate vendors). ``page=True``: the
    card is a page of its own (the iframe), so it is the ``<main>`` with an ``<h1>``.
    """
    layout, theme = card_layout(layout), card_theme(theme)
    options = options or CardOptions()
    book = view.book
    quote = book.quotes[options.quote] if options.quote is not None else None
    html = render(
        "cards/card.html",
        view=view,
        book=book,
        site=view.site,
        urls=view.urls,
        layout=layout,
        theme=theme,
        options=options,
        quote=quote,
        st=Styler(theme, inline),
        root="main" if page else "aside",
        heading="h1" if page else "h2",
        banner_heading="h1" if page else "p",
        primary=[f.preferred or f.offers[0] for f in view.formats if f.offers],
    )
    return Markup(html)  # safe: rendered by the autoescaping template above


def render_card_fragment(
    view: BookView, layout: str, theme: str, options: CardOptions | None = None
) -> str:
    """Render the card with its stylesheet, for ``widget.js`` to put in a shadow root."""
    card = render_card(view, layout, theme, options)
    return render("cards/fragment.html", css=Markup(card_css()), card=card)


def render_card_page(
    view: BookView, layout: str, theme: str, options: CardOptions | None = None
) -> str:
    """Render the self-contained iframe page: the card, its CSS and the card's script."""
    card = render_card(view, layout, theme, options, page=True)
    urls = view.urls
    return render(
        "cards/page.html",
        book=view.book,
        site=view.site,
        card=card,
        # oEmbed discovery, so a blog embeds this very card when its URL is pasted
        # (the app answers it; a static export has no oEmbed file per card).
        oembed=None
        if urls.static_files
        else urls.oembed(urls.embed(view.book.slug, layout=layout, theme=theme)),
        css=Markup(page_css()),
        script=Markup(resize_script()),
    )


def render_card_snippet(
    view: BookView, layout: str, theme: str, options: CardOptions | None = None
) -> str:
    """Render the static snippet: inline styles, no script, no stylesheet; paste anywhere."""
    # WordPress's content filters change some text as it serves a post: written so
    # they leave it alone (a dotted ``...`` stays dots, a line break adds no ``<br>``).
    # Safe: the autoescaped card with only characters of its text turned into references.
    card = Markup(keep_as_pasted(render_card(view, layout, theme, options, inline=True)))
    tz = view.site.tz
    valid_until = view.valid_until.astimezone(tz).date().isoformat() if view.valid_until else None
    return render(
        "cards/snippet.html",
        card=card,
        book=view.book,
        generated=view.at.astimezone(tz).date().isoformat(),
        valid_until=valid_until,
    )


# --------------------------------------------------------------------------- the iframe page


@cache
def page_css() -> str:
    """The iframe page's stylesheet: the card's, with a transparent, margin-free page."""
    return "html,body{margin:0;padding:0;background:transparent}" + card_css()


@cache
def resize_script() -> str:
    """The iframe page's only script: post the content height to the parent on change.

    The parent (``widget.js``) may ask again with ``storefront:measure`` when it
    loads after the card did.
    """
    from storefront.templating import templates_dir

    return (templates_dir() / "cards" / "resize.js").read_text(encoding="utf-8").strip()


def csp_hash(text: str) -> str:
    """The CSP source expression (``'sha256-…'``) that allows exactly this inline text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


@cache
def card_page_csp(base_url: str, frame_ancestors: tuple[str, ...]) -> str:
    """The strict policy of the iframe page: its own style and script, cover and audio sample."""
    parts = urlsplit(base_url)
    images, media = "'self' data:", "'self'"
    if parts.scheme and parts.netloc:
        images = f"'self' {parts.scheme}://{parts.netloc} data:"
        media = f"'self' {parts.scheme}://{parts.netloc}"
    # The sign-up form posts to the app, by fetch() from the card's script or as a form;
    # in a sandbox the frame's origin is opaque, so the app is named, not 'self'.
    app = media
    return (
        f"default-src 'none'; img-src {images}; media-src {media}; connect-src {app}; "
        f"style-src {csp_hash(page_css())}; "
        f"script-src {csp_hash(resize_script())}; base-uri 'none'; form-action {app}; "
        f"frame-ancestors {' '.join(frame_ancestors) or '*'}"
    )
