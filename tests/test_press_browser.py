"""The press page in real headless Chromium: axe-core reports nothing, on a desktop and a phone."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import serve_wsgi
from .test_widget_browser import new_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "press" / "catalog.toml"


@pytest.fixture
def site(make_app):
    app = make_app(CATALOG=str(EXAMPLE))
    with serve_wsgi(app) as base_url:
        yield base_url


@pytest.mark.parametrize(
    ("path", "viewport"),
    [
        ("/press", {"width": 1200, "height": 900}),
        ("/press", {"width": 390, "height": 844}),
        ("/books/lighthouse-almanac/press", {"width": 390, "height": 844}),
    ],
)
def test_axe_reports_nothing_on_the_press_page(chromium, site, path, viewport):
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    context = new_context(chromium, viewport=viewport, bypass_csp=True)  # axe injects a script
    try:
        page = context.new_page()
        response = page.goto(site + path)
        assert response.status == 200
        # Every rule axe has (WCAG A/AA and best practices), not a subset.
        results = axe.Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
        # Nothing is wider than a phone's screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    finally:
        context.close()
