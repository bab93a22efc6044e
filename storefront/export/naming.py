"""Naming: every app URL of the export gets its static file, at the one URL seam.

:class:`ExportUrls` is the app's :class:`~storefront.urls.Urls` for a static
site: the pages, cards, feeds and pieces the app renders during an export ask it
for their links, and it answers with the exported file's URL directly (relative
inside a full page, so the export works from any folder and even ``file://``;
absolute under the public base URL everywhere else). It remembers every app URL
it named: that list is what the crawl fetches. Buy links go through a click
server or straight to the stores.
"""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
import re
from urllib.parse import parse_qsl, unquote, urlsplit

from ..catalog import COVER_TYPES, Catalog
from ..links import outbound_url
from ..urls import Urls

MANIFEST = "manifest.json"
# Files the export writes itself: no app URL may take their names.
RESERVED = frozenset({MANIFEST, "404.html", "_headers"})

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
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/ogg": ".ogg",
}
# The audio sample routes (sample.mp3, .m4a, .ogg), whatever the system's mime.types says.
_AUDIO_TYPES = {".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".ogg": "audio/ogg"}


class ExportError(Exception):
    """The export cannot be made; the message says why and what to do."""


def extension(media_type: str) -> str:
    """The file extension a static host needs to send ``media_type``."""
    return EXTENSIONS.get(media_type) or mimetypes.guess_extension(media_type) or ".bin"


def guess_type(name: str) -> str | None:
    """The media type a static host sends for file ``name``, by its extension."""
    suffix = posixpath.splitext(name)[1].lower()
    return _AUDIO_TYPES.get(suffix) or mimetypes.guess_type(name)[0]


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
    last = segments[-1] if segments else ""
    if last and "." in last.strip(".") and guess_type(last) == media_type:
        if qname:
            stem, _, suffix = last.rpartition(".")
            segments[-1] = f"{stem}-{qname}.{suffix}"
        return "/".join(segments)
    if media_type == "text/html":
        return "/".join([*segments, f"{qname or 'index'}.html"])
    if not segments:
        segments = ["index"]
    segments[-1] += (f"-{qname}" if qname else "") + extension(media_type)
    return "/".join(segments)


def route_media_type(url: str) -> str:
    """What an app route answers with, by its name: its extension, else an HTML page."""
    last = urlsplit(url).path.rpartition("/")[2]
    guessed = guess_type(last) if "." in last.strip(".") else None
    return guessed or "text/html"


class ExportUrls(Urls):
    """The app's URL seam for a static site: file URLs instead of routes.

    Set :attr:`document` to the file being rendered (the crawl does): a link the
    app asks for without ``absolute`` is then relative to it when it is a full
    HTML page, and absolute under the base URL otherwise. Every ``/go/...`` URL
    (tracked offers, the store chooser) becomes either the same path on
    ``click_server`` (clicks are still counted, by a running Storefront) or,
    without one, the vendor's own URL with its affiliate tag for the site's
    default country (the chooser becomes the book page).
    """

    static_files = True

    def __init__(self, base_url: str, catalog: Catalog, click_server: str | None = None):
        super().__init__(base_url)
        self.catalog = catalog
        self.click_server = click_server.rstrip("/") if click_server else None
        self.files: dict[str, str] = {}  # app URL -> static file, for every URL named
        self.named: list[str] = []  # the same app URLs, in the order they were named
        self.linked_from: dict[str, str] = {}  # app URL -> the first file that links it
        self.document: str | None = None  # the static file being rendered, if any
        self._owners: dict[str, str] = {}  # static file -> app URL

    # ------------------------------------------------------------------ naming

    def static_file(self, url: str, media_type: str | None = None) -> str:
        """Name (once) the file, relative to the export root, that serves app URL ``url``."""
        name = self.files.get(url)
        if name is None:
            name = static_path(url, media_type or route_media_type(url))
            if name in self._owners or name in RESERVED:
                stem, dot, ext = name.rpartition(".")
                name = f"{stem}-{hashlib.sha256(url.encode()).hexdigest()[:7]}{dot}{ext}"
            self.files[url] = name
            self.named.append(url)
            self._owners[name] = url
        if self.document is not None and self.document != name:
            self.linked_from.setdefault(url, self.document)
        return name

    def public(self, name: str) -> str:
        """The public URL of static file ``name`` (a folder's ``index.html`` is the folder)."""
        if name == "index.html":
            return self.base_url + "/"
        if name.endswith("/index.html"):
            name = name[: -len("index.html")]
        return f"{self.base_url}/{name}"

    def _link(self, path: str, absolute: bool, media_type: str | None = None) -> str:
        name = self.static_file(path, media_type)
        doc = self.document
        if absolute or doc is None or not doc.endswith(".html"):
            return self.public(name)
        return posixpath.relpath(name, posixpath.dirname(doc) or ".")

    def _maybe_absolute(self, path: str, absolute: bool) -> str:
        return self._link(path, absolute)

    def absolute(self, path: str) -> str:
        return self._link(path, True) if path.startswith("/") else path

    def cover(self, book: str, *, absolute: bool = False) -> str:
        found = self.catalog.book(book)
        suffix = found.cover.suffix.lower() if found and found.cover else ".svg"
        media_type = COVER_TYPES.get(suffix, "image/svg+xml")
        return self._link(self._path("books", book, "cover"), absolute, media_type)

    def counted(self, parts: tuple[str, ...], query: dict[str, str | None], absolute: bool) -> str:
        # A static file counts nothing: one file per sample, whatever the placement.
        return self._link(self._path(*parts), absolute)

    def oembed(self, url: str | None = None, *, absolute: bool = True) -> str:
        path = self._path("oembed", query={"url": url, "format": "json" if url else None})
        return self._link(path, absolute, "application/json")

    # ------------------------------------------------------------------ buy links

    def tracked(self, path: str, absolute: bool) -> str:
        return self.buy_link(path)

    def buy_link(self, path: str) -> str:
        """Where a ``/go/`` path leads in the export."""
        if self.click_server:
            return self.click_server + path
        parts = [unquote(p) for p in urlsplit(path).path.split("/")[2:] if p]
        book = self.catalog.book(parts[0]) if parts else None
        if book is None:
            return self.index(absolute=True)
        offer = book.offer(parts[1]) if len(parts) > 1 else None
        if offer is None:
            return self.book(book.slug, absolute=True)  # the chooser: the book page lists them
        return outbound_url(self.catalog, book, offer, None)
