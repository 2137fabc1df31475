"""Rebuild the emulator's demo dataset from the recorded PrestaShop 8.1.2 fixtures.

The demo shop is the real shop the fixtures were recorded from, in its state before the recorded writes.
Records a fixture shows are copied value for value; records no fixture shows in full (products 2-19, most
combinations, order_details of orders 2-5, country details) are completed from what the fixtures do show
(order rows, stock rows) and are marked ``synthesized`` in docs/sandbox-differences.md.

Usage: python scripts/build_demo_shop.py ../shared/fixtures/prestashop-8.1.2
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from prestaoracle.sandbox.prestashop.schema import DECIMALS, RESOURCES  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "include/prestaoracle/sandbox/prestashop/demo_shop.json"


def stored(resource: str, wire: dict) -> dict:
    """Wire values back to the store's types; fields a fixture dropped (falsy) become 0 or ''."""
    out: dict = {}
    for f in RESOURCES[resource].fields:
        v = wire.get(f.name)
        kind = f.base_kind
        if kind in ("i", "b"):
            out[f.name] = None if v == "" else int(v or 0)  # "" on the wire is a NULL column
        elif kind in DECIMALS:
            out[f.name] = float(v or 0)
        else:
            out[f.name] = "" if v is None else v
    assoc = wire.get("associations")
    if assoc:
        out["associations"] = assoc
    return out


def main(fixtures: Path) -> None:
    def body(name: str, key: str) -> list[dict]:
        data = json.loads((fixtures / f"{name}.body.json").read_text())
        return data[key] if isinstance(data, dict) else []

    orders = body("04_get_orders_display_full_json", "orders")
    rows: dict[str, list[dict]] = {
        "orders": [stored("orders", o) for o in orders],
        "customers": [stored("customers", c) for c in body("07_get_customers_full_json", "customers")],
        "addresses": [stored("addresses", a) for a in body("08_get_addresses_full_json", "addresses")],
        "stock_availables": [stored("stock_availables", s) for s in body("09_get_stock_availables_full_json",
                                                                             "stock_availables")],
        "order_histories": [stored("order_histories", h) for h in body("11_get_order_histories_full_json",
                                                                           "order_histories")],
        "order_carriers": [stored("order_carriers", c) for c in body("12_get_order_carriers_full_json",
                                                                         "order_carriers")],
        "order_states": [stored("order_states", s) for s in body("13_get_order_states_full_json", "order_states")],
        "currencies": [stored("currencies", c) for c in body("19_get_currencies_full_json", "currencies")],
        "carriers": [stored("carriers", c) for c in body("20_get_carriers_full_json", "carriers")],
        "order_payments": [],
        "order_slip": [],
    }
    for o in rows["orders"]:
        o.pop("associations", None)

    details = {d["id"]: stored("order_details", d) for d in body("17_get_order_details_full_json", "order_details")}
    template = dict(next(iter(details.values())))
    for o in orders:
        for r in o["associations"]["order_rows"]:
            if r["id"] in details:
                continue
            d = dict(template, id=r["id"], id_order=o["id"], product_id=r["product_id"],
                     product_attribute_id=r["product_attribute_id"], product_quantity=r["product_quantity"],
                     product_quantity_in_stock=r["product_quantity"], product_name=r["product_name"],
                     product_reference=r["product_reference"], product_price=float(r["product_price"]),
                     unit_price_tax_incl=float(r["unit_price_tax_incl"]),
                     unit_price_tax_excl=float(r["unit_price_tax_excl"]),
                     total_price_tax_incl=float(r["unit_price_tax_incl"]) * r["product_quantity"],
                     total_price_tax_excl=float(r["unit_price_tax_excl"]) * r["product_quantity"],
                     original_product_price=float(r["product_price"]), original_wholesale_price=0.0)
            details[r["id"]] = d
    rows["order_details"] = [details[k] for k in sorted(details)]

    product1 = json.loads((fixtures / "10_get_product_1_json.body.json").read_text())["product"]
    known = {r["product_id"]: r for o in orders for r in o["associations"]["order_rows"]}
    stock = rows["stock_availables"]
    products = [stored("products", product1)]
    combos = {c["id"]: stored("combinations", c) for c in body("22_get_combinations_full_json", "combinations")}
    combo_template = dict(combos[2])
    combo_template.pop("associations", None)
    for pid in sorted({s["id_product"] for s in stock}):
        ref = known[pid]["product_reference"] if pid in known else f"demo_{pid}"
        attrs = [s["id_product_attribute"] for s in stock if s["id_product"] == pid and s["id_product_attribute"]]
        for a in attrs:
            combos.setdefault(a, dict(combo_template, id=a, id_product=pid, reference=ref))
        if pid == 1:
            continue
        name = known[pid]["product_name"].split(" - ")[0] if pid in known else f"Demo product {pid}"
        price = float(known[pid]["product_price"]) if pid in known else 10.0 + pid
        p = dict(products[0], id=pid, reference=ref, name=name, price=price,
                 link_rewrite=name.lower().replace(" ", "-"), product_type="combinations" if attrs else "standard",
                 cache_default_attribute=attrs[0] if attrs else 0,
                 id_default_combination=attrs[0] if attrs else 0, description="", description_short="")
        p["associations"] = {"categories": [{"id": 2}]}
        products.append(p)
    rows["products"] = products
    rows["combinations"] = [combos[k] for k in sorted(combos)]
    rows["countries"] = [
        {"id": 1, "id_zone": 1, "id_currency": 0, "call_prefix": 49, "iso_code": "DE", "active": 1,
         "contains_states": 0, "need_identification_number": 0, "need_zip_code": 1, "zip_code_format": "NNNNN",
         "display_tax_label": 1, "name": "Germany"},
        {"id": 8, "id_zone": 1, "id_currency": 0, "call_prefix": 33, "iso_code": "FR", "active": 1,
         "contains_states": 0, "need_identification_number": 0, "need_zip_code": 1, "zip_code_format": "NNNNN",
         "display_tax_label": 1, "name": "France"},
        {"id": 21, "id_zone": 2, "id_currency": 0, "call_prefix": 1, "iso_code": "US", "active": 1,
         "contains_states": 1, "need_identification_number": 0, "need_zip_code": 1, "zip_code_format": "NNNNN",
         "display_tax_label": 0, "name": "United States"},
    ]
    OUT.write_text(json.dumps({"shop_name": "PSLocal", "rows": rows}, indent=0, ensure_ascii=False) + "\n")
    print(f"wrote {OUT} ({', '.join(f'{k}={len(v)}' for k, v in rows.items())})")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared/fixtures/prestashop-8.1.2"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
