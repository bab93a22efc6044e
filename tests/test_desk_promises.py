"""What the desk promises in docs/desk.md, held to it: sign-in edges, the whole `check` on
every save, authors, statistics without the admin token, the dashboard's first warning."""

# ruff: noqa: F811  (the fixtures imported from test_desk are parameters here)

from __future__ import annotations

import time
from urllib.parse import unquote

import pytest
import tomlkit
from bs4 import BeautifulSoup

from storefront.cli import main
from storefront.views.desk import base as desk_base

from .test_desk import (  # noqa: F401  (fixtures)
    PASSWORD,
    author,
    catalog_file,
    csrf_of,
    desk_app,
    form_of,
    sign_in,
)

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"}


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


# --------------------------------------------------------------------------- sign-in


@pytest.mark.parametrize(
    "target",
    ["/admin/\r\nSet-Cookie: x=1", "/admin/%0d%0aLocation: https://evil.example/", "/admin/\x00"],
)
def test_a_control_character_in_next_is_a_safe_local_redirect(desk_app, target):
    client = desk_app.test_client()
    token = csrf_of(client.get("/admin/login").text)
    response = client.post(
        "/admin/login",
        query_string={"next": target},
        data={"csrf_token": token, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.location.startswith("/admin/")  # local; an encoded %0d%0a stays inert
    assert "\r" not in response.location and "\n" not in response.location
    assert "Set-Cookie: x" not in str(response.headers)


def test_a_session_ends_twelve_hours_after_sign_in_however_often_it_is_used(author, monkeypatch):
    started = time.time()
    for hours in (1, 6, 11.9):  # each request renews the cookie...
        monkeypatch.setattr(desk_base.time, "time", lambda h=hours: started + h * 3600)
        assert author.get("/admin/").status_code == 200
    monkeypatch.setattr(desk_base.time, "time", lambda: started + 12 * 3600 + 1)
    response = author.get("/admin/")  # ...but not the sign-in's own instant
    assert response.status_code == 302 and response.location.startswith("/admin/login")


def test_a_strangers_post_is_refused_without_reading_its_form(desk_app, catalog_file):
    client = desk_app.test_client()
    before = catalog_file.read_bytes()
    # No CSRF token either: the session is checked first, so the answer is 401, not 400.
    response = client.post("/admin/cover/books[0]", data={"cover": "x" * 1000})
    assert response.status_code == 401
    assert catalog_file.read_bytes() == before


def test_the_desk_script_is_a_static_file_with_an_etag(desk_app):
    client = desk_app.test_client()
    with client.get("/admin/static/desk.js") as first:
        assert first.status_code == 200 and first.mimetype == "text/javascript"
        assert "data-fit" in first.text and first.headers["ETag"]
        assert "no-store" not in first.headers["Cache-Control"]
        etag = first.headers["ETag"]
    with client.get("/admin/static/desk.js", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
    assert client.get("/admin/login").headers["Cache-Control"] == "no-store"


# --------------------------------------------------------------------------- saves


def test_the_desk_refuses_fonts_that_check_refuses(author, catalog_file, runner):
    before = catalog_file.read_bytes()
    form = form_of(author.get("/admin/edit/site").text, "/admin/edit/site")
    form["fonts"] = "Arab = fonts/missing.ttf"
    response = author.post("/admin/edit/site", data=form)
    assert response.status_code == 422
    error = soup(response.text).find(id="f-fonts-error") or soup(response.text).find(id="problems")
    assert error is not None and "font file 'fonts/missing.ttf' not found" in error.text
    assert catalog_file.read_bytes() == before
    # The same value, written by hand: `storefront check` refuses it with the same words.
    doc = tomlkit.parse(before.decode("utf-8"))
    doc["site"]["fonts"] = {"Arab": "fonts/missing.ttf"}
    catalog_file.write_text(tomlkit.dumps(doc), encoding="utf-8")
    result = runner.invoke(main, ["check", "--catalog", str(catalog_file)])
    assert result.exit_code == 1 and "font file 'fonts/missing.ttf' not found" in result.output


def test_authors_are_listed_added_and_edited_in_the_desk(author, catalog_file):
    from storefront.catalog import load_catalog

    before = len(load_catalog(catalog_file).authors)
    page = soup(author.get("/admin/catalog").text)
    link = page.find("a", string="Add an author")
    assert link["href"] == "/admin/new/authors"
    form = form_of(author.get("/admin/new/authors").text, "/admin/new/authors")
    form.update(
        slug="valerie-anders",
        name="Valerie Anders",
        bio="Wrote the foreword; widow of Apollo 8's Bill Anders.",
        links="https://example.org/anders\nhttps://example.org/apollo8",
    )
    response = author.post("/admin/new/authors", data=form)
    assert response.status_code == 302, response.text
    catalog = load_catalog(catalog_file)
    assert len(catalog.authors) == before + 1
    added = catalog.authors[-1]
    assert added.slug == "valerie-anders" and added.bio.startswith("Wrote the foreword")
    assert added.links == ("https://example.org/anders", "https://example.org/apollo8")
    path = f"authors[{before}]"
    edit = soup(author.get(f"/admin/edit/{path}").text)
    assert edit.find("input", id="f-name")["value"] == "Valerie Anders"
    listed = soup(author.get("/admin/catalog").text).find("a", string="Valerie Anders")
    assert listed is not None and unquote(listed["href"]) == f"/admin/edit/{path}"


def test_a_book_without_quotes_says_so(author, catalog_file):
    doc = tomlkit.parse(catalog_file.read_text(encoding="utf-8"))
    del doc["books"][0]["quotes"]
    catalog_file.write_text(tomlkit.dumps(doc), encoding="utf-8")
    page = soup(author.get("/admin/catalog").text)
    items = [li.get_text(" ", strip=True) for li in page.select(".tree li")]
    assert not any(text.startswith("Quotes:") for text in items)
    assert any(text.startswith("No quotes yet") for text in items)


# --------------------------------------------------------------------------- what it shows


def test_a_signed_in_author_sees_the_full_statistics_without_the_token(author, desk_app):
    assert not desk_app.config.get("ADMIN_TOKEN")
    reader = desk_app.test_client()
    for _ in range(2):
        reader.get("/go/genesis/kindle?src=page", headers=BROWSER)
    page = soup(author.get("/admin/").text)
    link = page.find("a", string="Full statistics")
    assert link["href"] == "/admin/statistics"
    response = author.get(link["href"])
    assert response.status_code == 200
    stats = soup(response.text)
    assert stats.select_one("[data-total=clicks]").text == "2"
    by_vendor = stats.select_one("table[data-by=vendor] tr[data-key=amazon]")
    assert [td.text for td in by_vendor.find_all("td")][1] == "2"
    assert {t["data-by"] for t in stats.select("table[data-by]")} == {
        "vendor",
        "placement",
        "campaign",
        "country",
        "day",
    }
    assert "admin token" not in response.text
    assert desk_app.test_client().get("/admin/statistics").status_code == 302  # a stranger


def test_the_dashboard_lists_a_missing_public_address_first(make_app, catalog_file):
    app = make_app(CATALOG=str(catalog_file), BASE_URL=None)

    app.extensions["desk"].auth.set_password(PASSWORD)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    todos = soup(client.get("/admin/").text).select("#todo + ul > li")
    assert len(todos) >= 2
    assert todos[0].get_text(" ", strip=True).startswith("Public address not set")


def test_no_public_address_warning_with_one(author):
    todos = soup(author.get("/admin/").text).select("#todo + ul > li")
    assert not any("Public address" in li.text for li in todos)


def test_serve_says_whether_the_desk_has_a_password(tmp_path):
    from storefront.commands.serve import _desk_password_line
    from storefront.desk.auth import AuthStore

    line = _desk_password_line(tmp_path, None)
    assert "has no password yet" in line and "storefront admin set-password" in line
    assert str(tmp_path) in line  # the folder it reads, so the author sets it there
    AuthStore(tmp_path).set_password(PASSWORD)
    assert _desk_password_line(tmp_path, None).startswith("The desk (/admin/) has a password")
