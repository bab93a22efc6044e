"""Fresh click databases for tests: a SQLite file, or a new database on a real PostgreSQL.

PostgreSQL tests read ``STOREFRONT_TEST_POSTGRES_URL`` (e.g. ``postgresql:///storefront_test``):
each test gets its own database, created next to that one and dropped afterwards. Without
the variable they skip on a laptop and fail in CI (``conftest.require``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storefront.storage import database_url

from .conftest import require

# Read at import: the autouse fixture clears every STOREFRONT_* variable before each test.
POSTGRES_URL = os.environ.get("STOREFRONT_TEST_POSTGRES_URL")


def require_postgres() -> str:
    require(bool(POSTGRES_URL), "STOREFRONT_TEST_POSTGRES_URL is not set (a PostgreSQL server)")
    return database_url(POSTGRES_URL, ".")


@contextlib.contextmanager
def admin_connection():
    """An autocommit connection to the test server's own database (to create and drop others)."""
    engine = create_engine(require_postgres(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database on the test server; yield its URL; drop it afterwards."""
    name = f"sf_test_{secrets.token_hex(6)}"
    with admin_connection() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(require_postgres()).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin_connection() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def set_connections_allowed(url: str, allowed: bool) -> None:
    """A real outage: refuse new connections to the database and end the open ones."""
    name = make_url(url).database
    with admin_connection() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
        if not allowed:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )


@contextlib.contextmanager
def click_database(backend: str, tmp_path) -> Iterator[str]:
    """A fresh, empty click database URL for ``backend`` (``sqlite`` or ``postgres``)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'clicks.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url
