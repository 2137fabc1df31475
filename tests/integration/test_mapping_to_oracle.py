"""Mapped orders are orders Oracle accepts: the shop and the Fusion pod of one sandbox (same seed, so they agree on
SKUs, customers and catch-all accounts), shop orders extracted and mapped into staging, then the
``fusion_sales_order`` payload of each posted with the product's Fusion client.

Oracle may refuse an order for business reasons the pod was seeded with (an item missing or inactive in Oracle, a
credit limit); it must never refuse one because the payload is malformed (``invalid_data``) or names something the
mapping could have known (an unknown business unit, organization or account).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.flows.extract import extract_prestashop
from prestaoracle.mapping import MappingContext, MappingError, map_landed, map_record
from prestaoracle.mapping.documents import order_documents
from prestaoracle.oracle import FusionClient, FusionError, OAuth2ClientCredentials, RetryPolicy
from prestaoracle.prestashop import PrestaShopClient
from prestaoracle.staging import connect

KEY = "MAPPINGTOORACLEMAPPINGTOORACLE12"
pytestmark = pytest.mark.xdist_group("mapping_to_oracle")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, str]]:
    oracle_port = free_port()
    args = ("--seed", "5", "--orders", "120", "--ws-key", KEY, "--end", "2026-10-01", "--days", "30",
            "--prestashop-port", str(free_port()), "--oracle-port", str(oracle_port),
            "--oracle-client-id", "cid", "--oracle-client-secret", "secret")
    with run_sandbox(*args) as shop:
        yield shop, f"http://127.0.0.1:{oracle_port}"


@pytest.fixture(scope="module")
def documents(sandbox: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Any]]:
    shop, _ = sandbox
    staging = connect(tmp_path_factory.mktemp("to_oracle") / "staging.db", upgrade=True)
    client = PrestaShopClient(shop, KEY)
    for entity in ("currencies", "countries", "orders"):
        extract_prestashop(client, staging, entity, run_id="run-1")
    result = map_landed(staging, "prestashop", "orders", run_id="run-1", context=MappingContext.from_config())
    assert result.failed == 0
    with staging.engine.connect() as conn:
        docs = order_documents(conn, range(1, 41))
    staging.dispose()
    yield docs


def test_mapped_orders_are_accepted_by_the_fusion_pod(sandbox: tuple[str, str], documents: dict[int, Any]) -> None:
    _, pod = sandbox
    context = MappingContext.from_config()
    fusion = FusionClient(pod, auth=OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", "secret"), timeout=15,
                          retries=RetryPolicy(backoff=0.05, max_backoff=0.5, budget=30))
    created, refused, unmapped = [], [], []
    with fusion:
        for id_order, doc in sorted(documents.items()):
            try:
                payload = map_record("fusion_sales_order", doc, context)
            except MappingError as exc:
                # Only business problems the quality gate owns may stop a mapping here (an order line without SKU).
                assert exc.reason_class == "mapping_missing" and exc.field.endswith("ProductNumber"), exc
                unmapped.append(id_order)
                continue
            try:
                result = fusion.create_sales_order(payload)
            except FusionError as exc:
                assert exc.reason_class in ("business_rule", "mapping_missing"), (id_order, exc)
                assert "BusinessUnit" not in str(exc) and "Organization" not in str(exc), exc
                assert "BuyingParty" not in str(exc) or "inactive" in str(exc).lower(), exc
                refused.append(id_order)
                continue
            assert result.created and result.key == f"PSHOP:PS1-{id_order}"
            created.append(id_order)
        assert len(created) >= 0.7 * len(documents), (created, refused, unmapped)
        # Exactly once: the same mapped order again is found by its key, not created twice.
        again = fusion.create_sales_order(map_record("fusion_sales_order", documents[created[0]], context))
        assert not again.created
        order = fusion.get_sales_order(f"PSHOP:PS1-{created[0]}", expand="lines")
    doc = documents[created[0]]
    assert order is not None and order["SourceTransactionNumber"] == doc["reference"]
    lines = order["lines"]["items"] if isinstance(order["lines"], dict) else order["lines"]
    assert sorted((x["SourceTransactionLineId"], x["ProductNumber"]) for x in lines) == sorted(
        (str(x["id_order_detail"]), x["sku"]) for x in doc["lines"])
