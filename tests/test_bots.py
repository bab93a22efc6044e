"""Who counts as a reader: HEAD, prefetch, crawlers, and the repeat-click window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storefront.bots import RepeatWindow, classify, is_bot, is_prefetch

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("method", "headers", "kind"),
    [
        ("GET", {"User-Agent": CHROME}, "reader"),
        ("GET", {"User-Agent": SAFARI_IOS}, "reader"),
        ("GET", {"User-Agent": FIREFOX}, "reader"),
        ("HEAD", {"User-Agent": CHROME}, "head"),
        ("head", {"User-Agent": CHROME}, "head"),
        ("GET", {"User-Agent": CHROME, "Sec-Purpose": "prefetch"}, "prefetch"),
        ("GET", {"User-Agent": CHROME, "Sec-Purpose": "prefetch;prerender"}, "prefetch"),
        ("GET", {"User-Agent": CHROME, "Purpose": "prefetch"}, "prefetch"),
        ("GET", {"User-Agent": SAFARI_IOS, "X-Purpose": "preview"}, "prefetch"),
        ("GET", {"User-Agent": FIREFOX, "X-Moz": "prefetch"}, "prefetch"),
        (
            "GET",
            {
                "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
            },
            "bot",
        ),
        (
            "GET",
            {
                "User-Agent": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
            },
            "bot",
        ),
        (
            "GET",
            {
                "User-Agent": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
            },
            "bot",
        ),
        ("GET", {"User-Agent": "Twitterbot/1.0"}, "bot"),
        (
            "GET",
            {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
            "bot",
        ),
        ("GET", {"User-Agent": "curl/8.5.0"}, "bot"),
        ("GET", {"User-Agent": "python-requests/2.31.0"}, "bot"),
        ("GET", {"User-Agent": ""}, "bot"),
        ("GET", {}, "bot"),
    ],
)
def test_classify(method, headers, kind):
    assert classify(method, headers) == kind


def test_prefetch_headers_need_a_prefetch_word():
    assert not is_prefetch({"Sec-Purpose": "", "Purpose": "navigation"})


def test_an_enormous_user_agent_is_handled():
    assert is_bot("Googlebot " + "x" * 100_000)
    assert not is_bot(CHROME + " " + "y" * 100_000)


def test_second_click_within_the_window_is_a_repeat():
    window = RepeatWindow(seconds=1800)
    assert not window.is_repeat("203.0.113.5", CHROME, "b/kindle", AT)
    assert window.is_repeat("203.0.113.5", CHROME, "b/kindle", AT + timedelta(minutes=29))


def test_click_after_the_window_is_unique_again():
    window = RepeatWindow(seconds=1800)
    window.is_repeat("203.0.113.5", CHROME, "b/kindle", AT)
    assert not window.is_repeat("203.0.113.5", CHROME, "b/kindle", AT + timedelta(minutes=31))


@pytest.mark.parametrize(
    ("ip", "agent", "item"),
    [
        ("203.0.113.6", CHROME, "b/kindle"),  # another address
        ("203.0.113.5", FIREFOX, "b/kindle"),  # another browser
        ("203.0.113.5", CHROME, "b/ebookit"),  # another offer
    ],
)
def test_another_visitor_or_offer_is_not_a_repeat(ip, agent, item):
    window = RepeatWindow(seconds=1800)
    window.is_repeat("203.0.113.5", CHROME, "b/kindle", AT)
    assert not window.is_repeat(ip, agent, item, AT + timedelta(seconds=1))


def test_window_of_zero_marks_nothing():
    window = RepeatWindow(seconds=0)
    window.is_repeat("203.0.113.5", CHROME, "b/kindle", AT)
    assert not window.is_repeat("203.0.113.5", CHROME, "b/kindle", AT)


def test_window_stays_bounded_and_forgets_old_visitors():
    window = RepeatWindow(seconds=60, max_entries=100)
    for n in range(1000):
        window.is_repeat(
            f"198.51.100.{n % 250}", f"agent {n}", "b/kindle", AT + timedelta(seconds=n)
        )
    assert len(window) <= 100
    # Only the last minute is remembered.
    assert len(RepeatWindow(seconds=60)._seen) == 0
    later = RepeatWindow(seconds=60)
    for n in range(120):
        later.is_repeat("198.51.100.1", f"agent {n}", "b/kindle", AT + timedelta(seconds=n))
    assert len(later) <= 61


def test_window_keeps_no_address_or_user_agent_in_memory():
    window = RepeatWindow(seconds=60)
    window.is_repeat("203.0.113.77", CHROME, "b/kindle", AT)
    (key,) = window._seen
    assert isinstance(key, bytes) and len(key) == 16
    assert b"203.0.113.77" not in key and b"Chrome" not in key
