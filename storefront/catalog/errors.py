"""What a catalog problem looks like: ``file:line: key.path: what is wrong``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogProblem:
    file: str
    line: int | None
    path: str
    message: str
    excerpt: str = ""  # lines shown under the message: the source line and a caret

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        head = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{head}\n{self.excerpt}" if self.excerpt else head


class CatalogError(Exception):
    """The catalog cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[CatalogProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Invalid(ValueError):
    """A value is wrong; the message says how (the path is added by the caller)."""
