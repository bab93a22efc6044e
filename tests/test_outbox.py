"""Sending announcements: the outbox against a real SMTP server (aiosmtpd on 127.0.0.1).

Every message is parsed with the ``email`` package: its headers (Message-ID, Date,
List-Id, List-Unsubscribe with https and mailto, List-Unsubscribe-Post), its two parts,
and every link in both. Refusals come from the server itself (``smtp_server.answer``).
The crash and the two-server tests run the sender in real subprocesses.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import insert, select, update

from storefront.mail.outbox import Outbox, backoff, message_id
from storefront.mail.sender import MAILING, OUTBOX, Sender
from storefront.mail.tables import deliveries
from storefront.readers import readers

from .clickdb import fresh_postgres_database

BASE = "https://books.example.org"
SENDER = "Robert Zimmerman <news@books.example.org>"
CAMPAIGN = "apollo8-anniversary"
URL = re.compile(r"https?://[^\s)>\]]+")
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- helpers


@pytest.fixture
def mail_app(make_app, smtp_server):
    return make_app(SMTP_URL=smtp_server.url, MAIL_FROM=SENDER, MAIL_RATE=2000)


def add_readers(engine, emails, *, status="confirmed", topics="sales,new-books", book=None):
    """Put readers straight on the list (the sign-up flow has its own tests); their ids."""
    Outbox(engine).ensure_schema()
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "email": e,
            "status": status,
            "topics": topics,
            "book": book,
            "source": "form",
            "placement": "page",
            "created_at": now,
            "updated_at": now,
            "confirmed_at": now if status == "confirmed" else None,
        }
        for e in emails
    ]
    with engine.begin() as conn:
        conn.execute(insert(readers), rows)
        found = conn.execute(select(readers.c.id).where(readers.c.email.in_(emails)))
        return sorted(found.scalars())


def status_of(engine, email):
    with engine.connect() as conn:
        return conn.execute(select(readers.c.status).where(readers.c.email == email)).scalar()


def announce(app, kind="campaign", ref=CAMPAIGN) -> int:
    """Write the desk's draft and start sending it now; the announcement's id."""
    from storefront.mail.announce import draft_for

    sf = app.extensions["storefront"]
    draft = draft_for(sf.catalog, sf.urls, sf.now(), kind, ref)
    outbox = app.extensions[OUTBOX]
    announcement_id = outbox.create(draft, sf.now())
    return announcement_id


def links_in(message) -> tuple[list[str], list[str]]:
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    hrefs = [a["href"] for a in BeautifulSoup(html, "html.parser").find_all("a", href=True)]
    return hrefs, URL.findall(text)


def is_tracked(url: str, campaign: str | None) -> bool:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return (
        f"{parts.scheme}://{parts.netloc}" == BASE
        and parts.path.startswith("/go/")
        and query.get("src") == ["email"]
        and query.get("c") == ([campaign] if campaign else None)
    )


# ---------------------------------------------------------------- what arrives


def test_every_confirmed_reader_gets_one_message_with_list_headers_and_two_parts(
    mail_app, smtp_server
):
    engine = mail_app.extensions[OUTBOX].engine
    wanted = [f"reader{i}@example.org" for i in range(3)]
    add_readers(engine, wanted)
    add_readers(engine, ["pending@example.org"], status="pending")
    add_readers(engine, ["left@example.org"], status="unsubscribed")
    add_readers(engine, ["refused@example.org"], status="suppressed")
    add_readers(engine, ["books-only@example.org"], topics="new-books")
    add_readers(engine, ["other-book@example.org"], book="other-book")
    add_readers(engine, ["genesis-only@example.org"], book="genesis")
    wanted.append("genesis-only@example.org")
    mailing = mail_app.extensions[MAILING]
    announcement_id = announce(mail_app)
    assert mailing.start(announcement_id) == 4
    assert mailing.start(announcement_id) is None  # started once: a second start adds nobody
    assert Sender(mailing).run_until_idle() == 4

    received = smtp_server.wait_for(4)
    assert sorted(r for m in received for r in m.rcpt_tos) == sorted(wanted)
    token = mail_app.extensions[OUTBOX].get(announcement_id)["token"]
    ids = set()
    for mail in received:
        msg = mail.message
        assert msg["From"] == SENDER and msg["To"] == mail.rcpt_tos[0]
        assert msg["Subject"] == "58 years since the first voyage to the Moon: Genesis on sale"
        assert re.fullmatch(rf"<storefront\.{token}\.\d+@books\.example\.org>", msg["Message-ID"])
        ids.add(msg["Message-ID"])
        assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
        assert msg["List-Id"] == "Behind The Black Books <readers.books.example.org>"
        https, mailto = [t.strip().strip("<>") for t in msg["List-Unsubscribe"].split(",")]
        assert https.startswith(f"{BASE}/readers/unsubscribe/")
        assert mailto == "mailto:news@books.example.org?subject=unsubscribe"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        hrefs, text_urls = links_in(msg)
        assert hrefs[-1] == https  # the visible unsubscribe link is the reader's own
        assert hrefs[:-1] and all(is_tracked(u, CAMPAIGN) for u in hrefs[:-1])
        assert set(text_urls) == set(hrefs)
        assert "P.O. Box 1262" in mail.part("plain") and "P.O. Box 1262" in mail.part("html")
    assert len(ids) == 4
    counts = mail_app.extensions[OUTBOX].progress(announcement_id)
    assert counts["sent"] == 4 and counts["pending"] == 0
    assert mail_app.extensions[OUTBOX].get(announcement_id)["status"] == "sent"


def test_the_unsubscribe_link_in_a_message_unsubscribes_with_one_post(mail_app, smtp_server):
    engine = mail_app.extensions[OUTBOX].engine
    add_readers(engine, ["reader@example.org"])
    mailing = mail_app.extensions[MAILING]
    mailing.start(announce(mail_app))
    Sender(mailing).run_until_idle()
    (mail,) = smtp_server.wait_for(1)
    https = mail.message["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    client = mail_app.test_client()
    response = client.post(
        urlsplit(https).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 400
    assert status_of(engine, "reader@example.org") == "unsubscribed"
    smtp_server.clear()
    mailing.start(announce(mail_app, "book", "genesis"))
    assert Sender(mailing).run_until_idle() == 0
    assert smtp_server.messages == []


def test_a_permanent_refusal_suppresses_the_address(mail_app, smtp_server):
    engine = mail_app.extensions[OUTBOX].engine
    add_readers(engine, ["gone@example.org", "fine@example.org"])
    smtp_server.answer("rcpt", 550, "5.1.1 no such user", address="gone@example.org")
    mailing = mail_app.extensions[MAILING]
    announcement_id = announce(mail_app)
    mailing.start(announcement_id)
    Sender(mailing).run_until_idle()
    assert [m.rcpt_tos for m in smtp_server.messages] == [["fine@example.org"]]
    assert status_of(engine, "gone@example.org") == "suppressed"
    progress = mail_app.extensions[OUTBOX].progress(announcement_id)
    assert (progress["sent"], progress["suppressed"]) == (1, 1)
    # The next announcement does not even try the address.
    smtp_server.clear()
    mailing.start(announce(mail_app, "book", "genesis"))
    Sender(mailing).run_until_idle()
    assert [m.rcpt_tos for m in smtp_server.messages] == [["fine@example.org"]]


@pytest.mark.parametrize("trouble", ["451 at RCPT", "dropped connection at DATA"])
def test_a_temporary_refusal_is_retried_with_backoff(mail_app, smtp_server, trouble):
    engine = mail_app.extensions[OUTBOX].engine
    add_readers(engine, ["busy@example.org", "fine@example.org"])
    if trouble.startswith("451"):
        smtp_server.answer("rcpt", 451, "4.2.1 try later", address="busy@example.org", times=1)
    else:
        smtp_server.drop("data", times=1)
    mailing = mail_app.extensions[MAILING]
    outbox = mail_app.extensions[OUTBOX]
    outbox.backoff_base = 60.0
    announcement_id = announce(mail_app)
    mailing.start(announcement_id)
    sender = Sender(mailing)
    before = datetime.now(UTC).replace(tzinfo=None)
    sender.run_until_idle()
    assert len(smtp_server.messages) == 1  # one went through, one waits for its retry
    with engine.connect() as conn:
        waiting = conn.execute(select(deliveries).where(deliveries.c.status == "pending")).one()
    assert waiting.attempts == 1 and waiting.last_error
    assert waiting.next_attempt_at >= before + timedelta(seconds=59)  # the backoff
    assert sender.run_until_idle() == 0  # not yet
    with engine.begin() as conn:  # a minute later
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == waiting.id)
            .values(next_attempt_at=datetime.now(UTC).replace(tzinfo=None))
        )
    assert sender.run_until_idle() == 1
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == [
        "busy@example.org",
        "fine@example.org",
    ]
    assert outbox.progress(announcement_id)["sent"] == 2


def test_backoff_doubles_and_is_capped():
    assert [backoff(n, 60) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(30, 60) == 6 * 3600


def test_a_reader_who_unsubscribes_during_a_send_is_not_mailed(mail_app, smtp_server):
    engine = mail_app.extensions[OUTBOX].engine
    add_readers(engine, ["stays@example.org", "leaves@example.org"])
    mailing = mail_app.extensions[MAILING]
    announcement_id = announce(mail_app)
    assert mailing.start(announcement_id) == 2  # the snapshot has both
    with engine.begin() as conn:
        conn.execute(
            update(readers)
            .where(readers.c.email == "leaves@example.org")
            .values(status="unsubscribed")
        )
    Sender(mailing).run_until_idle()
    assert [m.rcpt_tos for m in smtp_server.messages] == [["stays@example.org"]]
    assert mail_app.extensions[OUTBOX].progress(announcement_id)["skipped"] == 1


def test_a_scheduled_send_waits_for_its_moment(mail_app, smtp_server):
    engine = mail_app.extensions[OUTBOX].engine
    add_readers(engine, ["reader@example.org"])
    mailing = mail_app.extensions[MAILING]
    outbox = mail_app.extensions[OUTBOX]
    announcement_id = announce(mail_app)
    now = datetime.now(UTC)
    assert outbox.schedule(announcement_id, now + timedelta(hours=1), now)
    sender = Sender(mailing)
    assert sender.run_until_idle() == 0
    assert outbox.get(announcement_id)["status"] == "scheduled" and not smtp_server.messages
    assert outbox.schedule(announcement_id, now - timedelta(seconds=1), now)
    assert sender.run_until_idle() == 1
    assert outbox.get(announcement_id)["status"] == "sent"
    assert outbox.schedule(announcement_id, now, now) is False  # sent: no second time


def test_a_cancelled_send_sends_nothing_more(mail_app, smtp_server):
    engine = mail_app.extensions[OUTBOX].engine
    add_readers(engine, [f"r{i}@example.org" for i in range(5)])
    mailing = mail_app.extensions[MAILING]
    outbox = mail_app.extensions[OUTBOX]
    announcement_id = announce(mail_app)
    mailing.start(announcement_id)
    assert outbox.cancel(announcement_id, datetime.now(UTC))
    assert Sender(mailing).run_until_idle() == 0 and not smtp_server.messages
    assert outbox.progress(announcement_id)["cancelled"] == 5


def test_the_rate_holds_across_two_senders(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url, MAIL_FROM=SENDER, MAIL_RATE=20)
    engine = app.extensions[OUTBOX].engine
    add_readers(engine, [f"r{i}@example.org" for i in range(30)])
    mailing = app.extensions[MAILING]
    mailing.start(announce(app))
    senders = [Sender(mailing), Sender(mailing)]
    started = time.monotonic()
    threads = [threading.Thread(target=s.run_until_idle) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - started
    assert len(smtp_server.messages) == 30
    # 30 messages at 20 a second, whoever sends them: at least 29 intervals of 50 ms.
    assert elapsed >= 29 / 20 * 0.95, elapsed
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == sorted(
        f"r{i}@example.org" for i in range(30)
    )


def test_message_id_is_one_per_delivery():
    assert message_id("abc", 7, "example.org") == "<storefront.abc.7@example.org>"
    assert message_id("abc", 7, "example.org") == message_id("abc", 7, "example.org")
    assert message_id("abc", 8, "example.org") != message_id("abc", 7, "example.org")


# ---------------------------------------------------------------- crashes and two servers

CHILD = textwrap.dedent(
    """
    import sys, time
    from storefront.catalog import load_catalog
    from storefront.mail.outbox import Outbox
    from storefront.mail.sender import Mailing, Sender
    from storefront.mail.settings import mail_settings
    from storefront.pricing import utcnow
    from storefront.storage import make_engine
    from storefront.urls import Urls

    database, smtp_url, rate, announcement, sender, base = sys.argv[1:]
    catalog = load_catalog(None)
    outbox = Outbox(make_engine(database, 5.0))
    settings = mail_settings({"SMTP_URL": smtp_url, "MAIL_FROM": sender, "MAIL_RATE": rate})
    mailing = Mailing(outbox, settings, lambda: catalog, Urls(base), "test-secret", utcnow)
    sender = Sender(mailing, lease_margin=2.0)
    print("ready", flush=True)
    while outbox.progress(int(announcement))["pending"]:
        sender.run_until_idle()
        time.sleep(0.1)
    print("done", flush=True)
    """
)


def start_child(database: str, smtp_url: str, rate: int, announcement_id: int):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            database,
            smtp_url,
            str(rate),
            str(announcement_id),
            SENDER,
            BASE,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def prepared_send(make_app, smtp_server, database: str, count: int) -> tuple[object, int]:
    app = make_app(
        SMTP_URL=smtp_server.url,
        MAIL_FROM=SENDER,
        DATABASE_URL=database,
        SECRET_KEY="test-secret",
    )
    engine = app.extensions[OUTBOX].engine
    add_readers(engine, [f"reader{i:05d}@example.org" for i in range(count)])
    announcement_id = announce(app)
    assert app.extensions[MAILING].start(announcement_id) == count
    return app, announcement_id


def copies_by_address(smtp_server) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for mail in list(smtp_server.messages):
        for rcpt in mail.rcpt_tos:
            found.setdefault(rcpt, []).append(mail.message["Message-ID"])
    return found


@pytest.mark.slow
def test_a_send_killed_halfway_resumes_and_every_address_gets_one_copy(
    make_app, smtp_server, tmp_path
):
    count = 2000
    database = f"sqlite:///{tmp_path / 'storefront.db'}"
    app, announcement_id = prepared_send(make_app, smtp_server, database, count)
    child = start_child(database, smtp_server.url, 400, announcement_id)
    try:
        deadline = time.monotonic() + 300
        while len(smtp_server.messages) < count // 2:
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "the sender did not get halfway"
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)  # reaps it and closes its pipes
    at_kill = len(smtp_server.messages)
    assert at_kill < count, "the send finished before it was killed"
    restarted = start_child(database, smtp_server.url, 400, announcement_id)
    out, err = restarted.communicate(timeout=600)
    assert restarted.returncode == 0, err
    copies = copies_by_address(smtp_server)
    assert len(copies) == count  # nobody skipped
    # One Message-ID per address; a second copy exists only for a kill between the
    # server's 250 and the commit, and then carries the same Message-ID.
    assert all(len(set(ids)) == 1 for ids in copies.values())
    duplicates = sum(len(ids) - 1 for ids in copies.values())
    assert duplicates <= 1, duplicates
    progress = app.extensions[OUTBOX].progress(announcement_id)
    assert progress["sent"] == count and progress["pending"] == 0


@pytest.mark.slow
@pytest.mark.postgres
def test_two_senders_on_one_postgresql_send_an_announcement_once(make_app, smtp_server):
    count = 600
    with fresh_postgres_database() as database:
        app, announcement_id = prepared_send(make_app, smtp_server, database, count)
        try:
            children = [start_child(database, smtp_server.url, 250, announcement_id) for _ in "ab"]
            try:
                for child in children:
                    out, err = child.communicate(timeout=600)
                    assert child.returncode == 0, err
            finally:
                for child in children:
                    if child.poll() is None:
                        child.kill()
                        child.communicate(timeout=30)
            copies = copies_by_address(smtp_server)
            assert len(copies) == count and all(len(ids) == 1 for ids in copies.values())
            with app.extensions[OUTBOX].engine.connect() as conn:
                workers = set(
                    conn.execute(
                        select(deliveries.c.claimed_by).where(deliveries.c.status == "sent")
                    ).scalars()
                )
            assert len(workers) == 2  # both servers sent part of it
        finally:
            app.extensions["clicks"].close()


def test_each_app_server_runs_a_sender_thread_when_mail_is_configured(make_app, smtp_server):
    from storefront.mail.sender import SENDER as THREAD

    app = make_app(
        TESTING=False, SMTP_URL=smtp_server.url, MAIL_FROM=SENDER, MAIL_SEND_INTERVAL=0.2
    )
    sender = app.extensions[THREAD]
    try:
        assert sender._thread.is_alive() and sender._thread.daemon
        add_readers(app.extensions[OUTBOX].engine, ["reader@example.org"])
        app.extensions[MAILING].start(announce(app))
        sender.wake()
        (mail,) = smtp_server.wait_for(1, timeout=30)
        assert mail.rcpt_tos == ["reader@example.org"]
        # The fast path still answers pages while the thread runs.
        assert app.test_client().get("/books/genesis").status_code == 200
    finally:
        sender.stop()
    assert not sender._thread.is_alive()
    quiet = make_app(
        TESTING=False, SMTP_URL=smtp_server.url, MAIL_FROM=SENDER, MAIL_SEND_INTERVAL=0
    )
    assert THREAD not in quiet.extensions
    assert THREAD not in make_app(TESTING=False).extensions  # no mail settings: no thread


def test_stats_count_what_the_email_sold(mail_app, smtp_server):
    from .test_go import BROWSER

    add_readers(mail_app.extensions[OUTBOX].engine, ["reader@example.org"])
    mailing = mail_app.extensions[MAILING]
    mailing.start(announce(mail_app))
    Sender(mailing).run_until_idle()
    (mail,) = smtp_server.wait_for(1)
    hrefs, _ = links_in(mail.message)
    buy = next(h for h in hrefs if "/go/genesis/ebookit" in h)
    parts = urlsplit(buy)
    response = mail_app.test_client().get(f"{parts.path}?{parts.query}", headers=BROWSER)
    assert response.status_code in (302, 303)
    clicks = mail_app.extensions["clicks"]
    assert clicks.count(placement="email", campaign=CAMPAIGN, offer="ebookit") == 1


def test_a_refused_login_pauses_without_spending_a_readers_tries(make_app):
    from tests.smtp import SmtpServer

    server = SmtpServer(auth=("author", "right")).start()
    try:
        wrong = server.url.replace("author:right@", "author:wrong@")
        app = make_app(SMTP_URL=wrong, MAIL_FROM=SENDER)
        engine = app.extensions[OUTBOX].engine
        add_readers(engine, ["reader@example.org"])
        mailing = app.extensions[MAILING]
        announcement_id = announce(app)
        mailing.start(announcement_id)
        sender = Sender(mailing)
        started = time.monotonic()
        assert sender.run_until_idle() == 0  # returns at once: the next run tries again
        assert time.monotonic() - started < 20
        assert "refused the login" in sender.trouble
        assert sender.pause_until > time.time() + 30
        with engine.connect() as conn:
            row = conn.execute(select(deliveries)).one()
        assert (row.status, row.attempts, row.claimed_until) == ("pending", 0, None)
        assert server.messages == [] and server.logins == []
    finally:
        server.stop()
