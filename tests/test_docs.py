"""The README and docs/ match the code (Datasette's test_docs idea, over every page).

Every setting, command, option and route the code has is documented somewhere in README.md or
docs/, and everything the docs name exists; benchmark tables say when and how they were
measured; every relative link resolves. The checks read whatever pages exist, so a new feature's
page is checked as soon as it lands.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

import click
import pytest
from werkzeug.exceptions import HTTPException, NotFound

from storefront.app import DEFAULTS, create_app
from storefront.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# Pages other helpers are writing this session: links to them may dangle until they land.
PENDING_PAGES: set[str] = set()

FENCE = re.compile(r"^ {0,3}(```|~~~)")
# A code span may run over a line break, not over a blank line.
CODE_SPAN = re.compile(r"`((?:[^`\n]|\n(?![ \t]*\n))+)`")


def pages() -> dict[Path, str]:
    paths = [README, *sorted(DOCS.rglob("*.md"))]
    return {p: p.read_text(encoding="utf-8") for p in paths}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def outside_fences(text: str) -> list[tuple[int, str]]:
    """The (line number, line) pairs of ``text`` outside fenced code blocks."""
    found, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            found.append((number, line))
    return found


def split_code(text: str) -> tuple[str, str]:
    """Return (prose, code): fenced blocks and code spans go to code, the rest to prose.

    Line numbers are kept in prose: fenced lines and code spans are blanked out there.
    """
    lines = text.splitlines()
    kept = dict(outside_fences(text))
    code = [line for n, line in enumerate(lines, 1) if n not in kept and not FENCE.match(line)]
    prose = "\n".join(kept.get(n, "") for n in range(1, len(lines) + 1))
    code.extend(m.group(1) for m in CODE_SPAN.finditer(prose))
    blank = CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", "\x00", m.group(0)), prose)
    return blank, "\n".join(code)


def code_of(text: str) -> str:
    return split_code(text)[1]


@cache
def all_code() -> str:
    return "\n".join(code_of(text) for text in pages().values())


def source_text(*folders: str) -> str:
    files = [p for folder in folders for p in (ROOT / folder).rglob("*.py")]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


SETTING = re.compile(r"\bSTOREFRONT_[A-Z][A-Z0-9_]*\b")


# ---------------------------------------------------------------- settings


def code_settings() -> list[str]:
    """Every setting: DEFAULTS, and every STOREFRONT_* name the app's code reads."""
    names = {f"STOREFRONT_{key}" for key in DEFAULTS}
    names |= set(SETTING.findall(source_text("storefront", "widgets")))
    return sorted(names)


@pytest.mark.parametrize("name", code_settings())
def test_every_setting_is_documented(name):
    documented = set(SETTING.findall(all_code()))
    assert name in documented, f"setting {name} is not documented in README.md or docs/"


def test_every_documented_setting_exists():
    known = set(code_settings()) | set(
        SETTING.findall(source_text("tests", "bench") + (ROOT / ".ci" / "run").read_text())
    )
    stale = {
        f"{rel(path)}: {name}"
        for path, text in pages().items()
        for name in SETTING.findall(text)
        if name not in known
    }
    assert not stale, f"documented settings that the code does not have: {sorted(stale)}"


def test_the_defaults_are_found():
    assert {"STOREFRONT_CATALOG", "STOREFRONT_BASE_URL"} <= set(code_settings())


# ---------------------------------------------------------------- commands and options


def commands(group: click.Group, prefix: str = "storefront") -> list[tuple[str, click.Command]]:
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        full = f"{prefix} {name}"
        found.append((full, command))
        if isinstance(command, click.Group):
            found.extend(commands(command, full))
    return found


COMMANDS = commands(main)


def mentions(code: str, command: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(command)}(?![\w-])", code) is not None


def test_the_commands_are_found():
    names = [name for name, _ in COMMANDS]
    assert {"storefront serve", "storefront links check"} <= set(names)


@pytest.mark.parametrize("name", [name for name, _ in COMMANDS])
def test_every_command_is_documented(name):
    assert mentions(all_code(), name), f"`{name}` is not documented (as code) in README.md or docs/"


def options() -> list[tuple[str, str]]:
    pairs = []
    for name, command in COMMANDS:
        for param in command.params:
            if isinstance(param, click.Option):
                long = [o for o in param.opts if o.startswith("--")]
                if long:
                    pairs.append((name, long[0]))
    return pairs


@pytest.mark.parametrize(("command", "option"), options())
def test_every_option_is_documented_where_its_command_is(command, option):
    # On a page that shows the command as code, the option appears as code too.
    homes = [p for p, text in pages().items() if mentions(code_of(text), command)]
    assert any(re.search(rf"{re.escape(option)}\b", code_of(pages()[p])) for p in homes), (
        f"`{command} {option}` is not documented on any page that documents `{command}` "
        f"({', '.join(rel(p) for p in homes) or 'none'})"
    )


# ---------------------------------------------------------------- routes


def shape(route: str) -> str:
    """A route without its query, with every variable part the same: /go/<>/<>."""
    route = route.split("?", 1)[0].split("#", 1)[0]
    return re.sub(r"<[^>]*>", "<>", route)


@cache
def app_rules() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"TESTING": True}, instance_path=instance)
        return sorted({r.rule for r in app.url_map.iter_rules() if r.endpoint != "static"})


def test_the_routes_are_found():
    assert {"/", "/books/<slug>", "/go/<book_slug>/<offer_slug>"} <= set(app_rules())


@pytest.mark.parametrize("rule", app_rules())
def test_every_route_is_documented(rule):
    documented = {shape(s) for s in all_code().split("\n")}
    assert shape(rule) in documented, f"route {rule} is not documented in README.md or docs/"


def tables(text: str):
    """Yield (line number, header cells, rows of cells, lead-in text) for each prose table."""
    prose, _ = split_code(text)
    original = text.splitlines()
    lines = prose.splitlines()
    lead_start = 0
    i = 0
    while i < len(lines):
        if (
            lines[i].startswith("|")
            and i + 1 < len(lines)
            and re.match(r"^\|(\s*:?-{3,}:?\s*\|)+\s*$", lines[i + 1])
        ):
            header = cells(original[i])
            j = i + 2
            rows = []
            while j < len(lines) and lines[j].startswith("|"):
                rows.append(cells(original[j]))
                j += 1
            yield i + 1, header, rows, "\n".join(original[lead_start:i])
            lead_start = j
            i = j
            continue
        if lines[i].startswith("#"):
            lead_start = i + 1
        i += 1


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_every_route_in_a_route_table_exists():
    # A table cell holding only a path as code names a route: /books/<book> by its shape,
    # /books/genesis by matching the app's own URL map.
    import tempfile

    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"TESTING": True}, instance_path=instance)
    urls = app.url_map.bind("localhost")
    known = {shape(r) for r in app_rules()}
    unknown, seen = [], 0
    for path, text in pages().items():
        for line, _header, rows, _ in tables(text):
            for row in rows:
                lone = re.fullmatch(r"`(/[^`\s]*)`", row[0])
                if not lone:
                    continue
                seen += 1
                route = lone.group(1)
                if shape(route) in known:
                    continue
                try:
                    urls.match(route.split("?", 1)[0])
                except NotFound:
                    unknown.append(f"{rel(path)}:{line}: {route}")
                except HTTPException:
                    pass  # a redirect or a method rule: the route exists
    assert seen, "no route table found in README.md or docs/"
    assert not unknown, f"route tables list routes the app does not have: {unknown}"


# ---------------------------------------------------------------- figures

DATE = re.compile(r"\b20\d\d-[01]\d-[0-3]\d\b")
BENCH = re.compile(r"python -m bench\.(\w+)")


def figure_tables():
    for path, text in pages().items():
        for line, header, _rows, lead in tables(text):
            head = " ".join(header).lower()
            if "ratio" in head or "req/s" in head:
                yield path, line, lead


def test_benchmarks_page_has_figures():
    assert any(path == DOCS / "benchmarks.md" for path, _, _ in figure_tables())


@pytest.mark.parametrize(
    ("page", "line", "lead"),
    [(rel(p), line, lead) for p, line, lead in figure_tables()],
    ids=lambda v: v if isinstance(v, str) and not v.count("\n") else "",
)
def test_every_bench_table_says_when_and_how_it_was_measured(page, line, lead):
    assert DATE.search(lead), (
        f"{page}:{line}: the table of figures has no date (YYYY-MM-DD) above it"
    )
    benches = BENCH.findall(lead)
    assert benches, (
        f"{page}:{line}: the table of figures names no `python -m bench.<name>` above it"
    )
    for bench in benches:
        assert (ROOT / "bench" / f"{bench}.py").is_file(), f"{page}:{line}: no bench/{bench}.py"


# ---------------------------------------------------------------- links

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"<(?:img|a|source)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.IGNORECASE)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found, counts = set(), {}
    for _, line in outside_fences(text):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            n = counts.get(base, 0)
            counts[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(text: str) -> list[tuple[int, str]]:
    prose, _ = split_code(text)
    found = []
    for number, line in enumerate(prose.splitlines(), 1):
        for pattern in (LINK, HTML_LINK):
            found.extend((number, target) for target in pattern.findall(line))
    return found


def test_slugs_follow_github():
    assert slug("Checking it: `storefront check`") == "checking-it-storefront-check"
    assert slug("Link check and export") == "link-check-and-export"
    assert anchors("# A\n## B c\n```\n# not a heading\n```\n## B c\n") == {"a", "b-c", "b-c-1"}


def test_every_relative_link_resolves():
    broken, checked = [], 0
    for path, text in pages().items():
        for line, target in links(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # http:, https:, mailto:
            checked += 1
            file_part, _, fragment = target.partition("#")
            where = f"{rel(path)}:{line}: {target}"
            dest = (path.parent / file_part).resolve() if file_part else path
            if not dest.is_relative_to(ROOT):
                broken.append(f"{where} (outside the repository)")
                continue
            if not dest.exists():
                if rel(dest) not in PENDING_PAGES:
                    broken.append(f"{where} (no such file)")
                continue
            if fragment and dest.suffix == ".md":
                if fragment not in anchors(dest.read_text(encoding="utf-8")):
                    broken.append(f"{where} (no heading #{fragment} in {rel(dest)})")
    assert checked > 20, "the link walk found almost no links"
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_pending_pages_are_still_pending():
    # Once a page lands, it leaves the list (and its links are checked like any other).
    landed = sorted(p for p in PENDING_PAGES if (ROOT / p).exists())
    assert not landed, f"remove from PENDING_PAGES in tests/test_docs.py: {landed}"


def test_every_docs_page_is_linked_from_the_index():
    index = DOCS / "README.md"
    linked = {(index.parent / t.partition("#")[0]).resolve() for _, t in links(index.read_text())}
    orphans = [rel(p) for p in sorted(DOCS.rglob("*.md")) if p != index and p not in linked]
    assert not orphans, f"docs pages missing from docs/README.md: {orphans}"


def test_docs_name_no_issue_numbers_or_missing_notes():
    # The manual speaks to readers, who have no issue tracker. The design notes
    # (docs/notes-*.md) record what changed for whom, and may name the issue they close.
    stale = []
    for path, text in pages().items():
        if path.name.startswith("notes-"):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if re.search(r"\bissues? #?\d+\b", line, re.IGNORECASE) or re.search(
                r"\bNOTES\b", line
            ):
                stale.append(f"{rel(path)}:{number}: {line.strip()}")
    assert not stale, f"the docs speak of issues or a NOTES file readers do not have: {stale}"


# ---------------------------------------------------------------- the README's two commands


def command_lines(ending: str) -> list[str]:
    _, code = split_code(README.read_text(encoding="utf-8"))
    return [line.strip() for line in code.splitlines() if line.strip().endswith(ending)]


def test_readme_is_a_front_door():
    size = README.stat().st_size
    assert size < 10_000, f"README.md is {size} bytes: keep it a front door, move detail to docs/"


@pytest.mark.parametrize("ending", ["&& storefront serve", "&& python -m pytest -q"])
def test_readme_shows_each_setup_command_once_in_a_venv(ending):
    # Debian and Ubuntu refuse `pip install` outside a virtual environment (PEP 668).
    # .ci/run runs the line ending in "&& python -m pytest -q" as written, and checks it
    # activated .venv.
    lines = command_lines(ending)
    assert len(lines) == 1, f"README.md shows {len(lines)} lines ending in {ending!r}"
    steps = [shlex.split(step) for step in lines[0].split("&&")]
    assert steps[0][:3] == ["python3", "-m", "venv"] and steps[0][3] == ".venv", lines[0]
    assert steps[1] == [".", ".venv/bin/activate"], lines[0]
    assert any(step[:2] == ["pip", "install"] for step in steps), lines[0]


def test_ci_runs_the_readme_test_line():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'PYTEST_PART="python -m pytest -q"' in ci
    assert 'eval "$SETUP_PART"' in ci and 'eval "$PYTEST_PART"' in ci


def test_readme_apt_packages_are_installed_by_ci():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    listed = re.search(r"PACKAGES=\((.*?)\n\)", ci, re.DOTALL)
    assert listed, ".ci/run has no PACKAGES=( ... ) list"
    ci_packages = set(re.sub(r"#[^\n]*", "", listed.group(1)).split())
    readme = README.read_text(encoding="utf-8")
    wanted = set()
    for match in re.finditer(r"apt-get install ([a-z0-9.+\- ]+)", readme):
        wanted |= {w for w in match.group(1).split() if not w.startswith("-")}
    assert wanted, "README.md names no apt-get install line"
    assert wanted <= ci_packages, (
        f"README.md asks for packages .ci/run does not install: {wanted - ci_packages}"
    )


# ---------------------------------------------------------------- catalog keys


def catalog_tables() -> dict[str, type]:
    """Every catalog table by its TOML path ("books.editions.offers"), from the model's types."""
    import dataclasses
    import typing

    from storefront.catalog import model
    from storefront.catalog.spec import catalog_fields

    def inner(hint) -> type | None:
        for arg in (hint, *typing.get_args(hint)):
            if dataclasses.is_dataclass(arg):
                return arg
            found = [a for a in typing.get_args(arg) if dataclasses.is_dataclass(a)]
            if found:
                return found[0]
        return None

    tables: dict[str, type] = {}

    def walk(cls: type, path: str) -> None:
        tables[path] = cls
        hints = typing.get_type_hints(cls, vars(model))
        for f in catalog_fields(cls):
            child = inner(hints[f.name])
            if child is not None:
                walk(child, f"{path}.{f.name}".lstrip("."))

    walk(model.Catalog, "")
    return tables


def documented_keys() -> dict[str, set[str]]:
    """Keys shown in the docs' TOML examples, by table path (comments count: `# or x = 1`)."""
    keys: dict[str, set[str]] = {}
    for text in pages().values():
        toml, path = False, ""
        for line in text.splitlines():
            if FENCE.match(line):
                toml = not toml and line.strip().startswith(("```toml", "~~~toml"))
                path = ""
                continue
            if not toml:
                continue
            header = re.match(r"^\s*\[\[?([\w.]+)\]\]?", line)
            if header:
                path = header.group(1)
                keys.setdefault(path, set())
                *parent, last = path.split(".")
                keys.setdefault(".".join(parent), set()).add(last)
                continue
            code, _, comment = line.partition("#")
            named = re.match(r"^\s*(\w+)\s*=\s*(.*)$", code)
            if named:
                keys.setdefault(path, set()).add(named.group(1))
                inline = re.search(r"\{(.*)\}", named.group(2))
                if inline:  # contributors = [{ name = "...", role = "..." }]
                    sub = f"{path}.{named.group(1)}".lstrip(".")
                    keys.setdefault(sub, set()).update(re.findall(r"(\w+)\s*=", inline.group(1)))
            keys.setdefault(path, set()).update(re.findall(r"(?<![\w.])(\w+)\s*=", comment))
    return keys


def test_every_catalog_key_is_in_a_toml_example():
    from storefront.catalog.spec import catalog_fields

    tables = catalog_tables()
    assert {"site", "books", "books.editions.offers"} <= set(tables)
    shown = documented_keys()
    missing = [
        f"{path or '(top)'}: {f.name}"
        for path, cls in tables.items()
        for f in catalog_fields(cls)
        if f.name not in shown.get(path, set())
    ]
    assert not missing, (
        "catalog keys that no ```toml example in README.md or docs/ shows "
        f"(docs/catalog.md is their reference): {missing}"
    )
