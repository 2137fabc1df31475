"""The staging DAGs run in Airflow (``dag.test()``) against both sandboxes, on SQLite and PostgreSQL staging.

The shop is generated with every kind of bad row; ``/sandbox/injected`` says which records carry one. After a run,
exactly those records are quarantined (each with the rule it breaks), every other record is in its canonical
table as ``passed``, and the run's summary, reports and Data Docs agree on the numbers.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest
import requests
import sqlalchemy as sa

from tests.conftest import free_port
from tests.support.pg import no_postgres, temp_database
from tests.support.sandbox import run_sandbox

ORDERS = 120
# Each test runs whole DAGs (several dozen tasks, each opening its connections): far above pytest's default limit.
pytestmark = pytest.mark.timeout(1200)
KEY = "STAGINGDAGTESTKEY".ljust(32, "0")
SECRET = "staging-dag-secret"
# The rule each injected defect must be quarantined under (rule names of prestaoracle.quality).
RULE_OF_KIND = {"negative_quantity": "line_quantity_positive", "missing_sku": "line_sku_present",
                "unknown_sku": "line_sku_known", "totals_mismatch": "totals_add_up",
                "duplicate_cart": "cart_one_order", "invalid_email": "email_format",
                "empty_country": "country_present"}
ROBUSTNESS_KINDS = {"unicode_names", "zero_dates"}  # odd but valid data: must pass


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict]:
    ps, ora = free_port(), free_port()
    with run_sandbox("--prestashop-port", str(ps), "--oracle-port", str(ora), "--orders", str(ORDERS),
                     "--seed", "11", "--ws-key", KEY, "--oracle-client-id", "dagtest", "--oracle-client-secret",
                     SECRET, "--faults", "none:bad_rows=0.03") as shop:
        injected = requests.get(f"{shop}/sandbox/injected", auth=(KEY, ""), timeout=30).json()["bad_rows"]
        yield {"shop": shop, "pod": f"http://127.0.0.1:{ora}", "injected": injected}


@contextlib.contextmanager
def _staging(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'staging.db'}"
        return
    try:
        with temp_database("prestaoracle_dags") as url:
            yield url
    except sa.exc.OperationalError as exc:
        no_postgres(exc)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def env(request: pytest.FixtureRequest, sandboxes: dict, airflow_db: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    with _staging(getattr(request, "param", "sqlite"), tmp_path) as url:
        monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_DEFAULT", json.dumps(
            {"conn_type": "prestashop", "host": sandboxes["shop"], "password": KEY}))
        monkeypatch.setenv("AIRFLOW_CONN_ORACLE_FUSION_DEFAULT", json.dumps(
            {"conn_type": "oraclefusion", "host": sandboxes["pod"], "login": "dagtest", "password": SECRET}))
        monkeypatch.setenv("AIRFLOW_CONN_STAGING_DEFAULT", json.dumps(
            {"conn_type": "generic", "extra": {"sqlalchemy_url": url}}))
        monkeypatch.setenv("PRESTAORACLE_REPORTS_DIR", str(tmp_path / "reports"))
        monkeypatch.setenv("PRESTAORACLE_GX_ROOT", str(tmp_path / "gx"))
        engine = sa.create_engine(url)
        try:
            yield {**sandboxes, "engine": engine, "reports": tmp_path / "reports"}
        finally:
            engine.dispose()


def _run(dag_id: str, **kwargs: object):
    from prestaoracle.local_airflow import run_dag

    run = run_dag(dag_id, **kwargs)
    failed = [(ti.task_id, ti.map_index, ti.state) for ti in run.get_task_instances() if ti.state != "success"]
    assert run.state == "success", failed
    return run


def _xcom(run, task_id: str):
    return next(ti for ti in run.get_task_instances() if ti.task_id == task_id).xcom_pull(task_ids=task_id)


@pytest.mark.parametrize("env", BACKENDS, indirect=True)
def test_staging_dags_quarantine_exactly_the_injected_records(env: dict) -> None:
    ps_run = _run("prestashop_to_staging")
    ora_run = _run("oracle_to_staging")
    engine = env["engine"]
    with engine.connect() as c:
        letters = c.execute(sa.text(
            "SELECT entity, record_key, stage, reason_class, message, how_to_fix FROM dead_letters "
            "WHERE source = 'prestashop' AND status = 'open'")).all()
        orders = dict(c.execute(sa.text("SELECT dq_status, count(*) FROM ps_orders GROUP BY dq_status")).all())
        order_ids = {int(i) for i in c.execute(sa.text("SELECT id_order FROM ps_orders")).scalars()}
        oracle_counts = {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                         for t in ("ora_onhand", "ora_prices", "ora_accounts")}

    expected = {(e["entity"], str(e["id"])) for e in env["injected"] if e["kind"] not in ROBUSTNESS_KINDS}
    assert {e["kind"] for e in env["injected"]} >= set(RULE_OF_KIND), "the shop must carry every kind of defect"
    quarantined = {(entity, key) for entity, key, *_ in letters}
    assert quarantined == expected, {"not quarantined": expected - quarantined, "extra": quarantined - expected}
    by_key = {(entity, key): (stage, message, fix) for entity, key, stage, _, message, fix in letters}
    for e in env["injected"]:
        if e["kind"] in RULE_OF_KIND:
            stage, message, fix = by_key[(e["entity"], str(e["id"]))]
            assert stage == "validate" and RULE_OF_KIND[e["kind"]] in message, (e, message)
            assert fix, "every dead letter says how to fix it"

    bad_orders = {k for entity, k in expected if entity == "orders"}
    assert order_ids == set(range(1, ORDERS + 1)), "every order is staged"
    assert orders == {"passed": ORDERS - len(bad_orders), "quarantined": len(bad_orders)}
    assert all(n > 0 for n in oracle_counts.values()), oracle_counts

    # The run summary, the per-entity reports and the dead letters tell the same numbers.
    summary = _xcom(ps_run, "publish")
    assert summary["quality"]["orders"]["quarantined"] == len(bad_orders)
    assert summary["quality"]["orders"]["passed"] == ORDERS - len(bad_orders)
    report = json.loads(Path(summary["reports"]["orders"]).with_suffix(".json").read_text())
    assert report["quarantined"] == len(bad_orders) and report["passed"] == ORDERS - len(bad_orders)
    assert Path(summary["summary_json"]).exists() and Path(summary["data_docs_index"]).exists()
    assert _xcom(ora_run, "publish")["quality"]["onhand"]["rows_in"] == oracle_counts["ora_onhand"]


def test_rerun_and_replay_change_nothing(env: dict) -> None:  # SQLite: PostgreSQL is covered above
    """A second run reads nothing new; a replay of a past window re-stages the same content (no duplicates, no new
    dead letters)."""
    _run("prestashop_to_staging")
    with env["engine"].connect() as c:
        before = {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("ps_orders", "ps_order_lines", "ps_customers", "dead_letters", "landing_records")}
    again = _run("prestashop_to_staging")
    extracted = _xcom(again, "extract")
    assert sum(e["new"] + e["changed"] for e in extracted) == 0, extracted
    replay = _run("prestashop_to_staging", conf={"replay": True})
    with env["engine"].connect() as c:
        after = {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in before}
    assert after == before
    assert sum(e["new"] + e["changed"] for e in _xcom(replay, "extract")) == 0


def test_manual_and_backfill_windows(env: dict) -> None:
    """Airflow 3.3: a manual run at logical date D covers [D-15m, D] on this timetable, while a backfill (or
    scheduled) run with logical date D covers [D, D+15m]. A replayed run reads exactly its interval, and on a fresh
    staging database it leaves the watermark alone, so the next scheduled run still reads the whole history."""
    day = pendulum.datetime(2026, 10, 25, 1, 0, tz="UTC")  # the night Europe/Paris falls back
    manual = _run("prestashop_to_staging", logical_date=day, conf={"replay": True})
    assert (manual.data_interval_start, manual.data_interval_end) == (day - timedelta(minutes=15), day)
    assert _windows(manual)["orders"] == [[day - timedelta(minutes=15), day]]
    with env["engine"].connect() as c:
        marks = c.execute(sa.text("SELECT entity, value FROM watermarks WHERE source = 'prestashop'")).all()
    assert marks == [], "a replay on a fresh database must not move the watermark past the unread history"

    # The backfill run for D is reproduced by the manual run at D + 15 minutes (only its extraction runs here).
    backfill_like = _run("prestashop_to_staging", logical_date=day + timedelta(minutes=15), conf={"replay": True},
                         mark_success_pattern="^(map_|validate|publish)")
    assert _windows(backfill_like)["orders"] == [[day, day + timedelta(minutes=15)]]

    _run("prestashop_to_staging")
    with env["engine"].connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM ps_orders")).scalar_one() == ORDERS


def _windows(run) -> dict[str, list[list]]:
    return {e["entity"]: [[pendulum.parse(t) for t in w] for w in e["windows"]] for e in _xcom(run, "extract")}
