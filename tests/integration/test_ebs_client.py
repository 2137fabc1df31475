"""The product's EBS path (``prestaoracle.oracle.ebs``) against the EBS stand-in, on SQLite and PostgreSQL.

Orders come from the generated PrestaShop shop, mapped here the way the order flow will map them (customer account
from the seed's TCA rows, SKU = product reference, price tax excluded). The stand-in's Order Import and fulfilment
programs (``run_order_import``, ``advance``) play EBS. Each test uses its own shop id, so references never collide
inside the module's database; only the order of the fulfilment test matters to nobody (it checks deltas).
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.ebs import seeded_ebs

from prestaoracle.oracle.ebs import EbsClient, EbsOrder, EbsOrderLine, document_ref
from prestaoracle.reasons import most_specific
from prestaoracle.sandbox.ebs import SeedReport, advance, contract, run_order_import
from prestaoracle.sandbox.ebs import schema as s
from prestaoracle.sandbox.prestashop.generate import generate_shop

pytestmark = [
    pytest.mark.xdist_group("ebs_client"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

NOW = datetime(2025, 3, 3, 9, 30, 0)
PRODUCT_USER_ID = 1013
H, L = s.OE_HEADERS_IFACE_ALL, s.OE_LINES_IFACE_ALL
OH, OL = s.OE_ORDER_HEADERS_ALL, s.OE_ORDER_LINES_ALL
METHODS = {carrier_id: spec[3] for carrier_id, spec in contract.CARRIERS.items()}
TRACKING_FORMATS = {spec[3]: spec[4] for spec in contract.CARRIERS.values()}
CARRIER_NAMES = {spec[3]: spec[0] for spec in contract.CARRIERS.values()}


@dataclass
class Env:
    engine: sa.Engine
    report: SeedReport
    rows: dict[str, list[dict]]
    backend: str

    def client(self, **kwargs: object) -> EbsClient:
        return EbsClient(self.engine, created_by=PRODUCT_USER_ID, **kwargs)  # type: ignore[arg-type]

    def active_customers(self) -> list:
        return [c for c in self.report.customers.values() if c.status == "A" and c.ship_to_site_use_id]

    def shop_orders(self, shop_id: int, limit: int | None = None) -> list[EbsOrder]:
        """The shop's orders as the order flow maps them (customer account, SKU, price tax excluded)."""
        currencies = {c["id"]: c["iso_code"] for c in self.rows["currencies"]}
        details: dict[int, list[dict]] = defaultdict(list)
        for detail in self.rows["order_details"]:
            details[detail["id_order"]].append(detail)
        orders = []
        for order in self.rows["orders"][:limit]:
            customer = self.report.customers.get(order["id_customer"])
            orders.append(EbsOrder(
                document_ref(shop_id, order["id"]), customer.cust_account_id if customer else None,
                currencies[order["id_currency"]],
                [EbsOrderLine(str(d["id"]), d["product_reference"], d["product_quantity"],
                              Decimal(str(d["unit_price_tax_excl"]))) for d in details[order["id"]]],
                ordered_date=datetime.fromisoformat(order["date_add"]), customer_po_number=order["reference"],
                shipping_method_code=METHODS.get(order["id_carrier"])))
        return orders

    def count(self, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())

    def base_orders(self, refs: list[str]) -> Counter:
        """How many base-table orders each reference has (exactly once means 1)."""
        with self.engine.connect() as conn:
            got = conn.execute(sa.select(OH.c.orig_sys_document_ref).where(
                OH.c.order_source_id == contract.PRESTASHOP_ORDER_SOURCE_ID,
                OH.c.orig_sys_document_ref.in_(refs))).scalars().all()
        return Counter(got)


@pytest.fixture(scope="module")
def shop_rows() -> dict[str, list[dict]]:
    return generate_shop(300, 11, datetime(2024, 1, 1), datetime(2024, 12, 31, 23, 59, 59)).rows


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, shop_rows: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with seeded_ebs(request.param, shop_rows, tmp_path_factory.mktemp("ebs_client"), "ebs_client") as (engine, report):
        yield Env(engine, report, shop_rows, request.param)


def _expected_insertable(env: Env, orders: list[EbsOrder]) -> list[str]:
    return [o.orig_sys_document_ref for o in orders
            if o.sold_to_org_id is not None and all(line.sku in env.report.items for line in o.lines)]


def _insertable(env: Env, shop_id: int, limit: int) -> list[EbsOrder]:
    orders = env.shop_orders(shop_id, limit)
    keep = set(_expected_insertable(env, orders))
    return [o for o in orders if o.orig_sys_document_ref in keep]


# --------------------------------------------------------------------------------------------- exactly once


def test_orders_are_interfaced_imported_and_replays_create_nothing(env: Env) -> None:
    client = env.client(chunk_size=40)  # several chunks
    orders = env.shop_orders(shop_id=1, limit=150)
    refs = [o.orig_sys_document_ref for o in orders]
    expected = _expected_insertable(env, orders)

    first = client.interface_orders(orders, now=NOW)

    assert sorted(first.inserted) == sorted(expected) and first.chunks == 4
    assert (first.already_pending, first.already_imported) == ([], {})
    rejected = first.rejected_by_ref()
    assert set(rejected) == set(refs) - set(expected)
    assert {r.reason for r in rejected.values()} == {"mapping_missing"}
    by_order = {o.orig_sys_document_ref: o for o in orders}
    n_lines = sum(len(by_order[ref].lines) for ref in expected)
    assert first.lines_inserted == n_lines
    assert env.count(H, H.c.orig_sys_document_ref.in_(refs)) == len(expected)
    assert env.count(L, L.c.orig_sys_document_ref.in_(refs)) == n_lines
    with env.engine.connect() as conn:
        head = conn.execute(sa.select(H).where(H.c.orig_sys_document_ref == expected[0])).mappings().one()
        lines = conn.execute(sa.select(L).where(L.c.orig_sys_document_ref == expected[0])
                             .order_by(L.c.line_number)).mappings().all()
    order = by_order[expected[0]]
    assert (head["operation_code"], head["booked_flag"], head["org_id"], head["order_source_id"]) == (
        "INSERT", "Y", contract.OPERATING_UNIT_ID, contract.PRESTASHOP_ORDER_SOURCE_ID)
    assert (head["created_by"], head["last_updated_by"], head["creation_date"], head["last_update_date"]) == (
        PRODUCT_USER_ID, PRODUCT_USER_ID, NOW, NOW)
    assert (head["sold_to_org_id"], head["transactional_curr_code"], head["ship_from_org_id"]) == (
        order.sold_to_org_id, order.currency, contract.DEFAULT_SHIP_FROM_ORG_ID)
    assert [(ln["orig_sys_line_ref"], ln["inventory_item"], ln["inventory_item_id"], Decimal(ln["ordered_quantity"]),
             Decimal(ln["unit_selling_price"]), ln["calculate_price_flag"]) for ln in lines] == [
        (x.orig_sys_line_ref, x.sku, env.report.items[x.sku], Decimal(x.quantity), x.unit_selling_price, "N")
        for x in order.lines]

    # A retried task before Order Import ran: everything is already pending, nothing is inserted.
    before_import = client.interface_orders(orders, now=NOW + timedelta(minutes=1))
    assert before_import.inserted == [] and sorted(before_import.already_pending) == sorted(expected)
    assert env.count(H, H.c.orig_sys_document_ref.in_(refs)) == len(expected)

    result = run_order_import(env.engine, now=NOW)
    imported = {o.orig_sys_document_ref: o.order_number for o in result.imported}
    failed = set(result.failed_refs())
    assert set(imported) | failed >= set(expected) and imported

    # Replays of the whole window and of overlapping windows, after import: nothing new anywhere.
    for window in (orders, orders[40:110], orders[::3]):
        again = client.interface_orders(window, now=NOW + timedelta(hours=1))
        in_window = {o.orig_sys_document_ref for o in window}
        assert again.inserted == [] and again.replaced == []
        assert again.already_imported == {r: n for r, n in imported.items() if r in in_window}
        assert set(again.already_pending) == set(again.pending_in_error) == failed & in_window
    assert run_order_import(env.engine, now=NOW + timedelta(hours=2)).imported == []
    counts = env.base_orders(refs)
    assert set(counts) == set(imported) and set(counts.values()) == {1}  # exactly once
    status = client.order_status(refs)
    assert {r: st.order_number for r, st in status.items()} == imported
    assert {st.flow_status_code for st in status.values()} == {"BOOKED"}


def test_rejections_are_classified_and_never_inserted(env: Env) -> None:
    client = env.client()
    customer = env.active_customers()[0].cust_account_id
    sku = env.report.orderable_skus[0]

    def order(ref: str, *lines: EbsOrderLine, **values: object) -> EbsOrder:
        base = EbsOrder(document_ref(2, 0) + ref, customer, "EUR",
                        list(lines) or [EbsOrderLine("1", sku, 1, Decimal("9.90"))])
        return replace(base, **values)  # type: ignore[arg-type]

    orders = [
        order("-OK"),
        order("-UNKNOWN-SKU", EbsOrderLine("1", sku, 1, 5), EbsOrderLine("2", "NO-SUCH-SKU", 1, 5)),
        order("-MISSING-SKU", EbsOrderLine("1", env.report.missing_skus[0], 1, 5)),
        order("-NO-CUSTOMER", sold_to_org_id=None),
        order("-" + "É" * 26),  # 32 characters fit VARCHAR2(50 CHAR), 58 bytes do not fit VARCHAR2(50)
        order("-PO", customer_po_number="Ü" * 30),
        order("-LINE-REF", EbsOrderLine("ligne-" + "é" * 25, sku, 1, 5)),
        order("-UOM", EbsOrderLine("1", sku, 1, 5, uom="µµ")),
        order("-ZERO", EbsOrderLine("1", sku, 0, 5)),
        order("-NAN", EbsOrderLine("1", sku, "NaN", 5)),
        order("-NO-PRICE", EbsOrderLine("1", sku, 1, None)),
        order("-TWICE", EbsOrderLine("1", sku, 1, 5), EbsOrderLine("1", sku, 2, 5)),
        order("-OK"),  # the same reference twice in one batch
        EbsOrder(document_ref(2, 0) + "-NO-LINES", customer, "EUR", []),
        EbsOrder("", customer, "EUR", [EbsOrderLine("1", sku, 1, 5)]),
    ]
    result = client.interface_orders(orders, now=NOW)

    prefix = document_ref(2, 0)
    assert result.inserted == [prefix + "-OK"]
    reasons = {(r.ref, r.reason) for r in result.rejected}
    assert reasons == {
        (prefix + "-UNKNOWN-SKU", "mapping_missing"), (prefix + "-MISSING-SKU", "mapping_missing"),
        (prefix + "-NO-CUSTOMER", "mapping_missing"), (prefix + "-" + "É" * 26, "invalid_data"),
        (prefix + "-PO", "invalid_data"), (prefix + "-LINE-REF", "invalid_data"), (prefix + "-UOM", "invalid_data"),
        (prefix + "-ZERO", "invalid_data"), (prefix + "-NAN", "invalid_data"), (prefix + "-NO-PRICE", "invalid_data"),
        (prefix + "-TWICE", "invalid_data"), (prefix + "-OK", "duplicate"), (prefix + "-NO-LINES", "invalid_data"),
        ("", "invalid_data"),
    }
    by_ref = {r.ref: r for r in result.rejected if r.reason != "duplicate"}
    assert "NO-SUCH-SKU" in by_ref[prefix + "-UNKNOWN-SKU"].message
    assert "MTL_SYSTEM_ITEMS_B" in by_ref[prefix + "-UNKNOWN-SKU"].message
    assert "item" in by_ref[prefix + "-UNKNOWN-SKU"].how_to_fix.lower()
    long_ref = prefix + "-" + "É" * 26
    assert f"{len(long_ref.encode())} bytes in UTF-8, over VARCHAR2(50)" in by_ref[long_ref].message
    assert "CUSTOMER_PO_NUMBER is 60 bytes" in by_ref[prefix + "-PO"].message
    assert "ORDER_QUANTITY_UOM is 4 bytes" in by_ref[prefix + "-UOM"].message
    assert all(r.how_to_fix for r in result.rejected)
    with env.engine.connect() as conn:
        landed = conn.execute(sa.select(H.c.orig_sys_document_ref).where(
            H.c.orig_sys_document_ref.like(prefix + "%"))).scalars().all()
        landed_lines = conn.execute(sa.select(sa.func.count()).select_from(L).where(
            L.c.orig_sys_document_ref.like(prefix + "%"))).scalar_one()
    assert landed == [prefix + "-OK"] and landed_lines == 1
    # Byte limits hold on the data as PostgreSQL stores it too (it counts characters, so it would have accepted).
    run_order_import(env.engine, now=NOW)


def test_import_errors_are_read_back_classified_and_replayed(env: Env) -> None:
    client = env.client()
    customers = env.active_customers()
    good, other = customers[1], customers[2]
    inactive = next(c for c in env.report.customers.values() if c.status == "I")
    sku = env.report.orderable_skus[1]
    price = env.report.price_eur[sku]

    def order(tag: str, account: int = good.cust_account_id, line_sku: str = sku, **values: object) -> EbsOrder:
        line = EbsOrderLine("1", line_sku, 1, price, uom=values.pop("uom", None))  # type: ignore[arg-type]
        return EbsOrder(f"{document_ref(3, 0)}-{tag}", account, "EUR", [line], ordered_date=NOW,
                        **values)  # type: ignore[arg-type]

    first = order("DUP")
    assert client.interface_orders([first], now=NOW).inserted == [first.orig_sys_document_ref]
    assert [o.orig_sys_document_ref for o in run_order_import(env.engine, now=NOW).imported] == [
        first.orig_sys_document_ref]
    # Another writer that skipped the look-up (what the client's key check prevents) queues the same order again.
    key = {"order_source_id": contract.PRESTASHOP_ORDER_SOURCE_ID, "orig_sys_document_ref": first.orig_sys_document_ref,
           "operation_code": "INSERT", "created_by": 1, "creation_date": NOW, "last_updated_by": 1,
           "last_update_date": NOW}
    with env.engine.begin() as conn:
        conn.execute(H.insert(), {**key, "sold_to_org_id": good.cust_account_id, "transactional_curr_code": "EUR",
                                  "booked_flag": "Y"})
        conn.execute(L.insert(), {**key, "orig_sys_line_ref": "1", "inventory_item": sku, "ordered_quantity": 1,
                                  "unit_selling_price": price, "calculate_price_flag": "N"})

    bad = [
        order("UNKNOWN-CUSTOMER", account=999_999),
        order("INACTIVE-CUSTOMER", account=inactive.cust_account_id),
        order("INACTIVE-ITEM", line_sku=env.report.inactive_skus[0]),
        order("STYLE-ITEM", line_sku=env.report.style_skus[0]),
        order("SHIP-TO", ship_to_org_id=other.ship_to_site_use_id),
        order("SHIP-METHOD", shipping_method_code="NO_SUCH_METHOD"),
        order("UOM", uom="BOX"),
        order("ENTERED", booked=False),
    ]
    inserted = client.interface_orders(bad, now=NOW)
    assert len(inserted.inserted) == len(bad)
    result = run_order_import(env.engine, now=NOW + timedelta(minutes=5))
    assert [o.orig_sys_document_ref for o in result.imported] == [f"{document_ref(3, 0)}-ENTERED"]

    refs = [o.orig_sys_document_ref for o in bad] + [first.orig_sys_document_ref, "NOT-AN-ORDER"]
    errors = client.import_errors(refs)

    tag = {f"{document_ref(3, 0)}-{t}": t for t in ("DUP", "UNKNOWN-CUSTOMER", "INACTIVE-CUSTOMER", "INACTIVE-ITEM",
                                                    "STYLE-ITEM", "SHIP-TO", "SHIP-METHOD", "UOM")}
    got = {tag[ref]: (most_specific(m.reason for m in messages), [m.text for m in messages])
           for ref, messages in errors.items()}
    assert {t: reason for t, (reason, _texts) in got.items()} == {
        "DUP": "duplicate", "UNKNOWN-CUSTOMER": "mapping_missing", "INACTIVE-CUSTOMER": "business_rule",
        "INACTIVE-ITEM": "business_rule", "STYLE-ITEM": "business_rule", "SHIP-TO": "mapping_missing",
        "SHIP-METHOD": "mapping_missing", "UOM": "invalid_data"}
    assert got["UOM"][1] == ["Invalid unit of measure for this item."]
    assert got["DUP"][1][0].startswith("An order with Order Source 1001 and Original System Document Reference")
    assert all(m.how_to_fix and m.request_id == result.request_id for ms in errors.values() for m in ms)
    assert errors[f"{document_ref(3, 0)}-INACTIVE-ITEM"][0].line_ref == "1"

    # A replay of the failed window inserts nothing (they are pending, in error) ...
    replay = client.interface_orders(bad, now=NOW + timedelta(minutes=6))
    assert replay.inserted == [] and set(replay.pending_in_error) == {ref for ref, t in tag.items() if t != "DUP"}
    assert replay.already_imported == {f"{document_ref(3, 0)}-ENTERED": result.imported[0].order_number}
    # ... until the dead-letter replay sends a corrected version in place of the failed copy.
    fixed = replace(order("UOM"), lines=[EbsOrderLine("1", sku, 1, price, uom=contract.DEFAULT_UOM)])
    again = client.interface_orders([fixed], now=NOW + timedelta(minutes=7), replace_failed=True)
    assert again.inserted == again.replaced == [fixed.orig_sys_document_ref]
    assert env.count(H, H.c.orig_sys_document_ref == fixed.orig_sys_document_ref) == 1
    withdrawn = client.withdraw_failed([f"{document_ref(3, 0)}-STYLE-ITEM", fixed.orig_sys_document_ref])
    assert withdrawn == [f"{document_ref(3, 0)}-STYLE-ITEM"]  # the corrected copy is waiting, not failed
    assert env.count(L, L.c.orig_sys_document_ref == f"{document_ref(3, 0)}-STYLE-ITEM") == 0
    imported = run_order_import(env.engine, now=NOW + timedelta(minutes=8)).imported
    assert [o.orig_sys_document_ref for o in imported] == [fixed.orig_sys_document_ref]
    assert fixed.orig_sys_document_ref not in client.import_errors([fixed.orig_sys_document_ref])
    assert env.base_orders([o.orig_sys_document_ref for o in bad] + [first.orig_sys_document_ref]) == Counter(
        {first.orig_sys_document_ref: 1, fixed.orig_sys_document_ref: 1, f"{document_ref(3, 0)}-ENTERED": 1})
    assert client.order_status([f"{document_ref(3, 0)}-ENTERED"])[f"{document_ref(3, 0)}-ENTERED"] \
        .flow_status_code == "ENTERED"


def test_a_row_the_database_refuses_fails_alone(env: Env) -> None:
    """A row the checks let through but the database refuses (here a trigger playing ORA-12899) is isolated: the
    chunk is retried order by order and only that order is rejected."""
    client = env.client(chunk_size=10)
    orders = _insertable(env, shop_id=4, limit=60)[:12]
    victim = orders[3].orig_sys_document_ref
    with env.engine.begin() as conn:
        if env.backend == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER xx_refuse BEFORE INSERT ON oe_headers_iface_all "
                f"WHEN NEW.orig_sys_document_ref = '{victim}' "
                "BEGIN SELECT RAISE(ABORT, 'ORA-12899: value too large for column CUSTOMER_PO_NUMBER'); END")
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION xx_refuse() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.orig_sys_document_ref = '{victim}' THEN RAISE EXCEPTION "
                "'ORA-12899: value too large for column CUSTOMER_PO_NUMBER' USING ERRCODE = '22001'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql("CREATE TRIGGER xx_refuse BEFORE INSERT ON oe_headers_iface_all "
                                 "FOR EACH ROW EXECUTE FUNCTION xx_refuse()")
    try:
        result = client.interface_orders(orders, now=NOW)
    finally:
        with env.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER xx_refuse" + ("" if env.backend == "sqlite"
                                                             else " ON oe_headers_iface_all"))
            if env.backend == "postgresql":
                conn.exec_driver_sql("DROP FUNCTION xx_refuse()")
    assert [(r.ref, r.reason) for r in result.rejected] == [(victim, "invalid_data")]
    assert "ORA-12899" in result.rejected[0].message
    assert sorted(result.inserted) == sorted(o.orig_sys_document_ref for o in orders if o.orig_sys_document_ref
                                             != victim)
    assert env.count(H, H.c.orig_sys_document_ref.in_([o.orig_sys_document_ref for o in orders])) == 11
    assert env.count(L, L.c.orig_sys_document_ref == victim) == 0
    run_order_import(env.engine, now=NOW)


# --------------------------------------------------------------------------------------------- reads


def test_onhand_prices_and_customers_match_the_seed(env: Env) -> None:
    client = env.client()
    shipped: Counter = Counter()
    for shipment in client.shipments_since(None):  # whatever other tests shipped already
        shipped[shipment.sku] += Decimal(shipment.shipped_quantity)
    onhand = client.onhand()
    expected = {sku: Decimal(q) - shipped[sku] for sku, q in env.report.onhand_m1.items()}
    assert {sku: q for sku, q in onhand.items() if sku in expected} == expected  # consigned layers not counted
    assert set(onhand) == set(env.report.items)  # style items and stock-less items read 0, missing SKUs are absent
    some = [*env.report.consigned_skus[:2], env.report.missing_skus[0], "NO-SUCH-SKU"]
    assert client.onhand(some) == {sku: expected[sku] for sku in env.report.consigned_skus[:2]}
    m2 = client.onhand(org="M2")
    assert set(m2) < set(env.report.items) and any(m2.values())

    prices = client.prices("EUR", as_of=NOW)
    assert {sku: p.price for sku, p in prices.items()} == env.report.price_eur  # expired lines ignored
    assert {p.list_header_id for p in prices.values()} == {env.report.price_lists["EUR"]}
    usd = client.prices("USD", [*env.report.orderable_skus[:3], "NO-SUCH-SKU"], as_of=NOW)
    assert set(usd) == set(env.report.orderable_skus[:3]) and all(p.currency == "USD" for p in usd.values())
    with pytest.raises(LookupError, match="No active price list for currency 'JPY'"):
        client.prices("JPY")

    seeded = env.report.customers
    upper = next(c for c in seeded.values() if c.variant == "upper")
    shop_email = next(c["email"] for c in env.rows["customers"] if c["id"] == upper.ps_customer_id)
    found = client.customers(emails=[shop_email])
    assert [c.cust_account_id for c in found] == [upper.cust_account_id]
    assert found[0].email == shop_email.upper()
    chosen = [c for c in seeded.values() if c.ship_to_site_use_id][:5]
    by_id = {c.cust_account_id: c for c in client.customers(account_ids=[c.cust_account_id for c in chosen])}
    assert set(by_id) == {c.cust_account_id for c in chosen}
    for seed_row in chosen:
        customer = by_id[seed_row.cust_account_id]
        assert customer.account_number == seed_row.account_number and customer.party_id == seed_row.party_id
        assert customer.primary_site("SHIP_TO").site_use_id == seed_row.ship_to_site_use_id  # type: ignore[union-attr]
        assert customer.primary_site("BILL_TO").site_use_id == seed_row.bill_to_site_use_id  # type: ignore[union-attr]
    everyone = client.customers()
    assert len(everyone) == len(seeded) + len(env.report.ebs_only_accounts)
    active = client.customers(active_only=True)
    assert {c.account_status for c in active} == {"A"} and len(active) < len(everyone)
    synced = [c for c in everyone if (c.orig_system_reference or "").startswith("PRESTASHOP-")]
    assert [c.cust_account_id for c in client.customers(orig_system_references=[
        synced[0].orig_system_reference])] == [synced[0].cust_account_id]  # type: ignore[list-item]
    assert client.customers(account_ids=[]) == [] and client.customers(updated_since=NOW) == []


def test_fulfilment_reads_status_shipments_onhand_invoices_receipts(env: Env) -> None:
    client = env.client()
    orders = _insertable(env, shop_id=5, limit=80)
    placed = NOW + timedelta(days=10)
    client.interface_orders(orders, now=placed)
    imported = {o.orig_sys_document_ref: o for o in run_order_import(env.engine, now=placed).imported}
    ours = {ref: o for ref, o in imported.items() if ref.startswith("PS5-")}
    assert ours
    status = client.order_status(list(ours))
    assert {st.flow_status_code for st in status.values()} == {"BOOKED"}
    onhand_before = client.onhand()

    shipped_at = placed + timedelta(days=2)
    step = advance(env.engine, shipped_at, invoice_after=timedelta(0), pay_after=timedelta(days=30))
    assert step.shipped_lines and step.invoices and not step.receipts

    shipments = client.shipments_since(placed)
    assert {sh.line_id for sh in shipments} == set(step.shipped_lines)
    assert client.shipments_since(shipped_at) == []  # the watermark excludes what was read
    for sh in shipments:
        assert sh.confirm_date == sh.last_update_date == shipped_at and sh.shipped_quantity > 0
        fmt = TRACKING_FORMATS[sh.ship_method_code]  # type: ignore[index]
        pattern = "".join(r"\d" if ch == "N" else "[A-Z]" if ch == "A" else re.escape(ch) for ch in fmt)
        assert re.fullmatch(pattern, sh.tracking_number or ""), (sh.tracking_number, fmt)
        assert sh.carrier == CARRIER_NAMES[sh.ship_method_code]  # type: ignore[index]
    mine = [sh for sh in shipments if sh.ref in ours]
    assert mine and all(sh.order_number == ours[sh.ref].order_number for sh in mine)
    per_order = {sh.ref: sh.tracking_number for sh in mine}
    assert len(set(per_order.values())) == len(per_order)  # one delivery (tracking number) per order

    onhand_after = client.onhand()
    moved: Counter = Counter()
    for sh in shipments:
        moved[sh.sku] += Decimal(sh.shipped_quantity)
    assert {sku: onhand_before[sku] - onhand_after[sku] for sku in onhand_before
            if onhand_before[sku] != onhand_after[sku]} == {sku: q for sku, q in moved.items() if q}

    invoices = client.invoices_since(placed)
    assert {i.trx_number for i in invoices} == set(step.invoices)
    shipped_headers = {sh.ref for sh in shipments}
    for invoice in invoices:
        assert len(invoice.refs) == 1 and invoice.refs[0] in shipped_headers
        assert invoice.order_numbers == (str(client.order_status(invoice.refs)[invoice.refs[0]].order_number),)
        assert invoice.status == "OP" and invoice.amount == invoice.amount_due_original == invoice.amount_due_remaining
        assert invoice.amount == sum(Decimal(ln.quantity) * Decimal(ln.unit_selling_price) for ln in invoice.lines)
        assert all(ln.sales_order == invoice.order_numbers[0] and ln.order_line_id for ln in invoice.lines)
    # Invoicing closes the lines; an order closes when all its lines shipped (none backordered).
    shipped_lines = Counter(sh.ref for sh in mine)
    closed = {ref: st.flow_status_code for ref, st in client.order_status(list(ours)).items()}
    assert closed == {ref: "CLOSED" if shipped_lines[ref] == o.line_count else "BOOKED" for ref, o in ours.items()}
    assert "CLOSED" in closed.values()

    paid_at = shipped_at + timedelta(days=31)
    paid = advance(env.engine, paid_at)
    receipts = client.receipts_since(shipped_at)
    assert {r.receipt_number for r in receipts} == set(paid.receipts)
    amounts = {i.trx_number: i.amount for i in invoices}
    for receipt in receipts:
        assert len(receipt.applications) == 1
        application = receipt.applications[0]
        if application.trx_number in amounts:
            assert receipt.amount == application.amount_applied == amounts[application.trx_number]
            assert application.ref in shipped_headers
    settled = {i.trx_number: i for i in client.invoices_since(shipped_at)}  # payment schedules moved
    assert set(amounts) <= set(settled)
    assert all(settled[n].status == "CL" and settled[n].amount_due_remaining == 0 for n in amounts)
    assert client.receipts_since(paid_at) == []


# --------------------------------------------------------------------------------------------- volume


def test_measure_10000_orders(env: Env) -> None:
    """Measured, not asserted: 10,000 orders x ~2.5 lines in chunks of 1,000, then the replay (look-ups only)."""
    customers = env.active_customers()
    skus = env.report.orderable_skus
    orders = []
    for n in range(10_000):
        lines = [EbsOrderLine(str(k + 1), skus[(n * 7 + k) % len(skus)], 1 + (n + k) % 3,
                              env.report.price_eur[skus[(n * 7 + k) % len(skus)]]) for k in range(1 + n % 4)]
        orders.append(EbsOrder(document_ref(9, n + 1), customers[n % len(customers)].cust_account_id, "EUR", lines,
                               ordered_date=NOW, customer_po_number=f"BULK{n:05d}"))
    client = env.client()
    started = time.perf_counter()
    first = client.interface_orders(orders, now=NOW)
    insert_s = time.perf_counter() - started
    if env.backend == "postgresql":
        # What autovacuum does shortly after a bulk load; with the empty-table statistics of a minute ago the
        # planner scans the interface for every IN list (the replay then takes ~4 s instead of ~0.3 s).
        with env.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE oe_headers_iface_all")
    started = time.perf_counter()
    replay = client.interface_orders(orders, now=NOW)
    replay_s = time.perf_counter() - started
    print(f"\n[{env.backend}] interface_orders: 10,000 orders / {first.lines_inserted} lines in {first.chunks} "
          f"chunks: {insert_s:.2f} s ({10_000 / insert_s:,.0f} orders/s); replay (look-ups only, nothing "
          f"inserted): {replay_s:.2f} s")
    assert len(first.inserted) == 10_000 and len(replay.already_pending) == 10_000 and replay.inserted == []
    with env.engine.begin() as conn:  # leave no 10,000 pending orders for the other tests' Order Import runs
        for table in (L, H):
            conn.execute(sa.delete(table).where(table.c.orig_sys_document_ref.like("PS9-%")))
