"""The rule language of the mapping engine, one rule at a time, on small specs written for each test.

Field mapping and conversion, concatenation and splitting, conditional rules, defaults, lookups and enrichment,
children, and the errors a record raises (reason class, field, how to fix naming the spec file and line).
"""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from prestaoracle.mapping import InvalidData, MappingContext, MappingMissing, load_spec, map_record

HEADER = """\
spec: 1
version: 1
description: test spec
source: {system: staging, entity: thing}
target: {payload: demo}
"""


def spec_of(tmp_path: Path, body: str, header: str = HEADER) -> Any:
    path = tmp_path / "demo.yaml"
    path.write_text(header + textwrap.dedent(body), encoding="utf-8")
    return load_spec(path)


def test_direct_pairs_map_and_convert_fields(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        direct:
          - [reference, Ref]
          - [total_paid, Total, decimal]
          - [id_customer, Customer, [int, nonzero]]
          - [address.city, City, [strip, upper]]
    """)
    record = {"reference": "XKBK", "total_paid": "61.800000", "id_customer": "0", "address": {"city": " Paris "}}
    assert map_record(spec, record) == {"Ref": "XKBK", "Total": Decimal("61.800000"), "Customer": None,
                                        "City": "PARIS"}


def test_concatenation_and_splitting(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        computed:
          FullName: {from: [firstname, lastname], convert: {join: " "}}
          First: {from: name, convert: {split_name: first}}
          Last: {from: name, convert: {split_name: last}}
          Line1: {from: [address1, address2], convert: {wrap_lines: {width: 12, line: 1}}}
          Line2: {from: [address1, address2], convert: {wrap_lines: {width: 12, line: 2}}}
          Key: {from: [product_id, product_attribute_id], convert: {join: ":"}}
    """)
    out = map_record(spec, {"firstname": "Zoë", "lastname": "Ångström", "name": "Anne de la Tour",
                            "address1": "16 Main street", "address2": "2nd floor", "product_id": 12,
                            "product_attribute_id": 0})
    assert out == {"FullName": "Zoë Ångström", "First": "Anne", "Last": "de la Tour", "Line1": "16 Main",
                   "Line2": "street, 2nd", "Key": "12:0"}


def test_conditional_rules_dispatch_and_default(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        computed:
          PaymentTerms:
            from: module
            convert: {cases: {ps_wirepayment: NET30, ps_checkpayment: NET15}}
            default: {context: defaults.payment_terms}
          Priority:
            when:
              - if: {field: total, gt: 1000}
                then: {const: HIGH}
              - if: {all: [{field: total, gt: 100}, {field: country, in: [FR, DE]}]}
                then: {const: MEDIUM}
            else: {const: LOW}
    """)
    ctx = MappingContext(defaults={"payment_terms": "IMMEDIATE"})
    assert map_record(spec, {"module": "ps_wirepayment", "total": "1500.00", "country": "US"}, ctx) == {
        "PaymentTerms": "NET30", "Priority": "HIGH"}
    assert map_record(spec, {"module": "ps_checkpayment", "total": "150", "country": "FR"}, ctx) == {
        "PaymentTerms": "NET15", "Priority": "MEDIUM"}
    assert map_record(spec, {"module": "paypal", "total": "150", "country": "US"}, ctx) == {
        "PaymentTerms": "IMMEDIATE", "Priority": "LOW"}


def test_defaults_come_from_the_configuration(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        computed:
          BusinessUnitName: {context: defaults.business_unit, required: mapping_missing}
          Org: {context: defaults.fulfillment_org}
          Shop: {context: shop_id}
    """)
    ctx = MappingContext.from_config({"shop_id": 3, "defaults": {"business_unit": "Vision Operations",
                                                                 "fulfillment_org": "M1"}})
    assert map_record(spec, {}, ctx) == {"BusinessUnitName": "Vision Operations", "Org": "M1", "Shop": 3}
    with pytest.raises(MappingMissing) as caught:
        map_record(spec, {}, MappingContext())
    assert caught.value.field == "BusinessUnitName"
    assert "defaults.business_unit" in caught.value.how_to_fix
    assert "demo.yaml:" in caught.value.how_to_fix


def test_lookups_enrich_and_chain(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        lookups:
          customer_group: {description: id_customer -> group}
          cost_center: {description: group -> cost center}
        computed:
          cost_center:
            from: id_customer
            convert: [{lookup: customer_group}, {lookup: {name: cost_center, missing: "null"}}]
    """)
    ctx = MappingContext(lookups={"customer_group": {"7": 3}, "cost_center": {"3": "CC-RETAIL"}})
    assert map_record(spec, {"id_customer": 7}, ctx) == {"cost_center": "CC-RETAIL"}
    with pytest.raises(MappingMissing) as caught:
        map_record(spec, {"id_customer": 8}, ctx)
    assert caught.value.reason_class == "mapping_missing"
    assert "--set-lookup customer_group 8 VALUE" in caught.value.how_to_fix


def test_first_output_and_position(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        computed:
          Party: {first: [party_number, {from: id_customer, convert: string}]}
          Name:
            when:
              - if: {output: Party, empty: true}
                then: {const: Webshop}
        children:
          lines:
            from: lines
            where: {field: qty, ne: 0}
            computed:
              Number: {position: true}
              Sku: sku
              Currency: {root: currency}
              Order: {parent: reference}
    """)
    out = map_record(spec, {"id_customer": 7, "currency": "EUR", "reference": "R1",
                            "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 0}, {"sku": "C", "qty": 2}]})
    assert out == {"Party": "7", "Name": None, "lines": [
        {"Number": 1, "Sku": "A", "Currency": "EUR", "Order": "R1"},
        {"Number": 3, "Sku": "C", "Currency": "EUR", "Order": "R1"}]}


def test_children_of_a_single_object_and_of_the_record_itself(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        target: {payload: demo, omit_none: true}
        children:
          shipTo:
            from: address
            computed: {City: city, State: state}
          charges:
            computed: {Price: {from: price, convert: number}}
    """, header=HEADER.replace("target: {payload: demo}\n", ""))
    assert map_record(spec, {"address": {"city": "Lyon", "state": None}, "price": "9.90"}) == {
        "shipTo": [{"City": "Lyon"}], "charges": [{"Price": 9.9}]}
    assert map_record(spec, {"price": "1"}) == {"shipTo": [], "charges": [{"Price": 1}]}


def test_a_bad_value_is_invalid_data_naming_field_spec_and_line(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        direct:
          - [reference, Ref]
        children:
          lines:
            from: lines
            direct:
              - [price, Price, decimal]
    """)
    with pytest.raises(InvalidData) as caught:
        map_record(spec, {"reference": "R", "lines": [{"price": "1.0"}, {"price": "12,5x"}]})
    error = caught.value
    assert error.reason_class == "invalid_data"
    assert error.field == "lines[1].Price"
    assert "'12,5x'" in error.message and "decimal" in error.message
    assert "demo.yaml:13" in error.how_to_fix  # the line of the direct pair that converts it


def test_required_fields(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        computed:
          Id: {from: id, convert: int, required: invalid_data}
          Sku: {from: sku, required: mapping_missing, fix: "Bind the product."}
    """)
    with pytest.raises(InvalidData, match="Id is required"):
        map_record(spec, {"sku": "A"})
    with pytest.raises(MappingMissing) as caught:
        map_record(spec, {"id": "1"})
    assert caught.value.how_to_fix == "Bind the product."


def test_a_record_is_never_modified(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        direct:
          - [total, total, decimal]
        children:
          lines: {from: lines, computed: {q: {from: q, convert: int}}}
    """)
    record = {"total": "1.5", "lines": [{"q": "2"}]}
    map_record(spec, record)
    assert record == {"total": "1.5", "lines": [{"q": "2"}]}


def test_working_fields_and_comparisons_between_two_values(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, """
        lookups:
          home_currency: {description: country -> home currency}
        computed:
          _home: {from: country, convert: [{lookup: {name: home_currency, missing: "null"}}]}
          Account:
            when:
              - if: {output: _home, eq: {field: currency}}
                then: {from: country, convert: {format: "Webshop {0}"}}
            else: {from: [country, currency], convert: {format: "Webshop {0} {1}"}}
    """)
    ctx = MappingContext(lookups={"home_currency": {"FR": "EUR", "GB": "GBP"}})
    assert map_record(spec, {"country": "FR", "currency": "EUR"}, ctx) == {"Account": "Webshop FR"}
    assert map_record(spec, {"country": "GB", "currency": "EUR"}, ctx) == {"Account": "Webshop GB EUR"}


def test_a_comparison_with_something_that_is_not_a_value_is_a_spec_error(tmp_path: Path) -> None:
    from prestaoracle.mapping import SpecError

    with pytest.raises(SpecError, match=r"demo.yaml:10: .*one of field, output, parent, root, context"):
        spec_of(tmp_path, """
            computed:
              X:
                when:
                  - if: {field: a, eq: {colour: b}}
                    then: {const: 1}
        """)
