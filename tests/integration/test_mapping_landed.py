"""``map_landed`` on SQLite and PostgreSQL staging: the landing rows of one run, mapped into canonical tables.

Recorded PrestaShop responses are landed with the staging API (as the extraction does), then mapped: the whole
order family lands in its tables with ``dq_status = 'pending'``; a second run writes nothing; a record that cannot
be mapped goes to ``dead_letters`` while the rest goes on, and closes its dead letter once it maps; the operator's
lookups, binds and rates in staging are used; chunks stream the landing rows.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import FIXTURES
from support.pg import no_postgres, temp_database

from prestaoracle.mapping import MappingContext, binder, lookups, map_landed
from prestaoracle.staging import Staging, connect

pytestmark = pytest.mark.xdist_group("test_mapping_landed")
CONTEXT = MappingContext.from_config(None, shop_timezone="Europe/Paris")
FAMILY = {"orders": "04_get_orders_display_full_json", "order_details": "17_get_order_details_full_json",
          "customers": "07_get_customers_full_json", "addresses": "08_get_addresses_full_json",
          "order_histories": "11_get_order_histories_full_json", "order_carriers": "12_get_order_carriers_full_json",
          "order_payments": "53c_get_order_payments_after_json", "currencies": "19_get_currencies_full_json",
          "countries": "21_get_countries_filtered_json"}


def recorded(entity: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / f"{FAMILY[entity]}.body.json").read_text(encoding="utf-8"))[entity]


@contextlib.contextmanager
def _staging(backend: str, folder: Path) -> Iterator[Staging]:
    if backend == "sqlite":
        staging = connect(folder / "staging.db", upgrade=True)
        yield staging
        staging.dispose()
        return
    try:
        database = temp_database("prestaoracle_mapping")
        url = database.__enter__()
    except sa.exc.OperationalError as exc:
        no_postgres(exc)
    try:
        staging = connect(url, upgrade=True)
        yield staging
        staging.dispose()
    finally:
        database.__exit__(None, None, None)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    """One staging database per backend for the module (migrating one is the slow part)."""
    with _staging(request.param, tmp_path_factory.mktemp(request.param)) as staging:
        yield staging


@pytest.fixture
def stg(database: Staging) -> Iterator[Staging]:
    """The module's database, emptied after each test."""
    yield database
    with database.engine.begin() as conn:
        for table in reversed(list(database.tables.values())):
            conn.execute(table.delete())


def land_family(stg: Staging, run_id: str, **changes: list[dict[str, Any]]) -> None:
    for entity in FAMILY:
        stg.land("prestashop", entity, changes.get(entity, recorded(entity)), run_id=run_id)


def rows(stg: Staging, table: str, *columns: str, where: str = "1 = 1", order_by: str | None = None,
         distinct: bool = False, **params: Any) -> list[tuple]:
    """Typed values of a canonical table (Numeric as Decimal, DateTime as datetime on both backends)."""
    t = stg.tables[table]
    query = sa.select(*(t.c[c] for c in columns)).where(sa.text(where))
    query = query.distinct() if distinct else query
    query = query.order_by(t.c[order_by or columns[0]])
    with stg.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query, params)]


def test_an_order_family_lands_in_its_canonical_tables(stg: Staging) -> None:
    land_family(stg, "run-1")
    result = map_landed(stg, "prestashop", "orders", run_id="run-1", context=CONTEXT)
    assert result.read == result.mapped == 5 + 2 + 7 + 5 + 1 + 2 + 6
    assert result.failed == 0
    assert result.written == {"ps_orders": 5, "ps_order_lines": 2, "ps_order_histories": 7, "ps_order_carriers": 5,
                              "ps_order_payments": 1, "ps_customers": 2, "ps_addresses": 6}
    assert rows(stg, "ps_orders", "id_order", "reference", "currency_iso", "total_paid_tax_incl", "dq_status",
                "run_id", where="id_order = 1") == [(1, "XKBKNABJK", "USD", Decimal("68.200000"), "pending", "run-1")]
    # Shop-local 15:55:09 in Paris is 14:55:09 UTC; zero dates are NULL.
    assert rows(stg, "ps_orders", "date_add", "invoice_date", where="id_order = 1") == [
        (datetime(2026, 11, 26, 14, 55, 9), None)]
    assert rows(stg, "ps_addresses", "id_address", "country_iso") == [
        (1, "US"), (2, "FR"), (3, "US"), (4, "US"), (5, "US"), (6, "FR")]
    assert rows(stg, "ps_order_lines", "sku", "quantity", order_by="id_order_detail") == [
        ("demo_1", 1), ("demo_3", 1)]
    metrics = stg.step_metrics("run-1", "map")
    assert metrics[0]["step"] == "prestashop.orders" and metrics[0]["read"] == result.read
    assert metrics[0]["written"] == sum(result.written.values())


def test_a_second_run_of_unchanged_records_writes_nothing(stg: Staging) -> None:
    land_family(stg, "run-1")
    map_landed(stg, "prestashop", "orders", run_id="run-1", context=CONTEXT)
    with stg.engine.begin() as conn:
        conn.execute(sa.text("UPDATE ps_orders SET dq_status = 'passed'"))
    again = map_landed(stg, "prestashop", "orders", run_id="run-1", context=CONTEXT)
    assert sum(again.written.values()) == 0 and again.mapped == again.read
    # The quality gate's verdict stands when nothing changed.
    assert rows(stg, "ps_orders", "dq_status", distinct=True) == [("passed",)]
    # A run that landed nothing maps nothing.
    assert map_landed(stg, "prestashop", "orders", run_id="run-2", context=CONTEXT).read == 0


def test_a_bad_record_is_dead_lettered_and_the_rest_goes_on(stg: Staging) -> None:
    orders = recorded("orders")
    orders[2] = {**orders[2], "total_paid_tax_incl": "12,5x"}
    land_family(stg, "run-1", orders=orders)
    result = map_landed(stg, "prestashop", "orders", run_id="run-1", context=CONTEXT)
    assert result.dead_lettered == {"invalid_data": 1}
    assert result.written["ps_orders"] == 4
    [letter] = stg.open_dead_letters(stage="map")
    assert (letter.source, letter.entity, letter.record_key, letter.reason_class) == (
        "prestashop", "orders", str(orders[2]["id"]), "invalid_data")
    assert "total_paid_tax_incl" in letter.message and "'12,5x'" in letter.message
    assert "ps_orders.yaml:" in letter.how_to_fix
    assert letter.payload["total_paid_tax_incl"] == "12,5x"
    assert "secure_key" not in letter.payload  # nothing secret is landed, so nothing secret is dead-lettered

    # The shop fixes the order: the next run maps it and closes the dead letter (other stages keep theirs).
    stg.quarantine(source="prestashop", entity="orders", record_key=str(orders[2]["id"]), stage="validate",
                   reason_class="business_rule", message="a quality finding", run_id="run-1")
    land_family(stg, "run-2", orders=[{**orders[2], "total_paid_tax_incl": "12.50", "date_upd": "2026-11-27 10:00:00"}])
    fixed = map_landed(stg, "prestashop", "orders", run_id="run-2", context=CONTEXT)
    assert fixed.resolved == 1 and fixed.failed == 0
    assert [(d.stage, d.reason_class) for d in stg.open_dead_letters()] == [("validate", "business_rule")]
    assert rows(stg, "ps_orders", "total_paid_tax_incl", "run_id", where="id_order = :i", i=orders[2]["id"]) == [
        (Decimal("12.500000"), "run-2")]


def test_operator_lookups_win_and_missing_ones_say_how_to_fix(stg: Staging) -> None:
    land_family(stg, "run-1")
    with stg.transaction() as tx:
        lookups.set_lookup(tx.conn, "cost_center", "3", "CC-OPERATOR")
        lookups.set_lookup(tx.conn, "currency_iso", "1", "EUR")  # wins over the landed currencies
    map_landed(stg, "prestashop", "orders", run_id="run-1", context=CONTEXT)
    assert rows(stg, "ps_customers", "cost_center", distinct=True) == [("CC-OPERATOR",)]
    assert rows(stg, "ps_orders", "currency_iso", distinct=True) == [("EUR",)]


def test_chunks_stream_the_landing_rows(stg: Staging) -> None:
    land_family(stg, "run-1")
    result = map_landed(stg, "prestashop", "orders", run_id="run-1", context=CONTEXT, chunk_size=2)
    assert result.mapped == result.read == 28
    assert len(rows(stg, "ps_order_histories", "id_order_history")) == 7


def test_oracle_sales_orders_map_with_their_lines(stg: Staging) -> None:
    order = {"HeaderId": 300100560012345, "OrderNumber": "520123", "SourceTransactionSystem": "PSHOP",
             "SourceTransactionId": "PS1-1", "SourceTransactionNumber": "XKBKNABJK", "StatusCode": "OPEN",
             "TransactionalCurrencyCode": "USD", "TotalAmount": 59.8, "LastUpdateDate": "2026-11-26T15:21:07+00:00",
             "lines": [{"LineId": 1, "ProductNumber": "demo_1", "OrderedQuantity": 1, "StatusCode": "SHIPPED",
                        "LastUpdateDate": "2026-11-26T15:21:07+00:00"},
                       {"LineId": 2, "ProductNumber": "demo_3", "OrderedQuantity": 2, "StatusCode": "SHIPPED",
                        "LastUpdateDate": "2026-11-26T15:21:07+00:00"}]}
    broken = {**order, "HeaderId": 300100560012399, "lines": [{"LineId": 3, "OrderedQuantity": "lots"}]}
    stg.land("oracle", "sales_orders", [order, broken], id_key="HeaderId", date_key="LastUpdateDate", run_id="o-1")
    result = map_landed(stg, "oracle", "sales_orders", run_id="o-1", context=CONTEXT)
    assert result.written == {"ora_sales_orders": 1, "ora_order_lines": 2}
    assert result.dead_lettered == {"invalid_data": 1}  # one bad line keeps its whole order out
    assert rows(stg, "ora_order_lines", "line_id", "header_id", "ordered_quantity", "dq_status") == [
        (1, 300100560012345, Decimal("1"), "pending"), (2, 300100560012345, Decimal("2"), "pending")]
    [letter] = stg.open_dead_letters(stage="map")
    assert letter.record_key == "300100560012399" and "lines[0].ordered_quantity" in letter.message
    assert rows(stg, "ora_sales_orders", "last_update") == [(datetime(2026, 11, 26, 15, 21, 7),)]


def test_binds_and_rates_in_staging_reach_the_mapping(stg: Staging) -> None:
    with stg.transaction() as tx:
        assert binder.bind(tx.conn, "sku", "1:1", "AS54888")
        assert not binder.bind(tx.conn, "sku", "1:1", "AS54888")
        lookups.set_rate(tx.conn, "USD", "EUR", Decimal("0.9"))
    with stg.transaction() as tx, pytest.raises(binder.BindConflict, match="already bound to prestashop sku '1:1'"):
        binder.bind(tx.conn, "sku", "2:9", "AS54888")
    with stg.engine.connect() as conn:
        assert binder.to_internal(conn, "sku", "1:1") == "AS54888"
        assert binder.to_external(conn, "sku", "AS54888") == "1:1"
        ctx = CONTEXT.with_staging(conn)
    assert ctx.xref.get("prestashop", "sku", "oracle", "1:1") == "AS54888"
    assert ctx.rates.rate("USD", "EUR") == Decimal("0.9")
    assert ctx.rates.rate("EUR", "USD") == Decimal("1.08")  # the configuration's rate is still there
    with stg.transaction() as tx:
        assert binder.unbind(tx.conn, "sku", "1:1")
        assert lookups.unset_lookup(tx.conn, "nothing", "x") is False


def test_unknown_entities_are_refused_with_the_list(stg: Staging) -> None:
    with pytest.raises(ValueError, match="no spec maps landed prestashop/carts.*prestashop/orders"):
        map_landed(stg, "prestashop", "carts", run_id="r", context=CONTEXT)


def test_dates_keep_their_meaning_in_other_shop_time_zones(stg: Staging) -> None:
    land_family(stg, "run-1")
    new_york = MappingContext.from_config(None, shop_timezone="America/New_York")
    map_landed(stg, "prestashop", "orders", run_id="run-1", context=new_york)
    # 15:55:09 EST (UTC-5)
    assert rows(stg, "ps_orders", "date_add", where="id_order = 1") == [(datetime(2026, 11, 26, 20, 55, 9),)]


def test_what_a_table_cannot_hold_is_dead_lettered_alone(stg: Staging) -> None:
    orders, details = recorded("orders"), recorded("order_details")
    orders[1] = {**orders[1], "reference": "R" * 40}  # ps_orders.reference is VARCHAR(32)
    details[1] = {k: v for k, v in details[1].items() if k != "id_order"}  # ps_order_lines.id_order is NOT NULL
    land_family(stg, "run-1", orders=orders, order_details=details)
    result = map_landed(stg, "prestashop", "orders", run_id="run-1", context=CONTEXT)
    letters = {(d.entity, d.record_key): d for d in stg.open_dead_letters(stage="map")}
    detail_letter = letters.pop(("order_details", str(details[1]["id"])))
    assert detail_letter.reason_class == "invalid_data"
    assert "id_order is empty, and ps_order_lines.id_order cannot be" in detail_letter.message
    if stg.dialect == "postgresql":
        # PostgreSQL enforces the length: that order alone is refused, the other four are written.
        letter = letters.pop(("orders", str(orders[1]["id"])))
        assert "refused the row" in letter.message and "ps_orders.yaml" in letter.how_to_fix
        assert result.written["ps_orders"] == 4 and result.dead_lettered == {"invalid_data": 2}
    else:
        # SQLite stores any length; the quality gate is where such a value is caught.
        assert result.written["ps_orders"] == 5 and result.dead_lettered == {"invalid_data": 1}
    assert letters == {}
    assert result.written["ps_order_lines"] == 1
