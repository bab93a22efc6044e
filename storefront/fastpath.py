"""The one fast path: repeat page and card views, and plain clicks, answered before Flask runs.

Most requests a storefront gets are the same few pages and cards again (every page
view of every blog that embeds a card) and clicks on ``/go/<book>/<offer>``. Flask's
request machinery would double their cost, so :class:`FastPath`, installed once by
``create_app`` in front of Flask, answers them itself, without being a second router:

* It routes with Flask's own map: ``app.url_map.bind_to_environ(environ)`` (bound as
  Flask binds it, kept per host, port, script root and scheme) and ``.match()`` of the
  request's path and method; the map's answers are kept in a bounded table (Flask
  refuses new rules once it has answered a request). No path is parsed by hand, and
  anything the map does not match plainly (a 404, a redirect to a canonical URL,
  another method) is Flask's.
* It knows a few endpoints (:data:`ROUTES`), each by the view function it stands in
  for and the view arguments that view takes. It steps aside for a route the moment
  anything it does not know applies to it: a ``before_request`` hook (a rate limit,
  maintenance mode; Flask-WTF's CSRF check is known: it does nothing for GET and
  HEAD), a ``url_value_preprocessor``, a ``teardown_request`` function,
  an ``after_request`` hook that is not a :class:`~storefront.views.HeaderHook`, a
  view argument it does not take, a replaced view function, host or subdomain
  routing. :func:`refusals` lists them (``tests/test_fastpath.py`` asserts there are
  none in the app as built, and names what to update when one appears).
* It builds headers with the functions the views use: a page or card with
  :func:`~storefront.views.rendered_response` (ETag compared weakly, Cache-Control
  up to the next price boundary), a click with :func:`~storefront.views.go.click_redirect`
  after :meth:`~storefront.views.tracking.Clicks.record`; then every after_request
  hook (all header hooks) in Flask's order, and Werkzeug's ``get_wsgi_headers``.
  Those are pure functions of what they are given, so the result is kept per
  (answer, Cache-Control, hooks) and reused: a new hook or a new Cache-Control value
  (near a price boundary) builds it afresh.

A page or card is answered here only after Flask has answered the same route,
arguments and query string through ``send_rendered(..., replay=True)``: that answer's
rendered body is kept (a bounded LRU) while the catalog version and its price window
hold. Anything else goes to Flask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter
from werkzeug.wsgi import get_path_info

from .lru import LRU
from .state import Rendered
from .views import REPLAY_MARK, HeaderHook, cache_control, etag_matches, rendered_response
from .views import books as books_views
from .views import embed as embed_views
from .views import feeds as feeds_views
from .views import go as go_views
from .views import shelf as shelf_views
from .views.tracking import find_offer

logger = logging.getLogger(__name__)

REPLAY = "replay"  # a rendered page or card, answered again from its rendered body
CLICK = "click"  # a plain click on an offer: recorded, then the 302


@dataclass(frozen=True)
class FastRoute:
    """What the fast path knows of one endpoint: the view it stands in for, its arguments."""

    view: Callable[..., Any]
    args: frozenset[str]
    kind: str  # REPLAY or CLICK
    methods: frozenset[str] = frozenset({"GET"})


ROUTES: dict[str, FastRoute] = {
    "books.index": FastRoute(books_views.index, frozenset(), REPLAY),
    "books.book_page": FastRoute(books_views.book_page, frozenset({"slug"}), REPLAY),
    "embed.card_page": FastRoute(embed_views.card_page, frozenset({"slug"}), REPLAY),
    "embed.fragment": FastRoute(embed_views.fragment, frozenset({"slug"}), REPLAY),
    "embed.widget_js": FastRoute(embed_views.widget_js, frozenset(), REPLAY),
    "embed.oembed": FastRoute(embed_views.oembed, frozenset(), REPLAY),
    "shelf.author": FastRoute(shelf_views.author, frozenset({"slug"}), REPLAY),
    "shelf.series": FastRoute(shelf_views.series, frozenset({"slug"}), REPLAY),
    "shelf.card": FastRoute(shelf_views.card, frozenset(), REPLAY),
    "shelf.fragment": FastRoute(shelf_views.fragment, frozenset(), REPLAY),
    **{
        f"feeds.{name}": FastRoute(getattr(feeds_views, name), frozenset(), REPLAY)
        for name in ("sitemap", "robots", "feed", "favicon")
    },
    # HEAD too: a HEAD on a tracked link is recorded (as "head") like a GET.
    "go.go": FastRoute(
        go_views.go, frozenset({"book_slug", "offer_slug"}), CLICK, frozenset({"GET", "HEAD"})
    ),
}


@cache
def _scopes(endpoint: str) -> tuple[str | None, ...]:
    """The hook scopes Flask applies to ``endpoint``: its blueprints (innermost first), the app."""
    names: list[str | None] = []
    blueprint = endpoint.rpartition(".")[0]
    while blueprint:
        names.append(blueprint)
        blueprint = blueprint.rpartition(".")[0]
    return (*names, None)


def _name(func: object) -> str:
    module = getattr(func, "__module__", "?")
    return f"{module}.{getattr(func, '__qualname__', repr(func))}"


def _csrf_is_idle(app: Flask, method: str) -> bool:
    """Flask-WTF's ``CSRFProtect`` hook does nothing for a method it does not protect."""
    config = app.config
    return (
        not config.get("WTF_CSRF_ENABLED", True)
        or not config.get("WTF_CSRF_CHECK_DEFAULT", True)
        or method not in config.get("WTF_CSRF_METHODS", ("POST", "PUT", "PATCH", "DELETE"))
    )


# The before_request hooks the fast path knows, by qualified name, and when each does
# nothing at all (then skipping it changes nothing). Any other one makes it step aside.
IDLE_BEFORE_REQUEST: dict[str, Callable[[Flask, str], bool]] = {
    # flask_wtf/csrf.py (1.x), CSRFProtect.init_app: protect() returns at once for a
    # method outside WTF_CSRF_METHODS (GET and HEAD by default), before it touches anything.
    "flask_wtf.csrf.CSRFProtect.init_app.<locals>.csrf_protect": _csrf_is_idle,
}


@cache
def _idle_when(func: Callable) -> Callable[[Flask, str], bool] | None:
    return IDLE_BEFORE_REQUEST.get(_name(func))


def refusal(
    app: Flask, endpoint: str, route: FastRoute, args: Iterable[str], method: str = "GET"
) -> str | None:
    """Why the fast path may not answer ``endpoint`` with these view arguments (None: it may)."""
    view = app.view_functions.get(endpoint)
    if view is not route.view:
        return f"the view function is {_name(view)}, not {_name(route.view)}"
    if set(args) != route.args:
        return f"view arguments {sorted(args)}; the fast path takes {sorted(route.args)}"
    config = app.config
    if (
        config["SERVER_NAME"]
        or config.get("TRUSTED_HOSTS")
        or app.url_map.host_matching
        or app.subdomain_matching
    ):
        return "routing by host (SERVER_NAME, TRUSTED_HOSTS, host or subdomain matching)"
    for scope in _scopes(endpoint):
        where = f"on {scope!r}" if scope else "on the app"
        for func in app.before_request_funcs.get(scope, ()):
            idle = _idle_when(func)
            if idle is None or not idle(app, method):
                return f"before_request hook {_name(func)} {where}"
        for func in app.url_value_preprocessors.get(scope, ()):
            return f"url_value_preprocessor {_name(func)} {where}"
        for func in app.teardown_request_funcs.get(scope, ()):
            return f"teardown_request function {_name(func)} {where}"
        for func in app.after_request_funcs.get(scope, ()):
            if not isinstance(func, HeaderHook):
                return f"after_request hook {_name(func)} {where} is not a header_hook"
    return None


def refusals(app: Flask) -> dict[str, str]:
    """For each route of :data:`ROUTES` that the fast path would not answer: why.

    Empty for the app as ``create_app`` builds it. A new hook or view argument shows
    up here: make the hook a :func:`~storefront.views.header_hook` if it only sets
    headers, or teach this module what it does, or accept that Flask answers.
    """
    found: dict[str, str] = {}
    for rule in app.url_map.iter_rules():
        route = ROUTES.get(rule.endpoint)
        if route is None:
            continue
        why = None
        for method in sorted(route.methods):
            why = why or refusal(app, rule.endpoint, route, rule.arguments, method)
        if why is None and not route.methods <= (rule.methods or set()):
            why = f"the rule {rule.rule} does not answer {sorted(route.methods)}"
        if why is not None:
            found[f"{rule.endpoint} ({rule.rule})"] = why
    for endpoint in ROUTES.keys() - {rule.endpoint for rule in app.url_map.iter_rules()}:
        found[endpoint] = "no such endpoint in the app"
    return found


def header_hooks(app: Flask, endpoint: str) -> tuple[HeaderHook, ...]:
    """The after_request hooks Flask runs for ``endpoint``, in its order (all header hooks)."""
    funcs = app.after_request_funcs
    return tuple(hook for scope in _scopes(endpoint) for hook in reversed(funcs.get(scope, ())))


def wsgi_answer(
    response: Response, endpoint: str, hooks: tuple[HeaderHook, ...], environ
) -> tuple[str, list[tuple[str, str]]]:
    """The status line and WSGI headers of ``response`` after the app's header hooks."""
    for hook in hooks:
        hook.set_headers(response.headers, endpoint, response.mimetype)
    # The response's own WSGI headers (Location as a URI, a 304 without entity headers).
    return response.status, response.get_wsgi_headers(environ).to_wsgi_list()


@dataclass
class _Replay:
    version: str  # the catalog version the body was rendered from
    rendered: Rendered
    cache: dict[str, int]  # send_rendered's max_age/swr, to recompute Cache-Control
    extra: tuple[tuple[str, str], ...]  # the view's own headers (a CSP)
    # (status, Cache-Control, hooks) -> the answer rendered_response and the hooks built:
    # the same headers every time until Cache-Control nears a price boundary.
    answers: LRU[tuple[str, list[tuple[str, str]]]] = field(default_factory=lambda: LRU(16))


class FastPath:
    """WSGI middleware in front of Flask: see the module docstring."""

    def __init__(self, app: Flask, routes: dict[str, FastRoute] | None = None, size: int = 1024):
        self.app = app
        self.wsgi_app = app.wsgi_app  # Flask itself: everything else goes there
        self.routes = ROUTES if routes is None else routes
        self._replays: LRU[_Replay] = LRU(size)  # rendered answers
        # Flask's map bound to a host, script root and scheme (bind_to_environ), per such
        # triple: binding costs as much as matching, and a site has one or two of them
        # (a flood of Host headers only churns this).
        self._adapters: LRU[MapAdapter] = LRU(64)
        self._matches: LRU[tuple[str, dict]] = LRU(4096)  # (where, path, method) -> match
        # (target, hooks) -> the redirect's status and headers, per catalog URL and country.
        self._redirects: LRU[tuple[str, list[tuple[str, str]]]] = LRU(4096)

    @property
    def size(self) -> int:
        """How many rendered answers are kept."""
        return self._replays.size

    @size.setter
    def size(self, value: int) -> None:
        self._replays.size = value

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if (method == "GET" or method == "HEAD") and "HTTP_UPGRADE" not in environ:
            where = (
                environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
                environ.get("SERVER_PORT"),
                environ.get("SCRIPT_NAME", ""),
                environ.get("wsgi.url_scheme"),
            )
            matched = self._matches.get((where, environ.get("PATH_INFO"), method))
            if matched is None:
                try:
                    matched = self._match(where, environ, method)
                except HTTPException:
                    # Not found, another method, a redirect to the canonical URL: Flask's.
                    return self.wsgi_app(environ, start_response)
            endpoint, args = matched
            route = self.routes.get(endpoint)
            if (
                route is not None
                and method in route.methods
                and refusal(self.app, endpoint, route, args, method) is None
            ):
                hooks = header_hooks(self.app, endpoint)
                if route.kind == CLICK:
                    return self._click(environ, start_response, endpoint, args, hooks)
                return self._replay(environ, start_response, endpoint, args, hooks)
        return self.wsgi_app(environ, start_response)

    def _match(self, where: tuple, environ, method: str) -> tuple[str, dict]:
        """Flask's map, bound as Flask binds it, matched against the request's path."""
        adapter = self._adapters.get(where)
        if adapter is None:
            # No SERVER_NAME, no host or subdomain matching: refusal() sends those to Flask.
            url_map = self.app.url_map
            adapter = self._adapters.put(
                where, url_map.bind_to_environ(environ, subdomain=url_map.default_subdomain or "")
            )
        matched = adapter.match(get_path_info(environ), method)
        # The map's answers are kept (bounded): Flask refuses new rules once it has
        # answered a request, so an answer cannot go stale.
        return self._matches.put((where, environ.get("PATH_INFO"), method), matched)

    # -- answers

    def _click(self, environ, start_response, endpoint: str, args: dict, hooks: tuple):
        clicks = self.app.extensions.get("go")
        plan = None
        try:
            if clicks is not None:
                plan = self._plain_click(clicks, environ, args)
            if plan is not None:
                # Storing is record()'s last step and never raises: a failure here came
                # before the click was kept, so Flask may answer it instead.
                target, _ = clicks.record(environ, *plan)
        except Exception:
            logger.exception("fast path: a click on %s failed; Flask answers", endpoint)
            plan = None
        if plan is None:
            return self.wsgi_app(environ, start_response)
        key = (target, hooks)
        answer = self._redirects.get(key)
        if answer is None:
            response = go_views.click_redirect(target)
            answer = self._redirects.put(key, wsgi_answer(response, endpoint, hooks, environ))
        start_response(answer[0], list(answer[1]))  # a copy: a server may extend it
        return []

    def _plain_click(self, clicks, environ, args: dict):
        found = find_offer(clicks.sf.catalog, args["book_slug"], args["offer_slug"])
        if found is None:
            return None  # Flask answers the 404 page
        query = self.app.request_class(environ).args  # parsed exactly as the view parses it
        if "remember" in query:
            return None  # may set a cookie: the view's
        return (*found, query.get("src"), query.get("c"))

    def _replay(self, environ, start_response, endpoint: str, args: dict, hooks: tuple):
        key = (endpoint, tuple(sorted(args.items())), environ.get("QUERY_STRING", ""))
        entry = self._replays.get(key)
        if entry is not None:
            sf = self.app.extensions["storefront"]
            at = sf.now()
            rendered = entry.rendered
            if sf.catalog.version == entry.version and rendered.is_valid(at):
                if_none_match = environ.get("HTTP_IF_NONE_MATCH")
                status = 304 if etag_matches(if_none_match, rendered.etag) else 200
                how = (status, cache_control(rendered, at, **entry.cache), hooks)
                answer = entry.answers.get(how)
                if answer is None:
                    response = rendered_response(
                        rendered, at, if_none_match, entry.cache, entry.extra
                    )
                    answer = entry.answers.put(how, wsgi_answer(response, endpoint, hooks, environ))
                start_response(answer[0], list(answer[1]))  # a copy: a server may extend it
                return [rendered.body] if status == 200 else []
        return self._learn(key, environ, start_response)

    def _learn(self, key: tuple, environ, start_response):
        """Let Flask answer; keep what it rendered if the view opted in and all went well."""
        sf = self.app.extensions["storefront"]
        version = sf.catalog.version
        answered: list = []

        def capture(status, headers, exc_info=None):
            answered[:] = [status, headers, exc_info]
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        mark = environ.get(REPLAY_MARK)
        if mark is None or not answered or answered[2] is not None:
            return body
        status, headers, _ = answered
        names = {name.lower() for name, _ in headers}
        if (
            status[:3] not in ("200", "304")
            # A reload while Flask answered: the body may be from either version.
            or sf.catalog.version != version
            # Per-client answers (a session refreshed, a varying answer) are Flask's.
            or "set-cookie" in names
            or "vary" in names
        ):
            return body
        rendered, cache, extra = mark
        self._replays.put(key, _Replay(version, rendered, cache, extra))
        return body
