"""/admin/stats: only with a token, wrong ones refused, never cached, an SVG chart and tables."""

from __future__ import annotations

import base64
import hmac

import pytest
from bs4 import BeautifulSoup

from .conftest import MINIMAL_CATALOG

TOKEN = "correct horse battery staple"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"}
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
def admin_app(make_app):
    return make_app(ADMIN_TOKEN=TOKEN)


@pytest.fixture
def admin(admin_app):
    return admin_app.test_client()


def test_without_a_token_setting_admin_pages_do_not_exist(client):
    for headers in ({}, BEARER, basic("x", TOKEN)):
        response = client.get("/admin/stats", headers=headers)
        assert response.status_code == 404
        assert response.headers["Cache-Control"] == "no-store"


def test_no_credentials_ask_for_them(admin):
    response = admin.get("/admin/stats")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="Storefront admin"')
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        basic("admin", "wrong"),
        basic(TOKEN, ""),  # the token as the user name is not the password
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()},
    ],
)
def test_a_wrong_token_is_refused(admin, headers):
    response = admin.get("/admin/stats", headers=headers)
    assert response.status_code == 403
    assert response.headers["Cache-Control"] == "no-store"
    assert "Wrong admin token" in response.get_data(as_text=True)


def test_the_token_is_compared_in_constant_time(admin, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("storefront.views.admin.hmac.compare_digest", spy)
    assert admin.get("/admin/stats", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert calls == [(b"nope", TOKEN.encode())]


@pytest.mark.parametrize("headers", [BEARER, basic("author", TOKEN), basic("", TOKEN)])
def test_the_right_token_shows_the_stats_uncached(admin, headers):
    response = admin.get("/admin/stats", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def click_some(admin, clock):
    for _ in range(3):
        admin.get("/go/genesis/kindle?src=page", headers=BROWSER)
    admin.get("/go/genesis/ebookit?src=flyer&c=apollo8-anniversary", headers=BROWSER)
    admin.get(
        "/go/genesis/kindle",
        headers={
            "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        },
    )
    clock.advance(days=2)
    admin.get("/go/genesis/audible?src=qr", headers={**BROWSER, "Accept-Language": "en-CA"})


def test_page_has_an_svg_chart_of_clicks_per_day(admin, clock):
    click_some(admin, clock)
    soup = BeautifulSoup(admin.get("/admin/stats", headers=BEARER).data, "html.parser")
    svg = soup.find("svg")
    assert svg["role"] == "img"
    bars = svg.select("g[data-day]")
    assert len(bars) == 30  # the last 30 days, today included
    by_day = {g["data-day"]: (int(g["data-clicks"]), int(g["data-unique"])) for g in bars}
    assert by_day["2026-11-25"] == (4, 2)  # kindle x3 (2 repeats) + ebookit; the bot not
    assert by_day["2026-11-27"] == (1, 1)
    assert sum(c for c, _ in by_day.values()) == 5
    tallest = max(bars, key=lambda g: float(g.select_one("rect.total")["height"]))
    assert tallest["data-day"] == "2026-11-25"
    assert "2026-11-25: 4 clicks, 2 unique" in tallest.title.get_text()


def test_page_has_tables_by_vendor_placement_and_campaign(admin, clock):
    click_some(admin, clock)
    soup = BeautifulSoup(admin.get("/admin/stats", headers=BEARER).data, "html.parser")

    def table(by):
        return {
            # Store clicks, unique, not counted (samples and reads: tests/test_read_page.py).
            tr["data-key"]: [
                int(td.get_text()) for td in tr.find_all("td")[1:] if not td.get("data-col")
            ]
            for tr in soup.select(f'table[data-by="{by}"] tbody tr')
        }

    assert table("vendor") == {"amazon": [3, 1, 1], "ebookit": [1, 1, 0], "audible": [1, 1, 0]}
    assert table("placement") == {
        "page": [3, 1, 0],
        "flyer": [1, 1, 0],
        "qr": [1, 1, 0],
        "other": [0, 0, 1],
    }
    assert table("campaign") == {"(none)": [4, 2, 1], "apollo8-anniversary": [1, 1, 0]}
    assert table("country")["CA"] == [1, 1, 0]
    vendor_names = [tr.td.get_text() for tr in soup.select('table[data-by="vendor"] tbody tr')]
    assert vendor_names == ["Amazon", "Audible", "ebookit"]  # most clicks, then by slug
    assert soup.select_one('[data-total="clicks"]').get_text() == "5"
    assert soup.select_one('[data-total="not_counted"]').get_text() == "1"


def test_page_loads_nothing_from_elsewhere_and_runs_no_script(admin, clock):
    click_some(admin, clock)
    response = admin.get("/admin/stats", headers=BEARER)
    soup = BeautifulSoup(response.data, "html.parser")
    assert soup.find("script") is None
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    for tag in soup.find_all(["img", "link", "iframe", "object", "embed"]):
        assert not (tag.get("src") or tag.get("href") or "").startswith(("http", "//")), tag


def test_date_range_chooses_the_days(admin, clock):
    click_some(admin, clock)
    soup = BeautifulSoup(
        admin.get("/admin/stats?since=2026-11-24&until=2026-11-26", headers=BEARER).data,
        "html.parser",
    )
    assert [g["data-day"] for g in soup.select("svg g[data-day]")] == [
        "2026-11-24",
        "2026-11-25",
        "2026-11-26",
    ]
    assert soup.select_one('[data-total="clicks"]').get_text() == "4"


@pytest.mark.parametrize(
    "query",
    [
        "?since=yesterday",
        "?until=2026-13-01",
        "?since=2026-11-20&until=2026-11-01",
        "?since=1900-01-01",
    ],
)
def test_bad_date_range_is_a_400_page(admin, query):
    response = admin.get("/admin/stats" + query, headers=BEARER)
    assert response.status_code == 400
    assert "yesterday" not in response.get_data(as_text=True)


def test_catalog_text_is_escaped(make_app, write_catalog):
    evil = MINIMAL_CATALOG.replace('name = "The Shop"', 'name = "<script>alert(1)</script> Shop"')
    app = make_app(ADMIN_TOKEN=TOKEN, CATALOG=str(write_catalog(evil)))
    client = app.test_client()
    client.get("/go/first/shop", headers=BROWSER)
    soup = BeautifulSoup(client.get("/admin/stats", headers=BEARER).data, "html.parser")
    assert soup.find("script") is None
    assert (
        "<script>alert(1)</script> Shop" in soup.select_one('table[data-by="vendor"] td').get_text()
    )


def test_an_unreachable_database_is_a_503_page(make_app):
    app = make_app(ADMIN_TOKEN=TOKEN, DATABASE_URL="postgresql://127.0.0.1:1/nothing")
    response = app.test_client().get("/admin/stats", headers=BEARER)
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
