"""Publishing: swap a finished export in as the live site, atomically.

A run builds into a new folder beside the target and then swaps a symlink, so
readers never see a half-written site; files that did not change are
hard-linked from the previous build (their bytes and times stay). A run that
would change nothing swaps nothing. ``manifest.json`` records the instant the
prices are valid for and the next campaign boundary: when cron should re-run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from .naming import MANIFEST, ExportError

EXPORT_FORMAT = 1
KEEP_BUILDS = 2  # the live build and the one before (a reader may still be fetching from it)


Files = dict[str, tuple[bytes, str, str]]  # static path -> (bytes, media type, source URL)


@dataclass(frozen=True)
class ExportResult:
    target: Path
    build: Path  # the live build folder
    changed: bool  # False: the previous build was already this export
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    missing: dict[str, str]
    manifest: dict


# CORS for the script and oEmbed embeds on hosts that read a `_headers` file
# (Netlify, Cloudflare Pages); elsewhere configure the same headers on the host.
HEADERS_FILE = """\
/widget.js
  Access-Control-Allow-Origin: *
/embed/*
  Access-Control-Allow-Origin: *
/oembed*
  Access-Control-Allow-Origin: *
"""


def make_manifest(
    files: Files,
    *,
    base_url: str,
    click_server: str | None,
    catalog_version: str,
    at: datetime,
    window: tuple[datetime | None, datetime | None],
    missing: dict[str, str],
) -> dict:
    """Describe an export: where it lives, its buy links, its price window, every file."""
    buy_links = (
        {"mode": "click-server", "url": click_server} if click_server else {"mode": "direct"}
    )
    return {
        "format": EXPORT_FORMAT,
        "generator": f"storefront {__version__}",
        "base_url": base_url,
        "buy_links": buy_links,
        "catalog_version": catalog_version,
        "prices_at": at.isoformat(),
        "prices_valid_from": window[0].isoformat() if window[0] else None,
        "prices_valid_until": window[1].isoformat() if window[1] else None,
        # Campaign boundaries are the only instants prices change: cron re-runs then.
        "rerun_at": window[1].isoformat() if window[1] else None,
        "files": {
            path: {
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
                "type": media,
                "source": source,
            }
            for path, (body, media, source) in sorted(files.items())
        },
        "missing": dict(sorted(missing.items())),
    }


def publish(target: str | Path, files: Files, manifest: dict, at: datetime) -> ExportResult:
    """Swap ``files`` in as the live build of ``target`` (unless nothing changed)."""
    target = Path(target).absolute()
    with claim(target) as builds:
        return publish_into(target, builds, files, manifest, at)


def _check_target(target: Path, builds: Path) -> None:
    if target.is_symlink():
        live = Path(os.readlink(target))
        live = live if live.is_absolute() else target.parent / live
        if live.resolve().parent != builds.resolve():
            raise ExportError(
                f"{target} is a symlink that this export did not make; choose another DIR"
            )
    elif target.exists():
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()  # an empty folder made for the export: the symlink takes its place
        else:
            raise ExportError(
                f"{target} exists and is not a Storefront export (one is a symlink to a build "
                f"in {builds.name}); remove it or choose another DIR"
            )


@contextmanager
def claim(target: Path) -> Iterator[Path]:
    """Check ``target`` is ours, then hold its lock (cron runs may overlap); yield the builds."""
    builds = target.parent / f".{target.name}.builds"
    _check_target(target, builds)
    builds.mkdir(parents=True, exist_ok=True)
    with open(builds / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportError(f"another export into {target} is running") from None
        try:
            yield builds
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _live_build(target: Path) -> Path | None:
    return target.resolve() if target.is_symlink() and target.resolve().is_dir() else None


def _read_manifest(build: Path | None) -> dict | None:
    if build is None:
        return None
    try:
        return json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _comparable(manifest: dict | None) -> dict | None:
    # The instant inside the window does not change a byte of the site.
    return None if manifest is None else {k: v for k, v in manifest.items() if k != "prices_at"}


def publish_into(
    target: Path,
    builds: Path,
    files: dict[str, tuple[bytes, str, str]],
    manifest: dict,
    at: datetime,
) -> ExportResult:
    """Publish ``files`` into ``target`` while holding its :func:`claim` (``builds``)."""
    live = _live_build(target)
    previous = _read_manifest(live)
    old_files = (previous or {}).get("files", {})
    if live is not None and _comparable(previous) == _comparable(manifest):
        return ExportResult(
            target, live, False, (), tuple(sorted(files)), (), manifest["missing"], previous
        )

    digest = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()[:10]
    name = f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest}"
    build, n = builds / name, 1
    while build.exists():
        n += 1
        build = builds / f"{name}-{n}"
    staging = builds / f".staging-{build.name}-{os.getpid()}"
    written, unchanged = [], []
    try:
        staging.mkdir()
        for path, (body, _, _) in sorted(files.items()):
            dest = staging / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            old = old_files.get(path)
            if live is not None and old and old.get("sha256") == manifest["files"][path]["sha256"]:
                try:
                    os.link(live / path, dest)  # same bytes: the same file, not a new write
                    unchanged.append(path)
                    continue
                except OSError:
                    pass
            dest.write_bytes(body)
            written.append(path)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        staging.rename(build)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # The swap: a new symlink renamed over the old one is atomic on POSIX.
    link = target.parent / f".{target.name}.swap-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(build, target.parent))
    os.replace(link, target)
    _prune(builds, keep={build, *(p for p in [live] if p)})
    removed = tuple(sorted(set(old_files) - set(files)))
    return ExportResult(
        target,
        build,
        True,
        tuple(written),
        tuple(unchanged),
        removed,
        manifest["missing"],
        manifest,
    )


def _prune(builds: Path, keep: set[Path]) -> None:
    candidates = sorted(
        (p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for path in candidates[KEEP_BUILDS:]:
        if path not in keep:
            shutil.rmtree(path, ignore_errors=True)
