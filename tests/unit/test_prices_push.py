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
from prestaoracle.prestashop.errors import RequestError

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal")


class FakeWriter:
    """Records the writes; refuses the product ids in ``refuse`` the way the shop refuses a bad value (400)."""

    def __init__(self, refuse: set[int]) -> None:
        self.calls: list[tuple[str, int, Decimal]] = []
        self.refuse = refuse

    def set_product_price(self, object_id: int, value: Decimal) -> bool:
        if object_id in self.refuse:
            raise RequestError("Validation error: price", status=400)
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
    state: dict[str, Any] = {"url": staging_url, "refuse": set(), "writers": []}

    def writer(_client: Any) -> FakeWriter:
        state["writers"].append(FakeWriter(state["refuse"]))
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
