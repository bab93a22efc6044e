"""The audio sample in real headless Chromium: it plays on the page and in the card, by
script and by keyboard, under the card's strict CSP, and axe finds nothing to fix."""

from __future__ import annotations

import time

import pytest

from .conftest import serve_wsgi
from .test_audio import audio_catalog, spoken  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def site(make_app, audio_catalog):  # noqa: F811
    """The store served on a free port that is also its BASE_URL (the card's absolute links)."""
    app = None

    def late(environ, start_response):  # the app, made once the port is known
        return app(environ, start_response)

    with serve_wsgi(late) as base_url:
        app = make_app(CATALOG=str(audio_catalog), BASE_URL=base_url)
        yield base_url


def wait_playing(audio, beyond: float = 0.3, timeout: float = 10.0) -> float:
    """Poll (from Playwright, not page script: the CSP forbids eval) until it plays on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = audio.evaluate("el => [el.paused, el.currentTime, el.error && el.error.code]")
        if state[2]:
            pytest.fail(f"the player failed: MediaError code {state[2]}")
        if not state[0] and state[1] > beyond:
            return state[1]
        time.sleep(0.1)
    pytest.fail(f"not playing after {timeout} s: {state}")


@pytest.fixture
def page_in(chromium):
    contexts = []

    def open_page(url: str, **options):
        context = chromium.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        # Console errors (a CSP refusal) and failed answers, but the favicon nobody links.
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.goto(url)
        return page, errors

    yield open_page
    for context in contexts:
        context.close()


def test_chromium_decodes_the_sample_types(page_in, site):
    page, _ = page_in(f"{site}/books/voyage")
    for media_type in ("audio/mpeg", "audio/ogg; codecs=vorbis"):
        assert page.evaluate("t => document.createElement('audio').canPlayType(t)", media_type)


@pytest.mark.parametrize("where", ["page", "card"])
def test_the_player_plays_when_started_from_the_keyboard(page_in, site, where):
    # The card keeps its CSP (no bypass): media-src must allow the sample.
    url = f"{site}/books/voyage" if where == "page" else f"{site}/embed/voyage"
    page, errors = page_in(url)
    audio = page.locator("audio")
    assert audio.count() == 1
    assert audio.evaluate("el => el.paused && el.currentTime === 0 && !el.autoplay")
    # Reach the player with Tab alone, as a keyboard user would.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.tagName") == "AUDIO":
            break
    else:
        pytest.fail("the player cannot be reached with Tab")
    page.keyboard.press("Space")
    assert wait_playing(audio) > 0.3
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.mark.parametrize("where", ["page", "card"])
def test_the_player_plays_and_seeks_by_script(page_in, site, where):
    url = f"{site}/books/voyage" if where == "page" else f"{site}/embed/voyage"
    page, errors = page_in(url)
    audio = page.locator("audio")
    # Muted, play() needs no user gesture under Chromium's autoplay policy.
    audio.evaluate("el => { el.muted = true; return el.play(); }")
    wait_playing(audio)
    # Seeking near the end is a Range request the server answers with 206.
    duration = audio.evaluate("el => el.duration")
    assert duration > 2
    audio.evaluate("el => { el.currentTime = el.duration - 1.5; }")
    assert wait_playing(audio, beyond=duration - 1.5) > duration - 1.5
    assert not errors, errors


@pytest.mark.parametrize("where", ["page", "card"])
def test_page_and_card_with_the_player_pass_axe(page_in, site, where):
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    url = f"{site}/books/voyage" if where == "page" else f"{site}/embed/voyage"
    page, _ = page_in(url, bypass_csp=True)  # axe injects its script
    results = axe.Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()
