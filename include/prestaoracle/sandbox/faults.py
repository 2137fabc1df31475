"""Fault injection shared by the sandbox's HTTP emulators (PrestaShop now, Oracle Fusion later).

A run with faults must stay reproducible and must still converge: the clients' tests compare a flaky run with a
clean one. So every decision is a pure function of (seed, request key, attempt number of that key), attempt numbers
live in the sandbox's database (so all uvicorn workers agree), and no fault applies past attempt
``MAX_FAULTY_ATTEMPTS``: a client that tries four times always gets through.

Profiles are chosen with ``parse_faults("flaky")`` or ``parse_faults("flaky:http_503=0.2,latency=0")``. Transport
faults are applied by ``FaultMiddleware``; bad-row kinds are only names and rates here, the data generator applies
them (``choose_bad_row`` gives it a deterministic pick) and records them with ``InjectedLog.add_bad_row``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode

import anyio
import sqlalchemy as sa
from fastapi import APIRouter, Query
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateTable
from starlette.concurrency import run_in_threadpool

__all__ = [
    "BAD_ROW_KINDS",
    "BURST_KINDS",
    "MAX_FAULTY_ATTEMPTS",
    "PROFILES",
    "TRANSPORT_KINDS",
    "AttemptCounter",
    "FaultMiddleware",
    "FaultProfile",
    "InjectedFault",
    "InjectedLog",
    "choose_bad_row",
    "create_tables",
    "decide",
    "fault_plan",
    "injected_router",
    "json_error_body",
    "parse_faults",
    "request_key",
    "reset_faults",
]

log = logging.getLogger(__name__)

TRANSPORT_KINDS: tuple[str, ...] = ("latency", "http_500", "http_503", "http_429", "drop_connection", "slow_page")
BURST_KINDS: frozenset[str] = frozenset({"http_500", "http_503"})
BAD_ROW_KINDS: tuple[str, ...] = (
    "negative_quantity",
    "missing_sku",
    "unknown_sku",
    "totals_mismatch",
    "duplicate_cart",
    "invalid_email",
    "empty_country",
    "unicode_names",
    "zero_dates",
)
MAX_FAULTY_ATTEMPTS = 3
SETTINGS: tuple[str, ...] = ("latency_ms", "slow_page_seconds", "max_burst")
GROUPS: tuple[str, ...] = ("transport", "bad_rows")
STATUS = {"http_500": 500, "http_503": 503, "http_429": 429}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# --- profiles -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultProfile:
    """Per-kind rates (probability per attempt for transport kinds, per eligible record for bad rows) and timings."""

    name: str
    transport: Mapping[str, float] = field(default_factory=dict)
    bad_rows: Mapping[str, float] = field(default_factory=dict)
    latency_ms: tuple[float, float] = (50.0, 300.0)
    slow_page_seconds: tuple[float, float] = (2.0, 3.0)
    max_burst: int = 3

    def __post_init__(self) -> None:
        _check_rates(self.transport, TRANSPORT_KINDS, "transport")
        _check_rates(self.bad_rows, BAD_ROW_KINDS, "bad-row")
        # Every kind present (0 when off), so equal profiles compare equal however they were spelled.
        object.__setattr__(self, "transport", {k: float(self.transport.get(k, 0.0)) for k in TRANSPORT_KINDS})
        object.__setattr__(self, "bad_rows", {k: float(self.bad_rows.get(k, 0.0)) for k in BAD_ROW_KINDS})
        if not 1 <= self.max_burst <= MAX_FAULTY_ATTEMPTS:
            raise ValueError(f"max_burst must be 1..{MAX_FAULTY_ATTEMPTS}, got {self.max_burst}")
        for label, (lo, hi) in (("latency_ms", self.latency_ms), ("slow_page_seconds", self.slow_page_seconds)):
            if lo < 0 or hi < lo:
                raise ValueError(f"{label} must be 'LOW-HIGH' with 0 <= LOW <= HIGH, got {lo}-{hi}")

    @property
    def transport_active(self) -> bool:
        """True when the middleware has anything to do (lets profile ``none`` skip the database entirely)."""
        return any(rate > 0 for rate in self.transport.values())

    def rate(self, kind: str) -> float:
        """Rate of one transport or bad-row kind (0 when absent)."""
        return self.transport.get(kind, self.bad_rows.get(kind, 0.0))

    def to_spec(self) -> str:
        """A ``parse_faults`` string that rebuilds this profile, e.g. to hand it to worker processes."""
        parts = [f"{k}={_num(v)}" for k, v in (*self.transport.items(), *self.bad_rows.items())]
        parts += [
            f"latency_ms={_num(self.latency_ms[0])}-{_num(self.latency_ms[1])}",
            f"slow_page_seconds={_num(self.slow_page_seconds[0])}-{_num(self.slow_page_seconds[1])}",
            f"max_burst={self.max_burst}",
        ]
        base = self.name if self.name in PROFILES else "none"
        return f"{base}:{','.join(parts)}"


def _num(value: float) -> str:
    return repr(float(value))  # exact, so to_spec() round-trips


def _check_rates(rates: Mapping[str, float], kinds: Sequence[str], label: str) -> None:
    for kind, rate in rates.items():
        if kind not in kinds:
            raise ValueError(f"unknown {label} fault kind {kind!r}; valid: {', '.join(kinds)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate of {kind} must be within 0..1, got {rate}")
    # One draw per attempt (or per record) picks at most one kind, so the rates share a unit interval.
    if sum(rates.values()) > 1.0 + 1e-9:
        raise ValueError(f"{label} rates add up to {sum(rates.values()):g}, more than 1")


_FLAKY_TRANSPORT = {
    "latency": 0.10,
    "http_500": 0.03,
    "http_503": 0.04,
    "http_429": 0.04,
    "drop_connection": 0.03,
    "slow_page": 0.02,
}
PROFILES: dict[str, FaultProfile] = {
    "none": FaultProfile("none"),
    "flaky": FaultProfile("flaky", transport=_FLAKY_TRANSPORT),
    "hostile": FaultProfile("hostile", transport=_FLAKY_TRANSPORT, bad_rows=dict.fromkeys(BAD_ROW_KINDS, 0.02)),
}


def parse_faults(spec: str) -> FaultProfile:
    """Turn ``--faults`` text (``hostile`` or ``flaky:http_503=0.2,latency=0,slow_page_seconds=0.2``) into a profile.

    Keys after the colon: a transport or bad-row kind (``=rate``), a group ``transport``/``bad_rows`` (sets every
    rate of the group), ``latency_ms=LOW-HIGH``, ``slow_page_seconds=LOW-HIGH`` (one number sets both), ``max_burst``.
    """
    text = (spec or "").strip()
    name, _, overrides = text.partition(":")
    name = name.strip().lower() or "none"
    if name not in PROFILES:
        raise ValueError(
            f"unknown fault profile {name!r} in {spec!r}; valid profiles: {', '.join(PROFILES)} "
            "(optionally followed by ':kind=rate,...')"
        )
    base = PROFILES[name]
    transport = dict(base.transport)
    bad_rows = dict(base.bad_rows)
    settings: dict[str, Any] = {}
    for item in (part.strip() for part in overrides.split(",")):
        if not item:
            continue
        key, eq, value = (s.strip() for s in item.partition("="))
        key = key.lower()
        if not eq or not value:
            raise ValueError(f"fault override {item!r} in {spec!r} must look like 'kind=value'")
        try:
            if key in TRANSPORT_KINDS:
                transport[key] = float(value)
            elif key in BAD_ROW_KINDS:
                bad_rows[key] = float(value)
            elif key == "transport":
                transport = dict.fromkeys(TRANSPORT_KINDS, float(value))
            elif key == "bad_rows":
                bad_rows = dict.fromkeys(BAD_ROW_KINDS, float(value))
            elif key in ("latency_ms", "slow_page_seconds"):
                settings[key] = _parse_range(value)
            elif key == "max_burst":
                settings[key] = int(value)
            else:
                raise ValueError(
                    f"unknown fault kind {key!r} in {spec!r}; valid transport kinds: {', '.join(TRANSPORT_KINDS)}; "
                    f"bad-row kinds: {', '.join(BAD_ROW_KINDS)}; settings: {', '.join(SETTINGS)}; "
                    f"groups: {', '.join(GROUPS)}"
                )
        except ValueError as exc:
            if "unknown fault kind" in str(exc):
                raise
            raise ValueError(f"bad value in fault override {item!r} of {spec!r}: {exc}") from None
    try:
        return replace(base, transport=transport, bad_rows=bad_rows, **settings)
    except ValueError as exc:
        raise ValueError(f"invalid fault spec {spec!r}: {exc}") from None


def _parse_range(value: str) -> tuple[float, float]:
    lo, dash, hi = value.partition("-")
    low = float(lo)
    return (low, float(hi) if dash else low)


# --- deterministic decisions --------------------------------------------------------------------------------------


def request_key(method: str, path: str, query: bytes | str = b"") -> str:
    """Canonical ``METHOD /path?sorted-query``: equal for retries even when a client reorders or re-encodes params."""
    raw = query.decode("latin-1") if isinstance(query, bytes) else query
    pairs = sorted(parse_qsl(raw, keep_blank_values=True))
    canon = urlencode(pairs, quote_via=quote, safe="")
    return f"{method.upper()} {path}" + (f"?{canon}" if canon else "")


def _unit(seed: int | str, *parts: object) -> float:
    """A uniform draw in [0, 1) that only depends on its arguments (Python's hash() is salted per process)."""
    digest = hashlib.sha256("\x1f".join(map(str, (seed, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _pick(rates: Mapping[str, float], kinds: Sequence[str], u: float) -> str | None:
    edge = 0.0
    for kind in kinds:
        edge += rates.get(kind, 0.0)
        if u < edge:
            return kind
    return None


def fault_plan(profile: FaultProfile, seed: int | str, key: str) -> tuple[str | None, ...]:
    """The transport fault (or None) for attempts 1..MAX_FAULTY_ATTEMPTS of one request key.

    500/503 come as bursts of 1..max_burst attempts and the attempt after a burst is clean, like a restarting backend.
    """
    plan: list[str | None] = [None] * MAX_FAULTY_ATTEMPTS
    attempt = 1
    while attempt <= MAX_FAULTY_ATTEMPTS:
        kind = _pick(profile.transport, TRANSPORT_KINDS, _unit(seed, key, attempt, "kind"))
        if kind in BURST_KINDS:
            length = 1 + int(_unit(seed, key, attempt, "burst") * profile.max_burst)
            for i in range(attempt, min(attempt + length, MAX_FAULTY_ATTEMPTS + 1)):
                plan[i - 1] = kind
            attempt += length + 1
        else:
            plan[attempt - 1] = kind
            attempt += 1
    return tuple(plan)


@dataclass(frozen=True)
class InjectedFault:
    """One decided transport fault: its kind, the attempt it hits, and the delay or status it implies."""

    kind: str
    attempt: int
    delay_seconds: float = 0.0
    status: int | None = None

    def detail(self) -> dict[str, Any]:
        """What the log keeps, so a test can match the entry with what its client saw."""
        out: dict[str, Any] = {"attempt": self.attempt}
        if self.status is not None:
            out["status"] = self.status
        if self.delay_seconds:
            out["delay_ms"] = round(self.delay_seconds * 1000, 1)
        return out


def decide(profile: FaultProfile, seed: int | str, key: str, attempt: int) -> InjectedFault | None:
    """The fault for attempt ``attempt`` (1-based) of ``key``; never one past MAX_FAULTY_ATTEMPTS."""
    if attempt < 1 or attempt > MAX_FAULTY_ATTEMPTS or not profile.transport_active:
        return None
    kind = fault_plan(profile, seed, key)[attempt - 1]
    if kind is None:
        return None
    u = _unit(seed, key, attempt, "delay")
    if kind == "latency":
        lo, hi = profile.latency_ms
        return InjectedFault(kind, attempt, delay_seconds=(lo + u * (hi - lo)) / 1000)
    if kind == "slow_page":
        lo, hi = profile.slow_page_seconds
        return InjectedFault(kind, attempt, delay_seconds=lo + u * (hi - lo))
    return InjectedFault(kind, attempt, status=STATUS.get(kind))


def choose_bad_row(
    profile: FaultProfile,
    seed: int | str,
    entity: str,
    record_id: object,
    kinds: Sequence[str] = BAD_ROW_KINDS,
) -> str | None:
    """The bad-row kind (or None) the data generator should apply to one record, among the kinds it can apply there."""
    return _pick(profile.bad_rows, [k for k in BAD_ROW_KINDS if k in kinds], _unit(seed, "bad_row", entity, record_id))


# --- tables -------------------------------------------------------------------------------------------------------

metadata = sa.MetaData()

attempts_table = sa.Table(
    "sandbox_fault_attempts",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("attempts", sa.Integer, nullable=False),
)

injected_table = sa.Table(
    "sandbox_injected",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("entity", sa.String(64)),
    sa.Column("record_id", sa.String(128)),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("request_key", sa.Text),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


def create_tables(engine: Engine) -> None:
    """Create both fault tables; IF NOT EXISTS so worker processes starting together do not race."""
    with engine.begin() as conn:
        for table in (attempts_table, injected_table):
            conn.execute(CreateTable(table, if_not_exists=True))


def reset_faults(engine: Engine) -> None:
    """Forget attempt counts and the injected log, e.g. when the sandbox is reset or the seed changes."""
    create_tables(engine)
    with engine.begin() as conn:
        conn.execute(attempts_table.delete())
        conn.execute(injected_table.delete())


class AttemptCounter:
    """Counts attempts per request key in SQL so all worker processes sharing the database see one sequence."""

    def __init__(self, engine: Engine) -> None:
        dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        if engine.dialect.name not in dialects:
            raise ValueError(f"fault attempts need SQLite or PostgreSQL, not {engine.dialect.name}")
        self.engine = engine
        self._insert = dialects[engine.dialect.name]
        create_tables(engine)

    def next(self, key: str) -> int:
        """Count one more attempt of ``key`` and return its number (1 for the first), atomically."""
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        stmt = (
            self._insert(attempts_table)
            .values(key_hash=key_hash, attempts=1)
            .on_conflict_do_update(
                index_elements=[attempts_table.c.key_hash],
                set_={"attempts": attempts_table.c.attempts + 1},
            )
            .returning(attempts_table.c.attempts)
        )
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).scalar_one())


# --- injected log -------------------------------------------------------------------------------------------------


class InjectedLog:
    """What was injected, in SQL so every worker's faults and the generator's bad rows are listed together."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine)

    def add_transport(self, fault: InjectedFault, key: str) -> None:
        """Record one transport fault the middleware is about to apply to request ``key``."""
        self._insert(
            [{"category": "transport", "kind": fault.kind, "detail": json.dumps(fault.detail()), "request_key": key}]
        )

    def add_bad_row(self, entity: str, id: object, kind: str, detail: str = "") -> None:
        """Record one bad row the data generator planted."""
        self.add_bad_rows([(entity, id, kind, detail)])

    def add_bad_rows(self, rows: Iterable[tuple[str, object, str, str]]) -> None:
        """Record many bad rows in one transaction (one commit per row is slow on SQLite)."""
        values = []
        for entity, record_id, kind, detail in rows:
            if kind not in BAD_ROW_KINDS:
                raise ValueError(f"unknown bad-row kind {kind!r}; valid: {', '.join(BAD_ROW_KINDS)}")
            values.append(
                {"category": "bad_row", "entity": entity, "record_id": str(record_id), "kind": kind, "detail": detail}
            )
        self._insert(values)

    def _insert(self, values: list[dict[str, Any]]) -> None:
        if not values:
            return
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(injected_table.insert(), [{"at": now, **v} for v in values])

    def list(self, category: str | None = None) -> list[dict[str, Any]]:
        """Raw rows in insertion order, optionally of one category ('transport' or 'bad_row')."""
        query = sa.select(injected_table).order_by(injected_table.c.id)
        if category is not None:
            query = query.where(injected_table.c.category == category)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def summary(self, category: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """The ``GET /sandbox/injected`` document: bad rows and transport faults in client-friendly fields."""
        out: dict[str, list[dict[str, Any]]] = {"bad_rows": [], "transport": []}
        for row in self.list(category):
            if row["category"] == "bad_row":
                out["bad_rows"].append(
                    {
                        "entity": row["entity"],
                        "id": _maybe_int(row["record_id"]),
                        "kind": row["kind"],
                        "detail": row["detail"],
                    }
                )
            else:
                detail = json.loads(row["detail"] or "{}")
                method, _, target = (row["request_key"] or "").partition(" ")
                path, _, query = target.partition("?")
                out["transport"].append(
                    {
                        "kind": row["kind"],
                        "method": method,
                        "path": path,
                        "query": query,
                        "attempt": detail.get("attempt"),
                        "detail": detail,
                    }
                )
        return out

    def clear(self) -> None:
        """Drop every record (attempt counts are kept; see ``reset_faults``)."""
        with self.engine.begin() as conn:
            conn.execute(injected_table.delete())


def _maybe_int(value: str | None) -> object:
    if value is not None and value.lstrip("-").isdigit() and str(int(value)) == value:
        return int(value)
    return value


def injected_router(log: InjectedLog) -> APIRouter:
    """``GET /sandbox/injected``: lets tests compare what their client saw with what the sandbox did."""
    router = APIRouter()

    @router.get("/sandbox/injected")
    def get_injected(
        category: Literal["transport", "bad_row"] | None = Query(None, description="only this category"),
    ) -> dict[str, list[dict[str, Any]]]:
        return log.summary(category)

    return router


# --- middleware ---------------------------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ErrorBody = Callable[[int], tuple[str, bytes]]

_REASONS = {500: "Internal Server Error", 503: "Service Unavailable", 429: "Too Many Requests"}
_FILLER = json.dumps({"items": [{"id": i, "name": f"item {i}"} for i in range(64)]}).encode()
_INCOMPLETE_MSG = "ASGI callable returned without completing response."


def json_error_body(status: int) -> tuple[str, bytes]:
    """Default error body, in the shape of PrestaShop's JSON webservice errors."""
    body = {"errors": [{"code": status, "message": f"{_REASONS.get(status, 'Error')} (injected by sandbox)"}]}
    return "application/json", json.dumps(body).encode()


class _ExpectedDropFilter(logging.Filter):
    """Hides uvicorn's error line for connections we cut on purpose, one line per cut, so real bugs still show."""

    def __init__(self) -> None:
        super().__init__()
        self.pending = 0
        self.lock = threading.Lock()

    def expect(self) -> None:
        with self.lock:
            self.pending += 1

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == _INCOMPLETE_MSG:
            with self.lock:
                if self.pending > 0:
                    self.pending -= 1
                    return False
        return True


_drop_filter = _ExpectedDropFilter()


class FaultMiddleware:
    """ASGI middleware injecting the profile's transport faults into requests under ``prefixes``.

    ``drop_executes_writes``: a cut GET/HEAD/OPTIONS response is the real one truncated; for writes the app is not
    run by default, so a retried POST cannot duplicate data. Set it to test a client's idempotency (the write
    happens, the response is lost).
    """

    def __init__(
        self,
        app: ASGIApp,
        profile: FaultProfile,
        seed: int | str,
        engine: Engine,
        prefixes: Sequence[str] = ("/api/",),
        log: InjectedLog | None = None,
        error_body: ErrorBody = json_error_body,
        drop_executes_writes: bool = False,
    ) -> None:
        self.app = app
        self.profile = profile
        self.seed = seed
        self.prefixes = tuple(prefixes)
        self.error_body = error_body
        self.drop_executes_writes = drop_executes_writes
        self.counter = AttemptCounter(engine) if profile.transport_active else None
        self.log = log if log is not None else InjectedLog(engine)
        logging.getLogger("uvicorn.error").addFilter(_drop_filter)

    def applies_to(self, path: str) -> bool:
        """Only emulator API paths; the sandbox's own control endpoints must stay reliable for the tests."""
        if path == "/sandbox" or path.startswith("/sandbox/"):
            return False
        return path.startswith(self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.counter is None or not self.applies_to(scope["path"]):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        key = request_key(method, scope["path"], scope.get("query_string", b""))
        attempt = await run_in_threadpool(self.counter.next, key)
        fault = decide(self.profile, self.seed, key, attempt)
        if fault is None or (fault.kind == "drop_connection" and method == "HEAD"):
            # A HEAD response has no body to cut short.
            await self.app(scope, receive, send)
            return
        await run_in_threadpool(self.log.add_transport, fault, key)
        log.info("injecting %s into %s (attempt %d)", fault.kind, key, attempt)
        if fault.delay_seconds:
            await anyio.sleep(fault.delay_seconds)
            await self.app(scope, receive, send)
        elif fault.kind == "drop_connection":
            await self._drop(scope, receive, send, method)
        else:
            await self._error(send, fault)

    async def _error(self, send: Send, fault: InjectedFault) -> None:
        status = fault.status or 500
        content_type, body = self.error_body(status)
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-sandbox-fault", fault.kind.encode()),
        ]
        if status == 429:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _drop(self, scope: Scope, receive: Receive, send: Send, method: str) -> None:
        status, headers, body = 200, [(b"content-type", b"application/json")], b""
        if method in SAFE_METHODS or self.drop_executes_writes:
            status, headers, body = await self._capture(scope, receive)
        if len(body) < 2 or status < 200 or status in (204, 304):
            status, headers, body = 200, [(b"content-type", b"application/json")], _FILLER
        headers = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"transfer-encoding")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        # Returning with the body unfinished makes the server close the socket: the client sees a short read.
        _drop_filter.expect()

    async def _capture(self, scope: Scope, receive: Receive) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        status = 200
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        return status, headers, b"".join(chunks)
