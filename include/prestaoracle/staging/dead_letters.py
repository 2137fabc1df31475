"""Quarantine: records that could not go through, with a classified reason, their payload and how to fix them.

One row per problem: ``(source, entity, record_key, stage, reason_class)`` is unique, so seeing the same problem
again bumps ``occurrences`` and ``last_seen`` (and refreshes message, payload and run) instead of adding a row.
A recurring problem reopens a ``replayed`` or ``resolved`` row; an ``ignored`` one stays ignored.

Life cycle: ``quarantine`` → ``open``; the replay flow takes ``list_open`` rows, calls ``mark_replayed`` (counts the
replay), runs them again, then ``resolve`` on success; a failing replay calls ``quarantine`` again, which reopens
the row. ``ignore`` closes a row nobody will fix (with a note).

Secrets never reach the table: the payload goes through ``prestaoracle.secrets.scrub`` (masked, so a reader sees
a value was there) and the texts through ``scrub_text``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from prestaoracle.secrets import scrub, scrub_text

from ._common import canonical_json, dialect_insert, loads, utcnow
from .schema import REASON_CLASSES, dead_letters

MESSAGE_LIMIT = 8000


@dataclass(frozen=True)
class DeadLetter:
    id: int
    source: str
    entity: str
    record_key: str
    stage: str
    reason_class: str
    message: str
    how_to_fix: str | None
    payload: Any
    first_seen: datetime
    last_seen: datetime
    occurrences: int
    replay_count: int
    status: str
    status_note: str | None
    run_id: str

    @classmethod
    def from_row(cls, row: sa.Row) -> DeadLetter:
        values = dict(row._mapping)
        values["payload"] = loads(values["payload"])
        return cls(**values)


def quarantine(conn: sa.Connection, *, source: str, entity: str, record_key: str | int, stage: str,
               reason_class: str, message: str, how_to_fix: str | None = None, payload: Any = None,
               run_id: str) -> DeadLetter:
    """Record (or count again) one problem with one record; returns the row as stored (secrets removed)."""
    if reason_class not in REASON_CLASSES:
        raise ValueError(f"reason_class must be one of {', '.join(REASON_CLASSES)}; got {reason_class!r}")
    now = utcnow()
    values = {
        "source": source, "entity": entity, "record_key": str(record_key), "stage": stage,
        "reason_class": reason_class, "message": scrub_text(str(message))[:MESSAGE_LIMIT],
        "how_to_fix": None if how_to_fix is None else scrub_text(how_to_fix)[:MESSAGE_LIMIT],
        "payload": None if payload is None else canonical_json(scrub(payload)),
        "first_seen": now, "last_seen": now, "occurrences": 1, "replay_count": 0, "status": "open",
        "run_id": run_id,
    }
    t = dead_letters
    stmt = dialect_insert(conn, dead_letters).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "entity", "record_key", "stage", "reason_class"],
        set_={
            "message": stmt.excluded.message,
            "how_to_fix": sa.func.coalesce(stmt.excluded.how_to_fix, t.c.how_to_fix),
            "payload": sa.func.coalesce(stmt.excluded.payload, t.c.payload),
            "last_seen": stmt.excluded.last_seen,
            "occurrences": t.c.occurrences + 1,
            "status": sa.case((t.c.status == "ignored", "ignored"), else_="open"),
            "run_id": stmt.excluded.run_id,
        },
    ).returning(*t.c)
    return DeadLetter.from_row(conn.execute(stmt).one())


def list_open(conn: sa.Connection, *, source: str | None = None, entity: str | None = None,
              reason_class: str | None = None, stage: str | None = None, record_keys: Iterable[str] | None = None,
              limit: int | None = None, include_replayed: bool = False) -> list[DeadLetter]:
    """Open rows (and ``replayed`` ones awaiting their outcome when ``include_replayed``), oldest first."""
    t = dead_letters
    statuses = ("open", "replayed") if include_replayed else ("open",)
    query = sa.select(t).where(t.c.status.in_(statuses)).order_by(t.c.first_seen, t.c.id)
    for column, value in (("source", source), ("entity", entity), ("reason_class", reason_class), ("stage", stage)):
        if value is not None:
            query = query.where(t.c[column] == value)
    if record_keys is not None:
        query = query.where(t.c.record_key.in_([str(k) for k in record_keys]))
    if limit is not None:
        query = query.limit(limit)
    return [DeadLetter.from_row(row) for row in conn.execute(query)]


def get(conn: sa.Connection, dead_letter_id: int) -> DeadLetter | None:
    row = conn.execute(sa.select(dead_letters).where(dead_letters.c.id == dead_letter_id)).one_or_none()
    return None if row is None else DeadLetter.from_row(row)


def mark_replayed(conn: sa.Connection, ids: Iterable[int], *, run_id: str) -> int:
    """Mark open rows as sent for replay (``replay_count`` + 1); returns how many rows changed."""
    t = dead_letters
    done = conn.execute(t.update().where(t.c.id.in_(list(ids)), t.c.status.in_(("open", "replayed"))).values(
        status="replayed", replay_count=t.c.replay_count + 1, run_id=run_id))
    return done.rowcount


def resolve(conn: sa.Connection, ids: Iterable[int], *, note: str | None = None) -> int:
    """Close rows whose record has gone through (or been fixed at the source)."""
    return _close(conn, dead_letters.c.id.in_(list(ids)), "resolved", note)


def resolve_record(conn: sa.Connection, *, source: str, entity: str, record_key: str | int,
                   note: str | None = None) -> int:
    """Close every open or replayed row of one record: call it when the record finally goes through."""
    t = dead_letters
    cond = sa.and_(t.c.source == source, t.c.entity == entity, t.c.record_key == str(record_key))
    return _close(conn, cond, "resolved", note)


def ignore(conn: sa.Connection, ids: Iterable[int], *, note: str) -> int:
    """Close rows nobody will fix; a recurrence stays ignored (only its occurrences are counted)."""
    return _close(conn, dead_letters.c.id.in_(list(ids)), "ignored", note)


def _close(conn: sa.Connection, cond: Any, status: str, note: str | None) -> int:
    t = dead_letters
    values: dict[str, Any] = {"status": status}
    if note is not None:
        values["status_note"] = scrub_text(note)[:MESSAGE_LIMIT]
    return conn.execute(t.update().where(cond, t.c.status.in_(("open", "replayed"))).values(**values)).rowcount


def counts_by_reason(conn: sa.Connection, *, status: str | None = "open", source: str | None = None,
                     entity: str | None = None) -> dict[str, int]:
    """Rows per reason class (every class present, zero when none), for one status (``None``: all)."""
    t = dead_letters
    query = sa.select(t.c.reason_class, sa.func.count()).group_by(t.c.reason_class)
    if status is not None:
        query = query.where(t.c.status == status)
    if source is not None:
        query = query.where(t.c.source == source)
    if entity is not None:
        query = query.where(t.c.entity == entity)
    counts = dict.fromkeys(REASON_CLASSES, 0)
    counts.update({reason: int(n) for reason, n in conn.execute(query)})
    return counts
