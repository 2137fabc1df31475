"""Watermarks: the highest cursor value (``date_upd``, an id…) whose batch is committed, per source entity.

``advance`` is called with the batch's connection, **inside the transaction that commits the batch**, so the
watermark moves exactly when the data does: if anything fails before the commit, both roll back and the next run
re-reads the same window. It only moves forward: a value that is not greater than the stored one is ignored
(overlap windows re-read older records all the time). Values compare by meaning (``_common.order_key``): integers
as numbers, ISO timestamps as instants, anything else as text; mixing kinds for one watermark is refused.

Concurrent advances of one watermark are safe: the row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
serialises writers) before comparing.

**Checkpoints** (``extract_checkpoints``) record a window in progress: its bounds and the position of the last chunk
committed (a PrestaShop id, or a Fusion ``LastUpdateDate|id``). An extraction saves the checkpoint in each chunk's
transaction and clears it in the transaction that advances the watermark, so after a crash the next run finishes
the same window from that position instead of starting it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ._common import cursor_text, order_key, utcnow
from .schema import extract_checkpoints, watermarks

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


@dataclass(frozen=True)
class Checkpoint:
    """A window being extracted: ``since``/``until`` as stored (ISO text, ``since`` None = from the beginning) and
    the position after which reading resumes (None: nothing committed yet)."""

    source: str
    entity: str
    since: str | None
    until: str
    position: str | None
    run_id: str


def get_checkpoint(conn: sa.Connection, source: str, entity: str) -> Checkpoint | None:
    t = extract_checkpoints
    row = conn.execute(sa.select(t.c.window_since, t.c.window_until, t.c.position, t.c.run_id)
                       .where(t.c.source == source, t.c.entity == entity)).first()
    return None if row is None else Checkpoint(source, entity, row[0], row[1], row[2], row[3])


def save_checkpoint(conn: sa.Connection, source: str, entity: str, *, since: CursorValue | None,
                    until: CursorValue, position: str | int | None, run_id: str) -> None:
    """Record (or move) the window in progress; call it in the transaction that commits the chunk. Does not commit."""
    t = extract_checkpoints
    values = {"window_since": None if since is None else cursor_text(since), "window_until": cursor_text(until),
              "position": None if position is None else str(position), "run_id": run_id, "updated_at": utcnow()}
    insert = (postgresql.insert(t) if conn.dialect.name == "postgresql" else sqlite.insert(t)).values(
        source=source, entity=entity, **values)
    conn.execute(insert.on_conflict_do_update(index_elements=["source", "entity"], set_=values))


def clear_checkpoint(conn: sa.Connection, source: str, entity: str) -> None:
    """The window is complete: forget it (in the transaction that advances the watermark)."""
    t = extract_checkpoints
    conn.execute(t.delete().where(t.c.source == source, t.c.entity == entity))
