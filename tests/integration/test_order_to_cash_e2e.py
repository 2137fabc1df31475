"""Issue 9's acceptance, end to end: a 400-order shop with the ``hostile`` fault profile, two order-to-cash runs, two
weeks of Oracle clock, an order-status run and a replay of the whole window, on Oracle Fusion (SQLite staging) and
on the EBS stand-in (PostgreSQL staging).

What is checked is what the systems hold, read from their own stores (``support.order_to_cash``): no order is in
Oracle twice and the product never sent one Oracle already had; the ledger agrees with Oracle; no invalid order
reached Oracle and every order Oracle must refuse (``support.differences``) is a dead letter with its reason; every
shop order is in Oracle or in the dead letters; every tracking number Oracle shipped is in the shop and the shop's
state is the one the state map gives; the replay creates nothing. Faults the proof relies on are asserted to have
fired (``/sandbox/injected``): write faults on the order writes to Fusion (504 after commit among them) and on the
shop's status writes (lost replies, dropped connections, 429, 5xx).

The flow runs in this process exactly as the DAG tasks run it (``flows/order_to_cash.py``), with the clients' retry
waits shortened (``support.order_to_cash.fast_retries``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import free_port
from support.differences import predict_ebs, predict_fusion
from support.order_to_cash import (
    FusionSpy,
    Systems,
    advance,
    apply_env,
    differences,
    ebs_bindable,
    ebs_duplicate_attempts,
    ebs_import,
    ebs_interface_copies,
    ebs_shipped,
    fast_retries,
    fusion_shipped,
    id_of,
    injected,
    ledger,
    oracle_orders,
    order_dead_letters,
    pod_now,
    prediction_input,
    product_env,
    sandbox_args,
    shop_orders,
    shop_tracking,
    shop_writes_done,
    staged_orders,
    utcnow,
    write_faults,
)
from support.pg import no_postgres, temp_database
from support.sandbox import run_sandbox

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.xdist_group("order_to_cash_e2e"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

ORDERS, SEED = 400, 11
SHOP_END, SHOP_DAYS = datetime(2026, 11, 1, tzinfo=UTC), 30
# The hostile profile, every fault kind at its rates; only the sandbox-side delays are shortened (a slow page of
# 2-3 s, forty times, would cost minutes and prove nothing more).
FAULTS = "hostile:slow_page_seconds=0.2-0.5,latency_ms=20-80"
REFUSAL_STAGES = ("oracle_load", "target_map")
SHOP_PROGRESS = {2: 1, 3: 2, 9: 2, 4: 3, 5: 4}
"""How far along a shop state is (payment accepted, processing or backorder, shipped, delivered): Oracle's status is
never pushed over a state further along."""


@dataclass
class Acceptance:
    target: str
    systems: Systems
    staging_url: str
    ledger_target: str
    runs: dict[str, dict[str, Any]]
    spy: FusionSpy
    sends_before_replay: int
    states_before_status: dict[int, int]
    oracle_before_replay: dict[str, list[dict[str, Any]]]
    ledger_before_replay: dict[str, tuple]
    shop_writes_before_replay: tuple[int, int]
    shop_writes_after_replay: tuple[int, int]
    timings: dict[str, float] = field(default_factory=dict)

    def oracle(self) -> dict[str, list[dict[str, Any]]]:
        return oracle_orders(self.systems, self.target)

    def ledger(self) -> dict[str, tuple]:
        return ledger(self.staging_url, self.ledger_target)


@contextlib.contextmanager
def staging_database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'staging.db'}"
        return
    try:
        with temp_database("prestaoracle_o2c_e2e") as url:
            yield url
    except sa.exc.OperationalError as exc:
        no_postgres(exc)


# One session fixture per target, without params: a parametrised fixture is torn down whenever the worker switches
# to the other param or to another module (pytest-xdist interleaves them), which rebuilt the scenario twice in CI.
@pytest.fixture(scope="session")
def fusion_acceptance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acceptance]:
    yield from _acceptance(("fusion", "sqlite"), tmp_path_factory)


@pytest.fixture(scope="session")
def ebs_acceptance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acceptance]:
    yield from _acceptance(("ebs", "postgresql"), tmp_path_factory)


@pytest.fixture(params=[pytest.param("fusion_acceptance", id="fusion-sqlite_staging"),
                        pytest.param("ebs_acceptance", id="ebs_sqlite-postgresql_staging",
                                     marks=pytest.mark.postgres)])
def acceptance(request: pytest.FixtureRequest) -> Acceptance:
    return request.getfixturevalue(request.param)


def _acceptance(case: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acceptance]:
    target, staging_kind = case
    workdir = tmp_path_factory.mktemp(f"o2c-{target}")
    data_dir = workdir / "data"
    data_dir.mkdir()
    ebs_url = f"sqlite:///{workdir / 'ebs.sqlite'}" if target == "ebs" else None
    pod_port = free_port()
    timings: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        staging_url = stack.enter_context(staging_database(staging_kind, workdir))
        t = time.monotonic()
        shop = stack.enter_context(run_sandbox(*sandbox_args(
            orders=ORDERS, seed=SEED, faults=FAULTS, data_dir=data_dir, shop_port=free_port(), pod_port=pod_port,
            ebs_url=ebs_url, end=SHOP_END.date().isoformat(), days=SHOP_DAYS)))
        timings["sandbox"] = time.monotonic() - t
        systems = Systems(shop, f"http://127.0.0.1:{pod_port}", data_dir, ebs_url)
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        apply_env(mp, product_env(systems, staging_url=staging_url, workdir=workdir, target=target))
        fast_retries(mp)
        spy = FusionSpy().install(mp)

        from prestaoracle.flows.order_to_cash import run_order_status, run_order_to_cash

        runs: dict[str, dict[str, Any]] = {}

        def timed(name: str, work: Any) -> Any:
            t0 = time.monotonic()
            out = work()
            timings[name] = time.monotonic() - t0
            runs[name] = out
            return out

        def order_to_cash(run_id: str, **kwargs: Any) -> None:
            timed(run_id, lambda: run_order_to_cash(run_id=run_id, send_digest=False, **kwargs))
            if target == "ebs":  # the EBS instance's Order Import program runs between two runs of the flow
                ebs_import(systems.pod)

        oracle_start = pod_now(systems.pod)
        order_to_cash("o2c-1")
        advance(systems.pod, 7)
        order_to_cash("o2c-2")
        end = advance(systems.pod, 7)
        states_before_status = {i: int(o["current_state"] or 0) for i, o in shop_orders(systems).items()}
        timed("status", lambda: run_order_status(run_id="status", end=end))
        oracle_before, ledger_before = oracle_orders(systems, target), ledger(staging_url, f"oracle_{target}")
        sends_before, writes_before = len(spy.sent), shop_writes_done(systems)
        # The whole window again: every shop order ever (the shop's period and more), and all of Oracle's status.
        order_to_cash("replay", start=SHOP_END - timedelta(days=SHOP_DAYS + 1), end=utcnow(), replay=True)
        timed("status-replay", lambda: run_order_status(run_id="status-replay", start=oracle_start - timedelta(
            hours=1), end=end, replay=True))
        world = Acceptance(target, systems, staging_url, f"oracle_{target}", runs, spy, sends_before,
                           states_before_status, oracle_before, ledger_before, writes_before,
                           shop_writes_done(systems), timings)
        # The fixture lives for the session: give the environment and the patched clients back now, or the other
        # tests of this worker would run against this scenario's target and connections.
        mp.undo()
        yield world
        print(f"\norder-to-cash e2e {target}: " + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()))


# ------------------------------------------------------------------------------------------------ exactly once


def test_no_order_is_in_oracle_twice_and_none_was_sent_twice(acceptance: Acceptance) -> None:
    oracle = acceptance.oracle()
    assert len(oracle) > 150, f"too few orders reached Oracle to prove anything: {len(oracle)}"
    twice = {key: copies for key, copies in oracle.items() if len(copies) != 1}
    assert not twice, f"orders in Oracle more than once: {twice}"
    if acceptance.target == "fusion":
        assert acceptance.spy.sent, "the spy saw no order write"
        assert not acceptance.spy.duplicates(), (
            f"the product sent orders Oracle already had (refused as duplicates): {acceptance.spy.duplicates()}")
    else:
        url = acceptance.systems.ebs_url or ""
        assert not ebs_duplicate_attempts(url), "Order Import met orders EBS already had"
        copies = {ref: n for ref, n in ebs_interface_copies(url).items() if n > 1}
        assert not copies, f"orders interfaced more than once: {copies}"


def test_the_ledger_agrees_with_oracle(acceptance: Acceptance) -> None:
    oracle, book = acceptance.oracle(), acceptance.ledger()
    done = {key: entry for key, entry in book.items() if entry[0] in ("created", "skipped")}
    missing = {key: entry for key, entry in done.items() if key not in oracle}
    assert not missing, f"the ledger says these are in Oracle, Oracle has no such order: {missing}"
    other_id = {key: (entry[1], [c["header_id"] for c in oracle[key]]) for key, entry in done.items()
                if str(entry[1]) != oracle[key][0]["header_id"]}
    assert not other_id, f"ledger target_id is not Oracle's header id: {other_id}"
    unknown = {key: book.get(key) for key in oracle if key not in done}
    assert not unknown, f"orders in Oracle the ledger does not record as created/skipped: {unknown}"
    unsettled = {key: entry for key, entry in book.items() if entry[0] in ("pending", "interfaced", "failed")}
    assert not unsettled, f"ledger entries left unsettled after the last run: {unsettled}"


# ------------------------------------------------------------------------------------------------ nothing invalid


def test_no_invalid_order_reached_oracle(acceptance: Acceptance) -> None:
    systems, oracle = acceptance.systems, acceptance.oracle()
    in_oracle = {id_of(key) for key in oracle}
    bad_rows = injected(systems.shop)["bad_rows"]
    defects = [b for b in bad_rows if b["kind"] not in {"unicode_names", "zero_dates"}]
    orders = shop_orders(systems)
    bad_customers = {int(b["id"]) for b in defects if b["entity"] == "customers"}
    bad_addresses = {int(b["id"]) for b in defects if b["entity"] == "addresses"}
    bad = {int(b["id"]): b["kind"] for b in defects if b["entity"] == "orders"}
    bad |= {i: "customer " + str(o["id_customer"]) for i, o in orders.items() if o["id_customer"] in bad_customers}
    bad |= {i: "address" for i, o in orders.items()
            if {o["id_address_delivery"], o["id_address_invoice"]} & bad_addresses}
    assert len(bad) >= 30, f"the hostile shop planted too few defects to prove anything: {bad}"
    reached = {i: bad[i] for i in bad if i in in_oracle}
    assert not reached, f"orders with an injected defect reached Oracle: {reached}"
    quarantined = {i for i, status in staged_orders(acceptance.staging_url).items() if status != "passed"}
    assert quarantined and not quarantined & in_oracle, "orders the quality gate quarantined reached Oracle"
    assert set(bad) <= set(orders), "the injected log names orders the shop does not have"


def test_orders_oracle_must_refuse_are_dead_letters_with_their_reason(acceptance: Acceptance) -> None:
    systems, oracle = acceptance.systems, acceptance.oracle()
    letters = order_dead_letters(acceptance.staging_url)
    done = {id_of(k) for k, e in acceptance.ledger().items() if e[0] in ("created", "skipped")}
    offered = done | {i for i, ls in letters.items() if any(d["stage"] in REFUSAL_STAGES for d in ls)}
    diff = differences(systems.pod)
    ordered = prediction_input(systems, offered)
    if acceptance.target == "fusion":
        refused = predict_fusion(diff, ordered)
    else:
        refused = predict_ebs(ebs_bindable(diff, systems), ordered)
    assert len(refused) >= 10, f"the pod refuses too few orders to prove anything: {sorted(refused)}"
    in_oracle = {id_of(key) for key in oracle}
    wrongly_in = sorted(i for i in refused if i in in_oracle)
    assert not wrongly_in, f"Oracle must refuse these, yet has them: {[refused[i] for i in wrongly_in]}"
    without_reason = {i: (r.reason_class, [(d["stage"], d["reason_class"], d["status"]) for d in letters.get(i, [])])
                      for i, r in refused.items()
                      if not any(d["status"] == "open" and d["reason_class"] == r.reason_class
                                 and d["stage"] in REFUSAL_STAGES for d in letters.get(i, []))}
    assert not without_reason, f"refused orders without an open dead letter of their reason: {without_reason}"
    accepted = sorted(i for i in offered - set(refused) if i not in in_oracle)
    assert not accepted, f"Oracle should have accepted these, they are not there: {accepted}"


def test_every_shop_order_is_in_oracle_or_dead_lettered(acceptance: Acceptance) -> None:
    systems, oracle = acceptance.systems, acceptance.oracle()
    in_oracle = {id_of(key) for key in oracle}
    letters = order_dead_letters(acceptance.staging_url)
    shop = shop_orders(systems)
    assert len(shop) == ORDERS
    nowhere = sorted(i for i in shop if i not in in_oracle
                     and not any(d["reason_class"] and d["message"] for d in letters.get(i, [])))
    assert not nowhere, f"shop orders neither in Oracle nor in the dead letters: {nowhere}"
    stale = {i: [(d["stage"], d["reason_class"]) for d in letters[i] if d["status"] == "open"]
             for i in in_oracle if any(d["status"] == "open" for d in letters.get(i, []))}
    assert not stale, f"orders in Oracle whose dead letters are still open: {stale}"


# ------------------------------------------------------------------------------------------------ back to the shop


def expected_states(target: str, shipped: dict[str, Any], state_map: dict[str, int]) -> set[int]:
    """The shop states the state map allows for what Oracle says of a shipped order."""
    header = shipped["header"].upper()
    if header in ("CLOSED", "CANCELED", "CANCELLED"):
        return {state_map[header]}
    if target == "ebs":
        return {state_map["SHIPPED"], state_map["INVOICED"]}
    rank = {"AWAITING_SHIPPING": 2, "BACKORDERED": 2, "PICKED": 3, "SHIPPED": 4, "AWAITING_BILLING": 5, "BILLED": 6}
    live = [s.upper() for s in shipped["lines"] if s and s.upper() not in ("CANCELED", "CANCELLED")]
    least = min(rank.get(s, 0) for s in live)
    return {state_map[s] for s in live if rank.get(s, 0) == least}


def test_shipped_orders_show_their_tracking_numbers_and_state_in_the_shop(acceptance: Acceptance) -> None:
    from prestaoracle.flows.orders.config import load_config

    systems = acceptance.systems
    shipped = ebs_shipped(systems.ebs_url or "") if acceptance.target == "ebs" else fusion_shipped(systems)
    assert len(shipped) > 100, f"Oracle shipped too few orders in two weeks to prove anything: {len(shipped)}"
    tracking = shop_tracking(systems)
    lost = {key: sorted(s["tracking"] - tracking.get(id_of(key), set())) for key, s in shipped.items()
            if s["tracking"] - tracking.get(id_of(key), set())}
    assert not lost, f"tracking numbers Oracle shipped that the shop does not show: {lost}"
    config = load_config()
    now = shop_orders(systems)
    wrong = {}
    for key, s in shipped.items():
        i = id_of(key)
        allowed = expected_states(acceptance.target, s, config.status.state_map)
        before = acceptance.states_before_status[i]
        if before in config.gates.cancel_states | config.gates.refund_states or SHOP_PROGRESS.get(
                before, 0) > max(SHOP_PROGRESS.get(a, 0) for a in allowed):
            allowed = {before}  # the shop was already further along (or cancelled there): left as it was
        if int(now[i]["current_state"]) not in allowed:
            wrong[key] = {"oracle": s["header"], "lines": s.get("lines"), "before": before,
                          "now": now[i]["current_state"], "allowed": sorted(allowed)}
    assert not wrong, f"shop states that are not what the state map gives: {wrong}"


# ------------------------------------------------------------------------------------------------ replay


def test_the_replay_of_the_whole_window_creates_nothing_new(acceptance: Acceptance) -> None:
    replay = acceptance.runs["replay"]
    assert replay["steps"]["staged"]["extracted"]["orders"] >= ORDERS, "the replay did not read the whole window"
    assert acceptance.oracle() == acceptance.oracle_before_replay
    assert acceptance.ledger() == acceptance.ledger_before_replay
    outcomes = replay["steps"]["load"]["outcomes"]
    assert not {k: v for k, v in outcomes.items() if k in ("created", "interfaced", "failed")}, outcomes
    assert len(acceptance.spy.sent) == acceptance.sends_before_replay, "the replay sent orders to Oracle"
    status = acceptance.runs["status-replay"]["steps"]["status"]
    assert status["orders_seen"] > 100 and not status["states_posted"] and status["tracking_written"] == 0, status
    assert acceptance.shop_writes_after_replay == acceptance.shop_writes_before_replay


def test_the_faults_really_hit_the_writes(acceptance: Acceptance) -> None:
    """The proof above relies on write faults: on the order writes to Fusion (the 504 after commit above all, the
    classic duplicate trap, plus 429 and 5xx) and on the shop's status writes (lost replies, dropped connections,
    429, 5xx); and on bad rows in the shop."""
    systems = acceptance.systems
    shop = injected(systems.shop)
    carriers, histories = write_faults(shop["transport"], "/api/order_carriers"), write_faults(
        shop["transport"], "/api/order_histories")
    assert carriers["lost_reply"] + carriers["drop_connection"] >= 1, carriers
    assert sum(carriers.values()) >= 10 and sum(histories.values()) >= 1, (carriers, histories)
    assert {b["kind"] for b in shop["bad_rows"]} >= {"missing_sku", "unknown_sku", "negative_quantity",
                                                      "totals_mismatch", "duplicate_cart", "invalid_email",
                                                      "empty_country"}
    if acceptance.target == "fusion":
        pod = injected(systems.pod)["transport"]
        after_commit = [f for f in pod if f["kind"] == "timeout_after_commit" and "PSHOP:" in f["path"]]
        assert after_commit, "no order write lost its answer after committing (504): the duplicate trap never fired"
        assert acceptance.spy.answered(504), "the product never saw the 504s"
        posts = write_faults(pod, "/fscmRestApi/resources/11.13.18.05")
        assert posts["http_429"] + posts["http_500"] + posts["http_503"] >= 1, posts
