"""The cards' look: two palettes, one table of declarations, two ways to apply it.

:data:`STYLES` maps each element of a card to its declarations. Class mode turns the
table into one stylesheet (:func:`card_css`) for the iframe page and the shadow-DOM
fragment; inline mode (:func:`inline_style`) writes the same declarations into ``style``
attributes for the static snippet, so the two can never drift apart. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from markupsafe import Markup

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

# Family names unquoted (valid CSS): WordPress's kses mangles quotes in a style attribute.
_SANS = "system-ui,-apple-system,Segoe UI,Roboto,Helvetica Neue,Arial,sans-serif"
_SERIF = "Georgia,Iowan Old Style,Times New Roman,serif"

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
    "audio": "display:block;width:100%;max-width:100%;margin:6px 0 0",
    "transcript": "display:block;margin:4px 0 8px;font-size:13px;color:{muted}",
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
    # Shown by the card's script where a sandbox blocks the new tab (iframe only).
    "blocked": "display:block;margin:6px 0 0;font-size:13px;color:{ink};overflow-wrap:anywhere",
    # The reader list's form (the `signup` layout; class mode only: a pasted snippet links).
    "signup": "display:block;margin:12px 0 0;padding:0;border:0",
    "signup-label": "display:block;margin:0 0 8px;font-size:14px;font-weight:600;color:{ink}",
    "signup-input": (
        "display:block;box-sizing:border-box;width:100%;min-height:36px;margin:4px 0 0;"
        "padding:6px 8px;border:1px solid {muted};border-radius:6px;background:{paper};"
        f"color:{{ink}};font-family:{_SANS};font-size:16px;font-weight:400"
    ),
    "signup-topics": "display:block;margin:0 0 4px;padding:0;border:0;font-size:14px;color:{ink}",
    "signup-answer": "display:block;margin:8px 0 0;font-size:14px;font-weight:600;color:{ink}",
    "hp": "position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden",
    "vh": (
        "position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;"
        "clip:rect(0,0,0,0);white-space:nowrap;border:0"
    ),
}

# The static snippet is pasted into WordPress, whose kses keeps only some properties in a
# ``style`` attribute (``safecss_filter_attr``, WordPress 6.1) and no ``display``,
# ``position`` or ``box-shadow``. Inline mode writes only these (tests/test_wordpress.py
# runs the real kses), and lays the card out with floats where the classes use flex.
KSES_PROPERTIES = frozenset(
    "background background-color border border-radius border-left border-top "
    "border-bottom border-right color font-family font-size font-style font-weight "
    "letter-spacing line-height text-align text-decoration text-transform height min-height "
    "max-height width min-width max-width margin padding float clear overflow cursor "
    "vertical-align list-style-type".split()
)
INLINE_STYLES: dict[str, str] = {
    # No width, max-width or margin: the host's column decides (WordPress centres its
    # blocks in the content width and spaces them with margins).
    "root": (
        "padding:16px;border:1px solid {line};border-radius:10px;background:{paper};"
        f"color:{{ink}};font-family:{_SANS};font-size:16px;font-weight:400;line-height:1.45;"
        "text-align:left"
    ),
    "row": "overflow:hidden;margin:0;padding:0",
    "cover": "float:left;width:112px;margin:0 16px 8px 0;padding:0;line-height:0",
    "cover-small": "float:left;width:44px;margin:0 14px 8px 0;padding:0;line-height:0",
    "cover-compact": "float:left;width:84px;margin:0 16px 8px 0;padding:0;line-height:0",
    "img": "width:100%;height:auto;max-width:100%;margin:0;border:0;border-radius:4px;"
    "vertical-align:top",
    # A box that makes its own formatting context sits beside the float, or below it
    # when narrower than its min-width: the float version of flex-wrap.
    "main": "overflow:hidden;min-width:200px;margin:0;padding:0",
    "main-compact": "overflow:hidden;min-width:120px;margin:0;padding:0",
    "banner-row": "overflow:hidden;margin:0;padding:0",
    "banner-text": "overflow:hidden;min-width:180px;margin:0 0 8px;padding:0",
    "buttons": "overflow:hidden;margin:0;padding:0;list-style-type:none",
    "banner-buttons": "overflow:hidden;clear:both;margin:0;padding:0;list-style-type:none",
    "buttons-stack": "margin:10px 0 0;padding:0;list-style-type:none",
    "item": "float:left;margin:0 6px 6px 0;padding:0;list-style-type:none",
    "item-stack": "overflow:hidden;margin:0 0 6px;padding:0;list-style-type:none",
    "buy": (
        "float:left;margin:0;padding:7px 11px;border:2px solid {accent};border-radius:6px;"
        f"background:transparent;color:{{accent}};font-family:{_SANS};font-size:14px;"
        "font-weight:600;line-height:1.25;text-decoration:none;text-align:center;cursor:pointer"
    ),
    "buy-block": "width:calc(100% - 26px)",  # 100% less the padding and border
    "ways": "margin:12px 0 0;padding:0;list-style-type:none",
    "way": "margin:0 0 8px;padding:8px 10px;border-radius:6px;background:{panel};"
    "list-style-type:none;color:{ink}",
    # Visually hidden, still read: the only way kses leaves (no position, no clip).
    "vh": "font-size:0;line-height:0;margin:0;padding:0;border:0",
}

# Only in class mode: interaction states that an inline style cannot express.
_EXTRA_CSS = (
    ".sf a:focus-visible,.sf input:focus-visible,.sf button:focus-visible"
    "{{outline:3px solid {focus};outline-offset:2px}}"
    ".sf-buy:hover{{background:{accent};color:{accent-ink}}}"
    ".sf-buy-preferred:hover{{background:{ink};border-color:{ink};color:{paper}}}"
)
_TOKEN = re.compile(r"\{([a-z-]+)\}")


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

    Only :data:`KSES_PROPERTIES` are written, from :data:`INLINE_STYLES` where the
    inline layout differs. For ``auto``, each colour declaration is written twice: the
    light colour first, then ``light-dark()``; a browser without ``light-dark()`` drops
    the second and keeps the light card (as WordPress's kses does: it keeps no ``light-dark()``).
    """
    out: list[str] = []
    for name in names:
        for declaration in INLINE_STYLES.get(name, STYLES[name]).split(";"):
            if declaration.partition(":")[0] not in KSES_PROPERTIES:
                continue
            if "{" not in declaration:
                out.append(declaration)
                continue
            if theme == "auto":
                out.append(_TOKEN.sub(lambda m: PALETTES["light"][m[1]], declaration))
            out.append(_TOKEN.sub(lambda m: _colour(m[1], theme), declaration))
    if "root" in names and theme == "auto":
        out.append("color-scheme:light dark")  # light-dark() resolves by it
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


class Styler:
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
