"""The link checker's report: the last ``storefront links check`` run, as JSON in the
instance folder.

``storefront links check`` saves its run here (:func:`save_report`); the desk's
dashboard reads it (:func:`load_report`) to show link health without checking
anything itself.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from ..files import write_atomic
from ..settings import instance_folder

REPORT_FILE = "links-report.json"


def save_report(run: dict, catalog_version: str, folder: Path | None = None) -> Path:
    """Write a links check ``run`` (``LinkRun.to_dict()``) as the latest report."""
    folder = folder or instance_folder()
    folder.mkdir(parents=True, exist_ok=True)
    body = {
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "catalog": catalog_version,
        "run": run,
    }
    path = folder / REPORT_FILE
    write_atomic(path, (json.dumps(body, indent=2) + "\n").encode("utf-8"))
    return path


def load_report(folder: str | os.PathLike) -> dict | None:
    """The latest report, or None when no check was saved (or it cannot be read)."""
    try:
        data = json.loads((Path(folder) / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("run"), dict) else None
