"""Normalisation gives the same typed record whatever spelling the shop uses (8.1 ints, 8.2 strings, dropped
falsy fields of single objects), never guesses, and never touches the raw payload kept for landing."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from conftest import FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from prestaoracle.prestashop import FIELD_KINDS, Kind, NormalizationError, normalize_record
from prestaoracle.prestashop.normalize import ASSOCIATION_KINDS

# Recorded list answers (PrestaShop 8.1.2 on PHP 8.2: INT columns are JSON numbers) and their resources.
LISTS = {
    "04_get_orders_display_full_json": "orders",
    "07_get_customers_full_json": "customers",
    "08_get_addresses_full_json": "addresses",
    "09_get_stock_availables_full_json": "stock_availables",
    "11_get_order_histories_full_json": "order_histories",
    "12_get_order_carriers_full_json": "order_carriers",
    "13_get_order_states_full_json": "order_states",
    "17_get_order_details_full_json": "order_details",
    "19_get_currencies_full_json": "currencies",
    "20_get_carriers_full_json": "carriers",
    "22_get_combinations_full_json": "combinations",
    "53c_get_order_payments_after_json": "order_payments",
}


def body(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.body.json").read_text(encoding="utf-8"))


def records() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, resource in LISTS.items():
        doc = body(name)
        out += [(resource, rec) for rec in doc[next(iter(doc))]]
    return out


RECORDS = records()


def stringify(value: Any, choose: Any = lambda: True) -> Any:
    """The 1.7/8.2+ spelling of a value: every int a numeric string (``choose`` decides per value)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value) if choose() else value
    if isinstance(value, list):
        return [stringify(v, choose) for v in value]
    if isinstance(value, dict):
        return {k: stringify(v, choose) for k, v in value.items()}
    return value


def test_every_recorded_field_has_a_declared_kind() -> None:
    for resource, rec in RECORDS:
        kinds = FIELD_KINDS[resource]
        for name, value in rec.items():
            if name == "associations":
                for assoc, rows in value.items():
                    for row in rows:
                        assert set(row) <= set(ASSOCIATION_KINDS.get(assoc, {"id": Kind.INT})), (resource, assoc)
            else:
                assert name in kinds, f"{resource}.{name} has no declared kind"


def test_order_fixture_types() -> None:
    order = normalize_record("orders", body("04_get_orders_display_full_json")["orders"][0])
    assert order["id"] == 1 and order["id_customer"] == 2 and order["current_state"] == 6
    assert order["total_paid"] == Decimal("61.800000") and order["carrier_tax_rate"] == Decimal("0.000")
    assert order["valid"] is False and order["gift"] is False
    assert order["invoice_date"] is None and order["delivery_date"] is None  # "0000-00-00 00:00:00"
    assert order["date_add"] == datetime(2026, 11, 26, 15, 55, 9)
    assert order["id_shop"] == 1 and order["id_shop_group"] == 1  # multistore columns kept
    row = order["associations"]["order_rows"][0]
    assert row["product_quantity"] == 1 and row["product_price"] == Decimal("23.900000")
    assert row["product_ean13"] == "" and row["product_reference"] == "demo_1"


def test_customer_dates_and_bools() -> None:
    anonymous, john = (normalize_record("customers", r) for r in body("07_get_customers_full_json")["customers"])
    assert anonymous["birthday"] is None and anonymous["newsletter_date_add"] is None
    assert john["birthday"] == date(1970, 1, 15) and john["newsletter"] is True and john["active"] is True
    assert john["associations"] == {"groups": [{"id": 3}]}


def test_every_int_as_string_normalises_identically() -> None:
    for resource, rec in RECORDS:
        assert normalize_record(resource, stringify(rec)) == normalize_record(resource, rec), resource


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_mixed_type_profiles_are_stable(data: st.DataObject) -> None:
    resource, rec = data.draw(st.sampled_from(RECORDS))
    mixed = stringify(rec, lambda: data.draw(st.booleans()))
    assert normalize_record(resource, mixed) == normalize_record(resource, rec)


def drop_falsy(rec: dict[str, Any]) -> dict[str, Any]:
    """What 8.x single-object JSON does (array_filter on the object's fields)."""
    return {k: v for k, v in rec.items() if v not in ("", "0", 0, None, False, [])}


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_single_object_json_with_dropped_fields_fills_back_to_the_list_record(data: st.DataObject) -> None:
    resource, rec = data.draw(st.sampled_from(RECORDS))
    rec = stringify(rec, lambda: data.draw(st.booleans()))
    kinds = FIELD_KINDS[resource]
    # A NULL/empty INT reads as None in a list but is indistinguishable from "0" once dropped: leave those out.
    comparable = {k: v for k, v in rec.items() if not (kinds.get(k) is Kind.INT and v in ("", None))}
    full = normalize_record(resource, comparable)
    single = normalize_record(resource, drop_falsy(comparable), fill_missing=True)
    assert {k: single[k] for k in full} == full


def test_recorded_single_object_equals_recorded_list_record() -> None:
    """Real evidence: order 1 fetched alone (05, fields dropped) and in the list (04, complete)."""
    single = normalize_record("orders", body("05_get_order_1_json")["order"], fill_missing=True)
    listed = normalize_record("orders", body("04_get_orders_display_full_json")["orders"][0])
    assert "valid" not in body("05_get_order_1_json")["order"]
    assert single == listed
    carrier = normalize_record("order_carriers", body("56_get_order_carrier_1_after_json")["order_carrier"],
                               fill_missing=True)
    before = normalize_record("order_carriers", body("12_get_order_carriers_full_json")["order_carriers"][0])
    assert {**carrier, "tracking_number": ""} == before


def test_write_echo_with_string_ids_normalises_like_a_read() -> None:
    echo = body("61_put_stock_available_quantity_json_response")["stock_available"]  # all strings
    read = body("60_get_stock_available_1_after_json")["stock_available"]  # ints
    assert normalize_record("stock_availables", echo, fill_missing=True)["quantity"] == 124
    assert normalize_record("stock_availables", read, fill_missing=True) == {
        **normalize_record("stock_availables", echo, fill_missing=True), "quantity": 123}


def test_raw_payload_is_untouched() -> None:
    for resource, rec in RECORDS:
        before = copy.deepcopy(rec)
        out = normalize_record(resource, rec, fill_missing=True)
        assert rec == before and json.dumps(rec) == json.dumps(before)
        if "associations" in rec:
            for assoc, rows in out["associations"].items():
                assert rows is not rec["associations"][assoc]
                rows.append({"id": -1})  # mutating the output must not reach the raw record
        assert rec == before


def test_language_arrays_and_plain_strings() -> None:
    multi = {"id": 2, "name": [{"id": "1", "value": "Payment accepted"}, {"id": "2", "value": "Paiement accepté"}],
             "template": [{"id": 1, "value": "payment"}, {"id": 2, "value": None}]}
    assert normalize_record("order_states", multi, language_id=2)["name"] == "Paiement accepté"
    assert normalize_record("order_states", multi, language_id=1)["template"] == "payment"
    assert normalize_record("order_states", multi, language_id=2)["template"] == ""
    assert normalize_record("order_states", multi)["name"] == "Payment accepted"  # first given
    single = {"id": 2, "name": "Payment accepted"}
    assert normalize_record("order_states", single, language_id=2)["name"] == "Payment accepted"
    with pytest.raises(NormalizationError, match="no translation for language 3"):
        normalize_record("order_states", multi, language_id=3)


@pytest.mark.parametrize(
    ("resource", "field", "value"),
    [
        ("orders", "id_customer", "12.5"),
        ("orders", "id_customer", True),
        ("orders", "valid", "2"),
        ("orders", "total_paid", "abc"),
        ("orders", "total_paid", "NaN"),
        ("orders", "date_upd", "2024-13-45 10:00:00"),
        ("orders", "date_upd", "yesterday"),
        ("orders", "reference", {"a": 1}),
    ],
)
def test_bad_values_are_refused_not_guessed(resource: str, field: str, value: Any) -> None:
    with pytest.raises(NormalizationError) as info:
        normalize_record(resource, {"id": 7, field: value})
    assert info.value.field == field and "orders 7" in str(info.value)


def test_unknown_fields_pass_through_and_strings_stay_strings() -> None:
    # A module override's extra field is not typed by guess; a numeric-looking postcode stays a string.
    out = normalize_record("addresses", {"id": "3", "postcode": "01234", "ref_id": "77", "id_country": "8"})
    assert out == {"id": 3, "postcode": "01234", "ref_id": "77", "id_country": 8}


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1), st.decimals(places=6, allow_nan=False,
       allow_infinity=False, min_value=-10**9, max_value=10**9))
def test_scalar_spellings(quantity: int, price: Decimal) -> None:
    as_int = normalize_record("stock_availables", {"id": 1, "quantity": quantity})
    as_str = normalize_record("stock_availables", {"id": "1", "quantity": str(quantity)})
    assert as_int == as_str == {"id": 1, "quantity": quantity}
    text = f"{price:.6f}"
    assert normalize_record("products", {"id": 1, "price": text})["price"] == price
