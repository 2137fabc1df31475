"""Preparing the emulated shop's store and serving it with uvicorn worker processes."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from prestaoracle.sandbox.prestashop import clock, store
from prestaoracle.sandbox.prestashop.app import ENV_DB_URL
from prestaoracle.sandbox.prestashop.configuration import configuration_rows, install_time
from prestaoracle.sandbox.prestashop.schema import RECORDED_KEY_RESOURCES, RESOURCES, key_permissions
from prestaoracle.sandbox.storage import spawn_uvicorn


@dataclass
class ShopSpec:
    """What to serve: the recorded demo shop, or a generated one, and the shop's clock and key."""

    dataset: str  # "demo" or "generated"
    orders: int
    seed: int
    start: datetime  # naive: a wall time of the shop
    end: datetime
    faults: str
    ws_key: str
    timezone: str = clock.DEFAULT_TIMEZONE
    clock_start: datetime | None = None  # where the shop clock starts (None: the machine's clock)
    clock_frozen: bool = False
    ws_resources: tuple[str, ...] | None = None  # granted to the key (None: the dataset's default)

    def granted(self) -> tuple[str, ...]:
        """The resources the key holds: the recorded key's for the demo shop, everything served otherwise."""
        if self.ws_resources is not None:
            return self.ws_resources
        return RECORDED_KEY_RESOURCES if self.dataset == "demo" else tuple(RESOURCES)


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
    shop = generate_shop(spec.orders, spec.seed, spec.start, spec.end, bad_rows=profile.bad_rows or None,
                         timezone=spec.timezone)
    return "PrestaShop sandbox", shop.rows, shop.injected


def prepare(db_url: str, spec: ShopSpec, data: tuple[str, dict[str, list[dict]], list[dict]] | None = None
            ) -> dict[str, int]:
    """Load the store from scratch; returns the record count per resource."""
    from prestaoracle.sandbox import faults

    shop_name, rows, injected = data or shop_rows(spec)
    engine = store.create_engine(db_url)
    store.reset(engine)
    faults.reset_faults(engine)  # a new start is a new run: attempt counts and the injected log start empty
    key_permissions(spec.granted())  # refuse an unknown resource before anything is loaded
    settings = {"ws_key": spec.ws_key, "shop_name": shop_name, "version": "8.1.2", "faults": spec.faults,
                "seed": str(spec.seed), "shop_timezone": spec.timezone, "ws_resources": ",".join(spec.granted()),
                **clock.settings(spec.clock_start, spec.clock_frozen)}
    configurations = configuration_rows(spec.timezone, shop_name, install_time(rows))
    counts = store.load(engine, {**rows, "configurations": configurations}, settings)
    faults.InjectedLog(engine).add_bad_rows(
        (item["entity"], item["id"], item["kind"], item.get("detail", "")) for item in injected)
    engine.dispose()
    return counts


def spawn(db_url: str, host: str, port: int, workers: int) -> subprocess.Popen:
    """Serve the prepared store in a child uvicorn process (its own workers), returned running."""
    return spawn_uvicorn("prestaoracle.sandbox.prestashop.app:create_app", ENV_DB_URL, db_url, host, port, workers,
                         date_header=False)
