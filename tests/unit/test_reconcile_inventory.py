"""The inventory rule on hand-built frames: quantity measure, organizations, buffer, backorders, rows never written,
SKU linking (binder first, then references) and what exists on one side only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prestaoracle.flows.inventory import InventoryConfigError, load_config, mode_for
from prestaoracle.reconcile.inventory import InventoryRule, oracle_targets, reconcile, restrict

NO_XREF = pd.DataFrame({"external_id": pd.Series(dtype="string"), "target_id": pd.Series(dtype="string")})


def stock(*rows: tuple) -> pd.DataFrame:
    """(id_stock_available, id_product, id_product_attribute, sku, quantity[, depends_on_stock, out_of_stock])"""
    full = [(*r, *(False, 2)[len(r) - 5:]) if len(r) < 7 else r for r in rows]
    return pd.DataFrame(full, columns=["id_stock_available", "id_product", "id_product_attribute", "sku", "quantity",
                                       "depends_on_stock", "out_of_stock"])


def onhand(*rows: tuple) -> pd.DataFrame:
    """(org, sku, quantity, available)"""
    return pd.DataFrame(rows, columns=["org", "sku", "quantity", "available"])


def decided(result) -> dict[int, tuple[str, object, object]]:
    """id_stock_available -> (section, reason or None, new quantity or None)."""
    return {int(r.id_stock_available): (r.section, None if pd.isna(r.reason) else r.reason,
                                        None if pd.isna(r.new_qty) else int(r.new_qty))
            for r in result.rows.itertuples()}


def test_available_falls_back_to_onhand_and_onhand_ignores_available() -> None:
    frame = onhand(("M1", "A", 10.0, 3.0), ("M1", "B", 8.0, np.nan))
    available, _ = oracle_targets(frame, InventoryRule(measure="available"))
    on_hand, _ = oracle_targets(frame, InventoryRule(measure="onhand"))
    assert dict(zip(available["item"], available["new_qty"], strict=True)) == {"A": 3, "B": 8}
    assert dict(zip(on_hand["item"], on_hand["new_qty"], strict=True)) == {"A": 10, "B": 8}


def test_organizations_are_summed_and_others_ignored() -> None:
    frame = onhand(("M1", "A", 5.0, None), ("V1", "A", 4.0, None), ("Z9", "A", 100.0, None), ("V1", "B", 2.0, None))
    both, _ = oracle_targets(frame, InventoryRule(orgs=("M1", "V1")))
    one, _ = oracle_targets(frame, InventoryRule(orgs=("M1",)))
    assert both.set_index("item")[["new_qty", "orgs"]].to_dict("index") == {
        "A": {"new_qty": 9, "orgs": "M1,V1"}, "B": {"new_qty": 2, "orgs": "V1"}}
    assert one.set_index("item")["new_qty"].to_dict() == {"A": 5}


def test_safety_buffer_is_subtracted_floored_at_zero_in_whole_units() -> None:
    frame = onhand(("M1", "A", 10.0, None), ("M1", "B", 2.0, None), ("M1", "C", 7.9, None), ("M1", "D", 2.9999999999,
                                                                                             None))
    targets, _ = oracle_targets(frame, InventoryRule(safety_buffer=3))
    assert targets.set_index("item")["new_qty"].to_dict() == {"A": 7, "B": 0, "C": 4, "D": 0}
    plain, _ = oracle_targets(frame, InventoryRule())
    assert plain.set_index("item")["new_qty"].to_dict() == {"A": 10, "B": 2, "C": 7, "D": 3}


def test_a_negative_or_missing_oracle_quantity_sets_the_whole_item_aside() -> None:
    frame = onhand(("M1", "A", 5.0, -1.0), ("V1", "A", 4.0, None), ("M1", "B", np.nan, None), ("M1", "C", 1.0, None))
    targets, invalid = oracle_targets(frame, InventoryRule(orgs=("M1", "V1")))
    assert list(targets["item"]) == ["C"]
    assert sorted(zip(invalid["org"], invalid["sku"], invalid["problem"], strict=True)) == [
        ("M1", "A", "negative available quantity"), ("M1", "B", "no available quantity")]
    result = reconcile(stock((1, 1, 0, "A", 3), (2, 2, 0, "C", 0)), frame, NO_XREF, InventoryRule(orgs=("M1", "V1")))
    assert decided(result) == {1: ("skipped", "invalid_oracle_quantity", None), 2: ("write", None, 1)}


def test_only_differences_are_written() -> None:
    result = reconcile(stock((1, 1, 0, "A", 5), (2, 2, 0, "B", 4)), onhand(("M1", "A", 7.0, None), ("M1", "B", 4.0,
                                                                                                     None)),
                       NO_XREF, InventoryRule())
    assert decided(result) == {1: ("write", None, 7), 2: ("unchanged", None, 4)}
    assert list(result.changes["id_stock_available"]) == [1]


@pytest.mark.parametrize(("policy", "default_allows", "oracle", "expected"), [
    (1, False, 0.0, ("skipped", "backorders_kept", 0)),  # allows backorders: the count of what is owed stays
    (1, False, 5.0, ("write", None, 5)),  # stock arrived: Oracle's figure wins
    (0, False, 0.0, ("write", None, 0)),  # denies backorders: a negative count is only wrong
    (2, True, 0.0, ("skipped", "backorders_kept", 0)),  # the shop's default allows them
    (2, False, 0.0, ("write", None, 0)),  # the shop's default denies them
])
def test_negative_shop_quantity_of_a_product_allowing_backorders(policy: int, default_allows: bool, oracle: float,
                                                                 expected: tuple) -> None:
    result = reconcile(stock((1, 1, 0, "A", -3, False, policy)), onhand(("M1", "A", oracle, None)), NO_XREF,
                       InventoryRule(default_allows_backorders=default_allows))
    assert decided(result) == {1: expected}


def test_rows_that_depend_on_stock_are_not_written() -> None:
    result = reconcile(stock((1, 1, 0, "A", 5, True, 2), (2, 2, 0, "B", 5, False, 2)),
                       onhand(("M1", "A", 9.0, None), ("M1", "B", 9.0, None)), NO_XREF, InventoryRule())
    assert decided(result) == {1: ("skipped", "depends_on_stock", 9), 2: ("write", None, 9)}


def test_the_product_row_of_a_product_with_combinations_is_not_written() -> None:
    rows = stock((1, 1, 0, "P1", 9), (2, 1, 11, "P1-S", 4), (3, 1, 12, "P1-M", 5), (4, 2, 0, "P2", 1),
                 (5, 3, 0, "P3", 1))
    result = reconcile(rows, onhand(("M1", "P1", 20.0, None), ("M1", "P1-S", 6.0, None), ("M1", "P1-M", 5.0, None),
                                    ("M1", "P2", 3.0, None), ("M1", "P3", 3.0, None)),
                       NO_XREF, InventoryRule(), products_with_combinations=[2])  # product 2's combinations unstaged
    assert decided(result) == {1: ("skipped", "combination_parent", 20), 2: ("write", None, 6),
                               3: ("unchanged", None, 5), 4: ("skipped", "combination_parent", 3),
                               5: ("write", None, 3)}
    assert result.oracle_only.empty


def test_skus_on_one_side_only() -> None:
    result = reconcile(stock((1, 1, 0, "A", 5), (2, 2, 0, "SHOP-ONLY", 5), (3, 3, 0, None, 2), (4, 4, 0, "  ", 2)),
                       onhand(("M1", "A", 5.0, None), ("M1", "ORACLE-ONLY", 4.0, None)), NO_XREF, InventoryRule())
    assert decided(result) == {1: ("unchanged", None, 5), 2: ("shop_only", None, None), 3: ("shop_only", None, None),
                               4: ("shop_only", None, None)}
    assert result.oracle_only[["item", "new_qty"]].to_dict("records") == [{"item": "ORACLE-ONLY", "new_qty": 4}]
    assert result.counts["shop_only"] == 3 and result.counts["oracle_only"] == 1


def test_the_binder_wins_over_references_and_shared_references_are_ambiguous() -> None:
    xref = pd.DataFrame({"external_id": ["1:0"], "target_id": ["ITEM-B"]})
    rows = stock((1, 1, 0, "ITEM-A", 1), (2, 2, 0, "ITEM-B", 1), (3, 3, 0, "DUP", 1), (4, 4, 0, "DUP", 1))
    result = reconcile(rows, onhand(("M1", "ITEM-A", 7.0, None), ("M1", "ITEM-B", 8.0, None), ("M1", "DUP", 9.0,
                                                                                               None)),
                       xref, InventoryRule())
    # row 1 is bound to ITEM-B; row 2's reference names an item the binder gave to row 1
    assert decided(result) == {1: ("write", None, 8), 2: ("shop_only", None, None),
                               3: ("skipped", "ambiguous_sku", 9), 4: ("skipped", "ambiguous_sku", 9)}
    assert list(result.rows.set_index("id_stock_available")["link"].loc[[1, 3]]) == ["xref", "reference"]
    assert list(result.oracle_only["item"]) == ["ITEM-A"]


def test_restrict_keeps_changed_items_and_rows_to_retry() -> None:
    result = reconcile(stock((1, 1, 0, "A", 1), (2, 2, 0, "B", 1), (3, 3, 0, "C", 1), (4, 4, 0, "S", 1)),
                       onhand(("M1", "A", 2.0, None), ("M1", "B", 2.0, None), ("M1", "C", 2.0, None),
                              ("M1", "O", 2.0, None), ("M1", "Q", 2.0, None)), NO_XREF, InventoryRule())
    delta = restrict(result, items={"A", "O"}, stock_ids=[3])
    assert sorted(delta.rows["id_stock_available"]) == [1, 3]
    assert list(delta.oracle_only["item"]) == ["O"]
    assert delta.counts["write"] == 2 and delta.counts["oracle_only"] == 1


@pytest.mark.parametrize("kwargs", [{"measure": "reserved"}, {"orgs": ()}, {"orgs": ("",)}, {"safety_buffer": -1},
                                    {"safety_buffer": 1.5}])
def test_a_wrong_rule_says_what_to_write(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="quantity\\."):
        InventoryRule(**kwargs)


def test_configuration_file_and_its_mistakes(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("quantity: {measure: onhand, orgs: M1, safety_buffer: 2}\nwrites: {max_writes_per_run: 3}\n"
                    "full_run_hour: 6\n")
    config = load_config(environ={"PRESTAORACLE_INVENTORY_CONFIG": str(good)})
    assert (config.rule.measure, config.rule.orgs, config.rule.safety_buffer) == ("onhand", ("M1",), 2)
    assert (config.max_writes_per_run, config.batch_size, config.full_run_hour) == (3, 50, 6)
    for text, where in (("writes: {batch_size: 0}", "writes.batch_size"), ("quantity: {measure: x}", "measure"),
                        ("full_run_hour: 25", "full_run_hour"), ("writes: [1]", "writes must be a mapping")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(InventoryConfigError, match=where):
            load_config(bad)
    with pytest.raises(InventoryConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


def test_several_organizations_are_summed_and_staging_reads_each(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # the staging extraction of on-hand reads the organizations the rule sums, no more and no fewer
    from prestaoracle.flows.staging import _oracle_options

    config = tmp_path / "two.yaml"
    config.write_text("quantity: {orgs: [M1, ' V1']}\n")
    assert load_config(config).rule.orgs == ("M1", "V1")
    monkeypatch.delenv("PRESTAORACLE_INVENTORY_CONFIG", raising=False)
    assert _oracle_options("onhand") == {"organization": ("M1",)}  # the packaged default
    monkeypatch.setenv("PRESTAORACLE_INVENTORY_CONFIG", str(config))
    assert _oracle_options("onhand") == {"organization": ("M1", "V1")}
    assert _oracle_options("prices") == {}
    config.write_text("quantity: {orgs: []}\n")
    with pytest.raises(InventoryConfigError, match="at least one Oracle organization"):
        load_config(config)


def test_the_run_ending_at_the_full_run_hour_is_full() -> None:
    config = load_config()
    assert mode_for("auto", datetime(2026, 3, 1, 0, 0, tzinfo=UTC), config=config) == "full"
    assert mode_for(None, datetime(2026, 3, 1, 1, 0, tzinfo=UTC), config=config) == "delta"
    assert mode_for("full", datetime(2026, 3, 1, 1, 0, tzinfo=UTC), config=config) == "full"
    assert mode_for("delta", datetime(2026, 3, 1, 0, 0, tzinfo=UTC), config=config) == "delta"
    with pytest.raises(ValueError, match="auto, delta or full"):
        mode_for("weekly", None, config=config)
