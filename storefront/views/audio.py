"""The audiobook's sample to listen to: ``GET /books/<book>/sample.<mp3|m4a|ogg>``.

The file was checked (and measured) when the catalog loaded. Werkzeug's
``send_file(..., conditional=True)`` answers it: ``Accept-Ranges: bytes``, ``206``
with ``Content-Range`` for a ``Range`` request (browsers seek with them), ``416``
for a range past the end, an ETag and ``304`` for a client that has it.

A request from the start of the file (no ``Range``, or one from byte 0) counts as
one listen, like a click (``src``, ``c``, bots apart); the range requests a player
makes while seeking do not.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from ..catalog import AUDIO_TYPES
from ..clicks import SampleKind
from .books import get_book
from .sample import count_sample

logger = logging.getLogger(__name__)

bp = Blueprint("audio", __name__)

EXTENSIONS = tuple(suffix.lstrip(".") for suffix in AUDIO_TYPES)
MAX_AGE = 3600  # an hour: the author may replace the file under the same name


@bp.get("/books/<slug>/sample.<ext>")  # sample.epub is its own, static, rule
def audio_sample(slug: str, ext: str) -> Response:
    """Send the audiobook edition's sample; 404 when the book has none of that type."""
    if ext not in EXTENSIONS:
        abort(404, f"No sample 'sample.{ext}': an audio sample is one of {', '.join(EXTENSIONS)}.")
    book = get_book(slug)
    edition = book.edition("audiobook")
    sample = edition.audio_sample if edition is not None else None
    if sample is None or sample.extension != ext:
        abort(404, f"No audio sample 'sample.{ext}' for book '{book.slug}'.")
    if not sample.path.is_file():
        # Removed after the catalog was checked: say so, never a traceback.
        logger.error("the audio sample of %s is gone: %s", book.slug, sample.path)
        abort(404, f"The audio sample of '{book.slug}' is not available right now.")
    try:
        response = send_file(
            sample.path, mimetype=sample.media_type, conditional=True, etag=True, max_age=MAX_AGE
        )
    except RequestedRangeNotSatisfiable as exc:
        # Answered here, not by the error pages: the 416 must keep its Content-Range.
        response = Response(status=416, headers=exc.get_headers())
        response.headers["Content-Range"] = f"bytes */{exc.length}"
        return response
    if response.status_code in (200, 206) and _from_start(request.headers.get("Range")):
        count_sample(book, SampleKind.AUDIO)
    # The same file at every URL it has: any origin's <audio> may play it (cards embed it).
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Content-Disposition"] = f'inline; filename="{book.slug}-sample.{ext}"'
    return response


def _from_start(value: str | None) -> bool:
    """No ``Range``, or one that starts at byte 0: a new listen, not a seek."""
    if not value:
        return True
    return value.replace(" ", "").lower().startswith("bytes=0-")
