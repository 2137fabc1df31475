"""Oracle Fusion incremental reads and extraction against the Oracle sandbox over HTTP.

Orders are created a minute apart on the pod's clock (frozen, in the past, moved by the test), so their
``LastUpdateDate`` order is known; updates between two pages are made from a response hook on the client's own
session, right after the page they should disturb.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import free_port
from support.oracle_pod import Pod
from support.sandbox import run_sandbox

from prestaoracle.flows.extract import extract_oracle
from prestaoracle.oracle import FusionClient, OAuth2ClientCredentials, RetryPolicy
from prestaoracle.oracle import fusion_query as fq
from prestaoracle.staging import connect, watermarks

pytestmark = pytest.mark.xdist_group("extract_oracle")

ORDERS = "salesOrdersForOrderHub"
START = datetime(2026, 11, 1, tzinfo=UTC)
SINCE = START - timedelta(minutes=1)
UNTIL = START + timedelta(days=1)
CREATED = 24


class Crash(Exception):
    """A worker dying in the middle of an extraction."""


@pytest.fixture(scope="module")
def pod() -> Iterator[str]:
    with run_sandbox("--only", "oracle", "--oracle-port", str(free_port()), "--prestashop-port", str(free_port()),
                     "--orders", "60", "--seed", "9", "--oracle-client-id", "cid", "--oracle-client-secret", "secret",
                     "--oracle-clock-start", START.isoformat()) as url:
        yield url


def _client(pod: str) -> FusionClient:
    return FusionClient(pod, auth=OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", "secret"), timeout=15,
                        retries=RetryPolicy(backoff=0.05, max_backoff=0.5, budget=30))


@pytest.fixture(scope="module")
def orders(pod: str) -> list[int]:
    """``CREATED`` draft orders (drafts: the lifecycle leaves them alone), one minute apart on the pod's clock."""
    client = _client(pod)
    party = next(client.search_accounts(fq.ge("CreditLimit", 1_000_000) & fq.eq("Status", "A"),
                                        PartyType="ORGANIZATION", CurrencyCode="EUR"))["PartyNumber"]
    sku = next(client.iter_collection("itemsV2", q=fq.eq("ItemStatusValue", "Active")
                                      & fq.eq("CustomerOrderEnabledFlag", True), fields="ItemNumber"))["ItemNumber"]
    ids = []
    for i in range(CREATED):
        created = client.create_sales_order({
            "SourceTransactionNumber": f"PS-K{i}", "SourceTransactionSystem": "PSHOP", "SourceTransactionId": f"K{i}",
            "BusinessUnitId": 204, "BuyingPartyNumber": party, "TransactionalCurrencyCode": "EUR",
            "SubmittedFlag": False, "lines": [{"SourceTransactionLineId": "1", "SourceTransactionLineNumber": "1",
                                               "ProductNumber": sku, "OrderedQuantity": 1, "OrderedUOMCode": "Ea"}]})
        ids.append(created.header_id)
        Pod(pod, "cid", "secret").advance(1)
    return ids


def _in_window(pod: str) -> set[int]:
    """The PSHOP orders in [SINCE, UNTIL], read without the client under test."""
    rows = Pod(pod, "cid", "secret").items(f"/{ORDERS}", fields="HeaderId,LastUpdateDate,SourceTransactionSystem")
    return {r["HeaderId"] for r in rows if r["SourceTransactionSystem"] == "PSHOP"
            and SINCE < datetime.fromisoformat(r["LastUpdateDate"]) <= UNTIL}


def _update_after_first_page(pod: str, client: FusionClient, tag: str) -> list[int]:
    """After the first page of a LastUpdateDate read, move the pod's clock on and change that page's orders: they
    jump to the end of the LastUpdateDate order, and every later order shifts five places left."""
    moved: list[int] = []
    pod_api = Pod(pod, "cid", "secret")

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        url = response.request.url or ""
        if not moved and f"/{ORDERS}?" in url and "LastUpdateDate" in requests.utils.unquote(url):
            moved.extend(item["HeaderId"] for item in response.json()["items"])
            pod_api.advance(60)
            for header in moved:
                assert pod_api.patch(f"/{ORDERS}/{header}", {"CustomerPONumber": f"{tag}-{header}"}).ok
        return response

    client.session.hooks["response"].append(hook)
    return moved


def test_rows_updated_between_pages_are_not_skipped(pod: str, orders: list[int]) -> None:
    expected = _in_window(pod)
    assert set(orders) <= expected

    client = _client(pod)
    moved = _update_after_first_page(pod, client, "keyset")
    rows = list(client.orders_changed_since(SINCE, UNTIL, limit=5))
    assert len(moved) == 5
    assert {r["HeaderId"] for r in rows} == expected
    last = {r["HeaderId"]: r for r in rows}  # the last copy of a moved order is the one read after its change
    assert all(last[h]["CustomerPONumber"] == f"keyset-{h}" for h in moved)

    # The offset paging these reads used before loses rows in the same situation.
    offset = _client(pod)
    _update_after_first_page(pod, offset, "offset")
    window = fq.gt("LastUpdateDate", SINCE) & fq.le("LastUpdateDate", UNTIL) & fq.eq("SourceTransactionSystem", "PSHOP")
    paged = {r["HeaderId"] for r in offset.iter_collection(ORDERS, q=window, order_by="LastUpdateDate:asc,HeaderId:asc",
                                                           limit=5)}
    assert expected - paged


def test_many_rows_at_one_timestamp_are_walked_by_id(pod: str, orders: list[int]) -> None:
    """More rows share one LastUpdateDate than a page holds (a batch job's commit): none is skipped or repeated."""
    pod_api = Pod(pod, "cid", "secret")
    pod_api.advance(1)
    same = orders[:12]
    for header in same:  # the pod's clock is frozen: every change gets the same stamp
        assert pod_api.patch(f"/{ORDERS}/{header}", {"CustomerPONumber": f"batch-{header}"}).ok
    stamp = {r["LastUpdateDate"] for r in pod_api.items(f"/{ORDERS}", fields="HeaderId,LastUpdateDate")
             if r["HeaderId"] in same}
    assert len(stamp) == 1
    for version in (4, 1):  # rowmatch and QBE
        client = FusionClient(pod, auth=OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", "secret"),
                              framework_version=version)
        rows = [r["HeaderId"] for r in client.orders_changed_since(SINCE, UNTIL, limit=5)]
        assert len(rows) == len(set(rows)) and set(rows) == _in_window(pod)


def test_a_crashed_extraction_resumes_after_the_last_committed_chunk(pod: str, orders: list[int],
                                                                     tmp_path: Path) -> None:
    staging = connect(f"sqlite:///{tmp_path / 'staging.db'}", upgrade=True)
    expected = _in_window(pod)
    client = _client(pod)
    pages: list[str] = []

    def crash_on_fourth_page(response: Any, *args: Any, **kwargs: Any) -> Any:
        if f"/{ORDERS}?" in (response.request.url or "") and "LastUpdateDate" in requests.utils.unquote(
                response.request.url or ""):
            pages.append(response.request.url)
            if len(pages) == 4:
                raise Crash("worker lost")
        return response

    client.session.hooks["response"].append(crash_on_fourth_page)
    with pytest.raises(Crash):
        extract_oracle(client, staging, "sales_orders", until=UNTIL, chunk=7, run_id="crashed")
    client.session.hooks["response"].remove(crash_on_fourth_page)
    committed = len(staging.landed("oracle", "sales_orders"))
    assert committed % 7 == 0 and 0 < committed < len(expected)  # whole chunks of seven, not the window
    with staging.engine.connect() as conn:
        checkpoint = watermarks.get_checkpoint(conn, "oracle", "sales_orders")
    assert checkpoint is not None and checkpoint.position is not None
    assert staging.watermark("oracle", "sales_orders") is None

    resumed = extract_oracle(client, staging, "sales_orders", until=UNTIL, chunk=7, run_id="resumed")
    assert resumed.read["sales_orders"] == resumed.new["sales_orders"] == len(expected) - committed
    assert {r["HeaderId"] for r in staging.landed("oracle", "sales_orders")} == expected
    assert datetime.fromisoformat(resumed.watermark or "") == UNTIL
    with staging.engine.connect() as conn:
        assert watermarks.get_checkpoint(conn, "oracle", "sales_orders") is None

    # The next window starts 30 minutes (Fusion's default overlap) before the watermark.
    later = extract_oracle(client, staging, "sales_orders", until=UNTIL + timedelta(hours=1), run_id="next")
    assert later.windows == [(str(UNTIL - timedelta(minutes=30)), str(UNTIL + timedelta(hours=1)))]
    assert later.read["sales_orders"] == 0


def test_without_until_the_window_ends_at_the_pods_clock(pod: str, orders: list[int], tmp_path: Path) -> None:
    staging = connect(f"sqlite:///{tmp_path / 'staging.db'}", upgrade=True)
    before = parsedate_to_datetime(requests.get(f"{pod}/sandbox/clock", timeout=30).headers["Date"])
    result = extract_oracle(_client(pod), staging, "receipts", run_id="now")
    after = parsedate_to_datetime(requests.get(f"{pod}/sandbox/clock", timeout=30).headers["Date"])
    # Date headers have whole seconds, and each uvicorn worker refreshes its own once per tick: allow that much.
    slack = timedelta(seconds=2)
    assert before - slack <= datetime.fromisoformat(result.watermark or "") <= after + slack
