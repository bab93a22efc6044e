"""The reader list's routes: sign up, confirm (GET shows a button, POST acts), unsubscribe.

- ``GET /readers/subscribe``: the sign-up page (also where cards link to);
  ``POST /readers/subscribe``: every form posts here, from the app's pages, cards on
  any host (``fetch`` from the iframe card, CORS ``*``: no cookie is read or set) and
  static exports. A sign-up by a bot (the honeypot filled, sent faster than a person
  types, over a rate limit) gets the same polite answer as anyone, and nothing is sent.
- ``GET /readers/token``: a fresh fill-time token for a card's script (JSON).
- ``/readers/confirm/<token>`` and ``/readers/unsubscribe/<token>``: a GET only shows a
  page with a button (mail scanners fetch every link); the POST acts. The unsubscribe
  POST takes RFC 8058's ``List-Unsubscribe=One-Click`` body with no page, cookie or
  CSRF token.

No answer says whether an address is on the list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from ..clickdb import get_click_store
from ..desk.auth import secret_key
from ..mail import MailError, MailSettings, UnsupportedAddressError, mail_settings
from ..readers import AddressError, Consent, TokenError, normalize_email, records, tokens
from ..readers.confirmation import send_confirmation
from ..readers.consent import VERSION, consent_text
from ..readers.limits import ADDRESS_LIMIT, CLIENT_LIMIT, address_key, allow, client_key, prune
from ..templating import render as render_template
from ..urls import PLACEMENTS, SignupForm
from . import header_hook, storefront

logger = logging.getLogger(__name__)

bp = Blueprint("readers", __name__)

EXTENSION = "readers"
MIN_FILL = timedelta(seconds=1.5)  # a person takes longer to type an address and press
MAX_FIELD = 4096  # characters of any field read (a 10 KB address is refused, not parsed)
HONEYPOT = "website"
THANKS = (
    "Thank you. If this address can receive our news, an e-mail is on its way to it: "
    "open the link inside to confirm. Nothing else is sent until you do."
)


@dataclass
class ReaderList:
    mail: MailSettings | None
    secret_key: str


def init_app(app: Flask) -> None:
    """Read the mail settings (a bad one stops the app) and open the form when they are set."""
    mail = mail_settings(app.config)  # raises MailSettingsError, a SettingsError
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(app.instance_path)
    key = app.config["SECRET_KEY"]
    app.extensions[EXTENSION] = ReaderList(mail, key)
    if mail is None:
        return
    sf = app.extensions["storefront"]
    catalog = sf.catalog
    sf.urls.signup = SignupForm(
        action=sf.urls.absolute("/readers/subscribe"),
        token=lambda: tokens.make_token(key, tokens.FORM, 0, now=_today()),
        text=consent_text(catalog.site.title, catalog.site.author),
        version=VERSION,
    )


def _today() -> datetime:
    """Midnight UTC: the instant in the token of a cached page's form.

    A cached page cannot tell when a reader opened it, so its token only says the form
    came from this site; being the same in every worker, it keeps one ETag per page.
    The sign-up page and the card's script (``/readers/token``) get exact instants.
    """
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def reader_list() -> ReaderList:
    found = current_app.extensions[EXTENSION]
    if found.mail is None:
        abort(404, "This site has no reader list (its mail settings are not set).")
    return found


def _engine():
    store = get_click_store()
    store.ensure_schema()
    return store.engine


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _field(name: str) -> str:
    return (request.form.get(name) or "")[:MAX_FIELD]


def _answer(message: str, status: int = 200, *, ok: bool = True, form: dict | None = None):
    if _wants_json():
        response = jsonify(ok=ok, message=message)
        response.status_code = status
        return response
    sf = storefront()
    html = render_template(
        "readers/answer.html",
        site=sf.catalog.site,
        urls=sf.urls,
        message=message,
        ok=ok,
        form=form,
        fresh_token=tokens.make_token(current_app.extensions[EXTENSION].secret_key, tokens.FORM, 0),
        book=next((b for b in sf.catalog.books if form and b.slug == form["book"]), None),
    )
    return Response(html, status, mimetype="text/html")


@bp.get("/readers/subscribe")
def signup_page() -> Response:
    """The sign-up page: the form alone, with a fresh fill-time token."""
    reader_list()
    sf = storefront()
    book = request.args.get("book") or None
    if book is not None and book not in {b.slug for b in sf.catalog.books}:
        book = None
    src = request.args.get("src")
    return _answer("", form={"book": book, "src": src if src in PLACEMENTS else "page"})


@bp.get("/readers/token")
def form_token() -> Response:
    """A fresh fill-time token, for a card's script to put in its form."""
    found = reader_list()
    return jsonify(token=tokens.make_token(found.secret_key, tokens.FORM, 0))


@bp.post("/readers/subscribe")
def subscribe() -> Response:
    """Take a sign-up; answer the same whether the address is new, known or a bot's."""
    found = reader_list()
    sf = storefront()
    catalog = sf.catalog
    now = datetime.now(UTC)  # the fill time is the reader's real time, not a preview clock
    src = _field("src")
    src = src if src in PLACEMENTS else "other"
    book = _field("book") or None
    again = {"book": book, "src": src}
    if book is not None and book not in {b.slug for b in catalog.books}:
        return _answer(f"There is no book '{book[:64]}' here.", 400, ok=False, form=again)
    topics = tuple(t for t in records.TOPICS if t in request.form.getlist("topics"))
    try:
        email = normalize_email(_field("email"))
    except AddressError as exc:
        return _answer(str(exc), 400, ok=False, form=again)
    if not topics:
        return _answer(
            "Choose what to hear about: sales, new books or both.", 400, ok=False, form=again
        )
    if _is_bot(found.secret_key, now):
        logger.info("readers: a sign-up looked automated; nothing sent")
        return _answer(THANKS)
    consent = Consent(
        text=consent_text(catalog.site.title, catalog.site.author),
        version=VERSION,
        form=src,
        page=(_field("page") or request.referrer or "")[:500] or None,
    )
    engine = _engine()
    try:
        with engine.begin() as conn:
            prune(conn, now)
            if not allow(
                conn, client_key(found.secret_key, request.remote_addr), CLIENT_LIMIT, now
            ) or not allow(conn, address_key(email), ADDRESS_LIMIT, now):
                logger.info("readers: sign-up over the rate limit; nothing sent")
                return _answer(THANKS)
            reader_id = records.sign_up(
                conn, email, topics=topics, book=book, consent=consent, at=now
            )
            previous = (
                records.claim_confirmation_mail(conn, reader_id, now)
                if reader_id is not None
                else False
            )
    except SQLAlchemyError:
        logger.exception("readers: the database refused a sign-up")
        return _answer(
            "Sorry, sign-up is not working right now. Please try again later.",
            503,
            ok=False,
            form=again,
        )
    if previous is False:
        return _answer(THANKS)
    try:
        send_confirmation(found.mail, catalog, sf.urls, found.secret_key, reader_id, email, book)
    except UnsupportedAddressError:
        _release(engine, reader_id, previous)
        return _answer(
            "Our mail provider cannot deliver to an address with letters outside ASCII "
            "before the @. Please use another address.",
            400,
            ok=False,
            form=again,
        )
    except MailError as exc:
        _release(engine, reader_id, previous)
        logger.warning("readers: the confirmation e-mail was not sent: %s", exc)
    return _answer(THANKS)


def _release(engine, reader_id: int, previous) -> None:
    with engine.begin() as conn:
        records.release_confirmation_mail(conn, reader_id, previous)


def _is_bot(key: str, now: datetime) -> bool:
    if request.form.get(HONEYPOT):
        return True
    try:
        age = tokens.token_age(key, tokens.FORM, _field("t"), now)
    except TokenError:
        return True
    return age < MIN_FILL.total_seconds()


def _reader_id(kind, token: str, *, expired_ok: bool = False) -> int | None:
    found = reader_list()
    try:
        return tokens.reader_id(found.secret_key, kind, token)
    except TokenError as exc:
        if expired_ok and exc.expired and exc.value is not None:
            return exc.value
        return None


def _token_page(template: str, status: int = 200, **context) -> Response:
    sf = storefront()
    html = render_template(template, site=sf.catalog.site, urls=sf.urls, **context)
    return Response(html, status, mimetype="text/html")


@bp.route("/readers/confirm/<token>", methods=("GET", "POST"))
def confirm(token: str) -> Response:
    """GET: a page with the button; POST: confirm the address."""
    reader_id = _reader_id(tokens.CONFIRM, token)
    if reader_id is None:
        return _token_page("readers/confirm.html", 400, state="invalid")
    if request.method == "GET":
        return _token_page("readers/confirm.html", state="ask", token=token)
    sf = storefront()
    consent = Consent(
        text=consent_text(sf.catalog.site.title, sf.catalog.site.author),
        version=VERSION,
        form="email",
        page=sf.urls.reader_confirm(token)[:500],
    )
    with _engine().begin() as conn:
        done = records.confirm(conn, reader_id, consent)
    if not done:
        return _token_page("readers/confirm.html", 400, state="invalid")
    unsubscribe_url = sf.urls.reader_unsubscribe(
        tokens.unsubscribe_token(reader_list().secret_key, reader_id)
    )
    return _token_page("readers/confirm.html", state="done", unsubscribe_url=unsubscribe_url)


@bp.route("/readers/unsubscribe/<token>", methods=("GET", "POST"))
def unsubscribe(token: str) -> Response:
    """GET: a page with the buttons; POST: unsubscribe (RFC 8058's one-click body too)."""
    reader_id = _reader_id(tokens.UNSUBSCRIBE, token, expired_ok=request.method == "POST")
    if reader_id is None:
        return _token_page("readers/unsubscribe.html", 400, state="invalid")
    if request.method == "GET":
        return _token_page("readers/unsubscribe.html", state="ask", token=token)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    keep = ("new-books",) if not one_click and request.form.get("keep") == "new-books" else ()
    sf = storefront()
    consent = Consent(
        text="One-click unsubscribe (RFC 8058)" if one_click else "Unsubscribe page",
        version=VERSION,
        form="email",
        page=None,
    )
    with _engine().begin() as conn:
        records.unsubscribe(conn, reader_id, keep=keep, consent=consent)
    if one_click:
        return Response("Unsubscribed.\n", 200, mimetype="text/plain")
    return _token_page(
        "readers/unsubscribe.html", state="kept" if keep else "done", site_url=sf.urls.index()
    )


@bp.after_request
@header_hook
def _headers(headers, endpoint: str | None, mimetype: str | None) -> None:
    if endpoint not in {
        "readers.subscribe",
        "readers.form_token",
        "readers.signup_page",
        "readers.confirm",
        "readers.unsubscribe",
    }:
        return
    headers["Cache-Control"] = "no-store"
    # Tokens are in these URLs: no page may pass them on in a Referer.
    headers["Referrer-Policy"] = "no-referrer"
    if endpoint in ("readers.subscribe", "readers.form_token"):
        # Cards on any host post here with fetch(); no cookie is read or set.
        headers["Access-Control-Allow-Origin"] = "*"
