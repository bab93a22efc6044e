"""Refuse TOML nested deeper than a catalog ever needs, before the parser recurses into it.

``tomllib`` parses arrays and inline tables recursively: ``a = [[[[…]]]]`` a
few hundred levels deep raises ``RecursionError`` (a traceback in ``check``, a
500 on hot reload). This scan counts ``[``/``{`` depth outside strings and
comments, without recursion, and names the line where it passes the limit.
Regular expressions jump from one bracket, quote or comment to the next, so a
large catalog (mostly text inside strings) is scanned at C speed.
"""

from __future__ import annotations

import re
from bisect import bisect_left

MAX_NESTING = 32  # a catalog needs 3 or 4 (an array of inline tables of arrays)

# One token at a time, found by the regex engine: what cannot hold a bracket that counts
# (a comment, a string of any of the four kinds, a [table] or [[array]] header line) is
# skipped whole; an unterminated string runs to the end of its line (or of the text for
# a multi-line one): the parser reports it.
_SKIP = "|".join(
    (
        r"\#[^\n]*",  # a comment
        r'"""(?:[^"\\]|\\.|"(?!""))*(?:"""(?:"{0,2})|\Z)',  # multi-line basic string
        r"'''(?:[^']|'(?!''))*(?:'''(?:'{0,2})|\Z)",  # multi-line literal string
        r'"(?:[^"\\\n]|\\.)*"?',  # basic string
        r"'[^'\n]*'?",  # literal string
        r"^[ \t]*\[\[?[^\[\]\n\"'\#]*\]\]?[ \t]*$",  # a [table] or [[array]] header line
    )
)
_TOKEN = re.compile(rf"(?P<skip>{_SKIP})|(?P<open>[\[{{])|(?P<close>[\]}}])", re.M | re.S)


def too_deep_line(text: str, limit: int = MAX_NESTING) -> int | None:
    """The 1-based line where ``[``/``{`` nesting first passes ``limit``, or None."""
    depth = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "open":
            depth += 1
            if depth > limit:
                return text.count("\n", 0, m.start()) + 1
        elif kind == "close":
            depth = max(0, depth - 1)
    return None


def top_level_lines(text: str) -> list[bool]:
    """For each line (0-based), whether it starts outside every bracket and string.

    Only such a line can hold a ``[table]`` header or a top-level ``key =``: the line
    map (:mod:`.lines`) reads them with this scan, so a ``[`` inside a multi-line
    string does not hide the rest of the file.
    """
    newlines = [m.start() for m in re.finditer("\n", text)]
    depth_at = [0] * (len(newlines) + 1)
    inside = [False] * (len(newlines) + 1)
    depth, filled = 0, 1
    for m in _TOKEN.finditer(text):
        first = bisect_left(newlines, m.start())  # the token's line
        while filled <= first:  # lines that start before the token: depth so far
            depth_at[filled] = depth
            filled += 1
        kind = m.lastgroup
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth = max(0, depth - 1)
        else:  # a string over several lines: the lines after its first start inside it
            for line in range(first + 1, bisect_left(newlines, m.end() - 1) + 1):
                inside[line] = True
    depth_at[filled:] = [depth] * (len(depth_at) - filled)
    return [d == 0 and not i for d, i in zip(depth_at, inside, strict=True)]
