"""Preparing the emulated shop's store and serving it with uvicorn worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from prestaoracle.sandbox.prestashop import store
from prestaoracle.sandbox.prestashop.app import ENV_DB_URL


@dataclass
class ShopSpec:
    """What to serve: the recorded demo shop, or a generated one."""

    dataset: str  # "demo" or "generated"
    orders: int
    seed: int
    start: datetime
    end: datetime
    faults: str
    ws_key: str


def demo_rows() -> tuple[str, dict[str, list[dict]]]:
    data = json.loads(resources.files("prestaoracle.sandbox.prestashop").joinpath("demo_shop.json").read_text())
    return data["shop_name"], data["rows"]


def prepare(db_url: str, spec: ShopSpec) -> dict[str, int]:
    """Load the store from scratch; returns the record count per resource."""
    from prestaoracle.sandbox import faults

    profile = faults.parse_faults(spec.faults)
    engine = store.create_engine(db_url)
    store.reset(engine)
    faults.create_tables(engine)
    if spec.dataset == "demo":
        shop_name, rows = demo_rows()
        injected: list[dict] = []
    else:
        from prestaoracle.sandbox.prestashop.generate import generate_shop

        shop = generate_shop(spec.orders, spec.seed, spec.start, spec.end, bad_rows=profile.bad_rows or None)
        shop_name, rows, injected = "PrestaShop sandbox", shop.rows, shop.injected
    settings = {"ws_key": spec.ws_key, "shop_name": shop_name, "version": "8.1.2", "faults": spec.faults,
                "seed": str(spec.seed)}
    counts = store.load(engine, rows, settings)
    log = faults.InjectedLog(engine)
    for item in injected:
        log.add_bad_row(item["entity"], item["id"], item["kind"], item.get("detail", ""))
    engine.dispose()
    return counts


def spawn(db_url: str, host: str, port: int, workers: int) -> subprocess.Popen:
    """Serve the prepared store in a child uvicorn process (its own workers), returned running."""
    env = dict(os.environ, **{ENV_DB_URL: db_url})
    cmd = [
        sys.executable, "-m", "uvicorn", "prestaoracle.sandbox.prestashop.app:create_app", "--factory",
        "--host", host, "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        "--no-access-log", "--no-server-header", "--timeout-graceful-shutdown", "2",
    ]
    return subprocess.Popen(cmd, env=env)


def sqlite_url(data_dir: Path, name: str) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / name).resolve()}"
