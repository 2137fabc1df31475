"""The run report: file names safe for any run id, HTML escaped, the same numbers in HTML and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from prestaoracle.quality import report


def _summary(**extra: object) -> dict:
    summary = {
        "entity": "orders", "source": "prestashop", "table": "ps_orders",
        "run_id": "scheduled__2026-03-01T00:15:00+00:00",
        "validated_at": "2026-03-01T00:16:02", "rows_in": 12, "passed": 9, "quarantined": 3,
        "quarantined_by_reason": {"retryable": 0, "invalid_data": 2, "mapping_missing": 0, "business_rule": 0,
                                  "duplicate": 1},
        "quarantined_by_rule": {"email_format": 2, "cart_one_order": 1},
        "checks": [{"check": "orders", "kind": "frame", "suite": "prestashop-orders-orders", "rows": 12,
                    "data_docs_page": "file:///gx/page.html",
                    "expectations": [{"rule": "email_format", "expectation": "expect_column_values_to_match_regex",
                                      "column": "email", "success": False, "element_count": 12,
                                      "unexpected_count": 2}]}],
        "quarantined_records": [{"key": "<script>alert(1)</script>", "reason_class": "invalid_data",
                                 "rules": ["email_format"], "message": "email_format: bad", "how_to_fix": "fix it"}],
        "data_docs_index": "/gx/index.html", "data_docs_index_url": "file:///gx/index.html",
    }
    summary.update(extra)
    return summary


def test_file_names_keep_the_run_id_readable_but_safe() -> None:
    assert report.file_stem("orders", "scheduled__2026-03-01T00:15:00+00:00") == \
        "orders-scheduled__2026-03-01T00_15_00_00_00"
    assert "/" not in report.file_stem("orders", "../../etc/passwd")


def test_html_and_json_carry_the_same_numbers(tmp_path: Path) -> None:
    html_path, json_path = report.write(tmp_path / "reports", _summary())
    assert html_path.name == "orders-scheduled__2026-03-01T00_15_00_00_00.html"
    data = json.loads(json_path.read_text(encoding="utf-8"))
    html = html_path.read_text(encoding="utf-8")
    assert (data["rows_in"], data["passed"], data["quarantined"]) == (12, 9, 3)
    for label, n in (("Rows in", 12), ("Passed", 9), ("Quarantined", 3)):
        assert f"<th>{label}</th><td class=\"n" in html and f">{n}</td>" in html
    assert "<td>email_format</td><td class=\"n\">2</td>" in html
    assert 'href="file:///gx/page.html"' in html and 'href="file:///gx/index.html"' in html


def test_html_escapes_what_comes_from_the_shop(tmp_path: Path) -> None:
    html_path, _ = report.write(tmp_path, _summary())
    html = html_path.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
