"""The Flask application factory."""

from __future__ import annotations

import logging
from importlib import import_module

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import clickdb
from .fastpath import FastPath
from .mail import sender
from .settings import (
    SettingsError,
    coerce_settings,
    ensure_instance_folder,
    instance_folder,
    read_environ,
)
from .state import CatalogStore, Storefront, make_clock, parse_now
from .urls import DEFAULT_BASE_URL
from .views import header_hook

logger = logging.getLogger(__name__)

# One blueprint per module under storefront/views; each module has `bp`
# and may have `init_app(app)` for teardown handlers or extra set-up.
VIEW_MODULES = (
    *("errors", "books", "sample", "audio", "embed", "go", "admin", "flyer", "desk"),
    *("shelf", "feeds", "press", "read", "readers"),
)


# Every setting, as STOREFRONT_<NAME> in the environment or <NAME> in
# instance/config.py. tests/test_docs.py checks each is documented.
DEFAULTS = {
    "CATALOG": None,  # path to the catalog TOML; None: the built-in one
    "DATABASE_URL": None,  # SQLAlchemy URL; None: SQLite in the instance folder
    "BASE_URL": None,  # public URL for widgets, samples, flyers, QR codes
    "ADMIN_TOKEN": None,  # admin pages exist only when this is set
    "NOW": None,  # preview instant (ISO 8601 with offset)
    "COUNTRY_HEADER": None,  # trusted proxy header with the reader's country, e.g. CF-IPCountry
    "CATALOG_RELOAD_INTERVAL": 1.0,  # seconds between checks of the catalog file
    "CLICK_BUDGET": 0.05,  # seconds a redirect may wait on click storage before spooling
    "DATABASE_TIMEOUT": 0.25,  # seconds the database may take (busy, statement, lock timeouts)
    "SPOOL_REPLAY_INTERVAL": 5.0,  # seconds between replays of spooled clicks while any wait
    "REPEAT_WINDOW": 1800,  # seconds in which a reader's second click on an offer is a repeat
    "PROXY_COUNT": 0,  # reverse proxies in front whose X-Forwarded-* headers are trusted
    "SECRET_KEY": None,  # signs the desk's session; None: generated into the instance folder
    "CATALOG_SYNC_INTERVAL": 5.0,  # seconds between checks for a newer catalog in the database
    "SMTP_URL": None,  # the reader list's mail provider: smtp:// (STARTTLS) or smtps:// (TLS)
    "MAIL_FROM": None,  # the sender of mail to readers; unset: no sign-up form
    "MAIL_RATE": 10.0,  # messages per second the provider accepts
    "MAIL_SEND_INTERVAL": 5.0,  # seconds between each server's looks at the outbox; 0: none
}
# Not settings: set by tests (CLOCK: a callable returning an aware datetime) or fixed.
INTERNAL = {"CLOCK": None, "MAX_CONTENT_LENGTH": 64 * 1024}


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Create the app: defaults, then instance config, then ``STOREFRONT_*`` (or ``test_config``).

    The catalog is loaded and validated here: a broken catalog raises
    :class:`storefront.catalog.CatalogError` and the app never serves; a bad
    setting or an instance folder that cannot be made raises
    :class:`storefront.settings.SettingsError`. The instance folder is
    ``instance_path``, else ``$STOREFRONT_INSTANCE_PATH``, else ``./instance``.
    """
    folder = instance_folder(instance_path)
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(folder),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(INTERNAL)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        # Raw strings: from_prefixed_env would parse JSON (an ADMIN_TOKEN 1.50 becomes 1.5).
        app.config.from_mapping(read_environ(tuple(DEFAULTS)))
    else:
        app.config.from_mapping(test_config)
    app.config.from_mapping(coerce_settings(app.config, DEFAULTS))  # raises SettingsError
    ensure_instance_folder(folder)

    catalog_store = CatalogStore(app.config["CATALOG"], app.config["CATALOG_RELOAD_INTERVAL"])
    site_base = catalog_store.get().site.base_url
    base_url = app.config["BASE_URL"] or site_base or DEFAULT_BASE_URL
    try:
        clock = app.config["CLOCK"] or make_clock(parse_now(app.config["NOW"]))
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    app.extensions["storefront"] = Storefront(catalog_store, base_url, clock)

    # "/books//genesis" is a 404, not a 308 to an absolute URL built from the
    # request's Host header (which a client can set to anything).
    app.url_map.merge_slashes = False
    app.after_request(_security_headers)
    clickdb.init_app(app)
    for name in VIEW_MODULES:
        module = import_module(f".views.{name}", __package__)
        app.register_blueprint(module.bp)
        if hasattr(module, "init_app"):
            module.init_app(app)
    # After the views: the unsubscribe links are signed with the desk's SECRET_KEY.
    sender.init_app(app)
    # Repeat GETs of cached pages and cards, and plain clicks, are answered before
    # Flask runs, routed by app.url_map (storefront/fastpath.py). Installed last and
    # innermost: middleware that rewrites the environ (ProxyFix) must wrap it.
    app.wsgi_app = FastPath(app)
    proxies = app.config["PROXY_COUNT"]
    if proxies > 0:
        # Outermost, so every layer (fast paths included) sees the reader's own address,
        # scheme and host; without the setting, X-Forwarded-* headers are ignored.
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    return app


# Pages run no script; cards and embeds set their own, stricter or framable, policy.
DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)


@header_hook  # headers only: the fast path applies it too
def _security_headers(headers, endpoint, mimetype):
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
