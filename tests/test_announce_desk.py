"""The desk's Readers section and ``storefront readers announce|send``, end to end.

The desk through the Flask test client (signed in as the author), pages parsed with
BeautifulSoup, mail received by a real SMTP server (aiosmtpd) and parsed with ``email``.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from storefront.cli import main
from storefront.mail.sender import MAILING, OUTBOX, Sender
from storefront.readers import counts

from .test_desk import PASSWORD, csrf_of, sign_in
from .test_outbox import SENDER, add_readers

BASE = "https://books.example.org"


@pytest.fixture
def desk_mail_app(make_app, smtp_server, catalog_file):
    app = make_app(CATALOG=str(catalog_file), SMTP_URL=smtp_server.url, MAIL_FROM=SENDER)
    app.extensions["desk"].auth.set_password(PASSWORD)
    return app


@pytest.fixture
def catalog_file(tmp_path):
    from storefront.catalog import builtin_catalog_path

    path = tmp_path / "books" / "catalog.toml"
    path.parent.mkdir()
    path.write_bytes(builtin_catalog_path().read_bytes())
    return path


@pytest.fixture
def author(desk_mail_app):
    client = desk_mail_app.test_client()
    assert sign_in(client).status_code == 302
    return client


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def write_draft(author, kind="campaign", ref="apollo8-anniversary") -> str:
    page = author.get("/admin/readers")
    response = author.post(
        "/admin/readers/draft", data={"csrf_token": csrf_of(page.text), "kind": kind, "ref": ref}
    )
    assert response.status_code == 302
    return urlsplit(response.location).path


def test_the_readers_page_shows_the_list_and_a_draft_for_each_sale_and_book(author, desk_mail_app):
    engine = desk_mail_app.extensions[OUTBOX].engine
    add_readers(engine, ["a@example.org", "b@example.org"])
    add_readers(engine, ["c@example.org"], status="pending")
    add_readers(engine, ["d@example.org"], status="unsubscribed")
    soup = soup_of(author.get("/admin/readers"))
    nav = soup.find("nav", attrs={"aria-label": "Desk"})
    assert nav.find("a", string="Readers")["aria-current"] == "page"
    shown = {td["data-state"]: int(td.text) for td in soup.select("#counts td")}
    assert shown == {"confirmed": 2, "pending": 1, "unsubscribed": 1, "suppressed": 0}
    week = soup.select("#growth tbody tr")[0].find_all("td")
    assert [int(td.text) for td in week[1:]] == [4, 2, 0]  # signed up, confirmed, left
    placement = soup.select("#placements tbody tr")[0].find_all("td")
    assert [td.text for td in placement] == ["page", "4", "2"]
    drafts = {(li["data-kind"], li["data-ref"]) for li in soup.select("#drafts li[data-kind]")}
    assert drafts == {("campaign", "apollo8-anniversary"), ("book", "genesis")}


def test_a_draft_is_edited_previewed_tested_and_sent(author, desk_mail_app, smtp_server):
    engine = desk_mail_app.extensions[OUTBOX].engine
    add_readers(engine, ["a@example.org", "b@example.org"])
    path = write_draft(author)
    page = author.get(path)
    soup = soup_of(page)
    markdown = soup.find("textarea", id="f-markdown").text
    assert "/go/genesis/ebookit" in markdown
    assert soup.find("iframe", class_="preview").has_attr("sandbox")
    # Edit: a link that leads nowhere in the catalog is removed, and the desk says so.
    response = author.post(
        path,
        data={
            "csrf_token": csrf_of(page.text),
            "subject": "Genesis for $2.99\r\nBcc: x@example.org",
            "markdown": markdown + "\n[my blog](https://blog.example)\n",
        },
    )
    assert response.status_code == 302
    soup = soup_of(author.get(path))
    assert soup.find("h1").text == "Genesis for $2.99 Bcc: x@example.org"
    assert "https://blog.example" in soup.find("div", class_="warning").text
    preview = author.get(path + "/preview.html")
    assert "default-src 'none'" in preview.headers["Content-Security-Policy"]
    hrefs = [a["href"] for a in soup_of(preview).find_all("a", href=True)]
    assert all(
        h.startswith(f"{BASE}/go/") or h.startswith(f"{BASE}/readers/unsubscribe/") for h in hrefs
    )
    assert author.get(path + "/preview.txt").mimetype == "text/plain"
    # A test copy to the author.
    response = author.post(path + "/test", data={"csrf_token": csrf_of(page.text), "to": ""})
    (test,) = smtp_server.wait_for(1)
    assert test.rcpt_tos == ["news@books.example.org"]
    assert test.message["Subject"] == "[Test] Genesis for $2.99 Bcc: x@example.org"
    assert test.message["Bcc"] is None
    smtp_server.clear()
    # Send now: the progress JSON follows it.
    response = author.post(path + "/send", data={"csrf_token": csrf_of(page.text), "when": "now"})
    assert response.status_code == 302
    status = author.get(path + ".json").get_json()
    assert (status["status"], status["total"], status["pending"]) == ("sending", 2, 2)
    Sender(desk_mail_app.extensions[MAILING]).run_until_idle()
    status = author.get(path + ".json").get_json()
    assert (status["status"], status["sent"], status["done"]) == ("sent", 2, 2)
    assert sorted(r for m in smtp_server.wait_for(2) for r in m.rcpt_tos) == [
        "a@example.org",
        "b@example.org",
    ]
    soup = soup_of(author.get(path))
    assert soup.find("progress")["value"] == "2" and soup.find("textarea") is None
    # Once sent, it can no longer change.
    response = author.post(
        path, data={"csrf_token": csrf_of(page.text), "subject": "x", "markdown": "y"}
    )
    assert "can no longer change" in soup_of(author.get(path)).find(class_="error").text


def test_a_send_can_be_scheduled_in_the_site_time_zone_and_cancelled(author, desk_mail_app):
    path = write_draft(author)
    page = author.get(path)
    assert soup_of(page).find("input", id="f-at")["value"] == "2026-12-21T00:00"  # the sale
    token = csrf_of(page.text)
    author.post(path + "/send", data={"csrf_token": token, "when": "at", "at": "2026-12-21T07:00"})
    announcement_id = int(path.rsplit("/", 1)[1])
    row = desk_mail_app.extensions[OUTBOX].get(announcement_id)
    assert row["status"] == "scheduled"
    assert row["send_at"] == datetime(2026, 12, 21, 14, 0)  # 07:00 in Phoenix, in UTC
    assert author.get(path + ".json").get_json()["send_at"].startswith("2026-12-21 07:00")
    author.post(path + "/cancel", data={"csrf_token": token})
    assert desk_mail_app.extensions[OUTBOX].get(announcement_id)["status"] == "cancelled"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"when": "at", "at": "next tuesday"}, "Choose a date and time"),
        ({"when": "at", "at": ""}, "Choose a date and time"),
    ],
)
def test_a_bad_moment_is_a_clear_message(author, data, message):
    path = write_draft(author)
    token = csrf_of(author.get(path).text)
    response = author.post(path + "/send", data={"csrf_token": token, **data})
    assert response.status_code == 302
    assert message in soup_of(author.get(path)).find(class_="error").text


def test_bad_requests_are_4xx_not_500(author, desk_mail_app):
    token = csrf_of(author.get("/admin/readers").text)
    for kind, ref in (("page", "genesis"), ("book", "nope"), ("campaign", "july-fundraiser")):
        response = author.post(
            "/admin/readers/draft", data={"csrf_token": token, "kind": kind, "ref": ref}
        )
        assert response.status_code == 400
    assert author.get("/admin/readers/announcements/999").status_code == 404
    assert author.get("/admin/readers/announcements/999.json").status_code == 404
    path = write_draft(author)
    response = author.post(
        path, data={"csrf_token": token, "subject": "s", "markdown": "x" * 100_001}
    )
    assert "longer than" in soup_of(author.get(path)).find(class_="error").text
    response = author.post(path + "/test", data={"csrf_token": token, "to": "a\r\nb@example.org"})
    assert "not an e-mail address" in soup_of(author.get(path)).find(class_="error").text


def test_the_readers_section_needs_a_session(desk_mail_app):
    client = desk_mail_app.test_client()
    assert client.get("/admin/readers").status_code == 302
    assert client.get("/admin/readers/announcements/1.json").status_code == 401
    assert client.post("/admin/readers/draft", data={"kind": "book"}).status_code in (400, 401)


def test_without_mail_settings_the_desk_drafts_but_does_not_send(make_app, catalog_file):
    app = make_app(CATALOG=str(catalog_file))
    app.extensions["desk"].auth.set_password(PASSWORD)
    client = app.test_client()
    sign_in(client)
    soup = soup_of(client.get("/admin/readers"))
    assert "STOREFRONT_SMTP_URL" in soup.find(class_="warning").text
    path = write_draft(client, "book", "genesis")
    soup = soup_of(client.get(path))
    assert soup.find("form", id="send-form") is None and soup.find("textarea") is not None


def test_catalog_text_is_escaped_in_the_readers_pages(make_app, write_catalog):
    from .test_announce import HOSTILE_SALE

    app = make_app(CATALOG=str(write_catalog(HOSTILE_SALE)))
    app.extensions["desk"].auth.set_password(PASSWORD)
    client = app.test_client()
    sign_in(client)
    soup = soup_of(client.get("/admin/readers"))
    assert soup.find("script", src=False) is None and soup.find("i") is None
    path = write_draft(client, "campaign", "sale")
    soup = soup_of(client.get(path))
    assert soup.find("script", src=False) is None
    assert soup.find("img") is None  # the preview is a separate, sandboxed document
    preview = soup_of(client.get(path + "/preview.html"))
    assert preview.find("script") is None


# ---------------------------------------------------------------- the commands


@pytest.fixture
def cli_env(tmp_path, smtp_server):
    return {
        "STOREFRONT_INSTANCE_PATH": str(tmp_path / "instance"),
        "STOREFRONT_DATABASE_URL": f"sqlite:///{tmp_path / 'storefront.db'}",
        "STOREFRONT_BASE_URL": BASE,
        "STOREFRONT_SMTP_URL": smtp_server.url,
        "STOREFRONT_MAIL_FROM": SENDER,
        "STOREFRONT_MAIL_RATE": "1000",
    }


def test_announce_dry_run_prints_the_message_and_stores_nothing(runner):
    result = runner.invoke(main, ["readers", "announce", "--book", "genesis", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Subject: Genesis: the Story of Apollo 8\n")
    assert "/go/genesis/ebookit?src=email" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--book", "genesis", "--campaign", "apollo8-anniversary"], "name one"),
        ([], "name one"),
        (["--campaign", "july-fundraiser"], "only sales are announced"),
        (["--book", "nope"], "no book 'nope'"),
        (["--book", "genesis", "--at", "someday"], "is not a moment"),
    ],
)
def test_announce_refuses_clearly(runner, cli_env, args, message):
    result = runner.invoke(main, ["readers", "announce", *args], env=cli_env)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def test_announce_without_mail_settings_says_what_to_set(runner, tmp_path):
    env = {"STOREFRONT_INSTANCE_PATH": str(tmp_path / "instance")}
    result = runner.invoke(main, ["readers", "announce", "--book", "genesis"], env=env)
    assert result.exit_code == 1 and "STOREFRONT_SMTP_URL" in result.output


def test_announce_then_send_delivers_to_the_list(runner, cli_env, smtp_server, make_app):
    from storefront.storage import make_engine

    add_readers(make_engine(cli_env["STOREFRONT_DATABASE_URL"]), ["a@example.org"])
    result = runner.invoke(main, ["readers", "announce", "--book", "genesis"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "queued for 1 reader(s)" in result.output
    result = runner.invoke(main, ["readers", "send"], env=cli_env)
    assert result.exit_code == 0, result.output
    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["a@example.org"]
    https = mail.message["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert https.startswith(f"{BASE}/readers/unsubscribe/")
    links = [
        a["href"] for a in BeautifulSoup(mail.part("html"), "html.parser").find_all("a", href=True)
    ]
    assert all(parse_qs(urlsplit(u).query).get("src") == ["email"] for u in links if "/go/" in u)
    # The link the command signed works in the app server (one key, kept in the database).
    app = make_app(
        DATABASE_URL=cli_env["STOREFRONT_DATABASE_URL"], SMTP_URL=smtp_server.url, MAIL_FROM=SENDER
    )
    response = app.test_client().post(
        urlsplit(https).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 400
    with app.extensions[OUTBOX].engine.connect() as conn:
        assert counts(conn)["unsubscribed"] == 1


def test_announce_at_a_moment_schedules_it(runner, cli_env, smtp_server):
    later = "2099-12-21T07:00"
    result = runner.invoke(
        main,
        ["readers", "announce", "--campaign", "apollo8-anniversary", "--at", later],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    assert "scheduled for 2099-12-21 07:00 MST" in result.output
    result = runner.invoke(main, ["readers", "send"], env=cli_env)
    assert result.exit_code == 0 and "0 message(s) handled" in result.output
    assert smtp_server.messages == []


def test_check_warns_when_the_list_is_on_and_no_postal_address_is_set(
    runner, cli_env, write_catalog
):
    without = write_catalog()  # the minimal catalog: no postal address
    result = runner.invoke(main, ["check", "--catalog", str(without)], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "warning: site.postal_address" in result.stderr
    result = runner.invoke(main, ["check"], env=cli_env)  # the built-in catalog has one
    assert result.exit_code == 0 and "postal_address" not in result.stderr
    env = {k: v for k, v in cli_env.items() if "SMTP" not in k}  # the list is off
    result = runner.invoke(main, ["check", "--catalog", str(without)], env=env)
    assert result.exit_code == 0 and "postal_address" not in result.stderr


@pytest.mark.parametrize("command", [["send"], ["announce", "--book", "genesis"]])
def test_an_unreachable_database_is_one_clear_line(runner, cli_env, command):
    env = {**cli_env, "STOREFRONT_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}
    result = runner.invoke(main, ["readers", *command], env=env)
    assert result.exit_code == 1 and "the database is unavailable" in result.output
    assert "Traceback" not in result.output
