"""The shop's clock: the instant the server lives at, and the wall time PrestaShop writes in its own time zone.

PrestaShop stamps ``date_add``/``date_upd`` with PHP's ``date('Y-m-d H:i:s')``: the server's instant as a wall time
of the shop's ``PS_TIMEZONE``, with no offset. So the same instant reads differently from shop to shop, a wall time
is missing on the spring-forward day and repeated on the fall-back day. The emulator does the same: the instant
comes from the machine's clock (shifted, or frozen, when a test pins it) and is kept in the store, so every worker
process reads the same time; the wall time is that instant in the shop's zone. ``Date`` response headers show the
instant, as a real server's clock does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query
from starlette.concurrency import run_in_threadpool

from prestaoracle.sandbox.prestashop import store

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Europe/Paris"  # a default French install; deliberately not UTC
WALL_FORMAT = "%Y-%m-%d %H:%M:%S"
STATE_KEY = "shop_now"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; an unknown name says what is expected."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: give an IANA name such as Europe/Paris or America/New_York"
                         ) from None


def wall(moment: datetime, tz: ZoneInfo) -> str:
    """An instant as the shop writes it: its wall time in ``tz``, no offset."""
    return moment.astimezone(tz).strftime(WALL_FORMAT)


def instant(moment: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of ``moment``: an aware value as it is, a naive one as a wall time of the shop.

    A wall time the zone skips (the spring-forward gap) is refused; one it repeats (the fall-back hour) is its first
    occurrence, or its second when ``moment.fold`` is 1.
    """
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    local = moment.replace(tzinfo=tz)
    at = local.astimezone(UTC)
    if at.astimezone(tz).replace(tzinfo=None) != moment.replace(fold=0):
        raise ValueError(f"{moment.isoformat(' ')} does not exist in {tz.key}: the clocks skip it when daylight "
                         "saving time starts; give a time before or after the gap, or an explicit UTC offset")
    return at


def parse_instant(text: str, tz: ZoneInfo, fold: int = 0) -> datetime:
    """An ISO 8601 text as an instant (``Z`` or an offset), or without offset as a wall time of the shop."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO date such as 2026-10-25T02:30:00 (shop time) or "
                         "2026-10-25T00:30:00Z") from None
    return instant(moment.replace(fold=fold) if moment.tzinfo is None else moment, tz)


class ShopClock:
    """The store-backed clock every worker reads: real time plus an offset, or frozen at an instant."""

    def __init__(self, engine: sa.Engine, tz: ZoneInfo) -> None:
        self.engine = engine
        self.tz = tz

    def now(self) -> datetime:
        return _now_of(self._read())

    def set(self, at: datetime | None, frozen: bool | None) -> None:
        """Move the clock to ``at`` (None: where it is) and freeze or release it (None: as it is)."""
        with store.begin_write(self.engine) as conn:
            cfg = store.read_settings(conn, _KEYS)
            keep_frozen = cfg.get("clock_mode") == "frozen" if frozen is None else frozen
            store.put_settings(conn, settings(at or _now_of(cfg), keep_frozen))

    def advance(self, seconds: float) -> None:
        with store.begin_write(self.engine) as conn:
            cfg = store.read_settings(conn, _KEYS)
            store.put_settings(conn, settings(_now_of(cfg) + timedelta(seconds=seconds),
                                              cfg.get("clock_mode") == "frozen"))

    def describe(self) -> dict[str, Any]:
        """The clock as ``/sandbox/clock`` shows it: the instant, the shop's wall time and offset, frozen or not."""
        cfg = self._read()
        local = _now_of(cfg).astimezone(self.tz)
        offset = local.strftime("%z")
        return {
            "now": local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "shop_time": local.strftime(WALL_FORMAT),
            "timezone": self.tz.key,
            "utc_offset": f"{offset[:3]}:{offset[3:]}",
            "dst": bool(local.dst()),
            "frozen": cfg.get("clock_mode") == "frozen",
        }

    def _read(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return store.read_settings(conn, _KEYS)


_KEYS = ("clock_mode", "clock_now", "clock_offset")


def settings(at: datetime | None, frozen: bool) -> dict[str, str]:
    """The stored form of a clock at ``at`` (None: the machine's clock), running or frozen."""
    real = datetime.now(UTC)
    moment = real if at is None else at.astimezone(UTC)
    if frozen:
        return {"clock_mode": "frozen", "clock_now": moment.replace(microsecond=0).isoformat(), "clock_offset": "0"}
    return {"clock_mode": "real", "clock_now": "", "clock_offset": repr((moment - real).total_seconds())}


def _now_of(cfg: dict[str, str]) -> datetime:
    if cfg.get("clock_mode") == "frozen":
        return datetime.fromisoformat(cfg["clock_now"])
    return datetime.now(UTC) + timedelta(seconds=float(cfg.get("clock_offset") or 0))


def http_date(moment: datetime) -> str:
    """RFC 9110's IMF-fixdate, as in a ``Date`` header."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


class ClockMiddleware:
    """Reads the clock once per request: handlers stamp writes with it and the ``Date`` header shows the same instant.

    If the store cannot be read here the request still goes on: its ``Date`` is the machine's clock and the handler
    reads the clock itself (and answers the shop's error document if that fails too).
    """

    def __init__(self, app: ASGIApp, clock: ShopClock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            now = await run_in_threadpool(self.clock.now)
            scope.setdefault("state", {})[STATE_KEY] = now
        except Exception:  # noqa: BLE001 - any store failure; the handler reports it
            log.exception("could not read the shop clock; the Date header falls back to the machine's clock")
            now = datetime.now(UTC)
        date = http_date(now).encode("latin-1")

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", date)]}
            await send(message)

        await self.app(scope, receive, send_with_date)


def clock_router(clock: ShopClock) -> APIRouter:
    """``/sandbox/clock``: read, pin, freeze and move the shop's clock (outside ``/api/``, never faulted)."""
    router = APIRouter()

    @router.get("/sandbox/clock")
    def get_clock() -> dict[str, Any]:
        return clock.describe()

    @router.post("/sandbox/clock")
    def set_clock(
        at: str | None = Query(None, description="ISO instant (Z or offset) or shop wall time without offset"),
        fold: int = Query(0, ge=0, le=1, description="for a repeated wall time: 0 first occurrence, 1 second"),
        frozen: bool | None = Query(None, description="true stops the clock, false lets it run"),
    ) -> dict[str, Any]:
        try:
            moment = None if at is None else parse_instant(at, clock.tz, fold)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        clock.set(moment, frozen)
        return clock.describe()

    @router.post("/sandbox/clock/advance")
    def advance_clock(minutes: float = Query(..., description="minutes to move the clock by (may be negative)")
                      ) -> dict[str, Any]:
        clock.advance(minutes * 60)
        return clock.describe()

    return router
