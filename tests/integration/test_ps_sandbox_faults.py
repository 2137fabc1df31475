"""The sandbox's fault profiles do what they say, end to end over HTTP.

``flaky`` only disturbs the transport: a client that retries reads exactly what a clean shop serves.
``hostile`` also makes bad records, and ``/sandbox/injected`` names exactly the records that carry a defect.
An injected error answers in the format the request asked for, as the shop's error document.
"""

from __future__ import annotations

import email.utils
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests
from conftest import free_port
from support.sandbox import run_sandbox

KEY = "FAULTSFAULTSFAULTSFAULTSFAULTS12"
COMMON = ("--only", "prestashop", "--orders", "300", "--seed", "5", "--ws-key", KEY, "--end", "2026-10-01")
BAD_KINDS = {"negative_quantity", "missing_sku", "unknown_sku", "totals_mismatch", "duplicate_cart",
             "invalid_email", "empty_country", "unicode_names", "zero_dates"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ZERO = "0000-00-00 00:00:00"

pytestmark = pytest.mark.xdist_group("ps_sandbox_faults")


def get(session: requests.Session, url: str, seen: list[str], **params: str) -> object:
    """GET with the retries a sane client has: 429/5xx and cut connections, honouring Retry-After."""
    for _attempt in range(6):
        try:
            resp = session.get(url, params={**params, "output_format": "JSON"}, timeout=30)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            seen.append("cut")
            continue
        if resp.status_code in (429, 500, 503):
            seen.append(str(resp.status_code))
            # A real client waits Retry-After (capped); here a short pause does, whatever form the header takes.
            time.sleep(0.05 if resp.headers.get("Retry-After") else 0)
            continue
        resp.raise_for_status()
        return resp.json()
    raise AssertionError(f"{url} still failing after 6 attempts")


def read_all(base: str, resource: str, seen: list[str], page: int = 50) -> list[dict]:
    out: list[dict] = []
    with requests.Session() as s:
        s.auth = (KEY, "")
        offset = 0
        while True:
            body = get(s, f"{base}/api/{resource}", seen, display="full", sort="[id_ASC]", limit=f"{offset},{page}")
            items = body[next(iter(body))] if isinstance(body, dict) else []
            out.extend(items)
            if len(items) < page:
                return out
            offset += page


@pytest.fixture(scope="module")
def clean() -> Iterator[str]:
    with run_sandbox(*COMMON, "--prestashop-port", str(free_port())) as base:
        yield base


def test_flaky_transport_loses_and_changes_nothing(clean: str) -> None:
    seen: list[str] = []
    with run_sandbox(*COMMON, "--faults", "flaky", "--prestashop-port", str(free_port())) as flaky:
        # Small pages: many requests, so the profile's per-request rates show up.
        flaky_orders = read_all(flaky, "orders", seen, page=10)
        flaky_customers = read_all(flaky, "customers", seen, page=10)
        injected = requests.get(f"{flaky}/sandbox/injected", timeout=10).json()
    assert flaky_orders == read_all(clean, "orders", [])
    assert flaky_customers == read_all(clean, "customers", [])
    assert injected["bad_rows"] == []
    # The start-up probe (GET /api/) may draw a fault too; count only the faults the reads met.
    failures = [t for t in injected["transport"]
                if t["kind"] not in ("latency", "slow_page") and t["path"] != "/api/"]
    assert failures, "the flaky profile injected no transport failure over a whole read"
    assert len(seen) == len(failures), (seen, failures)


def _defective(kind: str, item: dict, shop: dict[str, object]) -> bool:
    """Whether the record named in /sandbox/injected really carries its defect in what the API serves."""
    if kind == "invalid_email":
        return not EMAIL.match(shop["customers"][item["id"]]["email"])
    if kind == "unicode_names":
        c = shop["customers"][item["id"]]
        return any(ord(ch) > 0x2FF for ch in c["firstname"] + c["lastname"])
    if kind == "empty_country":
        return shop["addresses"][item["id"]]["id_country"] == 0
    order = shop["orders"][item["id"]]
    rows = order.get("associations", {}).get("order_rows", [])
    if kind == "negative_quantity":
        return any(r["product_quantity"] < 0 for r in rows)
    if kind == "missing_sku":
        return any(r["product_reference"] == "" for r in rows)
    if kind == "unknown_sku":
        return any(r["product_reference"] and r["product_reference"] not in shop["skus"] for r in rows)
    if kind == "totals_mismatch":
        expected = (float(order["total_products_wt"]) + float(order["total_shipping_tax_incl"])
                    + float(order["total_wrapping_tax_incl"]) - float(order["total_discounts_tax_incl"]))
        return abs(expected - float(order["total_paid_tax_incl"])) > 0.01
    if kind == "duplicate_cart":
        return any(o["id_cart"] == order["id_cart"] and o["reference"] != order["reference"]
                   for o in shop["orders"].values() if o["id"] != order["id"])
    if kind == "zero_dates":
        return (order["invoice_number"] and order["invoice_date"] == ZERO) or (
            order["delivery_number"] and order["delivery_date"] == ZERO)
    raise AssertionError(f"unknown bad-row kind {kind}")


def _shop(base: str) -> dict[str, object]:
    seen: list[str] = []
    shop: dict[str, object] = {
        name: {r["id"]: r for r in read_all(base, name, seen)} for name in ("orders", "customers", "addresses")
    }
    products = read_all(base, "products", seen)
    combinations = read_all(base, "combinations", seen)
    shop["skus"] = {p["reference"] for p in products} | {c["reference"] for c in combinations}
    return shop


def test_hostile_bad_rows_are_listed_and_real(clean: str) -> None:
    with run_sandbox(*COMMON, "--faults", "hostile", "--prestashop-port", str(free_port())) as hostile:
        injected = requests.get(f"{hostile}/sandbox/injected", params={"category": "bad_row"}, timeout=10).json()
        bad = _shop(hostile)
    good = _shop(clean)
    assert {b["kind"] for b in injected["bad_rows"]} == BAD_KINDS
    for item in injected["bad_rows"]:
        assert _defective(item["kind"], item, bad), f"{item} is listed but the API shows no such defect"
        if item["kind"] != "duplicate_cart":  # the clean shop's split carts share a cart legitimately
            assert not _defective(item["kind"], item, good), f"{item}: the clean shop has the same defect"


def test_injected_errors_answer_in_the_format_asked_for() -> None:
    """XML by default; JSON through ``output_format``/``io_format`` or the ``Output-Format``/``Io-Format`` headers
    (the shop's precedence, value compared case-sensitively); always the shop's ``errors`` document."""
    asks: list[tuple[str, dict[str, str], dict[str, str]]] = [
        ("xml", {}, {}),
        ("json", {"output_format": "JSON"}, {}),
        ("json", {"io_format": "JSON"}, {}),
        ("json", {}, {"Output-Format": "JSON"}),
        ("json", {}, {"Io-Format": "JSON"}),
        ("xml", {}, {"Io-Format": "XML", "Output-Format": "JSON"}),  # Io-Format wins
        ("xml", {"output_format": "json"}, {}),  # not exactly "JSON"
    ]
    spec = "none:http_503=0.5,http_429=0.5,retry_after_seconds=1-60"
    retry_after: list[str | None] = []
    port = free_port()
    with run_sandbox(*COMMON, "--faults", spec, "--prestashop-port", str(port)) as base, requests.Session() as s:
        s.auth = (KEY, "")
        for n, (fmt, params, headers) in enumerate(asks * 4):
            # A new URL each time: its first attempt always meets the injected 429 or 503.
            resp = s.get(f"{base}/api/orders/{n + 1}", params=params, headers=headers, timeout=30)
            assert resp.status_code in (429, 503), resp.status_code
            assert resp.headers["X-Sandbox-Fault"] == {429: "http_429", 503: "http_503"}[resp.status_code]
            if fmt == "json":
                assert resp.headers["Content-Type"] == "application/json"
                errors = resp.json()["errors"]
                code, message = errors[0]["code"], errors[0]["message"]
            else:
                assert resp.headers["Content-Type"] == "text/xml;charset=utf-8"
                root = ET.fromstring(resp.content)
                assert root.tag == "prestashop" and root[0].tag == "errors"
                code, message = int(root.find("errors/error/code").text), root.find("errors/error/message").text
            assert code == resp.status_code and "injected by sandbox" in message
            retry_after.append(resp.headers.get("Retry-After"))
    # Real proxies and shops name their wait in seconds or as a date, or not at all.
    assert None in retry_after
    assert any(v and v.isdigit() for v in retry_after)
    assert any(v and email.utils.parsedate_to_datetime(v) for v in retry_after if v and not v.isdigit())


def _one_run(data_dir: str, port: int) -> dict[str, object]:
    """Start the hostile shop on ``data_dir``, make a fixed series of reads and writes, and say what happened."""
    spec = "hostile:slow_page_seconds=0.2,latency_ms=5-20"
    seen: list[tuple[str, int, str]] = []  # (request, attempt, what the client saw)
    with run_sandbox(*COMMON, "--faults", spec, "--data-dir", data_dir, "--prestashop-port", str(port)) as base, \
            requests.Session() as s:
        s.auth = (KEY, "")
        histories = get(s, f"{base}/api/order_histories", [], display="[id,id_order]", sort="[id_ASC]")
        requests_made = [("GET", f"/api/orders/{i}", None) for i in range(1, 41)]
        requests_made += [("POST", "/api/order_histories", (f"<prestashop><order_history><id_order>{i}</id_order>"
                                                            "<id_order_state>3</id_order_state></order_history>"
                                                            "</prestashop>")) for i in range(10, 20)]
        for method, path, body in requests_made:
            for attempt in range(1, 6):
                try:
                    resp = s.request(method, f"{base}{path}", data=body, params={"output_format": "JSON"}, timeout=30)
                    outcome = str(resp.status_code)
                except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                    outcome = "cut"
                seen.append((f"{method} {path}", attempt, outcome))
                if outcome in ("200", "201"):
                    break
        injected = requests.get(f"{base}/sandbox/injected", timeout=10).json()
    for t in injected["transport"]:
        t["detail"].pop("retry_after", None)  # an HTTP-date is relative to the wall clock
    return {"shop_at_start": histories, "seen": seen, "bad_rows": injected["bad_rows"],
            "transport": [t for t in injected["transport"] if t["path"] != "/api/"]}  # start-up probes vary


def test_a_restart_with_the_same_seed_and_data_dir_is_a_fresh_identical_run(tmp_path) -> None:
    """Same seed, same data directory: the same shop, the same faults in the same places, and an injected list that
    holds this run only (not the last run's faults, nor its bad rows twice)."""
    data_dir = str(tmp_path / "data")
    first = _one_run(data_dir, free_port())
    again = _one_run(data_dir, free_port())
    assert again["shop_at_start"] == first["shop_at_start"]  # the first run's writes are gone
    assert any(outcome not in ("200", "201") for _r, _a, outcome in first["seen"]), "no fault met: proves nothing"
    assert any(t["method"] == "POST" for t in first["transport"]), "no write met a fault: proves nothing"
    assert again["seen"] == first["seen"]
    assert again["transport"] == first["transport"]
    assert again["bad_rows"] == first["bad_rows"] and first["bad_rows"]
