"""Saving the catalog: atomic writes, every previous version, diffs and restores.

Every save (from the desk or a restore) goes through :meth:`CatalogFiles.save`:

1. the file on disk must still be the version the form was opened on (its sha256),
   otherwise :class:`ChangedOnDisk` carries a diff of the hand edit and nothing is
   written;
2. the new text must pass the catalog's own validator (``storefront check``);
3. the previous and the new text are kept, by hash, in the ``desk_versions`` table
   and the save is recorded in ``desk_saves``, in the app's one database (the engine
   of :mod:`storefront.storage`, tables made by its migrations), so every server
   sharing the database shows the same history;
4. the file is replaced atomically (temporary file in the same folder, fsync,
   ``os.replace``), keeping its permissions; the running site then picks it up
   as it does a hand edit (:class:`storefront.state.CatalogStore` watches it).

With several app servers, the new text is also written to the ``desk_catalog_versions``
table; :class:`CatalogSync` on every server applies a newer version from there to its
own copy of the file (see ``docs/desk.md``). A history kept in the instance folder by
an older version (``desk/history.jsonl``, ``desk/versions/``) is moved into the
database the first time it is read.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, insert, select

from ..catalog import Catalog, CatalogError, builtin_catalog_path, parse_catalog
from ..files import write_atomic
from ..storage import insert_absent, migrate
from .catalogsync import CatalogSync  # noqa: F401  (where callers found it before)
from .tables import catalog_versions as versions_table
from .tables import saves as saves_table
from .tables import versions as kept_table

logger = logging.getLogger(__name__)

NEEDS = "the desk's history needs"  # what insert_absent names on another database


def digest(text: str) -> str:
    """The sha256 of a catalog text: the version a form was opened on."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def unified_diff(old: str, new: str, old_name: str = "before", new_name: str = "after") -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name
        )
    )


class SaveError(Exception):
    """A save was refused; nothing was written."""


class ReadOnlyCatalog(SaveError):
    pass


class ChangedOnDisk(SaveError):
    """The file changed since the form was opened (a hand edit, or another save)."""

    def __init__(self, diff: str, current: str):
        self.diff = diff
        self.current = current
        super().__init__("the catalog file changed on disk since this form was opened")


class Invalid(SaveError):
    """The new text does not pass ``storefront check``."""

    def __init__(self, error: CatalogError):
        self.problems = error.problems
        super().__init__(str(error))


@dataclass(frozen=True)
class Entry:
    """One save in the history: the text before and after, by hash."""

    number: int
    at: str
    summary: str
    before: str
    after: str


class CatalogFiles:
    """The catalog file, with its history and versions in the app's database."""

    def __init__(self, catalog_path: Path, instance_path: str | os.PathLike, engine: Engine):
        self.path = Path(catalog_path).resolve()
        self.root = Path(instance_path) / "desk"
        self.blobs = self.root / "versions"  # an older version's history (moved on first use)
        self.log = self.root / "history.jsonl"
        self.engine = engine
        self._lock = threading.Lock()
        self._schema_ready = False

    @property
    def read_only(self) -> bool:
        return self.path == builtin_catalog_path().resolve()

    # -- reading

    def read(self) -> str:
        return self.path.read_bytes().decode("utf-8")

    def keep(self, text: str) -> str:
        """Keep ``text`` by its hash (a form's starting point, a version); return the hash."""
        sha = digest(text)
        self._ensure_schema()
        with self.engine.begin() as conn:
            conn.execute(insert_absent(conn.dialect.name, kept_table, NEEDS, sha256=sha, text=text))
        return sha

    def kept(self, sha: str) -> str | None:
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            return None
        self._ensure_schema()
        with self.engine.connect() as conn:
            return conn.execute(
                select(kept_table.c.text).where(kept_table.c.sha256 == sha)
            ).scalar()

    def entries(self) -> list[Entry]:
        self._ensure_schema()
        with self.engine.connect() as conn:
            rows = conn.execute(select(saves_table).order_by(saves_table.c.number)).all()
        return [_entry(row) for row in rows]

    def entry(self, number: int) -> Entry | None:
        self._ensure_schema()
        with self.engine.connect() as conn:
            row = conn.execute(select(saves_table).where(saves_table.c.number == number)).first()
        return None if row is None else _entry(row)

    # -- writing

    def validate(self, text: str) -> Catalog:
        try:
            return parse_catalog(text, self.path)
        except CatalogError as exc:
            raise Invalid(exc) from None

    def save(self, text: str, base: str, summary: str) -> Entry:
        """Write ``text`` if the file is still version ``base``; keep the previous version."""
        if self.read_only:
            raise ReadOnlyCatalog(
                "the built-in catalog cannot be edited: copy it and set STOREFRONT_CATALOG"
            )
        with self._lock:
            current = self.read()
            if digest(current) != base:
                opened = self.kept(base)
                diff = (
                    unified_diff(opened, current, "when the form was opened", "on disk now")
                    if opened is not None
                    else ""
                )
                raise ChangedOnDisk(diff, current)
            self.validate(text)
            return self._write(current, text, summary)

    def _replace(self, current: str, text: str, summary: str) -> Entry:
        """Keep both versions, replace the file atomically, and record the save."""
        before, after = self.keep(current), self.keep(text)
        at = datetime.now(UTC).isoformat(timespec="seconds")
        write_atomic(self.path, text.encode("utf-8"))
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(saves_table).values(
                    at=at, summary=summary, before_sha=before, after_sha=after
                )
            )
            number = result.inserted_primary_key[0]
        return Entry(number=number, at=at, summary=summary, before=before, after=after)

    def _write(self, current: str, text: str, summary: str) -> Entry:
        entry = self._replace(current, text, summary)
        self.publish(text, summary)
        return entry

    def restore(self, number: int, base: str) -> Entry:
        """Bring back the file as it was before save ``number``, byte for byte."""
        entry = self.entry(number)
        if entry is None:
            raise SaveError(f"no save number {number} in the history")
        text = self.kept(entry.before)
        if text is None:
            raise SaveError(f"the version before save {number} is missing from the history")
        return self.save(text, base, f"restored the version before save {number}")

    # -- several app servers

    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            migrate(self.engine)  # the one schema history (storefront.storage.schema)
            self._schema_ready = True
            self._import_folder_history()

    def _import_folder_history(self) -> None:
        """Move a history an older version kept in the instance folder into the database."""
        if not self.log.exists():
            return
        legacy = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                legacy.append(Entry(**json.loads(line)))
            except (ValueError, TypeError):
                continue
        with self.engine.begin() as conn:
            for blob in self.blobs.glob("*.toml") if self.blobs.is_dir() else []:
                text = blob.read_bytes().decode("utf-8")
                conn.execute(
                    insert_absent(conn.dialect.name, kept_table, NEEDS, sha256=blob.stem, text=text)
                )
            known = conn.execute(select(func.count()).select_from(saves_table)).scalar()
            if not known:  # the first server to start with a database of its own
                for e in legacy:
                    conn.execute(
                        insert(saves_table).values(
                            number=e.number,
                            at=e.at,
                            summary=e.summary,
                            before_sha=e.before,
                            after_sha=e.after,
                        )
                    )
                if legacy and conn.dialect.name == "postgresql":
                    # Numbers given by hand do not move the sequence: move it past them.
                    conn.exec_driver_sql(
                        "SELECT setval(pg_get_serial_sequence('desk_saves', 'number'), "
                        "(SELECT max(number) FROM desk_saves))"
                    )
        os.replace(self.log, self.log.with_name(self.log.name + ".imported"))
        logger.info("desk history moved from %s into the database", self.log)

    def publish(self, text: str, summary: str) -> int | None:
        """Record ``text`` as the newest catalog version in the database."""
        try:
            self._ensure_schema()
            with self.engine.begin() as conn:
                result = conn.execute(
                    insert(versions_table).values(
                        sha256=digest(text), saved_at=datetime.now(UTC), summary=summary, text=text
                    )
                )
                number = result.inserted_primary_key[0]
        except Exception as exc:  # the file is saved: the other servers catch up later
            logger.warning("catalog saved, but not recorded in the database: %s", exc)
            return None
        self._mark_synced(number)
        return number

    def _sync_file(self) -> Path:
        return self.root / "synced.json"

    def synced(self) -> int:
        try:
            return int(json.loads(self._sync_file().read_text(encoding="utf-8"))["id"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def _mark_synced(self, number: int) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self._sync_file(), json.dumps({"id": number}).encode())

    def sync_once(self) -> bool:
        """Apply a newer catalog version from the database to this server's file.

        Returns whether the file was rewritten. The text replaced is kept in the
        history first, so nothing is lost; an invalid version is refused (logged).
        """
        if self.read_only:
            return False
        self._ensure_schema()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(versions_table).order_by(versions_table.c.id.desc()).limit(1)
            ).first()
        if row is None or row.id <= self.synced():
            return False
        with self._lock:
            current = self.read()
            if digest(current) == row.sha256:
                self._mark_synced(row.id)
                return False
            try:
                self.validate(row.text)
            except Invalid as exc:
                logger.error("catalog version %s from the database is invalid: %s", row.id, exc)
                self._mark_synced(row.id)
                return False
            if self.kept(digest(current)) is not None:
                # The history is shared: the server that saved it recorded the save.
                write_atomic(self.path, row.text.encode("utf-8"))
            else:  # a hand edit on this server: keep it in the history before replacing it
                self._replace(current, row.text, f"from another server: {row.summary}")
            self._mark_synced(row.id)
        logger.info("catalog version %s applied from the database", row.id)
        return True


def _entry(row) -> Entry:
    return Entry(
        number=row.number,
        at=row.at,
        summary=row.summary,
        before=row.before_sha,
        after=row.after_sha,
    )
