"""Sign-in for the author: a password hash, a session generation and sign-in slowing.

The password is kept as an Argon2id hash (argon2-cffi) in ``desk-auth.json`` in the
instance folder, never in the catalog. The same file holds the session
*generation*: every signed session cookie carries the generation it was issued
in, and signing out (or setting a new password) moves the generation on, so a
cookie from before no longer opens the desk, even if someone kept a copy.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
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


@dataclass
class _Attempts:
    failures: int = 0
    last: float = 0.0


@dataclass
class SignInThrottle:
    """Slow repeated wrong passwords: after ``free`` failures, wait twice as long each time.

    Counted per client address and for everyone together (``total``: a spread-out
    guess still slows down). A right password resets the client's count.
    """

    free: int = 3
    base: float = 1.0  # seconds after the first counted failure
    cap: float = 900.0
    forget_after: float = 3600.0
    _clients: dict[str, _Attempts] = field(default_factory=dict)
    _everyone: _Attempts = field(default_factory=_Attempts)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _wait(self, attempts: _Attempts, free: int, now: float) -> float:
        if now - attempts.last > self.forget_after:
            attempts.failures = 0
        over = attempts.failures - free
        if over <= 0:
            return 0.0
        delay = min(self.cap, self.base * 2 ** (over - 1))
        return max(0.0, attempts.last + delay - now)

    def retry_after(self, client: str, now: float | None = None) -> float:
        """Seconds ``client`` must wait before its next attempt is even checked."""
        now = time.monotonic() if now is None else now
        with self._lock:
            mine = self._clients.get(client, _Attempts())
            return max(
                self._wait(mine, self.free, now), self._wait(self._everyone, self.free * 10, now)
            )

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._clients) > 10000:
                self._clients.clear()
            for attempts in (self._clients.setdefault(client, _Attempts()), self._everyone):
                attempts.failures += 1
                attempts.last = now

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)
