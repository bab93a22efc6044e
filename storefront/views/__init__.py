"""Web views: one blueprint per module, registered by ``storefront.app.VIEW_MODULES``."""

from __future__ import annotations

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


def send_rendered(rendered: Rendered, at: datetime, **cache: int) -> Response:
    """Answer with ``rendered``, or ``304 Not Modified`` when the client has it."""
    control = cache_control(rendered, at, **cache)
    etag = f'"{rendered.etag}"'
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
