"""Concurrent writes on the PrestaShop sandbox behave like a real shop's: MySQL's auto-increment hands out the ids.

Two uvicorn workers share one store (SQLite or PostgreSQL) as PHP-FPM workers share MySQL. Thirty clients posting
order histories at once all get 201 and thirty different ids, every order ends in the state of its last history
row, and nothing a client can see is a bare framework 500.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import free_port
from support.pg import temp_database
from support.sandbox import run_sandbox

KEY = "CONCURRENTCONCURRENTCONCURRENT12"
POSTS = 30
HISTORY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n'
    "<order_history><id_order>{order}</id_order><id_order_state>{state}</id_order_state></order_history>\n"
    "</prestashop>\n"
)


@contextlib.contextmanager
def _store(backend: str) -> Iterator[list[str]]:
    if backend == "sqlite":
        yield []
    else:
        with temp_database("ps_concurrency") as url:
            yield ["--prestashop-db-url", url]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest) -> Iterator[str]:
    with _store(request.param) as store, run_sandbox(
            "--only", "prestashop", "--prestashop-port", str(free_port()), "--orders", "150", "--seed", "3",
            "--ws-key", KEY, "--workers", "2", "--end", "2026-06-01", *store) as base:
        yield base


def _post(base: str, order: int, state: int, as_json: bool) -> requests.Response:
    params = {"output_format": "JSON"} if as_json else {}
    return requests.post(f"{base}/api/order_histories", params=params, auth=(KEY, ""), timeout=60,
                         data=HISTORY.format(order=order, state=state).encode())


def _ids_of(base: str, resource: str) -> list[int]:
    body = requests.get(f"{base}/api/{resource}", params={"output_format": "JSON"}, auth=(KEY, ""), timeout=30).json()
    return [item["id"] for item in body[resource]] if body else []


def test_thirty_concurrent_history_posts_get_thirty_new_ids(shop: str) -> None:
    before = set(_ids_of(shop, "order_histories"))
    # Orders 1..10, three state changes each, all at once; half ask for JSON, half for XML.
    jobs = [(1 + n % 10, (2, 3, 4)[n // 10], n % 2 == 0) for n in range(POSTS)]
    with ThreadPoolExecutor(max_workers=POSTS) as pool:
        replies = list(pool.map(lambda job: _post(shop, *job), jobs))

    problems = [f"{r.status_code} {r.headers.get('content-type')}: {r.text[:200]}" for r in replies
                if r.status_code != 201]
    assert not problems, f"{len(problems)} of {POSTS} concurrent POSTs failed:\n" + "\n".join(problems)
    new_ids = []
    for reply, (_order, _state, as_json) in zip(replies, jobs, strict=True):
        if as_json:
            new_ids.append(int(reply.json()["order_history"]["id"]))
        else:
            new_ids.append(int(reply.text.split("<id><![CDATA[", 1)[1].split("]]>", 1)[0]))
    assert len(set(new_ids)) == POSTS, f"duplicate ids handed out: {sorted(new_ids)}"
    assert not set(new_ids) & before, "a new history row reused an existing id"
    assert set(_ids_of(shop, "order_histories")) == before | set(new_ids)


def test_each_order_ends_in_the_state_of_its_last_history_row(shop: str) -> None:
    """The state change and the history row are one write: under concurrency they still agree."""
    for order in range(1, 11):
        histories = requests.get(f"{shop}/api/order_histories", auth=(KEY, ""), timeout=30, params={
            "output_format": "JSON", "display": "[id,id_order_state]", "filter[id_order]": f"[{order}]",
            "sort": "[id_DESC]", "limit": "1"}).json()["order_histories"]
        current = requests.get(f"{shop}/api/orders/{order}", auth=(KEY, ""), timeout=30,
                               params={"output_format": "JSON"}).json()["order"]["current_state"]
        assert current == str(histories[0]["id_order_state"]) or current == histories[0]["id_order_state"]


def test_concurrent_payments_get_distinct_ids_and_invoice_numbers(shop: str) -> None:
    """Paid states create order_payments rows and invoice numbers: neither may be handed out twice."""
    unpaid = requests.get(f"{shop}/api/orders", auth=(KEY, ""), timeout=30, params={
        "output_format": "JSON", "display": "[id]", "filter[invoice_number]": "[0]", "sort": "[id_DESC]"}).json()
    orders = [o["id"] for o in unpaid["orders"]][:20]
    assert len(orders) >= 5, "the generated shop has too few orders without an invoice for this test"
    with ThreadPoolExecutor(max_workers=len(orders)) as pool:
        replies = list(pool.map(lambda order: _post(shop, order, 2, True), orders))
    assert [r.status_code for r in replies] == [201] * len(orders), [r.text[:200] for r in replies]
    payments = requests.get(f"{shop}/api/order_payments", auth=(KEY, ""), timeout=30,
                            params={"output_format": "JSON", "display": "[id]"}).json()["order_payments"]
    ids = [p["id"] for p in payments]
    assert len(ids) == len(set(ids))
    invoiced = requests.get(f"{shop}/api/orders", auth=(KEY, ""), timeout=30, params={
        "output_format": "JSON", "display": "[id,invoice_number]", "filter[invoice_number]": ">[0]"}).json()["orders"]
    numbers = [o["invoice_number"] for o in invoiced]
    assert {o["id"] for o in invoiced} >= set(orders)
    assert len(numbers) == len(set(numbers)), f"an invoice number was given twice: {sorted(numbers)}"
