"""The built wheel ships everything: templates, the built-in catalog and the `storefront` script.

The wheel is built from this checkout and installed in a fresh virtual environment;
every check then runs in that environment, from a directory outside the checkout, so
nothing can come from the checkout by accident. The venv sees the test interpreter's
site-packages for the dependencies (no downloads), but `storefront` and `widgets` must
come from the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
QUIET_DAY = "2026-11-25T12:00:00+00:00"  # no campaign runs: the list price shows


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def clean_env() -> dict[str, str]:
    """The environment minus anything that could point Python back at the checkout."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("STOREFRONT_") and key not in ("PYTHONPATH", "PYTHONHOME")
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # No build isolation: hatchling comes from the test extra, so nothing is downloaded.
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation"]
    run([*build, "--outdir", str(out), str(REPO)], cwd=out)
    (built,) = out.glob("storefront-*.whl")
    return built


def dependency_dirs() -> list[str]:
    """The site-packages directories this interpreter imports the dependencies from."""
    return [
        path
        for path in sys.path
        if Path(path).name in ("site-packages", "dist-packages") and Path(path).is_dir()
    ]


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    root = tmp_path_factory.mktemp("venv")
    env_dir = root / "env"
    run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], root)
    python = env_dir / "bin" / "python"
    # Like --system-site-packages, but for *this* interpreter's packages (CI runs the
    # tests inside a venv, whose packages --system-site-packages would not see). A
    # .pth line adds a directory without running its .pth files, so the checkout's
    # editable install stays out.
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root
    ).stdout.strip()
    Path(purelib, "_test_dependencies.pth").write_text("\n".join(dependency_dirs()) + "\n")
    run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index"]
        + ["--disable-pip-version-check", "--no-warn-script-location", str(wheel)],
        root,
        clean_env(),
    )
    return env_dir


def test_wheel_contains_the_packages_templates_and_builtin_catalog(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    for required in (
        "storefront/__init__.py",
        "storefront/data/catalog.toml",
        "storefront/templates/base.html",
        "storefront/templates/books/page.html",
        "widgets/__init__.py",
    ):
        assert required in names, f"{required} is not in {wheel.name}"
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    assert "storefront = storefront.cli:main" in scripts


RENDER = textwrap.dedent(
    """
    import json, sys
    import storefront, widgets
    from storefront.app import create_app
    from storefront.catalog import builtin_catalog_path
    from storefront.templating import templates_dir

    app = create_app({"TESTING": True, "NOW": sys.argv[1]}, instance_path=sys.argv[2])
    response = app.test_client().get("/books/genesis")
    print(json.dumps({
        "storefront": storefront.__file__,
        "widgets": widgets.__file__,
        "templates": str(templates_dir()),
        "catalog": str(builtin_catalog_path()),
        "status": response.status_code,
        "html": response.get_data(as_text=True),
    }))
    """
)


def test_installed_wheel_renders_the_genesis_book_page(venv, tmp_path):
    result = run(
        [str(venv / "bin" / "python"), "-c", RENDER, QUIET_DAY, str(tmp_path / "instance")],
        cwd=tmp_path,
        env=clean_env(),
    )
    out = json.loads(result.stdout)
    for key in ("storefront", "widgets", "templates", "catalog"):
        path = Path(out[key]).resolve()
        assert path.is_relative_to(venv.resolve()), f"{key} comes from {path}, not the wheel"
        assert not path.is_relative_to(REPO), f"{key} comes from the checkout: {path}"

    assert out["status"] == 200
    soup = BeautifulSoup(out["html"], "html.parser")
    (h1,) = soup.find_all("h1")
    assert "Genesis" in h1.get_text()
    ebook = soup.select_one('section.format[data-format="ebook"] p.price .now')
    assert ebook is not None and ebook.get_text(strip=True) == "$5.99"


def test_installed_storefront_script_checks_the_builtin_catalog(venv, tmp_path):
    result = run([str(venv / "bin" / "storefront"), "check"], cwd=tmp_path, env=clean_env())
    assert result.stdout.startswith("catalog.toml: OK (1 book(s), ")
