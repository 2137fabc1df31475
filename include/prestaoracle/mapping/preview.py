"""Dry runs for ``python -m prestaoracle map``: one staged record through every spec that concerns it.

The record is taken as landed when it is (what the next ``map`` step would write), else from its canonical rows;
nothing is written. Each section is either its mapped rows/payload or the error a flow would dead-letter, with its
reason class, field and how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from prestaoracle.staging.schema import landing_records

from . import documents
from .context import MappingContext
from .errors import MappingError
from .mapper import map_record, table_rows
from .spec import load_spec

__all__ = ["customer", "order", "sales_order"]


def _landed(conn: sa.Connection, source: str, entity: str, ids: Iterable[Any]) -> dict[str, dict[str, Any]]:
    wanted = sorted({str(i) for i in ids if i not in (None, "", 0)})
    if not wanted:
        return {}
    t = landing_records
    rows = conn.execute(sa.select(t.c.record_id, t.c.payload).where(
        t.c.source == source, t.c.entity == entity, t.c.record_id.in_(wanted)))
    return {record_id: json.loads(payload) for record_id, payload in rows}


def _attempt(make: Callable[[], Any]) -> Any:
    try:
        return make()
    except MappingError as exc:
        return {"error": {"reason_class": exc.reason_class, "field": exc.field, "message": exc.message,
                          "how_to_fix": exc.how_to_fix}}


def _rows(spec_name: str, records: Iterable[dict[str, Any]], ctx: MappingContext) -> list[dict[str, Any]]:
    spec = load_spec(spec_name)
    out: list[dict[str, Any]] = []
    for record in records:
        out.extend(table_rows(spec, map_record(spec, record, ctx))[spec.table or ""])
    return out


def _context(conn: sa.Connection, ctx: MappingContext, names: Iterable[str]) -> MappingContext:
    return ctx.with_staging(conn, [load_spec(n) for n in names])


def order(conn: sa.Connection, id_order: int, ctx: MappingContext) -> dict[str, Any]:
    """The canonical rows, the Fusion payload and the EBS interface rows of one order."""
    ctx = _context(conn, ctx, ("ps_orders", "ps_order_lines", "ps_customers", "ps_addresses", "fusion_sales_order",
                               "ebs_order"))
    landed = _landed(conn, "prestashop", "orders", [id_order]).get(str(id_order))
    if landed is None:
        doc = documents.order_documents(conn, [id_order]).get(id_order)
        if doc is None:
            raise LookupError(f"order {id_order} is neither landed nor in ps_orders; extract it first "
                              "(python -m prestaoracle extract --source prestashop --entity orders)")
        canonical = {"ps_orders": [{k: v for k, v in doc.items()
                                    if k not in ("lines", "customer", "delivery_address", "invoice_address")}],
                     "ps_order_lines": doc["lines"],
                     "ps_customers": [doc["customer"]] if doc["customer"] else [],
                     "ps_addresses": [a for a in {id(a): a for a in (doc["delivery_address"], doc["invoice_address"])
                                                  if a}.values()]}
        origin = "canonical"
    else:
        mapped = _attempt(lambda: _canonical_order(conn, landed, ctx))
        if "error" in mapped:
            return {"order": id_order, "source": "landed", "canonical": mapped}
        canonical, doc = mapped
        origin = "landed"
    return {
        "order": id_order,
        "source": origin,
        "canonical": canonical,
        "fusion_sales_order": _attempt(lambda: map_record("fusion_sales_order", doc, ctx)),
        "ebs_order": _attempt(lambda: map_record("ebs_order", doc, ctx)),
    }


def _canonical_order(conn: sa.Connection, landed: dict[str, Any],
                     ctx: MappingContext) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    head = _rows("ps_orders", [landed], ctx)[0]
    rows = (landed.get("associations") or {}).get("order_rows") or []
    details = _landed(conn, "prestashop", "order_details", [r.get("id") for r in rows]).values()
    lines = _rows("ps_order_lines", details, ctx)
    if not lines:
        lines = documents.order_documents(conn, [head["id_order"]]).get(head["id_order"], {}).get("lines", [])
    customers = _rows("ps_customers", _landed(conn, "prestashop", "customers", [landed.get("id_customer")]).values(),
                      ctx)
    address_ids = [landed.get("id_address_delivery"), landed.get("id_address_invoice")]
    addresses = _rows("ps_addresses", _landed(conn, "prestashop", "addresses", address_ids).values(), ctx)
    doc = documents.order_document_from_rows(head, lines, {c["id_customer"]: c for c in customers},
                                             {a["id_address"]: a for a in addresses})
    if doc["customer"] is None or doc["delivery_address"] is None or doc["invoice_address"] is None:
        staged = documents.order_documents(conn, [head["id_order"]]).get(head["id_order"]) or {}
        for key in ("customer", "delivery_address", "invoice_address"):
            doc[key] = doc[key] or staged.get(key)
    canonical = {"ps_orders": [head], "ps_order_lines": lines, "ps_customers": customers, "ps_addresses": addresses}
    return canonical, doc


def customer(conn: sa.Connection, id_customer: int, ctx: MappingContext) -> dict[str, Any]:
    """The canonical customer and the Oracle account payload it would become."""
    ctx = _context(conn, ctx, ("ps_customers", "fusion_account"))
    staged = documents.customer_documents(conn, [id_customer]).get(id_customer)
    landed = _landed(conn, "prestashop", "customers", [id_customer]).get(str(id_customer))
    if landed is None and staged is None:
        raise LookupError(f"customer {id_customer} is neither landed nor in ps_customers; extract it first "
                          "(python -m prestaoracle extract --source prestashop --entity customers)")
    if landed is not None:
        row = _attempt(lambda: _rows("ps_customers", [landed], ctx)[0])
        if "error" in row:
            return {"customer": id_customer, "source": "landed", "canonical": row}
        doc = {**row, "address": (staged or {}).get("address")}
    else:
        doc = staged
    return {"customer": id_customer, "source": "landed" if landed is not None else "canonical",
            "canonical": {"ps_customers": [{k: v for k, v in doc.items() if k != "address"}]},
            "fusion_account": _attempt(lambda: map_record("fusion_account", doc, ctx))}


def sales_order(conn: sa.Connection, header_id: int, ctx: MappingContext) -> dict[str, Any]:
    """The canonical Oracle order (with lines) and the PrestaShop order state it means."""
    ctx = _context(conn, ctx, ("ora_sales_orders", "prestashop_order_state"))
    landed = _landed(conn, "oracle", "sales_orders", [header_id]).get(str(header_id))
    if landed is not None:
        spec = load_spec("ora_sales_orders")
        mapped = _attempt(lambda: table_rows(spec, map_record(spec, landed, ctx)))
        if "error" in mapped:
            return {"sales_order": header_id, "source": "landed", "canonical": mapped}
        head = mapped["ora_sales_orders"][0]
        doc = {**head, "lines": mapped.get("ora_order_lines", [])}
        canonical = mapped
    else:
        doc = documents.sales_order_documents(conn, [header_id]).get(header_id)
        if doc is None:
            raise LookupError(f"sales order {header_id} is neither landed nor in ora_sales_orders; extract it first "
                              "(python -m prestaoracle extract --source oracle --entity sales_orders)")
        canonical = {"ora_sales_orders": [{k: v for k, v in doc.items() if k != "lines"}],
                     "ora_order_lines": doc["lines"]}
    return {"sales_order": header_id, "source": "landed" if landed is not None else "canonical",
            "canonical": canonical,
            "prestashop_order_state": _attempt(lambda: map_record("prestashop_order_state", doc, ctx))}
