"""Landing records remember which version the mapping wrote (``mapped_sha1``).

``map_landed`` maps the landing rows whose ``mapped_sha1`` is NULL or differs from ``payload_sha1``, whatever run
landed them, so records landed by a run that failed before its map step are mapped by the next run. Existing rows
start NULL: the first map after the upgrade reads them all once (rows that map to what the tables hold are not
rewritten), which also maps anything an earlier failed run left behind.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 14:17:58.412241
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("landing_records", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "mapped_sha1",
                sa.String(length=40),
                nullable=True,
                comment="payload_sha1 of the version map_landed last wrote to its canonical table; NULL: never mapped",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("landing_records", schema=None) as batch_op:
        batch_op.drop_column("mapped_sha1")
