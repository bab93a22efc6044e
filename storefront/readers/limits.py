"""Rate limits on the sign-up form, kept in the database so every server shares them.

A sign-up counts against its client (a keyed hash of the address it came from, an IPv6
address by its /64) and against the e-mail address (its hash). Past either limit the
form still answers politely, but nothing is stored and nothing is sent. Attempts older
than a day are deleted as new ones come in; no address, IP or otherwise, is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from .address import address_hash
from .tables import attempts, utc

KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    count: int
    window: timedelta


CLIENT_LIMIT = Limit(20, timedelta(hours=1))  # a household or office shares one address
ADDRESS_LIMIT = Limit(5, timedelta(hours=1))


def client_key(secret_key: str | bytes, remote_addr: str | None) -> str:
    """The key of a client: a keyed hash, never the address itself."""
    text = (remote_addr or "unknown").strip()
    try:
        ip = ipaddress.ip_address(text)
        if ip.version == 6:
            text = str(ipaddress.ip_network(f"{ip}/64", strict=False))
    except ValueError:
        pass
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return "c:" + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:40]


def address_key(email: str) -> str:
    return "a:" + address_hash(email)[:40]


def allow(conn: Connection, key: str, limit: Limit, at: datetime | None = None) -> bool:
    """Count one attempt for ``key``; ``False`` when it is over ``limit``."""
    now = utc(at)
    recent = conn.execute(
        select(func.count())
        .select_from(attempts)
        .where(attempts.c.key == key, attempts.c.at > now - limit.window)
    ).scalar_one()
    if recent >= limit.count:
        return False
    conn.execute(insert(attempts).values(key=key, at=now))
    return True


def prune(conn: Connection, at: datetime | None = None) -> None:
    """Delete attempts older than a day."""
    conn.execute(delete(attempts).where(attempts.c.at < utc(at) - KEEP))


def forget_attempts(conn: Connection, email: str) -> None:
    conn.execute(delete(attempts).where(attempts.c.key == address_key(email)))
