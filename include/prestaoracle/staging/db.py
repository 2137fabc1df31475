"""Connecting to the staging database, and the ``Staging`` facade the flows use.

``connect(url_or_engine)`` accepts a SQLAlchemy URL (``sqlite:///var/staging.db``,
``postgresql+psycopg://user@host/db``; ``postgresql://`` means psycopg2, which works too), a plain file path
(SQLite), or an existing Engine, used as is (its settings are the caller's). ``create_engine`` configures:

* SQLite: WAL journal, ``foreign_keys=ON``, ``synchronous=NORMAL``, a 30 s busy timeout, and real transactions:
  pysqlite's own transaction handling is switched off and every transaction starts with ``BEGIN IMMEDIATE``, so
  DDL is transactional, SAVEPOINTs work, and concurrent writers queue instead of failing half-way with
  ``database is locked`` (readers in WAL mode are never blocked by this).
* PostgreSQL: ``pool_pre_ping`` so a connection dropped by the server is replaced, not handed out.

The facade keeps writes explicit about their transaction::

    st = connect("sqlite:///var/staging.db")
    st.upgrade()
    with st.transaction() as tx:                      # one commit for the batch and its watermark
        result = tx.land("prestashop", "orders", records, run_id=run_id)
        tx.upsert("ps_orders", rows, ["id_order"])
        tx.advance_watermark("prestashop", "orders", newest_date_upd, run_id=run_id)
    st.watermark("prestashop", "orders")             # reads open their own short transaction

Every method is a thin call to the module function of the same job (``landing``, ``upsert``, ``watermarks``,
``ledger``, ``dead_letters``, ``metrics``); the functions remain usable on any Connection.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from . import dead_letters, landing, ledger, metrics, migrate, schema, watermarks
from .upsert import UpsertResult, upsert

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "prestaoracle_read_only"
"""Execution option: on SQLite, begin this connection's transactions DEFERRED (reads only)."""


def _set_wal(cursor: Any) -> None:
    """Switch to WAL; the switch takes an exclusive lock that SQLite's busy handler does not wait for, so several
    processes opening a new file at once get "database is locked" here: wait for the others instead."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _configure_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (SQLAlchemy's documented recipe)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            _set_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Read-only connections (Staging's reads) begin DEFERRED so they never queue behind a writer.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def create_engine(url: str | Path | sa.URL) -> sa.Engine:
    """An engine configured for staging (see the module docstring)."""
    if isinstance(url, Path) or (isinstance(url, str) and "://" not in url):
        url = f"sqlite:///{Path(url)}"
    url = sa.make_url(url)
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url)
        _configure_sqlite(engine)
        return engine
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True)
    raise ValueError(f"the staging database is SQLite or PostgreSQL, not {url.get_backend_name()}")


def connect(url_or_engine: str | Path | sa.URL | sa.Engine, *, upgrade: bool = False) -> Staging:
    """Open the staging database; with ``upgrade=True`` also create or upgrade its schema."""
    engine = url_or_engine if isinstance(url_or_engine, sa.Engine) else create_engine(url_or_engine)
    staging = Staging(engine)
    if upgrade:
        staging.upgrade()
    return staging


class StagingTx:
    """The staging operations bound to one open transaction (from ``Staging.transaction()``)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def execute(self, statement: Any, parameters: Any = None) -> sa.CursorResult:
        return self.conn.execute(statement, parameters)

    def land(self, source: str, entity: str, records: Iterable[Mapping[str, Any]], **kwargs: Any) -> landing.LandResult:
        return landing.land(self.conn, source, entity, records, **kwargs)

    def upsert(self, table: sa.Table | str, rows: Iterable[Mapping[str, Any]], key_cols: Sequence[str] | str,
               **kwargs: Any) -> UpsertResult:
        return upsert(self.conn, table, rows, key_cols, **kwargs)

    def advance_watermark(self, source: str, entity: str, value: watermarks.CursorValue, *, run_id: str) -> bool:
        return watermarks.advance(self.conn, source, entity, value, run_id)

    def watermark(self, source: str, entity: str) -> str | None:
        return watermarks.get(self.conn, source, entity)

    def claim(self, target: str, record_key: str | int, *, run_id: str, **kwargs: Any) -> ledger.LedgerEntry:
        return ledger.claim(self.conn, target, record_key, run_id, **kwargs)

    def record_success(self, target: str, record_key: str | int, **kwargs: Any) -> ledger.LedgerEntry:
        return ledger.record_success(self.conn, target, record_key, **kwargs)

    def record_failure(self, target: str, record_key: str | int, error: str | BaseException,
                       **kwargs: Any) -> ledger.LedgerEntry:
        return ledger.record_failure(self.conn, target, record_key, error, **kwargs)

    def lookup(self, target: str, record_key: str | int) -> ledger.LedgerEntry | None:
        return ledger.lookup(self.conn, target, record_key)

    def quarantine(self, **kwargs: Any) -> dead_letters.DeadLetter:
        return dead_letters.quarantine(self.conn, **kwargs)

    def record_step(self, run_id: str, flow: str, step: str, **kwargs: Any) -> None:
        metrics.record_step(self.conn, run_id, flow, step, **kwargs)


class Staging:
    """The staging database: an Engine plus the operations of the staging modules (see the module docstring)."""

    tables = schema.TABLES

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def __repr__(self) -> str:
        return f"Staging({self.engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    # -- schema
    def upgrade(self, target: str = "head") -> str | None:
        return migrate.upgrade(self.engine, target)

    def version(self) -> str | None:
        """The Alembic revision the database is at (None before ``upgrade``)."""
        with self._read() as conn:
            return migrate.current_revision(conn)

    # -- transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[StagingTx]:
        """One transaction: committed when the block ends, rolled back (watermarks included) if it raises."""
        with self.engine.begin() as conn:
            yield StagingTx(conn)

    @contextlib.contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn.execution_options(**{READ_ONLY: True})

    # -- one-shot operations, each in its own transaction
    def land(self, source: str, entity: str, records: Iterable[Mapping[str, Any]], **kwargs: Any) -> landing.LandResult:
        with self.transaction() as tx:
            return tx.land(source, entity, records, **kwargs)

    def upsert(self, table: sa.Table | str, rows: Iterable[Mapping[str, Any]], key_cols: Sequence[str] | str,
               **kwargs: Any) -> UpsertResult:
        with self.transaction() as tx:
            return tx.upsert(table, rows, key_cols, **kwargs)

    def claim(self, target: str, record_key: str | int, *, run_id: str, **kwargs: Any) -> ledger.LedgerEntry:
        """Claim and commit at once: the claim must be durable before the target is called."""
        with self.transaction() as tx:
            return tx.claim(target, record_key, run_id=run_id, **kwargs)

    def record_success(self, target: str, record_key: str | int, **kwargs: Any) -> ledger.LedgerEntry:
        with self.transaction() as tx:
            return tx.record_success(target, record_key, **kwargs)

    def record_failure(self, target: str, record_key: str | int, error: str | BaseException,
                       **kwargs: Any) -> ledger.LedgerEntry:
        with self.transaction() as tx:
            return tx.record_failure(target, record_key, error, **kwargs)

    def quarantine(self, **kwargs: Any) -> dead_letters.DeadLetter:
        with self.transaction() as tx:
            return tx.quarantine(**kwargs)

    def record_step(self, run_id: str, flow: str, step: str, **kwargs: Any) -> None:
        with self.transaction() as tx:
            tx.record_step(run_id, flow, step, **kwargs)

    def timed_step(self, run_id: str, flow: str, step: str) -> contextlib.AbstractContextManager[metrics.StepCounts]:
        return metrics.timed_step(self.engine, run_id, flow, step)

    # -- reads
    def watermark(self, source: str, entity: str) -> str | None:
        with self._read() as conn:
            return watermarks.get(conn, source, entity)

    def landed(self, source: str, entity: str, *, run_id: str | None = None) -> list[dict[str, Any]]:
        with self._read() as conn:
            return landing.landed(conn, source, entity, run_id=run_id)

    def lookup(self, target: str, record_key: str | int) -> ledger.LedgerEntry | None:
        with self._read() as conn:
            return ledger.lookup(conn, target, record_key)

    def pending(self, target: str, **kwargs: Any) -> list[ledger.LedgerEntry]:
        with self._read() as conn:
            return ledger.pending(conn, target, **kwargs)

    def open_dead_letters(self, **kwargs: Any) -> list[dead_letters.DeadLetter]:
        with self._read() as conn:
            return dead_letters.list_open(conn, **kwargs)

    def dead_letter_counts(self, **kwargs: Any) -> dict[str, int]:
        with self._read() as conn:
            return dead_letters.counts_by_reason(conn, **kwargs)

    def mark_replayed(self, ids: Iterable[int], *, run_id: str) -> int:
        with self.transaction() as tx:
            return dead_letters.mark_replayed(tx.conn, ids, run_id=run_id)

    def resolve(self, ids: Iterable[int], *, note: str | None = None) -> int:
        with self.transaction() as tx:
            return dead_letters.resolve(tx.conn, ids, note=note)

    def step_metrics(self, run_id: str, flow: str | None = None) -> list[dict[str, Any]]:
        with self._read() as conn:
            return metrics.step_metrics(conn, run_id, flow)
