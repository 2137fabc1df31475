"""The PrestaShop client against the sandbox shop over real HTTP: full reads, incremental windows, children by
parent batches, a flaky run equal to a clean one, and writes that land exactly once.

The emulator is a black box here (started as a subprocess); the client shares no code with it.
"""

from __future__ import annotations

import base64
import logging
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.prestashop import (
    AuthError,
    InvalidValueError,
    PrestaShopClient,
    PrestaShopReader,
    PrestaShopWriter,
    RetryPolicy,
    normalize_record,
)

KEY = "PSCLIENTPSCLIENTPSCLIENTPSCLIENT"
B64 = base64.b64encode(f"{KEY}:".encode()).decode()
COMMON = ("--only", "prestashop", "--orders", "300", "--seed", "3", "--ws-key", KEY, "--end", "2026-10-01",
          "--workers", "1")
POLICY = RetryPolicy(attempts=5, backoff=0.02, jitter=0.02)
FMT = "%Y-%m-%d %H:%M:%S"

pytestmark = pytest.mark.xdist_group("ps_client_sandbox")


class Counted:
    """A client + reader + writer whose HTTP requests are counted per resource (a requests response hook)."""

    def __init__(self, base: str, **kw: Any) -> None:
        self.calls: Counter[str] = Counter()  # requests per resource
        self.sent: Counter[tuple[str, str]] = Counter()  # (method, resource)
        session = requests.Session()
        session.hooks["response"].append(self._count)
        self.client = PrestaShopClient(base, KEY, retries=POLICY, session=session, **kw)
        self.reader = PrestaShopReader(self.client)
        self.writer = PrestaShopWriter(self.client, self.reader)

    def close(self) -> None:
        """Close pooled connections before the sandbox stops (it waits for open keep-alive connections)."""
        self.client.session.close()

    def _count(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = resp.request.path_url.split("?")[0]
        resource = path.removeprefix("/api/").split("/")[0]
        self.calls[resource] += 1
        self.sent[(resp.request.method or "", resource)] += 1


@pytest.fixture(scope="module")
def clean() -> Iterator[str]:
    with run_sandbox(*COMMON, "--prestashop-port", str(free_port())) as base:
        yield base


@pytest.fixture(scope="module")
def shop(clean: str) -> dict[str, list[dict[str, Any]]]:
    reader = Counted(clean).reader
    return {name: list(reader.iter_all(name, page_size=50)) for name in ("orders", "customers", "stock_availables")}


def raw_get(base: str, path: str, **params: str) -> Any:
    resp = requests.get(f"{base}/api/{path}", params=params, auth=(KEY, ""), timeout=30)
    resp.raise_for_status()
    return resp


def test_full_reads_match_the_shop_read_another_way(clean: str, shop: dict[str, list[dict[str, Any]]]) -> None:
    orders = shop["orders"]
    assert len(orders) == 300 and [o["id"] for o in orders] == sorted({o["id"] for o in orders})
    # 1. every id, from the ids-only list in one plain call
    ids = raw_get(clean, "orders", output_format="JSON").json()["orders"]
    assert [o["id"] for o in orders] == sorted(i["id"] for i in ids)
    # 2. a sample of whole orders, from the XML single-object endpoint: every scalar field has the same value
    for order in orders[::37]:
        xml = ET.fromstring(raw_get(clean, f"orders/{order['id']}").content).find("order")
        for child in xml:
            if len(child) == 0:
                value = order[child.tag]
                assert (child.text or "") == ("" if value is None else str(value)), (order["id"], child.tag)
    # 3. customers and stock in one unpaged JSON call each
    for name in ("customers", "stock_availables"):
        whole = raw_get(clean, name, display="full", sort="[id_ASC]", output_format="JSON").json()[name]
        assert shop[name] == whole, name
    # 4. the clean shop normalises without a single refusal
    for name, rows in shop.items():
        for row in rows:
            normalize_record(name, row)


def test_children_are_read_by_parent_batches(clean: str, shop: dict[str, list[dict[str, Any]]]) -> None:
    counted = Counted(clean)
    order_ids = [o["id"] for o in shop["orders"]]
    details = counted.reader.get_by_ids("order_details", order_ids, field="id_order")
    carriers = counted.reader.get_by_ids("order_carriers", order_ids, field="id_order")
    assert counted.calls == {"order_details": 3, "order_carriers": 3}  # ceil(300/100) each, not 300
    rows = {(o["id"], r["id"]) for o in shop["orders"] for r in o.get("associations", {}).get("order_rows", [])}
    assert {(d["id_order"], d["id"]) for d in details} == rows
    assert len(details) == len({d["id"] for d in details})
    assert {c["id_order"] for c in carriers} == set(order_ids)
    one = counted.reader.get_one("orders", order_ids[17])
    assert one == shop["orders"][17] and counted.calls["orders"] == 1


def parse(text: str) -> datetime:
    return datetime.strptime(text, FMT)


def test_incremental_windows_lose_nothing_and_double_nothing(clean: str, shop: dict[str, list[dict]]) -> None:
    counted = Counted(clean)
    stamps = {o["id"]: parse(o["date_upd"]) for o in shop["orders"]}
    start, end = min(stamps.values()), max(stamps.values())
    overlap = timedelta(minutes=5)
    edges = [start + (end - start) * i / 6 for i in range(7)]
    edges = [e.replace(microsecond=0) for e in edges]
    edges[-1] = end
    seen: list[int] = []
    for since, until in zip(edges, edges[1:], strict=False):
        ids = [o["id"] for o in counted.reader.iter_changed("orders", since, until, overlap=overlap)]
        assert len(ids) == len(set(ids)), "duplicates inside one window"
        assert set(ids) == {i for i, t in stamps.items() if since - overlap <= t <= until}
        seen += ids
    assert set(seen) == set(stamps)  # consecutive windows cover everything
    assert counted.calls["orders"] <= 6 * 4  # one ids call + a few parallel batches per window

    # A record exactly on a boundary is in both windows that share it (bounds are inclusive).
    edge_id, edge = sorted(stamps.items(), key=lambda kv: kv[1])[150]
    first = {o["id"] for o in counted.reader.iter_changed("orders", start, edge, overlap=timedelta(0))}
    second = {o["id"] for o in counted.reader.iter_changed("orders", edge, end, overlap=timedelta(0))}
    assert edge_id in first and edge_id in second
    # ... and the overlap reaches back exactly `overlap` before `since`.
    later = edge + overlap
    assert edge_id in {o["id"] for o in counted.reader.iter_changed("orders", later, end, overlap=overlap)}
    offset = [o["id"] for o in counted.reader.iter_changed("orders", start, end, paging="offset")]
    assert sorted(offset) == sorted(stamps)  # on a shop that does not move, both pagings agree


def test_entities_without_dates_are_refused_for_incremental_reads(clean: str) -> None:
    reader = Counted(clean).reader
    with pytest.raises(ValueError, match="by parent ids"):
        list(reader.iter_changed("order_details", None, datetime(2026, 10, 1)))
    with pytest.raises(ValueError, match="date_add"):
        list(reader.iter_changed("order_carriers", None, datetime(2026, 10, 1)))


def test_wrong_key_is_an_auth_error_without_the_key(clean: str) -> None:
    wrong = "WRONGKEYWRONGKEYWRONGKEYWRONGKEY"
    reader = PrestaShopReader(PrestaShopClient(clean, wrong, retries=POLICY))
    with pytest.raises(AuthError) as info:
        reader.get_list("orders", limit=1)
    assert info.value.status == 401 and "prestashop_default" in str(info.value)
    assert wrong not in str(info.value)


def test_a_flaky_run_reads_exactly_what_a_clean_run_reads(clean: str, shop: dict[str, list[dict]], caplog) -> None:
    caplog.set_level(logging.DEBUG)
    until = datetime(2026, 10, 1)
    since = until - timedelta(days=30)
    clean_reader = Counted(clean).reader
    expected_changed = list(clean_reader.iter_changed("orders", since, until))
    order_ids = [o["id"] for o in shop["orders"]]
    expected_details = clean_reader.get_by_ids("order_details", order_ids, field="id_order", batch=50)
    with run_sandbox(*COMMON, "--faults", "flaky", "--prestashop-port", str(free_port())) as flaky:
        reader = Counted(flaky).reader
        for name in ("orders", "customers", "stock_availables"):
            # 60 per page: with seed 3 this meets 503s, 429s (Retry-After), 500s and cut bodies.
            assert list(reader.iter_all(name, page_size=60)) == shop[name], name
        assert reader.get_by_ids("order_details", order_ids, field="id_order", batch=50) == expected_details
        assert list(reader.iter_changed("orders", since, until)) == expected_changed
        reader.client.session.close()
        injected = requests.get(f"{flaky}/sandbox/injected", timeout=10).json()
    kinds = {t["kind"] for t in injected["transport"] if t["path"] != "/api/"}
    assert kinds & {"http_500", "http_503", "http_429", "drop_connection"}, "no failure injected: test proved nothing"
    assert KEY not in caplog.text and B64 not in caplog.text


# Writes run against a shop that fails a lot: 500s and 503s before the write, and cut answers. (The sandbox applies
# faults to the first attempts of each distinct request only, so every test here meets some.)
HEAVY = "flaky:http_500=0.2,http_503=0.2,drop_connection=0.2,http_429=0,latency=0,slow_page=0"


@pytest.fixture(scope="module")
def writes() -> Iterator[Counted]:
    with run_sandbox(*COMMON, "--faults", HEAVY, "--prestashop-port", str(free_port())) as base:
        counted = Counted(base)
        yield counted
        counted.close()


def histories(c: Counted, id_order: int) -> list[dict[str, Any]]:
    return c.reader.get_by_ids("order_histories", [id_order], field="id_order")


def test_writes_land_once_and_keep_other_fields(writes: Counted, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    r, w = writes.reader, writes.writer
    # order state: posted once, second call posts nothing
    order = r.get_one("orders", 12)
    target = 4 if order["current_state"] != 4 else 5
    before = len(histories(writes, 12))
    assert w.set_order_state(12, target) is True
    assert r.get_one("orders", 12)["current_state"] == target
    posts = writes.sent[("POST", "order_histories")]
    assert w.set_order_state(12, target) is False
    assert writes.sent[("POST", "order_histories")] == posts  # already there: nothing posted
    assert len(histories(writes, 12)) == before + 1  # exactly one history row, faults or not

    # tracking: PATCH and full-document PUT both keep every other field
    for carrier_id, use_patch in ((5, True), (6, False)):
        old = r.get_one("order_carriers", carrier_id)
        number = f"TRK-{carrier_id}-{'PATCH' if use_patch else 'PUT'} 42/B"
        assert w.set_tracking_number(carrier_id, number, use_patch=use_patch) is True
        assert r.get_one("order_carriers", carrier_id) == {**old, "tracking_number": number}
        assert w.set_tracking_number(carrier_id, number, use_patch=use_patch) is False

    # an invalid tracking number never leaves the process
    sent = sum(writes.sent.values())
    with pytest.raises(InvalidValueError, match="isTrackingNumber"):
        w.set_tracking_number(5, "AB<12>")
    assert sum(writes.sent.values()) == sent

    # stock, through PATCH and PUT, read back
    for row_id, use_patch in ((3, True), (4, False)):
        old = r.get_one("stock_availables", row_id)
        assert w.set_stock(row_id, old["quantity"] + 7, use_patch=use_patch) is True
        assert r.get_one("stock_availables", row_id) == {**old, "quantity": old["quantity"] + 7}

    # prices
    assert w.set_product_price(2, "12.345678") is True
    assert r.get_one("products", 2)["price"] == "12.345678"
    old = r.get_one("combinations", 2)
    assert w.set_combination_price_impact(2, "-1.5", use_patch=False) is True
    new = r.get_one("combinations", 2)
    assert new["price"] == "-1.500000"
    # A full PUT sends NULL columns back as empty values, which PrestaShop stores as 0 (default_on: "" -> "0"):
    # the same value once normalised, and one more reason PATCH is the default.
    assert normalize_record("combinations", new) == {**normalize_record("combinations", old),
                                                     "price": Decimal("-1.500000")}
    assert KEY not in caplog.text and B64 not in caplog.text


def test_moving_window_keyset_keeps_what_offset_paging_skips(writes: Counted) -> None:
    """Orders updated during a read leave the window (their date_upd becomes now). Offset paging sorted by date then
    shifts the remaining rows and skips some; the id keyset walk does not."""
    stamps = sorted((parse(o["date_upd"]), o["id"]) for o in writes.reader.iter_all("orders"))
    client = PrestaShopClient(writes.client.base_url, KEY, retries=POLICY, page_size=5, max_in_flight=1)
    reader, writer = PrestaShopReader(client), PrestaShopWriter(client)
    windows = [(stamps[20][0], stamps[45][0]), (stamps[60][0], stamps[85][0])]

    def expected(w: tuple[datetime, datetime]) -> set[int]:
        return {i for t, i in stamps if w[0] <= t <= w[1]}

    results: dict[str, set[int]] = {}
    for (low, high), paging in zip(windows, ("offset", "keyset"), strict=True):
        want = expected((low, high))
        it = reader.iter_changed("orders", low, high, overlap=timedelta(0), paging=paging)
        got = [next(it)["id"] for _ in range(5)]
        movers = got[:2] if paging == "offset" else sorted(want - set(got))[-2:]
        for order_id in movers:  # a status change moves date_upd to "now", after `high`
            state = reader.get_one("orders", order_id)["current_state"]
            writer.set_order_state(order_id, 6 if state != 6 else 5)
        got += [o["id"] for o in it]
        assert len(got) == len(set(got))
        results[paging] = want - set(got)
    client.close()
    client.session.close()
    assert results["keyset"] == set()
    assert results["offset"], "offset paging over a moving window was expected to skip rows"


def test_writes_under_heavy_faults_happen_exactly_once(writes: Counted, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    c = writes
    targets = {}
    before = {}
    for order_id in range(40, 48):
        state = c.reader.get_one("orders", order_id)["current_state"]
        targets[order_id] = 6 if state != 6 else 5
        before[order_id] = len(histories(c, order_id))
    for order_id, state in targets.items():
        assert c.writer.set_order_state(order_id, state) is True
    for row_id in range(10, 14):
        quantity = c.reader.get_one("stock_availables", row_id)["quantity"]
        assert c.writer.set_stock(row_id, quantity + 1) is True
        assert c.reader.get_one("stock_availables", row_id)["quantity"] == quantity + 1
    for order_id, state in targets.items():
        assert c.reader.get_one("orders", order_id)["current_state"] == state
        assert len(histories(c, order_id)) == before[order_id] + 1, order_id  # one row, never two
    injected = requests.get(f"{c.client.base_url}/sandbox/injected", timeout=10).json()["transport"]
    assert {t["method"] for t in injected} >= {"POST", "PATCH"}, "no write met a fault: the test proved nothing"
    assert KEY not in caplog.text and B64 not in caplog.text
