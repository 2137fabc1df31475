"""The suites as data: every rule names a real GX expectation, a real or derived column and a known reason class,
and the package stays cheap to import (no GX, no pandas) for DAG parsing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from prestaoracle.quality import ENTITY_NAMES, entities
from prestaoracle.quality.rules import Check, Rule
from prestaoracle.reasons import REASON_CLASSES
from prestaoracle.staging.schema import TABLES

# Columns frames.py adds to a batch; any other column a frame rule reads must exist in the table.
DERIVED = {
    "orders": {"line_count", "totals_gap_tax_incl", "totals_gap_tax_excl"},
    "addresses": {"has_country", "country_code"},
    "products": {"has_sku"},
}


def test_every_entity_of_the_contract_has_suites() -> None:
    assert set(ENTITY_NAMES) == set(entities.ENTITIES)
    for name in ENTITY_NAMES:
        assert entities.get(name).checks, name


def test_extraction_names_resolve_and_unknown_names_say_what_exists() -> None:
    assert entities.get("stock_availables").name == "stock"
    assert entities.get("order_slip").name == "order_slips"
    assert entities.for_extracted("prestashop", "orders") == ("customers", "addresses", "orders", "order_payments")
    assert entities.for_extracted("oracle", "sales_orders") == ("sales_orders",)
    with pytest.raises(KeyError, match="known entities: orders"):
        entities.get("carts")


@pytest.mark.parametrize("name", ENTITY_NAMES)
def test_rules_read_columns_that_exist(name: str) -> None:
    entity = entities.get(name)
    table = TABLES[entity.table]
    assert set(entity.key) <= set(table.c.keys())
    rule_names = [r.name for r in entity.rules]
    assert len(rule_names) == len(set(rule_names)), "rule names must be unique within an entity"
    for check in entity.checks:
        assert set(entity.key) <= set(check.index), check.name
        if check.kind != "frame":
            continue
        child = entity.frame_children.get(check.name)
        columns = set(TABLES[child].c.keys()) if child else set(table.c.keys()) | DERIVED.get(name, set())
        for rule in check.rules:
            assert set(rule.columns) <= columns, f"{check.name}.{rule.name} reads {rule.columns}"


@pytest.mark.parametrize("name", ENTITY_NAMES)
def test_rules_build_into_gx_expectations(name: str) -> None:
    import great_expectations as gx

    for rule in entities.get(name).rules:
        assert rule.reason_class in REASON_CLASSES
        assert rule.problem and rule.how_to_fix
        expectation = getattr(gx.expectations, rule.expectation)(**dict(rule.kwargs))
        assert expectation.expectation_type.startswith("expect_")


def test_a_rule_with_an_unknown_reason_or_a_check_without_its_query_is_refused() -> None:
    with pytest.raises(ValueError, match="reason class 'typo'"):
        Rule("r", "ExpectColumnValuesToNotBeNull", {"column": "x"}, "typo", "p", "f")
    with pytest.raises(ValueError, match="needs a query"):
        Check("c", "table", ("id",), ())


def test_importing_the_gate_imports_neither_gx_nor_pandas() -> None:
    code = ("import sys, prestaoracle.quality as q, prestaoracle.quality.entities; "
            "print('great_expectations' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_gate_refuses_a_database_gx_cannot_open(tmp_path) -> None:
    from prestaoracle.quality import validate_entity

    with pytest.raises(ValueError, match="SQLite file or PostgreSQL"):
        validate_entity("sqlite://", "orders", run_id="r", report_dir=tmp_path)
