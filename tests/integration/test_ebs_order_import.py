"""EBS Order Import, shipping and invoicing in the stand-in, on SQLite and PostgreSQL, plus the Oracle statements
the product's EBS path will send (compiled for ``oracle+oracledb`` and executed here against the stand-in).

Each backend gets one seeded database for the module; every test imports what it inserts, so no test leaves
pending interface rows behind for the next one.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import oracle
from support.ebs import seeded_ebs

from prestaoracle.sandbox.ebs import SeedReport, advance, contract, run_order_import
from prestaoracle.sandbox.ebs import schema as s
from prestaoracle.sandbox.prestashop.generate import generate_shop

pytestmark = pytest.mark.xdist_group("ebs_order_import")

H, L = s.OE_HEADERS_IFACE_ALL, s.OE_LINES_IFACE_ALL
OH, OL = s.OE_ORDER_HEADERS_ALL, s.OE_ORDER_LINES_ALL
NOW = datetime(2025, 3, 3, 9, 30, 0)
PRODUCT_USER_ID = 1013  # the FND user the product connects as
SOURCE = contract.PRESTASHOP_ORDER_SOURCE_ID
TRACKING = {method: fmt for _n, _f, _s, method, fmt in contract.CARRIERS.values()}


@dataclass
class Env:
    engine: sa.Engine
    report: SeedReport
    backend: str

    def active_customers(self) -> list:
        return [c for c in self.report.customers.values() if c.status == "A" and c.ship_to_site_use_id]

    def inactive_customer(self):
        return next(c for c in self.report.customers.values() if c.status == "I")


@pytest.fixture(scope="module")
def shop_rows() -> dict[str, list[dict]]:
    return generate_shop(300, 11, datetime(2024, 1, 1), datetime(2024, 12, 31, 23, 59, 59)).rows


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, shop_rows: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with seeded_ebs(request.param, shop_rows, tmp_path_factory.mktemp("ebs"), "ebs_order_import") as (engine, report):
        yield Env(engine, report, request.param)


# --------------------------------------------------------------------------------------------- interface rows


def _who(at: datetime = NOW) -> dict:
    return {"created_by": PRODUCT_USER_ID, "creation_date": at, "last_updated_by": PRODUCT_USER_ID,
            "last_update_date": at, "last_update_login": None}


def header(ref: str, account: int | None, **values: object) -> dict:
    """A full OE_HEADERS_IFACE_ALL row (every column present, so executemany batches stay homogeneous)."""
    row = dict.fromkeys(H.c.keys())
    row.update(order_source_id=SOURCE, orig_sys_document_ref=ref, operation_code="INSERT", sold_to_org_id=account,
               transactional_curr_code="EUR", booked_flag="Y", ordered_date=NOW, customer_po_number=ref, **_who())
    row.update(values)
    return row


def line(ref: str, line_ref: str, sku: str | None, qty: object, price: object, **values: object) -> dict:
    row = dict.fromkeys(L.c.keys())
    row.update(order_source_id=SOURCE, orig_sys_document_ref=ref, orig_sys_line_ref=line_ref, operation_code="INSERT",
               inventory_item=sku, ordered_quantity=None if qty is None else Decimal(str(qty)),
               unit_selling_price=None if price is None else Decimal(str(price)), calculate_price_flag="N", **_who())
    row.update(values)
    return row


def insert(engine: sa.Engine, headers: list[dict], lines: list[dict]) -> None:
    with engine.begin() as conn:
        if headers:
            conn.execute(H.insert(), headers)
        if lines:
            conn.execute(L.insert(), lines)


def count(engine: sa.Engine, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def sku_price(env: Env, index: int = 0) -> tuple[str, Decimal]:
    sku = env.report.orderable_skus[index % len(env.report.orderable_skus)]
    return sku, env.report.price_eur[sku]


# --------------------------------------------------------------------------------------------- product statements

HEADER_COLUMNS = ("order_source_id", "orig_sys_document_ref", "operation_code", "org_id", "ordered_date",
                  "customer_po_number", "sold_to_org_id", "ship_to_org_id", "invoice_to_org_id",
                  "transactional_curr_code", "shipping_method_code", "booked_flag", "created_by", "creation_date",
                  "last_updated_by", "last_update_date")
LINE_COLUMNS = ("order_source_id", "orig_sys_document_ref", "orig_sys_line_ref", "operation_code", "inventory_item",
                "ordered_quantity", "order_quantity_uom", "unit_selling_price", "unit_list_price",
                "calculate_price_flag", "created_by", "creation_date", "last_updated_by", "last_update_date")


def _binds(table: sa.Table, columns: tuple[str, ...]) -> list[sa.BindParameter]:
    return [sa.bindparam(c, type_=table.c[c].type) for c in columns]


def plain_header_insert() -> sa.Insert:
    """``INSERT ... VALUES (:a, :b, ...)`` for ``cursor.executemany`` (one round trip per batch)."""
    return sa.insert(H).values(dict(zip(HEADER_COLUMNS, _binds(H, HEADER_COLUMNS), strict=True)))


def guarded_header_insert() -> sa.Insert:
    """Idempotent without MERGE: insert only when the reference is neither pending nor already an order."""
    pending = sa.select(H.c.orig_sys_document_ref).where(
        H.c.order_source_id == sa.bindparam("order_source_id"),
        H.c.orig_sys_document_ref == sa.bindparam("orig_sys_document_ref")).exists()
    imported = sa.select(OH.c.header_id).where(
        OH.c.order_source_id == sa.bindparam("order_source_id"),
        OH.c.orig_sys_document_ref == sa.bindparam("orig_sys_document_ref")).exists()
    source = sa.select(*_binds(H, HEADER_COLUMNS)).where(~pending, ~imported)
    return sa.insert(H).from_select(list(HEADER_COLUMNS), source)


def guarded_line_insert() -> sa.Insert:
    pending = sa.select(L.c.orig_sys_line_ref).where(
        L.c.order_source_id == sa.bindparam("order_source_id"),
        L.c.orig_sys_document_ref == sa.bindparam("orig_sys_document_ref"),
        L.c.orig_sys_line_ref == sa.bindparam("orig_sys_line_ref")).exists()
    imported = sa.select(OH.c.header_id).where(
        OH.c.order_source_id == sa.bindparam("order_source_id"),
        OH.c.orig_sys_document_ref == sa.bindparam("orig_sys_document_ref")).exists()
    source = sa.select(*_binds(L, LINE_COLUMNS)).where(~pending, ~imported)
    return sa.insert(L).from_select(list(LINE_COLUMNS), source)


def onhand_query() -> sa.Select:
    """§4.3: sum the receipt layers, own stock only, one organization."""
    msi, moqd = s.MTL_SYSTEM_ITEMS_B, s.MTL_ONHAND_QUANTITIES_DETAIL
    return (sa.select(msi.c.segment1.label("sku"), moqd.c.organization_id,
                      sa.func.sum(moqd.c.primary_transaction_quantity).label("onhand"))
            .join(msi, sa.and_(msi.c.inventory_item_id == moqd.c.inventory_item_id,
                               msi.c.organization_id == moqd.c.organization_id))
            .where(moqd.c.organization_id == sa.bindparam("org"), moqd.c.is_consigned == 2)
            .group_by(msi.c.segment1, moqd.c.organization_id))


def price_query() -> sa.Select:
    """§4.4: item-level list price on one price list, active at ``as_of``."""
    v, msi = s.QP_PRICE_LIST_LINES_V, s.MTL_SYSTEM_ITEMS_B
    as_of = sa.bindparam("as_of", type_=sa.DateTime())
    return (sa.select(msi.c.segment1.label("sku"), v.c.operand, v.c.product_uom_code)
            .join(msi, v.c.product_attr_value == sa.cast(msi.c.inventory_item_id, sa.String(40)))
            .where(msi.c.organization_id == contract.MASTER_ORGANIZATION_ID,
                   v.c.list_header_id == sa.bindparam("list_header_id"), v.c.list_line_type_code == "PLL",
                   v.c.product_attribute_context == "ITEM", v.c.product_attribute == "PRICING_ATTRIBUTE1",
                   sa.func.coalesce(v.c.start_date_active, as_of) <= as_of,
                   sa.func.coalesce(v.c.end_date_active, as_of) >= as_of))


def status_query() -> sa.Select:
    """Order and line status by the idempotency key."""
    return (sa.select(OH.c.header_id, OH.c.order_number, OH.c.flow_status_code.label("header_status"),
                      OL.c.line_number, OL.c.orig_sys_line_ref, OL.c.ordered_item, OL.c.ordered_quantity,
                      OL.c.shipped_quantity, OL.c.flow_status_code.label("line_status"))
            .join(OL, OL.c.header_id == OH.c.header_id)
            .where(OH.c.order_source_id == sa.bindparam("order_source_id"),
                   OH.c.orig_sys_document_ref.in_(sa.bindparam("refs", expanding=True)))
            .order_by(OH.c.header_id, OL.c.line_number))


def messages_query() -> sa.Select:
    """§4.1: why an interface order failed (latest request first)."""
    m, tl = s.OE_PROCESSING_MSGS, s.OE_PROCESSING_MSGS_TL
    return (sa.select(m.c.request_id, m.c.original_sys_document_ref, m.c.original_sys_document_line_ref,
                      sa.func.coalesce(m.c.message_text, tl.c.message_text).label("message_text"))
            .outerjoin(tl, sa.and_(tl.c.transaction_id == m.c.transaction_id, tl.c.language == "US"))
            .where(m.c.order_source_id == sa.bindparam("order_source_id"),
                   m.c.original_sys_document_ref == sa.bindparam("ref"))
            .order_by(m.c.request_id.desc(), m.c.transaction_id))


def shipments_query() -> sa.Select:
    """§4.2: shipped lines with tracking numbers, changed since ``since``."""
    dd, da, nd = s.WSH_DELIVERY_DETAILS, s.WSH_DELIVERY_ASSIGNMENTS, s.WSH_NEW_DELIVERIES
    return (sa.select(OH.c.orig_sys_document_ref, OH.c.order_number, dd.c.source_line_id, dd.c.inventory_item_id,
                      dd.c.shipped_quantity, dd.c.tracking_number, nd.c.delivery_id, nd.c.waybill,
                      nd.c.ship_method_code, nd.c.confirm_date)
            .join(da, da.c.delivery_detail_id == dd.c.delivery_detail_id)
            .join(nd, nd.c.delivery_id == da.c.delivery_id)
            .join(OH, OH.c.header_id == dd.c.source_header_id)
            .where(dd.c.source_code == "OE", dd.c.released_status == "C", dd.c.last_update_date > sa.bindparam("since"))
            .order_by(dd.c.source_line_id))


def invoices_query() -> sa.Select:
    """§4.6: invoices of OM orders by order number, with what is still due."""
    trx, ps = s.RA_CUSTOMER_TRX_ALL, s.AR_PAYMENT_SCHEDULES_ALL
    return (sa.select(trx.c.interface_header_attribute1.label("order_number"), trx.c.trx_number, trx.c.trx_date,
                      trx.c.invoice_currency_code, ps.c.amount_due_original, ps.c.amount_due_remaining, ps.c.status)
            .join(ps, ps.c.customer_trx_id == trx.c.customer_trx_id)
            .where(trx.c.interface_header_context == "ORDER ENTRY",
                   trx.c.interface_header_attribute1.in_(sa.bindparam("order_numbers", expanding=True)))
            .order_by(trx.c.trx_number))


def oracle_sql(statement: sa.ClauseElement) -> str:
    return str(statement.compile(dialect=oracle.dialect()))


def test_product_statements_render_for_oracle() -> None:
    """The statements above are what the product will send through ``oracle+oracledb``: they must render."""
    plain = oracle_sql(plain_header_insert())
    assert plain.startswith("INSERT INTO oe_headers_iface_all (order_source_id, orig_sys_document_ref,")
    assert "VALUES (:order_source_id, :orig_sys_document_ref," in plain
    guarded = oracle_sql(guarded_header_insert())
    assert "SELECT :order_source_id AS anon_1, :orig_sys_document_ref AS anon_2" in guarded
    assert "FROM DUAL" in guarded and guarded.count("NOT (EXISTS (SELECT") == 2
    assert "FROM DUAL" in oracle_sql(guarded_line_insert())
    assert "sum(mtl_onhand_quantities_detail.primary_transaction_quantity)" in oracle_sql(onhand_query())
    price = oracle_sql(price_query())
    assert "CAST(mtl_system_items_b.inventory_item_id AS VARCHAR2(40 CHAR))" in price
    assert "coalesce(qp_price_list_lines_v.start_date_active, :as_of) <= :as_of" in price
    assert "(__[POSTCOMPILE_refs])" in oracle_sql(status_query())
    for statement in (messages_query(), shipments_query(), invoices_query()):
        assert oracle_sql(statement).startswith("SELECT ")
    # With the list expanded, as oracledb receives it:
    expanded = status_query().params(order_source_id=SOURCE, refs=["A", "B"])
    literal = str(expanded.compile(dialect=oracle.dialect(), compile_kwargs={"render_postcompile": True}))
    assert "IN (:refs_1, :refs_2)" in literal


# --------------------------------------------------------------------------------------------- order import


def test_good_orders_are_imported_with_lines(env: Env) -> None:
    customers = env.active_customers()
    (sku1, p1), (sku2, p2), (sku3, _p3) = sku_price(env, 0), sku_price(env, 1), sku_price(env, 2)
    item3 = env.report.items[sku3]
    by_number = customers[1]
    headers = [
        header("GOOD-1", customers[0].cust_account_id),
        header("GOOD-2", None, customer_number=by_number.account_number, booked_flag=None),
        header("GOOD-3", customers[2].cust_account_id, shipping_method_code="UPS_P_EXPRESS_SAVER"),
    ]
    lines = [
        line("GOOD-1", "2", sku2, 1, p2),
        line("GOOD-1", "1", sku1, 3, p1, order_quantity_uom="Ea"),
        line("GOOD-2", "1", None, 2, "12.34", inventory_item_id=item3),
        line("GOOD-3", "1", sku1, 1, None, calculate_price_flag="Y"),
    ]
    insert(env.engine, headers, lines)

    result = run_order_import(env.engine, now=NOW)

    assert result.failed == [] and result.status_code == "C"
    got = {o.orig_sys_document_ref: o for o in result.imported}
    assert set(got) == {"GOOD-1", "GOOD-2", "GOOD-3"}
    assert (got["GOOD-1"].flow_status_code, got["GOOD-2"].flow_status_code) == ("BOOKED", "ENTERED")
    with env.engine.connect() as conn:
        rows = conn.execute(status_query(), {"order_source_id": SOURCE, "refs": ["GOOD-1", "GOOD-2", "GOOD-3"]}).all()
        heads = {r.orig_sys_document_ref: r for r in conn.execute(sa.select(OH).where(
            OH.c.orig_sys_document_ref.in_(["GOOD-1", "GOOD-2", "GOOD-3"])))}
        details = conn.execute(sa.select(s.WSH_DELIVERY_DETAILS.c.source_header_id,
                                         s.WSH_DELIVERY_DETAILS.c.released_status)
                               .where(s.WSH_DELIVERY_DETAILS.c.source_header_id.in_(
                                   [h.header_id for h in heads.values()]))).all()
        request = conn.execute(sa.select(s.FND_CONCURRENT_REQUESTS).where(
            s.FND_CONCURRENT_REQUESTS.c.request_id == result.request_id)).one()
    assert [(r.order_number, r.line_number, r.ordered_item, r.line_status) for r in rows if r.header_id ==
            got["GOOD-1"].header_id] == [(got["GOOD-1"].order_number, 1, sku1, "AWAITING_SHIPPING"),
                                          (got["GOOD-1"].order_number, 2, sku2, "AWAITING_SHIPPING")]
    g1, g2, g3 = heads["GOOD-1"], heads["GOOD-2"], heads["GOOD-3"]
    assert g1.ship_to_org_id == customers[0].ship_to_site_use_id  # defaulted from the primary SHIP_TO
    assert g1.invoice_to_org_id == customers[0].bill_to_site_use_id
    assert g1.price_list_id == env.report.price_lists["EUR"] and g1.booked_date == NOW
    assert g1.created_by == PRODUCT_USER_ID and g1.ship_from_org_id == contract.DEFAULT_SHIP_FROM_ORG_ID
    assert g2.sold_to_org_id == by_number.cust_account_id and g2.flow_status_code == "ENTERED"
    assert g3.shipping_method_code == "UPS_P_EXPRESS_SAVER"
    assert len({g1.order_number, g2.order_number, g3.order_number}) == 3
    with env.engine.connect() as conn:
        repriced = conn.execute(sa.select(OL.c.unit_selling_price, OL.c.unit_list_price)
                                .where(OL.c.header_id == g3.header_id)).one()
        entered = conn.execute(sa.select(OL.c.ordered_item, OL.c.unit_selling_price, OL.c.order_quantity_uom)
                               .where(OL.c.header_id == g2.header_id)).one()
    assert Decimal(repriced.unit_selling_price) == env.report.price_eur[sku1] == Decimal(repriced.unit_list_price)
    assert (entered.ordered_item, Decimal(entered.unit_selling_price), entered.order_quantity_uom) == (
        sku3, Decimal("12.34"), contract.DEFAULT_UOM)
    # Booked lines wait in shipping; entered ones do not reach it.
    assert sorted(d.released_status for d in details if d.source_header_id == g1.header_id) == ["R", "R"]
    assert not [d for d in details if d.source_header_id == g2.header_id]
    # Imported rows leave the interface, as OEOIMP deletes them.
    refs = ["GOOD-1", "GOOD-2", "GOOD-3"]
    assert count(env.engine, H, H.c.orig_sys_document_ref.in_(refs)) == 0
    assert count(env.engine, L, L.c.orig_sys_document_ref.in_(refs)) == 0
    assert (request.phase_code, request.status_code, request.concurrent_program_id) == (
        "C", "C", contract.OEOIMP_PROGRAM_ID)


def _messages(env: Env, ref: str) -> list[tuple[str | None, str]]:
    with env.engine.connect() as conn:
        rows = conn.execute(messages_query(), {"order_source_id": SOURCE, "ref": ref}).all()
    latest = rows[0].request_id
    return [(r.original_sys_document_line_ref, r.message_text) for r in rows if r.request_id == latest]


def test_bad_orders_are_flagged_with_messages(env: Env) -> None:
    good = env.active_customers()[3].cust_account_id
    sku, price = sku_price(env, 3)
    insert(env.engine, [header("DUP-1", good)], [line("DUP-1", "1", sku, 1, price)])
    assert [o.orig_sys_document_ref for o in run_order_import(env.engine, now=NOW).imported] == ["DUP-1"]

    headers = [
        header("BAD-CUSTOMER", 999_999),
        header("BAD-INACTIVE-CUSTOMER", env.inactive_customer().cust_account_id),
        header("BAD-ITEM", good),
        header("BAD-MISSING-SKU", good),
        header("BAD-INACTIVE-ITEM", good),
        header("BAD-STYLE-ITEM", good),
        header("BAD-ZERO-QTY", good),
        header("DUP-1", good),
        header("BAD-NO-PRICE", good),
        header("BAD-NO-CURRENCY", good, transactional_curr_code=None),
        header("BAD-SHIP-TO", good, ship_to_org_id=env.active_customers()[4].ship_to_site_use_id),
        header("BAD-UOM", good),
        header("BAD-SOURCE", good, order_source_id=1002),
    ]
    lines = [
        line("BAD-CUSTOMER", "1", sku, 1, price),
        line("BAD-INACTIVE-CUSTOMER", "1", sku, 1, price),
        line("BAD-ITEM", "1", sku, 1, price), line("BAD-ITEM", "2", "NO-SUCH-SKU", 1, price),
        line("BAD-MISSING-SKU", "1", env.report.missing_skus[0], 1, price),
        line("BAD-INACTIVE-ITEM", "1", env.report.inactive_skus[0], 1, price),
        line("BAD-STYLE-ITEM", "1", env.report.style_skus[0], 1, price),
        line("BAD-ZERO-QTY", "1", sku, 0, price),
        line("DUP-1", "1", sku, 1, price),
        line("BAD-NO-PRICE", "1", sku, 1, None),
        line("BAD-NO-CURRENCY", "1", sku, 1, price),
        line("BAD-SHIP-TO", "1", sku, 1, price),
        line("BAD-UOM", "1", sku, 1, price, order_quantity_uom="BOX"),
        line("BAD-SOURCE", "1", sku, 1, price, order_source_id=1002),
    ]
    insert(env.engine, headers, lines)

    result = run_order_import(env.engine, now=NOW)

    assert result.imported == [] and result.status_code == "G"
    failed = result.failed_refs()
    failed_key = {(f.order_source_id, f.orig_sys_document_ref) for f in result.failed}
    assert (1002, "BAD-SOURCE") in failed_key
    with env.engine.connect() as conn:
        dup = conn.execute(sa.select(OH.c.order_number).where(OH.c.orig_sys_document_ref == "DUP-1")).scalar_one()
    assert failed == {
        "BAD-CUSTOMER": ["Validation failed for the field - Customer"],
        "BAD-INACTIVE-CUSTOMER": ["Validation failed for the field - Customer"],
        "BAD-ITEM": ["Validation failed for the field - Item"],
        "BAD-MISSING-SKU": ["Validation failed for the field - Item"],
        "BAD-INACTIVE-ITEM": [f"Item {env.report.inactive_skus[0]} is not customer orderable in warehouse M1 "
                              "(status Inactive)."],
        "BAD-STYLE-ITEM": [f"Item {env.report.style_skus[0]} is not customer orderable in warehouse M1 "
                           "(status Active)."],
        "BAD-ZERO-QTY": ["Validation failed for the field - Ordered Quantity"],
        "DUP-1": [f"An order with Order Source {SOURCE} and Original System Document Reference DUP-1 already exists "
                  f"(order number {dup})."],
        "BAD-NO-PRICE": ["Unit Selling Price is a required attribute. Please specify a value."],
        "BAD-NO-CURRENCY": ["Currency is a required attribute. Please specify a value."],
        "BAD-SHIP-TO": ["Validation failed for the field - Ship To"],
        "BAD-UOM": ["Invalid unit of measure for this item."],
        "BAD-SOURCE": ["Validation failed for the field - Order Source"],
    }
    # What the product reads back: flags on the interface rows, texts in OE_PROCESSING_MSGS(_TL).
    with env.engine.connect() as conn:
        flagged = sa.select(H.c.orig_sys_document_ref, H.c.error_flag, H.c.request_id).where(
            H.c.order_source_id == SOURCE, H.c.request_id == result.request_id)
        flags = {r.orig_sys_document_ref: (r.error_flag, r.request_id) for r in conn.execute(flagged)}
        line_flags = dict(conn.execute(sa.select(L.c.orig_sys_line_ref, L.c.error_flag).where(
            L.c.orig_sys_document_ref == "BAD-ITEM")).all())
    assert set(flags) == set(failed) - {"BAD-SOURCE"}
    assert all(flag == ("Y", result.request_id) for flag in flags.values())
    assert line_flags == {"1": None, "2": "Y"}  # only the failing line is flagged; the order fails whole
    assert _messages(env, "BAD-ITEM") == [("2", "Validation failed for the field - Item")]
    assert _messages(env, "BAD-CUSTOMER") == [(None, "Validation failed for the field - Customer")]
    # DUP-1 is still the one order it was.
    assert count(env.engine, OH, OH.c.orig_sys_document_ref == "DUP-1") == 1


def test_rerun_is_a_no_op(env: Env) -> None:
    customer = env.active_customers()[5].cust_account_id
    sku, price = sku_price(env, 4)
    insert(env.engine, [header("RERUN-OK", customer), header("RERUN-BAD", customer)],
           [line("RERUN-OK", "1", sku, 2, price), line("RERUN-BAD", "1", sku, -1, price)])
    first = run_order_import(env.engine, now=NOW)
    assert [o.orig_sys_document_ref for o in first.imported] == ["RERUN-OK"]
    assert list(first.failed_refs()) == ["RERUN-BAD"]

    def snapshot() -> dict[str, int]:
        return {name: count(env.engine, s.TABLES[name]) for name in (
            "oe_order_headers_all", "oe_order_lines_all", "oe_headers_iface_all", "oe_lines_iface_all",
            "oe_processing_msgs", "wsh_delivery_details")}

    before = snapshot()
    again = run_order_import(env.engine, now=NOW + timedelta(minutes=5))
    assert (again.imported, again.failed, again.status_code) == ([], [], "C")
    assert snapshot() == before

    # Fixing the row and clearing ERROR_FLAG (the Order Import Corrections flow) makes it importable again.
    with env.engine.begin() as conn:
        conn.execute(L.update().where(L.c.orig_sys_document_ref == "RERUN-BAD").values(ordered_quantity=1))
        conn.execute(H.update().where(H.c.orig_sys_document_ref == "RERUN-BAD").values(error_flag=None))
    fixed = run_order_import(env.engine, now=NOW + timedelta(minutes=10))
    assert [o.orig_sys_document_ref for o in fixed.imported] == ["RERUN-BAD"]


def test_product_statements_run_on_the_stand_in(env: Env) -> None:
    """The Oracle statements of the product, executed here: guarded inserts are idempotent, reads agree."""
    customer = env.active_customers()[6]
    (sku1, p1), (sku2, p2) = sku_price(env, 5), sku_price(env, 6)
    head = {c: header("STMT-1", customer.cust_account_id)[c] for c in HEADER_COLUMNS}
    lines = [{c: line("STMT-1", str(n), sku, 1, p)[c] for c in LINE_COLUMNS}
             for n, (sku, p) in enumerate([(sku1, p1), (sku2, p2)], start=1)]
    with env.engine.begin() as conn:
        for _attempt in range(2):  # a retried task sends everything twice
            conn.execute(guarded_header_insert(), [head])
            conn.execute(guarded_line_insert(), lines)
    assert count(env.engine, H, H.c.orig_sys_document_ref == "STMT-1") == 1
    assert count(env.engine, L, L.c.orig_sys_document_ref == "STMT-1") == 2
    with env.engine.begin() as conn:
        conn.execute(plain_header_insert(), [{**head, "orig_sys_document_ref": f"STMT-{n}"} for n in (2, 3)])
        conn.execute(L.insert(), [{**lines[0], "orig_sys_document_ref": f"STMT-{n}"} for n in (2, 3)])
    assert {o.orig_sys_document_ref for o in run_order_import(env.engine, now=NOW).imported} == {
        "STMT-1", "STMT-2", "STMT-3"}
    with env.engine.begin() as conn:  # once imported, the guard still refuses the reference
        conn.execute(guarded_header_insert(), head)
    assert count(env.engine, H, H.c.orig_sys_document_ref == "STMT-1") == 0

    with env.engine.connect() as conn:
        m1 = {"org": contract.DEFAULT_SHIP_FROM_ORG_ID}
        onhand = {r.sku: int(r.onhand) for r in conn.execute(onhand_query(), m1)}
        prices = {r.sku: Decimal(r.operand) for r in conn.execute(
            price_query(), {"list_header_id": env.report.price_lists["EUR"], "as_of": NOW})}
        status = conn.execute(status_query(), {"order_source_id": SOURCE, "refs": ["STMT-1"]}).all()
    assert {sku: q for sku, q in onhand.items() if sku in env.report.onhand_m1} == {
        sku: q for sku, q in env.report.onhand_m1.items() if q}  # nothing has shipped yet
    assert prices == {sku: p.quantize(Decimal("0.01")) for sku, p in env.report.price_eur.items()}
    assert [(r.line_number, r.ordered_item, r.header_status) for r in status] == [
        (1, sku1, "BOOKED"), (2, sku2, "BOOKED")]


def test_batch_of_1000_orders(env: Env) -> None:
    customers = env.active_customers()
    skus = env.report.orderable_skus
    headers, lines = [], []
    for n in range(1000):
        ref = f"BULK-{n:05d}"
        headers.append(header(ref, customers[n % len(customers)].cust_account_id))
        for k in range(1 + n % 4):
            sku = skus[(n * 7 + k) % len(skus)]
            lines.append(line(ref, str(k + 1), sku, 1 + (n + k) % 3, env.report.price_eur[sku]))
    started = time.perf_counter()
    insert(env.engine, headers, lines)
    inserted = time.perf_counter() - started
    result = run_order_import(env.engine, now=NOW)
    print(f"\n[{env.backend}] 1,000 interface orders / {len(lines)} lines: insert {inserted:.3f} s, "
          f"order import {result.elapsed_s:.3f} s")
    assert len(result.imported) == 1000 and result.failed == []
    assert sum(o.line_count for o in result.imported) == len(lines)
    assert count(env.engine, H, H.c.orig_sys_document_ref.like("BULK-%")) == 0


# --------------------------------------------------------------------------------------------- shipping and AR


def _stock(env: Env) -> tuple[dict[tuple[int, int], Decimal], Decimal]:
    moqd = s.MTL_ONHAND_QUANTITIES_DETAIL
    with env.engine.connect() as conn:
        own = conn.execute(sa.select(moqd.c.inventory_item_id, moqd.c.organization_id,
                                     sa.func.sum(moqd.c.primary_transaction_quantity))
                           .where(moqd.c.is_consigned == 2)
                           .group_by(moqd.c.inventory_item_id, moqd.c.organization_id)).all()
        consigned = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(moqd.c.primary_transaction_quantity), 0))
                                 .where(moqd.c.is_consigned == 1)).scalar_one()
    return {(item, org): Decimal(q) for item, org, q in own}, Decimal(consigned)


def test_advance_ships_invoices_and_pays(env: Env) -> None:
    customer = env.active_customers()[7]
    sku, price = sku_price(env, 7)
    scarce = env.report.orderable_skus[-1]
    insert(env.engine, [header("SHIP-1", customer.cust_account_id, shipping_method_code="DHL_P_PARCEL"),
                        header("SHIP-2", customer.cust_account_id, booked_flag="N")],
           [line("SHIP-1", "1", sku, 1, price), line("SHIP-1", "2", scarce, 10**6, price),
            line("SHIP-2", "1", sku, 1, price)])
    assert {o.orig_sys_document_ref for o in run_order_import(env.engine, now=NOW).imported} == {"SHIP-1", "SHIP-2"}
    # A fresh receipt, so SHIP-1's first line ships even after the bulk orders took their share.
    with env.engine.begin() as conn:
        layer_id = s.allocate_ids(conn, "MTL_ONHAND_QUANTITIES_S")
        conn.execute(s.MTL_ONHAND_QUANTITIES_DETAIL.insert().values(
            onhand_quantities_id=layer_id, inventory_item_id=env.report.items[sku],
            organization_id=contract.DEFAULT_SHIP_FROM_ORG_ID, subinventory_code="FGI",
            primary_transaction_quantity=10**5, transaction_quantity=10**5, transaction_uom_code="Ea",
            is_consigned=2, owning_organization_id=contract.DEFAULT_SHIP_FROM_ORG_ID, date_received=NOW, **_who()))

    stock_before, consigned_before = _stock(env)
    ship_at = NOW + timedelta(days=2)
    shipped = advance(env.engine, ship_at)
    stock_after, consigned_after = _stock(env)
    print(f"\n[{env.backend}] advance: {len(shipped.shipped_lines)} lines shipped in {len(shipped.deliveries)} "
          f"deliveries, {len(shipped.backordered_lines)} backordered")
    assert shipped.shipped_lines and shipped.deliveries and not shipped.invoices

    with env.engine.connect() as conn:
        rows = conn.execute(shipments_query(), {"since": NOW}).all()
        lines = {r.line_id: r for r in conn.execute(sa.select(OL.c.line_id, OL.c.flow_status_code, OL.c.header_id,
                                                              OL.c.orig_sys_document_ref, OL.c.orig_sys_line_ref))}
    assert {r.source_line_id for r in rows} == set(shipped.shipped_lines)
    moved: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for r in rows:
        assert r.tracking_number == r.waybill and r.confirm_date == ship_at
        pattern = "".join(r"\d" if ch == "N" else "[A-Z]" if ch == "A" else re.escape(ch)
                          for ch in TRACKING[r.ship_method_code])
        assert re.fullmatch(pattern, r.tracking_number), (r.ship_method_code, r.tracking_number)
        assert lines[r.source_line_id].flow_status_code == "SHIPPED"
        moved[(r.inventory_item_id, contract.DEFAULT_SHIP_FROM_ORG_ID)] += Decimal(r.shipped_quantity)
    # On-hand fell by exactly what shipped, item by item; consigned stock is never issued.
    for key in set(stock_before) | set(stock_after):
        assert stock_before.get(key, Decimal(0)) - stock_after.get(key, Decimal(0)) == moved.get(key, Decimal(0))
    assert consigned_before == consigned_after
    by_ref = {(v.orig_sys_document_ref, v.orig_sys_line_ref): k for k, v in lines.items()}
    assert by_ref[("SHIP-1", "1")] in shipped.shipped_lines
    assert by_ref[("SHIP-1", "2")] in shipped.backordered_lines
    assert by_ref[("SHIP-2", "1")] not in shipped.shipped_lines  # entered, not booked
    dhl = [r for r in rows if r.orig_sys_document_ref == "SHIP-1"]
    assert len(dhl) == 1 and dhl[0].ship_method_code == "DHL_P_PARCEL" and dhl[0].tracking_number.startswith("JJD")

    invoiced = advance(env.engine, ship_at + timedelta(days=1))
    assert not invoiced.shipped_lines and len(invoiced.invoices) == len(shipped.deliveries)
    with env.engine.connect() as conn:
        order_numbers = sorted({str(r.order_number) for r in rows})
        invoices = conn.execute(invoices_query(), {"order_numbers": order_numbers}).all()
        trx_lines = conn.execute(sa.select(s.RA_CUSTOMER_TRX_LINES_ALL)).all()
        ship_1 = conn.execute(sa.select(OH.c.flow_status_code, OL.c.orig_sys_line_ref, OL.c.flow_status_code)
                              .join(OL, OL.c.header_id == OH.c.header_id)
                              .where(OH.c.orig_sys_document_ref == "SHIP-1").order_by(OL.c.line_number)).all()
    assert sorted(i.order_number for i in invoices) == order_numbers
    assert all(i.status == "OP" and i.amount_due_remaining == i.amount_due_original for i in invoices)
    shipped_amount = {}
    by_line_id = {t.interface_line_attribute6: t for t in trx_lines}
    for r in rows:
        line_row = by_line_id[str(r.source_line_id)]
        assert line_row.sales_order == str(r.order_number) and line_row.interface_line_context == "ORDER ENTRY"
        shipped_amount.setdefault(str(r.order_number), Decimal(0))
        shipped_amount[str(r.order_number)] += Decimal(line_row.extended_amount)
    assert {i.order_number: Decimal(i.amount_due_original) for i in invoices} == shipped_amount
    # The invoiced line is closed; the backordered one keeps the order open.
    assert [tuple(r) for r in ship_1] == [("BOOKED", "1", "CLOSED"), ("BOOKED", "2", "AWAITING_SHIPPING")]
    assert invoiced.closed_orders  # orders whose every line shipped are closed

    paid = advance(env.engine, ship_at + timedelta(days=4))
    assert len(paid.receipts) == len(invoices)
    with env.engine.connect() as conn:
        after = conn.execute(invoices_query(), {"order_numbers": order_numbers}).all()
        receipts = count(env.engine, s.AR_CASH_RECEIPTS_ALL)
    assert all(i.status == "CL" and i.amount_due_remaining == 0 for i in after)
    assert receipts == len(paid.receipts)
    assert advance(env.engine, ship_at + timedelta(days=4)) == type(paid)()  # nothing left to do at that time

