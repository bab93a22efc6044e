"""Text fitting's contract with WeasyPrint: public API only, and a loud pin.

``widgets.print.fit`` measures zones through :attr:`weasyprint.Page.anchors`
(public) and relies on two layout behaviours checked here on a tiny document, so
a WeasyPrint upgrade that changes them fails these tests, not a print run.
"""

from __future__ import annotations

import ast
from importlib.metadata import version
from pathlib import Path

import pytest

from widgets.print.fit import overflows, zones_of

PACKAGE = Path(__file__).resolve().parent.parent / "widgets" / "print"
VERIFIED_MAJOR = 70

ZONE = """<style>
.zone {{ position: relative; width: 100px; font-size: 20px; {limit} }}
.fit-mark {{ display: block; height: 0; margin: 0; }}
.fit-bottom {{ position: absolute; bottom: 0; left: 0; }}
.fit-bottom.fit-max {{ bottom: auto; top: var(--fit-max); }}
</style>
<div class="zone" data-fit="title"><span class="fit-mark" id="fit-title-z-start"></span>{text}
<span class="fit-mark" id="fit-title-z-end"></span><span class="fit-mark fit-bottom{cls}"
 id="fit-title-z-bottom"></span></div>"""


def _overflow(text: str, limit: str, cls: str = "") -> dict[str, float]:
    from weasyprint import HTML

    html = ZONE.format(text=text, limit=limit, cls=cls)
    return overflows(HTML(string=html).render(), zones_of(html))


def test_weasyprint_is_the_verified_major_version():
    major = int(version("weasyprint").split(".")[0])
    assert major == VERIFIED_MAJOR, (
        f"WeasyPrint {version('weasyprint')} is not the verified {VERIFIED_MAJOR}.x. Before "
        "moving the pin in pyproject.toml check: Page.anchors still maps ids to points whose "
        "second item is y (widgets/print/fit.py); a `bottom: 0` child of a max-height box is "
        "still placed before the clamp (the --fit-max markers); weasyprint.urls.URLFetcher and "
        "FatalURLFetchingError (widgets/print/render.py); pdf_variant 'pdf/ua-1'; then look at "
        "every piece (tests/test_flyer*.py write PNGs to artifacts/flyers/)."
    )


@pytest.mark.parametrize(
    ("limit", "cls"),
    [("height: 60px;", ""), ("--fit-max: 60px; max-height: var(--fit-max);", " fit-max")],
)
def test_a_zone_that_holds_its_text_does_not_overflow(limit, cls):
    assert _overflow("short", limit, cls) == {}


@pytest.mark.parametrize(
    ("limit", "cls"),
    [("height: 60px;", ""), ("--fit-max: 60px; max-height: var(--fit-max);", " fit-max")],
)
def test_a_zone_whose_text_runs_past_its_bottom_overflows_by_the_right_ratio(limit, cls):
    over = _overflow("word " * 12, limit, cls)  # 12 lines of ~23 px in 60 px
    assert set(over) == {"title"}
    assert 3.5 < over["title"] < 6


def test_a_zone_whose_text_falls_off_the_page_overflows():
    over = _overflow("word " * 400, "height: 60px;")
    assert over["title"] > 1.4


def test_text_fitting_reads_no_private_weasyprint_attribute():
    """No `_name` attribute of another object is read in widgets/print (no private API)."""
    private = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
                continue
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if not own and not node.attr.startswith("__"):
                private.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert private == []
