"""The inventory flow end to end over one seeded sandbox pair: Oracle's on-hand reaches the shop, and nothing else.
Last, the same pair with ``quantity.orgs: [M1, V1]``: the stock of both organizations, less the buffer.

Expectations come from the systems, never from the product: the on-hand differences the pod was seeded with
(``GET /sandbox/differences``), the shop's own store (its ``ps_stock_availables`` table) before and after, and the
PATCH/PUT requests that reached the shop (counted on the wire). The pod's clock is never moved: shipping orders would
change on-hand after the differences were planted.
"""

from __future__ import annotations

import contextlib
import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import free_port
from support.order_to_cash import Systems, apply_env, fast_retries, ledger, product_env, rows, sandbox_args
from support.sandbox import run_sandbox

pytestmark = [
    pytest.mark.xdist_group("inventory_flow"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

SEED, ORDERS = 23, 40
TARGET, BUFFER = "prestashop_stock", 1
WRITES = ("PUT", "PATCH", "POST", "DELETE")


def shop_stock(systems: Systems) -> dict[int, tuple[str, int]]:
    """Every stock row of the shop's store: id_stock_available -> (SKU, quantity); the SKU is the combination's
    reference, or the product's on its product-level row."""
    return {i: (sku, qty) for i, (sku, qty, _product, _parent) in _stock_rows(systems).items()}


def _stock_rows(systems: Systems) -> dict[int, tuple[str, int, int, bool]]:
    """id_stock_available -> (SKU, quantity, id_product, whether it is the product row of a product with
    combinations)."""
    found = rows(systems.shop_db, """
        SELECT s.id, s.quantity, s.id_product, s.id_product_attribute,
               CASE WHEN s.id_product_attribute > 0 THEN c.reference ELSE p.reference END AS sku,
               (SELECT count(*) FROM ps_combinations k WHERE k.id_product = s.id_product) AS combinations
        FROM ps_stock_availables s
        LEFT JOIN ps_products p ON p.id = s.id_product
        LEFT JOIN ps_combinations c ON c.id = s.id_product_attribute""")
    return {int(r.id): (str(r.sku or ""), int(r.quantity), int(r.id_product),
                        int(r.id_product_attribute) == 0 and int(r.combinations) > 0) for r in found}


def parent_skus(systems: Systems) -> set[str]:
    """References of products that have combinations (their own stock row is the sum PrestaShop keeps)."""
    return {str(r.reference) for r in rows(systems.shop_db, """
        SELECT DISTINCT p.reference FROM ps_products p JOIN ps_combinations c ON c.id_product = p.id""")}


@dataclass
class World:
    systems: Systems
    staging_url: str
    differences: dict[str, Any]
    before: dict[int, tuple[str, int]]
    after_dry: dict[int, tuple[str, int]]
    after_first: dict[int, tuple[str, int]]
    after_second: dict[int, tuple[str, int]]
    runs: dict[str, dict[str, Any]]
    ledger_default: dict[str, tuple[str, str | None, str | None]]
    v1_default: dict[str, int]
    v1_staged: dict[str, int]
    after_orgs: dict[int, tuple[str, int]]
    after_orgs_again: dict[int, tuple[str, int]]
    writes: dict[str, Counter[str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("inventory")
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
        mp.delenv("PRESTAORACLE_INVENTORY_CONFIG", raising=False)
        fast_retries(mp)
        differences = requests.get(f"{systems.pod}/sandbox/differences", timeout=30).json()

        writes: dict[str, Counter[str]] = {}
        current: list[Counter[str]] = []
        send = requests.Session.send

        def counting(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
            if current and request.method in WRITES and request.url and request.url.startswith(shop):
                current[-1][request.method] += 1
            return send(session, request, **kwargs)

        mp.setattr(requests.Session, "send", counting)

        from prestaoracle.flows.inventory import run_inventory

        runs: dict[str, dict[str, Any]] = {}

        def run(run_id: str, **kwargs: Any) -> dict[str, tuple[str, int]]:
            current.append(Counter())
            runs[run_id] = run_inventory(run_id=run_id, **kwargs)
            writes[run_id] = current.pop()
            return shop_stock(systems)

        before = shop_stock(systems)
        after_dry = run("inventory-dry", mode="full", dry_run=True)
        # what the dry run staged is still what the shop holds: compare it again without staging
        after_first = run("inventory-1", mode="full", stage=False)
        after_second = run("inventory-2", mode="full")
        ledger_default, v1_default = ledger(staging_url, TARGET), v1_staged(staging_url)
        # then both organizations, less a buffer: staging reads V1's on-hand again, a full run writes the sums
        config = workdir / "inventory-orgs.yaml"
        config.write_text(f"quantity: {{orgs: [M1, V1], safety_buffer: {BUFFER}}}\n"
                          "writes: {max_writes_per_run: 10000}\n")
        mp.setenv("PRESTAORACLE_INVENTORY_CONFIG", str(config))
        after_orgs = run("inventory-orgs", mode="full")
        after_orgs_again = run("inventory-orgs-2", mode="full", stage=False)
        yield World(systems, staging_url, differences, before, after_dry, after_first, after_second, runs,
                    ledger_default, v1_default, v1_staged(staging_url), after_orgs, after_orgs_again, writes)


def v1_staged(staging_url: str) -> dict[str, int]:
    """What staging holds of organization V1: landed on-hand records and canonical rows, by SKU."""
    landed = rows(staging_url, "SELECT record_id FROM landing_records WHERE source = 'oracle' AND entity = 'onhand' "
                               "AND record_id LIKE 'V1:%'")
    staged = {str(r.sku): int(r.quantity) for r in rows(staging_url, "SELECT sku, quantity FROM ora_onhand "
                                                                      "WHERE org = 'V1'")}
    assert len(landed) == len(staged)
    return staged


def report_rows(summary: dict[str, Any]) -> list[dict[str, str]]:
    with Path(summary["report_csv"]).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_planted_onhand_difference_is_written_and_nothing_else(world: World) -> None:
    planted = {d["sku"]: (d["shop"], d["oracle"]) for d in world.differences["onhand"]}
    assert planted, "the pod planted no on-hand difference: nothing would be proven"
    by_sku = {sku: (stock_id, qty) for stock_id, (sku, qty) in world.before.items() if sku}
    assert {sku: by_sku[sku][1] for sku in planted} == {sku: shop for sku, (shop, _) in planted.items()}
    expected = {stock_id: (sku, planted[sku][1] if sku in planted else qty)
                for stock_id, (sku, qty) in world.before.items()}
    # PrestaShop keeps the product row of a product with combinations at the sum of its combinations
    structure = _stock_rows(world.systems)
    sums = Counter()
    for stock_id, (_sku, _qty, product, parent) in structure.items():
        if not parent:
            sums[product] += expected[stock_id][1]
    expected.update({stock_id: (sku, sums[product]) for stock_id, (sku, _qty, product, parent) in structure.items()
                     if parent})
    assert world.after_first == expected
    assert world.writes["inventory-1"] == Counter({"PATCH": len(planted)})


def test_the_ledger_holds_each_write_with_the_quantity_written(world: World) -> None:
    planted = {d["sku"]: d["oracle"] for d in world.differences["onhand"]}
    stock_of = {sku: stock_id for stock_id, (sku, _) in world.before.items() if sku}
    assert world.ledger_default == {
        str(stock_of[sku]): ("updated", str(stock_of[sku]), str(qty)) for sku, qty in planted.items()}


def test_a_second_run_writes_nothing(world: World) -> None:
    assert world.writes["inventory-2"] == Counter()
    assert world.after_second == world.after_first
    assert world.runs["inventory-2"]["counts"]["write"] == 0


def test_a_dry_run_writes_nothing_and_reports_what_it_would_write(world: World) -> None:
    assert world.writes["inventory-dry"] == Counter()
    assert world.after_dry == world.before
    would = {r["sku"]: int(r["new_qty"]) for r in report_rows(world.runs["inventory-dry"]) if r["section"] == "write"}
    assert would == {d["sku"]: d["oracle"] for d in world.differences["onhand"]}
    assert {r["outcome"] for r in report_rows(world.runs["inventory-dry"]) if r["section"] == "write"} == {"dry_run"}


def test_the_report_lists_changes_and_skus_on_one_side_only(world: World) -> None:
    report = report_rows(world.runs["inventory-1"])
    changed = {r["sku"]: (int(r["shop_qty"]), int(r["new_qty"]), r["outcome"], r["orgs"])
               for r in report if r["section"] == "write"}
    assert changed == {d["sku"]: (d["shop"], d["oracle"], "updated", "M1") for d in world.differences["onhand"]}
    parents = parent_skus(world.systems)
    # a shop SKU Oracle has no item for is reported, not written (a product-level row of a product with
    # combinations is skipped for that reason first)
    assert {r["sku"] for r in report if r["section"] == "shop_only"} == \
        set(world.differences["missing_skus"]) - parents
    assert not [r for r in report if r["section"] == "oracle_only"]
    skipped = {r["sku"]: r["reason"] for r in report if r["section"] == "skipped"}
    assert skipped == dict.fromkeys(parents, "combination_parent")
    assert Path(world.runs["inventory-1"]["report_html"]).read_text(encoding="utf-8").count("<tr>") > len(changed)


def test_the_default_configuration_reads_no_other_organization(world: World) -> None:
    assert world.differences["onhand_other_orgs"], "the pod stocked nothing in V1: nothing would be proven"
    assert world.v1_default == {}
    assert world.v1_staged == {o["sku"]: o["quantity"] for o in world.differences["onhand_other_orgs"]}


def test_summing_organizations_writes_m1_plus_v1_less_the_buffer(world: World) -> None:
    planted = {d["sku"]: d["oracle"] for d in world.differences["onhand"]}
    v1 = {o["sku"]: o["quantity"] for o in world.differences["onhand_other_orgs"]}
    missing = set(world.differences["missing_skus"])
    structure = _stock_rows(world.systems)
    expected: dict[int, tuple[str, int]] = {}
    sums: Counter[int] = Counter()
    for stock_id, (sku, qty) in world.before.items():
        if sku and sku not in missing and not structure[stock_id][3]:
            # M1 is the planted quantity, else what the shop held (the seed copied it); V1 comes on top
            qty = max(0, planted.get(sku, qty) + v1.get(sku, 0) - BUFFER)
        expected[stock_id] = (sku, qty)
        if not structure[stock_id][3]:
            sums[structure[stock_id][2]] += qty
    expected.update({stock_id: (sku, sums[product]) for stock_id, (sku, _qty, product, parent) in structure.items()
                     if parent})
    assert world.after_orgs == expected
    changed = {i for i, (sku, qty) in expected.items() if not structure[i][3] and qty != world.after_second[i][1]}
    written = {expected[i][0] for i in changed}
    assert {sku for sku, qty in v1.items() if qty != BUFFER} <= written
    assert world.writes["inventory-orgs"] == Counter({"PATCH": len(changed)})
    report = {r["sku"]: r["orgs"] for r in report_rows(world.runs["inventory-orgs"]) if r["section"] == "write"}
    assert {sku for sku, orgs in report.items() if orgs == "M1,V1"} == set(v1) & written
    # and a second run over the same staging writes nothing
    assert world.writes["inventory-orgs-2"] == Counter() and world.after_orgs_again == world.after_orgs


# ------------------------------------------------------------------------------------------- writes, without a shop


class FakeShop:
    """Stands in for ``PrestaShopWriter`` over a dict of stock rows: converges like the real one (no write when the
    row already holds the quantity), refuses or fails on demand, and counts the writes it takes."""

    def __init__(self, quantities: dict[int, int]) -> None:
        self.quantities = dict(quantities)
        self.calls: list[int] = []
        self.writes: list[tuple[int, int]] = []
        self.refuse: set[int] = set()
        self.fail_at_call: int | None = None

    def writer(self, _client: Any) -> FakeShop:
        return self

    def set_stock(self, stock_id: int, quantity: int, *, use_patch: bool = True) -> bool:
        from prestaoracle.prestashop.errors import ApiError, AuthError, RequestError

        self.calls.append(stock_id)
        if self.fail_at_call is not None and len(self.calls) == self.fail_at_call:
            raise AuthError("401 Unauthorized: the webservice key was disabled", status=401)
        if stock_id in self.refuse:
            raise RequestError("400 Bad Request: quantity refused", status=400, errors=[ApiError(90, "refused")])
        if self.quantities[stock_id] == quantity:
            return False
        self.quantities[stock_id] = quantity
        self.writes.append((stock_id, quantity))
        return True


@pytest.fixture
def staged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, FakeShop]]:
    """A staging database holding five stock rows at 0 and Oracle's 1..5 for them; the flow's shop is a FakeShop."""
    import json

    from prestaoracle import connections, prestashop
    from prestaoracle.staging import connect
    from prestaoracle.staging.schema import ora_onhand, ps_stock

    url = f"sqlite:///{tmp_path / 'staging.db'}"
    config = tmp_path / "inventory.yaml"
    config.write_text("writes: {batch_size: 1, max_writes_per_run: 2}\ndelta: {overlap_minutes: 0}\n")
    monkeypatch.setenv("AIRFLOW_CONN_STAGING_DEFAULT", json.dumps({"conn_type": "generic",
                                                                   "extra": {"sqlalchemy_url": url}}))
    monkeypatch.setenv("PRESTAORACLE_INVENTORY_CONFIG", str(config))
    monkeypatch.setenv("PRESTAORACLE_REPORTS_DIR", str(tmp_path / "reports"))
    staging = connect(url, upgrade=True)
    with staging.engine.begin() as conn:
        conn.execute(ps_stock.insert(), [
            {"id_stock_available": i, "id_product": i, "id_product_attribute": 0, "id_shop": 1, "sku": sku,
             "quantity": 0, "depends_on_stock": False, "out_of_stock": 2, "dq_status": "passed"}
            for i, sku in enumerate("ABCDE", start=1)])
        conn.execute(ora_onhand.insert(), [
            {"org": "M1", "sku": sku, "quantity": i, "last_update": datetime(2026, 11, 1, 8), "dq_status": "passed"}
            for i, sku in enumerate("ABCDE", start=1)])
    shop = FakeShop(dict.fromkeys(range(1, 6), 0))

    @contextlib.contextmanager
    def client() -> Iterator[None]:
        yield None

    monkeypatch.setattr(connections, "prestashop_client", client)
    monkeypatch.setattr(prestashop, "PrestaShopWriter", shop.writer)
    yield staging, shop
    staging.dispose()


def _restage(staging: Any, shop: FakeShop) -> None:
    """What the next run's staging would read from the shop."""
    from prestaoracle.staging.schema import ps_stock

    with staging.engine.begin() as conn:
        for stock_id, qty in shop.quantities.items():
            conn.execute(ps_stock.update().where(ps_stock.c.id_stock_available == stock_id).values(quantity=qty))


def test_writes_are_bounded_batched_resumed_and_retried(staged: tuple[Any, FakeShop]) -> None:
    import sqlalchemy as sa

    from prestaoracle.flows.inventory import run_inventory, write_step
    from prestaoracle.prestashop.errors import AuthError
    from prestaoracle.staging.schema import dead_letters, ora_onhand, watermarks

    staging, shop = staged

    def ledger_now() -> dict[str, tuple[str, str | None]]:
        return {k: (outcome, ref) for k, (outcome, _id, ref) in ledger(str(staging.engine.url), "prestashop_stock")
                .items()}

    def watermark() -> str | None:
        with staging.engine.connect() as conn:
            return conn.execute(sa.select(watermarks.c.value).where(watermarks.c.source == "inventory")).scalar()

    # the key is disabled after the first write: the first batch is in the ledger, the task fails
    shop.fail_at_call = 2
    with pytest.raises(AuthError):
        run_inventory(run_id="r1", mode="full", stage=False)
    assert shop.writes == [(1, 1)] and ledger_now() == {"1": ("updated", "1")}
    # the task is retried (same run, staging not re-read): row 1 is not touched again; two writes per run at most
    shop.fail_at_call, shop.calls = None, []
    summary = run_inventory(run_id="r1", mode="full", stage=False)
    assert shop.calls == [2, 3] and summary["counts"]["outcome_deferred"] == 2
    assert watermark() is None, "rows were left for later: the watermark must not move"
    # the next run (delta, no watermark yet: everything) writes the rest and moves the watermark
    _restage(staging, shop)
    run_inventory(run_id="r2", mode="delta", stage=False)
    assert shop.writes == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)] and watermark() == "2026-11-01 08:00:00"
    # Oracle changes C and D; the shop refuses D: a dead letter, a failed ledger row
    _restage(staging, shop)
    with staging.engine.begin() as conn:
        conn.execute(ora_onhand.update().where(ora_onhand.c.sku.in_(["C", "D"]))
                     .values(quantity=30, last_update=datetime(2026, 11, 1, 9)))
    shop.refuse, shop.calls = {4}, []
    write_step(run_id="r3", mode="delta")
    assert shop.calls == [3, 4] and ledger_now()["4"][0] == "failed" and shop.quantities[3] == 30
    with staging.engine.connect() as conn:
        letters = [tuple(r) for r in conn.execute(sa.select(
            dead_letters.c.record_key, dead_letters.c.reason_class, dead_letters.c.status))]
    assert letters == [("4", "invalid_data", "open")]
    # nothing changed in Oracle since, but row 4's last write failed: the hourly run retries it
    _restage(staging, shop)
    shop.refuse, shop.calls = set(), []
    run_inventory(run_id="r4", mode="delta", stage=False)
    assert shop.calls == [4] and shop.quantities[4] == 30 and ledger_now()["4"] == ("updated", "30")
    with staging.engine.connect() as conn:
        assert conn.execute(sa.select(dead_letters.c.status)).scalar() == "resolved"
    # and a delta run with nothing changed and nothing failed writes nothing
    _restage(staging, shop)
    shop.calls = []
    assert run_inventory(run_id="r5", mode="delta", stage=False)["counts"]["write"] == 0 and shop.calls == []


def test_an_unusable_oracle_quantity_is_a_dead_letter_until_oracle_fixes_it(
        staged: tuple[Any, FakeShop], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa

    from prestaoracle.flows.inventory import run_inventory
    from prestaoracle.staging.schema import dead_letters, ora_onhand

    staging, shop = staged
    config = tmp_path / "unbounded.yaml"
    config.write_text("delta: {overlap_minutes: 0}\n")
    monkeypatch.setenv("PRESTAORACLE_INVENTORY_CONFIG", str(config))

    def oracle_says(available: float | None, hour: int) -> None:
        with staging.engine.begin() as conn:
            conn.execute(ora_onhand.update().where(ora_onhand.c.sku == "E").values(
                available=available, last_update=datetime(2026, 11, 1, hour)))

    def letters() -> list[tuple[str, str, str, str]]:
        with staging.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(
                dead_letters.c.entity, dead_letters.c.record_key, dead_letters.c.reason_class, dead_letters.c.status))]

    oracle_says(-2.0, 9)
    summary = run_inventory(run_id="r1", mode="full", stage=False)
    assert 5 not in shop.calls and summary["counts"]["skipped_invalid_oracle_quantity"] == 1
    assert letters() == [("onhand", "E", "invalid_data", "open")]
    oracle_says(None, 10)  # available unknown again: on hand (5) counts
    _restage(staging, shop)
    shop.calls = []
    run_inventory(run_id="r2", mode="delta", stage=False)
    assert shop.calls == [5] and shop.quantities[5] == 5
    assert letters() == [("onhand", "E", "invalid_data", "resolved")]


def test_a_refused_row_the_shop_caught_up_with_is_closed_and_not_retried(
        staged: tuple[Any, FakeShop], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    from datetime import UTC

    import sqlalchemy as sa

    from prestaoracle.flows.inventory import run_inventory
    from prestaoracle.staging.schema import dead_letters, ps_stock

    staging, shop = staged
    config = tmp_path / "unbounded.yaml"
    config.write_text("delta: {overlap_minutes: 0}\n")
    monkeypatch.setenv("PRESTAORACLE_INVENTORY_CONFIG", str(config))

    def letters() -> list[tuple[str, str, str, Any]]:
        with staging.engine.connect() as conn:
            return [(k, r, s, json.loads(p)["shop_qty"]) for k, r, s, p in conn.execute(sa.select(
                dead_letters.c.record_key, dead_letters.c.reason_class, dead_letters.c.status, dead_letters.c.payload))]

    # the shop's quantity of row 4 is null (the column allows it) and the shop refuses the write
    with staging.engine.begin() as conn:
        conn.execute(ps_stock.update().where(ps_stock.c.id_stock_available == 4).values(quantity=None))
    shop.refuse = {4}
    run_inventory(run_id="r1", mode="full", stage=False)
    assert letters() == [("4", "invalid_data", "open", None)]
    assert ledger(str(staging.engine.url), "prestashop_stock")["4"][0] == "failed"
    # someone set Oracle's quantity in the shop by hand: nothing to write, so the failure is closed
    shop.refuse, shop.quantities[4] = set(), 4
    _restage(staging, shop)
    shop.calls = []
    summary = run_inventory(run_id="r2", mode="auto", end=datetime(2026, 11, 2, 0, 0, tzinfo=UTC), stage=False)
    assert summary["mode"] == "full" and summary["steps"]["write"]["caught_up"] == 1 and shop.calls == []
    assert letters() == [("4", "invalid_data", "resolved", None)]
    assert ledger(str(staging.engine.url), "prestashop_stock")["4"] == ("skipped", "4", "4")
    # and the hourly run no longer carries it as a row to retry
    summary = run_inventory(run_id="r3", mode="auto", end=datetime(2026, 11, 2, 1, 0, tzinfo=UTC), stage=False)
    assert summary["mode"] == "delta" and summary["counts"]["unchanged"] == 0
