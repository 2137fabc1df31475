"""Watermarks: the highest cursor value (``date_upd``, an id…) whose batch is committed, per source entity.

``advance`` is called with the batch's connection, **inside the transaction that commits the batch**, so the
watermark moves exactly when the data does: if anything fails before the commit, both roll back and the next run
re-reads the same window. It only moves forward: a value that is not greater than the stored one is ignored
(overlap windows re-read older records all the time). Values compare by meaning (``_common.order_key``): integers
as numbers, ISO timestamps as instants, anything else as text; mixing kinds for one watermark is refused.

Concurrent advances of one watermark are safe: the row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
serialises writers) before comparing.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ._common import cursor_text, order_key, utcnow
from .schema import watermarks

CursorValue = str | int | datetime | date


def get(conn: sa.Connection, source: str, entity: str) -> str | None:
    t = watermarks
    return conn.execute(sa.select(t.c.value).where(t.c.source == source, t.c.entity == entity)).scalar_one_or_none()


def advance(conn: sa.Connection, source: str, entity: str, value: CursorValue, run_id: str) -> bool:
    """Move the watermark to ``value`` if it is ahead of the stored one; True when it moved. Does not commit."""
    if value is None:
        raise ValueError("a watermark cannot advance to None")
    text = cursor_text(value)
    t = watermarks
    now = utcnow()
    insert = (postgresql.insert(t) if conn.dialect.name == "postgresql" else sqlite.insert(t)).values(
        source=source, entity=entity, value=text, updated_at=now, run_id=run_id)
    inserted = insert.on_conflict_do_nothing(index_elements=["source", "entity"]).returning(t.c.source)
    if conn.execute(inserted).first() is not None:  # (rowcount of an INSERT is not reliable on psycopg)
        return True
    current = conn.execute(sa.select(t.c.value).where(t.c.source == source, t.c.entity == entity)
                           .with_for_update()).scalar_one()
    new_key, old_key = order_key(text), order_key(current)
    if new_key[0] != old_key[0]:
        raise ValueError(f"watermark {source}/{entity} is {current!r}; {text!r} is not the same kind of value")
    if new_key[1] <= old_key[1]:
        return False
    conn.execute(t.update().where(t.c.source == source, t.c.entity == entity)
                 .values(value=text, updated_at=now, run_id=run_id))
    return True


def reset(conn: sa.Connection, source: str, entity: str, value: CursorValue | None, run_id: str) -> None:
    """Set a watermark to any value, backwards included (``None`` deletes it): for an operator's re-sync only."""
    t = watermarks
    conn.execute(t.delete().where(t.c.source == source, t.c.entity == entity))
    if value is not None:
        conn.execute(t.insert().values(source=source, entity=entity, value=cursor_text(value), updated_at=utcnow(),
                                       run_id=run_id))


def all_watermarks(conn: sa.Connection) -> dict[tuple[str, str], str]:
    t = watermarks
    return {(s, e): v for s, e, v in conn.execute(sa.select(t.c.source, t.c.entity, t.c.value))}
