"""The customer 360 flow end to end over one small seeded sandbox pair.

Expectations come from the systems, never from the product: the pair the pod was seeded to produce for every shop
customer (``GET /sandbox/differences`` → ``customer_matches``), a guest duplicate this test adds to the shop through
its webservice, and the shop's and the pod's own stores for the counts and amounts. The pod gets three sales orders
(two for a matched customer's account, one for an organisation no shop customer is) and two days of clock, so the
Oracle side of the table has orders and open receivables to sum.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from conftest import free_port
from support.order_to_cash import KEY, Systems, advance, apply_env, fast_retries, product_env, rows, sandbox_args
from support.sandbox import run_sandbox

pytestmark = [
    pytest.mark.xdist_group("customer_360_flow"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

SEED, ORDERS = 23, 60
GUEST = ("<prestashop><customer><id_default_group>2</id_default_group><lastname>{last}</lastname>"
         "<firstname>{first}</firstname><email>{email}</email><passwd>guest-no-password</passwd>"
         "<is_guest>1</is_guest><active>1</active><id_shop>1</id_shop><id_lang>1</id_lang></customer></prestashop>")


@dataclass
class World:
    systems: Systems
    staging_url: str
    differences: dict[str, Any]
    guest: int
    guest_of: int
    runs: list[dict[str, Any]]
    tables: list[dict[str, list[tuple]]]
    oracle_party: int
    other_account: dict[str, Any]


def _table(url: str, name: str, key: str) -> list[tuple]:
    return [tuple(r) for r in rows(url, f"SELECT * FROM {name} ORDER BY {key}")]


def _post_guest(shop: str, customer: dict[str, Any]) -> int:
    """The same person checking out again as a guest, with the e-mail typed in capitals."""
    body = GUEST.format(last=customer["lastname"], first=customer["firstname"], email=customer["email"].upper())
    resp = requests.post(f"{shop}/api/customers", params={"output_format": "JSON"}, auth=(KEY, ""),
                         data=body.encode(), timeout=30)
    assert resp.status_code == 201, resp.text
    return int(resp.json()["customer"]["id"])


def _order(party: int, ref: str, sku: str, quantity: int, price: float) -> dict[str, Any]:
    return {"SourceTransactionNumber": ref, "SourceTransactionSystem": "PSHOP", "SourceTransactionId": ref,
            "BusinessUnitName": "Vision Operations", "BuyingPartyId": party, "TransactionalCurrencyCode": "EUR",
            "RequestedFulfillmentOrganizationCode": "M1", "SubmittedFlag": True, "FreezePriceFlag": True,
            "lines": [{"SourceTransactionLineId": "1", "SourceTransactionLineNumber": "1", "ProductNumber": sku,
                       "OrderedQuantity": quantity, "OrderedUOMCode": "Ea",
                       "charges": [{"chargeComponents": [{"PriceElementUsageCode": "NET_PRICE",
                                                          "ChargeCurrencyUnitPrice": price}]}]}]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from prestaoracle import connections
    from prestaoracle.flows.customer_360 import run_customer_360

    workdir = tmp_path_factory.mktemp("customer360")
    data_dir = workdir / "data"
    data_dir.mkdir()
    pod_port = free_port()
    staging_url = f"sqlite:///{workdir / 'staging.db'}"
    with contextlib.ExitStack() as stack:
        shop = stack.enter_context(run_sandbox(*sandbox_args(
            orders=ORDERS, seed=SEED, faults="none", data_dir=data_dir, shop_port=free_port(), pod_port=pod_port,
            days=5)))
        systems = Systems(shop, f"http://127.0.0.1:{pod_port}", data_dir)
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        apply_env(mp, product_env(systems, staging_url=staging_url, workdir=workdir, target="fusion"))
        mp.delenv("PRESTAORACLE_CUSTOMER360_CONFIG", raising=False)
        fast_retries(mp)
        differences = requests.get(f"{systems.pod}/sandbox/differences", timeout=30).json()

        expected = {m["id_customer"]: m for m in differences["customer_matches"]}
        low = {c["id_customer"] for c in differences["low_credit"]}
        guest_of = min(c for c, m in expected.items()
                       if m["rule"] == "shop_reference" and m["decision"] == "matched" and c not in low)
        person = rows(systems.shop_db, "SELECT firstname, lastname, email FROM ps_customers WHERE id = :id",
                      id=guest_of)[0]
        guest = _post_guest(shop, dict(person._mapping))

        # Oracle orders for one matched customer's account and for an organisation of another source system.
        party = expected[guest_of]["PartyId"]
        other = differences["other_accounts"][0]
        sku = rows(systems.pod_db, "SELECT ItemNumber FROM fusion_items WHERE ItemStatusValue = 'Active' "
                                   "AND OrganizationCode = 'M1' ORDER BY ItemNumber LIMIT 1")[0][0]
        with connections.fusion_client() as client:
            for ref, who, qty, price in (("C360-1", party, 2, 10.5), ("C360-2", party, 1, 99.0),
                                         ("C360-3", other["PartyId"], 3, 20.0)):
                client.post("salesOrdersForOrderHub", _order(who, ref, sku, qty, price))
        # Shipped and billed on the pod's clock, which is now ahead: the runs read up to it.
        pod_clock = advance(systems.pod, 2)

        runs, tables = [], []
        for n in (1, 2):
            runs.append(run_customer_360(run_id=f"c360-{n}", end=pod_clock, stage=n == 1))
            tables.append({"customer_matches": _table(staging_url, "customer_matches", "id_customer"),
                           "customer_360": _table(staging_url, "customer_360", "customer_key")})
        yield World(systems, staging_url, differences, guest, guest_of, runs, tables, party, other)


def _decisions(world: World) -> dict[int, dict[str, Any]]:
    return {int(r.id_customer): dict(r._mapping) for r in rows(world.staging_url, "SELECT * FROM customer_matches")}


def test_customers_are_matched_in_the_expected_pairs(world: World) -> None:
    expected = {m["id_customer"]: (m["decision"], m["rule"], m["AccountNumber"])
                for m in world.differences["customer_matches"]}
    expected[world.guest] = ("matched", "email", expected[world.guest_of][2])
    found = {cid: (d["decision"], d["rule"], d["account_number"]) for cid, d in _decisions(world).items()}
    assert found == expected
    # Every rule was exercised by the seed, so each part of the prediction was put to the test.
    assert {(d, r) for d, r, _a in expected.values()} >= {
        ("matched", "shop_reference"), ("review", "shop_reference"), ("matched", "email"), ("matched", "vat"),
        ("matched", "probabilistic"), ("unmatched", "none")}
    decisions = _decisions(world)
    probabilistic = [d for d in decisions.values() if d["rule"] == "probabilistic"]
    assert all(d["score"] >= 0.95 for d in probabilistic)
    assert all(d["score"] == 1.0 for d in decisions.values() if d["rule"] in ("shop_reference", "email", "vat"))
    inactive = [d for d in decisions.values() if d["decision"] == "review"]
    assert all(json.loads(d["details"])["reason"] == "inactive" for d in inactive)


def test_customer_360_holds_every_customer_and_the_unmatched_accounts(world: World) -> None:
    shop_ids = {int(r[0]) for r in rows(world.systems.shop_db, "SELECT id FROM ps_customers WHERE deleted = 0")}
    table = {r.customer_key: r for r in rows(world.staging_url, "SELECT * FROM customer_360")}
    assert {k for k in table if k.startswith("ps:")} == {f"ps:{c}" for c in shop_ids}
    matched_accounts = {d["cust_account_id"] for d in _decisions(world).values() if d["decision"] == "matched"}
    pod_accounts = rows(world.systems.pod_db, "SELECT CustomerAccountId, OrganizationName FROM fusion_accounts")
    lone = {f"ora:{a.CustomerAccountId}" for a in pod_accounts
            if a.CustomerAccountId not in matched_accounts and not a.OrganizationName.startswith("Webshop Customers")}
    assert {k for k in table if k.startswith("ora:")} == lone


def test_revenue_and_receivables_equal_what_the_stores_hold(world: World) -> None:
    table = {r.customer_key: r for r in rows(world.staging_url, "SELECT * FROM customer_360")}
    # Shop side: the valid orders of a few customers, in the shop's default currency (EUR, rate 1 in the generator).
    shop = rows(world.systems.shop_db, """
        SELECT id_customer, COUNT(*) AS n, SUM(total_paid_tax_incl / conversion_rate) AS revenue
        FROM ps_orders WHERE valid = 1 GROUP BY id_customer ORDER BY id_customer""")
    assert len(shop) >= 3
    for r in shop:
        row = table[f"ps:{r.id_customer}"]
        assert (row.shop_orders, round(float(row.shop_revenue), 2)) == (r.n, round(float(r.revenue), 2))
    # Oracle side: the pod's orders and open invoices of the two accounts that got orders.
    for key, party in ((f"ps:{world.guest_of}", world.oracle_party),
                       (f"ora:{_account_id(world, world.other_account['PartyId'])}", world.other_account["PartyId"])):
        orders = rows(world.systems.pod_db, "SELECT COUNT(*) AS n, COALESCE(SUM(TotalAmount), 0) AS total "
                                            "FROM fusion_orders WHERE BuyingPartyId = :p", p=party)[0]
        number = rows(world.systems.pod_db, "SELECT AccountNumber FROM fusion_accounts WHERE PartyId = :p",
                      p=party)[0][0]
        balance = rows(world.systems.pod_db, "SELECT COALESCE(SUM(InvoiceBalanceAmount), 0) FROM fusion_invoices "
                                             "WHERE BillToCustomerNumber = :a", a=number)[0][0]
        row = table[key]
        assert orders.n >= 1 and (row.oracle_orders, float(row.oracle_revenue)) == (orders.n, round(orders.total, 2))
        assert float(row.open_ar_balance) == round(float(balance), 2)
    # The guest shares the account: its Oracle figures are counted once, on the registered customer's row.
    guest = table[f"ps:{world.guest}"]
    assert guest.account_number == table[f"ps:{world.guest_of}"].account_number
    assert (guest.oracle_orders, float(guest.oracle_revenue)) == (0, 0.0)
    assert table[f"ps:{world.guest_of}"].oracle_orders == 2


def _account_id(world: World, party: int) -> int:
    return int(rows(world.systems.pod_db, "SELECT CustomerAccountId FROM fusion_accounts WHERE PartyId = :p",
                    p=party)[0][0])


def test_a_second_run_changes_nothing(world: World) -> None:
    first, second = world.tables
    assert first == second and first["customer_matches"] and first["customer_360"]
    assert world.runs[1]["steps"]["match"]["written"] == {"inserted": 0, "updated": 0, "deleted": 0,
                                                          "unchanged": len(first["customer_matches"])}
    assert world.runs[1]["steps"]["build_360"]["written"]["unchanged"] == len(first["customer_360"])


def test_the_report_lists_the_guest_duplicate_and_the_shared_account(world: World) -> None:
    run = world.runs[-1]
    with Path(run["report_csv"]).open(encoding="utf-8") as f:
        report = list(csv.DictReader(f))
    pair = f"{world.guest_of};{world.guest}"
    kinds = {(r["kind"], r["id_customers"]) for r in report}
    assert ("same_email", pair) in kinds and ("shared_account", pair) in kinds
    assert all(r["id_customers"] == pair for r in report if r["kind"] in ("same_email", "shared_account"))
    html = Path(run["report_html"]).read_text(encoding="utf-8")
    assert "shared_account" in html and str(world.guest) in html
    with sa.create_engine(world.staging_url).connect() as conn:
        steps = {r.step for r in conn.execute(sa.text(
            "SELECT step FROM run_metrics WHERE run_id = 'c360-2' AND flow = 'customer-360'"))}
    assert steps == {"match", "build_360", "report"}


# ------------------------------------------------------------------------------------ dead letters, without a sandbox


def test_a_customer_without_email_or_name_waits_as_a_dead_letter_until_fixed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prestaoracle.flows.customer_360 import match_step
    from prestaoracle.staging import connect
    from prestaoracle.staging.schema import dead_letters, ora_accounts, ps_customers

    url = f"sqlite:///{tmp_path / 'staging.db'}"
    monkeypatch.setenv("AIRFLOW_CONN_STAGING_DEFAULT", json.dumps({"conn_type": "generic",
                                                                   "extra": {"sqlalchemy_url": url}}))
    monkeypatch.delenv("PRESTAORACLE_CUSTOMER360_CONFIG", raising=False)
    staging = connect(url, upgrade=True)
    try:
        with staging.engine.begin() as conn:
            conn.execute(ps_customers.insert(), [
                {"id_customer": 1, "email": "ann@example.com", "firstname": "Ann", "lastname": "Lee",
                 "is_guest": False, "deleted": False, "dq_status": "passed"},
                {"id_customer": 2, "email": None, "firstname": None, "lastname": None, "is_guest": True,
                 "deleted": False, "dq_status": "passed"}])
            conn.execute(ora_accounts.insert(), [
                {"cust_account_id": 10, "account_number": "A10", "party_id": 100, "name": "Ann Lee",
                 "email": "ann@example.com", "status": "A", "source_system": "PSHOP", "source_ref": "1",
                 "dq_status": "passed"}])

        def letters() -> list[tuple]:
            with staging.engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.select(dead_letters.c.record_key,
                                                                 dead_letters.c.reason_class, dead_letters.c.status))]

        assert match_step(run_id="m1")["quarantined"] == 1
        assert letters() == [("2", "invalid_data", "open")]
        with staging.engine.begin() as conn:  # the shop gave the customer an e-mail
            conn.execute(ps_customers.update().where(ps_customers.c.id_customer == 2).values(email="bo@example.com"))
        result = match_step(run_id="m2")
        assert (result["quarantined"], result["resolved"]) == (0, 1)
        assert letters() == [("2", "invalid_data", "resolved")]
    finally:
        staging.dispose()
