"""Retry budget, Retry-After, no blind POST retries, 401 handling and secret scrubbing, against a real local server.

A ``http.server`` on loopback plays a misbehaving pod with scripted answers (no mocks): the client's requests go
over real sockets, and the server counts what it received.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prestaoracle.oracle import BasicAuth, FusionClient, FusionError, OAuth2ClientCredentials, RetryPolicy

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, budget=10)


class Scripted:
    """Answers per path: a list consumed in order (the last one repeats). An answer is (status, headers, body) or
    "drop" (close the socket without answering)."""

    def __init__(self) -> None:
        self.script: dict[str, list] = {}
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def answer(self, path: str) -> object:
        with self.lock:
            answers = self.script.get(path) or [(404, {}, b"no such path")]
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def count(self, path: str) -> int:
        return sum(1 for _m, p, _h, _b in self.seen if p == path)


@pytest.fixture
def server() -> Iterator[tuple[Scripted, str]]:
    scripted = Scripted()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            with scripted.lock:
                scripted.seen.append((self.command, path, dict(self.headers), body))
            answer = scripted.answer(path)
            if answer == "drop":
                self.close_connection = True
                return
            status, headers, out = answer  # type: ignore[misc]
            if callable(out):
                out = out(self)
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PATCH = do_DELETE = _any

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield scripted, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


ITEMS = "/fscmRestApi/resources/11.13.18.05/itemsV2"
ORDERS = "/fscmRestApi/resources/11.13.18.05/salesOrdersForOrderHub"
TOKEN = "/oauth2/v1/token"


def _page(items: list[dict], has_more: bool = False) -> bytes:
    return json.dumps({"items": items, "count": len(items), "hasMore": has_more, "limit": 25, "offset": 0}).encode()


def test_always_503_ends_with_a_clear_error_after_the_budget(server: tuple[Scripted, str]) -> None:
    scripted, base = server
    scripted.script[ITEMS] = [(503, {"Content-Type": "text/plain"}, b"503 Service Unavailable")]
    client = FusionClient(base, auth=BasicAuth("user", "pw-123456"), retries=FAST, timeout=5)
    started = time.monotonic()
    with pytest.raises(FusionError) as info:
        client.get("itemsV2", {"limit": 1})
    err = info.value
    assert err.reason_class == "retryable" and err.status == 503
    assert "gave up after 4 attempt(s)" in str(err) and "503" in str(err) and "out of attempts" in str(err)
    assert scripted.count(ITEMS) == 4
    assert time.monotonic() - started < 3


def test_time_budget_ends_retries_early(server: tuple[Scripted, str]) -> None:
    scripted, base = server
    scripted.script[ITEMS] = [(503, {"Retry-After": "30"}, b"busy")]
    policy = RetryPolicy(attempts=10, backoff=0.01, budget=2, retry_after_max=60)
    client = FusionClient(base, auth=BasicAuth("user", "pw-123456"), retries=policy, timeout=5)
    started = time.monotonic()
    with pytest.raises(FusionError) as info:
        client.get("itemsV2")
    assert "exceed the budget" in str(info.value)
    assert scripted.count(ITEMS) == 1 and time.monotonic() - started < 1.5


def test_retry_after_is_waited_and_connection_drops_are_retried(server: tuple[Scripted, str]) -> None:
    scripted, base = server
    scripted.script[ITEMS] = [(429, {"Retry-After": "1"}, b"slow down"), "drop", (200, {}, _page([{"ItemId": 1}]))]
    client = FusionClient(base, auth=BasicAuth("user", "pw-123456"), retries=FAST, timeout=5)
    started = time.monotonic()
    assert client.get("itemsV2")["items"] == [{"ItemId": 1}]
    assert time.monotonic() - started >= 1.0
    assert scripted.count(ITEMS) == 3 and client.stats.retries == 2


def test_plain_post_is_never_retried(server: tuple[Scripted, str]) -> None:
    scripted, base = server
    scripted.script["/fscmRestApi/resources/11.13.18.05/standardReceipts"] = [(503, {}, b"down")]
    client = FusionClient(base, auth=BasicAuth("user", "pw-123456"), retries=FAST, timeout=5)
    with pytest.raises(FusionError) as info:
        client.post("standardReceipts", {"ReceiptNumber": "R1"})
    assert info.value.retryable and scripted.count("/fscmRestApi/resources/11.13.18.05/standardReceipts") == 1


def test_create_looks_up_before_every_new_post(server: tuple[Scripted, str]) -> None:
    """503 on the POST, the key still absent: the client looks it up again before each POST, then gives up."""
    scripted, base = server
    key_path = ORDERS + "/PSHOP:42"
    scripted.script[key_path] = [(404, {}, b"not found")]
    scripted.script[ORDERS] = [(503, {}, b"down")]
    client = FusionClient(base, auth=BasicAuth("user", "pw-123456"), retries=RetryPolicy(attempts=3, backoff=0.01),
                          timeout=5)
    with pytest.raises(FusionError) as info:
        client.create_sales_order({"SourceTransactionSystem": "PSHOP", "SourceTransactionId": "42"})
    assert info.value.retryable and "was not created" in str(info.value)
    sequence = [(m, p) for m, p, _h, _b in scripted.seen]
    assert sequence == [("GET", key_path), ("POST", ORDERS), ("GET", key_path), ("POST", ORDERS), ("GET", key_path),
                        ("POST", ORDERS), ("GET", key_path)]


def test_basic_401_is_final_and_classified_auth(server: tuple[Scripted, str]) -> None:
    scripted, base = server
    scripted.script[ITEMS] = [(401, {"WWW-Authenticate": "Basic"}, b"Unauthorized")]
    client = FusionClient(base, auth=BasicAuth("user", "pw-123456"), retries=FAST, timeout=5)
    with pytest.raises(FusionError) as info:
        client.get("itemsV2")
    assert info.value.reason_class == "auth" and scripted.count(ITEMS) == 1


def test_token_endpoint_retries_then_refusal_is_auth(server: tuple[Scripted, str]) -> None:
    scripted, base = server
    scripted.script[TOKEN] = [(503, {}, b"busy"), (401, {}, json.dumps(
        {"error": "invalid_client", "error_description": "Client authentication failed."}).encode())]
    auth = OAuth2ClientCredentials(base + TOKEN, "cid", "s3cret-value")
    client = FusionClient(base, auth=auth, retries=FAST, timeout=5)
    with pytest.raises(FusionError) as info:
        client.get("itemsV2")
    assert info.value.reason_class == "auth" and "Client authentication failed" in str(info.value)
    assert scripted.count(TOKEN) == 2 and scripted.count(ITEMS) == 0


def test_401_on_a_valid_token_fetches_a_new_one_and_replays_once(server: tuple[Scripted, str]) -> None:
    scripted, base = server
    tokens = iter(["tok-first-0001", "tok-second-0002", "tok-third-0003"])
    scripted.script[TOKEN] = [(200, {}, lambda h: json.dumps({"access_token": next(tokens), "token_type": "Bearer",
                                                              "expires_in": 3600}).encode())]

    def only_second(handler: BaseHTTPRequestHandler) -> bytes:
        return _page([{"ok": handler.headers.get("Authorization") == "Bearer tok-second-0002"}])

    scripted.script[ITEMS] = [(401, {"WWW-Authenticate": "Bearer"}, b"expired"), (200, {}, only_second),
                              (401, {}, b"expired"), (401, {}, b"expired again")]
    auth = OAuth2ClientCredentials(base + TOKEN, "cid", "s3cret-value")
    client = FusionClient(base, auth=auth, retries=FAST, timeout=5)
    assert client.get("itemsV2")["items"] == [{"ok": True}]
    assert auth.token_fetches == 2 and client.stats.unauthorized_replays == 1
    # a 401 that survives a fresh token is final: one replay, then an auth error
    with pytest.raises(FusionError) as info:
        client.get("itemsV2")
    assert info.value.reason_class == "auth" and auth.token_fetches == 3 and scripted.count(ITEMS) == 4


def test_no_secret_reaches_an_error_message(server: tuple[Scripted, str]) -> None:
    """A server that echoes the Authorization header and the form back: the client's errors scrub both."""
    scripted, base = server
    token = "tok-VERY-SECRET-0123456789"
    scripted.script[TOKEN] = [(200, {}, json.dumps({"access_token": token, "token_type": "Bearer",
                                                    "expires_in": 3600}).encode())]

    def echo(handler: BaseHTTPRequestHandler) -> bytes:
        return f"rejected {handler.headers.get('Authorization')}".encode()

    scripted.script[ITEMS] = [(400, {"Content-Type": "text/plain"}, echo)]
    auth = OAuth2ClientCredentials(base + TOKEN, "cid", "s3cret-value")
    client = FusionClient(base, auth=auth, retries=FAST, timeout=5)
    with pytest.raises(FusionError) as info:
        client.get("itemsV2")
    text = " ".join([str(info.value), repr(info.value), info.value.detail, repr(auth), repr(client)])
    assert token not in text and "s3cret-value" not in text and "***" in str(info.value)
    # the token request authenticated the client by Basic, the API call carried the bearer token
    token_headers = next(h for m, p, h, _b in scripted.seen if p == TOKEN)
    assert token_headers["Authorization"].startswith("Basic ")
    assert next(h for m, p, h, _b in scripted.seen if p == ITEMS)["Authorization"] == f"Bearer {token}"
