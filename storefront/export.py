"""Export the whole store as static files that any web host or CDN can serve.

The export is exactly what the server serves: every file is requested from the
Flask app itself (``create_app`` with the catalog and a clock fixed at the
export instant) through its test client, starting from the index, the book
pages and a known list of card, oEmbed, sample, flyer and social-image routes,
and following every internal link the pages contain. Only the buy links are
built differently, at the one URL seam (:class:`ExportUrls`): through a running
click server, or straight to the vendors with affiliate tags.

Then each app URL gets a static file name (``/books/genesis`` becomes
``books/genesis/index.html``, a query becomes part of the name, an extensionless
image gets its extension) and the links inside text files are rewritten:
relative in full pages (they work from any folder, even ``file://``), absolute
under the public base URL in everything embedded elsewhere (cards, oEmbed,
``widget.js``) and in metadata (canonical, Open Graph, JSON-LD). EPUB and PDF
files are not rewritten: their absolute links use app paths that a static
host also answers (``books/genesis`` is a folder with an ``index.html``).

A run builds into a new folder beside the target and then swaps a symlink, so
readers never see a half-written site; files that did not change are
hard-linked from the previous build (their bytes and times stay). A run that
would change nothing swaps nothing. ``manifest.json`` records the instant the
prices are valid for and the next campaign boundary: when cron should re-run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import mimetypes
import os
import posixpath
import re
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from . import __version__
from .catalog import Catalog
from .pricing import active_campaigns, price_window
from .urls import FLYER_SIZES, LAYOUTS, THEMES, Urls

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
EXPORT_FORMAT = 1
MAX_FILES = 20_000  # a runaway crawl stops here
KEEP_BUILDS = 2  # the live build and the one before (a reader may still be fetching from it)

# The static file extension for each media type the app answers with.
EXTENSIONS = {
    "text/html": ".html",
    "application/json": ".json",
    "text/javascript": ".js",
    "application/javascript": ".js",
    "text/css": ".css",
    "text/plain": ".txt",
    "image/svg+xml": ".svg",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "application/epub+zip": ".epub",
    "application/xml": ".xml",
}
TEXT_TYPES = frozenset(
    {
        "text/html",
        "application/json",
        "text/javascript",
        "application/javascript",
        "text/css",
        "text/plain",
        "image/svg+xml",
        "application/xml",
    }
)
# Never fetched or rewritten: the click redirect and the author's pages.
_SKIP_PREFIXES = ("/go/", "/go?", "/admin")


class ExportError(Exception):
    """The export cannot be made; the message says why and what to do."""


# --------------------------------------------------------------------------- buy links


class ExportUrls(Urls):
    """The app's URL seam, with buy links for a static site.

    Every ``/go/...`` URL (tracked offers, the store chooser) becomes either the
    same path on ``click_server`` (clicks are still counted, by a running
    Storefront) or, without one, the vendor's own URL with its affiliate tag
    for the site's default country (the chooser becomes the book page).
    """

    def __init__(self, base_url: str, catalog: Catalog, click_server: str | None = None):
        super().__init__(base_url)
        self.catalog = catalog
        self.click_server = click_server.rstrip("/") if click_server else None

    def tracked(self, path: str, absolute: bool) -> str:
        return self.buy_link(path)

    def buy_link(self, path: str) -> str:
        """Where a ``/go/`` path leads in the export."""
        if self.click_server:
            return self.click_server + path
        from .links import outbound_url

        parts = [unquote(p) for p in urlsplit(path).path.split("/")[2:] if p]
        book = self.catalog.book(parts[0]) if parts else None
        if book is None:
            return self.absolute("/")
        offer = book.offer(parts[1]) if len(parts) > 1 else None
        if offer is None:
            return self.book(book.slug, absolute=True)  # the chooser: the book page lists them
        return outbound_url(self.catalog, book, offer, None)


# --------------------------------------------------------------------------- naming


def _safe(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._~-]+", "-", text).strip("-.")
    return name or "x"


def _query_value(value: str) -> str:
    # A URL in the query (oEmbed's url=) is named by its last path segment.
    if "://" in value:
        segments = [s for s in urlsplit(value).path.split("/") if s]
        value = segments[-1] if segments else urlsplit(value).hostname or "site"
    value = _safe(value)
    if len(value) > 48:
        value = value[:40] + "-" + hashlib.sha256(value.encode()).hexdigest()[:7]
    return value


def query_name(query: str) -> str:
    """Name a query string for a file: ``layout=card&theme=dark`` -> ``layout-card_theme-dark``.

    ``widget.js`` in the export builds fragment file names the same way.
    """
    pairs = parse_qsl(query, keep_blank_values=True)
    return "_".join(f"{_safe(k)}-{_query_value(v)}" for k, v in pairs)


def static_path(url: str, media_type: str) -> str:
    """The file (relative to the export root) that serves app URL ``url`` of ``media_type``.

    ``/`` -> ``index.html``; ``/books/genesis`` -> ``books/genesis/index.html``;
    ``/books/genesis/cover`` (SVG) -> ``books/genesis/cover.svg``;
    ``/books/genesis/flyer.pdf?size=a4`` -> ``books/genesis/flyer-size-a4.pdf``;
    ``/embed/genesis?layout=card`` -> ``embed/genesis/layout-card.html``.
    """
    parts = urlsplit(url)
    segments = [_safe(unquote(s)) for s in parts.path.split("/") if s]
    qname = query_name(parts.query)
    ext = EXTENSIONS.get(media_type) or mimetypes.guess_extension(media_type) or ".bin"
    last = segments[-1] if segments else ""
    if last and "." in last.strip(".") and mimetypes.guess_type(last)[0] == media_type:
        if qname:
            stem, _, suffix = last.rpartition(".")
            segments[-1] = f"{stem}-{qname}.{suffix}"
        return "/".join(segments)
    if media_type == "text/html":
        return "/".join([*segments, f"{qname or 'index'}.html"])
    if not segments:
        segments = ["index"]
    segments[-1] += (f"-{qname}" if qname else "") + ext
    return "/".join(segments)


# --------------------------------------------------------------------------- links in text


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    url: str  # the app URL: a path with its query and fragment, unescaped
    absolute: bool  # written under the base URL (else root-relative)
    escaped: bool  # written with &amp;


def _tokens(text: str, base_url: str, markup: bool) -> Iterator[_Token]:
    """Find the app's own URLs in ``text``: absolute ones anywhere, root-relative in markup."""
    stop = r"""\s"'<>\\)\]"""
    absolute = re.compile(re.escape(base_url) + rf"(?P<url>[/?#][^{stop}]*|(?=[{stop}]|$))")
    patterns = [(absolute, True)]
    if markup:
        # Root-relative only in attribute values and CSS url(): elsewhere "/" is just text.
        patterns.append(
            (re.compile(r"""(?<=\s)[\w:.-]+\s*=\s*(["'])(?P<url>/(?![/\\])[^"'<>\s]*)\1"""), False)
        )
        patterns.append(
            (re.compile(r"""url\(\s*(["']?)(?P<url>/(?![/\\])[^"')\s]*)\1\s*\)"""), False)
        )
    found: list[_Token] = []
    for pattern, is_absolute in patterns:
        for m in pattern.finditer(text):
            raw = m.group("url") or "/"
            if raw[0] in "?#":
                raw = "/" + raw
            # An absolute token spans the base URL too: the whole URL is replaced.
            start = m.start() if is_absolute else m.start("url")
            found.append(_Token(start, m.end("url"), unescape(raw), is_absolute, "&amp;" in raw))
    found.sort(key=lambda t: (t.start, -t.end))
    last_end = -1
    for token in found:
        if token.start >= last_end:
            yield token
            last_end = token.end


def _is_exportable(url: str) -> bool:
    return not url.startswith(_SKIP_PREFIXES)


def _split_fragment(url: str) -> tuple[str, str]:
    path, hash_, frag = url.partition("#")
    return path, hash_ + frag


def find_links(text: str, base_url: str, markup: bool) -> list[str]:
    """Return the app URLs ``text`` links to (no fragments, click links excluded)."""
    urls = []
    for token in _tokens(text, base_url, markup):
        url, _ = _split_fragment(token.url)
        if _is_exportable(url):
            urls.append(url)
    return urls


# --------------------------------------------------------------------------- crawling


@dataclass
class Resource:
    """One answer of the app: an app URL, its media type and body, and where it goes."""

    url: str
    media_type: str
    body: bytes
    path: str = ""  # the static file, relative to the export root


@dataclass
class Crawl:
    resources: dict[str, Resource] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)  # app URL -> HTTP status
    missing: dict[str, str] = field(default_factory=dict)  # app URL -> why (linked, not exported)


def seed_urls(catalog: Catalog, urls: Urls, at: datetime) -> list[str]:
    """The routes exported even when no page links them: cards, oEmbed, widget.js, downloads."""
    seeds = ["/", urls.widget_js(absolute=False)]
    for book in catalog.books:
        slug = book.slug
        seeds += [
            urls.book(slug),
            urls.cover(slug),
            urls.sample(slug),
            urls.social_image(slug, absolute=False),
            urls.oembed(urls.book(slug, absolute=True), absolute=False),
        ]
        campaigns = [None] + [
            c.slug for c in active_campaigns(catalog, at) if not c.books or slug in c.books
        ]
        for size in FLYER_SIZES:
            for campaign in campaigns:
                seeds.append(urls.flyer(slug, size=size, campaign=campaign))
        for layout in (None, *LAYOUTS):
            for theme in (None, *THEMES):
                card = urls.embed(slug, layout=layout, theme=theme, absolute=False)
                seeds.append(card)
                # widget.js asks for the card's fragment beside the iframe page.
                path, _, query = card.partition("?")
                seeds.append(f"{path}/fragment" + (f"?{query}" if query else ""))
    return list(dict.fromkeys(seeds))


def crawl(client, seeds: list[str], base_url: str, limit: int = MAX_FILES) -> Crawl:
    """Request every seed and every internal URL the answers link to, breadth first."""
    result = Crawl()
    queue = deque((url, None) for url in seeds)
    seen = {url for url, _ in queue}
    while queue:
        url, referrer = queue.popleft()
        response = client.get(url)
        if response.status_code != 200:
            # An unlinked seed the app does not serve is simply not part of this store;
            # a linked one is reported (by the rewriter, which sees every link).
            result.failed[url] = response.status_code
            logger.debug("not exported: %s answered %s", url, response.status_code)
            continue
        media_type = response.mimetype or "application/octet-stream"
        resource = Resource(url, media_type, response.get_data())
        result.resources[url] = resource
        if len(result.resources) > limit:
            raise ExportError(f"more than {limit} files: is a page linking to endless URLs?")
        if media_type in TEXT_TYPES:
            text = resource.body.decode("utf-8", "replace")
            markup = media_type in ("text/html", "image/svg+xml", "application/xml", "text/css")
            for link in find_links(text, base_url, markup):
                if link not in seen:
                    seen.add(link)
                    queue.append((link, url))
    return result


def assign_paths(resources: dict[str, Resource]) -> None:
    """Give every resource a distinct static path."""
    taken: dict[str, str] = {}
    for url, resource in resources.items():
        path = static_path(url, resource.media_type)
        if path in taken or path == MANIFEST:
            stem, dot, ext = path.rpartition(".")
            path = f"{stem}-{hashlib.sha256(url.encode()).hexdigest()[:7]}{dot}{ext}"
        taken[path] = url
        resource.path = path


# --------------------------------------------------------------------------- rewriting


class Rewriter:
    """Rewrite the app URLs inside one text file into static URLs."""

    def __init__(self, resources: dict[str, Resource], base_url: str):
        self.by_url = resources
        self.base_url = base_url.rstrip("/")
        self.unresolved: set[str] = set()

    def absolute(self, path: str) -> str:
        if path == "index.html":
            return self.base_url + "/"
        if path.endswith("/index.html"):
            path = path[: -len("index.html")]
        return f"{self.base_url}/{path}"

    def relative(self, path: str, doc: str) -> str:
        return posixpath.relpath(path, posixpath.dirname(doc) or ".")

    def rewrite(self, text: str, doc: str, media_type: str, *, relative: bool) -> str:
        markup = media_type in ("text/html", "image/svg+xml", "application/xml", "text/css")
        out, pos = [], 0
        for token in _tokens(text, self.base_url, markup):
            url, frag = _split_fragment(token.url)
            if not _is_exportable(url):
                continue
            resource = self.by_url.get(url)
            if resource is None:
                self.unresolved.add(url)
                continue
            if token.absolute or not relative:
                new = self.absolute(resource.path)
            else:
                new = self.relative(resource.path, doc)
            new += frag
            if token.escaped:
                new = new.replace("&", "&amp;")
            out.append(text[pos : token.start])
            out.append(new)
            pos = token.end
        out.append(text[pos:])
        return "".join(out)


_FRAGMENT_URL = re.compile(
    r"\n(?P<indent>[ \t]*)function fragmentUrl\(el\) \{\n.*?\n(?P=indent)\}\n", re.S
)
_STATIC_FRAGMENT_URL = """
{indent}function fragmentUrl(el) {{
{indent}  // Static export: one file per layout and theme (other options are not exported),
{indent}  // named as storefront.export.query_name() names them.
{indent}  var parts = [];
{indent}  ["layout", "theme"].forEach(function (name) {{
{indent}    var value = el.getAttribute("data-" + name);
{indent}    if (value !== null) parts.push(name + "-" + encodeURIComponent(value));
{indent}  }});
{indent}  return root + "embed/" + encodeURIComponent(el.getAttribute("data-storefront-book")) +
{indent}    "/fragment/" + (parts.join("_") || "index") + ".html";
{indent}}}
"""


def static_widget_js(source: str) -> str:
    """``widget.js`` asking for fragment files instead of the fragment route's query."""
    m = _FRAGMENT_URL.search(source)
    if m is None:
        raise ExportError(
            "widget.js has no 'function fragmentUrl(el) { ... }': the export cannot point it "
            "at static card fragments (storefront/export.py must follow widget.js)"
        )
    return source[: m.start()] + _STATIC_FRAGMENT_URL.format(indent=m["indent"]) + source[m.end() :]


# --------------------------------------------------------------------------- the export


Files = dict[str, tuple[bytes, str, str]]  # static path -> (bytes, media type, source URL)


@dataclass(frozen=True)
class ExportResult:
    target: Path
    build: Path  # the live build folder
    changed: bool  # False: the previous build was already this export
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    missing: dict[str, str]
    manifest: dict


# CORS for the script and oEmbed embeds on hosts that read a `_headers` file
# (Netlify, Cloudflare Pages); elsewhere configure the same headers on the host.
_HEADERS_FILE = """\
/widget.js
  Access-Control-Allow-Origin: *
/embed/*
  Access-Control-Allow-Origin: *
/oembed*
  Access-Control-Allow-Origin: *
"""


def export_site(
    target: str | Path,
    *,
    catalog_path: str | Path | None,
    base_url: str,
    at: datetime,
    click_server: str | None = None,
) -> ExportResult:
    """Export the store to ``target`` (a symlink to the live build); see the module docs."""
    from .app import create_app  # the one place pages are rendered: the app itself

    target = Path(target).absolute()
    base_url = base_url.rstrip("/")
    with _claim(target) as builds, tempfile.TemporaryDirectory(prefix="storefront-") as scratch:
        app = create_app(
            {
                "CATALOG": str(catalog_path) if catalog_path else None,
                "BASE_URL": base_url,
                "CLOCK": lambda: at,
                "CATALOG_RELOAD_INTERVAL": -1,  # one catalog version for the whole export
                "DATABASE_URL": f"sqlite:///{Path(scratch) / 'export.db'}",
            },
            instance_path=str(Path(scratch) / "instance"),
        )
        sf = app.extensions["storefront"]
        catalog = sf.catalog
        sf.urls = ExportUrls(base_url, catalog, click_server)
        client = app.test_client()
        result = crawl(client, seed_urls(catalog, sf.urls, at), base_url)
        files = _render_files(result, base_url, client)
        window = price_window(catalog, at)
        manifest = make_manifest(
            files,
            base_url=base_url,
            click_server=click_server,
            catalog_version=catalog.version,
            at=at,
            window=window,
            missing=result.missing,
        )
        return _publish(target, builds, files, manifest, at)


def make_manifest(
    files: Files,
    *,
    base_url: str,
    click_server: str | None,
    catalog_version: str,
    at: datetime,
    window: tuple[datetime | None, datetime | None],
    missing: dict[str, str],
) -> dict:
    """Describe an export: where it lives, its buy links, its price window, every file."""
    buy_links = (
        {"mode": "click-server", "url": click_server} if click_server else {"mode": "direct"}
    )
    return {
        "format": EXPORT_FORMAT,
        "generator": f"storefront {__version__}",
        "base_url": base_url,
        "buy_links": buy_links,
        "catalog_version": catalog_version,
        "prices_at": at.isoformat(),
        "prices_valid_from": window[0].isoformat() if window[0] else None,
        "prices_valid_until": window[1].isoformat() if window[1] else None,
        # Campaign boundaries are the only instants prices change: cron re-runs then.
        "rerun_at": window[1].isoformat() if window[1] else None,
        "files": {
            path: {
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
                "type": media,
                "source": source,
            }
            for path, (body, media, source) in sorted(files.items())
        },
        "missing": dict(sorted(missing.items())),
    }


def publish(target: str | Path, files: Files, manifest: dict, at: datetime) -> ExportResult:
    """Swap ``files`` in as the live build of ``target`` (unless nothing changed)."""
    target = Path(target).absolute()
    with _claim(target) as builds:
        return _publish(target, builds, files, manifest, at)


def _render_files(result: Crawl, base_url: str, client) -> Files:
    """Static path -> (bytes, media type, source app URL), links rewritten."""
    assign_paths(result.resources)
    rewriter = Rewriter(result.resources, base_url)
    files: Files = {}
    for url, resource in result.resources.items():
        body = resource.body
        if resource.media_type in TEXT_TYPES:
            text = body.decode("utf-8")
            if urlsplit(url).path == "/widget.js":
                text = static_widget_js(text)
            # Full pages link relatively; fragments, JSON and scripts live on other sites.
            is_page = resource.media_type == "text/html" and "<html" in text[:2048].lower()
            text = rewriter.rewrite(text, resource.path, resource.media_type, relative=is_page)
            body = text.encode("utf-8")
        files[resource.path] = (body, resource.media_type, url)
    # A 404 page for hosts that serve one (GitHub Pages, Netlify): any depth, so absolute links.
    response = client.get("/storefront-export-404-page")
    if response.status_code == 404 and response.mimetype == "text/html":
        text = rewriter.rewrite(
            response.get_data(as_text=True), "404.html", "text/html", relative=False
        )
        files["404.html"] = (text.encode("utf-8"), "text/html", "(404 page)")
    files["_headers"] = (
        _HEADERS_FILE.encode(),
        "text/plain",
        "(CORS headers for Netlify and Cloudflare Pages)",
    )
    for url in sorted(rewriter.unresolved):
        status = result.failed.get(url)
        why = f"the app answers HTTP {status}" if status else "the app was not asked"
        result.missing.setdefault(url, f"linked, but {why}")
    return files


# --------------------------------------------------------------------------- publishing


def _check_target(target: Path, builds: Path) -> None:
    if target.is_symlink():
        live = Path(os.readlink(target))
        live = live if live.is_absolute() else target.parent / live
        if live.resolve().parent != builds.resolve():
            raise ExportError(
                f"{target} is a symlink that this export did not make; choose another DIR"
            )
    elif target.exists():
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()  # an empty folder made for the export: the symlink takes its place
        else:
            raise ExportError(
                f"{target} exists and is not a Storefront export (one is a symlink to a build "
                f"in {builds.name}); remove it or choose another DIR"
            )


@contextmanager
def _claim(target: Path) -> Iterator[Path]:
    """Check ``target`` is ours, then hold its lock (cron runs may overlap); yield the builds."""
    builds = target.parent / f".{target.name}.builds"
    _check_target(target, builds)
    builds.mkdir(parents=True, exist_ok=True)
    with open(builds / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportError(f"another export into {target} is running") from None
        try:
            yield builds
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _live_build(target: Path) -> Path | None:
    return target.resolve() if target.is_symlink() and target.resolve().is_dir() else None


def _read_manifest(build: Path | None) -> dict | None:
    if build is None:
        return None
    try:
        return json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _comparable(manifest: dict | None) -> dict | None:
    # The instant inside the window does not change a byte of the site.
    return None if manifest is None else {k: v for k, v in manifest.items() if k != "prices_at"}


def _publish(
    target: Path,
    builds: Path,
    files: dict[str, tuple[bytes, str, str]],
    manifest: dict,
    at: datetime,
) -> ExportResult:
    live = _live_build(target)
    previous = _read_manifest(live)
    old_files = (previous or {}).get("files", {})
    if live is not None and _comparable(previous) == _comparable(manifest):
        return ExportResult(
            target, live, False, (), tuple(sorted(files)), (), manifest["missing"], previous
        )

    digest = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()[:10]
    name = f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest}"
    build, n = builds / name, 1
    while build.exists():
        n += 1
        build = builds / f"{name}-{n}"
    staging = builds / f".staging-{build.name}-{os.getpid()}"
    written, unchanged = [], []
    try:
        staging.mkdir()
        for path, (body, _, _) in sorted(files.items()):
            dest = staging / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            old = old_files.get(path)
            if live is not None and old and old.get("sha256") == manifest["files"][path]["sha256"]:
                try:
                    os.link(live / path, dest)  # same bytes: the same file, not a new write
                    unchanged.append(path)
                    continue
                except OSError:
                    pass
            dest.write_bytes(body)
            written.append(path)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        staging.rename(build)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # The swap: a new symlink renamed over the old one is atomic on POSIX.
    link = target.parent / f".{target.name}.swap-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(build, target.parent))
    os.replace(link, target)
    _prune(builds, keep={build, *(p for p in [live] if p)})
    removed = tuple(sorted(set(old_files) - set(files)))
    return ExportResult(
        target,
        build,
        True,
        tuple(written),
        tuple(unchanged),
        removed,
        manifest["missing"],
        manifest,
    )


def _prune(builds: Path, keep: set[Path]) -> None:
    candidates = sorted(
        (p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for path in candidates[KEEP_BUILDS:]:
        if path not in keep:
            shutil.rmtree(path, ignore_errors=True)
