"""``make demo``: start both sandboxes on embedded defaults and run the whole order-to-cash loop through Airflow.

The demo plays a merchant's machine: the sandboxes stand in for the shop and the Oracle pod, their credentials
reach the product only as Airflow connections (``AIRFLOW_CONN_*``, as a deployment would set them), and an
embedded Airflow (home and SQLite metadata under ``var/airflow``) runs the DAGs with ``dag.test()``:

1. ``prestashop_to_staging``: the shop read into a SQLite staging database, mapped, checked by the quality gate;
2. ``prestashop_orders_to_oracle``: the valid, paid orders created in the Oracle pod exactly once;
3. the pod's clock moves two weeks: Oracle ships (with tracking numbers), invoices and closes orders;
4. ``oracle_status_to_prestashop``: statuses and tracking numbers written back to the shop;
5. ``oracle_to_staging``: Oracle's side staged for the reconciliations;
6. ``inventory_to_prestashop`` (a full run), ``prices_to_prestashop``, ``customer_360`` and
   ``financial_reconciliation``: stock and prices differences written to the shop (big price changes held for
   review), customers matched to Oracle accounts, and the last day before the pod's start reconciled; the week
   before it is then reconciled day by day through the same functions (``run_finance_recon``), as a backfill would.

The pod's clock starts where the shop's history ends (``--end``), so Oracle's receivables history and the shop's
payments share their last days. It prints what happened and where the reports are. It grows with the product: each
flow adds its DAG.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from prestaoracle.plans import ORACLE, PRESTASHOP

ORDERS = int(os.environ.get("PRESTAORACLE_DEMO_ORDERS", "500"))  # the test of the demo runs a smaller shop
SEED = 7
SHOP_END = "2026-11-01"  # the shop's history ends here, and the Oracle pod's clock starts here
RECONCILIATIONS = ("inventory_to_prestashop", "prices_to_prestashop", "customer_360", "financial_reconciliation")
BAD_ROWS = 0.02  # share of records per defect kind, so the quality gate has something to quarantine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _secret(n: int) -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(n))


def _wait_for(proc: subprocess.Popen, urls: list[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the sandbox stopped at start-up:\n{proc.stdout.read() if proc.stdout else ''}")
        try:
            requests.get(pending[0], timeout=2)
            pending.pop(0)
        except requests.ConnectionError:
            time.sleep(0.3)
    if pending:
        raise RuntimeError(f"the sandbox did not answer on {pending[0]} within {timeout:.0f}s")


def main() -> int:
    from prestaoracle import local_airflow

    var = Path(os.environ.get("PRESTAORACLE_DEMO_DIR", "var")).resolve()
    data_dir = var / "demo"
    data_dir.mkdir(parents=True, exist_ok=True)
    # Airflow reads its home when first imported: point it at var/airflow before anything imports it.
    local_airflow.use_home(var / "airflow")
    os.environ.setdefault("PRESTAORACLE_REPORTS_DIR", str(var / "reports"))
    key, secret = _secret(32), _secret(24)
    ps_port, ora_port = _free_port(), _free_port()
    shop, pod = f"http://127.0.0.1:{ps_port}", f"http://127.0.0.1:{ora_port}"
    print(f"Starting the sandboxes ({ORDERS} generated orders with some bad rows, seed {SEED}): shop {shop}/api/, "
          f"Oracle {pod}/ …", flush=True)
    cmd = [sys.executable, "-m", "prestaoracle", "sandbox", "--prestashop-port", str(ps_port), "--oracle-port",
           str(ora_port), "--orders", str(ORDERS), "--seed", str(SEED), "--ws-key", key, "--oracle-client-id",
           "demo", "--oracle-client-secret", secret, "--data-dir", str(data_dir / "sandbox"), "--end", SHOP_END,
           "--days", "60", "--faults", f"none:bad_rows={BAD_ROWS}",
           "--oracle-clock-start", f"{SHOP_END}T00:00:00+00:00"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(proc, [f"{shop}/api/", f"{pod}/sandbox/clock"])
        # The product sees the systems only through Airflow connections, as in a deployment.
        os.environ["AIRFLOW_CONN_PRESTASHOP_DEFAULT"] = json.dumps(
            {"conn_type": "prestashop", "host": shop, "password": key})
        os.environ["AIRFLOW_CONN_ORACLE_FUSION_DEFAULT"] = json.dumps(
            {"conn_type": "oraclefusion", "host": pod, "login": "demo", "password": secret})
        staging_db = data_dir / "staging.db"
        staging_db.unlink(missing_ok=True)
        os.environ["AIRFLOW_CONN_STAGING_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(staging_db)})

        print(f"Embedded Airflow: home {var / 'airflow'} (SQLite metadata), DAGs {local_airflow.DAGS_FOLDER}",
              flush=True)
        local_airflow.migrate()
        runs = {}
        oracle_now = None
        for dag_id in ("prestashop_to_staging", "prestashop_orders_to_oracle", CLOCK, "oracle_status_to_prestashop",
                       "oracle_to_staging"):
            t0 = time.perf_counter()
            if dag_id == CLOCK:
                moved = requests.post(f"{pod}/sandbox/clock/advance", params={"minutes": 14 * 24 * 60}, timeout=300)
                moved.raise_for_status()
                oracle_now = datetime.fromisoformat(moved.json()["now"])
                print(f"  Oracle clock moved two weeks to {moved.json().get('now', '?')} "
                      f"({time.perf_counter() - t0:.0f}s): orders ship, are invoiced and paid", flush=True)
                continue
            # Oracle's side runs "two weeks later", on the pod's clock: its data interval ends at the pod's now.
            later = oracle_now if dag_id in ("oracle_status_to_prestashop", "oracle_to_staging") else None
            run = local_airflow.run_dag(dag_id, logical_date=later)
            runs[dag_id] = run
            print(f"  {dag_id}: {run.state} in {time.perf_counter() - t0:.0f}s (run {run.run_id})", flush=True)
        for dag_id in RECONCILIATIONS:
            t0 = time.perf_counter()
            # A manual run with logical date D covers [D-1, D): the finance run takes the shop's last day.
            when = datetime.fromisoformat(f"{SHOP_END}T00:00:00+00:00") if dag_id == "financial_reconciliation" \
                else oracle_now
            run = local_airflow.run_dag(dag_id, logical_date=when,
                                        conf={"mode": "full"} if dag_id == "inventory_to_prestashop" else None)
            runs[dag_id] = run
            print(f"  {dag_id}: {run.state} in {time.perf_counter() - t0:.0f}s (run {run.run_id})", flush=True)
        week = _finance_week()
        print("\n" + _summary(runs, staging_db))
        print(_orders(runs, staging_db))
        print(_reconciliations(staging_db, week))
        print(_where(var, staging_db))
        return 0 if all(r.state == "success" for r in runs.values()) else 1
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


CLOCK = "advance the Oracle clock"


def _finance_week() -> list[str]:
    """The week before the shop's last day, reconciled day by day in this process (what a 7-day backfill does)."""
    from datetime import UTC, timedelta

    from prestaoracle.flows.finance_recon import run_finance_recon

    end = datetime.fromisoformat(f"{SHOP_END}T00:00:00+00:00").astimezone(UTC)
    days = []
    for n in range(7, 0, -1):
        start = end - timedelta(days=n)
        run_finance_recon(run_id=f"demo__finance__{start.date()}", start=start, end=start + timedelta(days=1),
                          stage=False)
        days.append(start.date().isoformat())
    return days


def _reconciliations(staging_db: Path, week: list[str]) -> str:
    """What the reconciliation flows did, read back from staging."""
    import sqlalchemy as sa

    lines = ["\nReconciliations:"]
    engine = sa.create_engine(f"sqlite:///{staging_db}")
    try:
        with engine.connect() as conn:
            def counts(sql: str, **params: Any) -> str:
                found = conn.execute(sa.text(sql), params).all()
                return ", ".join(f"{k} {v}" for k, v in found) or "none"

            lines.append("  Stock written to the shop (ledger prestashop_stock): " + counts(
                "SELECT outcome, count(*) FROM sync_ledger WHERE target = 'prestashop_stock' GROUP BY outcome"))
            lines.append("  Prices (ledger prestashop_price): " + counts(
                "SELECT outcome, count(*) FROM sync_ledger WHERE target = 'prestashop_price' GROUP BY outcome")
                + "; held for review (dead letters needs_review, open): " + str(conn.execute(sa.text(
                    "SELECT count(*) FROM dead_letters WHERE reason_class = 'needs_review' AND status = 'open'"))
                    .scalar()))
            lines.append("  Customer 360 decisions (customer_matches, decision/rule): " + counts(
                "SELECT decision || '/' || rule, count(*) FROM customer_matches GROUP BY decision, rule "
                "ORDER BY decision, rule"))
            lines.append("  Customer 360 rows: " + str(conn.execute(sa.text(
                "SELECT count(*) FROM customer_360")).scalar()))
            lines.append(f"  Finance, {week[0]} to {week[-1]} (finance_recon_items by status): " + counts(
                "SELECT status, count(*) FROM finance_recon_items WHERE interval_start >= :lo GROUP BY status "
                "ORDER BY status", lo=datetime.fromisoformat(week[0])))
    finally:
        engine.dispose()
    return "\n".join(lines)


def _xcom(run: Any, task_id: str) -> dict:
    ti = next((t for t in run.get_task_instances() if t.task_id == task_id), None)
    return (ti.xcom_pull(task_ids=task_id) if ti is not None else None) or {}


def _orders(runs: dict[str, Any], staging_db: Path) -> str:
    """Order-to-cash in numbers: created in Oracle, held or refused and why, written back to the shop."""
    import sqlalchemy as sa

    lines = ["\nOrder-to-cash (ledger: what became of each shop order in Oracle):"]
    engine = sa.create_engine(f"sqlite:///{staging_db}")
    try:
        with engine.connect() as conn:
            outcomes = dict(conn.execute(sa.text(
                "SELECT outcome, count(*) FROM sync_ledger WHERE target = 'oracle_fusion' GROUP BY outcome")).all())
            lines.append("  " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) if outcomes else "  none")
            for title, stages in (("Quarantined or held before Oracle (dead letters, open, by reason):",
                                   ("validate", "map", "order_gate", "target_map")),
                                  ("Refused by Oracle (dead letters, open, by reason):", ("oracle_load",))):
                rows = conn.execute(sa.text(
                    "SELECT reason_class, count(*) FROM dead_letters WHERE status = 'open' AND entity = 'orders' "
                    f"AND stage IN ({', '.join(repr(s) for s in stages)}) "
                    "GROUP BY reason_class ORDER BY reason_class")).all()
                lines.append(title)
                lines += [f"  {r}: {n}" for r, n in rows] or ["  none"]
            invoices = conn.execute(sa.text(
                "SELECT count(*) FROM sync_ledger WHERE target = 'oracle_ar_invoice'")).scalar()
    finally:
        engine.dispose()
    status = _xcom(runs.get("oracle_status_to_prestashop"), "sync_status") if runs.get(
        "oracle_status_to_prestashop") else {}
    lines.append("Written back to the shop (oracle_status_to_prestashop):")
    lines.append(f"  orders seen {status.get('orders_seen', 0)}; states posted (PrestaShop state: orders) "
                 f"{status.get('states_posted') or {}}; tracking numbers written {status.get('tracking_written', 0)}")
    lines.append(f"  already right in the shop: {status.get('skipped') or {}}; dead letters "
                 f"{status.get('dead_letters') or {}}")
    lines.append(f"  AR invoice numbers in the ledger: {invoices}")
    return "\n".join(lines)


def _publish(run: Any) -> dict:
    ti = next(t for t in run.get_task_instances() if t.task_id == "publish")
    return ti.xcom_pull(task_ids="publish") or {}


def _summary(runs: dict[str, Any], staging_db: Path) -> str:
    import sqlalchemy as sa

    lines = ["What the run staged (canonical table: passed / quarantined):"]
    engine = sa.create_engine(f"sqlite:///{staging_db}")
    try:
        with engine.connect() as conn:
            for table in (*PRESTASHOP.tables, *ORACLE.tables):
                query = sa.text(f"SELECT dq_status, count(*) FROM {table} GROUP BY dq_status")
                counts = dict(conn.execute(query).all())
                lines.append(f"  {table:<22} {counts.get('passed', 0):>6} / {counts.get('quarantined', 0)}")
            lines.append("\nQuarantined records by reason (dead_letters, open):")
            rows = conn.execute(sa.text(
                "SELECT source, entity, reason_class, count(*) FROM dead_letters WHERE status = 'open' "
                "GROUP BY source, entity, reason_class ORDER BY source, entity, reason_class")).all()
            lines += [f"  {s}/{e}: {r} {n}" for s, e, r, n in rows] or ["  none"]
    finally:
        engine.dispose()
    return "\n".join(lines)


def _where(var: Path, staging_db: Path) -> str:
    from prestaoracle.quality.gx_project import default_root

    summaries = sorted((var / "reports").glob("*-staging-*.json"))[-2:] + sorted(
        (var / "reports").glob("order-*.json"))[-2:] + sorted((var / "reports").glob("*digest*.html"))[-1:]
    docs = default_root() / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return "\n".join([
        "\nWhere to look:",
        f"  Data Docs (Great Expectations): {docs.as_uri()}",
        f"  Quality reports (HTML + JSON):  {(var / 'reports').as_uri()}/",
        *(f"  Run summary:                    {p.as_uri()}" for p in summaries),
        "  Order-to-cash guide:            docs/order-to-cash.md",
        "  Reconciliation reports:         inventory-*, prices-*, customer-360-*, finance-recon-<day>.html above",
        f"  Staging database (SQLite):      {staging_db}",
        "  The same DAGs in the Airflow UI: docs/airflow.md, 'Run the DAGs in Airflow'.",
    ])
