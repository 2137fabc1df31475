"""The EBS stand-in's programs run by several callers at once, on SQLite and PostgreSQL.

On an instance the concurrent manager may run two Order Import requests side by side (two DAG runs, a manual
resubmit), and ship confirm, AutoInvoice and receipts run while orders arrive. Whatever interleaves, an interface
order becomes one sales order, a line ships once, an invoice is billed once, and every id is handed out once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from support.ebs import seeded_ebs

from prestaoracle.sandbox.ebs import SeedReport, advance, contract, run_order_import
from prestaoracle.sandbox.ebs import schema as s
from prestaoracle.sandbox.prestashop.generate import generate_shop

pytestmark = pytest.mark.xdist_group("ebs_concurrency")

H, L = s.OE_HEADERS_IFACE_ALL, s.OE_LINES_IFACE_ALL
OH = s.OE_ORDER_HEADERS_ALL
NOW = datetime(2025, 3, 3, 9, 30, 0)
PRODUCT_USER_ID = 1013
RUNS = 4


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stand_in(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sa.Engine, SeedReport]]:
    rows = generate_shop(120, 5, datetime(2024, 1, 1), datetime(2024, 12, 31, 23, 59, 59)).rows
    with seeded_ebs(request.param, rows, tmp_path_factory.mktemp("ebs-concurrency"), "ebs_concurrency") as seeded:
        yield seeded


def _who() -> dict[str, Any]:
    return {"created_by": PRODUCT_USER_ID, "creation_date": NOW, "last_updated_by": PRODUCT_USER_ID,
            "last_update_date": NOW, "last_update_login": None}


def interface_orders(engine: sa.Engine, report: SeedReport, prefix: str, n: int) -> list[str]:
    """``n`` valid booked interface orders of one line each; returns their references."""
    customers = [c for c in report.customers.values() if c.status == "A" and c.ship_to_site_use_id]
    skus = report.orderable_skus
    refs, headers, lines = [], [], []
    for k in range(n):
        ref = f"{prefix}-{k:03d}"
        refs.append(ref)
        header = dict.fromkeys(H.c.keys())
        header.update(order_source_id=contract.PRESTASHOP_ORDER_SOURCE_ID, orig_sys_document_ref=ref,
                      operation_code="INSERT", sold_to_org_id=customers[k % len(customers)].cust_account_id,
                      transactional_curr_code="EUR", booked_flag="Y", ordered_date=NOW, **_who())
        line = dict.fromkeys(L.c.keys())
        sku = skus[k % len(skus)]
        line.update(order_source_id=contract.PRESTASHOP_ORDER_SOURCE_ID, orig_sys_document_ref=ref,
                    orig_sys_line_ref="1", operation_code="INSERT", inventory_item=sku, ordered_quantity=Decimal(1),
                    unit_selling_price=report.price_eur[sku], calculate_price_flag="N", **_who())
        headers.append(header)
        lines.append(line)
    with engine.begin() as conn:
        conn.execute(H.insert(), headers)
        conn.execute(L.insert(), lines)
    return refs


def together(fn: Callable[[int], Any], n: int = RUNS) -> list[Any]:
    """``fn(0..n-1)`` on ``n`` threads released at once; the first exception any of them raised is raised."""
    start = threading.Barrier(n)

    def run(i: int) -> Any:
        start.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def imported_refs(engine: sa.Engine, refs: list[str]) -> Counter[str]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(OH.c.orig_sys_document_ref).where(OH.c.orig_sys_document_ref.in_(refs)))
        return Counter(found.scalars())


def test_parallel_order_imports_with_own_requests_import_each_order_once(
        stand_in: tuple[sa.Engine, SeedReport]) -> None:
    """§4.1: requests the product submitted itself (each with its REQUEST_ID) running at once import every pending
    interface order exactly once, with distinct HEADER_IDs and order numbers."""
    engine, report = stand_in
    refs = interface_orders(engine, report, "PAR-OWN", 40)
    results = together(lambda i: run_order_import(engine, 9_100_001 + i, now=NOW))
    imported = [o for r in results for o in r.imported]
    assert sorted(o.orig_sys_document_ref for o in imported) == refs
    assert imported_refs(engine, refs) == Counter(dict.fromkeys(refs, 1))
    assert len({o.header_id for o in imported}) == len({o.order_number for o in imported}) == len(refs)


def test_parallel_order_imports_number_their_own_requests(stand_in: tuple[sa.Engine, SeedReport]) -> None:
    """§4.1 OEOIMP submitted by the stand-in itself from several callers: distinct REQUEST_IDs, each order once."""
    engine, report = stand_in
    refs = interface_orders(engine, report, "PAR-NEW", 40)
    results = together(lambda _i: run_order_import(engine, now=NOW))
    assert len({r.request_id for r in results}) == RUNS
    assert sorted(o.orig_sys_document_ref for r in results for o in r.imported) == refs
    assert imported_refs(engine, refs) == Counter(dict.fromkeys(refs, 1))


def test_parallel_advances_ship_invoice_and_pay_once(stand_in: tuple[sa.Engine, SeedReport]) -> None:
    """§4.2/§4.6: ship confirm, AutoInvoice and receipts run by several callers at the same moment: each booked line
    ships in one delivery, each order gets one invoice and one receipt, and on-hand falls once."""
    engine, report = stand_in
    interface_orders(engine, report, "PAR-SHIP", 24)
    run_order_import(engine, now=NOW)
    # Every order of the stand-in is in play: those of the tests above are booked and due as well.
    dd, ol, trx, cr = s.WSH_DELIVERY_DETAILS, s.OE_ORDER_LINES_ALL, s.RA_CUSTOMER_TRX_ALL, s.AR_CASH_RECEIPTS_ALL
    moqd = s.MTL_ONHAND_QUANTITIES_DETAIL
    with engine.connect() as conn:
        headers = dict(conn.execute(sa.select(OH.c.header_id, OH.c.order_number)).all())
        stock_before = conn.execute(sa.select(sa.func.sum(moqd.c.primary_transaction_quantity))).scalar_one()
    for step in (timedelta(days=2), timedelta(days=4), timedelta(days=7)):
        together(lambda _i, at=NOW + step: advance(engine, at))
    with engine.connect() as conn:
        details = conn.execute(sa.select(dd.c.source_header_id, dd.c.released_status, dd.c.tracking_number)
                               .where(dd.c.source_header_id.in_(headers))).all()
        assignments = Counter(conn.execute(
            sa.select(s.WSH_DELIVERY_ASSIGNMENTS.c.delivery_detail_id)
            .join(dd, dd.c.delivery_detail_id == s.WSH_DELIVERY_ASSIGNMENTS.c.delivery_detail_id)
            .where(dd.c.source_header_id.in_(headers))).scalars())
        shipped_qty = conn.execute(sa.select(sa.func.sum(ol.c.shipped_quantity))
                                   .where(ol.c.header_id.in_(headers))).scalar_one()
        invoices = Counter(conn.execute(sa.select(trx.c.ct_reference)
                                        .where(trx.c.ct_reference.in_([str(n) for n in headers.values()]))).scalars())
        receipts = conn.execute(sa.select(sa.func.count()).select_from(cr)
                                .where(cr.c.comments.in_([f"Payment for order {n}" for n in headers.values()]))
                                ).scalar_one()
        stock_after = conn.execute(sa.select(sa.func.sum(moqd.c.primary_transaction_quantity))).scalar_one()
    shipped = [d for d in details if d.released_status == "C"]
    assert shipped and all(d.tracking_number for d in shipped)
    assert set(assignments.values()) == {1} and len(assignments) == len(shipped)
    assert Decimal(stock_before) - Decimal(stock_after) == Decimal(shipped_qty)
    billed = {d.source_header_id for d in shipped}
    assert invoices == Counter({str(headers[h]): 1 for h in billed})
    assert receipts == len(billed)
