"""Mapping tables (xref binder, lookup_values, currency_rates), dq_status on every canonical table, and the
cost center the mapping enriches customers with.

dq_status is written 'pending' by the mapping and set to 'passed' or 'quarantined' by the data-quality gate;
existing rows start 'pending' so the gate looks at them once. The CHECK constraint is written by hand
(autogenerate does not compare CHECK constraints).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:41:19.795951
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CANONICAL = (
    "ps_orders", "ps_order_lines", "ps_customers", "ps_addresses", "ps_products", "ps_combinations", "ps_stock",
    "ps_order_payments", "ps_order_slips", "ps_order_carriers", "ps_order_histories",
    "ora_sales_orders", "ora_order_lines", "ora_onhand", "ora_prices", "ora_shipment_lines", "ora_invoices",
    "ora_invoice_lines", "ora_receipts", "ora_accounts",
)  # fmt: skip
DQ_CHECK = "dq_status IN ('pending', 'passed', 'quarantined')"


def upgrade() -> None:
    op.create_table(
        "currency_rates",
        sa.Column("source", sa.String(length=3), nullable=False),
        sa.Column("target", sa.String(length=3), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=20, scale=10), nullable=False, comment="target units per source unit"),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("rate > 0", name=op.f("ck_currency_rates_rate_positive")),
        sa.PrimaryKeyConstraint("source", "target", "valid_from", name=op.f("pk_currency_rates")),
        comment="Exchange rates for the mapping's currency conversion, by the day they take effect.",
    )
    op.create_table(
        "lookup_values",
        sa.Column("lookup", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("lookup", "key", name=op.f("pk_lookup_values")),
        comment="Many-to-one lookup pairs added by operators; they win over the mapping configuration.",
    )
    op.create_table(
        "xref",
        sa.Column("system", sa.String(length=50), nullable=False, comment="whose id external_id is, e.g. prestashop"),
        sa.Column("entity", sa.String(length=50), nullable=False, comment="e.g. sku (product:combination), customer"),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=50), nullable=False, comment="e.g. oracle"),
        sa.Column("target_id", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("system", "entity", "external_id", "target", name=op.f("pk_xref")),
        sa.UniqueConstraint(
            "system", "entity", "target", "target_id", name=op.f("uq_xref_system_entity_target_target_id")
        ),
        comment="Binder: one external id <-> one target id per (system, entity, target), unique both ways.",
    )
    with op.batch_alter_table("ps_customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cost_center",
                sa.String(length=50),
                nullable=True,
                comment="enriched by the mapping from the customer group",
            )
        )
    for table in CANONICAL:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "dq_status",
                    sa.String(length=12),
                    server_default="pending",
                    nullable=False,
                    comment="pending until the data-quality gate says passed or quarantined",
                )
            )
            batch_op.create_check_constraint(op.f(f"ck_{table}_dq_status"), DQ_CHECK)
            batch_op.create_index(batch_op.f(f"ix_{table}_dq_status"), ["dq_status"], unique=False)


def downgrade() -> None:
    for table in reversed(CANONICAL):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_dq_status"))
            batch_op.drop_constraint(op.f(f"ck_{table}_dq_status"), type_="check")
            batch_op.drop_column("dq_status")
    with op.batch_alter_table("ps_customers", schema=None) as batch_op:
        batch_op.drop_column("cost_center")
    op.drop_table("xref")
    op.drop_table("lookup_values")
    op.drop_table("currency_rates")
