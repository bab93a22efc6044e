"""widgets.typefaces: what the bundled fonts cover, and the author's fonts per script."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from fontTools.unicodedata import script

from widgets.typefaces import (
    BUNDLED_SCRIPTS,
    SANS,
    SERIF,
    FontSet,
    _font_set,
    bundled_cmap,
    text_width,
)

# The letters of each script's core block(s) that text in the script uses.
BLOCKS = {
    "Latn": [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x17F), (0x1EA0, 0x1EF9)],  # Vietnamese too
    "Grek": [(0x391, 0x3A9), (0x3B1, 0x3C9), (0x386, 0x38F)],
    "Cyrl": [(0x410, 0x44F), (0x400, 0x40F), (0x450, 0x45F)],
}


@pytest.mark.parametrize("code", BUNDLED_SCRIPTS)
def test_the_bundled_fonts_cover_the_scripts_the_docs_name(code):
    covered = bundled_cmap(SANS) & bundled_cmap(SERIF)
    letters = [
        cp
        for lo, hi in BLOCKS[code]
        for cp in range(lo, hi + 1)
        if unicodedata.category(chr(cp)).startswith("L")
        and script(chr(cp)) == code
        and cp != 0x149  # ŉ, deprecated in Unicode: EB Garamond leaves it out
    ]
    missing = [f"U+{cp:04X}" for cp in letters if cp not in covered]
    assert len(letters) > 40 and not missing, missing


def test_other_scripts_are_not_claimed():
    covered = bundled_cmap(SANS) | bundled_cmap(SERIF)
    for ch in "月あアאعक한":
        assert ord(ch) not in covered, ch


def test_only_drawn_characters_need_a_font():
    fonts = FontSet()
    assert fonts.missing("Genesis — “Бытие”, Γένεσις\u00a0\u200d\ufe0f\n") == ""
    assert fonts.missing("月面 🚀 月") == "月面🚀"  # each character once, in order


@pytest.mark.parametrize(
    ("script_code", "value", "message"),
    [
        ("Hebr", "Foo'; } body { color: red", "is not a font family name or a font file"),
        ("Xxxx", "DejaVu Sans", "is not an ISO 15924 script code"),
        ("Arab", "missing.ttf", "font file 'missing.ttf' not found next to the catalog"),
        ("Arab", "../outside.ttf", "is outside the catalog's folder"),
    ],
)
def test_a_font_the_catalog_names_is_checked(tmp_path, script_code, value, message):
    fonts = _font_set(tmp_path, ((script_code, value),))
    assert fonts.extras == ()
    ((path, problem),) = fonts.problems
    assert path == f"site.fonts.{script_code}" and message in problem


def test_a_catalog_font_file_is_declared_and_readable(tmp_path):
    source = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not source.is_file():
        pytest.skip("DejaVu Sans is not installed")
    (tmp_path / "heb.ttf").write_bytes(source.read_bytes())
    fonts = _font_set(tmp_path, (("Hebr", "heb.ttf"),))
    assert not fonts.problems
    assert fonts.missing("שלום") == ""
    assert fonts.font_files() == (str(tmp_path / "heb.ttf"),)
    assert "'Storefront Hebr 1'" in fonts.serif and "generic" not in fonts.serif
    assert "font-family: 'Storefront Hebr 1'" in fonts.face_css()


def test_text_width_grows_with_size_text_and_spacing():
    fonts = FontSet()
    one = text_width("ROBERT ZIMMERMAN", 34, fonts)
    assert text_width("ROBERT ZIMMERMAN", 68, fonts) == pytest.approx(2 * one)
    assert text_width("ROBERT ZIMMERMAN, JANE DOE, JOHN SMITH", 34, fonts) > 2 * one
    assert text_width("AB", 34, fonts, letter_spacing=3) == pytest.approx(
        text_width("AB", 34, fonts) + 6
    )
