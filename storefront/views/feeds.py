"""``/sitemap.xml``, ``/robots.txt``, ``/feed.atom`` and ``/favicon.ico``."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response

from widgets.site_files import favicon_ico, render_feed, render_robots, render_sitemap

from . import send_rendered, storefront

bp = Blueprint("feeds", __name__)


def _edited() -> datetime:
    """When the catalog file was last edited (the pages' ``lastmod`` unless a sale moved)."""
    path = storefront().catalog.path
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
    except OSError:
        return datetime(1970, 1, 1, tzinfo=UTC)


def _send(name: str, build, media_type: str, **cache: int) -> Response:
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    rendered = sf.cache.get(name, catalog, at, lambda: (build(catalog, at, sf.urls), media_type))
    return send_rendered(rendered, at, replay=True, **cache)


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    # The file's edit time is read only when the answer is built, not per cached request.
    return _send("sitemap", lambda c, at, u: render_sitemap(c, at, u, _edited()), "application/xml")


@bp.get("/robots.txt")
def robots() -> Response:
    return _send("robots", lambda c, at, u: render_robots(u), "text/plain")


@bp.get("/feed.atom")
def feed() -> Response:
    return _send("feed", lambda c, at, u: render_feed(c, at, u, _edited()), "application/atom+xml")


@bp.get("/favicon.ico")
def favicon() -> Response:
    return _send(
        "favicon",
        lambda c, at, u: favicon_ico(),
        "image/vnd.microsoft.icon",
        max_age=86400,
        swr=86400,
    )
