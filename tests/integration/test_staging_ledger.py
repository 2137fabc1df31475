"""The idempotency ledger, dead letters and run metrics of the staging database, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.pg import temp_database

from prestaoracle.secrets import is_secret_key
from prestaoracle.staging import REASON_CLASSES, Staging, connect, dead_letters, ledger, metrics, migrate, schema
from prestaoracle.staging._common import canonical_json

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
pytestmark = pytest.mark.xdist_group("test_staging_ledger")  # one worker per module: its databases are made once


@pytest.fixture(scope="module", params=BACKENDS)
def stg(request, tmp_path_factory) -> Iterator[Staging]:
    if request.param == "sqlite":
        staging = connect(tmp_path_factory.mktemp("staging") / "staging.db", upgrade=True)
        yield staging
        staging.dispose()
        return
    with temp_database("prestaoracle_staging") as url:
        staging = connect(url, upgrade=True)
        yield staging
        staging.dispose()


@contextlib.contextmanager
def rolled_back(staging: Staging) -> Iterator[sa.Connection]:
    with staging.engine.connect() as conn:
        trans = conn.begin()
        try:
            yield conn
        finally:
            trans.rollback()


def _key() -> str:
    return f"1:{uuid.uuid4().hex[:10]}"


# ------------------------------------------------------------------------------------------ ledger


def test_claim_is_idempotent(stg: Staging) -> None:
    key = _key()
    with rolled_back(stg) as conn:
        first = ledger.claim(conn, "oracle_fusion", key, "r1", source="prestashop", entity="orders")
        second = ledger.claim(conn, "oracle_fusion", key, "r2")
        assert first.created and not second.created
        assert (second.outcome, second.attempts, second.run_id, second.source) == ("pending", 0, "r1", "prestashop")
        assert ledger.lookup(conn, "oracle_ebs", key) is None  # one row per target
        assert ledger.claim(conn, "oracle_ebs", key, "r2").created


def test_success_and_failure_are_recorded_without_losing_the_target_id(stg: Staging) -> None:
    key = _key()
    with rolled_back(stg) as conn:
        ledger.claim(conn, "oracle_fusion", key, "r1")
        failed = ledger.record_failure(conn, "oracle_fusion", key, TimeoutError("POST timed out after 30 s"),
                                       run_id="r1")
        assert (failed.outcome, failed.attempts, failed.last_error) == ("failed", 1,
                                                                        "TimeoutError: POST timed out after 30 s")
        done = ledger.record_success(conn, "oracle_fusion", key, target_id=300100123, target_ref="OM-1001",
                                     outcome="created", run_id="r2")
        assert (done.outcome, done.attempts, done.target_id, done.target_ref, done.last_error) == (
            "created", 2, "300100123", "OM-1001", None)
        assert done.done and done.first_attempt_at <= done.last_attempt_at
        later = ledger.record_failure(conn, "oracle_fusion", key, "PATCH rejected", run_id="r3")
        assert (later.outcome, later.target_id, later.target_ref, later.attempts) == ("failed", "300100123",
                                                                                      "OM-1001", 3)
        with pytest.raises(ValueError, match="success outcome"):
            ledger.record_success(conn, "oracle_fusion", key, target_id=1, outcome="pending", run_id="r3")


def test_errors_in_the_ledger_are_scrubbed(stg: Staging) -> None:
    key = _key()
    with rolled_back(stg) as conn:
        entry = ledger.record_failure(conn, "prestashop", key, "401 for http://SECRETKEY123@shop/api/orders "
                                      "(Authorization: Basic U0VDUkVUS0VZMTIzOg==)", run_id="r1")
        assert "SECRETKEY123" not in entry.last_error and "U0VDUkVUS0VZMTIzOg==" not in entry.last_error


def test_pending_lists_claims_that_never_reported_back(stg: Staging) -> None:
    target = f"t-{uuid.uuid4().hex[:8]}"
    with rolled_back(stg) as conn:
        for key in ("a", "b", "c"):
            ledger.claim(conn, target, key, "r1")
        ledger.record_success(conn, target, "b", target_id="9", run_id="r1")
        ledger.record_failure(conn, target, "c", "boom", run_id="r1")
        assert [e.record_key for e in ledger.pending(conn, target)] == ["a"]
        assert sorted(e.record_key for e in ledger.pending(conn, target, outcomes=("pending", "failed"))) == ["a", "c"]
        assert ledger.outcome_counts(conn, target) == {"created": 1, "updated": 0, "skipped": 0, "failed": 1,
                                                       "pending": 1, "rejected": 0, "interfaced": 0, "held": 0}


def test_concurrent_claims_of_one_key_make_one_row(stg: Staging) -> None:
    """Eight workers claim the same order at once, each in its own transaction held open a moment: one row, one
    creator, everybody sees the same entry."""
    key, target, workers = _key(), "oracle_fusion", 8
    barrier = threading.Barrier(workers)
    results: list[ledger.LedgerEntry] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            with stg.engine.begin() as conn:
                entry = ledger.claim(conn, target, key, f"run-{n}")
                conn.execute(sa.select(sa.literal(1)))  # keep the transaction open past the insert
                results.append(entry)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(e.created for e in results) == 1
    assert len({(e.run_id, e.first_attempt_at) for e in results}) == 1
    with stg.engine.connect() as conn:
        t = schema.sync_ledger
        assert conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.record_key == key)).scalar() == 1


# ------------------------------------------------------------------------------------------ dead letters


def _quarantine(conn: sa.Connection, key: str, **overrides) -> dead_letters.DeadLetter:
    values = {"source": "prestashop", "entity": "orders", "record_key": key, "stage": "map",
              "reason_class": "mapping_missing", "message": "SKU demo_1 has no Oracle item",
              "how_to_fix": "add demo_1 to mappings/items.yaml", "payload": {"id": 1}, "run_id": "r1"}
    return dead_letters.quarantine(conn, **(values | overrides))


def test_the_same_problem_seen_again_counts_an_occurrence(stg: Staging) -> None:
    key = _key()
    with rolled_back(stg) as conn:
        first = _quarantine(conn, key)
        again = _quarantine(conn, key, message="still no item", payload={"id": 1, "v": 2}, run_id="r2")
        other = _quarantine(conn, key, stage="validate", reason_class="invalid_data")
        assert again.id == first.id and other.id != first.id
        assert (again.occurrences, again.message, again.payload, again.run_id) == (2, "still no item",
                                                                                   {"id": 1, "v": 2}, "r2")
        assert again.first_seen == first.first_seen and again.last_seen >= first.last_seen
        t = schema.dead_letters
        assert conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.record_key == key)).scalar() == 2


def test_reason_class_must_be_one_of_six(stg: Staging) -> None:
    assert set(REASON_CLASSES) == {"retryable", "invalid_data", "mapping_missing", "business_rule", "duplicate",
                                   "needs_review"}
    with rolled_back(stg) as conn:  # revision 0007 taught the database the sixth
        _quarantine(conn, _key(), reason_class="needs_review")
    with rolled_back(stg) as conn, pytest.raises(ValueError, match="reason_class"):
        _quarantine(conn, _key(), reason_class="oops")
    with rolled_back(stg) as conn, pytest.raises(sa.exc.IntegrityError):  # the database refuses it too
        conn.execute(schema.dead_letters.insert().values(
            source="s", entity="e", record_key="k", stage="map", reason_class="oops", message="m",
            first_seen=sa.func.current_timestamp(), last_seen=sa.func.current_timestamp(), run_id="r"))


def test_dead_letter_life_cycle(stg: Staging) -> None:
    source = f"src-{uuid.uuid4().hex[:8]}"
    with rolled_back(stg) as conn:
        a = _quarantine(conn, "1", source=source)
        b = _quarantine(conn, "2", source=source, reason_class="retryable", stage="load")
        c = _quarantine(conn, "3", source=source, reason_class="business_rule", stage="load")
        assert [d.id for d in dead_letters.list_open(conn, source=source)] == [a.id, b.id, c.id]
        assert [d.id for d in dead_letters.list_open(conn, source=source, reason_class="retryable")] == [b.id]
        assert dead_letters.counts_by_reason(conn, source=source) == {
            "retryable": 1, "invalid_data": 0, "mapping_missing": 1, "business_rule": 1, "duplicate": 0,
            "needs_review": 0}

        assert dead_letters.mark_replayed(conn, [a.id, b.id], run_id="replay-1") == 2
        assert [d.id for d in dead_letters.list_open(conn, source=source)] == [c.id]
        assert dead_letters.get(conn, a.id).replay_count == 1
        # the replay of a fails the same way again: back to open; b went through: resolved
        assert _quarantine(conn, "1", source=source, run_id="replay-1").status == "open"
        assert dead_letters.resolve_record(conn, source=source, entity="orders", record_key="2") == 1
        assert dead_letters.ignore(conn, [c.id], note="cancelled order, will not be sent") == 1
        assert _quarantine(conn, "3", source=source, reason_class="business_rule", stage="load").status == "ignored"
        assert dead_letters.get(conn, c.id).occurrences == 2
        assert dead_letters.resolve(conn, [a.id], note="item created in Oracle") == 1
        assert dead_letters.list_open(conn, source=source, include_replayed=True) == []
        assert dead_letters.counts_by_reason(conn, source=source, status="resolved")["retryable"] == 1


def test_dead_letter_payloads_are_scrubbed(stg: Staging) -> None:
    payload = {"id": 1, "customer": {"passwd": "$2y$10$hash", "secure_key": "b44a6d9efd7a0076a0fbce6b15eaf3b1"},
               "payments": [{"card_number": "4111111111111234", "amount": "10.00"}],
               "request": {"headers": {"Authorization": "Basic QUJD"}, "url": "http://K3Y@shop/api/orders"}}
    with rolled_back(stg) as conn:
        letter = _quarantine(conn, _key(), payload=payload, message="POST failed: ws_key=K3Y rejected")
        raw = conn.execute(sa.select(schema.dead_letters.c.payload).where(schema.dead_letters.c.id == letter.id)
                           ).scalar_one()
        for secret in ("$2y$10$hash", "b44a6d9efd", "4111111111111234", "QUJD", "K3Y"):
            assert secret not in raw and secret not in letter.message
        assert letter.payload["payments"][0] == {"card_number": "************1234", "amount": "10.00"}
        assert letter.payload["customer"] == {"passwd": "***", "secure_key": "***"}


MARKER = "ZZSECRETZZ"
secret_names = st.sampled_from(["passwd", "password", "secure_key", "ws_key", "token", "access_token",
                                "client_secret", "authorization", "card_number", "api_key"]).flatmap(
    lambda name: st.sampled_from([name, name.upper(), name.title(), name.replace("_", "-")]))
plain_keys = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8).filter(lambda k: not is_secret_key(k))
secret_values = st.text("0123456789abcdef", min_size=1, max_size=12).map(lambda s: f"{MARKER}{s}")
json_leaves = st.one_of(st.none(), st.integers(), st.text("abcdefghijklmnopqrstuvwxyz ", max_size=10))
nested = st.recursive(
    json_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(plain_keys, inner, max_size=3),
        st.dictionaries(secret_names, st.one_of(secret_values, inner.map(lambda v: [v, f"{MARKER}x"])),
                        min_size=1, max_size=2),
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=nested)
def test_random_payloads_never_leak_secret_values(stg: Staging, payload) -> None:
    with rolled_back(stg) as conn:
        letter = _quarantine(conn, _key(), payload=payload)
        raw = conn.execute(sa.select(schema.dead_letters.c.payload).where(schema.dead_letters.c.id == letter.id)
                           ).scalar_one()
    assert MARKER not in (raw or "")
    if MARKER not in canonical_json(payload):
        assert letter.payload == payload  # nothing secret: stored as given


# ------------------------------------------------------------------------------------------ metrics


def test_record_step_writes_and_a_retry_replaces(stg: Staging) -> None:
    run_id = f"manual__{uuid.uuid4().hex[:8]}"
    with rolled_back(stg) as conn:
        metrics.record_step(conn, run_id, "order-to-cash", "extract", read=100, requests=2)
        metrics.record_step(conn, run_id, "order-to-cash", "extract", read=120, requests=3,
                            details={"pages": 3, "token": "abc"})
        metrics.record_step(conn, run_id, "order-to-cash", "load", written=118, quarantined=2)
        steps = metrics.step_metrics(conn, run_id)
        assert [(s["step"], s["read"], s["written"], s["quarantined"], s["requests"]) for s in steps] == [
            ("extract", 120, 0, 0, 3), ("load", 0, 118, 2, 0)]
        assert steps[0]["details"] == {"pages": 3, "token": "***"}
        with pytest.raises(TypeError, match="unknown count"):
            metrics.record_step(conn, run_id, "order-to-cash", "load", writen=1)


def test_timed_step_records_also_when_the_step_fails(stg: Staging) -> None:
    run_id = f"manual__{uuid.uuid4().hex[:8]}"
    with stg.timed_step(run_id, "inventory", "extract") as m:
        m.read += 10
        m.add(requests=2)
        m.details["pages"] = 1
    with pytest.raises(ConnectionError), stg.timed_step(run_id, "inventory", "load") as m:
        m.written += 4
        raise ConnectionError("refused by https://user:pw@erp/")
    steps = {s["step"]: s for s in stg.step_metrics(run_id)}
    assert (steps["extract"]["read"], steps["extract"]["requests"], steps["extract"]["details"]["pages"]) == (10, 2, 1)
    assert steps["load"]["written"] == 4
    assert steps["load"]["details"]["error"] == "ConnectionError: refused by https://***@erp/"
    assert steps["load"]["ended_at"] >= steps["load"]["started_at"]
    with stg.engine.begin() as conn:
        conn.execute(schema.run_metrics.delete().where(schema.run_metrics.c.run_id == run_id))


def test_timed_step_on_a_connection_writes_in_its_transaction(stg: Staging) -> None:
    run_id = f"manual__{uuid.uuid4().hex[:8]}"
    with rolled_back(stg) as conn:
        with metrics.timed_step(conn, run_id, "prices", "map") as m:
            m.written = 3
        assert metrics.step_metrics(conn, run_id)[0]["written"] == 3
    assert stg.step_metrics(run_id) == []


# ------------------------------------------------------------------------------------------ facade


def test_the_staging_facade_reaches_every_piece(stg: Staging) -> None:
    tag = uuid.uuid4().hex[:8]
    source, target = f"ps-{tag}", f"fusion-{tag}"
    assert stg.land(source, "orders", [{"id": 1, "date_upd": "2024-01-01 00:00:00"}], run_id="r1").new == 1
    assert stg.landed(source, "orders", run_id="r1") == [{"id": 1, "date_upd": "2024-01-01 00:00:00"}]
    assert stg.upsert("ora_onhand", [{"org": tag, "sku": "A", "quantity": 5}], ["org", "sku"]).inserted == 1
    assert stg.claim(target, "1:1", run_id="r1").created
    assert [e.record_key for e in stg.pending(target)] == ["1:1"]
    assert stg.record_failure(target, "1:1", "timeout", run_id="r1").outcome == "failed"
    assert stg.record_success(target, "1:1", target_id=7, run_id="r1").done
    assert stg.lookup(target, "1:1").target_id == "7"
    letter = stg.quarantine(source=source, entity="orders", record_key="1", stage="validate",
                            reason_class="invalid_data", message="total_paid < 0", run_id="r1")
    assert [d.id for d in stg.open_dead_letters(source=source)] == [letter.id]
    assert stg.dead_letter_counts(source=source)["invalid_data"] == 1
    assert stg.mark_replayed([letter.id], run_id="r2") == 1
    assert stg.resolve([letter.id], note="fixed in the shop") == 1
    stg.record_step("r1", f"flow-{tag}", "load", written=1)
    assert stg.step_metrics("r1", f"flow-{tag}")[0]["written"] == 1
    assert stg.version() == migrate.head() and "ps_orders" in stg.tables


# ------------------------------------------------------------------------------------------ ledger lease


def test_acquire_gives_a_record_to_one_run_at_a_time(stg: Staging) -> None:
    from datetime import timedelta

    key = _key()
    lease = timedelta(minutes=30)
    with rolled_back(stg) as conn:
        mine = ledger.acquire(conn, "oracle_fusion", key, "run-a", lease=lease)
        assert mine is not None and (mine.outcome, mine.run_id) == ("pending", "run-a")
        assert ledger.acquire(conn, "oracle_fusion", key, "run-b", lease=lease) is None  # run-a holds it
        assert ledger.acquire(conn, "oracle_fusion", key, "run-a", lease=lease) is not None  # its own retry
        ledger.record_outcome(conn, "oracle_fusion", key, "held", run_id="run-a", error="waiting for payment")
        taken = ledger.acquire(conn, "oracle_fusion", key, "run-b", lease=lease)  # held: free for the next run
        assert taken is not None and taken.run_id == "run-b" and taken.last_error == "waiting for payment"
        ledger.record_success(conn, "oracle_fusion", key, target_id=300100, run_id="run-b")
        assert ledger.acquire(conn, "oracle_fusion", key, "run-c", lease=lease) is None  # done: never again


def test_acquire_takes_over_an_abandoned_claim_only_after_the_lease(stg: Staging) -> None:
    from datetime import timedelta

    key = _key()
    with rolled_back(stg) as conn:
        claimed = ledger.acquire(conn, "oracle_fusion", key, "dead-run", lease=timedelta(minutes=30))
        assert claimed is not None
        assert ledger.acquire(conn, "oracle_fusion", key, "next-run", lease=timedelta(minutes=30)) is None
        conn.execute(schema.sync_ledger.update().where(schema.sync_ledger.c.record_key == key).values(
            last_attempt_at=claimed.last_attempt_at - timedelta(hours=1)))  # the dead run claimed it an hour ago
        taken = ledger.acquire(conn, "oracle_fusion", key, "next-run", lease=timedelta(minutes=30))
        assert taken is not None and taken.run_id == "next-run"


def test_concurrent_acquire_has_exactly_one_winner(stg: Staging) -> None:
    from datetime import timedelta

    key = _key()
    with stg.transaction() as tx:
        ledger.record_outcome(tx.conn, "oracle_fusion", key, "failed", run_id="old", error="timeout")
    winners: list[str] = []
    barrier = threading.Barrier(4)

    def contend(run_id: str) -> None:
        barrier.wait()
        for _ in range(20):
            try:
                with stg.engine.begin() as conn:
                    if ledger.acquire(conn, "oracle_fusion", key, run_id, lease=timedelta(minutes=30)) is not None:
                        winners.append(run_id)
                return
            except sa.exc.OperationalError:  # SQLite: database is locked; try again as a run would
                continue

    threads = [threading.Thread(target=contend, args=(f"run-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len(winners) == 1, winners
    finally:
        with stg.transaction() as tx:
            tx.conn.execute(schema.sync_ledger.delete().where(schema.sync_ledger.c.record_key == key))


def test_record_outcome_refuses_pending_and_unknown_outcomes(stg: Staging) -> None:
    with rolled_back(stg) as conn:
        for outcome in ("pending", "lost"):
            with pytest.raises(ValueError, match="outcome"):
                ledger.record_outcome(conn, "oracle_fusion", _key(), outcome, run_id="r")
        entry = ledger.record_outcome(conn, "oracle_ebs", _key(), "interfaced", run_id="r", target_id=7)
        assert (entry.outcome, entry.target_id) == ("interfaced", "7")
