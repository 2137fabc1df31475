"""The staging schema's metadata: the tables the flows need, portable names, no secret columns, and committed DDL
files that match it (``python -m prestaoracle.staging.ddl`` rewrites them)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from prestaoracle.secrets import is_card_number_key, is_secret_key
from prestaoracle.staging import ddl, migrate, schema

REQUIRED = {
    "landing_records": ["source", "entity", "record_id", "date_upd", "payload", "payload_sha1", "run_id",
                        "extracted_at"],
    "ps_orders": ["id_order", "reference", "id_customer", "id_currency", "currency_iso", "current_state", "valid",
                  "total_paid", "total_paid_tax_incl", "total_paid_tax_excl", "date_add", "date_upd", "id_shop",
                  "payment", "module"],
    "ps_order_lines": ["id_order_detail", "id_order", "product_id", "product_attribute_id", "sku", "name",
                       "quantity", "unit_price_tax_excl", "unit_price_tax_incl", "total_price_tax_excl",
                       "total_price_tax_incl"],
    "ps_customers": ["id_customer", "email"], "ps_addresses": ["id_address", "id_customer"],
    "ps_products": ["id_product", "sku", "price"], "ps_combinations": ["id_product_attribute", "sku", "price"],
    "ps_stock": ["id_stock_available", "id_product", "id_product_attribute", "sku", "quantity"],
    "ps_order_payments": ["id_order_payment", "order_reference", "amount"],
    "ps_order_slips": ["id_order_slip", "id_order"], "ps_order_carriers": ["id_order_carrier", "tracking_number"],
    "ps_order_histories": ["id_order_history", "id_order", "id_order_state"],
    "ora_sales_orders": ["header_id", "order_number", "source_system", "source_id", "status_code", "total_amount",
                         "last_update"],
    "ora_order_lines": ["line_id", "header_id", "sku"], "ora_onhand": ["org", "sku", "quantity"],
    "ora_prices": ["price_list", "currency", "sku", "base_price", "last_update"],
    "ora_shipment_lines": ["order_number", "source_order", "sku", "shipped_quantity", "tracking_number", "carrier",
                           "ship_date"],
    "ora_invoices": ["customer_trx_id", "sales_order"], "ora_invoice_lines": ["customer_trx_line_id", "sales_order"],
    "ora_receipts": ["cash_receipt_id", "amount"], "ora_accounts": ["cust_account_id", "account_number"],
    "watermarks": ["source", "entity", "value", "updated_at", "run_id"],
    "sync_ledger": ["record_key", "source", "entity", "target", "outcome", "target_id", "target_ref", "attempts",
                    "first_attempt_at", "last_attempt_at", "last_error", "run_id"],
    "dead_letters": ["id", "source", "entity", "record_key", "stage", "reason_class", "message", "how_to_fix",
                     "payload", "first_seen", "last_seen", "occurrences", "replay_count", "status", "run_id"],
    "run_metrics": ["run_id", "flow", "step", "started_at", "ended_at", "read", "written", "skipped", "quarantined",
                    "requests", "details"],
}
CANONICAL = [*schema.PRESTASHOP_TABLES, *schema.ORACLE_TABLES]


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_required_tables_and_columns(name: str) -> None:
    table = schema.TABLES[name]
    assert set(REQUIRED[name]) <= set(table.c.keys())
    assert table.primary_key.columns, f"{name} has no primary key"


def test_every_metadata_table_is_listed() -> None:
    assert set(schema.METADATA.tables) == set(schema.TABLES)


def test_revisions_are_numbered_in_one_line_from_0001() -> None:
    """One head and no gaps: two revisions written in parallel branches must be merged or renumbered."""
    script = migrate.script_directory()
    assert script.get_heads() == [migrate.head()]
    chain = [r.revision for r in script.walk_revisions()][::-1]
    assert chain == [f"{n:04d}" for n in range(1, len(chain) + 1)]
    assert chain[0] == migrate.LEGACY_REVISION


def test_unique_keys_the_bookkeeping_relies_on() -> None:
    assert [c.name for c in schema.sync_ledger.primary_key] == ["target", "record_key"]
    uniques = {tuple(c.name for c in u.columns) for u in schema.dead_letters.constraints
               if isinstance(u, sa.UniqueConstraint)}
    assert ("source", "entity", "record_key", "stage", "reason_class") in uniques
    assert [c.name for c in schema.landing_records.primary_key] == ["source", "entity", "record_id"]
    assert [c.name for c in schema.watermarks.primary_key] == ["source", "entity"]


@pytest.mark.parametrize("table", CANONICAL, ids=lambda t: t.name)
def test_canonical_tables_are_typed_and_indexed(table: sa.Table) -> None:
    assert "run_id" in table.c
    money = [c for c in table.c if isinstance(c.type, sa.Numeric) and c.name not in ("tax_rate", "carrier_tax_rate")]
    assert all((c.type.precision, c.type.scale) == (20, 6) for c in money)
    assert table.indexes, f"{table.name} has no secondary index"
    created = str(CreateTable(table).compile(dialect=postgresql.dialect()))
    assert "SERIAL" not in created and "IDENTITY" not in created  # keys come from the source, never generated


@pytest.mark.parametrize("table", list(schema.TABLES.values()), ids=lambda t: t.name)
def test_no_secret_ever_gets_a_column(table: sa.Table) -> None:
    for column in table.c:
        assert not is_secret_key(column.name) and not is_card_number_key(column.name), column.name


@pytest.mark.parametrize("table", list(schema.TABLES.values()), ids=lambda t: t.name)
def test_names_fit_postgresql_and_need_no_quoting(table: sa.Table) -> None:
    dialect = postgresql.dialect()
    names = [table.name, *table.c.keys(), *(c.name for c in table.constraints), *(i.name for i in table.indexes)]
    assert all(name and len(name) <= 63 for name in names)
    text = str(CreateTable(table).compile(dialect=dialect)) + "".join(
        str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes)
    assert '"' not in text


def test_check_constraints_carry_the_allowed_values() -> None:
    ddl_text = ddl.render("sqlite")
    for value in (*schema.REASON_CLASSES, *schema.DEAD_LETTER_STATUSES, *schema.LEDGER_OUTCOMES):
        assert f"'{value}'" in ddl_text


@pytest.mark.parametrize("dialect", sorted(ddl.DIALECTS))
def test_committed_ddl_files_match_the_metadata(dialect: str) -> None:
    path = ddl.SQL_DIR / f"{dialect}.sql"
    assert path.read_text(encoding="utf-8") == ddl.render(dialect), (
        "sql/staging is stale: run `.venv/bin/python -m prestaoracle.staging.ddl`")


def test_ddl_check_command(capsys) -> None:
    assert ddl.main(["--check"]) == 0
    assert capsys.readouterr().out == ""


def test_ddl_check_reports_stale_files(tmp_path, capsys) -> None:
    assert ddl.main(["--out", str(tmp_path)]) == 0
    (tmp_path / "sqlite.sql").write_text("-- edited by hand\n", encoding="utf-8")
    capsys.readouterr()
    assert ddl.main(["--check", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().out.strip() == f"stale: {tmp_path / 'sqlite.sql'}"
