"""Read a catalog file: TOML syntax errors, the line map, then the reader."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from pathlib import Path

from .errors import CatalogError, CatalogProblem
from .lines import build_line_map
from .model import Catalog
from .nesting import MAX_NESTING, too_deep_line
from .reader import CatalogReader
from .syntax import syntax_problem

_TOO_DEEP = f"values nested too deeply (more than {MAX_NESTING} levels of [ ] or {{ }})"


def builtin_catalog_path() -> Path:
    """Return the path of the built-in Genesis catalog (works from a wheel too)."""
    return Path(str(resources.files("storefront") / "data" / "catalog.toml"))


def parse_catalog(text: str, path: Path) -> Catalog:
    """Validate catalog ``text`` (read from ``path``) and build the model."""
    deep = too_deep_line(text)
    if deep is not None:
        raise CatalogError([CatalogProblem(path.name, deep, "", _TOO_DEEP)])
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except RecursionError:  # the scan above should make this unreachable: still no traceback
        raise CatalogError([CatalogProblem(path.name, None, "", _TOO_DEEP)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError([syntax_problem(path.name, text, str(exc))]) from None
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    return CatalogReader(path, data, build_line_map(text)).read(version)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate the catalog at ``path`` (default: the built-in one)."""
    path = Path(path) if path else builtin_catalog_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError([CatalogProblem(str(path), None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise CatalogError(
            [CatalogProblem(path.name, None, "", f"not UTF-8 text: {exc}")]
        ) from None
    except OSError as exc:
        raise CatalogError(
            [CatalogProblem(str(path), None, "", exc.strerror or str(exc))]
        ) from None
    return parse_catalog(text, path.resolve())


def iter_urls(catalog: Catalog) -> Iterator[tuple[str, str]]:
    """Yield (key path, URL) for every URL in the catalog, for the link checker."""
    for b in catalog.books:
        for o in b.offers:
            yield f"{b.slug}/{o.slug}", o.url
            for country, url in o.countries.items():
                yield f"{b.slug}/{o.slug}[{country}]", url
        for i, q in enumerate(b.quotes):
            if q.url:
                yield f"{b.slug}/quotes[{i}]", q.url
    for m in catalog.support:
        if m.url:
            yield f"support/{m.slug}", m.url
