"""``python -m prestaoracle map``: dry runs of staged records, spec checks, and the operator's fixes, on a SQLite
staging database named by ``AIRFLOW_CONN_STAGING_DEFAULT`` (as for ``extract``)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import FIXTURES

from prestaoracle.cli import main
from prestaoracle.mapping import MappingContext, map_landed
from prestaoracle.staging import Staging, connect


@pytest.fixture
def staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Staging:
    path = tmp_path / "staging.db"
    monkeypatch.setenv("AIRFLOW_CONN_STAGING_DEFAULT", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    monkeypatch.delenv("AIRFLOW_CONN_PRESTASHOP_DEFAULT", raising=False)
    monkeypatch.delenv("PRESTAORACLE_MAPPING_CONFIG", raising=False)
    stg = connect(path, upgrade=True)
    yield stg
    stg.dispose()


def land_recorded_shop(staging: Staging) -> None:
    for entity, name in (("orders", "04_get_orders_display_full_json"),
                         ("order_details", "17_get_order_details_full_json"),
                         ("customers", "07_get_customers_full_json"), ("addresses", "08_get_addresses_full_json"),
                         ("currencies", "19_get_currencies_full_json"),
                         ("countries", "21_get_countries_filtered_json")):
        records = json.loads((FIXTURES / f"{name}.body.json").read_text(encoding="utf-8"))[entity]
        staging.land("prestashop", entity, records, run_id="r1")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["map", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_validates_every_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--check")
    assert code == 0
    assert "specs valid" in out and "fusion_sales_order.yaml" in out


def test_dry_run_of_a_landed_order_prints_rows_and_payloads_and_writes_nothing(
        staging: Staging, capsys: pytest.CaptureFixture[str]) -> None:
    land_recorded_shop(staging)
    code, out, _ = run(capsys, "--entity", "order", "--id", "1")
    assert code == 0
    result = json.loads(out)
    assert result["source"] == "landed"
    assert [x["sku"] for x in result["canonical"]["ps_order_lines"]] == ["demo_1", "demo_3"]
    assert result["canonical"]["ps_orders"][0]["total_paid_tax_incl"] == "68.200000"
    assert result["fusion_sales_order"]["SourceTransactionId"] == "PS1-1"
    assert result["fusion_sales_order"]["BuyingPartyName"] == "Webshop Customers US"
    assert result["ebs_order"]["error"]["reason_class"] == "mapping_missing"
    with staging.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM ps_orders")).scalar() == 0


def test_an_operator_fix_changes_the_dry_run(staging: Staging, capsys: pytest.CaptureFixture[str]) -> None:
    land_recorded_shop(staging)
    assert run(capsys, "--bind", "ebs_customer", "2", "1290")[0] == 0
    assert run(capsys, "--bind", "sku", "1:1", "AS54888")[0] == 0
    code, out, _ = run(capsys, "--entity", "order", "--id", "1")
    result = json.loads(out)
    assert result["ebs_order"]["sold_to_org_id"] == 1290
    assert [x["sku"] for x in result["ebs_order"]["lines"]] == ["AS54888", "demo_3"]


def test_dry_run_from_canonical_rows_and_of_customers_and_oracle_orders(
        staging: Staging, capsys: pytest.CaptureFixture[str]) -> None:
    land_recorded_shop(staging)
    map_landed(staging, "prestashop", "orders", run_id="r1", context=MappingContext.from_config())
    with staging.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM landing_records WHERE entity = 'orders'"))
    code, out, _ = run(capsys, "--entity", "order", "--id", "1")
    assert code == 0 and json.loads(out)["source"] == "canonical"
    assert json.loads(out)["fusion_sales_order"]["lines"][1]["ProductNumber"] == "demo_3"

    code, out, _ = run(capsys, "--entity", "customer", "--id", "2")
    account = json.loads(out)["fusion_account"]
    assert code == 0 and account["SourceSystemReferenceValue"] == "2" and account["Country"] == "US"

    staging.land("oracle", "sales_orders", [{
        "HeaderId": 77, "OrderNumber": "520123", "SourceTransactionSystem": "PSHOP", "SourceTransactionId": "PS1-1",
        "StatusCode": "OPEN", "lines": [{"LineId": 78, "StatusCode": "SHIPPED"}]}], id_key="HeaderId",
        date_key=None, run_id="o1")
    code, out, _ = run(capsys, "--entity", "sales_order", "--id", "77")
    assert code == 0 and json.loads(out)["prestashop_order_state"] == {
        "id_shop": 1, "id_order": 1, "oracle_status": "SHIPPED", "id_order_state": 4}


def test_lookups_rates_and_binds(staging: Staging, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--set-lookup", "order_state", "AWAITING_BILLING", "4")
    assert code == 0 and "AWAITING_BILLING -> 4" in out
    code, out, _ = run(capsys, "--set-rate", "eur", "usd", "1.10", "--valid-from", "2025-01-01")
    assert code == 0 and "EUR -> USD: 1.10 from 2025-01-01" in out
    assert run(capsys, "--bind", "sku", "1:1", "AS54888")[0] == 0
    code, _, err = run(capsys, "--bind", "sku", "2:2", "AS54888")
    assert code == 2 and "already bound to prestashop sku '1:1'" in err and "--unbind sku 1:1" in err
    assert run(capsys, "--unbind", "sku", "1:1")[0] == 0
    with staging.engine.connect() as conn:
        ctx = MappingContext().with_staging(conn)
    assert ctx.lookups["order_state"] == {"AWAITING_BILLING": "4"}
    assert ctx.rates.rate("EUR", "USD") == Decimal("1.10")
    assert len(ctx.xref) == 0


@pytest.mark.parametrize(("argv", "message"), [
    (["--set-rate", "EUR", "USD", "lots"], "rate 'lots' is not a number"),
    (["--set-rate", "EUR", "USD", "-1"], "a rate is positive"),
    (["--entity", "order"], "--entity needs --id"),
    (["--entity", "order", "--id", "999"], "order 999 is neither landed nor in ps_orders"),
])
def test_errors_say_what_to_do(staging: Staging, capsys: pytest.CaptureFixture[str], argv: list[str],
                               message: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err


def test_a_broken_configuration_names_its_line(staging: Staging, capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    config = tmp_path / "mapping.yaml"
    config.write_text("shop_id: 1\nshop_timezone: Nowhere/Land\n", encoding="utf-8")
    land_recorded_shop(staging)
    code, _, err = run(capsys, "--entity", "order", "--id", "1", "--config", str(config))
    assert code == 2 and f"{config}:2:" in err and "IANA" in err
