"""The Fusion client against the Oracle emulator (a black box over HTTP, no faults): auth, paging, q, idempotent
create, error classes, batch and the reads the flows use.

The pod is seeded from a generated shop (seed 3); the tests discover accounts, items and price lists through the
client itself rather than assuming ids.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.oracle import FusionClient, FusionError, OAuth2ClientCredentials, RetryPolicy
from prestaoracle.oracle import fusion_query as fq

pytestmark = pytest.mark.xdist_group("fusion_client_clean")

ORDERS = "salesOrdersForOrderHub"


@pytest.fixture(scope="module")
def pod() -> Iterator[str]:
    with run_sandbox("--only", "oracle", "--oracle-port", str(free_port()), "--prestashop-port", str(free_port()),
                     "--orders", "200", "--seed", "3", "--oracle-client-id", "cid",
                     "--oracle-client-secret", "secret") as url:
        yield url


def make_client(pod: str, framework_version: int = 4, auth: OAuth2ClientCredentials | None = None) -> FusionClient:
    auth = auth or OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", "secret")
    return FusionClient(pod, auth=auth, timeout=15, framework_version=framework_version,
                        retries=RetryPolicy(backoff=0.05, max_backoff=0.5, budget=30))


@pytest.fixture(scope="module")
def client(pod: str) -> Iterator[FusionClient]:
    with make_client(pod) as c:
        yield c


@pytest.fixture(scope="module")
def world(client: FusionClient) -> dict[str, Any]:
    """Accounts and SKUs of the seeded pod the tests order with."""
    webshop = next(client.search_accounts(fq.ge("CreditLimit", 1_000_000) & fq.eq("Status", "A"),
                                          PartyType="ORGANIZATION", CurrencyCode="EUR"))
    low = next(client.search_accounts(fq.lt("CreditLimit", 1000) & fq.eq("Status", "A")))
    inactive_party = next(client.search_accounts(Status="I"))
    eur = next(client.price_lists(fq.eq("CurrencyCode", "EUR") & fq.eq("StatusCode", "APPROVED")))
    priced = {row["Item"]: row["charges"][0]["BasePrice"] for row in client.price_list_charges(eur["PriceListId"])}
    active = [r["ItemNumber"] for r in client.iter_collection(
        "itemsV2", q=fq.eq("ItemStatusValue", "Active") & fq.eq("CustomerOrderEnabledFlag", True),
        fields="ItemNumber", order_by="ItemNumber:asc")]
    inactive = next(client.iter_collection("itemsV2", q=fq.eq("ItemStatusValue", "Inactive")))["ItemNumber"]
    skus = [s for s in active if s in priced][:4]
    assert len(skus) == 4
    return {"party": webshop["PartyNumber"], "low_party": low["PartyNumber"],
            "inactive_party": inactive_party["PartyNumber"], "skus": skus, "prices": priced,
            "price_list": eur["PriceListId"], "inactive_sku": inactive}


def order(source_id: str, party: str, skus: list[str], qty: float = 1, submitted: bool = True,
          **extra: Any) -> dict[str, Any]:
    return {
        "SourceTransactionNumber": f"PS-{source_id}", "SourceTransactionSystem": "PSHOP",
        "SourceTransactionId": source_id, "BusinessUnitId": 204, "BuyingPartyNumber": party,
        "TransactionalCurrencyCode": "EUR", "SubmittedFlag": submitted,
        "lines": [{"SourceTransactionLineId": str(i), "SourceTransactionLineNumber": str(i), "ProductNumber": sku,
                   "OrderedQuantity": qty, "OrderedUOMCode": "Ea"} for i, sku in enumerate(skus, start=1)],
        **extra,
    }


def pod_now(pod: str) -> dt.datetime:
    return dt.datetime.fromisoformat(requests.get(f"{pod}/sandbox/clock", timeout=5).json()["now"])


def advance(pod: str, minutes: int) -> None:
    requests.post(f"{pod}/sandbox/clock/advance", params={"minutes": minutes}, timeout=30).raise_for_status()


# ------------------------------------------------------------------------------------------------- auth


def test_one_token_for_many_requests_and_threads(pod: str) -> None:
    auth = OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", "secret")
    client = make_client(pod, auth=auth)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                client.get("itemsV2", {"limit": 1, "onlyData": "true"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert auth.token_fetches == 1
    assert client.stats.requests == 41  # 40 reads + the one token request
    # a second client sharing the credentials object shares the token too
    make_client(pod, auth=auth).get("itemsV2", {"limit": 1})
    assert auth.token_fetches == 1


def test_wrong_secret_is_an_auth_error_without_the_secret(pod: str) -> None:
    auth = OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", "not-the-secret")
    with pytest.raises(FusionError) as info:
        make_client(pod, auth=auth).get("itemsV2")
    assert info.value.reason_class == "auth" and "not-the-secret" not in str(info.value)


# ------------------------------------------------------------------------------------------------- paging and q


def test_paging_with_limit_7_returns_every_account_once(client: FusionClient) -> None:
    everything = client.collection("accounts", fields="PartyId", order_by="PartyId:asc", limit=500)
    assert len(everything) > 7 * 3
    before = client.stats.requests
    paged = [row["PartyId"] for row in client.iter_collection("accounts", fields="PartyId", order_by="PartyId:asc",
                                                             limit=7)]
    assert sorted(paged) == sorted(r["PartyId"] for r in everything)
    assert len(paged) == len(set(paged))
    assert client.stats.requests - before == math.ceil(len(everything) / 7)  # one GET per page, no extra


@pytest.mark.parametrize("framework_version", [4, 1])
def test_q_round_trip_on_last_update_date_and_status(pod: str, world: dict, framework_version: int) -> None:
    client = make_client(pod, framework_version=framework_version)
    start = pod_now(pod)
    tag = f"q{framework_version}"
    for i in range(6):
        client.create_sales_order(order(f"{tag}-{i}", world["party"], world["skus"][:2], submitted=i % 3 != 0))
    advance(pod, 600)  # ship some: orders move on and LastUpdateDate changes
    every = client.collection(ORDERS, fields="HeaderId,StatusCode,LastUpdateDate,SourceTransactionId",
                              order_by="HeaderId:asc")
    cut = start + dt.timedelta(seconds=1)
    statuses = ["OPEN", "DOO_DRAFT"]
    flt = fq.gt("LastUpdateDate", cut) & fq.in_("StatusCode", statuses)
    got = {r["HeaderId"] for r in client.iter_collection(ORDERS, q=flt, fields="HeaderId", limit=3)}
    want = {r["HeaderId"] for r in every
            if dt.datetime.fromisoformat(r["LastUpdateDate"]) > cut and r["StatusCode"] in statuses}
    assert want and got == want
    assert len(want) < len(every)  # the filter did filter
    assert any(r["SourceTransactionId"].startswith(tag) for r in every if r["HeaderId"] in got)
    # the same through the helper the order-status flow uses
    changed = {r["HeaderId"] for r in client.orders_changed_since(cut) if r["StatusCode"] in statuses}
    assert changed == want


@pytest.mark.parametrize("framework_version", [4, 1])
def test_quoted_values_reach_the_pod_intact(pod: str, framework_version: int) -> None:
    client = make_client(pod, framework_version=framework_version)
    nasty = f"Bob's \"Shop\"; x' or 'a'='a ) and not (1=1 -- v{framework_version}"
    created = client.post("accounts", {"OrganizationName": nasty, "PartyType": "ORGANIZATION"})
    found = list(client.search_accounts(OrganizationName=nasty))
    assert [a["PartyId"] for a in found] == [created["PartyId"]]
    assert list(client.search_accounts(OrganizationName=nasty + "'")) == []


# ------------------------------------------------------------------------------------------------- create


def test_creating_the_same_order_twice_leaves_one_order(client: FusionClient, world: dict) -> None:
    payload = order("twice-1", world["party"], world["skus"][:2])
    first = client.create_sales_order(payload)
    second = client.create_sales_order(payload)
    assert first.created and not second.created
    assert (first.header_id, first.order_number) == (second.header_id, second.order_number)
    assert first.status == "OPEN" and first.key == "PSHOP:twice-1"
    rows = client.collection(ORDERS, q=fq.eq("SourceTransactionId", "twice-1"), fields="HeaderId")
    assert rows == [{"HeaderId": first.header_id}]


def test_get_item_404_is_none_and_drafts_get_submitted(client: FusionClient, world: dict) -> None:
    assert client.get_sales_order("PSHOP:never-created") is None
    assert client.get_item("accounts", "no-such-party") is None
    draft = client.create_sales_order(order("draft-1", world["party"], world["skus"][:1], submitted=False))
    assert draft.status == "DOO_DRAFT"
    assert client.submit_order("PSHOP:draft-1")["StatusCode"] == "OPEN"
    assert client.submit_order("PSHOP:draft-1")["StatusCode"] == "OPEN"  # again: harmless
    full = client.get_sales_order("PSHOP:draft-1", expand="lines")
    assert full is not None and full["HeaderId"] == draft.header_id
    lines = full["lines"]["items"] if isinstance(full["lines"], dict) else full["lines"]
    assert [ln["ProductNumber"] for ln in lines] == world["skus"][:1]


@pytest.mark.parametrize("framework_version", [4, 1])
def test_business_errors_are_classified(pod: str, world: dict, framework_version: int) -> None:
    client = make_client(pod, framework_version=framework_version)
    v = framework_version
    cases = [
        ("mapping_missing", order(f"err{v}-sku", world["party"], ["NO-SUCH-SKU-42"])),
        ("mapping_missing", order(f"err{v}-party", "99999999", world["skus"][:1])),
        ("business_rule", order(f"err{v}-credit", world["low_party"], world["skus"][:1], qty=500)),
        ("business_rule", order(f"err{v}-inactive-sku", world["party"], [world["inactive_sku"]])),
        ("business_rule", order(f"err{v}-inactive-party", world["inactive_party"], world["skus"][:1])),
        ("invalid_data", {k: val for k, val in order(f"err{v}-field", world["party"], world["skus"][:1]).items()
                          if k != "TransactionalCurrencyCode"}),
        ("invalid_data", order(f"err{v}-qty", world["party"], world["skus"][:1], qty=-2)),
    ]
    for expected, payload in cases:
        with pytest.raises(FusionError) as info:
            client.create_sales_order(payload)
        assert info.value.reason_class == expected, (payload["SourceTransactionId"], str(info.value))
        assert info.value.status == 400 and info.value.detail
        if v >= 4:
            assert info.value.path and info.value.error_code  # the JSON error document carries them
    # duplicate through a raw POST (the idempotent create would have looked it up first)
    payload = order(f"err{v}-dup", world["party"], world["skus"][:1])
    client.post(ORDERS, payload)
    with pytest.raises(FusionError) as info:
        client.post(ORDERS, payload)
    assert info.value.reason_class == "duplicate"
    assert client.create_sales_order(payload).created is False


def test_missing_key_is_invalid_data_without_a_request(client: FusionClient) -> None:
    before = client.stats.requests
    with pytest.raises(FusionError) as info:
        client.create_sales_order({"SourceTransactionSystem": "PSHOP"})
    assert info.value.reason_class == "invalid_data" and client.stats.requests == before


# ------------------------------------------------------------------------------------------------- batch


def test_batch_runs_parts_and_rolls_back_on_failure(client: FusionClient, world: dict) -> None:
    client.create_sales_order(order("batch-0", world["party"], world["skus"][:1]))
    results = client.batch([
        {"path": f"/{ORDERS}/PSHOP:batch-0", "operation": "get"},
        {"id": "mk", "path": ORDERS, "operation": "create",
         "payload": order("batch-1", world["party"], world["skus"][:1])},
    ])
    assert [r.id for r in results] == ["part1", "mk"]
    assert results[0].payload["SourceTransactionId"] == "batch-0"
    assert results[1].payload["SourceTransactionId"] == "batch-1" and results[1].payload["HeaderId"]
    with pytest.raises(FusionError) as info:
        client.batch([
            {"id": "ok", "path": ORDERS, "operation": "create",
             "payload": order("batch-2", world["party"], world["skus"][:1])},
            {"id": "bad", "path": ORDERS, "operation": "create",
             "payload": order("batch-3", world["party"], ["NO-SUCH-SKU-43"])},
        ])
    assert info.value.reason_class == "mapping_missing" and "bad" in str(info.value)
    assert client.get_sales_order("PSHOP:batch-2") is None  # all or nothing


# ------------------------------------------------------------------------------------------------- flow reads


def test_reads_the_flows_use(pod: str, client: FusionClient, world: dict) -> None:
    start = pod_now(pod)
    made = [client.create_sales_order(order(f"life-{i}", world["party"], world["skus"][i % 3:i % 3 + 2], qty=1))
            for i in range(5)]
    numbers = {m.order_number for m in made}
    advance(pod, 7 * 24 * 60)  # ship, invoice, pay
    lines = [ln for ln in client.shipment_lines_changed_since(start) if ln["Order"] in numbers]
    assert {ln["Order"] for ln in lines} == numbers
    assert all(ln["TrackingNumber"] for ln in lines if ln["LineStatusCode"] == "C")
    middle = start + dt.timedelta(days=3)
    early = {ln["ShipmentLine"] for ln in client.shipment_lines_changed_since(start, middle)}
    late = {ln["ShipmentLine"] for ln in client.shipment_lines_changed_since(middle)}
    assert not early & late  # consecutive windows do not overlap
    invoices = [inv for inv in client.invoices_changed_since(start)
                if any(il["SalesOrder"] in numbers for il in inv["receivablesInvoiceLines"])]
    assert numbers <= {il["SalesOrder"] for inv in invoices for il in inv["receivablesInvoiceLines"]}
    assert invoices and all(isinstance(inv["receivablesInvoiceLines"], list) for inv in invoices)
    receipts = list(client.receipts_changed_since(start))
    assert receipts and all(r["StandardReceiptId"] for r in receipts)
    with_lines = [o for o in client.orders_changed_since(start, with_lines=True)
                  if o["OrderNumber"] in numbers]
    assert len(with_lines) == 5 and all(isinstance(o["lines"], list) and o["lines"] for o in with_lines)
    onhand = list(client.onhand_balances("M1", world["skus"], chunk_size=3))
    assert {r["ItemNumber"] for r in onhand} == set(world["skus"])
    assert all(r["OrganizationCode"] == "M1" for r in onhand)
    charges = list(client.price_list_charges(world["price_list"], world["skus"][:2]))
    assert {c["Item"] for c in charges} == set(world["skus"][:2])
    assert all(c["charges"] and c["charges"][0]["BasePrice"] > 0 for c in charges)
