"""Field specs from the dataclasses' own metadata, and the validator that applies them.

A model field read from the TOML is declared once, on its dataclass::

    narrator: str | None = spec(convert.text)

:func:`spec` stores the converter and whether the key is required in the
field's ``metadata``; :func:`table_spec` derives a table's checks from them and
:func:`build` fills the dataclass from the converted values. Fields without a
spec (an offer's ``book``, the catalog's ``version``) come from the reader.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .convert import Converter, FileField, raw, type_name
from .errors import CatalogProblem, Invalid
from .lines import line_for

_MISSING = dataclasses.MISSING


def spec(
    convert: Converter | FileField = raw,
    *,
    required: bool = False,
    nested: bool = False,
    formats: tuple[str, ...] = (),
    default: Any = _MISSING,
    default_factory: Any = _MISSING,
) -> Any:
    """Declare a dataclass field as a catalog key.

    ``convert`` checks and converts the TOML value (a :class:`FileField` is
    bound to the catalog's folder). ``required``: the key must be present.
    ``nested``: a table or array of tables the reader builds itself (the
    object is still built when it is missing: its own problems are reported).
    ``formats``: only editions of these formats may set the key.
    Without a ``default`` the reader must always supply the value.
    """
    metadata = {
        "convert": convert,
        "required": required,
        "nested": nested,
        "formats": formats,
    }
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


@cache
def catalog_fields(cls: type) -> tuple[dataclasses.Field, ...]:
    """The fields of ``cls`` that are catalog keys, in declaration order."""
    return tuple(f for f in dataclasses.fields(cls) if "convert" in f.metadata)


@lru_cache(maxsize=64)
def table_spec(cls: type, base: Path) -> Mapping[str, tuple[Converter, bool]]:
    """``{key: (converter, required)}`` for one table of ``cls``; files resolve under ``base``.

    Cached (a catalog has thousands of tables of a dozen kinds): copy it to change it.
    """
    out: dict[str, tuple[Converter, bool]] = {}
    for f in catalog_fields(cls):
        convert = f.metadata["convert"]
        if isinstance(convert, FileField):
            convert = convert.bind(base)
        out[f.name] = (convert, f.metadata["required"])
    return MappingProxyType(out)


def has_required(cls: type, values: Mapping[str, Any]) -> bool:
    """Whether every required key that is not nested passed its check."""
    return all(
        f.name in values
        for f in catalog_fields(cls)
        if f.metadata["required"] and not f.metadata["nested"]
    )


def build(cls: type, values: Mapping[str, Any], **context: Any) -> Any:
    """Make ``cls`` from converted ``values``; ``context`` supplies or overrides fields.

    A key absent from ``values`` takes the field's default; a nested key is
    never taken from ``values`` (the reader builds it and passes it in ``context``).
    """
    kwargs = {
        f.name: values[f.name]
        for f in catalog_fields(cls)
        if f.name in values and not f.metadata["nested"]
    }
    kwargs.update(context)
    return cls(**kwargs)


class Validator:
    """Collect problems as ``file:line: path: message``."""

    def __init__(self, file: Path, lines: Mapping[str, int]):
        self.file = file
        self.lines = lines
        self.problems: list[CatalogProblem] = []

    def error(self, path: str, message: str) -> None:
        self.problems.append(
            CatalogProblem(self.file.name, line_for(self.lines, path), path, message)
        )

    def table(
        self, data: Any, path: str, spec: Mapping[str, tuple[Converter, bool]]
    ) -> dict | None:
        """Check one table against ``spec`` (key -> (converter, required)).

        Returns the converted values that passed; records a problem for every
        unknown key, missing required key and bad value.
        """
        if not isinstance(data, dict):
            self.error(path, f"expected a table, got {type_name(data)}")
            return None
        out: dict[str, Any] = {}
        for key, value in data.items():
            sub = f"{path}.{key}" if path else key
            if key not in spec:
                hint = difflib.get_close_matches(key, list(spec), n=1)
                extra = f" (did you mean '{hint[0]}'?)" if hint else ""
                self.error(sub, f"unknown key '{key}'{extra}")
                continue
            convert, _ = spec[key]
            try:
                out[key] = convert(value, sub)
            except Invalid as exc:
                self.error(sub, str(exc))
        for key, (_, required) in spec.items():
            if required and key not in data:
                self.error(f"{path}.{key}" if path else key, "is required")
        return out

    def array(self, data: Any, path: str, item: Callable[[Any, str], Any]) -> list:
        if not isinstance(data, list):
            self.error(path, f"expected an array, got {type_name(data)}")
            return []
        out = []
        for i, value in enumerate(data):
            try:
                converted = item(value, f"{path}[{i}]")
            except Invalid as exc:
                self.error(f"{path}[{i}]", str(exc))
                continue
            if converted is not None:
                out.append(converted)
        return out

    def unique(
        self,
        items: list,
        path: str,
        key: Callable[[Any], str],
        what: str,
        field: str | None = "slug",
    ) -> None:
        """Report the second and later items whose ``key`` repeats an earlier one."""
        seen: set[str] = set()
        for i, item in enumerate(items):
            k = key(item)
            if k in seen:
                where = f"{path}[{i}].{field}" if field else path
                self.error(where, f"duplicate {what} '{k}'")
            seen.add(k)
