"""Both emulators started together agree on the shop's master data, except where the Oracle seed differs on purpose.

``prestaoracle sandbox`` (no ``--only``) seeds the Fusion pod from the very shop the PrestaShop webservice serves.
Read over both HTTP APIs: every Oracle item is a shop SKU; every shop SKU but the listed missing ones is an Oracle
item; some shop customers are Oracle accounts with small differences (case, spaces, accents, a changed address);
stock and prices differ for some SKUs and agree for the rest. What differs on purpose is listed by
``seed_fusion(...).differences``, recomputed here from the same generator and arguments.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.sandbox.oracle.seed import seed_fusion
from prestaoracle.sandbox.prestashop.generate import generate_shop

pytestmark = pytest.mark.xdist_group("oracle_seed_agreement")

KEY = "SEEDAGREEMENTSEEDAGREEMENT123456"
USER, SECRET = "prestaoracle-sandbox", "AGREEMENT-SECRET-5"
SEED, ORDERS, END, DAYS = 7, 200, datetime(2026, 3, 1), 90
CLOCK = datetime(2026, 3, 1, tzinfo=UTC)
FSCM = "/fscmRestApi/resources/11.13.18.05"
CRM = "/crmRestApi/resources/11.13.18.05"


class Sandboxes:
    def __init__(self, shop: str, pod: str) -> None:
        self.shop, self.pod = shop, pod

    def ps(self, resource: str, display: str) -> list[dict]:
        resp = requests.get(f"{self.shop}/api/{resource}", auth=(KEY, ""), timeout=30,
                            params={"output_format": "JSON", "display": display})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        return body[resource] if isinstance(body, dict) else []

    def oracle(self, path: str, root: str = FSCM, **params: Any) -> list[dict]:
        out, offset = [], 0
        while True:
            resp = requests.get(f"{self.pod}{root}{path}", auth=(USER, SECRET), timeout=30,
                                params={"limit": 500, "offset": offset, "onlyData": "true", **params})
            assert resp.status_code == 200, resp.text
            body = resp.json()
            out += body["items"]
            offset += body["count"]
            if not body["hasMore"]:
                return out


@pytest.fixture(scope="session")
def both() -> Iterator[Sandboxes]:
    ps_port, ora_port = free_port(), free_port()
    with run_sandbox("--prestashop-port", str(ps_port), "--oracle-port", str(ora_port), "--ws-key", KEY,
                     "--orders", str(ORDERS), "--seed", str(SEED), "--end", END.isoformat(), "--days", str(DAYS),
                     "--oracle-clock-start", CLOCK.isoformat(), "--oracle-client-secret", SECRET,
                     "--workers", "1") as shop:
        yield Sandboxes(shop, f"http://127.0.0.1:{ora_port}")


def recomputed_differences() -> dict[str, Any]:
    """What the Oracle seed made different on purpose, from the generator the CLI used, with its arguments."""
    shop = generate_shop(ORDERS, SEED, END - timedelta(days=DAYS), END)
    return seed_fusion(shop.rows, SEED, CLOCK).differences


def shop_skus_of(both: Sandboxes) -> dict[str, dict]:
    """SKU → {"price": default-currency price tax excl., "stock": quantity} as the shop's webservice serves them."""
    products = {p["id"]: p for p in both.ps("products", "[id,reference,price]")}
    combos = both.ps("combinations", "[id,id_product,reference,price]")
    stock = {(s["id_product"], s["id_product_attribute"]): int(s["quantity"])
             for s in both.ps("stock_availables", "[id_product,id_product_attribute,quantity]")}
    out: dict[str, dict] = {}
    for p in products.values():
        if p["reference"]:
            out.setdefault(p["reference"], {"cents": round(float(p["price"]) * 100), "stock": stock.get((p["id"], 0))})
    for c in combos:
        if c["reference"]:
            base = round(float(products[c["id_product"]]["price"]) * 100)
            out.setdefault(c["reference"], {"cents": base + round(float(c["price"]) * 100),
                                            "stock": stock.get((c["id_product"], c["id"]))})
    return out


def check_items_are_shop_skus_but_the_missing_ones(both: Sandboxes, shop_skus: dict, differences: dict) -> None:
    """§1.3 (items must exist in Fusion, the SKU is the item number) / issue: every Oracle item number is a shop SKU
    (product or combination ``reference``); all shop SKUs but the listed missing ones are Oracle items."""
    items = {i["ItemNumber"] for i in both.oracle("/itemsV2")}
    assert items and items <= set(shop_skus)
    missing = set(shop_skus) - items
    assert missing == set(differences["missing_skus"]) and missing
    inactive = {i["ItemNumber"] for i in both.oracle("/itemsV2", q="ItemStatusValue=Inactive")}
    assert inactive == set(differences["inactive_skus"])


def check_stock_differs_for_some_skus_only(both: Sandboxes, shop_skus: dict, differences: dict) -> None:
    """§1.4 / issue: on-hand in Oracle equals the shop's stock except for the SKUs the seed lists as different."""
    onhand = {r["ItemNumber"]: r["PrimaryQuantity"] for r in both.oracle("/inventoryOnhandBalances",
                                                                         q="OrganizationCode=M1")}
    assert set(onhand) == set(shop_skus) - set(differences["missing_skus"])
    differing = {sku for sku, qty in onhand.items() if qty != shop_skus[sku]["stock"]}
    assert differing == set(differences["onhand"]) and differing
    for sku in differing:
        assert (shop_skus[sku]["stock"], onhand[sku]) == differences["onhand"][sku]


def check_prices_differ_for_some_skus_only(both: Sandboxes, shop_skus: dict, differences: dict) -> None:
    """§1.5 / issue: each currency's price list prices a SKU at the shop's price converted with the shop's rate
    (half-up to the cent), except the (currency, SKU) pairs the seed lists as different."""
    rates = {c["iso_code"]: float(c["conversion_rate"]) for c in both.ps("currencies", "[iso_code,conversion_rate]")}
    differing = {}
    for plist in both.oracle("/priceLists"):
        currency = plist["CurrencyCode"]
        for item in both.oracle(f"/priceLists/{plist['PriceListId']}/child/items", expand="charges"):
            expected = int(shop_skus[item["Item"]]["cents"] * rates[currency] + 0.5) / 100
            (charge,) = item["charges"]
            if charge["BasePrice"] != expected:
                differing[(currency, item["Item"])] = (expected, charge["BasePrice"])
    assert set(rates) == {p["CurrencyCode"] for p in both.oracle("/priceLists")}
    assert differing == differences["prices"] and differing


def _fold(text: str) -> str:
    """Case, outer spaces and accents removed: what a tolerant matcher compares."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold().replace("ł", "l").replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def check_some_customers_are_accounts_with_small_differences(both: Sandboxes, differences: dict) -> None:
    """§1.6 / issue: a share of shop customers are Oracle PERSON accounts; some exactly, some with small
    differences (e-mail case or spaces, upper-case or unaccented names, another street number or city spelling)."""
    customers = {c["id"]: c for c in both.ps("customers", "[id,email,firstname,lastname]")}
    first_address: dict[int, dict] = {}
    for a in sorted(both.ps("addresses", "[id,id_customer,address1,city,deleted]"), key=lambda a: a["id"]):
        if not int(a["deleted"]):
            first_address.setdefault(a["id_customer"], a)
    accounts = {a["PartyId"]: a for a in both.oracle("/accounts", root=CRM, q="PartyType=PERSON")}
    fuzzy = set(differences["probable_accounts"].values())  # customer 360's name/postcode/phone-only cases
    assert {party for party, _kinds in differences["customers"].values()} | fuzzy == set(accounts)
    assert 0 < len(accounts) < len(customers)
    kinds_seen: set[str] = set()
    for cid, (party, kinds) in differences["customers"].items():
        shop, account, address = customers[cid], accounts[party], first_address.get(cid, {})
        pairs = {"email": (shop["email"], account["EmailAddress"]),
                 "first": (shop["firstname"], account["FirstName"]), "last": (shop["lastname"], account["LastName"])}
        for name, (ours, theirs) in pairs.items():
            assert _fold(ours) == _fold(theirs), (cid, name)  # the same person, whatever was planted
        raw_equal = {name: ours == theirs for name, (ours, theirs) in pairs.items()}
        same_street = (address.get("address1"), address.get("city")) == (account["Address1"], account["City"])
        if not kinds:
            assert all(raw_equal.values()) and same_street, cid
            continue
        kinds_seen.update(kinds)
        if {"email_case", "email_spaces"} & set(kinds):
            assert not raw_equal["email"], cid
        if {"name_upper", "name_ascii"} & set(kinds):
            assert not (raw_equal["first"] and raw_equal["last"]), cid
        if "name_ascii" in kinds:
            assert (account["FirstName"] + account["LastName"]).isascii(), cid
            assert not (shop["firstname"] + shop["lastname"]).isascii(), cid
        if {"street_number", "city_spelling"} & set(kinds):
            assert not same_street, cid
    exact = [cid for cid, (_p, kinds) in differences["customers"].items() if not kinds]
    assert exact, "some customers must match exactly"
    assert kinds_seen & {"email_case", "name_upper"}, "case"
    assert "email_spaces" in kinds_seen, "spaces"
    assert "name_ascii" in kinds_seen, "accents"
    assert kinds_seen & {"street_number", "city_spelling"}, "changed address"


def test_both_emulators_agree_but_for_the_planted_differences(both: Sandboxes) -> None:
    """Issue "seeded from the same generator", §1.3–1.6: items and SKUs, stock, prices and customers, each a
    ``check_…`` step above with its sections. One test, so the two-emulator sandbox starts once per run however
    pytest-xdist splits the suite."""
    differences = recomputed_differences()
    shop_skus = shop_skus_of(both)
    check_items_are_shop_skus_but_the_missing_ones(both, shop_skus, differences)
    check_stock_differs_for_some_skus_only(both, shop_skus, differences)
    check_prices_differ_for_some_skus_only(both, shop_skus, differences)
    check_some_customers_are_accounts_with_small_differences(both, differences)
