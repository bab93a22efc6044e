"""The author's desk under ``/admin/``: sign-in, then everything the catalog holds.

:mod:`.base` holds the blueprint, the security every desk route passes and the
sign-in; the other modules add the desk's pages to the blueprint, by concern.
"""

from __future__ import annotations

from . import (  # noqa: F401  (routes)
    campaigns,
    catalog,
    dashboard,
    history,
    preview,
    readers,
    statistics,
    uploads,
)
from .base import bp, init_app

__all__ = ["bp", "init_app"]
