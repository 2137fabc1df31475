"""Exactly once under the failures a scheduler really sees, on small shops against the Fusion pod: a load task killed
mid-write and retried, two runs at the same time on one staging database, a 429 storm, and a window replayed.

Each test says which fault it relies on and asserts that the fault fired. What Oracle holds is read from the pod's
own store; "exactly once" means one order per shop order in Oracle, the ledger in agreement with Oracle, and no
order write the product sent for a key Oracle already had (the pod refuses such a write as a duplicate: a spy on the
real client records every order write and its answer).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import free_port
from support.order_to_cash import (
    FileState,
    FusionSpy,
    Systems,
    apply_env,
    fast_retries,
    fusion_orders,
    id_of,
    injected,
    ledger,
    product_env,
    sandbox_args,
    shop_orders,
)
from support.pg import no_postgres, temp_database
from support.sandbox import run_sandbox

pytestmark = [
    pytest.mark.xdist_group("order_to_cash_exactly_once"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
TARGET = "oracle_fusion"
SHOP_END = datetime(2026, 11, 1, tzinfo=UTC)
RUNNING_TOO_LONG = 240


@contextlib.contextmanager
def world(tmp_path: Path, *, orders: int, seed: int, faults: str, staging: str = "sqlite",
          batch_size: int | None = None, pod_faults: str | None = None) -> Iterator[tuple[Systems, str, dict]]:
    """Shop + pod sandboxes (one process, or two when the pod has faults of its own) and a staging database; yields
    (systems, staging URL, the product's environment). The caller applies the environment where it runs the flow."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shop_port, pod_port = free_port(), free_port()

    def args(faults: str) -> list[str]:
        return sandbox_args(orders=orders, seed=seed, faults=faults, data_dir=data_dir, shop_port=shop_port,
                            pod_port=pod_port, end=SHOP_END.date().isoformat(), days=20)

    with contextlib.ExitStack() as stack:
        if staging == "sqlite":
            staging_url = f"sqlite:///{tmp_path / 'staging.db'}"
        else:
            try:
                staging_url = stack.enter_context(temp_database("prestaoracle_o2c_once"))
            except sa.exc.OperationalError as exc:
                no_postgres(exc)
        if pod_faults is None:
            shop = stack.enter_context(run_sandbox(*args(faults)))
        else:
            # The same shop and seed on both sides (one data directory: prestashop.sqlite and oracle.sqlite), so the
            # pod is seeded from the very shop the flow reads.
            shop = stack.enter_context(run_sandbox(*args(faults), "--only", "prestashop"))
            stack.enter_context(run_sandbox(*args(pod_faults), "--only", "oracle"))
        systems = Systems(shop, f"http://127.0.0.1:{pod_port}", data_dir)
        env = product_env(systems, staging_url=staging_url, workdir=tmp_path, target="fusion",
                          batch_size=batch_size)
        yield systems, staging_url, env


def assert_exactly_once(systems: Systems, staging_url: str, spy: FusionSpy | None = None) -> dict[str, list]:
    """One Oracle order per key, the ledger agreeing with Oracle both ways, no write refused as a duplicate."""
    oracle = fusion_orders(systems)
    twice = {k: v for k, v in oracle.items() if len(v) != 1}
    assert not twice, f"orders in Oracle more than once: {twice}"
    book = ledger(staging_url, TARGET)
    done = {k: e for k, e in book.items() if e[0] in ("created", "skipped")}
    assert set(done) == set(oracle), (f"ledger says created but Oracle has not: {sorted(set(done) - set(oracle))}; "
                                      f"in Oracle, not created in the ledger: "
                                      f"{ {k: book.get(k) for k in set(oracle) - set(done)} }")
    wrong = {k: (e[1], oracle[k][0]["header_id"]) for k, e in done.items() if str(e[1]) != oracle[k][0]["header_id"]}
    assert not wrong, f"ledger target_id is not Oracle's header id: {wrong}"
    unsettled = {k: e for k, e in book.items() if e[0] in ("pending", "failed")}
    assert not unsettled, f"ledger entries left pending or failed: {unsettled}"
    if spy is not None:
        assert not spy.duplicates(), f"orders sent while Oracle had them: {spy.duplicates()}"
    return oracle


def stage_only(run_id: str) -> dict[str, Any]:
    """Stage the shop and resolve customers without loading anything (``only=[]``)."""
    from prestaoracle.flows.order_to_cash import run_order_to_cash

    return run_order_to_cash(run_id=run_id, only=[], send_digest=False)


def child_env(env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(TESTS)])}


# ------------------------------------------------------------------------------------------------ killed task


KILLED_LOAD = """
from support.order_to_cash import FileState
from prestaoracle.flows.order_to_cash import load_step
print(load_step(run_id={run_id!r}, state=FileState({state!r})))
"""


@pytest.mark.timeout(RUNNING_TOO_LONG)
def test_a_load_killed_mid_write_is_retried_without_sending_anything_twice(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: SIGKILL of the load task once its first orders have committed in Oracle, before it recorded them (every
    pod request is slowed so the kill lands mid-load). The retry (same run id, same task state, as Airflow retries a
    task) re-attaches to what the dead attempt sent instead of sending it again."""
    with world(tmp_path, orders=60, seed=23, faults="none:latency=1,latency_ms=60-120", batch_size=4) as (
            systems, staging_url, env):
        apply_env(monkeypatch, env)
        fast_retries(monkeypatch)
        stage_only("killed-stage")
        state = tmp_path / "task_state.json"
        run_id = "scheduled__killed"
        log = (tmp_path / "killed.log").open("wb")
        child = subprocess.Popen([sys.executable, "-c", KILLED_LOAD.format(run_id=run_id, state=str(state))],
                                 env=child_env(env), stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + 120
        try:
            while not fusion_orders(systems):
                assert child.poll() is None, f"the load ended before any order landed: {child.returncode}"
                assert time.monotonic() < deadline, "no order reached Oracle in 2 minutes"
                time.sleep(0.02)
            child.send_signal(signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            log.close()
        # The fault fired: the task died by SIGKILL with orders in Oracle that its ledger does not show as created.
        assert child.returncode == -signal.SIGKILL
        landed = fusion_orders(systems)
        book = ledger(staging_url, TARGET)
        unrecorded = sorted(k for k in landed if book.get(k, ("",))[0] != "created")
        assert unrecorded, f"the kill did not land between Oracle's commit and the ledger: {book}"
        in_flight = FileState(state).get("in_flight")
        assert in_flight, "the dead attempt left no in-flight keys in its task state"

        spy = FusionSpy().install(monkeypatch)
        from prestaoracle.flows.order_to_cash import load_step

        retried = load_step(run_id=run_id, state=FileState(state))
        oracle = assert_exactly_once(systems, staging_url, spy)
        resent = sorted({k for sent in spy.sent for k in sent.keys} & set(landed))
        assert not resent, f"the retry sent again orders the killed attempt had committed: {resent}"
        # What the dead attempt made is found, not sent again: ``created`` for the keys its task state names (the
        # batch in flight when it died), ``skipped`` for its earlier batches (found in Oracle before writing).
        assert retried["outcomes"].get("created", 0) + retried["outcomes"].get("exists", 0) == len(oracle), retried
        book = ledger(staging_url, TARGET)
        attached = {k: book[k][0] for k in landed if book[k][0] != ("created" if k in in_flight else "skipped")}
        assert not attached, f"the retry did not re-attach to the dead attempt's writes as its state says: {attached}"
        assert len(oracle) >= 30


# ------------------------------------------------------------------------------------------------ overlapping runs


@pytest.mark.postgres
@pytest.mark.timeout(RUNNING_TOO_LONG)
def test_two_runs_at_the_same_time_create_each_order_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: two order-to-cash runs at the same time on one (PostgreSQL) staging database, as when someone runs the
    CLI while the scheduled DAG runs. Both are real processes; the shop is staged first so that both reach the load
    together, and the pod is slowed so that the loads overlap. That they did is asserted: one run met orders the
    other held, or both created orders."""
    with world(tmp_path, orders=80, seed=29, faults="none:latency=1,latency_ms=40-80", staging="postgresql",
               batch_size=4) as (systems, staging_url, env):
        apply_env(monkeypatch, env)
        fast_retries(monkeypatch)
        stage_only("overlap-stage")
        children = []
        for name in ("cli__a", "cli__b"):
            out = (tmp_path / f"{name}.json").open("wb")
            err = (tmp_path / f"{name}.log").open("wb")
            children.append((name, out, err, subprocess.Popen(
                [sys.executable, "-m", "prestaoracle", "run", "order-to-cash", "--run-id", name, "--param",
                 "digest=false"], env=child_env(env), stdout=out, stderr=err, cwd=REPO)))
        summaries = {}
        for name, out, err, child in children:
            code = child.wait(timeout=200)
            out.close()
            err.close()
            assert code == 0, (tmp_path / f"{name}.log").read_text()[-4000:]
            summaries[name] = json.loads((tmp_path / f"{name}.json").read_text())["steps"]["load"]
        oracle = assert_exactly_once(systems, staging_url)
        created = {name: s["outcomes"].get("created", 0) for name, s in summaries.items()}
        busy = {name: s["busy"] for name, s in summaries.items()}
        print(f"\noverlapping loads: created {created}, busy {busy}")
        assert sum(created.values()) == len(oracle) >= 40, (created, len(oracle))
        assert sum(busy.values()) > 0 or all(created.values()), f"the two loads did not overlap: {summaries}"


# ------------------------------------------------------------------------------------------------ 429 storm


@pytest.mark.timeout(RUNNING_TOO_LONG)
def test_a_429_storm_on_the_pod_creates_each_order_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: half of the pod's answers are 429 Too Many Requests (the batch POSTs among them; a request is refused
    at most three times in a row). A 429 was not processed, so the batch goes again: every order once, and every
    refused batch was counted and sent again."""
    with world(tmp_path, orders=60, seed=31, faults="none", pod_faults="none:http_429=0.5,retry_after_seconds=0-1") as (
            systems, staging_url, env):
        apply_env(monkeypatch, env)
        fast_retries(monkeypatch)
        spy = FusionSpy().install(monkeypatch)
        from prestaoracle.flows.order_to_cash import run_order_to_cash

        summary = run_order_to_cash(run_id="storm", send_digest=False)
        oracle = assert_exactly_once(systems, staging_url, spy)
        assert len(oracle) >= 25 and summary["steps"]["load"]["outcomes"]["created"] == len(oracle)
        storm = [f for f in injected(systems.pod)["transport"] if f["kind"] == "http_429"]
        on_posts = [f for f in storm if f["method"] == "POST" and f["path"] == "/fscmRestApi/resources/11.13.18.05"]
        assert len(storm) >= 20 and on_posts, "the storm did not hit the order writes"
        refused = spy.answered(429)
        assert len(refused) == len(on_posts), "every 429 on an order write must be seen (and counted) by the product"
        for sent in refused:  # a 429 was not processed: the same batch goes again as it was, without a lookup first
            following = spy.sent[spy.sent.index(sent) + 1]
            assert following.keys == sent.keys, (sent, following)


# ------------------------------------------------------------------------------------------------ window replayed


@pytest.mark.timeout(RUNNING_TOO_LONG)
def test_the_same_window_replayed_creates_nothing_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: the flaky profile, whose pod loses the answer of some order writes after committing them (504), and
    whose shop and pod fail reads and writes now and then. After a scheduled run loaded the shop, a window holding
    orders whose answer was lost is replayed twice with ``start``/``end``: nothing is sent, nothing changes."""
    with world(tmp_path, orders=80, seed=37, faults="flaky:slow_page_seconds=0.2-0.4", batch_size=2) as (
            systems, staging_url, env):
        apply_env(monkeypatch, env)
        fast_retries(monkeypatch)
        spy = FusionSpy().install(monkeypatch)
        from prestaoracle.flows.order_to_cash import run_order_to_cash

        first = run_order_to_cash(run_id="scheduled", send_digest=False)
        oracle = assert_exactly_once(systems, staging_url, spy)
        assert first["steps"]["load"]["outcomes"].get("created", 0) == len(oracle) >= 40, first["steps"]["load"]
        start, end = SHOP_END - timedelta(days=10), SHOP_END + timedelta(days=1)
        # Shop dates are wall times in Paris: a day of margin keeps the check inside the window.
        in_window = {i for i, o in shop_orders(systems).items()
                     if str(o["date_upd"]) >= (start + timedelta(days=1)).strftime("%Y-%m-%d")}
        lost = {id_of(f["path"].split(":", 1)[-1]) for f in injected(systems.pod)["transport"]
                if f["kind"] == "timeout_after_commit"}
        assert lost & in_window & {id_of(k) for k in oracle}, (
            f"no order of the window lost its answer after committing: 504s on {sorted(lost)}")
        book, sent = ledger(staging_url, TARGET), len(spy.sent)
        for run_id in ("window", "window-again"):
            replay = run_order_to_cash(run_id=run_id, start=start, end=end, replay=True, send_digest=False)
            assert replay["steps"]["staged"]["extracted"]["orders"] > 0, "the replay read nothing"
            assert fusion_orders(systems) == oracle and ledger(staging_url, TARGET) == book
            assert len(spy.sent) == sent, "the replay sent orders to Oracle"
            assert not replay["steps"]["load"]["outcomes"].get("created"), replay["steps"]["load"]
