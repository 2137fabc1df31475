"""The failure mails in a real deployment: scheduler, api-server and dag-processor as separate processes.

A run triggered through the REST API (no logical date, as an external service starts one) fails in a task with no
retry. The task's notifier runs in the task process; the DAG's runs in the dag-processor (the only place a
deployment runs DAG callbacks). Both mails must reach the SMTP sink, each with what happened and where to look.
"""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.live_airflow import live_airflow
from tests.support.smtp import smtp_sink

DAG_ID = "alerts_live_probe"
CONN_PASSWORD = "Lv9uniqueQ4password"

PROBE_DAG = textwrap.dedent(f'''
    """Fails at once: one task, no retry; on-call alerts on the task and on the DAG."""
    import pendulum
    from airflow.sdk import BaseHook, dag, task

    from prestaoracle.alerts import dag_failure_notifier, task_failure_notifier


    @dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
         on_failure_callback=dag_failure_notifier())
    def {DAG_ID}():
        @task(retries=0, on_failure_callback=task_failure_notifier())
        def load_orders(dag_run=None):
            password = BaseHook.get_connection("probe_shop").password
            raise RuntimeError(f"Oracle refused batch {{dag_run.conf['batch']}}: key {{password}} rejected")

        load_orders()


    {DAG_ID}()
''')


@pytest.mark.timeout(420)
def test_task_and_dag_failure_mails_in_a_live_deployment(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(PROBE_DAG, encoding="utf-8")
    reports = tmp_path / "reports"
    started = time.monotonic()
    with smtp_sink() as sink:
        env = {"AIRFLOW_CONN_SMTP_DEFAULT": sink.connection_json(),
               "AIRFLOW_CONN_PROBE_SHOP": f'{{"conn_type": "http", "host": "shop.test", "password": '
                                          f'"{CONN_PASSWORD}"}}',
               "PRESTAORACLE_ONCALL_EMAIL": "oncall@shop.test",
               "PRESTAORACLE_REPORTS_DIR": str(reports)}
        with live_airflow(dags, extra_env=env) as af:
            up = time.monotonic()
            af.wait_for_dag(DAG_ID)
            af.unpause(DAG_ID)
            run_id = af.trigger(DAG_ID, conf={"batch": "B-0042"})
            run = af.wait_for_run(DAG_ID, run_id, timeout=180)
            assert run["state"] == "failed", af.logs()
            assert run["logical_date"] is None
            mails = sink.wait_for(2, timeout=60)
            done = time.monotonic()
            groups = [p.pid for p in af.processes.values()]
            base_url = af.base_url
        print(f"live deployment: up in {up - started:.1f} s, run and both mails {done - up:.1f} s, "
              f"stopped {time.monotonic() - done:.1f} s")

    for pgid in groups:  # every component and what it spawned is gone
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)

    by_kind = {"task" if "FAILED alerts_live_probe.load_orders" in m.subject else "dag": m for m in mails}
    assert set(by_kind) == {"task", "dag"}, [m.subject for m in mails]
    task_mail, dag_mail = by_kind["task"], by_kind["dag"]
    assert all(m.rcpt_tos == ("oncall@shop.test",) for m in mails)

    assert task_mail.subject == f"[prestaoracle] FAILED {DAG_ID}.load_orders (try 1) in run {run_id}"
    for expected in ("RuntimeError: Oracle refused batch B-0042: key *** rejected",  # conf reached the task
                     run["run_after"][:19], f"{base_url}/dags/{DAG_ID}/runs/", "/tasks/load_orders?try_number=1",
                     str(reports), "python -m prestaoracle.quality release"):
        assert expected in task_mail.html, expected
    assert dag_mail.subject == f"[prestaoracle] DAG run FAILED {DAG_ID} run {run_id} (task_failure)"
    assert "load_orders" in dag_mail.html and run["run_after"][:19] in dag_mail.html
    for mail in mails:
        assert CONN_PASSWORD not in mail.raw
