"""The EBS tables the integration touches, written once as SQLAlchemy Core metadata.

One definition serves three databases: the stand-in creates it on SQLite or PostgreSQL, and the ``sql/ebs/*.sql``
files are rendered from it for Oracle (``scripts/generate_ebs_ddl.py``), so the emulated tables and the documented
DDL cannot drift apart. Types are chosen so Oracle gets what EBS has: ids and amounts ``NUMBER``, text
``VARCHAR2(n)``, dates ``DATE`` (seconds, no time zone).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import oracle, postgresql, sqlite
from sqlalchemy.dialects.oracle.base import OracleIdentifierPreparer, OracleTypeCompiler
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.schema import CreateIndex, CreateTable, CreateView

from prestaoracle.sandbox.ebs import contract

__all__ = [
    "AREAS",
    "METADATA",
    "QP_PRICE_LIST_LINES_V",
    "TABLES",
    "allocate_ids",
    "create_schema",
    "ddl_files",
    "oracle_ddl_dialect",
    "stamp",
]

METADATA = sa.MetaData()


def _id() -> sa.types.TypeEngine:
    # Integers in Python on every backend; plain NUMBER (no precision) in Oracle, as EBS declares its ids.
    return sa.BigInteger().with_variant(oracle.NUMBER(), "oracle")


def _num() -> sa.types.TypeEngine:
    return sa.Numeric(asdecimal=True).with_variant(oracle.NUMBER(asdecimal=True), "oracle")


def _str(length: int) -> sa.types.TypeEngine:
    return sa.String(length)


def _date() -> sa.types.TypeEngine:
    return sa.DateTime()


def _who(required: bool = True) -> list[sa.Column]:
    """The standard WHO columns; NOT NULL as in EBS, so the product's interface inserts must fill them."""
    return [
        sa.Column("created_by", _id(), nullable=not required),
        sa.Column("creation_date", _date(), nullable=not required),
        sa.Column("last_updated_by", _id(), nullable=not required),
        sa.Column("last_update_date", _date(), nullable=not required),
        sa.Column("last_update_login", _id()),
    ]


def _table(name: str, *columns: sa.Column, indexes: Iterable[tuple[str, tuple[str, ...], bool]] = ()) -> sa.Table:
    table = sa.Table(name, METADATA, *columns)
    for index_name, cols, unique in indexes:
        sa.Index(index_name, *(table.c[c] for c in cols), unique=unique)
    return table


# --------------------------------------------------------------------------------------------- 00 stand-in

XX_EBS_SEQUENCES = _table(
    "xx_ebs_sequences",
    sa.Column("sequence_name", _str(30), nullable=False),
    sa.Column("last_number", _id(), nullable=False),
    indexes=[("xx_ebs_sequences_u1", ("sequence_name",), True)],
)

# --------------------------------------------------------------------------------------------- 01 order import

OE_ORDER_SOURCES = _table(
    "oe_order_sources",
    sa.Column("order_source_id", _id(), nullable=False),
    sa.Column("name", _str(240), nullable=False),
    sa.Column("description", _str(2000)),
    sa.Column("enabled_flag", _str(1), nullable=False),
    *_who(),
    indexes=[("oe_order_sources_u1", ("order_source_id",), True)],
)

OE_HEADERS_IFACE_ALL = _table(
    "oe_headers_iface_all",
    sa.Column("order_source_id", _id(), nullable=False),
    sa.Column("orig_sys_document_ref", _str(50), nullable=False),
    sa.Column("change_sequence", _str(50)),
    sa.Column("operation_code", _str(30)),
    sa.Column("org_id", _id()),
    sa.Column("order_type_id", _id()),
    sa.Column("order_type", _str(30)),
    sa.Column("ordered_date", _date()),
    sa.Column("customer_po_number", _str(50)),
    sa.Column("sold_to_org_id", _id()),
    sa.Column("customer_number", _str(30)),
    sa.Column("ship_to_org_id", _id()),
    sa.Column("invoice_to_org_id", _id()),
    sa.Column("ship_from_org_id", _id()),
    sa.Column("price_list_id", _id()),
    sa.Column("transactional_curr_code", _str(15)),
    sa.Column("conversion_type_code", _str(30)),
    sa.Column("salesrep_id", _id()),
    sa.Column("payment_term_id", _id()),
    sa.Column("shipping_method_code", _str(30)),
    sa.Column("freight_terms_code", _str(30)),
    sa.Column("booked_flag", _str(1)),
    sa.Column("ready_flag", _str(1)),
    sa.Column("error_flag", _str(1)),
    sa.Column("rejected_flag", _str(1)),
    sa.Column("force_apply_flag", _str(1)),
    sa.Column("request_id", _id()),
    *_who(),
    indexes=[("oe_headers_iface_all_n1", ("order_source_id", "orig_sys_document_ref"), False),
             ("oe_headers_iface_all_n2", ("request_id",), False)],
)

OE_LINES_IFACE_ALL = _table(
    "oe_lines_iface_all",
    sa.Column("order_source_id", _id(), nullable=False),
    sa.Column("orig_sys_document_ref", _str(50), nullable=False),
    sa.Column("orig_sys_line_ref", _str(50)),
    sa.Column("orig_sys_shipment_ref", _str(50)),
    sa.Column("change_sequence", _str(50)),
    sa.Column("operation_code", _str(30)),
    sa.Column("org_id", _id()),
    sa.Column("line_number", _id()),
    sa.Column("line_type_id", _id()),
    sa.Column("inventory_item_id", _id()),
    sa.Column("inventory_item", _str(2000)),
    sa.Column("ordered_quantity", _num()),
    sa.Column("order_quantity_uom", _str(3)),
    sa.Column("unit_selling_price", _num()),
    sa.Column("unit_list_price", _num()),
    sa.Column("calculate_price_flag", _str(1)),
    sa.Column("price_list_id", _id()),
    sa.Column("ship_from_org_id", _id()),
    sa.Column("ship_to_org_id", _id()),
    sa.Column("invoice_to_org_id", _id()),
    sa.Column("request_date", _date()),
    sa.Column("schedule_ship_date", _date()),
    sa.Column("error_flag", _str(1)),
    sa.Column("rejected_flag", _str(1)),
    sa.Column("request_id", _id()),
    *_who(),
    indexes=[("oe_lines_iface_all_n1", ("order_source_id", "orig_sys_document_ref", "orig_sys_line_ref"), False)],
)

OE_PROCESSING_MSGS = _table(
    "oe_processing_msgs",
    sa.Column("transaction_id", _id(), nullable=False),
    sa.Column("request_id", _id()),
    sa.Column("entity_code", _str(30)),
    sa.Column("entity_ref", _str(50)),
    sa.Column("entity_id", _id()),
    sa.Column("header_id", _id()),
    sa.Column("line_id", _id()),
    sa.Column("order_source_id", _id()),
    sa.Column("original_sys_document_ref", _str(50)),
    sa.Column("original_sys_document_line_ref", _str(50)),
    sa.Column("orig_sys_shipment_ref", _str(50)),
    sa.Column("change_sequence", _str(50)),
    sa.Column("attribute_code", _str(30)),
    sa.Column("message_text", _str(2000)),
    sa.Column("type", _str(30)),
    sa.Column("message_source_code", _str(1)),
    sa.Column("message_status_code", _str(30)),
    sa.Column("org_id", _id()),
    *_who(),
    indexes=[("oe_processing_msgs_u1", ("transaction_id",), True),
             ("oe_processing_msgs_n1", ("order_source_id", "original_sys_document_ref"), False),
             ("oe_processing_msgs_n2", ("request_id",), False)],
)

OE_PROCESSING_MSGS_TL = _table(
    "oe_processing_msgs_tl",
    sa.Column("transaction_id", _id(), nullable=False),
    sa.Column("language", _str(4), nullable=False),
    sa.Column("source_lang", _str(4), nullable=False),
    sa.Column("message_text", _str(2000)),
    *_who(),
    indexes=[("oe_processing_msgs_tl_u1", ("transaction_id", "language"), True)],
)

FND_CONCURRENT_REQUESTS = _table(
    "fnd_concurrent_requests",
    sa.Column("request_id", _id(), nullable=False),
    sa.Column("program_application_id", _id(), nullable=False),
    sa.Column("concurrent_program_id", _id(), nullable=False),
    sa.Column("phase_code", _str(1), nullable=False),
    sa.Column("status_code", _str(1), nullable=False),
    sa.Column("argument_text", _str(240)),
    sa.Column("requested_by", _id(), nullable=False),
    sa.Column("request_date", _date(), nullable=False),
    sa.Column("actual_start_date", _date()),
    sa.Column("actual_completion_date", _date()),
    sa.Column("completion_text", _str(240)),
    sa.Column("last_updated_by", _id(), nullable=False),
    sa.Column("last_update_date", _date(), nullable=False),
    indexes=[("fnd_concurrent_requests_u1", ("request_id",), True)],
)

# --------------------------------------------------------------------------------------------- 02 order base

OE_ORDER_HEADERS_ALL = _table(
    "oe_order_headers_all",
    sa.Column("header_id", _id(), nullable=False),
    sa.Column("org_id", _id()),
    sa.Column("order_type_id", _id(), nullable=False),
    sa.Column("order_number", _id(), nullable=False),
    sa.Column("order_source_id", _id()),
    sa.Column("orig_sys_document_ref", _str(50)),
    sa.Column("source_document_type_id", _id()),
    sa.Column("ordered_date", _date()),
    sa.Column("request_date", _date()),
    sa.Column("cust_po_number", _str(50)),
    sa.Column("sold_to_org_id", _id()),
    sa.Column("ship_to_org_id", _id()),
    sa.Column("invoice_to_org_id", _id()),
    sa.Column("ship_from_org_id", _id()),
    sa.Column("price_list_id", _id()),
    sa.Column("transactional_curr_code", _str(15)),
    sa.Column("salesrep_id", _id()),
    sa.Column("payment_term_id", _id()),
    sa.Column("shipping_method_code", _str(30)),
    sa.Column("freight_terms_code", _str(30)),
    sa.Column("booked_flag", _str(1), nullable=False),
    sa.Column("booked_date", _date()),
    sa.Column("open_flag", _str(1), nullable=False),
    sa.Column("cancelled_flag", _str(1)),
    sa.Column("flow_status_code", _str(30)),
    sa.Column("change_sequence", _str(50)),
    *_who(),
    indexes=[("oe_order_headers_u1", ("header_id",), True),
             ("oe_order_headers_u2", ("order_number", "order_type_id"), True),
             ("oe_order_headers_n1", ("order_source_id", "orig_sys_document_ref"), False),
             ("oe_order_headers_n2", ("last_update_date",), False)],
)

OE_ORDER_LINES_ALL = _table(
    "oe_order_lines_all",
    sa.Column("line_id", _id(), nullable=False),
    sa.Column("header_id", _id(), nullable=False),
    sa.Column("org_id", _id()),
    sa.Column("line_type_id", _id(), nullable=False),
    sa.Column("line_number", _id(), nullable=False),
    sa.Column("shipment_number", _id(), nullable=False),
    sa.Column("order_source_id", _id()),
    sa.Column("orig_sys_document_ref", _str(50)),
    sa.Column("orig_sys_line_ref", _str(50)),
    sa.Column("orig_sys_shipment_ref", _str(50)),
    sa.Column("inventory_item_id", _id(), nullable=False),
    sa.Column("ordered_item", _str(2000)),
    sa.Column("ordered_quantity", _num()),
    sa.Column("order_quantity_uom", _str(3)),
    sa.Column("shipped_quantity", _num()),
    sa.Column("invoiced_quantity", _num()),
    sa.Column("unit_selling_price", _num()),
    sa.Column("unit_list_price", _num()),
    sa.Column("calculate_price_flag", _str(1)),
    sa.Column("price_list_id", _id()),
    sa.Column("ship_from_org_id", _id()),
    sa.Column("ship_to_org_id", _id()),
    sa.Column("invoice_to_org_id", _id()),
    sa.Column("sold_to_org_id", _id()),
    sa.Column("request_date", _date()),
    sa.Column("schedule_ship_date", _date()),
    sa.Column("actual_shipment_date", _date()),
    sa.Column("shipping_method_code", _str(30)),
    sa.Column("booked_flag", _str(1), nullable=False),
    sa.Column("open_flag", _str(1), nullable=False),
    sa.Column("cancelled_flag", _str(1)),
    sa.Column("flow_status_code", _str(30)),
    sa.Column("invoice_interface_status_code", _str(30)),
    *_who(),
    indexes=[("oe_order_lines_u1", ("line_id",), True),
             ("oe_order_lines_n1", ("header_id",), False),
             ("oe_order_lines_n2", ("last_update_date",), False)],
)

# --------------------------------------------------------------------------------------------- 03 items, on-hand

MTL_PARAMETERS = _table(
    "mtl_parameters",
    sa.Column("organization_id", _id(), nullable=False),
    sa.Column("organization_code", _str(3)),
    sa.Column("master_organization_id", _id(), nullable=False),
    *_who(),
    indexes=[("mtl_parameters_u1", ("organization_id",), True)],
)

MTL_SYSTEM_ITEMS_B = _table(
    "mtl_system_items_b",
    sa.Column("inventory_item_id", _id(), nullable=False),
    sa.Column("organization_id", _id(), nullable=False),
    sa.Column("segment1", _str(40)),
    sa.Column("description", _str(240)),
    sa.Column("primary_uom_code", _str(3)),
    sa.Column("inventory_item_status_code", _str(10), nullable=False),
    sa.Column("enabled_flag", _str(1), nullable=False),
    sa.Column("customer_order_flag", _str(1), nullable=False),
    sa.Column("customer_order_enabled_flag", _str(1), nullable=False),
    sa.Column("shippable_item_flag", _str(1), nullable=False),
    sa.Column("list_price_per_unit", _num()),
    sa.Column("unit_weight", _num()),
    sa.Column("weight_uom_code", _str(3)),
    *_who(),
    indexes=[("mtl_system_items_b_u1", ("inventory_item_id", "organization_id"), True),
             ("mtl_system_items_b_n1", ("organization_id", "segment1"), False)],
)

MTL_ONHAND_QUANTITIES_DETAIL = _table(
    "mtl_onhand_quantities_detail",
    sa.Column("onhand_quantities_id", _id(), nullable=False),
    sa.Column("inventory_item_id", _id(), nullable=False),
    sa.Column("organization_id", _id(), nullable=False),
    sa.Column("subinventory_code", _str(10), nullable=False),
    sa.Column("locator_id", _id()),
    sa.Column("lot_number", _str(80)),
    sa.Column("revision", _str(3)),
    sa.Column("primary_transaction_quantity", _num(), nullable=False),
    sa.Column("transaction_quantity", _num(), nullable=False),
    sa.Column("transaction_uom_code", _str(3)),
    sa.Column("is_consigned", _id(), nullable=False),
    sa.Column("owning_organization_id", _id()),
    sa.Column("date_received", _date()),
    sa.Column("create_transaction_id", _id()),
    sa.Column("update_transaction_id", _id()),
    *_who(),
    indexes=[("mtl_onhand_quantities_u1", ("onhand_quantities_id",), True),
             ("mtl_onhand_quantities_n1", ("inventory_item_id", "organization_id"), False)],
)

# --------------------------------------------------------------------------------------------- 04 pricing

QP_LIST_HEADERS_B = _table(
    "qp_list_headers_b",
    sa.Column("list_header_id", _id(), nullable=False),
    sa.Column("list_type_code", _str(30), nullable=False),
    sa.Column("currency_code", _str(30)),
    sa.Column("active_flag", _str(1)),
    sa.Column("start_date_active", _date()),
    sa.Column("end_date_active", _date()),
    *_who(),
    indexes=[("qp_list_headers_b_u1", ("list_header_id",), True)],
)

QP_LIST_HEADERS_TL = _table(
    "qp_list_headers_tl",
    sa.Column("list_header_id", _id(), nullable=False),
    sa.Column("language", _str(4), nullable=False),
    sa.Column("source_lang", _str(4), nullable=False),
    sa.Column("name", _str(240), nullable=False),
    sa.Column("description", _str(2000)),
    *_who(),
    indexes=[("qp_list_headers_tl_u1", ("list_header_id", "language"), True)],
)

QP_LIST_LINES = _table(
    "qp_list_lines",
    sa.Column("list_line_id", _id(), nullable=False),
    sa.Column("list_header_id", _id(), nullable=False),
    sa.Column("list_line_type_code", _str(30), nullable=False),
    sa.Column("arithmetic_operator", _str(30)),
    sa.Column("operand", _num()),
    sa.Column("start_date_active", _date()),
    sa.Column("end_date_active", _date()),
    sa.Column("product_precedence", _id()),
    *_who(),
    indexes=[("qp_list_lines_pk", ("list_line_id",), True),
             ("qp_list_lines_n1", ("list_header_id",), False)],
)

QP_PRICING_ATTRIBUTES = _table(
    "qp_pricing_attributes",
    sa.Column("pricing_attribute_id", _id(), nullable=False),
    sa.Column("list_line_id", _id(), nullable=False),
    sa.Column("list_header_id", _id()),
    sa.Column("product_attribute_context", _str(30)),
    sa.Column("product_attribute", _str(30)),
    sa.Column("product_attr_value", _str(240)),
    sa.Column("product_uom_code", _str(3)),
    sa.Column("excluder_flag", _str(1), nullable=False),
    *_who(),
    indexes=[("qp_pricing_attributes_pk", ("pricing_attribute_id",), True),
             ("qp_pricing_attributes_n1", ("list_line_id",), False),
             ("qp_pricing_attributes_n2", ("product_attribute_context", "product_attribute",
                                           "product_attr_value"), False)],
)

# --------------------------------------------------------------------------------------------- 05 customers (TCA)

HZ_PARTIES = _table(
    "hz_parties",
    sa.Column("party_id", _id(), nullable=False),
    sa.Column("party_number", _str(30), nullable=False),
    sa.Column("party_name", _str(360), nullable=False),
    sa.Column("party_type", _str(30), nullable=False),
    sa.Column("person_first_name", _str(150)),
    sa.Column("person_last_name", _str(150)),
    sa.Column("email_address", _str(2000)),
    sa.Column("orig_system_reference", _str(240), nullable=False),
    sa.Column("status", _str(1), nullable=False),
    *_who(),
    indexes=[("hz_parties_u1", ("party_id",), True),
             ("hz_parties_n1", ("party_name",), False)],
)

HZ_LOCATIONS = _table(
    "hz_locations",
    sa.Column("location_id", _id(), nullable=False),
    sa.Column("address1", _str(240), nullable=False),
    sa.Column("address2", _str(240)),
    sa.Column("city", _str(60)),
    sa.Column("postal_code", _str(60)),
    sa.Column("state", _str(60)),
    sa.Column("country", _str(60), nullable=False),
    *_who(),
    indexes=[("hz_locations_u1", ("location_id",), True)],
)

HZ_PARTY_SITES = _table(
    "hz_party_sites",
    sa.Column("party_site_id", _id(), nullable=False),
    sa.Column("party_id", _id(), nullable=False),
    sa.Column("location_id", _id(), nullable=False),
    sa.Column("party_site_number", _str(30), nullable=False),
    sa.Column("status", _str(1)),
    *_who(),
    indexes=[("hz_party_sites_u1", ("party_site_id",), True),
             ("hz_party_sites_n1", ("party_id",), False)],
)

HZ_CUST_ACCOUNTS = _table(
    "hz_cust_accounts",
    sa.Column("cust_account_id", _id(), nullable=False),
    sa.Column("party_id", _id(), nullable=False),
    sa.Column("account_number", _str(30), nullable=False),
    sa.Column("account_name", _str(240)),
    sa.Column("status", _str(1), nullable=False),
    sa.Column("customer_type", _str(30)),
    sa.Column("orig_system_reference", _str(240), nullable=False),
    *_who(),
    indexes=[("hz_cust_accounts_u1", ("cust_account_id",), True),
             ("hz_cust_accounts_u2", ("account_number",), True),
             ("hz_cust_accounts_n1", ("party_id",), False)],
)

HZ_CUST_ACCT_SITES_ALL = _table(
    "hz_cust_acct_sites_all",
    sa.Column("cust_acct_site_id", _id(), nullable=False),
    sa.Column("cust_account_id", _id(), nullable=False),
    sa.Column("party_site_id", _id(), nullable=False),
    sa.Column("org_id", _id()),
    sa.Column("status", _str(1), nullable=False),
    sa.Column("orig_system_reference", _str(240), nullable=False),
    *_who(),
    indexes=[("hz_cust_acct_sites_u1", ("cust_acct_site_id",), True),
             ("hz_cust_acct_sites_n1", ("cust_account_id",), False)],
)

HZ_CUST_SITE_USES_ALL = _table(
    "hz_cust_site_uses_all",
    sa.Column("site_use_id", _id(), nullable=False),
    sa.Column("cust_acct_site_id", _id(), nullable=False),
    sa.Column("site_use_code", _str(30), nullable=False),
    sa.Column("location", _str(40), nullable=False),
    sa.Column("primary_flag", _str(1), nullable=False),
    sa.Column("status", _str(1), nullable=False),
    sa.Column("org_id", _id()),
    *_who(),
    indexes=[("hz_cust_site_uses_u1", ("site_use_id",), True),
             ("hz_cust_site_uses_n1", ("cust_acct_site_id",), False)],
)

# --------------------------------------------------------------------------------------------- 06 receivables

RA_CUSTOMER_TRX_ALL = _table(
    "ra_customer_trx_all",
    sa.Column("customer_trx_id", _id(), nullable=False),
    sa.Column("trx_number", _str(20), nullable=False),
    sa.Column("trx_date", _date(), nullable=False),
    sa.Column("cust_trx_type_id", _id(), nullable=False),
    sa.Column("batch_source_id", _id()),
    sa.Column("bill_to_customer_id", _id()),
    sa.Column("bill_to_site_use_id", _id()),
    sa.Column("ship_to_customer_id", _id()),
    sa.Column("ship_to_site_use_id", _id()),
    sa.Column("sold_to_customer_id", _id()),
    sa.Column("term_id", _id()),
    sa.Column("invoice_currency_code", _str(15)),
    sa.Column("complete_flag", _str(1), nullable=False),
    sa.Column("purchase_order", _str(50)),
    sa.Column("ct_reference", _str(150)),
    sa.Column("interface_header_context", _str(30)),
    sa.Column("interface_header_attribute1", _str(150)),
    sa.Column("org_id", _id()),
    *_who(),
    indexes=[("ra_customer_trx_u1", ("customer_trx_id",), True),
             ("ra_customer_trx_n1", ("interface_header_attribute1",), False),
             ("ra_customer_trx_n2", ("last_update_date",), False)],
)

RA_CUSTOMER_TRX_LINES_ALL = _table(
    "ra_customer_trx_lines_all",
    sa.Column("customer_trx_line_id", _id(), nullable=False),
    sa.Column("customer_trx_id", _id(), nullable=False),
    sa.Column("line_number", _id(), nullable=False),
    sa.Column("line_type", _str(20), nullable=False),
    sa.Column("description", _str(240)),
    sa.Column("inventory_item_id", _id()),
    sa.Column("quantity_invoiced", _num()),
    sa.Column("unit_selling_price", _num()),
    sa.Column("extended_amount", _num(), nullable=False),
    sa.Column("sales_order", _str(50)),
    sa.Column("sales_order_line", _str(30)),
    sa.Column("sales_order_date", _date()),
    sa.Column("interface_line_context", _str(30)),
    sa.Column("interface_line_attribute1", _str(150)),
    sa.Column("interface_line_attribute6", _str(150)),
    sa.Column("org_id", _id()),
    *_who(),
    indexes=[("ra_customer_trx_lines_u1", ("customer_trx_line_id",), True),
             ("ra_customer_trx_lines_n1", ("customer_trx_id",), False),
             ("ra_customer_trx_lines_n2", ("sales_order",), False)],
)

AR_PAYMENT_SCHEDULES_ALL = _table(
    "ar_payment_schedules_all",
    sa.Column("payment_schedule_id", _id(), nullable=False),
    sa.Column("customer_trx_id", _id()),
    sa.Column("cash_receipt_id", _id()),
    sa.Column("customer_id", _id()),
    sa.Column("trx_number", _str(30)),
    sa.Column("trx_date", _date()),
    sa.Column("class", _str(20), nullable=False),
    sa.Column("status", _str(30), nullable=False),
    sa.Column("due_date", _date(), nullable=False),
    sa.Column("amount_due_original", _num(), nullable=False),
    sa.Column("amount_due_remaining", _num(), nullable=False),
    sa.Column("invoice_currency_code", _str(15), nullable=False),
    sa.Column("actual_date_closed", _date()),
    sa.Column("org_id", _id()),
    *_who(),
    indexes=[("ar_payment_schedules_u1", ("payment_schedule_id",), True),
             ("ar_payment_schedules_n1", ("customer_trx_id",), False)],
)

AR_CASH_RECEIPTS_ALL = _table(
    "ar_cash_receipts_all",
    sa.Column("cash_receipt_id", _id(), nullable=False),
    sa.Column("receipt_number", _str(30)),
    sa.Column("receipt_date", _date(), nullable=False),
    sa.Column("amount", _num(), nullable=False),
    sa.Column("currency_code", _str(15), nullable=False),
    sa.Column("pay_from_customer", _id()),
    sa.Column("receipt_method_id", _id()),
    sa.Column("status", _str(30)),
    sa.Column("type", _str(20), nullable=False),
    sa.Column("comments", _str(2000)),
    sa.Column("org_id", _id()),
    *_who(),
    indexes=[("ar_cash_receipts_u1", ("cash_receipt_id",), True),
             ("ar_cash_receipts_n1", ("last_update_date",), False)],
)

AR_RECEIVABLE_APPLICATIONS_ALL = _table(
    "ar_receivable_applications_all",
    sa.Column("receivable_application_id", _id(), nullable=False),
    sa.Column("cash_receipt_id", _id()),
    sa.Column("applied_customer_trx_id", _id()),
    sa.Column("applied_payment_schedule_id", _id()),
    sa.Column("amount_applied", _num()),
    sa.Column("apply_date", _date(), nullable=False),
    sa.Column("status", _str(30), nullable=False),
    sa.Column("display", _str(1), nullable=False),
    sa.Column("application_type", _str(20), nullable=False),
    sa.Column("org_id", _id()),
    *_who(),
    indexes=[("ar_receivable_applications_u1", ("receivable_application_id",), True),
             ("ar_receivable_applications_n1", ("applied_customer_trx_id",), False)],
)

# --------------------------------------------------------------------------------------------- 07 shipping

WSH_CARRIERS = _table(
    "wsh_carriers",
    sa.Column("carrier_id", _id(), nullable=False),  # = HZ_PARTIES.PARTY_ID, which holds the carrier's name
    sa.Column("freight_code", _str(30), nullable=False),
    sa.Column("scac_code", _str(4)),
    sa.Column("manifesting_enabled_flag", _str(1)),
    sa.Column("active", _str(1)),
    *_who(),
    indexes=[("wsh_carriers_u1", ("carrier_id",), True)],
)

WSH_CARRIER_SERVICES = _table(
    "wsh_carrier_services",
    sa.Column("carrier_service_id", _id(), nullable=False),
    sa.Column("carrier_id", _id(), nullable=False),
    sa.Column("ship_method_code", _str(30), nullable=False),
    sa.Column("mode_of_transport", _str(30)),
    sa.Column("service_level", _str(30)),
    sa.Column("enabled_flag", _str(1), nullable=False),
    *_who(),
    indexes=[("wsh_carrier_services_u1", ("carrier_service_id",), True)],
)

WSH_NEW_DELIVERIES = _table(
    "wsh_new_deliveries",
    sa.Column("delivery_id", _id(), nullable=False),
    sa.Column("name", _str(30), nullable=False),
    sa.Column("organization_id", _id()),
    sa.Column("status_code", _str(2), nullable=False),
    sa.Column("ship_method_code", _str(30)),
    sa.Column("carrier_id", _id()),
    sa.Column("waybill", _str(30)),
    sa.Column("confirm_date", _date()),
    sa.Column("initial_pickup_date", _date()),
    sa.Column("customer_id", _id()),
    *_who(),
    indexes=[("wsh_new_deliveries_u1", ("delivery_id",), True),
             ("wsh_new_deliveries_n1", ("last_update_date",), False)],
)

WSH_DELIVERY_ASSIGNMENTS = _table(
    "wsh_delivery_assignments",
    sa.Column("delivery_assignment_id", _id(), nullable=False),
    sa.Column("delivery_id", _id()),
    sa.Column("delivery_detail_id", _id()),
    *_who(),
    indexes=[("wsh_delivery_assignments_u1", ("delivery_assignment_id",), True),
             ("wsh_delivery_assignments_n1", ("delivery_detail_id",), False),
             ("wsh_delivery_assignments_n2", ("delivery_id",), False)],
)

WSH_DELIVERY_DETAILS = _table(
    "wsh_delivery_details",
    sa.Column("delivery_detail_id", _id(), nullable=False),
    sa.Column("source_code", _str(30), nullable=False),
    sa.Column("source_header_id", _id()),
    sa.Column("source_line_id", _id(), nullable=False),
    sa.Column("source_header_number", _str(150)),
    sa.Column("customer_id", _id()),
    sa.Column("inventory_item_id", _id()),
    sa.Column("organization_id", _id()),
    sa.Column("requested_quantity", _num(), nullable=False),
    sa.Column("requested_quantity_uom", _str(3), nullable=False),
    sa.Column("shipped_quantity", _num()),
    sa.Column("released_status", _str(1)),
    sa.Column("ship_method_code", _str(30)),
    sa.Column("carrier_id", _id()),
    sa.Column("tracking_number", _str(30)),
    sa.Column("date_scheduled", _date()),
    *_who(),
    indexes=[("wsh_delivery_details_u1", ("delivery_detail_id",), True),
             ("wsh_delivery_details_n1", ("source_header_id",), False),
             ("wsh_delivery_details_n2", ("source_line_id",), False),
             ("wsh_delivery_details_n3", ("last_update_date",), False)],
)

# --------------------------------------------------------------------------------------------- views

_LL, _PA = QP_LIST_LINES, QP_PRICING_ATTRIBUTES
# The reference's convenience view (§4.4), reduced to the join that matters for list prices.
_QP_VIEW = CreateView(
    sa.select(
        _LL.c.list_header_id, _LL.c.list_line_id, _LL.c.list_line_type_code, _LL.c.arithmetic_operator,
        _PA.c.product_attribute_context, _PA.c.product_attribute, _PA.c.product_attr_value, _PA.c.product_uom_code,
        _LL.c.operand, _LL.c.start_date_active, _LL.c.end_date_active, _LL.c.product_precedence,
    ).select_from(_LL.join(_PA, _PA.c.list_line_id == _LL.c.list_line_id)),
    "qp_price_list_lines_v",
    metadata=METADATA,
)
QP_PRICE_LIST_LINES_V: sa.Table = _QP_VIEW.table

# --------------------------------------------------------------------------------------------- areas and DDL

# One DDL file per area, in creation order.
AREAS: dict[str, tuple[sa.Table, ...]] = {
    "00_stand_in": (XX_EBS_SEQUENCES,),
    "01_order_import": (OE_ORDER_SOURCES, OE_HEADERS_IFACE_ALL, OE_LINES_IFACE_ALL, OE_PROCESSING_MSGS,
                        OE_PROCESSING_MSGS_TL, FND_CONCURRENT_REQUESTS),
    "02_order_base": (OE_ORDER_HEADERS_ALL, OE_ORDER_LINES_ALL),
    "03_items_onhand": (MTL_PARAMETERS, MTL_SYSTEM_ITEMS_B, MTL_ONHAND_QUANTITIES_DETAIL),
    "04_pricing": (QP_LIST_HEADERS_B, QP_LIST_HEADERS_TL, QP_LIST_LINES, QP_PRICING_ATTRIBUTES),
    "05_customers": (HZ_PARTIES, HZ_LOCATIONS, HZ_PARTY_SITES, HZ_CUST_ACCOUNTS, HZ_CUST_ACCT_SITES_ALL,
                     HZ_CUST_SITE_USES_ALL),
    "06_ar": (RA_CUSTOMER_TRX_ALL, RA_CUSTOMER_TRX_LINES_ALL, AR_PAYMENT_SCHEDULES_ALL, AR_CASH_RECEIPTS_ALL,
              AR_RECEIVABLE_APPLICATIONS_ALL),
    "07_shipping": (WSH_CARRIERS, WSH_CARRIER_SERVICES, WSH_NEW_DELIVERIES, WSH_DELIVERY_ASSIGNMENTS,
                    WSH_DELIVERY_DETAILS),
}
_VIEWS: dict[str, tuple[CreateView, ...]] = {"04_pricing": (_QP_VIEW,)}

TABLES: dict[str, sa.Table] = {t.name: t for tables in AREAS.values() for t in tables}


class _UpperCasePreparer(OracleIdentifierPreparer):
    """Writes unquoted identifiers in upper case, as Oracle stores them and EBS scripts show them."""

    def quote(self, ident: str) -> str:
        quoted = super().quote(ident)
        return quoted if quoted.startswith('"') else quoted.upper()


class _ByteLengthTypeCompiler(OracleTypeCompiler):
    """``VARCHAR2(n)`` rather than SQLAlchemy's ``VARCHAR2(n CHAR)``: EBS columns use the default BYTE semantics."""

    def _visit_varchar(self, type_: sa.types.TypeEngine, n: str, num: str) -> str:
        length = getattr(type_, "length", None)
        if length and not n:
            return f"VARCHAR{num}({length})"
        return str(super()._visit_varchar(type_, n, num))


def oracle_ddl_dialect() -> Dialect:
    """An Oracle dialect for the committed DDL: upper-case names and byte-length ``VARCHAR2(n)`` like EBS."""
    dialect = oracle.dialect()
    dialect.identifier_preparer = _UpperCasePreparer(dialect)
    dialect.type_compiler_instance = dialect.type_compiler = _ByteLengthTypeCompiler(dialect)
    return dialect


_DIALECTS = {"oracle": oracle_ddl_dialect, "postgresql": postgresql.dialect, "sqlite": sqlite.dialect}
_GENERATED_NOTE = "-- Generated from prestaoracle.sandbox.ebs.schema by scripts/generate_ebs_ddl.py; do not edit."


def ddl_files(dialect_name: str) -> dict[str, str]:
    """The text of every ``sql/ebs`` file for one dialect (``oracle``, ``postgresql`` or ``sqlite``), by file name."""
    dialect = _DIALECTS[dialect_name]()
    files = {}
    for area, tables in AREAS.items():
        statements = []
        for table in tables:
            statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
            for index in sorted(table.indexes, key=lambda i: i.name or ""):
                statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
        for view in _VIEWS.get(area, ()):
            statements.append(str(view.compile(dialect=dialect)).strip())
        body = "\n\n".join(f"{statement};" for statement in statements)
        text = f"{_GENERATED_NOTE}\n-- Area {area} of the EBS stand-in ({dialect_name}).\n\n{body}\n"
        # SQLAlchemy ends column lines with ", "; committed files carry no trailing blanks.
        files[f"{area}.sql"] = "\n".join(line.rstrip() for line in text.split("\n"))
    return files


# --------------------------------------------------------------------------------------------- runtime helpers


def allocate_ids(conn: sa.Connection, sequence_name: str, count: int = 1) -> int:
    """Reserve ``count`` consecutive numbers of a stand-in sequence and return the first.

    The UPDATE comes first so the counter row is locked (PostgreSQL) or the database is (SQLite) before reading:
    two concurrent callers can never receive the same block.
    """
    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    seq = XX_EBS_SEQUENCES
    done = conn.execute(seq.update().where(seq.c.sequence_name == sequence_name)
                        .values(last_number=seq.c.last_number + count))
    if done.rowcount != 1:
        raise KeyError(f"unknown stand-in sequence {sequence_name}")
    last = conn.execute(sa.select(seq.c.last_number).where(seq.c.sequence_name == sequence_name)).scalar_one()
    return int(last) - count + 1


def run_alone(conn: sa.Connection, program: str) -> None:
    """Wait until no other request of ``program`` runs, and keep the others waiting until this transaction ends.

    The UPDATE is the run's first write: PostgreSQL locks the row, SQLite takes its write lock (a run that read
    first and wrote later could otherwise work from what another run was about to change).
    """
    seq = XX_EBS_SEQUENCES
    done = conn.execute(seq.update().where(seq.c.sequence_name == _run_alone_row(program))
                        .values(last_number=seq.c.last_number))
    if done.rowcount != 1:
        raise KeyError(f"{program} is not one of the stand-in's run-alone programs {contract.RUN_ALONE_PROGRAMS}")


def _run_alone_row(program: str) -> str:
    return f"XX_RUN_ALONE_{program}"


def stamp(now: datetime, user_id: int = contract.SANDBOX_USER_ID) -> dict[str, object]:
    """WHO column values for a row the stand-in writes at ``now``."""
    return {"created_by": user_id, "creation_date": now, "last_updated_by": user_id, "last_update_date": now,
            "last_update_login": None}


def create_schema(engine: Engine) -> None:
    """Create every table and the view if missing, plus the setup a fresh instance has (sequences, organizations,
    order sources, carriers); safe to call again on an existing schema."""
    METADATA.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        present = set(conn.execute(sa.select(XX_EBS_SEQUENCES.c.sequence_name)).scalars())
        # A schema made before a program joined the list gets its lock row now.
        missing = [_run_alone_row(p) for p in contract.RUN_ALONE_PROGRAMS if _run_alone_row(p) not in present]
        if missing:
            conn.execute(XX_EBS_SEQUENCES.insert(), [{"sequence_name": name, "last_number": 0} for name in missing])
        if present:
            return
        now = datetime(2020, 1, 1)
        who = stamp(now)
        conn.execute(XX_EBS_SEQUENCES.insert(), [
            {"sequence_name": name, "last_number": last} for name, last in contract.SEQUENCES.items()
        ])
        conn.execute(MTL_PARAMETERS.insert(), [
            {"organization_id": org, "organization_code": code,
             "master_organization_id": contract.MASTER_ORGANIZATION_ID, **who}
            for org, code, _warehouse in contract.ORGANIZATIONS
        ])
        conn.execute(OE_ORDER_SOURCES.insert(), [
            {"order_source_id": sid, "name": name, "description": name, "enabled_flag": enabled, **who}
            for sid, name, enabled in contract.ORDER_SOURCES
        ])
        first_party = allocate_ids(conn, "HZ_PARTIES_S", len(contract.CARRIERS))
        parties, carriers, services = [], [], []
        for offset, (name, freight, scac, method, _fmt) in enumerate(contract.CARRIERS.values()):
            party_id = first_party + offset
            parties.append({"party_id": party_id, "party_number": str(party_id), "party_name": name,
                            "party_type": "ORGANIZATION", "person_first_name": None, "person_last_name": None,
                            "email_address": None, "orig_system_reference": f"CARRIER-{freight}", "status": "A",
                            **who})
            carriers.append({"carrier_id": party_id, "freight_code": freight, "scac_code": scac,
                             "manifesting_enabled_flag": "N", "active": "A", **who})
            services.append({"carrier_service_id": party_id, "carrier_id": party_id, "ship_method_code": method,
                             "mode_of_transport": "PARCEL", "service_level": "STANDARD", "enabled_flag": "Y", **who})
        conn.execute(HZ_PARTIES.insert(), parties)
        conn.execute(WSH_CARRIERS.insert(), carriers)
        conn.execute(WSH_CARRIER_SERVICES.insert(), services)
