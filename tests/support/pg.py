"""Throwaway PostgreSQL databases on the local server, so tests can run the same code on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import sqlalchemy as sa

# The machines this project is tested on run PostgreSQL on loopback with trust auth (.ci/run starts it).
ADMIN_URL = os.environ.get("PRESTAORACLE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def temp_database(prefix: str = "prestaoracle_test") -> Iterator[str]:
    """Create a fresh database, yield its SQLAlchemy URL, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def no_postgres(exc: Exception) -> None:
    """Skip on a developer box without PostgreSQL; fail in CI, which starts it (.ci/run), so nothing hides there."""
    import pytest

    message = f"no local PostgreSQL: {getattr(exc, 'orig', exc)}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
