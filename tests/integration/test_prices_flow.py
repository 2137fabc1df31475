"""The prices flow end to end over one seeded sandbox pair: Oracle's planted price differences reach the shop or wait
for review, exactly as the guard rail says, and nothing else moves.

Expectations come from the systems, never from the product: the price differences the pod was seeded with
(``GET /sandbox/differences``: for every other SKU Oracle's price is the shop's own), and the shop's store
(``ps_products.price``, ``ps_combinations.price``) before and after each run. The pod's clock is never moved: its
lifecycle changes prices every day.
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
from conftest import free_port
from support.order_to_cash import Systems, apply_env, fast_retries, product_env, rows, sandbox_args
from support.sandbox import run_sandbox

pytestmark = [
    pytest.mark.xdist_group("prices_flow"),
    pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal"),
]

SEED, ORDERS = 5, 40
SHOP_CURRENCY = "EUR"  # the sandbox shop's default currency, and the packaged mapping's defaults.shop_currency
LIMIT = 20.0  # the packaged max_change_pct


@dataclass(frozen=True)
class Shop:
    """The shop's store: products (id -> reference, price) and combinations (id -> product, reference, impact)."""

    products: dict[int, tuple[str, float]]
    combinations: dict[int, tuple[int, str, float]]

    def prices(self) -> dict[str, float]:
        """SKU -> the price a customer sees (tax excluded): a combination's is its product's plus its impact."""
        out = {ref: price for ref, price in self.products.values()}
        out.update({ref: round(self.products[pid][1] + impact, 6) for pid, ref, impact in self.combinations.values()})
        return out

    def key_of(self, sku: str) -> str:
        for cid, (_pid, ref, _impact) in self.combinations.items():
            if ref == sku:
                return f"combination:{cid}"
        return next(f"product:{pid}" for pid, (ref, _price) in self.products.items() if ref == sku)

    def stored(self) -> dict[str, float]:
        return {**{f"product:{pid}": price for pid, (_ref, price) in self.products.items()},
                **{f"combination:{cid}": impact for cid, (_pid, _ref, impact) in self.combinations.items()}}


def shop(systems: Systems) -> Shop:
    return Shop({int(r.id): (str(r.reference), float(r.price)) for r in rows(
                    systems.shop_db, "SELECT id, reference, price FROM ps_products")},
                {int(r.id): (int(r.id_product), str(r.reference), float(r.price)) for r in rows(
                    systems.shop_db, "SELECT id, id_product, reference, price FROM ps_combinations")})


@dataclass
class World:
    systems: Systems
    staging_url: str
    planted: dict[str, tuple[float, float]]  # SKU -> (shop price, Oracle price), shop currency only
    missing: set[str]
    held: set[str]  # planted SKUs past the guard rail
    approved: str
    states: dict[str, Shop]
    runs: dict[str, dict[str, Any]]
    ledgers: dict[str, dict[str, tuple[str, str | None, str]]]
    letters: dict[str, dict[str, tuple[str, str, int, Any]]]


def ledger(staging_url: str) -> dict[str, tuple[str, str | None, str]]:
    """The product's ledger of prices: record key -> (outcome, value written, run)."""
    return {r.record_key: (r.outcome, r.target_ref, r.run_id) for r in rows(
        staging_url, "SELECT record_key, outcome, target_ref, run_id FROM sync_ledger "
                     "WHERE target = 'prestashop_price'")}


def dead_letters(staging_url: str) -> dict[str, tuple[str, str, int, Any]]:
    """The product's price dead letters: record key -> (reason, status, occurrences, payload)."""
    return {r.record_key: (r.reason_class, r.status, int(r.occurrences), r.payload) for r in rows(
        staging_url, "SELECT record_key, reason_class, status, occurrences, payload FROM dead_letters "
                     "WHERE source = 'oracle' AND entity = 'prices'")}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("prices")
    data_dir = workdir / "data"
    data_dir.mkdir()
    pod_port = free_port()
    staging_url = f"sqlite:///{workdir / 'staging.db'}"
    with contextlib.ExitStack() as stack:
        shop_url = stack.enter_context(run_sandbox(*sandbox_args(
            orders=ORDERS, seed=SEED, faults="none", data_dir=data_dir, shop_port=free_port(), pod_port=pod_port,
            days=5)))
        systems = Systems(shop_url, f"http://127.0.0.1:{pod_port}", data_dir)
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        apply_env(mp, product_env(systems, staging_url=staging_url, workdir=workdir, target="fusion"))
        for name in ("PRESTAORACLE_PRICES_CONFIG", "PRESTAORACLE_MAPPING_CONFIG"):
            mp.delenv(name, raising=False)
        fast_retries(mp)
        differences = requests.get(f"{systems.pod}/sandbox/differences", timeout=30).json()
        planted = {d["sku"]: (d["expected"], d["oracle"]) for d in differences["prices"]
                   if d["currency"] == SHOP_CURRENCY}
        held = {sku for sku, (old, new) in planted.items() if abs(new - old) / old * 100 > LIMIT}
        assert held and set(planted) - held, "the seed must plant changes on both sides of the guard rail"
        approved = sorted(held)[0]

        from prestaoracle.flows.prices import run_prices

        states = {"before": shop(systems)}
        runs: dict[str, dict[str, Any]] = {}
        ledgers, letters = {}, {}
        for run_id, kwargs in (("prices-dry", {"dry_run": True}),
                               # what the dry run staged is still what the shop holds: compare it without staging
                               ("prices-1", {"stage": False}),
                               ("prices-2", {}),
                               # the second run staged the shop as the first left it
                               ("prices-approve", {"approve": [approved], "stage": False})):
            runs[run_id] = run_prices(run_id=run_id, **kwargs)
            states[run_id] = shop(systems)
            ledgers[run_id], letters[run_id] = ledger(staging_url), dead_letters(staging_url)
        yield World(systems, staging_url, planted, set(differences["missing_skus"]), held, approved, states, runs,
                    ledgers, letters)


def report_rows(summary: dict[str, Any]) -> list[dict[str, str]]:
    with Path(summary["report_csv"]).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def expected_prices(world: World, before: Shop, held: set[str]) -> dict[str, float]:
    """What a customer sees after a run that pushed every planted change but ``held``: Oracle's price, except a held
    SKU keeps its price (a combination's is its product's price after the run plus its unchanged impact)."""
    out = {sku: world.planted[sku][1] if sku in world.planted and sku not in held else price
           for sku, price in before.prices().items()}
    for pid, ref, impact in before.combinations.values():
        if ref in held:
            out[ref] = round(out[before.products[pid][0]] + impact, 6)
    return out


def test_every_planted_difference_is_pushed_or_held_and_nothing_else_moves(world: World) -> None:
    before, after = world.states["before"], world.states["prices-1"]
    assert {sku: before.prices()[sku] for sku in world.planted} == {s: old for s, (old, _) in world.planted.items()}
    got, want = after.prices(), expected_prices(world, before, world.held)
    assert {s: round(v, 2) for s, v in got.items()} == {s: round(v, 2) for s, v in want.items()}

    # only the records whose stored value changed were written, each recorded with the value now in the shop
    changed = {k for k, v in after.stored().items() if abs(v - before.stored()[k]) > 1e-6}
    ledger = world.ledgers["prices-1"]
    assert changed and {k for k, (outcome, _, _) in ledger.items() if outcome == "updated"} == changed
    assert all(abs(float(ledger[k][1]) - after.stored()[k]) < 1e-6 for k in changed)
    held_keys = {before.key_of(sku) for sku in world.held}
    assert {k for k, (outcome, _, run) in ledger.items() if outcome == "held"} == held_keys

    letters = world.letters["prices-1"]
    assert set(letters) == held_keys
    for sku in world.held:
        reason, status, _, payload = letters[before.key_of(sku)]
        old, new = world.planted[sku]
        assert (reason, status) == ("needs_review", "open")
        assert {k: json.loads(payload)[k] for k in ("sku", "old", "new", "price_list")} == {
            "sku": sku, "old": old, "new": new, "price_list": world.runs["prices-1"]["price_list"]}

    report = report_rows(world.runs["prices-1"])
    assert {r["sku"] for r in report if r["section"] == "held"} == world.held
    assert {r["sku"] for r in report if r["section"] == "pushed"} == {
        sku for sku, key in ((s, before.key_of(s)) for s in before.prices()) if key in changed}
    assert {r["sku"] for r in report if r["section"] == "no_oracle_price"} == world.missing & set(before.prices())


def test_a_dry_run_writes_nothing(world: World) -> None:
    assert world.states["prices-dry"] == world.states["before"]
    assert world.ledgers["prices-dry"] == {} and world.letters["prices-dry"] == {}
    report = report_rows(world.runs["prices-dry"])
    assert {r["sku"] for r in report if r["section"] == "held"} == world.held
    pushed = {r["sku"] for r in report if r["section"] == "would_push"}
    assert pushed == {r["sku"] for r in report_rows(world.runs["prices-1"]) if r["section"] == "pushed"}


def test_a_second_run_pushes_nothing_and_holds_the_same_without_new_dead_letters(world: World) -> None:
    assert world.states["prices-2"] == world.states["prices-1"]
    summary = world.runs["prices-2"]
    assert (summary["counts"]["pushed"], summary["counts"]["held"]) == (0, len(world.held))
    assert world.ledgers["prices-2"] == {k: (o, ref, "prices-2" if o == "held" else run)
                                         for k, (o, ref, run) in world.ledgers["prices-1"].items()}
    assert {k: v[:2] + (v[2] - 1,) for k, v in world.letters["prices-2"].items()} == {
        k: v[:3] for k, v in world.letters["prices-1"].items()}, "the same dead letters, counted once more"


def test_approving_a_held_sku_pushes_it_and_resolves_its_dead_letter(world: World) -> None:
    before, after = world.states["prices-2"], world.states["prices-approve"]
    still_held = world.held - {world.approved}
    got = after.prices()
    want = expected_prices(world, world.states["before"], still_held)
    assert {s: round(v, 2) for s, v in got.items()} == {s: round(v, 2) for s, v in want.items()}
    assert got[world.approved] == pytest.approx(world.planted[world.approved][1])
    assert got != before.prices()

    letters = world.letters["prices-approve"]
    key = before.key_of(world.approved)
    assert letters[key][:2] == ("needs_review", "resolved") and world.runs["prices-approve"]["resolved"] == 1
    assert world.ledgers["prices-approve"][key] == ("updated", f"{after.stored()[key]:.6f}", "prices-approve")
    # the others held three times (dry runs write nothing): one dead letter each, counted, still open
    assert {k: v[1:3] for k, v in letters.items() if k != key} == {
        before.key_of(s): ("open", 3) for s in still_held}
