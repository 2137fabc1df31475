"""The financial reconciliation end to end over one seeded sandbox pair: seven past days, each item's status exactly
as the pod was seeded to disagree, and nothing else.

Expectations come from the systems, never from the product: the shop's payments and refunds from the shop's own
store, the planted breaks from ``GET /sandbox/differences`` (``finance``). Both sides are staged once; then every
day is reconciled from staging alone (``stage=False``, as a backfill does), twice: the second pass must leave the
same rows and byte-identical reports. The alert mail goes through the real SMTP sink only when the threshold is
passed. The pod's clock starts where the shop's period ends and is never moved (the lifecycle stays idle).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from conftest import free_port
from support.order_to_cash import Systems, apply_env, fast_retries, product_env, rows, sandbox_args
from support.sandbox import run_sandbox
from support.smtp import SmtpSink, smtp_sink

pytestmark = [
    pytest.mark.xdist_group("finance_recon_flow"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

# A shop whose last week holds every kind of planted break (two refunds in the window among them).
SEED, ORDERS, DAYS = 1, 160, 16
END = date(2026, 11, 1)
SHOP_TZ = ZoneInfo("Europe/Paris")  # the sandbox's default shop time zone
RECONCILED = [END - timedelta(days=n) for n in range(7, 0, -1)]
BUSINESS = "finance@shop.test"


@dataclass
class World:
    systems: Systems
    staging_url: str
    reports: Path
    differences: dict[str, Any]
    first: dict[str, dict[str, Any]]
    second: dict[str, dict[str, Any]]
    rows_first: list[tuple]
    rows_second: list[tuple]
    files_first: dict[str, bytes]
    files_second: dict[str, bytes]
    mails_first: list[Any]
    mails_second: list[Any]


def _items(staging_url: str) -> list[tuple]:
    return [tuple(r) for r in rows(staging_url, """
        SELECT interval_start, item_key, interval_end, kind, status, order_reference, id_order, oracle_ref, currency,
               shop_amount, oracle_amount, difference, shop_date, oracle_date, explanation
        FROM finance_recon_items ORDER BY interval_start, item_key""")]


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("finance-recon-*"))}


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("finance")
    data_dir = workdir / "data"
    data_dir.mkdir()
    pod_port = free_port()
    staging_url = f"sqlite:///{workdir / 'staging.db'}"
    args = sandbox_args(orders=ORDERS, seed=SEED, faults="none", data_dir=data_dir, shop_port=free_port(),
                        pod_port=pod_port, end=END.isoformat(), days=DAYS)
    with contextlib.ExitStack() as stack:
        shop = stack.enter_context(run_sandbox(*args, "--oracle-clock-start", f"{END.isoformat()}T00:00:00+00:00"))
        systems = Systems(shop, f"http://127.0.0.1:{pod_port}", data_dir)
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        apply_env(mp, product_env(systems, staging_url=staging_url, workdir=workdir, target="fusion"))
        mp.delenv("PRESTAORACLE_FINANCE_CONFIG", raising=False)
        mp.setenv("AIRFLOW_CONN_SMTP_DEFAULT", sink.connection_json())
        mp.setenv("PRESTAORACLE_BUSINESS_EMAIL", BUSINESS)
        fast_retries(mp)
        differences = requests.get(f"{systems.pod}/sandbox/differences", timeout=30).json()

        from prestaoracle.flows.finance_recon import run_finance_recon
        from prestaoracle.flows.staging import extract_step, map_step
        from prestaoracle.plans import FINANCE_ORACLE, FINANCE_SHOP

        end = datetime(END.year, END.month, END.day, tzinfo=UTC)
        # Extract and map both sides once, as the DAG's staging groups do. The data-quality gate is left out: it is
        # the staging tests' subject, costs half a minute here, and the reconciliation reads every row it has not
        # quarantined (pending ones included).
        for plan in (FINANCE_SHOP, FINANCE_ORACLE):
            for entity in plan.extract:
                extract_step(plan.source, entity, start=None, end=end, run_id="finance-stage")
            for entity in (*plan.map_first, *plan.map_then):
                map_step(plan.source, entity, run_id="finance-stage")

        def backfill(tag: str, **limits: Any) -> dict[str, dict[str, Any]]:
            out = {}
            for day in RECONCILED:
                start = datetime(day.year, day.month, day.day, tzinfo=UTC)
                out[day.isoformat()] = run_finance_recon(run_id=f"backfill__{tag}__{day}", start=start,
                                                         end=start + timedelta(days=1), stage=False, **limits)
            return out

        reports = workdir / "reports"
        first = backfill("1", max_breaks=0)  # any unexplained break alerts
        rows_first, files_first = _items(staging_url), _files(reports)
        mails_first = sink.wait_for(sum(1 for s in first.values() if s["alert"]["breaks"] > 0))
        second = backfill("2", max_breaks=100)  # the same days again, over a threshold nobody passes
        rows_second, files_second = _items(staging_url), _files(reports)
        mails_second = list(sink.mails)
        yield World(systems, staging_url, reports, differences, first, second, rows_first, rows_second,
                    files_first, files_second, mails_first, mails_second)


def _shop_day(value: str) -> str:
    # The shop store holds shop-local wall times: their date is the business day.
    return str(value)[:10]


def expected(world: World) -> dict[tuple[str, str], str]:
    """(day, item_key) -> status for every item of the reconciled days: the planted ones as listed, every other shop
    payment and refund matched."""
    days = {d.isoformat() for d in RECONCILED}
    planted = {(i["day"], i["item_key"]): i["status"] for i in world.differences["finance"]["items"]
               if i["day"] in days}
    shop_records = [(_shop_day(r.date_add), f"payment:{r.id}") for r in rows(
        world.systems.shop_db, "SELECT id, date_add FROM ps_order_payments")]
    shop_records += [(_shop_day(r.date_add), f"refund:{r.id}") for r in rows(
        world.systems.shop_db, "SELECT id, date_add FROM ps_order_slip")]
    out = {key: "matched" for key in shop_records if key[0] in days}
    out.update(planted)
    return out


def test_every_item_of_the_seven_days_is_exactly_what_the_pod_planted(world: World) -> None:
    found = {(str(r[0])[:10], r[1]): r[4] for r in world.rows_first}
    assert found == expected(world)
    statuses = {s for s in found.values()}
    assert statuses == {"matched", "amount_mismatch", "missing_in_oracle", "missing_in_shop", "timing_difference"}
    assert {i["break"] for i in world.differences["finance"]["items"]} == {
        "missing_receipt", "receipt_amount_off", "receipt_next_day", "receipt_without_payment",
        "refund_without_memo", "credit_memo_amount_off"}


def test_mismatches_carry_the_planted_difference_and_oracle_document(world: World) -> None:
    by_key = {r[1]: r for r in world.rows_first}
    mismatches = [i for i in world.differences["finance"]["items"] if i["status"] == "amount_mismatch"]
    assert len(mismatches) == 2
    for item in mismatches:
        row = by_key[item["item_key"]]
        assert (row[5], row[7], row[8]) == (item["order_reference"], item["oracle_ref"], item["currency"])
        assert float(row[11]) == pytest.approx(item["difference"])
        assert float(row[10]) - float(row[9]) == pytest.approx(item["difference"])


def test_payments_after_local_midnight_match_on_the_shops_day(world: World) -> None:
    """Made between 00:00 and 02:00 in Paris, they are on the previous day in UTC; their receipts carry the local
    date, so only the shop's calendar puts both on one day."""
    keys = world.differences["finance"]["local_midnight"]
    assert keys
    ids = ",".join(k.split(":")[1] for k in keys)
    local = {f"payment:{r.id}": r.date_add for r in rows(
        world.systems.shop_db, f"SELECT id, date_add FROM ps_order_payments WHERE id IN ({ids})")}
    found = {r[1]: (str(r[0])[:10], r[4], r[12]) for r in world.rows_first}
    for key in keys:
        day, status, utc_stamp = found[key]
        assert (day, status) == (_shop_day(local[key]), "matched")
        assert str(utc_stamp)[:10] < day  # staged in UTC: still the day before


def test_a_second_pass_replaces_the_rows_and_rewrites_identical_reports(world: World) -> None:
    assert world.rows_second == world.rows_first
    assert sorted(world.files_first) == sorted(
        f"finance-recon-{d.isoformat()}.{s}" for d in RECONCILED for s in ("csv", "html"))
    assert world.files_second == world.files_first
    run_ids = {str(r[0]) for r in rows(world.staging_url, "SELECT DISTINCT run_id FROM finance_recon_items")}
    assert all(r.startswith("backfill__2__") for r in run_ids)  # the second pass's rows, not added to the first
    metrics = {(r.run_id, r.step) for r in rows(
        world.staging_url, "SELECT run_id, step FROM run_metrics WHERE flow = 'finance-recon'")}
    assert {step for _, step in metrics} == {"reconcile", "report", "alert"}
    assert len(metrics) == 2 * 3 * len(RECONCILED)


def test_the_report_counts_each_status(world: World) -> None:
    import csv
    import io

    for day in RECONCILED:
        text = world.files_first[f"finance-recon-{day.isoformat()}.csv"].decode()
        parsed = list(csv.DictReader(io.StringIO(text)))
        wanted = sorted((k, s) for (d, k), s in expected(world).items() if d == day.isoformat())
        assert sorted((r["item_key"], r["status"]) for r in parsed) == wanted
        html = world.files_first[f"finance-recon-{day.isoformat()}.html"].decode()
        assert f"business day {day.isoformat()}" in html and "backfill" not in html


MISSING = ("missing_in_oracle", "missing_in_shop")


def test_the_alert_mails_break_days_only_when_the_threshold_is_passed(world: World) -> None:
    """Each run is one day: a missing counterpart may still be dated up to timing_days later, so it is provisional
    (reported, not alerted); a mismatch is final at once."""
    final = [i for i in world.differences["finance"]["items"]
             if i["status"] not in ("timing_difference", *MISSING) and i["day"] in world.first]
    break_days = sorted({i["day"] for i in final})
    assert break_days
    for day, summary in world.first.items():
        missing = [i for i in world.differences["finance"]["items"] if i["day"] == day and i["status"] in MISSING]
        assert summary["alert"]["provisional"] == len(missing)
        html = world.files_first[f"finance-recon-{day}.html"].decode()
        assert all(f"{i['item_key']}<" in html for i in missing)
        assert ("provisional: may still arrive" in html) == bool(missing)
    assert sorted(d for d, s in world.first.items() if s["alert"]["sent"]) == break_days
    assert len(world.mails_first) == len(break_days)
    subjects = sorted(m.subject for m in world.mails_first)
    assert all(m.rcpt_tos == (BUSINESS,) for m in world.mails_first)
    for day in break_days:
        [subject] = [s for s in subjects if day in s]
        planted = [i for i in final if i["day"] == day]
        assert f": {len(planted)} unexplained break" in subject
        [mail] = [m for m in world.mails_first if day in m.subject]
        assert all(i["item_key"] in mail.html for i in planted)
    # Second pass: the same breaks, under the raised threshold: not one more mail.
    assert not any(s["alert"]["sent"] for s in world.second.values())
    assert len(world.mails_second) == len(world.mails_first)


def test_quarantines_nothing_from_a_clean_shop(world: World) -> None:
    assert all(s["reconcile"]["quarantined"] == 0 for s in world.first.values())
    assert {s["reconcile"]["ledger_timezone"] for s in world.first.values()} == {"Europe/Paris"}


def test_the_lifecycle_keeps_the_seeded_invoice_of_a_shop_order(world: World) -> None:
    """When the order flow creates a shop order the seeded history already billed, AutoInvoice must not bill it
    again: a second invoice and receipt would be a break in tomorrow's reconciliation. Runs last: it moves the
    pod's clock (every other test reads what the fixture computed before)."""
    from support.oracle_pod import Pod
    from support.order_to_cash import CLIENT_ID, SECRET

    from prestaoracle.sandbox.oracle.receivables_seed import SOURCE

    pod = Pod(world.systems.pod, CLIENT_ID, SECRET)
    by_key = {r[1]: r for r in world.rows_first}
    [missing] = [i for i in world.differences["finance"]["items"] if i["break"] == "missing_receipt"]
    settled = next(r[5] for r in world.rows_first if r[4] == "matched" and r[3] == "payment")
    assert by_key[missing["item_key"]][4] == "missing_in_oracle"
    onhand = {r["ItemNumber"]: r["PrimaryQuantity"] for r in pod.items("/inventoryOnhandBalances",
                                                                        q="OrganizationCode=M1")}
    sku = min(i["ItemNumber"] for i in pod.items("/itemsV2", q="ItemStatusValue=Active")
              if onhand.get(i["ItemNumber"], 0) >= 5)
    party = world.differences["webshop_accounts"][0]["PartyNumber"]
    for n, ref in enumerate((settled, missing["order_reference"])):
        resp = pod.post("/salesOrdersForOrderHub", {
            "SourceTransactionNumber": ref, "SourceTransactionSystem": "PSHOP", "SourceTransactionId": f"F-{n}",
            "BusinessUnitId": 204, "BuyingPartyNumber": party, "TransactionalCurrencyCode": "EUR",
            "RequestedFulfillmentOrganizationCode": "M1", "SubmittedFlag": True, "CustomerPONumber": ref,
            "lines": [{"SourceTransactionLineId": "1", "SourceTransactionLineNumber": "1", "ProductNumber": sku,
                       "OrderedQuantity": 1, "OrderedUOMCode": "Ea"}]})
        assert resp.status_code == 201, resp.text
    pod.advance(8 * 24 * 60)

    invoices = pod.items("/receivablesInvoices", expand="receivablesInvoiceLines")
    receipts = pod.items("/standardReceipts")
    for ref in (settled, missing["order_reference"]):
        [invoice] = [i for i in invoices if i["PurchaseOrder"] == ref and i["TransactionType"] == "Invoice"]
        assert invoice["TransactionSource"] == SOURCE
        assert [line["ItemNumber"] for line in invoice["receivablesInvoiceLines"]] == [sku]
        lifecycle = [r for r in receipts if r["ReceiptNumber"].startswith("RCPT-")
                     and r["Comments"] == f"Payment of invoice {invoice['TransactionNumber']}"]
        assert len(lifecycle) == (1 if ref == missing["order_reference"] else 0)
        assert invoice["InvoiceBalanceAmount"] == 0


def test_a_day_with_nothing_staged_reconciles_to_no_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty day (a new deployment, a quiet Sunday) gives an empty report, not a crash: pandas cannot merge the
    empty pyarrow-backed string columns a staging read gives unless the join keys are plain objects."""
    from prestaoracle.flows.finance_recon import reconcile_step, report_step

    config = tmp_path / "finance.yaml"
    config.write_text("ledger_timezone: Europe/Paris\n", encoding="utf-8")
    monkeypatch.setenv("PRESTAORACLE_FINANCE_CONFIG", str(config))
    monkeypatch.setenv("PRESTAORACLE_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("AIRFLOW_CONN_STAGING_DEFAULT",
                       json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "staging.db")}))
    start = datetime(2026, 11, 20, tzinfo=UTC)
    done = reconcile_step(run_id="empty", start=start, end=start + timedelta(days=1))
    assert done["days"] == ["2026-11-20"]
    report = report_step(run_id="empty", start=start, end=start + timedelta(days=1))
    assert report, "an empty day still gets its report"


@pytest.fixture
def staging_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A staging database of its own (no shop, no pod), ledger in UTC, schema up to date: hand-staged records."""
    from prestaoracle.staging import connect

    config = tmp_path / "finance.yaml"
    config.write_text("ledger_timezone: UTC\ntiming_days: 3\n", encoding="utf-8")
    monkeypatch.setenv("PRESTAORACLE_FINANCE_CONFIG", str(config))
    monkeypatch.setenv("PRESTAORACLE_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("AIRFLOW_CONN_STAGING_DEFAULT",
                       json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "staging.db")}))
    staging = connect(f"sqlite:///{tmp_path / 'staging.db'}", upgrade=True)
    yield staging
    staging.dispose()


def _stage_rows(staging: Any, payments: list[tuple], receipts: list[tuple]) -> None:
    from prestaoracle.staging import schema as s

    with staging.engine.begin() as conn:
        conn.execute(s.ps_order_payments.insert(), [
            {"id_order_payment": i, "order_reference": ref, "currency_iso": cur, "amount": amount,
             "date_add": datetime.fromisoformat(at)} for i, ref, cur, amount, at in payments])
        conn.execute(s.ora_receipts.insert(), [
            {"cash_receipt_id": i, "receipt_number": f"R{i}", "currency": "EUR", "amount": amount,
             "receipt_date": date.fromisoformat(day), "reference": text} for i, amount, day, text in receipts])


def _day_rows(staging: Any, day: str) -> list[tuple]:
    with staging.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT item_key, status, order_reference, oracle_ref, shop_amount, oracle_amount, difference, "
            "shop_date, oracle_date, explanation FROM finance_recon_items WHERE date(interval_start) = ? "
            "ORDER BY item_key", (day,))]


def test_a_day_alone_and_inside_a_week_gives_the_same_items(staging_only: Any) -> None:
    """The records of an order pair among themselves whatever their dates, so the day's answer cannot depend on the
    interval it is run in: a payment of the 4th (outside a one-day run's reach of timing_days) takes the receipt of
    the 7th before the payment of the 10th does."""
    from prestaoracle.flows.finance_recon import reconcile_step

    _stage_rows(staging_only,
                [(1, "AAA", "EUR", 70.0, "2026-03-04 10:00"), (2, "AAA", "EUR", 70.0, "2026-03-10 10:00"),
                 (3, "BBB", "EUR", 50.0, "2026-03-10 09:00"), (4, "BBB", "EUR", 50.0, "2026-03-10 11:00")],
                [(11, 70.0, "2026-03-07", "Payment of order AAA"), (12, 100.0, "2026-03-10", "ORDER BBB")])
    at = datetime(2026, 3, 10, tzinfo=UTC)
    alone = reconcile_step(run_id="day", start=at, end=at + timedelta(days=1))
    rows_alone = _day_rows(staging_only, "2026-03-10")
    week = reconcile_step(run_id="week", start=at - timedelta(days=6), end=at + timedelta(days=1))
    assert _day_rows(staging_only, "2026-03-10") == rows_alone
    assert {r[0]: r[1] for r in rows_alone} == {"payment:2": "missing_in_oracle", "payment:3": "matched",
                                                "payment:4": "matched"}
    assert {r[0]: r[1] for r in _day_rows(staging_only, "2026-03-04")} == {"payment:1": "timing_difference"}
    # The missing receipt of the 10th may still be dated up to the 13th: not a break yet, in either run.
    assert (alone["unexplained_breaks"], week["unexplained_breaks"]) == (0, 0)


def test_a_dead_letter_closes_when_its_record_is_fixed(staging_only: Any) -> None:
    import sqlalchemy as sa

    from prestaoracle.flows.finance_recon import reconcile_step
    from prestaoracle.staging import dead_letters
    from prestaoracle.staging import schema as s

    _stage_rows(staging_only, [(1, "AAA", None, 10.0, "2026-03-10 10:00")],
                [(11, 10.0, "2026-03-10", "order AAA")])
    at = datetime(2026, 3, 10, tzinfo=UTC)

    def run(tag: str) -> dict[str, Any]:
        return reconcile_step(run_id=tag, start=at, end=at + timedelta(days=1))

    def letters() -> list[tuple]:
        with staging_only.engine.connect() as conn:
            return [(d.record_key, d.status, d.occurrences) for d in dead_letters.list_open(
                conn, stage="finance_recon", include_replayed=True)]

    assert run("bad")["quarantined"] == 1
    assert letters() == [("1", "open", 1)]
    with staging_only.engine.begin() as conn:
        conn.execute(s.ps_order_payments.update().values(currency_iso="EUR"))
    fixed = run("fixed")
    assert (fixed["quarantined"], fixed["resolved"]) == (0, 1)
    assert letters() == []
    assert _day_rows(staging_only, "2026-03-10")[0][:2] == ("payment:1", "matched")
    again = run("again")  # a rerun neither reopens nor counts it
    assert (again["quarantined"], again["resolved"]) == (0, 0)
    with staging_only.engine.connect() as conn:
        assert conn.execute(sa.select(s.dead_letters.c.status, s.dead_letters.c.occurrences)).all() == [
            ("resolved", 1)]
