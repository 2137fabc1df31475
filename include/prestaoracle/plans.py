"""What each staging run does, stage by stage: plain data shared by the DAG files and ``flows.staging``.

DAG files import this at parse time, so it imports nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ORACLE", "ORDERS", "PLANS", "PRESTASHOP", "Plan"]


@dataclass(frozen=True)
class Plan:
    """What one source's staging run does, stage by stage."""

    source: str
    extract: tuple[str, ...]
    map_first: tuple[str, ...]
    map_then: tuple[str, ...]
    validate: tuple[str, ...]
    tables: tuple[str, ...]


PRESTASHOP = Plan(
    source="prestashop",
    # currencies and countries are landed for the mappings' ISO lookups; they have no canonical table of their own.
    extract=("orders", "customers", "addresses", "products", "combinations", "stock_availables", "order_slip",
             "currencies", "countries"),
    map_first=("customers", "addresses", "products", "combinations"),
    map_then=("orders", "stock_availables", "order_slip"),
    validate=("customers", "addresses", "products", "combinations", "stock", "orders", "order_payments",
              "order_slips"),
    tables=("ps_orders", "ps_order_lines", "ps_order_carriers", "ps_order_histories", "ps_order_payments",
            "ps_customers", "ps_addresses", "ps_products", "ps_combinations", "ps_stock", "ps_order_slips"),
)
ORACLE = Plan(
    source="oracle",
    extract=("onhand", "prices", "accounts", "sales_orders", "shipment_lines", "invoices", "receipts"),
    map_first=("onhand", "prices", "accounts", "sales_orders", "shipment_lines", "invoices", "receipts"),
    map_then=(),
    validate=("onhand", "prices", "accounts", "sales_orders", "shipment_lines", "invoices", "receipts"),
    tables=("ora_onhand", "ora_prices", "ora_accounts", "ora_sales_orders", "ora_order_lines", "ora_shipment_lines",
            "ora_invoices", "ora_invoice_lines", "ora_receipts"),
)
PLANS = {p.source: p for p in (PRESTASHOP, ORACLE)}
ORDERS = Plan(
    source="prestashop",
    # What the order flow stages itself every few minutes: the orders and what their mapping looks up. Stock and
    # refunds are left to the staging DAG.
    extract=("orders", "customers", "addresses", "products", "combinations", "currencies", "countries"),
    map_first=("customers", "addresses", "products", "combinations"),
    map_then=("orders",),
    validate=("customers", "addresses", "products", "combinations", "orders", "order_payments"),
    tables=("ps_orders", "ps_order_lines", "ps_order_carriers", "ps_order_histories", "ps_order_payments",
            "ps_customers", "ps_addresses", "ps_products", "ps_combinations"),
)
"""The order-to-cash flow's own staging of the shop (a subset of :data:`PRESTASHOP`)."""
