"""A seeded EBS stand-in on SQLite or on a throwaway PostgreSQL database, for the EBS tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from prestaoracle.sandbox.ebs import create_schema, seed
from support.pg import no_postgres, temp_database


@contextlib.contextmanager
def seeded_ebs(backend: str, shop_rows: dict, workdir: Path, name: str) -> Iterator[tuple[sa.Engine, Any]]:
    """(engine, seed report) for the stand-in created and seeded from ``shop_rows`` with seed 11."""
    if backend == "sqlite":
        engine = sa.create_engine(f"sqlite:///{workdir / 'ebs.db'}")
        create_schema(engine)
        try:
            yield engine, seed(engine, shop_rows, 11)
        finally:
            engine.dispose()
        return
    database = temp_database(name)
    try:
        url = database.__enter__()
    except sa.exc.OperationalError as exc:
        no_postgres(exc)
    engine = sa.create_engine(url)
    try:
        create_schema(engine)
        yield engine, seed(engine, shop_rows, 11)
    finally:
        engine.dispose()
        database.__exit__(None, None, None)
