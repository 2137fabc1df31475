"""Create or upgrade the staging schema: numbered steps, recorded in ``schema_version``, applied once each.

``upgrade(engine)`` runs every step above the recorded version in one transaction, so an upgrade that fails
leaves the schema as it was (both backends have transactional DDL). It is idempotent (a second call finds nothing
to do) and safe when several processes call it at once: on PostgreSQL the transaction holds an advisory lock
(``pg_advisory_xact_lock``) and re-reads the version after getting it; on SQLite the connection from ``db.connect``
opens every transaction with ``BEGIN IMMEDIATE``, which serialises writers the same way.

Adding a change: append ``Step(n + 1, "what", function)`` to ``STEPS`` and change ``schema.py`` to match. Step 1
creates the tables from the *current* metadata (``checkfirst``), so a later step must check before it adds (use
``_add_column`` or ``inspector``): on a fresh database step 1 already made the newest shape. The drift test
(``tests/unit/test_staging_schema.py``) checks that a fresh upgrade equals the metadata.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from . import schema
from ._common import utcnow

# A fixed 64-bit key for pg_advisory_xact_lock, derived from a name so it does not collide with other lock users.
ADVISORY_LOCK_KEY = zlib.crc32(b"prestaoracle.staging.migrate")


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    apply: Callable[[sa.Connection], None]


def _v1(conn: sa.Connection) -> None:
    schema.METADATA.create_all(conn, tables=list(schema.TABLES.values()), checkfirst=True)


def _add_column(conn: sa.Connection, table: sa.Table, column_name: str) -> None:
    """``ALTER TABLE … ADD COLUMN`` unless it is there already (for later steps; see the module docstring)."""
    existing = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    if column_name in existing:
        return
    column = table.c[column_name]
    ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
    conn.execute(sa.text(f"ALTER TABLE {conn.dialect.identifier_preparer.format_table(table)} ADD COLUMN {ddl}"))


STEPS: tuple[Step, ...] = (
    Step(1, "staging v1: landing, canonical PrestaShop and Oracle tables, watermarks, ledger, dead letters, "
            "metrics", _v1),
)
LATEST = STEPS[-1].version


def current_version(conn: sa.Connection) -> int:
    """The highest applied step, 0 on an empty database."""
    if not sa.inspect(conn).has_table(schema.schema_version.name):
        return 0
    version = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
    return int(version or 0)


def upgrade(engine: sa.Engine, target: int | None = None) -> int:
    """Apply every step up to ``target`` (default: the latest); return the version the database is at."""
    target = LATEST if target is None else target
    if target > LATEST:
        raise ValueError(f"no migration step {target}; the latest is {LATEST}")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
        elif conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:
            # An engine not made by db.connect: pysqlite has not begun anything yet, take the write lock now.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        version = current_version(conn)
        for step in STEPS:
            if version < step.version <= target:
                step.apply(conn)
                conn.execute(schema.schema_version.insert().values(
                    version=step.version, applied_at=utcnow(), description=step.description))
                version = step.version
        return version
