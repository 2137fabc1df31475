"""Building records for GET: one page of rows, their derived fields and associations, in few queries."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from prestaoracle.sandbox.prestashop import store
from prestaoracle.sandbox.prestashop.render import Record, wire
from prestaoracle.sandbox.prestashop.schema import Association, Resource

ORDER_ROW_FIELDS = {
    "id": "id", "product_id": "product_id", "product_attribute_id": "product_attribute_id",
    "product_quantity": "product_quantity", "product_name": "product_name", "product_reference": "product_reference",
    "product_ean13": "product_ean13", "product_isbn": "product_isbn", "product_upc": "product_upc",
    "product_price": "product_price", "id_customization": "id_customization",
    "unit_price_tax_incl": "unit_price_tax_incl", "unit_price_tax_excl": "unit_price_tax_excl",
}


def _derived(conn: sa.Connection, res: Resource, ids: Sequence[int]) -> dict[tuple[int, str], list[dict]]:
    """Associations the shop computes from other tables (order rows from order_details, and so on)."""
    out: dict[tuple[int, str], list[dict]] = {}
    if res.name == "orders":
        for d in store.rows_by(conn, "order_details", "id_order", ids):
            m = d._mapping
            out.setdefault((m["id_order"], "order_rows"), []).append({k: m[v] for k, v in ORDER_ROW_FIELDS.items()})
    elif res.name == "products":
        for c in store.rows_by(conn, "combinations", "id_product", ids):
            out.setdefault((c.id_product, "combinations"), []).append({"id": c.id})
        for s in store.rows_by(conn, "stock_availables", "id_product", ids):
            out.setdefault((s.id_product, "stock_availables"), []).append(
                {"id": s.id, "id_product_attribute": s.id_product_attribute}
            )
    return out


def _virtuals(conn: sa.Connection, res: Resource, ids: Sequence[int]) -> dict[tuple[int, str], object]:
    """Getter-backed fields: an order's shipping_number is its (first) carrier row's tracking number."""
    out: dict[tuple[int, str], object] = {}
    if res.name == "orders":
        for c in reversed(store.rows_by(conn, "order_carriers", "id_order", ids)):
            out[(c.id_order, "shipping_number")] = c.tracking_number or ""
    return out


def build_records(
    conn: sa.Connection,
    res: Resource,
    rows: Sequence[sa.Row],
    fields: Sequence[str] | None = None,
    assoc_fields: dict[str, Sequence[str] | None] | None = None,
) -> list[Record]:
    """Records for ``rows``; ``fields`` None means all, ``assoc_fields`` None means every association in full."""
    ids = [r.id for r in rows]
    wanted = set(fields) if fields is not None else None
    if assoc_fields is None:
        assocs: list[tuple[Association, Sequence[str] | None]] = [(a, None) for a in res.associations]
    else:
        assocs = [(a, assoc_fields[a.name]) for a in res.associations if a.name in assoc_fields]
    stored = store.fetch_associations(conn, res.name, ids) if assocs else {}
    derived = _derived(conn, res, ids) if assocs else {}
    virtual = _virtuals(conn, res, ids)
    records = []
    for row in rows:
        m = row._mapping
        values = []
        for f in res.fields:
            if wanted is not None and f.name not in wanted:
                continue
            raw = virtual.get((row.id, f.name), m[f.name]) if f.virtual else m[f.name]
            values.append((f, wire(f, raw)))
        rec_assocs = []
        for a, sub in assocs:
            items = derived.get((row.id, a.name))
            if items is None:
                items = stored.get(row.id, {}).get(a.name, [])
            rec_assocs.append(
                (a, [[(f, wire(f, it.get(f.name))) for f in a.fields if sub is None or f.name in sub] for it in items])
            )
        records.append(Record(res, values, rec_assocs))
    return records


def blank_record(res: Resource) -> Record:
    """The ``schema=blank`` template: every field empty, one empty row per association."""
    values = [(f, "") for f in res.fields]
    assocs = [(a, [[(f, "") for f in a.fields]]) for a in res.associations]
    return Record(res, values, assocs)

