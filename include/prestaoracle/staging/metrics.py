"""Run metrics: one row per ``(run_id, flow, step)`` with counts and timing, for the health page and alerts.

``record_step(conn, run_id, flow, step, read=…, written=…)`` writes (or, for a retried step, replaces) the row.
``timed_step(engine_or_conn, run_id, flow, step)`` is a context manager that times a block and records it when the
block ends, also when it raises (``details.error`` then names the exception)::

    with timed_step(engine, run_id, "order-to-cash", "extract") as m:
        m.read += len(page)
        m.add(requests=1)

Give it the Engine (or ``Staging``) so the row is written in its own short transaction and survives a failing
block; with a Connection it is written on that connection, and skipped if the connection's transaction is broken.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from prestaoracle.secrets import scrub, scrub_text

from ._common import canonical_json, dialect_insert, loads, utcnow
from .schema import COUNT_COLUMNS, run_metrics

log = logging.getLogger(__name__)


def record_step(conn: sa.Connection, run_id: str, flow: str, step: str, *, started_at: datetime | None = None,
                ended_at: datetime | None = None, details: dict[str, Any] | None = None,
                **counts: int) -> None:
    """Write the metrics of one step; counts are ``read``, ``written``, ``skipped``, ``quarantined``, ``requests``."""
    unknown = set(counts) - set(COUNT_COLUMNS)
    if unknown:
        raise TypeError(f"unknown count(s) {sorted(unknown)}; use {', '.join(COUNT_COLUMNS)} or details=")
    now = utcnow()
    values: dict[str, Any] = {c: int(counts.get(c, 0)) for c in COUNT_COLUMNS}
    values.update(run_id=run_id, flow=flow, step=step, started_at=started_at or now, ended_at=ended_at or now,
                  details=None if details is None else canonical_json(scrub(details)))
    stmt = dialect_insert(conn, run_metrics).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["run_id", "flow", "step"],
                                      set_={k: stmt.excluded[k] for k in values if k not in ("run_id", "flow", "step")})
    conn.execute(stmt)


@dataclass
class StepCounts:
    read: int = 0
    written: int = 0
    skipped: int = 0
    quarantined: int = 0
    requests: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, **counts: int) -> None:
        for name, n in counts.items():
            if name not in COUNT_COLUMNS:
                raise TypeError(f"unknown count {name!r}")
            setattr(self, name, getattr(self, name) + n)

    def as_counts(self) -> dict[str, int]:
        return {c: getattr(self, c) for c in COUNT_COLUMNS}


@contextlib.contextmanager
def timed_step(target: Any, run_id: str, flow: str, step: str) -> Iterator[StepCounts]:
    """Time a block and record its counts (see the module docstring); the block's exception is re-raised."""
    counts = StepCounts()
    started_at = utcnow()
    t0 = time.perf_counter()
    error: BaseException | None = None
    try:
        yield counts
    except BaseException as exc:
        error = exc
        raise
    finally:
        details = dict(counts.details)
        details["seconds"] = round(time.perf_counter() - t0, 6)
        if error is not None:
            details["error"] = scrub_text(f"{type(error).__name__}: {error}")[:2000]
        kwargs = {"started_at": started_at, "ended_at": utcnow(), "details": details, **counts.as_counts()}
        engine = getattr(target, "engine", target) if not isinstance(target, sa.Connection) else None
        if engine is not None:
            with engine.begin() as conn:
                record_step(conn, run_id, flow, step, **kwargs)
        else:
            try:
                with target.begin_nested():
                    record_step(target, run_id, flow, step, **kwargs)
            except sa.exc.DBAPIError:
                if error is None:
                    raise
                log.warning("metrics of %s/%s not recorded: the connection's transaction has failed", flow, step)


def step_metrics(conn: sa.Connection, run_id: str, flow: str | None = None) -> list[dict[str, Any]]:
    """The recorded steps of a run (``details`` parsed), in start order."""
    t = run_metrics
    query = sa.select(t).where(t.c.run_id == run_id).order_by(t.c.started_at, t.c.id)
    if flow is not None:
        query = query.where(t.c.flow == flow)
    rows = []
    for row in conn.execute(query):
        item = dict(row._mapping)
        item["details"] = loads(item["details"])
        rows.append(item)
    return rows
