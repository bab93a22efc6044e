"""Promo cards: the embeddable block that sells a book, in four layouts and three themes.

One template tree (``templates/cards/``) renders every card in two styling modes:

* **class mode** (``inline=False``): elements carry ``sf-*`` classes and one stylesheet,
  :func:`card_css`, styles them. The iframe page (:func:`render_card_page`) and the
  shadow-DOM fragment for ``widget.js`` (:func:`render_card_fragment`) use it.
* **inline mode** (``inline=True``): the same elements carry ``style`` attributes and
  there is no ``<style>`` and no script: the static snippet to paste into WordPress
  (:func:`render_card_snippet`).

Both modes take their declarations from one table, :data:`STYLES`, so the two can
never drift apart. Every catalog string reaches the markup through the autoescaping
template: a quote containing ``<script>`` renders as text. Pure: no Flask import.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from urllib.parse import urlsplit

from markupsafe import Markup

from storefront.catalog import FORMATS, Book, Catalog
from storefront.presentation import BookView, present_book
from storefront.templating import render
from storefront.urls import LAYOUTS, THEMES, Urls

DEFAULT_LAYOUT = "card"
DEFAULT_THEME = "light"
CTA_MAX = 120
MIN_WIDTH = 280  # every layout fits from this width up

# Theme colours. Pairs used for text pass WCAG AA (4.5:1); tests/test_cards.py checks them.
PALETTES: dict[str, dict[str, str]] = {
    "light": {
        "paper": "#ffffff",
        "ink": "#1b1b1f",
        "muted": "#4a4a55",
        "panel": "#f3f1ea",
        "line": "#d8d4c8",
        "accent": "#0b5394",
        "accent-ink": "#ffffff",
        "sale": "#a4161a",
        "focus": "#b35c00",
    },
    "dark": {
        "paper": "#15161a",
        "ink": "#ecebe6",
        "muted": "#bdbbb3",
        "panel": "#23252c",
        "line": "#3a3c44",
        "accent": "#8ab4f8",
        "accent-ink": "#0b0c10",
        "sale": "#ff8a8a",
        "focus": "#ffbf47",
    },
}
# Text colour -> the backgrounds it is drawn on (for the contrast check).
TEXT_PAIRS: tuple[tuple[str, str], ...] = (
    ("ink", "paper"),
    ("ink", "panel"),
    ("muted", "paper"),
    ("muted", "panel"),
    ("accent", "paper"),
    ("accent-ink", "accent"),
    ("sale", "paper"),
    ("sale", "panel"),
)

_SANS = "system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif"
_SERIF = "Georgia,'Iowan Old Style','Times New Roman',serif"

# Element name -> declarations. ``{ink}`` etc. are palette colours: a custom property in
# class mode, the colour itself in inline mode. Sizes are px or em, never rem: on a host
# page that sets ``html { font-size: 40px }`` a rem would follow the host.
# Order matters: a modifier (``buy-preferred``) comes after the element it modifies.
STYLES: dict[str, str] = {
    "root": (
        "all:initial;display:block;box-sizing:border-box;width:auto;max-width:100%;margin:0;"
        "padding:16px;border:1px solid {line};border-radius:10px;background:{paper};color:{ink};"
        f"font-family:{_SANS};font-size:16px;font-weight:400;line-height:1.45;text-align:left;"
        "overflow-wrap:break-word;word-wrap:break-word"
    ),
    "row": "display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start;margin:0;padding:0",
    "cover": "display:block;flex:0 0 auto;width:112px;margin:0;padding:0;line-height:0",
    "cover-small": "display:block;flex:0 0 auto;width:44px;margin:0;padding:0;line-height:0",
    "cover-compact": "display:block;flex:0 0 auto;width:84px;margin:0;padding:0;line-height:0",
    "img": (
        "display:block;width:100%;height:auto;max-width:100%;margin:0;border:0;border-radius:4px;"
        "box-shadow:0 2px 8px rgba(0,0,0,.25)"
    ),
    "main": "display:block;flex:1 1 200px;min-width:0;margin:0;padding:0",
    "main-compact": "display:block;flex:1 1 120px;min-width:0;margin:0;padding:0",
    "kicker": (
        "display:block;margin:0 0 4px;font-size:12px;font-weight:700;letter-spacing:.05em;"
        "text-transform:uppercase;color:{sale}"
    ),
    "title": (
        f"display:block;margin:0;padding:0;font-family:{_SANS};font-size:21px;font-weight:700;"
        "line-height:1.2;color:{ink};letter-spacing:0;text-transform:none"
    ),
    "title-small": (
        f"display:block;margin:0;padding:0;font-family:{_SANS};font-size:17px;font-weight:700;"
        "line-height:1.25;color:{ink};letter-spacing:0;text-transform:none"
    ),
    "title-link": "color:{ink};text-decoration:none;background:none",
    "subtitle": "display:block;margin:2px 0 0;font-size:15px;font-weight:400;font-style:italic;"
    "color:{muted}",
    "credits": "display:block;margin:4px 0 0;font-size:14px;color:{muted}",
    "pitch": "display:block;margin:8px 0 0;font-size:15px;color:{ink}",
    "sale": (
        "display:block;margin:10px 0 0;padding:6px 10px;border:0;border-left:4px solid {sale};"
        "border-radius:4px;background:{panel};font-size:14px;color:{ink}"
    ),
    "sale-name": "font-weight:700;color:{sale}",
    "quote": (
        "display:block;margin:12px 0 0;padding:0 0 0 12px;border:0;border-left:3px solid {line};"
        f"background:none;font-family:{_SERIF};font-size:15px;font-style:italic;quotes:none;"
        "color:{ink}"
    ),
    "quote-text": "display:block;margin:0;padding:0",
    "quote-source": (
        f"display:block;margin:4px 0 0;font-family:{_SANS};font-size:13px;font-style:normal;"
        "color:{muted}"
    ),
    "cite": "font-style:normal",
    "format": "display:block;margin:12px 0 0;padding:0",
    "format-head": "display:block;margin:0 0 6px;font-size:14px;font-weight:700;color:{ink}",
    "price": "font-weight:700;color:{ink}",
    "price-sale": "font-weight:700;color:{sale}",
    "was": "margin:0 0 0 4px;font-weight:400;color:{muted};text-decoration:line-through",
    # Inside a button: the button's own colour (muted grey fails contrast on the accent).
    "was-button": "margin:0 0 0 4px;font-weight:400;color:inherit;text-decoration:line-through",
    "buttons": "display:flex;flex-wrap:wrap;gap:6px;margin:0;padding:0;list-style:none",
    "buttons-stack": "display:block;margin:10px 0 0;padding:0;list-style:none",
    "item": "display:block;margin:0;padding:0;list-style:none",
    "item-stack": "display:block;margin:0 0 6px;padding:0;list-style:none",
    "buy": (
        "display:inline-block;box-sizing:border-box;min-height:36px;margin:0;padding:7px 11px;"
        "border:2px solid {accent};border-radius:6px;background:transparent;color:{accent};"
        f"font-family:{_SANS};font-size:14px;font-weight:600;line-height:1.25;"
        "text-decoration:none;text-align:center;cursor:pointer"
    ),
    "buy-block": "display:block;width:100%",
    "buy-preferred": "background:{accent};color:{accent-ink}",
    "amount": "font-weight:400;white-space:nowrap",
    "small": "display:block;margin:6px 0 0;font-size:13px;color:{muted}",
    "more": (
        "display:inline-block;margin:8px 0 0;font-size:14px;color:{accent};"
        "text-decoration:underline"
    ),
    "disclosure": "display:block;margin:12px 0 0;font-size:12px;color:{muted}",
    "banner-row": "display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;margin:0;padding:0",
    "banner-text": "display:block;flex:1 1 180px;min-width:0;margin:0;padding:0",
    "banner-line": "display:block;margin:2px 0 0;font-size:14px;color:{muted}",
    "banner-buttons": (
        "display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:0;padding:0;list-style:none"
    ),
    "ways": "display:block;margin:12px 0 0;padding:0;list-style:none",
    "way": (
        "display:block;margin:0 0 8px;padding:8px 10px;border-radius:6px;background:{panel};"
        "list-style:none;color:{ink}"
    ),
    "way-name": "font-weight:700;color:{ink}",
    "way-link": "font-weight:700;color:{accent};text-decoration:underline",
    "address": "display:block;margin:4px 0 0;font-style:normal;font-size:14px;color:{ink}",
    "vh": (
        "position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;"
        "clip:rect(0,0,0,0);white-space:nowrap;border:0"
    ),
}

# Only in class mode: interaction states that an inline style cannot express.
_EXTRA_CSS = (
    ".sf a:focus-visible{{outline:3px solid {focus};outline-offset:2px}}"
    ".sf-buy:hover{{background:{accent};color:{accent-ink}}}"
    ".sf-buy-preferred:hover{{background:{ink};border-color:{ink};color:{paper}}}"
)
_TOKEN = re.compile(r"\{([a-z-]+)\}")


class CardOptionError(ValueError):
    """A card option is not valid; the message says which and why (shown to the user)."""


@dataclass(frozen=True)
class CardOptions:
    """What an author can choose per card, besides layout and theme.

    ``quote`` is an index into ``book.quotes`` (``None``: no quote); ``formats``
    limits the formats shown (``None``: all); ``cta`` is a call to action.
    """

    quote: int | None = None
    formats: tuple[str, ...] | None = None
    cta: str | None = None


# --------------------------------------------------------------------------- options


def card_layout(value: str | None) -> str:
    """Validate a layout name (empty: the default ``card``)."""
    if not value:
        return DEFAULT_LAYOUT
    if value not in LAYOUTS:
        raise CardOptionError(f"layout '{value}' is not one of: {', '.join(LAYOUTS)}")
    return value


def card_theme(value: str | None) -> str:
    """Validate a theme name (empty: the default ``light``)."""
    if not value:
        return DEFAULT_THEME
    if value not in THEMES:
        raise CardOptionError(f"theme '{value}' is not one of: {', '.join(THEMES)}")
    return value


def card_options(
    book: Book,
    *,
    quote: str | None = None,
    formats: str | Iterable[str] | None = None,
    cta: str | None = None,
) -> CardOptions:
    """Validate the per-card options as a reader or author typed them.

    ``quote``: ``1``..``N`` picks a quote of the book, ``none`` (or ``0``) hides it,
    empty picks the featured one. ``formats``: comma-separated formats the book sells,
    e.g. ``ebook,audiobook``. ``cta``: up to 120 characters of plain text.
    """
    return CardOptions(
        quote=_quote_index(book, quote),
        formats=_formats(book, formats),
        cta=_cta(cta),
    )


def parse_card(
    catalog: Catalog,
    book: Book,
    *,
    layout: str | None = None,
    theme: str | None = None,
    quote: str | None = None,
    formats: str | Iterable[str] | None = None,
    cta: str | None = None,
) -> tuple[str, str, CardOptions]:
    """Validate a whole card request: (layout, theme, options) or :class:`CardOptionError`."""
    layout, theme = card_layout(layout), card_theme(theme)
    if layout == "support" and not catalog.support:
        raise CardOptionError(
            "layout 'support' lists the ways to give, and this catalog has none: "
            "add [[support]] entries"
        )
    return layout, theme, card_options(book, quote=quote, formats=formats, cta=cta)


def _quote_index(book: Book, value: str | None) -> int | None:
    if value is None or value.strip() == "":
        featured = book.featured_quote
        return book.quotes.index(featured) if featured is not None else None
    value = value.strip().lower()
    if value in ("none", "0"):
        return None
    if not value.isdigit():
        raise CardOptionError(
            f"quote '{value}' is not a number from 1 to {len(book.quotes)} or 'none'"
        )
    number = int(value)
    if not 1 <= number <= len(book.quotes):
        if not book.quotes:
            raise CardOptionError(f"book '{book.slug}' has no quotes: use quote=none")
        raise CardOptionError(
            f"quote {number} does not exist: book '{book.slug}' has {len(book.quotes)} quote(s)"
        )
    return number - 1


def _formats(book: Book, value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = value.split(",") if isinstance(value, str) else list(value)
    wanted = {n.strip().lower() for n in names if n.strip()}
    if not wanted:
        return None
    for name in sorted(wanted):
        if name not in FORMATS:
            raise CardOptionError(f"format '{name}' is not one of: {', '.join(FORMATS)}")
        edition = book.edition(name)
        if edition is None or not edition.offers:
            sold = [e.format for e in book.editions if e.offers]
            raise CardOptionError(
                f"book '{book.slug}' has no {name} offers (it has: {', '.join(sold) or 'none'})"
            )
    # Canonical order, so equal choices share one cache entry.
    return tuple(f for f in FORMATS if f in wanted)


def _cta(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    if not text:
        return None
    if len(text) > CTA_MAX:
        raise CardOptionError(f"cta is {len(text)} characters long; the most is {CTA_MAX}")
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text):
        raise CardOptionError("cta contains control characters")
    return text


# --------------------------------------------------------------------------- styles


def _colour(token: str, theme: str) -> str:
    """An inline colour for ``theme``: ``auto`` follows the reader's colour scheme."""
    light, dark = PALETTES["light"][token], PALETTES["dark"][token]
    if theme == "dark":
        return dark
    if theme == "auto":
        return f"light-dark({light},{dark})"
    return light


def inline_style(names: Iterable[str], theme: str) -> str:
    """Merge the declarations of ``names`` into one ``style`` value for ``theme``.

    For ``auto``, each colour declaration is written twice: the light colour first,
    then ``light-dark()``; a browser without ``light-dark()`` drops the second and
    keeps the light card.
    """
    out: list[str] = []
    for name in names:
        for declaration in STYLES[name].split(";"):
            if "{" not in declaration:
                out.append(declaration)
                continue
            if theme == "auto":
                out.append(_TOKEN.sub(lambda m: PALETTES["light"][m[1]], declaration))
            out.append(_TOKEN.sub(lambda m: _colour(m[1], theme), declaration))
    if "root" in names:
        # light-dark() resolves by the element's colour scheme.
        out.append("color-scheme:" + {"auto": "light dark"}.get(theme, theme))
    return ";".join(out)


def _css_value(declarations: str) -> str:
    return _TOKEN.sub(lambda m: f"var(--sf-{m[1]})", declarations)


def _palette_vars(palette: dict[str, str]) -> str:
    return ";".join(f"--sf-{k}:{v}" for k, v in palette.items())


@cache
def card_css() -> str:
    """Return the stylesheet of class-mode cards (every layout and theme; ~5 KB)."""
    rules = [f".sf-{name}{{{_css_value(decls)}}}" for name, decls in STYLES.items()]
    light, dark = _palette_vars(PALETTES["light"]), _palette_vars(PALETTES["dark"])
    themes = (
        f".sf{{{light};color-scheme:light}}"
        f".sf.sf-dark{{{dark};color-scheme:dark}}"
        f"@media (prefers-color-scheme:dark){{.sf.sf-auto{{{dark};color-scheme:dark}}}}"
    )
    extra = _EXTRA_CSS.format(**{k: f"var(--sf-{k})" for k in PALETTES["light"]})
    return ":host{display:block}" + "".join(rules) + themes + extra


class _Styler:
    """``st("buy", "buy-preferred")`` -> the class or style attribute of one element."""

    def __init__(self, theme: str, inline: bool):
        self.theme = theme
        self.inline = inline

    def __call__(self, *names: str | None) -> Markup:
        chosen = [n for n in names if n]
        if self.inline:
            return Markup('style="%s"') % inline_style(chosen, self.theme)
        classes = " ".join(f"sf-{n}" for n in chosen)
        if "root" in chosen:
            classes = f"sf sf-{self.theme} " + classes
        return Markup('class="%s"') % classes


# --------------------------------------------------------------------------- rendering


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
) -> Markup:
    """Render the card markup (one ``<aside>``) for ``view`` in ``layout`` and ``theme``.

    Links are absolute (the card lives on other sites), open in a new tab and carry
    ``rel="noopener"`` (plus ``sponsored`` for affiliate vendors).
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
        st=_Styler(theme, inline),
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
    """Render the self-contained iframe page: the card, its CSS and the resize script."""
    card = render_card(view, layout, theme, options)
    return render(
        "cards/page.html",
        book=view.book,
        site=view.site,
        card=card,
        css=Markup(page_css()),
        script=Markup(resize_script()),
    )


def render_card_snippet(
    view: BookView, layout: str, theme: str, options: CardOptions | None = None
) -> str:
    """Render the static snippet: inline styles, no script, no stylesheet; paste anywhere."""
    card = render_card(view, layout, theme, options, inline=True)
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
    """The strict policy of the iframe page: only its own style, script and cover image."""
    parts = urlsplit(base_url)
    images = "'self' data:"
    if parts.scheme and parts.netloc:
        images = f"'self' {parts.scheme}://{parts.netloc} data:"
    return (
        f"default-src 'none'; img-src {images}; style-src {csp_hash(page_css())}; "
        f"script-src {csp_hash(resize_script())}; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {' '.join(frame_ancestors) or '*'}"
    )
