"""Render the staging schema as SQL files, and check the committed ones: ``sql/staging/{postgresql,sqlite}.sql``.

The files are generated from ``schema.py``, never edited; a test fails when they drift from the metadata.
Each file creates the tables and indexes and Alembic's ``alembic_version`` at the head revision, so a database
created from it is one ``migrate.upgrade`` recognises as current. After changing ``schema.py`` and adding its
revision (see ``migrate.py``)::

    .venv/bin/python -m prestaoracle.staging.ddl           # rewrite sql/staging/*.sql
    .venv/bin/python -m prestaoracle.staging.ddl --check   # exit 1 and name the stale files, write nothing
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable, SetColumnComment, SetTableComment

from . import migrate, schema

ROOT = Path(__file__).resolve().parents[3]
SQL_DIR = ROOT / "sql" / "staging"
DIALECTS = {"postgresql": postgresql.dialect, "sqlite": sqlite.dialect}

# The shape of Alembic's version table (alembic.runtime.migration.MigrationContext), created by the files so that a
# database made from one is at the head revision; the migrate tests run Alembic against such a database.
ALEMBIC_VERSION = sa.Table(
    "alembic_version", sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def render(dialect_name: str) -> str:
    """The full DDL of the staging schema for one dialect."""
    dialect = DIALECTS[dialect_name]()
    statements = []
    for table in schema.TABLES.values():
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
        if dialect.supports_comments:  # what create_all adds after CREATE TABLE on PostgreSQL
            if table.comment:
                statements.append(str(SetTableComment(table).compile(dialect=dialect)))
            statements += [str(SetColumnComment(c).compile(dialect=dialect)) for c in table.columns if c.comment]
    head = migrate.head()
    statements.append(str(CreateTable(ALEMBIC_VERSION).compile(dialect=dialect)).strip())
    stamp = sa.insert(ALEMBIC_VERSION).values(version_num=head)
    statements.append(str(stamp.compile(dialect=dialect, compile_kwargs={"literal_binds": True})))
    body = "\n\n".join(f"{statement};" for statement in statements)
    text = (f"-- Generated from prestaoracle.staging.schema by `python -m prestaoracle.staging.ddl`; do not edit.\n"
            f"-- Staging schema at Alembic revision {head} ({dialect_name}).\n\n{body}\n")
    return "\n".join(line.rstrip() for line in text.split("\n"))  # SQLAlchemy ends column lines with ", "


def expected_files(folder: Path = SQL_DIR) -> dict[Path, str]:
    return {folder / f"{name}.sql": render(name) for name in DIALECTS}


def stale_files(folder: Path = SQL_DIR) -> list[Path]:
    return [path for path, text in expected_files(folder).items()
            if not path.exists() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prestaoracle.staging.ddl", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    parser.add_argument("--out", type=Path, default=SQL_DIR, help=f"folder of the files (default {SQL_DIR})")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.out)
        for path in stale:
            print(f"stale: {path}")
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for path, text in expected_files(args.out).items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
