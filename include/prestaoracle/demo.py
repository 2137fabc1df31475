"""``make demo``: start the sandbox on embedded defaults, read it over the webservice, print what it holds.

The demo reads the shop the way any webservice client would (HTTP, JSON, pages of 100), so what it prints is
what the integration will see. It grows with the product: each flow adds its step here.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

ORDERS = 500
SEED = 7
PAGE = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_sandbox(data_dir: Path, port: int, key: str) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "prestaoracle", "sandbox", "--only", "prestashop", "--prestashop-port", str(port),
        "--orders", str(ORDERS), "--seed", str(SEED), "--ws-key", key, "--data-dir", str(data_dir),
        "--end", "2026-11-01", "--days", "60",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(proc: subprocess.Popen, url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the sandbox stopped at start-up:\n{proc.stdout.read() if proc.stdout else ''}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.3)
    raise RuntimeError(f"the sandbox did not answer on {url} within {timeout:.0f}s")


def read_all(session: requests.Session, base: str, resource: str) -> list[dict]:
    """Every record of a resource, in pages, sorted by id so pages neither skip nor repeat."""
    out: list[dict] = []
    offset = 0
    while True:
        resp = session.get(f"{base}{resource}", params={"display": "full", "sort": "[id_ASC]",
                                                        "limit": f"{offset},{PAGE}", "output_format": "JSON"})
        resp.raise_for_status()
        body = resp.json()
        items = body[next(iter(body))] if isinstance(body, dict) and body else []
        out.extend(items)
        if len(items) < PAGE:
            return out
        offset += PAGE


def summarize(base: str, key: str) -> str:
    with requests.Session() as session:
        session.auth = (key, "")
        orders = read_all(session, base, "orders")
        customers = read_all(session, base, "customers")
        products = read_all(session, base, "products")
        stock = read_all(session, base, "stock_availables")
        states = {s["id"]: s["name"] for s in read_all(session, base, "order_states")}
        currencies = {c["id"]: c["iso_code"] for c in read_all(session, base, "currencies")}
    lines = sum(len(o.get("associations", {}).get("order_rows", [])) for o in orders)
    revenue: Counter[str] = Counter()
    for o in orders:
        revenue[currencies.get(o["id_currency"], "?")] += float(o["total_paid_tax_incl"])
    by_state = Counter(states.get(o["current_state"], str(o["current_state"])) for o in orders)
    guests = sum(1 for c in customers if c["is_guest"] == "1")
    out = [
        f"orders      {len(orders)} ({lines} lines), {orders[0]['date_add'][:10]} .. {orders[-1]['date_add'][:10]}"
        if orders else "orders      0",
        "revenue     " + ", ".join(f"{cur} {amount:,.2f}" for cur, amount in revenue.most_common()),
        "states      " + ", ".join(f"{name} {n}" for name, n in by_state.most_common()),
        f"customers   {len(customers)} ({guests} guests)",
        f"products    {len(products)} ({sum(1 for s in stock if s['id_product_attribute'])} combinations), "
        f"{sum(int(s['quantity']) for s in stock if not s['id_product_attribute'])} units in stock",
    ]
    return "\n".join(out)


def main() -> int:
    data_dir = Path(os.environ.get("PRESTAORACLE_DEMO_DIR", "var/demo"))
    key = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(32))
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/"
    print(f"Starting the PrestaShop sandbox ({ORDERS} generated orders, seed {SEED}) on {base} ...", flush=True)
    proc = _start_sandbox(data_dir, port, key)
    try:
        _wait_for(proc, base)
        t0 = time.perf_counter()
        summary = summarize(base, key)
        print(f"\nWhat the shop holds (read over the webservice in {time.perf_counter() - t0:.1f}s):\n{summary}")
        print(f"\nSandbox data: {data_dir.resolve()}")
        return 0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
