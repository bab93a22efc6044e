"""Slow down wrong secrets per client, in the database every server shares.

A client (an address, or an IPv6 /64: one machine usually holds the whole block) gets
:data:`FREE` attempts; after the ``FREE``-th failure its next attempt must wait 1 s, then
2 s, 4 s … up to :data:`CAP`. A client that stays away :data:`FORGET_AFTER` starts
afresh, and a right secret wipes its count. Nothing is counted for everyone together, so
no stranger's guesses can keep the author (a client that has not failed) out.

An attempt is *reserved* before the secret is checked: :meth:`Throttle.attempt` counts
it as a failure in one short transaction (``INSERT … ON CONFLICT DO NOTHING``, then
``UPDATE … WHERE next_at <= now RETURNING failures``) and :meth:`Throttle.succeeded`
takes it back. So a burst of concurrent guesses from one client, on any thread, worker
or server sharing the database, gets exactly the free attempts checked: the row lock
(PostgreSQL) or the writer lock every process on the SQLite file shares orders them.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy import Engine, bindparam, case, select
from sqlalchemy.exc import SQLAlchemyError

from ..storage import StorageError, WriterLock, insert_absent, migrate
from ..storage.engine import lock_path
from .tables import signin_failures as failures

logger = logging.getLogger(__name__)

FREE = 3  # failures before the first wait
BASE = 1.0  # seconds of the first wait
CAP = 900.0  # the longest wait (15 minutes)
FORGET_AFTER = 3600.0  # seconds without an attempt after which a client starts afresh


class ThrottleUnavailableError(Exception):
    """The attempts cannot be counted (the database is down): refuse, never let it through."""


def client_key(scope: str, address: str | None) -> str:
    """The key one client's attempts are counted under: ``scope:address``.

    An IPv6 address counts as its /64 network (one subscriber's block); an IPv4 address
    mapped into IPv6 as the IPv4 address.
    """
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return f"{scope}:{(address or 'unknown')[:64]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        else:
            return f"{scope}:{ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"{scope}:{ip}"


def wait_after(count: int, free: int = FREE, base: float = BASE, cap: float = CAP) -> float:
    """Seconds a client must wait after its ``count``-th failure in a row."""
    if count < free:
        return 0.0
    return min(cap, base * 2 ** min(count - free, 32))


class Throttle:
    """Per-client attempt counting in the shared database (see the module docstring)."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        *,
        free: int = FREE,
        base: float = BASE,
        cap: float = CAP,
        forget_after: float = FORGET_AFTER,
        clock: Callable[[], float] = time.time,
    ):
        self._engine = engine
        self.free, self.base, self.cap, self.forget_after = free, base, cap, forget_after
        self.clock = clock
        self._ready: Engine | None = None
        self._writer: WriterLock | None = None

    def _prepare(self) -> tuple[Engine, AbstractContextManager]:
        engine = self._engine()
        if self._ready is not engine:
            migrate(engine)  # the table is a migration of the one schema history
            database = engine.url.database if engine.dialect.name == "sqlite" else None
            # SQLite: take turns with every other writer of the file (clicks included).
            self._writer = WriterLock(lock_path(database)) if database else None
            self._ready = engine
        return engine, self._writer or nullcontext()

    def attempt(self, key: str) -> float:
        """Reserve an attempt for ``key``: 0.0 if it may be checked now, else seconds to wait.

        A reserved attempt counts as a failure until :meth:`succeeded` is called.
        Raises :class:`ThrottleUnavailableError` when the database does not answer.
        """
        now = self.clock()
        stale = now - self.forget_after
        try:
            engine, writer = self._prepare()
            with writer, engine.begin() as conn:
                conn.execute(_insert_absent(conn.dialect.name), dict(key=key, now=now))
                counted = conn.execute(
                    failures.update()
                    .where(failures.c.key == key)
                    .where((failures.c.next_at <= now) | (failures.c.last_at < stale))
                    .values(
                        failures=_case_stale(stale),
                        last_at=now,
                    )
                    .returning(failures.c.failures)
                ).scalar()
                if counted is None:
                    next_at = conn.execute(
                        select(failures.c.next_at).where(failures.c.key == key)
                    ).scalar()
                    return max(0.001, (next_at or now) - now)
                wait = wait_after(counted, self.free, self.base, self.cap)
                conn.execute(
                    failures.update().where(failures.c.key == key).values(next_at=now + wait)
                )
                if random.random() < 0.01:  # now and then, forget clients long gone
                    conn.execute(failures.delete().where(failures.c.last_at < stale - self.cap))
            return 0.0
        except (SQLAlchemyError, OSError, StorageError) as exc:
            raise ThrottleUnavailableError(str(exc)) from exc

    def succeeded(self, key: str) -> None:
        """The reserved attempt was right: forget the client's failures.

        Never raises: if the database went away meanwhile, the one failure stays counted.
        """
        try:
            engine, writer = self._prepare()
            with writer, engine.begin() as conn:
                conn.execute(failures.delete().where(failures.c.key == key))
        except (SQLAlchemyError, OSError, StorageError) as exc:
            logger.warning("sign-in throttle: cannot clear %s: %s", key, exc)

    def count(self, key: str) -> int:
        """The failures counted for ``key`` (0 if none)."""
        engine, _ = self._prepare()
        with engine.connect() as conn:
            value = conn.execute(select(failures.c.failures).where(failures.c.key == key)).scalar()
        return value or 0


def _case_stale(stale: float):
    return case((failures.c.last_at < stale, 1), else_=failures.c.failures + 1)


def _insert_absent(dialect: str):
    return insert_absent(
        dialect,
        failures,
        "sign-in throttling needs",
        key=bindparam("key"),
        failures=0,
        last_at=bindparam("now"),
        next_at=0.0,
    )
