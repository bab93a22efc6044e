"""The author's desk under ``/admin/``: sign-in, then everything the catalog holds.

Security, in one place (every desk route passes :func:`guard`):

* a signed session cookie (Flask's), ``HttpOnly``, ``SameSite=Lax``, ``Secure``
  whenever the request came over https, scoped to ``/admin``;
* the session names the *generation* it was issued in; signing out moves the
  generation on (:class:`storefront.desk.auth.AuthStore`), so an old cookie no
  longer opens anything;
* every POST carries a CSRF token (Flask-WTF's, checked by :func:`check_csrf`);
* a session ends :data:`SESSION_LIFETIME` after sign-in, however often it is used;
* wrong passwords are slowed per client, in the shared database, before the password
  is even checked (:mod:`storefront.desk.throttle`: 429 with ``Retry-After``);
* a POST without a session is refused before its body is read;
* nothing is cached (``no-store``), indexed or framed by another site.

``/admin/stats`` keeps its bearer token for scripts (``views/admin.py``).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms import ValidationError

from ...clickdb import EXTENSION as CLICKS
from ...desk.auth import AuthStore
from ...desk.builds import Builds
from ...desk.history import CatalogFiles, CatalogSync
from ...desk.throttle import Throttle
from ...templating import render, templates_dir
from .. import storefront
from ..private import never_cache, throttle_attempt

logger = logging.getLogger(__name__)

# desk.js is a static file (ETag, 304), served from the template tree so a wheel has it.
bp = Blueprint(
    "desk",
    __name__,
    url_prefix="/admin",
    static_folder=str(templates_dir() / "desk" / "static"),
    static_url_path="/static",
)

# Routes open without a session (the sign-in form itself, the desk's script).
PUBLIC = frozenset({"desk.login", "desk.static"})
SESSION_LIFETIME = timedelta(hours=12)  # from sign-in: a renewed session still ends
MAX_COVER = 5 * 1024 * 1024  # bytes of a cover image
MAX_CHAPTER = 512 * 1024  # bytes of a sample chapter's Markdown
# Routes that may receive a larger body than the app's 64 KB limit: the file itself plus
# room for the form around it, so the view (not a bare 413) tells the author what is wrong.
_FORM_ROOM = 64 * 1024
UPLOADS = {"desk.cover": MAX_COVER + _FORM_ROOM, "desk.sample": 4 * MAX_CHAPTER + _FORM_ROOM}

DESK_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)


class DeskSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked ``Secure`` whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app) or (request and request.is_secure))


class Desk:
    """The desk's per-app state: the password store, the throttle, the catalog files, the builds."""

    def __init__(self, app: Flask):
        # The app's one engine (storefront.storage, with its settings and timeouts).
        self.engine = app.extensions[CLICKS].engine
        self.auth = AuthStore(app.instance_path, self.engine)
        self.throttle = Throttle(lambda: app.extensions[CLICKS].engine)
        sf = app.extensions["storefront"]
        url = str(self.engine.url)
        self.files = CatalogFiles(sf.catalog.path, app.instance_path, self.engine)
        self.builds = Builds(self.engine)  # print builds: their status in the same database
        self.sync = None
        interval = float(app.config.get("CATALOG_SYNC_INTERVAL") or 0)
        # One server with SQLite needs no sync; several share PostgreSQL (or any server
        # database). Test apps start no thread: their tests call sync_once() themselves.
        if interval > 0 and not url.startswith("sqlite") and not app.testing:
            self.sync = CatalogSync(self.files, interval)
            self.sync.start()


def init_app(app: Flask) -> None:
    """Session, CSRF and the catalog files.

    ``STOREFRONT_SECRET_KEY`` signs the session (generated once into the database when
    not configured, shared by every server on it); ``STOREFRONT_CATALOG_SYNC_INTERVAL``
    is how often several servers look for a newer catalog version in the database
    (docs/desk.md). Behind a TLS proxy, ``STOREFRONT_PROXY_COUNT`` lets the app see
    https, so the cookie is ``Secure``.
    """
    desk_ = Desk(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = desk_.auth.secret_key()
    if app.config.get("SESSION_COOKIE_NAME") in (None, "session"):
        app.config["SESSION_COOKIE_NAME"] = "storefront_desk"
    app.config["SESSION_COOKIE_PATH"] = "/admin"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # bound by the session's own lifetime
    app.session_interface = DeskSessionInterface()
    app.extensions["desk"] = desk_


def desk() -> Desk:
    return current_app.extensions["desk"]


def is_signed_in() -> bool:
    generation = session.get("desk")
    since = session.get("since")
    return (
        isinstance(generation, int)
        and isinstance(since, int)
        # An absolute lifetime: the cookie is renewed on every request, this is not.
        and 0 <= time.time() - since < SESSION_LIFETIME.total_seconds()
        and generation == desk().auth.generation()
    )


def safe_next(target: str | None) -> str:
    """Only a desk path of this site (no open redirect, no header injection)."""
    if target and target.isprintable() and target.isascii():
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/admin/")
            and "\\" not in target
            and not target.startswith("//")
        ):
            return target
    return url_for("desk.dashboard")


@bp.before_request
def guard() -> Response | None:
    # The session first, from the headers alone: a stranger's POST (a 5 MB upload
    # included) is refused before a byte of its body is read.
    if request.endpoint not in PUBLIC and not is_signed_in():
        if request.method == "GET" and not request.path.endswith(".json"):
            return redirect(url_for("desk.login", next=request.full_path.rstrip("?")))
        response = jsonify(error="Unauthorized", message="Sign in to the desk first.")
        response.status_code = 401
        return response
    limit = UPLOADS.get(request.endpoint or "")
    if limit:
        request.max_content_length = limit
    if request.method == "POST":
        check_csrf()
    return None


def check_csrf() -> None:
    """Refuse a POST without this session's CSRF token (Flask-WTF's tokens and checks).

    Done here, for the desk's blueprint only, rather than with ``CSRFProtect``: its
    app-wide hook would run before every public request (and keep the fast path off).
    Over https the Referer must be this site too, as ``CSRFProtect`` requires.
    """
    token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from None
    if request.is_secure:
        referrer = urlsplit(request.headers.get("Referer", ""))
        if not referrer.netloc:
            raise CSRFError("The referrer header is missing.")
        if (referrer.scheme, referrer.netloc) != ("https", request.host):
            raise CSRFError("The referrer does not match the host.")


@bp.after_request
def private_headers(response: Response) -> Response:
    if request.endpoint == "desk.static":
        # The script is no secret: cached, revalidated by its ETag (304) every time.
        response.cache_control.no_cache = True
        return response
    never_cache(response)
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", DESK_CSP)
    return response


@bp.errorhandler(CSRFError)
def csrf_refused(error: CSRFError):
    html = page(
        "desk/message.html",
        title="Form refused",
        message=f"{error.description} Reload the page and send the form again.",
    )
    return html, 400


def page(template: str, **context) -> str:
    """Render a desk template with what every desk page needs."""
    sf = storefront()
    return render(
        template,
        site=sf.catalog.site,
        signed_in=is_signed_in(),
        csrf_token=generate_csrf(),
        messages=_take_flashes(),
        url_for=url_for,
        request_path=request.path,
        **context,
    )


def _take_flashes() -> list[tuple[str, str]]:
    from flask import get_flashed_messages

    return list(get_flashed_messages(with_categories=True))


@bp.route("/login", methods=["GET", "POST"])
def login():
    d = desk()
    error = None
    status = 200
    headers = {}
    if not d.auth.has_password():
        error = "No password is set yet: run `storefront admin set-password` on the server."
        status = 503 if request.method == "POST" else 200
    elif request.method == "POST":
        # Counted before the password is checked: concurrent guesses get no extra tries.
        key, refused = throttle_attempt("desk")
        if refused is not None:
            error, status = refused.description, refused.code
            headers = dict(refused.get_headers())
            headers.pop("Content-Type", None)
        elif d.auth.verify(request.form.get("password", "")):
            d.throttle.succeeded(key)
            session.clear()
            session.permanent = True
            session["desk"] = d.auth.generation()
            session["since"] = int(time.time())
            return redirect(safe_next(request.args.get("next")))
        else:
            error = "Wrong password."
            status = 401
    html = page("desk/login.html", error=error, next=request.args.get("next", ""), title="Sign in")
    return html, status, headers


@bp.post("/logout")
def logout():
    desk().auth.end_sessions()
    session.clear()
    flash("You are signed out. Every desk session has ended.", "info")
    return redirect(url_for("desk.login"))
