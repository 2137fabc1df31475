"""The order-to-cash DAGs run in Airflow against both sandboxes: ``dag.test()`` on Fusion with SQLite staging and on
the EBS stand-in with PostgreSQL staging, and ``airflow dags test`` from the command line.

Each run must end ``success``; what it did is checked in the systems themselves: Oracle holds one order per shop
order the ledger says it created, the shop shows the tracking numbers Oracle shipped, and a second run creates
nothing new. The Fusion run also mails the business digest, through a real SMTP server, listing exactly the orders
the ledger says Oracle refused. (The deep exactly-once proof under faults is
``tests/integration/test_order_to_cash_e2e.py``; on-call mails from a live deployment are ``test_alerts_live.py``'s.)
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import free_port
from tests.support.pg import no_postgres, temp_database
from tests.support.sandbox import run_sandbox
from tests.support.smtp import smtp_sink

ORDERS = 80
pytestmark = pytest.mark.timeout(1200)
KEY = "ORDERDAGTESTKEY".ljust(32, "0")
SECRET = "order-dag-secret"
TWO_WEEKS = 14 * 24 * 60


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("order-dags")
    ebs_url = f"sqlite:///{data / 'ebs.sqlite'}"
    ps, ora = free_port(), free_port()
    with run_sandbox("--prestashop-port", str(ps), "--oracle-port", str(ora), "--orders", str(ORDERS),
                     "--seed", "13", "--ws-key", KEY, "--oracle-client-id", "dagtest", "--oracle-client-secret",
                     SECRET, "--faults", "none:bad_rows=0.03", "--data-dir", str(data), "--ebs-db-url", ebs_url,
                     "--ebs-import-every", "0") as shop:
        yield {"shop": shop, "pod": f"http://127.0.0.1:{ora}", "data": data, "ebs_url": ebs_url}


@contextlib.contextmanager
def _staging(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'staging.db'}"
        return
    database = temp_database("prestaoracle_order_dags")
    try:  # only a PostgreSQL that cannot be reached may skip (never in CI); errors in the test body fail it
        url = database.__enter__()
    except sa.exc.OperationalError as exc:
        no_postgres(exc)
    try:
        yield url
    finally:
        database.__exit__(None, None, None)


def _connections(sandboxes: dict, staging_url: str) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_PRESTASHOP_DEFAULT": json.dumps({"conn_type": "prestashop", "host": sandboxes["shop"],
                                                       "password": KEY}),
        "AIRFLOW_CONN_ORACLE_FUSION_DEFAULT": json.dumps({"conn_type": "oraclefusion", "host": sandboxes["pod"],
                                                          "login": "dagtest", "password": SECRET}),
        "AIRFLOW_CONN_ORACLE_EBS_DEFAULT": json.dumps({"conn_type": "generic",
                                                       "extra": {"sqlalchemy_url": sandboxes["ebs_url"]}}),
        "AIRFLOW_CONN_STAGING_DEFAULT": json.dumps({"conn_type": "generic",
                                                    "extra": {"sqlalchemy_url": staging_url}}),
    }


def _run(dag_id: str, **kwargs: object):
    from prestaoracle.local_airflow import run_dag

    run = run_dag(dag_id, **kwargs)
    failed = [(ti.task_id, ti.map_index, ti.state) for ti in run.get_task_instances() if ti.state != "success"]
    assert run.state == "success", failed
    return run


def _xcom(run, task_id: str):
    return next(ti for ti in run.get_task_instances() if ti.task_id == task_id).xcom_pull(task_ids=task_id)


def _oracle_orders(sandboxes: dict, target: str) -> dict[str, list[str]]:
    """Header ids per source key, read from the target's own store (not through the product)."""
    if target == "fusion":
        engine = sa.create_engine(f"sqlite:///{sandboxes['data'] / 'oracle.sqlite'}")
        query = ("SELECT SourceTransactionId, HeaderId FROM fusion_orders WHERE SourceTransactionSystem = 'PSHOP'")
    else:
        engine = sa.create_engine(sandboxes["ebs_url"])
        query = "SELECT orig_sys_document_ref, header_id FROM oe_order_headers_all"
    try:
        with engine.connect() as c:
            out: dict[str, list[str]] = {}
            for key, header in c.execute(sa.text(query)):
                out.setdefault(str(key), []).append(str(header))
            return out
    finally:
        engine.dispose()


def _shop_tracking(sandboxes: dict) -> dict[int, set[str]]:
    engine = sa.create_engine(f"sqlite:///{sandboxes['data'] / 'prestashop.sqlite'}")
    try:
        with engine.connect() as c:
            out: dict[int, set[str]] = {}
            for id_order, number in c.execute(sa.text(
                    "SELECT id_order, tracking_number FROM ps_order_carriers WHERE tracking_number <> ''")):
                out.setdefault(int(id_order), set()).add(str(number))
            return out
    finally:
        engine.dispose()


@pytest.mark.parametrize(("target", "backend"), [
    ("fusion", "sqlite"),
    pytest.param("ebs", "postgresql", marks=pytest.mark.postgres),
])
def test_order_dags_load_once_and_write_status_back(target: str, backend: str, sandboxes: dict, airflow_db: None,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _staging(backend, tmp_path) as url:
        for name, value in _connections(sandboxes, url).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PRESTAORACLE_REPORTS_DIR", str(tmp_path / "reports"))
        monkeypatch.setenv("PRESTAORACLE_GX_ROOT", str(tmp_path / "gx"))
        monkeypatch.setenv("PRESTAORACLE_BUSINESS_EMAIL", "sales@shop.test")
        conf = {"oracle_target": target}
        with smtp_sink() as sink:
            monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", sink.connection_json())
            first = _run("prestashop_orders_to_oracle", conf=conf)
            mails = list(sink.mails)
        monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT")
        loaded = _xcom(first, "load")
        if target == "ebs":  # the Order Import program runs in EBS between two runs of the flow
            assert loaded["outcomes"].get("interfaced", 0) > 0, loaded
            requests.post(f"{sandboxes['pod']}/sandbox/ebs/import", timeout=120).raise_for_status()
            loaded = _xcom(_run("prestashop_orders_to_oracle", conf=conf), "load")
        assert loaded["outcomes"].get("created", 0) > 0, loaded

        engine = sa.create_engine(url)
        ledger_target = f"oracle_{target}"
        with engine.connect() as c:
            created = dict(c.execute(sa.text(
                "SELECT record_key, target_id FROM sync_ledger WHERE target = :t AND outcome IN ('created', 'skipped')"
            ), {"t": ledger_target}).all())
        in_oracle = _oracle_orders(sandboxes, target)
        assert {k: v for k, v in in_oracle.items() if len(v) > 1} == {}, "an order is in Oracle twice"
        assert {k: v[0] for k, v in in_oracle.items()} == created, "the ledger and Oracle disagree"
        report = _xcom(first, "report")
        assert Path(report["summary_json"]).exists() and Path(report["digest"]["path"]).exists()
        with engine.connect() as c:
            refused = set(c.execute(sa.text(
                "SELECT record_key FROM sync_ledger WHERE target = :t AND outcome = 'rejected' "
                "AND last_error NOT LIKE '%before it was imported%'"), {"t": ledger_target}).scalars())
        if target == "fusion":  # the pod refuses some orders on purpose (inactive items and accounts, credit)
            assert refused, "the pod was seeded to refuse some of these orders"
            [digest] = mails  # one business digest per run, nothing else (no failure: no on-call mail)
            assert digest.rcpt_tos == ("sales@shop.test",)
            assert f"{len(refused)} orders refused" in digest.subject, digest.subject
            assert [key for key in refused if key not in digest.html] == []
            assert SECRET not in digest.raw and KEY not in digest.raw

        moved = requests.post(f"{sandboxes['pod']}/sandbox/clock/advance", params={"minutes": TWO_WEEKS},
                              timeout=300)
        moved.raise_for_status()
        oracle_now = datetime.fromisoformat(moved.json()["now"])
        status_run = _run("oracle_status_to_prestashop", logical_date=oracle_now, conf=conf)
        status = _xcom(status_run, "sync_status")
        assert status["orders_seen"] > 0 and status["tracking_written"] > 0, status
        with engine.connect() as c:
            tracking = c.execute(sa.text(
                "SELECT record_key FROM sync_ledger WHERE target = 'prestashop_tracking'")).scalars().all()
        shop = _shop_tracking(sandboxes)
        for entry in tracking:  # PS1-42:<number>: every number the flow wrote is in the shop
            ref, number = entry.split(":", 1)
            assert number in shop.get(int(ref.split("-")[1]), set()), entry

        # A second run finds every order settled (the replay of a whole window is test_run_cli's and the e2e's).
        again = _run("prestashop_orders_to_oracle", conf=conf)
        assert _xcom(again, "load")["outcomes"].get("created", 0) == 0
        assert _oracle_orders(sandboxes, target) == in_oracle, "a second run created or changed Oracle orders"
        engine.dispose()


def test_airflow_dags_test_runs_the_order_dag(sandboxes: dict, tmp_path: Path) -> None:
    """The command a user types: ``airflow dags test prestashop_orders_to_oracle`` ends in state success."""
    env = {**os.environ, **_connections(sandboxes, f"sqlite:///{tmp_path / 'staging.db'}"),
           "PRESTAORACLE_REPORTS_DIR": str(tmp_path / "reports"), "PRESTAORACLE_GX_ROOT": str(tmp_path / "gx")}
    out = subprocess.run([sys.executable, "-m", "airflow", "dags", "test", "prestashop_orders_to_oracle"], env=env,
                         capture_output=True, text=True, timeout=900)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert "state=success" in text.replace(" ", "") or "success" in text.splitlines()[-1], text[-2000:]
    staging = sa.create_engine(f"sqlite:///{tmp_path / 'staging.db'}")
    try:
        with staging.connect() as c:
            outcomes = dict(c.execute(sa.text(
                "SELECT outcome, count(*) FROM sync_ledger WHERE target = 'oracle_fusion' GROUP BY outcome")).all())
    finally:
        staging.dispose()
    assert sum(outcomes.values()) > 0, outcomes
