"""``GET /sandbox/differences`` and the EBS stand-in run by ``python -m prestaoracle sandbox --ebs-db-url``.

One sandbox (Fusion pod with 2 workers, EBS stand-in on SQLite, no scheduled import) serves the module's tests in
file order: the document is checked against the seed run in-process and against what the REST API serves, then
orders are posted to the pod and their answers compared with what ``order_rules`` (through
``support.differences.predict_fusion``) says; then one EBS order goes through Order Import and two weeks of pod
clock (shipped, invoiced, paid at the exact pod times), every shop order is sent the EBS way and the refusals are
compared with ``predict_ebs``; preparing the same EBS database again keeps it, and a start of the sandbox command
from another seed refuses it.
The last test runs the stand-in on PostgreSQL with the scheduled Order Import (``--ebs-import-every 1``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from conftest import free_port
from support.differences import fetch_differences, predict_ebs, predict_fusion, shop_orders
from support.oracle_pod import CRM, Pod
from support.pg import no_postgres, temp_database
from support.sandbox import run_sandbox

from prestaoracle.oracle.ebs import EbsClient, EbsOrder, EbsOrderLine, document_ref
from prestaoracle.sandbox.oracle import contract
from prestaoracle.sandbox.oracle.ebs_link import prepare_ebs
from prestaoracle.sandbox.oracle.seed import LOW_CREDIT_LIMIT, seed_fusion
from prestaoracle.sandbox.prestashop.generate import generate_shop

pytestmark = [
    pytest.mark.xdist_group("sandbox_differences"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

USER, SECRET = "prestaoracle-sandbox", "DIFFERENCES-SECRET-9"
SEED, ORDERS, DAYS = 7, 30, 90
END = datetime(2026, 3, 1)
CLOCK = datetime(2026, 3, 1, tzinfo=UTC)
T0 = CLOCK.replace(tzinfo=None)  # the EBS stand-in's DATE values are the pod clock's UTC wall time
TWO_WEEKS = 14 * 24 * 60
ARGS = ("--only", "oracle", "--orders", str(ORDERS), "--seed", str(SEED), "--end", END.isoformat(),
        "--days", str(DAYS), "--oracle-clock-start", CLOCK.isoformat(), "--oracle-client-secret", SECRET)


@dataclass
class Sandbox:
    pod: Pod
    ebs_url: str
    ebs: sa.Engine

    def differences(self) -> dict[str, Any]:
        return fetch_differences(self.pod.base)

    def client(self) -> EbsClient:
        return EbsClient(self.ebs, created_by=1013)

    def ebs_import(self) -> dict[str, Any]:
        resp = requests.post(f"{self.pod.base}/sandbox/ebs/import", timeout=60)
        assert resp.status_code == 200, resp.text
        return resp.json()


def shop_rows() -> dict[str, list[dict]]:
    """The shop the sandbox command generated for ``ARGS`` (the same generator and arguments)."""
    return generate_shop(ORDERS, SEED, END - timedelta(days=DAYS), END).rows


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    ebs_url = f"sqlite:///{tmp_path_factory.mktemp('ebs') / 'ebs.db'}"
    port = free_port()
    with run_sandbox(*ARGS, "--oracle-port", str(port), "--workers", "2", "--ebs-db-url", ebs_url,
                     "--ebs-import-every", "0") as base:
        engine = sa.create_engine(ebs_url, connect_args={"timeout": 30})
        try:
            yield Sandbox(Pod(base, USER, SECRET), ebs_url, engine)
        finally:
            engine.dispose()


# --------------------------------------------------------------------------------------------- the document


def test_differences_are_what_the_seed_planted(box: Sandbox) -> None:
    doc = box.differences()
    planted = seed_fusion(shop_rows(), SEED, CLOCK).differences

    assert doc["seed"] == SEED and doc["clock_start"] == "2026-03-01T00:00:00.000+00:00"
    assert doc["missing_skus"] == sorted(planted["missing_skus"]) and doc["missing_skus"]
    assert doc["inactive_skus"] == sorted(planted["inactive_skus"]) and doc["inactive_skus"]
    assert {o["sku"]: (o["shop"], o["oracle"]) for o in doc["onhand"]} == planted["onhand"]
    assert {(p["currency"], p["sku"]): (p["expected"], p["oracle"]) for p in doc["prices"]} == planted["prices"]
    assert {c["id_customer"]: (c["PartyId"], tuple(c["kinds"])) for c in doc["customers"]} == planted["customers"]
    for key in ("customer_references", "low_credit", "inactive_accounts"):
        assert {c["id_customer"]: c["PartyId"] for c in doc[key]} == planted[key], key
        assert all(c["PartyNumber"] == str(c["PartyId"]) for c in doc[key])
    assert {(w["country"], w["currency"]): w["PartyId"] for w in doc["webshop_accounts"]} == \
        planted["webshop_accounts"]
    assert [a["PartyId"] for a in doc["other_accounts"]] == planted["other_accounts"]
    assert doc["low_credit"] and doc["inactive_accounts"]


def test_differences_agree_with_what_the_pod_serves(box: Sandbox) -> None:
    """Read back over REST before any order moves stock: the planted items, stock and accounts are really there."""
    doc, pod = box.differences(), box.pod
    items = {i["ItemNumber"]: i for i in pod.items("/itemsV2")}
    assert not set(doc["missing_skus"]) & set(items)
    assert {sku: items[sku]["ItemStatusValue"] for sku in doc["inactive_skus"]} == \
        dict.fromkeys(doc["inactive_skus"], "Inactive")
    assert all(items[sku]["ItemStatusValue"] == "Active" for sku in set(items) - set(doc["inactive_skus"]))
    onhand = {r["ItemNumber"]: r["PrimaryQuantity"] for r in pod.items("/inventoryOnhandBalances",
                                                                        q="OrganizationCode=M1")}
    assert all(onhand[o["sku"]] == o["oracle"] != o["shop"] for o in doc["onhand"])
    other = {(r["OrganizationCode"], r["ItemNumber"]): r["PrimaryQuantity"]
             for r in pod.items("/inventoryOnhandBalances", q="OrganizationCode=V1")}
    assert other == {(o["org"], o["sku"]): o["quantity"] for o in doc["onhand_other_orgs"]} and other
    accounts = {a["PartyNumber"]: a for a in pod.items("/accounts", root=CRM)}
    for entry in doc["low_credit"]:
        assert accounts[entry["PartyNumber"]]["CreditLimit"] == entry["CreditLimit"] == LOW_CREDIT_LIMIT
    assert doc["order_rules"]["low_credit_limits"] == doc["low_credit"]
    assert all(accounts[a["PartyNumber"]]["Status"] == "I" for a in doc["inactive_accounts"])
    assert {a["PartyNumber"] for a in accounts.values() if a["Status"] != "A"} == \
        {a["PartyNumber"] for a in doc["inactive_accounts"]}
    for account in doc["webshop_accounts"]:
        assert accounts[account["PartyNumber"]]["OrganizationName"] == account["OrganizationName"]
    refs = {a["SourceSystemReferenceValue"]: a["PartyNumber"] for a in accounts.values()
            if a["SourceSystem"] == "PSHOP"}
    assert refs == {str(r["id_customer"]): r["PartyNumber"] for r in doc["customer_references"]}


def test_every_worker_serves_the_same_document(box: Sandbox) -> None:
    # A new connection per request, so both uvicorn workers answer some of them.
    answers = {json.dumps(requests.get(f"{box.pod.base}/sandbox/differences", timeout=30,
                                       headers={"Connection": "close"}).json(), sort_keys=True)
               for _ in range(12)}
    assert len(answers) == 1
    assert json.loads(answers.pop())["ebs"]["seed"] == SEED


# --------------------------------------------------------------------------------------------- Fusion order rules


def _party_of(doc: dict[str, Any], order: dict) -> str:
    """The account the order flow books an order against in customer mode ``match`` (see support.differences)."""
    referenced = {r["id_customer"]: r["PartyNumber"] for r in doc["customer_references"]}
    webshop = {(w["country"], w["currency"]): w["PartyNumber"] for w in doc["webshop_accounts"]}
    return referenced.get(order["id_customer"]) or webshop[(order["country"], order["currency"])]


def _fusion_payload(source_id: str, party: str, order: dict) -> dict:
    return {
        "SourceTransactionNumber": source_id, "SourceTransactionSystem": "PSHOP", "SourceTransactionId": source_id,
        "BusinessUnitName": "Vision Operations", "BuyingPartyNumber": party,
        "TransactionalCurrencyCode": order["currency"], "RequestedFulfillmentOrganizationCode": "M1",
        "SubmittedFlag": True, "FreezePriceFlag": True,
        "lines": [{"SourceTransactionLineId": str(n), "SourceTransactionLineNumber": str(n),
                   "ProductNumber": line["sku"], "OrderedQuantity": line["quantity"], "OrderedUOMCode": "Ea",
                   "charges": [{"chargeComponents": [{"PriceElementUsageCode": "NET_PRICE",
                                                      "ChargeCurrencyUnitPrice": line["unit_price"]}]}]}
                  for n, line in enumerate(order["lines"], start=1)],
    }


def _post_all(box: Sandbox, doc: dict[str, Any], orders: list[dict], prefix: str) -> dict[int, str | None]:
    """POST each order in turn; id_order -> o:errorCode of the 400, or None when created."""
    answers: dict[int, str | None] = {}
    for order in orders:
        resp = box.pod.post("/salesOrdersForOrderHub",
                            _fusion_payload(f"{prefix}-{order['id_order']}", _party_of(doc, order), order),
                            headers={"REST-Framework-Version": "4", "Accept": "application/json"})
        assert resp.status_code in (201, 400), resp.text
        answers[order["id_order"]] = (None if resp.status_code == 201
                                      else resp.json()["o:errorDetails"][0]["o:errorCode"])
    return answers


def test_the_shops_orders_are_refused_exactly_as_predicted(box: Sandbox) -> None:
    doc = box.differences()
    orders = shop_orders(shop_rows())
    predicted = predict_fusion(doc, orders)

    answers = _post_all(box, doc, orders, "SHOP")

    assert answers == {o["id_order"]: predicted[o["id_order"]].error_code if o["id_order"] in predicted else None
                       for o in orders}
    # The shop meets every rule at least once, so each part of the prediction was put to the test.
    assert {r.reason for r in predicted.values()} == {"inactive_account", "missing_sku", "inactive_sku",
                                                       "credit_limit"}
    assert any(answer is None for answer in answers.values())


def _fill_then_overflow(box: Sandbox, doc: dict[str, Any], low: dict[str, Any], first_id: int) -> dict[int, Any]:
    """Orders on a low-credit account: one filling what its open orders (by the document's exposure statuses)
    leave free but a cent, then 1.00 (over only because of the open orders), then 101 (over on its own).
    Returns the pod's answers after checking the prediction says the same."""
    statuses = doc["order_rules"]["credit_check"]["exposure_statuses"]
    bad = set(doc["missing_skus"]) | set(doc["inactive_skus"])
    sku = next(i["ItemNumber"] for i in box.pod.items("/itemsV2") if i["ItemNumber"] not in bad)
    held = sum(o["TotalAmount"] for o in box.pod.items("/salesOrdersForOrderHub")
               if o["BuyingPartyNumber"] == low["PartyNumber"] and o["StatusCode"] in statuses)
    room = int((LOW_CREDIT_LIMIT - held) * 100) / 100 - 0.01  # a cent free, whatever the float sums do

    def order(id_order: int, amount: float) -> dict:
        return {"id_order": id_order, "id_customer": low["id_customer"], "currency": "EUR", "country": None,
                "lines": [{"sku": sku, "quantity": 1, "unit_price": round(amount, 2)}]}

    orders = [order(first_id, room), order(first_id + 1, 1.0), order(first_id + 2, 101.0)]
    predicted = predict_fusion(doc, orders, exposure={low["PartyId"]: held})
    assert set(predicted) == {first_id + 1, first_id + 2}
    assert {r.reason for r in predicted.values()} == {"credit_limit"}
    return _post_all(box, doc, orders, f"CREDIT{first_id}")


def test_credit_check_counts_the_accounts_other_open_orders(box: Sandbox) -> None:
    doc = box.differences()
    assert doc["order_rules"]["credit_check"]["counts_other_open_orders"] is True

    answers = _fill_then_overflow(box, doc, doc["low_credit"][0], 900001)

    assert answers == {900001: None, 900002: contract.CODE_CREDIT_LIMIT, 900003: contract.CODE_CREDIT_LIMIT}


# --------------------------------------------------------------------------------------------- EBS on the pod clock


def _orderable_sku(box: Sandbox, ebs: dict[str, Any]) -> str:
    refused = set(ebs["missing_skus"]) | set(ebs["inactive_skus"]) | set(ebs["not_orderable_skus"])
    stock = box.client().onhand()
    return max((sku for sku in stock if sku not in refused), key=lambda sku: (stock[sku], sku))


def test_an_ebs_order_is_imported_then_shipped_invoiced_and_paid_on_the_pod_clock(box: Sandbox) -> None:
    ebs = box.differences()["ebs"]
    customer = next(c for c in ebs["customers"] if c["status"] == "A" and c["SHIP_TO_SITE_USE_ID"])
    sku = _orderable_sku(box, ebs)
    ref = document_ref(9, 1)
    client = box.client()
    inserted = client.interface_orders([EbsOrder(ref, customer["CUST_ACCOUNT_ID"], "EUR",
                                                 [EbsOrderLine("1", sku, 1, Decimal("12.50"))], ordered_date=T0)],
                                       now=T0)
    assert inserted.inserted == [ref]
    assert client.order_status([ref]) == {}  # nothing imports by itself (--ebs-import-every 0)

    run = box.ebs_import()

    assert [o["orig_sys_document_ref"] for o in run["imported"]] == [ref] and run["failed"] == []
    assert run["now"] == T0.isoformat() and run["status_code"] == "C"
    assert client.order_status([ref])[ref].flow_status_code == "BOOKED"

    started = time.perf_counter()
    moved = box.pod.s.post(f"{box.pod.base}/sandbox/clock/advance", params={"minutes": TWO_WEEKS}, timeout=120)
    elapsed = time.perf_counter() - started
    assert moved.status_code == 200, moved.text
    assert moved.json()["ebs"]["steps"] == 4 and moved.json()["ebs"]["through"].startswith("2026-03-15T00")
    print(f"two weeks of pod clock (Fusion lifecycle and EBS fulfilment): {elapsed:.2f} s")

    shipped = [s for s in client.shipments_since(None) if s.ref == ref]
    assert len(shipped) == 1 and shipped[0].tracking_number and shipped[0].sku == sku
    assert shipped[0].confirm_date == T0 + timedelta(days=1)  # booked at T0, Shipping runs a day later
    invoices = [i for i in client.invoices_since(None) if ref in i.refs]
    assert len(invoices) == 1 and invoices[0].amount == Decimal("12.50")
    assert invoices[0].trx_date == T0 + timedelta(days=2) and invoices[0].status == "CL"
    receipts = [r for r in client.receipts_since(None) if any(a.ref == ref for a in r.applications)]
    assert len(receipts) == 1 and receipts[0].receipt_date == T0 + timedelta(days=4)
    assert moved.json()["ebs"]["invoices"] == [invoices[0].trx_number]
    assert client.order_status([ref])[ref].flow_status_code == "CLOSED"

    again = box.pod.s.post(f"{box.pod.base}/sandbox/clock/advance", params={"minutes": 0}, timeout=60).json()
    assert again["ebs"]["steps"] == 0  # the stand-in is where the clock is: nothing runs twice


def test_closed_orders_leave_the_credit_exposure(box: Sandbox) -> None:
    """After the two weeks above, paid orders are CLOSED: the exposure statuses must leave them out."""
    doc = box.differences()
    orders = box.pod.items("/salesOrdersForOrderHub")
    low = next(a for a in doc["low_credit"]
               if any(o["BuyingPartyNumber"] == a["PartyNumber"] and o["StatusCode"] == "CLOSED" for o in orders))

    answers = _fill_then_overflow(box, doc, low, 910001)

    assert answers == {910001: None, 910002: contract.CODE_CREDIT_LIMIT, 910003: contract.CODE_CREDIT_LIMIT}


def _ebs_orders(ebs: dict[str, Any], orders: list[dict]) -> list[EbsOrder]:
    """The shop's orders the EBS way: bound customers, else the catch-all of the country and currency."""
    accounts = {c["id_customer"]: c["CUST_ACCOUNT_ID"] for c in ebs["customers"]}
    webshop = {(w["country"], w["currency"]): w["CUST_ACCOUNT_ID"] for w in ebs.get("webshop_accounts", [])}
    return [EbsOrder(document_ref(1, o["id_order"]),
                     accounts.get(o["id_customer"]) or webshop.get((o["country"], o["currency"])), o["currency"],
                     [EbsOrderLine(str(n), line["sku"], line["quantity"], Decimal(str(line["unit_price"])))
                      for n, line in enumerate(o["lines"], start=1)])
            for o in orders]


def test_the_shops_orders_fail_in_ebs_exactly_as_predicted(box: Sandbox) -> None:
    ebs = box.differences()["ebs"]
    orders = shop_orders(shop_rows())
    predicted = {document_ref(1, k): v for k, v in predict_ebs(box.differences(), orders).items()}
    client = box.client()

    sent = client.interface_orders(_ebs_orders(ebs, orders))
    run = box.ebs_import()

    refused = {r.ref: {r.reason} for r in sent.rejected}
    failed = [f["orig_sys_document_ref"] for f in run["failed"]]
    for ref, messages in client.import_errors(failed).items():
        refused[ref] = {m.reason for m in messages}
    assert set(refused) == set(predicted)
    assert all(predicted[ref].reason_class in reasons for ref, reasons in refused.items())
    assert len(run["imported"]) == len(orders) - len(predicted) > 0
    assert {p.reason for p in predicted.values()} >= {"missing_sku", "inactive_sku"}


# --------------------------------------------------------------------------------------------- restarts


def test_a_restart_on_the_same_data_keeps_the_stand_in(box: Sandbox) -> None:
    """What the sandbox command does at start (``ebs_link.prepare_ebs``), again on the stand-in now in use."""
    before = box.differences()["ebs"]

    again = prepare_ebs(box.ebs_url, shop_rows(), SEED)

    assert again.seeded_now is False and again.document == before
    client = box.client()
    assert client.order_status([document_ref(9, 1)])[document_ref(9, 1)].flow_status_code == "CLOSED"
    with box.ebs.connect() as conn:  # no second copy of the catalogue: one M1 item per SKU
        copies = conn.execute(sa.text("SELECT max(n) FROM (SELECT count(*) AS n FROM mtl_system_items_b "
                                      "WHERE organization_id = 207 GROUP BY segment1) AS per_sku")).scalar_one()
    assert copies == 1


def test_a_start_from_another_shop_refuses_the_stand_in(box: Sandbox, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "prestaoracle", "sandbox", *ARGS[:4], "--seed", str(SEED + 1), "--end",
           END.isoformat(), "--oracle-port", str(free_port()), "--ebs-db-url", box.ebs_url,
           "--data-dir", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "seeded from another shop" in done.stderr and "--seed" in done.stderr


# --------------------------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_ebs_on_postgresql_with_the_scheduled_order_import() -> None:
    try:
        database = temp_database("prestaoracle_sandbox_ebs")
        url = database.__enter__()
    except sa.exc.OperationalError as exc:
        no_postgres(exc)
    engine = sa.create_engine(url)
    try:
        with run_sandbox(*ARGS, "--oracle-port", str(free_port()), "--workers", "1", "--ebs-db-url", url,
                         "--ebs-import-every", "1") as base:
            ebs = fetch_differences(base)["ebs"]
            assert ebs["customers"] and ebs["missing_skus"]
            box = Sandbox(Pod(base, USER, SECRET), url, engine)
            client = box.client()
            customer = next(c for c in ebs["customers"] if c["status"] == "A" and c["SHIP_TO_SITE_USE_ID"])
            ref = document_ref(9, 2)
            client.interface_orders([EbsOrder(ref, customer["CUST_ACCOUNT_ID"], "EUR",
                                               [EbsOrderLine("1", _orderable_sku(box, ebs), 2, Decimal("5"))])],
                                    now=T0)
            deadline = time.monotonic() + 20
            while ref not in client.order_status([ref]) and time.monotonic() < deadline:
                time.sleep(0.3)
            assert client.order_status([ref])[ref].flow_status_code == "BOOKED"  # the concurrent manager ran

            box.pod.advance(TWO_WEEKS)

            assert [s.ref for s in client.shipments_since(None)] == [ref]
            invoices = client.invoices_since(None)
            assert [i.refs for i in invoices] == [(ref,)] and invoices[0].amount == Decimal("10")
            assert client.order_status([ref])[ref].flow_status_code == "CLOSED"
    finally:
        engine.dispose()
        database.__exit__(None, None, None)
