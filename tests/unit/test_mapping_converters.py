"""Each converter of the mapping engine, alone: types, text, splitting and joining, rules, lookups, money.

Converters are called the way the engine calls them (value, checked parameters, context), so a parameter the spec
loader would refuse is refused here too.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from prestaoracle.mapping import MappingContext, XrefIndex
from prestaoracle.mapping.converters import CONVERTERS, Failed, check_params
from prestaoracle.mapping.rates import Rate, Rates

PARIS = MappingContext(shop_timezone=ZoneInfo("Europe/Paris"))


def convert(name: str, value: Any, params: Any = None, ctx: MappingContext = PARIS) -> Any:
    conv = CONVERTERS[name]
    return conv.fn(value, check_params(name, params), ctx)


# ------------------------------------------------------------------------------------------------- types


@pytest.mark.parametrize(("value", "expected"), [
    ("23.900000", Decimal("23.900000")), ("-0.5", Decimal("-0.5")), (12, Decimal(12)), (1.25, Decimal("1.25")),
    ("", None), (" 7.10 ", Decimal("7.10")),
])
def test_decimal_reads_prestashop_numeric_strings_exactly(value: Any, expected: Decimal | None) -> None:
    assert convert("decimal", value) == expected


@pytest.mark.parametrize("value", ["12,5x", "abc", "NaN", "Infinity", True, [1]])
def test_a_value_that_is_not_a_number_is_invalid_data(value: Any) -> None:
    with pytest.raises(Failed) as caught:
        convert("decimal", value)
    assert caught.value.reason == "invalid_data"
    assert "number" in caught.value.why or "decimal" in caught.value.why


@pytest.mark.parametrize(("value", "expected"), [("12", 12), (12, 12), ("", None), (Decimal("3"), 3)])
def test_int(value: Any, expected: int | None) -> None:
    assert convert("int", value) == expected


def test_int_refuses_fractions_and_words() -> None:
    for value in ("1.5", "ten", Decimal("2.5"), True):
        with pytest.raises(Failed):
            convert("int", value)


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False), (1, True), ("", False), ("true", True),
                                                 ("N", False)])
def test_bool_reads_php_booleans(value: Any, expected: bool) -> None:
    assert convert("bool", value) is expected


def test_shop_local_dates_become_utc_across_summer_and_winter_time() -> None:
    assert convert("shop_datetime", "2026-07-01 12:00:00") == datetime(2026, 7, 1, 10, 0)  # CEST, +2
    assert convert("shop_datetime", "2026-01-15 12:00:00") == datetime(2026, 1, 15, 11, 0)  # CET, +1
    # The repeated autumn hour is taken at its first occurrence (the earliest instant it can mean).
    assert convert("shop_datetime", "2026-10-25 02:30:00") == datetime(2026, 10, 25, 0, 30)
    utc = MappingContext()
    assert convert("shop_datetime", "2026-07-01 12:00:00", ctx=utc) == datetime(2026, 7, 1, 12, 0)


@pytest.mark.parametrize("zero", ["0000-00-00 00:00:00", "0000-00-00", "", None])
def test_zero_dates_are_no_date_not_an_error(zero: str | None) -> None:
    assert convert("shop_datetime", zero) is None
    assert convert("date", zero) is None


def test_a_date_that_does_not_exist_is_invalid_data() -> None:
    with pytest.raises(Failed, match="calendar"):
        convert("shop_datetime", "2026-02-30 10:00:00")
    with pytest.raises(Failed):
        convert("date", "yesterday")


def test_oracle_timestamps_with_offsets_become_naive_utc() -> None:
    assert convert("utc_datetime", "2025-01-15T10:21:07.123+00:00") == datetime(2025, 1, 15, 10, 21, 7, 123000)
    assert convert("utc_datetime", "2025-01-15T12:21:07+02:00") == datetime(2025, 1, 15, 10, 21, 7)
    assert convert("utc_datetime", "2025-01-15T10:21:07Z") == datetime(2025, 1, 15, 10, 21, 7)
    with pytest.raises(Failed):
        convert("utc_datetime", "15/01/2025")


def test_payload_spellings_of_dates_and_numbers() -> None:
    assert convert("iso_datetime", datetime(2026, 11, 26, 14, 55, 9)) == "2026-11-26T14:55:09+00:00"
    assert convert("iso_date", datetime(2026, 11, 26, 14, 55, 9)) == "2026-11-26"
    assert convert("number", Decimal("23.900000")) == 23.9
    assert convert("number", "2.000000") == 2 and isinstance(convert("number", "2.000000"), int)
    assert convert("floor_int", Decimal("7.9")) == 7


def test_i18n_picks_the_context_language_or_the_first() -> None:
    names = [{"id": "1", "value": "Shirt"}, {"id": "2", "value": "Chemise"}]
    assert convert("i18n", names) == "Shirt"
    assert convert("i18n", names, ctx=MappingContext(language_id=2)) == "Chemise"
    assert convert("i18n", "Bare") == "Bare"


def test_unicode_text_is_kept_as_written() -> None:
    assert convert("string", "Łukasz Żółć") == "Łukasz Żółć"
    assert convert("string", "渡辺") == "渡辺"


# ------------------------------------------------------------------------------------------------- text


def test_join_concatenates_and_skips_empty_parts() -> None:
    assert convert("join", ["John", "", None, "DOE"]) == "John DOE"
    assert convert("join", ["12", "34"], ":") == "12:34"
    assert convert("join", ["", None]) is None


def test_split_and_format() -> None:
    assert convert("split", "12:34", {"sep": ":", "index": 1}) == "34"
    assert convert("split", "12", {"sep": ":", "index": 1}) is None
    assert convert("format", [1, 42], "PS{0}-{1}") == "PS1-42"
    assert convert("format", [1, None], "PS{0}-{1}") is None


@pytest.mark.parametrize(("full", "first", "last"), [
    ("Anne de la Tour", "Anne", "de la Tour"), ("John DOE", "John", "DOE"), ("Cher", None, "Cher"),
    ("  Zoë   Ångström ", "Zoë", "Ångström"),
])
def test_full_names_split_into_first_and_last(full: str, first: str | None, last: str) -> None:
    assert convert("split_name", full, "first") == first
    assert convert("split_name", full, "last") == last


def test_address_lines_fill_oracle_structured_lines() -> None:
    # Parts that fit keep their own lines.
    parts = ["16, Main street", "2nd floor"]
    assert [convert("wrap_lines", parts, {"width": 240, "line": n}) for n in (1, 2, 3)] == [
        "16, Main street", "2nd floor", None]
    # A part longer than the line is re-cut at word boundaries, nothing lost.
    long = ["Résidence des Tilleuls, bâtiment B, escalier 4", "appartement 12"]
    lines = [convert("wrap_lines", long, {"width": 20, "line": n}) for n in range(1, 6)]
    assert all(line is None or len(line) <= 20 for line in lines)
    whole = "Résidence des Tilleuls, bâtiment B, escalier 4, appartement 12"
    assert " ".join(x for x in lines if x) == whole


def test_last4_keeps_only_the_last_four_digits() -> None:
    assert convert("last4", "4111 1111 1111 1234") == "1234"
    assert convert("last4", "") is None


def test_nonzero_and_empty_to_null() -> None:
    assert [convert("nonzero", v) for v in (0, "0", "", 5)] == [None, None, None, 5]
    assert [convert("empty_to_null", v) for v in ("", "  ", "x")] == [None, None, "x"]


def test_match_takes_a_group_or_refuses() -> None:
    assert convert("match", "PS1-42", {"pattern": r"PS(\d+)-(\d+)", "group": 2}) == "42"
    with pytest.raises(Failed, match="does not match"):
        convert("match", "LEG-9", {"pattern": r"PS(\d+)-(\d+)"})


# ------------------------------------------------------------------------------------------------- rules, lookups


def test_cases_is_a_dispatch_table() -> None:
    terms = {"ps_wirepayment": "NET30", "ps_checkpayment": "NET30"}
    assert convert("cases", "ps_wirepayment", terms) == "NET30"
    assert convert("cases", "ps_cashondelivery", terms) is None
    assert convert("cases", "other", {"values": terms, "otherwise": "keep"}) == "other"
    assert convert("cases", 1, {"1": "one"}) == "one"  # keys compare as text


def test_lookup_finds_the_pair_or_says_how_to_add_it() -> None:
    ctx = MappingContext(lookups={"cost_center": {"3": "CC-RETAIL"}})
    assert convert("lookup", 3, "cost_center", ctx) == "CC-RETAIL"
    assert convert("lookup", 4, {"name": "cost_center", "missing": "null"}, ctx) is None
    assert convert("lookup", 4, {"name": "cost_center", "missing": "keep"}, ctx) == 4
    with pytest.raises(Failed) as caught:
        convert("lookup", 4, "cost_center", ctx)
    assert caught.value.reason == "mapping_missing"
    assert "python -m prestaoracle map --set-lookup cost_center 4 VALUE" in (caught.value.fix or "")


def test_lookup_keys_from_lists_are_joined() -> None:
    ctx = MappingContext(lookups={"webshop_account": {"FR:EUR": "Webshop Customers FR"}})
    assert convert("lookup", ["FR", "EUR"], "webshop_account", ctx) == "Webshop Customers FR"


def test_xref_maps_both_ways_and_names_the_bind_command() -> None:
    ctx = MappingContext(xref=XrefIndex.of([("prestashop", "sku", "1:2", "oracle", "AS54888")]))
    assert convert("xref", "1:2", "sku", ctx) == "AS54888"
    assert convert("xref", "AS54888", {"entity": "sku", "direction": "to_external"}, ctx) == "1:2"
    with pytest.raises(Failed) as caught:
        convert("xref", "9:9", "sku", ctx)
    assert caught.value.reason == "mapping_missing"
    assert "python -m prestaoracle map --bind sku 9:9 TARGET_ID" in (caught.value.fix or "")


# ------------------------------------------------------------------------------------------------- money


def test_round_half_up() -> None:
    assert convert("round", "2.345", 2) == Decimal("2.35")
    assert convert("round", "-2.345", 2) == Decimal("-2.35")


def test_tax_included_and_excluded_amounts() -> None:
    assert convert("tax_incl", ["10.00", "20"], 2) == Decimal("12.00")
    assert convert("tax_excl", ["12.00", "20"], 2) == Decimal("10.00")
    assert convert("tax_incl", ["10.00", None], 2) == Decimal("10.00")  # no rate known: no tax
    assert convert("subtract", ["29.9", "23.9"]) == Decimal("6.0")


def test_currency_conversion_from_the_rates_table() -> None:
    rates = Rates.of([Rate("EUR", "USD", Decimal("1.10"), date(2025, 1, 1)),
                      Rate("EUR", "USD", Decimal("1.20"), date(2025, 6, 1)),
                      Rate("EUR", "GBP", Decimal("0.80"))])
    ctx = MappingContext(rates=rates)
    assert convert("convert_currency", ["100", "EUR", "USD"], 2, ctx) == Decimal("120.00")  # newest
    assert convert("convert_currency", ["100", "EUR", "USD", date(2025, 3, 1)], 2, ctx) == Decimal("110.00")
    assert convert("convert_currency", ["120", "USD", "EUR"], 2, ctx) == Decimal("100.00")  # inverse
    assert convert("convert_currency", ["120", "USD", "GBP"], 2, ctx) == Decimal("80.00")  # through EUR
    assert convert("convert_currency", ["100", "EUR", None], 2, ctx) == Decimal("100.00")  # no target: as is
    assert convert("convert_currency", ["100", "EUR", "EUR"], 2, ctx) == Decimal("100.00")
    with pytest.raises(Failed) as caught:
        convert("convert_currency", ["100", "EUR", "JPY"], 2, ctx)
    assert caught.value.reason == "mapping_missing"
    assert "--set-rate EUR JPY RATE" in (caught.value.fix or "")
    with pytest.raises(Failed):
        convert("convert_currency", ["100", "EUR", "USD", date(2024, 12, 31)], 2, MappingContext(rates=Rates.of(
            [Rate("EUR", "USD", Decimal("1.1"), date(2025, 1, 1))])))


# ------------------------------------------------------------------------------------------------- parameters


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="takes no parameters"):
        check_params("decimal", 2)
    with pytest.raises(ValueError):
        check_params("round", "two")
    with pytest.raises(ValueError):
        check_params("wrap_lines", {"width": 0, "line": 1})
    with pytest.raises(KeyError):
        check_params("no_such_converter", None)
