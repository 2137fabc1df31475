"""Historical receivables for the shop's orders, so the financial reconciliation has a past to compare, with breaks
planted on purpose.

Why: the pod's lifecycle bills only orders the order flow creates, dated by the pod's clock, which leaves every past
day of the shop without an Oracle counterpart. This module writes, from the shop's own rows, what an AR department
would hold: one invoice per paid order, one standard receipt per shop payment and one credit memo per refund, each
dated with the shop-local date of its shop record (Oracle dates are calendar dates of the merchant, no time). Then it
spoils a few on purpose and lists every resulting reconciliation item in ``differences["finance"]``.

Planted breaks (each on an order with one payment and no refund, or one refund, dated in the last days before the
pod's clock so the default sandbox period holds them):

* ``missing_receipt``         the payment has no receipt                      → payment item ``missing_in_oracle``
* ``receipt_amount_off``      the receipt's amount differs                    → payment item ``amount_mismatch``
* ``receipt_next_day``        a payment made late in the shop's evening has   → ``timing_difference`` on both days
                              its receipt dated the next local day (it crosses
                              local midnight: in UTC the payment may already
                              be on the receipt's day or still before it)
* ``receipt_without_payment`` a second receipt for a paid order               → receipt item ``missing_in_shop``
* ``refund_without_memo``     the refund has no credit memo                   → refund item ``missing_in_oracle``
* ``credit_memo_amount_off``  the credit memo's amount differs                → refund item ``amount_mismatch``

``local_midnight`` names payments made in the hour after local midnight: still on the previous day in UTC in any
time zone east of Greenwich (the sandbox's default shop zone is Europe/Paris), their
receipts carry the local date, so they are ``matched`` only by a reconciliation that uses the shop's time zone.
Deterministic: one ``random.Random`` stream named "receivables".
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

__all__ = ["BREAK_KINDS", "CREDIT_MEMO_TYPE", "FIRST_TRANSACTION_NUMBER", "SOURCE", "seed_receivables"]

SOURCE = "PrestaShop Web Store"
"""TransactionSource of the seeded history; the lifecycle adopts such an invoice instead of billing twice."""
CREDIT_MEMO_TYPE = "Credit Memo"
FIRST_TRANSACTION_NUMBER = 10001  # below the lifecycle's numbers (store.FIRST_IDS["TransactionNumber"])
_LAST_TRANSACTION_NUMBER = 109999
_FIRST_TRX_ID = 300100160000001  # below the lifecycle's CustomerTransactionId range
_FIRST_RECEIPT_ID = 300100150000001  # below the lifecycle's StandardReceiptId range
_FIRST_TRX_LINE_ID = 300100161000001  # below the lifecycle's CustomerTransactionLineId range
_RECEIPT_METHOD = "Web Store Settlement"
BREAK_KINDS = ("missing_receipt", "receipt_amount_off", "receipt_next_day", "receipt_without_payment",
               "refund_without_memo", "credit_memo_amount_off")
_BREAK_FIRST_DAY, _BREAK_LAST_DAY = 7, 2  # breaks go on local days now-7 … now-2 (a next-day receipt stays past)


def _wall(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return None


def _money(value: Any) -> float | None:
    try:
        return round(float(value), 2)
    except (TypeError, ValueError):
        return None


def _stamp(day: date, hour: int = 20) -> str:
    # When AR keyed it in: the evening of its date (so an extraction up to the next midnight sees it).
    return f"{day.isoformat()}T{hour:02d}:00:00.000+00:00"


def seed_receivables(seed: int, shop: dict[str, list[dict]], now: datetime,
                     diff: dict[str, Any]) -> dict[str, list[dict]]:
    """``fusion_invoices`` and ``fusion_receipts`` rows for the shop's paid orders before ``now`` (naive UTC);
    sets ``diff["finance"]`` (see ``differences.fusion_document``)."""
    rng = random.Random(f"fusion-seed:{seed}:receivables")
    currencies = {c["id"]: str(c["iso_code"]) for c in shop.get("currencies", [])}
    orders = {o["id"]: o for o in shop.get("orders", [])}
    by_reference = {str(o.get("reference")): o for o in orders.values()}
    today = now.date()

    payments: dict[str, list[tuple[datetime, dict, float]]] = defaultdict(list)
    for p in sorted(shop.get("order_payments", []), key=lambda r: r["id"]):
        when, amount = _wall(p.get("date_add")), _money(p.get("amount"))
        ref = str(p.get("order_reference") or "")
        if when is None or amount is None or ref not in by_reference or when.date() >= today:
            continue  # what the shop itself got wrong stays the shop's problem (the flow dead-letters it)
        payments[ref].append((when, p, amount))
    slips: dict[str, list[tuple[datetime, dict, float]]] = defaultdict(list)
    for s in sorted(shop.get("order_slip", []), key=lambda r: r["id"]):
        when, amount, order = _wall(s.get("date_add")), _money(s.get("amount")), orders.get(s.get("id_order"))
        if when is None or amount is None or order is None or when.date() >= today:
            continue
        slips[str(order["reference"])].append((when, s, amount))

    # --- choose the breaks (on simple orders, so each one is a single, unambiguous item)
    first, last = today - timedelta(days=_BREAK_FIRST_DAY), today - timedelta(days=_BREAK_LAST_DAY)
    simple = sorted(ref for ref, ps in payments.items()
                    if len(ps) == 1 and ref not in slips and first <= ps[0][0].date() <= last)
    evening = [ref for ref in simple if payments[ref][0][0].hour >= 21]
    early = [ref for ref in simple if payments[ref][0][0].hour == 0]
    refunded = sorted(ref for ref, ss in slips.items() if len(ss) == 1 and first <= ss[0][0].date() <= last)
    planted: dict[str, str] = {}
    if evening:
        planted[rng.choice(evening)] = "receipt_next_day"
    for kind in ("missing_receipt", "receipt_amount_off", "receipt_without_payment"):
        free = [ref for ref in simple if ref not in planted]
        if free:
            planted[rng.choice(free)] = kind
    refund_breaks: dict[str, str] = {}
    for kind in ("refund_without_memo", "credit_memo_amount_off"):
        free = [ref for ref in refunded if ref not in refund_breaks]
        if free:
            refund_breaks[rng.choice(free)] = kind
    local_midnight = sorted(ref for ref in early if ref not in planted)[:3]

    # --- write the documents
    invoices: list[dict] = []
    receipts: list[dict] = []
    items: list[dict] = []
    later_receipts: list[tuple[dict, dict]] = []  # the duplicates, numbered after every ordinary receipt
    references = sorted(set(payments) | set(slips), key=lambda r: (by_reference[r]["id"], r))
    if len(references) + sum(len(v) for v in slips.values()) > _LAST_TRANSACTION_NUMBER - FIRST_TRANSACTION_NUMBER:
        raise ValueError("too many shop orders for the seeded receivables' transaction numbers")
    number = FIRST_TRANSACTION_NUMBER - 1
    for ref in references:
        order = by_reference[ref]
        currency = currencies.get(order.get("id_currency"), "EUR")
        dated = [w for w, _, _ in payments.get(ref, [])] + [w for w, _, _ in slips.get(ref, [])]
        billed = min(dated).date()
        total = _money(order.get("total_paid_tax_incl")) or sum(a for _, _, a in payments.get(ref, []))
        number += 1
        invoice = _transaction(len(invoices), number, "Invoice", billed, ref, currency, total)
        invoices.append(invoice)
        paid = 0.0
        for when, p, amount in payments.get(ref, []):
            kind = planted.get(ref)
            if kind == "missing_receipt":
                items.append(_item("missing_receipt", "missing_in_oracle", f"payment:{p['id']}", when.date(), ref,
                                   currency, amount, None, None))
                continue
            day, oracle_amount = when.date(), amount
            if kind == "receipt_amount_off":
                oracle_amount = round(amount + rng.choice((-5.0, -1.5, 2.5, 10.0)), 2)
                if oracle_amount <= 0:
                    oracle_amount = round(amount + 2.5, 2)
            elif kind == "receipt_next_day":
                day = when.date() + timedelta(days=1)
            receipt = _receipt(len(receipts), p["id"], ref, currency, oracle_amount, day, invoice)
            receipts.append(receipt)
            paid += oracle_amount
            key = f"payment:{p['id']}"
            if kind == "receipt_amount_off":
                items.append(_item(kind, "amount_mismatch", key, when.date(), ref, currency, amount, oracle_amount,
                                   receipt["ReceiptNumber"]))
            elif kind == "receipt_next_day":
                items.append(_item(kind, "timing_difference", key, when.date(), ref, currency, amount, oracle_amount,
                                   receipt["ReceiptNumber"]))
                items.append(_item(kind, "timing_difference", f"receipt:{receipt['StandardReceiptId']}", day, ref,
                                   currency, amount, oracle_amount, receipt["ReceiptNumber"]))
            elif kind == "receipt_without_payment":
                later_receipts.append((receipt, invoice))
        for when, s, amount in slips.get(ref, []):
            kind = refund_breaks.get(ref)
            key = f"refund:{s['id']}"
            if kind == "refund_without_memo":
                items.append(_item(kind, "missing_in_oracle", key, when.date(), ref, currency, amount, None, None))
                continue
            oracle_amount = amount
            if kind == "credit_memo_amount_off":
                oracle_amount = round(amount + rng.choice((-3.0, -0.5, 4.0)), 2)
                if oracle_amount <= 0:
                    oracle_amount = round(amount + 4.0, 2)
            number += 1
            memo = _transaction(len(invoices), number, CREDIT_MEMO_TYPE, when.date(), ref, currency,
                                -oracle_amount)
            invoices.append(memo)
            if kind == "credit_memo_amount_off":
                items.append(_item(kind, "amount_mismatch", key, when.date(), ref, currency, amount, oracle_amount,
                                   memo["TransactionNumber"]))
        invoice["InvoiceBalanceAmount"] = round(max(0.0, total - paid), 2)
    for original, invoice in later_receipts:
        twin = _receipt(len(receipts), None, invoice["PurchaseOrder"], original["Currency"], original["Amount"],
                        date.fromisoformat(original["ReceiptDate"]), invoice)
        receipts.append(twin)
        items.append(_item("receipt_without_payment", "missing_in_shop", f"receipt:{twin['StandardReceiptId']}",
                           date.fromisoformat(twin["ReceiptDate"]), invoice["PurchaseOrder"], twin["Currency"], None,
                           twin["Amount"], twin["ReceiptNumber"]))

    items.sort(key=lambda i: (i["day"], i["item_key"]))
    diff["finance"] = {
        "dates": "receipt and credit memo dates are the shop-local dates of the shop records",
        "break_days": [first.isoformat(), last.isoformat()],
        "seeded": {"invoices": sum(1 for i in invoices if i["TransactionType"] == "Invoice"),
                   "credit_memos": sum(1 for i in invoices if i["TransactionType"] == CREDIT_MEMO_TYPE),
                   "receipts": len(receipts)},
        "items": items,
        "local_midnight": [f"payment:{payments[ref][0][1]['id']}" for ref in local_midnight],
    }
    return {"fusion_invoices": invoices, "fusion_invoice_lines": [_summary_line(k, t) for k, t in enumerate(invoices)],
            "fusion_receipts": receipts}


def _summary_line(k: int, transaction: dict) -> dict:
    """Every transaction has at least one line, as in Fusion: the seeded history bills each order (or credits each
    refund) on one summary line with no sales order; the lifecycle swaps it for the order's lines when the order
    flow brings that order in (``lifecycle._adopt``)."""
    amount = transaction["EnteredAmount"]
    return {"CustomerTransactionLineId": _FIRST_TRX_LINE_ID + k,
            "CustomerTransactionId": transaction["CustomerTransactionId"], "LineNumber": 1, "ItemNumber": None,
            "Description": f"Web store order {transaction['PurchaseOrder']}", "Quantity": 1.0,
            "UnitSellingPrice": amount, "LineAmount": amount, "SalesOrder": None, "SalesOrderLine": None,
            "SalesOrderDate": None}


def _transaction(k: int, number: int, kind: str, day: date, ref: str, currency: str, amount: float) -> dict:
    return {
        "CustomerTransactionId": _FIRST_TRX_ID + k, "TransactionNumber": str(number),
        "TransactionDate": day.isoformat(), "AccountingDate": day.isoformat(), "BillingDate": day.isoformat(),
        "TransactionType": kind, "TransactionSource": SOURCE, "BusinessUnit": "Vision Operations",
        "InvoiceCurrencyCode": currency, "InvoiceStatus": "Complete", "PaymentTerms": "Immediate",
        "DueDate": day.isoformat(), "EnteredAmount": round(amount, 2), "InvoiceBalanceAmount": 0.0,
        "FreightAmount": 0, "Prepayment": "N", "Intercompany": "N", "PurchaseOrder": ref, "CrossReference": ref,
        "CreatedBy": "FIN_INTEGRATION", "LastUpdatedBy": "FIN_INTEGRATION", "CreationDate": _stamp(day),
        "LastUpdateDate": _stamp(day),
    }


def _receipt(k: int, payment_id: int | None, ref: str, currency: str, amount: float, day: date,
             invoice: dict) -> dict:
    receipt_id = _FIRST_RECEIPT_ID + k
    number = f"PS-PAY-{payment_id:06d}" if payment_id is not None else f"PS-DUP-{receipt_id % 1000000:06d}"
    what = f"Shop payment {payment_id}" if payment_id is not None else "Customer remittance"
    return {
        "StandardReceiptId": receipt_id, "ReceiptNumber": number, "ReceiptMethod": _RECEIPT_METHOD,
        "BusinessUnit": "Vision Operations", "Amount": amount, "Currency": currency, "ReceiptDate": day.isoformat(),
        "AccountingDate": day.isoformat(), "MaturityDate": day.isoformat(),
        "RemittanceBankDepositDate": day.isoformat(), "State": "Cleared", "Status": "APP", "UnappliedAmount": 0,
        "AccountedAmount": amount, "Comments": f"{what} of order {ref}", "CreatedBy": "FIN_INTEGRATION",
        "LastUpdatedBy": "FIN_INTEGRATION", "_AppliedInvoiceId": invoice["CustomerTransactionId"],
        "CreationDate": _stamp(day), "LastUpdateDate": _stamp(day),
    }


def _item(kind: str, status: str, key: str, day: date, ref: str, currency: str, shop_amount: float | None,
          oracle_amount: float | None, oracle_ref: str | None) -> dict:
    both = shop_amount is not None and oracle_amount is not None
    return {"break": kind, "day": day.isoformat(), "item_key": key, "status": status, "order_reference": ref,
            "currency": currency, "shop_amount": shop_amount, "oracle_amount": oracle_amount,
            "difference": round(oracle_amount - shop_amount, 2) if both else None, "oracle_ref": oracle_ref}
