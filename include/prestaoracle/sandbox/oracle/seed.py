"""Seed the emulated Fusion pod from the same shop the PrestaShop emulator serves, with planted discrepancies.

Both emulators start from one ``generate_shop`` result, so they agree on SKUs, stock, prices and customers except
where this module makes them disagree on purpose. Every planted difference is listed in ``FusionSeed.differences``
so tests of the reconciliation flows can assert exact findings instead of "found something".

Each concern (items, on-hand, prices, accounts) draws from its own ``random.Random`` stream seeded with a string,
so the output depends only on ``(shop rows, seed, now)``: never on PYTHONHASHSEED, never on global random state.

``differences`` layout (every key always present)::

    missing_skus        list[str]                        shop SKUs with no Oracle item
    inactive_skus       list[str]                        items present but ItemStatusValue "Inactive"
    onhand              {sku: (shop_qty, oracle_qty)}    on-hand (organization M1) that differs from the shop's stock
    onhand_other_orgs   {(org, sku): qty}                on-hand in another organization (V1), which the shop's
                                                         stock leaves out; a flow summing organizations adds it
    prices              {(currency, sku): (expected, oracle)}  BasePrice that differs from the converted shop price
    customers           {id_customer: (PartyId, kinds)}  every shop customer present as a PERSON account; ``kinds``
                                                         is a sorted tuple of CUSTOMER_DIFFERENCE_KINDS, () if exact
    customer_references {id_customer: PartyId}           the PERSON accounts carrying SourceSystem "PSHOP" + id
    low_credit          {id_customer: PartyId}           PERSON accounts with CreditLimit LOW_CREDIT_LIMIT
    inactive_accounts   {id_customer: PartyId}           PERSON accounts with Status "I"
    webshop_accounts    {(country_iso, currency): PartyId}  the catch-all accounts orders are booked against
    other_accounts      list[PartyId]                    organisations from other source systems (not shop data)
    probable_accounts   {id_customer: PartyId}           PERSON accounts with the customer's name, postcode and phone
                                                         but no or another e-mail and no reference (fuzzy match only)
    vat_accounts        {id_customer: PartyId}           company accounts found by the VAT number only
    customer_matches    {id_customer: (decision, rule, PartyId | None)}  what customer 360 must decide for every
                                                         shop customer
    finance             dict                             seeded receivables and the reconciliation items their
                                                         planted breaks make (``receivables_seed``)
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from prestaoracle.sandbox.oracle import contract, receivables_seed, store

__all__ = [
    "BUSINESS_UNITS",
    "COUNTRY_CURRENCY",
    "CURRENCIES",
    "CURRENCY_NAMES",
    "CUSTOMER_DIFFERENCE_KINDS",
    "LOW_CREDIT_LIMIT",
    "ORGANIZATIONS",
    "ORGANIZATION_NAMES",
    "PAYMENT_TERMS",
    "SOURCE_SYSTEMS",
    "TRANSACTION_TYPES",
    "UOM_NAMES",
    "FusionSeed",
    "seed_fusion",
    "webshop_account_for",
]

# --- reference data shared with the emulator's business rules -----------------------------------------------------

BUSINESS_UNITS: dict[int, str] = {204: "Vision Operations"}
ORGANIZATIONS: dict[str, int] = {"M1": 207, "V1": 204}  # inventory orgs; web orders ship from M1
ORGANIZATION_NAMES: dict[str, str] = {"M1": "Seattle Manufacturing", "V1": "Vision Operations"}  # Vision demo data
# ISO 4217 names, as Fusion shows TransactionalCurrencyName.
CURRENCY_NAMES: dict[str, str] = {"EUR": "Euro", "USD": "US Dollar", "GBP": "Pound Sterling", "CHF": "Swiss Franc",
                                  "PLN": "Zloty"}
TRANSACTION_TYPES: dict[str, str] = {"STD": "Standard Orders"}  # §1.3: TransactionTypeCode → TransactionType
UOM_NAMES: dict[str, str] = {"Ea": "Each"}
PAYMENT_TERMS = "30 Net"
SHIP_FROM_ORG = "M1"
SOURCE_SYSTEMS: tuple[str, ...] = ("PSHOP", "LEG", "GPR", "OPS")
SHOP_SOURCE_SYSTEM = "PSHOP"
CURRENCIES: tuple[str, ...] = ("EUR", "USD", "GBP", "CHF", "PLN")
COUNTRY_CURRENCY: dict[str, str] = {
    "FR": "EUR", "DE": "EUR", "ES": "EUR", "IT": "EUR", "NL": "EUR", "BE": "EUR",
    "US": "USD", "GB": "GBP", "CH": "CHF", "PL": "PLN",
}
CUSTOMER_DIFFERENCE_KINDS: tuple[str, ...] = (
    "email_case", "email_spaces", "name_upper", "name_ascii", "street_number", "city_spelling",
)
LOW_CREDIT_LIMIT = 100.0
PERSON_CREDIT_LIMIT = 50_000.0
WEBSHOP_CREDIT_LIMIT = 10_000_000.0

TABLES: tuple[str, ...] = (
    "fusion_items", "fusion_onhand", "fusion_price_lists", "fusion_price_list_items", "fusion_price_list_charges",
    "fusion_accounts", "fusion_invoices", "fusion_invoice_lines", "fusion_receipts",
)

_FIRST_ITEM_ID = 100001
_FIRST_PARTY_ID = 1001
_FIRST_ACCOUNT_ID = 2001
_FIRST_SITE_USE_ID = 3001
_FIRST_PRICE_LIST_ID = 300100090000001
_FIRST_PRICE_LIST_ITEM_ID = 300100091000001
_FIRST_PRICE_LIST_CHARGE_ID = 300100092000001

# Vision-demo style organisations other source systems own; a matcher must not mistake them for shop customers.
_OTHER_ACCOUNTS = (
    ("Computer Service and Rentals", "OPS", "US", "1 Vision Way", "Redwood Shores", "94065"),
    ("Business World", "LEG", "US", "400 Market Street", "San Francisco", "94105"),
    ("Hilman and Associates", "GPR", "GB", "12 Fleet Street", "London", "EC4Y 1AA"),
    ("Vision Distribution Europe", "LEG", "NL", "Prins Bernhardplein 200", "Amsterdam", "1097 JB"),
)
# Letters NFKD does not decompose, so folding would otherwise drop them ("Łukasz" -> "ukasz").
_FOLD = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "ß": "ss", "Æ": "AE", "æ": "ae", "Đ": "D",
                       "đ": "d", "Œ": "OE", "œ": "oe"})
_DIGITS = re.compile(r"\d+")


class FusionSeed(NamedTuple):
    """Rows per ``fusion_*`` table plus what was made different on purpose (see the module docstring)."""

    rows: dict[str, list[dict]]
    differences: dict[str, Any]


def webshop_account_for(country_iso: str, currency: str) -> str:
    """OrganizationName of the catch-all account for one country and currency, the integration's booking target.

    The currency is left out when it is the country's home currency ("Webshop Customers FR"), so the common case
    reads naturally; foreign-currency orders get their own account ("Webshop Customers GB EUR").
    """
    country_iso, currency = country_iso.upper(), currency.upper()
    if COUNTRY_CURRENCY.get(country_iso, "EUR") == currency:
        return f"Webshop Customers {country_iso}"
    return f"Webshop Customers {country_iso} {currency}"


# --- helpers ---------------------------------------------------------------------------------------------------------


def _stream(seed: int, name: str) -> random.Random:
    # String seeds go through SHA-512, not hash(), so they are stable across processes.
    return random.Random(f"fusion-seed:{seed}:{name}")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".000+00:00"


def _utc_naive(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _shop_time(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):  # PrestaShop's zero dates and the like
        return None


def _between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    span = int((hi - lo).total_seconds())
    return lo + timedelta(seconds=rng.randint(0, span)) if span > 0 else hi


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _count(share: float, population: int) -> int:
    return min(population, max(1, round(share * population))) if population else 0


def _converted(cents: int, rate: float) -> float:
    # The shop's own rule for order lines (generate._half_up on cents), so Oracle agrees to the cent with them.
    return int(cents * rate + 0.5) / 100


# --- items, on-hand, prices -----------------------------------------------------------------------------------------


def _catalogue(shop: dict[str, list[dict]]) -> list[tuple[str, str, int, int]]:
    """(sku, description, price cents tax excl. in the default currency, stock) per distinct shop SKU."""
    stock = {(s["id_product"], s["id_product_attribute"]): s["quantity"] for s in shop.get("stock_availables", [])}
    combos: dict[int, list[dict]] = {}
    for comb in sorted(shop.get("combinations", []), key=lambda c: c["id"]):
        combos.setdefault(comb["id_product"], []).append(comb)
    out: list[tuple[str, str, int, int]] = []
    seen: set[str] = set()
    for product in sorted(shop.get("products", []), key=lambda p: p["id"]):
        name = str(product.get("name") or "")
        base = round(float(product.get("price") or 0) * 100)
        ref = str(product.get("reference") or "").strip()
        if ref and ref not in seen:
            seen.add(ref)
            out.append((ref, name, base, int(stock.get((product["id"], 0), 0))))
        for comb in combos.get(product["id"], []):
            cref = str(comb.get("reference") or "").strip()
            if not cref or cref in seen:
                continue
            seen.add(cref)
            # The shop exposes no option names here; the reference suffix ("S-BLUE") is what identifies the variant.
            suffix = cref[len(ref) + 1:] if ref and cref.startswith(ref + "-") else cref
            cents = base + round(float(comb.get("price") or 0) * 100)
            out.append((cref, f"{name} - {suffix}", cents, int(stock.get((product["id"], comb["id"]), 0))))
    return out


def _pick_skus(rng: random.Random, skus: list[str], ordered: set[str], share: float, taken: set[str]) -> list[str]:
    """A share of SKUs, the first one among those orders use, so the order flow is sure to meet one."""
    free = [s for s in skus if s not in taken]
    n = _count(share, len(skus))
    if not free or n == 0:
        return []
    free_ordered = [s for s in free if s in ordered]
    first = rng.choice(free_ordered or free)
    rest = [s for s in free if s != first]
    return sorted([first, *rng.sample(rest, min(len(rest), n - 1))])


def _items(seed: int, shop: dict[str, list[dict]], now: datetime, diff: dict[str, Any]) -> dict[str, list[dict]]:
    rng = _stream(seed, "items")
    catalogue = _catalogue(shop)
    skus = [c[0] for c in catalogue]
    ordered = {str(d.get("product_reference") or "").strip() for d in shop.get("order_details", [])}
    missing = _pick_skus(rng, skus, ordered, 0.02, set())
    inactive = _pick_skus(rng, skus, ordered, 0.02, set(missing)) if len(skus) > len(missing) + 1 else []
    diff["missing_skus"], diff["inactive_skus"] = missing, inactive
    missing_set, inactive_set = set(missing), set(inactive)

    org_code, org_id = SHIP_FROM_ORG, ORGANIZATIONS[SHIP_FROM_ORG]
    items: list[dict] = []
    onhand: list[dict] = []
    present: list[tuple[str, int, int, str]] = []  # sku, item id, cents, last update
    item_id = _FIRST_ITEM_ID - 1
    for sku, description, cents, qty in catalogue:
        if sku in missing_set:
            continue
        item_id += 1
        created = now - timedelta(days=rng.randint(200, 900), seconds=rng.randint(0, 86399))
        updated = _between(rng, max(created, now - timedelta(days=180)), now)
        items.append({
            "ItemId": item_id, "ItemNumber": sku, "ItemDescription": description, "OrganizationId": org_id,
            "OrganizationCode": org_code, "ItemStatusValue": "Inactive" if sku in inactive_set else "Active",
            "PrimaryUOMCode": "Ea", "PrimaryUOMValue": UOM_NAMES["Ea"], "CustomerOrderEnabledFlag": 1,
            "CreationDate": _iso(created), "LastUpdateDate": _iso(updated), **contract.ITEM_DEFAULTS,
        })
        onhand.append({
            "_Id": len(onhand) + 1, "OrganizationId": org_id, "OrganizationCode": org_code,
            "InventoryItemId": item_id, "ItemNumber": sku, "ItemDescription": description, "Revision": None,
            "SubinventoryCode": "Stores", "SummaryLevel": "Subinventory", "PrimaryUOMCode": "Ea",
            "PrimaryQuantity": float(qty), "_Reserved": 0.0,
            "LastUpdateDate": _iso(_between(rng, now - timedelta(days=3), now)),
        })
        present.append((sku, item_id, cents, _iso(updated)))

    on_rng = _stream(seed, "onhand")
    # The product-level SKU of a product with combinations is not stock anyone sets: the shop sums its combinations
    # into that row and takes no quantity for it. A difference planted there could never be reconciled.
    with_combinations = {c["id_product"] for c in shop.get("combinations", [])}
    parents = {str(p.get("reference") or "").strip() for p in shop.get("products", []) if p["id"] in with_combinations}
    candidates = [k for k, row in enumerate(onhand) if row["ItemNumber"] not in parents]
    differing = set(on_rng.sample(candidates, _count(0.2, len(candidates))))
    diff["onhand"] = {}
    for k, row in enumerate(onhand):
        if k not in differing:
            continue
        shop_qty = int(row["PrimaryQuantity"])
        kind = on_rng.choice(("more", "less", "zero"))
        if kind == "zero" and shop_qty > 0:
            oracle_qty = 0
        elif kind == "less" and shop_qty > 1:
            oracle_qty = shop_qty - on_rng.randint(1, max(1, shop_qty // 2))
        else:
            oracle_qty = shop_qty + on_rng.randint(1, 25)
        row["PrimaryQuantity"] = float(oracle_qty)
        diff["onhand"][row["ItemNumber"]] = (shop_qty, oracle_qty)
    onhand.extend(_other_org_onhand(seed, onhand, [onhand[k] for k in candidates], now, diff))
    return {"fusion_items": items, "fusion_onhand": onhand, **_price_lists(seed, shop, now, present, diff)}


def _other_org_onhand(seed: int, onhand: list[dict], candidates: list[dict], now: datetime,
                      diff: dict[str, Any]) -> list[dict]:
    """Stock of a share of items in a second organization (V1), for the inventory flow's sum over organizations.

    Own stream and appended after the M1 rows, so every M1 row and planted difference stays what it was. Only items
    whose shop stock row takes a quantity (not missing, not the product row of a product with combinations)."""
    rng = _stream(seed, "onhand_v1")
    org_code = "V1"
    chosen = sorted(rng.sample(range(len(candidates)), _count(0.15, len(candidates))))
    rows: list[dict] = []
    diff["onhand_other_orgs"] = {}
    for k in chosen:
        m1 = candidates[k]
        qty = rng.randint(1, 30)
        rows.append({
            **m1, "_Id": len(onhand) + len(rows) + 1, "OrganizationId": ORGANIZATIONS[org_code],
            "OrganizationCode": org_code, "PrimaryQuantity": float(qty), "_Reserved": 0.0,
            "LastUpdateDate": _iso(_between(rng, now - timedelta(days=3), now)),
        })
        diff["onhand_other_orgs"][(org_code, m1["ItemNumber"])] = qty
    return rows


def _price_lists(seed: int, shop: dict[str, list[dict]], now: datetime, present: list[tuple[str, int, int, str]],
                 diff: dict[str, Any]) -> dict[str, list[dict]]:
    rng = _stream(seed, "prices")
    start = _iso((now - timedelta(days=365)).replace(hour=0, minute=0, second=0))
    bu_id, bu_name = next(iter(BUSINESS_UNITS.items()))
    currencies = [c for c in sorted(shop.get("currencies", []), key=lambda c: c["id"])
                  if c.get("active", 1) and not c.get("deleted", 0)]
    lists: list[dict] = []
    items: list[dict] = []
    charges: list[dict] = []
    diff["prices"] = {}
    for k, currency in enumerate(currencies):
        iso, rate = str(currency["iso_code"]), float(currency.get("conversion_rate") or 1.0)
        list_id = _FIRST_PRICE_LIST_ID + k
        changed = set(rng.sample(range(len(present)), _count(0.1, len(present))))
        newest = start
        for j, (sku, item_id, cents, item_updated) in enumerate(present):
            item_row_id = _FIRST_PRICE_LIST_ITEM_ID + len(items)
            updated = _iso(_between(rng, now - timedelta(days=240), now - timedelta(hours=1)))
            updated = max(updated, item_updated)  # a price line is never older than the item it prices
            newest = max(newest, updated)
            expected = _converted(cents, rate)
            price = expected
            if j in changed:
                price = round(expected * rng.choice((0.8, 0.9, 0.95, 1.05, 1.1, 1.25)), 2)
                if price == expected or price <= 0:
                    price = round(expected + 1.0, 2)
                diff["prices"][(iso, sku)] = (expected, price)
            items.append({
                "PriceListItemId": item_row_id, "PriceListId": list_id, "Item": sku, "ItemId": item_id,
                "ItemLevelCode": "ITEM", "PricingUOMCode": "Ea", "PrimaryPricingUOM": "Y", "LineTypeCode": "ORA_BUY",
                "LastUpdateDate": updated,
            })
            charges.append({
                "PriceListChargeId": _FIRST_PRICE_LIST_CHARGE_ID + len(charges), "PriceListItemId": item_row_id,
                "PricingChargeDefinitionCode": "QP_SALE_PRICE", "CalculationMethodCode": "PRICE", "BasePrice": price,
                "StartDate": start, "EndDate": None, "ChargeLineNumber": 1, "AllowManualAdjustment": "Y",
                "LastUpdateDate": updated,
            })
        lists.append({
            "PriceListId": list_id, "PriceListName": f"Webshop {iso}", "PriceListTypeCode": "SEGMENT",
            "BusinessUnitId": bu_id, "BusinessUnit": bu_name, "CurrencyCode": iso, "StatusCode": "APPROVED",
            "StartDate": start, "EndDate": None, "PricingChargeDefinitionCode": "QP_SALE_PRICE",
            "LineTypeCode": "ORA_BUY", "CalculationMethodCode": "PRICE", "LastUpdateDate": newest,
        })
    return {"fusion_price_lists": lists, "fusion_price_list_items": items, "fusion_price_list_charges": charges}


# --- accounts ---------------------------------------------------------------------------------------------------------


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> dict[str, Any]:
        self.n += 1
        party, account = _FIRST_PARTY_ID + self.n - 1, _FIRST_ACCOUNT_ID + self.n - 1
        return {"PartyId": party, "PartyNumber": str(party), "CustomerAccountId": account,
                "AccountNumber": str(account), "SiteUseId": _FIRST_SITE_USE_ID + self.n - 1}


def _account(ids: _Ids, **values: Any) -> dict:
    row = dict.fromkeys((
        "PartyId", "PartyNumber", "OrganizationName", "PartyType", "FirstName", "LastName", "EmailAddress",
        "PhoneNumber", "Address1", "City", "PostalCode", "Country", "CustomerAccountId", "AccountNumber", "SiteUseId",
        "CurrencyCode", "CreditLimit", "Status", "SourceSystem", "SourceSystemReferenceValue", "CreationDate",
        "LastUpdateDate",
    ))
    row.update(ids.next())
    row.update(values)
    row["AddressLine1"] = row["Address1"]  # the CX name of the same primary address line
    return row


def _changed_street(rng: random.Random, street: str) -> str:
    match = _DIGITS.search(street)
    if match is None:
        return f"{rng.randint(1, 99)} {street}"
    number = int(match.group())
    other = number + rng.randint(1, 9) if number < 2 or rng.random() < 0.5 else number - 1
    return f"{street[:match.start()]}{other}{street[match.end():]}"


def _changed_city(city: str) -> str:
    folded = _fold(city)
    if folded != city:
        return folded
    if "-" in city:
        return city.replace("-", " ")
    if " " in city:
        return city.replace(" ", "-")
    return city.upper() if city.upper() != city else city.lower()


def _apply_kind(rng: random.Random, kind: str, row: dict) -> None:
    if kind == "email_case":
        email = row["EmailAddress"]
        row["EmailAddress"] = rng.choice([v for v in (email.upper(), email.title()) if v != email])
    elif kind == "email_spaces":
        row["EmailAddress"] = rng.choice((" {} ", "{} ", " {}")).format(row["EmailAddress"])
    elif kind == "name_upper":
        row["FirstName"], row["LastName"] = row["FirstName"].upper(), row["LastName"].upper()
    elif kind == "name_ascii":
        row["FirstName"], row["LastName"] = _fold(row["FirstName"]), _fold(row["LastName"])
    elif kind == "street_number":
        row["Address1"] = _changed_street(rng, row["Address1"])
    else:
        row["City"] = _changed_city(row["City"])


def _possible_kinds(row: dict) -> list[str]:
    kinds = []
    email = row["EmailAddress"] or ""
    if email and (email.upper() != email or email.title() != email):
        kinds += ["email_case", "email_spaces"]
    first, last = row["FirstName"] or "", row["LastName"] or ""
    if first and last and (first.upper(), last.upper()) != (first, last):
        kinds.append("name_upper")
    if first and last and (_fold(first), _fold(last)) != (first, last):
        kinds.append("name_ascii")
    if row["Address1"]:
        kinds.append("street_number")
    if row["City"] and _changed_city(row["City"]) != row["City"]:
        kinds.append("city_spelling")
    return kinds


def _accounts(seed: int, shop: dict[str, list[dict]], now: datetime, diff: dict[str, Any]) -> list[dict]:
    rng = _stream(seed, "accounts")
    ids = _Ids()
    countries = {c["id"]: str(c["iso_code"]) for c in shop.get("countries", [])}
    currencies = {c["id"]: str(c["iso_code"]) for c in shop.get("currencies", [])}
    addresses = {a["id"]: a for a in shop.get("addresses", [])}
    opened = now - timedelta(days=400)
    rows: list[dict] = []

    # (a) catch-all accounts, one per country/currency the orders actually use (billing or delivery side)
    pairs: set[tuple[str, str]] = set()
    order_max: dict[int, float] = {}
    for order in shop.get("orders", []):
        currency = currencies.get(order["id_currency"])
        for key in ("id_address_invoice", "id_address_delivery"):
            country = countries.get((addresses.get(order[key]) or {}).get("id_country"))
            if country and currency:
                pairs.add((country, currency))
        total = float(order.get("total_paid_tax_incl") or 0)
        order_max[order["id_customer"]] = max(order_max.get(order["id_customer"], 0.0), total)
    diff["webshop_accounts"] = {}
    for country, currency in sorted(pairs):
        row = _account(
            ids, OrganizationName=webshop_account_for(country, currency), PartyType="ORGANIZATION",
            Country=country, CurrencyCode=currency, CreditLimit=WEBSHOP_CREDIT_LIMIT, Status="A",
            CreationDate=_iso(opened), LastUpdateDate=_iso(_between(rng, opened, now)),
        )
        rows.append(row)
        diff["webshop_accounts"][(country, currency)] = row["PartyId"]

    diff["other_accounts"] = []
    for name, system, country, street, city, postcode in _OTHER_ACCOUNTS:
        created = opened - timedelta(days=rng.randint(100, 2000))
        row = _account(
            ids, OrganizationName=name, PartyType="ORGANIZATION", Address1=street, City=city, PostalCode=postcode,
            Country=country, CurrencyCode=COUNTRY_CURRENCY[country], CreditLimit=250_000.0, Status="A",
            SourceSystem=system, SourceSystemReferenceValue=f"{system}-{rng.randint(10000, 99999)}",
            CreationDate=_iso(created), LastUpdateDate=_iso(_between(rng, created, now)),
        )
        rows.append(row)
        diff["other_accounts"].append(row["PartyId"])

    # (b) a share of registered customers, known to Oracle individually
    first_address: dict[int, dict] = {}
    for address in sorted(shop.get("addresses", []), key=lambda a: a["id"]):
        if not address.get("deleted"):
            first_address.setdefault(address["id_customer"], address)
    registered = [c for c in sorted(shop.get("customers", []), key=lambda c: c["id"])
                  if not c.get("is_guest") and not c.get("deleted")]
    chosen = sorted(rng.sample(range(len(registered)), round(0.4 * len(registered))))
    members = [registered[k] for k in chosen]
    ids_chosen = [c["id"] for c in members]
    # Accounts the credit check or the status check must reject have to be matched for sure: exact data and the
    # shop reference, and an order bigger than the small limit.
    big_spenders = [cid for cid in ids_chosen if order_max.get(cid, 0.0) > LOW_CREDIT_LIMIT]
    low = set(rng.sample(big_spenders, min(len(big_spenders), max(2, round(0.01 * len(ids_chosen))))))
    rest = [cid for cid in ids_chosen if cid not in low and cid in order_max] or [
        cid for cid in ids_chosen if cid not in low]
    inactive = set(rng.sample(rest, min(len(rest), max(1, round(0.01 * len(ids_chosen))))))
    free = [cid for cid in ids_chosen if cid not in low and cid not in inactive]
    differing = set(rng.sample(free, _count(0.5, len(free))))
    referenced = low | inactive | set(rng.sample(free, round(0.5 * len(free))))
    if differing and differing <= referenced:
        # Some differing customers must carry no shop reference, or matching by data alone goes untested.
        referenced.discard(min(differing))
    diff.update(customers={}, customer_references={}, low_credit={}, inactive_accounts={})
    for customer in members:
        cid = customer["id"]
        address = first_address.get(cid) or {}
        country = countries.get(address.get("id_country"))
        created = _shop_time(customer.get("date_add", "")) or now - timedelta(days=30)
        created = min(now, created + timedelta(seconds=rng.randint(3600, 3 * 86400)))
        row = _account(
            ids, OrganizationName=None, PartyType="PERSON", FirstName=customer.get("firstname") or "",
            LastName=customer.get("lastname") or "", EmailAddress=customer.get("email") or "",
            PhoneNumber=address.get("phone") or None, Address1=address.get("address1"), City=address.get("city"),
            PostalCode=address.get("postcode"), Country=country,
            CurrencyCode=COUNTRY_CURRENCY.get(country or "", "EUR"),
            CreditLimit=LOW_CREDIT_LIMIT if cid in low else PERSON_CREDIT_LIMIT,
            Status="I" if cid in inactive else "A", CreationDate=_iso(created),
            LastUpdateDate=_iso(_between(rng, created, now)),
        )
        kinds: list[str] = []
        if cid in differing:
            possible = _possible_kinds(row)
            kinds = sorted(rng.sample(possible, min(len(possible), rng.choice((1, 1, 2)))))
            for kind in kinds:
                _apply_kind(rng, kind, row)
        row["OrganizationName"] = f"{row['FirstName']} {row['LastName']}".strip()  # the party name Oracle shows
        row.update(AddressLine1=row["Address1"], PrimaryContactName=row["OrganizationName"],
                   PrimaryContactEmail=row["EmailAddress"], PrimaryContactPhone=row["PhoneNumber"])
        if cid in referenced:
            row["SourceSystem"], row["SourceSystemReferenceValue"] = SHOP_SOURCE_SYSTEM, str(cid)
            diff["customer_references"][cid] = row["PartyId"]
        rows.append(row)
        diff["customers"][cid] = (row["PartyId"], tuple(kinds))
        if cid in low:
            diff["low_credit"][cid] = row["PartyId"]
        if cid in inactive:
            diff["inactive_accounts"][cid] = row["PartyId"]
    rows.extend(_matching_cases(seed, shop, now, ids, set(ids_chosen), diff))
    return rows


def _newest_addresses(shop: dict[str, list[dict]]) -> dict[int, dict]:
    # The newest non-deleted address per customer, as the customer 360 flow picks it (date_upd, then id).
    newest: dict[int, dict] = {}
    for address in sorted(shop.get("addresses", []), key=lambda a: (str(a.get("date_upd") or ""), a["id"])):
        if not address.get("deleted") and address.get("id_customer"):
            newest[address["id_customer"]] = address
    return newest


def _matching_cases(seed: int, shop: dict[str, list[dict]], now: datetime, ids: _Ids, members: set[int],
                    diff: dict[str, Any]) -> list[dict]:
    """Accounts only a fuzzy or a VAT match can find, and the pair the customer 360 flow must report for every
    shop customer (``customer_matches``). Own stream, appended after the other accounts, so the accounts above
    keep their ids and values whatever is planted here."""
    rng = _stream(seed, "customer-360")
    countries = {c["id"]: str(c["iso_code"]) for c in shop.get("countries", [])}
    newest = _newest_addresses(shop)
    live = [c for c in sorted(shop.get("customers", []), key=lambda c: c["id"]) if not c.get("deleted")]
    outside = [c for c in live if not c.get("is_guest") and c["id"] not in members
               and (c.get("firstname") or "").strip() and (c.get("lastname") or "").strip()]
    with_vat = [c for c in outside if (newest.get(c["id"]) or {}).get("vat_number")
                and (newest.get(c["id"]) or {}).get("company")]
    fuzzy_pool = [c for c in outside if c not in with_vat and (newest.get(c["id"]) or {}).get("postcode")
                  and (newest.get(c["id"]) or {}).get("phone")]
    fuzzy = rng.sample(fuzzy_pool, min(len(fuzzy_pool), max(2, round(0.05 * len(fuzzy_pool)))))
    rows: list[dict] = []
    diff.update(probable_accounts={}, vat_accounts={})
    opened = now - timedelta(days=400)
    for customer in sorted(fuzzy, key=lambda c: c["id"]):
        address = newest[customer["id"]]
        country = countries.get(address.get("id_country"))
        first, last = customer["firstname"], customer["lastname"]
        if rng.random() < 0.5:
            first, last = first.upper(), last.upper()
        phone = address["phone"]
        if rng.random() < 0.5:  # keyed in digits only on the Oracle side
            phone = "".join(ch for ch in phone if ch.isdigit())
        work = f"{_fold(customer['firstname'])}.{_fold(customer['lastname'])}".lower().replace(" ", "")
        email = rng.choice((None, f"{work}@work.example"))
        row = _account(
            ids, OrganizationName=f"{first} {last}", PartyType="PERSON", FirstName=first, LastName=last,
            EmailAddress=email, PhoneNumber=phone, Address1=address.get("address1"), City=address.get("city"),
            PostalCode=address.get("postcode"), Country=country,
            CurrencyCode=COUNTRY_CURRENCY.get(country or "", "EUR"), CreditLimit=PERSON_CREDIT_LIMIT, Status="A",
            CreationDate=_iso(opened), LastUpdateDate=_iso(_between(rng, opened, now)))
        row.update(PrimaryContactName=row["OrganizationName"], PrimaryContactEmail=email, PrimaryContactPhone=phone)
        rows.append(row)
        diff["probable_accounts"][customer["id"]] = row["PartyId"]
    for customer in with_vat:
        address = newest[customer["id"]]
        country = countries.get(address.get("id_country"))
        vat = str(address["vat_number"])
        vat = rng.choice((vat, f"{vat[:2]} {vat[2:]}", vat.lower()))  # spelled the way a clerk keyed it
        company = str(address["company"])
        domain = "".join(ch for ch in _fold(company).lower() if ch.isalnum()) or "company"
        row = _account(
            ids, OrganizationName=company, PartyType="ORGANIZATION", EmailAddress=f"accounts@{domain}.example",
            Address1=address.get("address1"), City=address.get("city"), PostalCode=address.get("postcode"),
            Country=country, CurrencyCode=COUNTRY_CURRENCY.get(country or "", "EUR"),
            CreditLimit=PERSON_CREDIT_LIMIT, Status="A", TaxRegistrationNumber=vat, CreationDate=_iso(opened),
            LastUpdateDate=_iso(_between(rng, opened, now)))
        rows.append(row)
        diff["vat_accounts"][customer["id"]] = row["PartyId"]

    expected: dict[int, tuple[str, str, int | None]] = {}
    for customer in live:
        cid = customer["id"]
        if cid in diff["inactive_accounts"]:
            expected[cid] = ("review", "shop_reference", diff["inactive_accounts"][cid])
        elif cid in diff["customer_references"]:
            expected[cid] = ("matched", "shop_reference", diff["customer_references"][cid])
        elif cid in diff["customers"]:
            expected[cid] = ("matched", "email", diff["customers"][cid][0])
        elif cid in diff["vat_accounts"]:
            expected[cid] = ("matched", "vat", diff["vat_accounts"][cid])
        elif cid in diff["probable_accounts"]:
            expected[cid] = ("matched", "probabilistic", diff["probable_accounts"][cid])
        else:
            expected[cid] = ("unmatched", "none", None)
    diff["customer_matches"] = expected
    return rows


def seed_fusion(shop_rows: dict[str, list[dict]], seed: int, now: datetime) -> FusionSeed:
    """Oracle-side master data matching ``shop_rows`` (a ``generate_shop(...).rows``) except for planted differences.

    Returns ``FusionSeed(rows, differences)``; it unpacks as ``rows, differences = seed_fusion(...)`` and ``rows``
    goes straight into ``store.load``. ``now`` (naive = UTC) anchors every date, so it is part of the input.
    """
    moment = _utc_naive(now)
    differences: dict[str, Any] = {}
    rows = _items(seed, shop_rows, moment, differences)
    rows["fusion_accounts"] = _accounts(seed, shop_rows, moment, differences)
    rows.update(receivables_seed.seed_receivables(seed, shop_rows, moment, differences))
    ordered_keys = ("missing_skus", "inactive_skus", "onhand", "onhand_other_orgs", "prices", "customers",
                    "customer_references", "low_credit", "inactive_accounts", "webshop_accounts", "other_accounts",
                    "probable_accounts", "vat_accounts", "customer_matches", "finance")
    return FusionSeed(rows={t: _table_rows(t, rows[t]) for t in TABLES},
                      differences={k: differences[k] for k in ordered_keys})


def _table_rows(name: str, rows: list[dict]) -> list[dict]:
    """Rows with every column of the store's table in its order (documented attributes left unset are null)."""
    columns = [c.name for c in store.METADATA.tables[name].columns]
    for row in rows:
        unknown = set(row) - set(columns)
        if unknown:
            raise ValueError(f"{name} has no columns {sorted(unknown)}")
    return [{c: row.get(c) for c in columns} for row in rows]
