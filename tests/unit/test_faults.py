"""Fault profiles, deterministic decisions and the SQL-backed attempt counter and log, without HTTP."""

from __future__ import annotations

import email.utils
import os
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.pg import no_postgres

from prestaoracle.sandbox.faults import (
    BAD_ROW_KINDS,
    MAX_FAULTY_ATTEMPTS,
    PROFILES,
    TRANSPORT_KINDS,
    WRITE_ONLY_KINDS,
    AttemptCounter,
    FaultProfile,
    InjectedFault,
    InjectedLog,
    choose_bad_row,
    create_tables,
    decide,
    fault_plan,
    parse_faults,
    request_key,
    reset_faults,
)
from prestaoracle.sandbox.storage import create_engine

PG_URL = os.environ.get("PRESTAORACLE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    # The sandbox's own engine (WAL, 30 s busy timeout): threads sharing one SQLite file wait instead of failing.
    eng = create_engine(f"sqlite:///{tmp_path / 'sandbox.db'}")
    yield eng
    eng.dispose()


# --- parse_faults -------------------------------------------------------------------------------------------------


def test_named_profiles() -> None:
    assert parse_faults("none") == PROFILES["none"]
    assert parse_faults("") == PROFILES["none"]
    assert not parse_faults("none").transport_active
    flaky = parse_faults("flaky")
    assert flaky.transport_active and set(flaky.transport) == set(TRANSPORT_KINDS)
    assert not any(flaky.bad_rows.values())
    hostile = parse_faults(" Hostile ")
    assert hostile.transport == flaky.transport
    assert set(hostile.bad_rows) == set(BAD_ROW_KINDS) and all(r > 0 for r in hostile.bad_rows.values())
    assert flaky.latency_ms == (50, 300) and flaky.slow_page_seconds == (2, 3)
    assert flaky.rate("lost_reply") > 0 and flaky.retry_after_seconds[1] > flaky.retry_after_seconds[0]


def test_overrides() -> None:
    p = parse_faults("flaky:http_503=0.2, latency=0,slow_page_seconds=0.2,latency_ms=1-5,negative_quantity=0.5")
    assert (
        p.rate("http_503") == 0.2
        and p.rate("latency") == 0
        and p.rate("http_500") == PROFILES["flaky"].rate("http_500")
    )
    assert p.slow_page_seconds == (0.2, 0.2) and p.latency_ms == (1, 5)
    assert p.bad_rows["negative_quantity"] == 0.5
    only_rows = parse_faults("hostile:transport=0")
    assert not only_rows.transport_active and only_rows.bad_rows == PROFILES["hostile"].bad_rows
    assert parse_faults("none:http_429=1").rate("http_429") == 1


def test_to_spec_round_trips() -> None:
    for spec in (
        "none",
        "flaky",
        "hostile",
        "flaky:http_503=0.25,latency_ms=3-7,slow_page_seconds=0.1,max_burst=2,retry_after_seconds=0-90,lost_reply=0.5",
    ):
        profile = parse_faults(spec)
        again = parse_faults(profile.to_spec())
        assert again == replace(profile, name=again.name)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("chaos", r"unknown fault profile 'chaos'.*valid profiles: none, flaky, hostile"),
        ("flaky:http_502=0.1", r"unknown fault kind 'http_502'.*http_503.*negative_quantity.*latency_ms"),
        ("flaky:http_503", r"must look like 'kind=value'"),
        ("flaky:http_503=lots", r"bad value in fault override 'http_503=lots'"),
        ("flaky:http_503=1.5", r"rate of http_503 must be within 0\.\.1"),
        ("flaky:http_503=0.9", r"transport rates add up to .* more than 1"),
        ("flaky:latency_ms=300-50", r"latency_ms must be 'LOW-HIGH'"),
        ("flaky:max_burst=4", r"max_burst must be 1\.\.3"),
        ("flaky:retry_after_seconds=9-2", r"retry_after_seconds must be 'LOW-HIGH'"),
    ],
)
def test_parse_errors_are_clear(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_faults(spec)


# --- decisions ----------------------------------------------------------------------------------------------------


def test_request_key_is_canonical() -> None:
    assert request_key("get", "/api/orders", b"b=2&a=1&a=0") == "GET /api/orders?a=0&a=1&b=2"
    assert request_key("GET", "/api/orders", "filter%5Bid%5D=%5B1%7C5%5D") == request_key(
        "GET", "/api/orders", "filter[id]=[1|5]"
    )
    assert request_key("GET", "/api/orders") == "GET /api/orders"


def test_write_key_is_the_write_itself() -> None:
    """Two writes to one collection are two keys (each gets its own faulty attempts); a re-send is the same key."""
    one, two = (f"<order_history><id_order>{i}</id_order></order_history>".encode() for i in (1, 2))
    a = request_key("POST", "/api/order_histories", "", one)
    assert a != request_key("POST", "/api/order_histories", "", two)
    assert a.startswith("POST /api/order_histories body=")
    assert a == request_key("post", "/api/order_histories", b"", one)
    # A read is its URL; a write without a body (DELETE) too.
    assert request_key("GET", "/api/orders", "", b"ignored") == "GET /api/orders"
    assert request_key("DELETE", "/api/orders/5") == "DELETE /api/orders/5"


def test_distinct_writes_to_one_collection_meet_faults_all_run_long() -> None:
    profile = parse_faults("flaky")
    bodies = [f"<order_history><id_order>{i}</id_order></order_history>".encode() for i in range(300)]
    first_attempts = [decide(profile, 7, request_key("POST", "/api/order_histories", "", b), 1) for b in bodies]
    late = [f for f in first_attempts[100:] if f is not None and f.kind != "latency"]
    # flaky fails about a quarter of write attempts; far more than the 3 attempts a per-URL key allowed in total.
    assert len(late) > 20
    assert {f.kind for f in late} >= {"http_503", "http_429", "drop_connection", "lost_reply"}


def test_decisions_are_deterministic_and_capped() -> None:
    profile = parse_faults("flaky")
    keys = [f"GET /api/orders/{i}" for i in range(2000)]
    plans = [fault_plan(profile, 7, k) for k in keys]
    assert plans == [fault_plan(profile, 7, k) for k in keys]
    assert plans != [fault_plan(profile, 8, k) for k in keys]
    assert all(decide(profile, 7, k, attempt) is None for k in keys for attempt in (0, 4, 5, 100))
    seen = Counter(kind for plan in plans for kind in plan if kind)
    assert set(seen) == set(TRANSPORT_KINDS) - WRITE_ONLY_KINDS  # reads never lose a write's reply
    writes = [fault_plan(profile, 7, f"PATCH /api/orders/{i} body=0123456789abcdef") for i in range(2000)]
    assert {kind for plan in writes for kind in plan if kind} == set(TRANSPORT_KINDS)
    assert all(decide(PROFILES["none"], 7, k, 1) is None for k in keys)


def test_bursts_then_success() -> None:
    profile = parse_faults("none:http_503=1")
    lengths = Counter()
    for i in range(300):
        plan = fault_plan(profile, 1, f"GET /api/x/{i}")
        assert plan[0] == "http_503"
        burst = plan.index(None) if None in plan else MAX_FAULTY_ATTEMPTS
        lengths[burst] += 1
        assert all(kind == "http_503" for kind in plan[:burst])
        if burst < MAX_FAULTY_ATTEMPTS:
            assert plan[burst] is None  # the attempt after a burst is clean
    assert set(lengths) == {1, 2, 3}
    assert {fault_plan(parse_faults("none:http_500=1,max_burst=1"), 1, f"k{i}") for i in range(50)} == {
        ("http_500", None, "http_500")
    }


def test_delays_follow_profile() -> None:
    profile = parse_faults("none:latency=0.5,slow_page=0.5")
    faults = [decide(profile, 3, f"GET /api/p/{i}", 1) for i in range(200)]
    latencies = [f.delay_seconds for f in faults if f and f.kind == "latency"]
    slows = [f.delay_seconds for f in faults if f and f.kind == "slow_page"]
    assert latencies and all(0.05 <= d <= 0.3 for d in latencies)
    assert slows and all(2 <= d <= 3 for d in slows)
    assert decide(profile, 3, "GET /api/p/1", 1) == faults[1]
    assert InjectedFault("http_500", 2, status=500).detail() == {"attempt": 2, "status": 500}


def test_lost_reply_is_a_cut_or_an_error_after_commit() -> None:
    profile = parse_faults("none:lost_reply=1")
    found = [decide(profile, 4, f"POST /api/order_histories body={i:016x}", 1) for i in range(200)]
    assert {f.kind for f in found} == {"lost_reply"}
    replies = Counter(f.detail()["reply"] for f in found)
    assert set(replies) == {"cut", "error"} and all(f.status in (None, 500) for f in found)
    assert all(decide(profile, 4, f"GET /api/orders/{i}", 1) is None for i in range(200))


def test_retry_after_varies_like_real_servers_and_follows_the_seed() -> None:
    profile = parse_faults("none:http_429=0.5,http_503=0.5,retry_after_seconds=1-120")
    faults = [decide(profile, 11, f"GET /api/orders/{i}", 1) for i in range(3000)]
    assert faults == [decide(profile, 11, f"GET /api/orders/{i}", 1) for i in range(3000)]
    by_kind: dict[str, Counter[str]] = {"http_429": Counter(), "http_503": Counter()}
    seconds = set()
    for f in faults:
        if f is None or f.kind not in by_kind:
            continue
        form = f.detail()["retry_after_form"]
        by_kind[f.kind][form] += 1
        header = f.retry_after(now=1_000_000.0)
        if form == "absent":
            assert header is None and f.retry_after_seconds is None
            continue
        assert 1 <= f.retry_after_seconds <= 120
        seconds.add(f.retry_after_seconds)
        if form == "seconds":
            assert header == str(f.retry_after_seconds)
        else:  # RFC 9110 IMF-fixdate, that many seconds after "now"
            assert header.endswith(" GMT")
            assert email.utils.parsedate_to_datetime(header).timestamp() == 1_000_000 + f.retry_after_seconds
    for kind, forms in by_kind.items():
        assert set(forms) == {"absent", "seconds", "http-date"}, kind
    # 503s go without Retry-After more often than 429s; sizes are spread, short ones most common.
    share = {k: forms["absent"] / sum(forms.values()) for k, forms in by_kind.items()}
    assert 0.1 < share["http_429"] < 0.3 < share["http_503"] < 0.5
    assert len(seconds) > 30 and min(seconds) <= 3 and max(seconds) >= 90
    # An HTTP-date is relative to the wall clock when no "now" is given.
    dated = next(f for f in faults if f is not None and f.retry_after_date)
    at = email.utils.parsedate_to_datetime(dated.retry_after()).timestamp()
    assert abs(at - (time.time() + dated.retry_after_seconds)) < 5


def test_choose_bad_row() -> None:
    profile = parse_faults("none:negative_quantity=0.3,missing_sku=0.2")
    picks = [choose_bad_row(profile, 5, "order_rows", i) for i in range(2000)]
    assert picks == [choose_bad_row(profile, 5, "order_rows", i) for i in range(2000)]
    counts = Counter(picks)
    assert set(counts) == {None, "negative_quantity", "missing_sku"}
    assert 500 < counts["negative_quantity"] < 700 and 300 < counts["missing_sku"] < 500
    # A kind the generator cannot apply to this entity is never picked.
    assert "missing_sku" not in {
        choose_bad_row(profile, 5, "customers", i, kinds=("negative_quantity",)) for i in range(500)
    }
    assert {choose_bad_row(PROFILES["hostile"], 5, "orders", i) for i in range(3000)} == {None, *BAD_ROW_KINDS}


# --- SQL ----------------------------------------------------------------------------------------------------------


def test_create_tables_idempotent(engine: sa.Engine) -> None:
    create_tables(engine)
    create_tables(engine)
    assert {"sandbox_fault_attempts", "sandbox_injected"} <= set(sa.inspect(engine).get_table_names())


def _check_counter(engine: sa.Engine) -> None:
    counter = AttemptCounter(engine)
    assert [counter.next("GET /api/a") for _ in range(3)] == [1, 2, 3]
    assert counter.next("GET /api/b") == 1
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: counter.next("GET /api/hot"), range(200)))
    assert sorted(got) == list(range(1, 201))  # atomic: no number lost or repeated
    reset_faults(engine)
    assert counter.next("GET /api/a") == 1


def test_attempt_counter_sqlite(engine: sa.Engine) -> None:
    _check_counter(engine)


@pytest.mark.postgres
def test_attempt_counter_postgres() -> None:
    schema = f"faults_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        no_postgres(exc)
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_size=8)
    try:
        _check_counter(engine)
        log = InjectedLog(engine)
        log.add_bad_row("orders", 5, "zero_dates", "date_add=0000-00-00")
        assert log.summary()["bad_rows"] == [
            {"entity": "orders", "id": 5, "kind": "zero_dates", "detail": "date_add=0000-00-00"}
        ]
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_attempt_counter_rejects_other_dialects() -> None:
    with pytest.raises(ValueError, match="SQLite or PostgreSQL"):
        AttemptCounter(sa.create_mock_engine("mysql://", executor=lambda *a, **k: None))


def test_injected_log(engine: sa.Engine) -> None:
    log = InjectedLog(engine)
    log.add_bad_row("orders", 12, "totals_mismatch", "total_paid 10.00 != sum 12.00")
    log.add_bad_rows([("customers", "C-007", "invalid_email", "a@"), ("addresses", 3, "empty_country", "")])
    log.add_transport(InjectedFault("http_503", 2, status=503), "GET /api/orders?a=1&b=2")
    log.add_transport(
        InjectedFault("lost_reply", 1), "POST /api/order_histories body=00ff00ff00ff00ff", {"committed": {"id": 9}}
    )
    with pytest.raises(ValueError, match="unknown bad-row kind 'bogus'.*negative_quantity"):
        log.add_bad_row("orders", 1, "bogus", "")
    rows = log.list()
    assert [r["category"] for r in rows] == ["bad_row", "bad_row", "bad_row", "transport", "transport"]
    assert rows[0]["record_id"] == "12" and rows[0]["at"] is not None
    assert [r["kind"] for r in log.list("transport")] == ["http_503", "lost_reply"]
    summary = log.summary()
    assert summary["bad_rows"][:2] == [
        {"entity": "orders", "id": 12, "kind": "totals_mismatch", "detail": "total_paid 10.00 != sum 12.00"},
        {"entity": "customers", "id": "C-007", "kind": "invalid_email", "detail": "a@"},
    ]
    assert summary["transport"] == [
        {
            "kind": "http_503",
            "method": "GET",
            "path": "/api/orders",
            "query": "a=1&b=2",
            "body": None,
            "attempt": 2,
            "detail": {"attempt": 2, "status": 503, "retry_after_seconds": None, "retry_after_form": "absent"},
        },
        {
            "kind": "lost_reply",
            "method": "POST",
            "path": "/api/order_histories",
            "query": "",
            "body": "00ff00ff00ff00ff",
            "attempt": 1,
            "detail": {"attempt": 1, "reply": "cut", "committed": {"id": 9}},
        },
    ]
    assert log.summary("bad_row")["transport"] == []
    log.clear()
    assert log.list() == []


def test_profile_validates_directly() -> None:
    with pytest.raises(ValueError, match="unknown transport fault kind 'http_418'"):
        FaultProfile("x", transport={"http_418": 0.1})


def test_preparing_a_store_again_starts_a_fresh_fault_run(tmp_path: Path) -> None:
    """A restart with the same seed and data directory replays the same faults: counts and the log start empty."""
    from datetime import UTC, datetime

    from prestaoracle.sandbox.oracle import server as ora_server
    from prestaoracle.sandbox.prestashop import server as ps_server

    spec = ps_server.ShopSpec("generated", 20, 5, datetime(2026, 1, 1), datetime(2026, 2, 1), "hostile", "K" * 32)
    data = ps_server.shop_rows(spec)
    pod = ora_server.PodSpec(5, "flaky", "user", "secret", 3600, datetime(2026, 2, 1, tzinfo=UTC), False)
    for name, prepare in (
        ("prestashop", lambda url: ps_server.prepare(url, spec, data)),
        ("oracle", lambda url: ora_server.prepare(url, data[1], pod)),
    ):
        url = f"sqlite:///{tmp_path / name}.db"
        prepare(url)
        engine = sa.create_engine(url)
        log, counter = InjectedLog(engine), AttemptCounter(engine)
        at_start = log.summary()
        for _ in range(2):
            counter.next("GET /api/orders")
        log.add_transport(InjectedFault("http_503", 1, status=503), "GET /api/orders")
        prepare(url)
        assert log.summary() == at_start, name  # bad rows listed once, the last run's faults gone
        assert counter.next("GET /api/orders") == 1, name
        engine.dispose()
        if name == "prestashop":
            assert at_start["bad_rows"], "a hostile shop lists its bad rows"
