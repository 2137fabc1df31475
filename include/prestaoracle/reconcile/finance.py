"""Shop payments and refunds against Oracle receivables, item by item, for whole business days.

Why business days: Oracle dates receipts and credit memos with a calendar date and no time, in the merchant's own
calendar, while the shop stamps payments with an instant. So each shop instant is turned into the date it had in the
ledger's time zone (the shop's) before anything is compared; comparing UTC dates would move every payment made after
local midnight but before UTC midnight into the wrong day.

Matching keys (see docs/finance-recon.md):

* a payment and a receipt belong together when they name the same shop order reference in the same currency (the
  receipt names it in its reference text, or names the invoice whose PurchaseOrder is the shop reference);
* a refund (order slip) and a credit memo belong together when the credit memo's PurchaseOrder is the reference of
  the slip's order, in the same currency;
* within one order, kind and currency, records pair one to one, never more than ``timing_days`` apart: first those
  with the same amount (nearest dates first), then the rest by nearest date whatever the amount. So one missing
  record does not shift its neighbours, and a receipt entered twice leaves one of them alone;
* when an order's shop records and Oracle records of one kind and currency add up to the same total within
  ``timing_days``, it was split differently on each side (two payments, one receipt): no break.

A pair dated on the same day is ``matched`` or ``amount_mismatch``; dated on different days it is an
``amount_mismatch`` when the amounts differ, else a ``timing_difference``; a record left alone is
``missing_in_oracle`` / ``missing_in_shop``.
Everything here is a pure function over DataFrames; the flow does the reading and writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = [
    "ITEM_COLUMNS",
    "ORACLE_COLUMNS",
    "SHOP_COLUMNS",
    "STATUSES",
    "UNEXPLAINED",
    "Tolerances",
    "business_days",
    "business_dates",
    "credit_memo_side",
    "payment_side",
    "receipt_side",
    "reconcile",
    "refund_side",
    "provisional",
    "split_invalid",
    "summarize",
    "unexplained",
]

STATUSES = ("matched", "amount_mismatch", "missing_in_oracle", "missing_in_shop", "timing_difference")
UNEXPLAINED = ("amount_mismatch", "missing_in_oracle", "missing_in_shop")
"""Breaks someone has to look at; a timing difference explains itself (the counterpart is on another day)."""

SHOP_COLUMNS = ("kind", "shop_key", "order_reference", "id_order", "currency", "shop_amount", "shop_date", "shop_day")
ORACLE_COLUMNS = ("kind", "oracle_key", "oracle_ref", "order_reference", "currency", "oracle_amount", "oracle_day")
ITEM_COLUMNS = ("interval_start", "item_key", "interval_end", "kind", "status", "order_reference", "id_order",
                "oracle_order_number", "oracle_ref", "currency", "shop_amount", "oracle_amount", "difference",
                "shop_date", "oracle_date", "explanation")

# Case-insensitive: people type "Order ABC" and "ORDER ABC" as often as "order ABC".
_ORDER_IN_TEXT = r"(?i)\border\s+([A-Za-z0-9_-]+)"
_INVOICE_IN_TEXT = r"(?i)\binvoice\s+([A-Za-z0-9_-]+)"


@dataclass(frozen=True)
class Tolerances:
    """``amount``: largest absolute difference still counted equal, in the item's currency; ``timing_days``: how
    many days apart a counterpart may be dated and still explain the item."""

    amount: float = 0.01
    timing_days: int = 3

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError(f"amount tolerance must be >= 0, got {self.amount}")
        if self.timing_days < 0:
            raise ValueError(f"timing_days must be >= 0, got {self.timing_days}")


# ------------------------------------------------------------------------------------------------ dates


def business_days(start: datetime, end: datetime) -> list[date]:
    """The business dates a data interval covers: those whose midnight (as a UTC wall time) lies in
    ``[start, end)``; at least the date of ``start``, so an interval shorter than a day still names one day."""
    first = pd.Timestamp(start).tz_localize(None) if pd.Timestamp(start).tzinfo is None else \
        pd.Timestamp(start).tz_convert("UTC").tz_localize(None)
    last = pd.Timestamp(end).tz_localize(None) if pd.Timestamp(end).tzinfo is None else \
        pd.Timestamp(end).tz_convert("UTC").tz_localize(None)
    if last < first:
        raise ValueError(f"interval end {end} is before its start {start}")
    days = pd.date_range(first.ceil("D"), last, freq="D", inclusive="left")
    return [d.date() for d in days] or [first.normalize().date()]


def business_dates(instants: pd.Series, tz: str | ZoneInfo) -> pd.Series:
    """Naive UTC instants → the calendar date (midnight, naive) they had in ``tz``."""
    values = pd.to_datetime(instants, errors="coerce")
    zone = tz if isinstance(tz, str) else tz.key
    return values.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()


# ------------------------------------------------------------------------------------------------ input checks


def split_invalid(frame: pd.DataFrame, *, key: str, required: Sequence[str], amount: str,
                  date_column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(good, bad)``: ``bad`` holds the rows that cannot be reconciled, with a ``problem`` text each (missing order
    reference or currency, an amount that is not a number, no date); duplicates of ``key`` keep their last row."""
    frame = frame.drop_duplicates(subset=[key], keep="last").copy()
    numeric = pd.to_numeric(frame[amount], errors="coerce")
    dates = pd.to_datetime(frame[date_column], errors="coerce")
    problem = pd.Series("", index=frame.index, dtype=object)
    for column in required:
        empty = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        problem = problem.mask(empty & (problem == ""), f"no {column}")
    problem = problem.mask(numeric.isna() & (problem == ""), f"{amount} is not a number")
    problem = problem.mask(dates.isna() & (problem == ""), f"no {date_column}")
    frame[amount] = numeric
    frame[date_column] = dates
    bad = frame[problem != ""].assign(problem=problem[problem != ""])
    return frame[problem == ""], bad


# ------------------------------------------------------------------------------------------------ the two sides


def payment_side(payments: pd.DataFrame, tz: str | ZoneInfo) -> pd.DataFrame:
    """Shop side from ``ps_order_payments`` rows (id_order_payment, order_reference, currency_iso, amount, date_add)
    and ``id_order`` when known."""
    out = pd.DataFrame({
        "kind": "payment",
        "shop_key": "payment:" + payments["id_order_payment"].astype("int64").astype(str),
        "order_reference": payments["order_reference"].astype(str).str.strip(),
        "id_order": payments.get("id_order", np.nan),
        "currency": payments["currency_iso"].astype(str).str.upper(),
        "shop_amount": payments["amount"].astype(float),
        "shop_date": pd.to_datetime(payments["date_add"]),
    }, index=payments.index)
    out["shop_day"] = business_dates(out["shop_date"], tz)
    return out.reset_index(drop=True)[list(SHOP_COLUMNS)]


def refund_side(slips: pd.DataFrame, orders: pd.DataFrame, tz: str | ZoneInfo) -> pd.DataFrame:
    """Shop side from ``ps_order_slips`` (id_order_slip, id_order, amount, date_add) and their orders
    (``ps_orders``: id_order, reference, currency_iso). A slip of an order not staged has no reference."""
    joined = slips.merge(orders[["id_order", "reference", "currency_iso"]], on="id_order", how="left")
    out = pd.DataFrame({
        "kind": "refund",
        "shop_key": "refund:" + joined["id_order_slip"].astype("int64").astype(str),
        "order_reference": joined["reference"].astype(str).str.strip(),
        "id_order": joined["id_order"],
        "currency": joined["currency_iso"].astype(str).str.upper(),
        "shop_amount": joined["amount"].astype(float),
        "shop_date": pd.to_datetime(joined["date_add"]),
    })
    out["shop_day"] = business_dates(out["shop_date"], tz)
    return out[list(SHOP_COLUMNS)]


def receipt_orders(receipts: pd.DataFrame, invoices: pd.DataFrame) -> pd.Series:
    """The shop order reference each receipt pays: named in its reference text ("… order ABCDEFGHI …"), else through
    the invoice it names ("Payment of invoice 110023") and that invoice's PurchaseOrder. ``None`` when neither."""
    text = receipts["reference"].fillna("").astype(str)
    named = text.str.extract(_ORDER_IN_TEXT, expand=False)
    invoice_no = text.str.extract(_INVOICE_IN_TEXT, expand=False)
    by_number = (invoices.dropna(subset=["transaction_number"])
                 .drop_duplicates("transaction_number", keep="last")
                 .set_index("transaction_number")["purchase_order"])
    via_invoice = invoice_no.map(by_number)
    return named.astype(object).fillna(via_invoice.astype(object)).where(lambda s: s.notna(), None)


def receipt_side(receipts: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Oracle side from ``ora_receipts`` (cash_receipt_id, receipt_number, receipt_date, amount, currency, reference)
    and ``ora_invoices`` (transaction_number, purchase_order) to resolve invoice references."""
    out = pd.DataFrame({
        "kind": "payment",
        "oracle_key": "receipt:" + receipts["cash_receipt_id"].astype("int64").astype(str),
        "oracle_ref": receipts["receipt_number"].astype(str),
        "order_reference": receipt_orders(receipts, invoices),
        "currency": receipts["currency"].astype(str).str.upper(),
        "oracle_amount": receipts["amount"].astype(float),
        "oracle_day": pd.to_datetime(receipts["receipt_date"]).dt.normalize(),
    }, index=receipts.index)
    return out.reset_index(drop=True)[list(ORACLE_COLUMNS)]


def credit_memo_side(invoices: pd.DataFrame, credit_memo_type: str = "Credit Memo") -> pd.DataFrame:
    """Oracle side of refunds: the receivables transactions of type ``credit_memo_type``; Oracle keeps a credit memo's
    amount negative, the shop's slip positive, so the amount is turned around."""
    memos = invoices[invoices["transaction_type"].fillna("").str.casefold() == credit_memo_type.casefold()]
    out = pd.DataFrame({
        "kind": "refund",
        "oracle_key": "credit_memo:" + memos["customer_trx_id"].astype("int64").astype(str),
        "oracle_ref": memos["transaction_number"].astype(str),
        "order_reference": memos["purchase_order"],
        "currency": memos["currency"].astype(str).str.upper(),
        "oracle_amount": -memos["entered_amount"].astype(float),
        "oracle_day": pd.to_datetime(memos["transaction_date"]).dt.normalize(),
    }, index=memos.index)
    return out.reset_index(drop=True)[list(ORACLE_COLUMNS)]


# ------------------------------------------------------------------------------------------------ matching


def _ordered(frame: pd.DataFrame, day: str, key: str) -> pd.DataFrame:
    """The frame in time order (day, the shop's instant on that side, the record's number) with its position."""
    frame = frame.assign(_ref=frame["order_reference"].fillna("").astype(str),
                         _seq=pd.to_numeric(frame[key].str.extract(r"(\d+)$", expand=False), errors="coerce"))
    frame = frame.sort_values([day, *(["shop_date"] if "shop_date" in frame else []), "_seq", key], kind="mergesort")
    return frame.assign(_pos=np.arange(len(frame))).reset_index(drop=True)


def _greedy(candidates: pd.DataFrame) -> pd.DataFrame:
    """Best-first one-to-one pairing of sorted candidates: each round takes every candidate that is the first choice
    of both its records (the very first row always is), then drops the records it used. The same as taking the
    candidates one by one, but a round per choice depth instead of a step per row."""
    taken = []
    while len(candidates):
        first = ~candidates["shop_key"].duplicated() & ~candidates["oracle_key"].duplicated()
        chosen = candidates[first]
        taken.append(chosen[["shop_key", "oracle_key"]])
        candidates = candidates[~candidates["shop_key"].isin(chosen["shop_key"])
                                & ~candidates["oracle_key"].isin(chosen["oracle_key"])]
    if not taken:
        return pd.DataFrame({"shop_key": pd.Series(dtype=object), "oracle_key": pd.Series(dtype=object)})
    return pd.concat(taken, ignore_index=True).astype(object)


def _match(left: pd.DataFrame, right: pd.DataFrame, tol: Tolerances) -> pd.DataFrame:
    """(shop_key, oracle_key) pairs of one order, kind and currency, dated at most ``timing_days`` apart: first the
    pairs with the same amount (nearest in time first), then among the rest the nearest in time whatever the amount.
    A missing record therefore leaves the others paired with their own counterparts."""
    keys = ["kind", "_ref", "currency"]
    text = {k: object for k in keys}  # pandas cannot merge empty pyarrow-backed string keys (a day with nothing)
    cand = (left.loc[left["_ref"] != "", [*keys, "shop_key", "shop_amount", "shop_day", "_pos"]].astype(text)
            .merge(right.loc[right["_ref"] != "", [*keys, "oracle_key", "oracle_amount", "oracle_day", "_pos"]]
                   .astype(text), on=keys, suffixes=("_l", "_r")))
    cand["_gap"] = (cand["oracle_day"] - cand["shop_day"]).dt.days.abs()
    cand["_diff"] = (cand["oracle_amount"] - cand["shop_amount"]).abs().round(6)
    cand = cand[cand["_gap"] <= tol.timing_days]
    same = cand["_diff"] <= tol.amount + 1e-9
    exact = _greedy(cand[same].sort_values(["_gap", "_pos_l", "_pos_r"], kind="mergesort"))
    rest = cand[~cand["shop_key"].isin(exact["shop_key"]) & ~cand["oracle_key"].isin(exact["oracle_key"])]
    near = _greedy(rest.sort_values(["_gap", "_diff", "_pos_l", "_pos_r"], kind="mergesort"))
    return pd.concat([exact, near], ignore_index=True)


def _pairs(shop: pd.DataFrame, oracle: pd.DataFrame, tol: Tolerances) -> pd.DataFrame:
    """Every record once: paired with its counterpart, or alone; with its status."""
    # The same record read twice (overlapping extractions) is one record.
    # Plain objects as keys: pandas cannot merge empty pyarrow-backed string columns (a day without any record).
    text = {"kind": object, "currency": object}
    left = _ordered(shop.drop_duplicates("shop_key", keep="last").astype(text | {"shop_key": object}),
                    "shop_day", "shop_key")
    right = _ordered(oracle.drop_duplicates("oracle_key", keep="last").astype(text | {"oracle_key": object}),
                     "oracle_day", "oracle_key")
    matched = _match(left, right, tol)
    right = right.drop(columns=["order_reference", "_seq", "_pos"]).rename(columns={"_ref": "_oref"})
    left = left.drop(columns=["_seq"])
    pairs = (left.merge(matched, on="shop_key", how="left")
             .merge(right, on="oracle_key", how="outer", suffixes=("", "_o")))
    for column in ("kind", "currency"):
        pairs[column] = pairs[column].fillna(pairs.pop(f"{column}_o"))
    pairs["_ref"] = pairs["_ref"].fillna(pairs.pop("_oref"))
    pairs["order_reference"] = pairs["order_reference"].fillna(pairs["_ref"].replace("", None))
    # Shop records first in their time order, then Oracle records alone in theirs: a stable order for the items.
    pairs = pairs.sort_values(["_pos", "oracle_day", "oracle_key"], kind="mergesort", na_position="last")
    both = pairs["shop_key"].notna() & pairs["oracle_key"].notna()
    gap = (pairs["oracle_day"] - pairs["shop_day"]).dt.days
    difference = (pairs["oracle_amount"] - pairs["shop_amount"]).round(6)
    same_amount = difference.abs() <= tol.amount + 1e-9
    pairs["difference"] = difference.where(both)
    pairs["status"] = np.select(
        [both & ~same_amount, both & (gap == 0), both, pairs["shop_key"].notna()],
        ["amount_mismatch", "matched", "timing_difference", "missing_in_oracle"],
        default="missing_in_shop")
    pairs["gap"] = gap
    return _settle_split(pairs.reset_index(drop=True), tol)


def _settle_split(pairs: pd.DataFrame, tol: Tolerances) -> pd.DataFrame:
    """An order paid in parts against one receipt (or the other way round): when the order's shop records and its
    Oracle records of one kind and currency add up to the same total, dated at most ``timing_days`` apart, its
    breaks are not breaks. They become ``matched`` (all on one day) or ``timing_difference``."""
    keys = ["kind", "_ref", "currency"]
    pairs = pairs.astype({k: object for k in keys})
    named = pairs[pairs["_ref"] != ""]
    days = pd.concat([named[[*keys, "shop_day"]].rename(columns={"shop_day": "_day"}),
                      named[[*keys, "oracle_day"]].rename(columns={"oracle_day": "_day"})]).dropna(subset=["_day"])
    if len(days):
        bounds = days.groupby(keys, sort=False)["_day"].agg(["min", "max"])
        span = (bounds["max"] - bounds["min"]).dt.days
    else:
        span = None
    totals = named.groupby(keys, sort=False).agg(
        _shop_total=("shop_amount", "sum"), _oracle_total=("oracle_amount", "sum"),
        _shops=("shop_key", "count"), _oracles=("oracle_key", "count"))
    if span is None or totals.empty:
        pairs["split"] = False
        return pairs
    totals["_span"] = span
    agree = totals[(totals["_shops"] > 0) & (totals["_oracles"] > 0)
                   & ((totals["_shop_total"] - totals["_oracle_total"]).abs().round(6) <= tol.amount + 1e-9)
                   & (totals["_span"] <= tol.timing_days)]
    flagged = pairs.merge(agree.reset_index(), on=keys, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    breaks = pairs["status"].isin(UNEXPLAINED).to_numpy()
    settle = flagged & breaks
    agreed = pairs[keys].merge(agree.reset_index(), on=keys, how="left")
    span_of = agreed["_span"].to_numpy()
    pairs["split"] = settle
    # The order's difference, not the part's: a 50 paid against a 100 receipt is not 50 off.
    pairs["difference"] = np.where(settle, (agreed["_oracle_total"] - agreed["_shop_total"]).round(6).to_numpy(),
                                   pairs["difference"])
    pairs["status"] = np.where(settle, np.where(span_of == 0, "matched", "timing_difference"), pairs["status"])
    return pairs


def _explain(items: pd.DataFrame) -> pd.Series:
    side = np.where(items["kind"] == "payment", "receipt", "credit memo")
    shop_word = np.where(items["kind"] == "payment", "payment", "refund")
    gap_text = items["gap"].abs().astype("Int64").astype(str)
    # Formatted only where shown (the mismatches, a few): formatting every row costs more than the whole matching.
    shown = (items["status"] == "amount_mismatch") & items["difference"].notna()
    amount_text = pd.Series("", index=items.index, dtype=object)
    amount_text[shown] = items.loc[shown, "difference"].map("{:+.2f}".format)
    split = items["split"].fillna(False).astype(bool) if "split" in items else pd.Series(False, index=items.index)
    return pd.Series(np.select(
        [split, items["status"] == "matched", items["status"] == "amount_mismatch",
         items["status"] == "timing_difference", items["status"] == "missing_in_oracle"],
        ["the order's shop " + pd.Series(shop_word, index=items.index) + "s and Oracle "
         + pd.Series(side, index=items.index) + "s add up to the same total (split differently)",
         pd.Series(side, index=items.index) + " agrees",
         "Oracle differs by " + amount_text + " " + items["currency"].fillna(""),
         pd.Series(side, index=items.index) + " and shop " + pd.Series(shop_word, index=items.index)
         + " are dated " + gap_text + " day(s) apart",
         pd.Series("no " + side, index=items.index) + " in Oracle for this shop "
         + pd.Series(shop_word, index=items.index)],
        default=pd.Series("no shop " + shop_word, index=items.index) + " for this Oracle "
        + pd.Series(side, index=items.index)), index=items.index)


def reconcile(shop: pd.DataFrame, oracle: pd.DataFrame, *, days: Sequence[date],
              tolerances: Tolerances = Tolerances(),
              order_numbers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Items (``ITEM_COLUMNS``) of the business ``days``: every shop record and every Oracle record dated on one of
    them, classified; a pair dated the same day is one item (keyed by the shop record), a pair split across days is
    one item on each side's day. ``shop``/``oracle`` are the frames of the ``*_side`` functions and should hold
    every record of the orders the days touch, whatever their date: the pairing then does not depend on which other
    days are reconciled with them.
    ``order_numbers`` (order_reference, oracle_order_number) names the Oracle sales order of each item."""
    pairs = _pairs(shop, oracle, tolerances)
    wanted = pd.DatetimeIndex(pd.to_datetime(list(days))).normalize()
    shop_in = pairs["shop_key"].notna() & pairs["shop_day"].isin(wanted)
    oracle_in = pairs["oracle_key"].notna() & pairs["oracle_day"].isin(wanted)
    one_item = pairs["shop_key"].notna() & pairs["oracle_key"].notna() & (pairs["gap"] == 0)
    shop_items = pairs[shop_in].assign(item_key=lambda f: f["shop_key"], interval_start=lambda f: f["shop_day"])
    oracle_items = pairs[oracle_in & ~(one_item & shop_in)].assign(
        item_key=lambda f: f["oracle_key"], interval_start=lambda f: f["oracle_day"])
    items = pd.concat([shop_items, oracle_items], ignore_index=True)
    if order_numbers is not None and len(order_numbers):
        numbers = order_numbers.dropna(subset=["order_reference"]).drop_duplicates("order_reference", keep="last")
        items = items.merge(numbers[["order_reference", "oracle_order_number"]], on="order_reference", how="left")
    else:
        items["oracle_order_number"] = None
    items["interval_end"] = items["interval_start"] + timedelta(days=1)
    items["oracle_date"] = items["oracle_day"]
    items["explanation"] = _explain(items) if len(items) else pd.Series(dtype=object)
    items["id_order"] = pd.to_numeric(items["id_order"], errors="coerce").astype("Int64")
    out = items.reindex(columns=list(ITEM_COLUMNS))
    return out.sort_values(["interval_start", "kind", "item_key"], kind="mergesort").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ summary


def _break_amount(items: pd.DataFrame) -> pd.Series:
    """What a break is worth: the difference of a mismatch, the whole amount of a missing record."""
    return np.select([items["status"] == "amount_mismatch", items["status"] == "missing_in_oracle",
                      items["status"] == "missing_in_shop"],
                     [items["difference"].abs(), items["shop_amount"].abs(), items["oracle_amount"].abs()],
                     default=0.0)


def summarize(items: pd.DataFrame) -> pd.DataFrame:
    """Counts and amounts per (currency, status): ``count``, ``shop_amount``, ``oracle_amount``, ``break_amount``."""
    frame = items.assign(break_amount=_break_amount(items) if len(items) else 0.0,
                         currency=items["currency"].fillna("?"))
    grouped = frame.groupby(["currency", "status"], sort=True).agg(
        count=("item_key", "size"), shop_amount=("shop_amount", "sum"), oracle_amount=("oracle_amount", "sum"),
        break_amount=("break_amount", "sum"))
    return grouped.round(2).reset_index()


def provisional(items: pd.DataFrame, *, end: date, timing_days: int) -> pd.Series:
    """Which items are missing a counterpart that may still come: ``missing_in_*`` dated within ``timing_days`` of
    the interval ``end`` (exclusive), whose counterpart may be dated on or after ``end`` and so is not staged yet."""
    if not len(items):
        return pd.Series(False, index=items.index, dtype=bool)
    limit = pd.Timestamp(end) - pd.Timedelta(days=timing_days)
    return (items["status"].isin(("missing_in_oracle", "missing_in_shop"))
            & (pd.to_datetime(items["interval_start"]) >= limit))


def unexplained(items: pd.DataFrame, *, exclude: pd.Series | None = None) -> tuple[int, float]:
    """How many unexplained breaks the items hold and what they are worth in total (all currencies added up, as a
    rough size for the alert threshold). A pair split over two days of the items is two items but one break:
    counted once. ``exclude``: a mask of items not to count (the provisional ones)."""
    breaks = items[items["status"].isin(UNEXPLAINED) & (True if exclude is None else ~exclude)]
    if not len(breaks):
        return 0, 0.0
    paired = breaks["shop_amount"].notna() & breaks["oracle_amount"].notna()
    # Both items of one pair name the same shop instant and the same Oracle document and date.
    pair = (breaks["kind"].astype(str) + "|" + breaks["order_reference"].astype(str) + "|"
            + breaks["currency"].astype(str) + "|" + breaks["shop_date"].astype(str) + "|"
            + breaks["oracle_ref"].astype(str) + "|" + breaks["oracle_date"].astype(str))
    once = breaks[~(paired & pair.duplicated())]
    return len(once), float(np.round(_break_amount(once).sum(), 2))
