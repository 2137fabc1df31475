"""Oracle's progress back to the shop (``flows/orders/status.py``) over the real sandboxes: Fusion pod and shop over
HTTP, the EBS stand-in on SQLite and PostgreSQL.

Real shop orders (still being processed, no tracking number yet) are sent to Oracle the way the order flow leaves
them: created there, and ``created`` in the ledger under their ``PS1-<id_order>`` reference. Oracle then ships,
bills and closes them as its clock moves; each test reads the expected values from Oracle itself (the pod over raw
HTTP, the stand-in's tables in SQL), never through the code under test, and the shop's side through its data:
``order_histories`` rows, ``order_carriers`` rows and the writes sent.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from conftest import free_port
from support.ebs import seeded_ebs
from support.oracle_pod import Pod
from support.pg import no_postgres, temp_database
from support.sandbox import run_sandbox

from prestaoracle.flows.orders.config import OrderFlowConfig, load_config
from prestaoracle.flows.orders.status import (
    INVOICE_TARGET,
    ORDER_STATE_TARGET,
    TRACKING_TARGET,
    StatusResult,
    sync_status,
    watermark_entity,
)
from prestaoracle.flows.orders.types import EBS_TARGET, FUSION_TARGET
from prestaoracle.oracle import FusionClient, OAuth2ClientCredentials
from prestaoracle.oracle import RetryPolicy as OracleRetry
from prestaoracle.oracle import fusion_query as fq
from prestaoracle.oracle.ebs import EbsClient, EbsOrder, EbsOrderLine
from prestaoracle.prestashop import PrestaShopClient, PrestaShopReader, PrestaShopWriter, RetryPolicy
from prestaoracle.prestashop.errors import AuthError
from prestaoracle.sandbox.ebs import advance, run_order_import
from prestaoracle.sandbox.ebs import schema as s
from prestaoracle.sandbox.prestashop.generate import generate_shop
from prestaoracle.staging import connect, dead_letters, ledger, watermarks
from prestaoracle.staging.schema import sync_ledger

pytestmark = [
    pytest.mark.xdist_group("order_status"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

KEY = "ORDERSTATUSORDERSTATUSORDERSTAT1"
SEED = 5
SHOP_END, SHOP_DAYS, SHOP_ORDERS = "2026-11-01", 5, 40
SHOP = ("--orders", str(SHOP_ORDERS), "--seed", str(SEED), "--ws-key", KEY, "--end", SHOP_END, "--days",
        str(SHOP_DAYS), "--workers", "1")
PRODUCT_USER_ID = 1013
WRITES = ("POST", "PUT", "PATCH", "DELETE")


# ------------------------------------------------------------------------------------------------ the shop side


class Shop:
    """The product's client and writer over one shop, a count of the writes it sends, and reads of the shop's data
    for the assertions."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.client = PrestaShopClient(base, KEY, retries=RetryPolicy(attempts=6, backoff=0.02, jitter=0.02,
                                                                      retry_after_max=0.1))
        self.reader = PrestaShopReader(self.client)
        self.writer = PrestaShopWriter(self.client, self.reader)
        self.writes: Counter[str] = Counter()
        self.requests = 0
        self.client.session.hooks["response"].append(self._count)

    def _count(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        if response.request.method in WRITES:
            self.writes[f"{response.request.method} {requests.utils.urlparse(response.request.url).path}"] += 1
        return response

    def states(self, ids: list[int]) -> dict[int, int]:
        return {int(r["id"]): int(r["current_state"])
                for r in self.reader.get_by_ids("orders", ids, display=["id", "current_state"])}

    def histories(self, ids: list[int]) -> dict[int, list[int]]:
        out: dict[int, list[tuple[int, int]]] = {i: [] for i in ids}
        for r in self.reader.get_by_ids("order_histories", ids, field="id_order",
                                        display=["id", "id_order", "id_order_state"]):
            out[int(r["id_order"])].append((int(r["id"]), int(r["id_order_state"])))
        return {i: [state for _id, state in sorted(rows)] for i, rows in out.items()}

    def carriers(self, ids: list[int]) -> dict[int, list[tuple[int, str]]]:
        out: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
        for r in self.reader.get_by_ids("order_carriers", ids, field="id_order",
                                        display=["id", "id_order", "tracking_number"]):
            out[int(r["id_order"])].append((int(r["id"]), r["tracking_number"] or ""))
        return {i: sorted(rows) for i, rows in out.items()}

    def snapshot(self, ids: list[int]) -> dict[str, Any]:
        return {"states": self.states(ids), "histories": self.histories(ids), "carriers": self.carriers(ids)}

    def injected(self) -> list[dict[str, Any]]:
        resp = requests.get(f"{self.base}/sandbox/injected", params={"category": "transport"}, timeout=30)
        resp.raise_for_status()
        return resp.json()["transport"]


@dataclass
class Sandbox:
    shop: str
    pod: str
    fresh: list[int]  # orders being processed (state 2 or 3) without a tracking number
    shipped: list[int]  # orders the shop already shows as Shipped (state 4)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    oracle_port = free_port()
    with run_sandbox(*SHOP, "--prestashop-port", str(free_port()), "--oracle-port", str(oracle_port),
                     "--oracle-client-id", "cid", "--oracle-client-secret", "secret") as shop_url:
        shop = Shop(shop_url)
        states = shop.states(list(range(1, SHOP_ORDERS + 1)))
        tracked = {i for i, rows in shop.carriers(list(states)).items() if any(t for _id, t in rows)}
        fresh = sorted(i for i, state in states.items() if state in (2, 3) and i not in tracked)
        shipped = sorted(i for i, state in states.items() if state == 4)
        assert len(fresh) >= 7 and len(shipped) >= 5, "the generated shop no longer has the orders the tests use"
        yield Sandbox(shop_url, f"http://127.0.0.1:{oracle_port}", fresh, shipped)


def new_staging(path: Path) -> sa.Engine:
    return connect(path / "staging.db", upgrade=True).engine


def record_created(engine: sa.Engine, target: str, ref: str, header_id: Any, number: Any) -> None:
    """What the order flow leaves behind for an order it created in Oracle."""
    with engine.begin() as conn:
        ledger.record_success(conn, target, ref, target_id=header_id, target_ref=str(number), run_id="order-flow",
                              source="prestashop", entity="orders")


def ledger_rows(engine: sa.Engine, target: str) -> dict[str, ledger.LedgerEntry]:
    t = sync_ledger
    with engine.connect() as conn:
        return {r.record_key: ledger.LedgerEntry.from_row(r) for r in conn.execute(sa.select(t).where(t.c.target
                                                                                                        == target))}


def open_letters(engine: sa.Engine) -> dict[str, dead_letters.DeadLetter]:
    with engine.connect() as conn:
        return {d.record_key: d for d in dead_letters.list_open(conn, source="oracle")}


def mark(engine: sa.Engine, target: str) -> str | None:
    with engine.connect() as conn:
        return watermarks.get(conn, "oracle", watermark_entity(target))


def added(before: dict[int, list[int]], after: dict[int, list[int]]) -> dict[int, list[int]]:
    """History rows a run added per order (states in order)."""
    return {i: after[i][len(before[i]):] for i in after}


def ref(id_order: int) -> str:
    return f"PS1-{id_order}"


# ------------------------------------------------------------------------------------------------ Fusion


def fusion_client(pod: str) -> FusionClient:
    return FusionClient(pod, auth=OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", "secret"), timeout=15,
                        retries=OracleRetry(backoff=0.05, max_backoff=0.5, budget=30))


def pod_now(pod: str) -> datetime:
    return datetime.fromisoformat(requests.get(f"{pod}/sandbox/clock", timeout=10).json()["now"])


@dataclass
class FusionWorld:
    sandbox: Sandbox
    shop: Shop
    staging: sa.Engine
    config: OrderFlowConfig
    a: int  # one line
    b: int  # two lines, the second one more than stock: shipped in two parcels
    c: int  # left a draft: a status the state map does not know
    e: int  # created in Oracle but not by the product (no ledger entry)
    numbers: dict[int, str]
    created_at: datetime
    before: dict[str, Any]
    pod_day1: dict[int, dict[str, Any]]
    day1_end: datetime
    day1: StatusResult
    after_day1: dict[str, Any]
    end: datetime
    final: StatusResult
    after: dict[str, Any]
    ids: list[int] = field(default_factory=list)

    def sync(self, **kwargs: Any) -> StatusResult:
        return sync_status(self.staging, config=self.config, writer=self.shop.writer,
                           fusion=fusion_client(self.sandbox.pod), **kwargs)


def pod_orders(pod: str, numbers: dict[int, str]) -> dict[int, dict[str, Any]]:
    """Each order as the pod has it (raw HTTP): header status, line statuses, tracking numbers, invoices."""
    api = Pod(pod, "cid", "secret")
    by_number = {n: i for i, n in numbers.items()}
    out: dict[int, dict[str, Any]] = {i: {"lines": [], "tracking": [], "invoices": set()} for i in numbers}
    for row in api.items("/salesOrdersForOrderHub", expand="lines"):
        if row["OrderNumber"] in by_number:
            order = out[by_number[row["OrderNumber"]]]
            order["status"] = row["StatusCode"]
            order["lines"] = [line["StatusCode"] for line in row["lines"]]
    for row in sorted(api.items("/shipmentLines"), key=lambda r: (r["ActualShipDate"], r["ShipmentLine"])):
        if row["Order"] in by_number and row["TrackingNumber"] not in out[by_number[row["Order"]]]["tracking"]:
            out[by_number[row["Order"]]]["tracking"].append(row["TrackingNumber"])
    for row in api.items("/receivablesInvoices", expand="receivablesInvoiceLines"):
        for line in row["receivablesInvoiceLines"]:
            if line["SalesOrder"] in by_number:
                out[by_number[line["SalesOrder"]]]["invoices"].add((row["TransactionNumber"],
                                                                     str(row["CustomerTransactionId"])))
    return out


@pytest.fixture(scope="module")
def fusion_world(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> FusionWorld:
    shop = Shop(sandbox.shop)
    staging = new_staging(tmp_path_factory.mktemp("fusion_status"))
    config = load_config()
    assert config.oracle_target == "fusion"
    client = fusion_client(sandbox.pod)
    party = next(client.search_accounts(fq.ge("CreditLimit", 1_000_000) & fq.eq("Status", "A"),
                                        PartyType="ORGANIZATION", CurrencyCode="EUR"))["PartyNumber"]
    onhand = {row["ItemNumber"]: row["PrimaryQuantity"] for row in client.onhand_balances("M1")}
    eur = next(client.price_lists(fq.eq("CurrencyCode", "EUR") & fq.eq("StatusCode", "APPROVED")))
    skus = sorted(row["Item"] for row in client.price_list_charges(eur["PriceListId"]) if onhand.get(row["Item"], 0)
                  >= 20)
    a, b, c = sandbox.fresh[:3]
    e = sandbox.shipped[0]

    def create(id_order: int, lines: list[tuple[str, float]], submitted: bool = True) -> tuple[int, str]:
        done = client.create_sales_order({
            "SourceTransactionNumber": f"REF{id_order}", "SourceTransactionSystem": "PSHOP",
            "SourceTransactionId": ref(id_order), "BusinessUnitId": 204, "BuyingPartyNumber": party,
            "TransactionalCurrencyCode": "EUR", "SubmittedFlag": submitted,
            "lines": [{"SourceTransactionLineId": str(n), "SourceTransactionLineNumber": str(n), "ProductNumber": sku,
                       "OrderedQuantity": qty, "OrderedUOMCode": "Ea"} for n, (sku, qty) in enumerate(lines, 1)]})
        assert done.created and done.header_id and done.order_number
        return done.header_id, done.order_number

    created_at = pod_now(sandbox.pod)
    ids = [a, b, c, e]
    before = shop.snapshot(ids)
    numbers = {}
    for id_order, lines, submitted in ((a, [(skus[0], 1)], True),
                                       (b, [(skus[1], 1), (skus[2], onhand[skus[2]] + 3)], True),
                                       (c, [(skus[3], 1)], False),
                                       (e, [(skus[4], 1)], True)):
        header_id, numbers[id_order] = create(id_order, lines, submitted)
        if id_order != e:
            record_created(staging, FUSION_TARGET, ref(id_order), header_id, numbers[id_order])

    Pod(sandbox.pod, "cid", "secret").advance(24 * 60)
    day1_end = pod_now(sandbox.pod)
    day1 = sync_status(staging, config=config, writer=shop.writer, fusion=client, end=day1_end, run_id="day1")
    pod_day1 = pod_orders(sandbox.pod, numbers)
    after_day1 = shop.snapshot(ids)

    Pod(sandbox.pod, "cid", "secret").advance(14 * 24 * 60)
    end = pod_now(sandbox.pod)
    final = sync_status(staging, config=config, writer=shop.writer, fusion=client, end=end, run_id="two-weeks")
    return FusionWorld(sandbox, shop, staging, config, a, b, c, e, numbers, created_at, before, pod_day1, day1_end,
                       day1, after_day1, end, final, shop.snapshot(ids), ids)


def expected_state(order: dict[str, Any]) -> int:
    """The state map's answer for what the pod says (default configuration), from the raw statuses."""
    if order["status"] == "CLOSED":
        return 5
    lines = set(order["lines"])
    if "BACKORDERED" in lines or "AWAITING_SHIPPING" in lines:
        return 9 if "BACKORDERED" in lines else 3
    return 4  # SHIPPED, AWAITING_BILLING, BILLED


def test_fusion_states_follow_the_map_as_oracle_moves(fusion_world: FusionWorld) -> None:
    w = fusion_world
    a, b = w.a, w.b
    # After a day the pod has shipped A whole and B in part (its second line waits for stock).
    assert w.pod_day1[b]["status"] == "OPEN" and "BACKORDERED" in w.pod_day1[b]["lines"]
    assert w.after_day1["states"][a] == expected_state(w.pod_day1[a]) == 4
    assert w.after_day1["states"][b] == expected_state(w.pod_day1[b]) == 9
    assert dict(w.day1.states_posted) == {4: 1, 9: 1}
    final_pod = pod_orders(w.sandbox.pod, w.numbers)
    for id_order in (a, b):
        assert w.after["states"][id_order] == expected_state(final_pod[id_order])
    # One history row per state the order went through here, none twice.
    day1_rows = added(w.before["histories"], w.after_day1["histories"])
    final_rows = added(w.after_day1["histories"], w.after["histories"])
    assert day1_rows[a] == [4] and day1_rows[b] == [9]
    assert final_rows[b] == [expected_state(final_pod[b])]
    assert final_rows[a] == ([] if expected_state(final_pod[a]) == 4 else [5])
    pushed = ledger_rows(w.staging, ORDER_STATE_TARGET)
    assert {k: (e.target_ref, e.target_id) for k, e in pushed.items() if k in (ref(a), ref(b))} == {
        ref(i): ({5: "CLOSED", 4: "BILLED"}[w.after["states"][i]], str(w.after["states"][i])) for i in (a, b)}
    # The watermark moved with each run, to the end of its window.
    assert mark(w.staging, FUSION_TARGET) == w.end.astimezone(UTC).isoformat(sep=" ")


def test_fusion_every_tracking_number_reaches_the_shop(fusion_world: FusionWorld) -> None:
    w = fusion_world
    a, b = w.a, w.b
    final_pod = pod_orders(w.sandbox.pod, w.numbers)
    assert len(w.pod_day1[b]["tracking"]) == 1 and len(final_pod[b]["tracking"]) == 2, "B did not ship in two parcels"
    # Day one: each order's existing order_carriers row got its (first) number.
    assert [t for _id, t in w.after_day1["carriers"][a]] == final_pod[a]["tracking"]
    assert [t for _id, t in w.after_day1["carriers"][b]] == w.pod_day1[b]["tracking"]
    # The second parcel of B has its own row: the shop keeps both numbers, in the order they shipped.
    rows = w.after["carriers"][b]
    assert [t for _id, t in rows] == final_pod[b]["tracking"]
    assert rows[0][0] == w.before["carriers"][b][0][0]
    assert w.day1.tracking_written == 2 and w.final.tracking_written == 1
    tracked = ledger_rows(w.staging, TRACKING_TARGET)
    assert {k: e.target_id for k, e in tracked.items()} == {
        f"{ref(i)}:{t}": str(row_id) for i in (a, b) for row_id, t in w.after["carriers"][i]}


def test_fusion_invoices_land_in_the_ledger(fusion_world: FusionWorld) -> None:
    w = fusion_world
    final_pod = pod_orders(w.sandbox.pod, w.numbers)
    expected = {f"{ref(i)}:{number}": (trx_id, number) for i in (w.a, w.b) for number, trx_id in
                final_pod[i]["invoices"]}
    assert expected, "the pod billed nothing in two weeks"
    recorded = ledger_rows(w.staging, INVOICE_TARGET)
    assert {k: (e.target_id, e.target_ref) for k, e in recorded.items()} == expected
    assert all(e.outcome == "created" for e in recorded.values())
    assert w.day1.invoices_recorded + w.final.invoices_recorded == len(expected)


def test_fusion_unknown_status_and_foreign_orders(fusion_world: FusionWorld) -> None:
    w = fusion_world
    letters = open_letters(w.staging)
    draft = letters[ref(w.c)]
    assert draft.reason_class == "mapping_missing" and "DOO_DRAFT" in (draft.how_to_fix or "")
    assert "state_map" in (draft.how_to_fix or "")
    assert w.day1.dead_letters == Counter({"mapping_missing": 1})
    # The draft and the order the product did not create are left as the shop had them.
    for id_order in (w.c, w.e):
        assert w.after["histories"][id_order] == w.before["histories"][id_order]
        assert w.after["carriers"][id_order] == w.before["carriers"][id_order]
    assert pod_orders(w.sandbox.pod, w.numbers)[w.e]["tracking"], "the foreign order did not ship: proves nothing"
    assert not any(k.startswith(f"{ref(w.e)}:") for k in ledger_rows(w.staging, TRACKING_TARGET))
    # A dead letter does not hold the window back.
    assert w.day1.watermark == w.day1_end.astimezone(UTC).isoformat(sep=" ")


def test_fusion_second_run_and_replay_post_nothing(fusion_world: FusionWorld) -> None:
    w = fusion_world
    writes = sum(w.shop.writes.values())
    again = w.sync(end=w.end, run_id="again")
    assert sum(w.shop.writes.values()) == writes
    assert not again.states_posted and again.tracking_written == 0 and again.invoices_recorded == 0
    asked = w.shop.requests
    replay = w.sync(start=w.created_at - timedelta(hours=1), end=w.end, run_id="replay")
    assert sum(w.shop.writes.values()) == writes
    assert w.shop.requests == asked, "the ledger knew all of it: the shop need not even be read"
    assert not replay.states_posted and replay.tracking_written == 0 and replay.invoices_recorded == 0
    assert replay.skipped["tracking"] == 3 and replay.skipped["invoice"] >= 2 and replay.skipped["state"] == 2
    assert w.shop.snapshot(w.ids) == w.after
    assert mark(w.staging, FUSION_TARGET) == w.end.astimezone(UTC).isoformat(sep=" ")


def test_fusion_lost_replies_from_the_shop_are_not_posted_twice(fusion_world: FusionWorld,
                                                                tmp_path: Path) -> None:
    """The same orders pushed to a shop (same data) that loses the answer of every write after saving it."""
    w = fusion_world
    final_pod = pod_orders(w.sandbox.pod, w.numbers)
    with run_sandbox(*SHOP, "--only", "prestashop", "--faults", "none:lost_reply=1",
                     "--prestashop-port", str(free_port())) as base:
        shop = Shop(base)
        staging = new_staging(tmp_path)
        for id_order in (w.a, w.b):
            record_created(staging, FUSION_TARGET, ref(id_order), None, w.numbers[id_order])
        ids = [w.a, w.b]
        before = shop.snapshot(ids)
        result = sync_status(staging, config=w.config, writer=shop.writer, fusion=fusion_client(w.sandbox.pod),
                             end=w.end, run_id="lossy")
        after = shop.snapshot(ids)
        lost = [t for t in shop.injected() if t["kind"] == "lost_reply"]
    # The fault really fired on every kind of write the flow makes...
    kinds = Counter(f"{t['method']} {t['path'].rstrip('0123456789')}" for t in lost)
    assert kinds == Counter({"POST /api/order_histories": 2, "PATCH /api/order_carriers/": 2,
                             "POST /api/order_carriers": 1})
    # ...and each write was sent once: a re-send would be the key's attempt 2, and would be lost (and logged) too.
    assert all(t["detail"]["attempt"] == 1 for t in lost)
    for id_order in ids:
        assert added(before["histories"], after["histories"])[id_order] == [expected_state(final_pod[id_order])]
        assert [t for _id, t in after["carriers"][id_order]] == final_pod[id_order]["tracking"]
    assert result.tracking_written == 3 and sum(result.states_posted.values()) == 2


def test_fusion_a_state_the_shop_lacks_is_a_dead_letter(fusion_world: FusionWorld, tmp_path: Path) -> None:
    w = fusion_world
    staging = new_staging(tmp_path)
    for id_order in (w.a, w.b):
        record_created(staging, FUSION_TARGET, ref(id_order), None, w.numbers[id_order])
    config = replace(w.config, status=replace(w.config.status, state_map={**w.config.status.state_map,
                                                                         "CLOSED": 99, "BILLED": 99}))
    writes = sum(w.shop.writes.values())
    result = sync_status(staging, config=config, writer=w.shop.writer, fusion=fusion_client(w.sandbox.pod),
                         end=w.end, run_id="no-such-state")
    assert sum(w.shop.writes.values()) == writes
    letters = open_letters(staging)
    for id_order in (w.a, w.b):
        assert letters[ref(id_order)].reason_class == "mapping_missing"
        assert "99" in letters[ref(id_order)].message and "state_map" in (letters[ref(id_order)].how_to_fix or "")
    assert result.dead_letters == Counter({"mapping_missing": 2}) and result.skipped["tracking"] == 3
    assert mark(staging, FUSION_TARGET) == w.end.astimezone(UTC).isoformat(sep=" ")


def test_fusion_a_systemic_error_raises_and_leaves_the_watermark(fusion_world: FusionWorld, tmp_path: Path) -> None:
    w = fusion_world
    staging = new_staging(tmp_path)
    for id_order in (w.a, w.b):
        record_created(staging, FUSION_TARGET, ref(id_order), None, w.numbers[id_order])
    refused = PrestaShopWriter(PrestaShopClient(w.sandbox.shop, "X" * 32))
    with pytest.raises(AuthError):
        sync_status(staging, config=w.config, writer=refused, fusion=fusion_client(w.sandbox.pod), end=w.end,
                    run_id="wrong-key")
    assert mark(staging, FUSION_TARGET) is None
    assert not ledger_rows(staging, TRACKING_TARGET) and not ledger_rows(staging, ORDER_STATE_TARGET)
    assert not open_letters(staging)  # not the orders' fault


def test_sandbox_validates_a_posted_tracking_number(sandbox: Sandbox) -> None:
    """POST order_carriers validates like PrestaShop's add(): code 85 and nothing saved (the flow relies on it)."""
    id_order = sandbox.shipped[-1]
    shop = Shop(sandbox.shop)
    rows = shop.carriers([id_order])[id_order]

    def post(tracking: str) -> requests.Response:
        body = (f"<prestashop><order_carrier><id_order>{id_order}</id_order><id_carrier>2</id_carrier>"
                f"<tracking_number><![CDATA[{tracking}]]></tracking_number></order_carrier></prestashop>")
        return requests.post(f"{sandbox.shop}/api/order_carriers", data=body.encode(), auth=(KEY, ""), timeout=30)

    refused = post("AB<12>")
    assert refused.status_code == 400 and "<code><![CDATA[85]]></code>" in refused.text
    assert shop.carriers([id_order])[id_order] == rows
    accepted = post("AB-12")
    assert accepted.status_code == 201
    assert [t for _id, t in shop.carriers([id_order])[id_order]] == [t for _id, t in rows] + ["AB-12"]


# ------------------------------------------------------------------------------------------------ EBS


@dataclass
class EbsWorld:
    engine: sa.Engine
    client: EbsClient
    report: Any
    staging: sa.Engine


@contextlib.contextmanager
def ebs_world(backend: str, workdir: Path) -> Iterator[EbsWorld]:
    end = datetime.fromisoformat(SHOP_END)
    rows = generate_shop(SHOP_ORDERS, SEED, end - timedelta(days=SHOP_DAYS), end).rows
    with seeded_ebs(backend, rows, workdir, "order_status_ebs") as (engine, report):
        if backend == "sqlite":
            staging = new_staging(workdir)
            yield EbsWorld(engine, EbsClient(engine, created_by=PRODUCT_USER_ID), report, staging)
            staging.dispose()
            return
        with contextlib.ExitStack() as stack:
            try:
                url = stack.enter_context(temp_database("order_status_staging"))
            except sa.exc.OperationalError as exc:
                no_postgres(exc)
            staging = connect(url, upgrade=True).engine
            stack.callback(staging.dispose)
            yield EbsWorld(engine, EbsClient(engine, created_by=PRODUCT_USER_ID), report, staging)


def delivered_tracking(engine: sa.Engine, header_id: int) -> list[str]:
    """Tracking numbers of an order's shipped delivery details, in ship order (SQL on the stand-in)."""
    dd = s.WSH_DELIVERY_DETAILS
    with engine.connect() as conn:
        rows = conn.execute(sa.select(dd.c.tracking_number).where(dd.c.source_header_id == header_id,
                                                                  dd.c.released_status == "C")
                            .order_by(dd.c.last_update_date, dd.c.delivery_detail_id)).scalars().all()
    return list(dict.fromkeys(rows))


def invoices_of(engine: sa.Engine, order_number: int) -> set[tuple[str, str]]:
    trx = s.RA_CUSTOMER_TRX_ALL
    with engine.connect() as conn:
        return {(str(r.customer_trx_id), r.trx_number) for r in conn.execute(
            sa.select(trx.c.customer_trx_id, trx.c.trx_number).where(
                trx.c.interface_header_attribute1 == str(order_number)))}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_ebs_status_tracking_and_invoices(backend: str, sandbox: Sandbox, tmp_path: Path) -> None:
    lane = 0 if backend == "sqlite" else 1
    x, y = sandbox.fresh[3 + 2 * lane:5 + 2 * lane]  # x ships in two parcels; y gets an invalid tracking number
    v, z = sandbox.shipped[1 + 2 * lane:3 + 2 * lane]  # v: the shop already shows Shipped; z: not ours
    shop = Shop(sandbox.shop)
    config = load_config().with_target("ebs")
    t0 = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    with ebs_world(backend, tmp_path) as world:
        report, client, engine, staging = world.report, world.client, world.engine, world.staging
        customer = next(c for c in report.customers.values() if c.status == "A" and c.ship_to_site_use_id)
        skus = [sku for sku in report.orderable_skus if report.onhand_m1.get(sku, 0) >= 2 and sku in report.price_eur]
        first, short, single, never = skus[:4]

        def order(id_order: int, lines: list[tuple[str, int]]) -> EbsOrder:
            return EbsOrder(ref(id_order), customer.cust_account_id, "EUR",
                            [EbsOrderLine(str(n), sku, qty, report.price_eur[sku]) for n, (sku, qty)
                             in enumerate(lines, 1)], ordered_date=t0)

        orders = [order(x, [(first, 1), (short, report.onhand_m1[short] + 5)]), order(y, [(single, 1)]),
                  order(v, [(never, report.onhand_m1[never] + 1000)]), order(z, [(single, 1)])]
        assert not client.interface_orders(orders, now=t0).rejected
        run_order_import(engine, now=t0)
        headers = client.order_status(ref(i) for i in (x, y, v, z))
        assert len(headers) == 4
        for id_order in (x, y, v):
            record_created(staging, EBS_TARGET, ref(id_order), headers[ref(id_order)].header_id,
                           headers[ref(id_order)].order_number)
        ids = [x, y, v, z]
        before = shop.snapshot(ids)

        def sync(end: datetime, run_id: str, **kwargs: Any) -> StatusResult:
            return sync_status(staging, config=config, writer=shop.writer, ebs=client,
                               end=end.replace(tzinfo=UTC), run_id=run_id, **kwargs)

        # Day 2: x ships its first line (the second waits for stock), y ships; y's number is one the shop refuses.
        advance(engine, t0 + timedelta(days=2))
        with engine.begin() as conn:
            conn.execute(s.WSH_DELIVERY_DETAILS.update().where(
                s.WSH_DELIVERY_DETAILS.c.source_header_id == headers[ref(y)].header_id,
                s.WSH_DELIVERY_DETAILS.c.released_status == "C").values(tracking_number="AB<12>"))
        end1 = t0 + timedelta(days=2, minutes=1)
        day2 = sync(end1, "day2")
        after2 = shop.snapshot(ids)
        x_tracking = delivered_tracking(engine, headers[ref(x)].header_id)
        assert len(x_tracking) == 1
        assert after2["states"] == {**before["states"], x: 4, y: 4}
        assert [t for _i, t in after2["carriers"][x]] == x_tracking
        assert after2["carriers"][y] == before["carriers"][y]
        letter = open_letters(staging)[f"{ref(y)}:AB<12>"]
        assert letter.reason_class == "invalid_data" and "isTrackingNumber" in letter.message
        # v: Oracle has it booked, the shop already shows it shipped: it does not go back to Processing.
        assert after2["histories"][v] == before["histories"][v]
        kept = ledger_rows(staging, ORDER_STATE_TARGET)[ref(v)]
        assert (kept.outcome, kept.target_ref, kept.target_id) == ("skipped", "BOOKED", "4")
        assert mark(staging, EBS_TARGET) == end1.replace(tzinfo=UTC).isoformat(sep=" ")
        assert day2.dead_letters == Counter({"invalid_data": 1})

        # Day 4: the goods arrive, x's second line ships; then AR bills and the orders close.
        with engine.begin() as conn:
            moqd = s.MTL_ONHAND_QUANTITIES_DETAIL
            layer = conn.execute(sa.select(sa.func.min(moqd.c.onhand_quantities_id)).where(
                moqd.c.inventory_item_id == report.items[short], moqd.c.organization_id == client.organization_id(),
                moqd.c.is_consigned == 2)).scalar_one()
            conn.execute(moqd.update().where(moqd.c.onhand_quantities_id == layer).values(
                primary_transaction_quantity=moqd.c.primary_transaction_quantity + 100,
                transaction_quantity=moqd.c.transaction_quantity + 100))
        advance(engine, t0 + timedelta(days=4))
        advance(engine, t0 + timedelta(days=7))
        end2 = t0 + timedelta(days=7, minutes=1)
        writes = sum(shop.writes.values())
        week = sync(end2, "week")
        after = shop.snapshot(ids)
        x_tracking = delivered_tracking(engine, headers[ref(x)].header_id)
        assert len(x_tracking) == 2
        assert [t for _i, t in after["carriers"][x]] == x_tracking
        assert after["states"] == {**before["states"], x: 5, y: 5}
        assert added(before["histories"], after["histories"]) == {x: [4, 5], y: [4, 5], v: [], z: []}
        assert after["carriers"][z] == before["carriers"][z] and after["carriers"][v] == before["carriers"][v]
        expected = {f"{ref(i)}:{number}": (trx_id, number) for i in (x, y)
                    for trx_id, number in invoices_of(engine, headers[ref(i)].order_number)}
        assert len(expected) == 3
        assert {k: (e.target_id, e.target_ref) for k, e in ledger_rows(staging, INVOICE_TARGET).items()} == expected
        assert week.invoices_recorded == 3 and week.tracking_written == 1 and dict(week.states_posted) == {5: 2}
        assert sum(shop.writes.values()) - writes == 3  # one order_carriers POST, two order_histories POSTs

        # Again, and a replay of the whole period: nothing new.
        asked = shop.requests
        again = sync(end2, "again")
        replay = sync(end2, "replay", start=(t0 - timedelta(hours=1)).replace(tzinfo=UTC))
        assert shop.requests == asked  # the ledger knew all of it: the shop is not even read
        assert shop.snapshot(ids) == after
        for run in (again, replay):
            assert not run.states_posted and run.tracking_written == 0 and run.invoices_recorded == 0
        # (an invoice paid later is read again with its payment schedule: skipped once per reading)
        assert replay.skipped["tracking"] == 2 and replay.skipped["invoice"] >= 3
        assert mark(staging, EBS_TARGET) == end2.replace(tzinfo=UTC).isoformat(sep=" ")
