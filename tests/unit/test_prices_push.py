"""The push step's bookkeeping on a SQLite staging database with a stand-in writer: held changes wait as one
counted dead letter, come back to normal and get resolved, a refused product keeps its combinations from being
written over it, and a dry run writes nothing at all."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from prestaoracle.flows import prices
from prestaoracle.prestashop.errors import (
    ApiError,
    AuthError,
    RateLimited,
    RequestError,
    RetryBudgetExhausted,
    ServerError,
    WriteOutcomeUnknown,
)

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal")


class FakeWriter:
    """Records the writes; refuses the product ids in ``refuse`` the way the shop refuses a bad value (400), and
    raises ``errors[id]`` (the client's error for a product write that failed otherwise)."""

    def __init__(self, refuse: set[int], errors: dict[int, Exception]) -> None:
        self.calls: list[tuple[str, int, Decimal]] = []
        self.tried: list[int] = []
        self.refuse = refuse
        self.errors = errors

    def set_product_price(self, object_id: int, value: Decimal) -> bool:
        self.tried.append(object_id)
        if object_id in self.refuse:
            raise RequestError("Validation error: price", status=400)
        if object_id in self.errors:
            raise self.errors[object_id]
        self.calls.append(("products", object_id, value))
        return True

    def set_combination_price_impact(self, object_id: int, value: Decimal) -> bool:
        self.calls.append(("combinations", object_id, value))
        return True


@pytest.fixture(scope="module")
def staging_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated staging database for the module (a migration costs seconds; the tests empty its tables)."""
    from prestaoracle.staging import connect

    url = f"sqlite:///{tmp_path_factory.mktemp('prices-push') / 'staging.db'}"
    connect(url, upgrade=True).dispose()
    return url


@pytest.fixture
def shop(staging_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    from prestaoracle import connections

    engine = sa.create_engine(staging_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM dead_letters"))
        conn.execute(sa.text("DELETE FROM sync_ledger"))
    engine.dispose()
    monkeypatch.setenv("AIRFLOW_CONN_STAGING_DEFAULT", f'{{"conn_type": "generic", "extra": {{"sqlalchemy_url": '
                                                       f'"{staging_url}"}}}}')
    monkeypatch.setenv("PRESTAORACLE_REPORTS_DIR", str(tmp_path / "reports"))
    state: dict[str, Any] = {"url": staging_url, "refuse": set(), "errors": {}, "writers": []}

    def writer(_client: Any) -> FakeWriter:
        state["writers"].append(FakeWriter(state["refuse"], state["errors"]))
        return state["writers"][-1]

    monkeypatch.setattr(connections, "prestashop_client", lambda: contextlib.nullcontext(object()))
    monkeypatch.setattr("prestaoracle.prestashop.PrestaShopWriter", writer)
    yield state


def change(resource: str, object_id: int, sku: str, old: float, new: float, *, id_product: int, action: str = "push",
           pct: float | None = 5.0, old_price: float | None = None, new_price: float | None = None) -> dict:
    return {"resource": resource, "id": object_id, "id_product": id_product, "sku": sku, "shop_sku": sku, "old": old,
            "new": new, "old_price": old if old_price is None else old_price,
            "new_price": new if new_price is None else new_price, "pct": pct, "action": action, "approved": False,
            "price_list": "Webshop EUR"}


def reconciled(*changes: dict) -> dict:
    return {"price_list": "Webshop EUR", "max_change_pct": 20.0, "changes": list(changes)}


def rows(url: str, query: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


LETTERS = ("SELECT record_key, reason_class, status, occurrences FROM dead_letters WHERE entity = 'prices' "
           "ORDER BY record_key")
LEDGER = "SELECT record_key, outcome, target_ref FROM sync_ledger WHERE target = 'prestashop_price' ORDER BY 1"


def test_a_held_change_waits_once_and_is_resolved_when_oracle_agrees_again(shop: dict) -> None:
    held = change("products", 1, "A", 10.0, 30.0, id_product=1, action="held", pct=200.0)
    for run in ("r1", "r2"):
        out = prices.push_step(reconciled(held), run_id=run)
        assert (out["held"], out["pushed"]) == (1, 0)
    assert shop["writers"][-1].calls == []
    assert rows(shop["url"], LETTERS) == [("product:1", "needs_review", "open", 2)]
    assert rows(shop["url"], LEDGER) == [("product:1", "held", None)]

    out = prices.push_step(reconciled(), run_id="r3")  # Oracle's price is the shop's again: nothing to change
    assert out["resolved"] == 1
    assert rows(shop["url"], LETTERS) == [("product:1", "needs_review", "resolved", 2)]
    assert rows(shop["url"], LEDGER) == [("product:1", "skipped", None)]


def test_products_go_first_and_a_refused_product_holds_back_its_combinations(shop: dict) -> None:
    shop["refuse"].add(2)
    out = prices.push_step(reconciled(
        change("products", 1, "A", 10.0, 11.0, id_product=1),
        change("products", 2, "B", 10.0, 11.0, id_product=2),
        change("combinations", 21, "B-RED", 1.0, 0.0, id_product=2),
        change("combinations", 11, "A-RED", 1.0, 0.5, id_product=1)), run_id="r1")
    assert (out["pushed"], out["failed"]) == (2, 2)
    assert shop["writers"][-1].calls == [("products", 1, Decimal("11.000000")),
                                         ("combinations", 11, Decimal("0.500000"))]
    assert rows(shop["url"], LETTERS) == [("combination:21", "retryable", "open", 1),
                                          ("product:2", "invalid_data", "open", 1)]
    assert rows(shop["url"], LEDGER) == [("combination:11", "updated", "0.500000"), ("combination:21", "failed", None),
                                         ("product:1", "updated", "11.000000"), ("product:2", "failed", None)]


def test_a_dry_run_writes_nothing(shop: dict) -> None:
    out = prices.push_step(reconciled(change("products", 1, "A", 10.0, 11.0, id_product=1),
                                      change("products", 2, "B", 10.0, 30.0, id_product=2, action="held")),
                           run_id="dry", dry_run=True)
    assert [(o["sku"], o["outcome"]) for o in out["outcomes"]] == [("A", "would_push"), ("B", "held")]
    assert shop["writers"] == []
    assert rows(shop["url"], LETTERS) == [] and rows(shop["url"], LEDGER) == []


def test_a_record_the_shop_fails_on_is_a_dead_letter_of_its_reason_and_the_push_goes_on(shop: dict) -> None:
    # product 1 always gets a 500 the shop repeats on every attempt; 2 and 4 get no answer; 3 and 5 go through
    shop["errors"].update({
        1: ServerError("500 Internal Server Error", status=500, errors=[ApiError(46, "cannot save")]),
        2: RateLimited("429 Too Many Requests", status=429),
        4: WriteOutcomeUnknown("the connection dropped after the PUT was sent"),
    })
    out = prices.push_step(reconciled(*(change("products", i, f"P{i}", 10.0, 11.0, id_product=i) for i in range(1, 6)),
                                      change("combinations", 11, "P1-RED", 1.0, 0.5, id_product=1)), run_id="r1")
    assert (out["pushed"], out["failed"]) == (2, 4)
    assert out["failed_by_reason"] == {"invalid_data": 1, "retryable": 3}
    assert [c[1] for c in shop["writers"][-1].calls] == [3, 5]
    assert rows(shop["url"], LETTERS) == [("combination:11", "retryable", "open", 1),
                                          ("product:1", "invalid_data", "open", 1),
                                          ("product:2", "retryable", "open", 1),
                                          ("product:4", "retryable", "open", 1)]


def test_the_push_stops_on_a_refused_key_or_a_run_of_unanswered_writes(
        shop: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "prices.yaml"
    config.write_text("stop_after_unanswered: 2\n", encoding="utf-8")
    monkeypatch.setenv(prices.CONFIG_ENV, str(config))
    spent = RetryBudgetExhausted(method="PUT", url="http://shop/api/products/1", attempts=3, last_status=503)
    shop["errors"].update({1: spent, 2: spent})
    changes = reconciled(*(change("products", i, f"P{i}", 10.0, 11.0, id_product=i) for i in range(1, 4)))
    with pytest.raises(RetryBudgetExhausted):
        prices.push_step(changes, run_id="r1")
    assert shop["writers"][-1].tried == [1, 2], "an outage: the third write is left for the task's retry"
    assert rows(shop["url"], LETTERS) == [("product:1", "retryable", "open", 1), ("product:2", "retryable", "open", 1)]

    # one answered write between two unanswered ones starts the count again
    shop["errors"].clear()
    shop["errors"].update({1: spent, 3: spent})
    assert prices.push_step(changes, run_id="r2")["failed"] == 2

    shop["errors"].clear()
    shop["errors"][2] = AuthError("401 Unauthorized", status=401)
    with pytest.raises(AuthError):
        prices.push_step(changes, run_id="r3")
    assert shop["writers"][-1].tried == [1, 2]
    assert [r for r in rows(shop["url"], LETTERS) if r[2] == "open"] == [("product:3", "retryable", "open", 1)]
