"""The suites of the Oracle canonical tables (Fusion or EBS, same shape): what the flows back to the shop and the
reconciliations may rely on."""

from __future__ import annotations

from prestaoracle.prestashop.writer import _TRACKING, TRACKING_NUMBER_MAX

from . import codes
from .rules import Check, Entity, Rule, at_least, matches, not_below, one_of, required
from .suites_prestashop import EMAIL

_ORACLE_FIX = "correct it in Oracle (or in the EBS interface), then re-extract"


def _currency_known() -> Rule:
    return one_of("currency", list(codes.currencies()), name="currency_known", reason="mapping_missing",
                  problem="the currency is not an ISO 4217 currency in use",
                  fix="check the currency code in Oracle; the shop only knows ISO 4217 codes")


def _unique_in_table(table: str, key: str, column: str, *, name: str, problem: str, fix: str) -> Check:
    return Check(f"{table.removeprefix('ora_')}_table", "table", (key,), (
        Rule(name, "ExpectColumnValuesToBeBetween", {"column": "same_value_rows", "max_value": 1}, "duplicate",
             problem, fix),
    ), query=f"""
SELECT w.{key}, w.{column}, w.same_value_rows
FROM (SELECT t.{key}, t.{column}, t.dq_status,
             CASE WHEN t.{column} IS NULL THEN NULL ELSE COUNT(*) OVER (PARTITION BY t.{column}) END
                  AS same_value_rows
      FROM {table} t) w
WHERE w.dq_status = 'pending'
""")


ONHAND = Entity("onhand", "oracle", "ora_onhand", ("org", "sku"), (
    Check("onhand", "frame", ("org", "sku"), (
        required("quantity", what="the on-hand quantity", fix=_ORACLE_FIX),
        at_least("quantity", 0, name="onhand_not_negative", reason="business_rule",
                 problem="the on-hand quantity is negative",
                 fix="check the item's on-hand balance in Oracle Inventory; the shop would show it as sold out"),
        not_below("quantity", "available", name="available_within_onhand", reason="business_rule",
                  problem="more is available to reserve than is on hand", fix=_ORACLE_FIX),
    )),
))

PRICES = Entity("prices", "oracle", "ora_prices", ("price_list", "currency", "sku"), (
    Check("prices", "frame", ("price_list", "currency", "sku"), (
        at_least("base_price", 0, name="price_not_negative", reason="invalid_data",
                 problem="the list price is negative", fix="correct the price list line in Oracle Pricing"),
        _currency_known(),
        not_below("end_date", "start_date", name="price_dates_ordered", reason="invalid_data",
                  problem="the price ends before it starts", fix="correct the price list line's dates in Oracle"),
    )),
))

ACCOUNTS = Entity("accounts", "oracle", "ora_accounts", ("cust_account_id",), (
    Check("accounts", "frame", ("cust_account_id",), (
        required("account_number", what="the account number", fix=_ORACLE_FIX),
        matches("email", EMAIL, name="email_format", problem="the account's e-mail address is not valid",
                fix="correct the e-mail contact point of the party in Oracle"),
        one_of("country", list(codes.countries()), name="country_known", reason="mapping_missing",
               problem="the account's country is not an ISO 3166 code", fix=_ORACLE_FIX),
    )),
    _unique_in_table("ora_accounts", "cust_account_id", "account_number", name="account_number_unique",
                     problem="two accounts have the same account number", fix=_ORACLE_FIX),
))

SALES_ORDERS = Entity("sales_orders", "oracle", "ora_sales_orders", ("header_id",), (
    Check("sales_orders", "frame", ("header_id",), (
        required("order_number", what="the Oracle order number", fix=_ORACLE_FIX),
        _currency_known(),
        at_least("total_amount", 0, name="order_amount_not_negative", reason="invalid_data",
                 problem="the order total is negative", fix=_ORACLE_FIX),
    )),
    # Exactly once: one shop order (source system + source id) must never be two Oracle orders.
    Check("sales_orders_table", "table", ("header_id",), (
        Rule("source_order_once", "ExpectColumnValuesToBeBetween", {"column": "same_source_orders", "max_value": 1},
             "duplicate", "another Oracle order was created from the same shop order",
             "cancel the extra order in Oracle Order Management (keep the one the sync ledger names) and find "
             "out who created it: the integration creates each shop order once"),
    ), query="""
SELECT w.header_id, w.source_system, w.source_id, w.same_source_orders
FROM (SELECT s.header_id, s.source_system, s.source_id, s.dq_status,
             CASE WHEN s.source_id IS NULL THEN NULL
                  ELSE COUNT(*) OVER (PARTITION BY s.source_system, s.source_id) END AS same_source_orders
      FROM ora_sales_orders s) w
WHERE w.dq_status = 'pending'
"""),
), children=(("ora_order_lines", "header_id"),))

SHIPMENT_LINES = Entity("shipment_lines", "oracle", "ora_shipment_lines", ("shipment_line_id",), (
    Check("shipment_lines", "frame", ("shipment_line_id",), (
        at_least("shipped_quantity", 0, name="shipped_not_negative", reason="invalid_data",
                 problem="the shipped quantity is negative", fix=_ORACLE_FIX),
        not_below("requested_quantity", "shipped_quantity", name="shipped_within_requested",
                  reason="business_rule", problem="more was shipped than requested",
                  fix="check the shipment in Oracle Shipping; the shop would show more sent than ordered"),
        # PrestaShop refuses other tracking numbers (Validate::isTrackingNumber, 64 characters).
        matches("tracking_number", f"^{_TRACKING.pattern}$", name="tracking_number_format",
                problem="the tracking number has characters PrestaShop refuses",
                fix="correct the tracking number on the delivery in Oracle Shipping"),
        Rule("tracking_number_length", "ExpectColumnValueLengthsToBeBetween",
             {"column": "tracking_number", "max_value": TRACKING_NUMBER_MAX}, "invalid_data",
             f"the tracking number is longer than PrestaShop's {TRACKING_NUMBER_MAX} characters",
             "shorten the tracking number on the delivery in Oracle Shipping"),
    )),
))

INVOICES = Entity("invoices", "oracle", "ora_invoices", ("customer_trx_id",), (
    Check("invoices", "frame", ("customer_trx_id",), (
        required("transaction_number", what="the transaction number", fix=_ORACLE_FIX),
        required("entered_amount", what="the invoice amount", fix=_ORACLE_FIX),
        _currency_known(),
    )),
), children=(("ora_invoice_lines", "customer_trx_id"),))

RECEIPTS = Entity("receipts", "oracle", "ora_receipts", ("cash_receipt_id",), (
    Check("receipts", "frame", ("cash_receipt_id",), (
        required("receipt_number", what="the receipt number", fix=_ORACLE_FIX),
        required("amount", what="the receipt amount", fix=_ORACLE_FIX),
        _currency_known(),
    )),
))

ENTITIES: tuple[Entity, ...] = (ONHAND, PRICES, ACCOUNTS, SALES_ORDERS, SHIPMENT_LINES, INVOICES, RECEIPTS)
