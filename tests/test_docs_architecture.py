"""docs/architecture.md names only what exists: every path, module and name in its code spans.

A path (``storefront/views/books.py``, ``templates/flyers/``) must be a file or folder of the
checkout; a dotted name (``storefront.views.books.book_page``) must import as a module, or as a
module and then attributes of it. A rename that forgets the map fails here.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "architecture.md"
TOPS = ("storefront", "widgets", "templates", "tests", "docs", "bench", "examples")
PATH = re.compile(rf"^(?:{'|'.join(TOPS)})/[\w./-]*$")
DOTTED = re.compile(r"^(?:storefront|widgets)(?:\.\w+)+$")


def code_spans() -> list[str]:
    text = re.sub(r"^```.*?^```", "", PAGE.read_text(encoding="utf-8"), flags=re.M | re.S)
    return re.findall(r"`([^`\n]+)`", text)


def named_paths() -> list[str]:
    return sorted({s for s in code_spans() if PATH.match(s)})


def named_objects() -> list[str]:
    return sorted({s for s in code_spans() if DOTTED.match(s)})


def resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted``, then follow the rest as attributes."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:end]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[end:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


def test_the_page_names_modules():
    # Guards the test: a page whose spans stopped matching would pass everything below.
    assert len(named_paths()) > 40 and len(named_objects()) > 10


@pytest.mark.parametrize("path", named_paths())
def test_every_named_path_exists(path):
    assert (ROOT / path).exists(), f"docs/architecture.md names {path}, which does not exist"


@pytest.mark.parametrize("name", named_objects())
def test_every_named_module_and_name_exists(name):
    try:
        resolve(name)
    except (ModuleNotFoundError, AttributeError) as exc:
        pytest.fail(f"docs/architecture.md names {name}, which does not exist: {exc}")


@pytest.mark.parametrize(
    ("name", "exists"),
    [("storefront.credits.book_credits", True), ("storefront.catalog_shelf", False)],
)
def test_resolve_tells_a_gone_module(name, exists):
    try:
        resolve(name)
    except (ModuleNotFoundError, AttributeError):
        assert not exists
    else:
        assert exists
