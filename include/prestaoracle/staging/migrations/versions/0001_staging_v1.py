"""staging v1: landing, canonical PrestaShop and Oracle tables, watermarks, ledger, dead letters, metrics.

The same schema as the pre-Alembic runner's schema_version 1, so migrate.upgrade adopts such databases here.

Revision ID: 0001
Revises:
Create Date: 2026-12-03 12:32:04.234686
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=False), nullable=False
        ),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=False),
        sa.Column("record_key", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("reason_class", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("how_to_fix", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True, comment="JSON, secrets removed"),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("occurrences", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("replay_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.CheckConstraint(
            "reason_class IN ('retryable', 'invalid_data', 'mapping_missing', 'business_rule', 'duplicate')",
            name=op.f("ck_dead_letters_reason_class"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'replayed', 'resolved', 'ignored')", name=op.f("ck_dead_letters_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint(
            "source",
            "entity",
            "record_key",
            "stage",
            "reason_class",
            name=op.f("uq_dead_letters_source_entity_record_key_stage_reason_class"),
        ),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dead_letters_source_entity_status"), ["source", "entity", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dead_letters_status_reason_class"), ["status", "reason_class"], unique=False
        )

    op.create_table(
        "landing_history",
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("payload_sha1", sa.String(length=40), nullable=False),
        sa.Column("date_upd", sa.String(length=40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("extracted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", "entity", "record_id", "payload_sha1", name=op.f("pk_landing_history")),
        comment="Every distinct version of a landed record, once (opt-in per land() call).",
    )
    with op.batch_alter_table("landing_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_landing_history_run_id"), ["run_id"], unique=False)

    op.create_table(
        "landing_records",
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("date_upd", sa.String(length=40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_sha1", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("extracted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", "entity", "record_id", name=op.f("pk_landing_records")),
        comment="Latest raw payload per source record; run_id/extracted_at are those of the run that last changed it.",
    )
    with op.batch_alter_table("landing_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_landing_records_run_id_source_entity"), ["run_id", "source", "entity"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_landing_records_source_entity_date_upd"), ["source", "entity", "date_upd"], unique=False
        )

    op.create_table(
        "ora_accounts",
        sa.Column("cust_account_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account_number", sa.String(length=30), nullable=True),
        sa.Column("party_id", sa.BigInteger(), nullable=True),
        sa.Column("party_number", sa.String(length=30), nullable=True),
        sa.Column("name", sa.String(length=360), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("status", sa.String(length=1), nullable=True),
        sa.Column("source_system", sa.String(length=30), nullable=True),
        sa.Column(
            "source_ref",
            sa.String(length=255),
            nullable=True,
            comment="the source system's own id (e.g. the shop id_customer)",
        ),
        sa.Column("last_update", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("cust_account_id", name=op.f("pk_ora_accounts")),
    )
    with op.batch_alter_table("ora_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ora_accounts_account_number"), ["account_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_ora_accounts_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ora_accounts_source_system_source_ref"), ["source_system", "source_ref"], unique=False
        )

    op.create_table(
        "ora_invoice_lines",
        sa.Column("customer_trx_line_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("customer_trx_id", sa.BigInteger(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("sku", sa.String(length=300), nullable=True),
        sa.Column("description", sa.String(length=240), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("unit_selling_price", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("line_amount", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("sales_order", sa.String(length=50), nullable=True),
        sa.Column("sales_order_line", sa.String(length=50), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("customer_trx_line_id", name=op.f("pk_ora_invoice_lines")),
    )
    with op.batch_alter_table("ora_invoice_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ora_invoice_lines_customer_trx_id"), ["customer_trx_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ora_invoice_lines_sales_order"), ["sales_order"], unique=False)

    op.create_table(
        "ora_invoices",
        sa.Column("customer_trx_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("transaction_number", sa.String(length=50), nullable=True),
        sa.Column("transaction_date", sa.Date(), nullable=True),
        sa.Column("transaction_type", sa.String(length=30), nullable=True),
        sa.Column("bill_to_account", sa.String(length=30), nullable=True),
        sa.Column("currency", sa.String(length=15), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=True),
        sa.Column("entered_amount", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("balance_amount", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("purchase_order", sa.String(length=50), nullable=True),
        sa.Column(
            "sales_order", sa.String(length=50), nullable=True, comment="sales order number when the invoice names one"
        ),
        sa.Column("last_update", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("customer_trx_id", name=op.f("pk_ora_invoices")),
    )
    with op.batch_alter_table("ora_invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ora_invoices_purchase_order"), ["purchase_order"], unique=False)
        batch_op.create_index(batch_op.f("ix_ora_invoices_sales_order"), ["sales_order"], unique=False)
        batch_op.create_index(batch_op.f("ix_ora_invoices_transaction_number"), ["transaction_number"], unique=False)

    op.create_table(
        "ora_onhand",
        sa.Column("org", sa.String(length=18), nullable=False),
        sa.Column("sku", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=20, scale=6), nullable=False, comment="on hand"),
        sa.Column(
            "available",
            sa.Numeric(precision=20, scale=6),
            nullable=True,
            comment="available to reserve, when the source gives it",
        ),
        sa.Column("uom", sa.String(length=25), nullable=True),
        sa.Column("last_update", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("org", "sku", name=op.f("pk_ora_onhand")),
    )
    with op.batch_alter_table("ora_onhand", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ora_onhand_sku"), ["sku"], unique=False)

    op.create_table(
        "ora_order_lines",
        sa.Column("line_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("header_id", sa.BigInteger(), nullable=False),
        sa.Column("line_number", sa.String(length=30), nullable=True),
        sa.Column("source_line_id", sa.String(length=50), nullable=True),
        sa.Column("sku", sa.String(length=300), nullable=True),
        sa.Column("ordered_quantity", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("shipped_quantity", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("canceled_quantity", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("uom", sa.String(length=25), nullable=True),
        sa.Column("unit_list_price", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("unit_selling_price", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("extended_amount", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("status_code", sa.String(length=30), nullable=True),
        sa.Column("last_update", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_ora_order_lines")),
    )
    with op.batch_alter_table("ora_order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ora_order_lines_header_id"), ["header_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ora_order_lines_sku"), ["sku"], unique=False)

    op.create_table(
        "ora_prices",
        sa.Column("price_list", sa.String(length=240), nullable=False),
        sa.Column("currency", sa.String(length=15), nullable=False),
        sa.Column("sku", sa.String(length=300), nullable=False),
        sa.Column("price_list_id", sa.BigInteger(), nullable=True),
        sa.Column("uom", sa.String(length=25), nullable=True),
        sa.Column("base_price", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("start_date", sa.DateTime(), nullable=True),
        sa.Column("end_date", sa.DateTime(), nullable=True),
        sa.Column("last_update", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("price_list", "currency", "sku", name=op.f("pk_ora_prices")),
    )
    with op.batch_alter_table("ora_prices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ora_prices_last_update"), ["last_update"], unique=False)
        batch_op.create_index(batch_op.f("ix_ora_prices_sku"), ["sku"], unique=False)

    op.create_table(
        "ora_receipts",
        sa.Column("cash_receipt_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("receipt_number", sa.String(length=30), nullable=True),
        sa.Column("receipt_date", sa.Date(), nullable=True),
        sa.Column("receipt_method", sa.String(length=30), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("unapplied_amount", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("currency", sa.String(length=15), nullable=True),
        sa.Column("customer_account", sa.String(length=30), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=True),
        sa.Column(
            "reference",
            sa.String(length=150),
            nullable=True,
            comment="what the receipt was created from (e.g. the shop payment)",
        ),
        sa.Column("last_update", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("cash_receipt_id", name=op.f("pk_ora_receipts")),
    )
    with op.batch_alter_table("ora_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ora_receipts_receipt_date"), ["receipt_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_ora_receipts_receipt_number"), ["receipt_number"], unique=False)

    op.create_table(
        "ora_sales_orders",
        sa.Column("header_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("order_number", sa.String(length=50), nullable=True),
        sa.Column(
            "source_system",
            sa.String(length=30),
            nullable=True,
            comment="Fusion SourceTransactionSystem / EBS order source",
        ),
        sa.Column(
            "source_id",
            sa.String(length=50),
            nullable=True,
            comment="Fusion SourceTransactionId / EBS ORIG_SYS_DOCUMENT_REF",
        ),
        sa.Column(
            "source_number",
            sa.String(length=50),
            nullable=True,
            comment="Fusion SourceTransactionNumber (the shop reference)",
        ),
        sa.Column("customer_po", sa.String(length=50), nullable=True),
        sa.Column("business_unit", sa.String(length=240), nullable=True),
        sa.Column("buying_party_id", sa.BigInteger(), nullable=True),
        sa.Column("status_code", sa.String(length=30), nullable=True),
        sa.Column("status", sa.String(length=80), nullable=True),
        sa.Column("currency", sa.String(length=15), nullable=True),
        sa.Column("total_amount", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("ordered_at", sa.DateTime(), nullable=True),
        sa.Column("last_update", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("header_id", name=op.f("pk_ora_sales_orders")),
    )
    with op.batch_alter_table("ora_sales_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ora_sales_orders_last_update"), ["last_update"], unique=False)
        batch_op.create_index(batch_op.f("ix_ora_sales_orders_order_number"), ["order_number"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ora_sales_orders_source_system_source_id"), ["source_system", "source_id"], unique=False
        )

    op.create_table(
        "ora_shipment_lines",
        sa.Column("shipment_line_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("order_number", sa.String(length=50), nullable=True),
        sa.Column(
            "source_order",
            sa.String(length=50),
            nullable=True,
            comment="the source order number/reference the order was created with",
        ),
        sa.Column("source_order_line", sa.String(length=50), nullable=True),
        sa.Column("sku", sa.String(length=300), nullable=True),
        sa.Column("requested_quantity", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("shipped_quantity", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("shipment", sa.String(length=50), nullable=True),
        sa.Column("line_status", sa.String(length=30), nullable=True),
        sa.Column("tracking_number", sa.String(length=120), nullable=True),
        sa.Column("carrier", sa.String(length=360), nullable=True),
        sa.Column("ship_date", sa.DateTime(), nullable=True),
        sa.Column("last_update", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("shipment_line_id", name=op.f("pk_ora_shipment_lines")),
    )
    with op.batch_alter_table("ora_shipment_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ora_shipment_lines_last_update"), ["last_update"], unique=False)
        batch_op.create_index(batch_op.f("ix_ora_shipment_lines_order_number"), ["order_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_ora_shipment_lines_source_order"), ["source_order"], unique=False)

    op.create_table(
        "ps_addresses",
        sa.Column("id_address", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id_customer", sa.BigInteger(), nullable=True),
        sa.Column("alias", sa.String(length=32), nullable=True),
        sa.Column("company", sa.String(length=255), nullable=True),
        sa.Column("firstname", sa.String(length=255), nullable=True),
        sa.Column("lastname", sa.String(length=255), nullable=True),
        sa.Column("address1", sa.String(length=128), nullable=True),
        sa.Column("address2", sa.String(length=128), nullable=True),
        sa.Column("postcode", sa.String(length=12), nullable=True),
        sa.Column("city", sa.String(length=64), nullable=True),
        sa.Column("id_country", sa.Integer(), nullable=True),
        sa.Column("country_iso", sa.String(length=3), nullable=True),
        sa.Column("id_state", sa.Integer(), nullable=True),
        sa.Column("state_iso", sa.String(length=7), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("phone_mobile", sa.String(length=32), nullable=True),
        sa.Column("vat_number", sa.String(length=32), nullable=True),
        sa.Column("dni", sa.String(length=16), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=True),
        sa.Column("date_add", sa.DateTime(), nullable=True),
        sa.Column("date_upd", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_address", name=op.f("pk_ps_addresses")),
    )
    with op.batch_alter_table("ps_addresses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ps_addresses_date_upd"), ["date_upd"], unique=False)
        batch_op.create_index(batch_op.f("ix_ps_addresses_id_customer"), ["id_customer"], unique=False)

    op.create_table(
        "ps_combinations",
        sa.Column("id_product_attribute", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id_product", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("ean13", sa.String(length=13), nullable=True),
        sa.Column(
            "price",
            sa.Numeric(precision=20, scale=6),
            nullable=True,
            comment="price impact over the product price (can be negative)",
        ),
        sa.Column("wholesale_price", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("minimal_quantity", sa.Integer(), nullable=True),
        sa.Column("default_on", sa.Boolean(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_product_attribute", name=op.f("pk_ps_combinations")),
    )
    with op.batch_alter_table("ps_combinations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ps_combinations_id_product"), ["id_product"], unique=False)
        batch_op.create_index(batch_op.f("ix_ps_combinations_sku"), ["sku"], unique=False)

    op.create_table(
        "ps_customers",
        sa.Column("id_customer", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("firstname", sa.String(length=255), nullable=True),
        sa.Column("lastname", sa.String(length=255), nullable=True),
        sa.Column("company", sa.String(length=255), nullable=True),
        sa.Column("siret", sa.String(length=14), nullable=True),
        sa.Column("id_gender", sa.Integer(), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("id_lang", sa.Integer(), nullable=True),
        sa.Column("id_default_group", sa.Integer(), nullable=True),
        sa.Column("id_shop", sa.Integer(), nullable=True),
        sa.Column("newsletter", sa.Boolean(), nullable=True),
        sa.Column("optin", sa.Boolean(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("is_guest", sa.Boolean(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=True),
        sa.Column("date_add", sa.DateTime(), nullable=True),
        sa.Column("date_upd", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_customer", name=op.f("pk_ps_customers")),
    )
    with op.batch_alter_table("ps_customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ps_customers_date_upd"), ["date_upd"], unique=False)
        batch_op.create_index(batch_op.f("ix_ps_customers_email"), ["email"], unique=False)

    op.create_table(
        "ps_order_carriers",
        sa.Column("id_order_carrier", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id_order", sa.BigInteger(), nullable=False),
        sa.Column("id_carrier", sa.Integer(), nullable=True),
        sa.Column("id_order_invoice", sa.BigInteger(), nullable=True),
        sa.Column("weight", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("shipping_cost_tax_excl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("shipping_cost_tax_incl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("date_add", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_order_carrier", name=op.f("pk_ps_order_carriers")),
    )
    with op.batch_alter_table("ps_order_carriers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ps_order_carriers_id_order"), ["id_order"], unique=False)

    op.create_table(
        "ps_order_histories",
        sa.Column("id_order_history", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id_order", sa.BigInteger(), nullable=False),
        sa.Column("id_order_state", sa.Integer(), nullable=False),
        sa.Column("id_employee", sa.Integer(), nullable=True),
        sa.Column("date_add", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_order_history", name=op.f("pk_ps_order_histories")),
    )
    with op.batch_alter_table("ps_order_histories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ps_order_histories_id_order_date_add"), ["id_order", "date_add"], unique=False
        )

    op.create_table(
        "ps_order_lines",
        sa.Column("id_order_detail", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id_order", sa.BigInteger(), nullable=False),
        sa.Column("id_shop", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("product_attribute_id", sa.BigInteger(), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("ean13", sa.String(length=13), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("quantity_refunded", sa.Integer(), nullable=True),
        sa.Column("quantity_return", sa.Integer(), nullable=True),
        sa.Column("product_price", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("original_product_price", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("reduction_amount_tax_excl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("reduction_amount_tax_incl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("unit_price_tax_excl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("unit_price_tax_incl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_price_tax_excl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_price_tax_incl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("tax_rate", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.Column("id_warehouse", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_order_detail", name=op.f("pk_ps_order_lines")),
    )
    with op.batch_alter_table("ps_order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ps_order_lines_id_order"), ["id_order"], unique=False)
        batch_op.create_index(batch_op.f("ix_ps_order_lines_sku"), ["sku"], unique=False)

    op.create_table(
        "ps_order_payments",
        sa.Column("id_order_payment", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("order_reference", sa.String(length=32), nullable=True),
        sa.Column("id_currency", sa.Integer(), nullable=True),
        sa.Column("currency_iso", sa.String(length=3), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("payment_method", sa.String(length=255), nullable=True),
        sa.Column("conversion_rate", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("transaction_id", sa.String(length=254), nullable=True),
        sa.Column("card_brand", sa.String(length=254), nullable=True),
        sa.Column("card_last4", sa.String(length=4), nullable=True, comment="never the full card number"),
        sa.Column("date_add", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_order_payment", name=op.f("pk_ps_order_payments")),
    )
    with op.batch_alter_table("ps_order_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ps_order_payments_date_add"), ["date_add"], unique=False)
        batch_op.create_index(batch_op.f("ix_ps_order_payments_order_reference"), ["order_reference"], unique=False)

    op.create_table(
        "ps_order_slips",
        sa.Column("id_order_slip", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id_order", sa.BigInteger(), nullable=False),
        sa.Column("id_customer", sa.BigInteger(), nullable=True),
        sa.Column("conversion_rate", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_products_tax_excl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_products_tax_incl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_shipping_tax_excl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_shipping_tax_incl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("shipping_cost", sa.Boolean(), nullable=True),
        sa.Column("shipping_cost_amount", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("partial", sa.Boolean(), nullable=True),
        sa.Column("order_slip_type", sa.Integer(), nullable=True),
        sa.Column("date_add", sa.DateTime(), nullable=True),
        sa.Column("date_upd", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_order_slip", name=op.f("pk_ps_order_slips")),
    )
    with op.batch_alter_table("ps_order_slips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ps_order_slips_date_upd"), ["date_upd"], unique=False)
        batch_op.create_index(batch_op.f("ix_ps_order_slips_id_order"), ["id_order"], unique=False)

    op.create_table(
        "ps_orders",
        sa.Column("id_order", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=True),
        sa.Column("id_shop", sa.Integer(), nullable=True),
        sa.Column("id_shop_group", sa.Integer(), nullable=True),
        sa.Column("id_customer", sa.BigInteger(), nullable=True),
        sa.Column("id_cart", sa.BigInteger(), nullable=True),
        sa.Column("id_lang", sa.Integer(), nullable=True),
        sa.Column("id_carrier", sa.Integer(), nullable=True),
        sa.Column("id_address_delivery", sa.BigInteger(), nullable=True),
        sa.Column("id_address_invoice", sa.BigInteger(), nullable=True),
        sa.Column("id_currency", sa.Integer(), nullable=True),
        sa.Column("currency_iso", sa.String(length=3), nullable=True),
        sa.Column("conversion_rate", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("current_state", sa.Integer(), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.Column("payment", sa.String(length=255), nullable=True),
        sa.Column("module", sa.String(length=255), nullable=True),
        sa.Column("total_paid", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_paid_tax_incl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_paid_tax_excl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_paid_real", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_products", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_products_wt", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_shipping", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_shipping_tax_incl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_shipping_tax_excl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("carrier_tax_rate", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.Column("total_discounts", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_discounts_tax_incl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_discounts_tax_excl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_wrapping", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_wrapping_tax_incl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("total_wrapping_tax_excl", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("invoice_number", sa.BigInteger(), nullable=True),
        sa.Column("invoice_date", sa.DateTime(), nullable=True),
        sa.Column("delivery_date", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("date_add", sa.DateTime(), nullable=True),
        sa.Column("date_upd", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_order", name=op.f("pk_ps_orders")),
    )
    with op.batch_alter_table("ps_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ps_orders_current_state"), ["current_state"], unique=False)
        batch_op.create_index(batch_op.f("ix_ps_orders_date_upd"), ["date_upd"], unique=False)
        batch_op.create_index(batch_op.f("ix_ps_orders_id_customer"), ["id_customer"], unique=False)
        batch_op.create_index(batch_op.f("ix_ps_orders_reference"), ["reference"], unique=False)

    op.create_table(
        "ps_products",
        sa.Column("id_product", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("product_type", sa.String(length=32), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("wholesale_price", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("id_tax_rules_group", sa.Integer(), nullable=True),
        sa.Column("id_default_combination", sa.BigInteger(), nullable=True),
        sa.Column("ean13", sa.String(length=13), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("date_add", sa.DateTime(), nullable=True),
        sa.Column("date_upd", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_product", name=op.f("pk_ps_products")),
    )
    with op.batch_alter_table("ps_products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ps_products_date_upd"), ["date_upd"], unique=False)
        batch_op.create_index(batch_op.f("ix_ps_products_sku"), ["sku"], unique=False)

    op.create_table(
        "ps_stock",
        sa.Column("id_stock_available", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id_product", sa.BigInteger(), nullable=False),
        sa.Column("id_product_attribute", sa.BigInteger(), nullable=False),
        sa.Column("id_shop", sa.Integer(), nullable=True),
        sa.Column("id_shop_group", sa.Integer(), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("depends_on_stock", sa.Boolean(), nullable=True),
        sa.Column("out_of_stock", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id_stock_available", name=op.f("pk_ps_stock")),
    )
    with op.batch_alter_table("ps_stock", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ps_stock_id_product_id_product_attribute"),
            ["id_product", "id_product_attribute"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_ps_stock_sku"), ["sku"], unique=False)

    op.create_table(
        "run_metrics",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=False), nullable=False
        ),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("flow", sa.String(length=50), nullable=False),
        sa.Column("step", sa.String(length=50), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("read", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("written", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("skipped", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("quarantined", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("requests", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("details", sa.Text(), nullable=True, comment="JSON"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_metrics")),
        sa.UniqueConstraint("run_id", "flow", "step", name=op.f("uq_run_metrics_run_id_flow_step")),
        comment="One row per (run, flow, step); a retried step replaces its row.",
    )
    with op.batch_alter_table("run_metrics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_metrics_flow_started_at"), ["flow", "started_at"], unique=False)

    op.create_table(
        "sync_ledger",
        sa.Column("target", sa.String(length=50), nullable=False),
        sa.Column("record_key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=True),
        sa.Column("entity", sa.String(length=50), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=True),
        sa.Column("target_ref", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('created', 'updated', 'skipped', 'failed', 'pending')", name=op.f("ck_sync_ledger_outcome")
        ),
        sa.PrimaryKeyConstraint("target", "record_key", name=op.f("pk_sync_ledger")),
        comment="Idempotency ledger: one row per record and target (the primary key is unique (target, record_key)).",
    )
    with op.batch_alter_table("sync_ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_ledger_source_entity"), ["source", "entity"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_ledger_target_outcome"), ["target", "outcome"], unique=False)

    op.create_table(
        "watermarks",
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.PrimaryKeyConstraint("source", "entity", name=op.f("pk_watermarks")),
        comment="Highest cursor value committed per source entity; only moves forward, in the batch's transaction.",
    )


def downgrade() -> None:
    op.drop_table("watermarks")
    with op.batch_alter_table("sync_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_ledger_target_outcome"))
        batch_op.drop_index(batch_op.f("ix_sync_ledger_source_entity"))

    op.drop_table("sync_ledger")
    with op.batch_alter_table("run_metrics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_metrics_flow_started_at"))

    op.drop_table("run_metrics")
    with op.batch_alter_table("ps_stock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_stock_sku"))
        batch_op.drop_index(batch_op.f("ix_ps_stock_id_product_id_product_attribute"))

    op.drop_table("ps_stock")
    with op.batch_alter_table("ps_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_products_sku"))
        batch_op.drop_index(batch_op.f("ix_ps_products_date_upd"))

    op.drop_table("ps_products")
    with op.batch_alter_table("ps_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_orders_reference"))
        batch_op.drop_index(batch_op.f("ix_ps_orders_id_customer"))
        batch_op.drop_index(batch_op.f("ix_ps_orders_date_upd"))
        batch_op.drop_index(batch_op.f("ix_ps_orders_current_state"))

    op.drop_table("ps_orders")
    with op.batch_alter_table("ps_order_slips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_order_slips_id_order"))
        batch_op.drop_index(batch_op.f("ix_ps_order_slips_date_upd"))

    op.drop_table("ps_order_slips")
    with op.batch_alter_table("ps_order_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_order_payments_order_reference"))
        batch_op.drop_index(batch_op.f("ix_ps_order_payments_date_add"))

    op.drop_table("ps_order_payments")
    with op.batch_alter_table("ps_order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_order_lines_sku"))
        batch_op.drop_index(batch_op.f("ix_ps_order_lines_id_order"))

    op.drop_table("ps_order_lines")
    with op.batch_alter_table("ps_order_histories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_order_histories_id_order_date_add"))

    op.drop_table("ps_order_histories")
    with op.batch_alter_table("ps_order_carriers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_order_carriers_id_order"))

    op.drop_table("ps_order_carriers")
    with op.batch_alter_table("ps_customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_customers_email"))
        batch_op.drop_index(batch_op.f("ix_ps_customers_date_upd"))

    op.drop_table("ps_customers")
    with op.batch_alter_table("ps_combinations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_combinations_sku"))
        batch_op.drop_index(batch_op.f("ix_ps_combinations_id_product"))

    op.drop_table("ps_combinations")
    with op.batch_alter_table("ps_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ps_addresses_id_customer"))
        batch_op.drop_index(batch_op.f("ix_ps_addresses_date_upd"))

    op.drop_table("ps_addresses")
    with op.batch_alter_table("ora_shipment_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ora_shipment_lines_source_order"))
        batch_op.drop_index(batch_op.f("ix_ora_shipment_lines_order_number"))
        batch_op.drop_index(batch_op.f("ix_ora_shipment_lines_last_update"))

    op.drop_table("ora_shipment_lines")
    with op.batch_alter_table("ora_sales_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ora_sales_orders_source_system_source_id"))
        batch_op.drop_index(batch_op.f("ix_ora_sales_orders_order_number"))
        batch_op.drop_index(batch_op.f("ix_ora_sales_orders_last_update"))

    op.drop_table("ora_sales_orders")
    with op.batch_alter_table("ora_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ora_receipts_receipt_number"))
        batch_op.drop_index(batch_op.f("ix_ora_receipts_receipt_date"))

    op.drop_table("ora_receipts")
    with op.batch_alter_table("ora_prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ora_prices_sku"))
        batch_op.drop_index(batch_op.f("ix_ora_prices_last_update"))

    op.drop_table("ora_prices")
    with op.batch_alter_table("ora_order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ora_order_lines_sku"))
        batch_op.drop_index(batch_op.f("ix_ora_order_lines_header_id"))

    op.drop_table("ora_order_lines")
    with op.batch_alter_table("ora_onhand", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ora_onhand_sku"))

    op.drop_table("ora_onhand")
    with op.batch_alter_table("ora_invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ora_invoices_transaction_number"))
        batch_op.drop_index(batch_op.f("ix_ora_invoices_sales_order"))
        batch_op.drop_index(batch_op.f("ix_ora_invoices_purchase_order"))

    op.drop_table("ora_invoices")
    with op.batch_alter_table("ora_invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ora_invoice_lines_sales_order"))
        batch_op.drop_index(batch_op.f("ix_ora_invoice_lines_customer_trx_id"))

    op.drop_table("ora_invoice_lines")
    with op.batch_alter_table("ora_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ora_accounts_source_system_source_ref"))
        batch_op.drop_index(batch_op.f("ix_ora_accounts_email"))
        batch_op.drop_index(batch_op.f("ix_ora_accounts_account_number"))

    op.drop_table("ora_accounts")
    with op.batch_alter_table("landing_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_landing_records_source_entity_date_upd"))
        batch_op.drop_index(batch_op.f("ix_landing_records_run_id_source_entity"))

    op.drop_table("landing_records")
    with op.batch_alter_table("landing_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_landing_history_run_id"))

    op.drop_table("landing_history")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_status_reason_class"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_source_entity_status"))

    op.drop_table("dead_letters")
