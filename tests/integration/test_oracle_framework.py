"""The Fusion emulator speaks the ADF REST framework: envelopes, q, fields, expand, orderBy, finders, links, batch,
errors and authentication, over real HTTP against ``prestaoracle sandbox --only oracle``.

Every expectation cites its section of ``shared/reference/oracle-fusion-and-ebs.md`` (the contract); [VERIFY]
choices come from ``prestaoracle.sandbox.oracle.contract``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests
from conftest import free_port
from support.oracle_pod import CRM, Pod
from support.sandbox import run_sandbox

from prestaoracle.sandbox.oracle import contract

pytestmark = pytest.mark.xdist_group("oracle_framework")

USER, SECRET = "prestaoracle-sandbox", "FRAMEWORK-SECRET-42"
COLLECTION_KEYS = ["items", "count", "hasMore", "limit", "offset", "links"]
BATCH = "application/vnd.oracle.adf.batch+json"


def order_payload(source_id: str, sku: str, party: str = "1007", qty: float = 1, submitted: bool = True) -> dict:
    return {
        "SourceTransactionNumber": f"PS-{source_id}", "SourceTransactionSystem": "PSHOP",
        "SourceTransactionId": source_id, "BusinessUnitId": 204, "BuyingPartyNumber": party,
        "TransactionalCurrencyCode": "EUR", "RequestedFulfillmentOrganizationCode": "M1", "SubmittedFlag": submitted,
        "billToCustomer": [{"PartyName": "Webshop"}], "shipToCustomer": [{"Address1": "1 rue Haute", "City": "Lyon"}],
        "lines": [{"SourceTransactionLineId": "1", "SourceTransactionLineNumber": "1", "ProductNumber": sku,
                   "OrderedQuantity": qty, "OrderedUOMCode": "Ea"}],
    }


@pytest.fixture(scope="session")
def pod() -> Iterator[Pod]:
    port = free_port()
    with run_sandbox("--only", "oracle", "--oracle-port", str(port), "--orders", "200", "--seed", "3",
                     "--end", "2026-03-01", "--oracle-clock-start", "2026-03-01T00:00:00",
                     "--oracle-client-secret", SECRET, "--oracle-token-ttl", "2", "--workers", "1") as base:
        yield Pod(base, USER, SECRET)


@pytest.fixture(scope="session")
def skus(pod: Pod) -> list[str]:
    """Active, orderable item numbers, in ItemNumber order."""
    body = pod.get("/itemsV2", q="ItemStatusValue=Active", orderBy="ItemNumber", limit=500, onlyData="true").json()
    return [i["ItemNumber"] for i in body["items"]]


@pytest.fixture(scope="session")
def order(pod: Pod, skus: list[str]) -> dict:
    """One submitted order with one line, for the item-shape tests."""
    resp = pod.post("/salesOrdersForOrderHub", order_payload("F-1", skus[0]))
    assert resp.status_code == 201, resp.text
    return resp.json()


# --------------------------------------------------------------------------------------------- envelope and paging


def test_collection_envelope_and_default_page(pod: Pod) -> None:
    """§2.2: collections are exactly ``items, count, hasMore, limit, offset, links``; §2.1: the default page is 25."""
    resp = pod.get("/itemsV2")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/vnd.oracle.adf.resourcecollection+json")
    body = resp.json()
    assert list(body) == COLLECTION_KEYS
    assert body["limit"] == contract.DEFAULT_LIMIT == 25
    assert body["offset"] == 0 and body["count"] == len(body["items"]) == 25 and body["hasMore"] is True
    (self_link,) = body["links"]
    assert self_link["rel"] == "self" and self_link["kind"] == "collection" and self_link["name"] == "itemsV2"
    assert "limit=25" in self_link["href"] and "offset=0" in self_link["href"]


def test_total_results_and_paging_by_count(pod: Pod) -> None:
    """§2.2: ``totalResults`` appears only on request; paging with ``offset += count`` reads every row once."""
    first = pod.get("/itemsV2", totalResults="true", limit=10).json()
    assert list(first) == ["items", "totalResults", "count", "hasMore", "limit", "offset", "links"]
    total = first["totalResults"]
    assert total > 10
    seen, offset = [], 0
    while True:
        page = pod.get("/itemsV2", limit=10, offset=offset, orderBy="ItemId", onlyData="true").json()
        seen += [i["ItemId"] for i in page["items"]]
        offset += page["count"]
        if not page["hasMore"]:
            break
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen)


def test_limit_is_capped_at_500(pod: Pod) -> None:
    """§2.1/§8.2: the maximum page is 500 (contract: capped, not refused); limit 0 or junk is a 400."""
    body = pod.get("/priceLists/300100090000001/child/items", limit=1000, onlyData="true").json()
    assert contract.LIMIT_OVER_MAX == "cap"
    assert body["limit"] == contract.MAX_LIMIT == 500
    assert body["count"] == len(body["items"]) > 25 and body["hasMore"] is False
    assert pod.get("/itemsV2", limit=0).status_code == 400
    assert pod.get("/itemsV2", limit="ten").status_code == 400
    assert pod.get("/itemsV2", offset="-1").status_code == 400


# --------------------------------------------------------------------------------------------- q, finder, orderBy


def test_q_query_by_example_v1(pod: Pod, skus: list[str]) -> None:
    """§2.1: framework v1 (no header) reads ``q`` as QBE: ``;`` is AND, values unquoted; §1.4 on-hand by org+item."""
    body = pod.get("/inventoryOnhandBalances", q=f"OrganizationCode=M1;ItemNumber={skus[1]}", onlyData="true").json()
    assert [(i["OrganizationCode"], i["ItemNumber"]) for i in body["items"]] == [("M1", skus[1])]
    other = pod.get("/inventoryOnhandBalances", q="OrganizationCode=V1", onlyData="true").json()["items"]
    assert other and {i["OrganizationCode"] for i in other} == {"V1"}
    # Range shorthand on one attribute: ItemId>=a and <=b.
    body = pod.get("/itemsV2", q="ItemId>=100002 and <=100004", onlyData="true").json()
    assert [i["ItemId"] for i in body["items"]] == [100002, 100003, 100004]


def test_q_rowmatch_from_framework_v2(pod: Pod, skus: list[str]) -> None:
    """§2.1: from ``REST-Framework-Version: 2`` q is rowmatch (quoted strings, and/or); QBE is refused there."""
    v2 = {"REST-Framework-Version": "2"}
    q = f"ItemNumber = '{skus[0]}' or ItemNumber = '{skus[2]}'"
    body = pod.get("/itemsV2", headers=v2, q=q, onlyData="true").json()
    assert sorted(i["ItemNumber"] for i in body["items"]) == sorted([skus[0], skus[2]])
    assert contract.ROWMATCH_FALLS_BACK_TO_QBE is False
    assert pod.get("/itemsV2", headers=v2, q=f"ItemNumber={skus[0]};OrganizationCode=M1").status_code == 400
    # The rowmatch expression is not QBE: under v1 it is a 400.
    assert pod.get("/itemsV2", q=q).status_code == 400
    # ``in`` needs a newer framework (contract.IN_OPERATOR_MIN_VERSION).
    q_in = f"ItemNumber in ('{skus[0]}', '{skus[2]}')"
    assert pod.get("/itemsV2", headers=v2, q=q_in).status_code == 400
    newer = {"REST-Framework-Version": str(contract.IN_OPERATOR_MIN_VERSION)}
    assert pod.get("/itemsV2", headers=newer, q=q_in, onlyData="true").json()["count"] == 2
    # A non-queryable or unknown attribute is a 400 (§7.4).
    assert pod.get("/itemsV2", q="NoSuchAttribute=1").status_code == 400


def test_finder_primary_key_and_order_by(pod: Pod) -> None:
    """§2.1: ``finder=PrimaryKey;Key=value`` binds the key; ``orderBy=Attr:desc`` sorts; bad names are 400s."""
    body = pod.get("/itemsV2", finder="PrimaryKey;ItemId=100003", onlyData="true").json()
    assert [i["ItemId"] for i in body["items"]] == [100003]
    assert pod.get("/itemsV2", finder="NoSuchFinder;ItemId=1").status_code == 400
    desc = pod.get("/itemsV2", orderBy="ItemNumber:desc", limit=500, onlyData="true").json()["items"]
    numbers = [i["ItemNumber"] for i in desc]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) > 25
    assert pod.get("/itemsV2", orderBy="ItemNumber:sideways").status_code == 400
    assert pod.get("/itemsV2", orderBy="Nope").status_code == 400


# --------------------------------------------------------------------------------------------- shaping


def test_fields_and_only_data(pod: Pod) -> None:
    """§2.1: ``fields`` keeps the listed attributes (definition order), ``onlyData=true`` drops links."""
    item = pod.get("/itemsV2", fields="ItemNumber,ItemId", limit=1).json()["items"][0]
    assert list(item) == ["ItemId", "ItemNumber", "links"]
    bare = pod.get("/itemsV2", fields="ItemNumber,ItemId", onlyData="true", limit=1).json()["items"][0]
    assert list(bare) == ["ItemId", "ItemNumber"]
    full = pod.get("/itemsV2", limit=1, onlyData="true").json()["items"][0]
    assert "links" not in full and "LastUpdateDate" in full and "ItemDescription" in full
    assert pod.get("/itemsV2", fields="ItemId,NoSuchField").status_code == 400
    assert pod.get("/itemsV2", onlyData="maybe").status_code == 400


def test_expand_is_bare_list_before_v3_and_collection_from_v3(pod: Pod, order: dict) -> None:
    """§2.1/§2.2: ``expand=lines`` inlines the child: a bare array for v1/v2, a collection object for v3+."""
    path = f"/salesOrdersForOrderHub/{order['HeaderId']}"
    for version in ("1", "2"):
        body = pod.get(path, headers={"REST-Framework-Version": version}, expand="lines", onlyData="true").json()
        assert isinstance(body["lines"], list) and len(body["lines"]) == 1
        assert body["lines"][0]["HeaderId"] == order["HeaderId"]
    body = pod.get(path, headers={"REST-Framework-Version": "3"}, expand="lines", onlyData="true").json()
    lines = body["lines"]
    assert isinstance(lines, dict)
    assert lines["count"] == 1 and lines["hasMore"] is False and lines["items"][0]["HeaderId"] == order["HeaderId"]
    # Without expand the children are links only.
    plain = pod.get(path).json()
    assert "lines" not in plain
    assert {x["name"] for x in plain["links"] if x["rel"] == "child"} >= {"lines", "billToCustomer", "shipToCustomer"}
    # expand=all expands every child; fields on a child expands just that child with the listed attributes.
    every = pod.get(path, expand="all", onlyData="true").json()
    assert {"lines", "billToCustomer", "shipToCustomer"} <= set(every)
    shaped = pod.get(path, fields="HeaderId;lines:LineId,StatusCode", onlyData="true").json()
    assert list(shaped) == ["HeaderId", "lines"]
    assert list(shaped["lines"][0]) == ["LineId", "StatusCode"]
    assert pod.get(path, expand="nosuchchild").status_code == 400


def test_item_links_and_links_parameter(pod: Pod, order: dict) -> None:
    """§1.3/§2.2: items carry ``self`` (with ``changeIndicator``), ``canonical`` and ``child`` links; §2.1:
    ``links=self`` keeps only the relations named."""
    key = f"PSHOP:{order['SourceTransactionId']}"
    body = pod.get(f"/salesOrdersForOrderHub/{key}").json()
    rels = [x["rel"] for x in body["links"]]
    assert rels[:2] == ["self", "canonical"] and "child" in rels
    self_link = body["links"][0]
    assert self_link["href"] == pod.url(f"/salesOrdersForOrderHub/{key}")
    assert self_link["kind"] == "item" and self_link["properties"]["changeIndicator"]
    child = next(x for x in body["links"] if x["name"] == "lines")
    assert child["href"] == pod.url(f"/salesOrdersForOrderHub/{key}/child/lines") and child["kind"] == "collection"
    # The child collection's items link back to their parent.
    line = pod.get(f"/salesOrdersForOrderHub/{key}/child/lines").json()["items"][0]
    parent = next(x for x in line["links"] if x["rel"] == "parent")
    assert parent["href"] == pod.url(f"/salesOrdersForOrderHub/{key}")
    only_self = pod.get(f"/salesOrdersForOrderHub/{key}", links="self").json()
    assert [x["rel"] for x in only_self["links"]] == ["self"]
    listing = pod.get("/itemsV2", links="self,canonical", limit=2).json()
    assert all([x["rel"] for x in i["links"]] == ["self", "canonical"] for i in listing["items"])
    assert pod.get("/itemsV2", links="bogus").status_code == 400


# --------------------------------------------------------------------------------------------- batch


def test_batch_runs_parts_in_order(pod: Pod, skus: list[str]) -> None:
    """§2.3: a batch at the version root runs ``parts`` in order; a later part sees an earlier part's write."""
    parts = [
        {"id": "p1", "path": "/salesOrdersForOrderHub", "operation": "create",
         "payload": order_payload("B-1", skus[3])},
        {"id": "p2", "path": "/salesOrdersForOrderHub/PSHOP:B-1", "operation": "get"},
        {"id": "p3", "path": "/salesOrdersForOrderHub/PSHOP:B-1", "operation": "update",
         "payload": {"CustomerPONumber": "PO-B-1"}},
    ]
    resp = pod.s.post(pod.url(""), data=json.dumps({"parts": parts}), headers={"Content-Type": BATCH}, timeout=30)
    assert resp.status_code == 200, resp.text
    out = resp.json()["parts"]
    assert [(p["id"], p["operation"]) for p in out] == [("p1", "create"), ("p2", "get"), ("p3", "update")]
    assert out[1]["payload"]["HeaderId"] == out[0]["payload"]["HeaderId"]
    assert out[2]["payload"]["CustomerPONumber"] == "PO-B-1"
    assert pod.get("/salesOrdersForOrderHub/PSHOP:B-1").json()["CustomerPONumber"] == "PO-B-1"


def test_batch_is_all_or_nothing(pod: Pod, skus: list[str]) -> None:
    """§2.3: parts run in one transaction; a failing part rolls back the earlier ones and is reported."""
    parts = [
        {"id": "ok", "path": "/salesOrdersForOrderHub", "operation": "create",
         "payload": order_payload("B-2", skus[4])},
        {"id": "bad", "path": "/salesOrdersForOrderHub", "operation": "create",
         "payload": order_payload("B-3", "NO-SUCH-SKU")},
    ]
    resp = pod.s.post(pod.url(""), data=json.dumps({"parts": parts}), headers={"Content-Type": BATCH}, timeout=30)
    assert resp.status_code == 400
    (failed,) = resp.json()["parts"]
    assert failed["id"] == "bad"
    assert failed["payload"]["o:errorDetails"][0]["o:errorCode"] == contract.CODE_UNKNOWN_ITEM
    assert pod.get("/salesOrdersForOrderHub/PSHOP:B-2").status_code == 404  # the first part was rolled back
    assert pod.get("/salesOrdersForOrderHub", q="SourceTransactionId=B-2").json()["count"] == 0
    # A batch must be sent as the batch media type (§1.1).
    assert pod.s.post(pod.url(""), json={"parts": parts}, timeout=30).status_code == 415


# --------------------------------------------------------------------------------------------- errors


def test_errors_plain_text_by_default_json_from_v4(pod: Pod) -> None:
    """§1.3/§2.4: a 400 is plain text by default (v1–3, or v4 without JSON Accept); v4 with a JSON Accept gets
    ``{type, title, status, o:errorDetails[{detail, o:errorCode, o:errorPath}]}``."""
    bad = order_payload("E-1", "NO-SUCH-SKU")
    for headers in ({}, {"REST-Framework-Version": "3", "Accept": "application/json"}, {"REST-Framework-Version": "4"}):
        resp = pod.post("/salesOrdersForOrderHub", bad, headers=headers)
        assert resp.status_code == 400
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert "NO-SUCH-SKU" in resp.text and not resp.text.lstrip().startswith("{")
    for accept in ("application/json", "application/vnd.oracle.adf.error+json"):
        resp = pod.post("/salesOrdersForOrderHub", bad, headers={"REST-Framework-Version": "4", "Accept": accept})
        assert resp.status_code == 400
        assert resp.headers["Content-Type"].startswith("application/vnd.oracle.adf.error+json")
        doc = resp.json()
        assert doc["title"] == "Bad Request" and doc["status"] == "400"
        (detail,) = doc["o:errorDetails"]
        assert "NO-SUCH-SKU" in detail["detail"]
        assert detail["o:errorCode"] == contract.CODE_UNKNOWN_ITEM
        assert detail["o:errorPath"] == "/lines/0/ProductNumber"
    assert pod.get("/itemsV2", headers={"REST-Framework-Version": "99"}).status_code == 400


def test_http_statuses_oracle_gives(pod: Pod, order: dict) -> None:
    """§1.3 "Other statuses" / §7: 404 unknown resource or key, 405 method, 406 Accept, 412 If-Match, 415 body type.

    The emulator answers 403 and 409 nowhere: there are no roles to miss, and a duplicate order is a 400 (§1.3).
    """
    key = f"/salesOrdersForOrderHub/{order['HeaderId']}"
    assert pod.get("/noSuchResource").status_code == 404
    assert pod.get("/salesOrdersForOrderHub/PSHOP:never-created").status_code == 404
    assert pod.get("/salesOrdersForOrderHub/12345").status_code == 404
    assert pod.get(f"{key}/child/noSuchChild").status_code == 404
    assert pod.s.get(f"{pod.base}/fscmRestApi/resources/10.0/itemsV2", timeout=30).status_code == 404
    assert pod.s.delete(pod.url("/itemsV2/100001"), timeout=30).status_code == 405
    assert pod.s.put(pod.url(key), json={}, timeout=30).status_code == 405
    assert pod.s.get(pod.url(""), timeout=30).status_code == 405  # the catalog takes batches only
    assert pod.s.post(pod.url("/itemsV2"), json={}, timeout=30).status_code == 405
    assert pod.get("/itemsV2", headers={"Accept": "application/xml"}).status_code == 406
    assert pod.s.patch(pod.url(key), data="CustomerPONumber=x", timeout=30,
                       headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
    # Optimistic locking: a stale change indicator is a 412, the current one (the ETag) goes through.
    etag = pod.get(key).headers["ETag"]
    assert pod.patch(key, {"CustomerPONumber": "PO-412"}, headers={"If-Match": "0000STALE"}).status_code == 412
    ok = pod.patch(key, {"CustomerPONumber": "PO-412"}, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.json()["CustomerPONumber"] == "PO-412"
    assert ok.headers["ETag"] != etag
    assert pod.patch(key, {"CustomerPONumber": "again"}, headers={"If-Match": etag}).status_code == 412


def test_latest_alias_and_crm_root(pod: Pod) -> None:
    """§1.1: ``latest`` stands for the resource version; accounts live under ``/crmRestApi`` only (§1.2)."""
    latest = pod.s.get(f"{pod.base}/fscmRestApi/resources/latest/itemsV2", params={"limit": 3}, timeout=30)
    assert latest.status_code == 200
    assert [i["ItemId"] for i in latest.json()["items"]] == [i["ItemId"] for i in pod.get("/itemsV2", limit=3)
                                                             .json()["items"]]
    assert pod.get("/accounts", root=CRM, limit=1).status_code == 200
    assert pod.get("/accounts").status_code == 404


# --------------------------------------------------------------------------------------------- authentication


def token(pod: Pod, **form: str) -> requests.Response:
    return requests.post(f"{pod.base}/oauth2/v1/token", data={"grant_type": "client_credentials", **form},
                         auth=None if "client_id" in form else (USER, SECRET), timeout=30)


def test_basic_auth_and_401s(pod: Pod) -> None:
    """§2.6: Basic with the integration user works; no or wrong credentials are a 401 with ``WWW-Authenticate``."""
    assert pod.get("/itemsV2", limit=1).status_code == 200
    for auth in (None, (USER, "wrong"), ("someone", SECRET)):
        resp = requests.get(pod.url("/itemsV2"), auth=auth, timeout=30)
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"].startswith("Basic")
    resp = requests.get(pod.url("/itemsV2"), headers={"Authorization": "Bearer not-a-token"}, timeout=30)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_oauth_client_credentials_token_and_expiry(pod: Pod) -> None:
    """§2.6: ``POST /oauth2/v1/token`` (client_credentials, client by Basic or form) gives an expiring bearer token;
    a bad client is 401, another grant 400; the token works until ``expires_in`` (``--oracle-token-ttl 2``) ends,
    then it is a 401 and a fresh token works again."""
    for _try in range(3):  # on a loaded machine the first use might come after the 2 s: then take another token
        issued = time.monotonic()
        resp = token(pod)
        assert resp.status_code == 200
        body = resp.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 2 and body["access_token"]
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        used = requests.get(pod.url("/itemsV2"), headers=bearer, params={"limit": 1}, timeout=30)
        if time.monotonic() - issued < 1.5:
            break
    assert used.status_code == 200
    via_form = token(pod, client_id=USER, client_secret=SECRET)
    assert via_form.status_code == 200 and via_form.json()["access_token"] != body["access_token"]
    bad = token(pod, client_id=USER, client_secret="nope")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    other = requests.post(f"{pod.base}/oauth2/v1/token", data={"grant_type": "password"}, auth=(USER, SECRET),
                          timeout=30)
    assert other.status_code == 400 and other.json()["error"] == "unsupported_grant_type"
    time.sleep(3)
    expired = requests.get(pod.url("/itemsV2"), headers=bearer, timeout=30)
    assert expired.status_code == 401 and expired.headers["WWW-Authenticate"].startswith("Bearer")
    fresh = {"Authorization": f"Bearer {token(pod).json()['access_token']}"}
    assert requests.get(pod.url("/itemsV2"), headers=fresh, params={"limit": 1}, timeout=30).status_code == 200
