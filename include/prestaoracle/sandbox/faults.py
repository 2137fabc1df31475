"""Fault injection shared by the sandbox's HTTP emulators (PrestaShop now, Oracle Fusion later).

A run with faults must stay reproducible and must still converge: the clients' tests compare a flaky run with a
clean one. So every decision is a pure function of (seed, request key, attempt number of that key), attempt numbers
live in the sandbox's database (so all uvicorn workers agree), and no fault applies past attempt
``MAX_FAULTY_ATTEMPTS``: a client that tries four times always gets through. The key of a write carries a digest of
its body, so every distinct write of a run has its own three faulty attempts while a re-send of the same write is
recognised as the next attempt of the same key. ``reset_faults`` at start-up makes every start a fresh run.

Profiles are chosen with ``parse_faults("flaky")`` or ``parse_faults("flaky:http_503=0.2,latency=0")``. Transport
faults are applied by ``FaultMiddleware``; bad-row kinds are only names and rates here, the data generator applies
them (``choose_bad_row`` gives it a deterministic pick) and records them with ``InjectedLog.add_bad_row``.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import re
import threading
import time
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
    "WRITE_ONLY_KINDS",
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

# lost_reply stays last: excluding it for reads must not move the draws of the other kinds.
TRANSPORT_KINDS: tuple[str, ...] = (
    "latency", "http_500", "http_503", "http_429", "drop_connection", "slow_page", "lost_reply",
)
BURST_KINDS: frozenset[str] = frozenset({"http_500", "http_503"})
WRITE_ONLY_KINDS: frozenset[str] = frozenset({"lost_reply"})
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
SETTINGS: tuple[str, ...] = ("latency_ms", "slow_page_seconds", "retry_after_seconds", "max_burst")
GROUPS: tuple[str, ...] = ("transport", "bad_rows")
STATUS = {"http_500": 500, "http_503": 503, "http_429": 429}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Share of answers without Retry-After, and of those that carry an HTTP-date instead of delta-seconds: a WAF's 429
# usually names a wait, a 503 from a restarting backend often does not (RFC 9110 §10.2.3 allows both forms).
RETRY_AFTER_ABSENT = {"http_429": 0.2, "http_503": 0.4}
RETRY_AFTER_DATE = 0.2


# --- profiles -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultProfile:
    """Per-kind rates (probability per attempt for transport kinds, per eligible record for bad rows) and timings."""

    name: str
    transport: Mapping[str, float] = field(default_factory=dict)
    bad_rows: Mapping[str, float] = field(default_factory=dict)
    latency_ms: tuple[float, float] = (50.0, 300.0)
    slow_page_seconds: tuple[float, float] = (2.0, 3.0)
    retry_after_seconds: tuple[float, float] = (1.0, 8.0)
    max_burst: int = 3

    def __post_init__(self) -> None:
        _check_rates(self.transport, TRANSPORT_KINDS, "transport")
        _check_rates(self.bad_rows, BAD_ROW_KINDS, "bad-row")
        # Every kind present (0 when off), so equal profiles compare equal however they were spelled.
        object.__setattr__(self, "transport", {k: float(self.transport.get(k, 0.0)) for k in TRANSPORT_KINDS})
        object.__setattr__(self, "bad_rows", {k: float(self.bad_rows.get(k, 0.0)) for k in BAD_ROW_KINDS})
        if not 1 <= self.max_burst <= MAX_FAULTY_ATTEMPTS:
            raise ValueError(f"max_burst must be 1..{MAX_FAULTY_ATTEMPTS}, got {self.max_burst}")
        ranges = (
            ("latency_ms", self.latency_ms),
            ("slow_page_seconds", self.slow_page_seconds),
            ("retry_after_seconds", self.retry_after_seconds),
        )
        for label, (lo, hi) in ranges:
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
            f"retry_after_seconds={_num(self.retry_after_seconds[0])}-{_num(self.retry_after_seconds[1])}",
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
    "lost_reply": 0.04,
}
PROFILES: dict[str, FaultProfile] = {
    "none": FaultProfile("none"),
    "flaky": FaultProfile("flaky", transport=_FLAKY_TRANSPORT),
    "hostile": FaultProfile("hostile", transport=_FLAKY_TRANSPORT, bad_rows=dict.fromkeys(BAD_ROW_KINDS, 0.02)),
}


def parse_faults(spec: str) -> FaultProfile:
    """Turn ``--faults`` text (``hostile`` or ``flaky:http_503=0.2,latency=0,slow_page_seconds=0.2``) into a profile.

    Keys after the colon: a transport or bad-row kind (``=rate``), a group ``transport``/``bad_rows`` (sets every
    rate of the group), ``latency_ms=LOW-HIGH``, ``slow_page_seconds=LOW-HIGH``, ``retry_after_seconds=LOW-HIGH``
    (one number sets both ends), ``max_burst``.
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
            elif key in ("latency_ms", "slow_page_seconds", "retry_after_seconds"):
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

BODY_MARK = " body="


def request_key(method: str, path: str, query: bytes | str = b"", body: bytes = b"") -> str:
    """Canonical ``METHOD /path?sorted-query[ body=DIGEST]``: equal for retries of the same request.

    Parameter order and encoding do not matter. A non-empty body of a write adds a digest of its bytes, so two
    different writes to one collection are two keys, and a re-send of the very same write is the same key again.
    """
    raw = query.decode("latin-1") if isinstance(query, bytes) else query
    pairs = sorted(parse_qsl(raw, keep_blank_values=True))
    canon = urlencode(pairs, quote_via=quote, safe="")
    key = f"{method.upper()} {path}" + (f"?{canon}" if canon else "")
    if body and method.upper() not in SAFE_METHODS:
        key += BODY_MARK + hashlib.sha256(body).hexdigest()[:16]
    return key


def _is_write(key: str) -> bool:
    return key.partition(" ")[0] not in SAFE_METHODS


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
    A lost reply only hits writes (GET/HEAD/OPTIONS keys never draw it).
    """
    kinds = TRANSPORT_KINDS if _is_write(key) else tuple(k for k in TRANSPORT_KINDS if k not in WRITE_ONLY_KINDS)
    plan: list[str | None] = [None] * MAX_FAULTY_ATTEMPTS
    attempt = 1
    while attempt <= MAX_FAULTY_ATTEMPTS:
        kind = _pick(profile.transport, kinds, _unit(seed, key, attempt, "kind"))
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
    """One decided transport fault: its kind, the attempt it hits, and the delay, status and headers it implies.

    ``retry_after_seconds`` is None when the answer carries no ``Retry-After``; ``retry_after_date`` sends it as an
    HTTP-date that many seconds ahead instead of delta-seconds. A ``lost_reply`` with a status answers that status
    after the write was committed; without one its connection is cut.
    """

    kind: str
    attempt: int
    delay_seconds: float = 0.0
    status: int | None = None
    retry_after_seconds: int | None = None
    retry_after_date: bool = False

    def retry_after(self, now: float | None = None) -> str | None:
        """The ``Retry-After`` header value to send (an HTTP-date is relative to ``now``, default the wall clock)."""
        if self.retry_after_seconds is None:
            return None
        if self.retry_after_date:
            at = (time.time() if now is None else now) + self.retry_after_seconds
            return email.utils.formatdate(at, usegmt=True)
        return str(self.retry_after_seconds)

    def detail(self) -> dict[str, Any]:
        """What the log keeps, so a test can match the entry with what its client saw."""
        out: dict[str, Any] = {"attempt": self.attempt}
        if self.status is not None:
            out["status"] = self.status
        if self.delay_seconds:
            out["delay_ms"] = round(self.delay_seconds * 1000, 1)
        if self.kind in RETRY_AFTER_ABSENT:
            out["retry_after_seconds"] = self.retry_after_seconds
            out["retry_after_form"] = (
                "absent" if self.retry_after_seconds is None else "http-date" if self.retry_after_date else "seconds"
            )
        if self.kind == "lost_reply":
            out["reply"] = "cut" if self.status is None else "error"
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
    if kind == "lost_reply":
        # Half the lost replies are cut connections, half a 500 sent after the commit (a PHP warning while rendering).
        return InjectedFault(kind, attempt, status=500 if u < 0.5 else None)
    if kind in RETRY_AFTER_ABSENT:
        return InjectedFault(kind, attempt, status=STATUS[kind], **_retry_after(profile, seed, key, attempt, kind))
    return InjectedFault(kind, attempt, status=STATUS.get(kind))


def _retry_after(profile: FaultProfile, seed: int | str, key: str, attempt: int, kind: str) -> dict[str, Any]:
    """Whether and how a 429/503 names its wait: absent, delta-seconds or an HTTP-date, mostly short, some long."""
    form = _unit(seed, key, attempt, "retry_after_form")
    if form < RETRY_AFTER_ABSENT[kind]:
        return {}
    lo, hi = profile.retry_after_seconds
    # Squared draw: most servers ask for a short wait, a few for the long end of the range.
    seconds = round(lo + (hi - lo) * _unit(seed, key, attempt, "retry_after") ** 2)
    return {"retry_after_seconds": seconds, "retry_after_date": form < RETRY_AFTER_ABSENT[kind] + RETRY_AFTER_DATE}


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

    def add_transport(self, fault: InjectedFault, key: str, extra: Mapping[str, Any] | None = None) -> None:
        """Record one transport fault applied to request ``key``, with ``extra`` facts (header sent, what committed)."""
        detail = {**fault.detail(), **(extra or {})}
        self._insert([{"category": "transport", "kind": fault.kind, "detail": json.dumps(detail), "request_key": key}])

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
                target, _, body = (row["request_key"] or "").partition(BODY_MARK)
                method, _, target = target.partition(" ")
                path, _, query = target.partition("?")
                out["transport"].append(
                    {
                        "kind": row["kind"],
                        "method": method,
                        "path": path,
                        "query": query,
                        "body": body or None,
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
ErrorBody = Callable[[InjectedFault, Scope], tuple[str, bytes]]
Headers = list[tuple[bytes, bytes]]

_REASONS = {500: "Internal Server Error", 503: "Service Unavailable", 429: "Too Many Requests"}
_FILLER = json.dumps({"items": [{"id": i, "name": f"item {i}"} for i in range(64)]}).encode()
_INCOMPLETE_MSG = "ASGI callable returned without completing response."
_FIRST_ID = re.compile(rb'<id>\s*(?:<!\[CDATA\[)?\s*(\d+)|"id"\s*:\s*"?(\d+)')


def json_error_body(fault: InjectedFault, scope: Scope) -> tuple[str, bytes]:
    """Default error body, in the shape of PrestaShop's JSON webservice errors (emulators pass their own)."""
    status = fault.status or 500
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

    ``drop_connection`` on a GET/HEAD/OPTIONS cuts the real response; on a write the app is not run by default (the
    request was lost before it reached the shop; ``drop_executes_writes`` runs it). ``lost_reply`` runs the write and
    then loses its answer (a cut connection or a 500 after the commit), recording what was committed; an emulator
    with its own lost-reply fault (the Fusion pod's 504 after commit) turns it off with ``lost_reply=False``.
    ``error_body`` renders injected errors in the format the request asked for.
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
        lost_reply: bool = True,
    ) -> None:
        self.app = app
        self.profile = profile
        self.seed = seed
        self.prefixes = tuple(prefixes)
        self.error_body = error_body
        self.drop_executes_writes = drop_executes_writes
        self.lost_reply = lost_reply
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
        body = b""
        if method not in SAFE_METHODS:
            body, receive = await _buffered(receive)
        key = request_key(method, scope["path"], scope.get("query_string", b""), body)
        attempt = await run_in_threadpool(self.counter.next, key)
        fault = decide(self.profile, self.seed, key, attempt)
        if fault is not None and fault.kind == "lost_reply" and not self.lost_reply:
            fault = None
        if fault is None or (fault.kind == "drop_connection" and method == "HEAD"):
            # A HEAD response has no body to cut short.
            await self.app(scope, receive, send)
            return
        if fault.kind == "lost_reply":
            await self._lose_reply(scope, receive, send, fault, key)
            return
        retry_after = fault.retry_after()
        extra = {"retry_after": retry_after} if fault.kind in RETRY_AFTER_ABSENT else None
        await run_in_threadpool(self.log.add_transport, fault, key, extra)
        log.info("injecting %s into %s (attempt %d)", fault.kind, key, attempt)
        if fault.delay_seconds:
            await anyio.sleep(fault.delay_seconds)
            await self.app(scope, receive, send)
        elif fault.kind == "drop_connection":
            await self._drop(scope, receive, send, method)
        else:
            await self._error(scope, send, fault, retry_after)

    async def _error(self, scope: Scope, send: Send, fault: InjectedFault, retry_after: str | None = None) -> None:
        status = fault.status or 500
        content_type, body = self.error_body(fault, scope)
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-sandbox-fault", fault.kind.encode()),
        ]
        if retry_after is not None:
            headers.append((b"retry-after", retry_after.encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _drop(self, scope: Scope, receive: Receive, send: Send, method: str) -> None:
        status, headers, body = 200, [(b"content-type", b"application/json")], b""
        if method in SAFE_METHODS or self.drop_executes_writes:
            status, headers, body = await self._capture(scope, receive)
        await _cut(send, status, headers, body)

    async def _lose_reply(self, scope: Scope, receive: Receive, send: Send, fault: InjectedFault, key: str) -> None:
        """Run the write, then lose its answer; a write the app refused committed nothing and is answered as is."""
        status, headers, answer = await self._capture(scope, receive)
        if not 200 <= status < 300:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": answer, "more_body": False})
            return
        committed = {"status": status, "id": _first_id(answer)}
        await run_in_threadpool(self.log.add_transport, fault, key, {"committed": committed})
        log.info("injecting lost_reply into %s (attempt %d) after it committed %s", key, fault.attempt, committed)
        if fault.status is None:
            await _cut(send, status, headers, answer)
        else:
            await self._error(scope, send, fault)

    async def _capture(self, scope: Scope, receive: Receive) -> tuple[int, Headers, bytes]:
        status = 200
        headers: Headers = []
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


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body (to key the write by it) and a ``receive`` that replays it to the app."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body, replay


async def _cut(send: Send, status: int, headers: Headers, body: bytes) -> None:
    """Announce the whole body, send half of it and stop: the server closes the socket, the client sees a short read."""
    if len(body) < 2 or status < 200 or status in (204, 304):
        status, headers, body = 200, [(b"content-type", b"application/json")], _FILLER
    headers = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"transfer-encoding")]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    _drop_filter.expect()


def _first_id(answer: bytes) -> int | None:
    """The id of the object a write answered with (XML ``<id>`` or JSON ``"id"``), to log what was committed."""
    match = _FIRST_ID.search(answer)
    return int(match.group(1) or match.group(2)) if match else None
