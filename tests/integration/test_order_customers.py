"""Customer resolution before orders are mapped (``flows/orders/customers.py``), against the real stand-ins.

A generated shop of 500 orders is staged (landed and mapped as extraction does). The Fusion pod is started from the
same generator and seed (``run_sandbox --only oracle``), so ``seed_fusion(...).differences`` recomputed here says
exactly which customers carry the shop reference, which are spelled differently (e-mail case and spaces…), which are
inactive and which are absent. The EBS stand-in is seeded from the same shop (SQLite, and PostgreSQL once); its
ground truth is read straight from its tables. Each test works on its own copy of the staged database.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from conftest import free_port
from support.ebs import seeded_ebs
from support.sandbox import run_sandbox

from prestaoracle.flows.orders.config import Customers, OrderFlowConfig
from prestaoracle.flows.orders.customers import ACCOUNT_TARGET, WEBSHOP_NOTE, resolve_customers
from prestaoracle.mapping import MappingContext, binder, lookups, map_landed, map_record
from prestaoracle.mapping.documents import order_documents
from prestaoracle.oracle import FusionClient, OAuth2ClientCredentials, RetryPolicy
from prestaoracle.oracle.ebs import EbsClient
from prestaoracle.sandbox.oracle.orders import stable_unit
from prestaoracle.sandbox.oracle.seed import seed_fusion
from prestaoracle.sandbox.prestashop.generate import generate_shop
from prestaoracle.staging import Staging, connect, ledger
from prestaoracle.staging.schema import lookup_values, ps_orders, xref

pytestmark = [
    pytest.mark.xdist_group("order_customers"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

SEED, ORDERS, END, DAYS = 7, 500, datetime(2026, 3, 1), 90
CLOCK = datetime(2026, 3, 1, tzinfo=UTC)
FAMILY = ("orders", "order_details", "order_carriers", "order_histories", "order_payments", "customers",
          "addresses", "currencies", "countries")
FUSION = OrderFlowConfig(oracle_target="fusion", customers=Customers(mode="match"))
EBS = OrderFlowConfig(oracle_target="ebs", customers=Customers(mode="match"))
FAULTY = "flaky:slow_page_seconds=0.3"
RATE_504 = 0.15  # the flaky profile's timeout_after_commit rate (sandbox/oracle/app.py ORACLE_FAULTS)


def pod_args(*extra: str) -> tuple[str, ...]:
    return ("--only", "oracle", "--oracle-port", str(free_port()), "--prestashop-port", str(free_port()),
            "--orders", str(ORDERS), "--seed", str(SEED), "--end", END.isoformat(), "--days", str(DAYS),
            "--oracle-clock-start", CLOCK.isoformat(), "--oracle-client-id", "cid", "--oracle-client-secret", "secret",
            "--workers", "1", *extra)


def make_client(pod: str) -> FusionClient:
    # The pod injects faults into at most 3 attempts of one request: 6 attempts always get through. Waits asked by
    # Retry-After are cut short to keep the test fast (what they are worth is not what it is about).
    return FusionClient(pod, auth=OAuth2ClientCredentials(f"{pod}/oauth2/v1/token", "cid", "secret"), timeout=10,
                        retries=RetryPolicy(attempts=6, backoff=0.05, max_backoff=0.4, retry_after_max=0.3))


@pytest.fixture(scope="module")
def shop() -> dict[str, list[dict]]:
    return generate_shop(ORDERS, SEED, END - timedelta(days=DAYS), END).rows


@pytest.fixture(scope="module")
def truth(shop: dict[str, list[dict]]) -> dict:
    return seed_fusion(shop, SEED, CLOCK).differences


@pytest.fixture(scope="module")
def staged_db(shop: dict[str, list[dict]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("order_customers") / "staged.db"
    staging = connect(path, upgrade=True)
    for entity in FAMILY:
        staging.land("prestashop", entity, shop[entity], run_id="stage")
    assert map_landed(staging, "prestashop", "orders", run_id="stage", context=MappingContext.from_config()).failed == 0
    staging.dispose()
    return path


def fresh_staging(staged_db: Path, directory: Path) -> Staging:
    """A private copy of the staged shop (nothing bound, empty ledger)."""
    directory.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{staged_db}{suffix}")
        if source.exists():
            shutil.copy(source, directory / f"staging.db{suffix}")
    return connect(directory / "staging.db")


@pytest.fixture
def staging(staged_db: Path, tmp_path: Path) -> Iterator[Staging]:
    stg = fresh_staging(staged_db, tmp_path / "stg")
    yield stg
    stg.dispose()


@pytest.fixture(scope="module")
def pod() -> Iterator[str]:
    with run_sandbox(*pod_args()) as url:
        yield url


@pytest.fixture(scope="module")
def faulty_pod() -> Iterator[str]:
    with run_sandbox(*pod_args("--faults", FAULTY)) as url:
        yield url


def order_customers(staging: Staging) -> list[int]:
    with staging.engine.connect() as conn:
        return sorted(int(c) for c in conn.execute(sa.select(ps_orders.c.id_customer).distinct()).scalars())


def bindings(staging: Staging, entity: str) -> dict[int, str]:
    with staging.engine.connect() as conn:
        rows = conn.execute(sa.select(xref.c.external_id, xref.c.target_id).where(xref.c.entity == entity))
        return {int(e): t for e, t in rows}


def resolve(staging: Staging, ids: list[int], config: OrderFlowConfig, run_id: str, **kwargs: object):  # noqa: ANN201
    with staging.transaction() as tx:
        return resolve_customers(tx.conn, ids, config=config, run_id=run_id, **kwargs)  # type: ignore[arg-type]


def decided(result: object) -> dict[int, tuple[str, str | None]]:
    return {d.id_customer: (d.rule, d.target_id) for d in result.decisions}  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ Fusion


def test_fusion_match_binds_by_reference_and_email_in_a_handful_of_requests(
        pod: str, shop: dict, truth: dict, staging: Staging) -> None:
    ids = order_customers(staging)
    emails = {c["id"]: c["email"] for c in shop["customers"]}
    refs = {c: str(p) for c, p in truth["customer_references"].items() if c in ids}
    present = {c: (str(p), kinds) for c, (p, kinds) in truth["customers"].items() if c in ids}
    by_email = {c: p for c, (p, _k) in present.items() if c not in refs}
    absent = sorted(set(ids) - set(present))
    # What the seed planted on the customers matched by e-mail: they differ in e-mail case and spaces too.
    assert {"email_case", "email_spaces"} <= {k for c in by_email for k in present[c][1]}
    inactive = [c for c in truth["inactive_accounts"] if c in ids]
    assert refs and absent and inactive and set(inactive) <= set(refs)

    # An operator bound one referenced customer to another account by hand: that binding must stay.
    operator, chosen = min(refs), str(truth["other_accounts"][0])
    with staging.transaction() as tx:
        binder.bind(tx.conn, "customer", operator, chosen, note="python -m prestaoracle map --bind")
    # A second active account with one customer's e-mail (spelled otherwise) makes that customer ambiguous.
    twin = min(by_email)
    writer = make_client(pod)
    writer.post("accounts", {"OrganizationName": "Twin Account", "PartyType": "PERSON", "Status": "A",
                             "EmailAddress": f" {emails[twin].upper()}"})

    client = make_client(pod)
    result = resolve(staging, ids, FUSION, "run-1", fusion=client)
    # 166 customers: a token, 2 requests by reference (100 per `in` list), 2 by e-mail for the rest (not 166 x 2).
    assert client.stats.requests <= 5, client.stats

    assert result.kept == {operator: chosen}
    expected = {c: ("reference", p) for c, p in refs.items() if c != operator}
    expected |= {c: ("email", p) for c, p in by_email.items() if c != twin}
    expected |= {twin: ("ambiguous", None)} | {c: ("webshop", None) for c in absent}
    assert decided(result) == expected
    assert result.counts == {"reference": len(refs) - 1, "email": len(by_email) - 1, "created": 0, "ambiguous": 1,
                             "webshop": len(absent), "failed": 0}
    assert all("inactive" in result.decision(c).note for c in inactive)  # bound anyway, and said so
    assert "several active accounts" in result.decision(twin).note and "web-shop" in result.decision(twin).note
    assert bindings(staging, "customer") == {operator: chosen} | result.bound

    # Again: what is bound is kept and not looked up; only the unbound ones are asked about, in few requests.
    again_client = make_client(pod)
    again = resolve(staging, ids, FUSION, "run-2", fusion=again_client)
    assert set(again.kept) == set(result.bound) | {operator}
    assert decided(again) == {twin: ("ambiguous", None)} | {c: ("webshop", None) for c in absent}
    assert again_client.stats.requests <= 5  # 120 unbound: a token, 2 requests by reference, 2 by e-mail


def test_fusion_webshop_mode_binds_nothing_and_asks_nothing(pod: str, staging: Staging) -> None:
    ids = order_customers(staging)
    client = make_client(pod)
    result = resolve(staging, ids, replace(FUSION, customers=Customers(mode="webshop")), "run-w", fusion=client)
    assert result.counts["webshop"] == len(ids) and not result.bound
    assert client.stats.requests == 0 and bindings(staging, "customer") == {}


def accounts_per_reference(client: FusionClient, ids: list[int]) -> Counter[int]:
    return Counter(int(r["SourceSystemReferenceValue"])
                   for r in client.accounts_by_reference("PSHOP", ids, fields="PartyId,SourceSystemReferenceValue"))


@pytest.mark.timeout(120)
def test_fusion_create_mode_creates_each_missing_account_once_despite_lost_replies(
        faulty_pod: str, truth: dict, staging: Staging, staged_db: Path, tmp_path: Path) -> None:
    ids = [c for c in order_customers(staging) if c <= 30]
    absent = [c for c in ids if c not in truth["customers"]]
    # The pod answers 504 after committing the first create of a seeded share of references: which ones is known.
    lost = {c for c in absent if stable_unit(SEED, f"accounts PSHOP:{c}", "504") < RATE_504}
    assert len(lost) >= 3 and len(absent) > len(lost)
    create = replace(FUSION, customers=Customers(mode="create"))
    reader = make_client(faulty_pod)
    assert accounts_per_reference(reader, absent) == Counter()

    result = resolve(staging, ids, create, "run-c1", fusion=make_client(faulty_pod))
    created = {c: d.target_id for c in absent if (d := result.decision(c)) and d.rule == "created"}
    assert set(created) == set(absent), {c: result.decision(c) for c in absent}
    recovered = {c for c in absent if "reply was lost" in result.decision(c).note}
    assert recovered == lost
    injected = requests.get(f"{faulty_pod}/sandbox/injected", timeout=10).json()["transport"]
    fired = {int(e["path"].rsplit(":", 1)[1]) for e in injected
             if e["kind"] == "timeout_after_commit" and e["path"].startswith("accounts ")}
    assert fired == lost
    assert accounts_per_reference(reader, absent) == Counter(dict.fromkeys(absent, 1))
    assert {c: t for c, t in bindings(staging, "customer").items() if c in absent} == created
    with staging.engine.connect() as conn:
        for c in absent:
            entry = ledger.lookup(conn, ACCOUNT_TARGET, c)
            assert entry is not None and entry.outcome == "created" and entry.target_id == created[c]

    # The run's commit was lost (a fresh staging copy: no binding, no ledger): the accounts are found by their
    # reference, none is created again.
    lost_commit = fresh_staging(staged_db, tmp_path / "lost-commit")
    try:
        redo = resolve(lost_commit, ids, create, "run-c2", fusion=make_client(faulty_pod))
        assert {c: redo.decision(c).rule for c in absent} == dict.fromkeys(absent, "reference")
        assert {c: redo.decision(c).target_id for c in absent} == created
    finally:
        lost_commit.dispose()
    # Re-run on the committed staging: everything is bound and kept.
    third = resolve(staging, ids, create, "run-c3", fusion=make_client(faulty_pod))
    assert set(created) <= set(third.kept) and third.counts["created"] == 0
    assert accounts_per_reference(reader, absent) == Counter(dict.fromkeys(absent, 1))


# ------------------------------------------------------------------------------------------------ EBS


def ebs_truth(engine: sa.Engine) -> dict[int, tuple[str, str]]:
    """cust_account_id -> (ORIG_SYSTEM_REFERENCE, STATUS), read from the stand-in's own table."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select cust_account_id, orig_system_reference, status from hz_cust_accounts"))
        return {int(a): (osr, status) for a, osr, status in rows}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_ebs_match_binds_accounts_and_finds_the_catch_all_accounts(
        backend: str, shop: dict, staging: Staging, tmp_path: Path) -> None:
    ids = order_customers(staging)
    with seeded_ebs(backend, shop, tmp_path, "order_customers") as (engine, report):
        accounts = ebs_truth(engine)
        expected: dict[int, tuple[str, str | None]] = {}
        for cid in ids:
            seeded = report.customers.get(cid)
            if seeded is None:
                expected[cid] = ("webshop", None)
            elif accounts[seeded.cust_account_id][0] == f"PRESTASHOP-{cid}":
                expected[cid] = ("reference", str(seeded.cust_account_id))
            elif seeded.status == "A":
                expected[cid] = ("email", str(seeded.cust_account_id))
            else:
                expected[cid] = ("webshop", None)  # only an inactive account has the e-mail
        rules = Counter(rule for rule, _ in expected.values())
        assert rules["reference"] and rules["email"] and rules["webshop"] > len(set(ids) - set(report.customers))
        variants = {report.customers[c].variant for c, (rule, _) in expected.items() if rule == "email"}
        assert "upper" in variants  # e-mail upper-cased in EBS, matched all the same

        # The operator's choices stay: a binding, and a catch-all pair set by hand.
        operator = next(c for c, (rule, _) in expected.items() if rule == "reference")
        by_hand_key = "FR:EUR"
        assert (("FR", "EUR") in report.webshop_accounts) and report.customers[operator].cust_account_id != 42
        with staging.transaction() as tx:
            binder.bind(tx.conn, "ebs_customer", operator, 42, note="python -m prestaoracle map --bind")
            lookups.set_lookup(tx.conn, "ebs_webshop_account", by_hand_key, 4242,
                               note="python -m prestaoracle map --set-lookup")

        statements: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            result = resolve(staging, ids, EBS, "run-e1", ebs=EbsClient(engine))
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert len(statements) <= 2, statements  # the catch-alls by name, then every candidate in one statement

        assert result.kept == {operator: "42"}
        del expected[operator]
        assert decided(result) == expected
        assert bindings(staging, "ebs_customer") == {operator: "42"} | result.bound
        catch_alls = {f"{c}:{cur}": str(a) for (c, cur), a in report.webshop_accounts.items()}
        with staging.engine.connect() as conn:
            pairs = {k: (v, n) for k, v, n in conn.execute(sa.select(
                lookup_values.c.key, lookup_values.c.value, lookup_values.c.note).where(
                lookup_values.c.lookup == "ebs_webshop_account"))}
        assert pairs[by_hand_key] == ("4242", "python -m prestaoracle map --set-lookup")
        assert {k: v for k, (v, n) in pairs.items() if n == WEBSHOP_NOTE} == {
            k: v for k, v in catch_alls.items() if k != by_hand_key}
        assert result.webshop_accounts == catch_alls | {by_hand_key: "4242"}

        # The EBS mapping now books every order: bound customers on their account, the others on the catch-all of
        # the delivery country and currency.
        with staging.engine.connect() as conn:
            context = MappingContext.from_config().with_staging(conn)
            documents = order_documents(conn, [o["id"] for o in shop["orders"]])
        bound = bindings(staging, "ebs_customer")
        for doc in documents.values():
            sold_to = map_record("ebs_order", doc, context)["sold_to_org_id"]
            key = f"{doc['delivery_address']['country_iso']}:{doc['currency_iso']}"
            want = bound.get(doc["id_customer"]) or result.webshop_accounts[key]
            assert str(sold_to) == want, doc["id_order"]
