"""Alembic migrations of the staging database on SQLite and PostgreSQL: up to the head, idempotent, concurrent-safe,
equal to the metadata and to what the committed ``sql/staging`` files create; pre-Alembic databases adopted; a
failed revision undone; the revision tool writes a revision that upgrades a database."""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from support.pg import temp_database

from prestaoracle.staging import connect, migrate, revision, schema
from prestaoracle.staging.db import create_engine

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
pytestmark = pytest.mark.xdist_group("test_staging_migrate")  # one worker per module: its databases are made once
SQL_DIR = Path(__file__).resolve().parents[2] / "sql" / "staging"
VERSION_TABLE = "alembic_version"

# What the pre-Alembic runner kept next to the version 1 tables (its schema.py of commit 294e6dd).
LEGACY_SCHEMA_VERSION = sa.Table(
    "schema_version", sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
)


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


def _revisions(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def _copy_migrations(tmp_path: Path, monkeypatch) -> Path:
    """A private copy of the revisions that the test may add to; ``migrate`` reads it instead of the package's."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", folder)
    return folder


def test_upgrade_reaches_the_head_and_a_second_run_does_nothing(empty_url: str) -> None:
    with engine_for(empty_url) as engine:
        with engine.connect() as conn:
            assert migrate.current_revision(conn) is None
        assert migrate.upgrade(engine) == migrate.head()
        assert _tables(engine) == {*schema.TABLES, VERSION_TABLE}
        assert _diff(engine) == []
        assert migrate.upgrade(engine) == migrate.head()
        assert _revisions(engine) == [migrate.head()]


def test_upgrade_refuses_an_unknown_revision(empty_url: str) -> None:
    with engine_for(empty_url) as engine, pytest.raises(ValueError, match="no staging revision '9999'"):
        migrate.upgrade(engine, target="9999")


def test_a_database_from_a_newer_release_is_refused_with_advice(empty_url: str) -> None:
    with engine_for(empty_url) as engine:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
        with pytest.raises(RuntimeError, match="revision '9999'.*newer release"):
            migrate.upgrade(engine)


def test_concurrent_upgrades_apply_each_revision_once(empty_url: str) -> None:
    """Four processes' worth of upgrades at once (separate engines, so separate pools): one applies, the others
    wait for the lock and find nothing to do."""
    engines = [create_engine(empty_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    results: list[str | None] = []
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
        assert results == [migrate.head()] * 4
        assert _revisions(engines[0]) == [migrate.head()]
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
        assert _revisions(engine) == [migrate.head()]
        assert migrate.upgrade(engine) == migrate.head()  # recognised as current: nothing to apply
        assert _revisions(engine) == [migrate.head()]


def _make_legacy(engine: sa.Engine, version: int = 1) -> None:
    """The state the pre-Alembic runner left: the version 1 tables, ``schema_version``, no ``alembic_version``."""
    migrate.upgrade(engine, target=migrate.LEGACY_REVISION)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {VERSION_TABLE}"))
        LEGACY_SCHEMA_VERSION.create(conn)
        conn.execute(LEGACY_SCHEMA_VERSION.insert().values(
            version=version, applied_at=datetime(2026, 1, 2), description="staging v1"))
        conn.execute(schema.landing_records.insert().values(
            source="prestashop", entity="orders", record_id="1", payload="{}", payload_sha1="x" * 40, run_id="r0",
            extracted_at=datetime(2026, 1, 2)))


def test_a_database_of_the_old_runner_is_adopted_and_keeps_its_rows(empty_url: str) -> None:
    with engine_for(empty_url) as engine:
        _make_legacy(engine)
        assert migrate.upgrade(engine) == migrate.head()
        assert _revisions(engine) == [migrate.head()]
        assert "schema_version" not in _tables(engine)
        assert _diff(engine) == []
        with engine.connect() as conn:
            assert conn.execute(sa.select(schema.landing_records.c.run_id)).scalars().all() == ["r0"]
        assert migrate.upgrade(engine) == migrate.head()


def test_an_old_runner_version_nobody_made_is_refused(empty_url: str) -> None:
    with engine_for(empty_url) as engine:
        _make_legacy(engine, version=7)
        with pytest.raises(RuntimeError, match="schema_version 7"):
            migrate.upgrade(engine)
        assert "schema_version" in _tables(engine)  # nothing touched


def test_connect_can_upgrade_and_reports_the_revision(empty_url: str) -> None:
    staging = connect(empty_url, upgrade=True)
    try:
        assert staging.version() == migrate.head()
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


BROKEN_REVISION = '''
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    raise RuntimeError("revision failed after creating its table")


def downgrade() -> None:
    pass
'''


def test_a_failed_upgrade_leaves_the_schema_as_it_was(empty_url: str, tmp_path, monkeypatch) -> None:
    """DDL is transactional on both backends: a revision that fails half-way undoes its tables, and an upgrade
    from nothing that fails leaves nothing, not even ``alembic_version``."""
    head = migrate.head()
    folder = _copy_migrations(tmp_path, monkeypatch)
    broken = f"{int(head) + 1:04d}"
    (folder / "versions" / f"{broken}_broken.py").write_text(BROKEN_REVISION.format(rev=broken, down=head))
    with engine_for(empty_url) as engine:
        with pytest.raises(RuntimeError, match="revision failed"):
            migrate.upgrade(engine)
        assert _tables(engine) == set()
        assert migrate.upgrade(engine, target=head) == head
        with pytest.raises(RuntimeError, match="revision failed"):
            migrate.upgrade(engine)
        assert _revisions(engine) == [head]
        assert "half_done" not in _tables(engine)


def test_the_revision_tool_writes_the_next_revision_from_schema_changes(empty_url: str, tmp_path,
                                                                       monkeypatch) -> None:
    """The procedure of migrate.py's docstring: change schema.py, write the revision, upgrade."""
    folder = _copy_migrations(tmp_path, monkeypatch)
    previous = migrate.head()
    table = sa.Table("checkpoint_probe", schema.METADATA, sa.Column("name", sa.String(50), primary_key=True),
                     sa.Column("value", sa.Text), sa.Index(None, "value"))
    try:
        path = revision.new_revision("add checkpoint probe")
        assert path.parent == folder / "versions"
        assert path.name == f"{int(previous) + 1:04d}_add_checkpoint_probe.py"
        text = path.read_text(encoding="utf-8")
        assert f'down_revision = "{previous}"' in text and '"checkpoint_probe"' in text
        with engine_for(empty_url) as engine:
            migrate.upgrade(engine, target=previous)
            assert migrate.upgrade(engine) == path.name[:4]
            assert _diff(engine) == []
    finally:
        schema.METADATA.remove(table)
