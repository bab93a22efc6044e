"""What a link check produces: the statuses, the configuration, and each link's report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .. import __version__

# What the package re-exports (storefront.linkcheck): the model's public names, listed once.
__all__ = [
    "BROKEN",
    "TRANSIENT",
    "USER_AGENT",
    "CheckConfig",
    "Hop",
    "Link",
    "LinkReport",
    "LinkResult",
    "LinkRun",
    "Status",
]

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

    @property
    def is_permanent(self) -> bool:
        """301 and 308 say "update your link"; 302, 303 and 307 say "ask here again"."""
        return self.status in PERMANENT_REDIRECTS


PERMANENT_REDIRECTS = frozenset({301, 308})
TEMPORARY_REDIRECTS = frozenset({302, 303, 307})


def describe_redirects(chain: tuple[Hop, ...], final_url: str) -> str:
    """``2 redirects (1 permanent: 301; 1 temporary: 302) to …``, by each hop's code."""
    groups = []
    for word, is_permanent in (("permanent", True), ("temporary", False)):
        codes = [str(h.status) for h in chain if h.is_permanent == is_permanent]
        if codes:
            groups.append((word, codes))
    if len(groups) == 1:
        word, codes = groups[0]
        return f"{len(chain)} {word} redirect(s) ({', '.join(codes)}) to {final_url}"
    parts = "; ".join(f"{len(codes)} {word}: {', '.join(codes)}" for word, codes in groups)
    return f"{len(chain)} redirects ({parts}) to {final_url}"


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
            "chain": [
                {"status": h.status, "url": h.url, "permanent": h.is_permanent} for h in self.chain
            ],
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
