"""Admin pages: ``/admin/stats``, only when ``STOREFRONT_ADMIN_TOKEN`` is set.

Without the setting the pages do not exist (404). The token comes as the
password of HTTP Basic auth (any user name: the browser asks for it) or as
``Authorization: Bearer <token>``; it is compared in constant time, and a wrong
one is refused (403). Nothing admin is ever cached (``no-store``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from datetime import date, timedelta

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import Unauthorized

from ..clickdb import get_click_store
from ..stats import click_stats, daily, day_chart, totals
from ..storage import StorageError
from ..templating import render
from . import storefront
from .errors import handle_http_error
from .private import never_cache, throttle_attempt, throttle_succeeded

logger = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

REALM = 'Basic realm="Storefront admin", charset="UTF-8"'
DEFAULT_DAYS = 30
MAX_DAYS = 3660


def presented_token() -> str | None:
    """The token the request carries (Bearer, or the Basic password), if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return value.strip()
    if scheme == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return None


@bp.before_request
def require_token() -> Response | None:
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        abort(404)
    given = presented_token()
    if given is None:
        response = handle_http_error(Unauthorized("The admin pages need the admin token."))
        response.headers["WWW-Authenticate"] = REALM
        return response
    # Wrong tokens are slowed per client, as wrong desk passwords are (checked first).
    key, refused = throttle_attempt("admin-token")
    if refused is not None:
        response = handle_http_error(refused)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    if not hmac.compare_digest(given.encode("utf-8"), str(token).encode("utf-8")):
        abort(403, "Wrong admin token.")
    throttle_succeeded(key)
    return None


bp.after_request(never_cache)


def _date_arg(name: str, default: date) -> date:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        abort(400, f"'{name}' must be a date such as 2026-11-01.")
    # Day arithmetic (the default window, the end of a day) must stay inside date's range.
    if not date(1970, 1, 1) <= day <= date(9000, 12, 31):
        abort(400, f"'{name}' must be a date between 1970-01-01 and 9000-12-31.")
    return day


@bp.get("/stats")
def stats() -> Response:
    sf = storefront()
    html = render("admin/stats.html", site=sf.catalog.site, urls=sf.urls, **stats_context())
    return Response(html, mimetype="text/html")


def stats_context() -> dict:
    """What the statistics page shows for the request's ``since``/``until`` (also the desk's)."""
    sf = storefront()
    catalog = sf.catalog
    today = sf.now().astimezone(catalog.site.tz).date()
    until = _date_arg("until", today)
    since = _date_arg("since", until - timedelta(days=DEFAULT_DAYS - 1))
    if since > until:
        abort(400, "'since' is after 'until'.")
    if (until - since).days >= MAX_DAYS:
        abort(400, f"Choose at most {MAX_DAYS} days.")
    store = get_click_store()
    try:
        if store.spool.pending():
            store.replay_spool()
        store.ensure_schema()
        engine = store.engine
        days = daily(engine, since, until)
        tables = [
            (by, title, click_stats(engine, by, since, until))
            for by, title in (
                ("vendor", "By vendor"),
                ("placement", "By placement"),
                ("campaign", "By campaign"),
                ("country", "By country"),
            )
        ]
    except (SQLAlchemyError, OSError, StorageError) as exc:
        logger.warning("admin stats: click database unavailable: %s", exc)
        abort(503, "The click database is unavailable; clicks are kept in the spool meanwhile.")
    return dict(
        since=since,
        until=until,
        chart=day_chart(days),
        days=days,
        tables=tables,
        total=totals(days),
        names={"vendor": {slug: v.name for slug, v in catalog.vendors.items()}},
        spooled=store.spool.pending(),
    )
