"""Schema migrations of the staging database on SQLite and PostgreSQL: version 1, idempotent, concurrent-safe,
equal to the metadata, and equal to what the committed ``sql/staging`` files create."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from support.pg import temp_database

from prestaoracle.staging import connect, migrate, schema
from prestaoracle.staging.db import create_engine

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
pytestmark = pytest.mark.xdist_group("test_staging_migrate")  # one worker per module: its databases are made once
SQL_DIR = Path(__file__).resolve().parents[2] / "sql" / "staging"


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database, fresh for each test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'staging.db'}"
        return
    with temp_database("prestaoracle_staging") as url:
        yield url


@contextlib.contextmanager
def engine_for(url: str) -> Iterator[sa.Engine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _diff(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), schema.METADATA)


def _versions(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(schema.schema_version.c.version)).scalars())


def test_upgrade_creates_version_1_and_a_second_run_does_nothing(empty_url: str) -> None:
    with engine_for(empty_url) as engine:
        with engine.connect() as conn:
            assert migrate.current_version(conn) == 0
        assert migrate.upgrade(engine) == migrate.LATEST == 1
        assert set(sa.inspect(engine).get_table_names()) == set(schema.TABLES)
        assert _diff(engine) == []
        assert migrate.upgrade(engine) == 1
        assert _versions(engine) == [1]


def test_upgrade_refuses_an_unknown_version(empty_url: str) -> None:
    with engine_for(empty_url) as engine, pytest.raises(ValueError, match="no migration step 2"):
        migrate.upgrade(engine, target=2)


def test_concurrent_upgrades_apply_each_step_once(empty_url: str) -> None:
    """Four processes' worth of upgrades at once (separate engines, so separate pools): one applies, the others
    wait for the lock and find nothing to do."""
    engines = [create_engine(empty_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    results: list[int] = []
    errors: list[BaseException] = []

    def run(engine: sa.Engine) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(migrate.upgrade(engine))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert errors == []
        assert results == [1, 1, 1, 1]
        assert _versions(engines[0]) == [1]
        assert _diff(engines[0]) == []
    finally:
        for e in engines:
            e.dispose()


def test_the_committed_ddl_file_creates_the_same_schema(empty_url: str) -> None:
    dialect = sa.make_url(empty_url).get_backend_name()
    text = (SQL_DIR / f"{dialect}.sql").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    with engine_for(empty_url) as engine:
        with engine.begin() as conn:
            for statement in (s.strip() for s in body.split(";\n")):
                if statement:
                    conn.exec_driver_sql(statement.rstrip(";"))
        assert _diff(engine) == []
        assert _versions(engine) == [1]
        assert migrate.upgrade(engine) == 1  # recognised as current: nothing to apply
        assert _versions(engine) == [1]


def test_connect_can_upgrade_and_reports_the_version(empty_url: str) -> None:
    staging = connect(empty_url, upgrade=True)
    try:
        assert staging.version() == 1
        assert staging.dialect == sa.make_url(empty_url).get_backend_name()
    finally:
        staging.dispose()


def test_sqlite_connections_get_the_staging_pragmas(tmp_path) -> None:
    staging = connect(tmp_path / "staging.db")  # a plain path means SQLite
    try:
        with staging.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        staging.dispose()


def test_a_failed_upgrade_leaves_nothing_behind(empty_url: str, monkeypatch) -> None:
    """DDL is transactional on both backends: a step that fails half-way undoes the tables it made."""

    def broken(conn: sa.Connection) -> None:
        migrate._v1(conn)
        raise RuntimeError("step failed after creating its tables")

    monkeypatch.setattr(migrate, "STEPS", (migrate.Step(1, "broken", broken),))
    with engine_for(empty_url) as engine:
        with pytest.raises(RuntimeError, match="step failed"):
            migrate.upgrade(engine)
        assert sa.inspect(engine).get_table_names() == []
