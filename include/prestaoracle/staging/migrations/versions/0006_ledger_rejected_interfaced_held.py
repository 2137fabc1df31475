"""Ledger outcomes for the order flow: ``rejected`` (the target refused the record for a business rule),
``interfaced`` (in the EBS Order Import interface, waiting for the import program) and ``held`` (held back by a gate
of the flow, looked at again every run).

Only the CHECK constraint changes; it is rewritten by hand (autogenerate does not compare CHECK constraints).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 15:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD = "outcome IN ('created', 'updated', 'skipped', 'failed', 'pending')"
NEW = "outcome IN ('created', 'updated', 'skipped', 'failed', 'pending', 'rejected', 'interfaced', 'held')"


def _check(condition: str) -> None:
    with op.batch_alter_table("sync_ledger", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sync_ledger_outcome"), type_="check")
        batch_op.create_check_constraint(op.f("ck_sync_ledger_outcome"), condition)


def upgrade() -> None:
    _check(NEW)


def downgrade() -> None:
    op.execute("UPDATE sync_ledger SET outcome = 'failed' WHERE outcome IN ('rejected', 'interfaced', 'held')")
    _check(OLD)
