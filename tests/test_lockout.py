"""No one can lock the author out: wrong secrets are slowed per client, atomically.

The throttle (``storefront.desk.throttle``) on a real SQLite file and a real PostgreSQL,
then the desk's sign-in and ``/admin/stats`` through the app, then a real `storefront serve` with
two workers answering a burst of concurrent guesses (the client told apart by
``X-Forwarded-For`` behind ``STOREFRONT_PROXY_COUNT=1``).
"""

from __future__ import annotations

import math
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from storefront.desk.throttle import FREE, Throttle, client_key, wait_after
from storefront.storage import make_engine

from .clickdb import fresh_postgres_database
from .test_desk import PASSWORD, catalog_file, csrf_of, sign_in  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent


class FakeClock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'storefront.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


# --------------------------------------------------------------------------- the rule


def test_the_first_wait_comes_after_the_free_failures_then_doubles():
    docs = " ".join((ROOT / "docs" / "desk.md").read_text(encoding="utf-8").split())
    stated = re.search(r"a client gets (\d+) attempts; after the (\d+)\w+ wrong password", docs)
    assert stated and int(stated[1]) == int(stated[2]) == FREE  # code and docs agree
    assert "1 s, then 2 s, 4 s … up to 15 minutes" in docs
    assert [wait_after(n) for n in range(1, 8)] == [0, 0, 1, 2, 4, 8, 16]
    assert wait_after(100) == 900  # at most 15 minutes


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "desk:203.0.113.7"),
        ("::ffff:203.0.113.7", "desk:203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "desk:2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "desk:2001:db8:1:2::/64"),
        (None, "desk:unknown"),
    ],
)
def test_a_client_is_its_address_or_its_ipv6_block(address, key):
    assert client_key("desk", address) == key


def test_attempts_are_reserved_doubled_and_forgiven(engine_url):
    engine = make_engine(engine_url)
    clock = FakeClock()
    throttle = Throttle(lambda: engine, clock=clock)
    assert [throttle.attempt("desk:a") for _ in range(FREE)] == [0.0] * FREE
    assert throttle.attempt("desk:a") == pytest.approx(1.0)  # the 4th waits 1 s
    assert throttle.attempt("desk:b") == 0.0  # another client is not slowed at all
    clock.now += 1.0
    assert throttle.attempt("desk:a") == 0.0  # the 4th, checked after its wait
    assert throttle.attempt("desk:a") == pytest.approx(2.0)
    assert throttle.count("desk:a") == FREE + 1  # a refused attempt is not counted
    throttle.succeeded("desk:a")
    assert throttle.count("desk:a") == 0
    assert throttle.attempt("desk:a") == 0.0
    # A client that stays away an hour starts afresh.
    for _ in range(5):
        clock.now += 60
        throttle.attempt("desk:c")
    clock.now += 3601
    assert throttle.attempt("desk:c") == 0.0
    assert throttle.count("desk:c") == 1
    engine.dispose()


def test_concurrent_guesses_on_two_servers_get_only_the_free_attempts(engine_url):
    """Two throttles on their own engines (two servers) share the count through the database."""
    engines = [make_engine(engine_url, timeout=5.0) for _ in range(2)]
    clock = FakeClock()
    throttles = [Throttle(lambda e=e: e, clock=clock) for e in engines]
    throttles[0].attempt("desk:warm-up")  # migrate once, before the burst
    start = threading.Barrier(16)

    def guess(n: int) -> float:
        start.wait()
        return throttles[n % 2].attempt("desk:203.0.113.9")

    with ThreadPoolExecutor(16) as pool:
        waits = list(pool.map(guess, range(16)))
    assert waits.count(0.0) == FREE
    assert all(w > 0 for w in waits if w != 0.0)
    assert throttles[1].count("desk:203.0.113.9") == FREE
    for engine in engines:
        engine.dispose()


# --------------------------------------------------------------------------- through the app


@pytest.fixture
def proxied_desk(make_app, catalog_file):  # noqa: F811  (the fixture imported above)
    app = make_app(CATALOG=str(catalog_file), PROXY_COUNT=1)
    app.extensions["desk"].auth.set_password(PASSWORD)
    return app


def sign_in_from(client, address: str, password: str):
    headers = {"X-Forwarded-For": address}
    page = client.get("/admin/login", headers=headers)
    return client.post(
        "/admin/login",
        data={"csrf_token": csrf_of(page.text), "password": password},
        headers=headers,
    )


def test_a_hundred_wrong_passwords_from_elsewhere_never_keep_the_author_out(proxied_desk):
    client = proxied_desk.test_client()
    statuses = [
        sign_in_from(client, f"198.51.100.{n % 25}", "wrong password!").status_code
        for n in range(100)
    ]
    assert set(statuses) <= {401, 429} and statuses.count(401) >= 25 * FREE
    author = proxied_desk.test_client()
    response = sign_in_from(author, "203.0.113.50", PASSWORD)
    assert response.status_code == 302 and response.location == "/admin/"
    assert author.get("/admin/", headers={"X-Forwarded-For": "203.0.113.50"}).status_code == 200


def test_a_slowed_client_waits_even_with_the_right_password(proxied_desk):
    clock = FakeClock()
    proxied_desk.extensions["desk"].throttle.clock = clock
    client = proxied_desk.test_client()
    statuses = [sign_in_from(client, "192.0.2.1", "wrong password!").status_code for _ in range(4)]
    assert statuses == [401] * FREE + [429]
    slowed = sign_in_from(client, "192.0.2.1", PASSWORD)
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "1"
    assert "Wait 1 s" in slowed.text
    clock.now += 1
    assert sign_in_from(client, "192.0.2.1", PASSWORD).status_code == 302


def test_wrong_admin_tokens_are_slowed_the_same_way(make_app):
    app = make_app(ADMIN_TOKEN="s3cret-token", PROXY_COUNT=1)
    clock = FakeClock()
    app.extensions["desk"].throttle.clock = clock
    client = app.test_client()

    def stats(token: str, address: str = "192.0.2.8"):
        headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": address}
        return client.get("/admin/stats", headers=headers)

    assert [stats("wrong").status_code for _ in range(4)] == [403] * FREE + [429]
    refused = stats("s3cret-token")  # checked only after the wait
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert stats("s3cret-token", "192.0.2.9").status_code == 200  # another client: at once
    clock.now += 1
    assert stats("s3cret-token").status_code == 200


def test_a_stopped_database_refuses_sign_in_rather_than_skipping_the_count(proxied_desk):
    broken = create_engine("sqlite:////nonexistent-folder/x.db")
    proxied_desk.extensions["desk"].throttle._engine = lambda: broken
    response = sign_in_from(proxied_desk.test_client(), "192.0.2.3", PASSWORD)
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"


def test_burst_bound():
    assert burst_bound(0.5) == FREE and burst_bound(1.2) == FREE + 1


def burst_bound(seconds: float) -> int:
    """The most attempts a burst lasting ``seconds`` may have checked: the free ones, plus
    one more each time a wait (1 s, 2 s, 4 s…) could have run out within the burst."""
    return FREE + math.floor(math.log2(seconds + 1))
