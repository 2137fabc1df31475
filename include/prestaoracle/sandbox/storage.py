"""What both emulators share to run: their database engines and their uvicorn worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
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


def spawn_uvicorn(factory: str, env_var: str, db_url: str, host: str, port: int, workers: int) -> subprocess.Popen:
    """Serve an app factory in a child uvicorn process with ``workers`` workers; the store's URL goes by env."""
    env = dict(os.environ, **{env_var: db_url})
    cmd = [
        sys.executable, "-m", "uvicorn", factory, "--factory", "--host", host, "--port", str(port),
        "--workers", str(workers), "--log-level", "warning", "--no-access-log", "--no-server-header",
        "--timeout-graceful-shutdown", "2",
    ]
    return subprocess.Popen(cmd, env=env)


def sqlite_url(data_dir: Path, name: str) -> str:
    """A SQLite file in ``data_dir`` (created if needed)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / name).resolve()}"
