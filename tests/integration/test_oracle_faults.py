"""The Fusion pod under ``--faults flaky``: transport faults through the shared middleware, tokens that die mid-run
and the 504 that comes after the order was committed, all decided by the seed and listed by ``/sandbox/injected``.

A client that retries sanely (and looks an order up before it re-posts) still ends with exactly what a clean pod
would give. The profile keeps its name; only its delays are shortened (``slow_page_seconds``, ``latency_ms``) to keep
the suite fast. Sections cited are of ``shared/reference/oracle-fusion-and-ebs.md``.
"""

from __future__ import annotations

import email.utils
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.sandbox import faults
from prestaoracle.sandbox.oracle import contract
from prestaoracle.sandbox.oracle.app import ORACLE_FAULTS, token_life
from prestaoracle.sandbox.oracle.orders import stable_unit

pytestmark = pytest.mark.xdist_group("oracle_faults")

USER, SECRET = "prestaoracle-sandbox", "FAULTS-SECRET-10"
SEED = 10
SPEC = "flaky:slow_page_seconds=0.3-0.5,latency_ms=5-20"
PROFILE = faults.parse_faults(SPEC)
ITEMS_PATH = "/fscmRestApi/resources/11.13.18.05/itemsV2"
ORDERS_PATH = "/fscmRestApi/resources/11.13.18.05/salesOrdersForOrderHub"
ERRORS = {429: "http_429", 500: "http_500", 503: "http_503"}
BENIGN = (None, "latency", "slow_page")


class Client:
    """Retries what a sane Fusion client retries: 429 (after Retry-After), 500/503 and cut connections."""

    def __init__(self, base: str, auth: Any = (USER, SECRET)) -> None:
        self.base = base
        self.auth = auth
        self.outcomes: list[tuple[str, str]] = []  # (request key, what happened) per attempt
        self.retry_after: list[tuple[str, str, str | None]] = []  # (request key, 429/503 kind, Retry-After sent)

    def send(self, method: str, path: str, params: dict | None = None, **kw: Any) -> requests.Response:
        query = urlencode(params or {})
        key = faults.request_key(method, path, query)
        for _attempt in range(faults.MAX_FAULTY_ATTEMPTS + 2):
            started = time.monotonic()
            try:
                resp = requests.request(method, f"{self.base}{path}" + (f"?{query}" if query else ""),
                                        auth=self.auth, timeout=30, **kw)
                resp.content  # noqa: B018 - read the whole body, a cut shows here
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                self.outcomes.append((key, "drop_connection"))
                continue
            if resp.status_code in ERRORS:
                self.outcomes.append((key, ERRORS[resp.status_code]))
                assert resp.headers["X-Sandbox-Fault"] == ERRORS[resp.status_code]
                assert resp.headers["Content-Type"].startswith("text/plain")
                if resp.status_code in (429, 503):
                    # Delta-seconds, an HTTP-date, or nothing (§2.5: 429 with and without Retry-After).
                    header = resp.headers.get("Retry-After")
                    assert header is None or header.isdigit() or email.utils.parsedate_to_datetime(header)
                    self.retry_after.append((key, ERRORS[resp.status_code], header))
                    time.sleep(0.05)  # a real client waits Retry-After seconds; the test need not
                continue
            self.outcomes.append((key, "ok" if time.monotonic() - started < 0.3 else "slow"))
            return resp
        raise AssertionError(f"{method} {path} still failing")


@pytest.fixture(scope="session")
def base() -> Iterator[str]:
    with run_sandbox("--only", "oracle", "--oracle-port", str(free_port()), "--orders", "200", "--seed", str(SEED),
                     "--end", "2026-03-01", "--oracle-clock-start", "2026-03-01T00:00:00", "--faults", SPEC,
                     "--oracle-client-secret", SECRET, "--workers", "1") as url:
        yield url


def injected(base: str) -> list[dict]:
    return requests.get(f"{base}/sandbox/injected", params={"category": "transport"}, timeout=30).json()["transport"]


def test_transport_faults_follow_the_seed_and_retries_see_clean_data(base: str) -> None:
    """§2.5/§7.7: 429 with Retry-After, 503 (and 500), slow answers and cut connections, per request and attempt as
    the seed decides (``faults.fault_plan``); a retrying client reads exactly the clean data; the log lists each."""
    client = Client(base)
    listing = client.send("GET", ITEMS_PATH, {"limit": 500, "onlyData": "true", "orderBy": "ItemId"}).json()
    assert listing["count"] > 20
    client.outcomes.clear()
    for attr in ("ItemId", "ItemNumber"):  # two reads per item: enough requests for every kind of fault
        one_by_one = []
        for item in listing["items"]:
            body = client.send("GET", ITEMS_PATH, {"q": f"{attr}={item[attr]}", "onlyData": "true"}).json()
            one_by_one += body["items"]
        assert one_by_one == listing["items"]  # nothing lost or changed by the faults

    # What each key met, attempt by attempt, is what the seed planned for it.
    met: dict[str, list[str]] = {}
    for key, outcome in client.outcomes:
        met.setdefault(key, []).append(outcome)
    for key, seen in met.items():
        expected = []
        for kind in faults.fault_plan(PROFILE, SEED, key):
            expected.append("slow" if kind == "slow_page" else "ok" if kind in BENIGN else kind)
            if kind in BENIGN:
                break
        else:
            expected.append("ok")
        assert seen == expected, key
    kinds = Counter(outcome for _key, outcome in client.outcomes)
    assert {"http_429", "http_503", "drop_connection", "slow"} <= set(kinds), kinds

    # /sandbox/injected lists every fault the client met (and the latency ones it could not see).
    logged = Counter((f"GET {t['path']}?{t['query']}", t["kind"]) for t in injected(base)
                     if t["path"] == ITEMS_PATH and t["query"].startswith("onlyData=true&q=Item"))
    met_faults = Counter((key, "slow_page" if o == "slow" else o) for key, o in client.outcomes if o != "ok")
    assert met_faults == Counter({k: n for k, n in logged.items() if k[1] != "latency"})
    # Each 429/503 carried the Retry-After the log says was sent, and they do not all look alike.
    sent = Counter(client.retry_after)
    assert sent == Counter((f"GET {t['path']}?{t['query']}", t["kind"], t["detail"]["retry_after"])
                           for t in injected(base) if t["path"] == ITEMS_PATH and t["kind"] in ("http_429", "http_503")
                           and t["query"].startswith("onlyData=true&q=Item"))
    assert len({header for _k, _kind, header in client.retry_after}) > 2


def test_token_dies_mid_run_and_a_refetching_client_goes_on(base: str) -> None:
    """§2.6/§7.2: a bearer token can stop working before ``expires_in`` (401); the tokens that die, and on which
    use, follow the seed (``app.token_life``); a client that fetches a new token on 401 reads everything."""
    tokens: list[str] = []

    def new_token() -> None:
        resp = requests.post(f"{base}/oauth2/v1/token", data={"grant_type": "client_credentials"},
                             auth=(USER, SECRET), timeout=30)
        assert resp.status_code == 200
        tokens.append(resp.json()["access_token"])

    new_token()
    rejected: list[int] = []  # serial (1-based issue number) of each token that answered 401
    reads = 0
    while reads < 40:
        client = Client(base, auth=None)
        resp = client.send("GET", ITEMS_PATH, {"limit": 1, "offset": reads, "onlyData": "true", "fields": "ItemId"},
                           headers={"Authorization": f"Bearer {tokens[-1]}"})
        if resp.status_code == 401:
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            rejected.append(len(tokens))
            new_token()
            continue
        assert resp.status_code == 200
        reads += 1
    rate = ORACLE_FAULTS["flaky"]["token_expiry"]
    deaths = [t for t in injected(base) if t["kind"] == "token_expiry"]
    assert rejected, "no token died in 40 reads under flaky"
    assert len(deaths) == len(rejected)
    assert [d["attempt"] for d in deaths] == [token_life(SEED, serial, rate) for serial in rejected]
    assert all(d["detail"]["status"] == 401 for d in deaths)
    # Tokens the seed spares lived through all the uses they got.
    spared = [s for s in range(1, len(tokens) + 1) if token_life(SEED, s, rate) is None]
    assert not set(spared) & set(rejected)


def order_payload(source_id: str, sku: str) -> dict:
    return {
        "SourceTransactionNumber": f"PS-{source_id}", "SourceTransactionSystem": "PSHOP",
        "SourceTransactionId": source_id, "BusinessUnitId": 204, "BuyingPartyNumber": "1007",
        "TransactionalCurrencyCode": "EUR", "SubmittedFlag": True,
        "lines": [{"SourceTransactionLineId": "1", "SourceTransactionLineNumber": "1", "ProductNumber": sku,
                   "OrderedQuantity": 1}],
    }


def test_504_after_commit_and_the_lookup_before_retry(base: str) -> None:
    """§1.3 "504 Gateway Timeout … the order may still be processed, so GET it by its key before you retry", §1.3
    idempotent create pattern, §2.5/§7.7: a POST answers 504 although the order was committed; GET by SYS:ID finds
    exactly one; a retry after the lookup creates nothing. Which orders meet it follows the seed."""
    client = Client(base)
    sku = client.send("GET", ITEMS_PATH, {"q": "ItemStatusValue=Active", "limit": 1, "onlyData": "true"}
                      ).json()["items"][0]["ItemNumber"]
    ids = [f"T-{n:02d}" for n in range(1, 21)]
    timed_out, created = [], {}
    for source_id in ids:
        while True:
            try:
                resp = requests.post(f"{base}{ORDERS_PATH}", json=order_payload(source_id, sku), auth=(USER, SECRET),
                                     timeout=30)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                resp = None
            if resp is not None and resp.status_code == 201:
                created[source_id] = resp.json()["HeaderId"]
                break
            if resp is not None and resp.status_code == 504:
                timed_out.append(source_id)
            elif resp is not None:
                assert resp.status_code in ERRORS, resp.text
            # Outcome unknown: look the order up by its key before posting again.
            found = client.send("GET", f"{ORDERS_PATH}/PSHOP:{source_id}", {"onlyData": "true"})
            if found.status_code == 200:
                created[source_id] = found.json()["HeaderId"]
                break
            assert found.status_code == 404
    rate = ORACLE_FAULTS["flaky"]["timeout_after_commit"]
    predicted = [s for s in ids if stable_unit(SEED, f"PSHOP:{s}", "504") < rate]
    assert timed_out == predicted and predicted
    logged = [t for t in injected(base) if t["kind"] == "timeout_after_commit"]
    assert [t["path"] for t in logged] == [f"PSHOP:{s}" for s in predicted]
    for source_id in timed_out:
        listed = client.send("GET", ORDERS_PATH, {"q": f"SourceTransactionId={source_id}", "onlyData": "true"}).json()
        assert [o["HeaderId"] for o in listed["items"]] == [created[source_id]]
        # A blind re-post is refused as a duplicate and still creates nothing (§1.3 "Duplicate create").
        again = requests.post(f"{base}{ORDERS_PATH}", json=order_payload(source_id, sku), auth=(USER, SECRET),
                              headers={"REST-Framework-Version": "4", "Accept": "application/json"}, timeout=30)
        assert again.status_code == 400
        assert again.json()["o:errorDetails"][0]["o:errorCode"] == contract.CODE_DUPLICATE_ORDER
        assert client.send("GET", ORDERS_PATH, {"q": f"SourceTransactionId={source_id}", "onlyData": "true",
                                                "totalResults": "true"}).json()["totalResults"] == 1
    every = client.send("GET", ORDERS_PATH, {"q": "SourceTransactionId=T-*", "limit": 500, "onlyData": "true"}).json()
    assert sorted(o["SourceTransactionId"] for o in every["items"]) == ids


def _create_orders(base: str, ids: list[str]) -> dict[str, Any]:
    """Create ``ids`` the safe way (look up after any failure) on a fresh pod; what was met, and the pod's log."""
    client = Client(base)
    sku = client.send("GET", ITEMS_PATH, {"q": "ItemStatusValue=Active", "limit": 1, "onlyData": "true"}
                      ).json()["items"][0]["ItemNumber"]
    met: list[tuple[str, str]] = []
    for source_id in ids:
        while True:
            try:
                resp = requests.post(f"{base}{ORDERS_PATH}", json=order_payload(source_id, sku), auth=(USER, SECRET),
                                     timeout=30)
                met.append((source_id, str(resp.status_code)))
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                met.append((source_id, "cut"))
            if met[-1][1] == "201" or client.send("GET", f"{ORDERS_PATH}/PSHOP:{source_id}",
                                                  {"onlyData": "true"}).status_code == 200:
                break
    logged = injected(base)
    for t in logged:
        t["detail"].pop("retry_after", None)  # an HTTP-date is relative to the wall clock
    return {"met": met, "client": client.outcomes, "logged": logged}


def test_a_restart_with_the_same_seed_and_data_dir_replays_the_same_faults(tmp_path) -> None:
    """Same seed and data directory: the same 504s after commit and transport faults, in the same places, and a
    /sandbox/injected that lists this run only."""
    ids = [f"T-{n:02d}" for n in range(1, 21)]
    runs = []
    for _ in range(2):
        with run_sandbox("--only", "oracle", "--oracle-port", str(free_port()), "--orders", "100", "--seed",
                         str(SEED), "--end", "2026-03-01", "--oracle-clock-start", "2026-03-01T00:00:00", "--faults",
                         SPEC, "--oracle-client-secret", SECRET, "--workers", "1", "--data-dir",
                         str(tmp_path / "pod")) as url:
            runs.append(_create_orders(url, ids))
    first, again = runs
    timed_out = [s for s, outcome in first["met"] if outcome == "504"]
    assert timed_out, "no 504 after commit in the first run: the test proved nothing"
    assert any(outcome not in ("201", "504") for _s, outcome in first["met"]), "no transport fault on a create"
    assert again == first
