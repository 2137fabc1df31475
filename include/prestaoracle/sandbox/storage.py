"""What both emulators share to run: their database engines and their uvicorn worker processes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa


def create_engine(url: str) -> sa.Engine:
    """SQLite in WAL mode with a generous busy timeout (uvicorn workers share the file); others pre-ping."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


@contextlib.contextmanager
def begin_write(engine: sa.Engine, name: str) -> Iterator[sa.Connection]:
    """A transaction that holds the store's write lock ``name`` from its first statement to its commit.

    Worker processes then apply writes one after the other, as if each read-modify-write (an invoice number, a
    total paid, a stock sum) were one atomic statement. SQLite takes its database lock up front (``BEGIN
    IMMEDIATE`` waits out the busy timeout instead of failing when a read has to become a write); PostgreSQL takes
    a transaction-scoped advisory lock.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)})
        yield conn


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def spawn_uvicorn(factory: str, env_var: str, db_url: str, host: str, port: int, workers: int,
                  date_header: bool = True) -> subprocess.Popen:
    """Serve an app factory in a child uvicorn process with ``workers`` workers; the store's URL goes by env.

    ``date_header=False`` leaves the ``Date`` header to the app (an emulator whose clock is not the machine's).
    """
    env = dict(os.environ, **{env_var: db_url})
    cmd = [
        sys.executable, "-m", "uvicorn", factory, "--factory", "--host", host, "--port", str(port),
        "--workers", str(workers), "--log-level", "warning", "--no-access-log", "--no-server-header",
        "--timeout-graceful-shutdown", "2",
    ]
    if not date_header:
        cmd.append("--no-date-header")
    return subprocess.Popen(cmd, env=env)


def sqlite_url(data_dir: Path, name: str) -> str:
    """A SQLite file in ``data_dir`` (created if needed)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / name).resolve()}"
