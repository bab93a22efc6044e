"""Imports flow one way, with no cycles, and no module grows past 400 lines unexplained.

The layers, lowest first (a module may import its own layer and the layers below it):

1. **pure domain**: the catalog, pricing, links, URLs, clicks, bots, the view model and the
   Jinja environment. No web framework, no database, no HTTP client.
2. **renderers**: ``widgets/``. Plain functions of (book, prices, urls, options); they import
   only the pure domain, never Flask, a service, a view, the app or a command.
3. **services**: every other ``storefront`` module (settings, state, click storage, stats, the
   link checker, the desk's editing and builds...). No web framework; they may use renderers.
4. **views**: ``storefront/views/`` (blueprints and the web-only modules beside them).
5. **app**: ``create_app``.
6. **commands**: the CLI, its commands, and the two clients of the app (the server runner and
   the static export's crawl). They may use the app, never a view.

Modules are classified by name patterns (``fnmatch`` on dotted names): a package's pattern
(``storefront.catalog.*``) covers its modules, and every pattern must name a module that exists,
so the list says what is there (a new pure module is added here by name). Imports are read
from the source (AST), including imports inside functions; the cycle check counts
``if TYPE_CHECKING:`` imports too: a type-only import both ways is still two modules that
each need the other to be read.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["packages"]
)

WEB = ("flask", "werkzeug", "gunicorn", "granian", "click")
IO = ("sqlalchemy", "psycopg", "requests", "urllib3")


@dataclass(frozen=True)
class Layer:
    name: str
    patterns: tuple[str, ...]
    forbidden: tuple[str, ...]  # third-party top-level packages this layer may not import
    why: str


# Highest first: a module belongs to the first layer whose pattern matches it.
LAYERS = (
    Layer(
        "commands",
        (
            "storefront.cli",
            "storefront.commands",
            "storefront.commands.*",
            "storefront.server",
            "storefront.export",
            "storefront.export.*",
        ),
        (),
        "the CLI and the app's clients (server runner, export crawl) sit on top",
    ),
    Layer(
        "app",
        ("storefront.app", "storefront.fastpath"),
        (),
        "create_app wires the views together; the fast path stands in for some of them",
    ),
    Layer(
        "views",
        ("storefront.views", "storefront.views.*", "storefront.clickdb"),
        IO[2:],  # the link checker's HTTP client is a command's business, not a view's
        "views (and the resources they share, created by init_app) handle requests with Flask",
    ),
    Layer(
        "renderers",
        tuple(f"{package}*" for package in PACKAGES if package != "storefront"),
        WEB + IO,
        "renderers are plain functions the CLI, the app and tests call the same way",
    ),
    Layer(
        "pure domain",
        (
            "storefront",
            "storefront.catalog",
            "storefront.catalog.*",
            "storefront.pricing",
            "storefront.links",
            "storefront.urls",
            "storefront.clicks",
            "storefront.bots",
            "storefront.credits",
            "storefront.presentation",
            "storefront.presentation_shelf",
            "storefront.templating",
            "storefront.files",  # whole-file writes: no database, network or web
        ),
        WEB + IO,
        "the domain is a pure function of catalog and clock",
    ),
    Layer(
        "services",
        ("storefront.*",),
        WEB,
        "services run without Flask, from the CLI and background jobs too",
    ),
)
ORDER = ["pure domain", "renderers", "services", "views", "app", "commands"]
# Layers that a layer may not import even though they are below it.
NOT_BELOW = {"commands": {"views"}}

# Modules over MAX_LINES lines, each with the reason it is allowed. An entry for a module that
# is gone or back under the limit fails the test, so the list only shrinks.
MAX_LINES = 400
ALLOWED_LONG: dict[str, str] = {}


# Packages whose modules import each other, each with the reason it is allowed. A cycle is
# excused only when every module in it is inside one of these packages; an entry with no
# such cycle left fails the test, so the list only shrinks.
ALLOWED_CYCLES: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # a module of ours, or a third-party top-level package
    path: str
    line: int
    type_only: bool

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            files[module_name(path)] = path
    return files


MODULES = source_files()


def layer_of(module: str) -> Layer:
    for layer in LAYERS:
        if any(fnmatch(module, pattern) for pattern in layer.patterns):
            return layer
    raise AssertionError(f"{module} matches no layer pattern in tests/test_layers.py")


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    # A module's level-1 anchor is its package; a package's is itself.
    anchor = base if is_package else base[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def imports_of(module: str, rel: str, source: str) -> list[Import]:
    """Every import in ``source`` (the module ``module`` at ``rel``), function bodies included."""
    tree = ast.parse(source, filename=rel)
    is_package = rel.endswith("__init__.py")
    found: list[Import] = []

    def add(target: str, line: int, type_only: bool) -> None:
        # The deepest module of ours the name names, else the third-party top-level package.
        parts = target.split(".")
        for end in range(len(parts), 0, -1):
            name = ".".join(parts[:end])
            if name in MODULES:
                if name != module:
                    found.append(Import(module, name, rel, line, type_only))
                return
        if parts[0] not in PACKAGES:
            found.append(Import(module, parts[0], rel, line, type_only))

    def unique(imports: list[Import]) -> list[Import]:
        return list(dict.fromkeys(imports))  # `from x import a, b` is one import of x

    def visit(node: ast.AST, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child):
                for item in child.body:
                    visit_one(item, True)
                for item in child.orelse:
                    visit_one(item, type_only)
            else:
                visit_one(child, type_only)

    def visit_one(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno, type_only)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(module, is_package, node)
            for alias in node.names:
                # `from pkg import sub` imports the submodule when there is one.
                full = f"{base}.{alias.name}" if base else alias.name
                add(full if full in MODULES else base, node.lineno, type_only)
        visit(node, type_only)

    visit(tree, False)
    return unique(found)


IMPORTS = [
    imp
    for module, path in MODULES.items()
    for imp in imports_of(
        module, path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
    )
]


def test_every_layer_pattern_names_a_module():
    stale = [
        f"{layer.name}: {pattern}"
        for layer in LAYERS
        for pattern in layer.patterns
        if not any(fnmatch(module, pattern) for module in MODULES)
    ]
    assert not stale, f"patterns in tests/test_layers.py that match no module: {stale}"


def test_the_modules_are_found():
    # Guards the test itself: an empty walk would pass every rule below.
    assert {"storefront", "storefront.app", "storefront.cli"} <= set(MODULES)
    assert any(layer_of(m).name == "renderers" for m in MODULES)
    assert any(i.target == "flask" for i in IMPORTS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_flow_one_way(module):
    layer = layer_of(module)
    rank = ORDER.index(layer.name)
    problems = []
    for imp in (i for i in IMPORTS if i.importer == module):
        if imp.target in MODULES:
            target = layer_of(imp.target)
            if ORDER.index(target.name) > rank:
                problems.append(
                    f"{imp.where()}: {module} ({layer.name}) imports {imp.target} "
                    f"({target.name}): a {layer.name} module may not import the {target.name} "
                    f"layer above it ({layer.why})"
                )
            elif target.name in NOT_BELOW.get(layer.name, ()):
                problems.append(
                    f"{imp.where()}: {module} ({layer.name}) imports {imp.target} "
                    f"({target.name}): {layer.name} may not use {target.name} ({layer.why})"
                )
        elif imp.target in layer.forbidden:
            problems.append(
                f"{imp.where()}: {module} ({layer.name}) imports {imp.target}: the "
                f"{layer.name} layer may not import {', '.join(layer.forbidden)} ({layer.why})"
            )
    assert not problems, "\n".join(problems)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def test_strongly_connected_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_no_import_cycles():
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for imp in IMPORTS:
        if imp.target in MODULES:
            graph[imp.importer].add(imp.target)
    cycles = [c for c in strongly_connected(graph) if not excused(c)]
    messages = []
    for component in cycles:
        members = set(component)
        edges = [
            f"  {i.where()}: {i.importer} imports {i.target}"
            for i in IMPORTS
            if i.importer in members and i.target in members
        ]
        messages.append(
            f"import cycle among {', '.join(component)} (no cycles: move the shared names "
            "to a lower module both import):\n" + "\n".join(edges)
        )
    assert not cycles, "\n".join(messages)


def excused(component: list[str]) -> bool:
    return any(
        all(m == package or m.startswith(package + ".") for m in component)
        for package in ALLOWED_CYCLES
    )


def test_the_cycle_allow_list_is_current():
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for imp in IMPORTS:
        if imp.target in MODULES:
            graph[imp.importer].add(imp.target)
    cycles = strongly_connected(graph)
    stale = [
        package
        for package in ALLOWED_CYCLES
        if not any(excused(c) and c[0].startswith(package) for c in cycles)
    ]
    assert not stale, (
        f"ALLOWED_CYCLES in tests/test_layers.py lists packages with no import cycle left; "
        f"remove them: {stale}"
    )


def line_counts() -> dict[str, int]:
    return {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in MODULES.values()
    }


def test_no_module_over_the_line_limit_unexplained():
    counts = line_counts()
    over = {
        path: n for path, n in sorted(counts.items()) if n > MAX_LINES and path not in ALLOWED_LONG
    }
    assert not over, (
        f"modules over {MAX_LINES} lines (split them along their jobs, or add them to "
        f"ALLOWED_LONG in tests/test_layers.py with the reason): {over}"
    )


def test_the_long_module_allow_list_is_current():
    counts = line_counts()
    stale = {
        path: counts.get(path, "gone") for path in ALLOWED_LONG if counts.get(path, 0) <= MAX_LINES
    }
    assert not stale, (
        f"ALLOWED_LONG in tests/test_layers.py lists modules that are gone or now within "
        f"{MAX_LINES} lines; remove them: {stale}"
    )
    assert all(reason.strip() for reason in ALLOWED_LONG.values())


def test_the_rules_name_the_offending_import():
    # The rules themselves, on a made-up renderer that imports Flask, a view and a lazy storage.
    source = (
        "from flask import request\n"
        "from storefront.views import storefront\n"
        "def f():\n"
        "    from storefront import storage\n"
        "if TYPE_CHECKING:\n"
        "    from storefront.app import create_app\n"
    )
    found = imports_of("widgets.probe", "widgets/probe.py", source)
    assert {(i.target, i.line, i.type_only) for i in found} == {
        ("flask", 1, False),
        ("storefront.views", 2, False),
        ("storefront.storage", 4, False),
        ("storefront.app", 6, True),
    }
    renderer = layer_of("widgets.probe")
    assert renderer.name == "renderers" and "flask" in renderer.forbidden
    for target in ("storefront.views", "storefront.app"):
        assert ORDER.index(layer_of(target).name) > ORDER.index("renderers")
    assert ORDER.index(layer_of("storefront.storage").name) > ORDER.index("renderers")
    assert layer_of("storefront.catalog.reader").name == "pure domain"
