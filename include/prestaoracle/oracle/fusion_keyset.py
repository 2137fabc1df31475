"""Incremental reads of a Fusion collection by keyset on ``(LastUpdateDate, id)``: rows updated while pages are
read are neither skipped nor doubled.

Offset paging sorted on ``LastUpdateDate`` (``offset += count``) loses rows: a row of an early page updated during
the read jumps to the end of the sort order, every later row shifts one place left, and one row per moved row
falls between two pages and is never read (its own date did not change, so the next window does not see it
either). Here every page is asked from offset 0 *after the last row read*:

* the first page is ``LastUpdateDate > since``; each next page is ``LastUpdateDate >= X`` where ``(X, Y)`` is the
  last row read, ordered by ``LastUpdateDate,<id>``, and the rows at ``X`` with an id ``<= Y`` (already read, at
  most the last few) are dropped here; a row that moves while the read runs only moves past the cursor, where it
  is read again (fresher) if its new date is still inside the window, else by the next window;
* when a whole page is at ``X`` and already read (more rows share one timestamp than a page holds, as after a
  batch job), that timestamp is walked by id alone (``LastUpdateDate = X and <id> > Y``), then reading goes on
  after ``X``.

Every filter is a plain conjunction, so the same reads work in rowmatch (framework 2+) and in QBE (framework 1),
where an ``or`` across attributes cannot be written. ``after=(LastUpdateDate, id)`` resumes after a row a caller
committed, so an interrupted read continues where it stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, Protocol

from prestaoracle.oracle import fusion_query as fq
from prestaoracle.oracle.errors import FusionError
from prestaoracle.oracle.fusion_query import Q

__all__ = ["LAST_UPDATE", "Position", "iter_changed", "position_of"]

LAST_UPDATE = "LastUpdateDate"
Position = tuple[dt.datetime, Any]


class _Getter(Protocol):
    framework_version: int

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any: ...


def instant(value: dt.datetime | str) -> dt.datetime:
    """A timestamp as an aware datetime (naive ones are UTC, as Fusion's are)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime or ISO string, got {type(value).__name__}")
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def position_of(row: dict[str, Any], key: str) -> Position:
    """Where ``row`` sits in the keyset order."""
    return instant(row[LAST_UPDATE]), row[key]


def iter_changed(
    client: _Getter,
    path: str,
    since: dt.datetime | str,
    until: dt.datetime | str | None,
    *,
    key: str,
    q: Q | None = None,
    fields: str | None = None,
    expand: str | None = None,
    limit: int = 500,
    after: tuple[dt.datetime | str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows of ``path`` with ``since < LastUpdateDate <= until`` (and ``q``) in ``(LastUpdateDate, key)`` order,
    each once, from ``after`` on when given. See the module docstring."""
    if not 1 <= limit <= 500:
        raise ValueError("limit must be within 1..500")
    top = instant(until) if until is not None else None
    base = {"fields": _with_attrs(fields, (LAST_UPDATE, key)), "expand": expand, "onlyData": "true",
            "limit": str(limit), "offset": "0"}
    pos: Position | None = (instant(after[0]), after[1]) if after is not None else None
    floor = instant(since)
    while True:
        flt = fq.gt(LAST_UPDATE, floor) if pos is None else fq.ge(LAST_UPDATE, pos[0])
        page = _page(client, path, fq.and_(flt, fq.le(LAST_UPDATE, top) if top else None, q),
                     {**base, "orderBy": f"{LAST_UPDATE}:asc,{key}:asc"})
        items = page.get("items") or []
        fresh = [r for r in items if pos is None or position_of(r, key) > pos]
        if not fresh and items and page.get("hasMore") and pos is not None:
            yield from _walk_tie(client, path, pos, key, q, base)
            floor, pos = pos[0], None
            continue
        for row in fresh:
            pos = position_of(row, key)
            yield row
        if not page.get("hasMore"):
            return


def _walk_tie(client: _Getter, path: str, pos: Position, key: str, q: Q | None,
              base: dict[str, str | None]) -> Iterator[dict[str, Any]]:
    """Every row at timestamp ``pos[0]`` with an id after ``pos[1]``, by keyset on the id."""
    stamp, last = pos
    while True:
        flt = fq.and_(fq.eq(LAST_UPDATE, stamp), fq.gt(key, last), q)
        page = _page(client, path, flt, {**base, "orderBy": f"{key}:asc"})
        items = page.get("items") or []
        for row in items:
            if row[key] > last:
                last = row[key]
                yield row
        if not page.get("hasMore") or not items:
            return


def _page(client: _Getter, path: str, flt: Q, params: dict[str, str | None]) -> dict[str, Any]:
    page = client.get(path, {**params, "q": fq.render_q(flt, client.framework_version)})
    if not isinstance(page, dict):
        raise FusionError(f"GET {path}: the answer is not a collection", reason_class="invalid_data")
    return page


def _with_attrs(fields: str | None, needed: tuple[str, ...]) -> str | None:
    """``fields`` with the keyset's attributes added to its top level (children follow the first ``;``)."""
    if fields is None:
        return None
    top, sep, children = fields.partition(";")
    names = [f for f in top.split(",") if f]
    names += [n for n in needed if n not in names]
    return ",".join(names) + sep + children
