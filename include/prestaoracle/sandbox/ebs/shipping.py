"""What happens to a booked order after Order Import: ship confirm, AutoInvoice and cash receipts.

The product polls EBS for order status, tracking numbers and invoices; ``advance`` makes the stand-in produce them
on demand, with the same rows the real modules leave behind (Shipping Execution's WSH tables, Receivables' RA/AR
tables) and the on-hand reduction a shipment causes. Time is explicit (``now``) so tests can replay days in
milliseconds and every run with the same data and clock gives the same ids and tracking numbers.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prestaoracle.sandbox.ebs import contract
from prestaoracle.sandbox.ebs import schema as s

__all__ = ["AdvanceResult", "advance", "tracking_number"]

_CENT = Decimal("0.01")


@dataclass
class AdvanceResult:
    """What one ``advance`` call changed."""

    shipped_lines: list[int] = field(default_factory=list)  # OE line ids
    backordered_lines: list[int] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)
    invoices: list[str] = field(default_factory=list)  # TRX_NUMBERs
    receipts: list[str] = field(default_factory=list)  # RECEIPT_NUMBERs
    closed_orders: list[int] = field(default_factory=list)  # header ids


def tracking_number(ship_method_code: str | None, delivery_id: int) -> str:
    """The carrier-shaped tracking number of a delivery; a pure function of its id so reruns agree."""
    formats = {method: fmt for _name, _freight, _scac, method, fmt in contract.CARRIERS.values()}
    fmt = formats.get(ship_method_code or "", contract.CARRIERS[contract.DEFAULT_CARRIER][4])
    rng = random.Random(delivery_id)
    return "".join(rng.choice("0123456789") if ch == "N" else rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") if ch == "A"
                   else ch for ch in fmt)


def advance(engine: Engine, now: datetime, *, ship_after: timedelta = timedelta(days=1),
            invoice_after: timedelta = timedelta(days=1), pay_after: timedelta = timedelta(days=2)) -> AdvanceResult:
    """Ship booked lines booked at least ``ship_after`` ago (when stock allows), invoice lines shipped at least
    ``invoice_after`` ago, and pay invoices at least ``pay_after`` old. One transaction; idempotent for a given
    ``now`` once nothing is due. Callers advancing at once take turns, so nothing ships, bills or pays twice."""
    now = now.replace(microsecond=0, tzinfo=None)
    result = AdvanceResult()
    with engine.begin() as conn:
        s.run_alone(conn, "WSHADVANCE")
        _ship(conn, now, now - ship_after, result)
        _invoice(conn, now, now - invoice_after, result)
        _pay(conn, now, now - pay_after, result)
    return result


# --------------------------------------------------------------------------------------------- ship confirm


def _carriers(conn: sa.Connection) -> dict[str, int]:
    cs = s.WSH_CARRIER_SERVICES
    return dict(conn.execute(sa.select(cs.c.ship_method_code, cs.c.carrier_id).where(cs.c.enabled_flag == "Y"))
                .all())


def _ship(conn: sa.Connection, now: datetime, cutoff: datetime, result: AdvanceResult) -> None:
    dd, ol, oh = s.WSH_DELIVERY_DETAILS, s.OE_ORDER_LINES_ALL, s.OE_ORDER_HEADERS_ALL
    query = (sa.select(dd.c.delivery_detail_id, dd.c.released_status, dd.c.inventory_item_id, dd.c.organization_id,
                       dd.c.requested_quantity, ol.c.line_id, oh.c.header_id, oh.c.shipping_method_code,
                       oh.c.sold_to_org_id)
             .join(ol, ol.c.line_id == dd.c.source_line_id).join(oh, oh.c.header_id == ol.c.header_id)
             .where(dd.c.source_code == "OE", dd.c.released_status.in_(("R", "B")), oh.c.booked_date <= cutoff,
                    ol.c.open_flag == "Y", ol.c.flow_status_code == "AWAITING_SHIPPING")
             .order_by(oh.c.header_id, dd.c.delivery_detail_id))
    due = conn.execute(query).all()
    if not due:
        return
    stock = _load_stock(conn, {(r.inventory_item_id, r.organization_id) for r in due})
    shipped: dict[int, list[Any]] = defaultdict(list)
    backordered = []
    touched_layers: set[int] = set()
    for row in due:
        layers = stock.get((row.inventory_item_id, row.organization_id), [])
        need = Decimal(row.requested_quantity)
        if sum(layer[1] for layer in layers) < need:
            if row.released_status == "R":
                backordered.append(row)
            continue
        for layer in layers:  # oldest receipt first
            take = min(layer[1], need)
            if take:
                layer[1] -= take
                need -= take
                touched_layers.add(layer[0])
            if not need:
                break
        shipped[row.header_id].append(row)
    _write_stock(conn, stock, touched_layers, now)
    if backordered:
        conn.execute(sa.update(dd).where(dd.c.delivery_detail_id == sa.bindparam("k_id"))
                     .values(released_status="B", last_update_date=now),
                     [{"k_id": r.delivery_detail_id} for r in backordered])
        result.backordered_lines += [r.line_id for r in backordered]
    if not shipped:
        return
    carriers = _carriers(conn)
    default_method = contract.CARRIERS[contract.DEFAULT_CARRIER][3]
    delivery_ids = iter(range(s.allocate_ids(conn, "WSH_NEW_DELIVERIES_S", len(shipped)), 10**18))
    n_details = sum(len(rows) for rows in shipped.values())
    assignment_ids = iter(range(s.allocate_ids(conn, "WSH_DELIVERY_ASSIGNMENTS_S", n_details), 10**18))
    deliveries, assignments, detail_updates, line_updates = [], [], [], []
    for rows in shipped.values():
        delivery_id = next(delivery_ids)
        method = rows[0].shipping_method_code or default_method
        carrier_id = carriers.get(method)
        tracking = tracking_number(method, delivery_id)
        deliveries.append({
            "delivery_id": delivery_id, "name": str(delivery_id), "organization_id": rows[0].organization_id,
            "status_code": "CL", "ship_method_code": method, "carrier_id": carrier_id, "waybill": tracking,
            "confirm_date": now, "initial_pickup_date": now, "customer_id": rows[0].sold_to_org_id, **s.stamp(now),
        })
        result.deliveries.append(delivery_id)
        for row in rows:
            assignments.append({"delivery_assignment_id": next(assignment_ids), "delivery_id": delivery_id,
                                "delivery_detail_id": row.delivery_detail_id, **s.stamp(now)})
            detail_updates.append({"k_id": row.delivery_detail_id, "k_qty": row.requested_quantity,
                                   "k_tracking": tracking, "k_carrier": carrier_id, "k_method": method})
            line_updates.append({"k_id": row.line_id, "k_qty": row.requested_quantity})
            result.shipped_lines.append(row.line_id)
    conn.execute(s.WSH_NEW_DELIVERIES.insert(), deliveries)
    conn.execute(s.WSH_DELIVERY_ASSIGNMENTS.insert(), assignments)
    conn.execute(sa.update(dd).where(dd.c.delivery_detail_id == sa.bindparam("k_id")).values(
        released_status="C", shipped_quantity=sa.bindparam("k_qty"), tracking_number=sa.bindparam("k_tracking"),
        carrier_id=sa.bindparam("k_carrier"), ship_method_code=sa.bindparam("k_method"), last_update_date=now),
        detail_updates)
    conn.execute(sa.update(ol).where(ol.c.line_id == sa.bindparam("k_id")).values(
        flow_status_code="SHIPPED", shipped_quantity=sa.bindparam("k_qty"), actual_shipment_date=now,
        last_update_date=now), line_updates)


def _load_stock(conn: sa.Connection, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], list[list[Any]]]:
    """Own (non-consigned) receipt layers per (item, organization), oldest first, as [id, quantity]."""
    moqd = s.MTL_ONHAND_QUANTITIES_DETAIL
    stock: dict[tuple[int, int], list[list[Any]]] = defaultdict(list)
    items = sorted({item for item, _org in pairs})
    orgs = sorted({org for _item, org in pairs})
    for start in range(0, len(items), 500):
        query = (sa.select(moqd.c.onhand_quantities_id, moqd.c.inventory_item_id, moqd.c.organization_id,
                           moqd.c.primary_transaction_quantity)
                 .where(moqd.c.inventory_item_id.in_(items[start:start + 500]), moqd.c.organization_id.in_(orgs),
                        moqd.c.is_consigned == 2)
                 .order_by(moqd.c.date_received, moqd.c.onhand_quantities_id))
        for row in conn.execute(query):
            stock[(row.inventory_item_id, row.organization_id)].append(
                [row.onhand_quantities_id, Decimal(row.primary_transaction_quantity)])
    return stock


def _write_stock(conn: sa.Connection, stock: dict[tuple[int, int], list[list[Any]]], touched: set[int],
                 now: datetime) -> None:
    moqd = s.MTL_ONHAND_QUANTITIES_DETAIL
    updates, deletes = [], []
    for layers in stock.values():
        for layer_id, qty in layers:
            if layer_id in touched:
                # An emptied layer disappears, as in EBS; a partly used one keeps its receipt date.
                (updates if qty > 0 else deletes).append({"k_id": layer_id, "k_qty": qty})
    if updates:
        conn.execute(sa.update(moqd).where(moqd.c.onhand_quantities_id == sa.bindparam("k_id")).values(
            primary_transaction_quantity=sa.bindparam("k_qty"), transaction_quantity=sa.bindparam("k_qty"),
            last_update_date=now), updates)
    if deletes:
        conn.execute(sa.delete(moqd).where(moqd.c.onhand_quantities_id == sa.bindparam("k_id")),
                     [{"k_id": d["k_id"]} for d in deletes])


# --------------------------------------------------------------------------------------------- AutoInvoice


def _invoice(conn: sa.Connection, now: datetime, cutoff: datetime, result: AdvanceResult) -> None:
    ol, oh = s.OE_ORDER_LINES_ALL, s.OE_ORDER_HEADERS_ALL
    query = (sa.select(ol.c.line_id, ol.c.line_number, ol.c.inventory_item_id, ol.c.ordered_item,
                       ol.c.shipped_quantity, ol.c.unit_selling_price, oh.c.header_id, oh.c.order_number,
                       oh.c.ordered_date, oh.c.sold_to_org_id, oh.c.ship_to_org_id, oh.c.invoice_to_org_id,
                       oh.c.transactional_curr_code, oh.c.cust_po_number, oh.c.payment_term_id, oh.c.org_id)
             .join(oh, oh.c.header_id == ol.c.header_id)
             .where(ol.c.flow_status_code == "SHIPPED", ol.c.open_flag == "Y", ol.c.actual_shipment_date <= cutoff)
             .order_by(oh.c.header_id, ol.c.line_number))
    rows = conn.execute(query).all()
    if not rows:
        return
    by_header: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_header[row.header_id].append(row)
    trx_ids = iter(range(s.allocate_ids(conn, "RA_CUSTOMER_TRX_S", len(by_header)), 10**18))
    trx_numbers = iter(range(s.allocate_ids(conn, "RA_TRX_NUMBER_S", len(by_header)), 10**18))
    schedule_ids = iter(range(s.allocate_ids(conn, "AR_PAYMENT_SCHEDULES_S", len(by_header)), 10**18))
    trx_line_ids = iter(range(s.allocate_ids(conn, "RA_CUSTOMER_TRX_LINES_S", len(rows)), 10**18))
    trxs, trx_lines, schedules, line_updates = [], [], [], []
    for lines in by_header.values():
        head = lines[0]
        trx_id, trx_number, order_number = next(trx_ids), str(next(trx_numbers)), str(head.order_number)
        total = Decimal(0)
        for k, line in enumerate(lines, start=1):
            qty, price = Decimal(line.shipped_quantity), Decimal(line.unit_selling_price)
            amount = (qty * price).quantize(_CENT, ROUND_HALF_UP)
            total += amount
            trx_lines.append({
                "customer_trx_line_id": next(trx_line_ids), "customer_trx_id": trx_id, "line_number": k,
                "line_type": "LINE", "description": line.ordered_item, "inventory_item_id": line.inventory_item_id,
                "quantity_invoiced": qty, "unit_selling_price": price, "extended_amount": amount,
                "sales_order": order_number, "sales_order_line": str(line.line_number),
                "sales_order_date": head.ordered_date, "interface_line_context": "ORDER ENTRY",
                "interface_line_attribute1": order_number, "interface_line_attribute6": str(line.line_id),
                "org_id": head.org_id, **s.stamp(now),
            })
            line_updates.append({"k_id": line.line_id, "k_qty": qty})
        trxs.append({
            "customer_trx_id": trx_id, "trx_number": trx_number, "trx_date": now,
            "cust_trx_type_id": contract.CUST_TRX_TYPE_INVOICE_ID,
            "batch_source_id": contract.BATCH_SOURCE_ORDER_ENTRY_ID, "bill_to_customer_id": head.sold_to_org_id,
            "bill_to_site_use_id": head.invoice_to_org_id, "ship_to_customer_id": head.sold_to_org_id,
            "ship_to_site_use_id": head.ship_to_org_id, "sold_to_customer_id": head.sold_to_org_id,
            "term_id": head.payment_term_id, "invoice_currency_code": head.transactional_curr_code,
            "complete_flag": "Y", "purchase_order": head.cust_po_number, "ct_reference": order_number,
            "interface_header_context": "ORDER ENTRY", "interface_header_attribute1": order_number,
            "org_id": head.org_id, **s.stamp(now),
        })
        schedules.append({
            "payment_schedule_id": next(schedule_ids), "customer_trx_id": trx_id, "cash_receipt_id": None,
            "customer_id": head.sold_to_org_id, "trx_number": trx_number, "trx_date": now, "class": "INV",
            "status": "OP", "due_date": now + timedelta(days=contract.PAYMENT_TERM_DAYS),
            "amount_due_original": total, "amount_due_remaining": total,
            "invoice_currency_code": head.transactional_curr_code, "actual_date_closed": None,
            "org_id": head.org_id, **s.stamp(now),
        })
        result.invoices.append(trx_number)
    conn.execute(s.RA_CUSTOMER_TRX_ALL.insert(), trxs)
    conn.execute(s.RA_CUSTOMER_TRX_LINES_ALL.insert(), trx_lines)
    conn.execute(s.AR_PAYMENT_SCHEDULES_ALL.insert(), schedules)
    conn.execute(sa.update(ol).where(ol.c.line_id == sa.bindparam("k_id")).values(
        flow_status_code="CLOSED", invoiced_quantity=sa.bindparam("k_qty"), invoice_interface_status_code="YES",
        open_flag="N", last_update_date=now), line_updates)
    # Close the orders that have no open line left.
    open_lines = sa.select(ol.c.line_id).where(ol.c.header_id == oh.c.header_id, ol.c.open_flag == "Y").exists()
    closing = conn.execute(sa.select(oh.c.header_id).where(oh.c.header_id.in_(sorted(by_header)), ~open_lines)
                           ).scalars().all()
    if closing:
        conn.execute(sa.update(oh).where(oh.c.header_id.in_(closing))
                     .values(flow_status_code="CLOSED", open_flag="N", last_update_date=now))
        result.closed_orders += list(closing)


# --------------------------------------------------------------------------------------------- receipts


def _pay(conn: sa.Connection, now: datetime, cutoff: datetime, result: AdvanceResult) -> None:
    ps, trx = s.AR_PAYMENT_SCHEDULES_ALL, s.RA_CUSTOMER_TRX_ALL
    query = (sa.select(ps.c.payment_schedule_id, ps.c.customer_trx_id, ps.c.customer_id, ps.c.amount_due_remaining,
                       ps.c.invoice_currency_code, ps.c.org_id, trx.c.ct_reference)
             .join(trx, trx.c.customer_trx_id == ps.c.customer_trx_id)
             .where(ps.c["class"] == "INV", ps.c.status == "OP", ps.c.trx_date <= cutoff)
             .order_by(ps.c.payment_schedule_id))
    due = conn.execute(query).all()
    if not due:
        return
    receipt_ids = iter(range(s.allocate_ids(conn, "AR_CASH_RECEIPTS_S", len(due)), 10**18))
    receipt_numbers = iter(range(s.allocate_ids(conn, "AR_RECEIPT_NUMBER_S", len(due)), 10**18))
    application_ids = iter(range(s.allocate_ids(conn, "AR_RECEIVABLE_APPLICATIONS_S", len(due)), 10**18))
    receipts, applications, closes = [], [], []
    for row in due:
        receipt_id, number = next(receipt_ids), f"R{next(receipt_numbers)}"
        amount = Decimal(row.amount_due_remaining)
        receipts.append({
            "cash_receipt_id": receipt_id, "receipt_number": number, "receipt_date": now, "amount": amount,
            "currency_code": row.invoice_currency_code, "pay_from_customer": row.customer_id,
            "receipt_method_id": contract.RECEIPT_METHOD_ID, "status": "APP", "type": "CASH",
            "comments": f"Payment for order {row.ct_reference}", "org_id": row.org_id, **s.stamp(now),
        })
        applications.append({
            "receivable_application_id": next(application_ids), "cash_receipt_id": receipt_id,
            "applied_customer_trx_id": row.customer_trx_id, "applied_payment_schedule_id": row.payment_schedule_id,
            "amount_applied": amount, "apply_date": now, "status": "APP", "display": "Y",
            "application_type": "CASH", "org_id": row.org_id, **s.stamp(now),
        })
        closes.append({"k_id": row.payment_schedule_id})
        result.receipts.append(number)
    conn.execute(s.AR_CASH_RECEIPTS_ALL.insert(), receipts)
    conn.execute(s.AR_RECEIVABLE_APPLICATIONS_ALL.insert(), applications)
    conn.execute(sa.update(ps).where(ps.c.payment_schedule_id == sa.bindparam("k_id")).values(
        amount_due_remaining=0, status="CL", actual_date_closed=now, last_update_date=now), closes)
