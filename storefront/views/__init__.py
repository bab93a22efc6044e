"""Web views: one blueprint per module, registered by ``storefront.app.VIEW_MODULES``."""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, request

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
    return f"public, max-age={max_age}, stale-while-revalidate={swr}"


def send_rendered(rendered: Rendered, at: datetime, **cache: int) -> Response:
    """Answer with ``rendered``, or ``304 Not Modified`` when the client has it."""
    headers = {"ETag": f'"{rendered.etag}"', "Cache-Control": cache_control(rendered, at, **cache)}
    if request.if_none_match.contains(rendered.etag):
        return Response(status=304, headers=headers)
    return Response(rendered.body, mimetype=rendered.media_type, headers=headers)
