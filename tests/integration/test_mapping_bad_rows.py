"""What the sandbox shop's bad rows become: extracted over HTTP from the PrestaShop emulator, then mapped.

The generator spoils a share of its records on purpose (``sandbox/faults.py`` BAD_ROW_KINDS). None of them is a
mapping error: zero dates and unicode names are ordinary data, and the business problems (negative quantity,
missing or unknown SKU, totals that disagree, a cart used twice, a malformed e-mail, an address without country)
must reach the canonical tables exactly as the shop has them, for the data-quality gate to report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.flows.extract import extract_prestashop
from prestaoracle.mapping import MappingContext, map_landed
from prestaoracle.prestashop import PrestaShopClient
from prestaoracle.staging import Staging, connect

KEY = "MAPPINGBADROWSMAPPINGBADROWS1234"
pytestmark = pytest.mark.xdist_group("mapping_bad_rows")


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    args = ("--only", "prestashop", "--seed", "13", "--ws-key", KEY, "--orders", "400", "--end", "2026-10-01",
            "--days", "60", "--faults", "none:bad_rows=0.05", "--prestashop-port", str(free_port()))
    with run_sandbox(*args) as base:
        yield base


@pytest.fixture(scope="module")
def mapped(shop: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Staging, Any]]:
    staging = connect(tmp_path_factory.mktemp("bad_rows") / "staging.db", upgrade=True)
    client = PrestaShopClient(shop, KEY)
    for entity in ("currencies", "countries", "orders"):
        extract_prestashop(client, staging, entity, run_id="run-1")
    result = map_landed(staging, "prestashop", "orders", run_id="run-1", context=MappingContext.from_config())
    yield staging, result
    staging.dispose()


def injected(shop: str) -> list[dict[str, Any]]:
    body = requests.get(f"{shop}/sandbox/injected", params={"category": "bad_row"}, timeout=30).json()
    return body["bad_rows"]


def one(staging: Staging, table: str, key: str, value: Any, *columns: str) -> dict[str, Any] | None:
    t = staging.tables[table]
    with staging.engine.connect() as conn:
        row = conn.execute(sa.select(*(t.c[c] for c in columns)).where(t.c[key] == value)).first()
    return None if row is None else dict(row._mapping)


def landed(staging: Staging, entity: str, record_id: int) -> dict[str, Any] | None:
    return next((r for r in staging.landed("prestashop", entity) if r["id"] == record_id), None)


def test_no_bad_row_is_a_mapping_error(mapped: tuple[Staging, Any]) -> None:
    staging, result = mapped
    assert result.read > 400 and result.mapped == result.read
    assert result.failed == 0
    assert staging.open_dead_letters(stage="map") == []


def test_every_injected_kind_reaches_the_canonical_tables_as_the_shop_has_it(shop: str,
                                                                             mapped: tuple[Staging, Any]) -> None:
    staging, _ = mapped
    seen: set[str] = set()
    for bad in injected(shop):
        kind, record_id, detail = bad["kind"], bad["id"], bad["detail"]
        if bad["entity"] == "orders" and kind in ("negative_quantity", "missing_sku", "unknown_sku"):
            id_detail = int(re.search(r"order_detail (\d+)", detail)[1])  # type: ignore[index]
            line = one(staging, "ps_order_lines", "id_order_detail", id_detail, "sku", "quantity")
            source = landed(staging, "order_details", id_detail)
            assert line is not None and source is not None, bad
            if kind == "negative_quantity":
                assert line["quantity"] == int(source["product_quantity"]) < 0
            elif kind == "missing_sku":
                assert line["sku"] is None
            else:
                assert line["sku"] == source["product_reference"] and line["sku"].startswith("PS-")
        elif kind == "zero_dates":
            field = detail.split()[0]
            order = one(staging, "ps_orders", "id_order", record_id, field, "invoice_number", "date_add")
            assert order is not None and order[field] is None and order["date_add"] is not None, bad
        elif kind == "totals_mismatch":
            order = one(staging, "ps_orders", "id_order", record_id, "total_paid_tax_incl")
            assert order is not None
            assert f"{order['total_paid_tax_incl']:.2f}" == detail.split()[1].rstrip(","), bad
        elif kind == "duplicate_cart":
            order = one(staging, "ps_orders", "id_order", record_id, "id_cart")
            assert order is not None and str(order["id_cart"]) in detail, bad
        elif kind in ("unicode_names", "invalid_email"):
            source = landed(staging, "customers", record_id)
            if source is None:
                continue  # a customer without orders is not part of an orders extraction
            customer = one(staging, "ps_customers", "id_customer", record_id, "firstname", "lastname", "email")
            assert customer is not None, bad
            assert (customer["firstname"], customer["lastname"]) == (source["firstname"], source["lastname"])
            assert customer["email"] == source["email"].strip()
            if kind == "unicode_names":
                assert not (customer["firstname"] + customer["lastname"]).isascii()
        elif kind == "empty_country":
            if landed(staging, "addresses", record_id) is None:
                continue
            address = one(staging, "ps_addresses", "id_address", record_id, "id_country", "country_iso")
            assert address == {"id_country": None, "country_iso": None}, bad
        else:
            pytest.fail(f"a bad-row kind this test does not know: {kind}")
        seen.add(kind)
    order_kinds = {"negative_quantity", "missing_sku", "unknown_sku", "zero_dates", "totals_mismatch",
                   "duplicate_cart"}
    assert order_kinds <= seen, sorted(seen)


def test_countries_and_currencies_enrich_the_orders(mapped: tuple[Staging, Any]) -> None:
    staging, _ = mapped
    t, a = staging.tables["ps_orders"], staging.tables["ps_addresses"]
    with staging.engine.connect() as conn:
        currencies = set(conn.execute(sa.select(t.c.currency_iso).distinct()).scalars())
        countries = set(conn.execute(sa.select(a.c.country_iso).distinct()).scalars())
    assert currencies <= {"EUR", "USD", "GBP", "CHF", "PLN"} and "EUR" in currencies
    assert {"FR", "DE"} <= countries


def test_the_dry_run_of_one_order(shop: str, mapped: tuple[Staging, Any], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m prestaoracle map --entity order --id N`` on this staging: canonical rows and both payloads."""
    import json

    from prestaoracle.cli import main

    staging, _ = mapped
    monkeypatch.setenv("AIRFLOW_CONN_STAGING_DEFAULT", json.dumps(
        {"conn_type": "sqlite", "host": staging.engine.url.database}))
    monkeypatch.delenv("AIRFLOW_CONN_PRESTASHOP_DEFAULT", raising=False)
    with staging.engine.connect() as conn:
        id_order = conn.execute(sa.text("SELECT MIN(id_order) FROM ps_orders")).scalar()
    assert main(["map", "--entity", "order", "--id", str(id_order)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "landed"
    assert out["canonical"]["ps_orders"][0]["id_order"] == id_order
    assert out["canonical"]["ps_order_lines"]
    fusion, ebs = out["fusion_sales_order"], out["ebs_order"]
    assert fusion["SourceTransactionId"] == f"PS1-{id_order}"
    assert len(fusion["lines"]) == len(out["canonical"]["ps_order_lines"])
    # No EBS account is configured for the sandbox: the dry run says what is missing and how to add it.
    assert ebs["error"]["reason_class"] == "mapping_missing" and "--bind ebs_customer" in ebs["error"]["how_to_fix"]
