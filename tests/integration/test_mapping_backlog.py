"""``map_landed`` maps what is landed and not mapped yet, whatever run landed it (SQLite staging).

An orders extraction that dies after committing some pages is resumed by the next run under its own run id; that
run's map step must also map the pages the dead run landed (they are never landed again: a re-read is
"unchanged"). A record that fails mapping stays unmapped and is tried again by the next run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import FIXTURES, free_port
from support.sandbox import run_sandbox
from support.shop import order_ids

from prestaoracle.flows.extract import extract_prestashop
from prestaoracle.mapping import MappingContext, map_landed
from prestaoracle.prestashop import PrestaShopClient
from prestaoracle.staging import Staging, connect

KEY = "BACKLOGBACKLOGBACKLOGBACKLOG1234"
ORDERS = 150
CONTEXT = MappingContext.from_config(None, shop_timezone="Europe/Paris")
pytestmark = pytest.mark.xdist_group("mapping_backlog")


class Crash(Exception):
    """A worker dying in the middle of an extraction."""


@pytest.fixture
def stg(tmp_path: Path) -> Iterator[Staging]:
    staging = connect(tmp_path / "staging.db", upgrade=True)
    yield staging
    staging.dispose()


def _ids(stg: Staging, table: str, column: str) -> set[int]:
    with stg.engine.connect() as conn:
        return set(conn.execute(sa.select(sa.column(column)).select_from(sa.table(table))).scalars())


def test_a_resumed_extraction_maps_what_the_dead_run_landed(stg: Staging) -> None:
    with run_sandbox("--only", "prestashop", "--seed", "8", "--ws-key", KEY, "--orders", str(ORDERS), "--end",
                     "2026-11-20", "--days", "30", "--prestashop-port", str(free_port())) as shop:
        client = PrestaShopClient(shop, KEY)
        extract_prestashop(client, stg, "currencies", run_id="crashed")
        listings: list[str] = []

        def die_on_the_third_page(response: Any, *args: Any, **kwargs: Any) -> Any:
            url = response.request.url or ""
            if "/api/orders?" in url and "display=%5Bid%5D" in url and "filter%5Bdate_upd%5D" in url:
                listings.append(url)
                if len(listings) == 3:
                    raise Crash("the shop went away past the retries")
            return response

        client.session.hooks["response"].append(die_on_the_third_page)
        with pytest.raises(Crash):
            extract_prestashop(client, stg, "orders", chunk=50, run_id="crashed")
        client.session.hooks["response"].remove(die_on_the_third_page)
        crashed = {int(o["id"]) for o in stg.landed("prestashop", "orders")}
        assert 0 < len(crashed) < ORDERS  # the dead run committed some pages, not all

        extract_prestashop(client, stg, "orders", chunk=50, run_id="resumed")
        every_order = order_ids(shop, KEY)

    landed = {int(o["id"]) for o in stg.landed("prestashop", "orders")}
    assert landed == every_order
    result = map_landed(stg, "prestashop", "orders", run_id="resumed", context=CONTEXT)
    assert result.failed == 0
    assert _ids(stg, "ps_orders", "id_order") == every_order
    lines = {int(d["id"]) for d in stg.landed("prestashop", "order_details")}
    assert lines and _ids(stg, "ps_order_lines", "id_order_detail") == lines
    # Everything is mapped now: the next run has nothing left to read.
    assert map_landed(stg, "prestashop", "orders", run_id="next", context=CONTEXT).read == 0


def _orders() -> list[dict[str, Any]]:
    body = json.loads((FIXTURES / "04_get_orders_display_full_json.body.json").read_text(encoding="utf-8"))
    return body["orders"]


def test_a_record_that_failed_mapping_is_tried_again_by_the_next_run(stg: Staging) -> None:
    orders = _orders()
    bad = {**orders[0], "total_paid_tax_incl": "12,5x"}
    stg.land("prestashop", "orders", [bad, *orders[1:]], run_id="run-1")
    first = map_landed(stg, "prestashop", "orders", run_id="run-1", context=CONTEXT)
    assert first.dead_lettered == {"invalid_data": 1} and first.mapped == len(orders) - 1

    # Nothing new is landed: only the failed record is read again, and its dead letter counts it.
    second = map_landed(stg, "prestashop", "orders", run_id="run-2", context=CONTEXT)
    assert (second.read, second.mapped, second.failed) == (1, 0, 1)
    [letter] = stg.open_dead_letters(stage="map")
    assert letter.occurrences == 2 and letter.record_key == str(bad["id"])

    # The shop corrects it; it maps and its dead letter closes.
    stg.land("prestashop", "orders", [{**bad, "total_paid_tax_incl": "12.50", "date_upd": "2030-01-01 00:00:00"}],
             run_id="run-3")
    third = map_landed(stg, "prestashop", "orders", run_id="run-3", context=CONTEXT)
    assert (third.read, third.mapped, third.resolved) == (1, 1, 1)
    assert stg.open_dead_letters(stage="map") == []
    assert _ids(stg, "ps_orders", "id_order") == {int(o["id"]) for o in orders}
