"""The order DAG's business digest in a live deployment (scheduler + api-server + dag-processor, runs triggered over
REST).

The run (with the scheduled run that unpausing starts) loads the sandbox shop into the Fusion pod; the pod refuses
some orders on purpose (inactive items and accounts, credit limits), so the business address gets one digest
listing exactly the orders the ledger says were refused or given up. The on-call mails of a live deployment (task
mail from the task process, DAG mail from the dag-processor) are proven by ``test_alerts_live.py`` with the same
notifiers every DAG of the product uses (``scheduling.with_alerts`` and ``alerts.dag_failure_notifier``); a second
run of this DAG just to fail it would cost the suite another minute.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from prestaoracle.local_airflow import DAGS_FOLDER
from tests.conftest import free_port
from tests.support.live_airflow import live_airflow
from tests.support.sandbox import run_sandbox
from tests.support.smtp import smtp_sink

DAG_ID = "prestashop_orders_to_oracle"
KEY = "LIVEALERTSKEY".ljust(32, "0")
SECRET = "live-alerts-secret-9Qx"


@pytest.mark.timeout(900)
def test_digest_and_on_call_mails_from_the_order_dag(tmp_path: Path) -> None:
    ps, ora = free_port(), free_port()
    staging = tmp_path / "staging.db"
    with run_sandbox("--prestashop-port", str(ps), "--oracle-port", str(ora), "--orders", "40", "--seed", "7",
                     "--ws-key", KEY, "--oracle-client-id", "live", "--oracle-client-secret", SECRET,
                     "--faults", "none") as shop, smtp_sink() as sink:
        env = {
            "AIRFLOW_CONN_PRESTASHOP_DEFAULT": json.dumps({"conn_type": "prestashop", "host": shop,
                                                           "password": KEY}),
            "AIRFLOW_CONN_ORACLE_FUSION_DEFAULT": json.dumps({"conn_type": "oraclefusion",
                                                              "host": f"http://127.0.0.1:{ora}",
                                                              "login": "live", "password": SECRET}),
            "AIRFLOW_CONN_STAGING_DEFAULT": json.dumps({"conn_type": "sqlite", "host": str(staging)}),
            "AIRFLOW_CONN_SMTP_DEFAULT": sink.connection_json(),
            "PRESTAORACLE_ONCALL_EMAIL": "oncall@shop.test",
            "PRESTAORACLE_BUSINESS_EMAIL": "sales@shop.test",
            "PRESTAORACLE_REPORTS_DIR": str(tmp_path / "reports"),
            "PRESTAORACLE_GX_ROOT": str(tmp_path / "gx"),
        }
        with live_airflow(DAGS_FOLDER, extra_env=env) as af:
            af.wait_for_dag(DAG_ID)
            af.unpause(DAG_ID)
            ok = af.trigger(DAG_ID, conf={})
            run = af.wait_for_run(DAG_ID, ok, timeout=600)
            assert run["state"] == "success", af.logs()
            digest = sink.wait_for(1, timeout=60)[0]
            tis = {t["task_id"]: t for t in af.task_instances(DAG_ID, ok)}

    engine = sa.create_engine(f"sqlite:///{staging}")
    try:
        with engine.connect() as c:
            refused = set(c.execute(sa.text(
                "SELECT record_key FROM sync_ledger WHERE target = 'oracle_fusion' AND outcome = 'rejected' "
                "AND last_error NOT LIKE '%before it was imported%'")).scalars())
    finally:
        engine.dispose()
    assert refused, "the pod was seeded to refuse some of these orders"
    assert digest.rcpt_tos == ("sales@shop.test",)
    # Unpausing also starts the latest scheduled run (catchup is off); whichever run loaded the orders sent the one
    # digest, and the manual run after it found nothing new to refuse.
    assert f"{len(refused)} orders refused" in digest.subject, digest.subject
    missing = [key for key in refused if f">{key}<" not in digest.html and key not in digest.html]
    assert missing == [], f"refused orders missing from the digest: {missing}"

    assert tis["run_failed"]["state"] == "skipped", tis["run_failed"]  # nothing failed: the watcher stays quiet
    assert all(m.rcpt_tos != ("oncall@shop.test",) for m in sink.mails), "no failure, no on-call mail"
    assert SECRET not in digest.raw and KEY not in digest.raw
