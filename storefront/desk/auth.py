"""Sign-in for the author: a password hash and a session generation.

The password is kept as an Argon2id hash (argon2-cffi) in the ``desk_state`` table of
the app's one database (never in the catalog), so with several servers on one
PostgreSQL the password is set once for all of them. The same table holds the
session *generation*: every signed session cookie carries the generation it was
issued in, and signing out (or setting a new password) moves the generation on, so
a cookie from before no longer opens the desk on any server, even if someone kept a
copy; and the session secret, unless ``STOREFRONT_SECRET_KEY`` sets one. A password
or secret an older version kept in the instance folder (``desk-auth.json``,
``secret_key``) is moved into the database on first use. Wrong
passwords are slowed by :mod:`storefront.desk.throttle`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from ..files import write_atomic
from ..storage import database_url, make_engine, migrate
from .tables import state as state_table

logger = logging.getLogger(__name__)


AUTH_FILE = "desk-auth.json"
SECRET_FILE = "secret_key"
MIN_PASSWORD = 10
MAX_PASSWORD = 1024

_hasher = PasswordHasher()


class PasswordError(ValueError):
    """A new password is not acceptable; the message says why."""


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically to ``path``, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, mode=0o600)


def _upsert(conn, name: str, value: str, replace: bool = True) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(state_table).values(name=name, value=value)
    if replace:
        statement = statement.on_conflict_do_update(index_elements=["name"], set_={"value": value})
    else:
        statement = statement.on_conflict_do_nothing(index_elements=["name"])
    conn.execute(statement)


class AuthStore:
    """The password hash, the session generation and the session secret, in the database.

    ``engine``: the app's one engine; without it, the database ``url`` (by default the
    SQLite file in the instance folder, as ``storefront serve`` uses).
    """

    def __init__(
        self,
        instance_path: str | os.PathLike,
        engine: Engine | None = None,
        url: str | None = None,
    ):
        self.instance = Path(instance_path)
        self.path = self.instance / AUTH_FILE  # an older version's file, moved on first use
        self.engine = (
            engine if engine is not None else make_engine(database_url(url, instance_path))
        )
        self._lock = threading.Lock()
        self._ready = False

    @property
    def where(self) -> str:
        """Where the password is kept, for messages (the URL without its password)."""
        return self.engine.url.render_as_string(hide_password=True)

    def _ensure(self) -> None:
        if self._ready:
            return
        migrate(self.engine)
        legacy = _read_json(self.path)
        if legacy.get("hash"):
            with self.engine.begin() as conn:
                _upsert(conn, "password_hash", str(legacy["hash"]), replace=False)
                _upsert(conn, "generation", str(int(legacy.get("generation", 0))), replace=False)
            os.replace(self.path, self.path.with_name(self.path.name + ".imported"))
            logger.info("desk password moved from %s into the database", self.path)
        self._ready = True

    def _get(self, name: str) -> str | None:
        self._ensure()
        with self.engine.connect() as conn:
            return conn.execute(
                select(state_table.c.value).where(state_table.c.name == name)
            ).scalar()

    def _put(self, **values: str) -> None:
        self._ensure()
        with self.engine.begin() as conn:
            for name, value in values.items():
                _upsert(conn, name, value)

    def has_password(self) -> bool:
        return bool(self._get("password_hash"))

    def generation(self) -> int:
        value = self._get("generation") or "0"
        return int(value) if value.isdigit() else 0

    def set_password(self, password: str) -> None:
        """Hash and keep ``password``; every open session ends, on every server."""
        check_new_password(password)
        with self._lock:
            self._put(password_hash=_hasher.hash(password), generation=str(self.generation() + 1))

    def verify(self, password: str) -> bool:
        """Whether ``password`` is the author's (constant effort whatever the answer)."""
        stored = self._get("password_hash")
        if not stored or not password or len(password) > MAX_PASSWORD:
            # Same work as a real check, so timing tells nothing.
            _hasher.hash(secrets.token_hex(8))
            return False
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(stored):
            with self._lock:
                self._put(password_hash=_hasher.hash(password))
        return True

    def end_sessions(self) -> int:
        """Move the generation on: every session cookie issued so far stops working."""
        with self._lock:
            generation = self.generation() + 1
            self._put(generation=str(generation))
            return generation

    def secret_key(self) -> str:
        """The session secret every server on this database shares, made once.

        A key an older version kept in the instance folder is taken over; if the
        database cannot be reached, the instance folder's key is used (logged).
        """
        try:
            self._ensure()
            key = self._get("secret_key")
            if key and len(key) >= 32:
                return key
            # An older version's key is taken over (signed-in sessions stay), else a new one.
            candidate = _read_secret(self.instance) or secrets.token_hex(32)
            with self.engine.begin() as conn:
                _upsert(conn, "secret_key", candidate, replace=True if key else False)
            return self._get("secret_key") or candidate
        except SQLAlchemyError as exc:
            logger.warning("desk secret: the database did not answer (%s); using the folder's", exc)
            return _folder_secret(self.instance)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_secret(instance_path: Path) -> str:
    try:
        key = (instance_path / SECRET_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return key if len(key) >= 32 else ""


def _folder_secret(instance_path: Path) -> str:
    """The instance folder's secret key, generated on first use."""
    path = instance_path / SECRET_FILE
    key = _read_secret(instance_path)
    if not key:
        key = secrets.token_hex(32)
        write_private(path, key.encode("ascii"))
    return key


def secret_key(instance_path: str | os.PathLike) -> str:
    """Return the instance folder's secret key, generating it on first use."""
    return _folder_secret(Path(instance_path))


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordError(f"the password must have at most {MAX_PASSWORD} characters")
    if password.strip() != password:
        raise PasswordError("the password must not start or end with a space")
