"""Preview any instant, and build a campaign's print pieces from the desk.

A preview renders through the same pure renderers as the public routes
(``widgets.page``, ``widgets.card``, ``widgets.flyer``) with an explicit instant,
outside the render cache and the replay layer, every response ``no-store``. Buy
links in previewed pages and cards lead nowhere (:class:`PreviewUrls`), so an
author's click is never counted; every preview carries a visible banner.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time

from flask import Response, abort, current_app, jsonify, request, send_file, url_for
from markupsafe import escape

from widgets.card import CardOptionError, build_card_view, parse_card, render_card_page
from widgets.page import render_book_page, render_index
from widgets.print import FlyerError, build_piece, get_piece, piece_names

from ...desk.builds import BuildsUnavailableError, built_files, pieces_folder, zip_pieces
from ...presentation import present_book
from ...pricing import format_instant
from ...urls import LAYOUTS, Urls
from .. import storefront
from .base import bp, desk, page

SHOWS = ("page", "index", "cards", "pieces")
FRAME_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)
_BODY = re.compile(r"<body[^>]*>")
_PIECE_FILE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.(pdf|png)$")


class PreviewUrls(Urls):
    """Public URLs, except that buy links go nowhere: a preview never counts a click."""

    def tracked(self, path: str, absolute: bool) -> str:
        return "#preview-link-not-followed"


def preview_instant() -> datetime:
    """The instant asked for (``day`` and ``time`` in the site's zone, or ``at``), else now."""
    sf = storefront()
    tz = sf.catalog.site.tz
    raw_at = request.args.get("at", "").strip()
    if raw_at:
        try:
            at = datetime.fromisoformat(raw_at.replace("Z", "+00:00"))
        except ValueError:
            abort(400, "'at' must be an instant such as 2026-12-22T09:00:00-07:00.")
        return at if at.tzinfo else at.replace(tzinfo=tz)
    raw_day = request.args.get("day", "").strip()
    if not raw_day:
        return sf.now()
    try:
        day = date.fromisoformat(raw_day)
        clock = time.fromisoformat(request.args.get("time", "").strip() or "12:00")
    except ValueError:
        abort(400, "Choose a day such as 2026-12-22 and a time such as 09:00.")
    return datetime.combine(day, clock, tzinfo=tz)


def _book(slug: str | None):
    catalog = storefront().catalog
    book = catalog.book(slug) if slug else (catalog.books[0] if catalog.books else None)
    if book is None:
        abort(404, f"No book '{slug}' in this catalog.")
    return book


def mark_preview(html: str, at_text: str) -> str:
    banner = (
        '<div role="note" style="position:sticky;top:0;z-index:9999;background:#5c2d00;'
        'color:#fff;font:600 15px/1.4 system-ui,sans-serif;padding:.5rem 1rem;text-align:center">'
        f"Preview as readers will see it on {escape(at_text)}. Not cached; buy links are not "
        "followed and no click is counted.</div>"
    )
    m = _BODY.search(html)
    if m is None:
        return banner + html
    return html[: m.end()] + banner + html[m.end() :]


@bp.get("/preview")
def preview():
    sf = storefront()
    catalog = sf.catalog
    at = preview_instant()
    show = request.args.get("show", "page")
    if show not in SHOWS:
        abort(400, f"'show' must be one of: {', '.join(SHOWS)}.")
    book = _book(request.args.get("book"))
    local = at.astimezone(catalog.site.tz)
    return page(
        "desk/preview.html",
        title="Preview",
        at=at,
        at_iso=at.isoformat(),
        at_text=format_instant(at, catalog.site.tz, catalog.site.locale),
        day=local.date().isoformat(),
        time=local.strftime("%H:%M"),
        show=show,
        shows=SHOWS,
        book=book,
        books=catalog.books,
        layouts=LAYOUTS if catalog.support else tuple(x for x in LAYOUTS if x != "support"),
        pieces=[
            (name, piece_aspect(name), get_piece(name).media_type == "application/pdf")
            for name in piece_names()
        ],
    )


# Width / height of each piece's first page, so its preview keeps its space while it renders.
_ASPECTS = {"letter": "8.5 / 11", "a4": "210 / 297"}
_PIECE_ASPECTS = {
    "postcard": "6.25 / 4.25",  # with its bleed
    "bookmarks": "11 / 8.5",
    "social": "1200 / 630",
}


def piece_aspect(name: str) -> str:
    piece = get_piece(name)
    return _PIECE_ASPECTS.get(name) or _ASPECTS.get(piece.size or "", "8.5 / 11")


@bp.get("/preview/frame")
def preview_frame():
    sf = storefront()
    catalog = sf.catalog
    at = preview_instant()
    urls = PreviewUrls(sf.urls.base_url)
    show = request.args.get("show", "page")
    at_text = format_instant(at, catalog.site.tz, catalog.site.locale)
    if show == "index":
        html = render_index(catalog, at, urls)
    elif show == "page":
        book = _book(request.args.get("book"))
        html = render_book_page(present_book(catalog, book, at, urls))
    elif show == "card":
        book = _book(request.args.get("book"))
        try:
            layout, theme, options = parse_card(
                catalog, book, layout=request.args.get("layout"), theme=request.args.get("theme")
            )
        except CardOptionError as exc:
            abort(400, str(exc))
        view = build_card_view(catalog, book, at, urls, layout, options)
        html = render_card_page(view, layout, theme, options)
    else:
        abort(400, "'show' must be page, index or card.")
    response = Response(mark_preview(html, at_text), mimetype="text/html")
    response.headers["Content-Security-Policy"] = FRAME_CSP
    return response


@bp.get("/preview/piece/<piece>.<ext>")
def preview_piece(piece: str, ext: str):
    sf = storefront()
    catalog = sf.catalog
    if piece not in piece_names() or ext not in ("pdf", "png"):
        abort(404, f"No piece '{piece}.{ext}'.")
    book = _book(request.args.get("book"))
    at = preview_instant()
    media_type = get_piece(piece).media_type
    if ext == "pdf" and media_type != "application/pdf":
        abort(404, f"'{piece}' is an image: ask for {piece}.png.")
    try:
        data = build_piece(catalog, book, piece, urls=sf.urls, at=at)
    except FlyerError as exc:
        abort(422, str(exc))
    if media_type == "image/png" or ext == "pdf":
        return Response(data, mimetype=media_type)
    return Response(first_page_png(data), mimetype="image/png")


def first_page_png(pdf: bytes, width: int = 900) -> bytes:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        pdf_page = document[0]
        image = pdf_page.render(scale=width / pdf_page.get_size()[0]).to_pil().convert("RGB")
        pdf_page.close()
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --------------------------------------------------------------------------- print pieces


def _campaign(slug: str):
    campaign = storefront().catalog.campaign(slug)
    if campaign is None:
        abort(404, f"No campaign '{slug}'.")
    return campaign


def _status(slug: str) -> dict:
    try:
        return desk().builds.status(slug)
    except BuildsUnavailableError as exc:
        abort(503, f"The status of the build cannot be read now (the database): {exc}")


def _elsewhere(slug: str, status: dict) -> str:
    return (
        f"The pieces of '{slug}' were built on the server {status['server']}, in "
        f"{status['folder']}, and are kept there: this server ({desk().builds.server}) does "
        "not hold them. Download them from that server, or build them again here (an "
        "operator can put the pieces folder on storage every server shares)."
    )


@bp.get("/pieces/<slug>")
def pieces(slug: str):
    campaign = _campaign(slug)
    folder = pieces_folder(current_app.instance_path, slug)
    status = _status(slug)
    files = built_files(folder)
    return page(
        "desk/pieces.html",
        title=f"Print pieces: {campaign.name}",
        campaign=campaign,
        status=status,
        files=files,
        elsewhere=_elsewhere(slug, status) if status["files"] and not files else None,
    )


@bp.post("/pieces/<slug>/build")
def build_pieces(slug: str):
    sf = storefront()
    campaign = _campaign(slug)
    folder = pieces_folder(current_app.instance_path, slug)
    try:
        status = desk().builds.start(sf.catalog, campaign, sf.urls, sf.now(), folder)
    except FlyerError as exc:  # e.g. the campaign covers no book: a message, not a 500
        abort(422, f"Cannot build the pieces of '{slug}': {exc}")
    except BuildsUnavailableError as exc:
        abort(503, f"Cannot start the build now (the database does not answer): {exc}")
    if request.accept_mimetypes.best == "application/json":
        return jsonify(status), 202
    from flask import redirect

    return redirect(url_for("desk.pieces", slug=slug))


@bp.get("/pieces/<slug>/status.json")
def pieces_status(slug: str):
    _campaign(slug)
    return jsonify(_status(slug))


def _not_here(slug: str, name: str | None = None) -> None:
    """Abort with the reason a piece cannot be downloaded from this server."""
    status = _status(slug)
    if status["files"] and (name is None or name in status["files"]):
        abort(409, _elsewhere(slug, status))
    abort(
        404,
        f"No piece '{name}' built for '{slug}'."
        if name
        else f"No pieces are built for '{slug}' yet.",
    )


@bp.get("/pieces/<slug>/files/<name>")
def piece_file(slug: str, name: str):
    _campaign(slug)
    folder = pieces_folder(current_app.instance_path, slug)
    if not _PIECE_FILE.match(name):
        abort(404, f"No piece '{name}' built for '{slug}'.")
    if name not in built_files(folder):
        _not_here(slug, name)
    return send_file(folder / name, as_attachment=request.args.get("download") == "1")


@bp.get("/pieces/<slug>.zip")
def pieces_zip(slug: str):
    _campaign(slug)
    folder = pieces_folder(current_app.instance_path, slug)
    if not built_files(folder):
        _not_here(slug)
    return Response(
        zip_pieces(folder),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{slug}-pieces.zip"'},
    )
