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

MAX_NESTING = 32  # a catalog needs 3 or 4 (an array of inline tables of arrays)

_NEXT = re.compile(r"""[#"'\[\]{}]""")
# Each string pattern matches from just after the opening quote(s) to just after the end
# (or to the end of the line or text when it is unterminated: the parser reports that).
_STRING_REST = {
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*(?:"""(?:"{0,2})|\Z)', re.S),
    "'''": re.compile(r"(?:[^']|'(?!''))*(?:'''(?:'{0,2})|\Z)", re.S),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*(?:"|(?=\n)|\Z)'),
    "'": re.compile(r"[^'\n]*(?:'|(?=\n)|\Z)"),
}


def too_deep_line(text: str, limit: int = MAX_NESTING) -> int | None:
    """The 1-based line where ``[``/``{`` nesting first passes ``limit``, or None."""
    depth = 0
    pos = 0
    while m := _NEXT.search(text, pos):
        ch, pos = m.group(), m.end()
        if ch == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        elif ch in "\"'":
            opener = ch * 3 if text.startswith(ch * 2, pos) else ch
            pos += len(opener) - 1
            pos = _STRING_REST[opener].match(text, pos).end()
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return text.count("\n", 0, m.start()) + 1
        else:
            depth = max(0, depth - 1)
    return None
