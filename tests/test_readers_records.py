"""The reader list's rules on a real SQLite file (and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storefront.readers import (
    AddressError,
    Consent,
    TokenError,
    confirm,
    confirm_token,
    consents,
    counts,
    forget,
    normalize_email,
    recipients,
    sign_up,
    suppress,
    unsubscribe,
    unsubscribe_token,
)
from storefront.readers.records import claim_confirmation_mail, is_forgotten, scrub
from storefront.readers.tokens import CONFIRM, UNSUBSCRIBE, reader_id
from storefront.storage import make_engine, migrate
from tests.clickdb import fresh_postgres_database

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CONSENT = Consent("Tell me about sales and new books.", "1", form="page", page="/books/genesis")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'readers.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    with fresh_postgres_database() as url:
        engine = make_engine(url, timeout=5.0)
        migrate(engine)
        yield engine
        engine.dispose()


def _confirmed(conn, email, topics=("sales", "new-books"), book=None):
    rid = sign_up(conn, email, topics=topics, book=book, consent=CONSENT, at=T0)
    assert confirm(conn, rid, CONSENT, at=T0)
    return rid


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("Ann@Example.ORG", "ann@example.org"), (" ünïcode@exämple.org ", "ünïcode@exämple.org")],
)
def test_addresses_are_normalised(raw, stored):
    assert normalize_email(raw) == stored


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "enter your e-mail"),
        ("a@example.org\nBcc: x@example.org", "no spaces or line breaks"),
        ("x" * 10_000 + "@example.org", "too long"),
        ("no-at-sign", "@-sign"),
        ("<ann@example.org>", "not an e-mail address"),
    ],
)
def test_junk_addresses_are_refused_with_a_reason(raw, why):
    with pytest.raises(AddressError, match=why):
        normalize_email(raw)


def test_only_confirmed_readers_of_a_topic_receive(engine):
    with engine.begin() as conn:
        both = _confirmed(conn, "both@example.org")
        sales = _confirmed(conn, "sales@example.org", topics=("sales",))
        one_book = _confirmed(conn, "one@example.org", book="genesis")
        sign_up(conn, "pending@example.org", topics=("sales",), book=None, consent=CONSENT)
        gone = _confirmed(conn, "gone@example.org")
        suppress(conn, gone, "550 5.1.1 no such user")
        left = _confirmed(conn, "left@example.org")
        unsubscribe(conn, left)
    with engine.connect() as conn:
        assert [r.id for r in recipients(conn, topic="sales")] == [both, sales]
        assert [r.id for r in recipients(conn, topic="sales", book="genesis")] == [
            both,
            sales,
            one_book,
        ]
        assert [r.email for r in recipients(conn, topic="new-books", book="other")] == [
            "both@example.org"
        ]
        assert counts(conn) == {"pending": 1, "confirmed": 3, "unsubscribed": 1, "suppressed": 1}


def test_only_new_books_keeps_that_topic(engine):
    with engine.begin() as conn:
        rid = _confirmed(conn, "ann@example.org")
        unsubscribe(conn, rid, keep=("new-books",), consent=CONSENT)
        assert [r.id for r in recipients(conn, topic="new-books")] == [rid]
        assert list(recipients(conn, topic="sales")) == []


def test_one_confirmation_mail_a_day(engine):
    with engine.begin() as conn:
        rid = sign_up(conn, "ann@example.org", topics=("sales",), book=None, consent=CONSENT)
        assert claim_confirmation_mail(conn, rid, T0) is None
        for _ in range(5):
            sign_up(conn, "ann@example.org", topics=("sales",), book=None, consent=CONSENT)
            assert claim_confirmation_mail(conn, rid, T0 + timedelta(hours=23)) is False
        assert claim_confirmation_mail(conn, rid, T0 + timedelta(days=1)) is not False


def test_suppressed_address_never_comes_back(engine):
    with engine.begin() as conn:
        rid = _confirmed(conn, "ann@example.org")
        suppress(conn, rid, "550 gone")
        assert (
            sign_up(conn, "ann@example.org", topics=("sales",), book=None, consent=CONSENT) is None
        )
        assert confirm(conn, rid, CONSENT) is False
        assert list(recipients(conn, topic="sales")) == []


def test_sign_up_and_confirm_keep_consent_records(engine):
    with engine.begin() as conn:
        rid = _confirmed(conn, "ann@example.org", topics=("sales",))
        rows = conn.execute(select(consents).where(consents.c.reader_id == rid)).all()
    assert [r.event for r in rows] == ["signup", "confirm"]
    assert {(r.text, r.version, r.form, r.page, r.topics) for r in rows} == {
        (CONSENT.text, "1", "page", "/books/genesis", "sales")
    }


def test_forget_erases_and_remembers_a_hash(engine):
    with engine.begin() as conn:
        rid = _confirmed(conn, "ann@example.org")
        assert forget(conn, "ann@example.org")
        assert conn.execute(select(consents).where(consents.c.reader_id == rid)).first() is None
        assert counts(conn)["confirmed"] == 0
        assert is_forgotten(conn, "ann@example.org")
    scrub(engine)  # SQLite: checkpoint the log; PostgreSQL: vacuum the tables
    if engine.dialect.name == "sqlite":
        files = Path(engine.url.database).parent.glob("readers.db*")
        assert not [f.name for f in files if b"ann@example.org" in f.read_bytes()]


def test_tokens_are_signed_and_expire():
    key = "k" * 32
    token = unsubscribe_token(key, 42, now=T0)
    assert reader_id(key, UNSUBSCRIBE, token, now=T0 + timedelta(days=300)) == 42
    with pytest.raises(TokenError) as err:
        reader_id(key, UNSUBSCRIBE, token, now=T0 + timedelta(days=401))
    assert err.value.expired
    with pytest.raises(TokenError):
        reader_id(key, CONFIRM, token, now=T0)  # another kind's salt
    with pytest.raises(TokenError):
        reader_id("other" * 8, UNSUBSCRIBE, token, now=T0)
    confirm_link = confirm_token(key, 7, now=T0)
    with pytest.raises(TokenError, match="expired"):
        reader_id(key, CONFIRM, confirm_link, now=T0 + timedelta(days=8))
