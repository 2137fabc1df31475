"""The price reconciliation's rules on small hand-built frames: which list and lines count, the tolerance, the guard
rail and its approvals, a combination's impact following its product's new price, and how SKUs find shop records."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from prestaoracle.reconcile.prices import (
    PriceListError,
    PriceRules,
    reconcile_prices,
    select_prices,
    shop_items,
)

NOW = datetime(2026, 12, 3, 12, 0)
EUR = PriceRules(currency="EUR")


def _line(sku: str, price: float, currency: str = "EUR", name: str = "Webshop EUR", start: str | None = "2026-01-01",
          end: str | None = None) -> dict:
    return {"price_list": name, "price_list_id": 100 + (currency != "EUR"), "currency": currency, "sku": sku,
            "base_price": price, "start_date": pd.Timestamp(start) if start else pd.NaT,
            "end_date": pd.Timestamp(end) if end else pd.NaT}


def _prices(*rows: tuple) -> pd.DataFrame:
    """One staged price line per ``(sku, price[, currency, list, start, end])`` (see :func:`_line`)."""
    return pd.DataFrame([_line(*row) for row in rows])


def _shop(products: list[tuple], combinations: list[tuple] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """products: (id_product, sku, price); combinations: (id_product_attribute, id_product, sku, impact)"""
    p = pd.DataFrame(products, columns=["id_product", "sku", "price"])
    c = pd.DataFrame(list(combinations), columns=["id_product_attribute", "id_product", "sku", "price"])
    return p, c


def _run(products, combinations, prices, rules=EUR, xref=None):
    chosen, name, currency = select_prices(prices, rules=rules, now=NOW)
    return reconcile_prices(shop_items(products, combinations, xref), chosen, rules=rules, price_list=name,
                            currency=currency)


def _by_sku(result) -> dict[str, dict]:
    return {r["sku"]: r for r in result.changes.to_dict("records")}


def test_differences_within_half_a_cent_are_not_changes() -> None:
    products, combinations = _shop([(1, "A", 10.0), (2, "B", 10.0), (3, "C", 10.0)])
    result = _run(products, combinations, _prices(("A", 10.005), ("B", 10.006), ("C", 9.994)))
    assert sorted(result.changes["sku"]) == ["B", "C"]
    assert _by_sku(result)["B"]["new"] == pytest.approx(10.006)
    assert result.compared == 3


def test_guard_rail_holds_changes_above_the_percentage_and_from_zero() -> None:
    products, combinations = _shop([(1, "UP20", 10.0), (2, "UP20PLUS", 10.0), (3, "DOWN20", 10.0),
                                    (4, "DOWN21", 10.0), (5, "ZERO", 0.0)])
    prices = _prices(("UP20", 12.0), ("UP20PLUS", 12.01), ("DOWN20", 8.0), ("DOWN21", 7.9), ("ZERO", 5.0))
    got = _by_sku(_run(products, combinations, prices))
    assert {s: r["action"] for s, r in got.items()} == {"UP20": "push", "UP20PLUS": "held", "DOWN20": "push",
                                                        "DOWN21": "held", "ZERO": "held"}
    assert got["UP20"]["pct"] == 20.0 and got["DOWN21"]["pct"] == pytest.approx(21.0)
    assert got["ZERO"]["pct"] == float("inf")

    looser = _by_sku(_run(products, combinations, prices, rules=PriceRules(currency="EUR", max_change_pct=25)))
    assert {s for s, r in looser.items() if r["action"] == "held"} == {"ZERO"}


def test_approved_skus_pass_the_guard_rail() -> None:
    products, combinations = _shop([(1, "A", 10.0), (2, "B", 10.0)], [(7, 2, "B-RED", 0.0)])
    rules = PriceRules(currency="EUR", approve=frozenset({"A", "B-RED"}))
    got = _by_sku(_run(products, combinations, _prices(("A", 20.0), ("B", 20.0), ("B-RED", 30.0)), rules=rules))
    assert (got["A"]["action"], got["A"]["approved"]) == ("push", True)
    assert (got["B"]["action"], got["B"]["approved"]) == ("held", False)
    # B is held, so B-RED's impact is taken over B's old price, and its own +200% is approved
    assert (got["B-RED"]["action"], got["B-RED"]["new"]) == ("push", 20.0)


def test_a_combination_impact_follows_its_products_new_price() -> None:
    products, combinations = _shop([(1, "P", 10.0)], [(11, 1, "P-S", 2.0), (12, 1, "P-M", 3.0), (13, 1, "P-L", 4.0)])
    # P +10 %: P-S keeps its full price 12 (new impact 1); P-M moves 13 -> 14.3; P-L is held (+25 %)
    prices = _prices(("P", 11.0), ("P-S", 12.0), ("P-M", 14.3), ("P-L", 17.5))
    result = _run(products, combinations, prices)
    got = _by_sku(result)
    assert list(result.changes["sku"]) == ["P", "P-S", "P-M", "P-L"], "a product before its combinations"
    assert (got["P"]["new"], got["P-S"]["new"], got["P-M"]["new"]) == (11.0, 1.0, pytest.approx(3.3))
    assert (got["P-S"]["pct"], got["P-S"]["action"]) == (0.0, "push")
    assert got["P-M"]["pct"] == pytest.approx(10.0)
    assert (got["P-L"]["action"], got["P-L"]["old_price"], got["P-L"]["new_price"]) == ("held", 14.0, 17.5)

    # the product held: impacts are computed over its old price
    held = _by_sku(_run(products, combinations, _prices(("P", 15.0), ("P-S", 12.0), ("P-M", 13.0), ("P-L", 14.0))))
    assert set(held) == {"P"} and held["P"]["action"] == "held"


def test_only_the_shop_currency_list_is_used_and_several_need_a_name() -> None:
    products, combinations = _shop([(1, "A", 10.0)])
    both = pd.concat([_prices(("A", 11.0)), _prices(("A", 99.0, "USD", "Webshop USD"))], ignore_index=True)
    result = _run(products, combinations, both)
    assert (result.price_list, result.currency, _by_sku(result)["A"]["new"]) == ("Webshop EUR", "EUR", 11.0)

    two = pd.concat([both, _prices(("A", 12.0, "EUR", "Outlet EUR"))], ignore_index=True)
    with pytest.raises(PriceListError, match="several .* EUR: Outlet EUR, Webshop EUR; name"):
        _run(products, combinations, two)
    named = _run(products, combinations, two, rules=PriceRules(currency="EUR", price_list="Outlet EUR"))
    assert _by_sku(named)["A"]["new"] == 12.0

    with pytest.raises(PriceListError, match="no staged Oracle price list is in the shop currency GBP"):
        _run(products, combinations, both, rules=PriceRules(currency="GBP"))
    with pytest.raises(PriceListError, match="'Nope' is not in the staged"):
        _run(products, combinations, both, rules=PriceRules(currency="EUR", price_list="Nope"))


def test_a_list_in_another_currency_is_converted_or_refused() -> None:
    products, combinations = _shop([(1, "A", 10.0)])
    usd = _prices(("A", 11.0, "USD", "Webshop USD"))
    by_id = PriceRules(currency="EUR", price_list="101", rates={"USD": 0.5})  # named by its id
    assert _by_sku(_run(products, combinations, usd, rules=by_id))["A"]["new"] == 5.5
    with pytest.raises(PriceListError, match="no rate converts it"):
        _run(products, combinations, usd, rules=PriceRules(currency="EUR", price_list="Webshop USD"))


def test_only_lines_valid_now_count() -> None:
    products, combinations = _shop([(1, "OPEN", 10.0), (2, "ENDED", 10.0), (3, "FUTURE", 10.0), (4, "ENDS_NOW", 10.0),
                                    (5, "NEWER", 10.0)])
    prices = _prices(("OPEN", 11.0, "EUR", "Webshop EUR", None, None),
                     ("ENDED", 11.0, "EUR", "Webshop EUR", "2026-01-01", "2026-12-01"),
                     ("FUTURE", 11.0, "EUR", "Webshop EUR", "2026-12-04", None),
                     ("ENDS_NOW", 11.0, "EUR", "Webshop EUR", "2026-01-01", "2026-12-03 12:00"),
                     ("NEWER", 11.0, "EUR", "Webshop EUR", "2026-01-01", "2027-01-01"))
    result = _run(products, combinations, prices)
    assert sorted(result.changes["sku"]) == ["NEWER", "OPEN"]
    assert sorted(result.no_oracle_price["sku"]) == ["ENDED", "ENDS_NOW", "FUTURE"]


def test_skus_resolve_through_the_binder_then_combination_then_product_references() -> None:
    # product 4 carries as reference the SKU the binder gives product 3: the binder wins
    products, combinations = _shop([(1, "P1", 10.0), (2, "SAME", 10.0), (3, "OLD-REF", 10.0), (4, "ORA-3", 10.0)],
                                   [(21, 2, "SAME", 1.0)])
    xref = pd.DataFrame({"external_id": ["3:0"], "target_id": ["ORA-3"]})
    prices = _prices(("P1", 10.0), ("SAME", 13.0), ("ORA-3", 11.0), ("OLD-REF", 50.0), ("NOT-SOLD", 5.0))
    result = _run(products, combinations, prices, xref=xref)
    got = _by_sku(result)
    assert set(got) == {"SAME", "ORA-3"}
    assert (got["SAME"]["resource"], got["SAME"]["id"], got["SAME"]["new"]) == ("combinations", 21, 3.0)
    assert (got["ORA-3"]["id"], got["ORA-3"]["shop_sku"], got["ORA-3"]["new"]) == (3, "OLD-REF", 11.0)
    assert sorted(result.no_shop_product["sku"]) == ["NOT-SOLD", "OLD-REF"]
    assert list(result.no_oracle_price["id"]) == [2, 4], "product 2's reference belongs to its combination"

    # a bound record is approved by its Oracle SKU or by its shop reference
    for approve in ({"ORA-3"}, {"OLD-REF"}):
        rules = PriceRules(currency="EUR", approve=frozenset(approve))
        pushed = _by_sku(_run(products, combinations, _prices(("ORA-3", 50.0)), rules=rules, xref=xref))
        assert (pushed["ORA-3"]["action"], pushed["ORA-3"]["approved"]) == ("push", True)


def test_a_priced_combination_whose_product_was_not_staged_is_a_gap_with_its_reason() -> None:
    # product 2 did not pass the quality gate: its combination 21 has no base price to compute an impact from
    products, combinations = _shop([(1, "P1", 10.0)], [(11, 1, "P1-RED", 1.0), (21, 2, "P2-RED", 1.0)])
    result = _run(products, combinations, _prices(("P1", 10.0), ("P1-RED", 12.0), ("P2-RED", 14.0), ("GONE", 3.0)))
    assert list(result.changes["sku"]) == ["P1-RED"]
    gaps = {r["sku"]: r for r in result.no_shop_product.to_dict("records")}
    assert set(gaps) == {"GONE", "P2-RED"}
    assert (gaps["P2-RED"]["resource"], gaps["P2-RED"]["id"], gaps["P2-RED"]["id_product"]) == ("combinations", 21, 2)
    assert "quality gate" in gaps["P2-RED"]["reason"] and "no shop product" in gaps["GONE"]["reason"]
    assert result.compared == 2
