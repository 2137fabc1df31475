"""EBS stand-in: two pending interface copies of one order make Order Import flag the duplicate line references
(OE_DUPLICATE_LINE_REF) instead of crashing, as the real program reports it in OE_PROCESSING_MSGS."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from prestaoracle.sandbox.ebs import create_schema, run_order_import
from prestaoracle.sandbox.ebs import schema as s


def test_a_line_reference_used_twice_is_an_import_error_not_a_crash(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ebs.db'}")
    create_schema(engine)
    from datetime import datetime

    who = {"created_by": -1, "creation_date": datetime(2026, 12, 1), "last_updated_by": -1,
           "last_update_date": datetime(2026, 12, 1)}
    header = {**who, "order_source_id": 1001, "orig_sys_document_ref": "PS1-7", "org_id": 204,
              "operation_code": "INSERT", "transactional_curr_code": "EUR", "sold_to_org_id": 1}
    line = {**who, "order_source_id": 1001, "orig_sys_document_ref": "PS1-7", "orig_sys_line_ref": "PS1-7-1",
            "org_id": 204, "operation_code": "INSERT", "inventory_item": "SKU-1", "ordered_quantity": 1}
    with engine.begin() as conn:
        conn.execute(s.OE_HEADERS_IFACE_ALL.insert(), [header])
        conn.execute(s.OE_LINES_IFACE_ALL.insert(), [line, dict(line)])
    result = run_order_import(engine)
    messages = [m.text for failed in result.failed for m in failed.messages]
    assert any("PS1-7-1 is used more than once" in text for text in messages), messages
    engine.dispose()
