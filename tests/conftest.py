"""Shared fixtures: app, client, runner, a controllable clock and catalog files."""

from __future__ import annotations

import contextlib
import os
import shutil
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from storefront.app import create_app
from storefront.catalog import builtin_catalog_path

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip on a laptop when a real tool is missing; in CI (CI=true) fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def require_executable(name: str, *alternatives: str) -> str:
    for candidate in (name, *alternatives):
        path = shutil.which(candidate)
        if path:
            return path
    require(False, f"{name} is not installed")
    raise AssertionError("unreachable")


class Clock:
    """A clock the test moves by hand (the app reads it on every request)."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        assert at.tzinfo is not None
        self.at = at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture(autouse=True)
def _clear_storefront_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("STOREFRONT_"):
            monkeypatch.delenv(key)


@pytest.fixture
def clock() -> Clock:
    # A quiet day: no campaign is running on the built-in catalog.
    return Clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


@pytest.fixture
def builtin_catalog() -> Path:
    return builtin_catalog_path()


@pytest.fixture
def make_app(tmp_path, clock):
    """Build an app with test settings; keyword arguments override them."""

    def make(**config):
        settings = {
            "TESTING": True,
            "CLOCK": clock,
            "BASE_URL": "https://books.example.org",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'storefront.db'}",
            "CATALOG_RELOAD_INTERVAL": 0,
            # Generous: a loaded test machine must not spool clicks the test then reads
            # from the database. Tests of the budget itself set their own.
            "CLICK_BUDGET": 5,
        }
        settings.update(config)
        return create_app(settings, instance_path=str(tmp_path / "instance"))

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


MINIMAL_CATALOG = """
[site]
title = "Test Books"
author = "A. Writer"
timezone = "America/New_York"

[[vendors]]
slug = "shop"
name = "The Shop"
search_url = "https://shop.example/search?q={query}"

[[vendors]]
slug = "other"
name = "Other Store"

[[books]]
slug = "first"
title = "First Book"
authors = ["A. Writer"]
description = "A book for tests. It has two sentences."

[[books.quotes]]
text = "Very good."
source = "A Reviewer"

[[books.editions]]
format = "ebook"

[[books.editions.offers]]
slug = "shop"
vendor = "shop"
url = "https://shop.example/first"
price = "10.00"
currency = "USD"
preferred = true
reason = "The author's favourite shop."

[[books.editions.offers]]
slug = "other"
vendor = "other"
url = "https://other.example/first"
price = "10.00"
currency = "USD"
"""


@pytest.fixture
def write_catalog(tmp_path):
    """Write a catalog file (dedented) and return its path."""

    def write(text: str = MINIMAL_CATALOG, name: str = "catalog.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


# ------------------------------------------------------------- real servers and a browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@contextlib.contextmanager
def serve_wsgi(app, host: str = "127.0.0.1"):
    """Serve a WSGI app on a free port of 127.0.0.1 in a thread; yield its base URL."""
    from werkzeug.serving import make_server

    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    """A real headless Chromium (Debian's), driven by Playwright; one per test session."""
    executable = require_executable("chromium", "chromium-browser")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 collecting messages: see tests/smtp.py."""
    from tests.smtp import SmtpServer

    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()
