"""Preparing the emulated shop's store and serving it with uvicorn worker processes."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from prestaoracle.sandbox.prestashop import store
from prestaoracle.sandbox.prestashop.app import ENV_DB_URL
from prestaoracle.sandbox.storage import spawn_uvicorn


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


def shop_rows(spec: ShopSpec) -> tuple[str, dict[str, list[dict]], list[dict]]:
    """(shop name, rows per resource, bad rows injected): the data both emulators are seeded from."""
    from prestaoracle.sandbox import faults

    if spec.dataset == "demo":
        name, rows = demo_rows()
        return name, rows, []
    from prestaoracle.sandbox.prestashop.generate import generate_shop

    profile = faults.parse_faults(spec.faults)
    shop = generate_shop(spec.orders, spec.seed, spec.start, spec.end, bad_rows=profile.bad_rows or None)
    return "PrestaShop sandbox", shop.rows, shop.injected


def prepare(db_url: str, spec: ShopSpec, data: tuple[str, dict[str, list[dict]], list[dict]] | None = None
            ) -> dict[str, int]:
    """Load the store from scratch; returns the record count per resource."""
    from prestaoracle.sandbox import faults

    shop_name, rows, injected = data or shop_rows(spec)
    engine = store.create_engine(db_url)
    store.reset(engine)
    faults.reset_faults(engine)  # a new start is a new run: attempt counts and the injected log start empty
    settings = {"ws_key": spec.ws_key, "shop_name": shop_name, "version": "8.1.2", "faults": spec.faults,
                "seed": str(spec.seed)}
    counts = store.load(engine, rows, settings)
    faults.InjectedLog(engine).add_bad_rows(
        (item["entity"], item["id"], item["kind"], item.get("detail", "")) for item in injected)
    engine.dispose()
    return counts


def spawn(db_url: str, host: str, port: int, workers: int) -> subprocess.Popen:
    """Serve the prepared store in a child uvicorn process (its own workers), returned running."""
    return spawn_uvicorn("prestaoracle.sandbox.prestashop.app:create_app", ENV_DB_URL, db_url, host, port, workers)
