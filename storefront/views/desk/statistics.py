"""The full click statistics inside the desk: the signed-in author needs no admin token."""

from __future__ import annotations

from ..admin import stats_context
from .base import bp, page


@bp.get("/statistics")
def statistics():
    return page("desk/stats.html", title="Click statistics", **stats_context())
