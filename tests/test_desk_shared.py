"""The desk on every server: two app servers on one PostgreSQL share its password and history.

Each server has its own catalog file and instance folder, as on separate machines; the
password is set once with ``storefront admin set-password`` pointed at the database, the
save history and the session generation are read from the database by both.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from storefront.app import create_app
from storefront.catalog import builtin_catalog_path
from storefront.cli import main

from .clickdb import fresh_postgres_database
from .test_desk import PASSWORD, form_of, sign_in

pytestmark = pytest.mark.postgres


def history_summaries(client) -> list[str]:
    response = client.get("/admin/history")
    assert response.status_code == 200
    rows = BeautifulSoup(response.text, "html.parser").select("tbody tr")
    return [row.find_all("td")[-1].get_text(strip=True) for row in rows if len(row("td")) == 3]


def is_signed_in(client) -> bool:
    response = client.get("/admin/")
    return response.status_code == 200


@pytest.fixture
def two_servers(tmp_path, clock, runner, monkeypatch):
    with fresh_postgres_database() as url:
        apps = []
        for name in ("one", "two"):
            path = tmp_path / name / "catalog.toml"
            path.parent.mkdir()
            path.write_bytes(builtin_catalog_path().read_bytes())
            settings = {
                "TESTING": True,
                "CLOCK": clock,
                "CATALOG": str(path),
                "DATABASE_URL": url,
                "CATALOG_RELOAD_INTERVAL": 0,
                "CATALOG_SYNC_INTERVAL": 0,
            }
            apps.append(create_app(settings, instance_path=str(tmp_path / name / "instance")))
        # Set once, by the command, from a third place (an admin's shell).
        monkeypatch.setenv("STOREFRONT_DATABASE_URL", url)
        monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "shell"))
        result = runner.invoke(main, ["admin", "set-password"], input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
        yield apps
        for app in apps:
            app.extensions["clicks"].close()


def test_a_password_set_once_signs_in_on_both_servers(two_servers):
    one, two = two_servers
    assert one.config["SECRET_KEY"] == two.config["SECRET_KEY"]  # one secret, from the database
    for app in (one, two):
        client = app.test_client()
        assert not is_signed_in(client)
        assert sign_in(client).status_code == 302
        assert is_signed_in(client)
        assert sign_in(app.test_client(), "not the password").status_code == 401


def test_a_save_on_one_server_is_in_the_history_of_the_other(two_servers):
    one, two = two_servers
    author_one, author_two = one.test_client(), two.test_client()
    sign_in(author_one)
    sign_in(author_two)
    assert history_summaries(author_two) == []
    page = "/admin/edit/books[0]"
    form = form_of(author_one.get(page).text, page)
    form["pitch"] = "Edited on server one."
    assert author_one.post(page, data=form).status_code == 302
    (summary,) = history_summaries(author_two)
    assert summary == history_summaries(author_one)[0]
    # Server two brings its own file up to date without a second entry in the shared history.
    assert two.extensions["desk"].files.sync_once() is True
    assert history_summaries(author_two) == [summary]


def test_signing_out_everywhere_ends_the_sessions_on_both_servers(two_servers):
    one, two = two_servers
    author_one, author_two = one.test_client(), two.test_client()
    sign_in(author_one)
    sign_in(author_two)
    assert is_signed_in(author_one) and is_signed_in(author_two)
    page = author_two.get("/admin/")
    logout = form_of(page.text, "logout")
    assert author_two.post("/admin/logout", data=logout).status_code == 302
    assert not is_signed_in(author_two)
    assert not is_signed_in(author_one)  # its cookie is from the generation that ended
    assert sign_in(author_one).status_code == 302 and is_signed_in(author_one)
