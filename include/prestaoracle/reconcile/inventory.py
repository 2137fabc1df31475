"""Inventory reconciliation: which PrestaShop ``stock_availables`` quantities must change to match Oracle.

Pure pandas over frames shaped like the staging tables (``ps_stock``, ``ora_onhand``, the ``sku`` pairs of
``xref``); the flow (``prestaoracle.flows.inventory``) reads them and writes the answer. The steps:

1. :func:`oracle_targets`: one target quantity per Oracle item, from the configured measure (available to reserve,
   falling back to on hand when Oracle gives none, or on hand), summed over the configured organizations, minus the
   safety buffer, floored at 0, in whole units. An item with a negative or missing quantity in any of those
   organizations is set aside as invalid: a partial sum would under-state its stock.
2. :func:`link_stock`: the Oracle item of each stock row: the binder pair ``id_product:id_product_attribute`` first,
   else the shop's reference, unless that reference names an item the binder gives to another row. Two rows reaching
   one item through their references are ambiguous: writing both would show the stock twice.
3. :func:`reconcile`: classify every stock row (write, unchanged, skipped with a reason, shop only) and list the
   Oracle items no row reaches (Oracle only).

Backorders: a row whose product may be ordered out of stock and whose shop quantity is negative counts units sold
beyond stock and not yet shipped. Oracle does not know them as stock: erasing the count with Oracle's 0 would throw
away the only record of what is owed, so such a row is kept (reason ``backorders_kept``) until Oracle has stock
again; then Oracle's figure is written, since the backordered orders are in Oracle by then and consume that stock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["MEASURES", "SKIP_REASONS", "InventoryRule", "Reconciliation", "link_stock", "oracle_targets",
           "reconcile", "restrict"]

MEASURES = ("available", "onhand")
OUT_OF_STOCK_DENY, OUT_OF_STOCK_ALLOW, OUT_OF_STOCK_DEFAULT = 0, 1, 2
SKIP_REASONS = {
    "combination_parent": "product-level row of a product with combinations: PrestaShop sums its combinations",
    "depends_on_stock": "advanced stock management computes this quantity (depends_on_stock=1)",
    "backorders_kept": "negative shop quantity counts open backorders and Oracle has no stock to replace it",
    "ambiguous_sku": "several stock rows carry this reference: bind one with the sku cross-reference",
    "invalid_oracle_quantity": "Oracle's quantity for this item is negative or missing (dead letter)",
}
"""Why a stock row that reaches an Oracle item is not written."""

STOCK_COLUMNS = ("id_stock_available", "id_product", "id_product_attribute", "sku", "quantity", "depends_on_stock",
                 "out_of_stock")
ONHAND_COLUMNS = ("org", "sku", "quantity", "available")
_EPSILON = 1e-9  # 2.9999999999 from a float column is 3 units, not 2


@dataclass(frozen=True)
class InventoryRule:
    """How Oracle's figures become a shop quantity (the flow's configuration, ``quantity`` section)."""

    measure: str = "available"
    orgs: tuple[str, ...] = ("M1",)
    safety_buffer: int = 0
    default_allows_backorders: bool = False
    """What ``out_of_stock=2`` (the shop's default policy, ``PS_ORDER_OUT_OF_STOCK``) means in this shop."""

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ValueError(f"quantity.measure must be one of {', '.join(MEASURES)}, not {self.measure!r}")
        if not self.orgs or any(not isinstance(o, str) or not o.strip() for o in self.orgs):
            raise ValueError(f"quantity.orgs must name at least one Oracle organization code, not {self.orgs!r}")
        if isinstance(self.safety_buffer, bool) or not isinstance(self.safety_buffer, int) or self.safety_buffer < 0:
            raise ValueError(f"quantity.safety_buffer must be a whole number of units >= 0, not {self.safety_buffer!r}")


@dataclass(frozen=True)
class Reconciliation:
    """Every stock row classified (``rows``), the Oracle items no row reaches, the Oracle rows set aside."""

    rows: pd.DataFrame
    """One row per stock row: ``section`` is write, unchanged, skipped or shop_only; ``reason`` for skipped."""
    oracle_only: pd.DataFrame
    """Oracle items (``item``, ``oracle_qty``, ``new_qty``, ``orgs``) that no stock row reaches."""
    invalid: pd.DataFrame
    """Oracle rows (``org``, ``sku``, ``quantity``, ``available``, ``problem``) whose quantity cannot be used."""
    counts: dict[str, int] = field(default_factory=dict)

    def section(self, name: str) -> pd.DataFrame:
        return self.rows[self.rows["section"] == name]

    @property
    def changes(self) -> pd.DataFrame:
        return self.section("write").sort_values("id_stock_available")

    @property
    def skipped(self) -> pd.DataFrame:
        return self.section("skipped")

    @property
    def shop_only(self) -> pd.DataFrame:
        return self.section("shop_only")


def _text(series: pd.Series) -> pd.Series:
    """Stripped strings with blanks as missing."""
    out = series.astype("string").str.strip()
    return out.mask(out == "")


def _org_lists(frame: pd.DataFrame, skus: pd.Index) -> pd.Series:
    """"M1,V1": the organizations holding each SKU, sorted. Built one organization at a time (a handful), not one
    SKU at a time: a Python join per group costs seconds on a million SKUs."""
    held = pd.crosstab(frame["sku"], frame["org"]).reindex(skus, fill_value=0) > 0
    text = pd.Series("", index=skus, dtype=object)
    for org in sorted(held.columns):
        text = text.where(~held[org], text.where(text == "", text + ",") + org)
    return text


def oracle_targets(onhand: pd.DataFrame, rule: InventoryRule) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(targets, invalid)``: per item ``oracle_qty`` (summed measure), ``new_qty`` (the shop quantity to write)
    and ``orgs``; and the rows of the configured organizations whose measure is negative or missing."""
    frame = onhand.loc[:, [c for c in (*ONHAND_COLUMNS, "last_update") if c in onhand.columns]].copy()
    frame["sku"] = _text(frame["sku"])
    frame = frame[frame["org"].isin(rule.orgs) & frame["sku"].notna()]
    quantity = pd.to_numeric(frame["quantity"], errors="coerce").astype("float64")
    available = pd.to_numeric(frame.get("available"), errors="coerce").astype("float64") \
        if "available" in frame.columns else pd.Series(np.nan, index=frame.index)
    # available to reserve when Oracle gives it, else on hand
    measured = available.where(available.notna(), quantity) if rule.measure == "available" else quantity
    frame["measured"] = measured
    bad = measured.isna() | (measured < 0)
    invalid = frame[bad].assign(problem=np.where(measured[bad].isna(), f"no {rule.measure} quantity",
                                                 f"negative {rule.measure} quantity"))
    bad_skus = set(invalid["sku"])
    good = frame[~frame["sku"].isin(bad_skus)]
    targets = good.groupby("sku", sort=True).agg(oracle_qty=("measured", "sum"))
    targets["orgs"] = _org_lists(good, targets.index)
    targets["new_qty"] = np.floor(targets["oracle_qty"] - rule.safety_buffer + _EPSILON).clip(lower=0).astype("int64")
    targets = targets.reset_index().rename(columns={"sku": "item"})
    return targets, invalid.drop(columns=["measured"]).reset_index(drop=True)


def link_stock(stock: pd.DataFrame, xref: pd.DataFrame, parents: pd.Series | None = None) -> pd.DataFrame:
    """``stock`` with ``item`` (the Oracle item), ``link`` (xref, reference or missing) and ``ambiguous``.

    ``xref`` has ``external_id`` ("id_product:id_product_attribute") and ``target_id`` (the item); ``parents`` marks
    the rows that are never written (product rows of products with combinations): they take no part in deciding
    whether a reference is ambiguous.
    """
    out = stock.copy()
    key = out["id_product"].astype("int64").astype(str) + ":" + out["id_product_attribute"].astype("int64").astype(str)
    pairs = xref.drop_duplicates("external_id").set_index("external_id")["target_id"].astype("string")
    bound = key.map(pairs).astype("string")
    reference = _text(out["sku"])
    # an item the binder gives to some row is not reached by another row's reference
    reference = reference.mask(reference.isin(set(pairs.astype(str))))
    out["item"] = bound.fillna(reference)
    out["link"] = np.where(bound.notna(), "xref", np.where(reference.notna(), "reference", None))
    parents = pd.Series(False, index=out.index) if parents is None else parents.reindex(out.index, fill_value=False)
    by_reference = (out["link"] == "reference") & ~parents
    reached = out.loc[by_reference | ((out["link"] == "xref") & ~parents), "item"]
    counts = reached.value_counts()
    out["ambiguous"] = by_reference & out["item"].map(counts).fillna(0).gt(1)
    return out


def reconcile(stock: pd.DataFrame, onhand: pd.DataFrame, xref: pd.DataFrame, rule: InventoryRule, *,
              products_with_combinations: Iterable[int] = ()) -> Reconciliation:
    """Classify every stock row against Oracle (module docstring). ``products_with_combinations``: ids of products
    that have combinations in the shop (rows of ``ps_combinations``), besides those seen in ``stock`` itself."""
    stock = stock.loc[:, list(STOCK_COLUMNS)].copy()
    for column in ("id_stock_available", "id_product", "id_product_attribute"):
        stock[column] = stock[column].astype("int64")
    with_combinations = set(stock.loc[stock["id_product_attribute"] > 0, "id_product"]) | {
        int(p) for p in products_with_combinations}
    parents = (stock["id_product_attribute"] == 0) & stock["id_product"].isin(with_combinations)
    targets, invalid = oracle_targets(onhand, rule)
    linked = link_stock(stock, xref, parents)
    rows = linked.merge(targets, how="left", on="item", validate="many_to_one")
    rows["shop_qty"] = pd.to_numeric(rows["quantity"], errors="coerce")
    rows["new_qty"] = rows["new_qty"].astype("Int64")
    policy = pd.to_numeric(rows["out_of_stock"], errors="coerce").fillna(OUT_OF_STOCK_DEFAULT)
    allows = (policy == OUT_OF_STOCK_ALLOW) | ((policy == OUT_OF_STOCK_DEFAULT) & rule.default_allows_backorders)
    depends = rows["depends_on_stock"].fillna(False).astype(bool)
    invalid_items = set(invalid["sku"])
    in_oracle = rows["new_qty"].notna()
    parent = parents.to_numpy()
    conditions = [
        parent,
        rows["item"].isin(invalid_items).to_numpy(),
        ~in_oracle.to_numpy(),
        rows["ambiguous"].to_numpy(),
        depends.to_numpy(),
        (allows & (rows["shop_qty"] < 0) & (rows["new_qty"] == 0)).fillna(False).to_numpy(dtype=bool),
        (rows["shop_qty"] == rows["new_qty"]).fillna(False).to_numpy(dtype=bool),
    ]
    rows["section"] = np.select(conditions, ["skipped", "skipped", "shop_only", "skipped", "skipped", "skipped",
                                             "unchanged"], default="write")
    rows["reason"] = np.select(conditions[:6], ["combination_parent", "invalid_oracle_quantity", "",
                                                "ambiguous_sku", "depends_on_stock", "backorders_kept"], default="")
    rows["reason"] = rows["reason"].replace("", None)
    rows["allows_backorders"] = allows
    reached = set(rows["item"].dropna())
    oracle_only = targets[~targets["item"].isin(reached)].reset_index(drop=True)
    rows = rows.drop(columns=["quantity"]).sort_values("id_stock_available").reset_index(drop=True)
    return Reconciliation(rows=rows, oracle_only=oracle_only, invalid=invalid,
                          counts=_counts(rows, oracle_only, invalid))


def _counts(rows: pd.DataFrame, oracle_only: pd.DataFrame, invalid: pd.DataFrame) -> dict[str, int]:
    counts = {name: int((rows["section"] == name).sum()) for name in ("write", "unchanged", "skipped", "shop_only")}
    counts.update(oracle_only=len(oracle_only), invalid=len(invalid))
    counts.update({f"skipped_{r}": int(n) for r, n in rows["reason"].value_counts().items()})
    return counts


def restrict(result: Reconciliation, *, items: Iterable[str], stock_ids: Sequence[int] = ()) -> Reconciliation:
    """Only what concerns ``items`` (Oracle items that changed) or ``stock_ids`` (rows whose last write failed):
    the delta run's share of a full reconciliation."""
    items = set(items)
    keep = result.rows["item"].isin(items) | result.rows["id_stock_available"].isin(set(stock_ids))
    rows = result.rows[keep].reset_index(drop=True)
    oracle_only = result.oracle_only[result.oracle_only["item"].isin(items)].reset_index(drop=True)
    invalid = result.invalid[result.invalid["sku"].isin(items)].reset_index(drop=True)
    return Reconciliation(rows=rows, oracle_only=oracle_only, invalid=invalid,
                          counts=_counts(rows, oracle_only, invalid))
