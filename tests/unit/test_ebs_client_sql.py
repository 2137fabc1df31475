"""Every statement the EBS client sends is valid Oracle SQL, and its pure helpers behave.

No Oracle server exists here, so the client runs its whole workload against the SQLite stand-in while a
``before_execute`` listener captures the Core statements it issues (before any dialect compiles them); each one is
then rendered with the Oracle dialect, IN lists expanded as ``oracle+oracledb`` would receive them, and checked for
what Oracle would reject: positional or pyformat binds, LIMIT/OFFSET, RETURNING/ON CONFLICT, quoted (case-sensitive)
identifiers, IN lists over 1,000 expressions (ORA-01795), bind names over 30 characters on pre-12.2 databases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from prestaoracle.oracle import ebs
from prestaoracle.oracle.ebs import (
    EbsClient,
    EbsOrder,
    EbsOrderLine,
    classify_db_error,
    classify_import_message,
    compile_oracle,
    document_ref,
    in_list,
    utf8_overflows,
)
from prestaoracle.sandbox.ebs import advance, create_schema, run_order_import, seed
from prestaoracle.sandbox.ebs import schema as standin
from prestaoracle.sandbox.prestashop.generate import generate_shop

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal")

NOW = datetime(2025, 3, 3, 9, 30, 0)
TABLES = {name: obj for name, obj in vars(ebs).items() if isinstance(obj, sa.TableClause)}


@contextmanager
def captured(engine: sa.Engine) -> Iterator[list[sa.ClauseElement]]:
    statements: list[sa.ClauseElement] = []

    def before_execute(conn, clauseelement, multiparams, params, execution_options):  # noqa: ANN001
        statements.append(clauseelement)

    sa.event.listen(engine, "before_execute", before_execute)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_execute", before_execute)


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> list[sa.ClauseElement]:
    """Run every public method of the client (several paths each) and return the statements it issued."""
    rows = generate_shop(40, 5, datetime(2024, 1, 1), datetime(2024, 12, 31)).rows
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('ebs_sql') / 'ebs.db'}")
    sa.event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA synchronous=OFF"))  # no fsync
    create_schema(engine)
    report = seed(engine, rows, 5)
    customers = [c for c in report.customers.values() if c.status == "A" and c.ship_to_site_use_id]
    skus = report.orderable_skus
    orders = [EbsOrder(document_ref(1, n), customers[n % len(customers)].cust_account_id, "EUR",
                       [EbsOrderLine(str(k), skus[(n + k) % len(skus)], 1, report.price_eur[skus[(n + k) % len(skus)]])
                        for k in range(1, 3)], ordered_date=NOW) for n in range(1, 1101)]
    orders[5] = EbsOrder(document_ref(1, 6), customers[0].cust_account_id, "EUR",
                         [EbsOrderLine("1", skus[0], 1, 5, uom="BOX")])  # fails Order Import
    orders[6] = EbsOrder(document_ref(1, 7), customers[0].cust_account_id, "EUR",
                         [EbsOrderLine("1", "NO-SUCH-SKU", 1, 5)])  # mapping_missing
    refs = [o.orig_sys_document_ref for o in orders]
    # chunk_size above Oracle's IN limit: the look-ups must split their lists within one statement.
    client = EbsClient(engine, chunk_size=1500, created_by=1013)
    with captured(engine) as statements:
        client.interface_orders(orders, now=NOW)
        client.interface_orders(orders[:10], now=NOW)
    run_order_import(engine, now=NOW)
    with captured(engine) as more:
        client.interface_orders(orders[:10], now=NOW)
        client.import_errors(refs + [f"X-{n}" for n in range(1200)])
        fixed = EbsOrder(document_ref(1, 6), customers[0].cust_account_id, "EUR", [EbsOrderLine("1", skus[0], 1, 5)])
        client.interface_orders([fixed], now=NOW, replace_failed=True)
        client.withdraw_failed([document_ref(1, 6)])
        client.order_status(refs + [f"X-{n}" for n in range(1200)])
        client.onhand()
        client.onhand([*skus, *(f"NO-{n}" for n in range(1200))], org=208)
        client.prices("EUR", as_of=NOW)
        client.prices("USD", skus[:3], as_of=NOW)
        client.customers()
        client.customers(account_ids=[c.cust_account_id for c in customers], emails=["a@b.c"],
                         orig_system_references=["PRESTASHOP-1"], updated_since=NOW, active_only=True)
    advance(engine, NOW + timedelta(days=2), invoice_after=timedelta(0), pay_after=timedelta(0))
    with captured(engine) as reads:
        assert client.shipments_since(NOW)
        client.shipments_since(NOW, NOW + timedelta(days=3))
        assert client.invoices_since(NOW)
        client.invoices_since(None, NOW + timedelta(days=3), order_entry_only=False)
        assert client.receipts_since(NOW)
        client.receipts_since(None)
    engine.dispose()
    return statements + more + reads


_STRING = re.compile(r"'(?:[^']|'')*'")


def _in_lists(sql: str) -> list[int]:
    """Number of expressions of every literal IN list (subqueries excluded)."""
    sizes = []
    for match in re.finditer(r"\bIN \(", sql):
        depth, start = 1, match.end()
        pos = start
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[pos], 0)
            pos += 1
        body = sql[start:pos - 1]
        if not body.lstrip().upper().startswith("SELECT"):
            sizes.append(body.count(",") + 1)
    return sizes


def test_every_statement_renders_as_valid_oracle(workload: list[sa.ClauseElement]) -> None:
    assert len(workload) > 40
    in_sizes: list[int] = []
    seen_tables: set[str] = set()
    for statement in workload:
        assert not isinstance(statement, sa.TextClause), "the client sends Core statements, never raw SQL"
        sql = compile_oracle(statement)
        bare = _STRING.sub("''", sql)
        assert "?" not in bare and "%s" not in bare and "%(" not in bare, sql
        assert ":" in bare or not isinstance(statement, sa.Insert), sql
        for banned in (r"\bLIMIT\b", r"\bOFFSET\b", r"\bRETURNING\b", r"\bON CONFLICT\b", r"\bILIKE\b",
                       r"\bTRUE\b", r"\bFALSE\b", r"::", r"\bNULLS (FIRST|LAST)\b", r"\bFOR UPDATE\b"):
            assert not re.search(banned, bare, re.I), (banned, sql)
        assert '"' not in bare, f"quoted identifier (case-sensitive in Oracle): {sql}"
        sizes = _in_lists(bare)
        assert all(size <= ebs.IN_LIST_LIMIT for size in sizes), (sizes, sql[:300])
        in_sizes += sizes
        # Pre-12.2 databases (older EBS) allow 30-character names; SQLAlchemy shortens binds for them.
        old = _STRING.sub("''", compile_oracle(statement, max_identifier_length=30))
        assert all(len(name) <= 30 for name in re.findall(r":([A-Za-z_][\w$#]*)", old)), old[:300]
        seen_tables |= {name for name in TABLES.values() if re.search(rf"\b{name.name}\b", bare)}
    assert max(in_sizes) == ebs.IN_LIST_LIMIT and ebs.IN_LIST_LIMIT + 1 not in in_sizes
    assert set(TABLES.values()) == seen_tables  # every table the module defines was exercised
    assert any(len(_in_lists(compile_oracle(s))) >= 4 for s in workload)  # split lists in one UNION statement


def test_executemany_inserts_are_plain_named_bind_inserts(workload: list[sa.ClauseElement]) -> None:
    inserts = {compile_oracle(s) for s in workload if isinstance(s, sa.Insert)}
    assert inserts == {compile_oracle(ebs._HEADER_INSERT), compile_oracle(ebs._LINE_INSERT)}
    header = compile_oracle(ebs._HEADER_INSERT)
    assert header.startswith("INSERT INTO oe_headers_iface_all (order_source_id, orig_sys_document_ref, "
                             "operation_code, org_id,")
    assert "VALUES (:order_source_id, :orig_sys_document_ref, :operation_code, :org_id," in header
    assert "created_by, creation_date, last_updated_by, last_update_date, last_update_login)" in header


def test_tables_match_the_stand_in_ddl() -> None:
    """The client's own table definitions agree with the documented EBS DDL (names, byte lengths)."""
    for table in TABLES.values():
        assert len(table.name) <= 30
        assert table.name in standin.TABLES, table.name
        reference = standin.TABLES[table.name]
        for column in table.c:
            assert len(column.name) <= 30
            assert column.name in reference.c, f"{table.name}.{column.name}"
            ours, theirs = getattr(column.type, "length", None), getattr(reference.c[column.name].type, "length", None)
            assert ours == theirs, f"{table.name}.{column.name}: VARCHAR2({ours}) vs VARCHAR2({theirs})"


# --------------------------------------------------------------------------------------------- helpers


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5000), min_size=1, max_size=2600))
@example(list(range(2500)))
@example([7] * 1500)
def test_in_list_splits_into_oracle_sized_lists(values: list[int]) -> None:
    column = sa.column("x", sa.Integer())
    sql = compile_oracle(sa.select(column).where(in_list(column, values)))
    sizes = _in_lists(sql)
    distinct = len(set(values))
    assert len(sizes) == -(-distinct // ebs.IN_LIST_LIMIT) and all(size <= ebs.IN_LIST_LIMIT for size in sizes)
    assert sum(sizes) >= distinct
    bound = in_list(column, values).compile(compile_kwargs={"render_postcompile": True}).params
    assert set(bound.values()) == set(values)


def test_in_list_pads_to_few_distinct_lengths() -> None:
    column = sa.column("x", sa.Integer())
    sizes = {n: _in_lists(compile_oracle(sa.select(column).where(in_list(column, range(n)))))
             for n in [*range(1, 70), 127, 128, 129, 300, 511, 512, 513, 999, 1000]}
    # 1, 2, 4, ... 512, 1000: eleven SQL texts for any list up to 1,000 instead of a thousand texts
    assert {size for (size,) in sizes.values()} == {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000}
    assert all(n <= size < 2 * n or size == 1000 for n, (size,) in sizes.items())
    with pytest.raises(ValueError):
        in_list(column, [])


@settings(max_examples=80, deadline=None)
@given(st.text(min_size=0, max_size=60), st.text(min_size=1, max_size=60))
def test_byte_limits_are_utf8_lengths(po_number: str, line_ref: str) -> None:
    client = EbsClient(sa.create_engine("sqlite://"))
    order = EbsOrder("PS1-1", 1, "EUR", [EbsOrderLine(line_ref, "SKU-1", 1, Decimal("1.00"))],
                     customer_po_number=po_number)
    problems = client._check_order(order)
    assert any("CUSTOMER_PO_NUMBER" in p for p in problems) == (len(po_number.encode()) > 50)
    assert any("ORIG_SYS_LINE_REF is" in p for p in problems) == (len(line_ref.encode()) > 50)
    assert utf8_overflows(po_number, 50) == (len(po_number.encode("utf-8")) > 50)


@pytest.mark.parametrize(("text", "attribute", "status", "reason"), [
    ("An order with Order Source 1001 and Original System Document Reference X already exists (order number 5).",
     "ORIG_SYS_DOCUMENT_REF", None, "duplicate"),
    ("More than one interface order has Order Source 1001 and Original System Document Reference X.",
     "ORIG_SYS_DOCUMENT_REF", None, "duplicate"),
    ("Validation failed for the field - Customer", "SOLD_TO_ORG_ID", None, "mapping_missing"),
    ("Validation failed for the field - Customer", "SOLD_TO_ORG_ID", "I", "business_rule"),
    ("Cannot get valid ID for - sold_to_org_id", "SOLD_TO_ORG_ID", None, "mapping_missing"),
    ("Customer is a required attribute. Please specify a value.", "SOLD_TO_ORG_ID", None, "mapping_missing"),
    ("Validation failed for the field - Item", "INVENTORY_ITEM_ID", None, "mapping_missing"),
    ("Item X is not customer orderable in warehouse M1 (status Inactive).", "INVENTORY_ITEM_ID", None,
     "business_rule"),
    ("Order is on credit check failure hold", None, None, "business_rule"),
    ("Unable to get a list price for item X on price list Y.", "UNIT_LIST_PRICE", None, "business_rule"),
    ("Validation failed for the field - Ship To", "SHIP_TO_ORG_ID", None, "mapping_missing"),
    ("Validation failed for the field - Shipping Method", "SHIPPING_METHOD_CODE", None, "mapping_missing"),
    ("Invalid unit of measure for this item.", "ORDER_QUANTITY_UOM", None, "invalid_data"),
    ("Validation failed for the field - Ordered Quantity", "ORDERED_QUANTITY", None, "invalid_data"),
    (None, None, None, "invalid_data"),
])
def test_import_messages_are_classified(text: str | None, attribute: str | None, status: str | None,
                                        reason: str) -> None:
    got, fix = classify_import_message(text, attribute, status)
    assert got == reason and fix


class _PgError(Exception):
    sqlstate = "23505"


@pytest.mark.parametrize(("exc", "reason"), [
    (sa.exc.DatabaseError("INSERT", {}, Exception("ORA-12899: value too large for column X")), "invalid_data"),
    (sa.exc.IntegrityError("INSERT", {}, Exception("ORA-00001: unique constraint (ONT.X) violated")), "duplicate"),
    (sa.exc.IntegrityError("INSERT", {}, Exception("ORA-01400: cannot insert NULL into X")), "invalid_data"),
    (sa.exc.OperationalError("SELECT", {}, Exception("DPY-4011: the database or network closed the connection")),
     "retryable"),
    (sa.exc.OperationalError("SELECT", {}, Exception("ORA-00060: deadlock detected")), "retryable"),
    (sa.exc.DatabaseError("SELECT", {}, Exception("ORA-01017: invalid username/password")), "auth"),
    (sa.exc.IntegrityError("INSERT", {}, _PgError("duplicate key value")), "duplicate"),
    (sa.exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: t.x")), "duplicate"),
    (sa.exc.DataError("INSERT", {}, Exception("value too long")), "invalid_data"),
    (sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection")), "retryable"),
])
def test_database_errors_are_classified(exc: BaseException, reason: str) -> None:
    assert classify_db_error(exc) == reason


def test_document_ref_is_the_shop_and_order_id() -> None:
    assert document_ref(1, 42) == "PS1-42"
    assert document_ref(12, 7) != document_ref(1, 27)
