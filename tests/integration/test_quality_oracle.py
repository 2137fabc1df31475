"""The Oracle suites on SQLite and PostgreSQL: an order created twice from one shop order, an unknown currency,
tracking numbers PrestaShop would refuse, a composite key; and a suite that cannot run marks nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.pg import no_postgres, temp_database

from prestaoracle.quality import gx_project, validate_entity
from prestaoracle.quality.gx_project import QualityCheckError
from prestaoracle.quality.rules import Check, Entity, required
from prestaoracle.staging import Staging, connect, dead_letters

COMMITTED_PROJECT = Path(__file__).resolve().parents[2] / "great_expectations"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def staging(request, tmp_path_factory) -> Iterator[Staging]:
    if request.param == "sqlite":
        st = connect(tmp_path_factory.mktemp("oracle-quality") / "staging.db", upgrade=True)
        yield st
        st.dispose()
        return
    try:
        database = temp_database("quality_oracle")
        url = database.__enter__()
    except sa.exc.OperationalError as exc:
        no_postgres(exc)
    try:
        st = connect(url, upgrade=True)
        yield st
        st.dispose()
    finally:
        database.__exit__(None, None, None)


@pytest.fixture()
def gx_root(tmp_path: Path) -> Path:
    root = tmp_path / "great_expectations"
    root.mkdir()
    shutil.copy(COMMITTED_PROJECT / "great_expectations.yml", root / "great_expectations.yml")
    return root


def test_oracle_rows_are_held_for_their_own_reasons(staging: Staging, gx_root: Path, tmp_path: Path) -> None:
    staging.upsert("ora_sales_orders", [
        {"header_id": 1, "order_number": "1001", "source_system": "PS", "source_id": "17", "currency": "EUR",
         "total_amount": 10},
        {"header_id": 2, "order_number": "1002", "source_system": "PS", "source_id": "17", "currency": "EUR",
         "total_amount": 10},  # the same shop order created twice
        {"header_id": 3, "order_number": "1003", "source_system": "PS", "source_id": "18", "currency": "EURO",
         "total_amount": 10},
        {"header_id": 4, "order_number": "1004", "source_system": "PS", "source_id": "19", "currency": "USD",
         "total_amount": 10},
    ], "header_id")
    staging.upsert("ora_shipment_lines", [
        {"shipment_line_id": 1, "requested_quantity": 2, "shipped_quantity": 2, "tracking_number": "1Z999AA1"},
        {"shipment_line_id": 2, "requested_quantity": 2, "shipped_quantity": 2, "tracking_number": "1Z<999>"},
        {"shipment_line_id": 3, "requested_quantity": 1, "shipped_quantity": 3, "tracking_number": None},
    ], "shipment_line_id")
    staging.upsert("ora_onhand", [
        {"org": "M1", "sku": "SKU-1", "quantity": 5, "available": 4},
        {"org": "M1", "sku": "SKU-2", "quantity": -1, "available": None},
    ], ["org", "sku"])

    orders = validate_entity(staging, "sales_orders", run_id="r1", report_dir=tmp_path, gx_root=gx_root)
    shipments = validate_entity(staging, "shipment_lines", run_id="r1", report_dir=tmp_path, gx_root=gx_root)
    onhand = validate_entity(staging, "onhand", run_id="r1", report_dir=tmp_path, gx_root=gx_root)

    assert sorted(orders.quarantined_keys) == ["1", "2", "3"]
    assert orders.quarantined_by_rule == {"source_order_once": 2, "currency_known": 1}
    assert (orders.quarantined_by_reason["duplicate"], orders.quarantined_by_reason["mapping_missing"]) == (2, 1)
    assert sorted(shipments.quarantined_keys) == ["2", "3"]
    assert shipments.quarantined_by_rule == {"tracking_number_format": 1, "shipped_within_requested": 1}
    assert onhand.quarantined_keys == ["M1|SKU-2"] and onhand.passed == 1
    with staging.engine.connect() as conn:
        letters = {(d.entity, d.record_key): d for d in dead_letters.list_open(conn, source="oracle")}
    assert letters[("onhand", "M1|SKU-2")].payload["sku"] == "SKU-2"
    assert "PrestaShop" in letters[("shipment_lines", "2")].message


def test_a_suite_that_cannot_run_marks_nothing(staging: Staging, gx_root: Path) -> None:
    staging.upsert("ps_customers", [{"id_customer": 901, "email": "a@b.fr"}], "id_customer")
    broken = Entity("customers", "prestashop", "ps_customers", ("id_customer",), (
        Check("broken", "table", ("id_customer",), (
            required("no_such_column", what="a column", fix="none"),
        ), query="SELECT c.id_customer FROM ps_customers c WHERE c.dq_status = 'pending'"),
    ))
    context = gx_project.get_context(gx_root)
    with gx_project.project_lock(context, staging.engine.url.render_as_string(hide_password=False)):
        gx_project.ensure_assets(context, [broken])
        with pytest.raises(QualityCheckError, match="no_such_column_present"):
            gx_project.run_check(context, broken, broken.checks[0], run_id="r-broken")


def test_old_results_are_pruned_with_their_pages(staging: Staging, gx_root: Path, tmp_path: Path) -> None:
    for run in ("p1", "p2", "p3"):
        staging.upsert("ps_products", [{"id_product": 77, "sku": f"SKU-{run}", "name": "Bonsai", "price": 1}],
                       "id_product")
        with staging.transaction() as tx:
            tx.execute(sa.text("UPDATE ps_products SET dq_status = 'pending' WHERE id_product = 77"))
        result = validate_entity(staging, "products", run_id=run, report_dir=tmp_path, gx_root=gx_root)
        assert result.passed == 1
    context = gx_project.get_context(gx_root)
    suite = "prestashop-products-products"
    keys = [k for k in context.validation_results_store.list_keys()
            if k.expectation_suite_identifier.name == suite]
    assert len(keys) == 3
    removed = gx_project.prune_results(context, {suite}, keep=2)
    keys = [k for k in context.validation_results_store.list_keys()
            if k.expectation_suite_identifier.name == suite]
    assert removed == 1 and sorted(k.run_id.run_name for k in keys) == ["p2", "p3"]
    pages = Path(context.root_directory) / "uncommitted" / "data_docs" / "local_site" / "validations" / suite
    assert sorted(p.name for p in pages.iterdir()) == ["p2", "p3"]
    assert all(any((pages / run).rglob("*.html")) for run in ("p2", "p3"))
