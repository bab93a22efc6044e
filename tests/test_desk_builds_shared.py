"""The desk's print builds keep their status in the database every server shares.

Two app servers on one PostgreSQL (each with its own catalog file and instance folder, as
on separate machines): a build started on one is seen running and then done from the
other, a second start on the other is refused while it runs, and the files, kept by the
server that built them, are refused on the other with the reason (409), never a 500.
On SQLite alone: a build another process claimed is not started twice, and one whose
process died reads as interrupted and may be built again.
"""

from __future__ import annotations

import io
import threading
import time
import zipfile
from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup

from storefront.catalog import builtin_catalog_path, load_catalog
from storefront.desk import builds as builds_module
from storefront.desk.builds import STALE_AFTER, Builds
from storefront.storage import database_url, make_engine
from storefront.urls import Urls

from .test_desk import form_of, sign_in
from .test_desk_shared import two_servers  # noqa: F401  (the fixture: two apps, one database)

SLUG = "apollo8-anniversary"


def wait_for(client, predicate, seconds: float = 240.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        response = client.get(f"/admin/pieces/{SLUG}/status.json")
        assert response.status_code == 200
        status = response.get_json()
        if predicate(status):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


@pytest.fixture
def gated_build(monkeypatch):
    """The real build, held at its start until the test opens the gate; counts its runs."""
    gate, runs = threading.Event(), []
    real = builds_module.build_campaign

    def gated(*args, **kwargs):
        runs.append(kwargs.get("campaign"))
        assert gate.wait(120), "the test never opened the gate"
        return real(*args, **kwargs)

    monkeypatch.setattr(builds_module, "build_campaign", gated)
    yield gate, runs
    gate.set()


@pytest.mark.postgres
def test_a_build_on_one_server_is_seen_and_not_repeated_from_the_other(
    two_servers,  # noqa: F811
    gated_build,
):
    gate, runs = gated_build
    one, two = two_servers
    one.extensions["desk"].builds.server = "server-one"
    two.extensions["desk"].builds.server = "server-two"
    author_one, author_two = one.test_client(), two.test_client()
    sign_in(author_one)
    sign_in(author_two)
    assert wait_for(author_two, lambda s: True)["state"] == "none"

    page = f"/admin/pieces/{SLUG}"
    started = author_one.post(
        f"{page}/build",
        data=form_of(author_one.get(page).text, "/build"),
        headers={"Accept": "application/json"},
    )
    assert started.status_code == 202
    assert started.get_json()["state"] == "running"
    seen = wait_for(author_two, lambda s: s["state"] == "running")
    assert seen["server"] == "server-one" and seen["started"]

    # A second start on the other server is refused: it shows the running build.
    again = author_two.post(
        f"{page}/build",
        data=form_of(author_two.get(page).text, "/build"),
        headers={"Accept": "application/json"},
    )
    assert again.status_code == 202
    assert (again.get_json()["state"], again.get_json()["server"]) == ("running", "server-one")
    state = BeautifulSoup(author_two.get(page).text, "html.parser").find(id="build-state")
    assert state.get_text().startswith("Building:")

    gate.set()
    done = wait_for(author_two, lambda s: s["state"] != "running")
    assert runs == [SLUG]  # one build, on one server
    assert done["state"] == "done", done
    assert done["server"] == "server-one" and done["finished"]
    assert done["done"] == done["total"] > 0
    assert done["files"] and all(name.endswith((".pdf", ".png")) for name in done["files"])
    assert author_one.get(f"{page}/status.json").get_json() == done

    # The files are on server one: it serves them; server two says where they are.
    archive = author_one.get(f"/admin/pieces/{SLUG}.zip")
    assert archive.status_code == 200
    assert sorted(zipfile.ZipFile(io.BytesIO(archive.data)).namelist()) == done["files"]
    for url in (f"/admin/pieces/{SLUG}.zip", f"/admin/pieces/{SLUG}/files/{done['files'][0]}"):
        refused = author_two.get(url)
        assert refused.status_code == 409
        assert "server-one" in BeautifulSoup(refused.text, "html.parser").get_text()
    note = BeautifulSoup(author_two.get(page).text, "html.parser").find(id="elsewhere")
    assert "server-one" in note.get_text()
    assert author_two.get(f"/admin/pieces/{SLUG}/files/nothing.pdf").status_code == 404


def test_a_claimed_build_is_not_started_twice_and_a_dead_one_is_interrupted(tmp_path, gated_build):
    gate, runs = gated_build
    catalog = load_catalog(builtin_catalog_path())
    campaign = catalog.campaign(SLUG)
    engine = make_engine(database_url(None, str(tmp_path)))
    folder = tmp_path / "pieces"
    try:
        # Another server process claimed the build and beats its heartbeat.
        assert Builds(engine, server="elsewhere").claim(SLUG, folder) is not None
        here = Builds(engine, server="here")
        status = here.start(catalog, campaign, Urls(), datetime.now(UTC), folder)
        assert (status["state"], status["server"]) == ("running", "elsewhere")
        assert runs == []
        # Its process died: once the heartbeat is stale, the page says so …
        later = Builds(engine, server="here", clock=lambda: time.time() + STALE_AFTER + 1)
        assert later.status(SLUG)["state"] == "interrupted"
        # … and the build may be started again, here.
        status = later.start(catalog, campaign, Urls(), datetime.now(UTC), folder)
        assert (status["state"], status["server"]) == ("running", "here")
        gate.set()
        deadline = time.monotonic() + 240
        while later.status(SLUG)["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert runs == [SLUG]
        assert later.status(SLUG)["state"] == "done"
    finally:
        gate.set()
        engine.dispose()
