"""Fill the EBS stand-in from a generated PrestaShop shop, with the differences a real ERP would have.

The integration has to reconcile two systems that were never perfectly in sync, so the seed plants realistic drift
on purpose: about 70% of the shop's customers exist in TCA, many spelled differently (case, extra spaces, accents
dropped, a newer address) and a few inactive; a few SKUs are missing or inactive; on-hand and prices differ for a
deterministic subset. Everything planted is returned in a ``SeedReport`` so tests can assert what the product found.
One seed gives the same rows, ids included, on every backend.

Like a real web-shop setup, EBS also holds one catch-all account per delivery country and order currency the shop's
orders use ("Webshop Customers FR", "Webshop Customers GB EUR": see :func:`webshop_account_name`), each with a
primary ship-to and bill-to site: orders of customers EBS does not know are booked against them.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prestaoracle.sandbox.ebs import contract
from prestaoracle.sandbox.ebs import schema as s

__all__ = ["CUSTOMER_VARIANTS", "HOME_CURRENCY", "WEBSHOP_ACCOUNT_PREFIX", "CustomerSeed", "SeedReport", "seed",
           "webshop_account_name"]

# How a shop customer that exists in EBS differs there, with the share of present customers (%).
CUSTOMER_VARIANTS: tuple[tuple[str, int], ...] = (
    ("exact", 40), ("upper", 15), ("spaces", 15), ("ascii", 15), ("address", 10), ("inactive", 5),
)
PRESENT_SHARE = 0.70
MISSING_SKU_SHARE = 0.03
INACTIVE_SKU_SHARE = 0.03
PRICE_DIFF_SHARE = 0.10
ONHAND_DIFF_SHARE = 0.10
CONSIGNED_SHARE = 0.05
SECOND_WAREHOUSE_SHARE = 0.5
EXPIRED_PRICE_SHARE = 0.05
_CENT = Decimal("0.01")
_SEEDED_AT = datetime(2023, 12, 31, 18, 0, 0)
# The catch-all accounts' naming convention, the one the mapping configuration describes
# (defaults.webshop_account_prefix, lookups.home_currency): the currency is named only when it is not the country's.
WEBSHOP_ACCOUNT_PREFIX = "Webshop Customers"
HOME_CURRENCY: dict[str, str] = {"FR": "EUR", "DE": "EUR", "ES": "EUR", "IT": "EUR", "NL": "EUR", "BE": "EUR",
                                 "US": "USD", "GB": "GBP", "CH": "CHF", "PL": "PLN"}
_B2B_CUSTOMERS = ("Atelier Duval SARL", "Nordwind Retail GmbH", "Harbour Gift Shops Ltd", "Casa Olivo S.L.",
                  "Lumen Concept Store BV")


@dataclass(frozen=True)
class CustomerSeed:
    """Where one PrestaShop customer landed in TCA, and how it was spelled there."""

    ps_customer_id: int
    cust_account_id: int
    account_number: str
    party_id: int
    variant: str
    status: str
    ship_to_site_use_id: int | None
    bill_to_site_use_id: int | None


@dataclass
class SeedReport:
    """Ground truth of a seeded stand-in: ids, and every difference planted against the shop."""

    items: dict[str, int] = field(default_factory=dict)  # SKU -> INVENTORY_ITEM_ID (orderable and style items)
    orderable_skus: list[str] = field(default_factory=list)  # present, active, customer-orderable
    style_skus: list[str] = field(default_factory=list)  # parents of combinations: present, not orderable
    missing_skus: list[str] = field(default_factory=list)
    inactive_skus: list[str] = field(default_factory=list)
    price_eur: dict[str, Decimal] = field(default_factory=dict)  # current EBS price (EUR list) per priced SKU
    price_differs: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # SKU -> (shop, EBS)
    onhand_m1: dict[str, int] = field(default_factory=dict)  # non-consigned on-hand in M1 per present SKU
    onhand_differs: dict[str, tuple[int, int]] = field(default_factory=dict)  # SKU -> (shop, EBS M1)
    consigned_skus: list[str] = field(default_factory=list)
    price_lists: dict[str, int] = field(default_factory=dict)  # currency -> LIST_HEADER_ID
    customers: dict[int, CustomerSeed] = field(default_factory=dict)  # PrestaShop id -> TCA
    absent_customers: list[int] = field(default_factory=list)
    ebs_only_accounts: list[int] = field(default_factory=list)  # accounts of no shop customer (catch-alls included)
    # (delivery country, currency) -> CUST_ACCOUNT_ID of the catch-all account orders of unknown customers go to
    webshop_accounts: dict[tuple[str, str], int] = field(default_factory=dict)


def webshop_account_name(country: str, currency: str) -> str:
    """The catch-all account of a country and currency: ``Webshop Customers FR`` in the country's home currency,
    ``Webshop Customers GB EUR`` in any other."""
    country, currency = country.upper(), currency.upper()
    if HOME_CURRENCY.get(country) == currency:
        return f"{WEBSHOP_ACCOUNT_PREFIX} {country}"
    return f"{WEBSHOP_ACCOUNT_PREFIX} {country} {currency}"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(_CENT, ROUND_HALF_UP)


class _Ids:
    """Hands out ids from the stand-in sequences in blocks, one round trip per block."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def block(self, sequence: str, count: int) -> list[int]:
        if count == 0:
            return []
        first = s.allocate_ids(self.conn, sequence, count)
        return list(range(first, first + count))


def seed(engine: Engine, shop_rows: dict[str, list[dict]], seed: int) -> SeedReport:
    """Load items, on-hand, price lists and customers derived from ``shop_rows`` (``generate_shop(...).rows``).

    Call ``create_schema`` first, on an empty stand-in: ids come from the stand-in sequences, so seeding twice into
    one database gives different ids (and duplicate SKUs).
    """
    rng = random.Random(f"prestaoracle-ebs-seed:{seed}")
    report = SeedReport()
    with engine.begin() as conn:
        ids = _Ids(conn)
        who = s.stamp(_SEEDED_AT)
        _seed_items(conn, ids, who, rng, shop_rows, report)
        _seed_customers(conn, ids, who, rng, shop_rows, report)
        _seed_webshop_accounts(conn, ids, who, shop_rows, report)
    return report


# --------------------------------------------------------------------------------------------- items and stock


def _catalogue(shop_rows: dict[str, list[dict]]) -> list[dict]:
    """Shop SKUs in catalogue order: style parents (not orderable) then their combinations, or simple products."""
    combos: dict[int, list[dict]] = defaultdict(list)
    for comb in shop_rows.get("combinations", []):
        combos[comb["id_product"]].append(comb)
    stock = {(r["id_product"], r["id_product_attribute"]): int(r["quantity"])
             for r in shop_rows.get("stock_availables", [])}
    out: list[dict] = []
    seen: set[str] = set()

    def add(sku: str, **values: Any) -> None:
        # A shop may carry an empty or repeated reference (the generator's bad rows do); EBS keeps one item per SKU.
        if sku and sku not in seen:
            seen.add(sku)
            out.append({"sku": sku, **values})

    for product in sorted(shop_rows.get("products", []), key=lambda p: p["id"]):
        pid, price = product["id"], _money(product["price"])
        weight = _money(product.get("weight") or 0)
        own = sorted(combos.get(pid, []), key=lambda c: c["id"])
        if own:
            add(product["reference"], name=product["name"], price=price, weight=weight, stock=0, orderable=False)
            for comb in own:
                suffix = comb["reference"].removeprefix(product["reference"]).strip("-")
                add(comb["reference"], name=f"{product['name']} - {suffix}"[:240], weight=weight,
                    price=price + _money(comb["price"]), stock=stock.get((pid, comb["id"]), 0), orderable=True)
        else:
            add(product["reference"], name=product["name"][:240], price=price, weight=weight,
                stock=stock.get((pid, 0), 0), orderable=True)
    return out


def _seed_items(conn: sa.Connection, ids: _Ids, who: dict, rng: random.Random, shop_rows: dict[str, list[dict]],
                report: SeedReport) -> None:
    catalogue = _catalogue(shop_rows)
    orderable = [c["sku"] for c in catalogue if c["orderable"]]
    n = len(orderable)
    missing = set(rng.sample(orderable, min(n, max(1, round(n * MISSING_SKU_SHARE))))) if n else set()
    rest = [sku for sku in orderable if sku not in missing]
    inactive = set(rng.sample(rest, min(len(rest), max(1, round(n * INACTIVE_SKU_SHARE))))) if rest else set()
    report.missing_skus = [sku for sku in orderable if sku in missing]
    report.inactive_skus = [sku for sku in orderable if sku in inactive]

    present = [c for c in catalogue if c["sku"] not in missing]
    item_ids = ids.block("MTL_SYSTEM_ITEMS_S", len(present))
    items, layers = [], []
    currencies = sorted((c for c in shop_rows.get("currencies", []) if c.get("active", 1)), key=lambda c: c["id"])
    rates = {c["iso_code"]: Decimal(str(c["conversion_rate"])) for c in currencies} or {"EUR": Decimal(1)}
    prices: list[tuple[int, str, Decimal, bool]] = []  # item id, SKU, EUR price, has an expired older line
    for item_id, entry in zip(item_ids, present, strict=True):
        sku = entry["sku"]
        report.items[sku] = item_id
        active = sku not in inactive
        orderable_here = entry["orderable"] and active
        if entry["orderable"] and active:
            report.orderable_skus.append(sku)
        elif not entry["orderable"]:
            report.style_skus.append(sku)
        ebs_price = entry["price"]
        if entry["orderable"] and rng.random() < PRICE_DIFF_SHARE:
            ebs_price = _money(entry["price"] * Decimal(str(rng.choice((0.9, 0.95, 1.05, 1.1, 1.2)))))
            if ebs_price == entry["price"]:
                ebs_price += Decimal("0.50")
            report.price_differs[sku] = (entry["price"], ebs_price)
        orgs = [contract.MASTER_ORGANIZATION_ID, contract.DEFAULT_SHIP_FROM_ORG_ID]
        if rng.random() < SECOND_WAREHOUSE_SHARE:
            orgs.append(contract.SECOND_WAREHOUSE_ORG_ID)
        for org in orgs:
            items.append({
                "inventory_item_id": item_id, "organization_id": org, "segment1": sku,
                "description": entry["name"], "primary_uom_code": contract.DEFAULT_UOM,
                "inventory_item_status_code": "Active" if active else "Inactive", "enabled_flag": "Y",
                "customer_order_flag": "Y" if entry["orderable"] else "N",
                "customer_order_enabled_flag": "Y" if orderable_here else "N",
                "shippable_item_flag": "Y", "list_price_per_unit": ebs_price, "unit_weight": entry["weight"],
                "weight_uom_code": "Kg", **who,
            })
        if not entry["orderable"]:
            continue
        report.price_eur[sku] = ebs_price
        prices.append((item_id, sku, ebs_price, rng.random() < EXPIRED_PRICE_SHARE))
        layers.extend(_stock_layers(rng, item_id, sku, entry["stock"], orgs, report))
    conn.execute(s.MTL_SYSTEM_ITEMS_B.insert(), items)
    for row, layer_id in zip(layers, ids.block("MTL_ONHAND_QUANTITIES_S", len(layers)), strict=True):
        row["onhand_quantities_id"] = layer_id
        row.update(who)
    if layers:
        conn.execute(s.MTL_ONHAND_QUANTITIES_DETAIL.insert(), layers)
    _seed_prices(conn, ids, who, rates, prices, report)


def _stock_layers(rng: random.Random, item_id: int, sku: str, shop_qty: int, orgs: list[int],
                  report: SeedReport) -> list[dict]:
    """Receipt layers for one item: M1 mirrors the shop (with planted drift), M2 and consigned stock are extra."""
    qty = shop_qty
    if rng.random() < ONHAND_DIFF_SHARE:
        qty = max(0, shop_qty + rng.choice((-5, -2, 3, 10, 25)))
        if qty == shop_qty:
            qty = shop_qty + 4
        report.onhand_differs[sku] = (shop_qty, qty)
    report.onhand_m1[sku] = qty
    layers = []
    remaining, parts = qty, rng.randint(1, 3)
    for k in range(parts):
        part = remaining if k == parts - 1 else rng.randint(0, remaining)
        remaining -= part
        if part:
            layers.append(_layer(item_id, contract.DEFAULT_SHIP_FROM_ORG_ID, part, 2,
                                 _SEEDED_AT - timedelta(days=rng.randint(5, 400))))
    if rng.random() < CONSIGNED_SHARE:
        report.consigned_skus.append(sku)
        layers.append(_layer(item_id, contract.DEFAULT_SHIP_FROM_ORG_ID, rng.randint(1, 20), 1,
                             _SEEDED_AT - timedelta(days=rng.randint(5, 60))))
    if contract.SECOND_WAREHOUSE_ORG_ID in orgs and rng.random() < 0.4:
        layers.append(_layer(item_id, contract.SECOND_WAREHOUSE_ORG_ID, rng.randint(1, 50), 2,
                             _SEEDED_AT - timedelta(days=rng.randint(5, 400))))
    return layers


def _layer(item_id: int, org: int, qty: int, is_consigned: int, received: datetime) -> dict:
    return {
        "inventory_item_id": item_id, "organization_id": org, "subinventory_code": "FGI", "locator_id": None,
        "lot_number": None, "revision": None, "primary_transaction_quantity": Decimal(qty),
        "transaction_quantity": Decimal(qty), "transaction_uom_code": contract.DEFAULT_UOM,
        "is_consigned": is_consigned,
        # Consigned stock still belongs to the supplier, hence another owning organization.
        "owning_organization_id": org if is_consigned == 2 else 9001,
        "date_received": received, "create_transaction_id": None, "update_transaction_id": None,
    }


def _seed_prices(conn: sa.Connection, ids: _Ids, who: dict, rates: dict[str, Decimal],
                 prices: list[tuple[int, str, Decimal, bool]], report: SeedReport) -> None:
    start = datetime.fromisoformat(contract.PRICE_LIST_START)
    headers, names, lines, attrs = [], [], [], []
    list_ids = ids.block("QP_LIST_HEADERS_B_S", len(rates))
    n_lines = len(prices) + sum(1 for p in prices if p[3])
    for currency, list_id in zip(rates, list_ids, strict=True):
        report.price_lists[currency] = list_id
        headers.append({"list_header_id": list_id, "list_type_code": "PRL", "currency_code": currency,
                        "active_flag": "Y", "start_date_active": start, "end_date_active": None, **who})
        name = contract.PRICE_LIST_NAME.format(currency=currency)
        names.append({"list_header_id": list_id, "language": contract.LANGUAGE, "source_lang": contract.LANGUAGE,
                      "name": name, "description": f"PrestaShop prices in {currency}, tax excluded", **who})
        line_ids = iter(ids.block("QP_LIST_LINES_S", n_lines))
        for item_id, _sku, eur, expired in prices:
            price = _money(eur * rates[currency])
            periods = [(start, None, price)]
            if expired:
                # An older price that no longer applies: reads must filter on the active dates.
                periods.append((start - timedelta(days=365), start - timedelta(seconds=1), _money(price * 2)))
            for begin, end, operand in periods:
                line_id = next(line_ids)
                lines.append({"list_line_id": line_id, "list_header_id": list_id, "list_line_type_code": "PLL",
                              "arithmetic_operator": "UNIT_PRICE", "operand": operand, "start_date_active": begin,
                              "end_date_active": end, "product_precedence": 220, **who})
                attrs.append({"list_line_id": line_id, "list_header_id": list_id,
                              "product_attribute_context": "ITEM", "product_attribute": "PRICING_ATTRIBUTE1",
                              "product_attr_value": str(item_id), "product_uom_code": contract.DEFAULT_UOM,
                              "excluder_flag": "N", **who})
    for row, attr_id in zip(attrs, ids.block("QP_PRICING_ATTRIBUTES_S", len(attrs)), strict=True):
        row["pricing_attribute_id"] = attr_id
    conn.execute(s.QP_LIST_HEADERS_B.insert(), headers)
    conn.execute(s.QP_LIST_HEADERS_TL.insert(), names)
    if lines:
        conn.execute(s.QP_LIST_LINES.insert(), lines)
        conn.execute(s.QP_PRICING_ATTRIBUTES.insert(), attrs)


# --------------------------------------------------------------------------------------------- customers


def _spell(text: str, variant: str) -> str:
    if variant == "upper":
        return text.upper()
    if variant == "spaces":
        return "  ".join(text.split(" ")) + " "
    if variant == "ascii":
        return _fold(text)
    return text


def _seed_customers(conn: sa.Connection, ids: _Ids, who: dict, rng: random.Random,
                    shop_rows: dict[str, list[dict]], report: SeedReport) -> None:
    countries = {c["id"]: c["iso_code"] for c in shop_rows.get("countries", [])}
    addresses: dict[int, list[dict]] = defaultdict(list)
    for address in sorted(shop_rows.get("addresses", []), key=lambda a: a["id"]):
        if address.get("id_customer") and not address.get("deleted"):
            addresses[address["id_customer"]].append(address)
    names, weights = zip(*CUSTOMER_VARIANTS, strict=True)

    people: list[tuple[int | None, str, dict, list[dict]]] = []  # shop id, variant, party values, addresses
    for customer in sorted(shop_rows.get("customers", []), key=lambda c: c["id"]):
        if rng.random() >= PRESENT_SHARE:
            report.absent_customers.append(customer["id"])
            continue
        variant = rng.choices(names, weights)[0]
        first, last = customer.get("firstname") or "", customer.get("lastname") or ""
        company = (customer.get("company") or "").strip()
        email = customer.get("email") or None
        party = {
            "party_type": "ORGANIZATION" if company else "PERSON",
            "party_name": _spell(company or f"{first} {last}", variant)[:360],
            "person_first_name": None if company else _spell(first, variant)[:150],
            "person_last_name": None if company else _spell(last, variant)[:150],
            "email_address": email.upper() if email and variant == "upper" else email,
        }
        shop_addresses = [_address(a, countries, variant, rng) for a in addresses.get(customer["id"], [])]
        people.append((customer["id"], variant, party, shop_addresses))
    for name in _B2B_CUSTOMERS:
        party = {"party_type": "ORGANIZATION", "party_name": name, "person_first_name": None,
                 "person_last_name": None, "email_address": None}
        address = {"address1": f"{rng.randint(1, 200)} Rue du Commerce", "address2": None, "city": "Lyon",
                   "postal_code": f"690{rng.randint(10, 99)}", "state": None, "country": "FR"}
        people.append((None, "ebs_only", party, [address]))

    n = len(people)
    party_ids = ids.block("HZ_PARTIES_S", n)
    party_numbers = ids.block("HZ_PARTY_NUMBER_S", n)
    account_ids = ids.block("HZ_CUST_ACCOUNTS_S", n)
    account_numbers = ids.block("HZ_ACCOUNT_NUM_S", n)
    n_sites = sum(len(p[3]) for p in people)
    location_ids = iter(ids.block("HZ_LOCATIONS_S", n_sites))
    party_site_ids = iter(ids.block("HZ_PARTY_SITES_S", n_sites))
    acct_site_ids = iter(ids.block("HZ_CUST_ACCT_SITES_S", n_sites))
    site_use_ids = iter(ids.block("HZ_CUST_SITE_USES_S", n_sites + sum(1 for p in people if p[3])))

    parties, accounts, locations, party_sites, acct_sites, site_uses = [], [], [], [], [], []
    for k, (shop_id, variant, party, shop_addresses) in enumerate(people):
        party_id, account_id = party_ids[k], account_ids[k]
        # Half the accounts were created by an earlier PrestaShop sync and carry its id; the rest by hand in EBS.
        osr = f"PRESTASHOP-{shop_id}" if shop_id is not None and rng.random() < 0.5 else str(account_id)
        status = "I" if variant == "inactive" else "A"
        parties.append({"party_id": party_id, "party_number": str(party_numbers[k]), **party,
                        "orig_system_reference": osr, "status": "A", **who})
        accounts.append({"cust_account_id": account_id, "party_id": party_id,
                         "account_number": str(account_numbers[k]), "account_name": party["party_name"][:240],
                         "status": status, "customer_type": "R", "orig_system_reference": osr, **who})
        ship_to = bill_to = None
        for j, address in enumerate(shop_addresses):
            location_id, party_site_id, acct_site_id = next(location_ids), next(party_site_ids), next(acct_site_ids)
            locations.append({"location_id": location_id, **address, **who})
            party_sites.append({"party_site_id": party_site_id, "party_id": party_id, "location_id": location_id,
                                "party_site_number": str(party_site_id), "status": "A", **who})
            acct_sites.append({"cust_acct_site_id": acct_site_id, "cust_account_id": account_id,
                               "party_site_id": party_site_id, "org_id": contract.OPERATING_UNIT_ID, "status": "A",
                               "orig_system_reference": f"{osr}-{j + 1}", **who})
            for code in (("SHIP_TO", "BILL_TO") if j == 0 else ("SHIP_TO",)):
                use_id = next(site_use_ids)
                site_uses.append({"site_use_id": use_id, "cust_acct_site_id": acct_site_id, "site_use_code": code,
                                  "location": f"{(address['city'] or 'SITE').upper()[:30]} {j + 1}",
                                  "primary_flag": "Y" if j == 0 else "N", "status": "A",
                                  "org_id": contract.OPERATING_UNIT_ID, **who})
                if j == 0 and code == "SHIP_TO":
                    ship_to = use_id
                elif j == 0:
                    bill_to = use_id
        if shop_id is None:
            report.ebs_only_accounts.append(account_id)
        else:
            report.customers[shop_id] = CustomerSeed(shop_id, account_id, str(account_numbers[k]), party_id,
                                                     variant, status, ship_to, bill_to)
    conn.execute(s.HZ_PARTIES.insert(), parties)
    conn.execute(s.HZ_CUST_ACCOUNTS.insert(), accounts)
    if locations:
        conn.execute(s.HZ_LOCATIONS.insert(), locations)
        conn.execute(s.HZ_PARTY_SITES.insert(), party_sites)
        conn.execute(s.HZ_CUST_ACCT_SITES_ALL.insert(), acct_sites)
        conn.execute(s.HZ_CUST_SITE_USES_ALL.insert(), site_uses)


def _address(address: dict, countries: dict[int, str], variant: str, rng: random.Random) -> dict:
    line1 = address.get("address1") or ""
    postcode = address.get("postcode") or None
    if variant == "address":
        # The customer moved and EBS has the new address: another house number and postcode.
        line1 = f"{rng.randint(1, 250)} {line1.split(' ', 1)[-1]}" if line1 else f"{rng.randint(1, 250)} Main Street"
        postcode = "".join(str(rng.randint(0, 9)) if ch.isdigit() else ch for ch in postcode) if postcode else None
    return {
        "address1": _spell(line1, variant)[:240] or "-",
        "address2": _spell(address.get("address2") or "", variant)[:240] or None,
        "city": _spell(address.get("city") or "", variant)[:60] or None,
        "postal_code": postcode,
        "state": None,
        # Bad shop rows can lack a country; TCA requires one, so such addresses default to the shop's home country.
        "country": countries.get(address.get("id_country") or 0) or "FR",
    }


def _seed_webshop_accounts(conn: sa.Connection, ids: _Ids, who: dict, shop_rows: dict[str, list[dict]],
                           report: SeedReport) -> None:
    """One active catch-all account per (country, currency) the orders use on either address, with a primary
    SHIP_TO and BILL_TO site in the operating unit so Order Import can default both. No random draw: the rows and
    ids seeded before stay what they were."""
    countries = {c["id"]: c["iso_code"] for c in shop_rows.get("countries", [])}
    currencies = {c["id"]: c["iso_code"] for c in shop_rows.get("currencies", [])}
    addresses = {a["id"]: a for a in shop_rows.get("addresses", [])}
    pairs: set[tuple[str, str]] = set()
    for order in shop_rows.get("orders", []):
        currency = currencies.get(order.get("id_currency"))
        for key in ("id_address_delivery", "id_address_invoice"):
            address = addresses.get(order.get(key)) or {}
            # as _address does: a shop address without a country is taken as the shop's home country
            country = countries.get(address.get("id_country") or 0) or "FR"
            if currency in contract.CURRENCIES:
                pairs.add((country, currency))
    chosen = sorted(pairs)
    n = len(chosen)
    if not n:
        return
    blocks = {name: ids.block(name, n) for name in ("HZ_PARTIES_S", "HZ_PARTY_NUMBER_S", "HZ_CUST_ACCOUNTS_S",
                                                     "HZ_ACCOUNT_NUM_S", "HZ_LOCATIONS_S", "HZ_PARTY_SITES_S",
                                                     "HZ_CUST_ACCT_SITES_S")}
    use_ids = iter(ids.block("HZ_CUST_SITE_USES_S", 2 * n))
    rows: dict[str, list[dict]] = defaultdict(list)
    for k, (country, currency) in enumerate(chosen):
        name = webshop_account_name(country, currency)
        osr = f"WEBSHOP-{country}-{currency}"
        party_id, account_id = blocks["HZ_PARTIES_S"][k], blocks["HZ_CUST_ACCOUNTS_S"][k]
        location_id, party_site_id = blocks["HZ_LOCATIONS_S"][k], blocks["HZ_PARTY_SITES_S"][k]
        acct_site_id = blocks["HZ_CUST_ACCT_SITES_S"][k]
        rows["parties"].append({"party_id": party_id, "party_number": str(blocks["HZ_PARTY_NUMBER_S"][k]),
                                "party_type": "ORGANIZATION", "party_name": name, "person_first_name": None,
                                "person_last_name": None, "email_address": None, "orig_system_reference": osr,
                                "status": "A", **who})
        rows["accounts"].append({"cust_account_id": account_id, "party_id": party_id,
                                 "account_number": str(blocks["HZ_ACCOUNT_NUM_S"][k]), "account_name": name,
                                 "status": "A", "customer_type": "R", "orig_system_reference": osr, **who})
        # The catch-all's own address is nominal: every order carries the consumer's ship-to address.
        rows["locations"].append({"location_id": location_id, "address1": f"Web shop orders {country}",
                                  "address2": None, "city": None, "postal_code": None, "state": None,
                                  "country": country, **who})
        rows["party_sites"].append({"party_site_id": party_site_id, "party_id": party_id, "location_id": location_id,
                                    "party_site_number": str(party_site_id), "status": "A", **who})
        rows["acct_sites"].append({"cust_acct_site_id": acct_site_id, "cust_account_id": account_id,
                                   "party_site_id": party_site_id, "org_id": contract.OPERATING_UNIT_ID,
                                   "status": "A", "orig_system_reference": f"{osr}-1", **who})
        for code in ("SHIP_TO", "BILL_TO"):
            rows["site_uses"].append({"site_use_id": next(use_ids), "cust_acct_site_id": acct_site_id,
                                      "site_use_code": code, "location": f"WEBSHOP {country} {currency}",
                                      "primary_flag": "Y", "status": "A", "org_id": contract.OPERATING_UNIT_ID,
                                      **who})
        report.webshop_accounts[(country, currency)] = account_id
        report.ebs_only_accounts.append(account_id)
    for table, key in ((s.HZ_PARTIES, "parties"), (s.HZ_CUST_ACCOUNTS, "accounts"), (s.HZ_LOCATIONS, "locations"),
                       (s.HZ_PARTY_SITES, "party_sites"), (s.HZ_CUST_ACCT_SITES_ALL, "acct_sites"),
                       (s.HZ_CUST_SITE_USES_ALL, "site_uses")):
        conn.execute(table.insert(), rows[key])
