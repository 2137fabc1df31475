"""Small helpers shared by the staging modules: UTC clock, canonical JSON, hashing, value ordering, and the
dialect's INSERT that knows ON CONFLICT."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

MAX_PARAMS = 30_000
"""Bind parameters per statement we allow ourselves: below SQLite's 32766 and PostgreSQL's 65535."""


def dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    """``INSERT`` of the connection's dialect, which has ``on_conflict_do_update``/``_do_nothing`` and ``excluded``."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the staging database is SQLite or PostgreSQL, not {conn.dialect.name}")


def utcnow() -> datetime:
    """Now in UTC as a naive datetime: every timestamp the staging tables store is naive UTC on both backends."""
    return datetime.now(UTC).replace(tzinfo=None)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted((_normalize(v) for v in value), key=repr)
    return str(value)


def _normalize(value: Any) -> Any:
    """Dict keys as strings (``json.dumps(sort_keys=True)`` fails on mixed int/str keys), tuples as lists,
    NaN and infinities as text (still valid JSON, and a quarantine never fails on a pandas NaN)."""
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def canonical_json(value: Any) -> str:
    """One stable JSON text per value (sorted keys, no blanks, UTF-8 kept): equal data gives equal text and hash."""
    return json.dumps(_normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_default, allow_nan=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def sha1_hex(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def order_key(value: Any) -> tuple[int, Any]:
    """A sortable key for a cursor value (watermark or ``date_upd``) that compares what it means, not its spelling.

    Integers (or integer strings) compare as numbers (``"9" < "10"``); ISO dates and timestamps compare as instants
    (``"2024-01-02 03:04:05"`` equals ``"2024-01-02T03:04:05"``, offsets are honoured, naive means UTC);
    anything else compares as text. The first element names the kind so callers can refuse to compare across kinds.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a cursor value")
    if isinstance(value, int):
        return (0, value)
    if isinstance(value, datetime):
        return (1, _as_utc(value))
    if isinstance(value, date):
        return (1, datetime(value.year, value.month, value.day))
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return (0, int(text))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return (2, text)
    return (1, _as_utc(parsed))


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def cursor_text(value: Any) -> str:
    """How a cursor value is stored: datetimes as ``YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]``, everything else as text."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
