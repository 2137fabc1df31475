"""Drop the secrets landed before land() dropped them (customer passwd hashes, secure keys, reset tokens, tokens).

Every landed payload is rewritten the way land() now writes it (``secrets.drop_secrets``, then canonical JSON and its
SHA-1); payloads without secrets stay as they are. In ``landing_history`` two versions that differed only by a
secret become one (the version already without it is kept).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 13:28:07.273143
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from prestaoracle.secrets import drop_secrets
from prestaoracle.staging._common import canonical_json, sha1_hex

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHUNK = 1000
KEY = ("source", "entity", "record_id")


def _table(name: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in (*KEY, "payload_sha1", "payload")))


def _rows(conn: sa.Connection, table: sa.TableClause, key: tuple[str, ...]):
    """Every row in key order, read in chunks (keyset), so rewriting rows behind the cursor is safe."""
    after = None
    while True:
        query = sa.select(table).order_by(*(table.c[k] for k in key)).limit(CHUNK)
        if after is not None:
            query = query.where(sa.tuple_(*(table.c[k] for k in key)) > sa.tuple_(*after))
        rows = conn.execute(query).mappings().all()
        if not rows:
            return
        yield from rows
        after = tuple(rows[-1][k] for k in key)


def _clean(payload: str) -> str:
    return canonical_json(drop_secrets(json.loads(payload)))


def upgrade() -> None:
    conn = op.get_bind()
    records = _table("landing_records")
    for row in _rows(conn, records, KEY):
        payload = _clean(row["payload"])
        if payload != row["payload"]:
            conn.execute(records.update().where(*(records.c[k] == row[k] for k in KEY))
                         .values(payload=payload, payload_sha1=sha1_hex(payload)))
    history = _table("landing_history")
    for row in _rows(conn, history, (*KEY, "payload_sha1")):
        payload = _clean(row["payload"])
        if payload == row["payload"]:
            continue
        sha = sha1_hex(payload)
        this = [history.c[k] == row[k] for k in (*KEY, "payload_sha1")]
        clean_twin = conn.execute(sa.select(sa.func.count()).select_from(history).where(
            *(history.c[k] == row[k] for k in KEY), history.c.payload_sha1 == sha)).scalar_one()
        if clean_twin:
            conn.execute(history.delete().where(*this))
        else:
            conn.execute(history.update().where(*this).values(payload=payload, payload_sha1=sha))


def downgrade() -> None:
    """Nothing to restore: the secrets are gone on purpose."""
