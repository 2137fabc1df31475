"""The idempotency ledger: one row per record and target saying what happened to it there.

How a loader uses it (exactly once in the target)::

    entry = ledger.claim(conn, "oracle_fusion", "1:42", run_id, source="prestashop", entity="orders")
    conn.commit()                           # the claim is durable before any call to the target
    if entry.done:                          # created/updated/skipped before: nothing to do
        ...
    elif entry.outcome == "pending" and not entry.created:
        ...                                 # an earlier attempt died mid-call: look the key up in the target first
    else:
        ...                                 # call the target, then:
    ledger.record_success(conn, "oracle_fusion", "1:42", target_id="300100…", target_ref="OM-1001",
                          outcome="created", run_id=run_id)   # or record_failure(conn, …, error=str(exc))

``claim`` inserts a ``pending`` row or returns the existing one unchanged, with ``INSERT … ON CONFLICT DO NOTHING``
then a read, so any number of concurrent claims of a key leave exactly one row, and exactly one of them reports
``created=True``. ``attempts`` counts finished attempts (``record_success``/``record_failure``); a ``pending`` row
with attempts unchanged since the claim is an attempt that never reported back. A failure never erases a known
``target_id``. Error texts are scrubbed of secrets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from prestaoracle.secrets import scrub_text

from ._common import dialect_insert, utcnow
from .schema import LEDGER_DONE, LEDGER_OUTCOMES, sync_ledger

ERROR_LIMIT = 4000


@dataclass(frozen=True)
class LedgerEntry:
    target: str
    record_key: str
    source: str | None
    entity: str | None
    outcome: str
    target_id: str | None
    target_ref: str | None
    attempts: int
    first_attempt_at: datetime
    last_attempt_at: datetime
    last_error: str | None
    run_id: str
    created: bool = False
    """True when this ``claim`` made the row (only on the object ``claim`` returns)."""

    @property
    def done(self) -> bool:
        """The target has the record: do not write it again."""
        return self.outcome in LEDGER_DONE

    @classmethod
    def from_row(cls, row: sa.Row, created: bool = False) -> LedgerEntry:
        return cls(**row._mapping, created=created)


def _key(t: sa.Table, target: str, record_key: str) -> sa.ColumnElement[bool]:
    return sa.and_(t.c.target == target, t.c.record_key == str(record_key))


def lookup(conn: sa.Connection, target: str, record_key: str | int) -> LedgerEntry | None:
    row = conn.execute(sa.select(sync_ledger).where(_key(sync_ledger, target, str(record_key)))).one_or_none()
    return None if row is None else LedgerEntry.from_row(row)


def claim(conn: sa.Connection, target: str, record_key: str | int, run_id: str, *, source: str | None = None,
          entity: str | None = None) -> LedgerEntry:
    """Create the ``pending`` entry of a record for a target, or return the existing entry untouched."""
    now = utcnow()
    stmt = dialect_insert(conn, sync_ledger).values(
        target=target, record_key=str(record_key), source=source, entity=entity, outcome="pending", attempts=0,
        first_attempt_at=now, last_attempt_at=now, run_id=run_id)
    stmt = stmt.on_conflict_do_nothing(index_elements=["target", "record_key"]).returning(sync_ledger.c.target)
    created = conn.execute(stmt).first() is not None
    row = conn.execute(sa.select(sync_ledger).where(_key(sync_ledger, target, str(record_key)))).one()
    return LedgerEntry.from_row(row, created=created)


def acquire(conn: sa.Connection, target: str, record_key: str | int, run_id: str, *, lease: timedelta,
            source: str | None = None, entity: str | None = None) -> LedgerEntry | None:
    """Take the record for this run before writing it to the target, or None when another run holds it.

    A record is free when it has no entry, or its entry is finished but not done (``failed``, ``held``,
    ``rejected``), or it is ``pending`` under this run or under a run whose claim is older than ``lease`` (it died
    mid-call: the caller must look the key up in the target before writing). Taking it is a compare-and-set on
    ``(outcome, run_id, last_attempt_at)``, so of two overlapping runs exactly one gets it; the entry returned is
    ``pending`` under ``run_id``. Done and ``interfaced`` records are never taken (None).
    """
    entry = claim(conn, target, record_key, run_id, source=source, entity=entity)
    if entry.created:
        return entry
    now = utcnow()
    free = entry.outcome in ("failed", "held", "rejected") or (
        entry.outcome == "pending" and (entry.run_id == run_id or entry.last_attempt_at < now - lease))
    if not free:
        return None
    t = sync_ledger
    taken = conn.execute(t.update().where(
        _key(t, target, str(record_key)), t.c.outcome == entry.outcome, t.c.run_id == entry.run_id,
        t.c.last_attempt_at == entry.last_attempt_at,
    ).values(outcome="pending", run_id=run_id, last_attempt_at=now)).rowcount
    if taken != 1:
        return None
    return lookup(conn, target, record_key)


def record_success(conn: sa.Connection, target: str, record_key: str | int, *, target_id: str | int | None,
                   target_ref: str | None = None, outcome: str = "created", run_id: str,
                   source: str | None = None, entity: str | None = None) -> LedgerEntry:
    """The target has the record (``created``, ``updated``, or ``skipped`` when nothing needed writing)."""
    if outcome not in LEDGER_DONE:
        raise ValueError(f"a success outcome is one of {', '.join(LEDGER_DONE)}; got {outcome!r}")
    return _finish(conn, target, str(record_key), outcome=outcome, run_id=run_id, source=source, entity=entity,
                   target_id=None if target_id is None else str(target_id), target_ref=target_ref, last_error=None)


def record_failure(conn: sa.Connection, target: str, record_key: str | int, error: str | BaseException, *,
                   run_id: str, source: str | None = None, entity: str | None = None) -> LedgerEntry:
    """An attempt failed: outcome ``failed``, the (scrubbed) error kept, any known ``target_id`` kept."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return _finish(conn, target, str(record_key), outcome="failed", run_id=run_id, source=source, entity=entity,
                   target_id=None, target_ref=None, last_error=scrub_text(text)[:ERROR_LIMIT])


def record_outcome(conn: sa.Connection, target: str, record_key: str | int, outcome: str, *, run_id: str,
                   target_id: str | int | None = None, target_ref: str | None = None,
                   error: str | BaseException | None = None, source: str | None = None,
                   entity: str | None = None) -> LedgerEntry:
    """Any finished attempt: ``rejected`` (refused for a business rule), ``interfaced``, ``held``, or the ones above.

    The error text (why it was rejected or held) is scrubbed like ``record_failure``'s; a known ``target_id`` is kept.
    """
    if outcome not in LEDGER_OUTCOMES or outcome == "pending":
        raise ValueError(f"an outcome is one of {', '.join(o for o in LEDGER_OUTCOMES if o != 'pending')}; "
                         f"got {outcome!r}")
    text = None
    if error is not None:
        text = scrub_text(error if isinstance(error, str) else f"{type(error).__name__}: {error}")[:ERROR_LIMIT]
    return _finish(conn, target, str(record_key), outcome=outcome, run_id=run_id, source=source, entity=entity,
                   target_id=None if target_id is None else str(target_id), target_ref=target_ref, last_error=text)


def _finish(conn: sa.Connection, target: str, record_key: str, *, outcome: str, run_id: str, source: str | None,
            entity: str | None, target_id: str | None, target_ref: str | None,
            last_error: str | None) -> LedgerEntry:
    assert outcome in LEDGER_OUTCOMES
    t = sync_ledger
    now = utcnow()
    stmt = dialect_insert(conn, t).values(
        target=target, record_key=record_key, source=source, entity=entity, outcome=outcome, target_id=target_id,
        target_ref=target_ref, attempts=1, first_attempt_at=now, last_attempt_at=now, last_error=last_error,
        run_id=run_id)
    stmt = stmt.on_conflict_do_update(
        index_elements=["target", "record_key"],
        set_={
            "outcome": outcome,
            "attempts": t.c.attempts + 1,
            "last_attempt_at": now,
            "last_error": last_error,
            "run_id": run_id,
            # never lose what is already known about the record in the target
            "target_id": sa.func.coalesce(stmt.excluded.target_id, t.c.target_id),
            "target_ref": sa.func.coalesce(stmt.excluded.target_ref, t.c.target_ref),
            "source": sa.func.coalesce(t.c.source, stmt.excluded.source),
            "entity": sa.func.coalesce(t.c.entity, stmt.excluded.entity),
        },
    ).returning(*t.c)
    return LedgerEntry.from_row(conn.execute(stmt).one())


def pending(conn: sa.Connection, target: str, *, outcomes: Iterable[str] = ("pending",),
            limit: int | None = None) -> list[LedgerEntry]:
    """Entries of a target in the given outcomes (default: claimed but not finished), oldest attempt first."""
    outcomes = tuple(outcomes)
    unknown = set(outcomes) - set(LEDGER_OUTCOMES)
    if unknown:
        raise ValueError(f"unknown ledger outcome(s) {sorted(unknown)}")
    t = sync_ledger
    query = (sa.select(t).where(t.c.target == target, t.c.outcome.in_(outcomes))
             .order_by(t.c.last_attempt_at, t.c.record_key))
    if limit is not None:
        query = query.limit(limit)
    return [LedgerEntry.from_row(row) for row in conn.execute(query)]


def outcome_counts(conn: sa.Connection, target: str) -> dict[str, int]:
    """Entries per outcome for a target (every outcome present)."""
    t = sync_ledger
    counts = dict.fromkeys(LEDGER_OUTCOMES, 0)
    query = sa.select(t.c.outcome, sa.func.count()).where(t.c.target == target).group_by(t.c.outcome)
    counts.update({outcome: int(n) for outcome, n in conn.execute(query)})
    return counts
