"""From GX's unexpected rows to one verdict per record: every broken rule listed, one reason class, keys in order."""

from __future__ import annotations

from prestaoracle.quality import entities
from prestaoracle.quality.gx_project import CheckOutcome, ExpectationOutcome
from prestaoracle.quality.outcomes import verdicts


def _outcome(check: str, rule: str, unexpected: list[dict]) -> CheckOutcome:
    expectation = ExpectationOutcome(rule=rule, expectation="expect_x", column="c", success=not unexpected,
                                     element_count=100, unexpected_count=len(unexpected), unexpected=unexpected)
    return CheckOutcome(check=check, kind="frame", suite=f"prestashop-orders-{check}", rows=100,
                        expectations=[expectation], result_id=None)


def test_a_record_breaking_several_rules_gets_one_verdict_listing_them_all() -> None:
    orders = entities.get("orders")
    found = verdicts(orders, [
        _outcome("order_lines", "line_quantity_positive", [
            {"id_order": 10, "id_order_detail": 101, "quantity": -2},
            {"id_order": 10, "id_order_detail": 102, "quantity": 0},
            {"id_order": 9, "id_order_detail": 90, "quantity": -1},
        ]),
        _outcome("orders_table", "cart_one_order", [{"id_order": 10, "references_per_cart": 2}]),
    ])
    assert list(found) == ["9", "10"], "keys in natural order"
    ten = found["10"]
    assert ten.rules == ["line_quantity_positive", "cart_one_order"]
    assert ten.reason_class == "duplicate", "the most specific class names the record (prestaoracle.reasons)"
    message = ten.message()
    assert message.startswith("failed 2 expectation(s): line_quantity_positive, cart_one_order")
    assert "id_order_detail=101, quantity=-2" in message and "id_order_detail=102, quantity=0" in message
    assert ten.how_to_fix().count("line_quantity_positive:") == 1, "one fix per rule, not per line"
    assert found["9"].reason_class == "invalid_data"


def test_composite_keys_join_their_parts() -> None:
    onhand = entities.get("onhand")
    found = verdicts(onhand, [_outcome("onhand", "onhand_not_negative", [
        {"org": "M2", "sku": "SKU-B", "quantity": -1}, {"org": "M1", "sku": "SKU-B", "quantity": -3}])])
    assert list(found) == ["M1|SKU-B", "M2|SKU-B"]
    assert found["M1|SKU-B"].findings[0].where == {"quantity": -3}
