"""PDF rendering with WeasyPrint: one font configuration per process, local resources only.

:class:`Renderer` holds a process's WeasyPrint state (WeasyPrint keeps every
``FontConfiguration`` alive, so a process makes one and reuses it); its URL
fetcher reads ``data:`` URLs, the bundled fonts and the catalog's own font
files only, so a catalog value can never make the renderer fetch a URL (SSRF).
The social image is rasterized from its one-page PDF with pdfium.
"""

from __future__ import annotations

import atexit
import io
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from storefront.catalog import Book, Catalog

from ..typefaces import FONTS_DIR
from .fit import fit_css, fit_document
from .layout import PieceJob, prepare_piece
from .pieces import PIECES, SHEETS, SOCIAL_HEIGHT, SOCIAL_WIDTH, FlyerError, Piece

# Tagged PDFs (structure tree, /Lang, title shown in the window) for screen readers.
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1"}


def _make_fetcher(roots: set[Path]):
    """A URL fetcher for ``data:`` URLs and files under ``roots`` only (no SSRF).

    ``roots`` is read at each fetch: the renderer adds a catalog's font files to it.
    """
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class BlockedResource(FatalURLFetchingError):
        """Raised for any other URL; a BaseException, so WeasyPrint stops the render."""

    class LocalOnlyFetcher(URLFetcher):
        blocked = BlockedResource

        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(url2pathname(urlsplit(url).path)).resolve()
                if any(path.is_relative_to(root) for root in tuple(roots)):
                    return super().fetch(url, headers)
            raise BlockedResource(url)

    return LocalOnlyFetcher(allowed_protocols=("data", "file"), fail_on_errors=True)


class Renderer:
    """WeasyPrint state for one process: fonts, parsed stylesheets and an image cache.

    WeasyPrint keeps every ``FontConfiguration`` alive, so a process makes one
    and renders everything with it (see :func:`renderer`). A lock serialises
    renders: neither WeasyPrint's font state nor pdfium is thread-safe.
    """

    _IMAGE_CACHE_LIMIT = 256

    def __init__(self) -> None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self._css = CSS
        self.font_config = FontConfiguration()
        self.readable: set[Path] = {FONTS_DIR}
        self.fetcher = _make_fetcher(self.readable)
        self.stylesheets: dict[str, object] = {}
        self.images: dict = {}
        self.renders = 0  # layouts done, fitting attempts included
        self._lock = threading.Lock()

    def stylesheet(self, text: str):
        sheet = self.stylesheets.get(text)
        if sheet is None:
            sheet = self._css(string=text, font_config=self.font_config, url_fetcher=self.fetcher)
            self.stylesheets[text] = sheet
        return sheet

    def render(self, job: PieceJob) -> bytes:
        """Lay out ``job``, fitting its text, and return the PDF (or PNG) bytes."""
        from weasyprint.urls import FatalURLFetchingError

        piece = PIECES.get(job.piece) or SHEETS[job.piece]
        with self._lock:
            if len(self.images) > self._IMAGE_CACHE_LIMIT:
                self.images.clear()
            self.readable.update(Path(name) for name in job.font_files)
            try:
                document = fit_document(
                    piece, job.book, job.html, lambda sizes: self._layout(job, piece, sizes)
                )
                document.metadata.created = document.metadata.modified = job.created
                pdf = document.write_pdf(**self._options(piece))
            except FatalURLFetchingError as exc:
                raise FlyerError(
                    f"{piece.name} for book '{job.book}': refused to fetch {exc.args[0]!r} "
                    "(only data: URLs and the fonts may be read while rendering)"
                ) from None
            if piece.media_type == "image/png":
                return rasterize(pdf, SOCIAL_WIDTH, SOCIAL_HEIGHT)
            return pdf

    def render_html(self, html: str, css: str, font_files: tuple[str, ...] = ()) -> bytes:
        """Render one HTML document as it is (no text fitting) to PDF bytes with these fonts."""
        from weasyprint import HTML

        with self._lock:
            self.readable.update(Path(name) for name in font_files)
            document = HTML(string=html, url_fetcher=self.fetcher).render(
                font_config=self.font_config, stylesheets=[self.stylesheet(css)], cache=self.images
            )
            return document.write_pdf()

    def _options(self, piece: Piece) -> dict:
        # The social image is rasterized: tagging it would be wasted work.
        return dict(PDF_OPTIONS) if piece.media_type == "application/pdf" else {}

    def _layout(self, job: PieceJob, piece: Piece, sizes: Mapping[str, float]):
        from weasyprint import HTML

        self.renders += 1
        html = HTML(string=job.html, url_fetcher=self.fetcher)
        return html.render(
            font_config=self.font_config,
            stylesheets=[
                self.stylesheet(job.fonts_css),
                self.stylesheet(job.css),
                self.stylesheet(fit_css(sizes)),
            ],
            cache=self.images,
            **self._options(piece),
        )


_RASTER_LOCK = threading.Lock()


def rasterize(pdf: bytes, width: int, height: int) -> bytes:
    """Rasterize the first page of ``pdf`` to an exactly ``width`` x ``height`` PNG."""
    out = io.BytesIO()
    rasterize_image(pdf, width, height).save(out, format="PNG")
    return out.getvalue()


def rasterize_image(pdf: bytes, width: int, height: int):
    """The first page of ``pdf`` as an RGB Pillow image of exactly ``width`` x ``height``."""
    import pypdfium2

    with _RASTER_LOCK:
        document = pypdfium2.PdfDocument(pdf)
        try:
            page = document[0]
            page_width, _ = page.get_size()
            image = page.render(scale=width / page_width).to_pil().convert("RGB")
            page.close()
        finally:
            document.close()
    if image.size != (width, height):
        image = image.resize((width, height))
    return image


_RENDERER: Renderer | None = None
# A forked child must neither use nor free its parent's renderer: freeing a
# FontConfiguration deletes its font folder, which the parent still uses.
_INHERITED: list[Renderer] = []


def _after_fork_in_child() -> None:
    global _RENDERER
    if _RENDERER is not None:
        _INHERITED.append(_RENDERER)
        _RENDERER = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _free_at_exit() -> None:
    # Freed while WeasyPrint's modules still exist: a FontConfiguration left to the
    # interpreter's final teardown crashes the process (exit status 139) as it exits.
    global _RENDERER
    _RENDERER = None


atexit.register(_free_at_exit)


def renderer() -> Renderer:
    """Return this process's :class:`Renderer`, made on first use (a forked child makes its own)."""
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = Renderer()
    return _RENDERER


def reset_renderer() -> None:
    """Forget this process's renderer (the next render makes a new one, as a new process would)."""
    global _RENDERER
    _RENDERER = None


def render_job(job: PieceJob) -> bytes:
    """Render a prepared piece to PDF (or PNG) bytes in this process."""
    return renderer().render(job)


def build_piece(catalog: Catalog, book: Book, piece: str, **options: Any) -> bytes:
    """Prepare and render one piece; ``options`` are :func:`prepare_piece`'s (``urls``...)."""
    return render_job(prepare_piece(catalog, book, piece, **options))
