"""What each staging run does, stage by stage: plain data shared by the DAG files and ``flows.staging``.

DAG files import this at parse time, so it imports nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CUSTOMERS_ORACLE",
    "CUSTOMERS_SHOP",
    "FINANCE_ORACLE",
    "FINANCE_SHOP",
    "INVENTORY_ORACLE",
    "INVENTORY_SHOP",
    "ORACLE",
    "ORDERS",
    "PLANS",
    "PRESTASHOP",
    "PRICES_ORACLE",
    "PRICES_SHOP",
    "Plan",
]


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

# What each reconciliation flow stages of both systems before it compares them (subsets of the two plans above).
INVENTORY_SHOP = Plan(
    source="prestashop",
    extract=("products", "combinations", "stock_availables"),
    map_first=("products", "combinations"),
    map_then=("stock_availables",),
    validate=("products", "combinations", "stock"),
    tables=("ps_products", "ps_combinations", "ps_stock"),
)
INVENTORY_ORACLE = Plan(source="oracle", extract=("onhand",), map_first=("onhand",), map_then=(),
                        validate=("onhand",), tables=("ora_onhand",))
PRICES_SHOP = Plan(
    source="prestashop",
    # currencies: the rates the price conversion needs
    extract=("products", "combinations", "currencies"),
    map_first=("products", "combinations"),
    map_then=(),
    validate=("products", "combinations"),
    tables=("ps_products", "ps_combinations"),
)
PRICES_ORACLE = Plan(source="oracle", extract=("prices",), map_first=("prices",), map_then=(),
                     validate=("prices",), tables=("ora_prices",))
CUSTOMERS_SHOP = Plan(
    source="prestashop",
    extract=("customers", "addresses", "orders", "products", "combinations", "currencies", "countries"),
    map_first=("customers", "addresses", "products", "combinations"),
    map_then=("orders",),
    validate=("customers", "addresses", "orders"),
    tables=("ps_customers", "ps_addresses", "ps_orders"),
)
CUSTOMERS_ORACLE = Plan(source="oracle", extract=("accounts", "sales_orders", "invoices"),
                        map_first=("accounts", "sales_orders", "invoices"), map_then=(),
                        validate=("accounts", "sales_orders", "invoices"),
                        tables=("ora_accounts", "ora_sales_orders", "ora_invoices"))
FINANCE_SHOP = Plan(
    source="prestashop",
    extract=("orders", "customers", "addresses", "products", "combinations", "order_slip", "currencies",
             "countries"),
    map_first=("customers", "addresses", "products", "combinations"),
    map_then=("orders", "order_slip"),
    validate=("orders", "order_payments", "order_slips"),
    tables=("ps_orders", "ps_order_payments", "ps_order_slips"),
)
FINANCE_ORACLE = Plan(source="oracle", extract=("sales_orders", "invoices", "receipts"),
                      map_first=("sales_orders", "invoices", "receipts"), map_then=(),
                      validate=("sales_orders", "invoices", "receipts"),
                      tables=("ora_sales_orders", "ora_invoices", "ora_receipts"))
