"""A backfill of ``financial_reconciliation`` over seven past days, on a running scheduler, twice.

The REST API creates the backfill the way an operator's script would (``POST /api/v2/backfills``, the backfill's own
``max_active_runs``: the DAG's does not apply to backfills). Each backfill run must reconcile its own day ``[D, D+1)``
(not the manual interval ``[D-1, D)``), from what staging holds (a backfill does not stage: param ``stage`` auto).
The second backfill (``reprocess_behavior: completed``) re-runs the same days: the reports are byte for byte the same
files, the reconciliation rows the same rows, and the breaks exactly the ones the Oracle pod was seeded with.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from prestaoracle.local_airflow import DAGS_FOLDER
from tests.conftest import free_port
from tests.support.live_airflow import LiveAirflow, live_airflow
from tests.support.order_to_cash import Systems, apply_env, product_env, sandbox_args
from tests.support.pg import temp_database
from tests.support.sandbox import run_sandbox

DAG_ID = "financial_reconciliation"
# The shop and pod of the finance flow's own test: its last week holds every kind of planted break.
SEED, ORDERS, DAYS = 1, 160, 16
END = date(2026, 11, 1)
FIRST, LAST = END - timedelta(days=7), END - timedelta(days=1)
pytestmark = [pytest.mark.timeout(900), pytest.mark.xdist_group("finance_backfill_live")]


def _stage(systems: Systems, workdir: Path, staging: Path) -> None:
    """Extract and map both sides once, in this process, as the scheduled runs would have done."""
    from prestaoracle.flows.staging import extract_step, map_step
    from prestaoracle.plans import FINANCE_ORACLE, FINANCE_SHOP

    end = datetime(END.year, END.month, END.day, tzinfo=UTC)
    with pytest.MonkeyPatch.context() as mp:
        apply_env(mp, product_env(systems, staging_url=f"sqlite:///{staging}", workdir=workdir, target="fusion"))
        for plan in (FINANCE_SHOP, FINANCE_ORACLE):
            for entity in plan.extract:
                extract_step(plan.source, entity, start=None, end=end, run_id="stage")
            for entity in (*plan.map_first, *plan.map_then):
                map_step(plan.source, entity, run_id="stage")


def _backfill(af: LiveAirflow, reprocess: str) -> list[dict]:
    """Create a backfill of FIRST..LAST (logical dates, inclusive), unpause the DAG (the runs of a paused DAG stay
    queued) and wait until each of the backfill's runs has ended."""
    resp = af.api("POST", "backfills", json={
        "dag_id": DAG_ID, "from_date": f"{FIRST}T00:00:00Z", "to_date": f"{LAST}T00:00:00Z",
        "max_active_runs": 2, "reprocess_behavior": reprocess, "run_backwards": False, "dag_run_conf": {}})
    assert resp.status_code in (200, 201), resp.text
    backfill_id = resp.json()["id"]
    af.unpause(DAG_ID)
    deadline = time.monotonic() + 600
    while True:
        af.check_alive()
        runs = af.api("GET", f"dags/{DAG_ID}/dagRuns", params={"run_type": "backfill", "limit": 50}).json()
        mine = [r for r in runs["dag_runs"] if r["logical_date"][:10] >= FIRST.isoformat()
                and r["logical_date"][:10] <= LAST.isoformat()]
        finished = af.api("GET", f"backfills/{backfill_id}").json().get("completed_at")
        if finished and len(mine) == 7 and all(r["state"] in ("success", "failed") for r in mine):
            return sorted(mine, key=lambda r: r["logical_date"])
        if time.monotonic() > deadline:
            raise TimeoutError(f"backfill {backfill_id} not done: {[(r['dag_run_id'], r['state']) for r in mine]}\n"
                               f"{af.logs()}")
        time.sleep(1)


def _stop_the_scheduled_run(af: LiveAirflow) -> None:
    """Unpausing also starts the latest scheduled run (catchup is off), which would stage both systems for today
    while the backfill runs: mark it failed, it is not what this test is about."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = af.api("GET", f"dags/{DAG_ID}/dagRuns", params={"run_type": "scheduled"}).json()["dag_runs"]
        if runs:
            for run in runs:
                af.api("PATCH", f"dags/{DAG_ID}/dagRuns/{run['dag_run_id']}", json={"state": "failed"})
            return
        time.sleep(0.5)


def _items(staging: Path) -> list[tuple]:
    engine = sa.create_engine(f"sqlite:///{staging}")
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(sa.text(
                "SELECT interval_start, item_key, status, shop_amount, oracle_amount, difference, oracle_ref, "
                "explanation FROM finance_recon_items WHERE interval_start >= :lo AND interval_start <= :hi "
                "ORDER BY interval_start, item_key"), {"lo": datetime(FIRST.year, FIRST.month, FIRST.day),
                                                       "hi": datetime(LAST.year, LAST.month, LAST.day)})]
    finally:
        engine.dispose()


def _reports(directory: Path) -> dict[str, bytes]:
    days = {(FIRST + timedelta(days=n)).isoformat() for n in range(7)}
    return {p.name: p.read_bytes() for p in sorted(directory.glob("finance-recon-*"))
            if p.name.split(".")[0].removeprefix("finance-recon-") in days}


def test_a_backfill_of_seven_days_reconciles_each_day_and_a_second_gives_the_same_reports(tmp_path: Path) -> None:
    data_dir, staging, reports = tmp_path / "data", tmp_path / "staging.db", tmp_path / "reports"
    data_dir.mkdir()
    pod_port = free_port()
    args = sandbox_args(orders=ORDERS, seed=SEED, faults="none", data_dir=data_dir, shop_port=free_port(),
                        pod_port=pod_port, end=END.isoformat(), days=DAYS)
    with contextlib.ExitStack() as stack:
        shop = stack.enter_context(run_sandbox(*args, "--oracle-clock-start", f"{END.isoformat()}T00:00:00+00:00"))
        systems = Systems(shop, f"http://127.0.0.1:{pod_port}", data_dir)
        planted = requests.get(f"{systems.pod}/sandbox/differences", timeout=30).json()["finance"]["items"]
        _stage(systems, tmp_path, staging)
        env = product_env(systems, staging_url=f"sqlite:///{staging}", workdir=tmp_path, target="fusion")
        # PostgreSQL metadata, as a deployment has: Airflow refuses to create a backfill on SQLite while its
        # scheduler writes ("Backfill creation is not supported on SQLite under concurrent access").
        metadata = sa.engine.make_url(stack.enter_context(temp_database("airflow_backfill")))
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = metadata.set(drivername="postgresql+psycopg2").render_as_string(
            hide_password=False)
        af = stack.enter_context(live_airflow(DAGS_FOLDER, extra_env=env))
        af.wait_for_dag(DAG_ID)
        first = _backfill(af, "none")
        _stop_the_scheduled_run(af)
        rows_first, files_first = _items(staging), _reports(reports)
        second = _backfill(af, "completed")
        rows_second, files_second = _items(staging), _reports(reports)
        tasks = {t["task_id"]: t["state"] for t in af.task_instances(DAG_ID, first[0]["dag_run_id"])}

    assert [r["state"] for r in first] == ["success"] * 7, first
    assert [r["state"] for r in second] == ["success"] * 7, second
    # A backfill run with logical date D reconciles [D, D+1): the day named by the run, not the day before.
    assert [(r["data_interval_start"][:10], r["data_interval_end"][:10]) for r in first] == [
        ((FIRST + timedelta(days=n)).isoformat(), (FIRST + timedelta(days=n + 1)).isoformat()) for n in range(7)]
    assert tasks["stage_or_skip"] == "success" and tasks["stage_shop.extract"] == "skipped", tasks
    assert tasks["reconcile"] == "success", tasks

    days = {(FIRST + timedelta(days=n)).isoformat() for n in range(7)}
    assert set(files_first) == {f"finance-recon-{d}.{ext}" for d in days for ext in ("html", "csv")}
    assert files_second == files_first, "a second backfill of the same days must write the same reports"
    assert rows_second == rows_first and rows_first
    breaks = {(str(r[0])[:10], r[1]): r[2] for r in rows_first if r[2] != "matched"}
    assert breaks == {(i["day"], i["item_key"]): i["status"] for i in planted if i["day"] in days}
    assert json.dumps(sorted(set(breaks.values()))) == json.dumps(
        ["amount_mismatch", "missing_in_oracle", "missing_in_shop", "timing_difference"])
