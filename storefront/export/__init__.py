"""Export the whole store as static files that any web host or CDN can serve.

The export is exactly what the server serves, in three jobs:

* **naming** (:mod:`.naming`): the app renders with :class:`ExportUrls` as its
  URL seam, which names the static file of every URL the app builds
  (``/books/genesis`` is ``books/genesis/index.html``, a query becomes part of
  the name, an extensionless image gets its extension) and links to it:
  relative in full pages (they work from any folder, even ``file://``),
  absolute under the public base URL in everything embedded elsewhere (cards,
  oEmbed, ``widget.js``), in metadata (canonical, Open Graph, JSON-LD), and in
  the EPUB and PDF files. Buy links go through a click server or straight to
  the vendors with affiliate tags. No file is rewritten after rendering.
* **crawl** (:mod:`.crawl`): every file is requested from the Flask app itself
  (``create_app`` with the catalog and a clock fixed at the export instant)
  through its test client, from the index, the book pages and the card,
  oEmbed, sample, flyer and social-image routes, then every URL the answers
  named.
* **publish** (:mod:`.publish`): a new build folder beside the target, swapped
  in by a symlink; unchanged files are hard-linked from the previous build;
  ``manifest.json`` says until when the prices hold (when cron should re-run).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from werkzeug.exceptions import NotFound

from ..pricing import price_window
from ..templating import render
from .crawl import MAX_FILES, Crawl, Resource, crawl, seed_urls
from .naming import ExportError, ExportUrls, query_name, static_path
from .publish import (
    HEADERS_FILE,
    ExportResult,
    Files,
    claim,
    make_manifest,
    publish,
    publish_into,
)

__all__ = [
    "MAX_FILES",
    "Crawl",
    "ExportError",
    "ExportResult",
    "ExportUrls",
    "Resource",
    "crawl",
    "export_site",
    "make_manifest",
    "publish",
    "query_name",
    "seed_urls",
    "static_path",
]


def export_site(
    target: str | Path,
    *,
    catalog_path: str | Path | None,
    base_url: str,
    at: datetime,
    click_server: str | None = None,
) -> ExportResult:
    """Export the store to ``target`` (a symlink to the live build); see the module docs."""
    from ..app import create_app  # the one place pages are rendered: the app itself

    target = Path(target).absolute()
    base_url = base_url.rstrip("/")
    with claim(target) as builds, tempfile.TemporaryDirectory(prefix="storefront-") as scratch:
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
        urls = sf.urls = ExportUrls(base_url, catalog, click_server)
        urls.signup = export_signup(catalog, click_server)
        seed_urls(catalog, urls, at)
        result = crawl(app.test_client(), urls)
        files = site_files(result, urls)
        manifest = make_manifest(
            files,
            base_url=base_url,
            click_server=click_server,
            catalog_version=catalog.version,
            at=at,
            window=price_window(catalog, at),
            missing=result.missing,
        )
        return publish_into(target, builds, files, manifest, at)


def site_files(result: Crawl, urls: ExportUrls) -> Files:
    """Static path -> (bytes, media type, source): the crawled files and the host's extras."""
    files: Files = {r.path: (r.body, r.media_type, url) for url, r in result.resources.items()}
    # A 404 page for hosts that serve one (GitHub Pages, Netlify): any depth, so absolute links.
    error = NotFound()
    page = render(
        "errors/error.html",
        code=error.code,
        name=error.name,
        message=error.description,
        home=urls.index(absolute=True),
    )
    files["404.html"] = (page.encode("utf-8"), "text/html", "(404 page)")
    files["_headers"] = (
        HEADERS_FILE.encode(),
        "text/plain",
        "(CORS headers for Netlify and Cloudflare Pages)",
    )
    return files


def export_signup(catalog, click_server: str | None):
    """The export's sign-up: a link to the app's sign-up page, or none.

    Only with a click server (the running app) and the mail settings set where the
    export runs, as they are on that app: a static file cannot post to itself.
    """
    from ..app import DEFAULTS
    from ..mail.settings import mail_settings
    from ..readers.consent import VERSION, consent_text
    from ..settings import instance_folder, load_settings
    from ..urls import SignupForm

    if not click_server or mail_settings(load_settings(DEFAULTS, instance_folder())) is None:
        return None
    return SignupForm(
        action=f"{click_server.rstrip('/')}/readers/subscribe",
        token=lambda: "",
        text=consent_text(catalog.site.title, catalog.site.author),
        version=VERSION,
        link_only=True,
    )
