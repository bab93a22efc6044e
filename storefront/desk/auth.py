"""Sign-in for the author: a password hash and a session generation.

The password is kept as an Argon2id hash (argon2-cffi) in ``desk-auth.json`` in the
instance folder, never in the catalog. The same file holds the session
*generation*: every signed session cookie carries the generation it was issued
in, and signing out (or setting a new password) moves the generation on, so a
cookie from before no longer opens the desk, even if someone kept a copy. Wrong
passwords are slowed by :mod:`storefront.desk.throttle`.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..files import write_atomic

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


def secret_key(instance_path: str | os.PathLike) -> str:
    """Return the instance folder's secret key, generating it on first use."""
    path = Path(instance_path) / SECRET_FILE
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if len(key) < 32:
        key = secrets.token_hex(32)
        write_private(path, key.encode("ascii"))
    return key


class AuthStore:
    """The password hash and the session generation, in ``instance/desk-auth.json``."""

    def __init__(self, instance_path: str | os.PathLike):
        self.path = Path(instance_path) / AUTH_FILE
        self._lock = threading.Lock()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict) -> None:
        write_private(self.path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))

    def has_password(self) -> bool:
        return bool(self._read().get("hash"))

    def generation(self) -> int:
        value = self._read().get("generation", 0)
        return value if isinstance(value, int) else 0

    def set_password(self, password: str) -> None:
        """Hash and keep ``password``; every open session ends."""
        check_new_password(password)
        with self._lock:
            data = self._read()
            data["hash"] = _hasher.hash(password)
            data["generation"] = int(data.get("generation", 0)) + 1
            self._write(data)

    def verify(self, password: str) -> bool:
        """Whether ``password`` is the author's (constant effort whatever the answer)."""
        stored = self._read().get("hash")
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
                data = self._read()
                data["hash"] = _hasher.hash(password)
                self._write(data)
        return True

    def end_sessions(self) -> int:
        """Move the generation on: every session cookie issued so far stops working."""
        with self._lock:
            data = self._read()
            data["generation"] = int(data.get("generation", 0)) + 1
            self._write(data)
            return data["generation"]


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordError(f"the password must have at most {MAX_PASSWORD} characters")
    if password.strip() != password:
        raise PasswordError("the password must not start or end with a space")
