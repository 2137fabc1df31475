"""The done-when of the quality gate without Airflow: a PrestaShop sandbox with every kind of bad row, read over
HTTP by the product's client, landed, mapped and validated; the quarantined records are exactly the ones
``/sandbox/injected`` lists (minus unicode names and zero dates, which are not defects), each with its rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.flows.extract import extract_prestashop
from prestaoracle.mapping import MappingContext, map_landed
from prestaoracle.prestashop import PrestaShopClient
from prestaoracle.quality import entities, validate_entity
from prestaoracle.staging import connect

KEY = "QUALITYGATESANDBOXQUALITYGATE123"
EXTRACTED = ("currencies", "countries", "products", "combinations", "stock_availables", "customers", "addresses",
             "orders", "order_slip")
MAPPED = ("products", "combinations", "stock_availables", "customers", "addresses", "orders", "order_slip")
SOUND = ("unicode_names", "zero_dates")
pytestmark = pytest.mark.xdist_group("quality_sandbox")


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    args = ("--only", "prestashop", "--seed", "21", "--ws-key", KEY, "--orders", "300", "--end", "2026-10-01",
            "--days", "60", "--faults", "none:bad_rows=0.03", "--prestashop-port", str(free_port()))
    with run_sandbox(*args) as base:
        yield base


def test_the_gate_quarantines_exactly_what_the_shop_injected(shop: str, tmp_path: Path) -> None:
    staging = connect(tmp_path / "staging.db", upgrade=True)
    client = PrestaShopClient(shop, KEY)
    for entity in EXTRACTED:
        extract_prestashop(client, staging, entity, run_id="run-1")
    context = MappingContext.from_config()
    for entity in MAPPED:
        map_landed(staging, "prestashop", entity, run_id="run-1", context=context)
    quarantined: set[tuple[str, str]] = set()
    validated: set[str] = set()
    for extracted in MAPPED:
        for entity in entities.for_extracted("prestashop", extracted):
            if entity in validated:
                continue
            validated.add(entity)
            result = validate_entity(staging, entity, run_id="run-1", report_dir=tmp_path / "reports",
                                     gx_root=tmp_path / "gx")
            quarantined |= {(entity, key) for key in result.quarantined_keys}
    letters = {(d.entity, d.record_key) for d in staging.open_dead_letters(stage="validate")}
    injected = requests.get(f"{shop}/sandbox/injected", params={"category": "bad_row"}, timeout=30).json()["bad_rows"]
    bad = {(i["entity"], str(i["id"])) for i in injected if i["kind"] not in SOUND}
    sound_only = {(i["entity"], str(i["id"])) for i in injected if i["kind"] in SOUND} - bad
    assert {i["kind"] for i in injected} >= {"negative_quantity", "missing_sku", "unknown_sku", "totals_mismatch",
                                             "duplicate_cart", "invalid_email", "empty_country"}
    assert quarantined == bad == letters, "each quarantined record has its dead letter"
    assert sound_only and not sound_only & quarantined
    staging.dispose()
