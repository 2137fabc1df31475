"""Transport behaviour against tiny real HTTP servers on loopback (no mocks): retry budget, Retry-After, cut bodies,
500s that must not be retried, writes settled by re-reading, bounded concurrency, gap repair, no key in logs."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from prestaoracle.prestashop import (
    AuthError,
    PrestaShopClient,
    PrestaShopReader,
    PrestaShopWriter,
    RequestError,
    RetryBudgetExhausted,
    RetryPolicy,
)

KEY = "LOCALKEYLOCALKEYLOCALKEYLOCAL123"
B64 = base64.b64encode(f"{KEY}:".encode()).decode()
FAST = RetryPolicy(attempts=4, backoff=0.01, jitter=0.0)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | object = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut: bool = False  # send the headers and half the body, then close the connection
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    auth: str


class Stub:
    """A loopback HTTP server whose answers come from ``app(request) -> Reply``; it records every request."""

    def __init__(self, app: Callable[[Seen], Reply]) -> None:
        self.app = app
        self.seen: list[Seen] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Seen(self.command, parts.path, dict(parse_qsl(parts.query)), body,
                           self.headers.get("Authorization", ""))
                with stub.lock:
                    stub.seen.append(req)
                    stub.active += 1
                    stub.max_active = max(stub.max_active, stub.active)
                try:
                    reply = stub.app(req)
                    if reply.delay:
                        time.sleep(reply.delay)
                finally:
                    with stub.lock:
                        stub.active -= 1
                payload = reply.body
                if not isinstance(payload, bytes | str):
                    payload = json.dumps(payload)
                data = payload.encode() if isinstance(payload, str) else payload
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if "Content-Type" not in reply.headers and data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if reply.cut:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if reply.cut else data)
                self.wfile.flush()
                if reply.cut:
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self, method: str = "GET", path: str | None = None) -> int:
        return sum(1 for s in self.seen if s.method == method and (path is None or s.path == path))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_factory() -> Iterator[Callable[[Callable[[Seen], Reply]], Stub]]:
    stubs: list[Stub] = []

    def make(app: Callable[[Seen], Reply]) -> Stub:
        stubs.append(Stub(app))
        return stubs[-1]

    yield make
    for s in stubs:
        s.close()


def reader_for(stub: Stub, policy: RetryPolicy = FAST, **kw: object) -> PrestaShopReader:
    return PrestaShopReader(PrestaShopClient(stub.base, KEY, retries=policy, **kw))  # type: ignore[arg-type]


ORDERS = {"orders": [{"id": 1, "current_state": 2}]}


def test_gives_up_after_the_budget_with_a_clear_error(stub_factory, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    stub = stub_factory(lambda req: Reply(503, {"errors": [{"code": 22, "message": "disabled"}]}))
    with pytest.raises(RetryBudgetExhausted) as info:
        reader_for(stub).get_list("orders", filters={"id": [1]})
    err = info.value
    assert stub.count() == FAST.attempts == err.attempts == 4
    assert err.last_status == 503
    assert "after 4 attempt(s)" in str(err) and "last status 503" in str(err) and "/api/orders" in str(err)
    assert all(s.auth == f"Basic {B64}" for s in stub.seen)  # the key went in the header, nowhere else
    assert KEY not in str(err) and B64 not in str(err) and KEY not in caplog.text and B64 not in caplog.text


def test_honours_retry_after_on_429(stub_factory) -> None:
    replies = iter([Reply(429, b"", {"Retry-After": "1"}), Reply(200, ORDERS)])
    stub = stub_factory(lambda req: next(replies))
    started = time.monotonic()
    rows = reader_for(stub).get_list("orders")
    assert rows == ORDERS["orders"] and stub.count() == 2
    assert time.monotonic() - started >= 0.95  # waited what the server asked, not the 0.01 s backoff


def test_cut_body_is_retried_and_shares_the_budget(stub_factory) -> None:
    replies = iter([Reply(200, ORDERS, cut=True), Reply(200, ORDERS)])
    stub = stub_factory(lambda req: next(replies))
    assert reader_for(stub).get_list("orders") == ORDERS["orders"] and stub.count() == 2

    # Cuts (seen by the client) and 503s (seen by urllib3) alternate: still exactly `attempts` requests in total.
    cycle = iter([Reply(200, ORDERS, cut=True), Reply(503)] * 10)
    stub2 = stub_factory(lambda req: next(cycle))
    with pytest.raises(RetryBudgetExhausted):
        reader_for(stub2).get_list("orders")
    assert stub2.count() == FAST.attempts


def test_500_with_a_request_error_code_is_not_retried(stub_factory) -> None:
    body = {"errors": [{"code": 32, "message": "This filter does not exist."}, {"code": 3, "message": "warn"}]}
    stub = stub_factory(lambda req: Reply(500, body))
    with pytest.raises(RequestError) as info:
        reader_for(stub).get_list("orders", filters={"nonexistent_field": [1]})
    assert info.value.codes == (32, 3) and stub.count() == 1


def test_transient_500_is_retried(stub_factory) -> None:
    replies = iter([Reply(500, {"errors": [{"code": 500, "message": "Internal Server Error"}]}), Reply(200, "[]")])
    stub = stub_factory(lambda req: next(replies))
    assert reader_for(stub).get_list("orders") == [] and stub.count() == 2


def test_no_key_answer_is_an_auth_error(stub_factory) -> None:
    stub = stub_factory(lambda req: Reply(401, "401 Unauthorized", {"Content-Type": "text/html"}))
    with pytest.raises(AuthError, match="prestashop_default connection"):
        reader_for(stub).get_list("orders")
    assert stub.count() == 1


class FakeOrders:
    """Just enough of a shop for set_order_state: order 5's state, and a POST that may land and/or be cut."""

    def __init__(self, post_replies: list[tuple[bool, Reply]]) -> None:
        self.state = 1
        self.history: list[int] = []
        self.post_replies = iter(post_replies)

    def __call__(self, req: Seen) -> Reply:
        if req.path == "/api/order_states":
            return Reply(200, {"order_states": [{"id": i} for i in range(1, 14)]})
        if req.path == "/api/orders":
            assert req.query["filter[id]"] == "[5]"
            return Reply(200, {"orders": [{"id": 5, "current_state": self.state}]})
        if req.path == "/api/order_histories" and req.method == "POST":
            applies, reply = next(self.post_replies)
            if applies:
                self.state = int(re.search(rb"<id_order_state>(\d+)<", req.body).group(1))
                self.history.append(self.state)
            return reply
        return Reply(404)


def writer_for(stub: Stub) -> PrestaShopWriter:
    return PrestaShopWriter(PrestaShopClient(stub.base, KEY, retries=FAST))


CREATED = Reply(201, "<prestashop><order_history><id>9</id></order_history></prestashop>",
                {"Content-Type": "text/xml"})


def test_post_that_landed_but_was_cut_is_not_sent_again(stub_factory, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    shop = FakeOrders([(True, Reply(201, CREATED.body, CREATED.headers, cut=True))])
    stub = stub_factory(shop)
    writer = writer_for(stub)
    assert writer.set_order_state(5, 4) is True
    assert shop.history == [4] and stub.count("POST") == 1
    assert writer.set_order_state(5, 4) is False  # already there: nothing posted
    assert stub.count("POST") == 1
    assert KEY not in caplog.text and B64 not in caplog.text


def test_post_refused_by_a_proxy_is_resent_only_after_rereading(stub_factory) -> None:
    shop = FakeOrders([(False, Reply(503)), (False, Reply(502)), (True, CREATED)])
    stub = stub_factory(shop)
    assert writer_for(stub).set_order_state(5, 4) is True
    assert shop.history == [4] and stub.count("POST") == 3
    methods = [s.method for s in stub.seen if s.path != "/api/order_states"]
    assert methods == ["GET", "POST", "GET", "POST", "GET", "POST"]  # a read before every send


def test_post_never_confirmed_gives_up_without_extra_sends(stub_factory) -> None:
    shop = FakeOrders([(False, Reply(500))] * 10)
    stub = stub_factory(shop)
    with pytest.raises(RetryBudgetExhausted) as info:
        writer_for(stub).set_order_state(5, 4)
    assert stub.count("POST") == FAST.attempts and info.value.last_status == 500
    assert shop.history == []


def test_unknown_state_is_refused_before_any_post(stub_factory) -> None:
    stub = stub_factory(FakeOrders([]))
    with pytest.raises(ValueError, match="order state 99 does not exist"):
        writer_for(stub).set_order_state(5, 99)
    assert stub.count("POST") == 0


class PagedShop:
    """Orders 1..n served with ``sort=[id_ASC]``, ``limit`` and ``filter[id]=[a,b]``; slow enough to overlap."""

    def __init__(self, n: int, delay: float = 0.0) -> None:
        self.ids = list(range(1, n + 1))
        self.delay = delay
        self.on_page: Callable[[int], None] = lambda offset: None

    def __call__(self, req: Seen) -> Reply:
        assert req.query.get("sort") == "[id_ASC]"
        ids = list(self.ids)
        flt = req.query.get("filter[id]")
        if flt:
            low, high = (int(x) for x in flt.strip("[]").split(","))
            ids = [i for i in ids if low <= i <= high]
        offset, _, count = req.query.get("limit", "0,100000").rpartition(",")
        start = int(offset or 0)
        page = ids[start : start + int(count)]
        self.on_page(start)
        body = {"orders": [{"id": i, "reference": f"R{i}"} for i in page]} if page else "[]"
        return Reply(200, body, delay=self.delay)


def test_full_scan_bounds_concurrency_and_keeps_order(stub_factory) -> None:
    shop = PagedShop(95, delay=0.05)
    stub = stub_factory(shop)
    reader = reader_for(stub, max_in_flight=3)
    ids = [r["id"] for r in reader.iter_all("orders", page_size=10)]
    assert ids == list(range(1, 96))
    assert 1 < stub.max_active <= 3


def test_full_scan_survives_deletes_between_pages(stub_factory) -> None:
    shop = PagedShop(50)

    def delete_after_first_page(offset: int) -> None:
        if offset == 0 and 2 in shop.ids:
            for gone in (2, 3, 4):  # already read on page 0; the next pages shift left by three
                shop.ids.remove(gone)

    shop.on_page = delete_after_first_page
    stub = stub_factory(shop)
    ids = [r["id"] for r in reader_for(stub, max_in_flight=1).iter_all("orders", page_size=10)]
    assert ids == list(range(1, 51))  # 11 and 12 would be skipped by plain offset paging
    assert any(s.query.get("filter[id]") == "[11,12]" for s in stub.seen)


def test_multishop_context_and_order_shop_filter(stub_factory) -> None:
    stub = stub_factory(lambda req: Reply(200, "[]"))
    reader = reader_for(stub, shop_id=2)
    reader.get_list("orders")
    reader.get_list("products")
    orders, products = stub.seen
    assert orders.query["id_shop"] == "2" and orders.query["filter[id_shop]"] == "[2]"  # orders ignore the context
    assert products.query["id_shop"] == "2" and "filter[id_shop]" not in products.query


CARRIER_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n<order_carrier>\n'
    '\t<id><![CDATA[1]]></id>\n\t<id_order xlink:href="http://x/api/orders/1"><![CDATA[1]]></id_order>\n'
    "\t<id_carrier><![CDATA[2]]></id_carrier>\n\t<id_order_invoice><![CDATA[0]]></id_order_invoice>\n"
    "\t<weight><![CDATA[1.500000]]></weight>\n\t<tracking_number><![CDATA[{tracking}]]></tracking_number>\n"
    "\t<date_add><![CDATA[2026-11-26 15:55:09]]></date_add>\n</order_carrier>\n</prestashop>\n"
)


def test_patch_refused_by_a_17_shop_falls_back_to_a_full_put(stub_factory) -> None:
    state = {"tracking": ""}
    puts: list[bytes] = []

    def shop(req: Seen) -> Reply:
        if req.method == "GET" and req.path == "/api/order_carriers":
            return Reply(200, {"order_carriers": [{"id": 1, "tracking_number": state["tracking"]}]})
        if req.method == "GET" and req.path == "/api/order_carriers/1":
            return Reply(200, CARRIER_XML.replace("{tracking}", state["tracking"]), {"Content-Type": "text/xml"})
        if req.method == "PATCH":
            return Reply(405, {"errors": [{"code": 23, "message": "Method PATCH is not valid"}]})
        if req.method == "PUT":
            puts.append(req.body)
            state["tracking"] = re.search(rb"<tracking_number>([^<]*)<", req.body).group(1).decode()
            return Reply(200, CARRIER_XML.replace("{tracking}", state["tracking"]), {"Content-Type": "text/xml"})
        return Reply(404)

    stub = stub_factory(shop)
    assert writer_for(stub).set_tracking_number(1, "1Z999AA10123456784") is True
    assert state["tracking"] == "1Z999AA10123456784" and stub.count("PATCH") == 1 and len(puts) == 1
    for field_xml in (b"<id_order>1</id_order>", b"<id_carrier>2</id_carrier>", b"<weight>1.500000</weight>",
                      b"<date_add>2026-11-26 15:55:09</date_add>", b"<id_order_invoice>0</id_order_invoice>"):
        assert field_xml in puts[0]  # the full document went back, not just the changed field
