"""The batch in hand: only pending rows, their children, and the derived columns the money and country rules read."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from prestaoracle.quality import entities, frames
from prestaoracle.staging import Staging, connect


@pytest.fixture()
def staging(tmp_path: Path) -> Staging:
    st = connect(tmp_path / "staging.db", upgrade=True)
    yield st
    st.dispose()


def _order(id_order: int, paid_incl: float, paid_excl: float, **extra: object) -> dict:
    return {"id_order": id_order, "reference": f"REF{id_order}", "total_paid_tax_incl": paid_incl,
            "total_paid_tax_excl": paid_excl, "total_shipping_tax_incl": 6.0, "total_shipping_tax_excl": 5.0,
            "total_discounts_tax_incl": 1.2, "total_discounts_tax_excl": 1.0, "total_wrapping_tax_incl": None,
            "total_wrapping_tax_excl": None, "note": "  ", **extra}


def _line(id_detail: int, id_order: int, incl: float, excl: float) -> dict:
    return {"id_order_detail": id_detail, "id_order": id_order, "sku": "PS-1", "quantity": 1,
            "total_price_tax_incl": incl, "total_price_tax_excl": excl}


def test_orders_frame_sums_lines_shipping_and_discounts(staging: Staging) -> None:
    staging.upsert("ps_orders", [
        _order(1, 36.0 + 6.0 - 1.2, 30.0 + 5.0 - 1.0),        # adds up
        _order(2, 36.0 + 6.0 - 1.2 + 5.0, 30.0 + 5.0 - 1.0),  # 5.00 too much, tax incl. only
        _order(3, 10.0, 8.0),                                  # no lines
        _order(4, 1.0, 1.0),                                   # already validated: not in the batch
    ], "id_order")
    staging.upsert("ps_order_lines", [_line(10, 1, 24.0, 20.0), _line(11, 1, 12.0, 10.0), _line(20, 2, 36.0, 30.0),
                                      _line(40, 4, 1.0, 1.0)], "id_order_detail")
    with staging.transaction() as tx:
        tx.execute(sa.text("UPDATE ps_orders SET dq_status = 'passed' WHERE id_order = 4"))
    with staging.engine.connect() as conn:
        rows, batches = frames.frames(conn, entities.get("orders"))
    orders = batches["orders"].set_index("id_order")
    assert list(rows["id_order"]) == [1, 2, 3]
    assert list(batches["order_lines"]["id_order_detail"]) == [10, 11, 20]
    assert orders.loc[1, "totals_gap_tax_incl"] == 0 and orders.loc[1, "totals_gap_tax_excl"] == 0
    assert orders.loc[2, "totals_gap_tax_incl"] == pytest.approx(5.0) and orders.loc[2, "totals_gap_tax_excl"] == 0
    assert orders.loc[3, "line_count"] == 0 and math.isnan(orders.loc[3, "totals_gap_tax_incl"])
    assert orders.loc[1, "line_count"] == 2
    assert orders["note"].isna().all(), "blank strings are missing values"
    assert "totals_gap_tax_incl" not in rows, "the rows as read stay as read (they become dead-letter payloads)"


def test_addresses_frame_tells_no_country_from_a_country_without_code(staging: Staging) -> None:
    staging.upsert("ps_addresses", [
        {"id_address": 1, "id_country": 8, "country_iso": "FR"},
        {"id_address": 2, "id_country": None, "country_iso": None},  # the shop's id_country 0
        {"id_address": 3, "id_country": 12, "country_iso": None},    # a country the mapping found no code for
    ], "id_address")
    with staging.engine.connect() as conn:
        _rows, batches = frames.frames(conn, entities.get("addresses"))
    addresses = batches["addresses"].set_index("id_address")
    assert list(addresses["has_country"]) == [True, False, True]
    assert addresses.loc[1, "country_code"] == "FR"
    assert pd.isna(addresses.loc[2, "country_code"])
    assert addresses.loc[3, "country_code"] == ""


def test_records_are_plain_python_values(staging: Staging) -> None:
    staging.upsert("ps_customers", [{"id_customer": 7, "email": "a@b.fr", "birthday": None}], "id_customer")
    with staging.engine.connect() as conn:
        rows, _ = frames.frames(conn, entities.get("customers"))
    (record,) = frames.records(rows)
    assert record["id_customer"] == 7 and type(record["id_customer"]) is int
    assert record["birthday"] is None and record["email"] == "a@b.fr"
