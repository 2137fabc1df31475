"""The staging database's tables (SQLAlchemy Core), one ``MetaData`` for SQLite and PostgreSQL.

Three groups:

* **Landing** (``landing_records``): the raw payload of the latest version of every record read from a source,
  keyed by ``(source, entity, record_id)``, with its SHA-1 so an unchanged re-read rewrites nothing.
  ``landing_history`` keeps every distinct version once (key ``(source, entity, record_id, payload_sha1)``); it is
  opt-in per call (``land(..., history=True)``) because most entities only need the latest version, while orders are
  worth auditing ("what did the order look like when we sent it?").
* **Canonical** typed tables, one per entity the flows need: ``ps_*`` for PrestaShop, ``ora_*`` for Oracle (Fusion or
  EBS, same shape). Primary keys are the source ids; money is ``Numeric(20, 6)`` (PrestaShop's own precision).
  There are no foreign keys between them on purpose: entities are read independently and may arrive in any order
  (order lines before their order), and a missing parent is a validation finding, not a load failure. Each has a
  ``run_id``: the run that last *changed* the row (``upsert`` leaves identical rows alone). Secrets never get a
  column (no ``passwd``/``secure_key``; payments keep the card's last four digits only). Each also has a
  ``dq_status``: the mapping writes ``pending`` whenever it inserts or changes a row, the data-quality gate sets
  ``passed`` or ``quarantined``.
* **Mapping** (``prestaoracle.mapping``): ``xref``, the binder of external ids (a shop id and its Oracle
  counterpart, unique both ways: SKUs, customers, carriers…), ``lookup_values`` (many-to-one tables such as order
  states or payment terms, the operator's additions to the mapping configuration) and ``currency_rates``.
* **Bookkeeping**: ``watermarks``, ``sync_ledger`` (the idempotency ledger, unique per ``(target, record_key)``),
  ``dead_letters`` (unique per ``(source, entity, record_key, stage, reason_class)``: the same problem seen again
  counts an occurrence) and ``run_metrics``. Alembic keeps the schema's revision in its own ``alembic_version``
  table (see ``migrate.py``); it is not part of this metadata.

Timestamps are naive UTC (``DateTime`` without zone) on both backends; the mapping converts PrestaShop's shop-local
dates (``date_add``, ``date_upd``…) with the shop's time zone. On SQLite ``Numeric`` goes through
floating point: exact to about 15 significant digits, which covers amounts below 10^9 with 6 decimals; PostgreSQL is
exact. The DDL rendered from this module is committed under ``sql/staging/`` (see ``ddl.py``).
"""

from __future__ import annotations

import sqlalchemy as sa

from prestaoracle.reasons import REASON_CLASSES

# ------------------------------------------------------------------------------------------ allowed values

DEAD_LETTER_STATUSES = ("open", "replayed", "resolved", "ignored")
LEDGER_OUTCOMES = ("created", "updated", "skipped", "failed", "pending", "rejected", "interfaced", "held")
LEDGER_DONE = ("created", "updated", "skipped")
"""Outcomes meaning "the target has it": a replay must not write the record again."""
LEDGER_WAITING = ("interfaced", "held")
"""Outcomes of a record the target does not have yet but that is not lost either: ``interfaced`` is in the EBS Order
Import interface waiting for the import program; ``held`` is held back by a gate of the flow (payment, state) and
looked at again by every run. ``rejected`` means the target refused it for a business rule (a dead letter says
why)."""

MATCH_DECISIONS = ("matched", "review", "unmatched")
"""``customer_matches.decision``: linked to an account, a probable link left for a person to confirm, or none."""
FINANCE_KINDS = ("payment", "refund")
FINANCE_STATUSES = ("matched", "amount_mismatch", "missing_in_oracle", "missing_in_shop", "timing_difference")
"""How the financial reconciliation classifies one payment or refund against Oracle receivables."""

DQ_STATUSES = ("pending", "passed", "quarantined")
"""``dq_status`` of a canonical row: not yet validated, passed the data-quality gate, or held back by it."""

BOOKKEEPING_COLUMNS = frozenset({"run_id", "dq_status"})
"""Columns that say who wrote a row or what became of it, not what it holds: ``upsert`` ignores them when deciding
a row changed."""

METADATA = sa.MetaData(naming_convention={
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
})

# ------------------------------------------------------------------------------------------ column types

Money = sa.Numeric(20, 6)
Quantity = sa.Numeric(20, 6)
RunId = sa.String(250)  # Airflow run ids are at most 250 characters
SurrogateId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _source_id(name: str) -> sa.Column:
    """A primary key that comes from the source system: never generated here."""
    return sa.Column(name, sa.BigInteger, primary_key=True, autoincrement=False)


def _run_id() -> sa.Column:
    return sa.Column("run_id", RunId)


# ------------------------------------------------------------------------------------------ landing

landing_records = sa.Table(
    "landing_records", METADATA,
    sa.Column("source", sa.String(50), primary_key=True),
    sa.Column("entity", sa.String(50), primary_key=True),
    sa.Column("record_id", sa.String(100), primary_key=True),
    sa.Column("date_upd", sa.String(40)),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("payload_sha1", sa.String(40), nullable=False),
    sa.Column("run_id", RunId, nullable=False),
    sa.Column("extracted_at", sa.DateTime, nullable=False),
    sa.Column("mapped_sha1", sa.String(40),
              comment="payload_sha1 of the version map_landed last wrote to its canonical table; NULL: never mapped"),
    sa.Index(None, "source", "entity", "date_upd"),
    sa.Index(None, "run_id", "source", "entity"),
    comment="Latest raw payload per source record; run_id/extracted_at are those of the run that last changed it.",
)

landing_history = sa.Table(
    "landing_history", METADATA,
    sa.Column("source", sa.String(50), primary_key=True),
    sa.Column("entity", sa.String(50), primary_key=True),
    sa.Column("record_id", sa.String(100), primary_key=True),
    sa.Column("payload_sha1", sa.String(40), primary_key=True),
    sa.Column("date_upd", sa.String(40)),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("run_id", RunId, nullable=False),
    sa.Column("extracted_at", sa.DateTime, nullable=False),
    sa.Index(None, "run_id"),
    comment="Every distinct version of a landed record, once (opt-in per land() call).",
)

# ------------------------------------------------------------------------------------------ PrestaShop canonical

ps_orders = sa.Table(
    "ps_orders", METADATA,
    _source_id("id_order"),
    sa.Column("reference", sa.String(32)),
    sa.Column("id_shop", sa.Integer),
    sa.Column("id_shop_group", sa.Integer),
    sa.Column("id_customer", sa.BigInteger),
    sa.Column("id_cart", sa.BigInteger),
    sa.Column("id_lang", sa.Integer),
    sa.Column("id_carrier", sa.Integer),
    sa.Column("id_address_delivery", sa.BigInteger),
    sa.Column("id_address_invoice", sa.BigInteger),
    sa.Column("id_currency", sa.Integer),
    sa.Column("currency_iso", sa.String(3)),
    sa.Column("conversion_rate", Money),
    sa.Column("current_state", sa.Integer),
    sa.Column("valid", sa.Boolean),
    sa.Column("payment", sa.String(255)),
    sa.Column("module", sa.String(255)),
    sa.Column("total_paid", Money),
    sa.Column("total_paid_tax_incl", Money),
    sa.Column("total_paid_tax_excl", Money),
    sa.Column("total_paid_real", Money),
    sa.Column("total_products", Money),
    sa.Column("total_products_wt", Money),
    sa.Column("total_shipping", Money),
    sa.Column("total_shipping_tax_incl", Money),
    sa.Column("total_shipping_tax_excl", Money),
    sa.Column("carrier_tax_rate", sa.Numeric(10, 3)),
    sa.Column("total_discounts", Money),
    sa.Column("total_discounts_tax_incl", Money),
    sa.Column("total_discounts_tax_excl", Money),
    sa.Column("total_wrapping", Money),
    sa.Column("total_wrapping_tax_incl", Money),
    sa.Column("total_wrapping_tax_excl", Money),
    sa.Column("invoice_number", sa.BigInteger),
    sa.Column("invoice_date", sa.DateTime),
    sa.Column("delivery_date", sa.DateTime),
    sa.Column("note", sa.Text),
    sa.Column("date_add", sa.DateTime),
    sa.Column("date_upd", sa.DateTime),
    _run_id(),
    sa.Index(None, "date_upd"),
    sa.Index(None, "reference"),
    sa.Index(None, "id_customer"),
    sa.Index(None, "current_state"),
)

ps_order_lines = sa.Table(
    "ps_order_lines", METADATA,
    _source_id("id_order_detail"),
    sa.Column("id_order", sa.BigInteger, nullable=False),
    sa.Column("id_shop", sa.Integer),
    sa.Column("product_id", sa.BigInteger),
    sa.Column("product_attribute_id", sa.BigInteger),
    sa.Column("sku", sa.String(64)),
    sa.Column("name", sa.String(255)),
    sa.Column("ean13", sa.String(13)),
    sa.Column("quantity", sa.Integer),
    sa.Column("quantity_refunded", sa.Integer),
    sa.Column("quantity_return", sa.Integer),
    sa.Column("product_price", Money),
    sa.Column("original_product_price", Money),
    sa.Column("reduction_amount_tax_excl", Money),
    sa.Column("reduction_amount_tax_incl", Money),
    sa.Column("unit_price_tax_excl", Money),
    sa.Column("unit_price_tax_incl", Money),
    sa.Column("total_price_tax_excl", Money),
    sa.Column("total_price_tax_incl", Money),
    sa.Column("tax_rate", sa.Numeric(10, 3)),
    sa.Column("id_warehouse", sa.Integer),
    _run_id(),
    sa.Index(None, "id_order"),
    sa.Index(None, "sku"),
)

ps_customers = sa.Table(
    "ps_customers", METADATA,
    _source_id("id_customer"),
    sa.Column("email", sa.String(255)),
    sa.Column("firstname", sa.String(255)),
    sa.Column("lastname", sa.String(255)),
    sa.Column("company", sa.String(255)),
    sa.Column("siret", sa.String(14)),
    sa.Column("id_gender", sa.Integer),
    sa.Column("birthday", sa.Date),
    sa.Column("id_lang", sa.Integer),
    sa.Column("id_default_group", sa.Integer),
    sa.Column("id_shop", sa.Integer),
    sa.Column("newsletter", sa.Boolean),
    sa.Column("optin", sa.Boolean),
    sa.Column("active", sa.Boolean),
    sa.Column("is_guest", sa.Boolean),
    sa.Column("deleted", sa.Boolean),
    sa.Column("date_add", sa.DateTime),
    sa.Column("date_upd", sa.DateTime),
    sa.Column("cost_center", sa.String(50), comment="enriched by the mapping from the customer group"),
    _run_id(),
    sa.Index(None, "email"),
    sa.Index(None, "date_upd"),
)

ps_addresses = sa.Table(
    "ps_addresses", METADATA,
    _source_id("id_address"),
    sa.Column("id_customer", sa.BigInteger),
    sa.Column("alias", sa.String(32)),
    sa.Column("company", sa.String(255)),
    sa.Column("firstname", sa.String(255)),
    sa.Column("lastname", sa.String(255)),
    sa.Column("address1", sa.String(128)),
    sa.Column("address2", sa.String(128)),
    sa.Column("postcode", sa.String(12)),
    sa.Column("city", sa.String(64)),
    sa.Column("id_country", sa.Integer),
    sa.Column("country_iso", sa.String(3)),
    sa.Column("id_state", sa.Integer),
    sa.Column("state_iso", sa.String(7)),
    sa.Column("phone", sa.String(32)),
    sa.Column("phone_mobile", sa.String(32)),
    sa.Column("vat_number", sa.String(32)),
    sa.Column("dni", sa.String(16)),
    sa.Column("deleted", sa.Boolean),
    sa.Column("date_add", sa.DateTime),
    sa.Column("date_upd", sa.DateTime),
    _run_id(),
    sa.Index(None, "id_customer"),
    sa.Index(None, "date_upd"),
)

ps_products = sa.Table(
    "ps_products", METADATA,
    _source_id("id_product"),
    sa.Column("sku", sa.String(64)),
    sa.Column("name", sa.String(255)),
    sa.Column("product_type", sa.String(32)),
    sa.Column("price", Money),
    sa.Column("wholesale_price", Money),
    sa.Column("id_tax_rules_group", sa.Integer),
    sa.Column("id_default_combination", sa.BigInteger),
    sa.Column("ean13", sa.String(13)),
    sa.Column("active", sa.Boolean),
    sa.Column("date_add", sa.DateTime),
    sa.Column("date_upd", sa.DateTime),
    _run_id(),
    sa.Index(None, "sku"),
    sa.Index(None, "date_upd"),
)

ps_combinations = sa.Table(
    "ps_combinations", METADATA,
    _source_id("id_product_attribute"),
    sa.Column("id_product", sa.BigInteger, nullable=False),
    sa.Column("sku", sa.String(64)),
    sa.Column("ean13", sa.String(13)),
    sa.Column("price", Money, comment="price impact over the product price (can be negative)"),
    sa.Column("wholesale_price", Money),
    sa.Column("minimal_quantity", sa.Integer),
    sa.Column("default_on", sa.Boolean),
    _run_id(),
    sa.Index(None, "sku"),
    sa.Index(None, "id_product"),
)

ps_stock = sa.Table(
    "ps_stock", METADATA,
    _source_id("id_stock_available"),
    sa.Column("id_product", sa.BigInteger, nullable=False),
    sa.Column("id_product_attribute", sa.BigInteger, nullable=False),
    sa.Column("id_shop", sa.Integer),
    sa.Column("id_shop_group", sa.Integer),
    sa.Column("sku", sa.String(64)),
    sa.Column("quantity", sa.Integer),
    sa.Column("depends_on_stock", sa.Boolean),
    sa.Column("out_of_stock", sa.Integer),
    _run_id(),
    sa.Index(None, "sku"),
    sa.Index(None, "id_product", "id_product_attribute"),
)

ps_order_payments = sa.Table(
    "ps_order_payments", METADATA,
    _source_id("id_order_payment"),
    sa.Column("order_reference", sa.String(32)),
    sa.Column("id_currency", sa.Integer),
    sa.Column("currency_iso", sa.String(3)),
    sa.Column("amount", Money),
    sa.Column("payment_method", sa.String(255)),
    sa.Column("conversion_rate", Money),
    sa.Column("transaction_id", sa.String(254)),
    sa.Column("card_brand", sa.String(254)),
    sa.Column("card_last4", sa.String(4), comment="never the full card number"),
    sa.Column("date_add", sa.DateTime),
    _run_id(),
    sa.Index(None, "order_reference"),
    sa.Index(None, "date_add"),
)

ps_order_slips = sa.Table(
    "ps_order_slips", METADATA,
    _source_id("id_order_slip"),
    sa.Column("id_order", sa.BigInteger, nullable=False),
    sa.Column("id_customer", sa.BigInteger),
    sa.Column("conversion_rate", Money),
    sa.Column("total_products_tax_excl", Money),
    sa.Column("total_products_tax_incl", Money),
    sa.Column("total_shipping_tax_excl", Money),
    sa.Column("total_shipping_tax_incl", Money),
    sa.Column("amount", Money),
    sa.Column("shipping_cost", sa.Boolean),
    sa.Column("shipping_cost_amount", Money),
    sa.Column("partial", sa.Boolean),
    sa.Column("order_slip_type", sa.Integer),
    sa.Column("date_add", sa.DateTime),
    sa.Column("date_upd", sa.DateTime),
    _run_id(),
    sa.Index(None, "id_order"),
    sa.Index(None, "date_upd"),
)

ps_order_carriers = sa.Table(
    "ps_order_carriers", METADATA,
    _source_id("id_order_carrier"),
    sa.Column("id_order", sa.BigInteger, nullable=False),
    sa.Column("id_carrier", sa.Integer),
    sa.Column("id_order_invoice", sa.BigInteger),
    sa.Column("weight", Quantity),
    sa.Column("shipping_cost_tax_excl", Money),
    sa.Column("shipping_cost_tax_incl", Money),
    sa.Column("tracking_number", sa.String(64)),
    sa.Column("date_add", sa.DateTime),
    _run_id(),
    sa.Index(None, "id_order"),
)

ps_order_histories = sa.Table(
    "ps_order_histories", METADATA,
    _source_id("id_order_history"),
    sa.Column("id_order", sa.BigInteger, nullable=False),
    sa.Column("id_order_state", sa.Integer, nullable=False),
    sa.Column("id_employee", sa.Integer),
    sa.Column("date_add", sa.DateTime),
    _run_id(),
    sa.Index(None, "id_order", "date_add"),
)

# ------------------------------------------------------------------------------------------ Oracle canonical

ora_sales_orders = sa.Table(
    "ora_sales_orders", METADATA,
    _source_id("header_id"),
    sa.Column("order_number", sa.String(50)),
    sa.Column("source_system", sa.String(30), comment="Fusion SourceTransactionSystem / EBS order source"),
    sa.Column("source_id", sa.String(50), comment="Fusion SourceTransactionId / EBS ORIG_SYS_DOCUMENT_REF"),
    sa.Column("source_number", sa.String(50), comment="Fusion SourceTransactionNumber (the shop reference)"),
    sa.Column("customer_po", sa.String(50)),
    sa.Column("business_unit", sa.String(240)),
    sa.Column("buying_party_id", sa.BigInteger),
    sa.Column("status_code", sa.String(30)),
    sa.Column("status", sa.String(80)),
    sa.Column("currency", sa.String(15)),
    sa.Column("total_amount", Money),
    sa.Column("ordered_at", sa.DateTime),
    sa.Column("last_update", sa.DateTime),
    _run_id(),
    sa.Index(None, "source_system", "source_id"),
    sa.Index(None, "order_number"),
    sa.Index(None, "last_update"),
)

ora_order_lines = sa.Table(
    "ora_order_lines", METADATA,
    _source_id("line_id"),
    sa.Column("header_id", sa.BigInteger, nullable=False),
    sa.Column("line_number", sa.String(30)),
    sa.Column("source_line_id", sa.String(50)),
    sa.Column("sku", sa.String(300)),
    sa.Column("ordered_quantity", Quantity),
    sa.Column("shipped_quantity", Quantity),
    sa.Column("canceled_quantity", Quantity),
    sa.Column("uom", sa.String(25)),
    sa.Column("unit_list_price", Money),
    sa.Column("unit_selling_price", Money),
    sa.Column("extended_amount", Money),
    sa.Column("status_code", sa.String(30)),
    sa.Column("last_update", sa.DateTime),
    _run_id(),
    sa.Index(None, "header_id"),
    sa.Index(None, "sku"),
)

ora_onhand = sa.Table(
    "ora_onhand", METADATA,
    sa.Column("org", sa.String(18), primary_key=True),
    sa.Column("sku", sa.String(300), primary_key=True),
    sa.Column("quantity", Quantity, nullable=False, comment="on hand"),
    sa.Column("available", Quantity, comment="available to reserve, when the source gives it"),
    sa.Column("uom", sa.String(25)),
    sa.Column("last_update", sa.DateTime),
    _run_id(),
    sa.Index(None, "sku"),
)

ora_prices = sa.Table(
    "ora_prices", METADATA,
    sa.Column("price_list", sa.String(240), primary_key=True),
    sa.Column("currency", sa.String(15), primary_key=True),
    sa.Column("sku", sa.String(300), primary_key=True),
    sa.Column("price_list_id", sa.BigInteger),
    sa.Column("uom", sa.String(25)),
    sa.Column("base_price", Money, nullable=False),
    sa.Column("start_date", sa.DateTime),
    sa.Column("end_date", sa.DateTime),
    sa.Column("last_update", sa.DateTime),
    _run_id(),
    sa.Index(None, "sku"),
    sa.Index(None, "last_update"),
)

ora_shipment_lines = sa.Table(
    "ora_shipment_lines", METADATA,
    _source_id("shipment_line_id"),
    sa.Column("order_number", sa.String(50)),
    sa.Column("source_order", sa.String(50), comment="the source order number/reference the order was created with"),
    sa.Column("source_order_line", sa.String(50)),
    sa.Column("sku", sa.String(300)),
    sa.Column("requested_quantity", Quantity),
    sa.Column("shipped_quantity", Quantity),
    sa.Column("shipment", sa.String(50)),
    sa.Column("line_status", sa.String(30)),
    sa.Column("tracking_number", sa.String(120)),
    sa.Column("carrier", sa.String(360)),
    sa.Column("ship_date", sa.DateTime),
    sa.Column("last_update", sa.DateTime),
    _run_id(),
    sa.Index(None, "order_number"),
    sa.Index(None, "source_order"),
    sa.Index(None, "last_update"),
)

ora_invoices = sa.Table(
    "ora_invoices", METADATA,
    _source_id("customer_trx_id"),
    sa.Column("transaction_number", sa.String(50)),
    sa.Column("transaction_date", sa.Date),
    sa.Column("transaction_type", sa.String(30)),
    sa.Column("bill_to_account", sa.String(30)),
    sa.Column("currency", sa.String(15)),
    sa.Column("status", sa.String(30)),
    sa.Column("entered_amount", Money),
    sa.Column("balance_amount", Money),
    sa.Column("purchase_order", sa.String(50)),
    sa.Column("sales_order", sa.String(50), comment="sales order number when the invoice names one"),
    sa.Column("last_update", sa.DateTime),
    _run_id(),
    sa.Index(None, "transaction_number"),
    sa.Index(None, "sales_order"),
    sa.Index(None, "purchase_order"),
)

ora_invoice_lines = sa.Table(
    "ora_invoice_lines", METADATA,
    _source_id("customer_trx_line_id"),
    sa.Column("customer_trx_id", sa.BigInteger, nullable=False),
    sa.Column("line_number", sa.Integer),
    sa.Column("sku", sa.String(300)),
    sa.Column("description", sa.String(240)),
    sa.Column("quantity", Quantity),
    sa.Column("unit_selling_price", Money),
    sa.Column("line_amount", Money),
    sa.Column("sales_order", sa.String(50)),
    sa.Column("sales_order_line", sa.String(50)),
    _run_id(),
    sa.Index(None, "customer_trx_id"),
    sa.Index(None, "sales_order"),
)

ora_receipts = sa.Table(
    "ora_receipts", METADATA,
    _source_id("cash_receipt_id"),
    sa.Column("receipt_number", sa.String(30)),
    sa.Column("receipt_date", sa.Date),
    sa.Column("receipt_method", sa.String(30)),
    sa.Column("amount", Money),
    sa.Column("unapplied_amount", Money),
    sa.Column("currency", sa.String(15)),
    sa.Column("customer_account", sa.String(30)),
    sa.Column("status", sa.String(30)),
    sa.Column("reference", sa.String(150), comment="what the receipt was created from (e.g. the shop payment)"),
    sa.Column("last_update", sa.DateTime),
    _run_id(),
    sa.Index(None, "receipt_number"),
    sa.Index(None, "receipt_date"),
)

ora_accounts = sa.Table(
    "ora_accounts", METADATA,
    _source_id("cust_account_id"),
    sa.Column("account_number", sa.String(30)),
    sa.Column("party_id", sa.BigInteger),
    sa.Column("party_number", sa.String(30)),
    sa.Column("name", sa.String(360)),
    sa.Column("email", sa.String(320)),
    sa.Column("country", sa.String(2)),
    sa.Column("status", sa.String(1)),
    sa.Column("source_system", sa.String(30)),
    sa.Column("source_ref", sa.String(255), comment="the source system's own id (e.g. the shop id_customer)"),
    sa.Column("postcode", sa.String(60), comment="of the account's primary (bill-to) address"),
    sa.Column("city", sa.String(60)),
    sa.Column("phone", sa.String(60)),
    sa.Column("vat_number", sa.String(50), comment="tax registration number, when the account has one"),
    sa.Column("last_update", sa.DateTime),
    _run_id(),
    sa.Index(None, "account_number"),
    sa.Index(None, "source_system", "source_ref"),
    sa.Index(None, "email"),
)

# ------------------------------------------------------------------------------------------ mapping

xref = sa.Table(
    "xref", METADATA,
    sa.Column("system", sa.String(50), primary_key=True, comment="whose id external_id is, e.g. prestashop"),
    sa.Column("entity", sa.String(50), primary_key=True, comment="e.g. sku (product:combination), customer"),
    sa.Column("external_id", sa.String(200), primary_key=True),
    sa.Column("target", sa.String(50), primary_key=True, comment="e.g. oracle"),
    sa.Column("target_id", sa.String(200), nullable=False),
    sa.Column("note", sa.String(200)),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("run_id", RunId),
    sa.UniqueConstraint("system", "entity", "target", "target_id"),
    comment="Binder: one external id <-> one target id per (system, entity, target), unique both ways.",
)

lookup_values = sa.Table(
    "lookup_values", METADATA,
    sa.Column("lookup", sa.String(50), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("note", sa.String(200)),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    comment="Many-to-one lookup pairs added by operators; they win over the mapping configuration.",
)

currency_rates = sa.Table(
    "currency_rates", METADATA,
    sa.Column("source", sa.String(3), primary_key=True),
    sa.Column("target", sa.String(3), primary_key=True),
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("rate", sa.Numeric(20, 10), nullable=False, comment="target units per source unit"),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.CheckConstraint("rate > 0", name="rate_positive"),
    comment="Exchange rates for the mapping's currency conversion, by the day they take effect.",
)

# ------------------------------------------------------------------------------------------ bookkeeping

watermarks = sa.Table(
    "watermarks", METADATA,
    sa.Column("source", sa.String(50), primary_key=True),
    sa.Column("entity", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(100), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("run_id", RunId, nullable=False),
    comment="Highest cursor value committed per source entity; only moves forward, in the batch's transaction.",
)

extract_checkpoints = sa.Table(
    "extract_checkpoints", METADATA,
    sa.Column("source", sa.String(50), primary_key=True),
    sa.Column("entity", sa.String(50), primary_key=True),
    sa.Column("window_since", sa.String(40), comment="UTC; NULL = from the beginning"),
    sa.Column("window_until", sa.String(40), nullable=False, comment="UTC"),
    sa.Column("position", sa.String(200), comment="after what the window resumes: an id, or LastUpdateDate|id"),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("run_id", RunId, nullable=False),
    comment="The extraction window in progress per source entity, saved with every committed chunk.",
)

sync_ledger = sa.Table(
    "sync_ledger", METADATA,
    sa.Column("target", sa.String(50), primary_key=True),
    sa.Column("record_key", sa.String(200), primary_key=True),
    sa.Column("source", sa.String(50)),
    sa.Column("entity", sa.String(50)),
    sa.Column("outcome", sa.String(10), nullable=False),
    sa.Column("target_id", sa.String(100)),
    sa.Column("target_ref", sa.String(100)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("first_attempt_at", sa.DateTime, nullable=False),
    sa.Column("last_attempt_at", sa.DateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("run_id", RunId, nullable=False),
    sa.CheckConstraint(_in("outcome", LEDGER_OUTCOMES), name="outcome"),
    sa.Index(None, "target", "outcome"),
    sa.Index(None, "source", "entity"),
    comment="Idempotency ledger: one row per record and target (the primary key is unique (target, record_key)).",
)

dead_letters = sa.Table(
    "dead_letters", METADATA,
    sa.Column("id", SurrogateId, sa.Identity(), primary_key=True),
    sa.Column("source", sa.String(50), nullable=False),
    sa.Column("entity", sa.String(50), nullable=False),
    sa.Column("record_key", sa.String(200), nullable=False),
    sa.Column("stage", sa.String(30), nullable=False),
    sa.Column("reason_class", sa.String(20), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("how_to_fix", sa.Text),
    sa.Column("payload", sa.Text, comment="JSON, secrets removed"),
    sa.Column("first_seen", sa.DateTime, nullable=False),
    sa.Column("last_seen", sa.DateTime, nullable=False),
    sa.Column("occurrences", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("replay_count", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("status", sa.String(10), nullable=False, server_default="open"),
    sa.Column("status_note", sa.Text),
    sa.Column("run_id", RunId, nullable=False),
    sa.UniqueConstraint("source", "entity", "record_key", "stage", "reason_class"),
    sa.CheckConstraint(_in("reason_class", REASON_CLASSES), name="reason_class"),
    sa.CheckConstraint(_in("status", DEAD_LETTER_STATUSES), name="status"),
    sa.Index(None, "status", "reason_class"),
    sa.Index(None, "source", "entity", "status"),
)

run_metrics = sa.Table(
    "run_metrics", METADATA,
    sa.Column("id", SurrogateId, sa.Identity(), primary_key=True),
    sa.Column("run_id", RunId, nullable=False),
    sa.Column("flow", sa.String(50), nullable=False),
    sa.Column("step", sa.String(50), nullable=False),
    sa.Column("started_at", sa.DateTime),
    sa.Column("ended_at", sa.DateTime),
    sa.Column("read", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("written", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("skipped", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("quarantined", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("requests", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("details", sa.Text, comment="JSON"),
    sa.UniqueConstraint("run_id", "flow", "step"),
    sa.Index(None, "flow", "started_at"),
    comment="One row per (run, flow, step); a retried step replaces its row.",
)

# ------------------------------------------------------------------------------------------ reconciliation results

customer_matches = sa.Table(
    "customer_matches", METADATA,
    sa.Column("id_customer", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("cust_account_id", sa.BigInteger, comment="NULL when no account was matched"),
    sa.Column("account_number", sa.String(30)),
    sa.Column("decision", sa.String(12), nullable=False),
    sa.Column("rule", sa.String(40), nullable=False, comment="which rule decided: shop_reference, email, vat, …"),
    sa.Column("score", sa.Float, comment="1.0 for a deterministic key, else the match probability"),
    sa.Column("details", sa.Text, comment="JSON: the compared values and the candidates considered"),
    sa.Column("decided_at", sa.DateTime, nullable=False),
    _run_id(),
    sa.CheckConstraint(_in("decision", MATCH_DECISIONS), name="decision"),
    sa.Index(None, "cust_account_id"),
    sa.Index(None, "decision"),
    comment="Customer 360: one decision per shop customer, with the rule and score that made it.",
)

customer_360 = sa.Table(
    "customer_360", METADATA,
    sa.Column("customer_key", sa.String(40), primary_key=True,
              comment="ps:<id_customer>, or ora:<cust_account_id> for an account no shop customer matched"),
    sa.Column("id_customer", sa.BigInteger),
    sa.Column("cust_account_id", sa.BigInteger),
    sa.Column("account_number", sa.String(30)),
    sa.Column("party_id", sa.BigInteger),
    sa.Column("email", sa.String(320)),
    sa.Column("name", sa.String(360)),
    sa.Column("country", sa.String(3)),
    sa.Column("is_guest", sa.Boolean),
    sa.Column("match_rule", sa.String(40)),
    sa.Column("match_score", sa.Float),
    sa.Column("currency", sa.String(3), comment="the currency of the amounts below (the shop's default)"),
    sa.Column("shop_orders", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("shop_revenue", Money, nullable=False, server_default=sa.text("0")),
    sa.Column("oracle_orders", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("oracle_revenue", Money, nullable=False, server_default=sa.text("0")),
    sa.Column("open_ar_balance", Money, nullable=False, server_default=sa.text("0")),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    _run_id(),
    sa.Index(None, "id_customer"),
    sa.Index(None, "cust_account_id"),
    sa.Index(None, "email"),
    comment="One row per customer across both systems, rebuilt by the customer_360 flow.",
)

finance_recon_items = sa.Table(
    "finance_recon_items", METADATA,
    sa.Column("interval_start", sa.DateTime, primary_key=True),
    sa.Column("item_key", sa.String(200), primary_key=True, comment="e.g. payment:<id_order_payment>, refund:<id>"),
    sa.Column("interval_end", sa.DateTime, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False, comment="payment or refund"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("order_reference", sa.String(32)),
    sa.Column("id_order", sa.BigInteger),
    sa.Column("oracle_order_number", sa.String(50)),
    sa.Column("oracle_ref", sa.String(50), comment="receipt, invoice or credit memo number"),
    sa.Column("currency", sa.String(15)),
    sa.Column("shop_amount", Money),
    sa.Column("oracle_amount", Money),
    sa.Column("difference", Money, comment="oracle_amount - shop_amount"),
    sa.Column("shop_date", sa.DateTime),
    sa.Column("oracle_date", sa.DateTime),
    sa.Column("explanation", sa.Text),
    _run_id(),
    sa.CheckConstraint(_in("kind", FINANCE_KINDS), name="kind"),
    sa.CheckConstraint(_in("status", FINANCE_STATUSES), name="status"),
    sa.Index(None, "status"),
    sa.Index(None, "order_reference"),
    comment="Financial reconciliation: one row per item and day; a re-run of a day replaces that day's rows.",
)

COUNT_COLUMNS = ("read", "written", "skipped", "quarantined", "requests")


def _add_dq_status(table: sa.Table) -> None:
    table.append_column(sa.Column("dq_status", sa.String(12), nullable=False, server_default="pending",
                                  comment="pending until the data-quality gate says passed or quarantined"))
    table.append_constraint(sa.CheckConstraint(_in("dq_status", DQ_STATUSES), name="dq_status"))
    sa.Index(None, table.c.dq_status)


LANDING_TABLES = (landing_records, landing_history)
PRESTASHOP_TABLES = (ps_orders, ps_order_lines, ps_customers, ps_addresses, ps_products, ps_combinations, ps_stock,
                     ps_order_payments, ps_order_slips, ps_order_carriers, ps_order_histories)
ORACLE_TABLES = (ora_sales_orders, ora_order_lines, ora_onhand, ora_prices, ora_shipment_lines, ora_invoices,
                 ora_invoice_lines, ora_receipts, ora_accounts)
MAPPING_TABLES = (xref, lookup_values, currency_rates)
BOOKKEEPING_TABLES = (watermarks, extract_checkpoints, sync_ledger, dead_letters, run_metrics)
RECONCILIATION_TABLES = (customer_matches, customer_360, finance_recon_items)
for _canonical in (*PRESTASHOP_TABLES, *ORACLE_TABLES):
    _add_dq_status(_canonical)
TABLES: dict[str, sa.Table] = {t.name: t for t in (*LANDING_TABLES, *PRESTASHOP_TABLES, *ORACLE_TABLES,
                                                   *MAPPING_TABLES, *BOOKKEEPING_TABLES,
                                                   *RECONCILIATION_TABLES)}
"""Every table, in the order the DDL files list them."""
