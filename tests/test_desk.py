"""The author's desk (/admin/): sign-in and its security, editing, saving, history, preview.

Everything here goes through the Flask test client against a real catalog file in a
temp folder (a copy of the built-in one, comments and all); the browser tests are in
``test_desk_browser.py``.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from storefront.app import create_app
from storefront.catalog import builtin_catalog_path, load_catalog
from storefront.cli import main
from storefront.desk.auth import AuthStore
from storefront.linkcheck.report import load_report, save_report

from .clickdb import fresh_postgres_database
from .test_linkcheck import FAST_ARGS, link_catalog, server  # noqa: F401  (fixtures)

PASSWORD = "correct horse battery staple"
PHOENIX = ZoneInfo("America/Phoenix")


def csrf_of(html: str) -> str:
    return BeautifulSoup(html, "html.parser").find("input", {"name": "csrf_token"})["value"]


def base_of(html: str) -> str:
    return BeautifulSoup(html, "html.parser").find("input", {"name": "base"})["value"]


def form_of(html: str, action_part: str = "") -> dict:
    """What a browser would submit for the first form whose action contains ``action_part``."""
    soup = BeautifulSoup(html, "html.parser")
    form = next(f for f in soup.find_all("form") if action_part in unquote(f.get("action") or ""))
    data: dict = {}
    for el in form.find_all(["input", "textarea", "select"]):
        name = el.get("name")
        if not name:
            continue
        if el.name == "textarea":
            data[name] = el.text
        elif el.name == "select":
            chosen = el.find("option", selected=True) or el.find("option")
            data[name] = chosen.get("value", chosen.text) if chosen else ""
        elif el.get("type") == "checkbox":
            if el.has_attr("checked"):
                data.setdefault(name, []).append(el.get("value", "on"))
        elif el.get("type") not in ("submit", "file"):
            data[name] = el.get("value", "")
    return data


@pytest.fixture
def catalog_file(tmp_path) -> Path:
    path = tmp_path / "books" / "catalog.toml"
    path.parent.mkdir()
    path.write_bytes(builtin_catalog_path().read_bytes())
    return path


@pytest.fixture
def desk_app(make_app, catalog_file):
    app = make_app(CATALOG=str(catalog_file))
    app.extensions["desk"].auth.set_password(PASSWORD)
    return app


def sign_in(client, password: str = PASSWORD):
    page = client.get("/admin/login")
    return client.post(
        "/admin/login", data={"csrf_token": csrf_of(page.text), "password": password}
    )


@pytest.fixture
def author(desk_app):
    client = desk_app.test_client()
    assert sign_in(client).status_code == 302
    return client


DESK_PAGES = [
    "/admin/",
    "/admin/catalog",
    "/admin/campaigns",
    "/admin/edit/site",
    "/admin/edit/books[0]",
    "/admin/edit/books[0].editions[0]",
    "/admin/edit/books[0].editions[0].offers[1]",
    "/admin/edit/books[0].quotes[0]",
    "/admin/edit/vendors[1]",
    "/admin/edit/support[4]",
    "/admin/edit/campaigns[0]",
    "/admin/edit/authors[0]",
    "/admin/new/campaigns",
    "/admin/new/campaigns?from=campaigns[0]",
    "/admin/new/books[0].editions[0].offers",
    "/admin/sample/books[0]",
    "/admin/history",
    "/admin/preview?day=2026-12-22",
    "/admin/preview?day=2026-12-22&show=cards",
    "/admin/preview/frame?show=page&book=genesis&day=2026-12-22",
    "/admin/preview/frame?show=card&layout=banner&book=genesis",
    "/admin/pieces/apollo8-anniversary",
]


# --------------------------------------------------------------------------- security


@pytest.mark.parametrize("url", DESK_PAGES)
def test_no_desk_page_without_a_session(desk_app, url):
    response = desk_app.test_client().get(url)
    assert response.status_code == 302
    assert response.location.startswith("/admin/login?next=")


def test_desk_json_and_posts_need_a_session_too(desk_app, catalog_file):
    client = desk_app.test_client()
    assert client.get("/admin/pieces/apollo8-anniversary/status.json").status_code == 401
    token = csrf_of(client.get("/admin/login").text)
    before = catalog_file.read_bytes()
    response = client.post("/admin/edit/site", data={"csrf_token": token, "title": "Pwned"})
    assert response.status_code == 401
    assert catalog_file.read_bytes() == before


def test_sign_in_form_has_a_password_field_and_a_hidden_csrf_field(desk_app):
    soup = BeautifulSoup(desk_app.test_client().get("/admin/login").text, "html.parser")
    form = soup.find("form", action=re.compile(r"^/admin/login"))
    assert form.find("input", {"type": "password", "name": "password"})
    assert form.find("input", {"type": "hidden", "name": "csrf_token"})["value"]
    label = soup.find("label", {"for": form.find("input", {"type": "password"})["id"]})
    assert label.text == "Password"


def test_a_form_post_without_a_csrf_token_is_refused(author, catalog_file):
    before = catalog_file.read_bytes()
    form = form_of(author.get("/admin/edit/site").text, "/admin/edit/site")
    form.pop("csrf_token")
    form["title"] = "Changed without a token"
    response = author.post("/admin/edit/site", data=form)
    assert response.status_code == 400
    assert "CSRF" in response.text
    assert catalog_file.read_bytes() == before


def test_a_session_cookie_from_before_sign_out_no_longer_works(author, desk_app):
    assert author.get("/admin/").status_code == 200
    cookie = author.get_cookie("storefront_desk", path="/admin")
    kept = cookie.value
    token = csrf_of(author.get("/admin/").text)
    assert author.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert author.get("/admin/").status_code == 302
    # Someone kept a copy of the old cookie: it is still correctly signed, but dead.
    thief = desk_app.test_client()
    thief.set_cookie("storefront_desk", kept, path="/admin")
    response = thief.get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.location


def test_session_cookie_is_httponly_samesite_and_scoped(desk_app):
    client = desk_app.test_client()
    header = client.get("/admin/login").headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/admin" in header
    assert "Secure" not in header  # plain http in this test


def test_session_cookie_is_secure_over_https(desk_app):
    client = desk_app.test_client()
    header = client.get("/admin/login", base_url="https://books.example.org").headers["Set-Cookie"]
    assert "Secure" in header


def test_repeated_wrong_passwords_are_slowed(desk_app):
    """docs/desk.md: 3 attempts; after the 3rd wrong password the next waits 1 s, then 2 s."""
    now = [1_000_000.0]
    desk_app.extensions["desk"].throttle.clock = lambda: now[0]  # no real second may pass
    client = desk_app.test_client()
    statuses = [sign_in(client, "wrong password!").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    slowed = sign_in(client, "wrong password!")
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "1"
    # While slowed, even the right password is not checked.
    assert sign_in(client, PASSWORD).status_code == 429
    now[0] += 1
    assert sign_in(client, "wrong password!").status_code == 401  # the 4th, after its wait
    again = sign_in(client, "wrong password!")
    assert again.status_code == 429 and again.headers["Retry-After"] == "2"  # doubled
    now[0] += 2
    assert sign_in(client, PASSWORD).status_code == 302


def test_no_open_redirect_after_sign_in(desk_app):
    client = desk_app.test_client()
    token = csrf_of(client.get("/admin/login").text)
    for target in ("https://evil.example/", "//evil.example/admin/", "/admin/\\evil"):
        response = client.post(
            f"/admin/login?next={target}", data={"csrf_token": token, "password": PASSWORD}
        )
        assert response.location == "/admin/"
        token = csrf_of(client.get("/admin/login").text)


def png_bytes(width: int = 2, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_an_upload_that_is_not_an_image_is_refused(author, catalog_file):
    before = catalog_file.read_bytes()
    html = author.get("/admin/edit/books[0]").text
    form = form_of(html, "/admin/cover/")
    form["cover"] = (io.BytesIO(b"<html><script>alert(1)</script></html>"), "cover.png")
    response = author.post("/admin/cover/books[0]", data=form, content_type="multipart/form-data")
    assert response.status_code == 415
    assert "not a PNG or JPEG" in response.text
    assert catalog_file.read_bytes() == before
    assert not (catalog_file.parent / "covers").exists()


def test_a_png_cover_is_stored_next_to_the_catalog(author, desk_app, catalog_file):
    form = form_of(author.get("/admin/edit/books[0]").text, "/admin/cover/")
    form["cover"] = (io.BytesIO(png_bytes()), "my cover.png")
    response = author.post("/admin/cover/books[0]", data=form, content_type="multipart/form-data")
    assert response.status_code == 302
    catalog = load_catalog(catalog_file)
    assert catalog.books[0].cover.parent == catalog_file.parent / "covers"
    assert catalog.books[0].cover.read_bytes() == png_bytes()
    served = desk_app.test_client().get("/books/genesis/cover")
    assert served.mimetype == "image/png" and served.data == png_bytes()


def test_a_cover_larger_than_five_megabytes_is_refused(author, catalog_file):
    before = catalog_file.read_bytes()
    form = form_of(author.get("/admin/edit/books[0]").text, "/admin/cover/")
    big = png_bytes() + b"\0" * (5 * 1024 * 1024 + 1000)  # just over: the desk says why
    form["cover"] = FileStorage(io.BytesIO(big), filename="big.png", content_type="image/png")
    # Encoded here: the test client would spool so big a body to a file it never closes.
    boundary, body = encode_multipart(MultiDict(form))
    response = author.post(
        "/admin/cover/books[0]",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 413
    assert "larger than 5 MB" in response.get_data(as_text=True)
    assert catalog_file.read_bytes() == before


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_catalog_text_is_escaped_on_every_desk_page(make_app, catalog_file):
    text = catalog_file.read_text(encoding="utf-8")
    text = text.replace('title = "Genesis"', f"title = '{HOSTILE}'", 1)
    text = text.replace('name = "Apollo 8 anniversary sale"', f"name = '{HOSTILE}'", 1)
    text = text.replace('name = "Amazon"', f"name = '{HOSTILE}'", 1)
    catalog_file.write_text(text, encoding="utf-8")
    app = make_app(CATALOG=str(catalog_file))
    app.extensions["desk"].auth.set_password(PASSWORD)
    client = app.test_client()
    sign_in(client)
    for url in [*DESK_PAGES, "/admin/edit/vendors[1]"]:
        response = client.get(url)
        assert response.status_code == 200, url
        soup = BeautifulSoup(response.text, "html.parser")
        # The page's own scripts (desk.js, a card's resize script) carry no catalog text.
        scripts = soup.find_all("script")
        code = [s for s in scripts if s.get("type") != "application/ld+json"]
        assert not [s for s in code if "alert" in (s.string or "")], url
        assert not [s for s in scripts if "<" in (s.string or "")], url  # JSON-LD: \u003c
        for data in soup.find_all("script", type="application/ld+json"):
            assert "<" not in data.string, url  # JSON-LD escapes < as \u003c
        assert not soup.find_all(attrs={"onerror": True}), url
        assert not soup.find_all("img", src="x"), url


# --------------------------------------------------------------------------- editing


def test_editing_an_offer_changes_that_line_only_and_passes_check(author, catalog_file, runner):
    before = catalog_file.read_text(encoding="utf-8")
    url = "/admin/edit/books[0].editions[0].offers[1]"
    form = form_of(author.get(url).text, url)
    assert form["price"] == "5.99" and form["vendor"] == "amazon"
    form["price"] = "4.99"
    response = author.post(url, data=form)
    assert response.status_code == 302
    after = catalog_file.read_text(encoding="utf-8")
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert changed == [('price = "5.99"', 'price = "4.99"')]
    result = runner.invoke(main, ["check", "--catalog", str(catalog_file)])
    assert result.exit_code == 0, result.output


def test_validator_messages_are_shown_next_to_their_fields(author, catalog_file):
    before = catalog_file.read_bytes()
    url = "/admin/edit/campaigns[0]"
    form = form_of(author.get(url).text, url)
    form.update(sale_price="", percent_off="150")
    response = author.post(url, data=form)
    assert response.status_code == 422
    assert catalog_file.read_bytes() == before
    soup = BeautifulSoup(response.text, "html.parser")
    field = soup.find(id="f-percent_off")
    assert field["aria-invalid"] == "true"
    error = soup.find(id="f-percent_off-error")
    assert "not between 0 (exclusive) and 100" in error.text
    assert "f-percent_off-error" in field["aria-describedby"].split()
    summary = soup.find(id="problems")
    assert summary["role"] == "alert" and summary.find("a", href="#f-percent_off")


def test_a_value_of_the_wrong_shape_is_an_error_not_a_500(author):
    url = "/admin/edit/books[0].editions[1]"
    form = form_of(author.get(url).text, url)
    form["duration_minutes"] = "nine hours"
    response = author.post(url, data=form)
    assert response.status_code == 422
    assert (
        "not a whole number"
        in BeautifulSoup(response.text, "html.parser").find(id="f-duration_minutes-error").text
    )


def test_a_hand_edit_between_opening_and_saving_is_detected_and_nothing_is_lost(
    author, catalog_file
):
    url = "/admin/edit/books[0].editions[0].offers[0]"
    form = form_of(author.get(url).text, url)  # the author opens the form...
    hand = catalog_file.read_text(encoding="utf-8").replace(
        'slug = "google"\nname = "Google Play Books"',
        'slug = "google"\nname = "Google Play"  # renamed by hand',
    )
    catalog_file.write_text(hand, encoding="utf-8")  # ...someone edits the file by hand...
    form["note"] = "Signed copies on request"
    response = author.post(url, data=form)  # ...and the author saves.
    assert response.status_code == 409
    assert catalog_file.read_text(encoding="utf-8") == hand  # the hand edit is intact
    soup = BeautifulSoup(response.text, "html.parser")
    diff = soup.find("pre", attrs={"data-diff": "hand-edit"}).text
    assert '-name = "Google Play Books"' in diff
    assert '+name = "Google Play"  # renamed by hand' in diff
    assert soup.find(id="f-note")["value"] == "Signed copies on request"  # nor is the author's
    again = form_of(response.text, url)
    assert again["base"] != form["base"]
    assert author.post(url, data=again).status_code == 302
    saved = catalog_file.read_text(encoding="utf-8")
    assert "# renamed by hand" in saved and 'note = "Signed copies on request"' in saved


def test_restore_brings_back_the_previous_file_byte_for_byte(author, catalog_file):
    original = catalog_file.read_bytes()
    url = "/admin/edit/site"
    form = form_of(author.get(url).text, url)
    form.update(title="A new title", description="Two\nlines")
    assert author.post(url, data=form).status_code == 302
    assert catalog_file.read_bytes() != original
    history = BeautifulSoup(author.get("/admin/history").text, "html.parser")
    link = history.find("a", href=re.compile(r"^/admin/history/\d+$"))
    entry = author.get(link["href"])
    diff = BeautifulSoup(entry.text, "html.parser").find("pre", attrs={"data-diff": "save"}).text
    assert '+title = "A new title"' in diff
    restore = form_of(entry.text, "/restore")
    assert author.post(link["href"] + "/restore", data=restore).status_code == 302
    assert catalog_file.read_bytes() == original


def test_the_running_site_picks_up_a_save(author, desk_app):
    url = "/admin/edit/books[0]"
    form = form_of(author.get(url).text, url)
    form["pitch"] = "A brand new pitch."
    assert author.post(url, data=form).status_code == 302
    page = desk_app.test_client().get("/books/genesis")
    assert "A brand new pitch." in page.text


def test_saving_the_built_in_catalog_is_refused(make_app):
    app = make_app()
    app.extensions["desk"].auth.set_password(PASSWORD)
    client = app.test_client()
    sign_in(client)
    form = form_of(client.get("/admin/edit/site").text, "/admin/edit/site")
    form["title"] = "x"
    response = client.post("/admin/edit/site", data=form)
    assert response.status_code == 409
    assert "STOREFRONT_CATALOG" in response.text
    assert load_catalog(None).site.title == "Behind The Black Books"


# --------------------------------------------------------------------------- campaigns


def new_campaign_form(author, **values) -> dict:
    form = form_of(author.get("/admin/new/campaigns").text, "/admin/new/campaigns")
    form.update(values)
    return form


def test_new_campaign_shows_what_it_selects_and_warns_without_books(author, catalog_file):
    before = catalog_file.read_bytes()
    form = new_campaign_form(
        author,
        slug="spring",
        name="Spring sale",
        starts="2027-03-01",
        ends="2027-03-07",
        percent_off="50",
        formats=["ebook"],
        do="preview",
    )
    response = author.post("/admin/new/campaigns", data=form)
    assert response.status_code == 200
    assert catalog_file.read_bytes() == before  # a preview saves nothing
    soup = BeautifulSoup(response.text, "html.parser")
    warning = soup.find(string=re.compile("selects every book"))
    assert warning is not None
    rows = {tr["data-offer"]: tr.find_all("td") for tr in soup.select("tr[data-offer]")}
    assert set(rows) == {"ebookit", "kindle", "apple-ebook", "kobo-ebook", "bn", "google-ebook"}
    # 50% of $5.99 is $2.995: a percent off is rounded down, never above the promise.
    assert rows["kindle"][4].text.strip() == "$2.99"
    form["books"] = ["genesis"]
    soup = BeautifulSoup(author.post("/admin/new/campaigns", data=form).text, "html.parser")
    assert soup.find(string=re.compile("selects every book")) is None


def test_duplicate_a_campaign_starts_a_year_later(author, catalog_file):
    html = author.get("/admin/new/campaigns?from=campaigns[0]").text
    form = form_of(html, "/admin/new/campaigns")
    assert form["slug"] == "apollo8-anniversary-copy"
    assert (form["starts"], form["ends"]) == ("2027-12-21", "2027-12-27")
    form["slug"] = "apollo8-anniversary-2027"
    assert author.post("/admin/new/campaigns", data=form).status_code == 302
    catalog = load_catalog(catalog_file)
    copy = catalog.campaign("apollo8-anniversary-2027")
    assert copy.sale_price == catalog.campaign("apollo8-anniversary").sale_price
    assert copy.starts == datetime(2027, 12, 21, tzinfo=PHOENIX)


def test_end_a_running_campaign_now(author, desk_app, clock, catalog_file):
    clock.set(datetime(2026, 12, 23, 15, 30, tzinfo=UTC))
    token = form_of(author.get("/admin/campaigns").text, "/admin/end/")
    assert author.post("/admin/end/campaigns[0]", data=token).status_code == 302
    campaign = load_catalog(catalog_file).campaign("apollo8-anniversary")
    assert campaign.ends == clock.at
    page = desk_app.test_client().get("/books/genesis")
    assert "$2.99" not in page.text


def test_remove_keeps_the_comments_that_follow(author, catalog_file):
    text = catalog_file.read_text(encoding="utf-8")
    form = form_of(author.get("/admin/edit/campaigns[1]").text, "/admin/remove/")
    assert author.post("/admin/remove/campaigns[1]", data=form).status_code == 302
    after = catalog_file.read_text(encoding="utf-8")
    assert "july-fundraiser" not in after
    assert (
        "# ---------------------------------------------------------------- reader support" in after
    )
    assert len(after.splitlines()) == len(text.splitlines()) - 9


# --------------------------------------------------------------------------- preview


def test_preview_renders_the_chosen_instant_uncached_and_uncounted(author, desk_app):
    response = author.get("/admin/preview/frame?show=page&book=genesis&day=2026-12-22&time=09:00")
    assert response.headers["Cache-Control"] == "no-store"
    soup = BeautifulSoup(response.text, "html.parser")
    banner = soup.find(attrs={"role": "note"})
    assert "Preview as readers will see it on 22 December 2026" in banner.text
    assert "$2.99" in soup.get_text()
    hrefs = [a["href"] for a in soup.find_all("a", href=True)]
    assert not [h for h in hrefs if "/go/" in h]
    # The public page on the same (real) day still shows the list price (the sale only
    # announced, with the price it will set).
    public = BeautifulSoup(desk_app.test_client().get("/books/genesis").text, "html.parser")
    assert {p.get_text(strip=True) for p in public.select(".format .price .now")} == {"$5.99"}
    assert public.select_one(".banner.sale") is None


def test_preview_asks_for_a_real_day(author):
    assert author.get("/admin/preview?day=2026-13-45").status_code == 400
    assert author.get("/admin/preview?show=nothing").status_code == 400


def test_sample_chapter_preview_and_save(author, catalog_file):
    url = "/admin/sample/books[0]"
    form = form_of(author.get(url).text, url)
    form.update(
        markdown="# Chapter One\n\nIt was *Christmas Eve*.\n<script>x()</script>", do="preview"
    )
    soup = BeautifulSoup(author.post(url, data=form).text, "html.parser")
    assert soup.find("em", string="Christmas Eve")
    assert not soup.find_all("script", src=False)
    form["do"] = "save"
    assert author.post(url, data=form).status_code == 302
    book = load_catalog(catalog_file).books[0]
    assert book.sample_chapter == catalog_file.parent / "samples" / "genesis.md"


def test_a_sample_chapter_over_512_kb_is_refused_with_its_text_kept(author, catalog_file):
    # Over the app's 64 KB request limit, yet the desk (not a bare 413) says what is wrong.
    url = "/admin/sample/books[0]"
    form = form_of(author.get(url).text, url)
    long_text = "# One\n\n" + "Words of the chapter. " * 25_000  # about 550 KB
    form.update(markdown=long_text, do="save")
    response = author.post(url, data=form)
    assert response.status_code == 413
    soup = BeautifulSoup(response.text, "html.parser")
    assert "longer than 512 KB" in soup.get_text()
    assert soup.find("textarea").get_text() == long_text
    assert load_catalog(catalog_file).books[0].sample_chapter is None


# --------------------------------------------------------------------------- dashboard, CLI


def test_dashboard_shows_prices_campaign_next_change_and_link_health(author, desk_app, clock):
    clock.set(datetime(2026, 12, 22, 12, 0, tzinfo=PHOENIX))
    save_report(
        {
            "links": 2,
            "counts": {"ok": 1, "broken": 1},
            "broken": 1,
            "reports": [
                {"key": "genesis/kindle", "url": "https://x.example/", "status": "ok"},
                {
                    "key": "genesis/bn",
                    "url": "https://bn.example/gone",
                    "status": "broken",
                    "detail": "404 Not Found",
                },
            ],
        },
        "v1",
        Path(desk_app.instance_path),
    )
    soup = BeautifulSoup(author.get("/admin/").text, "html.parser")
    text = soup.get_text(" ", strip=True)
    assert "Running: Apollo 8 anniversary sale" in text
    assert "$2.99" in text
    assert "Apollo 8 anniversary sale ends" in soup.find(id="next-change").text
    assert "https://bn.example/gone" in text and "1 broken store link(s)" in text
    assert "print pieces are not built" in text


def test_set_password_reads_one_line_from_stdin(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path))
    result = runner.invoke(main, ["admin", "set-password"], input="a long enough secret\n")
    assert result.exit_code == 0, result.output
    store = AuthStore(tmp_path)  # the database the command and a default server use
    assert store.verify("a long enough secret") and not store.verify("a long enough secret\n")
    assert not (tmp_path / "desk-auth.json").exists()  # in the database, not the folder
    store.engine.dispose()
    short = runner.invoke(main, ["admin", "set-password"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output


# --------------------------------------------------------------------------- several servers


@pytest.mark.postgres
def test_an_edit_on_one_server_reaches_the_others_through_postgresql(tmp_path, clock):
    with fresh_postgres_database() as url:
        servers = []
        for name in ("one", "two"):
            # Each server has its own catalog file and instance folder, as on separate machines.
            path = tmp_path / name / "catalog.toml"
            path.parent.mkdir()
            path.write_bytes(builtin_catalog_path().read_bytes())
            settings = {
                "TESTING": True,
                "CLOCK": clock,
                "CATALOG": str(path),
                "DATABASE_URL": url,
                "CATALOG_RELOAD_INTERVAL": 0,
                "CATALOG_SYNC_INTERVAL": 0,  # the test calls sync_once() itself
            }
            app = create_app(settings, instance_path=str(tmp_path / name / "instance"))
            servers.append((app, path))
        (one, one_path), (two, two_path) = servers
        one.extensions["desk"].auth.set_password(PASSWORD)
        author = one.test_client()
        sign_in(author)
        url_ = "/admin/edit/books[0]"
        form = form_of(author.get(url_).text, url_)
        form["pitch"] = "Edited on server one."
        assert author.post(url_, data=form).status_code == 302
        assert "Edited on server one." not in two.test_client().get("/books/genesis").text
        assert two.extensions["desk"].files.sync_once() is True
        assert two_path.read_bytes() == one_path.read_bytes()
        assert "Edited on server one." in two.test_client().get("/books/genesis").text
        assert two.extensions["desk"].files.sync_once() is False  # nothing newer
        # The text it replaced is in server two's history.
        (entry,) = two.extensions["desk"].files.entries()
        assert two.extensions["desk"].files.kept(entry.before) == (
            builtin_catalog_path().read_text(encoding="utf-8")
        )
        for app in (one, two):
            app.extensions["desk"].engine.dispose()


# --------------------------------------------------------------------------- completeness

# Keys edited on their own page (an array of tables) rather than as a field.
CHILD_TABLES = {"editions", "offers", "quotes"}


@pytest.mark.parametrize(
    ("kind", "model"),
    [
        ("site", "Site"),
        ("vendor", "Vendor"),
        ("author", "Author"),
        ("book", "Book"),
        ("edition", "Edition"),
        ("offer", "Offer"),
        ("quote", "Quote"),
        ("support", "SupportMethod"),
        ("campaign", "Campaign"),
    ],
)
def test_the_desk_edits_every_key_the_catalog_declares(kind, model):
    """A key added to the catalog's model shows up here until the desk has a field for it."""
    from storefront.catalog import model as models
    from storefront.catalog.spec import catalog_fields
    from storefront.desk.fields import KINDS

    declared = {
        f.name
        for f in catalog_fields(getattr(models, model))
        if not (f.metadata["nested"] and f.name in CHILD_TABLES)
    }
    on_the_desk = {f.key.split(".")[0] for f in KINDS[kind]}
    assert declared - on_the_desk == set()
    assert on_the_desk - declared == set()


def test_links_check_saves_its_report_for_the_dashboard(
    runner,
    tmp_path,
    monkeypatch,
    link_catalog,  # noqa: F811  (the fixture imported from test_linkcheck)
):
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))
    catalog = link_catalog("/gone")
    result = runner.invoke(main, ["links", "check", "--catalog", catalog, *FAST_ARGS])
    assert result.exit_code == 1, result.output
    report = load_report(tmp_path / "instance")
    assert report["catalog"] == load_catalog(catalog).version
    statuses = {r["key"]: r["status"] for r in report["run"]["reports"]}
    assert statuses["first/gone"] == "broken" and statuses["first/shop"] == "ok"


def test_changing_a_contributor_keeps_the_comment_beside_it(author, catalog_file):
    url = "/admin/edit/books[0]"
    form = form_of(author.get(url).text, url)
    assert form["contributors"] == "foreword: Valerie Anders\nintroduction: Robert Zimmerman"
    form["contributors"] = "foreword: Valerie Anders\nintroduction: R. Zimmerman\neditor: A. Editor"
    assert author.post(url, data=form).status_code == 302
    text = catalog_file.read_text(encoding="utf-8")
    assert '{ name = "R. Zimmerman", role = "introduction" },   # the new introduction' in text
    book = load_catalog(catalog_file).books[0]
    assert [(c.role, c.name) for c in book.contributors] == [
        ("foreword", "Valerie Anders"),
        ("introduction", "R. Zimmerman"),
        ("editor", "A. Editor"),
    ]


def test_secret_key_from_the_setting_or_generated_once(tmp_path, monkeypatch):
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))
    first, second = create_app(), create_app()
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]  # kept in the database
    assert not (tmp_path / "instance" / "secret_key").exists()
    monkeypatch.setenv("STOREFRONT_SECRET_KEY", "shared by every app server")
    monkeypatch.setenv("STOREFRONT_CATALOG_SYNC_INTERVAL", "2.5")
    app = create_app()
    assert app.config["SECRET_KEY"] == "shared by every app server"
    assert app.config["CATALOG_SYNC_INTERVAL"] == 2.5


def test_over_https_a_post_from_another_site_is_refused(desk_app, catalog_file):
    site = "https://books.example.org"
    client = desk_app.test_client()
    token = csrf_of(client.get("/admin/login", base_url=site).text)
    signed_in = client.post(
        "/admin/login",
        base_url=site,
        data={"csrf_token": token, "password": PASSWORD},
        headers={"Referer": f"{site}/admin/login"},
    )
    assert signed_in.status_code == 302
    form = form_of(client.get("/admin/edit/site", base_url=site).text, "/admin/edit/site")
    form["title"] = "From elsewhere"
    before = catalog_file.read_bytes()
    for headers in ({"Referer": "https://evil.example/page"}, {}):
        response = client.post("/admin/edit/site", base_url=site, data=form, headers=headers)
        assert response.status_code == 400
    assert catalog_file.read_bytes() == before
    same_site = client.post(
        "/admin/edit/site", base_url=site, data=form, headers={"Referer": f"{site}/admin/"}
    )
    assert same_site.status_code == 302
    assert load_catalog(catalog_file).site.title == "From elsewhere"


def test_the_sync_thread_applies_a_newer_version_by_itself(tmp_path):
    import time

    from storefront.desk.history import CatalogFiles, CatalogSync, digest
    from storefront.storage import make_engine  # the one engine (it replaced the desk's own)

    engine = make_engine(f"sqlite:///{tmp_path / 'shared.db'}")
    files = []
    for name in ("one", "two"):
        path = tmp_path / name / "catalog.toml"
        path.parent.mkdir()
        path.write_bytes(builtin_catalog_path().read_bytes())
        files.append(CatalogFiles(path, tmp_path / name / "instance", engine))
    one, two = files
    sync = CatalogSync(two, interval=0.05)
    sync.start()
    try:
        text = one.read().replace('title = "Behind The Black Books"', 'title = "Synced"')
        one.save(text, digest(one.read()), "site title")
        deadline = time.monotonic() + 10
        while two.read() != text and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sync.stop()
        engine.dispose()
    assert two.path.read_bytes() == one.path.read_bytes()


def test_an_instance_folder_password_and_secret_move_into_the_database(tmp_path, monkeypatch):
    # What an older version kept in the instance folder: the author notices nothing.
    instance = tmp_path / "instance"
    instance.mkdir()
    old_key = "k" * 64
    (instance / "secret_key").write_text(old_key)
    from argon2 import PasswordHasher

    (instance / "desk-auth.json").write_text(
        json.dumps({"hash": PasswordHasher().hash(PASSWORD), "generation": 7})
    )
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(instance))
    app = create_app()
    assert app.config["SECRET_KEY"] == old_key
    auth = app.extensions["desk"].auth
    assert auth.verify(PASSWORD) and auth.generation() == 7
    assert not (instance / "desk-auth.json").exists()
    assert create_app().config["SECRET_KEY"] == old_key
