"""The static snippet's text, written so that WordPress shows it as pasted.

WordPress runs a post's content through ``the_content`` filters before it serves it:
``wptexturize`` turns ``...`` into an ellipsis, ``--``/`` - `` into dashes, quotes into
curly ones and ``2x3`` into ``2×3``; ``convert_smilies`` turns ``:)`` or ``8)`` into an
image; ``do_shortcode`` runs ``[gallery]``; ``wpautop`` turns a line break inside a
paragraph into ``<br>``. Catalog text can hold any of these, and then the pasted card
differs from the standalone one (another glyph shifts a line, a ``<br>`` adds one).

All these filters match literal characters in the post's source, never character
references, so :func:`keep_as_pasted` writes the few characters they would act on as
numeric references (``&#46;``): a browser shows exactly the same text, WordPress leaves it
alone. Only text between tags changes; tags, attributes and entities are kept as they are.
Pure: no Flask import.
"""

from __future__ import annotations

import re

# The rendered card: tags (attribute values are autoescaped, so no ``>`` inside them)
# and, inside text, character references, both kept as they are.
_TAG = re.compile(r"(<[^>]*>)")
_ENTITY = re.compile(r"(&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);)")

# WordPress's smilies (wp-includes/functions.php, smilies_init), matched as it does:
# between whitespace (or the text's ends) on both sides.
_SMILIES = (
    ":mrgreen: :neutral: :twisted: :arrow: :shock: :smile: :???: :cool: :evil: :grin: "
    ":idea: :oops: :razz: :roll: :wink: :cry: :eek: :lol: :mad: :sad: 8-) 8-O :-( :-) "
    ":-? :-D :-P :-o :-x :-| ;-) 8) 8O :( :) :? :D :P :o :x :| ;) :!: :?:"
).split()
_SMILEY = re.compile(
    r"(?<!\S)(?:"
    + "|".join(re.escape(s) for s in sorted(_SMILIES, key=len, reverse=True))
    + r")(?!\S)"
)

# What wptexturize, do_shortcode and wpautop act on (wp-includes/formatting.php).
_ALWAYS = {"'": "&#39;", '"': "&#34;", "`": "&#96;", "[": "&#91;", "]": "&#93;"}
_PATTERNS = (
    (re.compile(r"\.(?=\.)|(?<=\.)\."), "&#46;"),  # ... -> ellipsis
    (re.compile(r"-(?![^\W_])|(?<![^\W_])-"), "&#45;"),  # -- and a lone - -> dashes
    (re.compile(r"(?<=\d)x(?=\d)"), "&#120;"),  # 2x3 -> 2×3
    (re.compile(r"\((?=tm\))"), "&#40;"),  # (tm) -> ™
    (re.compile(r"\r\n|\r|\n"), "&#10;"),  # a line break in a paragraph -> <br>
)


def _plain(text: str) -> str:
    """One run of text without references, written so WordPress keeps it."""
    text = _SMILEY.sub(lambda m: f"&#{ord(m[0][0])};{m[0][1:]}", text)
    text = "".join(_ALWAYS.get(c, c) for c in text)
    for pattern, reference in _PATTERNS:
        text = pattern.sub(reference, text)
    return text


def _text(text: str) -> str:
    if not text.strip():  # the line breaks between the card's blocks: wpautop keeps them
        return text
    parts = _ENTITY.split(text)
    # Odd parts are references: kept; a smiley or a dash beside one is still guarded, as
    # each run of text is written on its own, its edges counting as whitespace.
    return "".join(part if i % 2 else _plain(part) for i, part in enumerate(parts))


def keep_as_pasted(html: str) -> str:
    """``html`` (a rendered card) with its text written so WordPress serves it unchanged."""
    parts = _TAG.split(html)
    return "".join(part if i % 2 else _text(part) for i, part in enumerate(parts))
