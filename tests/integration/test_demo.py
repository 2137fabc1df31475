"""``make demo`` keeps working: it starts both sandboxes, runs the whole order-to-cash loop in an embedded Airflow
(staging, orders into Oracle, two weeks of Oracle clock, status and tracking back), then the reconciliation DAGs
(stock and prices written to the shop, customers matched, a week of finance reconciled) and says where the reports
are."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(1200)  # four whole DAG runs on 500 orders: ~2 minutes alone, more beside other tests
def test_demo_runs_the_dags_end_to_end(tmp_path: Path) -> None:
    env = dict(os.environ, PRESTAORACLE_DEMO_DIR=str(tmp_path), PRESTAORACLE_GX_ROOT=str(tmp_path / "gx"),
               PRESTAORACLE_DEMO_ORDERS="250")  # half the README's shop: the same loop, half the suite's time
    env.pop("AIRFLOW_HOME", None)
    out = subprocess.run([sys.executable, "-m", "prestaoracle", "demo"], env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    assert "prestashop_to_staging: success" in out.stdout
    assert "oracle_to_staging: success" in out.stdout
    assert "prestashop_orders_to_oracle: success" in out.stdout
    assert "oracle_status_to_prestashop: success" in out.stdout
    for dag_id in ("inventory_to_prestashop", "prices_to_prestashop", "customer_360", "financial_reconciliation"):
        assert f"{dag_id}: success" in out.stdout, out.stdout[-3000:]
    assert re.search(r"Stock written to the shop \(ledger prestashop_stock\): updated \d+", out.stdout)
    assert re.search(r"Customer 360 decisions .*matched/shop_reference \d+", out.stdout)
    finance = re.search(r"Finance, 2026-10-25 to 2026-10-31 \(finance_recon_items by status\): (.*)", out.stdout)
    assert finance and "matched" in finance.group(1) and "missing_in_oracle" in finance.group(1), out.stdout[-3000:]
    created = int(re.search(r"created (\d+)", out.stdout).group(1))
    tracking = int(re.search(r"tracking numbers written (\d+)", out.stdout).group(1))
    assert created > 50 and tracking >= created // 2, out.stdout[-3000:]
    assert re.search(r"Refused by Oracle \(dead letters, open, by reason\):\n  business_rule: \d+", out.stdout)
    assert "order-to-cash-digest-" in out.stdout
    passed, quarantined = map(int, re.search(r"ps_orders\s+(\d+) / (\d+)", out.stdout).groups())
    assert passed + quarantined == 250 and 0 < quarantined < 60
    assert re.search(r"prestashop/orders: business_rule \d+", out.stdout)
    docs = re.search(r"Data Docs \(Great Expectations\): file://(\S+)", out.stdout).group(1)
    assert Path(docs).exists()
    assert (tmp_path / "airflow" / "airflow.db").exists(), "the Airflow metadata lives under the demo's var/"
    assert (tmp_path / "demo" / "staging.db").stat().st_size > 0
