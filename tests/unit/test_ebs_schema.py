"""The EBS stand-in's tables: one metadata that is valid Oracle DDL, creates on SQLite and PostgreSQL, matches the
committed ``sql/ebs`` files, and is seeded deterministically from the PrestaShop generator."""

from __future__ import annotations

import importlib.util
import re
import sqlite3
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import oracle
from sqlalchemy.schema import CreateIndex, CreateTable
from support.pg import no_postgres, temp_database

from prestaoracle.sandbox.ebs import contract, create_schema, seed
from prestaoracle.sandbox.ebs import schema as s
from prestaoracle.sandbox.prestashop.generate import generate_shop

ROOT = Path(__file__).resolve().parents[2]
EBS_SQL = ROOT / "sql" / "ebs"
# Oracle types EBS uses for the columns we keep; anything else (TIMESTAMP, CLOB, INTEGER...) is a mistake.
ORACLE_COLUMN = re.compile(r"^\t([A-Z0-9_]+) (NUMBER|VARCHAR2\(\d+\)|DATE)( NOT NULL)?,?$")
REQUIRED_TABLES = {
    "oe_headers_iface_all", "oe_lines_iface_all", "oe_processing_msgs", "oe_order_headers_all", "oe_order_lines_all",
    "mtl_system_items_b", "mtl_onhand_quantities_detail", "mtl_parameters", "qp_list_headers_b",
    "qp_list_headers_tl", "qp_list_lines", "qp_pricing_attributes", "hz_parties", "hz_cust_accounts",
    "ra_customer_trx_all", "ra_customer_trx_lines_all", "ar_cash_receipts_all", "wsh_delivery_details",
    "wsh_new_deliveries", "wsh_carriers",
}
SHOP_ARGS = (300, 11, datetime(2024, 1, 1), datetime(2024, 12, 31, 23, 59, 59))


def _generator():
    spec = importlib.util.spec_from_file_location("generate_ebs_ddl", ROOT / "scripts" / "generate_ebs_ddl.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shop_rows() -> dict[str, list[dict]]:
    return generate_shop(*SHOP_ARGS).rows


# --------------------------------------------------------------------------------------------- DDL


def test_required_tables_are_defined() -> None:
    assert set(s.TABLES) >= REQUIRED_TABLES
    assert {t.name for t in s.METADATA.sorted_tables} == set(s.TABLES) | {"qp_price_list_lines_v"}


@pytest.mark.parametrize("table", sorted(s.TABLES))
def test_create_compiles_for_oracle(table: str) -> None:
    """Every table with the stock oracledb dialect the product uses: no quoting, names Oracle accepts everywhere."""
    t = s.TABLES[table]
    ddl = str(CreateTable(t).compile(dialect=oracle.dialect()))
    assert ddl.startswith(f"\nCREATE TABLE {table} (")
    assert '"' not in ddl  # nothing reserved: the same names work unquoted on Oracle, PostgreSQL and SQLite
    assert len(table) <= 30  # EBS keeps to the pre-12.2 identifier limit
    for column in t.c:
        assert len(column.name) <= 30
    for index in t.indexes:
        assert index.name and len(index.name) <= 30
        assert '"' not in str(CreateIndex(index).compile(dialect=oracle.dialect()))


def test_oracle_files_use_ebs_types_only() -> None:
    text = "".join(s.ddl_files("oracle").values())
    columns = [line for line in text.splitlines() if line.startswith("\t")]
    assert columns, "no column lines found"
    odd = [line for line in columns if not ORACLE_COLUMN.match(line)]
    assert odd == []
    assert "VARCHAR2(50) NOT NULL" in text  # byte length semantics, as EBS declares it
    assert "CHAR)" not in text and "TIMESTAMP" not in text and "NUMERIC" not in text


def test_committed_sql_files_match_the_metadata() -> None:
    """Fails when schema.py changed without ``python scripts/generate_ebs_ddl.py`` (or the files were edited)."""
    generator = _generator()
    stale = generator.stale_files()
    assert stale == [], f"regenerate with: python scripts/generate_ebs_ddl.py  (stale: {stale})"
    assert sorted(p.name for p in EBS_SQL.glob("*.sql")) == [f"{area}.sql" for area in s.AREAS]


def test_sqlite_files_run_unchanged() -> None:
    conn = sqlite3.connect(":memory:")
    try:
        for path in sorted((EBS_SQL / "sqlite").glob("*.sql")):
            conn.executescript(path.read_text(encoding="utf-8"))
        names = {row[0] for row in conn.execute("select name from sqlite_master where type in ('table', 'view')")}
    finally:
        conn.close()
    assert names == set(s.TABLES) | {"qp_price_list_lines_v"}


def test_create_schema_on_sqlite_is_idempotent() -> None:
    engine = sa.create_engine("sqlite://")
    create_schema(engine)
    create_schema(engine)
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) == set(s.TABLES)
    assert inspector.get_view_names() == ["qp_price_list_lines_v"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(s.XX_EBS_SEQUENCES)).scalar_one() == len(
            contract.SEQUENCES) + len(contract.RUN_ALONE_PROGRAMS)
        assert conn.execute(sa.select(sa.func.count()).select_from(s.WSH_CARRIERS)).scalar_one() == len(
            contract.CARRIERS)


@pytest.mark.postgres
def test_schema_creates_on_postgres() -> None:
    """Both ways: the committed PostgreSQL files run as they are, and ``create_schema`` builds the same tables."""
    try:
        database = temp_database("ebs_schema")
        url = database.__enter__()
    except sa.exc.OperationalError as exc:
        no_postgres(exc)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for path in sorted((EBS_SQL / "postgresql").glob("*.sql")):
                conn.exec_driver_sql(path.read_text(encoding="utf-8"))
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) == set(s.TABLES)
        assert inspector.get_view_names() == ["qp_price_list_lines_v"]
        s.METADATA.drop_all(engine)
        create_schema(engine)
        create_schema(engine)
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) == set(s.TABLES)
        columns = {c["name"]: c for c in inspector.get_columns("oe_headers_iface_all")}
        assert isinstance(columns["orig_sys_document_ref"]["type"], sa.String)
        assert columns["orig_sys_document_ref"]["type"].length == 50
        assert not columns["creation_date"]["nullable"]
    finally:
        engine.dispose()
        database.__exit__(None, None, None)


def test_allocate_ids_hands_out_blocks() -> None:
    engine = sa.create_engine("sqlite://")
    create_schema(engine)
    with engine.begin() as conn:
        first = s.allocate_ids(conn, "OE_ORDER_HEADERS_S", 10)
        second = s.allocate_ids(conn, "OE_ORDER_HEADERS_S")
        with pytest.raises(KeyError):
            s.allocate_ids(conn, "NO_SUCH_S")
    assert first == contract.SEQUENCES["OE_ORDER_HEADERS_S"] + 1
    assert second == first + 10


# --------------------------------------------------------------------------------------------- seed


def _seeded(shop_rows: dict[str, list[dict]], seed_value: int) -> tuple[sa.Engine, object]:
    engine = sa.create_engine("sqlite://")
    create_schema(engine)
    return engine, seed(engine, shop_rows, seed_value)


def _dump(engine: sa.Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(sa.select(t)).all()), key=repr) for name, t in s.TABLES.items()}


def test_seed_is_deterministic_per_seed(shop_rows: dict[str, list[dict]]) -> None:
    engine_a, report_a = _seeded(shop_rows, 5)
    engine_b, report_b = _seeded(shop_rows, 5)
    engine_c, report_c = _seeded(shop_rows, 6)
    assert report_a == report_b
    assert _dump(engine_a) == _dump(engine_b)
    assert report_c != report_a
    assert _dump(engine_c) != _dump(engine_a)


def test_seed_agrees_with_the_shop(shop_rows: dict[str, list[dict]]) -> None:
    engine, report = _seeded(shop_rows, 5)
    combos = {c["id_product"] for c in shop_rows["combinations"]}
    shop_orderable = {p["reference"] for p in shop_rows["products"] if p["id"] not in combos}
    shop_orderable |= {c["reference"] for c in shop_rows["combinations"]}
    styles = {p["reference"] for p in shop_rows["products"] if p["id"] in combos}
    ordered = {d["product_reference"] for d in shop_rows["order_details"]}

    assert report.missing_skus and report.inactive_skus  # at least one of each, whatever the shop size
    assert set(report.missing_skus) <= shop_orderable and set(report.inactive_skus) <= shop_orderable
    assert set(report.orderable_skus) == shop_orderable - set(report.missing_skus) - set(report.inactive_skus)
    assert set(report.style_skus) == styles
    assert ordered <= shop_orderable  # the shop's order lines use the SKUs EBS knows (or deliberately lacks)
    with engine.connect() as conn:
        msi = s.MTL_SYSTEM_ITEMS_B
        skus = set(conn.execute(sa.select(msi.c.segment1).where(
            msi.c.organization_id == contract.DEFAULT_SHIP_FROM_ORG_ID)).scalars())
        orderable = set(conn.execute(sa.select(msi.c.segment1).where(
            msi.c.organization_id == contract.DEFAULT_SHIP_FROM_ORG_ID, msi.c.customer_order_enabled_flag == "Y",
            msi.c.inventory_item_status_code == "Active")).scalars())
        moqd = s.MTL_ONHAND_QUANTITIES_DETAIL
        onhand = dict(conn.execute(
            sa.select(msi.c.segment1, sa.func.sum(moqd.c.primary_transaction_quantity))
            .join(msi, sa.and_(msi.c.inventory_item_id == moqd.c.inventory_item_id,
                               msi.c.organization_id == moqd.c.organization_id))
            .where(moqd.c.organization_id == contract.DEFAULT_SHIP_FROM_ORG_ID, moqd.c.is_consigned == 2)
            .group_by(msi.c.segment1)).all())
    assert skus == (shop_orderable | styles) - set(report.missing_skus)
    assert orderable == set(report.orderable_skus)
    assert {sku: int(q) for sku, q in onhand.items()} == {sku: q for sku, q in report.onhand_m1.items() if q}

    # Prices: the shop's tax-excluded price (product + combination impact), except the planted differences.
    shop_price = {p["reference"]: Decimal(str(p["price"])) for p in shop_rows["products"]}
    by_product = {p["id"]: p for p in shop_rows["products"]}
    for comb in shop_rows["combinations"]:
        base = Decimal(str(by_product[comb["id_product"]]["price"]))
        shop_price[comb["reference"]] = (base + Decimal(str(comb["price"]))).quantize(Decimal("0.01"))
    for sku, price in report.price_eur.items():
        expected = report.price_differs[sku][1] if sku in report.price_differs else shop_price[sku]
        assert price == expected, sku
    assert set(report.price_lists) == {c["iso_code"] for c in shop_rows["currencies"]}

    # Customers: about 70% present, spelled in every planted way, a few inactive.
    n = len(shop_rows["customers"])
    assert len(report.customers) + len(report.absent_customers) == n
    assert 0.55 < len(report.customers) / n < 0.85
    variants = Counter(c.variant for c in report.customers.values())
    assert set(variants) >= {"exact", "upper", "spaces", "ascii"}
    assert all(c.status == ("I" if c.variant == "inactive" else "A") for c in report.customers.values())
    people = {c["id"]: c for c in shop_rows["customers"]}
    with engine.connect() as conn:
        names = dict(conn.execute(sa.select(s.HZ_PARTIES.c.party_id, s.HZ_PARTIES.c.party_name)).all())
    for shop_id, placed in report.customers.items():
        person = people[shop_id]
        if person["company"]:
            continue
        plain = f"{person['firstname']} {person['lastname']}"
        name = names[placed.party_id]
        if placed.variant == "upper":
            assert name == plain.upper()
        elif placed.variant == "spaces":
            assert name != plain and " ".join(name.split()) == " ".join(plain.split())
        elif placed.variant in ("exact", "inactive", "address"):
            assert name == plain
