"""Text fitting: shrink a piece's text until every zone holds it, or name what is too long.

Measured with WeasyPrint's public API only: :attr:`Page.anchors` (the position
of every element with an ``id``). Each fitted zone of a template carries three
empty markers (see ``fit_start``/``fit_end`` in ``templates/flyers/_parts.html``),
with ids ``fit-<field>-<zone>-start``, ``-end`` and ``-bottom``:

* ``start`` is the first child of the zone (where its content begins),
* ``end`` the last child (where its content ends; it clears floats),
* ``bottom`` is absolutely placed at the bottom of the zone (``bottom: 0``).

A zone overflows when its end lies below its bottom, or when its end (or the
whole zone) is missing from the page: WeasyPrint silently drops what would fall
below the bottom of a page. Zones of the field ``layout`` hold fixed text; when
one overflows the template itself is wrong.

Fitting lays the piece out at the base sizes of :attr:`Piece.fits`, shrinks the
font size of every overflowing field (never below its minimum) and lays out
again; past the minimum it raises :class:`FlyerFitError` naming the piece and
the field. The innermost zone is named first: it is why its container overflows.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping

from .pieces import Fit, FlyerFitError, Piece

logger = logging.getLogger(__name__)

# Shrink attempts per piece before giving up (each is one WeasyPrint layout).
MAX_FIT_ATTEMPTS = 6
# Leftover overflow below this many CSS px is rounding, not overflow.
TOLERANCE_PX = 0.5
# The need of a zone whose end fell off the page is at least this (then shrinks again).
_OFF_PAGE_RATIO = 1.5

_MARK = re.compile(r'id="fit-([a-z]+)-([a-z0-9]+)-start"')


def zones_of(html: str) -> list[tuple[str, str]]:
    """Return the (field, zone) pairs whose markers ``html`` carries, in document order."""
    return list(dict.fromkeys(_MARK.findall(html)))


def overflows(document, zones: list[tuple[str, str]]) -> dict[str, float]:
    """Return {field: needed / available} for every zone of ``zones`` that overflows.

    Innermost (smallest) zones come first.
    """
    marks: dict[str, tuple[int, float]] = {}
    for number, page in enumerate(document.pages):
        for name, point in page.anchors.items():
            if name.startswith("fit-"):
                marks.setdefault(name, (number, float(point[1])))
    found: list[tuple[float, str, float]] = []  # (zone height, field, ratio)
    for field, zone in zones:
        prefix = f"fit-{field}-{zone}-"
        start, end, bottom = (marks.get(prefix + kind) for kind in ("start", "end", "bottom"))
        if start is None or bottom is None or bottom[0] != start[0]:
            found.append((math.inf, "layout" if field == "layout" else field, 2.0))
            continue
        height = max(bottom[1] - start[1], 1.0)
        if end is None or end[0] != start[0]:
            page_height = float(document.pages[start[0]].height)
            ratio = max(_OFF_PAGE_RATIO, (page_height - start[1]) / height * 1.1)
        else:
            need = end[1] - start[1]
            ratio = need / height if need > height + TOLERANCE_PX else 0.0
        if ratio > 1:
            found.append((height, field, ratio))
    result: dict[str, float] = {}
    for _, field, ratio in sorted(found, key=lambda item: item[0]):
        result[field] = max(result.get(field, 0.0), ratio)
    return result


def fit_css(sizes: Mapping[str, float]) -> str:
    """Return the stylesheet that sets each fitted field's font size (points)."""
    return "\n".join(
        f'[data-fit="{name}"] {{ font-size: {size}pt }}' for name, size in sizes.items()
    )


def fit_document(
    piece: Piece, book: str, html: str, layout: Callable[[Mapping[str, float]], object]
):
    """Lay out with ``layout(sizes)`` until every zone of ``html`` fits; return the document."""
    fits = {f.field: f for f in piece.fits}
    sizes = {f.field: float(f.base) for f in piece.fits}
    zones = zones_of(html)
    over: dict[str, float] = {}
    for _ in range(MAX_FIT_ATTEMPTS):
        document = layout(sizes)
        over = overflows(document, zones)
        if not over:
            if len(document.pages) != piece.pages:
                raise FlyerFitError(
                    piece.name,
                    book,
                    "layout",
                    f"the layout ran onto {len(document.pages)} pages instead of {piece.pages}",
                )
            return document
        if any(name not in fits for name in over):
            raise FlyerFitError(
                piece.name, book, "layout", "some text does not fit on the page at all"
            )
        # Shrink everything that still can; fail only when nothing can, naming
        # the innermost field (it is why its container overflows too).
        shrinkable = [name for name in over if sizes[name] > fits[name].minimum]
        if not shrinkable:
            name = next(iter(over))
            raise too_long(piece, book, fits[name], over[name])
        for name in shrinkable:
            # Text area grows with the square of the size: aim just under the fit.
            target = sizes[name] * min(0.95, 0.98 / math.sqrt(over[name]))
            sizes[name] = max(fits[name].minimum, math.floor(target * 4) / 4)
        logger.debug("%s/%s: shrinking %s", book, piece.name, sizes)
    name, ratio = next(iter(over.items()))
    raise too_long(piece, book, fits[name], ratio)


def too_long(piece: Piece, book: str, fit: Fit, ratio: float) -> FlyerFitError:
    """The error for a field that does not fit even at its minimum size."""
    return FlyerFitError(
        piece.name,
        book,
        fit.field,
        f"the {fit.label} {'do' if fit.plural else 'does'} not fit even at {fit.minimum:g} pt "
        f"(it needs {ratio:.0%} of its space): shorten {fit.source}",
    )
