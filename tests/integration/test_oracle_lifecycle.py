"""The living pod, on both store backends: a core subset (create, read by key, duplicate, paging) and a batch of 30
orders driven through their whole lifecycle by the sandbox clock (``POST /sandbox/clock/advance``).

OPEN / AWAITING_SHIPPING → SHIPPED (shipment lines with carrier and tracking number; a backorder, a split shipment)
→ AWAITING_BILLING → BILLED (receivables invoice whose lines carry the order number) → a standard receipt for
the paid ones → CLOSED.
On-hand falls by what ships, price lists drift day by day, and every resource says when it changed in
``LastUpdateDate``. The same module runs on SQLite and on PostgreSQL (``--oracle-db-url``). Sections cited are of
``shared/reference/oracle-fusion-and-ebs.md``; rates and delays are the [VERIFY] picks of ``contract.py``.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import free_port
from support.oracle_pod import CRM, Pod
from support.pg import temp_database
from support.sandbox import run_sandbox

from prestaoracle.sandbox.oracle import contract, receivables_seed
from prestaoracle.sandbox.oracle.orders import stable_unit

USER, SECRET = "prestaoracle-sandbox", "LIFECYCLE-SECRET-1"
ORDERS = "/salesOrdersForOrderHub"
SEED = 3
CLOCK_START = "2026-03-01T00:00:00.000+00:00"
START = "2026-03-02T00:00:00.000+00:00"  # the pod's first move: one day, before any other request
BATCH = 30
BACKORDER_EXTRA = 5


def order_payload(source_id: str, lines: list[tuple[str, float]], party: str) -> dict:
    return {
        "SourceTransactionNumber": f"PS-{source_id}", "SourceTransactionSystem": "PSHOP",
        "SourceTransactionId": source_id, "BusinessUnitId": 204, "BuyingPartyNumber": party,
        "TransactionalCurrencyCode": "EUR", "RequestedFulfillmentOrganizationCode": "M1", "SubmittedFlag": True,
        "CustomerPONumber": f"PS-{source_id}",
        "lines": [{"SourceTransactionLineId": str(n), "SourceTransactionLineNumber": str(n), "ProductNumber": sku,
                   "OrderedQuantity": qty, "OrderedUOMCode": "Ea"} for n, (sku, qty) in enumerate(lines, start=1)],
    }


@contextlib.contextmanager
def _db_url(backend: str) -> Iterator[list[str]]:
    if backend == "sqlite":
        yield []
    else:
        with temp_database("prestaoracle_oracle_lifecycle") as url:
            yield ["--oracle-db-url", url]


@pytest.fixture(scope="session", params=[
    pytest.param("sqlite", marks=pytest.mark.xdist_group("oracle_lifecycle_sqlite")),
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.xdist_group("oracle_lifecycle_pg")]),
])
def pod(request: pytest.FixtureRequest) -> Iterator[Pod]:
    with _db_url(request.param) as db_args, run_sandbox(
            "--only", "oracle", "--oracle-port", str(free_port()), "--orders", "200", "--seed", str(SEED),
            "--end", "2026-03-01", "--oracle-clock-start", CLOCK_START[:19], "--oracle-client-secret", SECRET,
            *db_args) as base:
        pod = Pod(base, USER, SECRET, request.param)
        assert pod.advance(24 * 60) == START  # the pod's very first request
        yield pod


def make_batch(pod: Pod) -> dict[str, Any]:
    """30 submitted orders of 1–3 lines from seeded SKUs and the FR webshop account; order L-00 asks for more than
    the on-hand of its SKU (a backorder). Snapshots of on-hand and prices are taken before anything ships."""
    assert pod.now() == START
    onhand = {r["ItemNumber"]: r["PrimaryQuantity"] for r in pod.items("/inventoryOnhandBalances",
                                                                        q="OrganizationCode=M1")}
    skus = sorted(i["ItemNumber"] for i in pod.items("/itemsV2", q="ItemStatusValue=Active")
                  if onhand.get(i["ItemNumber"], 0) >= 40)
    backorder_sku, common = skus[0], skus[1:13]
    party = "1007"  # a catch-all webshop account of the seed (credit limit far away)
    account = pod.s.get(f"{pod.base}/crmRestApi/resources/11.13.18.05/accounts/{party}", timeout=30).json()
    assert account["OrganizationName"].startswith("Webshop Customers") and account["CreditLimit"] > 1e6
    orders: dict[str, dict] = {}
    for n in range(BATCH):
        source_id = f"L-{n:02d}"
        if n == 0:
            lines = [(backorder_sku, onhand[backorder_sku] + BACKORDER_EXTRA)]
        else:
            lines = [(common[(n + k) % len(common)], 1 + (n + k) % 2) for k in range(1 + n % 3)]
        resp = pod.post(ORDERS, order_payload(source_id, lines, party))
        assert resp.status_code == 201, resp.text
        orders[source_id] = resp.json()
    prices = {}
    for plist in pod.items("/priceLists"):
        for item in pod.items(f"/priceLists/{plist['PriceListId']}/child/items", expand="charges"):
            for charge in item["charges"]:
                prices[charge["PriceListChargeId"]] = (plist["PriceListId"], item["PriceListItemId"],
                                                       charge["BasePrice"])
    return {"orders": orders, "onhand": onhand, "backorder_sku": backorder_sku, "prices": prices}


# --------------------------------------------------------------------------------------------- core subset


def first_day_stamps(pod: Pod) -> dict[str, Any]:
    """Per price list: its LastUpdateDate, and which charges carry the first day's stamp; the oldest other stamp."""
    out: dict[str, Any] = {"lists": {}, "older": []}
    for plist in pod.items("/priceLists"):
        charges = [c for i in pod.items(f"/priceLists/{plist['PriceListId']}/child/items", expand="charges")
                   for c in i["charges"]]
        out["lists"][plist["PriceListId"]] = (plist["LastUpdateDate"],
                                              [c["PriceListChargeId"] for c in charges if c["LastUpdateDate"] == START])
        out["older"] += [c["LastUpdateDate"] for c in charges if c["LastUpdateDate"] != START]
    return out


def check_first_advance_already_moves_prices(pod: Pod) -> None:
    """§1.5/§7.3: price lists change over time. The fixture's very first request moved the clock one day from its
    start: that day's drift is there, a few charges and their price lists stamped with that day, every other charge
    older than the clock's start."""
    first_day = first_day_stamps(pod)
    lists = first_day["lists"]
    stamped = [cid for _stamp, day in lists.values() for cid in day]
    assert 1 <= len(stamped) <= contract.PRICE_CHANGES_PER_DAY
    assert all((stamp == START) == bool(day) for stamp, day in lists.values())
    assert max(first_day["older"]) < CLOCK_START


def check_create_read_by_key_and_duplicate(pod: Pod) -> None:
    """§1.3/§7.3 on this backend: POST → 201; GET by ``SYS:ID`` and by ``HeaderId`` return the same order; the same
    key again is a 400 duplicate and creates nothing."""
    skus = [i["ItemNumber"] for i in pod.items("/itemsV2", q="ItemStatusValue=Active")]
    created = pod.post(ORDERS, order_payload("K-1", [(skus[-1], 1)], "1007"))
    assert created.status_code == 201, created.text
    header_id = created.json()["HeaderId"]
    by_key = pod.get(f"{ORDERS}/PSHOP:K-1", onlyData="true").json()
    assert by_key == pod.get(f"{ORDERS}/{header_id}", onlyData="true").json()
    assert by_key["HeaderId"] == header_id and by_key["StatusCode"] == "OPEN"
    again = pod.s.post(pod.url(ORDERS), json=order_payload("K-1", [(skus[-1], 2)], "1007"), timeout=30,
                       headers={"REST-Framework-Version": "4", "Accept": "application/json"})
    assert again.status_code == 400
    assert again.json()["o:errorDetails"][0]["o:errorCode"] == contract.CODE_DUPLICATE_ORDER
    assert [o["HeaderId"] for o in pod.items(ORDERS, q="SourceTransactionId=K-1")] == [header_id]


def check_paging_reads_every_order_once(pod: Pod, batch: dict) -> None:
    """§2.1/§2.2 on this backend: pages of 7 with ``orderBy`` and ``offset += count`` read all 30 orders exactly
    once; ``totalResults`` counts them; ``hasMore`` turns false on the last page."""
    seen, offset, pages = [], 0, 0
    while True:
        body = pod.get(ORDERS, q="SourceTransactionId=L-*", orderBy="SourceTransactionId:desc", limit=7,
                       offset=offset, totalResults="true", onlyData="true").json()
        assert body["totalResults"] == BATCH and body["limit"] == 7
        seen += [o["SourceTransactionId"] for o in body["items"]]
        offset += body["count"]
        pages += 1
        if not body["hasMore"]:
            break
    assert pages == 5 and body["count"] == BATCH - 28
    assert seen == sorted(batch["orders"], reverse=True)


# --------------------------------------------------------------------------------------------- lifecycle


def snapshot(pod: Pod) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Per batch order: header StatusCode and its lines' StatusCodes."""
    rows = pod.items(ORDERS, q="SourceTransactionId=L-*", expand="lines")
    return {o["SourceTransactionId"]: (o["StatusCode"], tuple(x["StatusCode"] for x in o["lines"])) for o in rows}


def check_lifecycle_ships_bills_pays_and_closes(pod: Pod, batch: dict) -> None:
    """§1.3 (asynchronous orchestration, statuses), §1.7 (shipment lines with TrackingNumber, carrier on shipments),
    §1.8 (invoice lines carry ``SalesOrder``), §1.9 (receipts), §3.2 (``LastUpdateDate`` polling), §7.3 (the
    clock-driven state machine), §1.4 (on-hand falls by what ships), §1.5 (prices change, LastUpdateDate moves)."""
    assert set(snapshot(pod)) == set(batch["orders"])
    assert all(v == ("OPEN", ("AWAITING_SHIPPING",) * len(v[1])) for v in snapshot(pod).values())

    # Live through the days: half-hourly first (to catch SHIPPED and AWAITING_BILLING on the way), then daily.
    header_seen, line_seen = Counter(), Counter()
    changed_per_step = []
    for minutes in [30] * 10 + [24 * 60] * 9:
        mark = pod.now()
        now = pod.advance(minutes)
        state = snapshot(pod)
        header_seen.update(v[0] for v in state.values())
        line_seen.update(s for v in state.values() for s in v[1])
        # Incremental polling (§3.2): what changed since the mark is exactly what q=LastUpdateDate>mark returns.
        changed = pod.items(ORDERS, q=f"SourceTransactionId=L-*;LastUpdateDate>{mark}")
        assert all(mark < o["LastUpdateDate"] <= now for o in changed)
        changed_per_step.append({o["SourceTransactionId"] for o in changed})
        # Nothing is stamped in the clock's future (a purchase receipt included).
        assert max(r["LastUpdateDate"] for r in pod.items("/inventoryOnhandBalances")) <= now
    assert {"OPEN", "CLOSED"} <= set(header_seen)
    assert {"AWAITING_SHIPPING", "SHIPPED", "BACKORDERED", "AWAITING_BILLING", "BILLED", "CLOSED"} <= set(line_seen)
    assert any(changed_per_step) and not changed_per_step[-1]  # the last days are quiet
    now = pod.now()

    final = {o["SourceTransactionId"]: o for o in pod.items(ORDERS, q="SourceTransactionId=L-*", expand="lines")}
    by_number = {o["OrderNumber"]: o for o in final.values()}

    # Shipments (§1.7): every ordered unit shipped, on lines with a tracking number and the carrier's shipment.
    ship_lines = [s for s in pod.items("/shipmentLines") if s["Order"] in by_number]
    shipments = {s["ShipmentId"]: s for s in pod.items("/shipments")}
    shipped = defaultdict(float)
    for s in ship_lines:
        shipped[(s["Order"], s["OrderLine"])] += s["ShippedQuantity"]
        assert s[contract.TRACKING_ATTRIBUTE] and s["Carrier"] and s["LineStatusCode"] == "C"
        header = shipments[s["ShipmentId"]]
        assert (header["Carrier"], header["Waybill"]) == (s["Carrier"], s[contract.TRACKING_ATTRIBUTE])
        assert s["SourceOrder"] == by_number[s["Order"]]["SourceTransactionNumber"]
    for o in final.values():
        for x in o["lines"]:
            assert shipped[(o["OrderNumber"], str(x["LineNumber"]))] == x["OrderedQuantity"] == x["ShippedQuantity"]
            assert x["ActualShipDate"]
    parcels = {num: {s["ShipmentId"] for s in ship_lines if s["Order"] == num} for num in by_number}

    # The backorder: the first parcel ships what was on hand, the rest follows after the purchase receipt.
    back = final["L-00"]
    first, *rest = sorted((s for s in ship_lines if s["Order"] == back["OrderNumber"]), key=lambda s: s["ShipmentLine"])
    assert (first["ShippedQuantity"], first["BackorderedQuantity"]) == (batch["onhand"][batch["backorder_sku"]],
                                                                       BACKORDER_EXTRA)
    assert [s["ShippedQuantity"] for s in rest] == [BACKORDER_EXTRA] and len(parcels[back["OrderNumber"]]) == 2
    assert rest[0]["ActualShipDate"] > first["ActualShipDate"]
    # The lookups real clients make (§1.7): shipment lines by order number and by source order number.
    by_order = pod.items("/shipmentLines", q=f"Order={back['OrderNumber']}")
    assert sorted(s["ShipmentLine"] for s in by_order) == sorted(s["ShipmentLine"] for s in [first, *rest])
    assert pod.items("/shipmentLines", q=f"SourceOrder={back['SourceTransactionNumber']}") == by_order

    # Split shipments: the seeded share of multi-line orders ships its last line in a second parcel.
    predicted = {sid for sid, o in final.items() if sid != "L-00" and len(o["lines"]) > 1
                 and stable_unit(SEED, o["HeaderId"], "split") < contract.SPLIT_SHIPMENT_RATE}
    split = {sid for sid, o in final.items() if sid != "L-00" and len(parcels[o["OrderNumber"]]) > 1}
    assert split == predicted and split, "this seed must show a split shipment"

    # Invoices (§1.8): one per order; its lines carry the order number and the order's lines.
    invoices = pod.items("/receivablesInvoices", expand="receivablesInvoiceLines")
    invoice_of = {}
    for inv in invoices:
        numbers = {x["SalesOrder"] for x in inv["receivablesInvoiceLines"]}
        if numbers & set(by_number):
            (number,) = numbers
            assert number not in invoice_of, "one invoice per order"
            invoice_of[number] = inv
    assert set(invoice_of) == set(by_number)
    # AR bills the buying party's customer account (§1.8: BillToCustomerNumber is the account number).
    account_numbers = {a["PartyId"]: a["AccountNumber"] for a in pod.items("/accounts", CRM)}
    for number, inv in invoice_of.items():
        o = by_number[number]
        assert sorted((x["ItemNumber"], x["Quantity"]) for x in inv["receivablesInvoiceLines"]) == sorted(
            (x["ProductNumber"], x["OrderedQuantity"]) for x in o["lines"])
        assert inv["EnteredAmount"] == pytest.approx(o["TotalAmount"])
        assert inv["BillToCustomerNumber"] == account_numbers[o["BuyingPartyId"]] == inv["PayingCustomerAccount"]
        assert (inv["BillToPartyId"], inv["PurchaseOrder"]) == (o["BuyingPartyId"], o["CustomerPONumber"])
        assert inv["TransactionDate"] >= o["CreationDate"][:10]
    # §1.8: the invoice lines filter by SalesOrder under their invoice.
    some = by_number[next(iter(invoice_of))]
    inv = invoice_of[some["OrderNumber"]]
    lines = pod.items(f"/receivablesInvoices/{inv['CustomerTransactionId']}/child/receivablesInvoiceLines",
                      q=f"SalesOrder={some['OrderNumber']}")
    assert len(lines) == len(some["lines"]) == len(inv["receivablesInvoiceLines"])

    # Receipts (§1.9): the seeded share pays; paid invoices have balance 0 and their order CLOSED, the rest stay open.
    paid = {sid for sid, o in final.items() if stable_unit(SEED, o["HeaderId"], "pays") < contract.PAID_RATE}
    assert paid and paid != set(final)
    for sid, o in final.items():
        inv = invoice_of[o["OrderNumber"]]
        if sid in paid:
            assert (o["StatusCode"], inv["InvoiceBalanceAmount"]) == ("CLOSED", 0)
            assert {x["StatusCode"] for x in o["lines"]} == {"CLOSED"}
        else:
            assert (o["StatusCode"], inv["InvoiceBalanceAmount"]) == ("OPEN", inv["EnteredAmount"])
            assert {x["StatusCode"] for x in o["lines"]} == {"BILLED"}
    # One applied receipt per paid invoice (the batch's and any other order's), for the invoice's amount.
    receipts = [r for r in pod.items("/standardReceipts") if r["ReceiptNumber"].startswith("RCPT-")]
    # The seeded receivables history (receivables_seed) has receipts of its own, numbered PS-PAY-/PS-DUP-.
    settled = sorted(inv["EnteredAmount"] for inv in invoices if inv["InvoiceBalanceAmount"] == 0
                     and inv["TransactionSource"] != receivables_seed.SOURCE)
    assert sorted(r["Amount"] for r in receipts) == pytest.approx(settled)
    assert len(settled) >= len(paid)
    assert all(r["UnappliedAmount"] == 0 and r["Currency"] == "EUR" for r in receipts)

    # Once a line has shipped, an upsert can no longer replace the order, and a closed order takes no change
    # (contract's [VERIFY] choices for §1.3 "Upsert-Mode").
    v4 = {"REST-Framework-Version": "4", "Accept": "application/json"}
    for sid in (min(set(final) - paid), min(paid)):
        o = final[sid]
        body = order_payload(sid, [(x["ProductNumber"], x["OrderedQuantity"] + 1) for x in o["lines"]], "1007")
        resp = pod.s.post(pod.url(ORDERS), json=body, headers={"Upsert-Mode": "true", **v4}, timeout=30)
        expected = contract.CODE_CLOSED_ORDER if sid in paid else contract.CODE_ORDER_IN_FULFILLMENT
        assert resp.status_code == 400 and resp.json()["o:errorDetails"][0]["o:errorCode"] == expected
        assert pod.items(f"{ORDERS}/{o['HeaderId']}/child/lines") == o["lines"]
        patched = pod.s.patch(pod.url(f"{ORDERS}/PSHOP:{sid}"), json={"CustomerPONumber": "late"}, headers=v4,
                              timeout=30)
        if sid in paid:
            assert patched.json()["o:errorDetails"][0]["o:errorCode"] == contract.CODE_CLOSED_ORDER
        else:
            assert patched.status_code == 200 and patched.json()["CustomerPONumber"] == "late"

    # On-hand (§1.4): falls by exactly what shipped; the backordered SKU got a purchase receipt for the shortfall.
    onhand = {r["ItemNumber"]: r for r in pod.items("/inventoryOnhandBalances", q="OrganizationCode=M1")}
    all_shipped = defaultdict(float)
    for s in pod.items("/shipmentLines"):
        all_shipped[s["Item"]] += s["ShippedQuantity"]
    for sku, before in batch["onhand"].items():
        after = onhand[sku]["PrimaryQuantity"]
        if sku == batch["backorder_sku"]:
            assert after == contract.RESTOCK_EXTRA
        else:
            assert after == before - all_shipped[sku], sku
        if all_shipped[sku]:
            assert onhand[sku]["LastUpdateDate"] > START

    # Prices (§1.5): a few charges move each day; their item and price list say so in LastUpdateDate.
    charges, moved_items, moved_lists = {}, set(), set()
    for plist in pod.items("/priceLists"):
        for item in pod.items(f"/priceLists/{plist['PriceListId']}/child/items", expand="charges"):
            for charge in item["charges"]:
                charges[charge["PriceListChargeId"]] = charge
                if charge["LastUpdateDate"] > START:
                    moved_items.add(item["PriceListItemId"])
                    moved_lists.add(plist["PriceListId"])
                    assert item["LastUpdateDate"] >= charge["LastUpdateDate"]
                    assert plist["LastUpdateDate"] >= charge["LastUpdateDate"]
    changed = {cid for cid, (_l, _i, price) in batch["prices"].items() if charges[cid]["BasePrice"] != price}
    assert changed and all(charges[cid]["LastUpdateDate"] > START for cid in changed)
    assert len({c for c, ch in charges.items() if ch["LastUpdateDate"] > START}) <= contract.PRICE_CHANGES_PER_DAY * 9
    some_list = next(iter(moved_lists))
    polled = {i["PriceListItemId"] for i in pod.items(f"/priceLists/{some_list}/child/items",
                                                     q=f"LastUpdateDate>{START}")}
    assert polled and polled <= moved_items

    # Everything has a LastUpdateDate, and none lies in the clock's future.
    for path in (ORDERS, "/shipments", "/shipmentLines", "/receivablesInvoices", "/standardReceipts",
                 "/inventoryOnhandBalances", "/priceLists", "/itemsV2"):
        stamps = [r["LastUpdateDate"] for r in pod.items(path)]
        assert stamps and all(stamps) and max(stamps) <= now, path


# --------------------------------------------------------------------------------------------- the test


def test_core_subset_and_lifecycle(pod: Pod) -> None:
    """On each store backend (§7: the emulator's store; SQLite and PostgreSQL behind ``--oracle-db-url``): the first
    day's price drift (§1.5), create / read by key / duplicate (§1.3), paging (§2.1/§2.2), then the whole order
    lifecycle (§1.3, §1.4, §1.5, §1.7–1.9, §3.2, §7.3). One test per backend, so however pytest-xdist splits the
    suite, each backend's pod is started once; each step is a ``check_…`` function above with its own sections."""
    check_first_advance_already_moves_prices(pod)
    check_create_read_by_key_and_duplicate(pod)
    batch = make_batch(pod)
    check_paging_reads_every_order_once(pod, batch)
    check_lifecycle_ships_bills_pays_and_closes(pod, batch)
