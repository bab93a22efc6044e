"""The commands a newcomer copies work as shown, and each names the instance folder it uses.

The instance folder is ``./instance`` of the working directory (or
``STOREFRONT_INSTANCE_PATH``): a command run from another folder reads or writes
another one, so ``admin set-password``, ``stats`` and ``links check`` say which.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from storefront.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_set_password_names_the_folder_it_wrote_to(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["admin", "set-password"], input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "instance"
    assert f"Desk password set in the instance folder {folder} (" in result.output
    assert f"STOREFRONT_INSTANCE_PATH={folder}" in result.output
    assert any(folder.iterdir())  # and that is where it is


def test_set_password_with_the_setting_names_that_folder(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    chosen = tmp_path / "elsewhere"
    result = runner.invoke(
        main,
        ["admin", "set-password"],
        input="correct horse battery\n",
        env={"STOREFRONT_INSTANCE_PATH": str(chosen)},
    )
    assert result.exit_code == 0, result.output
    assert f"in the instance folder {chosen} (" in result.output
    assert not (tmp_path / "instance").exists()


def test_stats_names_the_folder_on_stderr_and_keeps_csv_clean(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["stats", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        f"reading clicks from the instance folder {tmp_path / 'instance'} (storefront.db) "
        "(./instance of this folder)"
    )
    assert "instance" not in result.stdout


def test_the_readme_export_command_runs_as_shown(runner, tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (shown,) = re.findall(r"^\| `(storefront export [^`]*)` \|", readme, flags=re.M)
    args = shlex.split(shown.replace("DIR", str(tmp_path / "site")))
    args = [("https://books.example.org" if a == "URL" else a) for a in args]
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, args[1:])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "index.html").is_file()
