"""Preparing the emulated Fusion pod's store from the shared generator and serving it with uvicorn workers."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from prestaoracle.sandbox.oracle import clock, store
from prestaoracle.sandbox.oracle.app import ENV_DB_URL
from prestaoracle.sandbox.oracle.seed import seed_fusion


@dataclass
class PodSpec:
    seed: int
    faults: str
    client_id: str
    client_secret: str
    token_ttl: int
    clock_start: datetime
    real_time: bool


def prepare(db_url: str, shop_rows: dict[str, list[dict]], spec: PodSpec) -> dict[str, int]:
    """Load the pod from scratch, seeded from the same shop the PrestaShop sandbox serves."""
    from prestaoracle.sandbox import faults

    engine = store.create_engine(db_url)
    store.reset(engine)
    faults.create_tables(engine)
    seeded = seed_fusion(shop_rows, spec.seed, spec.clock_start)
    counts = store.load(engine, seeded.rows)
    with engine.begin() as conn:
        store.put_settings(conn, {"seed": str(spec.seed), "faults": spec.faults, "client_id": spec.client_id,
                                  "client_secret": spec.client_secret, "token_ttl": str(spec.token_ttl)})
        clock.start(conn, spec.clock_start.astimezone(UTC), spec.real_time)
        # Price drift counts full days from the clock's start, so the very first advance already moves prices.
        store.put_settings(conn, {"prices_changed_through": clock.iso(spec.clock_start.astimezone(UTC))})
    engine.dispose()
    return counts


def spawn(db_url: str, host: str, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, **{ENV_DB_URL: db_url})
    cmd = [
        sys.executable, "-m", "uvicorn", "prestaoracle.sandbox.oracle.app:create_app", "--factory",
        "--host", host, "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        "--no-access-log", "--no-server-header", "--timeout-graceful-shutdown", "2",
    ]
    return subprocess.Popen(cmd, env=env)
