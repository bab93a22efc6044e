"""The code digest: every module, template and font that makes an output is in it.

Build caches (the flyers' manifest) skip a piece whose inputs and code digest
are unchanged; after a module is split or any file that renders is edited, the
digest must change so nothing made by the old code is kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from widgets.reproducible import code_digest, code_files, code_roots

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the code (both packages and the templates), without bytecode."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("storefront", "widgets", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=ignore)
    return tmp_path


def roots(tree: Path) -> list[Path]:
    return [tree / "storefront", tree / "widgets", tree / "templates"]


def test_the_default_digest_covers_both_packages_and_the_templates():
    names = {name for name, _ in code_files(code_roots())}
    for expected in (
        "storefront/pricing.py",
        "storefront/presentation.py",
        "storefront/export/naming.py",
        "widgets/epub/builder.py",
        "templates/epub/buy.xhtml",
        "templates/embed/widget.js",
    ):
        assert expected in names
    # Every module and template, in every subpackage, whatever the split of the day.
    for package in ("storefront", "widgets"):
        for path in (ROOT / package).rglob("*.py"):
            assert f"{package}/{path.relative_to(ROOT / package).as_posix()}" in names, path
    for path in (ROOT / "templates").rglob("*"):
        if path.is_file():
            assert f"templates/{path.relative_to(ROOT / 'templates').as_posix()}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert code_digest() == code_digest(code_roots())


def test_editing_any_file_changes_the_digest(tree):
    before = code_digest(roots(tree))
    files = code_files(roots(tree))
    assert len(files) > 50
    for name, path in files:
        data = path.read_bytes()
        path.write_bytes(data + b"\n")
        assert code_digest(roots(tree)) != before, name
        path.write_bytes(data)
    assert code_digest(roots(tree)) == before


def test_splitting_a_module_changes_the_digest(tree):
    before = code_digest(roots(tree))
    module = tree / "widgets" / "cover.py"
    text = module.read_text(encoding="utf-8")
    cut = text.index("\ndef ", len(text) // 2)
    # The same bytes in two files: the names and lengths tell them apart.
    module.write_text(text[:cut], encoding="utf-8")
    (tree / "widgets" / "cover_parts.py").write_text(text[cut:], encoding="utf-8")
    assert code_digest(roots(tree)) != before


def test_a_new_empty_module_or_a_removed_one_changes_the_digest(tree):
    before = code_digest(roots(tree))
    new = tree / "storefront" / "export" / "extra.py"
    new.write_text("", encoding="utf-8")
    assert code_digest(roots(tree)) != before
    new.unlink()
    assert code_digest(roots(tree)) == before
    (tree / "widgets" / "qr.py").unlink()
    assert code_digest(roots(tree)) != before


def test_bytecode_caches_do_not_count(tree):
    before = code_digest(roots(tree))
    cache = tree / "widgets" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "epub.cpython-311.pyc").write_bytes(b"\x00" * 16)
    (tree / "storefront" / "stray.pyc").write_bytes(b"\x00")
    assert code_digest(roots(tree)) == before


def _flyers(tree: Path, out: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOREFRONT_", "PYTHONPATH"))}
    env["PYTHONPATH"] = str(tree)
    env["SOURCE_DATE_EPOCH"] = "1798761600"
    result = subprocess.run(
        [sys.executable, "-c", "from storefront.cli import main; main()", "flyers",
         "--book", "genesis", "--piece", "flyer-letter", "-o", str(out),
         "--now", "2026-11-25T12:00:00Z"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [line.split()[0] for line in result.stdout.splitlines() if line.endswith(".pdf")]


@pytest.mark.slow
def test_flyers_are_rebuilt_after_a_module_is_split(tree, tmp_path):
    out = tmp_path / "out"
    assert _flyers(tree, out) == ["built"]
    assert _flyers(tree, out) == ["skipped"]
    # A split that renders the same: the code changed, so the piece is rebuilt.
    pricing = tree / "storefront" / "pricing.py"
    text = pricing.read_text(encoding="utf-8")
    cut = text.index("\ndef format_money")
    end = text.index("\n@dataclass(frozen=True)\nclass SalePrice")  # the money helpers end here
    names = "_require_aware, format_day, format_instant, format_money, last_moment, utcnow"
    pricing.write_text(
        text[:cut] + f"\nfrom .money import {names}\n" + text[end:], encoding="utf-8"
    )
    header = (
        "from __future__ import annotations\n"
        "from datetime import UTC, datetime, timedelta\n"
        "from babel.dates import format_date, format_datetime\n"
        "from babel.numbers import format_currency\n"
    )
    (tree / "storefront" / "money.py").write_text(header + text[cut:end], encoding="utf-8")
    assert _flyers(tree, out) == ["built"]
