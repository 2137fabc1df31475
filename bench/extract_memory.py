"""Benchmark: peak memory of a first load of N orders (with their family) from the PrestaShop sandbox into staging.

For each size, starts ``python -m prestaoracle sandbox`` as a user would, then runs ``extract_prestashop`` in a
fresh child process (so its peak RSS is the extraction's alone) into a new SQLite staging file, and prints one JSON
object with the peak resident memory, the memory before extracting, the time, the requests and the records landed.
Extraction commits page by page, so the peak should not grow with the number of orders.

    .venv/bin/python bench/extract_memory.py --orders 10000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

KEY = "MEMORYMEMORYMEMORYMEMORYMEMORY12"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kB on Linux


def child(base: str, db: str, chunk: int) -> int:
    """Run one extraction and print its figures (the parent reads the last line)."""
    from prestaoracle.flows.extract import extract_prestashop
    from prestaoracle.prestashop import PrestaShopClient
    from prestaoracle.staging import connect

    staging = connect(f"sqlite:///{db}", upgrade=True)
    before = _peak_mb()
    t0 = time.perf_counter()
    result = extract_prestashop(PrestaShopClient(base, KEY), staging, "orders", chunk=chunk, run_id="bench")
    print(json.dumps({"peak_rss_mb": _peak_mb(), "rss_before_extract_mb": before,
                      "seconds": round(time.perf_counter() - t0, 1), "requests": result.requests,
                      "chunks": result.chunks, "records": sum(result.read.values()), "orders": result.read["orders"]}))
    return 0


def _index_payment_references(store: Path) -> None:
    """The sandbox compares text filters as ``upper(rtrim(col))`` (the shop's case-insensitive collation), which
    its plain index on ``order_reference`` cannot serve: at 100k orders each ``order_payments`` batch is a full scan
    taking longer than the client's timeout. MySQL's collation uses the index, so give the emulator the matching
    expression index; this measures the extraction, not the emulator's missing index."""
    with sqlite3.connect(store, timeout=60) as conn:
        conn.execute("CREATE INDEX IF NOT EXISTS bench_payment_reference_ci "
                     "ON ps_order_payments (upper(rtrim(order_reference)))")


def run(orders: int, chunk: int, workers: int) -> dict:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "prestaoracle", "sandbox", "--only", "prestashop", "--prestashop-port",
               str(port), "--orders", str(orders), "--seed", "7", "--ws-key", KEY, "--data-dir", tmp,
               "--workers", str(workers), "--end", "2026-11-01", "--days", "365"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    requests.get(f"{base}/api/", timeout=1)
                    break
                except requests.ConnectionError:
                    if proc.poll() is not None:
                        raise SystemExit("the sandbox exited during start-up") from None
                    time.sleep(0.5)
            _index_payment_references(Path(tmp) / "prestashop.sqlite")
            out = subprocess.run([sys.executable, __file__, "--child", base, str(Path(tmp) / "staging.db"),
                                  "--chunk", str(chunk)], capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"the extraction of {orders} orders failed:\n{out.stderr[-3000:]}")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    return {"orders_in_shop": orders, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--chunk", type=int, default=1000, help="orders per committed page (default 1000)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("BASE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1], args.chunk)
    results = [run(n, args.chunk, args.workers) for n in args.orders]
    print(json.dumps({
        "benchmark": "extract_memory",
        "command": "bench/extract_memory.py --orders " + " ".join(map(str, args.orders))
                   + f" --chunk {args.chunk} --workers {args.workers}",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "results": results,
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
