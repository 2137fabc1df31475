"""The emulators' database engines: SQLite tuned for several worker processes, or any other SQLAlchemy URL."""

from __future__ import annotations

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
