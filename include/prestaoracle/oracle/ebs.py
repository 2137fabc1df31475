"""Oracle E-Business Suite (R12) at the database level: Order Import interface writes and the reads the flows need.

The classic EBS integration route (reference §4) is SQL over ``python-oracledb``: insert orders into
``OE_HEADERS_IFACE_ALL`` / ``OE_LINES_IFACE_ALL``, let the Order Import concurrent program (OEOIMP) create them in
``OE_ORDER_HEADERS_ALL`` / ``OE_ORDER_LINES_ALL`` or flag them ``ERROR_FLAG='Y'`` with messages in
``OE_PROCESSING_MSGS(_TL)``, and read status, shipments (WSH), on-hand (MTL), prices (QP), customers (TCA) and
receivables (RA/AR) back.

Every statement is SQLAlchemy Core over this module's own table definitions (only the columns the product touches,
written from the reference and the documented DDL), so the same statements run on Oracle
(``create_engine("oracle+oracledb://…")``) and on the SQLite/PostgreSQL stand-in the tests use. Rules that keep them
Oracle-valid: lower-case unquoted identifiers (Oracle folds them to the upper-case EBS names; none is a reserved
word), named binds only, no LIMIT/OFFSET, and every IN list split into lists of at most 1,000 expressions
(ORA-01795) joined with OR, so one look-up stays one statement whatever the chunk size. IN lists are padded to a few
fixed lengths so Oracle sees a handful of distinct SQL texts instead of one hard parse per list length.

Exactly once (DESIGN.md): the idempotency key of an order is ``ORDER_SOURCE_ID`` + ``ORIG_SYS_DOCUMENT_REF`` (see
:func:`document_ref` for the shop id + order id form). ``interface_orders`` works in chunks; in each chunk's
transaction it first looks every reference up with ONE statement (``UNION ALL`` of the interface and the base
table, so a concurrent OEOIMP commit cannot make a reference vanish between two reads), skips references that are
already pending or already imported, and inserts the rest with one ``executemany`` per table. A replay of any
window therefore creates nothing new; a crash between chunks leaves committed chunks that the replay skips.
Two writers racing on the same references are not serialised here (EBS has no unique key on the interface): run one
writer per order source (an Airflow pool of size 1 / ``max_active_runs=1``); should two copies still land, OEOIMP
refuses the second one as a duplicate (the stand-in fails both [VERIFY]) and ``import_errors`` reports it.

Every record-level problem comes back classified with a reason of DESIGN.md (``retryable``, ``invalid_data``,
``mapping_missing``, ``business_rule``, ``duplicate``) and a how-to-fix text; one bad order never fails a chunk:
byte lengths (VARCHAR2 limits are bytes, which neither SQLite nor PostgreSQL enforce), quantities, prices, unknown
customers and SKUs are checked before inserting, and should the database still refuse a row (DataError or
IntegrityError, e.g. ORA-12899 from a column we do not know), the chunk rolls back and is retried order by order.
Systemic database faults (connection, privileges, missing tables) propagate as SQLAlchemy exceptions
(:func:`classify_db_error` names their class).

Production notes: connect as APPS (the unqualified names resolve through the APPS synonyms); ``*_ALL`` tables are
read with an explicit ``ORG_ID`` filter, so no MO security context is needed; on an Oracle engine created without
``arraysize`` the client sets the dialect's fetch ``arraysize`` (reference §5.4) to ``fetch_arraysize``.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import sqlalchemy as sa
from more_itertools import batched
from sqlalchemy.dialects import oracle as _oracle
from sqlalchemy.engine import Engine

__all__ = [
    "IN_LIST_LIMIT",
    "EbsClient",
    "EbsCustomer",
    "EbsCustomerSite",
    "EbsOrder",
    "EbsOrderLine",
    "ImportMessage",
    "InsertResult",
    "Invoice",
    "InvoiceLine",
    "ItemPrice",
    "OrderStatus",
    "Receipt",
    "ReceiptApplication",
    "Rejection",
    "Shipment",
    "classify_db_error",
    "classify_import_message",
    "compile_oracle",
    "document_ref",
    "in_list",
    "utf8_overflows",
]

log = logging.getLogger(__name__)

IN_LIST_LIMIT = 1000  # ORA-01795: maximum number of expressions in a list is 1000
# IN lists are padded (with their last value) up to one of these lengths: few distinct SQL texts for Oracle's
# shared pool, at the cost of a few repeated binds.
_IN_BUCKETS: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, IN_LIST_LIMIT)

T = TypeVar("T")


# --------------------------------------------------------------------------------------------- tables (own view)
# Lower-case names: unquoted on every backend, so Oracle resolves them to the upper-case EBS objects. String lengths
# are the VARCHAR2 byte limits of R12 (``sql/ebs/*.sql``); ``_check_bytes`` enforces them before inserting.


def _id(name: str) -> sa.ColumnClause[Any]:
    return sa.column(name, sa.BigInteger())


def _num(name: str) -> sa.ColumnClause[Any]:
    return sa.column(name, sa.Numeric(asdecimal=True))


def _str(name: str, length: int) -> sa.ColumnClause[Any]:
    return sa.column(name, sa.String(length))


def _date(name: str) -> sa.ColumnClause[Any]:
    return sa.column(name, sa.DateTime())


def _who() -> tuple[sa.ColumnClause[Any], ...]:
    return (_id("created_by"), _date("creation_date"), _id("last_updated_by"), _date("last_update_date"),
            _id("last_update_login"))


IFACE_HEADERS = sa.table(
    "oe_headers_iface_all",
    _id("order_source_id"), _str("orig_sys_document_ref", 50), _str("operation_code", 30), _id("org_id"),
    _id("order_type_id"), _date("ordered_date"), _str("customer_po_number", 50), _id("sold_to_org_id"),
    _id("ship_to_org_id"), _id("invoice_to_org_id"), _id("ship_from_org_id"), _id("price_list_id"),
    _str("transactional_curr_code", 15), _id("payment_term_id"), _str("shipping_method_code", 30),
    _str("booked_flag", 1), _str("error_flag", 1), _id("request_id"), *_who(),
)
IFACE_LINES = sa.table(
    "oe_lines_iface_all",
    _id("order_source_id"), _str("orig_sys_document_ref", 50), _str("orig_sys_line_ref", 50),
    _str("operation_code", 30), _id("org_id"), _id("line_number"), _id("inventory_item_id"),
    _str("inventory_item", 2000), _num("ordered_quantity"), _str("order_quantity_uom", 3), _num("unit_selling_price"),
    _num("unit_list_price"), _str("calculate_price_flag", 1), _id("ship_from_org_id"), _date("request_date"),
    _str("error_flag", 1), _id("request_id"), *_who(),
)
PROCESSING_MSGS = sa.table(
    "oe_processing_msgs",
    _id("transaction_id"), _id("request_id"), _str("entity_code", 30), _id("order_source_id"),
    _str("original_sys_document_ref", 50), _str("original_sys_document_line_ref", 50), _str("attribute_code", 30),
    _str("message_text", 2000),
)
PROCESSING_MSGS_TL = sa.table(
    "oe_processing_msgs_tl", _id("transaction_id"), _str("language", 4), _str("message_text", 2000),
)
ORDER_HEADERS = sa.table(
    "oe_order_headers_all",
    _id("header_id"), _id("org_id"), _id("order_number"), _id("order_source_id"), _str("orig_sys_document_ref", 50),
    _date("ordered_date"), _id("sold_to_org_id"), _str("transactional_curr_code", 15), _str("booked_flag", 1),
    _str("open_flag", 1), _str("cancelled_flag", 1), _str("flow_status_code", 30), _date("last_update_date"),
)
ORDER_LINES = sa.table(
    "oe_order_lines_all",
    _id("line_id"), _id("header_id"), _id("line_number"), _str("orig_sys_line_ref", 50), _str("ordered_item", 2000),
)
MTL_PARAMETERS = sa.table("mtl_parameters", _id("organization_id"), _str("organization_code", 3))
SYSTEM_ITEMS = sa.table("mtl_system_items_b", _id("inventory_item_id"), _id("organization_id"), _str("segment1", 40))
ONHAND = sa.table(
    "mtl_onhand_quantities_detail",
    _id("inventory_item_id"), _id("organization_id"), _num("primary_transaction_quantity"), _id("is_consigned"),
)
QP_HEADERS = sa.table(
    "qp_list_headers_b",
    _id("list_header_id"), _str("list_type_code", 30), _str("currency_code", 30), _str("active_flag", 1),
    _date("start_date_active"), _date("end_date_active"),
)
QP_HEADERS_TL = sa.table("qp_list_headers_tl", _id("list_header_id"), _str("language", 4), _str("name", 240))
QP_LINES = sa.table(
    "qp_list_lines",
    _id("list_line_id"), _id("list_header_id"), _str("list_line_type_code", 30), _str("arithmetic_operator", 30),
    _num("operand"), _date("start_date_active"), _date("end_date_active"), _id("product_precedence"),
)
QP_ATTRIBUTES = sa.table(
    "qp_pricing_attributes",
    _id("list_line_id"), _str("product_attribute_context", 30), _str("product_attribute", 30),
    _str("product_attr_value", 240), _str("product_uom_code", 3), _str("excluder_flag", 1),
)
PARTIES = sa.table(
    "hz_parties",
    _id("party_id"), _str("party_number", 30), _str("party_name", 360), _str("party_type", 30),
    _str("person_first_name", 150), _str("person_last_name", 150), _str("email_address", 2000),
    _str("orig_system_reference", 240), _str("status", 1), _date("last_update_date"),
)
CUST_ACCOUNTS = sa.table(
    "hz_cust_accounts",
    _id("cust_account_id"), _id("party_id"), _str("account_number", 30), _str("account_name", 240),
    _str("status", 1), _str("orig_system_reference", 240), _date("last_update_date"),
)
CUST_ACCT_SITES = sa.table(
    "hz_cust_acct_sites_all",
    _id("cust_acct_site_id"), _id("cust_account_id"), _id("party_site_id"), _id("org_id"), _str("status", 1),
)
CUST_SITE_USES = sa.table(
    "hz_cust_site_uses_all",
    _id("site_use_id"), _id("cust_acct_site_id"), _str("site_use_code", 30), _str("location", 40),
    _str("primary_flag", 1), _str("status", 1), _id("org_id"),
)
PARTY_SITES = sa.table("hz_party_sites", _id("party_site_id"), _id("location_id"))
LOCATIONS = sa.table(
    "hz_locations",
    _id("location_id"), _str("address1", 240), _str("address2", 240), _str("city", 60), _str("postal_code", 60),
    _str("country", 60),
)
CUSTOMER_TRX = sa.table(
    "ra_customer_trx_all",
    _id("customer_trx_id"), _str("trx_number", 20), _date("trx_date"), _id("bill_to_customer_id"),
    _str("invoice_currency_code", 15), _str("complete_flag", 1), _str("ct_reference", 150),
    _str("interface_header_context", 30), _str("interface_header_attribute1", 150), _id("org_id"),
    _date("last_update_date"),
)
CUSTOMER_TRX_LINES = sa.table(
    "ra_customer_trx_lines_all",
    _id("customer_trx_line_id"), _id("customer_trx_id"), _id("line_number"), _str("line_type", 20),
    _str("description", 240), _id("inventory_item_id"), _num("quantity_invoiced"), _num("unit_selling_price"),
    _num("extended_amount"), _str("sales_order", 50), _str("sales_order_line", 30),
    _str("interface_line_attribute6", 150),
)
PAYMENT_SCHEDULES = sa.table(
    "ar_payment_schedules_all",
    _id("customer_trx_id"), _str("class", 20), _str("status", 30), _date("due_date"), _num("amount_due_original"),
    _num("amount_due_remaining"), _date("last_update_date"),
)
CASH_RECEIPTS = sa.table(
    "ar_cash_receipts_all",
    _id("cash_receipt_id"), _str("receipt_number", 30), _date("receipt_date"), _num("amount"),
    _str("currency_code", 15), _id("pay_from_customer"), _str("status", 30), _str("comments", 2000), _id("org_id"),
    _date("last_update_date"),
)
RECEIVABLE_APPS = sa.table(
    "ar_receivable_applications_all",
    _id("cash_receipt_id"), _id("applied_customer_trx_id"), _num("amount_applied"), _date("apply_date"),
    _str("status", 30), _str("display", 1), _date("last_update_date"),
)
DELIVERY_DETAILS = sa.table(
    "wsh_delivery_details",
    _id("delivery_detail_id"), _str("source_code", 30), _id("source_header_id"), _id("source_line_id"),
    _id("inventory_item_id"), _num("shipped_quantity"), _str("released_status", 1), _str("ship_method_code", 30),
    _id("carrier_id"), _str("tracking_number", 30), _date("last_update_date"),
)
DELIVERY_ASSIGNMENTS = sa.table("wsh_delivery_assignments", _id("delivery_id"), _id("delivery_detail_id"))
NEW_DELIVERIES = sa.table(
    "wsh_new_deliveries",
    _id("delivery_id"), _str("name", 30), _str("ship_method_code", 30), _id("carrier_id"), _str("waybill", 30),
    _date("confirm_date"),
)
CARRIERS = sa.table("wsh_carriers", _id("carrier_id"), _str("freight_code", 30))

_HEADER_COLUMNS: tuple[str, ...] = (
    "order_source_id", "orig_sys_document_ref", "operation_code", "org_id", "order_type_id", "ordered_date",
    "customer_po_number", "sold_to_org_id", "ship_to_org_id", "invoice_to_org_id", "ship_from_org_id",
    "price_list_id", "transactional_curr_code", "payment_term_id", "shipping_method_code", "booked_flag",
    "created_by", "creation_date", "last_updated_by", "last_update_date", "last_update_login",
)
_LINE_COLUMNS: tuple[str, ...] = (
    "order_source_id", "orig_sys_document_ref", "orig_sys_line_ref", "operation_code", "org_id", "line_number",
    "inventory_item_id", "inventory_item", "ordered_quantity", "order_quantity_uom", "unit_selling_price",
    "unit_list_price", "calculate_price_flag", "ship_from_org_id", "request_date",
    "created_by", "creation_date", "last_updated_by", "last_update_date", "last_update_login",
)


def _insert(table: sa.TableClause, columns: Sequence[str]) -> sa.Insert:
    """``INSERT INTO t (a, b, …) VALUES (:a, :b, …)``: the exact text ``cursor.executemany`` receives."""
    return sa.insert(table).values({c: sa.bindparam(c, type_=table.c[c].type) for c in columns})


_HEADER_INSERT = _insert(IFACE_HEADERS, _HEADER_COLUMNS)
_LINE_INSERT = _insert(IFACE_LINES, _LINE_COLUMNS)


# --------------------------------------------------------------------------------------------- helpers


def document_ref(shop_id: int, id_order: int) -> str:
    """ORIG_SYS_DOCUMENT_REF of a PrestaShop order: the idempotency key ``(shop_id, id_order)`` as text."""
    return f"PS{int(shop_id)}-{int(id_order)}"


def compile_oracle(statement: sa.ClauseElement, *, max_identifier_length: int | None = None) -> str:
    """Render a statement as ``oracle+oracledb`` would receive it (IN lists expanded into their binds).

    ``max_identifier_length=30`` renders for pre-12.2 databases (older EBS instances), where SQLAlchemy shortens
    long bind names."""
    dialect = (_oracle.dialect() if max_identifier_length is None
               else _oracle.dialect(max_identifier_length=max_identifier_length))
    return str(statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))


def _unique(values: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(v for v in values if v is not None))


def _pad(values: list[Any]) -> list[Any]:
    size = next(b for b in _IN_BUCKETS if b >= len(values))
    return values + [values[-1]] * (size - len(values))


def in_list(column: sa.ColumnElement[Any], values: Iterable[Any]) -> sa.ColumnElement[bool]:
    """``column IN (…)`` for any number of values, as ORs of lists of at most 1,000 (Oracle's limit).

    Values are de-duplicated, kept in first-seen order and padded to fixed lengths; ``values`` must not be empty.
    """
    distinct = _unique(values)
    if not distinct:
        raise ValueError("in_list needs at least one value; callers skip the query instead")
    parts = [column.in_(_pad(list(part))) for part in batched(distinct, IN_LIST_LIMIT)]
    return parts[0] if len(parts) == 1 else sa.or_(*parts)


def utf8_overflows(value: str | None, limit: int) -> bool:
    """Whether ``value`` exceeds a byte-semantics ``VARCHAR2(limit)`` on an AL32UTF8 database (ORA-12899)."""
    return value is not None and len(value.encode("utf-8")) > limit


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


_ORA = re.compile(r"\b(ORA|DPY|DPI)-(\d{4,5})\b")
_ORA_CLASSES: dict[str, str] = {
    "ORA-00001": "duplicate",  # unique constraint violated
    "ORA-01400": "invalid_data",  # cannot insert NULL
    "ORA-01401": "invalid_data",  # inserted value too large
    "ORA-01438": "invalid_data",  # value larger than specified precision
    "ORA-01722": "invalid_data",  # invalid number
    "ORA-01830": "invalid_data", "ORA-01861": "invalid_data",  # date format
    "ORA-12899": "invalid_data",  # value too large for column
    "ORA-02291": "mapping_missing",  # parent key not found
    "ORA-00054": "retryable", "ORA-00060": "retryable",  # resource busy, deadlock
    "ORA-01013": "retryable",  # user requested cancel (call timeout)
    "ORA-03113": "retryable", "ORA-03114": "retryable", "ORA-03135": "retryable",  # connection lost
    "ORA-12170": "retryable", "ORA-12514": "retryable", "ORA-12541": "retryable",  # listener / timeout
    "ORA-01017": "auth", "ORA-28000": "auth", "ORA-28001": "auth",  # credentials, locked, expired
}
_SQLSTATE_CLASSES: dict[str, str] = {"23505": "duplicate", "22001": "invalid_data", "23502": "invalid_data",
                                     "22003": "invalid_data", "40P01": "retryable", "40001": "retryable"}


def classify_db_error(exc: BaseException) -> str:
    """Reason class of a database error: ORA codes first (oracledb), then SQLSTATE (psycopg), then the exception
    type. ``auth`` (ORA-01017, locked or expired account) is systemic, like a Fusion 401."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig)
    for match in _ORA.finditer(text):
        code = f"{match.group(1)}-{match.group(2)}"
        if code in _ORA_CLASSES:
            return _ORA_CLASSES[code]
        if match.group(1) == "DPY" and match.group(2).startswith("4"):
            return "retryable"  # DPY-4xxx: network and connection problems in thin mode
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _SQLSTATE_CLASSES:
        return _SQLSTATE_CLASSES[sqlstate]
    if isinstance(exc, sa.exc.IntegrityError):
        return "duplicate" if "unique" in text.lower() else "invalid_data"
    if isinstance(exc, sa.exc.DataError):
        return "invalid_data"
    return "retryable"


# Order Import message rules, first match wins. Texts are those OM writes (the stand-in's contract lists the ones it
# uses; real wording is [VERIFY]), matched loosely by phrase and by ATTRIBUTE_CODE.
_DUPLICATE_TEXT = re.compile(r"already exists|more than one interface order|duplicate order", re.I)
_BUSINESS_TEXT = re.compile(r"not customer orderable|inactive|not active|credit|hold|closed period|cannot be booked|"
                            r"unable to get a list price|no list price", re.I)
_CUSTOMER_ATTRS = frozenset({"SOLD_TO_ORG_ID", "CUSTOMER_NUMBER", "SOLD_TO_ORG"})
_ITEM_ATTRS = frozenset({"INVENTORY_ITEM_ID", "INVENTORY_ITEM", "ORDERED_ITEM"})
_SITE_ATTRS = frozenset({"SHIP_TO_ORG_ID", "INVOICE_TO_ORG_ID"})
_MAPPED_ATTRS = frozenset({"SHIPPING_METHOD_CODE"})
_FIXES: dict[str, str] = {
    "duplicate": "Nothing to resend: the order is already in EBS (or queued twice). Record the existing order in the "
                 "ledger; delete any extra interface copy.",
    "customer": "Match the PrestaShop customer to an active EBS customer account (customer-360) or create it in TCA, "
                "then replay the order.",
    "customer_inactive": "The EBS customer account is inactive: reactivate it in Receivables or map the customer to "
                         "another account, then replay.",
    "item": "Create the item (SEGMENT1 = the PrestaShop reference) and assign it to the ship-from organization, or "
            "fix the product's reference in PrestaShop, then replay.",
    "site": "Give the EBS customer account an active primary SHIP_TO/BILL_TO site use (or map the address to one), "
            "then replay.",
    "mapped": "Map the PrestaShop value to an enabled EBS code (e.g. carrier to ship method), then replay.",
    "business_rule": "EBS refuses the order by policy (item or customer not orderable, price, credit, hold): decide "
                     "in EBS, then replay.",
    "invalid_data": "Fix the source order or the mapping so the value is valid for EBS, then replay.",
    "retryable": "Rerun Order Import for this reference; if it fails again, read the request log.",
}


def classify_import_message(text: str | None, attribute_code: str | None = None,
                            account_status: str | None = None) -> tuple[str, str]:
    """Reason class and how-to-fix of one Order Import message.

    ``account_status`` is HZ_CUST_ACCOUNTS.STATUS of the order's SOLD_TO_ORG_ID (if the account exists): OM says
    "Validation failed for the field - Customer" both for an unknown and for an inactive account, so the status
    tells ``mapping_missing`` from ``business_rule``."""
    message = text or ""
    attribute = (attribute_code or "").upper()
    if _DUPLICATE_TEXT.search(message) or (attribute == "ORIG_SYS_DOCUMENT_REF" and "duplicate" in message.lower()):
        return "duplicate", _FIXES["duplicate"]
    if attribute in _CUSTOMER_ATTRS or re.search(r"field - customer\b|sold_to_org", message, re.I):
        if account_status is not None and account_status != "A":
            return "business_rule", _FIXES["customer_inactive"]
        return "mapping_missing", _FIXES["customer"]
    if _BUSINESS_TEXT.search(message):
        return "business_rule", _FIXES["business_rule"]
    if attribute in _ITEM_ATTRS or re.search(r"field - item\b", message, re.I):
        return "mapping_missing", _FIXES["item"]
    if attribute in _SITE_ATTRS or re.search(r"field - (ship to|bill to)\b", message, re.I):
        return "mapping_missing", _FIXES["site"]
    if attribute in _MAPPED_ATTRS or re.search(r"field - shipping method\b", message, re.I):
        return "mapping_missing", _FIXES["mapped"]
    return "invalid_data", _FIXES["invalid_data"]


# --------------------------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class EbsOrderLine:
    """One order line: SKU (= MTL_SYSTEM_ITEMS_B.SEGMENT1), quantity and the shop's price (tax excluded)."""

    orig_sys_line_ref: str
    sku: str
    quantity: Decimal | int | str
    unit_selling_price: Decimal | int | str | None = None
    unit_list_price: Decimal | int | str | None = None
    uom: str | None = None  # ORDER_QUANTITY_UOM; None lets EBS default the item's primary UOM
    request_date: datetime | None = None


@dataclass(frozen=True)
class EbsOrder:
    """One sales order for Order Import, already mapped: EBS ids for customer, sites, price list, ship method."""

    orig_sys_document_ref: str
    sold_to_org_id: int | None  # HZ_CUST_ACCOUNTS.CUST_ACCOUNT_ID; None = customer not matched (mapping_missing)
    currency: str
    lines: Sequence[EbsOrderLine]
    ordered_date: datetime | None = None
    customer_po_number: str | None = None  # e.g. the PrestaShop order reference
    ship_to_org_id: int | None = None  # site use ids; None lets EBS default the primary SHIP_TO / BILL_TO
    invoice_to_org_id: int | None = None
    shipping_method_code: str | None = None
    price_list_id: int | None = None  # None lets EBS default the price list (by currency in the stand-in)
    payment_term_id: int | None = None
    order_type_id: int | None = None
    booked: bool = True  # BOOKED_FLAG='Y': booked on import
    calculate_price: bool | None = None  # None = the client's default (False: keep the shop's price)


@dataclass(frozen=True)
class Rejection:
    """An order ``interface_orders`` did not insert, with its reason class and what to do about it."""

    ref: str
    reason: str
    message: str
    how_to_fix: str


@dataclass
class InsertResult:
    """Outcome of ``interface_orders``, per reference."""

    inserted: list[str] = field(default_factory=list)
    already_pending: list[str] = field(default_factory=list)  # in the interface already (nothing inserted)
    already_imported: dict[str, int] = field(default_factory=dict)  # ref -> ORDER_NUMBER of the existing order
    pending_in_error: list[str] = field(default_factory=list)  # part of already_pending with ERROR_FLAG='Y'
    replaced: list[str] = field(default_factory=list)  # failed interface copies replaced (also in inserted)
    rejected: list[Rejection] = field(default_factory=list)
    lines_inserted: int = 0
    chunks: int = 0
    elapsed_s: float = 0.0

    def rejected_by_ref(self) -> dict[str, Rejection]:
        return {r.ref: r for r in self.rejected}

    def merge(self, other: InsertResult) -> None:
        self.inserted += other.inserted
        self.already_pending += other.already_pending
        self.already_imported.update(other.already_imported)
        self.pending_in_error += other.pending_in_error
        self.replaced += other.replaced
        self.rejected += other.rejected
        self.lines_inserted += other.lines_inserted


@dataclass(frozen=True)
class ImportMessage:
    """One Order Import message of a failed interface order, classified."""

    ref: str
    line_ref: str | None
    attribute_code: str | None
    text: str
    reason: str
    how_to_fix: str
    request_id: int | None


@dataclass(frozen=True)
class OrderStatus:
    ref: str
    header_id: int
    order_number: int
    flow_status_code: str | None
    booked_flag: str | None
    open_flag: str | None
    cancelled_flag: str | None
    last_update_date: datetime | None


@dataclass(frozen=True)
class Shipment:
    """One shipped delivery detail (an order line, or part of one) with its tracking number."""

    ref: str
    order_number: int
    header_id: int
    line_id: int
    orig_sys_line_ref: str | None
    sku: str | None
    shipped_quantity: Decimal | None
    tracking_number: str | None  # the detail's TRACKING_NUMBER, else the delivery's WAYBILL
    carrier: str | None  # HZ_PARTIES.PARTY_NAME of the carrier
    freight_code: str | None
    ship_method_code: str | None
    delivery_id: int
    delivery_name: str | None
    confirm_date: datetime | None
    last_update_date: datetime | None


@dataclass(frozen=True)
class ItemPrice:
    sku: str
    price: Decimal
    uom: str | None
    currency: str
    list_header_id: int
    list_line_id: int
    start_date_active: datetime | None
    end_date_active: datetime | None


@dataclass(frozen=True)
class InvoiceLine:
    line_number: int
    line_type: str
    description: str | None
    inventory_item_id: int | None
    quantity: Decimal | None
    unit_selling_price: Decimal | None
    amount: Decimal | None
    sales_order: str | None  # the order number, as AutoInvoice writes it
    sales_order_line: str | None
    order_line_id: int | None  # INTERFACE_LINE_ATTRIBUTE6 = OE_ORDER_LINES_ALL.LINE_ID


@dataclass(frozen=True)
class Invoice:
    customer_trx_id: int
    trx_number: str
    trx_date: datetime | None
    currency: str | None
    bill_to_customer_id: int | None
    order_numbers: tuple[str, ...]  # from the lines' SALES_ORDER (else the header's INTERFACE_HEADER_ATTRIBUTE1)
    refs: tuple[str, ...]  # ORIG_SYS_DOCUMENT_REF of those orders (this client's order source only)
    amount: Decimal
    amount_due_original: Decimal | None
    amount_due_remaining: Decimal | None
    status: str | None  # payment schedule: OP open, CL closed
    complete_flag: str | None
    last_update_date: datetime | None
    lines: tuple[InvoiceLine, ...]


@dataclass(frozen=True)
class ReceiptApplication:
    customer_trx_id: int
    trx_number: str | None
    order_number: str | None
    ref: str | None
    amount_applied: Decimal | None
    apply_date: datetime | None


@dataclass(frozen=True)
class Receipt:
    cash_receipt_id: int
    receipt_number: str | None
    receipt_date: datetime | None
    amount: Decimal | None
    currency: str | None
    pay_from_customer: int | None
    status: str | None
    comments: str | None
    last_update_date: datetime | None
    applications: tuple[ReceiptApplication, ...]


@dataclass(frozen=True)
class EbsCustomerSite:
    site_use_id: int
    site_use_code: str
    primary: bool
    active: bool
    location: str | None
    address1: str | None
    address2: str | None
    city: str | None
    postal_code: str | None
    country: str | None


@dataclass(frozen=True)
class EbsCustomer:
    """A TCA customer account with its party and its site uses in the client's operating unit (for matching)."""

    cust_account_id: int
    account_number: str
    account_name: str | None
    account_status: str
    orig_system_reference: str | None
    party_id: int
    party_number: str | None
    party_name: str | None
    party_type: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    sites: tuple[EbsCustomerSite, ...]

    def primary_site(self, code: str) -> EbsCustomerSite | None:
        """The active primary site use of ``code`` (``SHIP_TO`` or ``BILL_TO``)."""
        return next((s for s in self.sites if s.site_use_code == code and s.primary and s.active), None)


# --------------------------------------------------------------------------------------------- the client


def _reject(ref: Any, reason: str, problems: Sequence[str], fix: str) -> Rejection:
    return Rejection(str(ref), reason, "; ".join(problems), fix)


@dataclass
class _RefState:
    """Where one reference already is in EBS."""

    waiting: bool = False  # an interface copy without ERROR_FLAG (Order Import will pick it up)
    failed: bool = False  # an interface copy with ERROR_FLAG='Y'
    order_number: int | None = None  # imported: the order's number


class EbsClient:
    """EBS over the database: Order Import interface writes (idempotent by ORIG_SYS_DOCUMENT_REF) and reads.

    ``ship_from_org`` is the warehouse as an organization code (``M1``, resolved once through MTL_PARAMETERS) or an
    organization id. ``created_by`` is the FND_USER id stamped on the interface rows' WHO columns: set it to the
    integration user's id (the default -1 only marks rows nobody configured). ``calculate_price=False`` sends
    CALCULATE_PRICE_FLAG='N' (EBS keeps the shop's selling price), True sends 'Y' (EBS prices from its price list);
    an order may override it. ``now`` and ``since`` datetimes may be naive (taken as database time) or aware
    (converted to ``db_timezone``), since EBS DATE columns carry no time zone.
    """

    def __init__(self, engine: Engine, *, order_source_id: int = 1001, org_id: int = 204,
                 ship_from_org: str | int = "M1", chunk_size: int = 1000, created_by: int = -1,
                 master_org_id: int = 204, calculate_price: bool = False, language: str = "US",
                 db_timezone: tzinfo = UTC, fetch_arraysize: int = 5000) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.engine = engine
        self.order_source_id = order_source_id
        self.org_id = org_id
        self.ship_from_org = ship_from_org
        self.chunk_size = chunk_size
        self.created_by = created_by
        self.master_org_id = master_org_id
        self.calculate_price = calculate_price
        self.language = language
        self.db_timezone = db_timezone
        self._org_ids: dict[str, int] = {}
        if engine.dialect.name == "oracle" and not getattr(engine.dialect, "arraysize", None):
            engine.dialect.arraysize = fetch_arraysize  # type: ignore[attr-defined]

    # ----------------------------------------------------------------------------------------- time and orgs

    def _db_time(self, value: datetime) -> datetime:
        if value.tzinfo is not None:
            value = value.astimezone(self.db_timezone).replace(tzinfo=None)
        return value

    def _now(self, now: datetime | None) -> datetime:
        # Oracle DATE keeps whole seconds; the stand-in stores what it is given, so truncate alike.
        return self._db_time(now or datetime.now(self.db_timezone)).replace(microsecond=0)

    def organization_id(self, org: str | int | None = None) -> int:
        """Organization id of an organization code (``M1``) or id; default the client's ship-from warehouse."""
        org = self.ship_from_org if org is None else org
        if isinstance(org, int):
            return org
        if org not in self._org_ids:
            mp = MTL_PARAMETERS
            with self.engine.connect() as conn:
                found = conn.execute(sa.select(mp.c.organization_id).where(mp.c.organization_code == org)).scalar()
            if found is None:
                raise LookupError(f"No inventory organization with code {org!r} in MTL_PARAMETERS: set ship_from_org "
                                  "to an existing organization code or id")
            self._org_ids[org] = int(found)
        return self._org_ids[org]

    # ----------------------------------------------------------------------------------------- order import

    def interface_orders(self, orders: Iterable[EbsOrder], *, now: datetime | None = None,
                         replace_failed: bool = False) -> InsertResult:
        """Insert orders into the Order Import interface, each exactly once per ORDER_SOURCE_ID + reference.

        Orders already pending in the interface or already imported are skipped and reported; orders with data
        EBS would refuse at insert time (byte lengths, quantities, missing prices) or with an unknown SKU/customer
        are rejected with a reason and not inserted. ``replace_failed=True`` (dead-letter replay after a fix)
        replaces an interface copy that Order Import flagged ``ERROR_FLAG='Y'`` with the new version.
        """
        started = time.perf_counter()
        stamp = self._now(now)
        result = InsertResult()
        ship_from = self.organization_id()
        seen: set[str] = set()
        batch: list[tuple[EbsOrder, list[str]]] = []
        for order in orders:
            ref = order.orig_sys_document_ref
            key_problem = _key_problem(ref)
            if key_problem:  # cannot even be looked up
                result.rejected.append(Rejection(str(ref), "invalid_data", key_problem, _FIXES["invalid_data"]))
            elif ref in seen:
                result.rejected.append(Rejection(ref, "duplicate", f"{ref} appears more than once in this batch",
                                                 "Nothing to do: the first copy in the batch was handled."))
            else:
                seen.add(ref)
                batch.append((order, self._check_order(order)))
        for chunk in batched(batch, self.chunk_size):
            self._interface_chunk(chunk, stamp, ship_from, replace_failed, result)
            result.chunks += 1
        result.elapsed_s = time.perf_counter() - started
        log.info("EBS interface: %d orders inserted (%d lines), %d pending, %d imported, %d rejected in %.2f s",
                 len(result.inserted), result.lines_inserted, len(result.already_pending),
                 len(result.already_imported), len(result.rejected), result.elapsed_s)
        return result

    def _check_order(self, order: EbsOrder) -> list[str]:
        """Problems EBS would raise at insert time (ORA-12899, ORA-01400) or Order Import would refuse for sure."""
        problems: list[str] = []
        header_text = {"customer_po_number": order.customer_po_number,
                       "transactional_curr_code": order.currency,
                       "shipping_method_code": order.shipping_method_code}
        problems += _check_bytes(IFACE_HEADERS, header_text, "")
        if not order.currency:
            problems.append("currency is missing")
        if not order.lines:
            problems.append("the order has no lines")
        calculate = self._calculate_flag(order) == "Y"
        line_refs: set[str] = set()
        for line in order.lines:
            where = f"line {line.orig_sys_line_ref}: "
            if not line.orig_sys_line_ref:
                problems.append("a line has an empty ORIG_SYS_LINE_REF")
            elif line.orig_sys_line_ref in line_refs:
                problems.append(f"{where}ORIG_SYS_LINE_REF is used twice in the order")
            line_refs.add(line.orig_sys_line_ref)
            if not line.sku:
                problems.append(f"{where}the product has no reference (SKU)")
            problems += _check_bytes(IFACE_LINES, {"orig_sys_line_ref": line.orig_sys_line_ref,
                                                   "inventory_item": line.sku, "order_quantity_uom": line.uom}, where)
            quantity = _decimal(line.quantity)
            if quantity is None or quantity <= 0:
                problems.append(f"{where}quantity {line.quantity!r} is not a positive number")
            price = _decimal(line.unit_selling_price)
            if line.unit_selling_price is not None and (price is None or price < 0):
                problems.append(f"{where}unit price {line.unit_selling_price!r} is not a number >= 0")
            elif price is None and not calculate:
                problems.append(f"{where}unit price is missing and CALCULATE_PRICE_FLAG is N (keep the shop's price)")
            listed = _decimal(line.unit_list_price)
            if line.unit_list_price is not None and (listed is None or listed < 0):
                problems.append(f"{where}list price {line.unit_list_price!r} is not a number >= 0")
        return problems

    def _calculate_flag(self, order: EbsOrder) -> str:
        calculate = self.calculate_price if order.calculate_price is None else order.calculate_price
        return "Y" if calculate else "N"

    def _interface_chunk(self, orders: Sequence[tuple[EbsOrder, list[str]]], stamp: datetime, ship_from: int,
                         replace_failed: bool, result: InsertResult) -> None:
        try:
            outcome = self._write_chunk(orders, stamp, ship_from, replace_failed)
        except (sa.exc.DataError, sa.exc.IntegrityError) as exc:
            # The database refused a row the checks let through (a constraint or trigger we do not know about).
            # The chunk rolled back as a whole; isolate the culprit order by order.
            if len(orders) == 1:
                reason = classify_db_error(exc)
                ref = orders[0][0].orig_sys_document_ref
                log.warning("EBS interface insert of %s refused: %s", ref, exc.orig)
                result.rejected.append(Rejection(ref, reason, f"the database refused the insert: {exc.orig}",
                                                 _FIXES.get(reason, _FIXES["invalid_data"])))
                return
            log.warning("EBS interface chunk of %d orders refused (%s); retrying order by order", len(orders),
                        type(exc.orig).__name__)
            for entry in orders:
                self._interface_chunk([entry], stamp, ship_from, replace_failed, result)
            return
        result.merge(outcome)

    def _write_chunk(self, orders: Sequence[tuple[EbsOrder, list[str]]], stamp: datetime, ship_from: int,
                     replace_failed: bool) -> InsertResult:
        """One transaction: look the references up (before any other verdict, so a replay of an existing order
        always reports where it is), check mappings, insert what is new. Returns the chunk's outcome, which only
        counts once the transaction has committed."""
        out = InsertResult()
        with self.engine.begin() as conn:
            existing = self._existing(conn, [o.orig_sys_document_ref for o, _problems in orders])
            candidates: list[EbsOrder] = []
            to_replace: set[str] = set()
            for order, problems in orders:
                ref = order.orig_sys_document_ref
                state = existing.get(ref)
                if state is not None and state.order_number is not None:
                    out.already_imported[ref] = state.order_number
                elif state is not None and not (replace_failed and state.failed and not state.waiting):
                    out.already_pending.append(ref)
                    if state.failed:
                        out.pending_in_error.append(ref)
                elif problems:
                    out.rejected.append(_reject(ref, "invalid_data", problems, _FIXES["invalid_data"]))
                elif order.sold_to_org_id is None:
                    out.rejected.append(Rejection(ref, "mapping_missing", "the customer has no EBS customer account "
                                                  "(SOLD_TO_ORG_ID)", _FIXES["customer"]))
                else:
                    if state is not None:
                        to_replace.add(ref)
                    candidates.append(order)
            items = self._item_ids(conn, ship_from, [line.sku for o in candidates for line in o.lines])
            headers: list[dict[str, Any]] = []
            lines: list[dict[str, Any]] = []
            for order in candidates:
                ref = order.orig_sys_document_ref
                missing = _unique(line.sku for line in order.lines if line.sku not in items)
                if missing:
                    to_replace.discard(ref)
                    out.rejected.append(Rejection(
                        ref, "mapping_missing",
                        f"no item {', '.join(missing)} in organization {self.ship_from_org} (MTL_SYSTEM_ITEMS_B)",
                        _FIXES["item"]))
                    continue
                headers.append(self._header_row(order, stamp, ship_from))
                lines += self._line_rows(order, stamp, ship_from, items)
                out.inserted.append(ref)
            if to_replace:
                self._delete_failed(conn, sorted(to_replace))
                out.replaced = [ref for ref in out.inserted if ref in to_replace]
            if headers:
                conn.execute(_HEADER_INSERT, headers)
                conn.execute(_LINE_INSERT, lines)
            out.lines_inserted = len(lines)
        return out

    def _existing(self, conn: sa.Connection, refs: Sequence[str]) -> dict[str, _RefState]:
        """Where each reference already is, in one statement (one read-consistent snapshot on Oracle)."""
        h, oh = IFACE_HEADERS, ORDER_HEADERS
        pending = sa.select(sa.literal_column("'P'", sa.String(1)).label("state"),
                            h.c.orig_sys_document_ref.label("ref"), h.c.error_flag.label("error_flag"),
                            sa.cast(sa.null(), sa.BigInteger()).label("order_number")).where(
            h.c.order_source_id == self.order_source_id, in_list(h.c.orig_sys_document_ref, refs))
        imported = sa.select(sa.literal_column("'I'", sa.String(1)), oh.c.orig_sys_document_ref,
                             sa.cast(sa.null(), sa.String(1)), oh.c.order_number).where(
            oh.c.order_source_id == self.order_source_id, in_list(oh.c.orig_sys_document_ref, refs))
        states: dict[str, _RefState] = {}
        for row in conn.execute(sa.union_all(pending, imported)):
            state = states.setdefault(row.ref, _RefState())
            if row.state == "I":
                state.order_number = int(row.order_number)
            elif row.error_flag == "Y":
                state.failed = True
            else:
                state.waiting = True
        return states

    def _item_ids(self, conn: sa.Connection, ship_from: int, skus: Iterable[str]) -> dict[str, int]:
        wanted = _unique(skus)
        if not wanted:
            return {}
        msi = SYSTEM_ITEMS
        query = sa.select(msi.c.segment1, msi.c.inventory_item_id).where(
            msi.c.organization_id == ship_from, in_list(msi.c.segment1, wanted))
        return {row.segment1: int(row.inventory_item_id) for row in conn.execute(query)}

    def _delete_failed(self, conn: sa.Connection, refs: Sequence[str]) -> None:
        h, ln = IFACE_HEADERS, IFACE_LINES
        failed = sa.select(h.c.orig_sys_document_ref).where(h.c.order_source_id == self.order_source_id,
                                                            h.c.error_flag == "Y",
                                                            in_list(h.c.orig_sys_document_ref, refs))
        conn.execute(sa.delete(ln).where(ln.c.order_source_id == self.order_source_id,
                                         ln.c.orig_sys_document_ref.in_(failed)))
        conn.execute(sa.delete(h).where(h.c.order_source_id == self.order_source_id, h.c.error_flag == "Y",
                                        in_list(h.c.orig_sys_document_ref, refs)))

    def _who(self, stamp: datetime) -> dict[str, Any]:
        return {"created_by": self.created_by, "creation_date": stamp, "last_updated_by": self.created_by,
                "last_update_date": stamp, "last_update_login": None}

    def _header_row(self, order: EbsOrder, stamp: datetime, ship_from: int) -> dict[str, Any]:
        ordered = self._db_time(order.ordered_date).replace(microsecond=0) if order.ordered_date else stamp
        return {
            "order_source_id": self.order_source_id, "orig_sys_document_ref": order.orig_sys_document_ref,
            "operation_code": "INSERT", "org_id": self.org_id, "order_type_id": order.order_type_id,
            "ordered_date": ordered, "customer_po_number": order.customer_po_number,
            "sold_to_org_id": order.sold_to_org_id, "ship_to_org_id": order.ship_to_org_id,
            "invoice_to_org_id": order.invoice_to_org_id, "ship_from_org_id": ship_from,
            "price_list_id": order.price_list_id, "transactional_curr_code": order.currency,
            "payment_term_id": order.payment_term_id, "shipping_method_code": order.shipping_method_code,
            "booked_flag": "Y" if order.booked else "N", **self._who(stamp),
        }

    def _line_rows(self, order: EbsOrder, stamp: datetime, ship_from: int,
                   items: dict[str, int]) -> list[dict[str, Any]]:
        flag = self._calculate_flag(order)
        ordered = self._db_time(order.ordered_date).replace(microsecond=0) if order.ordered_date else stamp
        rows = []
        for number, line in enumerate(order.lines, start=1):
            selling = _decimal(line.unit_selling_price)
            listed = _decimal(line.unit_list_price)
            rows.append({
                "order_source_id": self.order_source_id, "orig_sys_document_ref": order.orig_sys_document_ref,
                "orig_sys_line_ref": line.orig_sys_line_ref, "operation_code": "INSERT", "org_id": self.org_id,
                "line_number": number, "inventory_item_id": items[line.sku], "inventory_item": line.sku,
                "ordered_quantity": _decimal(line.quantity), "order_quantity_uom": line.uom,
                # N keeps the shop's price (list price = selling price unless given); Y lets EBS price the line.
                "unit_selling_price": selling if flag == "N" else None,
                "unit_list_price": (listed if listed is not None else selling) if flag == "N" else None,
                "calculate_price_flag": flag, "ship_from_org_id": ship_from,
                "request_date": self._db_time(line.request_date).replace(microsecond=0) if line.request_date
                else ordered,
                **self._who(stamp),
            })
        return rows

    def withdraw_failed(self, refs: Iterable[str]) -> list[str]:
        """Delete interface copies flagged ``ERROR_FLAG='Y'`` for ``refs``, e.g. after dead-lettering them, so a
        corrected order can be interfaced again; returns the references withdrawn. A reference that also has a copy
        still waiting for Order Import is left alone (lines cannot tell the copies apart)."""
        withdrawn: list[str] = []
        for chunk in batched(_unique(refs), self.chunk_size):
            with self.engine.begin() as conn:
                states = self._existing(conn, chunk)
                found = [ref for ref in chunk if ref in states and states[ref].failed and not states[ref].waiting]
                if found:
                    self._delete_failed(conn, found)
                    withdrawn += found
        return withdrawn

    def interface_state(self, refs: Iterable[str]) -> dict[str, str]:
        """Where each reference is: ``imported`` (an order exists, whatever copies remain), ``waiting`` (a copy Order
        Import will pick up), ``failed`` (only copies flagged ``ERROR_FLAG='Y'``); references found nowhere are
        absent. One statement per ``chunk_size`` references."""
        out: dict[str, str] = {}
        for chunk in batched(_unique(refs), self.chunk_size):
            with self.engine.connect() as conn:
                states = self._existing(conn, chunk)
            for ref, state in states.items():
                out[ref] = ("imported" if state.order_number is not None else "waiting" if state.waiting
                            else "failed")
        return out

    def withdraw_unimported(self, ref: str) -> bool:
        """Delete every interface copy of ``ref`` (waiting or failed) unless the order has been imported: an order
        cancelled before Order Import took it is never created. True when a copy was deleted.

        The header delete's row count decides, not an earlier read: should Order Import take the copy meanwhile
        (it deletes what it imports), nothing is deleted here and False tells the caller to look again."""
        h, ln = IFACE_HEADERS, IFACE_LINES
        with self.engine.begin() as conn:
            state = self._existing(conn, [ref]).get(ref)
            if state is None or state.order_number is not None:
                return False
            deleted = conn.execute(sa.delete(h).where(h.c.order_source_id == self.order_source_id,
                                                      h.c.orig_sys_document_ref == ref)).rowcount
            if deleted:
                conn.execute(sa.delete(ln).where(ln.c.order_source_id == self.order_source_id,
                                                 ln.c.orig_sys_document_ref == ref))
        return bool(deleted)

    def import_errors(self, refs: Iterable[str]) -> dict[str, list[ImportMessage]]:
        """Messages of interface orders Order Import flagged ``ERROR_FLAG='Y'``, per reference, classified.

        Only the latest request's messages count (the header's REQUEST_ID; OM keeps older ones). The text is
        ``NVL(OE_PROCESSING_MSGS.MESSAGE_TEXT, OE_PROCESSING_MSGS_TL.MESSAGE_TEXT)`` in the client's language.
        References that are not failed interface orders are absent from the result."""
        h, m, tl, ca = IFACE_HEADERS, PROCESSING_MSGS, PROCESSING_MSGS_TL, CUST_ACCOUNTS
        out: dict[str, list[ImportMessage]] = {}
        for chunk in batched(_unique(refs), self.chunk_size):
            with self.engine.connect() as conn:
                failed = conn.execute(sa.select(h.c.orig_sys_document_ref, h.c.request_id, h.c.sold_to_org_id).where(
                    h.c.order_source_id == self.order_source_id, h.c.error_flag == "Y",
                    in_list(h.c.orig_sys_document_ref, chunk))).all()
                if not failed:
                    continue
                request: dict[str, int | None] = {}
                account: dict[str, int | None] = {}
                for row in failed:
                    ref = row.orig_sys_document_ref
                    request[ref] = max(filter(None, (request.get(ref), row.request_id)), default=None)
                    account[ref] = row.sold_to_org_id
                statuses: dict[int, str] = {}
                account_ids = _unique(account.values())
                if account_ids:
                    statuses = {int(r.cust_account_id): r.status for r in conn.execute(
                        sa.select(ca.c.cust_account_id, ca.c.status).where(in_list(ca.c.cust_account_id,
                                                                                   account_ids)))}
                query = (sa.select(m.c.request_id, m.c.original_sys_document_ref,
                                   m.c.original_sys_document_line_ref, m.c.attribute_code,
                                   sa.func.coalesce(m.c.message_text, tl.c.message_text).label("text"))
                         .select_from(m.outerjoin(tl, sa.and_(tl.c.transaction_id == m.c.transaction_id,
                                                             tl.c.language == self.language)))
                         .where(m.c.order_source_id == self.order_source_id,
                                in_list(m.c.original_sys_document_ref, list(request)))
                         .order_by(m.c.original_sys_document_ref, m.c.request_id, m.c.transaction_id))
                rows = conn.execute(query).all()
            latest_seen: dict[str, int] = {}
            for row in rows:
                if row.request_id is not None:
                    ref = row.original_sys_document_ref
                    latest_seen[ref] = max(latest_seen.get(ref, row.request_id), row.request_id)
            for row in rows:
                ref = row.original_sys_document_ref
                wanted_request = request.get(ref) or latest_seen.get(ref)
                if wanted_request is not None and row.request_id != wanted_request:
                    continue
                status = statuses.get(account[ref]) if account.get(ref) is not None else None
                reason, fix = classify_import_message(row.text, row.attribute_code, status)
                out.setdefault(ref, []).append(ImportMessage(ref, row.original_sys_document_line_ref,
                                                             row.attribute_code, row.text or "", reason, fix,
                                                             row.request_id))
            for ref in request:
                if ref not in out:
                    out[ref] = [ImportMessage(ref, None, None, "ERROR_FLAG is Y but Order Import left no message",
                                              "retryable", _FIXES["retryable"], request[ref])]
        return out

    # ----------------------------------------------------------------------------------------- reads

    def order_status(self, refs: Iterable[str]) -> dict[str, OrderStatus]:
        """Imported orders by reference: HEADER_ID, ORDER_NUMBER, FLOW_STATUS_CODE (ENTERED, BOOKED, CLOSED, …).
        References not (yet) imported are absent."""
        oh = ORDER_HEADERS
        out: dict[str, OrderStatus] = {}
        for chunk in batched(_unique(refs), self.chunk_size):
            query = (sa.select(oh.c.orig_sys_document_ref, oh.c.header_id, oh.c.order_number, oh.c.flow_status_code,
                               oh.c.booked_flag, oh.c.open_flag, oh.c.cancelled_flag, oh.c.last_update_date)
                     .where(oh.c.order_source_id == self.order_source_id, in_list(oh.c.orig_sys_document_ref, chunk))
                     .order_by(oh.c.header_id))
            with self.engine.connect() as conn:
                for r in conn.execute(query):
                    out[r.orig_sys_document_ref] = OrderStatus(
                        r.orig_sys_document_ref, int(r.header_id), int(r.order_number), r.flow_status_code,
                        r.booked_flag, r.open_flag, r.cancelled_flag, r.last_update_date)
        return out

    def _window(self, column: sa.ColumnElement[Any], since: datetime | None,
                until: datetime | None) -> list[sa.ColumnElement[bool]]:
        conditions = []
        if since is not None:
            conditions.append(column > self._db_time(since))
        if until is not None:
            conditions.append(column <= self._db_time(until))
        return conditions

    def shipments_since(self, since: datetime | None, until: datetime | None = None) -> list[Shipment]:
        """Shipped delivery details (RELEASED_STATUS='C') of this order source changed in ``(since, until]``, oldest
        change first, with tracking number and carrier. Poll with an overlap and de-duplicate by ``line_id`` +
        ``delivery_id``: ship confirm moves WSH rows, not the order header."""
        dd, da, nd, oh, ol = DELIVERY_DETAILS, DELIVERY_ASSIGNMENTS, NEW_DELIVERIES, ORDER_HEADERS, ORDER_LINES
        carrier_party = PARTIES.alias("carrier_party")
        query = (sa.select(oh.c.orig_sys_document_ref, oh.c.order_number, oh.c.header_id, dd.c.source_line_id,
                           ol.c.orig_sys_line_ref, ol.c.ordered_item, dd.c.shipped_quantity,
                           sa.func.coalesce(dd.c.tracking_number, nd.c.waybill).label("tracking_number"),
                           carrier_party.c.party_name.label("carrier"), CARRIERS.c.freight_code,
                           sa.func.coalesce(dd.c.ship_method_code, nd.c.ship_method_code).label("ship_method_code"),
                           nd.c.delivery_id, nd.c.name.label("delivery_name"), nd.c.confirm_date,
                           dd.c.last_update_date)
                 .select_from(dd.join(da, da.c.delivery_detail_id == dd.c.delivery_detail_id)
                              .join(nd, nd.c.delivery_id == da.c.delivery_id)
                              .join(oh, oh.c.header_id == dd.c.source_header_id)
                              .join(ol, ol.c.line_id == dd.c.source_line_id)
                              .outerjoin(CARRIERS, CARRIERS.c.carrier_id == sa.func.coalesce(dd.c.carrier_id,
                                                                                             nd.c.carrier_id))
                              .outerjoin(carrier_party, carrier_party.c.party_id == CARRIERS.c.carrier_id))
                 .where(dd.c.source_code == "OE", dd.c.released_status == "C",
                        oh.c.order_source_id == self.order_source_id,
                        *self._window(dd.c.last_update_date, since, until))
                 .order_by(dd.c.last_update_date, dd.c.delivery_detail_id))
        with self.engine.connect() as conn:
            return [Shipment(r.orig_sys_document_ref, int(r.order_number), int(r.header_id), int(r.source_line_id),
                             r.orig_sys_line_ref, r.ordered_item, r.shipped_quantity, r.tracking_number, r.carrier,
                             r.freight_code, r.ship_method_code, int(r.delivery_id), r.delivery_name,
                             r.confirm_date, r.last_update_date) for r in conn.execute(query)]

    def onhand(self, skus: Iterable[str] | None = None, org: str | int | None = None) -> dict[str, Decimal]:
        """On-hand per SKU in one organization (default the ship-from warehouse): the SUM of the receipt layers of
        MTL_ONHAND_QUANTITIES_DETAIL, owned stock only (IS_CONSIGNED=2; consigned stock belongs to the supplier).
        SKUs whose item exists there but has no stock read 0; unknown SKUs are absent. ``skus=None``: every item."""
        organization = self.organization_id(org)
        msi, moqd = SYSTEM_ITEMS, ONHAND
        base = (sa.select(msi.c.segment1, sa.func.coalesce(sa.func.sum(moqd.c.primary_transaction_quantity), 0)
                          .label("onhand"))
                .select_from(msi.outerjoin(moqd, sa.and_(moqd.c.inventory_item_id == msi.c.inventory_item_id,
                                                         moqd.c.organization_id == msi.c.organization_id,
                                                         moqd.c.is_consigned == 2)))
                .where(msi.c.organization_id == organization, msi.c.segment1.is_not(None))
                .group_by(msi.c.segment1))
        return {row.segment1: Decimal(row.onhand) for row in self._by_chunks(base, msi.c.segment1, skus)}

    def _by_chunks(self, query: sa.Select[Any], column: sa.ColumnElement[Any],
                   values: Iterable[Any] | None) -> Iterator[sa.Row[Any]]:
        """Run ``query`` once (values None) or once per chunk of values with ``column IN chunk`` added."""
        with self.engine.connect() as conn:
            if values is None:
                yield from conn.execute(query)
                return
            for chunk in batched(_unique(values), self.chunk_size):
                yield from conn.execute(query.where(in_list(column, chunk)))

    def price_list_id(self, currency: str, *, as_of: datetime | None = None, name: str | None = None) -> int:
        """The active price list (QP_LIST_HEADERS_B, LIST_TYPE_CODE='PRL') of a currency; ``name`` picks one when
        several are active (QP_LIST_HEADERS_TL.NAME), else the lowest id wins."""
        hb, tl = QP_HEADERS, QP_HEADERS_TL
        when = self._now(as_of)
        query = (sa.select(hb.c.list_header_id, tl.c.name)
                 .select_from(hb.outerjoin(tl, sa.and_(tl.c.list_header_id == hb.c.list_header_id,
                                                       tl.c.language == self.language)))
                 .where(hb.c.list_type_code == "PRL", hb.c.currency_code == currency, hb.c.active_flag == "Y",
                        sa.func.coalesce(hb.c.start_date_active, when) <= when,
                        sa.func.coalesce(hb.c.end_date_active, when) >= when)
                 .order_by(hb.c.list_header_id))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if name is not None:
            rows = [r for r in rows if r.name == name]
        if not rows:
            raise LookupError(f"No active price list for currency {currency!r}"
                              + (f" named {name!r}" if name else "") + ": create it in Advanced Pricing or map the "
                              "currency to an existing list")
        return int(rows[0].list_header_id)

    def prices(self, currency: str, skus: Iterable[str] | None = None, *, as_of: datetime | None = None,
               price_list_id: int | None = None) -> dict[str, ItemPrice]:
        """Item-level list prices (QP_LIST_LINES ``PLL``/``UNIT_PRICE`` + QP_PRICING_ATTRIBUTES ``ITEM`` /
        ``PRICING_ATTRIBUTE1`` = TO_CHAR(INVENTORY_ITEM_ID)) active at ``as_of`` on the currency's price list, per
        SKU; the lowest PRODUCT_PRECEDENCE, then the latest start, wins. Modifiers are not applied (reference §4.4)."""
        when = self._now(as_of)
        list_id = price_list_id if price_list_id is not None else self.price_list_id(currency, as_of=when)
        ll, pa, msi = QP_LINES, QP_ATTRIBUTES, SYSTEM_ITEMS
        query = (sa.select(msi.c.segment1, ll.c.list_line_id, ll.c.operand, pa.c.product_uom_code,
                           ll.c.start_date_active, ll.c.end_date_active, ll.c.product_precedence)
                 .select_from(ll.join(pa, pa.c.list_line_id == ll.c.list_line_id)
                              .join(msi, sa.and_(msi.c.organization_id == self.master_org_id,
                                                 pa.c.product_attr_value == sa.cast(msi.c.inventory_item_id,
                                                                                    sa.String(40)))))
                 .where(ll.c.list_header_id == list_id, ll.c.list_line_type_code == "PLL",
                        ll.c.arithmetic_operator == "UNIT_PRICE",
                        pa.c.product_attribute_context == "ITEM", pa.c.product_attribute == "PRICING_ATTRIBUTE1",
                        sa.func.coalesce(pa.c.excluder_flag, "N") == "N",
                        sa.func.coalesce(ll.c.start_date_active, when) <= when,
                        sa.func.coalesce(ll.c.end_date_active, when) >= when))
        best: dict[str, Any] = {}
        for row in self._by_chunks(query, msi.c.segment1, skus):
            key = (row.product_precedence if row.product_precedence is not None else 10**9,
                   -(row.start_date_active.timestamp() if row.start_date_active else 0.0), row.list_line_id)
            current = best.get(row.segment1)
            if current is None or key < current[0]:
                best[row.segment1] = (key, row)
        return {sku: ItemPrice(sku, Decimal(row.operand), row.product_uom_code, currency, list_id,
                               int(row.list_line_id), row.start_date_active, row.end_date_active)
                for sku, (_key, row) in sorted(best.items())}

    def _refs_of_order_numbers(self, conn: sa.Connection, numbers: Iterable[str | None]) -> dict[str, str]:
        """ORDER_NUMBER (as text, as AR carries it) -> ORIG_SYS_DOCUMENT_REF, for this order source's orders."""
        ints = _unique(int(n) for n in numbers if n is not None and str(n).strip().isdigit())
        oh = ORDER_HEADERS
        out: dict[str, str] = {}
        for chunk in batched(ints, self.chunk_size):
            for row in conn.execute(sa.select(oh.c.order_number, oh.c.orig_sys_document_ref).where(
                    oh.c.order_source_id == self.order_source_id, in_list(oh.c.order_number, chunk))):
                out[str(row.order_number)] = row.orig_sys_document_ref
        return out

    def invoices_since(self, since: datetime | None, until: datetime | None = None, *,
                       order_entry_only: bool = True) -> list[Invoice]:
        """Receivables invoices of the operating unit changed in ``(since, until]`` (the invoice or its payment
        schedule), with lines carrying the sales order number, and the references of those orders.
        ``order_entry_only`` keeps AutoInvoice's OM invoices (INTERFACE_HEADER_CONTEXT='ORDER ENTRY')."""
        trx, ps, tl = CUSTOMER_TRX, PAYMENT_SCHEDULES, CUSTOMER_TRX_LINES
        changed = [*self._window(trx.c.last_update_date, since, until)]
        schedule_changed = self._window(ps.c.last_update_date, since, until)
        conditions: list[sa.ColumnElement[bool]] = [trx.c.org_id == self.org_id]
        if order_entry_only:
            conditions.append(trx.c.interface_header_context == "ORDER ENTRY")
        if changed:
            conditions.append(sa.or_(sa.and_(*changed), sa.and_(*schedule_changed)))
        query = (sa.select(trx.c.customer_trx_id, trx.c.trx_number, trx.c.trx_date, trx.c.invoice_currency_code,
                           trx.c.bill_to_customer_id, trx.c.complete_flag, trx.c.interface_header_attribute1,
                           trx.c.last_update_date, ps.c.amount_due_original, ps.c.amount_due_remaining,
                           ps.c.status)
                 .select_from(trx.outerjoin(ps, ps.c.customer_trx_id == trx.c.customer_trx_id))
                 .where(*conditions)
                 .order_by(trx.c.last_update_date, trx.c.customer_trx_id))
        with self.engine.connect() as conn:
            heads: dict[int, dict[str, Any]] = {}
            for r in conn.execute(query):
                head = heads.setdefault(int(r.customer_trx_id), {"row": r, "due": None, "remaining": None,
                                                                   "statuses": set()})
                if r.amount_due_original is not None:
                    head["due"] = (head["due"] or Decimal(0)) + Decimal(r.amount_due_original)
                    head["remaining"] = (head["remaining"] or Decimal(0)) + Decimal(r.amount_due_remaining or 0)
                    head["statuses"].add(r.status)
            lines: dict[int, list[InvoiceLine]] = defaultdict(list)
            for chunk in batched(list(heads), self.chunk_size):
                for r in conn.execute(sa.select(tl).where(in_list(tl.c.customer_trx_id, chunk))
                                      .order_by(tl.c.customer_trx_id, tl.c.line_number)):
                    attr6 = r.interface_line_attribute6
                    lines[int(r.customer_trx_id)].append(InvoiceLine(
                        int(r.line_number), r.line_type, r.description,
                        int(r.inventory_item_id) if r.inventory_item_id is not None else None, r.quantity_invoiced,
                        r.unit_selling_price, r.extended_amount, r.sales_order, r.sales_order_line,
                        int(attr6) if attr6 and str(attr6).isdigit() else None))
            numbers = {trx_id: _unique([ln.sales_order for ln in lines[trx_id] if ln.sales_order]
                                       or [h["row"].interface_header_attribute1]) for trx_id, h in heads.items()}
            refs = self._refs_of_order_numbers(conn, [n for ns in numbers.values() for n in ns])
        out = []
        for trx_id, head in heads.items():
            r = head["row"]
            own = tuple(lines[trx_id])
            amount = sum((Decimal(ln.amount) for ln in own if ln.amount is not None), Decimal(0))
            status = "OP" if "OP" in head["statuses"] else ("CL" if head["statuses"] else None)
            out.append(Invoice(trx_id, r.trx_number, r.trx_date, r.invoice_currency_code,
                               int(r.bill_to_customer_id) if r.bill_to_customer_id is not None else None,
                               tuple(numbers[trx_id]), tuple(refs[n] for n in numbers[trx_id] if n in refs), amount,
                               head["due"], head["remaining"], status, r.complete_flag, r.last_update_date, own))
        return out

    def receipts_since(self, since: datetime | None, until: datetime | None = None) -> list[Receipt]:
        """Cash receipts of the operating unit changed in ``(since, until]`` (the receipt or one of its
        applications), with their applications (STATUS='APP', DISPLAY='Y') to invoices and the orders behind
        those invoices."""
        cr, app, trx = CASH_RECEIPTS, RECEIVABLE_APPS, CUSTOMER_TRX
        conditions: list[sa.ColumnElement[bool]] = [cr.c.org_id == self.org_id]
        changed = self._window(cr.c.last_update_date, since, until)
        if changed:
            applied = sa.select(app.c.cash_receipt_id).where(*self._window(app.c.last_update_date, since, until))
            conditions.append(sa.or_(sa.and_(*changed), cr.c.cash_receipt_id.in_(applied)))
        query = (sa.select(cr.c.cash_receipt_id, cr.c.receipt_number, cr.c.receipt_date, cr.c.amount,
                           cr.c.currency_code, cr.c.pay_from_customer, cr.c.status, cr.c.comments,
                           cr.c.last_update_date)
                 .where(*conditions).order_by(cr.c.last_update_date, cr.c.cash_receipt_id))
        with self.engine.connect() as conn:
            receipts = conn.execute(query).all()
            applications: dict[int, list[Any]] = defaultdict(list)
            ids = [int(r.cash_receipt_id) for r in receipts]
            for chunk in batched(ids, self.chunk_size):
                app_query = (sa.select(app.c.cash_receipt_id, app.c.applied_customer_trx_id, app.c.amount_applied,
                                       app.c.apply_date, trx.c.trx_number, trx.c.interface_header_attribute1)
                             .select_from(app.outerjoin(trx, trx.c.customer_trx_id == app.c.applied_customer_trx_id))
                             .where(app.c.status == "APP", app.c.display == "Y", in_list(app.c.cash_receipt_id, chunk))
                             .order_by(app.c.cash_receipt_id, app.c.applied_customer_trx_id))
                for r in conn.execute(app_query):
                    applications[int(r.cash_receipt_id)].append(r)
            refs = self._refs_of_order_numbers(
                conn, [a.interface_header_attribute1 for apps in applications.values() for a in apps])
        return [Receipt(int(r.cash_receipt_id), r.receipt_number, r.receipt_date, r.amount, r.currency_code,
                        int(r.pay_from_customer) if r.pay_from_customer is not None else None, r.status, r.comments,
                        r.last_update_date,
                        tuple(ReceiptApplication(int(a.applied_customer_trx_id), a.trx_number,
                                                 a.interface_header_attribute1,
                                                 refs.get(a.interface_header_attribute1 or ""), a.amount_applied,
                                                 a.apply_date)
                              for a in applications[int(r.cash_receipt_id)]))
                for r in receipts]

    def customers(self, *, account_ids: Iterable[int] | None = None, emails: Iterable[str] | None = None,
                  orig_system_references: Iterable[str] | None = None, updated_since: datetime | None = None,
                  active_only: bool = False) -> list[EbsCustomer]:
        """TCA customer accounts with their party and site uses (addresses) in the operating unit, for matching
        PrestaShop customers. Filters combine with AND; emails match case-insensitively; no filter = all."""
        ca, hp = CUST_ACCOUNTS, PARTIES
        query = (sa.select(ca.c.cust_account_id, ca.c.account_number, ca.c.account_name, ca.c.status,
                           ca.c.orig_system_reference, hp.c.party_id, hp.c.party_number, hp.c.party_name,
                           hp.c.party_type, hp.c.person_first_name, hp.c.person_last_name, hp.c.email_address)
                 .select_from(ca.join(hp, hp.c.party_id == ca.c.party_id))
                 .order_by(ca.c.cust_account_id))
        if active_only:
            query = query.where(ca.c.status == "A")
        if updated_since is not None:
            since = self._db_time(updated_since)
            query = query.where(sa.or_(ca.c.last_update_date > since, hp.c.last_update_date > since))
        if orig_system_references is not None:
            osr = _unique(orig_system_references)
            if not osr:
                return []
            query = query.where(in_list(ca.c.orig_system_reference, osr))
        filters: list[tuple[sa.ColumnElement[Any], list[Any]]] = []
        if account_ids is not None:
            filters.append((ca.c.cust_account_id, _unique(int(i) for i in account_ids)))
        if emails is not None:
            filters.append((sa.func.lower(hp.c.email_address), _unique(e.strip().lower() for e in emails if e)))
        if any(not values for _col, values in filters):
            return []
        rows: dict[int, Any] = {}
        if not filters:
            rows = {int(r.cust_account_id): r for r in self._by_chunks(query, ca.c.cust_account_id, None)}
        else:
            for extra_col, values in filters[1:]:
                query = query.where(in_list(extra_col, values))
            column, values = filters[0]
            rows = {int(r.cust_account_id): r for r in self._by_chunks(query, column, values)}
        sites = self._sites(list(rows))
        return [EbsCustomer(acct, r.account_number, r.account_name, r.status, r.orig_system_reference,
                            int(r.party_id), r.party_number, r.party_name, r.party_type, r.person_first_name,
                            r.person_last_name, r.email_address, tuple(sites.get(acct, ())))
                for acct, r in sorted(rows.items())]

    def _sites(self, account_ids: list[int]) -> dict[int, list[EbsCustomerSite]]:
        site, use, ps, loc = CUST_ACCT_SITES, CUST_SITE_USES, PARTY_SITES, LOCATIONS
        query = (sa.select(site.c.cust_account_id, use.c.site_use_id, use.c.site_use_code, use.c.primary_flag,
                           use.c.status, site.c.status.label("site_status"), use.c.location, loc.c.address1,
                           loc.c.address2, loc.c.city, loc.c.postal_code, loc.c.country)
                 .select_from(site.join(use, use.c.cust_acct_site_id == site.c.cust_acct_site_id)
                              .join(ps, ps.c.party_site_id == site.c.party_site_id)
                              .join(loc, loc.c.location_id == ps.c.location_id))
                 .where(site.c.org_id == self.org_id)
                 .order_by(site.c.cust_account_id, use.c.site_use_id))
        out: dict[int, list[EbsCustomerSite]] = defaultdict(list)
        if not account_ids:
            return out
        for r in self._by_chunks(query, site.c.cust_account_id, account_ids):
            out[int(r.cust_account_id)].append(EbsCustomerSite(
                int(r.site_use_id), r.site_use_code, r.primary_flag == "Y", r.status == "A" and r.site_status == "A",
                r.location, r.address1, r.address2, r.city, r.postal_code, r.country))
        return out

    def _account_rows(self, where: sa.ColumnElement[bool]) -> sa.Select[Any]:
        ca, hp = CUST_ACCOUNTS, PARTIES
        return (sa.select(ca.c.cust_account_id, ca.c.account_number, ca.c.account_name, ca.c.status,
                          ca.c.orig_system_reference, hp.c.party_id, hp.c.party_number, hp.c.party_name,
                          hp.c.party_type, hp.c.person_first_name, hp.c.person_last_name, hp.c.email_address)
                .select_from(ca.join(hp, hp.c.party_id == ca.c.party_id))
                .where(where)
                .order_by(ca.c.cust_account_id))

    @staticmethod
    def _bare_customer(r: Any) -> EbsCustomer:
        return EbsCustomer(int(r.cust_account_id), r.account_number, r.account_name, r.status,
                           r.orig_system_reference, int(r.party_id), r.party_number, r.party_name, r.party_type,
                           r.person_first_name, r.person_last_name, r.email_address, ())

    def customer_candidates(self, *, orig_system_references: Iterable[str] = (),
                            emails: Iterable[str] = ()) -> list[EbsCustomer]:
        """Accounts (active or not, without their sites) carrying one of ``orig_system_references`` OR whose party
        e-mail, trimmed and lower-cased, is one of ``emails`` (compared the same way): everything a matcher needs
        for a batch of shop customers, in one statement per ``chunk_size`` references and e-mails."""
        refs = _unique(str(r) for r in orig_system_references if r)
        wanted = _unique(e.strip().lower() for e in emails if e and e.strip())
        ca, hp = CUST_ACCOUNTS, PARTIES
        email = sa.func.lower(sa.func.trim(hp.c.email_address))
        rows: dict[int, Any] = {}
        with self.engine.connect() as conn:
            for k in range(0, max(len(refs), len(wanted)), self.chunk_size):
                ref_part, email_part = refs[k:k + self.chunk_size], wanted[k:k + self.chunk_size]
                terms = ([in_list(ca.c.orig_system_reference, ref_part)] if ref_part else []) + (
                    [in_list(email, email_part)] if email_part else [])
                for r in conn.execute(self._account_rows(sa.or_(*terms))):
                    rows[int(r.cust_account_id)] = r
        return [self._bare_customer(r) for _acct, r in sorted(rows.items())]

    def customers_named(self, prefix: str, *, active_only: bool = True) -> list[EbsCustomer]:
        """Accounts (without their sites) whose account or party name starts with ``prefix`` (case as written):
        the catch-all accounts a convention names, e.g. ``Webshop Customers FR``."""
        if not prefix:
            raise ValueError("customers_named needs a non-empty prefix")
        ca, hp = CUST_ACCOUNTS, PARTIES
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = sa.or_(ca.c.account_name.like(pattern, escape="\\"), hp.c.party_name.like(pattern, escape="\\"))
        if active_only:
            where = sa.and_(where, ca.c.status == "A")
        with self.engine.connect() as conn:
            return [self._bare_customer(r) for r in conn.execute(self._account_rows(where))]


def _key_problem(ref: Any) -> str | None:
    """Why a reference cannot serve as ORIG_SYS_DOCUMENT_REF (and cannot even be looked up), if it cannot."""
    if not isinstance(ref, str) or not ref.strip():
        return f"ORIG_SYS_DOCUMENT_REF {ref!r} is empty"
    limit = IFACE_HEADERS.c.orig_sys_document_ref.type.length  # type: ignore[attr-defined]
    if utf8_overflows(ref, limit):
        return (f"ORIG_SYS_DOCUMENT_REF is {len(ref.encode('utf-8'))} bytes in UTF-8, over VARCHAR2({limit}) "
                f"(ORA-12899): {ref[:60]!r}")
    return None


def _check_bytes(table: sa.TableClause, values: dict[str, str | None], where: str) -> list[str]:
    """Byte-length problems of ``values`` against the VARCHAR2 limits of ``table``'s columns."""
    problems = []
    for name, value in values.items():
        limit = table.c[name].type.length  # type: ignore[attr-defined]
        if isinstance(value, str) and utf8_overflows(value, limit):
            problems.append(f"{where}{name.upper()} is {len(value.encode('utf-8'))} bytes in UTF-8, over "
                            f"VARCHAR2({limit}) (ORA-12899): {value[:60]!r}")
    return problems
