"""The README documents every command, setting and route (Datasette's test_docs idea)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from storefront.app import DEFAULTS, create_app
from storefront.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def command_names(group: click.Group, prefix: str = "storefront") -> list[str]:
    ctx = click.Context(group)
    names = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        full = f"{prefix} {name}"
        if isinstance(command, click.Group):
            names.extend(command_names(command, full))
        else:
            names.append(full)
    return names


@pytest.mark.parametrize("name", command_names(main))
def test_every_cli_command_is_in_the_readme(name):
    assert f"`{name}" in README, f"{name} is not documented in README.md"


def test_every_setting_is_in_the_readme():
    source = "\n".join(
        p.read_text() for p in (Path(__file__).resolve().parent.parent / "storefront").rglob("*.py")
    )
    settings = {f"STOREFRONT_{key}" for key in DEFAULTS} | set(
        re.findall(r"STOREFRONT_[A-Z_]+", source)
    )
    missing = sorted(s for s in settings if f"`{s}`" not in README)
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_route_is_in_the_readme(tmp_path):
    def shape(route: str) -> str:
        return re.sub(r"<[^>]+>", "<>", route)

    documented = {shape(r) for r in re.findall(r"`(/[^`\s]*)`", README)}
    app = create_app({"TESTING": True}, instance_path=str(tmp_path))
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        assert shape(rule.rule) in documented, f"route {rule.rule} is not documented in README.md"
