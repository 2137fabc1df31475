"""The financial reconciliation's rules on small hand-built frames: each status, the amount tolerance, the timing
window, several currencies, duplicates, the shop's time zone, bad records, and the flow's configuration and report
rendering (no database, no network)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from prestaoracle.reconcile import finance as fin

TZ = "Europe/Paris"
DAY = date(2026, 11, 20)


def payments(*rows: tuple) -> pd.DataFrame:
    """(id, reference, currency, amount, naive UTC date_add)."""
    return pd.DataFrame(rows, columns=["id_order_payment", "order_reference", "currency_iso", "amount", "date_add"])


def receipts(*rows: tuple) -> pd.DataFrame:
    """(id, number, currency, amount, receipt_date, reference text)."""
    return pd.DataFrame(rows, columns=["cash_receipt_id", "receipt_number", "currency", "amount", "receipt_date",
                                       "reference"])


NO_INVOICES = pd.DataFrame({"transaction_number": pd.Series(dtype=object),
                            "purchase_order": pd.Series(dtype=object)})


def run(pays: pd.DataFrame, recs: pd.DataFrame, *, days=(DAY,), invoices=NO_INVOICES,
        tolerances: fin.Tolerances = fin.Tolerances()) -> pd.DataFrame:
    shop = fin.payment_side(pays, TZ)
    oracle = fin.receipt_side(recs, invoices)
    return fin.reconcile(shop, oracle, days=list(days), tolerances=tolerances)


def statuses(items: pd.DataFrame) -> dict[str, str]:
    return dict(zip(items["item_key"], items["status"], strict=True))


def test_each_status_once() -> None:
    items = run(
        payments((1, "AAA", "EUR", 10.0, "2026-11-20 10:00:00"),   # matched
                 (2, "BBB", "EUR", 20.0, "2026-11-20 11:00:00"),   # receipt 5 less
                 (3, "CCC", "EUR", 30.0, "2026-11-20 12:00:00"),   # no receipt
                 (4, "DDD", "EUR", 40.0, "2026-11-20 13:00:00")),  # receipt the next day
        receipts((11, "R1", "EUR", 10.0, "2026-11-20", "Shop payment 1 of order AAA"),
                 (12, "R2", "EUR", 15.0, "2026-11-20", "Shop payment 2 of order BBB"),
                 (14, "R4", "EUR", 40.0, "2026-11-21", "Shop payment 4 of order DDD"),
                 (15, "R5", "EUR", 50.0, "2026-11-20", "Customer remittance of order EEE")))
    assert statuses(items) == {"payment:1": "matched", "payment:2": "amount_mismatch",
                               "payment:3": "missing_in_oracle", "payment:4": "timing_difference",
                               "receipt:15": "missing_in_shop"}
    mismatch = items.set_index("item_key").loc["payment:2"]
    assert (mismatch["shop_amount"], mismatch["oracle_amount"], mismatch["difference"]) == (20.0, 15.0, -5.0)
    assert mismatch["oracle_ref"] == "R2"
    # The next day's run sees the other side of the timing difference, keyed by the receipt.
    next_day = run(payments((4, "DDD", "EUR", 40.0, "2026-11-20 13:00:00")),
                   receipts((14, "R4", "EUR", 40.0, "2026-11-21", "Shop payment 4 of order DDD")),
                   days=(date(2026, 11, 21),))
    assert statuses(next_day) == {"receipt:14": "timing_difference"}
    assert next_day["interval_start"].iloc[0] == pd.Timestamp("2026-11-21")


def test_amount_tolerance_is_inclusive_and_configurable() -> None:
    pays = payments((1, "AAA", "EUR", 10.00, "2026-11-20 10:00:00"), (2, "BBB", "EUR", 10.00, "2026-11-20 10:00:00"))
    recs = receipts((11, "R1", "EUR", 10.01, "2026-11-20", "order AAA"),
                    (12, "R2", "EUR", 10.02, "2026-11-20", "order BBB"))
    assert statuses(run(pays, recs)) == {"payment:1": "matched", "payment:2": "amount_mismatch"}
    assert statuses(run(pays, recs, tolerances=fin.Tolerances(amount=0.0))) == {
        "payment:1": "amount_mismatch", "payment:2": "amount_mismatch"}
    assert statuses(run(pays, recs, tolerances=fin.Tolerances(amount=0.05))) == {
        "payment:1": "matched", "payment:2": "matched"}


def test_timing_window_beyond_it_the_sides_are_missing() -> None:
    pays = payments((1, "AAA", "EUR", 10.0, "2026-11-20 10:00:00"))
    recs = receipts((11, "R1", "EUR", 10.0, "2026-11-23", "order AAA"))
    assert statuses(run(pays, recs, tolerances=fin.Tolerances(timing_days=3))) == {"payment:1": "timing_difference"}
    assert statuses(run(pays, recs, tolerances=fin.Tolerances(timing_days=2))) == {"payment:1": "missing_in_oracle"}
    later = run(pays, recs, days=(date(2026, 11, 23),), tolerances=fin.Tolerances(timing_days=2))
    assert statuses(later) == {"receipt:11": "missing_in_shop"}


def test_currencies_never_pair_across() -> None:
    items = run(payments((1, "AAA", "EUR", 10.0, "2026-11-20 10:00:00"), (2, "BBB", "GBP", 8.0, "2026-11-20 10:00:00")),
                receipts((11, "R1", "USD", 10.0, "2026-11-20", "order AAA"),
                         (12, "R2", "GBP", 8.0, "2026-11-20", "order BBB")))
    assert statuses(items) == {"payment:1": "missing_in_oracle", "receipt:11": "missing_in_shop",
                               "payment:2": "matched"}
    summary = fin.summarize(items).set_index(["currency", "status"])["count"].to_dict()
    assert summary == {("EUR", "missing_in_oracle"): 1, ("GBP", "matched"): 1, ("USD", "missing_in_shop"): 1}


def test_split_payments_pair_in_time_order_and_a_duplicate_receipt_is_missing_in_shop() -> None:
    items = run(payments((1, "AAA", "EUR", 30.0, "2026-11-20 09:00:00"), (2, "AAA", "EUR", 70.0, "2026-11-20 17:00:00"),
                         (2, "AAA", "EUR", 70.0, "2026-11-20 17:00:00")),  # the same payment read twice
                receipts((21, "R1", "EUR", 30.0, "2026-11-20", "order AAA"),
                         (22, "R2", "EUR", 70.0, "2026-11-20", "order AAA"),
                         (23, "R3", "EUR", 70.0, "2026-11-20", "order AAA")))
    assert statuses(items) == {"payment:1": "matched", "payment:2": "matched", "receipt:23": "missing_in_shop"}


def test_the_shops_time_zone_decides_the_day() -> None:
    # 23:30 UTC on the 19th is 00:30 on the 20th in Paris: the receipt dated the 20th is its match, on the 20th.
    pays = payments((1, "AAA", "EUR", 10.0, "2026-11-19 23:30:00"))
    recs = receipts((11, "R1", "EUR", 10.0, "2026-11-20", "order AAA"))
    assert statuses(run(pays, recs)) == {"payment:1": "matched"}
    assert run(pays, recs, days=(date(2026, 11, 19),)).empty
    utc = fin.reconcile(fin.payment_side(pays, "UTC"), fin.receipt_side(recs, NO_INVOICES), days=[DAY])
    assert statuses(utc) == {"receipt:11": "timing_difference"}


def test_receipt_names_its_invoice_and_the_invoice_the_order() -> None:
    invoices = pd.DataFrame({"transaction_number": ["110023"], "purchase_order": ["AAA"]})
    items = run(payments((1, "AAA", "EUR", 10.0, "2026-11-20 10:00:00")),
                receipts((11, "RCPT-11", "EUR", 10.0, "2026-11-20", "Payment of invoice 110023")), invoices=invoices)
    assert statuses(items) == {"payment:1": "matched"}


def test_refunds_against_credit_memos_with_oracle_signs() -> None:
    slips = pd.DataFrame({"id_order_slip": [1, 2], "id_order": [7, 8], "amount": [12.5, 4.0],
                          "date_add": ["2026-11-20 08:00:00", "2026-11-20 09:00:00"]})
    orders = pd.DataFrame({"id_order": [7, 8], "reference": ["AAA", "BBB"], "currency_iso": ["EUR", "EUR"]})
    memos = pd.DataFrame({"customer_trx_id": [501, 502, 503], "transaction_number": ["CM1", "CM2", "X"],
                          "transaction_type": ["Credit Memo", "Credit Memo", "Invoice"], "currency": ["EUR"] * 3,
                          "entered_amount": [-12.5, -6.0, 99.0], "purchase_order": ["AAA", "BBB", "AAA"],
                          "transaction_date": ["2026-11-20"] * 3})
    items = fin.reconcile(fin.refund_side(slips, orders, TZ), fin.credit_memo_side(memos), days=[DAY])
    assert statuses(items) == {"refund:1": "matched", "refund:2": "amount_mismatch"}
    row = items.set_index("item_key").loc["refund:2"]
    assert (row["kind"], row["difference"], row["id_order"]) == ("refund", 2.0, 8)


def test_bad_records_are_split_out_with_the_reason() -> None:
    frame = payments((1, "AAA", "EUR", "10.00", "2026-11-20 10:00:00"), (2, None, "EUR", 5, "2026-11-20 10:00:00"),
                     (3, "CCC", "EUR", "ten", "2026-11-20 10:00:00"), (4, "DDD", "EUR", 5, None),
                     (1, "AAA", "EUR", "10.00", "2026-11-20 10:00:00"))
    good, bad = fin.split_invalid(frame, key="id_order_payment", required=("order_reference", "currency_iso"),
                                  amount="amount", date_column="date_add")
    assert good["id_order_payment"].tolist() == [1]
    assert dict(zip(bad["id_order_payment"], bad["problem"], strict=True)) == {
        2: "no order_reference", 3: "amount is not a number", 4: "no date_add"}


def test_business_days_of_data_intervals() -> None:
    assert fin.business_days(datetime(2026, 11, 20), datetime(2026, 11, 21)) == [DAY]
    assert fin.business_days(datetime(2026, 11, 20), datetime(2026, 11, 23)) == [
        DAY, date(2026, 11, 21), date(2026, 11, 22)]
    assert fin.business_days(datetime(2026, 11, 20, 6), datetime(2026, 11, 20, 7)) == [DAY]
    with pytest.raises(ValueError, match="before its start"):
        fin.business_days(datetime(2026, 11, 21), datetime(2026, 11, 20))


def test_unexplained_breaks_leave_timing_out() -> None:
    items = run(payments((1, "AAA", "EUR", 20.0, "2026-11-20 10:00:00"), (2, "BBB", "EUR", 40.0, "2026-11-20 10:00:00"),
                         (3, "CCC", "EUR", 7.0, "2026-11-20 10:00:00")),
                receipts((11, "R1", "EUR", 15.0, "2026-11-20", "order AAA"),
                         (12, "R2", "EUR", 40.0, "2026-11-21", "order BBB")))
    assert fin.unexplained(items) == (2, 12.0)  # |−5| mismatch + 7 missing; the timing difference is explained


def test_config_errors_name_the_key(tmp_path) -> None:
    from prestaoracle.flows.finance_recon import FinanceConfigError, load_config

    default = load_config(environ={})
    assert (default.amount_tolerance, default.timing_days, default.max_breaks) == (0.01, 3, 0)
    bad = tmp_path / "f.yaml"
    bad.write_text("timing_days: soon\n")
    with pytest.raises(FinanceConfigError, match="timing_days"):
        load_config(bad)
    bad.write_text("ledger_timezone: Mars/Olympus\n")
    with pytest.raises(FinanceConfigError, match="ledger_timezone"):
        load_config(bad)
    good = tmp_path / "g.yaml"
    good.write_text("alert: {max_breaks: 4, recipients: 'a@x.test; b@x.test'}\n")
    assert load_config(environ={"PRESTAORACLE_FINANCE_CONFIG": str(good)}).recipients == ("a@x.test", "b@x.test")


def test_csv_report_quotes_what_csv_requires_and_holds_no_run_id() -> None:
    import csv
    import io

    from prestaoracle.flows import finance_recon as flow

    items = run(payments((1, "AAA", "EUR", 10.0, "2026-11-20 10:00:00")),
                receipts((15, 'R"5,x', "EUR", 50.0, "2026-11-20", "Customer remittance of order EEE")))
    csv_text = flow._env().get_template("report.csv.j2").render(**flow._view(DAY, items))
    lines = csv_text.splitlines()
    assert lines[0] == ",".join(fin.ITEM_COLUMNS)
    # A quote doubled and the cell quoted, because of the quote and of the comma.
    assert len(lines) == 3 and ',"R""5,x",' in lines[2]
    parsed = list(csv.DictReader(io.StringIO(csv_text)))
    assert [(r["item_key"], r["status"], r["oracle_ref"], r["oracle_amount"]) for r in parsed] == [
        ("payment:1", "missing_in_oracle", "", ""), ("receipt:15", "missing_in_shop", 'R"5,x', "50.00")]
    html = flow._env().get_template("report.html.j2").render(**flow._view(DAY, items))
    assert "missing_in_shop" in html and "R&#34;5,x" in html
    # Nothing of the run in the files: a re-run must write the same bytes.
    for text in (csv_text, html):
        assert "backfill" not in text and "scheduled__" not in text and "manual__" not in text


def test_a_missing_record_does_not_shift_the_later_pairs() -> None:
    # A payment of 50 never received, then 70 paid and received the same day: missing(50) and matched(70).
    pays = payments((1, "ABC", "EUR", 50.0, "2026-11-01 10:00:00"), (2, "ABC", "EUR", 70.0, "2026-11-10 10:00:00"))
    recs = receipts((11, "R11", "EUR", 70.0, "2026-11-10", "order ABC"))
    both = run(pays, recs, days=(date(2026, 11, 1), date(2026, 11, 10)))
    assert statuses(both) == {"payment:1": "missing_in_oracle", "payment:2": "matched"}
    assert both.set_index("item_key").loc["payment:2", "oracle_ref"] == "R11"


def test_same_amount_pairs_first_then_the_nearest() -> None:
    # Two payments on one day, receipts in the other order and one a day late: the amounts decide the pairs.
    pays = payments((1, "AAA", "EUR", 30.0, "2026-11-20 09:00:00"), (2, "AAA", "EUR", 70.0, "2026-11-20 10:00:00"),
                    (3, "AAA", "EUR", 20.0, "2026-11-20 11:00:00"))
    recs = receipts((21, "R1", "EUR", 70.0, "2026-11-20", "order AAA"),
                    (22, "R2", "EUR", 30.0, "2026-11-21", "order AAA"),
                    (23, "R3", "EUR", 25.0, "2026-11-20", "order AAA"))
    items = run(pays, recs).set_index("item_key")
    assert items["status"].to_dict() == {"payment:1": "timing_difference", "payment:2": "matched",
                                         "payment:3": "amount_mismatch"}
    assert items["oracle_ref"].to_dict() == {"payment:1": "R2", "payment:2": "R1", "payment:3": "R3"}


def test_a_pair_too_far_apart_leaves_both_free_for_others() -> None:
    # The first 70 (the 1st) has no receipt; the receipt on the 10th belongs to the second 70, not to the first.
    pays = payments((1, "AAA", "EUR", 70.0, "2026-11-01 10:00:00"), (2, "AAA", "EUR", 70.0, "2026-11-10 10:00:00"))
    recs = receipts((11, "R1", "EUR", 70.0, "2026-11-10", "order AAA"))
    items = run(pays, recs, days=(date(2026, 11, 1), date(2026, 11, 10)))
    assert statuses(items) == {"payment:1": "missing_in_oracle", "payment:2": "matched"}


def test_a_mismatch_across_two_days_is_one_break() -> None:
    items = run(payments((1, "ABC", "EUR", 50.0, "2026-11-20 10:00:00")),
                receipts((11, "R11", "EUR", 49.0, "2026-11-21", "order ABC")),
                days=(DAY, date(2026, 11, 21)))
    assert statuses(items) == {"payment:1": "amount_mismatch", "receipt:11": "amount_mismatch"}
    assert fin.unexplained(items) == (1, 1.0)


def test_split_payments_against_one_receipt_are_no_break() -> None:
    items = run(payments((1, "ABC", "EUR", 50.0, "2026-11-20 10:00:00"), (2, "ABC", "EUR", 50.0, "2026-11-20 11:00:00"),
                         (3, "XYZ", "EUR", 50.0, "2026-11-20 11:00:00"),
                         (4, "XYZ", "EUR", 50.0, "2026-11-20 11:00:00")),
                receipts((11, "R11", "EUR", 100.0, "2026-11-20", "order ABC"),
                         (12, "R12", "EUR", 90.0, "2026-11-20", "order XYZ")))
    assert statuses(items) == {"payment:1": "matched", "payment:2": "matched", "payment:3": "amount_mismatch",
                               "payment:4": "missing_in_oracle"}
    assert fin.unexplained(items) == (2, 90.0)  # XYZ's total is 10 short: its breaks stay
    assert "same total" in items.set_index("item_key").loc["payment:2", "explanation"]


def test_the_order_in_a_receipt_text_is_found_whatever_its_case() -> None:
    found = fin.receipt_orders(pd.DataFrame({"reference": ["Order ABC", "ORDER DEF", "order GHI", "no order"]}),
                               NO_INVOICES)
    assert found.tolist() == ["ABC", "DEF", "GHI", None]
    invoices = pd.DataFrame({"transaction_number": ["110023"], "purchase_order": ["AAA"]})
    assert fin.receipt_orders(pd.DataFrame({"reference": ["INVOICE 110023"]}), invoices).tolist() == ["AAA"]


def test_missing_items_near_the_interval_end_are_provisional() -> None:
    pays = payments((1, "AAA", "EUR", 10.0, "2026-11-17 10:00:00"), (2, "BBB", "EUR", 20.0, "2026-11-18 10:00:00"),
                    (3, "CCC", "EUR", 30.0, "2026-11-20 10:00:00"))
    recs = receipts((13, "R3", "EUR", 29.0, "2026-11-20", "order CCC"))
    items = run(pays, recs, days=[date(2026, 11, d) for d in (17, 18, 19, 20)])
    pending = fin.provisional(items, end=date(2026, 11, 21), timing_days=3)
    # The 17th is final (a receipt could be dated the 20th at the latest); the 18th may still get one on the 21st.
    assert dict(zip(items["item_key"], pending, strict=True)) == {
        "payment:1": False, "payment:2": True, "payment:3": False}
    assert fin.unexplained(items, exclude=pending) == (2, 11.0)
    assert fin.unexplained(items) == (3, 31.0)


def test_the_shops_time_zone_is_asked_once_per_process_and_the_client_closed(monkeypatch) -> None:
    from zoneinfo import ZoneInfo

    from prestaoracle import connections
    from prestaoracle.flows import finance_recon as flow
    from prestaoracle.prestashop import reader

    clients: list = []
    asked: list = []

    class Client:
        shop_timezone = None
        base_url = "http://shop.test"
        closed = False

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.closed = True

    class Reader:
        def __init__(self, client) -> None:
            pass

        def shop_timezone(self):
            asked.append(1)
            return ZoneInfo("America/New_York")

    monkeypatch.setattr(flow, "_SHOP_ZONES", {})
    monkeypatch.setattr(connections, "prestashop_client", lambda: clients.append(Client()) or clients[-1])
    monkeypatch.setattr(reader, "PrestaShopReader", Reader)
    config = flow.FinanceConfig()
    assert [flow._ledger_zone(config) for _ in range(3)] == ["America/New_York"] * 3
    assert len(asked) == 1 and all(c.closed for c in clients)
    # The connection's own shop_timezone wins and needs no call to the shop.
    Client.shop_timezone = ZoneInfo("Europe/Paris")
    assert flow._ledger_zone(config) == "Europe/Paris" and len(asked) == 1
    assert flow._ledger_zone(flow.FinanceConfig(ledger_timezone="UTC")) == "UTC"
