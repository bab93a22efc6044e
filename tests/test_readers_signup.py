"""Sign-up, double opt-in and unsubscribe through the app, with a real SMTP server.

Every e-mail is read back with the ``email`` package; every page with BeautifulSoup.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storefront.clickdb import get_click_store
from storefront.readers import consents, counts, readers
from storefront.readers.tokens import FORM, make_token, unsubscribe_token

BASE = "https://books.example.org"
SENDER = "Robert Zimmerman <news@books.example.org>"


@pytest.fixture
def list_app(make_app, smtp_server):
    return make_app(SMTP_URL=smtp_server.url, MAIL_FROM=SENDER)


@pytest.fixture
def web(list_app):
    return list_app.test_client()


def form_fields(html: str) -> dict:
    form = BeautifulSoup(html, "html.parser").select_one("form.signup-form")
    assert form is not None, "no sign-up form"
    fields = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    fields["action"] = form["action"]
    return fields


def aged_token(app, seconds: float = 5) -> str:
    """A fill-time token made ``seconds`` ago (a person who took that long)."""
    at = datetime.now(UTC) - timedelta(seconds=seconds)
    return make_token(app.config["SECRET_KEY"], FORM, 0, now=at)


def sign_up(web, app, email, **extra):
    data = {"email": email, "topics": ["sales", "new-books"], "src": "page", "t": aged_token(app)}
    data.update(extra)
    return web.post("/readers/subscribe", data=data)


def db_counts(app):
    with app.app_context():
        store = get_click_store()
        store.ensure_schema()
        with store.engine.connect() as conn:
            return counts(conn)


def links_of(mail) -> list[str]:
    html = BeautifulSoup(mail.part("html"), "html.parser")
    hrefs = [a["href"] for a in html.find_all("a")]
    texts = re.findall(r"https?://\S+", mail.part("plain"))
    return hrefs + texts


def test_book_page_and_shelf_have_the_form_when_mail_is_set(web, list_app):
    for path, src in (("/books/genesis", "page"), ("/", "shelf")):
        html = web.get(path).text
        fields = form_fields(html)
        assert fields["action"] == f"{BASE}/readers/subscribe" and fields["src"] == src
        soup = BeautifulSoup(html, "html.parser")
        honeypot = soup.select_one("form.signup-form input[name=website]")
        assert honeypot["tabindex"] == "-1" and honeypot.find_parent(attrs={"aria-hidden": "true"})
        boxes = soup.select("form.signup-form input[name=topics]")
        assert [b["value"] for b in boxes] == ["sales", "new-books"]


def test_no_mail_settings_no_form(client):
    assert BeautifulSoup(client.get("/books/genesis").text, "html.parser").select("form") == []
    answer = client.post("/readers/subscribe", data={"email": "a@example.org"})
    assert answer.status_code == 404 and "mail settings" in answer.text


def test_sign_up_sends_one_confirmation_and_get_does_not_confirm(web, list_app, smtp_server):
    answer = sign_up(web, list_app, "Reader@Example.org", book="genesis")
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    [mail] = smtp_server.wait_for(1)
    msg = mail.message
    assert mail.rcpt_tos == ["reader@example.org"]
    assert msg["From"].addresses[0].addr_spec == "news@books.example.org"
    assert msg["Message-ID"] and msg["Date"].datetime is not None
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    links = links_of(mail)
    assert links and all(urlsplit(u).netloc == "books.example.org" for u in links), links
    [confirm_url] = {u for u in links if "/readers/confirm/" in u}
    path = urlsplit(confirm_url).path
    page = web.get(path)  # what a mail scanner does
    assert page.status_code == 200
    assert db_counts(list_app)["pending"] == 1 and db_counts(list_app)["confirmed"] == 0
    button = BeautifulSoup(page.text, "html.parser").select_one("form[method=post] button")
    assert button is not None
    done = web.post(path)
    assert done.status_code == 200 and "on the list" in done.text
    assert db_counts(list_app)["confirmed"] == 1
    with list_app.app_context(), get_click_store().engine.connect() as conn:
        events = conn.execute(select(consents.c.event, consents.c.form, consents.c.text)).all()
        reader = conn.execute(select(readers)).one()
    assert [e.event for e in events] == ["signup", "confirm"] and events[0].form == "page"
    assert events[0].text.startswith("Send me an e-mail when Robert Zimmerman")
    assert (reader.book, reader.topics, reader.source) == ("genesis", "sales,new-books", "form")


def test_a_flood_for_one_address_sends_one_mail(web, list_app, smtp_server):
    answers = {sign_up(web, list_app, "victim@example.org").text for _ in range(200)}
    assert len(answers) == 1  # the same polite answer every time
    smtp_server.wait_for(1)
    assert len(smtp_server.to("victim@example.org")) == 1
    assert db_counts(list_app)["pending"] == 1


@pytest.mark.parametrize(
    "extra",
    [
        {"website": "http://spam.example"},  # the honeypot
        {"t": "not-a-token"},
        {"t": ""},
    ],
)
def test_a_bot_gets_the_same_answer_and_nothing_is_sent(web, list_app, smtp_server, extra):
    person = sign_up(web, list_app, "person@example.org")
    bot = sign_up(web, list_app, "bot-target@example.org", **extra)
    assert bot.status_code == person.status_code == 200
    assert bot.text == person.text
    smtp_server.wait_for(1)
    assert smtp_server.to("bot-target@example.org") == []
    assert db_counts(list_app)["pending"] == 1


def test_a_form_sent_faster_than_a_person_types_is_a_bot(web, list_app, smtp_server):
    fresh = form_fields(web.get("/readers/subscribe").text)["t"]  # rendered for this reader
    answer = sign_up(web, list_app, "fast@example.org", t=fresh)
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert db_counts(list_app)["pending"] == 0 and smtp_server.messages == []


@pytest.mark.parametrize(
    ("email", "why"),
    [
        ("a@example.org\r\nBcc: victim@example.org", "no spaces or line breaks"),
        ("x" * 10_240 + "@example.org", "too long"),
        ("", "enter your e-mail"),
        ("not an address", "no spaces"),
    ],
)
def test_junk_addresses_get_a_clear_400(web, list_app, smtp_server, email, why):
    answer = sign_up(web, list_app, email)
    assert answer.status_code == 400
    alert = BeautifulSoup(answer.text, "html.parser").select_one("[role=alert]")
    assert why in alert.get_text()
    assert form_fields(answer.text)["src"] == "page"  # the form again, to correct it
    assert smtp_server.messages == [] and db_counts(list_app)["pending"] == 0


def test_json_answers_for_scripts(web, list_app):
    ok = web.post(
        "/readers/subscribe",
        data={"email": "js@example.org", "topics": "sales", "t": aged_token(list_app)},
        headers={"Accept": "application/json", "Origin": "null"},
    )
    assert ok.status_code == 200 and ok.json["ok"] is True
    assert ok.headers["Access-Control-Allow-Origin"] == "*"
    bad = web.post(
        "/readers/subscribe", data={"email": "nope"}, headers={"Accept": "application/json"}
    )
    assert bad.status_code == 400 and bad.json["ok"] is False and "@-sign" in bad.json["message"]


def test_no_topic_and_unknown_book_are_refused(web, list_app):
    assert sign_up(web, list_app, "a@example.org", topics=[]).status_code == 400
    answer = sign_up(web, list_app, "a@example.org", book="no-such-book")
    assert answer.status_code == 400 and "no-such-book" in answer.text


def test_answers_never_tell_whether_an_address_is_on_the_list(web, list_app, smtp_server):
    first = sign_up(web, list_app, "known@example.org")
    smtp_server.wait_for(1)
    again = sign_up(web, list_app, "known@example.org")
    stranger = sign_up(web, list_app, "stranger@example.org")
    assert first.text == again.text == stranger.text
    assert first.status_code == again.status_code == stranger.status_code == 200


def test_internationalised_address_with_smtputf8(web, list_app, smtp_server):
    answer = sign_up(web, list_app, "ünïcode@exämple.org")
    assert answer.status_code == 200
    [mail] = smtp_server.wait_for(1)
    assert mail.smtputf8 and mail.rcpt_tos == ["ünïcode@exämple.org"]


def test_internationalised_address_without_smtputf8_is_refused_clearly(web, list_app, smtp_server):
    smtp_server.smtputf8 = False
    answer = sign_up(web, list_app, "ünïcode@exämple.org")
    assert answer.status_code == 400
    assert "another address" in BeautifulSoup(answer.text, "html.parser").get_text()
    assert smtp_server.messages == []


def test_a_failed_confirmation_mail_can_be_asked_again(web, list_app, smtp_server):
    smtp_server.answer("rcpt", 451, "4.3.0 try later", times=1)
    assert sign_up(web, list_app, "later@example.org").status_code == 200
    assert smtp_server.messages == []
    sign_up(web, list_app, "later@example.org")
    assert len(smtp_server.wait_for(1)) == 1


def _confirmed_reader(web, app, smtp_server, email="leaving@example.org") -> int:
    sign_up(web, app, email)
    [mail] = smtp_server.wait_for(1)
    [url] = {u for u in links_of(mail) if "/readers/confirm/" in u}
    web.post(urlsplit(url).path)
    with app.app_context(), get_click_store().engine.connect() as conn:
        return conn.execute(select(readers.c.id).where(readers.c.email == email)).scalar_one()


def test_one_click_unsubscribe_needs_no_page_cookie_or_token(list_app, smtp_server):
    web = list_app.test_client()
    reader_id = _confirmed_reader(web, list_app, smtp_server)
    token = unsubscribe_token(list_app.config["SECRET_KEY"], reader_id)
    fresh = list_app.test_client()  # no cookie at all
    page = fresh.get(f"/readers/unsubscribe/{token}")
    assert page.status_code == 200 and db_counts(list_app)["confirmed"] == 1  # GET changes nothing
    answer = fresh.post(
        f"/readers/unsubscribe/{token}",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 200
    assert db_counts(list_app) == {"pending": 0, "confirmed": 0, "unsubscribed": 1, "suppressed": 0}


def test_unsubscribe_page_offers_only_new_books(list_app, smtp_server):
    web = list_app.test_client()
    reader_id = _confirmed_reader(web, list_app, smtp_server)
    token = unsubscribe_token(list_app.config["SECRET_KEY"], reader_id)
    page = BeautifulSoup(web.get(f"/readers/unsubscribe/{token}").text, "html.parser")
    buttons = {b["value"]: b.get_text() for b in page.select("form[method=post] button")}
    assert set(buttons) == {"", "new-books"}
    answer = web.post(f"/readers/unsubscribe/{token}", data={"keep": "new-books"})
    assert answer.status_code == 200 and "new books" in answer.text
    with list_app.app_context(), get_click_store().engine.connect() as conn:
        row = conn.execute(select(readers.c.status, readers.c.topics)).one()
    assert (row.status, row.topics) == ("confirmed", "new-books")


def test_bad_and_altered_tokens_are_a_clear_400(web, list_app):
    for path in ("/readers/confirm/abc", "/readers/unsubscribe/abc.def.ghi"):
        for method in (web.get, web.post):
            answer = method(path)
            assert answer.status_code == 400
            assert BeautifulSoup(answer.text, "html.parser").select_one("[role=alert]")


def test_a_suppressed_address_is_never_mailed_again(web, list_app, smtp_server):
    reader_id = _confirmed_reader(web, list_app, smtp_server, "bounced@example.org")
    from storefront.readers import suppress

    with list_app.app_context(), get_click_store().engine.begin() as conn:
        suppress(conn, reader_id, "550 5.1.1 no such user")
    smtp_server.clear()
    answer = sign_up(web, list_app, "bounced@example.org")
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert smtp_server.messages == []


def test_one_client_signing_up_many_addresses_is_limited(web, list_app, smtp_server):
    answers = {sign_up(web, list_app, f"r{n}@example.org").text for n in range(25)}
    assert len(answers) == 1
    smtp_server.wait_for(20)
    assert len(smtp_server.messages) == 20  # the per-client limit: 20 an hour
    other = list_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"  # another reader is not held back
    assert sign_up(other, list_app, "elsewhere@example.org").status_code == 200
    assert len(smtp_server.wait_for(21)) == 21


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fields=st.dictionaries(
        st.sampled_from(["email", "topics", "book", "src", "page", "t", "website"]),
        st.text(max_size=300),
        max_size=7,
    )
)
def test_any_form_gets_an_answer_never_a_server_error(web, fields):
    for accept in ("text/html", "application/json"):
        answer = web.post("/readers/subscribe", data=fields, headers={"Accept": accept})
        assert answer.status_code in (200, 400), (fields, answer.status_code)
    for path in ("/readers/confirm/", "/readers/unsubscribe/"):
        token = fields.get("t") or "x"
        for method in (web.get, web.post):
            status = method(path + quote(token, safe=""), data=fields).status_code
            assert status in (200, 400, 404, 405), (path, token, status)


def test_every_worker_renders_a_page_with_its_form_to_the_same_bytes(make_app, smtp_server):
    # Two workers of one server: one instance folder (one secret), two processes' renders.
    first, second = (make_app(SMTP_URL=smtp_server.url, MAIL_FROM=SENDER) for _ in range(2))
    a = first.test_client().get("/books/genesis")
    b = second.test_client().get("/books/genesis")
    assert form_fields(a.text)["t"] == form_fields(b.text)["t"]
    assert a.headers["ETag"] == b.headers["ETag"]
