"""Map key paths of the TOML text to line numbers, so every problem names its line."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .nesting import top_level_lines

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_RE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def _split_key(raw: str) -> list[str]:
    parts = re.findall(r"""\"[^\"]*\"|'[^']*'|[^.\s]+""", raw)
    return [p.strip("\"'") for p in parts]


def build_line_map(text: str) -> dict[str, int]:
    """Map key paths such as ``books[0].editions[1].price`` to their source line.

    A light scan of table headers and ``key =`` lines: enough to point a person
    at the right line of a hand-edited file. Paths not found fall back to the
    nearest enclosing table (see :func:`line_for`).
    """
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    prefix = ""
    # Lines inside a multi-line value or string hold no header and no top-level key.
    top = top_level_lines(text)
    for number, line in enumerate(text.split("\n"), start=1):  # TOML counts lines by newlines
        if not top[number - 1]:
            continue
        if m := _HEADER_RE.match(line):
            is_array = m.group(1) == "[["
            concrete = ""
            names = _split_key(m.group(2))
            for i, name in enumerate(names):
                path = f"{concrete}.{name}" if concrete else name
                if i == len(names) - 1 and is_array:
                    counters[path] = counters.get(path, -1) + 1
                    path = f"{path}[{counters[path]}]"
                elif path in counters:
                    path = f"{path}[{counters[path]}]"
                concrete = path
            prefix = concrete
            lines.setdefault(prefix, number)
            continue
        if m := _KEY_RE.match(line):
            key = ".".join(_split_key(m.group(1)))
            lines.setdefault(f"{prefix}.{key}" if prefix else key, number)
    return lines


def line_for(lines: Mapping[str, int], path: str) -> int | None:
    """The line of ``path``, else of the nearest enclosing key or table that has one."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get(path)
