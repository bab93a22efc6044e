"""Check that the catalog's outbound links still work, with ``requests``.

One :class:`requests.Session` (connection pooling, a clear User-Agent) checks
every link: HEAD first, GET where a server refuses HEAD or answers with an
error (some servers only get HEAD wrong), redirects followed one hop at a
time so the chain is recorded and loops are caught, retries with backoff on
429 and 5xx honouring ``Retry-After``. Links are checked concurrently by a
bounded pool, and each host is asked politely: at most ``per_host`` requests
in flight, a minimum interval between them, and a host that says "retry
after N seconds" is left alone that long by every worker.

Each link ends in one :class:`Status`. A bot wall (a 403/503 challenge page,
an Akamai "Access Denied", LinkedIn's 999) is ``blocked``: the store
refuses robots, which says nothing about whether a reader's browser gets
the page, so it is not called broken.

Pure: no Flask. The CLI (``storefront links check``) and the static export's
tests use the same functions.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from http import HTTPStatus
from urllib.parse import quote_plus, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from . import __version__
from .catalog import Catalog, Vendor, iter_urls
from .links import clean_amazon_url, finish_url, search_query

logger = logging.getLogger(__name__)

USER_AGENT = (
    f"StorefrontLinkCheck/{__version__} (link health for an author's own store; "
    "checks each catalog link with one HEAD or GET)"
)


class Status(StrEnum):
    """How a link ended; see :data:`BROKEN` and :data:`TRANSIENT` for what fails a run."""

    OK = "ok"
    REDIRECTED = "redirected"
    BLOCKED = "blocked"  # a bot wall or "forbidden to robots": not evidence of a dead link
    RATE_LIMITED = "rate-limited"  # still 429 after the retries
    SERVER_ERROR = "server-error"  # still 5xx after the retries
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"  # connection refused or dropped
    BROKEN = "broken"  # 404, 410 and other client errors
    REDIRECT_LOOP = "redirect-loop"
    DNS = "dns-failure"
    TLS = "tls-failure"
    INVALID = "invalid"  # not a URL requests can fetch

    @property
    def is_broken(self) -> bool:
        return self in BROKEN

    @property
    def is_transient(self) -> bool:
        return self in TRANSIENT


# A reader following these gets nothing, today and tomorrow: fix the catalog.
BROKEN = frozenset({Status.BROKEN, Status.REDIRECT_LOOP, Status.DNS, Status.TLS, Status.INVALID})
# These may pass by themselves; `--strict` fails a run on them too.
TRANSIENT = frozenset(
    {Status.RATE_LIMITED, Status.SERVER_ERROR, Status.TIMEOUT, Status.UNREACHABLE}
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_FORBIDDEN = frozenset({401, 403, 451, 999})  # 999: LinkedIn's "no robots"
_SNIFF_BYTES = 64 * 1024

# Lower-case fragments of challenge pages (Cloudflare, Amazon, Akamai, DataDome,
# PerimeterX, Imperva) and headers their walls set.
CHALLENGE_MARKERS = (
    "captcha",
    "cf-chl",
    "challenge-platform",
    "just a moment...",
    "attention required",
    "are you a robot",
    "not a robot",
    "robot check",
    "automated access",
    "verify you are human",
    "unusual traffic",
    "access denied",
    "ddos protection",
    "_incapsula_resource",
    "perimeterx",
    "datadome",
)
CHALLENGE_HEADERS = ("cf-mitigated", "x-datadome", "x-amzn-waf-action", "x-px-block")


@dataclass(frozen=True)
class CheckConfig:
    """Time bounds and politeness; every figure is in seconds."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    retries: int = 2  # extra attempts on 429/5xx
    backoff: float = 0.5  # wait backoff * 2**n before retry n (when no Retry-After)
    max_retry_after: float = 30.0  # a longer Retry-After is not waited for
    max_redirects: int = 10
    max_time: float = 60.0  # per link, retries and waits included
    concurrency: int = 8
    per_host: int = 2
    host_interval: float = 0.0  # minimum gap between two requests to one host
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")
        if min(self.connect_timeout, self.read_timeout, self.max_time) <= 0:
            raise ValueError("timeouts must be positive")


@dataclass(frozen=True)
class Hop:
    """One redirect followed: the status and the URL that answered it."""

    status: int
    url: str


@dataclass(frozen=True)
class LinkResult:
    """What happened when one URL was checked."""

    url: str
    status: Status
    http_status: int | None = None
    final_url: str | None = None  # where the redirects ended
    chain: tuple[Hop, ...] = ()
    detail: str = ""
    method: str = "HEAD"
    attempts: int = 1
    elapsed: float = 0.0

    def to_dict(self) -> dict:
        return {
            "url": self.url,
            "status": str(self.status),
            "http_status": self.http_status,
            "final_url": self.final_url,
            "chain": [{"status": h.status, "url": h.url} for h in self.chain],
            "detail": self.detail,
            "method": self.method,
            "attempts": self.attempts,
            "elapsed": round(self.elapsed, 3),
        }


@dataclass(frozen=True)
class Link:
    """A URL from the catalog and where it came from (for grouping the report)."""

    key: str  # "genesis/kindle[GB]", "support/patreon"
    url: str
    kind: str  # offer, country store, affiliate, store search, quote source, support
    book: str | None = None  # None: not a book's link (support methods)
    vendor: str | None = None  # None: not a store (quotes, support)
    clean_url: str | None = None  # an Amazon URL without tracking junk, when it differs

    @property
    def group(self) -> tuple[str, str]:
        return (self.book or "(site)", self.vendor or self.kind)


@dataclass(frozen=True)
class LinkReport:
    link: Link
    result: LinkResult

    def to_dict(self) -> dict:
        return {
            "key": self.link.key,
            "kind": self.link.kind,
            "book": self.link.book,
            "vendor": self.link.vendor,
            "clean_url": self.link.clean_url,
            **self.result.to_dict(),
        }


# --------------------------------------------------------------------------- links


def catalog_links(catalog: Catalog) -> list[Link]:
    """List every URL the catalog sends readers to, each with its book, vendor and kind.

    Offers and their country stores; the vendors' search fallbacks for each
    title; the affiliate-tagged form of each of those that readers are really
    redirected to (:func:`storefront.links.finish_url`); quote sources and
    support links. Amazon URLs carrying tracking junk get their clean form.
    """
    links: list[Link] = []
    seen: set[tuple[str, str]] = set()

    def add(key: str, url: str, kind: str, book: str | None, vendor: str | None) -> None:
        if (key, url) in seen:
            return
        seen.add((key, url))
        clean = clean_amazon_url(url)
        links.append(Link(key, url, kind, book, vendor, clean if clean != url else None))

    def add_store(key, url, kind, book, vendor: Vendor, marketplace: str) -> None:
        add(key, url, kind, book, vendor.slug)
        tagged = finish_url(url, vendor, marketplace, default_country)
        if vendor.affiliate is not None and tagged != clean_amazon_url(url):
            add(f"{key}+tag", tagged, "affiliate", book, vendor.slug)

    default_country = catalog.site.default_country
    for book in catalog.books:
        for offer in book.offers:
            vendor = catalog.vendor(offer.vendor)
            base = f"{book.slug}/{offer.slug}"
            add_store(base, offer.url, "offer", book.slug, vendor, default_country)
            for country, url in offer.countries.items():
                add_store(f"{base}[{country}]", url, "country store", book.slug, vendor, country)
        query = quote_plus(search_query(book))
        for slug in dict.fromkeys(o.vendor for o in book.offers):
            vendor = catalog.vendor(slug)
            searches = [("", vendor.search_url, default_country)]
            searches += [(f"[{c}]", u, c) for c, u in vendor.country_search.items()]
            for suffix, template, marketplace in searches:
                if template:
                    url = template.replace("{query}", query)
                    key = f"{book.slug}/search:{slug}{suffix}"
                    add_store(key, url, "store search", book.slug, vendor, marketplace)
        for i, quote in enumerate(book.quotes):
            if quote.url:
                add(f"{book.slug}/quotes[{i}]", quote.url, "quote source", book.slug, None)
    for method in catalog.support:
        if method.url:
            add(f"support/{method.slug}", method.url, "support", None, None)

    # The catalog's own list is the contract: nothing it yields may be missed here.
    known = {link.url for link in links}
    for key, url in iter_urls(catalog):
        if url not in known:
            links.append(Link(key, url, "other"))
            known.add(url)
    return links


# --------------------------------------------------------------------------- checking


class _Host:
    """Politeness state for one host: in-flight limit, spacing, and a "not before" time."""

    def __init__(self, per_host: int):
        self.slots = threading.BoundedSemaphore(per_host)
        self.lock = threading.Lock()
        self.last = 0.0
        self.not_before = 0.0
        self.head_refused = False  # answered HEAD with 405/501: ask with GET from now on


class LinkChecker:
    """Check URLs with one pooled session; safe to use from many threads."""

    def __init__(self, config: CheckConfig | None = None, session: requests.Session | None = None):
        self.config = config or CheckConfig()
        self.session = session or make_session(self.config)
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> LinkChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _host(self, url: str) -> _Host:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}".lower()
        with self._hosts_lock:
            host = self._hosts.get(key)
            if host is None:
                host = self._hosts[key] = _Host(self.config.per_host)
            return host

    def check_many(
        self, urls: Iterable[str], progress: Callable[[LinkResult], None] | None = None
    ) -> dict[str, LinkResult]:
        """Check each distinct URL once, ``concurrency`` at a time; map URL to result."""
        unique = list(dict.fromkeys(urls))
        results: dict[str, LinkResult] = {}
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            for url, result in zip(unique, pool.map(self.check, unique), strict=True):
                results[url] = result
                if progress:
                    progress(result)
        return results

    def check(self, url: str) -> LinkResult:
        """Check one URL: follow redirects, retry, fall back to GET, classify."""
        started = time.monotonic()
        deadline = started + self.config.max_time
        chain: list[Hop] = []
        seen = {url}
        current = url
        attempts = 0
        method = "HEAD"
        while True:
            outcome = self._fetch(current, deadline)
            attempts += outcome.attempts
            method = outcome.method
            elapsed = time.monotonic() - started
            result: dict = dict(
                url=url, chain=tuple(chain), method=method, attempts=attempts, elapsed=elapsed
            )
            if outcome.error is not None:
                status, detail = classify_error(outcome.error, current)
                return LinkResult(status=status, detail=detail, final_url=current, **result)
            code = outcome.status
            if code in _REDIRECTS and outcome.location:
                target = urljoin(current, outcome.location)
                chain.append(Hop(code, current))
                result["chain"] = tuple(chain)
                stop = None
                if urlsplit(target).scheme not in ("http", "https"):
                    stop = Status.INVALID, f"redirects to a non-web URL {target}"
                elif target in seen:
                    stop = Status.REDIRECT_LOOP, f"redirect loop back to {target}"
                elif len(chain) > self.config.max_redirects:
                    stop = Status.REDIRECT_LOOP, f"more than {self.config.max_redirects} redirects"
                if stop:
                    status, detail = stop
                    return LinkResult(
                        status=status, http_status=code, final_url=target, detail=detail, **result
                    )
                seen.add(target)
                current = target
                continue
            status, detail = classify_response(code, outcome.headers, outcome.body, outcome.note)
            if status is Status.OK and chain:
                status = Status.REDIRECTED
                kinds = "permanent" if all(h.status in (301, 308) for h in chain) else "temporary"
                detail = f"{len(chain)} {kinds} redirect(s) to {current}"
            return LinkResult(
                status=status, http_status=code, final_url=current, detail=detail, **result
            )

    # -- one hop, with retries

    def _fetch(self, url: str, deadline: float) -> _Outcome:
        host = self._host(url)
        attempts = 0
        while True:
            attempts += 1
            try:
                outcome = self._ask(url, host, deadline)
            except _OutOfTime as exc:
                return _Outcome(attempts=attempts - 1, method="HEAD", error=exc)
            except Exception as exc:  # noqa: BLE001 - classified, never fatal to the run
                return _Outcome(
                    attempts=attempts, method="GET" if host.head_refused else "HEAD", error=exc
                )
            outcome.attempts = attempts
            if outcome.status not in RETRY_STATUSES or is_challenge(outcome.headers, outcome.body):
                return outcome  # a challenge page is not asked again: that is what walls punish
            wait = retry_after(outcome.headers.get("Retry-After"))
            if wait is None:
                wait = self.config.backoff * 2 ** (attempts - 1)
            elif wait > self.config.max_retry_after:
                outcome.note = f"asked to retry after {wait:.0f} s; not waited for"
                return outcome
            if attempts > self.config.retries:
                outcome.note = f"after {attempts} attempts"
                return outcome
            if time.monotonic() + wait > deadline:
                outcome.note = f"after {attempts} attempt(s); the next would pass --max-time"
                return outcome
            with host.lock:
                # Every worker leaves this host alone for the wait, not just this one.
                host.not_before = max(host.not_before, time.monotonic() + wait)
            logger.debug("%s answered %s; retrying in %.2f s", url, outcome.status, wait)

    def _ask(self, url: str, host: _Host, deadline: float) -> _Outcome:
        """One request (HEAD, then GET when needed) under the host's politeness rules."""
        config = self.config
        with host.slots:
            self._wait_turn(host, deadline)
            if not host.head_refused:
                response = self._send("HEAD", url)
                if response.status_code in (405, 501):
                    host.head_refused = True
                # Below 400 HEAD says it all; a 429 or a Retry-After asks us to wait, and
                # a GET now would ignore that. Other errors are confirmed with GET.
                if response.status_code < 400 or (
                    response.status_code == 429 or "Retry-After" in response.headers
                ):
                    response.close()
                    return _Outcome(
                        method="HEAD",
                        status=response.status_code,
                        headers=response.headers,
                        location=response.headers.get("Location"),
                    )
                response.close()
                if time.monotonic() + config.connect_timeout > deadline:
                    raise _OutOfTime("no time left for the GET after HEAD failed")
            response = self._send("GET", url)
            try:
                body = b""
                if response.status_code >= 400:
                    # Enough of the body to tell a challenge page from a plain error.
                    body = response.raw.read(_SNIFF_BYTES, decode_content=True) or b""
            except Exception:  # noqa: BLE001 - a body that fails to read is still an answer
                body = b""
            finally:
                response.close()
            return _Outcome(
                method="GET",
                status=response.status_code,
                headers=response.headers,
                location=response.headers.get("Location"),
                body=body,
            )

    def _wait_turn(self, host: _Host, deadline: float) -> None:
        with host.lock:
            start = max(time.monotonic(), host.not_before, host.last + self.config.host_interval)
            host.last = start
        pause = start - time.monotonic()
        if start > deadline:
            raise _OutOfTime(f"the host asked for a pause of {pause:.1f} s, past --max-time")
        if pause > 0:
            time.sleep(pause)

    def _send(self, method: str, url: str) -> requests.Response:
        return self.session.request(
            method,
            url,
            allow_redirects=False,
            stream=True,
            timeout=(self.config.connect_timeout, self.config.read_timeout),
        )


class _OutOfTime(Exception):
    """The link's --max-time would pass before the next request could start."""


@dataclass
class _Outcome:
    method: str
    status: int = 0
    headers: requests.structures.CaseInsensitiveDict | dict = field(default_factory=dict)
    location: str | None = None
    body: bytes = b""
    attempts: int = 1
    error: BaseException | None = None
    note: str = ""


def make_session(config: CheckConfig) -> requests.Session:
    """A session pooling ``per_host`` connections per host, with no hidden retries."""
    session = requests.Session()
    # Retries are ours (they honour Retry-After across workers); urllib3's stay off.
    adapter = HTTPAdapter(
        pool_connections=max(config.concurrency, 10), pool_maxsize=config.per_host, max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(
        {
            "User-Agent": config.user_agent,
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
            "Accept-Language": "en",
        }
    )
    return session


# --------------------------------------------------------------------------- classifying


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_challenge(headers, body: bytes) -> bool:
    """Return True when a response looks like a bot wall rather than the page itself."""
    if any(name in headers for name in CHALLENGE_HEADERS):
        return True
    text = body[:_SNIFF_BYTES].decode("utf-8", "replace").lower()
    return any(marker in text for marker in CHALLENGE_MARKERS)


def classify_response(code: int, headers, body: bytes, note: str = "") -> tuple[Status, str]:
    """Classify a final (non-redirect) HTTP answer."""
    try:
        reason = HTTPStatus(code).phrase
    except ValueError:
        reason = ""
    text = f"{code} {reason}".strip() + (f" ({note})" if note else "")
    if 200 <= code < 300:
        return Status.OK, text
    if code < 400:
        return Status.BROKEN, f"{text}: a redirect without a Location"
    if is_challenge(headers, body):
        return Status.BLOCKED, f"{text}: a bot-wall challenge page"
    if code in _FORBIDDEN:
        return Status.BLOCKED, f"{text}: the store refuses robots"
    if code == 429:
        return Status.RATE_LIMITED, text
    if code >= 500:
        return Status.SERVER_ERROR, text
    return Status.BROKEN, text


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Walk an exception, what it wraps (args, ``reason``) and its causes."""
    todo, seen = [exc], set()
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        nested = [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
        todo.extend(x for x in nested if isinstance(x, BaseException))


def classify_error(exc: BaseException, url: str = "") -> tuple[Status, str]:
    """Classify a failure to get any HTTP answer from the exception types."""
    from urllib3.exceptions import NameResolutionError, ProtocolError, ReadTimeoutError

    if isinstance(exc, _OutOfTime):
        return Status.TIMEOUT, str(exc)
    causes = list(_causes(exc))
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes
    ):
        message = next((str(c) for c in causes if isinstance(c, ssl.SSLError)), str(exc))
        return Status.TLS, f"TLS failure: {_short(message)}"
    if any(isinstance(c, NameResolutionError | socket.gaierror) for c in causes):
        name = urlsplit(url).hostname or "the host name"
        return Status.DNS, f"{name} does not resolve (DNS)"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Status.TIMEOUT, "no connection within the connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout) or any(
        isinstance(c, ReadTimeoutError | TimeoutError | socket.timeout) for c in causes
    ):
        return Status.TIMEOUT, "no answer within the read timeout"
    invalid = (
        requests.exceptions.InvalidURL,
        requests.exceptions.InvalidSchema,
        requests.exceptions.MissingSchema,
    )
    if isinstance(exc, invalid):
        return Status.INVALID, _short(str(exc))
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return Status.UNREACHABLE, "connection refused"
    if any(isinstance(c, ConnectionResetError | ProtocolError) for c in causes):
        return Status.UNREACHABLE, "connection dropped before an answer"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Status.UNREACHABLE, _short(str(exc))
    return Status.UNREACHABLE, f"{type(exc).__name__}: {_short(str(exc))}"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class LinkRun:
    """Every link's report, plus when the check ran."""

    reports: tuple[LinkReport, ...]
    checked_at: datetime
    elapsed: float

    @property
    def broken(self) -> tuple[LinkReport, ...]:
        return tuple(r for r in self.reports if r.result.status.is_broken)

    @property
    def transient(self) -> tuple[LinkReport, ...]:
        return tuple(r for r in self.reports if r.result.status.is_transient)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for report in self.reports:
            counts[str(report.result.status)] = counts.get(str(report.result.status), 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: list(Status).index(Status(kv[0]))))

    def to_dict(self) -> dict:
        return {
            "checked_at": self.checked_at.isoformat(),
            "elapsed": round(self.elapsed, 3),
            "links": len(self.reports),
            "unique_urls": len({r.link.url for r in self.reports}),
            "counts": self.counts(),
            "broken": len(self.broken),
            "transient": len(self.transient),
            "reports": [r.to_dict() for r in self.reports],
        }


def check_links(
    links: Iterable[Link],
    config: CheckConfig | None = None,
    progress: Callable[[LinkResult], None] | None = None,
) -> LinkRun:
    """Check ``links`` (each distinct URL once) and return every link's report."""
    links = list(links)
    started = time.monotonic()
    checked_at = datetime.now(UTC).replace(microsecond=0)
    with LinkChecker(config) as checker:
        results = checker.check_many((link.url for link in links), progress)
    reports = tuple(LinkReport(link, results[link.url]) for link in links)
    return LinkRun(reports, checked_at, time.monotonic() - started)
