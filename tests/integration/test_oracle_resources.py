"""The Fusion emulator's resources and Order Management's business rules, over real HTTP.

``salesOrdersForOrderHub`` (create, read and change by ``HeaderId`` and by ``SYS:ID``, children, duplicates, upsert,
drafts), ``accounts``, ``inventoryOnhandBalances``, ``availableQuantityDetails``, ``priceLists`` → ``items`` →
``charges``, ``itemsV2`` and ``standardReceipts``; then the rejections Order Management gives (unknown or inactive
customer and item, missing fields, unknown business unit or organization, credit limit). Each test cites its section
of ``shared/reference/oracle-fusion-and-ebs.md``; error codes and wording are the [VERIFY] picks in ``contract.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import free_port
from support.oracle_pod import CRM, V4_JSON, Pod
from support.sandbox import run_sandbox

from prestaoracle.sandbox.oracle import contract

pytestmark = pytest.mark.xdist_group("oracle_resources")

USER, SECRET = "prestaoracle-sandbox", "RESOURCES-SECRET-7"
ORDERS = "/salesOrdersForOrderHub"


def line(n: int, sku: str, qty: float = 1) -> dict:
    return {"SourceTransactionLineId": str(n), "SourceTransactionLineNumber": str(n), "ProductNumber": sku,
            "OrderedQuantity": qty, "OrderedUOMCode": "Ea"}


def payload(source_id: str, lines: list[dict], party: str, currency: str = "EUR", **extra: Any) -> dict:
    body = {
        "SourceTransactionNumber": f"PS-{source_id}", "SourceTransactionSystem": "PSHOP",
        "SourceTransactionId": source_id, "BusinessUnitId": 204, "BuyingPartyNumber": party,
        "TransactionalCurrencyCode": currency, "RequestedFulfillmentOrganizationCode": "M1", "SubmittedFlag": True,
        "billToCustomer": [{"PartyName": "Webshop Customers FR"}],
        "shipToCustomer": [{"FirstName": "Ana", "LastName": "Ruiz", "Address1": "3 rue Verte", "City": "Nantes",
                            "PostalCode": "44000", "Country": "FR"}],
        "lines": lines,
    }
    body.update(extra)
    return body


def error(resp: requests.Response) -> dict:
    """The one ``o:errorDetails`` entry of a v4 JSON error."""
    assert resp.status_code == 400, resp.text
    (detail,) = resp.json()["o:errorDetails"]
    return detail


@pytest.fixture(scope="session")
def pod() -> Iterator[Pod]:
    with run_sandbox("--only", "oracle", "--oracle-port", str(free_port()), "--orders", "200", "--seed", "4",
                     "--end", "2026-03-01", "--oracle-clock-start", "2026-03-01T00:00:00",
                     "--oracle-client-secret", SECRET, "--workers", "1") as base:
        yield Pod(base, USER, SECRET)


@pytest.fixture(scope="session")
def data(pod: Pod) -> dict[str, Any]:
    """Master data found through the API: webshop account, orderable SKUs with stock, inactive ones, prices."""
    accounts = pod.items("/accounts", CRM)
    items = pod.items("/itemsV2")
    onhand = {r["ItemNumber"]: r["PrimaryQuantity"] for r in pod.items("/inventoryOnhandBalances",
                                                                        q="OrganizationCode=M1")}
    active = [i["ItemNumber"] for i in items if i["ItemStatusValue"] == "Active" and onhand.get(i["ItemNumber"], 0) > 3]
    return {
        "webshop": next(a for a in accounts if a["OrganizationName"] == "Webshop Customers FR"),
        "low_credit": [a for a in accounts if a["CreditLimit"] == 100],
        "inactive_accounts": [a for a in accounts if a["Status"] == "I"],
        "skus": sorted(active),
        "inactive_skus": sorted(i["ItemNumber"] for i in items if i["ItemStatusValue"] == "Inactive"),
        "onhand": onhand,
    }


def eur_price(pod: Pod, sku: str) -> float:
    """BasePrice of ``sku`` on the EUR price list (§1.5)."""
    (plist,) = pod.items("/priceLists", q="CurrencyCode=EUR")
    (item,) = pod.items(f"/priceLists/{plist['PriceListId']}/child/items", q=f"Item={sku}")
    (charge,) = pod.items(f"/priceLists/{plist['PriceListId']}/child/items/{item['PriceListItemId']}/child/charges")
    return charge["BasePrice"]


# --------------------------------------------------------------------------------------------- salesOrdersForOrderHub


def test_create_order_answers_201_with_keys_and_children(pod: Pod, data: dict) -> None:
    """§1.3/§7.3: POST with ``lines``, ``billToCustomer``, ``shipToCustomer`` → 201, ``Location`` at the SYS:ID key,
    ``HeaderId`` from 300100000000000, ``OrderNumber``, ``StatusCode`` OPEN when submitted; children hold the lines."""
    sku_a, sku_b = data["skus"][:2]
    party = data["webshop"]["PartyNumber"]
    resp = pod.post(ORDERS, payload("R-1", [line(1, sku_a, 2), line(2, sku_b)], party, CustomerPONumber="PO-R-1"))
    assert resp.status_code == 201, resp.text
    assert resp.headers["Location"] == pod.url(f"{ORDERS}/PSHOP:R-1")
    order = resp.json()
    assert order["HeaderId"] >= 300100000000000 and order["OrderNumber"]
    assert (order["StatusCode"], order["SubmittedFlag"]) == ("OPEN", True)
    assert order["BuyingPartyId"] == data["webshop"]["PartyId"] and order["BusinessUnitName"] == "Vision Operations"
    assert order["CustomerPONumber"] == "PO-R-1" and order["LastUpdateDate"] == order["CreationDate"]
    assert order["TotalAmount"] == pytest.approx(2 * eur_price(pod, sku_a) + eur_price(pod, sku_b))
    lines = pod.items(f"{ORDERS}/PSHOP:R-1/child/lines", orderBy="LineNumber")
    assert [(x["ProductNumber"], x["OrderedQuantity"], x["StatusCode"]) for x in lines] == [
        (sku_a, 2, "AWAITING_SHIPPING"), (sku_b, 1, "AWAITING_SHIPPING")]
    assert all(x["HeaderId"] == order["HeaderId"] and x["LastUpdateDate"] for x in lines)
    (ship_to,) = pod.items(f"{ORDERS}/{order['HeaderId']}/child/shipToCustomer")
    assert (ship_to["Address1"], ship_to["City"], ship_to["PartyId"]) == ("3 rue Verte", "Nantes",
                                                                          data["webshop"]["PartyId"])
    (bill_to,) = pod.items(f"{ORDERS}/PSHOP:R-1/child/billToCustomer")
    assert bill_to["CustomerAccountId"] == data["webshop"]["CustomerAccountId"]
    # One line by its key under the order.
    one = pod.get(f"{ORDERS}/PSHOP:R-1/child/lines/{lines[1]['LineId']}").json()
    assert one["ProductNumber"] == sku_b


def test_read_and_patch_by_header_id_and_by_source_key(pod: Pod, data: dict) -> None:
    """§1.3: the OrderKey is ``SourceTransactionSystem:SourceTransactionId`` or ``HeaderId``; both read and PATCH the
    same order, and a PATCH moves ``LastUpdateDate`` with the clock."""
    created = pod.post(ORDERS, payload("R-2", [line(1, data["skus"][2])], data["webshop"]["PartyNumber"])).json()
    by_id = pod.get(f"{ORDERS}/{created['HeaderId']}", onlyData="true").json()
    by_key = pod.get(f"{ORDERS}/PSHOP:R-2", onlyData="true").json()
    assert by_id == by_key and by_id["OrderNumber"] == created["OrderNumber"]
    later = pod.advance(1)
    patched = pod.patch(f"{ORDERS}/{created['HeaderId']}", {"CustomerPONumber": "PO-A"})
    assert patched.status_code == 200 and patched.json()["CustomerPONumber"] == "PO-A"
    assert patched.json()["LastUpdateDate"] == later > created["LastUpdateDate"]
    pod.advance(1)
    assert pod.patch(f"{ORDERS}/PSHOP:R-2", {"CustomerPONumber": "PO-B"}).status_code == 200
    after = pod.get(f"{ORDERS}/{created['HeaderId']}").json()
    assert after["CustomerPONumber"] == "PO-B" and after["LastUpdateDate"] > later
    # Server-owned attributes can't be changed (§7.3), nor the key and what OM validated on create (contract).
    for attr, value in (("StatusCode", "CLOSED"), ("SourceTransactionId", "R-1"), ("BuyingPartyNumber", "999999"),
                        ("BusinessUnitId", 999), ("TransactionalCurrencyCode", "XXX")):
        resp = pod.s.patch(pod.url(f"{ORDERS}/PSHOP:R-2"), json={attr: value}, headers=V4_JSON, timeout=30)
        assert error(resp)["o:errorCode"] == contract.CODE_NOT_UPDATABLE, attr
    assert [o["HeaderId"] for o in pod.items(ORDERS, q="SourceTransactionId=R-2")] == [created["HeaderId"]]
    assert pod.get(f"{ORDERS}/PSHOP:R-2").json()["BusinessUnitId"] == 204


def test_duplicate_rejected_and_upsert_mode_updates(pod: Pod, data: dict) -> None:
    """§1.3 "Duplicate create": the same SourceTransactionSystem+SourceTransactionId again is a 400 that says the
    order exists; with ``Upsert-Mode: true`` the POST updates that order (same HeaderId) or creates a new one."""
    party = data["webshop"]["PartyNumber"]
    sku = data["skus"][3]
    first = pod.post(ORDERS, payload("R-3", [line(1, sku)], party))
    assert first.status_code == 201
    again = pod.s.post(pod.url(ORDERS), json=payload("R-3", [line(1, sku, 3)], party), headers=V4_JSON, timeout=30)
    detail = error(again)
    assert detail["o:errorCode"] == contract.CODE_DUPLICATE_ORDER and "already exists" in detail["detail"]
    assert pod.items(ORDERS, q="SourceTransactionId=R-3")[0]["TotalAmount"] == first.json()["TotalAmount"]
    upsert = pod.s.post(pod.url(ORDERS), json=payload("R-3", [line(1, sku, 3)], party),
                        headers={"Upsert-Mode": "true"}, timeout=30)
    assert upsert.status_code == 200, upsert.text
    assert upsert.json()["HeaderId"] == first.json()["HeaderId"]
    assert upsert.json()["TotalAmount"] == pytest.approx(3 * eur_price(pod, sku))
    assert [x["OrderedQuantity"] for x in pod.items(f"{ORDERS}/PSHOP:R-3/child/lines")] == [3]
    assert len(pod.items(ORDERS, q="SourceTransactionId=R-3")) == 1
    fresh = pod.s.post(pod.url(ORDERS), json=payload("R-4", [line(1, sku)], party), headers={"Upsert-Mode": "true"},
                       timeout=30)
    assert fresh.status_code == 201


def test_draft_submit_and_delete(pod: Pod, data: dict) -> None:
    """§1.3/§7.3: without ``SubmittedFlag`` the order is a DOO_DRAFT; PATCH ``SubmittedFlag: true`` submits it
    (OPEN, lines AWAITING_SHIPPING); DELETE removes drafts only."""
    party, sku = data["webshop"]["PartyNumber"], data["skus"][4]
    draft = pod.post(ORDERS, payload("R-5", [line(1, sku)], party, SubmittedFlag=False)).json()
    assert (draft["StatusCode"], draft["SubmittedFlag"]) == ("DOO_DRAFT", False)
    assert pod.items(f"{ORDERS}/PSHOP:R-5/child/lines")[0]["StatusCode"] == "CREATED"
    submitted = pod.patch(f"{ORDERS}/PSHOP:R-5", {"SubmittedFlag": True}).json()
    assert (submitted["StatusCode"], submitted["SubmittedFlag"]) == ("OPEN", True) and submitted["SubmittedDate"]
    assert pod.items(f"{ORDERS}/PSHOP:R-5/child/lines")[0]["StatusCode"] == "AWAITING_SHIPPING"
    refused = pod.s.delete(pod.url(f"{ORDERS}/PSHOP:R-5"), headers=V4_JSON, timeout=30)
    assert error(refused)["o:errorCode"] == contract.CODE_DELETE_NOT_DRAFT
    pod.post(ORDERS, payload("R-6", [line(1, sku)], party, SubmittedFlag=False))
    assert pod.s.delete(pod.url(f"{ORDERS}/PSHOP:R-6"), timeout=30).status_code == 204
    assert pod.get(f"{ORDERS}/PSHOP:R-6").status_code == 404
    assert pod.items(f"{ORDERS}", q="SourceTransactionId=R-6") == []


def test_order_list_q_on_last_update_status_and_source_id(pod: Pod, data: dict) -> None:
    """§1.3/§3.2: list orders with q on ``LastUpdateDate`` (QBE and rowmatch), ``StatusCode`` and
    ``SourceTransactionId``; ``orderBy=LastUpdateDate:asc`` gives the polling order."""
    party, sku = data["webshop"]["PartyNumber"], data["skus"][5]
    mark = pod.advance(5)
    for n in (7, 8):
        pod.advance(1)
        assert pod.post(ORDERS, payload(f"R-{n}", [line(1, sku)], party)).status_code == 201
    pod.post(ORDERS, payload("R-9", [line(1, sku)], party, SubmittedFlag=False))
    qbe = pod.items(ORDERS, q=f"LastUpdateDate>{mark[:19]}", orderBy="LastUpdateDate:asc,HeaderId:asc")
    assert [o["SourceTransactionId"] for o in qbe] == ["R-7", "R-8", "R-9"]
    rowmatch = f"LastUpdateDate > '{mark}' and StatusCode = 'OPEN'"
    assert pod.get(ORDERS, q=rowmatch).status_code == 400  # not QBE: framework v1 refuses it
    v2 = pod.get(ORDERS, headers={"REST-Framework-Version": "2"}, q=rowmatch, onlyData="true")
    assert sorted(o["SourceTransactionId"] for o in v2.json()["items"]) == ["R-7", "R-8"]
    drafts = pod.items(ORDERS, q="StatusCode=DOO_DRAFT")
    assert "R-9" in {o["SourceTransactionId"] for o in drafts}
    assert all(o["StatusCode"] == "DOO_DRAFT" for o in drafts)
    assert [o["OrderNumber"] for o in pod.items(ORDERS, q="SourceTransactionId=R-8")] == [
        pod.get(f"{ORDERS}/PSHOP:R-8").json()["OrderNumber"]]


# --------------------------------------------------------------------------------------------- other resources


def test_accounts_query_and_create(pod: Pod, data: dict) -> None:
    """§1.6: ``/crmRestApi/.../accounts`` answers ``q=PartyNumber=…``; a POST creates an account a query finds."""
    webshop = data["webshop"]
    (found,) = pod.items("/accounts", CRM, q=f"PartyNumber={webshop['PartyNumber']}")
    assert found["OrganizationName"] == "Webshop Customers FR"
    assert pod.get(f"/accounts/{webshop['PartyNumber']}", CRM).json()["PartyId"] == webshop["PartyId"]
    created = pod.post("/accounts", {"OrganizationName": "Atelier Nord", "Country": "FR", "CurrencyCode": "EUR"},
                       root=CRM)
    assert created.status_code == 201
    body = created.json()
    assert body["PartyNumber"] and body["Status"] == "A" and body["LastUpdateDate"]
    assert [a["PartyId"] for a in pod.items("/accounts", CRM, q="OrganizationName=Atelier Nord")] == [body["PartyId"]]
    assert pod.post("/accounts", {"Country": "FR"}, root=CRM).status_code == 400
    # PATCH changes a plain attribute, never the party's identifiers.
    changed = pod.s.patch(pod.url(f"/accounts/{body['PartyNumber']}", CRM), json={"PhoneNumber": "+33 1 02"},
                          timeout=30)
    assert changed.status_code == 200 and changed.json()["PhoneNumber"] == "+33 1 02"
    assert pod.s.patch(pod.url(f"/accounts/{body['PartyNumber']}", CRM), json={"PartyId": 5},
                       timeout=30).status_code == 400
    assert pod.get(f"/accounts/{body['PartyNumber']}", CRM).json()["PartyId"] == body["PartyId"]
    # The account can buy: Order Management finds it by party number.
    order = pod.post(ORDERS, payload("R-10", [line(1, data["skus"][6])], body["PartyNumber"]))
    assert order.status_code == 201 and order.json()["BuyingPartyName"] == "Atelier Nord"


def test_onhand_and_available_quantity(pod: Pod, data: dict) -> None:
    """§1.4: ``inventoryOnhandBalances?q=OrganizationCode=M1;ItemNumber=SKU`` and ``POST availableQuantityDetails``
    (201 with QuantityOnhand, ATT, ATR) agree; an unknown item answers ReturnStatus ERROR."""
    sku = data["skus"][7]
    (row,) = pod.items("/inventoryOnhandBalances", q=f"OrganizationCode=M1;ItemNumber={sku}")
    assert row["PrimaryQuantity"] == data["onhand"][sku] and row["SubinventoryCode"] and row["LastUpdateDate"]
    resp = pod.post("/availableQuantityDetails", {"OrganizationCode": "M1", "ItemNumber": sku})
    assert resp.status_code == 201
    body = resp.json()
    assert body["ReturnStatus"] == "SUCCESS" and body["QuantityOnhand"] == row["PrimaryQuantity"]
    assert body["AvailableToReserve"] == body["AvailableToTransact"] == row["PrimaryQuantity"]
    unknown = pod.post("/availableQuantityDetails", {"OrganizationCode": "M1", "ItemNumber": "NO-SUCH"}).json()
    assert unknown["ReturnStatus"] == "ERROR"
    assert pod.post("/availableQuantityDetails", {"OrganizationCode": "M1"}).status_code == 400
    assert pod.get("/availableQuantityDetails").status_code == 405


def test_price_lists_items_and_charges(pod: Pod, data: dict) -> None:
    """§1.5: ``priceLists/{id}/child/items/{id}/child/charges`` holds ``BasePrice``; ``expand=charges`` inlines it,
    and an order is priced from it."""
    lists = pod.items("/priceLists")
    assert {p["CurrencyCode"] for p in lists} >= {"EUR", "USD"}
    eur = next(p for p in lists if p["CurrencyCode"] == "EUR")
    assert eur["StatusCode"] == "APPROVED" and eur["LastUpdateDate"]
    sku = data["skus"][8]
    (item,) = pod.items(f"/priceLists/{eur['PriceListId']}/child/items", q=f"Item={sku}", expand="charges")
    (charge,) = item["charges"]
    assert charge["BasePrice"] > 0 and charge["PricingChargeDefinitionCode"] == "QP_SALE_PRICE"
    assert charge["BasePrice"] == eur_price(pod, sku)
    order = pod.post(ORDERS, payload("R-11", [line(1, sku, 2)], data["webshop"]["PartyNumber"])).json()
    (ordered,) = pod.items(f"{ORDERS}/PSHOP:R-11/child/lines")
    assert ordered["UnitListPrice"] == ordered["UnitSellingPrice"] == charge["BasePrice"]
    assert order["TotalAmount"] == pytest.approx(2 * charge["BasePrice"])


def test_items_v2_and_standard_receipts(pod: Pod, data: dict) -> None:
    """§1.2/§1.9: ``itemsV2`` by item number; ``POST standardReceipts`` → 201 with ``StandardReceiptId`` and
    ``UnappliedAmount``; it reads back by id; a receipt without its required fields is a 400."""
    sku = data["skus"][0]
    (item,) = pod.items("/itemsV2", q=f"ItemNumber={sku}")
    assert item["OrganizationCode"] == "M1" and item["ItemStatusValue"] == "Active"
    body = {"ReceiptNumber": "PS-PAY-1", "ReceiptMethod": "Manual", "BusinessUnit": "Vision Operations",
            "Amount": "99.80", "Currency": "EUR", "ReceiptDate": "2026-03-01",
            "CustomerAccountNumber": data["webshop"]["AccountNumber"]}
    resp = pod.post("/standardReceipts", body)
    assert resp.status_code == 201
    receipt = resp.json()
    assert receipt["StandardReceiptId"] and receipt["Amount"] == receipt["UnappliedAmount"] == 99.8
    assert pod.get(f"/standardReceipts/{receipt['StandardReceiptId']}").json()["ReceiptNumber"] == "PS-PAY-1"
    assert pod.post("/standardReceipts", {"ReceiptNumber": "x"}).status_code == 400


# --------------------------------------------------------------------------------------------- business rules


@pytest.mark.parametrize(("case", "code"), [
    ("unknown_customer", contract.CODE_UNKNOWN_CUSTOMER),
    ("inactive_customer", contract.CODE_INACTIVE_CUSTOMER),
    ("unknown_item", contract.CODE_UNKNOWN_ITEM),
    ("inactive_item", contract.CODE_INACTIVE_ITEM),
    ("missing_header_field", contract.CODE_REQUIRED),
    ("missing_line_field", contract.CODE_REQUIRED),
    ("no_lines", contract.CODE_REQUIRED),
    ("unknown_business_unit", contract.CODE_UNKNOWN_BU),
    ("unknown_organization", contract.CODE_UNKNOWN_ORGANIZATION),
    ("unknown_currency", contract.CODE_UNKNOWN_CURRENCY),
    ("zero_quantity", contract.CODE_BAD_QUANTITY),
])
def test_order_management_rejections(pod: Pod, data: dict, case: str, code: str) -> None:
    """§1.3 "Limits": OM creates no customers or items, both must exist and be usable; §7.3: POST validates required
    fields, BU, party, currency, items. Each rejection is a 400 business error with an Oracle-style message."""
    party, sku = data["webshop"]["PartyNumber"], data["skus"][0]
    body = payload(f"BAD-{case}", [line(1, sku)], party)
    if case == "unknown_customer":
        body["BuyingPartyNumber"] = "999999"
    elif case == "inactive_customer":
        body["BuyingPartyNumber"] = data["inactive_accounts"][0]["PartyNumber"]
    elif case == "unknown_item":
        body["lines"] = [line(1, "NO-SUCH-SKU")]
    elif case == "inactive_item":
        body["lines"] = [line(1, data["inactive_skus"][0])]
    elif case == "missing_header_field":
        del body["SourceTransactionId"]
    elif case == "missing_line_field":
        del body["lines"][0]["OrderedQuantity"]
    elif case == "no_lines":
        body["lines"] = []
    elif case == "unknown_business_unit":
        body["BusinessUnitId"] = 999
    elif case == "unknown_organization":
        body["RequestedFulfillmentOrganizationCode"] = "ZZ9"
    elif case == "unknown_currency":
        body["TransactionalCurrencyCode"] = "XXX"
    elif case == "zero_quantity":
        body["lines"][0]["OrderedQuantity"] = 0
    resp = pod.s.post(pod.url(ORDERS), json=body, headers=V4_JSON, timeout=30)
    detail = error(resp)
    assert detail["o:errorCode"] == code
    assert detail["detail"].endswith(".") and len(detail["detail"]) > 20
    assert detail["o:errorPath"].startswith("/")
    plain = pod.post(ORDERS, body)
    assert plain.status_code == 400 and plain.text == detail["detail"]
    if "SourceTransactionId" in body:
        assert pod.items(ORDERS, q=f"SourceTransactionId=BAD-{case}") == []


def test_credit_limit_rejects_the_order_that_goes_over(pod: Pod, data: dict) -> None:
    """§1.3/§7.3 business rules (credit check, [VERIFY] wording in contract): an account's open orders plus the new
    one may not exceed its ``CreditLimit``; the seed gives some accounts a limit of 100."""
    account = data["low_credit"][0]
    assert account["CreditLimit"] == 100
    cheap = min(data["skus"], key=lambda s: eur_price(pod, s))
    price = eur_price(pod, cheap)
    assert price < 100
    fits = int(100 // price)
    ok = pod.post(ORDERS, payload("CR-1", [line(1, cheap, fits)], account["PartyNumber"]))
    assert ok.status_code == 201, ok.text
    over = pod.s.post(pod.url(ORDERS), json=payload("CR-2", [line(1, cheap, 1)], account["PartyNumber"]),
                      headers=V4_JSON, timeout=30)
    detail = error(over)
    assert detail["o:errorCode"] == contract.CODE_CREDIT_LIMIT and "credit limit" in detail["detail"]
    big = pod.s.post(pod.url(ORDERS), json=payload("CR-3", [line(1, cheap, fits + 1)],
                                                    data["low_credit"][1]["PartyNumber"]), headers=V4_JSON, timeout=30)
    assert error(big)["o:errorCode"] == contract.CODE_CREDIT_LIMIT
    # The webshop account's limit is far away: the same order passes there.
    assert pod.post(ORDERS, payload("CR-4", [line(1, cheap, fits + 1)], data["webshop"]["PartyNumber"])).status_code \
        == 201
