"""Benchmark: how fast the PrestaShop sandbox loads a large shop and serves pages of full orders.

Starts ``python -m prestaoracle sandbox`` as a user would, then reads pages of 100 orders with ``display=full``
(JSON and XML) spread over the whole id range, one client at a time and from two clients at once, and prints
one JSON object with the figures and the machine they were measured on.

    .venv/bin/python bench/sandbox_paging.py --orders 100000 --pages 60
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import requests

KEY = "BENCHBENCHBENCHBENCHBENCHBENCH12"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def _page(session: requests.Session, base: str, offset: int, as_json: bool) -> float:
    params = {"display": "full", "sort": "[id_ASC]", "limit": f"{offset},100"}
    if as_json:
        params["output_format"] = "JSON"
    t0 = time.perf_counter()
    resp = session.get(f"{base}orders", params=params, timeout=30)
    resp.raise_for_status()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/"
    with tempfile.TemporaryDirectory() as data_dir:
        cmd = [sys.executable, "-m", "prestaoracle", "sandbox", "--only", "prestashop", "--prestashop-port",
               str(port), "--orders", str(args.orders), "--seed", "7", "--ws-key", KEY, "--data-dir", data_dir,
               "--workers", str(args.workers), "--end", "2026-11-01", "--days", "365"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    requests.get(base, timeout=1)
                    break
                except requests.ConnectionError:
                    if proc.poll() is not None:
                        raise SystemExit("the sandbox exited during start-up") from None
                    time.sleep(0.2)
            startup = time.perf_counter() - t0
            rng = random.Random(1)
            offsets = [rng.randrange(0, max(1, args.orders - 100)) for _ in range(args.pages)]
            with requests.Session() as session:
                session.auth = (KEY, "")
                _page(session, base, 0, True)  # warm-up
                json_single = [_page(session, base, o, True) for o in offsets]
                xml_single = [_page(session, base, o, False) for o in offsets]

            def client(chunk: list[int]) -> list[float]:
                with requests.Session() as s:
                    s.auth = (KEY, "")
                    return [_page(s, base, o, True) for o in chunk]

            t1 = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:
                parallel = [x for part in pool.map(client, [offsets[::2], offsets[1::2]]) for x in part]
            parallel_wall = time.perf_counter() - t1
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)
    print(json.dumps({
        "benchmark": "sandbox_paging",
        "command": " ".join(["bench/sandbox_paging.py", f"--orders {args.orders}", f"--pages {args.pages}",
                             f"--workers {args.workers}"]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "orders": args.orders,
        "startup_s": round(startup, 1),
        "page_of_100_full_json": _percentiles(json_single),
        "page_of_100_full_xml": _percentiles(xml_single),
        "two_clients_json": {**_percentiles(parallel), "pages_per_s": round(len(parallel) / parallel_wall, 1)},
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
