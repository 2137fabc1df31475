"""Add extraction checkpoints: the window in progress per source entity, so a failed extraction resumes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 12:37:38.633986
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extract_checkpoints",
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=False),
        sa.Column("window_since", sa.String(length=40), nullable=True, comment="UTC; NULL = from the beginning"),
        sa.Column("window_until", sa.String(length=40), nullable=False, comment="UTC"),
        sa.Column(
            "position",
            sa.String(length=200),
            nullable=True,
            comment="after what the window resumes: an id, or LastUpdateDate|id",
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.PrimaryKeyConstraint("source", "entity", name=op.f("pk_extract_checkpoints")),
        comment="The extraction window in progress per source entity, saved with every committed chunk.",
    )


def downgrade() -> None:
    op.drop_table("extract_checkpoints")
