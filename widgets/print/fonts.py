"""The fonts the print pieces are set in: the bundled faces and their ``@font-face`` rules."""

from __future__ import annotations

from pathlib import Path

FONTS_DIR = Path(__file__).resolve().parent.parent / "fonts"

# Every face the pieces use, so nothing is synthesized and no system font is
# picked: the output is the same on every machine. Debian's EB Garamond Bold
# covers ASCII only (no curly quotes), so the bold the typographic cover asks
# for is drawn with the regular face; the templates themselves use no bold serif.
FONT_FACES = (
    ("Inter", 400, "normal", "Inter-Regular.otf"),
    ("Inter", 600, "normal", "Inter-SemiBold.otf"),
    ("Inter", 700, "normal", "Inter-Bold.otf"),
    ("EB Garamond", 400, "normal", "EBGaramond12-Regular.otf"),
    ("EB Garamond", 400, "italic", "EBGaramond12-Italic.otf"),
    ("EB Garamond", 700, "normal", "EBGaramond12-Regular.otf"),
)


def font_faces_css() -> str:
    """Return the ``@font-face`` rules for the bundled fonts (``file:`` URLs)."""
    rules = []
    for family, weight, style, filename in FONT_FACES:
        url = (FONTS_DIR / filename).as_uri()
        rules.append(
            f"@font-face {{ font-family: '{family}'; src: url('{url}'); "
            f"font-weight: {weight}; font-style: {style}; }}"
        )
    return "\n".join(rules)
