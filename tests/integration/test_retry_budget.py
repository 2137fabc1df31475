"""Both clients obey the same retry policy, time budget included, against a real server that never recovers.

The server on loopback answers every request with 503 and a ``Retry-After``, forever. Whatever the client, the call
must end with a clear error once the next wait would cross the policy's time budget, although attempts are left.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prestaoracle.oracle import BasicAuth, FusionClient, FusionError
from prestaoracle.prestashop import PrestaShopClient, PrestaShopWriter, RetryBudgetExhausted
from prestaoracle.retry import RetryPolicy

KEY = "BUDGETKEYBUDGETKEYBUDGETKEY12345"


class Overloaded:
    """A server that answers 503 with ``Retry-After: <retry_after>`` to everything (to writes only when ``reads``
    is given: then GETs get that JSON), and counts requests by verb."""

    def __init__(self, retry_after: str, reads: bytes | None = None) -> None:
        self.counts: dict[str, int] = {}
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with lock:
                    server.counts[self.command] = server.counts.get(self.command, 0) + 1
                if reads is not None and self.command == "GET":
                    body, ctype = reads, "application/json"
                    self.send_response(200)
                else:
                    body, ctype = b"Service Unavailable", "text/plain"
                    self.send_response(503)
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def overloaded() -> Iterator[Callable[..., Overloaded]]:
    servers: list[Overloaded] = []

    def make(retry_after: str, reads: bytes | None = None) -> Overloaded:
        servers.append(Overloaded(retry_after, reads))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def read_prestashop(base: str, policy: RetryPolicy) -> Exception:
    with pytest.raises(RetryBudgetExhausted) as info:
        PrestaShopClient(base, KEY, retries=policy).get_json("orders")
    return info.value


def read_fusion(base: str, policy: RetryPolicy) -> Exception:
    with pytest.raises(FusionError) as info:
        FusionClient(base, auth=BasicAuth("user", "pw-123456"), retries=policy, timeout=5).get("itemsV2")
    assert info.value.retryable and info.value.status == 503
    return info.value


CLIENTS = pytest.mark.parametrize("read", [read_prestashop, read_fusion], ids=["prestashop", "fusion"])


@CLIENTS
def test_retry_after_beyond_the_budget_ends_the_call_at_once(overloaded, read) -> None:
    server = overloaded("30")
    policy = RetryPolicy(attempts=50, budget=5, backoff=0.01, jitter=0.0, retry_after_max=60)
    error = read(server.base, policy)
    assert server.counts == {"GET": 1}  # no sleep of 30 s, no second try
    assert "gave up after 1 attempt(s)" in str(error)
    assert "waiting 30.0 s more would exceed the budget" in str(error) and "50 attempts / 5 s" in str(error)
    assert "503" in str(error)


@CLIENTS
def test_503_forever_gives_up_after_the_time_budget_with_attempts_left(overloaded, read) -> None:
    server = overloaded("1")
    policy = RetryPolicy(attempts=50, budget=2.5, backoff=0.01, jitter=0.0)
    error = read(server.base, policy)
    # Tries at about 0, 1 and 2 s; a fourth would start past 2.5 s. A slow machine may fit one try fewer.
    assert 2 <= server.counts["GET"] <= 3
    assert "would exceed the budget" in str(error) and "attempt(s) in" in str(error)


def test_the_writer_loop_obeys_the_same_budget(overloaded) -> None:
    """Stock reads fine but every PATCH gets 503 + Retry-After beyond the budget: one send, a re-read, an error."""
    row = {"stock_availables": [{"id": 1, "quantity": 0, "depends_on_stock": "0"}]}
    server = overloaded("30", reads=json.dumps(row).encode())
    client = PrestaShopClient(server.base, KEY, retries=RetryPolicy(attempts=50, budget=5, backoff=0.01))
    with pytest.raises(RetryBudgetExhausted, match="would exceed the budget") as info:
        PrestaShopWriter(client).set_stock(1, 5)
    assert server.counts["PATCH"] == 1 and info.value.last_status == 503
