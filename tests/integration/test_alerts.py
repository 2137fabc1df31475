"""Alerts through a real SMTP server (aiosmtpd on loopback): the business digest and the on-call failure mails.

The failure mails are sent by real task runs: a tiny DAG written by the test into its own DAG bundle runs under
``dag.test()`` (tasks and their callbacks in this process, as Airflow runs them), with no logical date, like a run
triggered through the REST API.
"""

from __future__ import annotations

import json
import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from prestaoracle import alerts
from tests.conftest import free_port
from tests.support.smtp import SmtpSink, smtp_sink

RUN_ID = "manual__2026-11-26T16:40:16.690000+00:00"
SAFE_RUN_ID = "manual__2026-11-26T16_40_16.690000_00_00"
# Secrets planted where an operator's text could carry them; none may reach a mail or a saved page.
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.QmVhcmVyU2VjcmV0"
CLIENT_SECRET = "Cl13ntS3cr3tValue"
CONN_PASSWORD = "Zq7uniqueW5password"

REJECTIONS = [
    {"key": "PS1-42", "id_order": 42, "reference": "XKBKNABJK", "reason_class": "business_rule",
     "message": "Credit limit exceeded for account 1004 <b>(limit 5000 EUR)</b>",
     "how_to_fix": "Raise the credit limit of account 1004 in Oracle or ask the customer to pay first"},
    {"key": "PS1-7", "id_order": 7, "reference": "OHSATSERP", "reason_class": "mapping_missing",
     "message": f"Item SKU-ZZ9 is unknown in the item master (Oracle said: Authorization: Bearer {TOKEN})",
     "how_to_fix": "Create item SKU-ZZ9 in the item master or fix the product reference in the shop"},
    {"key": "PS1-13", "id_order": 13, "reference": "WQZBNKJAQ", "reason_class": "business_rule",
     "message": "Order unpaid for 15 days (gates.cancel_unpaid_after_days = 14)",
     "how_to_fix": f"Cancel the order in the shop or record its payment (note: client_secret={CLIENT_SECRET} )"},
]


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    with smtp_sink() as running:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", running.connection_json())
        yield running


def _no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (TOKEN, CLIENT_SECRET, CONN_PASSWORD):
            assert secret not in text


# ------------------------------------------------------------------------------------------------ digest


def test_digest_mails_every_refused_order_once(sink: SmtpSink, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("PRESTAORACLE_BUSINESS_EMAIL", "sales-ops@shop.test, finance@shop.test")
    monkeypatch.setenv("PRESTAORACLE_REPORTS_DIR", str(tmp_path))

    result = alerts.send_business_digest(REJECTIONS, run_id=RUN_ID, flow="orders")

    [mail] = sink.wait_for(1)
    assert mail.rcpt_tos == ("sales-ops@shop.test", "finance@shop.test")
    assert mail.mail_from == "airflow@prestaoracle.test"  # the connection's from_email
    assert "3 orders refused" in mail.subject and RUN_ID in mail.subject
    for row in REJECTIONS:
        for field in ("key", "reference", "reason_class"):
            assert f">{row[field]}<" in mail.html, (field, row["key"])
        assert f">{row['id_order']}<" in mail.html
    for text in ("Credit limit exceeded for account 1004 &lt;b&gt;(limit 5000 EUR)&lt;/b&gt;",  # escaped HTML
                 REJECTIONS[0]["how_to_fix"], "Item SKU-ZZ9 is unknown in the item master (Oracle said: ",
                 REJECTIONS[1]["how_to_fix"], REJECTIONS[2]["message"],
                 "Cancel the order in the shop or record its payment (note: client_secret=*** )"):
        assert text in mail.html, text
    # Policy refusals first, then missing master data; keys in number order within a class.
    assert mail.html.index("PS1-13") < mail.html.index("PS1-42") < mail.html.index("PS1-7")
    assert result == alerts.DigestResult(path=tmp_path / f"orders-digest-{SAFE_RUN_ID}.html", sent=True,
                                         recipients=("sales-ops@shop.test", "finance@shop.test"), count=3)
    page = result.path.read_text(encoding="utf-8")
    assert page == mail.html
    _no_secret(mail.raw, mail.html, page)
    assert "Authorization: ***" in page  # masked, not dropped: the reader sees that a value was there
    with pytest.raises(AssertionError):
        sink.wait_for(2, timeout=0.3)


def test_digest_of_nothing_sends_nothing(sink: SmtpSink, tmp_path: Path) -> None:
    result = alerts.send_business_digest([], run_id=RUN_ID, flow="orders", to=["sales-ops@shop.test"],
                                         report_dir=tmp_path)

    assert result.sent is False and result.count == 0
    assert "No order was refused" in result.path.read_text(encoding="utf-8")
    with pytest.raises(AssertionError):
        sink.wait_for(1, timeout=0.3)


def test_digest_without_smtp_connection_saves_the_page_and_says_how_to_add_one(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    caplog.set_level(logging.WARNING, logger="prestaoracle.alerts")

    result = alerts.send_business_digest(REJECTIONS, run_id=RUN_ID, flow="orders", to=["sales-ops@shop.test"],
                                         report_dir=tmp_path)

    assert result.sent is False and result.count == 3
    assert "PS1-42" in result.path.read_text(encoding="utf-8")
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "AIRFLOW_CONN_SMTP_DEFAULT" in warning and "disable_ssl" in warning and str(result.path) in warning


def test_digest_to_a_server_that_refuses_fails_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    nobody = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", SmtpSink("127.0.0.1", nobody).connection_json())

    with pytest.raises(alerts.DigestNotSent) as failure:
        alerts.send_business_digest(REJECTIONS, run_id=RUN_ID, flow="orders", to=["sales-ops@shop.test"],
                                    report_dir=tmp_path)

    page = tmp_path / f"orders-digest-{SAFE_RUN_ID}.html"
    assert "PS1-42" in page.read_text(encoding="utf-8")  # saved before the mail was tried
    text = str(failure.value)
    assert "smtp_default" in text and str(page) in text and "ConnectionRefusedError" in text


def test_digest_uses_the_given_connection_and_recipients(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    with smtp_sink() as other:
        monkeypatch.setenv("AIRFLOW_CONN_ALERTS_SMTP", other.connection_json(from_email="erp-alerts@shop.test"))
        result = alerts.send_business_digest(REJECTIONS[:1], run_id="scheduled__x", flow="orders",
                                             to=["one@shop.test"], smtp_conn_id="alerts_smtp", report_dir=tmp_path)
        [mail] = other.wait_for(1)
    assert result.sent and mail.rcpt_tos == ("one@shop.test",) and mail.mail_from == "erp-alerts@shop.test"
    assert "1 order refused" in mail.subject


def test_digest_from_the_cli_finds_a_connection_stored_in_airflow(airflow_db: None, monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """Outside a task the Task SDK reads only env and secrets backends; a connection added in the Airflow UI lives
    in the metadata database and must still be found (as ``python -m prestaoracle run`` sends the digest)."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    with smtp_sink() as stored:
        settings = stored.connection()
        with create_session() as session:
            session.add(Connection(conn_id="digest_db_smtp", conn_type="smtp", host=settings["host"],
                                   port=settings["port"], extra=json.dumps(settings["extra"])))
        try:
            result = alerts.send_business_digest(REJECTIONS, run_id=RUN_ID, flow="orders", to=["ops@shop.test"],
                                                 smtp_conn_id="digest_db_smtp", report_dir=tmp_path)
        finally:
            with create_session() as session:
                session.query(Connection).filter(Connection.conn_id == "digest_db_smtp").delete()
        [mail] = stored.wait_for(1)
    assert result.sent and "PS1-42" in mail.html


# ------------------------------------------------------------------------------------------------ failure mails

PROBE_DAG = textwrap.dedent('''
    """A DAG that fails: one task after a retry, another at once, both sharing one notifier instance."""
    from datetime import timedelta

    import pendulum
    from airflow.sdk import BaseHook, dag, task

    from prestaoracle.alerts import dag_failure_notifier, task_failure_notifier

    on_call = task_failure_notifier()

    @dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
         on_failure_callback=dag_failure_notifier())
    def alerts_probe():
        @task(retries=1, retry_delay=timedelta(seconds=0), on_failure_callback=on_call)
        def explode():
            password = BaseHook.get_connection("probe_shop").password
            raise RuntimeError(f"shop refused the call: client_secret=CLIENT_SECRET, key {password}")

        @task(retries=0, on_failure_callback=on_call)
        def other():
            raise ValueError("other broke")

        explode()
        other()

    alerts_probe()
''').replace("CLIENT_SECRET", CLIENT_SECRET)


@pytest.fixture(scope="module")
def airflow_db() -> None:
    from prestaoracle import local_airflow

    local_airflow.migrate()


@pytest.fixture
def probe_dag(airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The probe DAG in a bundle of its own: ``dag.test()`` finds a DAG to serialise only in a configured bundle.
    The project's ``dags-folder`` bundle stays configured (second, so it is not parsed), or this test would mark it
    inactive for the DAG tests that run after it in the same process."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "alerts_probe.py").write_text(PROBE_DAG, encoding="utf-8")
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([
        {"name": "alerts-test", "classpath": local, "kwargs": {"path": str(folder), "refresh_interval": 0}},
        {"name": "dags-folder", "classpath": local, "kwargs": {}}]))
    monkeypatch.setenv("AIRFLOW_CONN_PROBE_SHOP", json.dumps({"conn_type": "http", "host": "shop.test",
                                                              "password": CONN_PASSWORD}))
    monkeypatch.setenv("PRESTAORACLE_ONCALL_EMAIL", "oncall@shop.test")
    monkeypatch.setenv("PRESTAORACLE_REPORTS_DIR", str(tmp_path / "reports"))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    return bag.get_dag("alerts_probe")


def _about(subject: str) -> str:
    """``explode`` / ``other`` for a task's mail, ``run`` for the DAG run's."""
    if subject.startswith("[prestaoracle] FAILED alerts_probe."):
        return subject.split(" ")[2].split(".", 1)[1]
    return "run" if subject.startswith("[prestaoracle] DAG run FAILED alerts_probe") else subject


@pytest.mark.timeout(120)
def test_failed_tasks_and_run_mail_on_call_once_each(sink: SmtpSink, probe_dag, tmp_path: Path) -> None:
    run = probe_dag.test(logical_date=None)  # no logical date, no ds: as a run triggered through the REST API

    assert run.state == "failed"
    mails = {_about(m.subject): m for m in sink.wait_for(3)}
    # One mail per task that failed for good (explode's first try had a retry left: no mail) and one for the run.
    assert len(sink.mails) == 3 and set(mails) == {"explode", "other", "run"}
    assert all(m.rcpt_tos == ("oncall@shop.test",) for m in mails.values())

    explode = mails["explode"]
    assert explode.subject == f"[prestaoracle] FAILED alerts_probe.explode (try 2) in run {run.run_id}"
    run_after = run.run_after.isoformat(timespec="seconds")
    log_url = f"/dags/alerts_probe/runs/{quote(run.run_id)}/tasks/explode?try_number=2"
    for expected in (run.run_id, run_after, log_url, "RuntimeError: shop refused the call: client_secret=***, key ***",
                     "python -m prestaoracle.quality release", str(tmp_path / "reports"), "docs/quality.md"):
        assert expected in explode.html, expected
    _no_secret(explode.raw)

    other = mails["other"]  # the shared notifier rendered this task's failure, not explode's
    assert "(try 1)" in other.subject and "ValueError: other broke" in other.html
    assert "explode" not in other.html and "shop refused" not in other.html

    dag_mail = mails["run"]
    assert dag_mail.subject == f"[prestaoracle] DAG run FAILED alerts_probe run {run.run_id} (task_failure)"
    assert run_after in dag_mail.html and "task_failure" in dag_mail.html
    _no_secret(dag_mail.raw)


def test_run_mail_from_the_dag_processors_minimal_context(sink: SmtpSink, probe_dag) -> None:
    """When the dag-processor cannot rebuild the last task, a DAG callback gets only the DAG, run id and reason."""
    notifier = alerts.dag_failure_notifier(["oncall@shop.test"])

    notifier({"dag": probe_dag, "run_id": "scheduled__2026-11-26T10:00:00+00:00", "reason": "timed_out"})

    [mail] = sink.wait_for(1)
    assert mail.subject == ("[prestaoracle] DAG run FAILED alerts_probe run scheduled__2026-11-26T10:00:00+00:00 "
                            "(timed_out)")
    assert "Last task" not in mail.html and "in the Airflow UI (DAG" in mail.html


def test_failure_mail_without_recipients_says_what_to_set(sink: SmtpSink, probe_dag) -> None:
    notifier = alerts.task_failure_notifier([])

    with pytest.raises(ValueError, match="PRESTAORACLE_ONCALL_EMAIL"):
        notifier({"dag": probe_dag, "run_id": "r1", "exception": RuntimeError("x")})
    assert sink.mails == []
