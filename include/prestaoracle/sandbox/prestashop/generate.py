"""Deterministic shop data for the PrestaShop emulator: a believable 8.1.2 shop, optionally with planted defects.

One seed drives everything so a test, a demo and a benchmark all see the same shop. Defects (``bad_rows``) are drawn
from their own random stream after the clean shop is built, so turning them on changes only the records they touch.

Money is computed in integer cents and stored as floats of those cents, so every total adds up to the cent the way
PrestaShop's per-item rounding (``round_type`` 1, half-up) makes it add up.

Time runs on real instants (seconds since the epoch, UTC) and every date is written as the shop does: the wall time
of that instant in the shop's time zone. So a shop in a zone with daylight saving time has no date in the
spring-forward gap, and the fall-back hour holds the dates of two different hours: ``date_add`` then goes back in
time while ids go forward, as in a real shop.
"""

from __future__ import annotations

import gc
import random
import unicodedata
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker

from prestaoracle.sandbox.faults import BAD_ROW_KINDS  # one list for the generator and the injected log
from prestaoracle.sandbox.prestashop.clock import DEFAULT_TIMEZONE, instant
from prestaoracle.sandbox.prestashop.clock import zone as time_zone
from prestaoracle.sandbox.prestashop.schema import RESOURCES

__all__ = ["BAD_ROW_KINDS", "ZERO_DATE", "ZERO_DATETIME", "GeneratedShop", "generate_shop"]


ZERO_DATETIME = "0000-00-00 00:00:00"
ZERO_DATE = "0000-00-00"
_DAY = 86400
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM = _UPPER + "0123456789"
_BCRYPT = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass
class GeneratedShop:
    """The rows of every served resource plus the list of defects planted on purpose."""

    rows: dict[str, list[dict]]
    injected: list[dict]


# --- static reference data -------------------------------------------------------------------------------------

# id, iso, numeric, name, symbol, rate against EUR (the shop's default currency)
_CURRENCIES = (
    (1, "EUR", "978", "Euro", "€", 1.0),
    (2, "USD", "840", "US Dollar", "$", 1.08),
    (3, "GBP", "826", "British Pound", "£", 0.85),
    (4, "CHF", "756", "Swiss Franc", "CHF", 0.96),
    (5, "PLN", "985", "Polish Zloty", "zł", 4.31),
)
_RATE = {c[0]: c[5] for c in _CURRENCIES}

# iso, name, id_zone, call_prefix, zip format, Faker locale, EU VAT applies, share of customers (%)
_COUNTRIES = (
    ("FR", "France", 1, 33, "NNNNN", "fr_FR", True, 35),
    ("DE", "Germany", 1, 49, "NNNNN", "de_DE", True, 12),
    ("US", "United States", 2, 1, "NNNNN", "en_US", False, 12),
    ("GB", "United Kingdom", 7, 44, "", "en_GB", False, 10),
    ("ES", "Spain", 1, 34, "NNNNN", "es_ES", True, 7),
    ("IT", "Italy", 1, 39, "NNNNN", "it_IT", True, 7),
    ("NL", "Netherlands", 1, 31, "NNNN LL", "nl_NL", True, 5),
    ("BE", "Belgium", 1, 32, "NNNN", "nl_BE", True, 4),
    ("PL", "Poland", 1, 48, "NN-NNN", "pl_PL", True, 4),
    ("CH", "Switzerland", 7, 41, "NNNN", "de_CH", False, 4),
)
# Local currency and how often customers of that country pay in it (the rest pay in EUR).
_LOCAL_CURRENCY = {"US": (2, 0.9), "GB": (3, 0.85), "CH": (4, 0.8), "PL": (5, 0.7)}

_EMAIL_DOMAINS = {
    "fr_FR": ("gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr", "sfr.fr"),
    "de_DE": ("gmail.com", "web.de", "gmx.de", "t-online.de"),
    "en_US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com"),
    "en_GB": ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk"),
    "es_ES": ("gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"),
    "it_IT": ("gmail.com", "libero.it", "virgilio.it", "alice.it"),
    "nl_NL": ("gmail.com", "ziggo.nl", "kpnmail.nl", "hotmail.nl"),
    "nl_BE": ("gmail.com", "telenet.be", "skynet.be", "proximus.be"),
    "pl_PL": ("gmail.com", "wp.pl", "onet.pl", "o2.pl"),
    "de_CH": ("gmail.com", "bluewin.ch", "gmx.ch", "sunrise.ch"),
}

# PrestaShop's US state ids are the 50 states in alphabetical order of name starting at 4 (New York = 35).
_US_STATES = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME",
    "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA",
    "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
)

# id, name, is_free, url (``@`` = tracking number), delay, shipping_method, max_weight
_CARRIERS = (
    (1, "Click and collect", 1, "", "Pick up in-store", 1, 0.0),
    (2, "Colissimo", 0, "https://www.laposte.fr/outils/suivre-vos-envois?code=@", "Delivery in 2-3 days", 1, 30.0),
    (3, "UPS Express Saver", 0, "https://www.ups.com/track?loc=en_US&tracknum=@", "Next business day", 1, 70.0),
    (4, "DHL Parcel", 0, "https://www.dhl.com/fr-en/home/tracking/tracking-parcel.html?submit=1&tracking-id=@",
     "Delivery in 2-4 days", 2, 31.5),
)
# Base shipping cost tax excl. in EUR cents: (France, rest of the EU, outside the EU)
_SHIPPING_CENTS = {1: (0, 0, 0), 2: (490, 990, 1990), 3: (1250, 1990, 2990), 4: (590, 1190, 2490)}
_FREE_SHIPPING_FROM_CENTS = 10000

# id: name, template, color, flags (delivery, send_email, module_name, invoice, logable, shipped, paid, pdf_invoice)
# Exactly the 13 states of a fresh 8.1.2 install as recorded in fixture 13.
_ORDER_STATES = (
    (1, "Awaiting check payment", "cheque", "#34209E", 0, 1, "ps_checkpayment", 0, 0, 0, 0, 0),
    (2, "Payment accepted", "payment", "#3498D8", 0, 1, "", 1, 1, 0, 1, 1),
    (3, "Processing in progress", "preparation", "#3498D8", 1, 1, "", 1, 1, 0, 1, 0),
    (4, "Shipped", "shipped", "#01B887", 1, 1, "", 1, 1, 1, 1, 0),
    (5, "Delivered", "", "#01B887", 1, 0, "", 1, 1, 1, 1, 0),
    (6, "Canceled", "order_canceled", "#2C3E50", 0, 1, "", 0, 0, 0, 0, 0),
    (7, "Refunded", "refund", "#01B887", 0, 1, "", 1, 0, 0, 0, 0),
    (8, "Payment error", "payment_error", "#E74C3C", 0, 1, "", 0, 0, 0, 0, 0),
    (9, "On backorder (paid)", "outofstock", "#3498D8", 0, 1, "", 1, 0, 0, 1, 0),
    (10, "Awaiting bank wire payment", "bankwire", "#34209E", 0, 1, "ps_wirepayment", 0, 0, 0, 0, 0),
    (11, "Remote payment accepted", "payment", "#3498D8", 0, 1, "", 1, 1, 0, 1, 0),
    (12, "On backorder (not paid)", "outofstock", "#34209E", 0, 1, "", 0, 0, 0, 0, 0),
    (13, "Awaiting Cash On Delivery validation", "cashondelivery", "#34209E", 0, 0, "ps_cashondelivery", 0, 0, 0, 0,
     0),
)
_INVOICE_STATES = frozenset(s[0] for s in _ORDER_STATES if s[7])
_DELIVERY_STATES = frozenset(s[0] for s in _ORDER_STATES if s[4])
_PAID_STATES = frozenset(s[0] for s in _ORDER_STATES if s[10])
_LOGABLE = {s[0]: s[8] for s in _ORDER_STATES}

# module, orders.payment, order_payments.payment_method (the module's displayName, as fixture 53c shows), share
_CHECK, _WIRE, _CARD = 0, 1, 2
_PAYMENT_MODULES = (
    ("ps_checkpayment", "Payment by check", "Payments by check", 15),
    ("ps_wirepayment", "Bank wire", "Wire payment", 20),
    ("stripe_official", "Credit card", "Credit card", 65),
)

# Tax rules groups: id -> (rate in basis points, id of the tax recorded on order_details.taxes)
_TAX_GROUPS = {1: (2000, 1), 2: (1000, 2), 3: (550, 3), 4: (0, 0)}

# Attribute groups with PrestaShop demo-like product_option_value ids.
_SIZES = (("S", 1), ("M", 2), ("L", 3), ("XL", 4))
_COLORS = (
    ("Grey", 5), ("Taupe", 6), ("Beige", 7), ("White", 8), ("Off White", 9), ("Red", 10), ("Black", 11),
    ("Camel", 12), ("Orange", 13), ("Blue", 14), ("Green", 15), ("Yellow", 16), ("Brown", 17), ("Pink", 18),
)
_DIMENSIONS = (("40x60cm", 19, 0), ("60x90cm", 20, 2000), ("80x120cm", 21, 4000))
_PAPERS = (("Ruled", 22), ("Plain", 23), ("Squared", 24), ("Doted", 25))
_PACKS = (("250g", 26, 0.0), ("500g", 27, 0.8), ("1kg", 28, 2.4))

_MANUFACTURERS = ("Studio Design", "Graphic Corner", "Atelier Lumière", "Nordwind Goods")
_MOTIFS = (
    "Hummingbird", "Mountain fox", "Brown bear", "Origami", "Aurora", "Nordic pine", "Wild lavender", "Ocean wave",
    "Golden hour", "Midnight", "Sakura", "Terracotta", "Alpine", "Savanna", "Coral reef", "Urban jungle",
    "Northern lights", "Desert rose", "Olive grove", "Riviera", "Monsoon", "Paper crane", "Wildflower", "Harbour",
)
# category chain, nouns, adjectives, combination kind, price range (EUR cents), weight range (kg), tax group, share
_FAMILIES = (
    ((2, 3, 4), ("T-shirt", "Sweater", "Hoodie", "Polo shirt", "Overshirt", "Chino pants"),
     ("printed", "organic cotton", "linen", "merino", "recycled"), "size_color", (1490, 8990), (0.2, 0.9), 1, 18),
    ((2, 3, 5), ("T-shirt", "Sweater", "Dress", "Cardigan", "Blouse", "Skirt"),
     ("printed", "organic cotton", "linen", "silk-blend", "ribbed"), "size_color", (1490, 9990), (0.2, 0.8), 1, 18),
    ((2, 6, 7), ("notebook", "planner", "sketchbook", "bullet journal"),
     ("hardcover", "softcover", "A5", "pocket"), "paper", (390, 2490), (0.1, 0.6), 1, 12),
    ((2, 6, 8), ("mug", "cushion", "scented candle", "throw blanket", "vase", "tea towel"),
     ("ceramic", "handmade", "stoneware", "cotton", "woven"), "color", (790, 7990), (0.2, 2.0), 1, 16),
    ((2, 9), ("poster", "framed poster", "art print", "canvas print"),
     ("vintage", "minimalist", "botanical", "graphic"), "dimension", (1290, 12900), (0.2, 3.0), 1, 12),
    ((2, 10), ("cookbook", "travel guide", "novel", "art book"),
     ("illustrated", "pocket", "collector's", "paperback"), None, (990, 4500), (0.3, 1.4), 3, 8),
    ((2, 11), ("coffee beans", "loose-leaf tea", "dark chocolate", "acacia honey", "olive oil"),
     ("organic", "single-origin", "artisan", "fair-trade"), "pack", (450, 2990), (0.25, 1.0), 3, 8),
    ((2, 12), ("monstera", "olive tree", "succulent trio", "bonsai", "fiddle-leaf fig"),
     ("potted", "indoor", "dwarf", "large"), None, (1290, 8900), (0.5, 6.0), 2, 6),
    ((2, 13), ("gift card",), ("digital",), None, (2500, 10000), (0.0, 0.0), 4, 2),
)
_COMBO_FAMILIES = [i for i, f in enumerate(_FAMILIES) if f[3]]
_SENTENCES = (
    "Designed in our studio and made to last.",
    "A timeless piece that pairs with everything.",
    "Produced in small batches by independent makers.",
    "Responsibly sourced materials, packed plastic-free.",
    "Our customers' favourite, restocked every season.",
    "Thoughtful details for everyday use.",
)

_UNICODE_FIRSTNAMES = (
    "Zoë\u0301\u0308", "Ǹ̷̢o̵̧͝ë̶l", "Renée 🌸", "محمد", "José\u0300\u0301\u0302", "Łukasz 🚀", "Ṩ̈ȍ̧̦̏p̣h̬̏ì͜a",
    "Bjørn ❄️", "李小龍", "שָׁלוֹם", "Ἀλέξανδρος", "Amélie\u200f",
)
_UNICODE_LASTNAMES = (
    "O'Brien-Ñúñez", "الحسيني", "Mu\u0308\u0308ller", "כהן", "🦄 Licorne", "Straße\u200f", "Nguyễn",
    "D\u0336o\u0336e\u0336", "Ørsted ✨", "Łęczycka", "عبد الله", "Ça\u0327\u0327lar",
)


# --- small helpers -----------------------------------------------------------------------------------------------


def _ts(moment: datetime, tz: ZoneInfo) -> int:
    """Seconds since the epoch of ``moment``: an aware value's instant, or a naive one read as shop wall time."""
    return int(instant(moment.replace(microsecond=0), tz).timestamp())


class _WallClock:
    """Instants written as the shop writes them: wall times of its zone, without offset (reference §4.4)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def fmt(self, ts: int) -> str:
        return datetime.fromtimestamp(ts, self.tz).replace(tzinfo=None).isoformat(" ")

    def fmt_date(self, ts: int) -> str:
        return datetime.fromtimestamp(ts, self.tz).date().isoformat()


def _ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in folded if c.isalnum())


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(c if c.isalnum() else " " for c in folded).split())


_ZERO = {"i": 0, "b": 0, "d": 0.0, "d2": 0.0, "d3": 0.0, "s": "", "dt": ZERO_DATETIME, "da": ZERO_DATE, "l": ""}
# Every stored field of each resource with PrestaShop's zero value, in schema order, so rows never miss a field.
_TEMPLATES = {
    name: {f.name: _ZERO[f.kind] for f in resource.fields if not f.virtual} for name, resource in RESOURCES.items()
}


def _template(resource: str, **overrides: Any) -> dict:
    row = _TEMPLATES[resource].copy()
    row.update(overrides)
    if len(row) != len(_TEMPLATES[resource]):
        raise KeyError(f"{resource} has no stored field {sorted(set(row) - set(_TEMPLATES[resource]))}")
    return row


class _Weighted:
    """A weighted draw with the cumulative weights computed once (``Random.choices`` redoes them every call)."""

    def __init__(self, population: tuple, weights: tuple[int, ...]) -> None:
        self.population = population
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def draw(self, rng: random.Random) -> Any:
        return self.population[bisect(self.cum, rng.random() * self.total)]


_COUNTRY = _Weighted(tuple(range(len(_COUNTRIES))), tuple(c[7] for c in _COUNTRIES))
_MODULE = _Weighted((_CHECK, _WIRE, _CARD), tuple(m[3] for m in _PAYMENT_MODULES))
_CARD_BRAND = _Weighted(("Visa", "MasterCard", "American Express"), (60, 30, 10))
_CARRIER_FR = _Weighted((1, 2, 3, 4), (10, 55, 10, 25))
_CARRIER_US = _Weighted((3, 4), (70, 30))
_CARRIER_ABROAD = _Weighted((2, 3, 4), (35, 25, 40))
_LINE_COUNT = _Weighted(tuple(range(1, 11)), (40, 25, 13, 8, 5, 3, 2, 2, 1, 1))
_QUANTITY = _Weighted((1, 2, 3, 4, 5), (70, 18, 7, 3, 2))
_FAMILY = _Weighted(tuple(range(len(_FAMILIES))), tuple(f[7] for f in _FAMILIES))


def _c(cents: int) -> float:
    return cents / 100


def _half_up(value: float) -> int:
    return int(value + 0.5)


def _with_tax(cents: int, bp: int) -> int:
    return (cents * (10000 + bp) + 5000) // 10000


# --- the builder -------------------------------------------------------------------------------------------------


@dataclass
class _Customer:
    addresses: list[int]  # address ids
    secure_key: str
    holder: str
    is_guest: bool
    orders: int = 0


class _Builder:
    """Builds one shop; holds the cross-references (order lines, customers) the defect injection needs."""

    def __init__(self, orders: int, seed: int, start: datetime, end: datetime, tz: ZoneInfo) -> None:
        self.n_orders = orders
        self.seed = seed
        self.rng = random.Random(seed)
        self.t0 = _ts(start, tz)
        self.t1 = _ts(end, tz)
        self.tz = tz
        wall = _WallClock(tz)
        self._fmt, self._fmt_date = wall.fmt, wall.fmt_date
        # configurations come from the shop's settings (configuration.py), not from its data
        self.rows: dict[str, list[dict]] = {name: [] for name in RESOURCES if name != "configurations"}
        self.n_customers = max(5, orders // 3)
        self.pool_size = min(250, max(12, self.n_customers // 8))
        self._pools: dict[int, dict[str, list]] = {}
        self.customers: list[_Customer] = []
        self.emails: set[str] = set()
        self.order_lines: list[tuple[int, int]] = []  # per order: (index of first order_details row, line count)
        self.split_of: list[int] = []
        self.order_paths: list[list[tuple[int, int, int]]] = []
        self.order_module: list[int] = []
        self.invoice_events: list[tuple[int, int]] = []  # (time, order index) when the invoice was made
        self.delivery_events: list[tuple[int, int]] = []

    # -- reference data

    def build_reference(self) -> None:
        rows = self.rows
        for cid, iso, numeric, name, symbol, rate in _CURRENCIES:
            row = _template("currencies", id=cid, iso_code=iso, numeric_iso_code=numeric, precision=2,
                            conversion_rate=rate, active=1)
            row.update(names=name, name=name, symbol=symbol)  # virtual, but only the generator knows them
            rows["currencies"].append(row)
        for i, (iso, name, zone, prefix, zip_format, _loc, _eu, _w) in enumerate(_COUNTRIES, start=1):
            rows["countries"].append(_template(
                "countries", id=i, id_zone=zone, call_prefix=prefix, iso_code=iso, active=1,
                contains_states=int(iso == "US"), need_identification_number=int(iso == "ES"), need_zip_code=1,
                zip_code_format=zip_format, display_tax_label=int(iso != "US"), name=name,
            ))
        for cid, name, is_free, url, delay, method, max_weight in _CARRIERS:
            rows["carriers"].append(_template(
                "carriers", id=cid, id_tax_rules_group=1, id_reference=cid, name=name, active=1, is_free=is_free,
                url=url, shipping_handling=int(not is_free), shipping_method=method, max_weight=max_weight,
                need_range=int(not is_free), position=cid - 1, delay=delay,
                is_module=0, external_module_name="",
            ))
        for sid, name, tpl, color, delivery, email, module, invoice, logable, shipped, paid, pdf in _ORDER_STATES:
            rows["order_states"].append(_template(
                "order_states", id=sid, unremovable=1, delivery=delivery, send_email=email, module_name=module,
                invoice=invoice, color=color, logable=logable, shipped=shipped, paid=paid, pdf_invoice=pdf,
                name=name, template=tpl,
            ))

    # -- catalogue

    def build_catalogue(self) -> None:
        rng = self.rng
        n_products = min(2000, max(20, self.n_orders // 50))
        products, combinations = self.rows["products"], self.rows["combinations"]
        stock_product: list[tuple[int, int, int]] = []  # (id_product, id_product_attribute, quantity)
        stock_combination: list[tuple[int, int, int]] = []
        # per product: list of variants (attr id, order line name, reference, ean13, price cents, weight,
        # wholesale cents, tax group); what an order line copies
        self.variants: list[list[tuple]] = []
        image_id = 0
        for pid in range(1, n_products + 1):
            with_combos = rng.random() < 1 / 3
            fam_idx = rng.choice(_COMBO_FAMILIES) if with_combos else _FAMILY.draw(rng)
            chain, nouns, adjectives, combo_kind, (p_lo, p_hi), (w_lo, w_hi), tax_group, _share = _FAMILIES[fam_idx]
            noun = rng.choice(nouns)
            if noun == "gift card":
                price = rng.choice((2500, 5000, 10000))
                name = f"Gift card {price // 100} €"
            else:
                price = rng.randrange(p_lo // 100, p_hi // 100 + 1) * 100 + rng.choice((0, 90, 90, 50))
                name = f"{rng.choice(_MOTIFS)} {rng.choice(adjectives)} {noun}"
                name = name[0].upper() + name[1:]
            weight = round(rng.uniform(w_lo, w_hi), 3)
            wholesale = _half_up(price * rng.uniform(0.3, 0.6))
            reference = f"PS-{pid:06d}"
            ean = _ean13("376" + f"{rng.randrange(10**9):09d}")
            isbn = _ean13("978" + f"{rng.randrange(10**9):09d}") if chain[-1] == 10 else ""
            if chain[-1] == 10:
                ean = isbn
            manufacturer = rng.randrange(len(_MANUFACTURERS) + 1)  # 0 = none
            created = self.t0 - rng.randint(30 * _DAY, 900 * _DAY)
            updated = created if rng.random() < 0.5 else rng.randint(created, max(created, self.t1))
            n_images = rng.randint(1, 3)
            images = list(range(image_id + 1, image_id + n_images + 1))
            image_id += n_images

            combos = self._combinations(rng, combo_kind, price) if with_combos else []
            variants = []
            option_values: list[int] = []
            combo_stock = 0
            first_combo_id = len(combinations) + 1
            for k, (suffix_text, suffix_ref, impact, values) in enumerate(combos):
                comb_id = len(combinations) + 1
                comb_ref = f"{reference}-{suffix_ref}"
                comb_ean = _ean13("376" + f"{rng.randrange(10**9):09d}") if rng.random() < 0.5 else ""
                combinations.append(_template(
                    "combinations", id=comb_id, id_product=pid, ean13=comb_ean, reference=comb_ref, price=_c(impact),
                    minimal_quantity=1, default_on=1 if k == 0 else None, available_date=ZERO_DATE,
                ) | {"associations": {"product_option_values": [{"id": v} for v in values],
                                      "images": [{"id": rng.choice(images)}]}})
                for v in values:
                    if v not in option_values:
                        option_values.append(v)
                variants.append((comb_id, f"{name} - {suffix_text}", comb_ref, comb_ean or ean, price + impact, weight,
                                 wholesale, tax_group))
                quantity = self._stock_quantity(rng)
                combo_stock += quantity
                stock_combination.append((pid, comb_id, quantity))
            if not variants:
                variants.append((0, name, reference, ean, price, weight, wholesale, tax_group))
            self.variants.append(variants)

            features = []
            if chain[1] == 3:  # clothes carry composition and property features, like the demo catalogue
                features = [{"id": 1, "id_feature_value": rng.randint(1, 5)},
                            {"id": 2, "id_feature_value": rng.randint(6, 9)}]
            row = _template(
                "products", id=pid, id_manufacturer=manufacturer, id_supplier=rng.choice((0, 1, 2)),
                id_category_default=chain[-1], cache_default_attribute=first_combo_id if combos else 0,
                id_tax_rules_group=tax_group if tax_group != 4 else 0, id_shop_default=1, reference=reference,
                weight=weight, ean13=ean, isbn=isbn, is_virtual=int(noun == "gift card"), state=1,
                additional_delivery_times=1, product_type="combinations" if combos else (
                    "virtual" if noun == "gift card" else "standard"),
                on_sale=int(rng.random() < 0.05), minimal_quantity=1, price=_c(price), wholesale_price=_c(wholesale),
                active=int(rng.random() < 0.95), redirect_type="301-category", available_for_order=1,
                available_date=ZERO_DATE, show_condition=0, condition="new", show_price=1, indexed=1,
                visibility="both", date_add=self._fmt(created), date_upd=self._fmt(updated), pack_stock_type=3,
                link_rewrite=_slug(name), name=name,
                description=f"<p>{name} by {_MANUFACTURERS[manufacturer - 1] if manufacturer else 'our studio'}. "
                            f"{rng.choice(_SENTENCES)}</p>",
                description_short=f"<p>{rng.choice(_SENTENCES)}</p>",
            )
            row["manufacturer_name"] = _MANUFACTURERS[manufacturer - 1] if manufacturer else ""
            # Product::getWsType answers "simple" for anything not a pack or virtual, combinations too (fixture 10).
            row["type"] = "virtual" if noun == "gift card" else "simple"
            row["associations"] = {
                "categories": [{"id": c} for c in chain],
                "images": [{"id": i} for i in images],
                "product_option_values": [{"id": v} for v in option_values],
                "product_features": features,
            }
            products.append(row)
            # StockAvailable keeps the product-level row equal to the sum of its combinations.
            stock_product.append((pid, 0, combo_stock if combos else self._stock_quantity(rng)))

        # Like a real install: product-level rows first, the combination rows after them.
        for sid, (pid, attr, qty) in enumerate(stock_product + stock_combination, start=1):
            self.rows["stock_availables"].append(_template(
                "stock_availables", id=sid, id_product=pid, id_product_attribute=attr, id_shop=1, quantity=qty,
                out_of_stock=2,
            ))
        self.n_products = n_products

    @staticmethod
    def _stock_quantity(rng: random.Random) -> int:
        roll = rng.random()
        if roll < 0.08:
            return 0
        if roll < 0.18:
            return rng.randint(1, 5)
        return rng.randint(6, 300)

    @staticmethod
    def _combinations(rng: random.Random, kind: str, price: int) -> list[tuple[str, str, int, list[int]]]:
        """(name text, reference suffix, price impact in cents, option value ids) for 2-6 combinations."""
        if kind == "size_color":
            colors = rng.sample(_COLORS, rng.choice((1, 1, 2)))
            sizes = _SIZES[rng.randint(0, 1):][: rng.randint(2, 3 if len(colors) == 2 else 4)]
            return [
                (f"Size : {s}, Color : {c}", f"{s}-{_ascii(c).upper()}", 200 if s == "XL" else 0, [sv, cv])
                for c, cv in colors for s, sv in sizes
            ]
        if kind == "color":
            return [(f"Color : {c}", _ascii(c).upper(), 0, [cv]) for c, cv in rng.sample(_COLORS, rng.randint(2, 5))]
        if kind == "dimension":
            dims = _DIMENSIONS[: rng.randint(2, 3)]
            return [(f"Dimension : {d}", d.upper(), impact, [dv]) for d, dv, impact in dims]
        if kind == "paper":
            return [(f"Paper Type : {p}", p.upper(), 0, [pv]) for p, pv in rng.sample(_PAPERS, rng.randint(2, 4))]
        packs = _PACKS[: rng.randint(2, 3)]
        return [(f"Weight : {w}", w.upper(), _half_up(price * factor), [wv]) for w, wv, factor in packs]

    # -- people

    def _pool(self, country: int) -> dict[str, list]:
        """Names and addresses of one locale, made once: Faker is far too slow to call per row."""
        pool = self._pools.get(country)
        if pool is not None:
            return pool
        iso, locale = _COUNTRIES[country][0], _COUNTRIES[country][5]
        fake = Faker(locale)
        fake.seed_instance(self.seed * 101 + country)
        n = self.pool_size
        places = []
        for _ in range(n):
            if iso == "US":
                state = fake.random_int(0, len(_US_STATES) - 1)
                places.append((fake.postcode_in_state(_US_STATES[state]), fake.city(), 4 + state))
            elif iso == "IT":
                # it_IT's city() draws from a list built out of a set, so it changes with PYTHONHASHSEED; the
                # postcode -> town table it also carries is ordered and gives real pairs.
                postcode, town = fake.postcode_city_province().split(", ", 1)
                places.append((postcode, town.rsplit(" (", 1)[0], 0))
            else:
                postcode = fake.postcode()
                if iso == "NL" and len(postcode) == 6:
                    postcode = f"{postcode[:4]} {postcode[4:]}"
                places.append((postcode, fake.city(), 0))
        pool = {
            "male": [fake.first_name_male() for _ in range(n)],
            "female": [fake.first_name_female() for _ in range(n)],
            "last": [fake.last_name() for _ in range(n)],
            "street": [" ".join(fake.street_address().split()) for _ in range(n)],
            "place": places,
            "phone": [fake.phone_number() for _ in range(n)],
            "company": [fake.company() for _ in range(max(3, n // 8))],
        }
        self._pools[country] = pool
        return pool

    def new_customer(self, created: int) -> int:
        rng = self.rng
        country = _COUNTRY.draw(rng)
        iso, locale = _COUNTRIES[country][0], _COUNTRIES[country][5]
        pool = self._pool(country)
        gender = 1 if rng.random() < 0.48 else 2
        first = rng.choice(pool["male"] if gender == 1 else pool["female"])
        last = rng.choice(pool["last"])
        guest = rng.random() < 0.25
        cid = len(self.customers) + 1
        email = self._email(rng, first, last, locale, cid)
        secure_key = f"{rng.getrandbits(128):032x}"
        newsletter = not guest and rng.random() < 0.3
        company = rng.choice(pool["company"]) if rng.random() < 0.08 else ""
        updated = created if rng.random() < 0.8 else rng.randint(created, max(created, self.t1))
        birthday = (self._fmt_date(created - rng.randint(18 * 365, 75 * 365) * _DAY)
                    if not guest and rng.random() < 0.6 else ZERO_DATE)
        row = _template(
            "customers", id=cid, id_default_group=2 if guest else 3, id_lang=1,
            newsletter_date_add=self._fmt(created) if newsletter else ZERO_DATETIME,
            ip_registration_newsletter=(f"{rng.randint(2, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
                                        f"{rng.randint(1, 254)}" if newsletter else ""),
            # Customer::add sets last_passwd_gen PS_PASSWD_TIME_FRONT (360) minutes back (fixture 07).
            last_passwd_gen=self._fmt(created - 360 * 60), secure_key=secure_key,
            passwd="" if guest else "$2y$10$" + "".join(rng.choices(_BCRYPT, k=53)),
            lastname=last, firstname=first, email=email, id_gender=0 if guest and rng.random() < 0.5 else gender,
            birthday=birthday, newsletter=int(newsletter), optin=int(newsletter and rng.random() < 0.5),
            company=company, active=1, is_guest=int(guest), id_shop=1, id_shop_group=1,
            date_add=self._fmt(created), date_upd=self._fmt(updated), reset_password_validity=ZERO_DATETIME,
        )
        row["associations"] = {"groups": [{"id": 2 if guest else 3}]}
        self.rows["customers"].append(row)

        addresses = []
        for k in range(1 if rng.random() < 0.7 else 2):
            aid = len(self.rows["addresses"]) + 1
            postcode, city, state = rng.choice(pool["place"])
            dni = ""
            if iso == "ES":
                number = rng.randrange(10**8)
                dni = f"{number:08d}{'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23]}"
            self.rows["addresses"].append(_template(
                "addresses", id=aid, id_customer=cid, id_country=country + 1, id_state=state,
                alias="My address" if k == 0 else rng.choice(("Work", "Home", "Parents", "Holiday home")),
                company=company if k == 0 else "",
                vat_number=f"{iso}{rng.randrange(10**9, 10**10)}" if company and _COUNTRIES[country][6] else "",
                lastname=last, firstname=first, address1=rng.choice(pool["street"]),
                address2=rng.choice(("", "", "", "2nd floor", "Building B", "Apt 12")), postcode=postcode, city=city,
                phone=rng.choice(pool["phone"]), phone_mobile=rng.choice(pool["phone"]) if rng.random() < 0.3 else "",
                dni=dni, date_add=self._fmt(created), date_upd=self._fmt(created),
            ))
            addresses.append(aid)
        self.customers.append(_Customer(addresses, secure_key, f"{first} {last}", guest))
        return cid

    def _email(self, rng: random.Random, first: str, last: str, locale: str, cid: int) -> str:
        f, la = _ascii(first) or "client", _ascii(last) or "shop"
        style = rng.randrange(4)
        local = (f"{f}.{la}", f"{f[0]}{la}", f"{f}{la}{rng.randint(1, 99)}", f"{f}_{la}")[style]
        email = f"{local}@{rng.choice(_EMAIL_DOMAINS[locale])}"
        if email in self.emails:
            email = f"{local}{cid}@{email.split('@')[1]}"
        self.emails.add(email)
        return email

    # -- orders

    def build_orders(self) -> None:
        rng = self.rng
        n = self.n_orders
        t0, t1 = self.t0, self.t1
        dates = sorted(rng.randint(t0, t1) for _ in range(n)) if t1 > t0 else [t0] * n
        # Split orders: a cart PrestaShop turned into two orders (same cart, reference, customer, moment).
        split_of = [-1] * n
        for i in range(1, n):
            if split_of[i - 1] < 0 and rng.random() < 0.01:
                split_of[i] = i - 1
                dates[i] = dates[i - 1]
        self.split_of = split_of
        starters = [i for i in range(n) if split_of[i] < 0]
        k_new = min(self.n_customers, len(starters))
        new_flag = bytearray(n)
        if k_new:
            new_flag[starters[0]] = 1
            for i in rng.sample(starters[1:], k_new - 1):
                new_flag[i] = 1
        # Customers who never ordered (only when the shop has fewer orders than its minimum customer count).
        for _ in range(self.n_customers - k_new):
            self.new_customer(t0 - rng.randint(_DAY, 365 * _DAY))

        orders, details = self.rows["orders"], self.rows["order_details"]
        carriers_rows = self.rows["order_carriers"]
        history: list[tuple[int, int, int, int, int]] = []  # (time, order idx, seq, state, employee)
        payments: list[list] = []
        payment_of_reference: dict[str, list] = {}
        slips: list[tuple] = []
        references: set[str] = set()
        cart = 0
        registered: list[int] = []

        for i in range(n):
            t = dates[i]
            partner = split_of[i]
            if partner >= 0:
                p = orders[partner]
                cid, address_delivery = p["id_customer"], p["id_address_delivery"]
                address_invoice = p["id_address_invoice"]
                currency, module, reference = p["id_currency"], self.order_module[partner], p["reference"]
                id_cart = p["id_cart"]
            else:
                if new_flag[i]:
                    cid = self.new_customer(t - rng.randint(120, 3600))
                    if not self.customers[cid - 1].is_guest:
                        registered.append(cid)
                else:
                    cid = rng.choice(registered) if registered else rng.randint(1, len(self.customers))
                cust = self.customers[cid - 1]
                address_delivery = cust.addresses[0] if cust.orders == 0 else rng.choice(cust.addresses)
                address_invoice = address_delivery
                if len(cust.addresses) > 1 and rng.random() < 0.15:
                    address_invoice = cust.addresses[1] if address_delivery == cust.addresses[0] else cust.addresses[0]
                currency = 1
                iso = _COUNTRIES[self._address_country(address_delivery)][0]
                local = _LOCAL_CURRENCY.get(iso)
                if local and rng.random() < local[1]:
                    currency = local[0]
                elif not local and rng.random() < 0.03:
                    currency = 2
                module = _MODULE.draw(rng)
                reference = "".join(rng.choices(_UPPER, k=9))
                while reference in references:
                    reference = "".join(rng.choices(_UPPER, k=9))
                references.add(reference)
                cart += 1 + (rng.randint(1, 3) if rng.random() < 0.3 else 0)
                id_cart = cart
            cust = self.customers[cid - 1]
            cust.orders += 1
            country = self._address_country(address_delivery)
            eu = _COUNTRIES[country][6]
            rate = _RATE[currency]
            carrier = self._carrier(rng, country)

            # lines
            lines: dict[tuple[int, int], list] = {}
            for _ in range(_LINE_COUNT.draw(rng)):
                pidx = int(self.n_products * rng.random() ** 1.7)
                variant = rng.choice(self.variants[pidx])
                key = (pidx, variant[0])
                qty = 1 if variant[7] == 4 else _QUANTITY.draw(rng)
                if key in lines:
                    lines[key][1] += qty
                else:
                    lines[key] = [variant, qty]
            first_detail = len(details)
            order_id = i + 1
            products_excl = products_incl = weight_total = 0
            for (pidx, attr), (variant, qty) in lines.items():
                _attr, line_name, line_ref, line_ean, price, weight, wholesale, tax_group = variant
                bp, tax_id = _TAX_GROUPS[tax_group] if eu else (0, 0)
                unit_excl = _half_up(price * rate)
                unit_incl = _with_tax(unit_excl, bp)
                products_excl += unit_excl * qty
                products_incl += unit_incl * qty
                weight_total += weight * qty
                unit = _c(unit_excl)  # one float object for the four fields that hold it
                row = _template(
                    "order_details", id=len(details) + 1, id_order=order_id, product_id=pidx + 1,
                    product_attribute_id=attr, id_shop=1, product_name=line_name, product_quantity=qty,
                    product_quantity_in_stock=qty, product_price=unit, product_ean13=line_ean,
                    product_reference=line_ref, product_weight=weight,
                    id_tax_rules_group=tax_group if tax_group != 4 else 0,
                    unit_price_tax_incl=_c(unit_incl), unit_price_tax_excl=unit,
                    total_price_tax_incl=_c(unit_incl * qty), total_price_tax_excl=_c(unit_excl * qty),
                    purchase_supplier_price=_c(_half_up(wholesale * rate)), original_product_price=unit,
                    original_wholesale_price=_c(wholesale),
                )
                row["associations"] = {"taxes": [{"id": tax_id}] if tax_id else []}
                details.append(row)
            self.order_lines.append((first_detail, len(details) - first_detail))

            # discounts, shipping, totals (cents)
            discount_incl = discount_excl = 0
            if rng.random() < 0.15:
                if rng.random() < 0.5:
                    discount_incl = products_incl * rng.choice((5, 10, 15, 20)) // 100
                else:
                    discount_incl = min(products_incl, _half_up(rng.choice((500, 1000, 1500)) * rate))
                discount_excl = _half_up(discount_incl * products_excl / products_incl) if products_incl else 0
            zone = 0 if country == 0 else (1 if eu else 2)
            base = _SHIPPING_CENTS[carrier][zone]
            if carrier != 3 and products_incl >= _FREE_SHIPPING_FROM_CENTS * rate:
                base = 0
            carrier_bp = 2000 if eu else 0
            ship_excl = _half_up(base * rate)
            ship_incl = _with_tax(ship_excl, carrier_bp)
            paid_incl = products_incl + ship_incl - discount_incl
            paid_excl = products_excl + ship_excl - discount_excl

            # lifecycle
            path = list(self.order_paths[partner]) if partner >= 0 else self._lifecycle(rng, t, module)
            refund = None
            if partner < 0 and path[-1][1] == 5 and rng.random() < 0.038:
                refund_at = path[-1][0] + rng.randint(2 * _DAY, 20 * _DAY)
                if refund_at <= t1:
                    refund = (refund_at, rng.random() < 0.5)
                    if refund[1]:
                        path.append((refund_at, 7, 1))
            self.order_paths.append(path)
            self.order_module.append(module)
            for seq, (when, state, employee) in enumerate(path):
                history.append((when, i, seq, state, employee))
            states = [s for _w, s, _e in path]
            current = states[-1]
            invoice_at = next((w for w, s, _e in path if s in _INVOICE_STATES), None)
            delivery_at = next((w for w, s, _e in path if s in _DELIVERY_STATES), None)
            paid_at = next((w for w, s, _e in path if s in _PAID_STATES), None)
            if invoice_at is not None:
                self.invoice_events.append((invoice_at, i))
            if delivery_at is not None:
                self.delivery_events.append((delivery_at, i))
            if paid_at is not None:
                existing = payment_of_reference.get(reference)
                if existing is not None:  # split order: one payment covers the whole reference
                    existing[3] += paid_incl
                else:
                    paid_by = next(e for w, _s, e in path if w == paid_at)
                    payment = [paid_at, i, reference, paid_incl, currency, module, cid, paid_by]
                    payments.append(payment)
                    payment_of_reference[reference] = payment

            gift = rng.random() < 0.03
            created, total, shipping = self._fmt(t), _c(paid_incl), _c(ship_incl)
            order = _template(
                "orders", id=order_id, id_address_delivery=address_delivery, id_address_invoice=address_invoice,
                id_cart=id_cart, id_currency=currency, id_lang=1, id_customer=cid, id_carrier=carrier,
                current_state=current, module=_PAYMENT_MODULES[module][0], valid=_LOGABLE[current],
                date_add=created, date_upd=self._fmt(path[-1][0]), id_shop_group=1, id_shop=1,
                secure_key=cust.secure_key, payment=_PAYMENT_MODULES[module][1], gift=int(gift),
                gift_message="Happy birthday! With love." if gift else "",
                total_discounts=_c(discount_incl), total_discounts_tax_incl=_c(discount_incl),
                total_discounts_tax_excl=_c(discount_excl), total_paid=total,
                total_paid_tax_incl=total, total_paid_tax_excl=_c(paid_excl),
                total_paid_real=total if paid_at is not None else 0.0,
                total_products=_c(products_excl), total_products_wt=_c(products_incl),
                total_shipping=shipping, total_shipping_tax_incl=shipping,
                total_shipping_tax_excl=_c(ship_excl), carrier_tax_rate=carrier_bp / 100, round_mode=2,
                round_type=1, conversion_rate=rate, reference=reference,
            )
            orders.append(order)
            carriers_rows.append(_template(
                "order_carriers", id=order_id, id_order=order_id, id_carrier=carrier, weight=round(weight_total, 6),
                shipping_cost_tax_excl=order["total_shipping_tax_excl"], shipping_cost_tax_incl=shipping,
                tracking_number=self._tracking(rng, carrier) if 4 in states and carrier != 1 else "",
                date_add=created,
            ))
            if refund is not None:
                slips.append(self._refund(rng, i, refund, cid, rate, ship_excl, ship_incl))

        self._number_documents()
        self._emit_history(history)
        self._emit_payments(payments)
        self._emit_slips(slips)

    def _address_country(self, address_id: int) -> int:
        return self.rows["addresses"][address_id - 1]["id_country"] - 1

    @staticmethod
    def _carrier(rng: random.Random, country: int) -> int:
        if country == 0:
            return _CARRIER_FR.draw(rng)
        if _COUNTRIES[country][0] == "US":
            return _CARRIER_US.draw(rng)
        return _CARRIER_ABROAD.draw(rng)

    def _lifecycle(self, rng: random.Random, t: int, module: int) -> list[tuple[int, int, int]]:
        """The states an order went through up to the end of the window: (time, state, id_employee)."""
        now = self.t1
        if module == _CARD:
            roll = rng.random()
            if roll < 0.04:
                return [(t, 8, 0)]
            first = 9 if roll < 0.08 else 2
            path = [(t, first, 0)]
            paid_at = t
        else:
            path = [(t, 1 if module == _CHECK else 10, 0)]
            if rng.random() < 0.1:  # never paid: an employee cancels it after a couple of weeks
                cancel_at = t + rng.randint(15 * _DAY, 30 * _DAY)
                if cancel_at <= now:
                    path.append((cancel_at, 6, 1))
                return path
            paid_at = t + rng.randint(_DAY // 2, 8 * _DAY if module == _CHECK else 4 * _DAY)
            if paid_at > now:
                return path
            path.append((paid_at, 2, 1))
        when = paid_at
        backorder = path[-1][1] == 9
        for state, lo, hi, employee in ((3, 1800, (15 if backorder else 1.5) * _DAY, 1), (4, 3600, 3 * _DAY, 1),
                                        (5, _DAY, 5 * _DAY, 0)):
            when += rng.randint(lo, int(hi))
            if when > now:
                break
            path.append((when, state, employee))
        return path

    @staticmethod
    def _tracking(rng: random.Random, carrier: int) -> str:
        if carrier == 2:
            return "6A" + "".join(rng.choices("0123456789", k=11))
        if carrier == 3:
            return "1Z" + "".join(rng.choices(_ALNUM, k=6)) + "68" + "".join(rng.choices("0123456789", k=8))
        if rng.random() < 0.6:
            return "JD" + "".join(rng.choices("0123456789", k=18))
        return "".join(rng.choices("0123456789", k=12))

    def _refund(self, rng: random.Random, i: int, refund: tuple[int, bool], cid: int, rate: float,
                ship_excl: int, ship_incl: int) -> tuple:
        refund_at, full = refund
        first, count = self.order_lines[i]
        details = self.rows["order_details"]
        chosen = range(first, first + count) if full else [first + rng.randrange(count)]
        slip_lines = []
        for d in chosen:
            row = details[d]
            qty = row["product_quantity"] if full else rng.randint(1, row["product_quantity"])
            excl = _half_up(row["unit_price_tax_excl"] * 100) * qty
            incl = _half_up(row["unit_price_tax_incl"] * 100) * qty
            row["product_quantity_refunded"] = qty
            row["total_refunded_tax_excl"] = _c(excl)
            row["total_refunded_tax_incl"] = _c(incl)
            slip_lines.append((row["id"], qty, excl, incl))
        return (refund_at, i, cid, rate, full, ship_excl if full else 0, ship_incl if full else 0, slip_lines)

    def _number_documents(self) -> None:
        # Invoice and delivery slip numbers are handed out shop-wide in the order the documents were made.
        orders, details, carriers = self.rows["orders"], self.rows["order_details"], self.rows["order_carriers"]
        for number, (when, i) in enumerate(sorted(self.invoice_events), start=1):
            orders[i]["invoice_number"] = number
            orders[i]["invoice_date"] = self._fmt(when)
            carriers[i]["id_order_invoice"] = number
            first, count = self.order_lines[i]
            for d in range(first, first + count):
                details[d]["id_order_invoice"] = number
        for number, (when, i) in enumerate(sorted(self.delivery_events), start=1):
            orders[i]["delivery_number"] = number
            orders[i]["delivery_date"] = self._fmt(when)

    def _emit_history(self, history: list[tuple[int, int, int, int, int]]) -> None:
        out = self.rows["order_histories"]
        for hid, (when, i, _seq, state, employee) in enumerate(sorted(history), start=1):
            out.append({"id": hid, "id_employee": employee, "id_order_state": state, "id_order": i + 1,
                        "date_add": self._fmt(when)})

    def _emit_payments(self, payments: list[list]) -> None:
        rng = self.rng
        out = self.rows["order_payments"]
        for pid, (when, _i, reference, cents, currency, module, cid, employee) in enumerate(sorted(payments), start=1):
            row = _template(
                "order_payments", id=pid, order_reference=reference, id_currency=currency, amount=_c(cents),
                payment_method=_PAYMENT_MODULES[module][2], conversion_rate=_RATE[currency], date_add=self._fmt(when),
                # NULL unless an employee recorded it (fixture 53c shows the empty value)
                id_employee=employee or None,
            )
            if module == _CARD:
                brand = _CARD_BRAND.draw(rng)
                expires = datetime.fromtimestamp(when + rng.randint(60, 1400) * _DAY, self.tz)
                row.update(
                    transaction_id="pi_" + "".join(rng.choices(_ALNUM + "abcdefghijklmnopqrstuvwxyz", k=24)),
                    card_number=f"**** **** **** {rng.randrange(10000):04d}", card_brand=brand,
                    card_expiration=f"{expires.month:02d}/{expires.year}", card_holder=self.customers[cid - 1].holder,
                )
            elif module == _WIRE and rng.random() < 0.5:
                row["transaction_id"] = f"VIR{rng.randrange(10**10):010d}"
            out.append(row)

    def _emit_slips(self, slips: list[tuple]) -> None:
        out = self.rows["order_slip"]
        for sid, (when, i, cid, rate, full, ship_excl, ship_incl, lines) in enumerate(sorted(slips), start=1):
            products_excl = sum(line[2] for line in lines)
            products_incl = sum(line[3] for line in lines)
            row = _template(
                "order_slip", id=sid, id_customer=cid, id_order=i + 1, conversion_rate=rate,
                total_products_tax_excl=_c(products_excl), total_products_tax_incl=_c(products_incl),
                total_shipping_tax_excl=_c(ship_excl), total_shipping_tax_incl=_c(ship_incl),
                amount=_c(products_incl + ship_incl), shipping_cost=int(full), shipping_cost_amount=_c(ship_incl),
                partial=int(not full), date_add=self._fmt(when), date_upd=self._fmt(when),
            )
            # OrderSlip::getWsOrderSlipDetails selects id_order_slip AS id, so every line carries the slip id.
            row["associations"] = {"order_slip_details": [
                {"id": sid, "id_order_detail": did, "product_quantity": qty, "amount_tax_excl": _c(excl),
                 "amount_tax_incl": _c(incl)}
                for did, qty, excl, incl in lines
            ]}
            out.append(row)

    # -- defects

    def inject(self, bad_rows: dict[str, float]) -> list[dict]:
        unknown = set(bad_rows) - set(BAD_ROW_KINDS)
        if unknown:
            raise ValueError(f"unknown bad-row kinds {sorted(unknown)}; known: {', '.join(BAD_ROW_KINDS)}")
        for kind, rate in bad_rows.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"bad-row rate for {kind} must be within 0..1, got {rate}")
        # Own stream: the clean shop is identical with or without defects.
        rng = random.Random(f"prestashop-bad-rows:{self.seed}")
        injected: list[dict] = []
        used_lines: set[int] = set()
        for kind in BAD_ROW_KINDS:  # fixed order keeps the draws reproducible
            rate = bad_rows.get(kind, 0.0)
            if rate > 0:
                getattr(self, f"_bad_{kind}")(rng, rate, injected, used_lines)
        return injected

    @staticmethod
    def _how_many(rate: float, population: int, eligible: int) -> int:
        return min(eligible, max(1, round(rate * population))) if eligible else 0

    def _pick_orders(self, rng: random.Random, rate: float, eligible: list[int]) -> list[int]:
        return sorted(rng.sample(eligible, self._how_many(rate, self.n_orders, len(eligible))))

    def _bad_line(self, rng: random.Random, rate: float, injected: list[dict], used: set[int], kind: str) -> None:
        details = self.rows["order_details"]
        for i in self._pick_orders(rng, rate, list(range(self.n_orders))):
            first, count = self.order_lines[i]
            free = [d for d in range(first, first + count) if d not in used]
            if not free:
                continue
            d = rng.choice(free)
            used.add(d)
            row = details[d]
            if kind == "negative_quantity":
                row["product_quantity"] = -abs(row["product_quantity"])
                detail = f"order_detail {row['id']} product_quantity {row['product_quantity']}"
            elif kind == "missing_sku":
                detail = f"order_detail {row['id']} product_reference '' (was {row['product_reference']})"
                row["product_reference"] = ""
            else:
                fake = f"PS-{rng.randint(900000, 999999)}"  # past any product id the catalogue can reach
                detail = f"order_detail {row['id']} product_reference {fake} matches no product"
                row["product_reference"] = fake
            injected.append({"entity": "orders", "id": i + 1, "kind": kind, "detail": detail})

    def _bad_negative_quantity(self, rng: random.Random, rate: float, injected: list[dict], used: set[int]) -> None:
        self._bad_line(rng, rate, injected, used, "negative_quantity")

    def _bad_missing_sku(self, rng: random.Random, rate: float, injected: list[dict], used: set[int]) -> None:
        self._bad_line(rng, rate, injected, used, "missing_sku")

    def _bad_unknown_sku(self, rng: random.Random, rate: float, injected: list[dict], used: set[int]) -> None:
        self._bad_line(rng, rate, injected, used, "unknown_sku")

    def _bad_totals_mismatch(self, rng: random.Random, rate: float, injected: list[dict], _used: set[int]) -> None:
        orders = self.rows["orders"]
        for i in self._pick_orders(rng, rate, list(range(self.n_orders))):
            row = orders[i]
            delta = rng.choice((1.0, 5.0, 9.99, 10.0, 25.5, 100.0))
            if row["total_paid_tax_incl"] > delta * 2 and rng.random() < 0.5:
                delta = -delta
            before = row["total_paid_tax_incl"]
            row["total_paid_tax_incl"] = round(before + delta, 2)
            injected.append({"entity": "orders", "id": i + 1, "kind": "totals_mismatch",
                             "detail": f"total_paid_tax_incl {row['total_paid_tax_incl']:.2f}, lines say {before:.2f}"})

    def _bad_duplicate_cart(self, rng: random.Random, rate: float, injected: list[dict], _used: set[int]) -> None:
        orders = self.rows["orders"]
        eligible = [i for i in range(self.n_orders) if self.split_of[i] < 0
                    and not (i + 1 < self.n_orders and self.split_of[i + 1] == i)]
        pairs = min(len(eligible) // 2, max(1, self._how_many(rate, self.n_orders, len(eligible)) // 2))
        chosen = rng.sample(eligible, pairs * 2)
        for a, b in sorted(tuple(sorted(chosen[k:k + 2])) for k in range(0, len(chosen), 2)):
            cart = orders[a]["id_cart"]
            orders[b]["id_cart"] = cart
            for i, other in ((a, b), (b, a)):
                injected.append({"entity": "orders", "id": i + 1, "kind": "duplicate_cart",
                                 "detail": f"id_cart {cart} also used by order {other + 1} "
                                           f"(reference {orders[other]['reference']})"})

    def _bad_invalid_email(self, rng: random.Random, rate: float, injected: list[dict], _used: set[int]) -> None:
        customers = self.rows["customers"]
        n = len(customers)
        for c in sorted(rng.sample(range(n), self._how_many(rate, n, n))):
            row = customers[c]
            local, domain = row["email"].split("@", 1)
            if rng.random() < 0.5:
                row["email"] = f"{local}{domain}"
            else:
                cut = max(1, len(local) // 2)
                row["email"] = f"{local[:cut]} {local[cut:]}@{domain}"
            injected.append({"entity": "customers", "id": c + 1, "kind": "invalid_email",
                             "detail": f"email {row['email']!r}"})

    def _bad_empty_country(self, rng: random.Random, rate: float, injected: list[dict], _used: set[int]) -> None:
        addresses = self.rows["addresses"]
        n = len(addresses)
        for a in sorted(rng.sample(range(n), self._how_many(rate, n, n))):
            addresses[a]["id_country"] = 0
            injected.append({"entity": "addresses", "id": a + 1, "kind": "empty_country", "detail": "id_country 0"})

    def _bad_unicode_names(self, rng: random.Random, rate: float, injected: list[dict], _used: set[int]) -> None:
        customers, addresses = self.rows["customers"], self.rows["addresses"]
        n = len(customers)
        for c in sorted(rng.sample(range(n), self._how_many(rate, n, n))):
            first, last = rng.choice(_UNICODE_FIRSTNAMES), rng.choice(_UNICODE_LASTNAMES)
            customers[c].update(firstname=first, lastname=last)
            for aid in self.customers[c].addresses:
                addresses[aid - 1].update(firstname=first, lastname=last)
            injected.append({"entity": "customers", "id": c + 1, "kind": "unicode_names",
                             "detail": f"name {first!r} {last!r} (also on its addresses)"})

    def _bad_zero_dates(self, rng: random.Random, rate: float, injected: list[dict], _used: set[int]) -> None:
        orders = self.rows["orders"]
        eligible = [i for i in range(self.n_orders) if orders[i]["invoice_number"]]
        for i in self._pick_orders(rng, rate, eligible):
            row = orders[i]
            field = "delivery_date" if row["delivery_number"] and rng.random() < 0.5 else "invoice_date"
            number = row["delivery_number" if field == "delivery_date" else "invoice_number"]
            row[field] = ZERO_DATETIME
            injected.append({"entity": "orders", "id": i + 1, "kind": "zero_dates",
                             "detail": f"{field} {ZERO_DATETIME} although its number is {number}"})


def generate_shop(
    orders: int, seed: int, start: datetime, end: datetime, bad_rows: dict[str, float] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> GeneratedShop:
    """Build a whole shop (catalogue, customers, ``orders`` orders with their history) for one seed.

    Same arguments give byte-identical rows; ``bad_rows`` maps a kind of ``BAD_ROW_KINDS`` to the share of its
    records to spoil, and every spoiled record is listed in ``injected``. Dates are wall times of ``timezone``;
    a naive ``start``/``end`` is one too (a wall time the zone skips is refused, a repeated one is its first
    occurrence unless its ``fold`` is 1).
    """
    if orders < 0:
        raise ValueError(f"orders must be >= 0, got {orders}")
    tz = time_zone(timezone)
    if _ts(end, tz) < _ts(start, tz):
        raise ValueError(f"end {end} is before start {start}")
    # A million acyclic dicts would make the cyclic collector rescan the growing heap over and over (a third of
    # the run time at 100k orders) while finding nothing to free.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        builder = _Builder(orders, seed, start, end, tz)
        builder.build_reference()
        builder.build_catalogue()
        builder.build_orders()
        injected = builder.inject(bad_rows) if bad_rows else []
    finally:
        if gc_was_enabled:
            gc.enable()
    return GeneratedShop(rows=builder.rows, injected=injected)
