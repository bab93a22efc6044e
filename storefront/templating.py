"""The one Jinja environment for every output: pages, cards, EPUB XHTML, flyers.

The template tree lives at the top of a checkout (``templates/``) and ships
inside the package in a wheel (``storefront/templates``); :func:`templates_dir`
finds whichever is there. Autoescape is on for every markup type: catalog text
is untrusted in every output.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

_PACKAGE = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """Return the template folder: inside the package (wheel) or beside it (checkout)."""
    for candidate in (_PACKAGE / "templates", _PACKAGE.parent / "templates"):
        if (candidate / "base.html").is_file():
            return candidate
    raise RuntimeError(f"Storefront templates not found next to {_PACKAGE}")


def json_script(data: object) -> Markup:
    """Serialize ``data`` for a ``<script type="application/ld+json">`` block.

    ``<``, ``>``, ``&`` and the quote are escaped as ``\\u`` sequences, so no
    catalog text can close the script element (the same rule as Jinja's
    ``tojson``); the result is therefore safe to insert unescaped.
    """
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, escaped)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)  # safe: every character that could end the script is escaped above


@cache
def environment() -> Environment:
    """Return the shared, autoescaping Jinja environment (built once per process)."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(("html", "xhtml", "svg", "xml"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["json_script"] = json_script
    return env


def render(template: str, **context: object) -> str:
    """Render ``template`` from the shared tree with ``context``."""
    return environment().get_template(template).render(**context)
