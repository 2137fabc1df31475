"""The sandbox clock: frozen by default and moved by ``POST /sandbox/clock/advance``, or real time plus an offset.

Everything the pod stamps (``CreationDate``, ``LastUpdateDate``, ship dates, invoice dates) reads this clock, so a
test can live through days of order lifecycle in a second, and a demo can run in real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from prestaoracle.sandbox.oracle import store


def iso(moment: datetime) -> str:
    """Fusion's timestamp format: UTC with milliseconds and an explicit offset."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now(conn: sa.Connection) -> datetime:
    cfg = {r.name: r.value for r in conn.execute(sa.select(store.SETTINGS).where(
        store.SETTINGS.c.name.in_(("clock_mode", "clock_now", "clock_offset"))))}
    if cfg.get("clock_mode") == "real":
        return datetime.now(UTC) + timedelta(seconds=float(cfg.get("clock_offset", "0")))
    return parse(cfg["clock_now"])


def start(conn: sa.Connection, at: datetime, real_time: bool) -> None:
    store.put_settings(conn, {"clock_mode": "real" if real_time else "frozen", "clock_now": iso(at),
                              "clock_offset": str((at - datetime.now(UTC)).total_seconds())})


def advance(conn: sa.Connection, minutes: float) -> datetime:
    """Move the clock forward; returns the new time. Callers advancing together each add their minutes."""
    store.lock(conn, "clock")
    cfg = {r.name: r.value for r in conn.execute(sa.select(store.SETTINGS))}
    if cfg.get("clock_mode") == "real":
        store.put_settings(conn, {"clock_offset": str(float(cfg.get("clock_offset", "0")) + minutes * 60)})
    else:
        store.put_settings(conn, {"clock_now": iso(parse(cfg["clock_now"]) + timedelta(minutes=minutes))})
    return now(conn)
