"""Settings a deployment trips over: raw strings, checked numbers, the instance folder, proxies."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storefront.app import DEFAULTS, create_app
from storefront.settings import (
    NEGATIVE_ALLOWED,
    SettingsError,
    coerce_settings,
    instance_folder,
)
from storefront.state import RenderCache
from storefront.storage import StorageError, clicks, make_engine
from storefront.storage.engine import redact_url

BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
}
NUMERIC = sorted(
    k for k, v in DEFAULTS.items() if isinstance(v, int | float) and not isinstance(v, bool)
)


@pytest.fixture
def env_app(tmp_path, monkeypatch):
    """create_app() reading STOREFRONT_* from the environment, as `storefront serve` does."""

    def make(**env: str):
        monkeypatch.setenv("STOREFRONT_DATABASE_URL", f"sqlite:///{tmp_path / 'clicks.db'}")
        for key, value in env.items():
            monkeypatch.setenv(f"STOREFRONT_{key}", value)
        return create_app(instance_path=str(tmp_path / "instance"))

    return make


@pytest.mark.parametrize("token", ["1.50", "007", "true", "null", '{"a": 1}', "1e3"])
def test_admin_token_is_the_text_as_typed(env_app, token):
    app = env_app(ADMIN_TOKEN=token)
    assert app.config["ADMIN_TOKEN"] == token


def test_numeric_settings_are_read_from_their_text(env_app):
    app = env_app(DATABASE_TIMEOUT="0.05", REPEAT_WINDOW=" 60 ", CATALOG_RELOAD_INTERVAL="2")
    assert app.config["DATABASE_TIMEOUT"] == 0.05
    assert app.config["REPEAT_WINDOW"] == 60
    assert app.config["CATALOG_RELOAD_INTERVAL"] == 2.0


@pytest.mark.parametrize("name", NUMERIC)
@pytest.mark.parametrize("value", ["abc", "", "nan", "inf", "1,5"])
def test_every_numeric_setting_refuses_text_with_one_line(env_app, name, value):
    with pytest.raises(SettingsError) as raised:
        env_app(**{name: value})
    message = str(raised.value)
    assert message == f"STOREFRONT_{name}: '{value}' is not a number"
    assert "\n" not in message


@pytest.mark.parametrize("name", [n for n in NUMERIC if n not in NEGATIVE_ALLOWED])
def test_a_number_of_seconds_or_proxies_is_not_negative(env_app, name):
    with pytest.raises(SettingsError, match=rf"^STOREFRONT_{name}: '-1' is below 0$"):
        env_app(**{name: "-1"})


def test_a_negative_reload_interval_means_never(env_app):
    assert env_app(CATALOG_RELOAD_INTERVAL="-1").config["CATALOG_RELOAD_INTERVAL"] == -1.0


def test_a_whole_number_setting_refuses_a_fraction():
    with pytest.raises(SettingsError, match=r"STOREFRONT_PROXY_COUNT: '1.5' is not a whole"):
        coerce_settings({"PROXY_COUNT": "1.5"}, DEFAULTS)


def test_the_instance_folder_is_instance_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STOREFRONT_INSTANCE_PATH", raising=False)
    assert instance_folder() == tmp_path / "instance"
    app = create_app({"TESTING": True, "DATABASE_URL": None})
    assert app.instance_path == str(tmp_path / "instance")
    assert (tmp_path / "instance").is_dir()


def test_an_instance_folder_that_cannot_be_made_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SettingsError) as raised:
        create_app({"TESTING": True}, instance_path=str(blocker / "instance"))
    assert str(raised.value).startswith(f"cannot create the instance folder '{blocker}/instance'")
    assert "STOREFRONT_INSTANCE_PATH" in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://writer:hunter2@db.example/store",
        "postgresql+psycopg://writer:hunter2@db.example:5432/store?sslmode=require",
        "nosuchdb://writer:hunter2@db.example/store",
        "writer:hunter2@db.example/store",
    ],
)
def test_a_database_url_never_shows_its_password(url):
    assert "hunter2" not in redact_url(url)
    assert "writer" in redact_url(url)


@pytest.mark.parametrize(
    "url", ["nosuchdb://writer:hunter2@db.example/store", "writer:hunter2@db/store"]
)
def test_a_bad_database_url_error_hides_the_password(url):
    with pytest.raises(StorageError) as raised:
        make_engine(url)
    assert "hunter2" not in str(raised.value)
    assert "STOREFRONT_DATABASE_URL" in str(raised.value)


def click_rows(app) -> list[dict]:
    store = app.extensions["clicks"]
    store.ensure_schema()
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(clicks).order_by(clicks.c.id))]


def click_from(client, peer: str, forwarded: str, proto: str = "http") -> None:
    response = client.get(
        "/go/genesis/kindle",
        headers={**BROWSER, "X-Forwarded-For": forwarded, "X-Forwarded-Proto": proto},
        environ_base={"REMOTE_ADDR": peer},
    )
    assert response.status_code == 302


def test_forwarded_for_is_ignored_without_a_proxy_setting(make_app):
    app = make_app()
    client = app.test_client()
    # A reader cannot dodge the repeat window by inventing X-Forwarded-For.
    click_from(client, "198.51.100.7", "203.0.113.1")
    click_from(client, "198.51.100.7", "203.0.113.2")
    assert [r["is_repeat"] for r in click_rows(app)] == [False, True]


def test_behind_one_proxy_the_repeat_window_uses_the_readers_address(make_app):
    app = make_app(PROXY_COUNT=1)
    client = app.test_client()
    proxy = "127.0.0.1"
    click_from(client, proxy, "203.0.113.1")
    click_from(client, proxy, "203.0.113.2")  # another reader, same proxy
    click_from(client, proxy, "10.9.9.9, 203.0.113.1")  # the proxy appends the real peer
    assert [r["is_repeat"] for r in click_rows(app)] == [False, False, True]


def test_behind_a_proxy_the_forwarded_scheme_and_host_are_used(make_app):
    app = make_app(PROXY_COUNT=1)
    seen = {}

    @app.get("/_seen")
    def _seen():
        from flask import request

        seen.update(url=request.url, addr=request.remote_addr)
        return ""

    app.test_client().get(
        "/_seen",
        headers={
            "X-Forwarded-For": "203.0.113.5",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "books.example.org",
        },
    )
    assert seen == {"url": "https://books.example.org/_seen", "addr": "203.0.113.5"}


def test_without_the_setting_forwarded_scheme_and_host_are_not_used(make_app):
    app = make_app()
    seen = {}

    @app.get("/_seen")
    def _seen():
        from flask import request

        seen.update(url=request.url, addr=request.remote_addr)
        return ""

    app.test_client().get(
        "/_seen",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert seen == {"url": "http://localhost/_seen", "addr": "198.51.100.7"}


def test_render_cache_evicts_the_least_recently_used():
    cache = RenderCache(size=2)
    at = datetime(2026, 11, 25, tzinfo=UTC)
    built: list[str] = []

    class NoCampaigns:
        campaigns = ()
        version = "v1"

    catalog = NoCampaigns()

    def get(key: str) -> bytes:
        def build():
            built.append(key)
            return key.encode(), "text/plain"

        return cache.get(key, catalog, at, build).body

    get("a")
    get("b")
    assert get("a") == b"a"  # a hit: "a" is now the most recently used
    get("c")  # evicts "b", the least recently used (FIFO would evict "a")
    get("a")
    get("b")
    assert built == ["a", "b", "c", "b"]
    # The cache keys by the catalog version itself: a new version renders anew.
    catalog.version = "v2"
    get("b")
    assert built == ["a", "b", "c", "b", "b"]


def test_no_storefront_setting_leaks_between_tests():
    assert not [k for k in os.environ if k.startswith("STOREFRONT_")]
