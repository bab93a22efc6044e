"""Click storage: SQLite by default, PostgreSQL by URL, and the one ``record_click`` seam.

- :mod:`.engine`: engines (SQLite in WAL mode, PostgreSQL with short timeouts), the
  writer lock every process on one SQLite file shares.
- :mod:`.schema`: the click table, its migrations, and how rows are inserted.
- :mod:`.store`: :class:`ClickStore`, which commits each click or spools it.

A click row holds the time, the site-local day, book, format, offer, vendor,
placement, campaign, country and referrer host, and how it was classified
(:class:`~storefront.clicks.ClickKind`; ``is_repeat`` for a reader's repeat click).
Never an IP address, a user agent or a cookie id.
"""

from __future__ import annotations

from ..clicks import ClickEvent, ClickKind, new_click_id
from .engine import (
    DEFAULT_TIMEOUT,
    StorageError,
    WriterLock,
    database_url,
    insert_absent,
    make_engine,
)
from .schema import (
    MIGRATIONS,
    SCHEMA_TABLE,
    SCHEMA_VERSION,
    ClickInsert,
    clicks,
    insert_if_absent,
    metadata,
    migrate,
    schema_version,
)
from .store import ClickStore, iter_rows, open_click_store

__all__ = [
    "DEFAULT_TIMEOUT",
    "MIGRATIONS",
    "SCHEMA_TABLE",
    "SCHEMA_VERSION",
    "ClickEvent",
    "ClickInsert",
    "ClickKind",
    "ClickStore",
    "StorageError",
    "WriterLock",
    "clicks",
    "database_url",
    "insert_absent",
    "insert_if_absent",
    "iter_rows",
    "make_engine",
    "metadata",
    "migrate",
    "new_click_id",
    "open_click_store",
    "schema_version",
]
