"""Oracle price-list prices against the shop's product and combination prices: what to write, what to hold.

Pure functions over DataFrames (no I/O), so the rules are tested on small hand-built frames and the flow
(:mod:`prestaoracle.flows.prices`) only feeds them from staging and applies the answer. The rules:

* **Which price.** One list: the one named in the configuration (by name or id), else the only list in the shop's
  currency. A line counts when it is valid at the run's instant (``start_date <= now < end_date``, open ends
  allowed). A list in another currency is converted with the given rate.
* **Which shop record.** An Oracle SKU prices the shop record bound to it in ``xref`` (``id_product:id_attribute``),
  else the combination, else the product carrying it as reference (the order of the ``prestashop_price`` mapping).
* **What to write.** A product gets its SKU's price (tax excluded). A combination stores an impact over its
  product's price, so its impact becomes its own SKU's price minus the price its product will have after this run
  (the new one when pushed, the old one when held or unpriced).
* **Tolerance.** Values within ``tolerance`` (half a cent) of each other are equal: nothing is written.
* **Guard rail.** A change of the price a customer sees by more than ``max_change_pct`` percent of the old price
  (or from an old price of 0) is held for review unless its SKU is approved. For a combination that is its full
  price (product + impact): an impact that only follows its product's new price changes nothing a customer sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

__all__ = ["COMBINATION", "PRODUCT", "PriceListError", "PriceReconciliation", "PriceRules", "reconcile_prices",
           "select_prices", "shop_items"]

PRODUCT = "products"
COMBINATION = "combinations"
DECIMALS = 6  # PrestaShop keeps prices with 6 decimals
NO_RECORD = "no shop product or combination carries this SKU"
NO_PRODUCT = ("the combination's product is not among the staged shop products (held by the quality gate): its "
              "impact cannot be computed; fix the product's dead letter")
"""``reason`` of a ``no_shop_product`` row."""
CHANGE_COLUMNS = ["resource", "id", "id_product", "sku", "shop_sku", "old", "new", "old_price", "new_price", "pct",
                  "action", "approved", "price_list"]


class PriceListError(ValueError):
    """The price list to use cannot be chosen or converted; the message says what to configure."""


@dataclass(frozen=True)
class PriceRules:
    """The operator's rules for one comparison."""

    currency: str
    """The shop's default currency: the prices written are in it."""
    price_list: str | None = None
    """Name or id of the list to use; None: the only list in ``currency``."""
    tolerance: float = 0.005
    max_change_pct: float = 20.0
    approve: frozenset[str] = frozenset()
    """SKUs whose change may pass the guard rail this time."""
    rates: Mapping[str, float] = field(default_factory=dict)
    """Shop-currency units per unit of another list currency (only needed when the list is not in ``currency``)."""


@dataclass(frozen=True)
class PriceReconciliation:
    """What one comparison found.

    ``changes``: one row per record to write or hold (products first, then combinations), columns
    :data:`CHANGE_COLUMNS`; ``old``/``new`` are the values the shop stores (a combination's impact), ``old_price``/
    ``new_price`` the prices a customer sees, ``action`` is ``push`` or ``held``. ``no_oracle_price``: shop records
    the list does not price. ``no_shop_product``: list prices no shop record carries, and priced combinations whose
    product is missing (``reason`` says which; the latter also have ``resource``, ``id``, ``id_product``).
    """

    price_list: str | None
    currency: str | None
    changes: pd.DataFrame
    no_oracle_price: pd.DataFrame
    no_shop_product: pd.DataFrame
    compared: int

    @property
    def pushed(self) -> pd.DataFrame:
        return self.changes[self.changes["action"] == "push"]

    @property
    def held(self) -> pd.DataFrame:
        return self.changes[self.changes["action"] == "held"]


def select_prices(prices: pd.DataFrame, *, rules: PriceRules, now: datetime) -> tuple[pd.DataFrame, str | None,
                                                                                         str | None]:
    """The chosen list's prices valid at ``now``, in the shop's currency: ``(frame[sku, oracle_price], list,
    currency)``.

    ``prices`` holds staged ``ora_prices`` rows (price_list, price_list_id, currency, sku, base_price, start_date,
    end_date) that passed the quality gate. Raises :class:`PriceListError` when the list is ambiguous, unknown or
    has no rate to the shop's currency.
    """
    frame = prices.copy()
    frame["currency"] = frame["currency"].astype("string").str.upper()
    ids = frame["price_list_id"].astype("Int64").astype("string") if "price_list_id" in frame else frame["price_list"]
    known = sorted(set(frame["price_list"].astype(str)))
    if rules.price_list is not None:
        wanted = str(rules.price_list)
        frame = frame[(frame["price_list"].astype(str) == wanted) | (ids == wanted).fillna(False)]
        if frame.empty:
            raise PriceListError(f"price list {wanted!r} is not in the staged Oracle prices (lists: "
                                 f"{', '.join(known) or 'none'}): fix price_list in the prices configuration")
    else:
        frame = frame[frame["currency"] == rules.currency.upper()]
        lists = sorted(set(frame["price_list"].astype(str)))
        if len(lists) > 1:
            raise PriceListError(f"several Oracle price lists are in {rules.currency}: {', '.join(lists)}; name the "
                                 "one the shop sells from with price_list in the prices configuration")
        if not lists:
            raise PriceListError(f"no staged Oracle price list is in the shop currency {rules.currency} (lists: "
                                 f"{', '.join(known) or 'none'}): name one with price_list in the prices "
                                 "configuration, or stage the Oracle prices")
    price_list = str(frame["price_list"].iloc[0])
    at = pd.Timestamp(now)
    at = at.tz_convert("UTC").tz_localize(None) if at.tzinfo is not None else at  # staging keeps naive UTC
    start = pd.to_datetime(frame["start_date"])
    end = pd.to_datetime(frame["end_date"])
    valid = (start.isna() | (start <= at)) & (end.isna() | (at < end))
    frame = frame[valid.to_numpy()]
    currencies = sorted(set(frame["currency"].dropna()))
    rate = pd.Series(1.0, index=frame.index)
    other = frame["currency"] != rules.currency.upper()
    if other.any():
        table = {str(k).upper(): float(v) for k, v in rules.rates.items()}
        missing = sorted(set(frame.loc[other, "currency"]) - set(table))
        if missing:
            raise PriceListError(f"price list {price_list!r} is in {', '.join(missing)}, the shop in "
                                 f"{rules.currency}, and no rate converts it: add one to the mapping configuration "
                                 "(rates) or name a list in the shop currency")
        rate[other] = frame.loc[other, "currency"].map(table).astype(float)
    out = pd.DataFrame({
        "sku": frame["sku"].astype(str).str.strip(),
        "oracle_price": (pd.to_numeric(frame["base_price"]).astype(float) * rate).round(DECIMALS),
        "start": start[valid.to_numpy()],
    })
    # One line per SKU: the one that started last wins (a list normally has one valid line per item).
    out = out.sort_values(["sku", "start"], na_position="first").drop_duplicates("sku", keep="last")
    return out[["sku", "oracle_price"]].reset_index(drop=True), price_list, (currencies[0] if currencies else None)


def shop_items(products: pd.DataFrame, combinations: pd.DataFrame, xref: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per shop product and combination with the Oracle SKU that prices it.

    ``products``: id_product, sku, price; ``combinations``: id_product_attribute, id_product, sku, price (the
    impact); ``xref``: the binder's ``sku`` pairs (external_id ``id_product:id_product_attribute``, target_id the
    Oracle SKU). Columns: resource, id, id_product, shop_sku, oracle_sku, old (the stored value), product_old.
    """
    product_price = pd.to_numeric(products["price"]).astype(float).fillna(0.0)
    prods = pd.DataFrame({
        "resource": PRODUCT, "id": products["id_product"].astype("int64"),
        "id_product": products["id_product"].astype("int64"), "id_attribute": 0,
        "shop_sku": products["sku"], "old": product_price, "product_old": product_price,
    })
    combs = pd.DataFrame({
        "resource": COMBINATION, "id": combinations["id_product_attribute"].astype("int64"),
        "id_product": combinations["id_product"].astype("int64"),
        "id_attribute": combinations["id_product_attribute"].astype("int64"),
        "shop_sku": combinations["sku"], "old": pd.to_numeric(combinations["price"]).astype(float).fillna(0.0),
    })
    combs = combs.merge(prods[["id_product", "product_old"]], on="id_product", how="left")
    items = pd.concat([prods, combs], ignore_index=True)
    items["shop_sku"] = items["shop_sku"].astype("string").str.strip().replace("", pd.NA)
    items["key"] = items["id_product"].astype(str) + ":" + items["id_attribute"].astype(str)
    bound = pd.Series(dtype="string")
    if xref is not None and not xref.empty:
        bound = pd.Series(xref["target_id"].astype("string").to_numpy(), index=xref["external_id"].astype(str))
    items["oracle_sku"] = items["key"].map(bound).astype("string")
    # By reference only when the binder gives the SKU to no one, and a combination wins over a product.
    by_ref = items["oracle_sku"].isna() & ~items["shop_sku"].isin(set(bound.dropna()))
    by_ref &= ~((items["resource"] == PRODUCT)
                & items["shop_sku"].isin(set(items.loc[items["resource"] == COMBINATION, "shop_sku"].dropna())))
    items["oracle_sku"] = items["oracle_sku"].where(~by_ref, items["shop_sku"])
    return items.drop(columns=["key", "id_attribute"])


def reconcile_prices(items: pd.DataFrame, prices: pd.DataFrame, *, rules: PriceRules, price_list: str | None = None,
                     currency: str | None = None) -> PriceReconciliation:
    """Compare :func:`shop_items` with :func:`select_prices`'s frame under ``rules`` (see the module docstring)."""
    approve = {str(s).strip() for s in rules.approve}
    merged = items.merge(prices, left_on="oracle_sku", right_on="sku", how="left").drop(columns="sku")
    priced = merged["oracle_price"].notna()
    is_product = merged["resource"] == PRODUCT

    prod = merged[is_product].copy()
    prod["new_price"] = prod["oracle_price"]
    prod["old_price"] = prod["old"]
    prod["new"] = prod["oracle_price"]
    prod["changed"] = prod["oracle_price"].notna() & ((prod["new"] - prod["old"]).abs().round(DECIMALS)
                                                      > rules.tolerance)
    prod = _guard(prod, rules, approve)
    prod["effective"] = np.where(prod["changed"] & (prod["action"] == "push"), prod["new"], prod["old"])

    comb = merged[~is_product].merge(prod[["id_product", "effective"]], on="id_product", how="left")
    comb["old_price"] = (comb["product_old"] + comb["old"]).round(DECIMALS)
    comb["new_price"] = comb["oracle_price"]
    comb["new"] = (comb["oracle_price"] - comb["effective"]).round(DECIMALS)
    comb["changed"] = comb["new"].notna() & ((comb["new"] - comb["old"]).abs().round(DECIMALS) > rules.tolerance)
    comb = _guard(comb, rules, approve)

    changes = pd.concat([prod[prod["changed"]], comb[comb["changed"]]], ignore_index=True)
    changes["sku"] = changes["oracle_sku"]
    changes["price_list"] = price_list
    changes["order"] = (changes["resource"] == COMBINATION).astype(int)
    changes = changes.sort_values(["order", "id_product", "id"]).reset_index(drop=True)[CHANGE_COLUMNS]

    missing = merged[~priced].sort_values(["id_product", "resource", "id"], ascending=[True, False, True])
    no_oracle_price = missing.assign(sku=missing["oracle_sku"])[["sku", "resource", "id", "id_product", "shop_sku"]]
    unmatched = prices[~prices["sku"].isin(set(items["oracle_sku"].dropna()))].sort_values("sku")
    unmatched = unmatched.assign(reason=NO_RECORD)
    # A priced combination whose product is not among the shop's products (it did not pass the quality gate): its
    # impact has no base to be computed from, so it is not compared; say so rather than drop it.
    orphans = comb[comb["product_old"].isna() & comb["oracle_price"].notna()].sort_values(["id_product", "id"])
    orphans = orphans.assign(sku=orphans["oracle_sku"], reason=NO_PRODUCT)
    no_shop_product = pd.concat([unmatched, orphans[["sku", "oracle_price", "resource", "id", "id_product",
                                                     "shop_sku", "reason"]]], ignore_index=True)
    return PriceReconciliation(price_list=price_list, currency=currency, changes=changes.reset_index(drop=True),
                               no_oracle_price=no_oracle_price.reset_index(drop=True),
                               no_shop_product=no_shop_product.assign(price_list=price_list),
                               compared=int(priced.sum()) - len(orphans))


def _guard(frame: pd.DataFrame, rules: PriceRules, approve: Iterable[str]) -> pd.DataFrame:
    """``pct``, ``approved`` and ``action`` of each changed row (the guard rail on the price a customer sees)."""
    approve = set(approve)
    moved = (frame["new_price"] - frame["old_price"]).abs().round(DECIMALS)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(frame["old_price"] > 0, moved / frame["old_price"].where(frame["old_price"] > 0) * 100,
                       np.inf)
    frame["pct"] = np.where(moved > rules.tolerance, np.round(pct, DECIMALS), 0.0)
    over = frame["changed"] & (frame["pct"] > rules.max_change_pct)
    frame["approved"] = over & (frame["oracle_sku"].isin(approve) | frame["shop_sku"].isin(approve))
    frame["action"] = np.where(over & ~frame["approved"], "held", "push")
    return frame
