"""Reproducible builds: timestamps that honour ``SOURCE_DATE_EPOCH``, and the code's digest."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import storefront
from storefront.templating import templates_dir

_WIDGETS = Path(__file__).resolve().parent
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def source_date(default: datetime | None = None) -> datetime:
    """Return ``SOURCE_DATE_EPOCH`` as an aware UTC datetime, else ``default`` or now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError):
            raise ValueError(
                f"SOURCE_DATE_EPOCH: '{epoch}' is not a whole number of seconds"
            ) from None
    return (default or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def code_roots() -> tuple[Path, ...]:
    """The folders whose files make every output: both packages and the template tree."""
    return (Path(storefront.__file__).resolve().parent, _WIDGETS, templates_dir().resolve())


def code_files(roots: Iterable[Path]) -> list[tuple[str, Path]]:
    """Every file under ``roots`` (bytecode caches aside) as (name, path), sorted by name."""
    found: dict[Path, str] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
            for name in files:
                if name.endswith(_SKIPPED_SUFFIXES):
                    continue
                path = Path(folder, name)
                # A wheel's templates sit inside the package: count each file once.
                found.setdefault(path.resolve(), f"{root.name}/{path.relative_to(root).as_posix()}")
    return sorted(((name, path) for path, name in found.items()), key=lambda item: item[0])


def code_digest(roots: Iterable[Path] | None = None) -> str:
    """Hash every module, template and font the outputs are made from.

    A change anywhere in ``storefront/``, ``widgets/`` or ``templates/`` changes
    the digest: a file edited, added (a module split in two), removed or renamed.
    Build caches keyed on it (the flyers' manifest) therefore never keep a piece
    made by other code. With the default roots the digest is computed once per
    process.
    """
    if roots is None:
        return _default_digest()
    h = hashlib.sha256()
    for name, path in code_files(roots):
        data = path.read_bytes()
        # Name and length first: moving code from one file to another changes the digest.
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


@cache
def _default_digest() -> str:
    return code_digest(code_roots())
