"""Where a test's Oracle pod keeps its store: the sandbox's own SQLite file, or a throwaway PostgreSQL database.

Tests that must reach the store behind the HTTP face (to break it on purpose) or that must run on both backends
use this, so the SQLite path and the PostgreSQL URL are found the same way everywhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from support.pg import no_postgres, temp_database


@dataclass
class PodStore:
    """The sandbox arguments that place the store, and the URL a test can open it with."""

    args: list[str]
    url: str


@contextlib.contextmanager
def pod_store(backend: str, workdir: Path, prefix: str) -> Iterator[PodStore]:
    """A store for ``run_sandbox``: SQLite under ``workdir`` (passed as ``--data-dir``) or a fresh PostgreSQL db."""
    if backend == "sqlite":
        data_dir = workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        yield PodStore(["--data-dir", str(data_dir)], f"sqlite:///{(data_dir / 'oracle.sqlite').resolve()}")
        return
    database = temp_database(prefix)
    try:
        url = database.__enter__()
    except sa.exc.OperationalError as exc:
        no_postgres(exc)
    try:
        yield PodStore(["--oracle-db-url", url], url)
    finally:
        database.__exit__(None, None, None)
