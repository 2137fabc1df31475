"""The EBS order target (``flows/orders/ebs.py``) against the EBS stand-in on SQLite and PostgreSQL.

The stand-in's Order Import program (``run_order_import``) plays the concurrent manager between ``load`` (orders
into the interface) and ``collect`` (its verdict back). Orders are built from the seed's ground truth: active
customer accounts, orderable SKUs and their EBS prices, and SKUs EBS refuses. Every key is counted in
``OE_ORDER_HEADERS_ALL`` after each scenario: exactly once means one row per reference that imported, none else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from support.ebs import seeded_ebs

from prestaoracle.flows.orders.ebs import EbsOrderLoader
from prestaoracle.flows.orders.types import MemoryState, OrderToLoad, order_ref
from prestaoracle.oracle.ebs import EbsClient, EbsOrder, EbsOrderLine
from prestaoracle.sandbox.ebs import SeedReport, contract, run_order_import
from prestaoracle.sandbox.ebs import schema as s
from prestaoracle.sandbox.prestashop.generate import generate_shop

pytestmark = [
    pytest.mark.xdist_group("order_loader_ebs"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

NOW = datetime(2025, 3, 3, 9, 30, 0)
H, L, OH = s.OE_HEADERS_IFACE_ALL, s.OE_LINES_IFACE_ALL, s.OE_ORDER_HEADERS_ALL


@dataclass
class Env:
    engine: sa.Engine
    report: SeedReport

    def loader(self) -> EbsOrderLoader:
        return EbsOrderLoader(EbsClient(self.engine, created_by=1013))

    def order(self, shop_id: int, id_order: int, sku: str | None = None, n: int = 0) -> OrderToLoad:
        """One order of an active customer for an orderable SKU at its EBS price (or for ``sku``)."""
        customers = [c for c in self.report.customers.values() if c.status == "A" and c.ship_to_site_use_id]
        customer = customers[n % len(customers)]
        skus = [k for k in self.report.orderable_skus if k in self.report.price_eur]
        line_sku = sku or skus[n % len(skus)]
        key = order_ref(shop_id, id_order)
        payload = EbsOrder(key, customer.cust_account_id, "EUR",
                           [EbsOrderLine("1", line_sku, 2, self.report.price_eur.get(line_sku, 10))],
                           ordered_date=NOW, customer_po_number=f"REF{id_order}")
        return OrderToLoad(key=key, id_order=id_order, payload=payload)

    def headers_per_ref(self, keys: list[str]) -> Counter:
        with self.engine.connect() as conn:
            refs = conn.execute(sa.select(OH.c.orig_sys_document_ref).where(
                OH.c.order_source_id == contract.PRESTASHOP_ORDER_SOURCE_ID,
                OH.c.orig_sys_document_ref.in_(keys))).scalars().all()
        return Counter(refs)

    def interface_rows(self, key: str) -> tuple[int, int]:
        with self.engine.connect() as conn:
            heads = conn.execute(sa.select(sa.func.count()).select_from(H).where(
                H.c.orig_sys_document_ref == key)).scalar_one()
            lines = conn.execute(sa.select(sa.func.count()).select_from(L).where(
                L.c.orig_sys_document_ref == key)).scalar_one()
        return int(heads), int(lines)

    def imported(self, keys: list[str]) -> dict[str, tuple[str, str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(OH.c.orig_sys_document_ref, OH.c.header_id, OH.c.order_number,
                                          OH.c.flow_status_code).where(OH.c.orig_sys_document_ref.in_(keys)))
            return {r.orig_sys_document_ref: (str(r.header_id), str(r.order_number), r.flow_status_code)
                    for r in rows}


@pytest.fixture(scope="module")
def shop_rows() -> dict[str, list[dict]]:
    return generate_shop(80, 11, datetime(2024, 1, 1), datetime(2024, 12, 31, 23, 59, 59)).rows


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, shop_rows: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with seeded_ebs(request.param, shop_rows, tmp_path_factory.mktemp("order_loader_ebs"),
                    "order_loader_ebs") as (engine, report):
        yield Env(engine, report)


def test_interfaced_then_imported_then_collected_and_a_reload_creates_nothing(env: Env) -> None:
    loader = env.loader()
    good = [env.order(1, n, n=n) for n in range(1, 9)]
    not_orderable = env.order(1, 20, sku=env.report.inactive_skus[0])
    unknown = env.order(1, 21, sku="NO-SUCH-SKU")
    orders = [*good, not_orderable, unknown]
    keys = [o.key for o in orders]
    state = MemoryState()

    loaded = loader.load(orders, state=state, now=NOW)

    assert [o.key for o in loaded] == keys
    assert [o.status for o in loaded] == ["interfaced"] * 9 + ["rejected"]
    refused = loaded[-1]
    assert refused.reason_class == "mapping_missing" and "NO-SUCH-SKU" in refused.message
    assert "item" in refused.how_to_fix.lower()
    assert state.get("in_flight") == keys  # the refs, saved before the insert
    assert env.interface_rows(unknown.key) == (0, 0)
    assert {k: o.status for k, o in loader.find(keys).items()} == dict.fromkeys(keys[:9], "interfaced")
    assert [o.status for o in loader.collect(keys[:9])] == ["interfaced"] * 9  # Order Import has not run

    run_order_import(env.engine, now=NOW)
    collected = {o.key: o for o in loader.collect(keys[:9])}

    truth = env.imported(keys)
    for order in good:
        out = collected[order.key]
        assert out.status == "created" and (out.target_id, out.target_ref, out.oracle_status) == truth[order.key]
    assert truth[good[0].key][2] == "BOOKED"
    failed = collected[not_orderable.key]
    assert (failed.status, failed.reason_class) == ("rejected", "business_rule")
    assert "not customer orderable" in failed.message and env.report.inactive_skus[0] in failed.message
    assert "EBS" in failed.how_to_fix
    found = loader.find(keys)
    assert {k: o.status for k, o in found.items()} == {o.key: "exists" for o in good}

    # A replay of the whole window (a retried task, a backfill): what EBS has is reported, nothing is inserted.
    again = loader.load(orders, state=state, now=NOW + timedelta(hours=1), replace_failed=False)
    assert [o.status for o in again] == ["exists"] * 8 + ["rejected", "rejected"]
    assert [(o.target_id, o.target_ref) for o in again[:8]] == [truth[o.key][:2] for o in good]
    assert "not customer orderable" in again[8].message
    run_order_import(env.engine, now=NOW + timedelta(hours=2))
    assert env.headers_per_ref(keys) == Counter({o.key: 1 for o in good})


def test_a_fixed_order_replaces_its_failed_copy(env: Env) -> None:
    loader = env.loader()
    broken = env.order(2, 1, sku=env.report.style_skus[0])  # a style parent: present in EBS, not orderable
    assert loader.load([broken], now=NOW)[0].status == "interfaced"
    run_order_import(env.engine, now=NOW)
    assert loader.collect([broken.key])[0].status == "rejected"

    kept = loader.load([broken], now=NOW, replace_failed=False)[0]
    assert (kept.status, kept.reason_class) == ("rejected", "business_rule")
    assert env.interface_rows(broken.key) == (1, 1)  # the failed copy stays for the operator to read

    fixed = env.order(2, 1, n=3)  # the shop order now names an orderable combination
    replaced = loader.load([fixed], now=NOW)[0]
    assert (replaced.status, replaced.message) == ("interfaced", "replaced the copy that failed import")
    assert env.interface_rows(broken.key) == (1, 1)
    run_order_import(env.engine, now=NOW)
    created = loader.collect([fixed.key])[0]
    assert created.status == "created" and created.target_ref
    assert env.headers_per_ref([fixed.key]) == Counter({fixed.key: 1})
    assert env.interface_rows(fixed.key) == (0, 0)


def test_cancel_withdraws_what_waits_and_refers_imported_orders_to_ebs(env: Env) -> None:
    loader = env.loader()
    waiting, imported = env.order(3, 1), env.order(3, 2, n=1)
    loader.load([imported], now=NOW)
    run_order_import(env.engine, now=NOW)
    number = env.imported([imported.key])[imported.key][1]
    loader.load([waiting], now=NOW)

    withdrawn = loader.cancel(waiting.key, reason="cancelled in the shop (state 6)")

    assert withdrawn.status == "cancelled" and "withdrawn" in withdrawn.message
    assert env.interface_rows(waiting.key) == (0, 0)
    run_order_import(env.engine, now=NOW + timedelta(minutes=5))
    assert env.headers_per_ref([waiting.key]) == Counter()  # never created
    assert loader.collect([waiting.key])[0].status == "failed"
    assert loader.cancel(waiting.key, reason="again").status == "cancelled"  # nothing left: a no-op

    refused = loader.cancel(imported.key, reason="refunded in the shop (state 7)")

    assert (refused.status, refused.reason_class, refused.target_ref) == ("rejected", "business_rule", number)
    assert f"Cancel sales order {number} in EBS" in refused.how_to_fix and "RMA" in refused.how_to_fix
    assert env.headers_per_ref([imported.key]) == Counter({imported.key: 1})
