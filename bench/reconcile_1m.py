"""Benchmark: the pandas reconciliations on a million rows, in memory (no staging, no HTTP).

* **finance**: N shop payments against N Oracle receipts (receipts found through their reference text, as staged),
  over 30 business days in Europe/Paris, with known breaks planted by construction (a receipt missing, an amount
  off, a receipt dated the next day, a receipt with no payment); ``reconcile.finance.reconcile`` classifies every
  item, and the script checks the counts per status equal what it planted.
* **inventory**: N shop stock rows against N Oracle on-hand rows in two organizations (summed, minus a buffer), 2 %
  of them different; ``reconcile.inventory.reconcile`` must find exactly those.

Prints one JSON object: seconds per step, peak resident memory (``ru_maxrss``), rows, what was found, the machine.

    .venv/bin/python bench/reconcile_1m.py --rows 1000000 > bench/results/reconcile-1m.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from prestaoracle.reconcile import finance as fin  # noqa: E402
from prestaoracle.reconcile import inventory as inv  # noqa: E402

TZ = "Europe/Paris"
DAYS = 30
FIRST_DAY = date(2026, 10, 1)


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _finance_frames(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    ids = np.arange(1, n + 1)
    refs = pd.Series(ids).map(lambda i: f"R{i:09d}")
    # Payments during the shop's day (09:00–20:00 local, so no midnight crossing muddies the planted counts).
    day = rng.integers(0, DAYS, n)
    local = pd.to_datetime(FIRST_DAY) + pd.to_timedelta(day, unit="D") + pd.to_timedelta(
        rng.integers(9 * 3600, 20 * 3600, n), unit="s")
    utc = local.tz_localize(TZ).tz_convert("UTC").tz_localize(None)
    amount = np.round(rng.uniform(5, 500, n), 2)
    payments = pd.DataFrame({"id_order_payment": ids, "order_reference": refs, "currency_iso": "EUR",
                             "amount": amount, "date_add": utc})
    kind = rng.random(n)
    missing = kind < 0.005
    off = (kind >= 0.005) & (kind < 0.010)
    late = (kind >= 0.010) & (kind < 0.015) & (day < DAYS - 2)
    receipt_amount = np.where(off, amount + 2.5, amount)
    receipt_day = pd.to_datetime(FIRST_DAY) + pd.to_timedelta(day + late.astype(int), unit="D")
    receipts = pd.DataFrame({"cash_receipt_id": ids, "receipt_number": "PS-PAY-" + pd.Series(ids).astype(str),
                             "receipt_date": receipt_day, "amount": receipt_amount, "currency": "EUR",
                             "reference": "Shop payment of order " + refs})[~missing]
    extra = max(1, n // 200)  # receipts with no shop payment: a second receipt for an existing order
    twins = receipts.sample(extra, random_state=1).assign(cash_receipt_id=lambda f: f["cash_receipt_id"] + n)
    twins = twins[~twins["reference"].isin(receipts.loc[late[~missing], "reference"])]
    receipts = pd.concat([receipts, twins], ignore_index=True)
    planted = {"missing_in_oracle": int(missing.sum()), "amount_mismatch": int(off.sum()),
               "timing_difference": 2 * int(late.sum()), "missing_in_shop": len(twins)}
    return payments, receipts, planted


def finance(n: int) -> dict:
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    payments, receipts, planted = _finance_frames(n, rng)
    t1 = time.perf_counter()
    shop = fin.payment_side(payments, TZ)
    oracle = fin.receipt_side(receipts, pd.DataFrame(columns=["transaction_number", "purchase_order"]))
    t2 = time.perf_counter()
    items = fin.reconcile(shop, oracle, days=[FIRST_DAY + timedelta(days=d) for d in range(DAYS)])
    t3 = time.perf_counter()
    found = items["status"].value_counts().to_dict()
    breaks = {k: int(v) for k, v in found.items() if k != "matched"}
    return {"rows": {"payments": len(payments), "receipts": len(receipts), "items": len(items)},
            "seconds": {"generate": round(t1 - t0, 2), "sides": round(t2 - t1, 2), "reconcile": round(t3 - t2, 2)},
            "planted": planted, "found": breaks, "exact": breaks == planted, "peak_rss_mb": _rss_mb()}


def inventory(n: int) -> dict:
    rng = np.random.default_rng(11)
    t0 = time.perf_counter()
    skus = pd.Series(np.arange(1, n + 1)).map(lambda i: f"SKU{i:08d}")
    qty = rng.integers(0, 200, n)
    split = rng.integers(0, 50, n)
    differs = rng.random(n) < 0.02
    oracle_total = np.where(differs, qty + 7, qty) + 3  # the buffer of 3 units comes off again
    onhand = pd.concat([
        pd.DataFrame({"org": "M1", "sku": skus, "quantity": oracle_total - np.minimum(split, oracle_total),
                      "available": np.nan}),
        pd.DataFrame({"org": "V1", "sku": skus, "quantity": np.minimum(split, oracle_total), "available": np.nan}),
    ], ignore_index=True)
    stock = pd.DataFrame({"id_stock_available": np.arange(1, n + 1), "id_product": np.arange(1, n + 1),
                          "id_product_attribute": 0, "sku": skus, "quantity": qty, "depends_on_stock": False,
                          "out_of_stock": 2})
    rule = inv.InventoryRule(measure="onhand", orgs=("M1", "V1"), safety_buffer=3)
    xref = pd.DataFrame({"external_id": pd.Series([], dtype=str), "target_id": pd.Series([], dtype=str)})
    t1 = time.perf_counter()
    result = inv.reconcile(stock, onhand, xref, rule)
    t2 = time.perf_counter()
    changed = result.counts["write"]
    return {"rows": {"onhand": len(onhand), "stock": len(stock)},
            "seconds": {"generate": round(t1 - t0, 2), "reconcile": round(t2 - t1, 2)},
            "planted": int(differs.sum()), "found": changed, "exact": changed == int(differs.sum()),
            "peak_rss_mb": _rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    before = _rss_mb()
    out = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "pandas": pd.__version__},
        "rss_after_imports_mb": before,
        "finance": finance(args.rows),
        "inventory": inventory(args.rows),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
