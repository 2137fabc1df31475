"""The emulated shop's database: one SQL table per resource, built from the schema.

The store plays MySQL's part. A SQLite file by default; any SQLAlchemy URL works, so the same shop can be
served from PostgreSQL. Several server worker processes share it, as PHP-FPM workers share MySQL. New ids come
from the database's own auto-increment, never from ``max(id) + 1``, and writes hold the store's write lock
(``begin_write``), so concurrent requests cannot hand out one id, invoice number or payment twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prestaoracle.sandbox import storage
from prestaoracle.sandbox.prestashop.schema import RESOURCES, Field, Resource
from prestaoracle.sandbox.storage import create_engine  # noqa: F401 - re-exported for the app and server

METADATA = sa.MetaData()

# Associations the server derives from other resources instead of storing them.
DERIVED_ASSOCIATIONS = {
    ("orders", "order_rows"),
    ("products", "stock_availables"),
    ("products", "combinations"),
}

INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "orders": (("date_upd",), ("date_add",), ("reference",), ("id_customer",)),
    "order_details": (("id_order",),),
    "order_histories": (("id_order",), ("date_add",)),
    "order_carriers": (("id_order",),),
    "order_payments": (("order_reference",),),
    "order_slip": (("id_order",),),
    "stock_availables": (("id_product", "id_product_attribute"),),
    "combinations": (("id_product",),),
    "addresses": (("id_customer",),),
    "customers": (("date_upd",),),
}


def _column_type(f: Field) -> sa.types.TypeEngine:
    kind = f.base_kind
    if kind in ("i", "b"):
        return sa.BigInteger() if f.name == "id" else sa.Integer()
    if kind.startswith("d") and kind not in ("dt", "da"):
        return sa.Float()
    return sa.Text()


def _table(res: Resource) -> sa.Table:
    cols: list[sa.Column] = []
    for f in res.fields:
        if f.name == "id":
            cols.append(sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True))
        else:
            cols.append(sa.Column(f.name, _column_type(f), nullable=True))
    # AUTOINCREMENT: like InnoDB, SQLite then never hands out again the id of a deleted last row.
    table = sa.Table(f"ps_{res.name}", METADATA, *cols, sqlite_autoincrement=True)
    for i, idx_cols in enumerate(INDEXES.get(res.name, ())):
        sa.Index(f"ix_ps_{res.name}_{i}", *(table.c[c] for c in idx_cols))
    return table


TABLES: dict[str, sa.Table] = {name: _table(res) for name, res in RESOURCES.items()}

ASSOC = sa.Table(
    "ps_associations",
    METADATA,
    sa.Column("resource", sa.String(40), primary_key=True),
    sa.Column("parent_id", sa.Integer(), primary_key=True),
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("data", sa.Text(), nullable=False),
)

SETTINGS = sa.Table(
    "ps_settings",
    METADATA,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)


def reset(engine: Engine) -> None:
    """Drop and create every table: a store is loaded whole, once, before the server starts."""
    METADATA.drop_all(engine)
    METADATA.create_all(engine)


def load(engine: Engine, rows: dict[str, list[dict]], settings: dict[str, str] | None = None) -> dict[str, int]:
    """Bulk-insert generated or demo rows; returns the count per resource."""
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for name, records in rows.items():
            table = TABLES[name]
            colnames = [c.name for c in table.columns]
            assoc_rows: list[dict] = []
            batch: list[dict] = []
            for rec in records:
                batch.append({c: rec.get(c) for c in colnames})
                for assoc_name, items in (rec.get("associations") or {}).items():
                    if (name, assoc_name) in DERIVED_ASSOCIATIONS:
                        continue
                    for pos, item in enumerate(items):
                        assoc_rows.append(
                            {"resource": name, "parent_id": rec["id"], "name": assoc_name, "position": pos,
                             "data": json.dumps(item)}
                        )
                if len(batch) >= 5000:
                    conn.execute(table.insert(), batch)
                    batch = []
            if batch:
                conn.execute(table.insert(), batch)
            for i in range(0, len(assoc_rows), 5000):
                conn.execute(ASSOC.insert(), assoc_rows[i : i + 5000])
            counts[name] = len(records)
        if settings:
            conn.execute(SETTINGS.insert(), [{"name": k, "value": v} for k, v in settings.items()])
        _restart_sequences(conn)
    return counts


def _restart_sequences(conn: sa.Connection) -> None:
    """Rows were loaded with their ids: PostgreSQL's sequences must continue after them (SQLite's already do)."""
    if conn.dialect.name != "postgresql":
        return
    for table in TABLES.values():
        conn.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), COALESCE(MAX(id), 0) + 1, false) "
            f"FROM {table.name}"))


@contextmanager
def begin_write(engine: Engine) -> Iterator[sa.Connection]:
    """A write transaction holding the shop's write lock (see ``storage.begin_write``)."""
    with storage.begin_write(engine, "prestashop-sandbox") as conn:
        yield conn


def read_settings(conn: sa.Connection, names: Sequence[str]) -> dict[str, str]:
    return {r.name: r.value for r in conn.execute(sa.select(SETTINGS).where(SETTINGS.c.name.in_(list(names))))}


def put_settings(conn: sa.Connection, values: dict[str, str]) -> None:
    conn.execute(SETTINGS.delete().where(SETTINGS.c.name.in_(list(values))))
    conn.execute(SETTINGS.insert(), [{"name": k, "value": v} for k, v in values.items()])


def get_settings(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {r.name: r.value for r in conn.execute(sa.select(SETTINGS))}


def fetch_associations(conn: sa.Connection, resource: str, ids: Sequence[int]) -> dict[int, dict[str, list[dict]]]:
    """Stored associations of many parents in one query (the real shop runs one per parent)."""
    out: dict[int, dict[str, list[dict]]] = {}
    if not ids:
        return out
    stmt = (
        sa.select(ASSOC.c.parent_id, ASSOC.c.name, ASSOC.c.data)
        .where(ASSOC.c.resource == resource, ASSOC.c.parent_id.in_(list(ids)))
        .order_by(ASSOC.c.parent_id, ASSOC.c.name, ASSOC.c.position)
    )
    for parent_id, name, data in conn.execute(stmt):
        out.setdefault(parent_id, {}).setdefault(name, []).append(json.loads(data))
    return out


def insert(conn: sa.Connection, resource: str, values: dict[str, Any]) -> int:
    """Insert one row without an id and return the id the database's auto-increment gave it."""
    return int(conn.execute(TABLES[resource].insert().values(**values)).inserted_primary_key[0])


def rows_by(conn: sa.Connection, resource: str, column: str, values: Iterable[Any]) -> list[sa.Row]:
    table = TABLES[resource]
    vals = list(values)
    if not vals:
        return []
    return list(conn.execute(sa.select(table).where(table.c[column].in_(vals)).order_by(table.c.id)))
