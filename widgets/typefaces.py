"""Fonts for everything printed: the bundled faces, the author's fonts per script, coverage.

The bundled faces (``widgets/fonts/``, SIL OFL) are Inter (sans: 400, 600, 700)
and EB Garamond (serif: roman and italic). Between them they cover the Latin,
Greek and Cyrillic scripts and common punctuation (see :data:`BUNDLED_SCRIPTS`;
Latin Extended-B only in Inter).
For any other script the author names a font in the catalog, per script
(ISO 15924 code; ``Jpan`` and ``Kore`` stand for their scripts together)::

    [site.fonts]
    Jpan = "VL Gothic"                # a font family installed on the machine
    Arab = "fonts/Amiri-Regular.ttf"  # a font file next to the catalog

Text is set in the bundled face first; a character the bundled faces lack is
drawn with the first catalog font (in the catalog's order) that has it. Nothing
falls back to whatever the machine has: ``widgets.print.checks`` lists every
catalog character that no configured font can draw (with its field), and
``storefront check`` and every print build refuse such a catalog, so a piece
never prints an empty box ("tofu").
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools import unicodedata as font_unicodedata

from storefront.catalog import Catalog

FONTS_DIR = Path(__file__).resolve().parent / "fonts"

# (family, weight, style, file) for every face the pieces use, so nothing is
# synthesized and no system font is picked. Debian's EB Garamond Bold covers
# ASCII only (no curly quotes), so bold serif (the typographic cover's title) is
# drawn with the regular face; the templates themselves use no bold serif.
FONT_FACES = (
    ("Inter", 400, "normal", "Inter-Regular.otf"),
    ("Inter", 600, "normal", "Inter-SemiBold.otf"),
    ("Inter", 700, "normal", "Inter-Bold.otf"),
    ("EB Garamond", 400, "normal", "EBGaramond12-Regular.otf"),
    ("EB Garamond", 400, "italic", "EBGaramond12-Italic.otf"),
    ("EB Garamond", 700, "normal", "EBGaramond12-Regular.otf"),
)
SANS, SERIF = "Inter", "EB Garamond"

# The writing systems the bundled faces cover (documented in docs/notes-print.md;
# tests/test_fonts.py checks this against the fonts' own character maps).
BUNDLED_SCRIPTS = ("Latn", "Grek", "Cyrl")

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".woff")
SCRIPT_ALIASES = {
    "Jpan": ("Hani", "Hira", "Kana"),
    "Kore": ("Hang", "Hani"),
    "Hans": ("Hani",),
    "Hant": ("Hani",),
}
_SCRIPT_CODE = re.compile(r"^[A-Z][a-z]{3}$")
# A family name goes into CSS and a fontconfig pattern: letters, digits, spaces and - _ . only.
_FAMILY = re.compile(r"^[\w][\w .-]{0,62}$")
# Never drawn: spaces, controls, joiners, variation selectors.
_INVISIBLE = {"Cc", "Cf", "Zs", "Zl", "Zp"}


def _is_invisible(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in _INVISIBLE
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
    )


@dataclass(frozen=True)
class ScriptFont:
    """A font the author named for a script."""

    script: str  # ISO 15924 code as written in the catalog
    source: str  # the value as written: a file (relative to the catalog) or a family
    family: str  # the CSS family name the pieces use
    path: Path | None  # the font file (for an installed family: the one fontconfig finds)
    bundled_file: bool  # a file next to the catalog (declared with @font-face)


@dataclass(frozen=True)
class FontSet:
    """The fonts one catalog prints with: the bundled faces, then the author's, in order."""

    extras: tuple[ScriptFont, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()  # (key path, message) about the fonts themselves

    def stack(self, primary: str) -> str:
        """The CSS ``font-family`` list for text set in ``primary`` (``SANS`` or ``SERIF``)."""
        other = SERIF if primary == SANS else SANS
        names = [primary, other, *(f.family for f in self.extras)]
        return ", ".join(css_string(name) for name in dict.fromkeys(names))

    @property
    def sans(self) -> str:
        return self.stack(SANS)

    @property
    def serif(self) -> str:
        return self.stack(SERIF)

    def font_files(self) -> tuple[str, ...]:
        """The catalog's font files the renderer may read (besides the bundled ones)."""
        return tuple(str(f.path) for f in self.extras if f.bundled_file and f.path)

    def face_css(self) -> str:
        """``@font-face`` rules for the bundled faces and the catalog's font files."""
        rules = [
            _face_rule(family, (FONTS_DIR / filename).as_uri(), weight, style)
            for family, weight, style, filename in FONT_FACES
        ]
        for font in self.extras:
            if font.bundled_file and font.path:
                rules.append(_face_rule(font.family, font.path.as_uri(), 400, "normal"))
        return "\n".join(rules)

    def digest(self) -> str:
        """A hash of every extra font file: a changed font rebuilds the pieces."""
        h = hashlib.sha256()
        for font in self.extras:
            h.update(f"{font.script}\0{font.family}\0".encode())
            if font.path:
                h.update(_file_digest(font.path).encode())
        return h.hexdigest()

    def coverage(self) -> list[tuple[str, frozenset[int]]]:
        """(family, code points) of every face, in the order text falls back through them."""
        faces = [(SANS, bundled_cmap(SANS)), (SERIF, bundled_cmap(SERIF))]
        faces += [(f.family, font_cmap(f.path)) for f in self.extras if f.path]
        return faces

    def missing(self, text: str) -> str:
        """The distinct characters of ``text`` that no font of this set can draw, in order."""
        covered = self._covered()
        seen = dict.fromkeys(ch for ch in text if ord(ch) not in covered and not _is_invisible(ch))
        return "".join(seen)

    def _covered(self) -> frozenset[int]:
        return _union(tuple(cmap for _, cmap in self.coverage()))


@lru_cache(maxsize=32)
def _union(cmaps: tuple[frozenset[int], ...]) -> frozenset[int]:
    return frozenset().union(*cmaps)


def css_string(name: str) -> str:
    """Quote a family name for CSS (names are checked by :func:`font_set`)."""
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _face_rule(family: str, url: str, weight: int, style: str) -> str:
    return (
        f"@font-face {{ font-family: {css_string(family)}; src: url('{url}'); "
        f"font-weight: {weight}; font-style: {style}; }}"
    )


def font_faces_css() -> str:
    """The ``@font-face`` rules of the bundled fonts (``file:`` URLs)."""
    return FontSet().face_css()


@lru_cache(maxsize=64)
def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


@lru_cache(maxsize=64)
def font_cmap(path: Path | None) -> frozenset[int]:
    """The code points a font file maps to glyphs (empty if it cannot be read)."""
    if path is None:
        return frozenset()
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), fontNumber=0, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:  # noqa: BLE001 (any unreadable file is "no glyphs"; check names it)
        return frozenset()


@lru_cache(maxsize=4)
def bundled_cmap(family: str) -> frozenset[int]:
    """The code points every bundled face of ``family`` has (what any weight can draw)."""
    files = [FONTS_DIR / name for fam, _, _, name in FONT_FACES if fam == family]
    return frozenset.intersection(*(font_cmap(f) for f in files))


def fc_list(pattern: str, *elements: str) -> str | None:
    """What fontconfig's ``fc-list PATTERN ELEMENTS...`` prints, or None without fc-list."""
    command = shutil.which("fc-list")
    if command is None:
        return None
    try:
        return subprocess.run(
            [command, pattern, *elements],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None


@lru_cache(maxsize=64)
def installed_family(name: str) -> Path | None:
    """The file of an installed font family (fontconfig), or None if it is not installed."""
    if not _FAMILY.match(name):
        return None
    out = fc_list(":family=" + re.sub(r"([\\:,=-])", r"\\\1", name), "file", "style")
    if out is None:
        return None
    files = []
    for line in sorted(out.splitlines()):
        path, _, style = line.partition(":")
        files.append((0 if "regular" in style.lower() else 1, path.strip()))
    return Path(min(files)[1]) if files else None


def scripts_of(code: str) -> tuple[str, ...]:
    """The Unicode scripts an ISO 15924 code names (``Jpan``: Han, Hiragana, Katakana)."""
    return SCRIPT_ALIASES.get(code, (code,))


def font_set(catalog: Catalog) -> FontSet:
    """The fonts ``catalog`` prints with (``site.fonts``, resolved next to the catalog)."""
    fonts = catalog.site.fonts
    return _font_set(catalog.path.resolve().parent, tuple(fonts.items()))


@lru_cache(maxsize=16)
def _font_set(base: Path, items: tuple[tuple[str, str], ...]) -> FontSet:
    extras: list[ScriptFont] = []
    problems: list[tuple[str, str]] = []
    for script, source in items:
        key = f"site.fonts.{script}"
        if not _SCRIPT_CODE.match(script) or not all(
            s == "Zyyy" or font_unicodedata.script_name(s, default=None) for s in scripts_of(script)
        ):
            problems.append((key, f"'{script}' is not an ISO 15924 script code (e.g. Arab, Jpan)"))
            continue
        if source.lower().endswith(FONT_SUFFIXES):
            path = (base / source).resolve()
            if not path.is_relative_to(base):
                problems.append((key, f"'{source}' is outside the catalog's folder"))
                continue
            if not path.is_file():
                problems.append((key, f"font file '{source}' not found next to the catalog"))
                continue
            if not font_cmap(path):
                problems.append((key, f"'{source}' is not a font file fontTools can read"))
                continue
            family = f"Storefront {script} {len(extras) + 1}"
            extras.append(ScriptFont(script, source, family, path, True))
        else:
            if not _FAMILY.match(source):
                problems.append((key, f"'{source}' is not a font family name or a font file"))
                continue
            path = installed_family(source)
            if path is None:
                problems.append((key, f"no font family '{source}' is installed (fc-list)"))
                continue
            extras.append(ScriptFont(script, source, source, path, False))
    return FontSet(tuple(extras), tuple(problems))


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class _Metrics:
    advances: Mapping[int, float]  # code point -> advance in em


@lru_cache(maxsize=32)
def _metrics(path: Path) -> _Metrics:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), fontNumber=0, lazy=True) as font:
        upem = font["head"].unitsPerEm
        hmtx = font["hmtx"].metrics
        cmap = font.getBestCmap() or {}
        return _Metrics({cp: hmtx[name][0] / upem for cp, name in cmap.items() if name in hmtx})


def _face_paths(fonts: FontSet, family: str, style: str) -> list[Path]:
    """Font files in fallback order for text set in ``family``/``style``."""
    other = SERIF if family == SANS else SANS
    paths = []
    for fam in (family, other):
        faces = [f for f in FONT_FACES if f[0] == fam]
        styled = [f for f in faces if f[2] == style] or [f for f in faces if f[2] == "normal"]
        paths.append(FONTS_DIR / styled[0][3])
    return paths + [f.path for f in fonts.extras if f.path]


@lru_cache(maxsize=64)
def _faces(fonts: FontSet, family: str, style: str) -> tuple[Mapping[int, float], ...]:
    return tuple(_metrics(path).advances for path in _face_paths(fonts, family, style))


def text_width(
    text: str,
    size: float,
    fonts: FontSet,
    *,
    family: str = SERIF,
    style: str = "normal",
    letter_spacing: float = 0.0,
) -> float:
    """The advance width of ``text`` at ``size`` px, each character from the first face with it.

    Kerning and shaping are left out; callers keep a margin for them.
    """
    faces = _faces(fonts, family, style)
    width = 0.0
    for ch in text:
        cp = ord(ch)
        advance = next(
            (face[cp] for face in faces if cp in face), 0.0 if _is_invisible(ch) else 1.0
        )
        width += advance * size + letter_spacing
    return width
