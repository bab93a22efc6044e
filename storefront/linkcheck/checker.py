"""Check URLs politely: one pooled session, redirects hop by hop, retries, per-host limits."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from .classify import (
    REDIRECTS,
    RETRY_STATUSES,
    SNIFF_BYTES,
    OutOfTime,
    classify_error,
    classify_response,
    is_challenge,
    retry_after,
)
from .model import (
    CheckConfig,
    Hop,
    Link,
    LinkReport,
    LinkResult,
    LinkRun,
    Status,
    describe_redirects,
)

logger = logging.getLogger(__name__)


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
            if code in REDIRECTS and outcome.location:
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
                detail = describe_redirects(tuple(chain), current)
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
            except OutOfTime as exc:
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
                    return _Outcome.of("HEAD", response)
                response.close()
                if time.monotonic() + config.connect_timeout > deadline:
                    raise OutOfTime("no time left for the GET after HEAD failed")
            response = self._send("GET", url)
            try:
                body = b""
                if response.status_code >= 400:
                    # Enough of the body to tell a challenge page from a plain error.
                    body = response.raw.read(SNIFF_BYTES, decode_content=True) or b""
            except Exception:  # noqa: BLE001 - a body that fails to read is still an answer
                body = b""
            finally:
                response.close()
            return _Outcome.of("GET", response, body)

    def _wait_turn(self, host: _Host, deadline: float) -> None:
        with host.lock:
            start = max(time.monotonic(), host.not_before, host.last + self.config.host_interval)
            host.last = start
        pause = start - time.monotonic()
        if start > deadline:
            raise OutOfTime(f"the host asked for a pause of {pause:.1f} s, past --max-time")
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

    @classmethod
    def of(cls, method: str, response: requests.Response, body: bytes = b"") -> _Outcome:
        """What one answered request says: status, headers, where it redirects, the body read."""
        return cls(
            method=method,
            status=response.status_code,
            headers=response.headers,
            location=response.headers.get("Location"),
            body=body,
        )


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
