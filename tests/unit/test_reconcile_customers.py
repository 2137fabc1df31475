"""Customer matching on small hand-built frames: normalisation, each deterministic rule, ambiguity and inactive
accounts going to review, the probabilistic stage matching and refusing, duplicates, the 360 figures and the
idempotent rewrite."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from prestaoracle.reconcile import customers as rc

SETTINGS = rc.MatchSettings()


def shop(*rows: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ps_customers and ps_addresses frames from short dicts (one address per customer when it has a postcode)."""
    customers = pd.DataFrame([{"id_customer": r["id"], "email": r.get("email"), "firstname": r.get("first"),
                               "lastname": r.get("last"), "company": None, "is_guest": r.get("guest", False),
                               "deleted": False} for r in rows])
    addresses = pd.DataFrame([{"id_address": 100 + r["id"], "id_customer": r["id"], "postcode": r.get("postcode"),
                               "city": "X", "country_iso": "FR", "phone": r.get("phone"), "phone_mobile": None,
                               "vat_number": r.get("vat"), "company": None, "deleted": False,
                               "date_upd": pd.Timestamp("2026-01-01")} for r in rows],
                             columns=["id_address", "id_customer", "postcode", "city", "country_iso", "phone",
                                      "phone_mobile", "vat_number", "company", "deleted", "date_upd"])
    return customers, addresses


def accounts(*rows: dict) -> pd.DataFrame:
    return rc.prepare_accounts(pd.DataFrame([{
        "cust_account_id": r["id"], "account_number": str(r["id"]), "party_id": r["id"] - 1000,
        "name": r.get("name"), "email": r.get("email"), "postcode": r.get("postcode"), "city": None,
        "phone": r.get("phone"), "vat_number": r.get("vat"), "status": r.get("status", "A"),
        "source_system": r.get("system"), "source_ref": r.get("ref"), "country": "FR"} for r in rows]))


def decide(customer_rows: list[dict], account_rows: list[dict]) -> dict[int, tuple]:
    prepared = rc.prepare_customers(*shop(*customer_rows))
    out = rc.decide(prepared.customers, accounts(*account_rows), SETTINGS, prepared.bad)
    return {int(r.id_customer): (r.decision, r.rule, None if pd.isna(r.cust_account_id) else int(r.cust_account_id),
                                 json.loads(r.details)) for r in out.itertuples()}


def test_normalisation() -> None:
    assert rc.normalise_email(pd.Series([" Ann.Lee@X.COM ", "a b@x.com", "", None])).tolist() == [
        "ann.lee@x.com", "ab@x.com", pd.NA, pd.NA]
    assert rc.normalise_vat(pd.Series(["fr 12-345", "FR12345"])).tolist() == ["FR12345", "FR12345"]
    assert rc.normalise_phone(pd.Series(["+33 (0)6 12", "---"])).tolist() == ["330612", pd.NA]
    assert rc.normalise_name(pd.Series(["  ÉLODIE  O'Neil", "Łukasz Müller"])).tolist() == [
        "elodie o neil", "lukasz muller"]
    assert rc.normalise_postcode(pd.Series(["1097 jb", "75-001"])).tolist() == ["1097JB", "75001"]


def test_newest_address_and_unmatchable_customers() -> None:
    customers, addresses = shop({"id": 1, "email": "a@x.com", "first": "A", "last": "B", "postcode": "1"},
                                {"id": 2})
    newer = addresses.iloc[[0]].assign(id_address=200, postcode="2", date_upd=pd.Timestamp("2026-02-01"))
    deleted = addresses.iloc[[0]].assign(id_address=300, postcode="3", deleted=True,
                                         date_upd=pd.Timestamp("2026-03-01"))
    prepared = rc.prepare_customers(customers, pd.concat([addresses, newer, deleted]))
    assert prepared.customers.set_index("id_customer").loc[1, "postcode"] == "2"
    assert prepared.bad["id_customer"].tolist() == [2]


def test_each_deterministic_rule_in_order() -> None:
    found = decide(
        [{"id": 1, "email": "one@x.com"}, {"id": 2, "email": " TWO@x.com"}, {"id": 3, "email": "3@x.com",
                                                                            "vat": "fr 999"}],
        [{"id": 2001, "email": "other@x.com", "system": "PSHOP", "ref": "1"},
         {"id": 2002, "email": "one@x.com"},  # the reference wins over the e-mail
         {"id": 2003, "email": "two@x.com"},
         {"id": 2004, "email": "acme@x.com", "vat": "FR999"},
         {"id": 2005, "system": "LEG", "ref": "3"}])  # another system's reference is not the shop's
    assert {c: d[:3] for c, d in found.items()} == {1: ("matched", "shop_reference", 2001),
                                                    2: ("matched", "email", 2003), 3: ("matched", "vat", 2004)}


def test_two_active_candidates_go_to_review_with_both() -> None:
    found = decide([{"id": 1, "email": "a@x.com"}],
                   [{"id": 2001, "email": "A@x.com"}, {"id": 2002, "email": "a@x.com "},
                    {"id": 2003, "email": "a@x.com", "status": "I"}])
    decision, rule, account, details = found[1]
    assert (decision, rule, account) == ("review", "email", None)
    assert details["candidates"] == [2001, 2002, 2003] and details["reason"] == "ambiguous"


def test_only_the_active_candidate_counts() -> None:
    found = decide([{"id": 1, "email": "a@x.com"}, {"id": 2, "email": "b@x.com"}],
                   [{"id": 2001, "email": "a@x.com", "status": "I"}, {"id": 2002, "email": "a@x.com"},
                    {"id": 2003, "email": "b@x.com", "status": "I"}])
    assert found[1][:3] == ("matched", "email", 2002)
    assert found[2][:3] == ("review", "email", 2003) and found[2][3]["reason"] == "inactive"


PERSON = {"first": "Élodie", "last": "Müller", "postcode": "69002", "phone": "06 11 22 33 44"}


def test_probabilistic_match_on_name_postcode_phone() -> None:
    found = decide([{"id": 1, "email": "e@x.com", **PERSON}, {"id": 2, "email": "z@x.com", "first": "Paul",
                                                               "last": "Martin", "postcode": "13001", "phone": "01"}],
                   [{"id": 2001, "name": "ELODIE MULLER", "email": "work@y.com", "postcode": "69002",
                     "phone": "0611223344"},
                    {"id": 2002, "name": "Webshop Customers FR", "postcode": "13001", "phone": "01"}])
    decision, rule, account, details = found[1]
    assert (decision, rule, account) == ("matched", "probabilistic", 2001)
    assert details["name_key_r"] == "elodie muller" and details["phone_key_l"] == "0611223344"
    assert found[2][:3] == ("unmatched", "none", None)  # a catch-all account is never a candidate


def test_probabilistic_review_and_non_match() -> None:
    found = decide(
        [{"id": 1, "email": "e@x.com", **PERSON},
         {"id": 2, "email": "f@x.com", "first": "Marc", "last": "Dubois", "postcode": "69002",
          "phone": "06 11 22 33 44"}],
        # Same name and postcode, another phone: likely, not certain. A household member: other name.
        [{"id": 2001, "name": "Elodie Muller", "postcode": "69002", "phone": "0799999999"}])
    assert found[1][0] == "review" and found[1][1] == "probabilistic" and found[1][2] == 2001
    assert found[2][:3] == ("unmatched", "none", None)


def test_probable_duplicates_and_shared_accounts() -> None:
    prepared = rc.prepare_customers(*shop({"id": 1, "email": "a@x.com", "first": "Ann", "last": "Lee"},
                                          {"id": 7, "email": " A@X.com", "first": "Ann", "last": "Lee", "guest": True},
                                          {"id": 3, "email": "c@x.com", **PERSON},
                                          {"id": 4, "email": "d@x.com", **PERSON}))
    acc = accounts({"id": 2001, "email": "a@x.com"})
    decisions = rc.decide(prepared.customers, acc, SETTINGS)
    report = rc.probable_duplicates(prepared.customers, decisions, acc, SETTINGS)
    listed = report[["kind", "id_customers", "cust_account_id"]].astype(object)
    assert listed.where(listed.notna(), None).values.tolist() == [
        ["same_email", "1;7", None], ["shared_account", "1;7", 2001], ["similar_customers", "3;4", None]]
    assert report.set_index("kind").loc["same_email", "name_similarity"] == 1.0


def test_customer_360_figures() -> None:
    prepared = rc.prepare_customers(*shop({"id": 1, "email": "a@x.com", "first": "Ann", "last": "Lee"},
                                          {"id": 2, "email": " A@x.com", "first": "Ann", "last": "Lee",
                                           "guest": True},
                                          {"id": 3, "email": "c@x.com", "first": "Cy", "last": "Po"}))
    acc = accounts({"id": 2001, "email": "a@x.com"}, {"id": 2002, "name": "Other Org"},
                   {"id": 2003, "name": "Webshop Customers FR"})
    decisions = rc.decide(prepared.customers, acc, SETTINGS)
    orders = pd.DataFrame({"id_order": [1, 2, 3, 4], "id_customer": [1, 1, 2, 3], "valid": [True, True, False, True],
                           "total_paid_tax_incl": [10.0, 24.0, 99.0, 30.0], "conversion_rate": [1.0, 1.2, 1.0, 1.0],
                           "currency_iso": ["EUR", "USD", "EUR", "EUR"], "date_add": pd.Timestamp("2026-01-01")})
    oracle = pd.DataFrame({"header_id": [1, 2, 3, 4], "buying_party_id": [1001, 1001, 1002, 1001],
                           "status_code": ["OPEN", "CLOSED", "OPEN", "CANCELED"],
                           "total_amount": [12.0, 5.0, 7.0, 100.0], "currency": ["USD", "EUR", "EUR", "EUR"]})
    invoices = pd.DataFrame({"customer_trx_id": [1, 2, 3], "bill_to_account": ["2001", "2001", "2002"],
                             "balance_amount": [6.0, 0.0, 3.5], "currency": ["EUR", "EUR", "EUR"]})
    rows = rc.build_360(prepared.customers, acc, decisions, shop_orders=orders, oracle_orders=oracle,
                        invoices=invoices, rates=rc.shop_rates(orders, "EUR"), settings=SETTINGS)
    table = rows.set_index("customer_key")
    assert list(table.index) == ["ps:1", "ps:2", "ps:3", "ora:2002"]  # no row for the catch-all account
    figures = ["shop_orders", "shop_revenue", "oracle_orders", "oracle_revenue", "open_ar_balance"]
    assert table.loc["ps:1", figures].tolist() == [2, 30.0, 2, 15.0, 6.0]  # 24 USD at 1.2 = 20 EUR
    # The guest shares ps:1's account: the account's Oracle figures are counted once, on the registered customer.
    assert table.loc["ps:2", figures].tolist() == [0, 0.0, 0, 0.0, 0.0]
    assert table.loc["ps:2", "cust_account_id"] == 2001
    assert table.loc["ora:2002", figures].tolist() == [0, 0.0, 1, 7.0, 3.5]


def test_changed_rows_touch_only_what_changed() -> None:
    new = pd.DataFrame({"k": ["a", "b", "c"], "n": [1.0, 2.0, 3.0], "flag": [True, False, True]})
    old = pd.DataFrame({"k": ["a", "b", "d"], "n": [1, 5, 4], "flag": [1, 0, 1]})  # as a database hands it back
    changes = rc.changed_rows(new, old, key="k", compare=("n", "flag"))
    assert changes.insert["k"].tolist() == ["b", "c"] and changes.delete == ["b", "d"]
    assert changes.counts == {"inserted": 1, "updated": 1, "deleted": 1, "unchanged": 1}
    same = rc.changed_rows(new, new.assign(flag=new["flag"].astype(int)), key="k", compare=("n", "flag"))
    assert same.insert.empty and same.delete == [] and same.unchanged == 3


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        rc.MatchSettings(match_threshold=0.5, review_threshold=0.9)
    with pytest.raises(ValueError, match="name: m and u need 4"):
        rc.MatchSettings(name=rc.Comparison(m=(0.9, 0.1), u=(0.1, 0.9)))


def test_unconverted_currencies_are_those_of_orders_or_invoices_without_a_rate() -> None:
    # EUR (the default) and USD have rates; GBP orders and CHF invoices do not; a converted order currency is fine
    rates = {"EUR": 1.0, "USD": 1.1}
    orders = pd.Series(["EUR", "GBP", "USD", None])
    invoices = pd.Series(["EUR", "CHF", None])
    assert rc.unconverted_currencies(rates, orders, invoices) == ["CHF", "GBP"]
    assert rc.unconverted_currencies(rates, pd.Series(["USD"]), pd.Series([], dtype=object)) == []
