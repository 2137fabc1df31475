"""Writes against a ``flaky`` shop: every write of a run can meet a fault, not only the first few, and a lost reply
(the write is committed, then the connection drops or a 500 comes back) catches a client that re-sends blindly.

A deliberately naive client (re-POST on any failure) ends with two ``order_histories`` rows for one status change;
the product's writer, which settles an unknown outcome by reading the order back, ends with exactly one. Both tests
check ``/sandbox/injected`` to be sure the faults they rely on really fired.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.prestashop import PrestaShopClient, PrestaShopReader, PrestaShopWriter, RetryPolicy
from prestaoracle.sandbox import faults

KEY = "WRITEFAULTSWRITEFAULTSWRITEFAULT"
SEED = 4
SPEC = "flaky:slow_page_seconds=0.2,latency_ms=5-20"  # the flaky rates, shorter delays
PROFILE = faults.parse_faults(SPEC)
COMMON = ("--only", "prestashop", "--orders", "300", "--seed", str(SEED), "--ws-key", KEY, "--end", "2026-10-01",
          "--workers", "1")
HISTORIES = "/api/order_histories"

pytestmark = pytest.mark.xdist_group("ps_write_faults")


class Shop:
    """The product's client, reader and writer over one flaky sandbox, and its fault log."""

    def __init__(self, base: str) -> None:
        self.base = base
        # Short waits: the test is about what lands, not about patience.
        policy = RetryPolicy(attempts=6, backoff=0.02, jitter=0.02, retry_after_max=0.1)
        self.client = PrestaShopClient(base, KEY, retries=policy)
        self.reader = PrestaShopReader(self.client)
        self.writer = PrestaShopWriter(self.client, self.reader)

    def history_ids(self, id_order: int) -> set[int]:
        return self.histories([id_order])[id_order]

    def histories(self, orders: list[int]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {o: set() for o in orders}
        for row in self.reader.get_by_ids("order_histories", orders, field="id_order", display=["id", "id_order"]):
            out[int(row["id_order"])].add(int(row["id"]))
        return out

    def state(self, id_order: int) -> int:
        return self.states([id_order])[id_order]

    def states(self, orders: list[int]) -> dict[int, int]:
        rows = self.reader.get_by_ids("orders", orders, display=["id", "current_state"])
        return {int(r["id"]): int(r["current_state"]) for r in rows}

    def write_faults(self) -> list[dict[str, Any]]:
        transport = requests.get(f"{self.base}/sandbox/injected", params={"category": "transport"}, timeout=30)
        return [t for t in transport.json()["transport"] if t["method"] == "POST" and t["path"] == HISTORIES]


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    with run_sandbox(*COMMON, "--faults", SPEC, "--prestashop-port", str(free_port())) as base:
        s = Shop(base)
        yield s
        s.client.session.close()


def test_writes_meet_faults_all_run_long_and_land_once(shop: Shop) -> None:
    """60 status changes through one collection: faults keep coming after the first writes (the fault key is the
    write, not the URL), and every change still lands exactly once."""
    orders = list(range(1, 61))
    before = shop.histories(orders)
    targets = {o: 6 if state != 6 else 5 for o, state in shop.states(orders).items()}
    faults_after: list[int] = []
    for n, order in enumerate(orders, 1):
        assert shop.writer.set_order_state(order, targets[order]) is True
        if n in (20, 60):
            faults_after.append(len([t for t in shop.write_faults() if t["kind"] not in ("latency", "slow_page")]))
    assert faults_after[0] > 0, "the first 20 writes met no failure under flaky"
    assert faults_after[1] > faults_after[0], "writes 21-60 met no failure: faults stopped after the first writes"
    after = shop.histories(orders)
    assert {o: len(after[o] - before[o]) for o in orders} == dict.fromkeys(orders, 1)
    assert shop.states(orders) == targets


def naive_body(id_order: int, state: int) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><prestashop><order_history><id_order>{id_order}</id_order>'
            f"<id_order_state>{state}</id_order_state></order_history></prestashop>").encode()


def naive_set_state(base: str, id_order: int, state: int) -> int:
    """What a careless integration does: POST, and POST again on any failure. Returns the POSTs made."""
    body = naive_body(id_order, state)
    for attempt in range(1, 10):
        try:
            resp = requests.post(f"{base}{HISTORIES}", data=body, auth=(KEY, ""), timeout=30)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            continue
        if resp.status_code == 201:
            return attempt
    raise AssertionError(f"order {id_order}: the naive client never got a 201")


def test_a_lost_reply_duplicates_a_blind_resend_but_not_the_writer(shop: Shop) -> None:
    # An order whose naive POST meets a lost reply on its first attempt, as the seed decides.
    naive_order = next(o for o in range(100, 300) if (fault := faults.decide(
        PROFILE, SEED, faults.request_key("POST", HISTORIES, "", naive_body(o, 3)), 1)) and fault.kind == "lost_reply")
    before = shop.history_ids(naive_order)
    posts = naive_set_state(shop.base, naive_order, 3)
    added = shop.history_ids(naive_order) - before
    lost = [t for t in shop.write_faults() if t["kind"] == "lost_reply" and t["detail"]["committed"]["id"] in added]
    assert lost, "no lost reply hit the naive client's write: the test proved nothing"
    assert posts > 1 and len(added) == 1 + len(lost) >= 2  # one status change, two (or more) history rows

    # The writer over orders the naive client did not touch, until one of its POSTs meets a lost reply.
    for order in range(naive_order + 1, 300):
        before = shop.history_ids(order)
        seen = len(shop.write_faults())
        assert shop.writer.set_order_state(order, 3 if shop.state(order) != 3 else 4) is True
        added = shop.history_ids(order) - before
        assert len(added) == 1, f"order {order}: the writer left {len(added)} history rows"
        met = [t for t in shop.write_faults()[seen:] if t["kind"] == "lost_reply"]
        if met:
            assert [t["detail"]["committed"]["id"] for t in met] == sorted(added)
            break
    else:
        raise AssertionError("no write of the product's writer met a lost reply: the test proved nothing")
