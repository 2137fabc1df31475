"""``GET /sandbox/differences``: what the pod was seeded to disagree on, and the rules its order creates apply.

Tests of reconciliation and of the order flow must predict exact findings and exact rejections, not "something was
found". The seed (``seed.seed_fusion``) returns its planted differences with tuple keys and integer keys; this
module turns them into one JSON document that ``server.prepare`` stores in the pod's settings table, so every
worker process serves the same answer for the whole run, and adds ``order_rules``: what Order Management checks on
``POST salesOrdersForOrderHub`` (``orders.create``) in the order it checks it.

The document describes the pod as seeded. What the clock changes afterwards (the daily price drift of
``lifecycle``, on-hand falling as orders ship, exposure of orders created since) is not in it.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from prestaoracle.sandbox.oracle import contract, store
from prestaoracle.sandbox.oracle.seed import (
    LOW_CREDIT_LIMIT,
    PERSON_CREDIT_LIMIT,
    WEBSHOP_CREDIT_LIMIT,
    FusionSeed,
)

__all__ = ["CREDIT_EXPOSURE_STATUSES", "EBS_SETTING", "FUSION_SETTING", "fusion_document", "load", "order_rules"]

FUSION_SETTING = "differences"
EBS_SETTING = "ebs_differences"
# The header statuses whose TotalAmount ``orders._credit_check`` adds to an account's exposure.
CREDIT_EXPOSURE_STATUSES: tuple[str, ...] = ("OPEN", "DOO_DRAFT")
OTHER_ACCOUNT_CREDIT_LIMIT = 250_000.0  # the seed's limit for the organisations of other source systems


def _accounts_by_id(seeded: FusionSeed) -> dict[int, dict]:
    return {row["PartyId"]: row for row in seeded.rows.get("fusion_accounts", [])}


def _party(accounts: dict[int, dict], party_id: int, **extra: Any) -> dict[str, Any]:
    row = accounts.get(party_id, {})
    return {**extra, "PartyId": party_id, "PartyNumber": row.get("PartyNumber"),
            "AccountNumber": row.get("AccountNumber")}


def fusion_document(seeded: FusionSeed, seed: int, clock_start: str) -> dict[str, Any]:
    """The JSON document of ``seeded.differences`` (see ``seed``'s docstring), plus ``order_rules``.

    Every mapping becomes a list of objects with named fields, sorted by its key: ``(currency, sku)`` becomes
    ``{"currency", "sku", "expected", "oracle"}``; an ``id_customer`` key becomes a field; accounts carry
    ``PartyId``, ``PartyNumber`` and ``AccountNumber`` so a test can address them the way clients do.
    """
    diff = seeded.differences
    accounts = _accounts_by_id(seeded)
    return {
        "seed": seed,
        "clock_start": clock_start,
        "missing_skus": sorted(diff["missing_skus"]),
        "inactive_skus": sorted(diff["inactive_skus"]),
        "onhand": [{"sku": sku, "shop": shop, "oracle": oracle}
                   for sku, (shop, oracle) in sorted(diff["onhand"].items())],
        "onhand_other_orgs": [{"org": org, "sku": sku, "quantity": qty}
                              for (org, sku), qty in sorted(diff["onhand_other_orgs"].items())],
        "prices": [{"currency": currency, "sku": sku, "expected": expected, "oracle": oracle}
                   for (currency, sku), (expected, oracle) in sorted(diff["prices"].items())],
        "customers": [_party(accounts, party_id, id_customer=cid, kinds=list(kinds))
                      for cid, (party_id, kinds) in sorted(diff["customers"].items())],
        "customer_references": [_party(accounts, party_id, id_customer=cid)
                                for cid, party_id in sorted(diff["customer_references"].items())],
        "low_credit": [_party(accounts, party_id, id_customer=cid, CreditLimit=accounts[party_id]["CreditLimit"])
                       for cid, party_id in sorted(diff["low_credit"].items())],
        "inactive_accounts": [_party(accounts, party_id, id_customer=cid)
                              for cid, party_id in sorted(diff["inactive_accounts"].items())],
        "webshop_accounts": [_party(accounts, party_id, country=country, currency=currency,
                                    OrganizationName=accounts[party_id]["OrganizationName"])
                             for (country, currency), party_id in sorted(diff["webshop_accounts"].items())],
        "other_accounts": [_party(accounts, party_id, OrganizationName=accounts[party_id]["OrganizationName"],
                                  SourceSystem=accounts[party_id]["SourceSystem"])
                           for party_id in diff["other_accounts"]],
        "probable_accounts": [_party(accounts, party_id, id_customer=cid)
                              for cid, party_id in sorted(diff["probable_accounts"].items())],
        "vat_accounts": [_party(accounts, party_id, id_customer=cid,
                                TaxRegistrationNumber=accounts[party_id]["TaxRegistrationNumber"])
                         for cid, party_id in sorted(diff["vat_accounts"].items())],
        "customer_matches": [{**(_party(accounts, party_id) if party_id is not None else
                                 {"PartyId": None, "PartyNumber": None, "AccountNumber": None}),
                              "id_customer": cid, "decision": decision, "rule": rule}
                             for cid, (decision, rule, party_id) in sorted(diff["customer_matches"].items())],
        "order_rules": order_rules(seeded),
        "finance": diff["finance"],
    }


def order_rules(seeded: FusionSeed) -> dict[str, Any]:
    """What ``orders.create`` refuses, in the order it checks; the first failing check answers (400).

    Read off ``orders.create``, ``_party``, ``_lines`` and ``_credit_check``; the integration test of this module
    posts orders that must meet each rule, so the description cannot drift from the code unnoticed.
    """
    diff = seeded.differences
    accounts = _accounts_by_id(seeded)
    return {
        "http_status": 400,
        "first_failure_wins": True,
        "checks": [
            {"rule": "required_attributes", "error_code": contract.CODE_REQUIRED,
             "description": "SourceTransactionNumber, SourceTransactionSystem, SourceTransactionId and "
                            "TransactionalCurrencyCode on the header; at least one line"},
            {"rule": "source_system", "error_code": contract.CODE_UNKNOWN_SOURCE_SYSTEM,
             "description": "SourceTransactionSystem is one of PSHOP, LEG, GPR, OPS"},
            {"rule": "currency", "error_code": contract.CODE_UNKNOWN_CURRENCY,
             "description": "TransactionalCurrencyCode is one of EUR, USD, GBP, CHF, PLN"},
            {"rule": "duplicate_order", "error_code": contract.CODE_DUPLICATE_ORDER,
             "description": "no order with the same SourceTransactionSystem:SourceTransactionId exists (with "
                            "Upsert-Mode: true it is replaced instead, unless closed or shipped)"},
            {"rule": "business_unit", "error_code": contract.CODE_UNKNOWN_BU,
             "description": "BusinessUnitId 204 or BusinessUnitName 'Vision Operations'"},
            {"rule": "fulfillment_organization", "error_code": contract.CODE_UNKNOWN_ORGANIZATION,
             "description": "RequestedFulfillmentOrganizationCode, when given, is M1 or V1"},
            {"rule": "unknown_account", "error_code": contract.CODE_UNKNOWN_CUSTOMER,
             "description": "the BuyingPartyId, else BuyingPartyNumber, else BuyingPartyName names an account"},
            {"rule": "inactive_account", "error_code": contract.CODE_INACTIVE_CUSTOMER,
             "description": "the buying account has Status A; the inactive_accounts below have Status I"},
            {"rule": "missing_sku", "error_code": contract.CODE_UNKNOWN_ITEM,
             "description": "each line's ProductNumber is an item of its organization (default M1); lines are "
                            "checked in order and the first bad line answers; missing_skus have no item"},
            {"rule": "inactive_sku", "error_code": contract.CODE_INACTIVE_ITEM,
             "description": "the item is Active and customer-orderable; inactive_skus are Inactive"},
            {"rule": "quantity", "error_code": contract.CODE_BAD_QUANTITY,
             "description": "OrderedQuantity is a number above zero"},
            {"rule": "price", "error_code": contract.CODE_NO_PRICE,
             "description": "a NET_PRICE charge component is sent, or the currency's price list prices the item"},
            {"rule": "credit_limit", "error_code": contract.CODE_CREDIT_LIMIT,
             "description": "exposure + order total <= the account's CreditLimit (see credit_check)"},
        ],
        "credit_check": {
            "order_total": "sum over the lines of OrderedQuantity x unit price, rounded to cents; the unit price "
                           "is the line's NET_PRICE ChargeCurrencyUnitPrice when sent, else the price list's "
                           "BasePrice in the order's currency; tax and shipping are not part of it",
            "counts_other_open_orders": True,
            "exposure": "sum of TotalAmount of the account's other orders whose StatusCode is one of "
                        "exposure_statuses: submitted orders until they close (an invoice left unpaid keeps its "
                        "order open) and drafts; closed and canceled orders do not count, and an upsert leaves out "
                        "the order it replaces",
            "exposure_statuses": list(CREDIT_EXPOSURE_STATUSES),
            "currency_conversion": False,
            "refused_when": "exposure + order total > CreditLimit",
        },
        "credit_limits": {"low_credit": LOW_CREDIT_LIMIT, "person": PERSON_CREDIT_LIMIT,
                          "webshop": WEBSHOP_CREDIT_LIMIT, "other_accounts": OTHER_ACCOUNT_CREDIT_LIMIT},
        "low_credit_limits": [_party(accounts, party_id, id_customer=cid,
                                     CreditLimit=accounts[party_id]["CreditLimit"])
                              for cid, party_id in sorted(diff["low_credit"].items())],
        "refused_skus": {"missing": sorted(diff["missing_skus"]), "inactive": sorted(diff["inactive_skus"])},
        "refused_accounts": {"inactive": [_party(accounts, party_id, id_customer=cid)
                                          for cid, party_id in sorted(diff["inactive_accounts"].items())]},
    }


def load(engine: sa.Engine) -> dict[str, Any]:
    """The stored document with its ``ebs`` section (null when the pod runs without an EBS stand-in)."""
    with engine.connect() as conn:
        values = dict(conn.execute(sa.select(store.SETTINGS.c.name, store.SETTINGS.c.value).where(
            store.SETTINGS.c.name.in_((FUSION_SETTING, EBS_SETTING)))).all())
    if FUSION_SETTING not in values:
        raise LookupError("The pod's store holds no seeded differences: it was prepared by an older version; "
                          "restart the sandbox to seed it again.")
    document = json.loads(values[FUSION_SETTING])
    document["ebs"] = json.loads(values[EBS_SETTING]) if values.get(EBS_SETTING) else None
    return document
