"""Edit the catalog TOML in place with tomlkit: only changed keys are touched.

The author's comments, key order and formatting stay as they were: a field whose
submitted value equals what the file holds is not rewritten at all, a changed
table of country stores is updated key by key, and a new item is appended to its
array. Values are checked for their type here (a number, a date); what they mean
is checked by the catalog's own validator (:func:`storefront.catalog.parse_catalog`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import tomlkit
from tomlkit.items import AoT, Array, Comment, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from ..catalog import CatalogProblem
from .fields import Field, field_for

_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")
_STRING_NUMBERS = ("price", "sale_price")  # money stays a string, as the author writes it


class PathError(LookupError):
    """No table at that key path."""


class ValueProblem(ValueError):
    """A submitted value has the wrong shape; keyed by field."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def parse(text: str) -> TOMLDocument:
    return tomlkit.parse(text)


def dumps(doc: TOMLDocument) -> str:
    return tomlkit.dumps(doc)


def split_path(path: str) -> list[tuple[str, int | None]]:
    parts = []
    for segment in path.split("."):
        m = _SEGMENT.match(segment)
        if not m:
            raise PathError(f"'{path}' is not a key path")
        parts.append((m.group(1), int(m.group(2)) if m.group(2) is not None else None))
    return parts


def resolve(doc: TOMLDocument, path: str) -> Any:
    """Return the table (or array) at ``path``, e.g. ``books[0].editions[1]``."""
    node: Any = doc
    for key, index in split_path(path):
        if not isinstance(node, Mapping) or key not in node:
            raise PathError(f"nothing at '{path}'")
        node = node[key]
        if index is not None:
            if not isinstance(node, list) or index >= len(node):
                raise PathError(f"nothing at '{path}'")
            node = node[index]
    return node


def items(doc: TOMLDocument, path: str) -> list:
    """The items of the array at ``path`` (empty when it is not there)."""
    try:
        node = resolve(doc, path)
    except PathError:
        return []
    return list(node) if isinstance(node, list) else []


def add_item(
    doc: TOMLDocument, array_path: str, fields: tuple[Field, ...], values: Mapping[str, Any]
) -> str:
    """Append a table with ``values`` to the array of tables at ``array_path``; return its path.

    Comments and blank lines that followed the last item (often the heading of the
    next section) move below the new item, so they keep introducing what follows.
    """
    parent_path, _, key = array_path.rpartition(".")
    parent = resolve(doc, parent_path) if parent_path else doc
    table = tomlkit.table()
    apply(table, fields, values)  # raises ValueProblem before anything changes
    if key not in parent:
        parent.append(key, tomlkit.aot())
    array = parent[key]
    if not isinstance(array, AoT):
        raise PathError(f"'{array_path}' is not an array of tables")
    trailer = _take_trailer(array[len(array) - 1]) if len(array) else []
    if len(array):
        # The blank line that ended the last item stays; comments move down.
        keep = (
            trailer.pop(0) if trailer and isinstance(trailer[0], Whitespace) else tomlkit.ws("\n")
        )
        array[len(array) - 1].value.append(None, keep)
    if trailer and isinstance(trailer[0], Comment):
        trailer.insert(0, tomlkit.ws("\n"))
    if not trailer or not isinstance(trailer[-1], Whitespace):
        trailer.append(tomlkit.ws("\n"))
    for item in trailer:
        table.value.append(None, item)
    array.append(table)
    return f"{array_path}[{len(array) - 1}]"


def _take_trailer(table: Table) -> list:
    """Remove and return the comments and blank lines at the end of ``table``."""
    body = table.value.body
    trailer = []
    while body and body[-1][0] is None and isinstance(body[-1][1], Whitespace | Comment):
        trailer.insert(0, body.pop()[1])
    return trailer


def remove_item(doc: TOMLDocument, path: str) -> None:
    """Remove the table at ``path`` from its array.

    The comments that followed it (about what comes next) stay, below the item before it.
    """
    parent_path, _, last = path.rpartition(".")
    key, index = split_path(last)[0]
    parent = resolve(doc, parent_path) if parent_path else doc
    if index is None or key not in parent or index >= len(parent[key]):
        raise PathError(f"nothing to remove at '{path}'")
    array = parent[key]
    if index > 0:
        trailer = _take_trailer(array[index])
        if any(isinstance(item, Comment) for item in trailer):
            previous = array[index - 1]
            mine = _take_trailer(previous)
            if trailer and isinstance(trailer[0], Whitespace) and mine:
                trailer = trailer[1:]
            for item in [*mine, *trailer]:
                previous.value.append(None, item)
    del array[index]
    if not len(parent[key]):
        del parent[key]


# --------------------------------------------------------------------------- reading


def _get(table: Mapping, key: str) -> Any:
    node: Any = table
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node.unwrap() if hasattr(node, "unwrap") else node


def display(table: Mapping, f: Field) -> Any:
    """The value of ``f`` in ``table`` as the form shows it (text, or a list for checks)."""
    value = _get(table, f.key)
    if value is None:
        return [] if f.kind == "checks" else ("" if f.kind != "bool" else False)
    if f.kind == "bool":
        return bool(value)
    if f.kind == "checks":
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if f.key == "contributors" and isinstance(value, list):
        return "\n".join(
            f"{c.get('role', '')}: {c.get('name', '')}" for c in value if isinstance(c, dict)
        )
    if f.kind == "map" and isinstance(value, dict):
        return "\n".join(f"{k} = {v}" for k, v in value.items())
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def form_values(table: Mapping, fields: tuple[Field, ...]) -> dict[str, Any]:
    return {f.key: display(table, f) for f in fields}


# --------------------------------------------------------------------------- writing


def submitted(fields: tuple[Field, ...], form) -> dict[str, Any]:
    """What a form posted for each field (``form`` is a MultiDict), newlines normalized."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.kind == "bool":
            out[f.key] = form.get(f.key) == "on"
        elif f.kind == "checks":
            out[f.key] = [v for v in form.getlist(f.key) if v]
        else:
            text = form.get(f.key, "").replace("\r\n", "\n").replace("\r", "\n")
            out[f.key] = text.strip()
    return out


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _convert(f: Field, raw: Any, current: Any) -> Any:
    """The TOML value for a submitted ``raw`` value (None: remove the key)."""
    if f.kind == "bool":
        return True if raw else (False if current is not None else None)
    if f.kind == "checks":
        return list(raw) or None
    if raw == "":
        return None
    if f.kind == "int":
        if not re.fullmatch(r"-?\d+", raw):
            raise ValueError(f"'{raw}' is not a whole number")
        return int(raw)
    if f.kind == "decimal":
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            raise ValueError(f"'{raw}' is not a number") from None
        if not amount.is_finite():
            raise ValueError(f"'{raw}' is not a number")
        if f.key in _STRING_NUMBERS or isinstance(current, str):
            return raw
        return int(amount) if amount == amount.to_integral_value() else float(raw)
    if f.kind == "when":
        try:
            return date.fromisoformat(raw) if "T" not in raw else datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(
                f"'{raw}' is not a date (2026-12-21) or a date and time (2026-12-21T09:00-07:00)"
            ) from None
    if f.key == "contributors":
        people = []
        for line in _lines(raw):
            role, sep, name = line.partition(":")
            if not sep or not name.strip():
                raise ValueError(f"'{line}' is not written as role: name")
            people.append({"name": name.strip(), "role": role.strip().lower()})
        return people
    if f.kind == "map":
        mapping = {}
        for line in _lines(raw):
            key, sep, value = line.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ValueError(f"'{line}' is not written as KEY = value")
            mapping[key.strip()] = value.strip()
        return mapping
    if f.kind == "lines":
        return _lines(raw)
    return raw


def _same(new: Any, current: Any) -> bool:
    if isinstance(current, float) and isinstance(new, int | float):
        return Decimal(repr(current)) == Decimal(str(new))
    if isinstance(current, int | float) and isinstance(new, str):
        return False
    return new == current


def _container(
    table: Table, key: str, create: bool, created: list | None = None
) -> tuple[Any, str]:
    parts = key.split(".")
    node = table
    for part in parts[:-1]:
        if part not in node:
            if not create:
                return None, parts[-1]
            node.append(part, tomlkit.table())
            if created is not None:
                created.append(node[part])
        node = node[part]
    return node, parts[-1]


def _set(table: Table, key: str, value: Any, created: list | None = None) -> None:
    node, last = _container(table, key, value is not None, created)
    if node is None:
        return
    if value is None:
        if last in node:
            del node[last]
        # Drop a sub-table the form emptied (e.g. the affiliate settings).
        if "." in key:
            parent_key = key.rsplit(".", 1)[0]
            parent, name = _container(table, parent_key, create=False)
            if parent is not None and name in parent and not len(parent[name]):
                del parent[name]
        return
    current = node.get(last)
    if isinstance(value, dict) and isinstance(current, Mapping):
        # Key by key, so the table keeps its place, style and comments.
        for k in [k for k in current if k not in value]:
            del current[k]
        for k, v in value.items():
            if current.get(k) != v:
                current[k] = v
        return
    if isinstance(value, dict):
        inline = tomlkit.inline_table()
        inline.update(value)
        value = inline
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        existing = node.get(last)
        if isinstance(existing, Array):
            # Item by item, so the array keeps its layout and comments (contributors).
            for i, item in enumerate(value):
                if i < len(existing) and isinstance(existing[i], Mapping):
                    for k, v in item.items():
                        if existing[i].get(k) != v:
                            existing[i][k] = v
                else:
                    inline = tomlkit.inline_table()
                    inline.update(item)
                    existing.append(inline)
            while len(existing) > len(value):
                del existing[len(existing) - 1]
            return
        array = tomlkit.array()
        for person in value:
            inline = tomlkit.inline_table()
            inline.update(person)
            array.append(inline)
        array.multiline(True)
        value = array
    elif isinstance(value, str) and "\n" in value:
        value = tomlkit.string(value, multiline=True)
    if last in node:
        node[last] = value
    else:
        node.append(last, value)


def apply(table: Table, fields: tuple[Field, ...], values: Mapping[str, Any]) -> list[str]:
    """Write the changed ``values`` into ``table``; return the keys that changed.

    Raises :class:`ValueProblem` (nothing written) when a value has the wrong shape.
    """
    changes: list[tuple[str, Any]] = []
    errors: dict[str, str] = {}
    for f in fields:
        if f.key not in values:
            continue
        current = _get(table, f.key)
        try:
            new = _convert(f, values[f.key], current)
        except ValueError as exc:
            errors[f.key] = str(exc)
            continue
        if new is None and current is None:
            continue
        if new is not None and current is not None and _same(new, current):
            continue
        changes.append((f.key, new))
    if errors:
        raise ValueProblem(errors)
    created: list = []
    for key, new in changes:
        _set(table, key, new, created)
    for sub in created:
        sub.add(tomlkit.nl())  # a blank line before whatever table follows
    return [key for key, _ in changes]


def problems_by_field(
    problems: list[CatalogProblem], path: str, fields: tuple[Field, ...]
) -> tuple[dict[str, list[str]], list[str]]:
    """Split validator problems into those of a field of the table at ``path`` and the rest."""
    by_field: dict[str, list[str]] = {}
    other: list[str] = []
    for problem in problems:
        rest = problem.path[len(path) + 1 :] if problem.path.startswith(path + ".") else None
        f = field_for(fields, rest) if rest else None
        if f is not None:
            by_field.setdefault(f.key, []).append(problem.message)
        else:
            other.append(str(problem))
    return by_field, other
