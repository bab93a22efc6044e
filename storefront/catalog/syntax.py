"""TOML syntax errors told in plain words, with the line and a caret under the column.

``tomllib`` says ``Expected newline or end of document after a statement (at line 12,
column 19)``; an author editing a catalog by hand needs the line itself, where on it
the reader stopped, and what TOML wanted there.
"""

from __future__ import annotations

import re

from .errors import CatalogProblem

# tomllib's message (its start) -> what TOML expected, in plain words.
_PLAIN: tuple[tuple[str, str], ...] = (
    (
        "Expected newline or end of document after a statement",
        "TOML expected the line to end after the value: one `key = value` per line; quote text "
        'that has spaces ("like this") and start a comment with #',
    ),
    (
        "Expected '=' after a key in a key/value pair",
        "TOML expected `=` after the key: write `key = value` (a key with spaces needs quotes)",
    ),
    (
        "Invalid value",
        'TOML expected a value here: text in quotes ("5.99", "Kobo"), a number, true or false, '
        "a date such as 2026-12-21, a [list] or an { inline = table }",
    ),
    (
        "Invalid statement",
        "TOML expected a `key = value` line, a [table] or [[array]] header, or a # comment",
    ),
    (
        "Unclosed array",
        "a list opened with [ is not closed: TOML expected `,` between items and `]`",
    ),
    (
        "Unclosed inline table",
        "an inline table opened with { is not closed: TOML expected `,` between entries and `}` "
        "on the same line",
    ),
    (
        "Unterminated string",
        'a string is not closed: TOML expected the closing quote on the same line (use """ for '
        "text over several lines)",
    ),
    (
        "Illegal character",
        'TOML does not allow this character in a string: a line break needs """ quotes, a tab '
        "or control character an escape such as \\t",
    ),
    (
        "Unescaped '\\' in a string",
        "a backslash in a \"...\" string starts an escape: write \\\\ or use '...' quotes",
    ),
    ("Cannot declare", "this [table] is already declared above: TOML allows each header once"),
    ("Cannot overwrite a value", "this key is already set above: TOML allows each key once"),
    ("Cannot redefine namespace", "this key is already a table above: TOML allows it once"),
    ("Cannot mutate immutable namespace", "an inline { table } cannot be extended later"),
    ("Duplicate inline table key", "this key is set twice in the same { inline table }"),
    ("Expected ']' at the end of a table declaration", "TOML expected `]` to close the [header]"),
    (
        "Expected ']]' at the end of an array declaration",
        "TOML expected `]]` to close the [[header]]",
    ),
    (
        "Invalid initial character for a key part",
        "TOML expected a key: letters, digits, - and _, or a key in quotes",
    ),
    (
        "Invalid date or datetime",
        "TOML expected a date such as 2026-12-21 or a time such as 2026-12-21T09:00:00-07:00",
    ),
    ("Invalid hex value", 'TOML expected 4 or 8 hexadecimal digits after \\u or \\U in "..."'),
)
_WHERE = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")


def plain_words(message: str) -> str:
    """What TOML expected, for a ``tomllib`` message without its position."""
    if message == "Illegal character '\\n'":  # a one-line string that runs to the line's end
        message = "Unterminated string"
    for start, words in _PLAIN:
        if message.startswith(start):
            return words
    if message.startswith("Expected "):
        return f"TOML expected {message.removeprefix('Expected ')} here"
    if message.startswith("Found invalid character"):
        return f"TOML does not allow {message.removeprefix('Found invalid character ')} here"
    return message


def syntax_problem(file: str, text: str, message: str) -> CatalogProblem:
    """A :class:`CatalogProblem` for a ``tomllib`` error: plain words, the line, a caret."""
    m = _WHERE.search(message)
    bare = _WHERE.sub("", message)
    lines = text.splitlines() or [""]
    if m and m.group(1):
        line, column = int(m.group(1)), int(m.group(2))
    else:  # at the end of the document: after the last character
        line, column = len(lines), len(lines[-1]) + 1
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    # Keep the line's own tabs in front of the caret so it lines up in any terminal.
    pad = "".join(ch if ch == "\t" else " " for ch in source[: column - 1])
    excerpt = f"    {source}\n    {pad}^"
    return CatalogProblem(
        file,
        line,
        "",
        f"TOML syntax error at column {column}: {plain_words(bare)} (tomllib: {bare})",
        excerpt=excerpt,
    )
