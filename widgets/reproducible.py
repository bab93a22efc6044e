"""Build timestamps that honour ``SOURCE_DATE_EPOCH`` (reproducible builds)."""

from __future__ import annotations

import os
from datetime import UTC, datetime


def source_date(default: datetime | None = None) -> datetime:
    """Return ``SOURCE_DATE_EPOCH`` as an aware UTC datetime, else ``default`` or now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError):
            raise ValueError(
                f"SOURCE_DATE_EPOCH: '{epoch}' is not a whole number of seconds"
            ) from None
    return (default or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
