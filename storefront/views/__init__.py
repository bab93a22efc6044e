"""Web views: one blueprint per module, registered by ``storefront.app.VIEW_MODULES``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from flask import Response, current_app, request
from werkzeug.datastructures import Headers
from werkzeug.http import remove_entity_headers
from werkzeug.utils import get_content_type

from ..state import Rendered, Storefront


def storefront() -> Storefront:
    """The app's :class:`~storefront.state.Storefront` (catalog, clock, URLs, caches)."""
    return current_app.extensions["storefront"]


def cache_control(rendered: Rendered, at: datetime, max_age: int = 60, swr: int = 300) -> str:
    """``public, max-age=…`` that never reaches past the next price boundary."""
    if rendered.valid_until is not None:
        left = int((rendered.valid_until - at).total_seconds())
        max_age = max(0, min(max_age, left))
        swr = max(0, min(swr, left - max_age))
    return _cache_control_text(max_age, swr)


@cache
def _cache_control_text(max_age: int, swr: int) -> str:
    return f"public, max-age={max_age}, stale-while-revalidate={swr}"


class RenderedResponse(Response):
    """A response for a cached body whose headers were built once, not per request."""

    def get_wsgi_headers(self, environ):
        # Werkzeug copies the headers and scans them for Location and a missing
        # Content-Length on every response. A cached page (200, Content-Length
        # precomputed) or its 304 needs neither: this is the hot path of every
        # page view. Anything unusual (a Location added by a hook) goes the long way.
        headers = self.headers
        if "Location" in headers or "Content-Location" in headers:
            return super().get_wsgi_headers(environ)
        if self.status_code == 304:
            remove_entity_headers(headers)  # what Werkzeug does for a 304
            return headers
        if self.status_code == 200 and "Content-Length" in headers:
            return headers
        return super().get_wsgi_headers(environ)


# (etag, media type) -> the entity headers for that body; bodies are few and small
# in number (one per page, card and cover per catalog version), so the bound is loose.
_ENTITY_HEADERS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
_ENTITY_HEADERS_MAX = 4096


def _entity_headers(rendered: Rendered) -> tuple[tuple[str, str], ...]:
    key = (rendered.etag, rendered.media_type)
    headers = _ENTITY_HEADERS.get(key)
    if headers is None:
        if len(_ENTITY_HEADERS) >= _ENTITY_HEADERS_MAX:
            _ENTITY_HEADERS.clear()
        headers = _ENTITY_HEADERS[key] = (
            ("Content-Type", get_content_type(rendered.media_type, "utf-8")),
            ("Content-Length", str(len(rendered.body))),
            ("ETag", f'"{rendered.etag}"'),
        )
    return headers


def send_rendered(
    rendered: Rendered, at: datetime, *, replay: bool = False, **cache: int
) -> Response:
    """Answer with ``rendered``, or ``304 Not Modified`` when the client has it.

    ``replay=True`` lets :class:`ReplayCache` answer later GETs of the same URL
    without running Flask: only for views whose answer depends on nothing but the
    path, the catalog and the clock (no query string, cookie or request header).
    """
    control = cache_control(rendered, at, **cache)
    etag = f'"{rendered.etag}"'
    if replay:
        request.environ[REPLAY_MARK] = (rendered, cache)
    if_none_match = request.environ.get("HTTP_IF_NONE_MATCH")
    # A browser sends back exactly the ETag it got: compare that string before
    # parsing the header (parsing costs, and most requests have no such header).
    if if_none_match is not None and (
        if_none_match == etag or request.if_none_match.contains(rendered.etag)
    ):
        headers = Headers((("ETag", etag), ("Cache-Control", control)))
        return RenderedResponse(status=304, headers=headers)
    headers = Headers(_entity_headers(rendered))
    headers.add("Cache-Control", control)
    # The body goes in as a list: Werkzeug then neither re-encodes it nor
    # recounts its length (Content-Length is among the precomputed headers).
    return RenderedResponse([rendered.body], headers=headers)


REPLAY_MARK = "storefront.replay"  # environ key: send_rendered(replay=True) was here
_NOT_REPLAYED = frozenset({"cache-control"})  # recomputed for every replay


@dataclass
class _Replay:
    """The app's answers for one URL: the body, and the status lines and headers it sent."""

    version: str  # the catalog version the body was rendered from
    rendered: Rendered
    cache: dict[str, int]  # send_rendered's max_age/swr, to recompute Cache-Control
    etag: str  # quoted, as sent
    # status code (200 or 304) -> (status line, headers after every after_request hook)
    answers: dict[int, tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=dict)


class ReplayCache:
    """Answer repeat GETs of cached pages and cards at the WSGI level, without Flask.

    When Flask answers a URL (path and query string) through
    ``send_rendered(..., replay=True)``, the status line and final headers (after
    every ``after_request`` hook) are recorded, separately for its ``200`` and its
    ``304``. A later plain GET of the same URL, or one whose ``If-None-Match`` is
    exactly the ETag, is answered from the record while the catalog version and
    the price window hold; ``Cache-Control`` is recomputed each time, so it still
    ends at the next campaign boundary. Anything else (another method, a list of
    ETags, a catalog edit, a campaign boundary, an error, an answer that sets a
    cookie or varies by a header) goes to Flask, which records afresh. A view opts
    in only when its answer depends on nothing but the URL, the catalog and the
    clock. A page view then costs a few dictionary look-ups instead of a Flask
    request (the bench: book page and cards above a bare Flask endpoint).
    """

    def __init__(self, wsgi_app, sf: Storefront, size: int = 1024):
        self.wsgi_app = wsgi_app
        self.storefront = sf
        self.size = size
        self._entries: dict[tuple[str, str, str], _Replay] = {}

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        key = (
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
        )
        entry = self._entries.get(key)
        if entry is not None:
            answer = self._replay(entry, environ, start_response)
            if answer is not None:
                return answer
        return self._record(key, environ, start_response)

    def _replay(self, entry: _Replay, environ, start_response):
        sf = self.storefront
        if sf.catalog.version != entry.version:
            return None
        at = sf.now()
        rendered = entry.rendered
        if not rendered.is_valid(at):
            return None
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match is None:
            status = 200
        elif if_none_match == entry.etag:
            status = 304
        else:
            return None  # another or several ETags: Flask parses them
        sent = entry.answers.get(status)
        if sent is None:
            return None
        control = cache_control(rendered, at, **entry.cache)
        start_response(sent[0], [*sent[1], ("Cache-Control", control)])
        return [rendered.body] if status == 200 else []

    def _record(self, key: tuple[str, str, str], environ, start_response):
        version = self.storefront.catalog.version
        answered: list = []

        def capture(status, headers, exc_info=None):
            answered[:] = [status, headers, exc_info]
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        mark = environ.get(REPLAY_MARK)
        if mark is None or not answered or answered[2] is not None:
            return body
        status, headers, _ = answered
        code = int(status.split(" ", 1)[0])
        rendered, cache = mark
        names = {name.lower(): value for name, value in headers}
        etag = f'"{rendered.etag}"'
        if (
            code not in (200, 304)
            # A reload while Flask answered: the body may be from either version.
            or self.storefront.catalog.version != version
            or names.get("etag") != etag
            or (code == 200 and names.get("content-length") != str(len(rendered.body)))
            # Per-client answers are never replayed.
            or "set-cookie" in names
            or "vary" in names
        ):
            return body
        entry = self._entries.get(key)
        if entry is None or entry.rendered is not rendered or entry.version != version:
            if len(self._entries) >= self.size:
                self._entries.clear()
            entry = self._entries[key] = _Replay(version, rendered, cache, etag)
        entry.answers[code] = (
            status,
            tuple((n, v) for n, v in headers if n.lower() not in _NOT_REPLAYED),
        )
        return body
