"""A PrestaShop extraction commits page by page and resumes after the last committed page, on SQLite and
PostgreSQL: a first load that dies halfway neither starts again from zero nor loses or doubles a record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from support.pg import temp_database
from support.sandbox import run_sandbox
from support.shop import order_ids, raw

from prestaoracle.flows.extract import extract_prestashop
from prestaoracle.prestashop import PrestaShopClient
from prestaoracle.staging import connect, watermarks

KEY = "RESUMERESUMERESUMERESUMERESUME12"
ORDERS = 300
pytestmark = pytest.mark.xdist_group("extract_resume")


class Crash(Exception):
    """A worker dying in the middle of an extraction."""


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with run_sandbox("--only", "prestashop", "--seed", "8", "--ws-key", KEY, "--orders", str(ORDERS), "--end",
                     "2026-11-20", "--days", "30", "--prestashop-port", str(free_port())) as base:
        yield base


@pytest.fixture(params=["sqlite", "postgres"])
def staging(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        yield connect(f"sqlite:///{tmp_path / 'staging.db'}", upgrade=True)
    else:
        with temp_database("resume") as url:
            st = connect(url, upgrade=True)
            yield st
            st.dispose()


def _checkpoint(staging: Any) -> watermarks.Checkpoint | None:
    with staging.engine.connect() as conn:
        return watermarks.get_checkpoint(conn, "prestashop", "orders")


def test_a_first_load_that_dies_halfway_resumes_where_it_stopped(shop: str, staging: Any) -> None:
    client = PrestaShopClient(shop, KEY)
    listings: list[str] = []

    def die_on_the_fourth_page(response: Any, *args: Any, **kwargs: Any) -> Any:
        url = response.request.url or ""
        if "/api/orders?" in url and "display=%5Bid%5D" in url and "filter%5Bdate_upd%5D" in url:
            listings.append(url)
            if len(listings) == 4:
                raise Crash("worker lost")
        return response

    client.session.hooks["response"].append(die_on_the_fourth_page)
    with pytest.raises(Crash):
        extract_prestashop(client, staging, "orders", chunk=50, run_id="crashed")
    client.session.hooks["response"].remove(die_on_the_fourth_page)

    landed = {int(o["id"]) for o in staging.landed("prestashop", "orders")}
    assert len(landed) == 150  # three pages of 50 committed with their order family
    checkpoint = _checkpoint(staging)
    assert checkpoint is not None and int(checkpoint.position or 0) == max(landed)
    assert staging.watermark("prestashop", "orders") is None
    lines = {int(d["id_order"]) for d in staging.landed("prestashop", "order_details")}
    assert lines == landed  # each committed order came with its lines

    resumed = extract_prestashop(client, staging, "orders", chunk=50, run_id="resumed")
    assert resumed.read["orders"] == resumed.new["orders"] == ORDERS - 150  # not from zero
    assert {int(o["id"]) for o in staging.landed("prestashop", "orders")} == order_ids(shop, KEY)
    assert len(staging.landed("prestashop", "order_details")) == len(raw(shop, KEY, "order_details"))
    assert _checkpoint(staging) is None
    assert resumed.watermark is not None
