"""Canonical staging rows straight from a generated shop, for the quality gate's tests.

A deliberately plain translation of the generator's rows into the ``ps_*`` tables (the fields the suites read),
so the gate is tested against exactly what the generator injected, independently of the mapping engine's specs.
Bad rows pass through unchanged, the way the mapping must pass them: an empty reference becomes a NULL SKU, a zero
date a NULL date, an address without a country a NULL ``country_iso``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prestaoracle.staging import Staging


def _when(text: str | None) -> datetime | None:
    if not text or text.startswith("0000-00-00"):
        return None
    return datetime.fromisoformat(text)


def _blank(text: Any) -> Any:
    return None if text == "" else text


def canonical_rows(rows: dict[str, list[dict]]) -> dict[str, list[dict[str, Any]]]:
    """The canonical rows of a generated shop, by table."""
    currency = {c["id"]: c["iso_code"] for c in rows["currencies"]}
    country = {c["id"]: c["iso_code"] for c in rows["countries"]}
    out: dict[str, list[dict[str, Any]]] = {}
    out["ps_orders"] = [{
        "id_order": o["id"], "reference": o["reference"], "id_shop": o["id_shop"], "id_customer": o["id_customer"],
        "id_cart": o["id_cart"], "id_address_delivery": o["id_address_delivery"],
        "id_address_invoice": o["id_address_invoice"], "id_currency": o["id_currency"],
        "currency_iso": currency.get(o["id_currency"]), "conversion_rate": o["conversion_rate"],
        "current_state": o["current_state"], "valid": bool(o["valid"]), "payment": o["payment"],
        "module": o["module"], **{k: o[k] for k in (
            "total_paid", "total_paid_tax_incl", "total_paid_tax_excl", "total_paid_real", "total_products",
            "total_products_wt", "total_shipping", "total_shipping_tax_incl", "total_shipping_tax_excl",
            "total_discounts", "total_discounts_tax_incl", "total_discounts_tax_excl", "total_wrapping",
            "total_wrapping_tax_incl", "total_wrapping_tax_excl")},
        "invoice_date": _when(o["invoice_date"]), "delivery_date": _when(o["delivery_date"]),
        "date_add": _when(o["date_add"]), "date_upd": _when(o["date_upd"]),
    } for o in rows["orders"]]
    out["ps_order_lines"] = [{
        "id_order_detail": d["id"], "id_order": d["id_order"], "product_id": d["product_id"],
        "product_attribute_id": d["product_attribute_id"], "sku": _blank(d["product_reference"]),
        "name": d["product_name"], "quantity": d["product_quantity"], "product_price": d["product_price"],
        "unit_price_tax_excl": d["unit_price_tax_excl"], "unit_price_tax_incl": d["unit_price_tax_incl"],
        "total_price_tax_excl": d["total_price_tax_excl"], "total_price_tax_incl": d["total_price_tax_incl"],
    } for d in rows["order_details"]]
    out["ps_customers"] = [{
        "id_customer": c["id"], "email": _blank(c["email"]), "firstname": c["firstname"], "lastname": c["lastname"],
        "company": _blank(c["company"]), "is_guest": bool(c["is_guest"]), "deleted": bool(c["deleted"]),
        "active": bool(c["active"]), "date_add": _when(c["date_add"]), "date_upd": _when(c["date_upd"]),
    } for c in rows["customers"]]
    out["ps_addresses"] = [{
        "id_address": a["id"], "id_customer": a["id_customer"], "firstname": a["firstname"],
        "lastname": a["lastname"], "address1": _blank(a["address1"]), "address2": _blank(a["address2"]),
        "postcode": _blank(a["postcode"]), "city": _blank(a["city"]), "id_country": a["id_country"] or None,
        "country_iso": country.get(a["id_country"]), "deleted": bool(a["deleted"]),
        "date_add": _when(a["date_add"]), "date_upd": _when(a["date_upd"]),
    } for a in rows["addresses"]]
    out["ps_products"] = [{
        "id_product": p["id"], "sku": _blank(p["reference"]), "name": p["name"], "product_type": p["product_type"],
        "price": p["price"], "id_default_combination": p["cache_default_attribute"] or None,
        "active": bool(p["active"]),
    } for p in rows["products"]]
    out["ps_combinations"] = [{
        "id_product_attribute": c["id"], "id_product": c["id_product"], "sku": _blank(c["reference"]),
        "price": c["price"],
    } for c in rows["combinations"]]
    out["ps_stock"] = [{
        "id_stock_available": s["id"], "id_product": s["id_product"],
        "id_product_attribute": s["id_product_attribute"], "quantity": s["quantity"],
        "out_of_stock": s["out_of_stock"],
    } for s in rows["stock_availables"]]
    out["ps_order_payments"] = [{
        "id_order_payment": p["id"], "order_reference": p["order_reference"],
        "currency_iso": currency.get(p["id_currency"]), "amount": p["amount"],
        "payment_method": p["payment_method"], "card_last4": (p.get("card_number") or "")[-4:] or None,
    } for p in rows["order_payments"]]
    out["ps_order_slips"] = [{
        "id_order_slip": s["id"], "id_order": s["id_order"], "id_customer": s["id_customer"],
        "total_products_tax_excl": s["total_products_tax_excl"],
        "total_products_tax_incl": s["total_products_tax_incl"], "amount": s["amount"],
    } for s in rows["order_slip"]]
    return out


def stage(staging: Staging, rows: dict[str, list[dict]], *, run_id: str = "test-map") -> None:
    """Write a generated shop's canonical rows, all ``pending`` (the column's default)."""
    tables = canonical_rows(rows)
    keys = {"ps_orders": "id_order", "ps_order_lines": "id_order_detail", "ps_customers": "id_customer",
            "ps_addresses": "id_address", "ps_products": "id_product", "ps_combinations": "id_product_attribute",
            "ps_stock": "id_stock_available", "ps_order_payments": "id_order_payment",
            "ps_order_slips": "id_order_slip"}
    with staging.transaction() as tx:
        for table, table_rows in tables.items():
            if table_rows:
                tx.upsert(table, [r | {"run_id": run_id} for r in table_rows], keys[table])
