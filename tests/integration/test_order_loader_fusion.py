"""The Fusion order target (``flows/orders/fusion.py``) against real Fusion pods: batches, refusals, faults on the
batch POST (504 after commit, dropped connections, 429 storms), a killed attempt, and cancellation.

Payloads are small hand-made Order Hub orders shaped like the ``fusion_sales_order`` mapping's (PSHOP, ``PS1-N``)
using customers and items the pod has. After each scenario every key is counted in the pod, and a recording client
(the real client, keeping a list of its batch POSTs) shows that no committed order was ever sent again: a blind
re-send would meet Oracle's duplicate refusal, which the recording would show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.flows.orders.fusion import FusionOrderLoader
from prestaoracle.flows.orders.types import MemoryState, OrderToLoad
from prestaoracle.oracle import FusionClient, FusionError, OAuth2ClientCredentials, RetryPolicy
from prestaoracle.oracle import fusion_query as fq

pytestmark = pytest.mark.xdist_group("order_loader_fusion")

ORDERS = "salesOrdersForOrderHub"
BATCH_PATH = "/fscmRestApi/resources/11.13.18.05"
# Fusion faults only: the gateway's 504 after an order commits (15% of keys) and tokens revoked mid-run, plus
# dropped connections (a write that is dropped never reaches the app).
FAULTY = "flaky:transport=0,drop_connection=0.3"
STORM = "none:http_429=0.6,retry_after_seconds=0-1"


_CLIENTS: list[FusionClient] = []


def start_pod(faults: str) -> Iterator[str]:
    with run_sandbox("--only", "oracle", "--oracle-port", str(free_port()), "--prestashop-port", str(free_port()),
                     "--orders", "40", "--seed", "7", "--oracle-client-id", "cid", "--oracle-client-secret",
                     "secret", "--faults", faults) as url:
        yield url
        # Idle keep-alive connections would hold the pod's graceful shutdown up.
        for client in [c for c in _CLIENTS if c.base_url == url]:
            client.close()


@pytest.fixture(scope="module")
def pod() -> Iterator[str]:
    yield from start_pod("none")


@pytest.fixture(scope="module")
def faulty_pod() -> Iterator[str]:
    yield from start_pod(FAULTY)


@pytest.fixture(scope="module")
def storm_pod() -> Iterator[str]:
    yield from start_pod(STORM)


@dataclass
class Sent:
    keys: list[str]
    status: int | None = None  # HTTP status of a refused/failed batch; None = answered 200 or no answer at all
    error: str | None = None  # reason class of the error, None when the batch was answered 200


class RecordingClient(FusionClient):
    """The real client, keeping what each batch POST carried and how it ended."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[Sent] = []

    def batch(self, parts: Any, **kwargs: Any) -> Any:
        record = Sent([str(p["id"]) for p in parts])
        self.sent.append(record)
        try:
            return super().batch(parts, **kwargs)
        except FusionError as err:
            record.status, record.error = err.status, err.reason_class
            raise


class Killed(Exception):
    """The worker died: raised right after a batch POST was answered, before anyone saw the answer."""


class DyingClient(RecordingClient):
    def batch(self, parts: Any, **kwargs: Any) -> Any:
        super().batch(parts, **kwargs)
        raise Killed("worker killed after its batch POST went out")


def make_client(pod: str, cls: type[FusionClient] = RecordingClient, secret: str = "secret",
                attempts: int = 6) -> Any:
    auth = OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", secret)
    # The pod faults at most 3 attempts of one request: 6 attempts always get through.
    client = cls(pod, auth=auth, timeout=10,
                 retries=RetryPolicy(attempts=attempts, backoff=0.05, max_backoff=0.3, retry_after_max=1.0))
    _CLIENTS.append(client)
    return client


@dataclass
class Sale:
    """What a pod sells to whom: a customer with room on its credit, one with a tiny limit, items."""

    party: str
    low_credit: str
    skus: list[str]
    inactive_sku: str
    counter: Counter = field(default_factory=Counter)

    def order(self, key: str, *, party: str | None = None, sku: str | None = None, qty: float = 1) -> OrderToLoad:
        payload = {
            "SourceTransactionNumber": f"REF{key}", "SourceTransactionSystem": "PSHOP", "SourceTransactionId": key,
            "BusinessUnitName": "Vision Operations", "BuyingPartyNumber": party or self.party,
            "TransactionalCurrencyCode": "EUR", "TransactionOn": "2026-11-30T10:00:00+00:00",
            "RequestedFulfillmentOrganizationCode": "M1", "CustomerPONumber": f"REF{key}", "FreezePriceFlag": True,
            "SubmittedFlag": True,
            "lines": [{"SourceTransactionLineId": f"{key}-1", "SourceTransactionLineNumber": "1",
                       "SourceTransactionScheduleId": "1", "SourceScheduleNumber": "1",
                       "TransactionCategoryCode": "ORDER", "ProductNumber": sku or self.skus[0],
                       "OrderedQuantity": qty, "OrderedUOMCode": "Ea"}],
        }
        return OrderToLoad(key=key, id_order=int(key.rsplit("-", 1)[1]), payload=payload)

    def orders(self, first: int, count: int) -> list[OrderToLoad]:
        return [self.order(f"PS1-{n}", sku=self.skus[n % len(self.skus)]) for n in range(first, first + count)]


@pytest.fixture(scope="module")
def sale(pod: str) -> Sale:
    client = make_client(pod)
    party = next(client.search_accounts(fq.ge("CreditLimit", 1_000_000), PartyType="ORGANIZATION",
                                        CurrencyCode="EUR"))["PartyNumber"]
    low = next(client.search_accounts(fq.eq("CreditLimit", 100), Status="A"))["PartyNumber"]
    inactive = next(client.iter_collection("itemsV2", q=fq.eq("ItemStatusValue", "Inactive"),
                                           fields="ItemNumber"))["ItemNumber"]
    eur = next(client.price_lists(fq.eq("CurrencyCode", "EUR")))["PriceListId"]
    stocked = [r["ItemNumber"] for r in client.onhand_balances("M1", fields="ItemNumber,PrimaryQuantity")
               if r["PrimaryQuantity"] >= 50]
    active = {r["ItemNumber"] for r in client.iter_collection("itemsV2", q=fq.eq("ItemStatusValue", "Active"),
                                                             fields="ItemNumber")}
    priced = {r["Item"] for r in client.price_list_charges(eur, [s for s in stocked if s in active])}
    skus = [s for s in stocked if s in priced][:5]
    assert len(skus) >= 3, "the pod should stock and price a few active items"
    return Sale(party, low, skus, inactive)


def calls(client: FusionClient) -> int:
    """API requests the client sent (token requests left out: a fresh client fetches one first)."""
    return client.stats.requests - client.auth.token_fetches


def count_in_pod(client: FusionClient, keys: list[str]) -> Counter:
    """How many orders the pod holds per key (exactly once means 1 for each)."""
    found: Counter = Counter()
    for start in range(0, len(keys), 40):
        flt = fq.eq("SourceTransactionSystem", "PSHOP") & fq.in_("SourceTransactionId", keys[start:start + 40])
        found.update(r["SourceTransactionId"] for r in client.iter_collection(ORDERS, q=flt,
                                                                              fields="SourceTransactionId"))
    return found


def injected(pod: str) -> list[dict]:
    return requests.get(f"{pod}/sandbox/injected", timeout=10).json()["transport"]


def assert_never_resent_committed(client: RecordingClient) -> None:
    """No batch met Oracle's duplicate refusal: nothing already committed was sent again."""
    assert not [s for s in client.sent if s.error == "duplicate"], client.sent


# --------------------------------------------------------------------------------------------- clean pod


def test_batch_happy_path_writes_each_order_once_and_a_replay_writes_nothing(pod: str, sale: Sale) -> None:
    client = make_client(pod)
    loader = FusionOrderLoader(client, batch_size=10)
    orders = sale.orders(1, 30)
    state = MemoryState()
    before = calls(client)

    outcomes = loader.load(orders, state=state)

    assert [o.key for o in outcomes] == [o.key for o in orders]
    assert {o.status for o in outcomes} == {"created"} and not any(o.recovered for o in outcomes)
    assert all(o.target_id and o.target_ref and o.oracle_status == "OPEN" for o in outcomes)
    # one lookup for the page, then one POST per batch of 10: 4 requests for 30 orders
    assert calls(client) - before == 4
    assert [len(s.keys) for s in client.sent] == [10, 10, 10]
    assert state.get("in_flight") == [o.key for o in orders[20:]]
    keys = [o.key for o in orders]
    assert count_in_pod(client, keys) == Counter(dict.fromkeys(keys, 1))

    # the orchestrator clears in_flight after the ledger commit; a replay then finds everything and sends nothing
    state.delete("in_flight")
    again = loader.load(orders, state=state)
    assert [o.status for o in again] == ["exists"] * 30
    assert [(o.target_id, o.target_ref) for o in again] == [(o.target_id, o.target_ref) for o in outcomes]
    assert len(client.sent) == 3
    assert count_in_pod(client, keys) == Counter(dict.fromkeys(keys, 1))


def test_a_refused_order_is_taken_out_and_the_batch_goes_on(pod: str, sale: Sale) -> None:
    client = make_client(pod)
    loader = FusionOrderLoader(client, batch_size=25)
    orders = sale.orders(101, 8)
    orders[2] = sale.order("PS1-190", party=sale.low_credit, qty=40)  # over a credit limit of 100
    orders[5] = sale.order("PS1-191", sku=sale.inactive_sku)
    before = calls(client)

    outcomes = {o.key: o for o in loader.load(orders)}

    credit, inactive = outcomes.pop("PS1-190"), outcomes.pop("PS1-191")
    assert {o.status for o in outcomes.values()} == {"created"}
    assert (credit.status, credit.reason_class) == ("rejected", "business_rule")
    assert "credit" in credit.message and "limit" in credit.how_to_fix
    assert (inactive.status, inactive.reason_class) == ("rejected", "business_rule")
    assert sale.inactive_sku in inactive.message and "/lines/0/ProductNumber" in inactive.how_to_fix
    # one lookup and three batches (refused for the first culprit, refused for the second, accepted): against the
    # 2 requests per order (lookup + POST) of the one-by-one path
    assert [len(s.keys) for s in client.sent] == [8, 7, 6] and calls(client) - before == 4
    assert [s.error for s in client.sent] == ["business_rule", "business_rule", None]
    keys = [o.key for o in orders]
    assert count_in_pod(client, keys) == Counter(dict.fromkeys(outcomes, 1))


def test_batch_size_one_goes_through_create_sales_order(pod: str, sale: Sale) -> None:
    client = make_client(pod)
    loader = FusionOrderLoader(client, batch_size=1)
    orders = [*sale.orders(201, 3), sale.order("PS1-290", sku="NO-SUCH-SKU")]
    before = calls(client)

    outcomes = loader.load(orders, state=MemoryState())

    assert [o.status for o in outcomes] == ["created", "created", "created", "rejected"]
    assert outcomes[-1].reason_class == "mapping_missing" and "NO-SUCH-SKU" in outcomes[-1].message
    assert client.sent == []  # no batch POST at all
    assert calls(client) - before == 1 + 2 * 4  # page lookup, then lookup + POST per order


def test_find_reports_existing_orders_with_their_ids(pod: str, sale: Sale) -> None:
    client = make_client(pod)
    loader = FusionOrderLoader(client, batch_size=10)
    made = {o.key: o for o in loader.load(sale.orders(301, 3))}
    asked = [*made, *(f"PS1-{n}" for n in range(400, 520))]
    before = calls(client)

    found = loader.find(asked)

    assert set(found) == set(made)
    assert all(f.status == "exists" and (f.target_id, f.target_ref) == (made[k].target_id, made[k].target_ref)
               and f.oracle_status == "OPEN" for k, f in found.items())
    assert calls(client) - before == 3  # 123 keys, 50 per query


def test_a_killed_attempt_is_reattached_not_sent_again(pod: str, sale: Sale) -> None:
    orders = sale.orders(601, 6)
    keys = [o.key for o in orders]
    state = MemoryState()
    dying = make_client(pod, cls=DyingClient)
    with pytest.raises(Killed):
        FusionOrderLoader(dying, batch_size=10).load(orders, state=state)
    assert state.get("in_flight") == keys  # what the dead attempt had on the wire
    assert count_in_pod(dying, keys) == Counter(dict.fromkeys(keys, 1))  # and it did commit

    client = make_client(pod)
    outcomes = FusionOrderLoader(client, batch_size=10).load(orders, state=state)

    assert [(o.status, o.recovered) for o in outcomes] == [("created", True)] * 6
    assert all(o.target_id for o in outcomes)
    assert client.sent == []  # the retry looked the keys up and sent nothing
    assert count_in_pod(client, keys) == Counter(dict.fromkeys(keys, 1))


def test_auth_errors_fail_the_task(pod: str, sale: Sale) -> None:
    client = make_client(pod, secret="wrong-secret")
    with pytest.raises(FusionError) as caught:
        FusionOrderLoader(client).load(sale.orders(701, 2))
    assert caught.value.reason_class == "auth" and "wrong-secret" not in str(caught.value)
    with pytest.raises(FusionError) as caught:
        FusionOrderLoader(client).cancel("PS1-1", reason="cancelled in the shop")
    assert caught.value.reason_class == "auth"


def test_cancel_before_shipping_then_refused_once_shipped(pod: str, sale: Sale) -> None:
    client = make_client(pod)
    loader = FusionOrderLoader(client, batch_size=10)
    early, late = sale.order("PS1-801", sku=sale.skus[0]), sale.order("PS1-802", sku=sale.skus[1])
    assert [o.status for o in loader.load([early, late])] == ["created", "created"]

    cancelled = loader.cancel("PS1-801", reason="cancelled in the shop (state 6)")

    assert (cancelled.status, cancelled.oracle_status, cancelled.message) == ("cancelled", "CANCELED", None)
    order = client.get_sales_order("PSHOP:PS1-801", expand="lines")
    assert (order["StatusCode"], order["CanceledFlag"], order["OpenFlag"]) == ("CANCELED", True, False)
    assert order["CancelReason"] == "cancelled in the shop (state 6)"
    lines = order["lines"]["items"]
    assert [(ln["StatusCode"], ln["CanceledQuantity"]) for ln in lines] == [("CANCELED", ln["OrderedQuantity"])
                                                                             for ln in lines]
    before = calls(client)
    again = loader.cancel("PS1-801", reason="cancelled in the shop (state 6)")
    assert (again.status, again.message) == ("cancelled", "already cancelled in Oracle")
    assert calls(client) - before == 1  # read, found CANCELED, nothing sent

    # the pod's warehouse ships what is open: the cancelled order's lifecycle has stopped
    requests.post(f"{pod}/sandbox/clock/advance", params={"minutes": 600}, timeout=60).raise_for_status()
    assert client.get_sales_order("PSHOP:PS1-801", fields="StatusCode")["StatusCode"] == "CANCELED"
    assert client.collection("shipmentLines", q=fq.eq("SourceOrderId", "PS1-801"), fields="ShipmentLine") == []
    shipped = client.collection("shipmentLines", q=fq.eq("SourceOrderId", "PS1-802"), fields="ShippedQuantity")
    assert shipped and shipped[0]["ShippedQuantity"] == 1

    refused = loader.cancel("PS1-802", reason="refunded in the shop (state 7)")

    assert (refused.status, refused.reason_class) == ("rejected", "business_rule")
    assert "shipped" in refused.message and "RMA" in refused.how_to_fix
    assert client.get_sales_order("PSHOP:PS1-802", fields="StatusCode")["StatusCode"] != "CANCELED"
    unknown = loader.cancel("PS1-899", reason="cancelled in the shop")
    assert (unknown.status, unknown.reason_class) == ("rejected", "mapping_missing")


# --------------------------------------------------------------------------------------------- faulty pods


# Every pod is generated from seed 7, so the clean pod's customers and items are the faulty pods' too.


def test_504_after_commit_and_dropped_batches_end_with_every_order_once(faulty_pod: str, sale: Sale) -> None:
    client = make_client(faulty_pod)
    orders = sale.orders(1001, 36)
    keys = [o.key for o in orders]

    outcomes = {o.key: o for o in FusionOrderLoader(client, batch_size=3).load(orders, state=MemoryState())}

    assert {o.status for o in outcomes.values()} == {"created"}
    assert count_in_pod(client, keys) == Counter(dict.fromkeys(keys, 1))
    assert_never_resent_committed(client)
    faults = injected(faulty_pod)
    # the faults really hit batch POSTs: 504s after the batch committed, and dropped batch POSTs
    timeouts = [f for f in faults if f["kind"] == "timeout_after_commit" and f["path"].startswith("batch ")]
    dropped = [f for f in faults if f["kind"] == "drop_connection" and (f["method"], f["path"]) == ("POST",
                                                                                                   BATCH_PATH)]
    assert timeouts and dropped, faults
    answered_504 = [i for i, s in enumerate(client.sent) if s.status == 504]
    assert len(answered_504) == len(timeouts)
    for i in answered_504:  # committed, then found by the lookup: recovered, never sent again
        keys_504 = client.sent[i].keys
        assert all(outcomes[k].recovered for k in keys_504)
        assert not [s for s in client.sent[i + 1:] if set(s.keys) & set(keys_504)]
    lost = [i for i, s in enumerate(client.sent) if s.error == "retryable" and s.status is None]
    assert len(lost) >= len(dropped)
    for i in lost:  # never reached Oracle: looked up, not found, sent again; created by a later send
        for key in client.sent[i].keys:
            later = [j for j, s in enumerate(client.sent) if j > i and key in s.keys]
            assert later, key
            assert not outcomes[key].recovered or client.sent[later[-1]].status == 504


def test_429_storm_is_waited_out_and_an_exhausted_budget_proves_nothing(storm_pod: str, sale: Sale) -> None:
    orders = sale.orders(2001, 20)
    keys = [o.key for o in orders]
    # a write budget of one attempt: every 429 on a batch leaves its orders unconfirmed
    impatient = make_client(storm_pod)
    first = FusionOrderLoader(impatient, batch_size=5, write_retries=RetryPolicy(attempts=1)).load(orders)
    failed = [o for o in first if o.status == "failed"]
    assert failed and all(o.reason_class == "retryable" and "429" in o.message for o in failed)
    assert {o.status for o in first} <= {"created", "failed"}
    assert count_in_pod(impatient, [o.key for o in failed]) == Counter()  # failed means: not in Oracle

    client = make_client(storm_pod)
    second = FusionOrderLoader(client, batch_size=5).load(orders)

    assert Counter(o.status for o in second) == Counter(created=len(failed), exists=20 - len(failed))
    assert not any(o.recovered for o in second)  # a 429 was never processed: nothing to recover
    assert count_in_pod(client, keys) == Counter(dict.fromkeys(keys, 1))
    assert_never_resent_committed(client)
    storms = [f for f in injected(storm_pod) if f["kind"] == "http_429" and (f["method"], f["path"]) == ("POST",
                                                                                                        BATCH_PATH)]
    assert len(storms) >= len([s for s in impatient.sent + client.sent if s.status == 429]) > 0
