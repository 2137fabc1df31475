"""Writes racing each other on a pod served by several worker processes, on SQLite and PostgreSQL stores.

Clients post in parallel (an Airflow pool, two DAG runs, a retry that overtakes its original): every create must
succeed with its own keys, a key may never be handed out twice, and what Oracle keeps unique (an order's
``SourceTransactionSystem:SourceTransactionId``) stays unique however the requests interleave. Sections cited are
of ``shared/reference/oracle-fusion-and-ebs.md``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import free_port
from support.oracle_pod import CRM, FSCM, V4_JSON, Pod
from support.oracle_store import pod_store
from support.sandbox import run_sandbox

from prestaoracle.sandbox.oracle import contract

USER, SECRET = "prestaoracle-sandbox", "CONCURRENT-WRITES-SECRET"
ORDERS = "/salesOrdersForOrderHub"
THREADS = 16


@pytest.fixture(scope="module", params=[
    pytest.param("sqlite", marks=pytest.mark.xdist_group("oracle_writes_sqlite")),
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.xdist_group("oracle_writes_pg")]),
])
def pod(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pod]:
    workdir: Path = tmp_path_factory.mktemp(f"oracle-writes-{request.param}")
    with pod_store(request.param, workdir, "prestaoracle_oracle_writes") as store, run_sandbox(
            "--only", "oracle", "--oracle-port", str(free_port()), "--orders", "120", "--seed", "21",
            "--end", "2026-03-01", "--oracle-clock-start", "2026-03-01T00:00:00+00:00",
            "--oracle-client-secret", SECRET, "--workers", "4", *store.args) as base:
        yield Pod(base, USER, SECRET, backend=request.param)


@pytest.fixture(scope="module")
def webshop(pod: Pod) -> dict[str, Any]:
    accounts = pod.items("/accounts", CRM, q="OrganizationName=Webshop Customers FR")
    items = {i["ItemNumber"] for i in pod.items("/itemsV2", q="ItemStatusValue=Active")}
    stocked = sorted(r["ItemNumber"] for r in pod.items("/inventoryOnhandBalances", q="OrganizationCode=M1")
                     if r["PrimaryQuantity"] > 50 and r["ItemNumber"] in items)
    return {"account": accounts[0], "skus": stocked}


def in_parallel(fn: Callable[[int], requests.Response], n: int = THREADS) -> list[requests.Response]:
    """Run ``fn(0..n-1)`` on ``n`` threads released together, each with its own connection."""
    start = threading.Barrier(n)

    def run(i: int) -> requests.Response:
        start.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def post(pod: Pod, path: str, body: dict, root: str = FSCM, **headers: str) -> requests.Response:
    # A session per call: parallel requests on one pooled session would serialise on its connections.
    return requests.post(pod.url(path, root), json=body, auth=pod.s.auth, headers={**V4_JSON, **headers}, timeout=60)


def order(source_id: str, party: str, sku: str) -> dict:
    return {
        "SourceTransactionNumber": f"PS-{source_id}", "SourceTransactionSystem": "PSHOP",
        "SourceTransactionId": source_id, "BusinessUnitId": 204, "BuyingPartyNumber": party,
        "TransactionalCurrencyCode": "EUR", "RequestedFulfillmentOrganizationCode": "M1", "SubmittedFlag": True,
        "lines": [{"SourceTransactionLineId": "1", "SourceTransactionLineNumber": "1", "ProductNumber": sku,
                   "OrderedQuantity": 1}],
    }


def test_parallel_account_creates_all_succeed_with_distinct_keys(pod: Pod) -> None:
    """§1.6 accounts POST from many clients at once: every one is 201 with its own PartyId and PartyNumber, and each
    reads back by its key (ids came from ``max(PartyId)+1`` before, so racing creates collided and failed)."""
    responses = in_parallel(lambda i: post(pod, "/accounts", {"OrganizationName": f"Parallel Shop {i}",
                                                              "Country": "FR", "CurrencyCode": "EUR"}, CRM))
    assert [r.status_code for r in responses] == [201] * THREADS, [r.text for r in responses if r.status_code != 201]
    bodies = [r.json() for r in responses]
    assert len({b["PartyId"] for b in bodies}) == THREADS
    assert len({b["PartyNumber"] for b in bodies}) == THREADS
    for body in bodies:
        again = pod.get(f"/accounts/{body['PartyNumber']}", CRM, onlyData="true").json()
        assert (again["PartyId"], again["OrganizationName"]) == (body["PartyId"], body["OrganizationName"])


def test_parallel_order_creates_all_succeed_with_distinct_keys(pod: Pod, webshop: dict) -> None:
    """§1.3 POST salesOrdersForOrderHub in parallel, one order each: all 201, HeaderId, OrderNumber and LineId
    never repeat."""
    party = webshop["account"]["PartyNumber"]
    skus = webshop["skus"]
    responses = in_parallel(lambda i: post(pod, ORDERS, order(f"PAR-{i}", party, skus[i % len(skus)])))
    assert [r.status_code for r in responses] == [201] * THREADS, [r.text for r in responses if r.status_code != 201]
    bodies = [r.json() for r in responses]
    assert len({b["HeaderId"] for b in bodies}) == len({b["OrderNumber"] for b in bodies}) == THREADS
    line_ids = [line["LineId"] for b in bodies for line in pod.items(f"{ORDERS}/{b['HeaderId']}/child/lines")]
    assert len(line_ids) == len(set(line_ids)) == THREADS


def test_parallel_creates_of_one_order_key_keep_one_order(pod: Pod, webshop: dict) -> None:
    """§1.3 "Duplicate create" under a race (a retry overtaking its original): the same
    ``SourceTransactionSystem:SourceTransactionId`` posted by many clients at once is created once; every other
    answer is the duplicate 400, and one order carries the key."""
    body = order("SAME-1", webshop["account"]["PartyNumber"], webshop["skus"][0])
    responses = in_parallel(lambda _i: post(pod, ORDERS, body))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 400: THREADS - 1}, [r.text for r in responses]
    codes = {r.json()["o:errorDetails"][0]["o:errorCode"] for r in responses if r.status_code == 400}
    assert codes == {contract.CODE_DUPLICATE_ORDER}
    assert len(pod.items(ORDERS, q="SourceTransactionId=SAME-1")) == 1


def test_parallel_upserts_of_one_order_key_keep_one_order(pod: Pod, webshop: dict) -> None:
    """§1.3 ``Upsert-Mode: true`` from many clients at once on a new key: one creates (201), the rest update the
    same order (200); one HeaderId, one order."""
    body = order("SAME-2", webshop["account"]["PartyNumber"], webshop["skus"][1])
    responses = in_parallel(lambda _i: post(pod, ORDERS, body, **{"Upsert-Mode": "true"}))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 200: THREADS - 1}, [r.text for r in responses]
    assert len({r.json()["HeaderId"] for r in responses}) == 1
    assert len(pod.items(ORDERS, q="SourceTransactionId=SAME-2")) == 1


def test_parallel_receipt_creates_all_succeed_with_distinct_ids(pod: Pod, webshop: dict) -> None:
    """§1.9 POST standardReceipts in parallel: all 201 with distinct StandardReceiptIds."""
    account = webshop["account"]["AccountNumber"]
    responses = in_parallel(lambda i: post(pod, "/standardReceipts", {
        "ReceiptNumber": f"PAR-RCPT-{i}", "ReceiptMethod": "Manual", "BusinessUnit": "Vision Operations",
        "Amount": "10.00", "Currency": "EUR", "CustomerAccountNumber": account}))
    assert [r.status_code for r in responses] == [201] * THREADS, [r.text for r in responses if r.status_code != 201]
    assert len({r.json()["StandardReceiptId"] for r in responses}) == THREADS


def test_parallel_clock_advances_add_up(pod: Pod) -> None:
    """The sandbox clock moved by several callers at once moves by the sum of their steps: no advance is lost and
    none fails (each used to read the clock, then rewrite it, so racing advances overwrote each other)."""
    before = pod.now()
    responses = in_parallel(lambda _i: requests.post(f"{pod.base}/sandbox/clock/advance", params={"minutes": 7},
                                                     timeout=60), n=8)
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    moved = datetime.fromisoformat(pod.now()) - datetime.fromisoformat(before)
    assert moved == timedelta(minutes=56)
