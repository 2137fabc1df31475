"""Documents: a canonical record with what its outbound spec needs around it, read from staging in a few queries.

Outbound specs (``source: {system: staging, entity: …}``) read one document each:

* ``order`` — a ``ps_orders`` row plus ``lines`` (its ``ps_order_lines``, by ``id_order_detail``), ``customer``
  (``ps_customers``), ``delivery_address`` and ``invoice_address`` (``ps_addresses``);
* ``customer`` — a ``ps_customers`` row plus ``address`` (the customer's newest address not deleted);
* ``sales_order`` — an ``ora_sales_orders`` row plus ``lines`` (its ``ora_order_lines``);
* ``onhand`` / ``price`` / ``account`` — a row of ``ora_onhand`` / ``ora_prices`` / ``ora_accounts`` as it is.

The ``*_documents`` functions read a batch of ids with one query per table (IN lists chunked), so a load flow of
10,000 orders reads them in a handful of queries. ``order_document_from_rows`` builds the same shape from rows a
dry run has just mapped (``python -m prestaoracle map``). :func:`to_ebs_order` turns the ``ebs_order`` payload
into the EBS client's :class:`~prestaoracle.oracle.ebs.EbsOrder`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from more_itertools import batched

from prestaoracle.staging.schema import (
    ora_order_lines,
    ora_sales_orders,
    ps_addresses,
    ps_customers,
    ps_order_lines,
    ps_orders,
)

__all__ = ["customer_documents", "order_document_from_rows", "order_documents", "sales_order_documents",
           "to_ebs_order"]


IN_CHUNK = 5000
"""Ids per IN list: far below SQLite's and PostgreSQL's bind-parameter limits."""


def _rows(conn: sa.Connection, table: sa.Table, column: str, ids: Iterable[Any],
          order_by: str | None = None) -> list[dict[str, Any]]:
    wanted = sorted({i for i in ids if i is not None})
    out: list[dict[str, Any]] = []
    for part in batched(wanted, IN_CHUNK):
        query = sa.select(table).where(table.c[column].in_(list(part)))
        if order_by is not None:
            query = query.order_by(table.c[order_by])
        out.extend(dict(row._mapping) for row in conn.execute(query))
    return out


def order_document_from_rows(order: Mapping[str, Any], lines: Sequence[Mapping[str, Any]],
                             customers: Mapping[Any, Mapping[str, Any]],
                             addresses: Mapping[Any, Mapping[str, Any]]) -> dict[str, Any]:
    """One order document from canonical rows (customers and addresses by id)."""
    return {
        **order,
        "lines": sorted((dict(x) for x in lines if x.get("id_order") == order.get("id_order")),
                        key=lambda x: x.get("id_order_detail") or 0),
        "customer": _copy(customers.get(order.get("id_customer"))),
        "delivery_address": _copy(addresses.get(order.get("id_address_delivery"))),
        "invoice_address": _copy(addresses.get(order.get("id_address_invoice"))),
    }


def _copy(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else dict(row)


def order_documents(conn: sa.Connection, id_orders: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Order documents by ``id_order`` (ids not staged are absent)."""
    orders = _rows(conn, ps_orders, "id_order", id_orders)
    lines = _rows(conn, ps_order_lines, "id_order", [o["id_order"] for o in orders], "id_order_detail")
    customers = {c["id_customer"]: c for c in _rows(conn, ps_customers, "id_customer",
                                                    [o["id_customer"] for o in orders])}
    address_ids = [o[k] for o in orders for k in ("id_address_delivery", "id_address_invoice")]
    addresses = {a["id_address"]: a for a in _rows(conn, ps_addresses, "id_address", address_ids)}
    by_order: dict[int, list[dict[str, Any]]] = {}
    for line in lines:
        by_order.setdefault(line["id_order"], []).append(line)
    return {o["id_order"]: order_document_from_rows(o, by_order.get(o["id_order"], []), customers, addresses)
            for o in orders}


def customer_documents(conn: sa.Connection, id_customers: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Customer documents by ``id_customer``: the row and its newest address that is not deleted."""
    customers = _rows(conn, ps_customers, "id_customer", id_customers)
    newest: dict[int, dict[str, Any]] = {}
    for address in _rows(conn, ps_addresses, "id_customer", [c["id_customer"] for c in customers], "id_address"):
        if not address.get("deleted"):
            newest[address["id_customer"]] = address  # ordered by id: the last one is the newest
    return {c["id_customer"]: {**c, "address": newest.get(c["id_customer"])} for c in customers}


def sales_order_documents(conn: sa.Connection, header_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Oracle sales order documents by ``header_id``, each with its ``lines``."""
    orders = _rows(conn, ora_sales_orders, "header_id", header_ids)
    lines: dict[int, list[dict[str, Any]]] = {}
    for line in _rows(conn, ora_order_lines, "header_id", [o["header_id"] for o in orders], "line_id"):
        lines.setdefault(line["header_id"], []).append(line)
    return {o["header_id"]: {**o, "lines": lines.get(o["header_id"], [])} for o in orders}


def to_ebs_order(payload: Mapping[str, Any]) -> Any:
    """The ``ebs_order`` payload as an :class:`~prestaoracle.oracle.ebs.EbsOrder`; dates (naive UTC in staging)
    become aware, so the client converts them to the database's time zone."""
    from prestaoracle.oracle.ebs import EbsOrder, EbsOrderLine

    def aware(value: Any) -> Any:
        return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value

    lines = [EbsOrderLine(**{**line, "request_date": aware(line.get("request_date"))})
             for line in payload.get("lines") or []]
    header = {k: (aware(v) if k == "ordered_date" else v) for k, v in payload.items() if k != "lines"}
    return EbsOrder(lines=lines, **header)
