"""``storefront readers``: counts, export, import (MailChimp, MailerLite) and forget."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storefront.cli import main
from storefront.readers import Consent, confirm, readers, sign_up
from storefront.storage import make_engine, migrate

CONSENT = Consent("the text", "1", form="page", page="https://books.example.org/books/genesis")

MAILCHIMP = (
    (
        "\ufeffEmail Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,"
        "CONFIRM_IP\n"
    )
    + """ann@example.org,Ann,Reader,2,2024-01-02 10:00:00,,2024-01-02 10:05:00,
BOB@Example.org,Bob,,2,2024-02-01 09:00:00,,,
not an address,,,,,,,
=cmd|' /C calc'!A0@example.org,,,,,,,
"""
)
MAILERLITE = """email,name,status,subscribed_at,opted_in_at
carol@example.org,Carol,active,2024-03-01 08:00:00,2024-03-01 08:01:00
dave@example.org,Dave,unsubscribed,2024-03-01 08:00:00,
erin@example.org,Erin,unconfirmed,2024-03-01 08:00:00,
"""


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'readers.db'}"
    monkeypatch.setenv("STOREFRONT_DATABASE_URL", url)
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))
    engine = make_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()


def run(runner, *args):
    result = runner.invoke(main, ["readers", *args])
    return result


def test_counts(runner, database):
    with database.begin() as conn:
        rid = sign_up(conn, "a@example.org", topics=("sales",), book=None, consent=CONSENT)
        confirm(conn, rid, CONSENT)
        sign_up(conn, "b@example.org", topics=("sales",), book=None, consent=CONSENT)
    result = run(runner)
    assert result.exit_code == 0, result.output
    lines = dict(line.split() for line in result.stdout.splitlines())
    assert lines == {"pending": "1", "confirmed": "1", "unsubscribed": "0", "suppressed": "0"}


def test_export_is_csv_with_consent_records(runner, database, tmp_path):
    with database.begin() as conn:
        rid = sign_up(conn, "a@example.org", topics=("sales",), book="genesis", consent=CONSENT)
        confirm(conn, rid, CONSENT, at=datetime(2026, 11, 25, tzinfo=UTC))
    out = tmp_path / "readers.csv"
    result = run(runner, "export", "-o", str(out))
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert (row["email"], row["status"], row["topics"], row["book"]) == (
        "a@example.org",
        "confirmed",
        "sales",
        "genesis",
    )
    assert row["confirmed_at"] == "2026-11-25T00:00:00+00:00"
    records = json.loads(row["consents"])
    assert [r["event"] for r in records] == ["signup", "confirm"]
    assert records[0]["text"] == "the text" and records[0]["page"] == CONSENT.page


def test_import_mailchimp_keeps_the_confirmed_and_marks_the_source(runner, database, tmp_path):
    path = tmp_path / "subscribed_members_export_1a2b.csv"
    path.write_text(MAILCHIMP, encoding="utf-8")
    result = run(runner, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "2 imported from mailchimp" in result.stdout
    assert "line 4:" in result.stderr  # the line that is not an address, named
    with database.connect() as conn:
        rows = conn.execute(select(readers.c.email, readers.c.status, readers.c.source)).all()
    assert sorted(rows) == [
        ("ann@example.org", "confirmed", "mailchimp"),
        ("bob@example.org", "confirmed", "mailchimp"),
    ]
    again = run(runner, "import", str(path))  # idempotent
    assert "0 imported" in again.stdout and "2 already on the list" in again.stdout
    export = run(runner, "export").stdout
    assert "=cmd" not in export  # never a formula for a spreadsheet


def test_mailchimp_unsubscribed_file_imports_nobody(runner, database, tmp_path):
    path = tmp_path / "unsubscribed_members_export_1a2b.csv"
    path.write_text(MAILCHIMP, encoding="utf-8")
    result = run(runner, "import", str(path))
    assert result.exit_code == 0 and "0 imported" in result.stdout


def test_import_mailerlite_keeps_active_only(runner, database, tmp_path):
    path = tmp_path / "subscribers.csv"
    path.write_text(MAILERLITE, encoding="utf-8")
    result = run(runner, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "1 imported from mailerlite" in result.stdout
    assert "2 not confirmed or left" in result.stdout
    with database.connect() as conn:
        row = conn.execute(select(readers)).one()
    assert (row.email, row.source, row.confirmed_at) == (
        "carol@example.org",
        "mailerlite",
        datetime(2024, 3, 1, 8, 1),
    )


def test_import_never_revives_an_unsubscribed_reader(runner, database, tmp_path):
    with database.begin() as conn:
        sign_up(conn, "carol@example.org", topics=("sales",), book=None, consent=CONSENT)
        from storefront.readers import unsubscribe

        rid = conn.execute(select(readers.c.id)).scalar_one()
        unsubscribe(conn, rid)
    path = tmp_path / "subscribers.csv"
    path.write_text(MAILERLITE, encoding="utf-8")
    assert "1 already on the list" in run(runner, "import", str(path)).stdout
    with database.connect() as conn:
        assert conn.execute(select(readers.c.status)).scalar_one() == "unsubscribed"


def test_forget_erases_and_an_import_skips_it(runner, database, tmp_path):
    path = tmp_path / "subscribers.csv"
    path.write_text(MAILERLITE, encoding="utf-8")
    run(runner, "import", str(path))
    result = run(runner, "forget", "Carol@Example.org")
    assert result.exit_code == 0 and "erased" in result.stdout
    again = run(runner, "import", str(path))
    assert "0 imported" in again.stdout and "1 forgotten" in again.stdout
    files = list(tmp_path.glob("readers.db*"))
    assert files and not [f.name for f in files if b"carol@example.org" in f.read_bytes()]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("forget", "not an address"), "no spaces"),
        (("import", "missing.csv"), "does not exist"),
    ],
)
def test_mistakes_are_one_clear_line(runner, database, args, message):
    result = run(runner, *args)
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_a_file_that_is_not_an_export_is_refused(runner, database, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("name,phone\nAnn,123\n", encoding="utf-8")
    result = run(runner, "import", str(path))
    assert result.exit_code == 1 and "no 'Email Address'" in result.output


def test_check_says_why_the_form_is_hidden(runner, monkeypatch, tmp_path):
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "readers: the sign-up form is hidden: STOREFRONT_SMTP_URL and STOREFRONT_MAIL_FROM "
        "not set (see docs/readers.md)"
    )
    monkeypatch.setenv("STOREFRONT_SMTP_URL", "smtps://u:secret@mail.example.org")
    monkeypatch.setenv("STOREFRONT_MAIL_FROM", "news@example.org")
    shown = runner.invoke(main, ["check"])
    assert "the sign-up form is shown" in shown.stdout and "secret" not in shown.stdout
    monkeypatch.setenv("STOREFRONT_SMTP_URL", "http://mail.example.org")
    bad = runner.invoke(main, ["check"])
    assert bad.exit_code == 1 and "STOREFRONT_SMTP_URL" in bad.output


@pytest.mark.slow
@pytest.mark.parametrize("mail", [True, False], ids=["mail-set", "no-mail"])
def test_static_export_links_to_the_apps_sign_up_page_or_leaves_it_out(
    runner, monkeypatch, tmp_path, mail
):
    from bs4 import BeautifulSoup

    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))
    if mail:
        monkeypatch.setenv("STOREFRONT_SMTP_URL", "smtps://u:p@mail.example.org")
        monkeypatch.setenv("STOREFRONT_MAIL_FROM", "news@example.org")
    site = tmp_path / "site"
    result = runner.invoke(
        main,
        ["export", str(site), "--base-url", "https://books.example.org",
         "--click-server", "https://app.example.org", "--now", "2026-11-25T12:00:00Z"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    page = BeautifulSoup((site / "books/genesis/index.html").read_text(), "html.parser")
    card = BeautifulSoup(
        (site / "embed/genesis/layout-signup_theme-light.html").read_text(), "html.parser"
    )
    assert page.select("form") == [] and card.select("form") == []  # a file cannot post
    links = [a["href"] for a in [*page.select("#signup a"), *card.select("a[data-signup]")]]
    if mail:
        assert links == [
            "https://app.example.org/readers/subscribe?book=genesis&src=page",
            "https://app.example.org/readers/subscribe?book=genesis&src=signup",
        ]
    else:
        assert links == [] and page.select("#signup") == []
