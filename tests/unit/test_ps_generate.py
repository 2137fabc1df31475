"""The PrestaShop shop generator: deterministic, internally consistent, and defects only where it says so."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from conftest import FIXTURES

from prestaoracle.sandbox.prestashop.clock import DEFAULT_TIMEZONE
from prestaoracle.sandbox.prestashop.generate import BAD_ROW_KINDS, ZERO_DATETIME, GeneratedShop, generate_shop
from prestaoracle.sandbox.prestashop.schema import RESOURCES

START = datetime(2024, 1, 1)
END = datetime(2024, 12, 31, 23, 59, 59)
ORDERS = 300
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
# Stored associations the generator may emit; the server derives the others.
ASSOCIATIONS = {
    "customers": {"groups"},
    "order_details": {"taxes"},
    "products": {"categories", "images", "product_option_values", "product_features"},
    "combinations": {"product_option_values", "images"},
    "order_slip": {"order_slip_details"},
}
NULLABLE = {("combinations", "default_on"), ("order_payments", "id_employee")}
# configurations are the shop's settings, loaded by the server, not generated data.
GENERATED = {name: resource for name, resource in RESOURCES.items() if name != "configurations"}


@pytest.fixture(scope="module")
def shop() -> GeneratedShop:
    return generate_shop(ORDERS, 11, START, END)


@pytest.fixture(scope="module")
def dirty() -> GeneratedShop:
    return generate_shop(ORDERS, 11, START, END, dict.fromkeys(BAD_ROW_KINDS, 0.03))


def by_id(shop: GeneratedShop, resource: str) -> dict[int, dict]:
    return {row["id"]: row for row in shop.rows[resource]}


def cents(value: float) -> int:
    return round(value * 100)


def dump(shop: GeneratedShop) -> str:
    return json.dumps({"rows": shop.rows, "injected": shop.injected}, ensure_ascii=False)


def repeated_hour(stamp: str, tz: ZoneInfo) -> bool:
    """Whether a shop wall time happens twice (the hour clocks are turned back)."""
    moment = datetime.fromisoformat(stamp)
    return moment.replace(tzinfo=tz, fold=0).utcoffset() != moment.replace(tzinfo=tz, fold=1).utcoffset()


def in_time_order(stamps: Sequence[str], tz: ZoneInfo = ZoneInfo(DEFAULT_TIMEZONE)) -> bool:
    """Wall times written as time went on: ascending, except that one may step back inside a repeated hour."""
    return all(a <= b or (repeated_hour(a, tz) and repeated_hour(b, tz)) for a, b in pairwise(stamps))


def ean13_ok(code: str) -> bool:
    digits = [int(c) for c in code]
    return len(digits) == 13 and sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


# --- determinism ---------------------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_shop() -> None:
    bad = dict.fromkeys(BAD_ROW_KINDS, 0.05)
    assert dump(generate_shop(120, 3, START, END, bad)) == dump(generate_shop(120, 3, START, END, bad))
    assert dump(generate_shop(120, 3, START, END)) != dump(generate_shop(120, 4, START, END))


def test_output_does_not_depend_on_the_hash_seed() -> None:
    """Set ordering varies with PYTHONHASHSEED; Faker's it_IT city list once leaked it into the rows."""
    script = (
        "import hashlib, json, datetime as d\n"
        "from prestaoracle.sandbox.prestashop.generate import generate_shop\n"
        "s = generate_shop(400, 2, d.datetime(2024, 1, 1), d.datetime(2024, 6, 30), {'unicode_names': 0.1})\n"
        "assert len({a['id_country'] for a in s.rows['addresses']}) == 10\n"
        "print(hashlib.sha256(json.dumps([s.rows, s.injected]).encode()).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True, text=True, check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(digests) == 1


def test_bad_rows_touch_only_the_records_they_report(shop: GeneratedShop, dirty: GeneratedShop) -> None:
    assert dirty.injected
    reported = {(i["entity"], i["id"]) for i in dirty.injected}
    renamed = {i["id"] for i in dirty.injected if i["kind"] == "unicode_names"}
    for resource, rows in shop.rows.items():
        assert len(rows) == len(dirty.rows[resource]), resource
        for clean_row, dirty_row in zip(rows, dirty.rows[resource], strict=True):
            if clean_row == dirty_row:
                continue
            if resource == "order_details":
                assert ("orders", clean_row["id_order"]) in reported
            elif resource == "addresses":
                assert ("addresses", clean_row["id"]) in reported or clean_row["id_customer"] in renamed
            else:
                assert (resource, clean_row["id"]) in reported, (resource, clean_row["id"])


# --- shape ---------------------------------------------------------------------------------------------------------


def test_counts_and_ids(shop: GeneratedShop) -> None:
    rows = shop.rows
    assert set(rows) == set(GENERATED)
    assert len(rows["orders"]) == ORDERS
    assert len(rows["order_carriers"]) == ORDERS
    assert len(rows["customers"]) == ORDERS // 3
    assert len(rows["products"]) == 20
    assert (len(rows["order_states"]), len(rows["currencies"]), len(rows["countries"]), len(rows["carriers"])) == (
        13, 5, 10, 4,
    )
    assert len(rows["addresses"]) >= len(rows["customers"])
    for resource, resource_rows in rows.items():
        assert [r["id"] for r in resource_rows] == list(range(1, len(resource_rows) + 1)), resource
    assert generate_shop(0, 1, START, END).rows["customers"]  # the minimum of 5 customers holds without orders
    assert len(generate_shop(2, 1, START, END).rows["customers"]) == 5


def test_rows_carry_every_field_with_its_kind(shop: GeneratedShop) -> None:
    for name, resource in GENERATED.items():
        for row in shop.rows[name]:
            for f in resource.fields:
                if f.virtual:
                    continue
                value = row[f.name]
                if value is None:
                    assert (name, f.name) in NULLABLE, (name, f.name)
                elif f.kind == "i":
                    assert type(value) is int, (name, f.name, value)
                elif f.kind == "b":
                    assert value in (0, 1) and type(value) is int, (name, f.name, value)
                elif f.kind in ("d", "d2", "d3"):
                    assert type(value) is float, (name, f.name, value)
                elif f.kind == "dt":
                    assert DATETIME_RE.match(value), (name, f.name, value)
                elif f.kind == "da":
                    assert DATE_RE.match(value), (name, f.name, value)
                else:
                    assert type(value) is str, (name, f.name, value)
            assert set(row.get("associations", {})) <= ASSOCIATIONS.get(name, set()), name
    for product in shop.rows["products"]:
        assert product["type"] in ("simple", "virtual")
        assert isinstance(product["manufacturer_name"], str)


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="recorded fixtures not checked out")
def test_order_states_are_the_recorded_ones(shop: GeneratedShop) -> None:
    recorded = json.loads((FIXTURES / "13_get_order_states_full_json.body.json").read_text())["order_states"]
    generated = by_id(shop, "order_states")
    assert set(generated) == {r["id"] for r in recorded}
    for rec in recorded:
        row = generated[rec["id"]]
        assert {k: str(v) for k, v in row.items()} == {k: str(v) for k, v in rec.items()}


# --- consistency ---------------------------------------------------------------------------------------------------


def test_referential_integrity(shop: GeneratedShop) -> None:
    rows = shop.rows
    customers, addresses = by_id(shop, "customers"), by_id(shop, "addresses")
    ids = {name: {r["id"] for r in rows[name]} for name in rows}
    for order in rows["orders"]:
        assert order["id_customer"] in customers
        for key in ("id_address_delivery", "id_address_invoice"):
            assert addresses[order[key]]["id_customer"] == order["id_customer"]
        assert order["id_carrier"] in ids["carriers"]
        assert order["id_currency"] in ids["currencies"]
        assert order["current_state"] in ids["order_states"]
        assert order["secure_key"] == customers[order["id_customer"]]["secure_key"]
    for address in rows["addresses"]:
        assert address["id_customer"] in customers and address["id_country"] in ids["countries"]
    for detail in rows["order_details"]:
        assert detail["id_order"] in ids["orders"] and detail["product_id"] in ids["products"]
        assert detail["product_attribute_id"] == 0 or detail["product_attribute_id"] in ids["combinations"]
    for name in ("order_histories", "order_carriers", "order_slip"):
        assert all(r["id_order"] in ids["orders"] for r in rows[name]), name
    for combination in rows["combinations"]:
        assert combination["id_product"] in ids["products"]
    references = {o["reference"] for o in rows["orders"]}
    assert all(p["order_reference"] in references for p in rows["order_payments"])
    assert Counter(c["email"] for c in rows["customers"]).most_common(1)[0][1] == 1


def test_totals_add_up_to_the_cent(shop: GeneratedShop) -> None:
    lines = defaultdict(list)
    for detail in shop.rows["order_details"]:
        lines[detail["id_order"]].append(detail)
        q = detail["product_quantity"]
        assert cents(detail["total_price_tax_excl"]) == cents(detail["unit_price_tax_excl"]) * q
        assert cents(detail["total_price_tax_incl"]) == cents(detail["unit_price_tax_incl"]) * q
        assert detail["unit_price_tax_incl"] >= detail["unit_price_tax_excl"] > 0
    discounted = 0
    for o in shop.rows["orders"]:
        assert 1 <= len(lines[o["id"]]) <= 10
        assert cents(o["total_products"]) == sum(cents(d["total_price_tax_excl"]) for d in lines[o["id"]])
        assert cents(o["total_products_wt"]) == sum(cents(d["total_price_tax_incl"]) for d in lines[o["id"]])
        assert cents(o["total_paid_tax_incl"]) == (
            cents(o["total_products_wt"]) + cents(o["total_shipping_tax_incl"]) - cents(o["total_discounts_tax_incl"])
        )
        assert cents(o["total_paid_tax_excl"]) == (
            cents(o["total_products"]) + cents(o["total_shipping_tax_excl"]) - cents(o["total_discounts_tax_excl"])
        )
        assert o["total_paid"] == o["total_paid_tax_incl"] and o["total_shipping"] == o["total_shipping_tax_incl"]
        assert o["total_paid_real"] in (0.0, o["total_paid_tax_incl"])
        discounted += o["total_discounts"] > 0
    assert 0.07 < discounted / ORDERS < 0.25


def test_lifecycle_history_and_documents(shop: GeneratedShop) -> None:
    states = by_id(shop, "order_states")
    history = defaultdict(list)
    for h in shop.rows["order_histories"]:
        history[h["id_order"]].append(h)
        assert h["id_employee"] in (0, 1)
    invoice_numbers = []
    for o in shop.rows["orders"]:
        steps = history[o["id"]]
        assert steps and steps[-1]["id_order_state"] == o["current_state"]
        assert steps[0]["date_add"] == o["date_add"] and steps[-1]["date_add"] == o["date_upd"]
        assert in_time_order([s["date_add"] for s in steps])
        assert in_time_order([o["date_add"], o["date_upd"]])
        assert START.isoformat(" ") <= o["date_add"] <= END.isoformat(" ")
        assert o["valid"] == states[o["current_state"]]["logable"]
        invoiced = any(states[s["id_order_state"]]["invoice"] for s in steps)
        assert bool(o["invoice_number"]) == invoiced == (o["invoice_date"] != ZERO_DATETIME)
        if invoiced:
            invoice_numbers.append(o["invoice_number"])
        assert bool(o["delivery_number"]) == (o["delivery_date"] != ZERO_DATETIME)
    assert sorted(invoice_numbers) == list(range(1, len(invoice_numbers) + 1))
    # history ids follow time, as auto-increment rows written when the change happened do
    assert in_time_order([h["date_add"] for h in sorted(shop.rows["order_histories"], key=lambda h: h["id"])])
    assert len({o["current_state"] for o in shop.rows["orders"]}) >= 6


def test_payments_match_paid_orders(shop: GeneratedShop) -> None:
    states = by_id(shop, "order_states")
    paid_by_reference = Counter()
    history = defaultdict(set)
    for h in shop.rows["order_histories"]:
        history[h["id_order"]].add(h["id_order_state"])
    for o in shop.rows["orders"]:
        was_paid = any(states[s]["paid"] for s in history[o["id"]])
        assert (o["total_paid_real"] > 0) == was_paid
        if was_paid:
            paid_by_reference[o["reference"]] += cents(o["total_paid_tax_incl"])
    payments = shop.rows["order_payments"]
    assert {p["order_reference"]: cents(p["amount"]) for p in payments} == dict(paid_by_reference)
    for p in payments:
        assert (p["card_brand"] != "") == (p["payment_method"] == "Credit card")
        if p["card_brand"]:
            assert p["transaction_id"].startswith("pi_") and re.match(r"^\d{2}/\d{4}$", p["card_expiration"])


def test_split_orders_share_cart_reference_and_customer() -> None:
    shop = generate_shop(2000, 5, START, END)
    by_cart = defaultdict(list)
    for o in shop.rows["orders"]:
        by_cart[o["id_cart"]].append(o)
    splits = [group for group in by_cart.values() if len(group) > 1]
    assert splits
    for group in splits:
        assert len(group) == 2
        assert len({(o["reference"], o["id_customer"], o["date_add"]) for o in group}) == 1
    assert len({o["reference"] for o in shop.rows["orders"]}) == 2000 - len(splits)
    eur = sum(o["id_currency"] == 1 for o in shop.rows["orders"]) / 2000
    assert 0.6 < eur < 0.8
    rates = {c["id"]: c["conversion_rate"] for c in shop.rows["currencies"]}
    assert all(o["conversion_rate"] == rates[o["id_currency"]] for o in shop.rows["orders"])


def test_carriers_and_tracking(shop: GeneratedShop) -> None:
    carriers = by_id(shop, "carriers")
    assert carriers[1]["is_free"] == 1 and any("@" in c["url"] for c in carriers.values())
    orders = by_id(shop, "orders")
    shipped = {h["id_order"] for h in shop.rows["order_histories"] if h["id_order_state"] == 4}
    patterns = {2: r"^6A\d{11}$", 3: r"^1Z[A-Z0-9]{16}$", 4: r"^(JD\d{18}|\d{12})$"}
    for oc in shop.rows["order_carriers"]:
        order = orders[oc["id_order"]]
        assert oc["id_carrier"] == order["id_carrier"]
        assert cents(oc["shipping_cost_tax_incl"]) == cents(order["total_shipping_tax_incl"])
        if oc["id_order"] in shipped and oc["id_carrier"] != 1:
            assert re.match(patterns[oc["id_carrier"]], oc["tracking_number"]), oc
        else:
            assert oc["tracking_number"] == ""


def test_refund_slips(shop: GeneratedShop) -> None:
    details = by_id(shop, "order_details")
    orders = by_id(shop, "orders")
    slips = shop.rows["order_slip"]
    assert 0 < len(slips) < ORDERS * 0.08
    for slip in slips:
        lines = slip["associations"]["order_slip_details"]
        assert lines and all(line["id"] == slip["id"] for line in lines)
        for line in lines:
            detail = details[line["id_order_detail"]]
            assert detail["id_order"] == slip["id_order"]
            assert 0 < line["product_quantity"] == detail["product_quantity_refunded"] <= detail["product_quantity"]
        assert cents(slip["total_products_tax_incl"]) == sum(cents(line["amount_tax_incl"]) for line in lines)
        order = orders[slip["id_order"]]
        assert slip["id_customer"] == order["id_customer"]
        assert (order["current_state"] == 7) == (slip["partial"] == 0)


def test_catalogue_stock_and_skus(shop: GeneratedShop) -> None:
    products, combinations = shop.rows["products"], shop.rows["combinations"]
    skus = [p["reference"] for p in products] + [c["reference"] for c in combinations]
    assert len(skus) == len(set(skus)) and all(skus)
    assert all(re.match(r"^PS-\d{6}(-[A-Z0-9]+)*$", sku) for sku in skus)
    assert all(ean13_ok(p["ean13"]) for p in products)
    assert all(ean13_ok(c["ean13"]) for c in combinations if c["ean13"])
    with_combinations = {c["id_product"] for c in combinations}
    assert 0.15 < len(with_combinations) / len(products) < 0.6
    per_product = Counter(c["id_product"] for c in combinations)
    assert all(2 <= n <= 6 for n in per_product.values())
    for c in combinations:
        assert c["default_on"] in (1, None)
    stock = shop.rows["stock_availables"]
    product_rows = {s["id_product"]: s["quantity"] for s in stock if s["id_product_attribute"] == 0}
    assert set(product_rows) == {p["id"] for p in products}
    combination_sum = Counter()
    for s in stock:
        assert s["quantity"] >= 0
        if s["id_product_attribute"]:
            combination_sum[s["id_product"]] += s["quantity"]
    assert all(product_rows[pid] == total for pid, total in combination_sum.items())
    assert len(stock) == len(products) + len(combinations)
    # order lines carry the SKU of what was sold: the combination's own reference, else the product's
    refs = {(p["id"], 0): p["reference"] for p in products} | {(c["id_product"], c["id"]): c["reference"]
                                                                for c in combinations}
    for d in shop.rows["order_details"]:
        assert d["product_reference"] == refs[(d["product_id"], d["product_attribute_id"])]
        if d["product_attribute_id"]:
            assert " - " in d["product_name"] and " : " in d["product_name"]


def test_customers_look_real(shop: GeneratedShop) -> None:
    customers = shop.rows["customers"]
    guests = [c for c in customers if c["is_guest"]]
    assert guests and len(guests) < len(customers)
    for c in customers:
        assert EMAIL_RE.match(c["email"]), c["email"]
        assert re.match(r"^[0-9a-f]{32}$", c["secure_key"])
        if c["is_guest"]:
            assert c["passwd"] == "" and c["associations"]["groups"] == [{"id": 2}]
        else:
            assert re.match(r"^\$2y\$10\$[./A-Za-z0-9]{53}$", c["passwd"])
            assert c["associations"]["groups"] == [{"id": 3}]
    countries = {c["id"]: c["iso_code"] for c in shop.rows["countries"]}
    seen = {countries[a["id_country"]] for a in shop.rows["addresses"]}
    assert len(seen) >= 5
    assert all(re.match(r"^\d{4} [A-Z]{2}$", a["postcode"]) for a in shop.rows["addresses"]
               if countries[a["id_country"]] == "NL")


# --- defects -------------------------------------------------------------------------------------------------------


def _line(shop: GeneratedShop, report: dict) -> dict:
    detail_id = int(re.search(r"order_detail (\d+)", report["detail"]).group(1))
    line = by_id(shop, "order_details")[detail_id]
    assert line["id_order"] == report["id"]
    return line


@pytest.mark.parametrize("kind", BAD_ROW_KINDS)
def test_each_bad_row_kind_is_real_and_reported(kind: str) -> None:
    shop = generate_shop(ORDERS, 21, START, END, {kind: 0.05})
    reports = shop.injected
    assert reports and {r["kind"] for r in reports} == {kind}
    assert all(set(r) == {"entity", "id", "kind", "detail"} for r in reports)
    orders, customers, addresses = by_id(shop, "orders"), by_id(shop, "customers"), by_id(shop, "addresses")
    skus = {p["reference"] for p in shop.rows["products"]} | {c["reference"] for c in shop.rows["combinations"]}
    for r in reports:
        if kind == "negative_quantity":
            assert r["entity"] == "orders" and _line(shop, r)["product_quantity"] < 0
        elif kind == "missing_sku":
            assert r["entity"] == "orders" and _line(shop, r)["product_reference"] == ""
        elif kind == "unknown_sku":
            ref = _line(shop, r)["product_reference"]
            assert r["entity"] == "orders" and ref and ref not in skus
        elif kind == "totals_mismatch":
            o = orders[r["id"]]
            expected = (cents(o["total_products_wt"]) + cents(o["total_shipping_tax_incl"])
                        - cents(o["total_discounts_tax_incl"]))
            assert r["entity"] == "orders" and abs(cents(o["total_paid_tax_incl"]) - expected) >= 100
        elif kind == "duplicate_cart":
            o = orders[r["id"]]
            twins = [x for x in orders.values() if x["id_cart"] == o["id_cart"] and x["id"] != o["id"]]
            assert twins and all(t["reference"] != o["reference"] for t in twins)
        elif kind == "invalid_email":
            assert r["entity"] == "customers" and not EMAIL_RE.match(customers[r["id"]]["email"])
        elif kind == "empty_country":
            assert r["entity"] == "addresses" and addresses[r["id"]]["id_country"] == 0
        elif kind == "unicode_names":
            c = customers[r["id"]]
            assert r["entity"] == "customers" and not (c["firstname"] + c["lastname"]).isascii()
            assert all(a["firstname"] == c["firstname"] for a in addresses.values() if a["id_customer"] == c["id"])
        elif kind == "zero_dates":
            o = orders[r["id"]]
            assert r["entity"] == "orders" and ZERO_DATETIME in (o["invoice_date"], o["delivery_date"])
            assert o["invoice_number"] > 0
    if kind == "duplicate_cart":
        assert len(reports) % 2 == 0
    else:
        assert len({r["id"] for r in reports}) == len(reports)
        assert 5 <= len(reports) <= 25  # about 5 % of the entity


def test_clean_shop_has_no_defects(shop: GeneratedShop) -> None:
    assert shop.injected == []
    assert generate_shop(50, 1, START, END, {}).injected == []
    skus = {p["reference"] for p in shop.rows["products"]} | {c["reference"] for c in shop.rows["combinations"]}
    assert all(d["product_quantity"] > 0 and d["product_reference"] in skus for d in shop.rows["order_details"])
    assert all(EMAIL_RE.match(c["email"]) for c in shop.rows["customers"])
    assert all(a["id_country"] > 0 for a in shop.rows["addresses"])
    carts = defaultdict(set)
    for o in shop.rows["orders"]:
        carts[o["id_cart"]].add(o["reference"])
        assert (o["invoice_date"] == ZERO_DATETIME) == (o["invoice_number"] == 0)
    assert all(len(refs) == 1 for refs in carts.values())


def test_bad_row_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown bad-row kinds"):
        generate_shop(10, 1, START, END, {"bogus": 0.1})
    with pytest.raises(ValueError, match="within 0..1"):
        generate_shop(10, 1, START, END, {"missing_sku": 1.5})
    with pytest.raises(ValueError):
        generate_shop(10, 1, END, START)


def test_kinds_agree_with_the_fault_profiles() -> None:
    from prestaoracle.sandbox.faults import BAD_ROW_KINDS as PROFILE_KINDS

    assert BAD_ROW_KINDS == PROFILE_KINDS
