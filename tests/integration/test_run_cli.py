"""``python -m prestaoracle run order-to-cash|order-status``: the DAGs' steps from a shell, connections from the
environment; a replay of a window (``--start``/``--end``) creates nothing new; configuration mistakes exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import free_port
from tests.support.sandbox import run_sandbox

KEY = "RUNCLITESTKEY".ljust(32, "0")
SECRET = "run-cli-secret"
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("run-cli")
    ps, ora = free_port(), free_port()
    with run_sandbox("--prestashop-port", str(ps), "--oracle-port", str(ora), "--orders", "40", "--seed", "5",
                     "--ws-key", KEY, "--oracle-client-id", "cli", "--oracle-client-secret", SECRET,
                     "--data-dir", str(data)) as shop:
        yield {
            # Only the machine's environment: no product setting or connection another test may have left behind.
            **{k: v for k, v in os.environ.items()
               if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "PRESTAORACLE_"))},
            "AIRFLOW_CONN_PRESTASHOP_DEFAULT": json.dumps({"conn_type": "prestashop", "host": shop,
                                                           "password": KEY}),
            "AIRFLOW_CONN_ORACLE_FUSION_DEFAULT": json.dumps({"conn_type": "oraclefusion",
                                                              "host": f"http://127.0.0.1:{ora}",
                                                              "login": "cli", "password": SECRET}),
            "AIRFLOW_CONN_STAGING_DEFAULT": json.dumps({"conn_type": "sqlite", "host": str(data / "staging.db")}),
            "PRESTAORACLE_REPORTS_DIR": str(data / "reports"),
            "PRESTAORACLE_GX_ROOT": str(data / "gx"),
            "POD": f"http://127.0.0.1:{ora}",
            "DATA": str(data),
        }


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prestaoracle", "run", *args], env=env, capture_output=True,
                          text=True, timeout=500)


def _pod_orders(data: str) -> int:
    engine = sa.create_engine(f"sqlite:///{Path(data) / 'oracle.sqlite'}")
    try:
        with engine.connect() as c:
            return c.execute(sa.text(
                "SELECT count(*) FROM fusion_orders WHERE SourceTransactionSystem = 'PSHOP'")).scalar_one()
    finally:
        engine.dispose()


def test_order_to_cash_then_a_replay_of_the_window_creates_nothing(env: dict) -> None:
    start = (datetime.now().astimezone() - timedelta(days=400)).isoformat(timespec="seconds")
    first = _run(env, "order-to-cash", "--run-id", "cli-1")
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads(first.stdout)  # stdout is the JSON summary only; logs go to stderr
    created = summary["steps"]["load"]["outcomes"].get("created", 0)
    assert created > 0 and created == _pod_orders(env["DATA"])
    assert Path(summary["summary_json"]).exists()

    replay = _run(env, "order-to-cash", "--start", start, "--end", datetime.now().astimezone().isoformat(),
                  "--run-id", "cli-replay")
    assert replay.returncode == 0, replay.stderr[-3000:]
    again = json.loads(replay.stdout)
    assert again["steps"]["staged"]["extracted"]["orders"] > 0, "the replay read the whole window again"
    assert again["steps"]["load"]["outcomes"].get("created", 0) == 0
    assert _pod_orders(env["DATA"]) == created

    moved = requests.post(f"{env['POD']}/sandbox/clock/advance", params={"minutes": 14 * 24 * 60}, timeout=300)
    status = _run(env, "order-status", "--end", moved.json()["now"], "--run-id", "cli-status")
    assert status.returncode == 0, status.stderr[-3000:]
    written = json.loads(status.stdout)["steps"]["status"]
    assert written["orders_seen"] == created and written["tracking_written"] > 0, written


def test_configuration_mistakes_exit_2_with_what_to_fix(env: dict, tmp_path: Path) -> None:
    bad = tmp_path / "orders.yaml"
    bad.write_text("gates: {payment: sometimes}\n", encoding="utf-8")
    out = _run(env, "order-to-cash", "--config", str(bad))
    assert out.returncode == 2 and "gates.payment" in out.stderr and "paid, authorized, never" in out.stderr
    no_shop = {k: v for k, v in env.items() if k != "AIRFLOW_CONN_PRESTASHOP_DEFAULT"}
    out = _run(no_shop, "order-to-cash")
    assert out.returncode == 2 and "AIRFLOW_CONN_PRESTASHOP_DEFAULT" in out.stderr
    out = _run(env, "dead-letter-replay")
    assert out.returncode == 2 and "not built yet" in out.stderr
    bad_prices = tmp_path / "prices.yaml"
    bad_prices.write_text("max_change_pct: lots\n", encoding="utf-8")
    out = _run({**env, "PRESTAORACLE_PRICES_CONFIG": str(bad_prices)}, "prices", "--param", "no_stage=true")
    assert out.returncode == 2 and "max_change_pct" in out.stderr, out.stderr[-2000:]


def test_a_reconciliation_from_the_shell_reads_only_what_it_is_told(env: dict) -> None:
    """``run inventory`` stages both sides and, dry, writes nothing; ``run finance-recon`` takes its day."""
    out = _run(env, "inventory", "--param", "mode=full", "--param", "dry_run=true", "--run-id", "cli-inv")
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout)
    assert summary["dry_run"] is True and summary["mode"] == "full", summary
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    out = _run(env, "finance-recon", "--start", day.isoformat(), "--end", (day + timedelta(days=1)).isoformat(),
               "--param", "no_stage=true", "--run-id", "cli-fin")
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout)["reconcile"]["days"] == [day.date().isoformat()]
