"""``make demo``: start both sandboxes on embedded defaults and run the product's steps that exist against them.

The demo plays a merchant's machine: the sandboxes stand in for the shop and the Oracle pod, their credentials
reach the product only as Airflow connections (``AIRFLOW_CONN_*``, as a deployment would set them), and the
product reads both systems through its own clients into a SQLite staging database. It grows with the product:
each flow adds its step here.
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
from collections import Counter
from pathlib import Path

import requests

ORDERS = 500
SEED = 7


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
    from prestaoracle import connections
    from prestaoracle.flows.extract import extract_oracle, extract_prestashop
    from prestaoracle.staging import connect

    data_dir = Path(os.environ.get("PRESTAORACLE_DEMO_DIR", "var/demo")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    key, secret = _secret(32), _secret(24)
    ps_port, ora_port = _free_port(), _free_port()
    shop, pod = f"http://127.0.0.1:{ps_port}", f"http://127.0.0.1:{ora_port}"
    print(f"Starting the sandboxes ({ORDERS} generated orders, seed {SEED}): shop {shop}/api/, Oracle {pod}/ …",
          flush=True)
    cmd = [sys.executable, "-m", "prestaoracle", "sandbox", "--prestashop-port", str(ps_port), "--oracle-port",
           str(ora_port), "--orders", str(ORDERS), "--seed", str(SEED), "--ws-key", key, "--oracle-client-id",
           "demo", "--oracle-client-secret", secret, "--data-dir", str(data_dir / "sandbox"), "--end", "2026-11-01",
           "--days", "60"]
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

        staging = connect(connections.staging_url(), upgrade=True)
        t0 = time.perf_counter()
        shop_client = connections.prestashop_client()
        runs = [extract_prestashop(shop_client, staging, entity, run_id="demo")
                for entity in ("orders", "stock_availables", "combinations", "products")]
        fusion = connections.fusion_client()
        runs += [extract_oracle(fusion, staging, entity, run_id="demo") for entity in ("onhand", "prices", "accounts")]
        elapsed = time.perf_counter() - t0
        print(f"\nExtracted both systems into staging in {elapsed:.1f}s:")
        for run in runs:
            print("  " + run.summary().replace("\n", "\n  "))
        print("\n" + _shop_summary(staging))
        print(f"\nStaging database: {staging_db}\nSandbox data:     {data_dir / 'sandbox'}")
        return 0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _shop_summary(staging: object) -> str:
    orders = staging.landed("prestashop", "orders")
    lines = staging.landed("prestashop", "order_details")
    revenue: Counter[int] = Counter()
    for o in orders:
        revenue[o["id_currency"]] += float(o["total_paid_tax_incl"])
    states = Counter(o["current_state"] for o in orders)
    items = staging.landed("oracle", "onhand")
    accounts = staging.landed("oracle", "accounts")
    return "\n".join([
        f"What the shop holds: {len(orders)} orders, {len(lines)} lines, revenue by currency id "
        + ", ".join(f"{cur}: {amount:,.2f}" for cur, amount in sorted(revenue.items())),
        "  orders by state id: " + ", ".join(f"{state}: {n}" for state, n in sorted(states.items())),
        f"What Oracle holds: {len(items)} items on hand in M1, {len(accounts)} customer accounts",
    ])
