"""Each schema version creates what it always did, on SQLite and PostgreSQL.

Some migrations build their tables with the same function as the live model (the table has
not changed since). Changing such a table must be a new migration, with the old one given
its own frozen copy; this test fails when a past version's tables change instead. The
expected schemas are ``tests/data/schema_history.json``; after adding a migration, write
its version there with ``python -m tests.test_schema_history`` (with
``STOREFRONT_TEST_POSTGRES_URL`` set, for both backends) and review the diff.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from storefront.storage import SCHEMA_TABLE, SCHEMA_VERSION, migrate

from .clickdb import click_database

EXPECTED = Path(__file__).parent / "data" / "schema_history.json"


def describe(engine) -> dict:
    """The tables of ``engine``'s database: columns, keys, indexes, constraints."""
    insp = inspect(engine)
    tables = {}
    for name in sorted(insp.get_table_names()):
        if name == SCHEMA_TABLE:
            continue
        tables[name] = {
            "columns": [
                f"{c['name']} {c['type']}{'' if c['nullable'] else ' NOT NULL'}"
                + (f" DEFAULT {c['default']}" if c.get("default") is not None else "")
                for c in insp.get_columns(name)
            ],
            "primary_key": insp.get_pk_constraint(name)["constrained_columns"],
            "indexes": sorted(
                f"{i['name']} ({', '.join(i['column_names'])}){' UNIQUE' if i['unique'] else ''}"
                for i in insp.get_indexes(name)
            ),
            "unique": sorted(
                f"{u['name']} ({', '.join(u['column_names'])})"
                for u in insp.get_unique_constraints(name)
            ),
            "foreign_keys": sorted(
                f"({', '.join(f['constrained_columns'])}) -> {f['referred_table']}"
                f" ({', '.join(f['referred_columns'])})"
                for f in insp.get_foreign_keys(name)
            ),
        }
    return tables


def history(url: str) -> dict[str, dict]:
    """The schema after each version, migrating one version at a time."""
    engine = create_engine(url)
    try:
        result = {}
        for version in range(1, SCHEMA_VERSION + 1):
            migrate(engine, target=version)
            result[str(version)] = describe(engine)
        return result
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def test_each_schema_version_creates_what_it_always_did(backend, tmp_path):
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))[backend]
    with click_database(backend, tmp_path) as url:
        actual = history(url)
    for version, tables in actual.items():
        assert version in expected, f"version {version} is new: add it (see the docstring)"
        assert tables == expected[version], f"schema version {version} changed what it creates"


if __name__ == "__main__":  # write the expected schemas (review the diff before committing)
    import tempfile

    from .clickdb import POSTGRES_URL, fresh_postgres_database

    written = json.loads(EXPECTED.read_text(encoding="utf-8")) if EXPECTED.exists() else {}
    with tempfile.TemporaryDirectory() as folder:
        written["sqlite"] = history(f"sqlite:///{folder}/schema.db")
    if POSTGRES_URL:
        with fresh_postgres_database() as url:
            written["postgres"] = history(url)
    else:
        print("STOREFRONT_TEST_POSTGRES_URL is not set: PostgreSQL left as it was", file=sys.stderr)
    EXPECTED.write_text(json.dumps(written, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {EXPECTED} ({os.path.getsize(EXPECTED)} bytes)")
