"""The small value helpers the staging modules share: canonical JSON, cursor ordering."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from prestaoracle.staging._common import canonical_json, order_key


def test_canonical_json_is_stable_and_total() -> None:
    a = {"b": [1, Decimal("2.50")], "a": datetime(2024, 1, 2, 3, 4, 5), 3: date(2024, 1, 2), "n": float("nan")}
    b = {3: date(2024, 1, 2), "n": float("nan"), "a": datetime(2024, 1, 2, 3, 4, 5), "b": [1, Decimal("2.50")]}
    assert canonical_json(a) == canonical_json(b)
    assert json.loads(canonical_json(a)) == {"3": "2024-01-02", "a": "2024-01-02T03:04:05", "b": [1, "2.50"],
                                             "n": "nan"}


def test_cursor_values_compare_by_meaning() -> None:
    assert order_key("9") < order_key("10")
    assert order_key("2024-01-02 03:04:05") == order_key("2024-01-02T03:04:05")
    assert order_key("2024-01-02T05:04:05+02:00") == order_key(datetime(2024, 1, 2, 3, 4, 5))
    assert order_key(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(seconds=1)) > order_key(
        "2024-01-02 03:04:05")
    assert order_key("0000-00-00 00:00:00")[0] == 2  # PrestaShop's zero date is text, not a date
