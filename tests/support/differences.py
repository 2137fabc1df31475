"""Which shop orders the Oracle sandbox must refuse, and why, from ``GET /sandbox/differences``.

The exactly-once tests need exact expectations: every order either lands in Oracle or is refused for a known reason.
``predict_fusion`` and ``predict_ebs`` return ``{id_order: Refusal}`` for the orders Oracle must refuse; an order
absent from the result must be accepted. Orders are dicts (``shop_orders`` builds them from generated shop rows)::

    {"id_order": 12, "id_customer": 3, "country": "FR", "currency": "EUR",
     "lines": [{"sku": "PS-000004", "quantity": 2, "unit_price": 19.9}]}   # unit_price: tax excluded

Assumptions (the order flow's defaults: ``flows/orders/config.default.yaml`` and the mapping specs):

Fusion (``order_rules`` of the document; checks in the pod's order, the first failing one answers):

* Customer mode ``match``: an order is booked against the PERSON account carrying the shop's reference
  (``customer_references``) when there is one, else against an account the pod never refuses (the web-shop
  catch-all, or a PERSON account matched by e-mail: active, limit 50,000). Every low-credit and inactive account
  carries the shop's reference, so those are the only accounts that refuse. Mode ``webshop``: always the
  catch-all, so no order is refused for its account. Mode ``create`` is not modelled.
* SKUs are sent as the shop has them (no ``sku`` binding to another item); lines are checked in order.
* The credit check's order total is the sum of quantity x ``unit_price`` (the NET_PRICE the flow sends, no order
  currency configured), rounded to cents; exposure counts the accepted orders of the same account in the order
  given, plus ``exposure`` at the start (default: nothing open), and assumes no order closes or is cancelled in
  between (do not move the clock across a batch you predict).

EBS (the ``ebs`` section):

* A customer present in the stand-in is bound to its account (the ``ebs_customer`` cross-reference); an absent one
  is booked against the catch-all of its delivery country and currency when the stand-in has one
  (``webshop_accounts``), else the product refuses it before EBS (no SOLD_TO_ORG_ID: ``mapping_missing``).
* A missing SKU is refused by the product's EBS client before the interface (``mapping_missing``); Order Import
  then refuses an inactive account (``business_rule``), an account without a primary ship-to site
  (``mapping_missing``), inactive and not-orderable SKUs (``business_rule``). Order Import lists every problem of
  an order; ``Refusal.reasons`` has them all, ``reason`` the first in that order. EBS has no credit check.

Not modelled: the generator's bad rows (``--faults`` with bad rows: empty SKUs, zero quantities, missing
addresses), which the flow quarantines before Oracle, and the pod's injected faults (504 after commit and the like).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

FUSION_CLASSES = {"inactive_account": "business_rule", "missing_sku": "mapping_missing",
                  "inactive_sku": "business_rule", "credit_limit": "business_rule"}
EBS_CLASSES = {"no_account": "mapping_missing", "missing_sku": "mapping_missing",
               "inactive_account": "business_rule", "no_site": "mapping_missing", "inactive_sku": "business_rule",
               "not_orderable_sku": "business_rule"}


@dataclass(frozen=True)
class Refusal:
    """Why Oracle refuses one order: the first reason, its reason class, every reason, and a readable detail."""

    id_order: int
    reason: str
    reason_class: str
    detail: str
    reasons: tuple[str, ...]
    error_code: str | None = None  # Fusion's o:errorCode of the answering check


def fetch_differences(pod_base: str) -> dict[str, Any]:
    """``GET {pod_base}/sandbox/differences`` (``pod_base`` like ``http://127.0.0.1:9102``)."""
    resp = requests.get(f"{pod_base.rstrip('/')}/sandbox/differences", timeout=30)
    resp.raise_for_status()
    return resp.json()


def shop_orders(rows: dict[str, list[dict]]) -> list[dict]:
    """The shop's orders as prediction input, from ``generate_shop(...).rows`` (or rows read back alike)."""
    countries = {c["id"]: c["iso_code"] for c in rows.get("countries", [])}
    currencies = {c["id"]: c["iso_code"] for c in rows.get("currencies", [])}
    addresses = {a["id"]: a for a in rows.get("addresses", [])}
    lines: dict[int, list[dict]] = defaultdict(list)
    for detail in sorted(rows.get("order_details", []), key=lambda d: d["id"]):
        lines[detail["id_order"]].append({"sku": str(detail.get("product_reference") or "").strip(),
                                          "quantity": detail["product_quantity"],
                                          "unit_price": detail["unit_price_tax_excl"]})
    out = []
    for order in sorted(rows.get("orders", []), key=lambda o: o["id"]):
        delivery = addresses.get(order.get("id_address_delivery")) or {}
        out.append({"id_order": order["id"], "id_customer": order["id_customer"],
                    "country": countries.get(delivery.get("id_country")),
                    "currency": currencies.get(order.get("id_currency")), "lines": lines[order["id"]]})
    return out


def _total(order: dict) -> Decimal:
    cents = sum((Decimal(str(line["quantity"])) * Decimal(str(line["unit_price"])) for line in order["lines"]),
                Decimal(0))
    return cents.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _codes(differences: dict[str, Any]) -> dict[str, str]:
    return {check["rule"]: check["error_code"] for check in differences["order_rules"]["checks"]}


def predict_fusion(differences: dict[str, Any], orders: Iterable[dict], *, customer_mode: str = "match",
                   exposure: dict[int, float] | None = None) -> dict[int, Refusal]:
    """The orders the Fusion pod must refuse (see the module's assumptions), keyed by ``id_order``."""
    if customer_mode not in ("match", "webshop"):
        raise ValueError(f"customer mode {customer_mode!r} is not modelled; use match or webshop")
    rules = differences["order_rules"]
    codes = _codes(differences)
    missing, inactive = set(rules["refused_skus"]["missing"]), set(rules["refused_skus"]["inactive"])
    referenced = {r["id_customer"]: r["PartyId"] for r in differences["customer_references"]}
    inactive_parties = {r["PartyId"] for r in rules["refused_accounts"]["inactive"]}
    limits = {r["PartyId"]: Decimal(str(r["CreditLimit"])) for r in rules["low_credit_limits"]}
    statuses = rules["credit_check"]["exposure_statuses"]
    if not rules["credit_check"]["counts_other_open_orders"] or not statuses:
        raise AssertionError("the pod's credit check no longer counts open orders: revise predict_fusion")
    open_amounts = defaultdict(Decimal, {p: Decimal(str(v)) for p, v in (exposure or {}).items()})
    out: dict[int, Refusal] = {}

    def refuse(order: dict, reason: str, detail: str) -> None:
        out[order["id_order"]] = Refusal(order["id_order"], reason, FUSION_CLASSES[reason], detail, (reason,),
                                         codes[reason])

    for order in orders:
        party = referenced.get(order["id_customer"]) if customer_mode == "match" else None
        if party in inactive_parties:
            refuse(order, "inactive_account", f"account {party} of customer {order['id_customer']} is inactive")
            continue
        bad = next(((line["sku"], "missing_sku" if line["sku"] in missing else "inactive_sku")
                    for line in order["lines"] if line["sku"] in missing or line["sku"] in inactive), None)
        if bad is not None:
            refuse(order, bad[1], f"SKU {bad[0]} is {'missing' if bad[1] == 'missing_sku' else 'inactive'}")
            continue
        total = _total(order)
        if party in limits:
            if open_amounts[party] + total > limits[party]:
                refuse(order, "credit_limit", f"account {party}: exposure {open_amounts[party]} + order {total} "
                                              f"over the limit {limits[party]}")
                continue
            open_amounts[party] += total
    return out


def predict_ebs(differences: dict[str, Any], orders: Iterable[dict]) -> dict[int, Refusal]:
    """The orders the EBS path must refuse (product client or Order Import), keyed by ``id_order``."""
    ebs = differences.get("ebs")
    if not ebs:
        raise LookupError("the pod runs without an EBS stand-in: start the sandbox with --ebs-db-url")
    customers = {c["id_customer"]: c for c in ebs["customers"]}
    webshop = {(w["country"], w["currency"]): w["CUST_ACCOUNT_ID"] for w in ebs.get("webshop_accounts", [])}
    missing, inactive = set(ebs["missing_skus"]), set(ebs["inactive_skus"])
    style = set(ebs["not_orderable_skus"])
    out: dict[int, Refusal] = {}
    for order in orders:
        reasons: list[tuple[str, str]] = []
        customer = customers.get(order["id_customer"])
        if customer is None and (order.get("country"), order.get("currency")) not in webshop:
            reasons.append(("no_account", f"customer {order['id_customer']} has no EBS account and no catch-all "
                                          f"exists for {order.get('country')}/{order.get('currency')}"))
        skus = [line["sku"] for line in order["lines"]]
        absent = [sku for sku in skus if sku in missing]
        if absent:
            reasons.append(("missing_sku", f"no EBS item {', '.join(absent)}"))
        if reasons:  # the product's client refuses these before the interface: nothing reaches Order Import
            first = reasons[0][0]
            out[order["id_order"]] = Refusal(order["id_order"], first, EBS_CLASSES[first], reasons[0][1],
                                             tuple(r for r, _ in reasons))
            continue
        if customer is not None and customer["status"] != "A":
            reasons.append(("inactive_account", f"account {customer['CUST_ACCOUNT_ID']} is inactive"))
        elif customer is not None and customer["SHIP_TO_SITE_USE_ID"] is None:
            reasons.append(("no_site", f"account {customer['CUST_ACCOUNT_ID']} has no primary SHIP_TO"))
        for sku in skus:
            if sku in inactive:
                reasons.append(("inactive_sku", f"item {sku} is inactive"))
            elif sku in style:
                reasons.append(("not_orderable_sku", f"item {sku} is a style item, not customer orderable"))
        if reasons:
            first = reasons[0][0]
            out[order["id_order"]] = Refusal(order["id_order"], first, EBS_CLASSES[first], reasons[0][1],
                                             tuple(r for r, _ in reasons))
    return out
