"""Web views: one blueprint per module, registered by ``storefront.app.VIEW_MODULES``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache

from flask import Response, current_app, request
from werkzeug.datastructures import Headers
from werkzeug.http import parse_etags, remove_entity_headers
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


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (unquoted), compared weakly.

    RFC 9110 (13.1.2) compares ``If-None-Match`` weakly: ``W/"x"`` matches ``"x"``,
    which is what a client sends back after a proxy (nginx's gzip) weakened the ETag.
    """
    if if_none_match is None:
        return False
    # A browser sends back exactly the ETag it got: compare that string before
    # parsing the header (parsing costs, and most requests have no such header).
    if if_none_match == f'"{etag}"':
        return True
    return parse_etags(if_none_match).contains_weak(etag)


def rendered_response(
    rendered: Rendered,
    at: datetime,
    if_none_match: str | None,
    cache: dict[str, int],
    extra: Sequence[tuple[str, str]] = (),
) -> Response:
    """The answer for ``rendered`` at ``at``: its ``200``, or a ``304`` when the client has it.

    The one place these headers are built, for the views (:func:`send_rendered`) and
    for :mod:`storefront.fastpath` alike. ``extra`` headers are the view's own (a CSP).
    """
    control = cache_control(rendered, at, **cache)
    if etag_matches(if_none_match, rendered.etag):
        headers = Headers((("ETag", f'"{rendered.etag}"'), ("Cache-Control", control), *extra))
        return RenderedResponse(status=304, headers=headers, mimetype=rendered.media_type)
    headers = Headers(_entity_headers(rendered))
    headers.add("Cache-Control", control)
    if extra:
        headers.extend(extra)
    # The body goes in as a list: Werkzeug then neither re-encodes it nor
    # recounts its length (Content-Length is among the precomputed headers).
    return RenderedResponse([rendered.body], headers=headers)


REPLAY_MARK = "storefront.replay"  # environ key: send_rendered(replay=True) answered


def send_rendered(
    rendered: Rendered,
    at: datetime,
    *,
    replay: bool = False,
    extra: Sequence[tuple[str, str]] = (),
    **cache: int,
) -> Response:
    """Answer with ``rendered``, or ``304 Not Modified`` when the client has it.

    ``replay=True`` lets :mod:`storefront.fastpath` answer later GETs of the same
    route, arguments and query string without running Flask: only for views whose
    answer depends on nothing but those, the catalog and the clock (no cookie or
    request header). ``extra`` headers are sent with the 200 and the 304 alike.
    """
    extra = tuple(extra)
    if replay:
        request.environ[REPLAY_MARK] = (rendered, cache, extra)
    return rendered_response(rendered, at, request.environ.get("HTTP_IF_NONE_MATCH"), cache, extra)


HeaderSetter = Callable[[Headers, "str | None", "str | None"], None]


class HeaderHook:
    """An ``after_request`` hook that only sets headers, from the endpoint and media type.

    Write one as ``set_headers(headers, endpoint, mimetype)`` and register
    ``header_hook(set_headers)`` with ``after_request``: Flask runs it on every
    response, and :mod:`storefront.fastpath` runs the very same function on the
    answers it gives without Flask. Any other kind of hook makes the fast path
    step aside for the routes it applies to.
    """

    def __init__(self, set_headers: HeaderSetter):
        self.set_headers = set_headers
        self.__name__ = getattr(set_headers, "__name__", "header_hook")
        self.__qualname__ = getattr(set_headers, "__qualname__", self.__name__)
        self.__module__ = getattr(set_headers, "__module__", __name__)

    def __call__(self, response: Response) -> Response:
        self.set_headers(response.headers, request.endpoint, response.mimetype)
        return response

    def __repr__(self) -> str:
        return f"header_hook({self.__module__}.{self.__qualname__})"


def header_hook(set_headers: HeaderSetter) -> HeaderHook:
    """Make ``set_headers(headers, endpoint, mimetype)`` an ``after_request`` hook."""
    return HeaderHook(set_headers)
