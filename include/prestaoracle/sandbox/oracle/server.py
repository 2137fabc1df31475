"""Preparing the emulated Fusion pod's store from the shared generator and serving it with uvicorn workers."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime

from prestaoracle.sandbox.oracle import clock, differences, ebs_link, store
from prestaoracle.sandbox.oracle.app import ENV_DB_URL
from prestaoracle.sandbox.oracle.ebs_link import EbsStandIn
from prestaoracle.sandbox.oracle.seed import seed_fusion
from prestaoracle.sandbox.storage import spawn_uvicorn


@dataclass
class PodSpec:
    seed: int
    faults: str
    client_id: str
    client_secret: str
    token_ttl: int
    clock_start: datetime
    real_time: bool


def prepare(db_url: str, shop_rows: dict[str, list[dict]], spec: PodSpec,
            ebs: EbsStandIn | None = None) -> dict[str, int]:
    """Load the pod from scratch, seeded from the same shop the PrestaShop sandbox serves.

    What the seed planted is stored with it (``GET /sandbox/differences``); ``ebs`` is the prepared EBS stand-in
    the pod runs with (``ebs_link.prepare_ebs``), if any.
    """
    from prestaoracle.sandbox import faults

    engine = store.create_engine(db_url)
    store.reset(engine)
    faults.reset_faults(engine)  # a new start is a new run: attempt counts and the injected log start empty
    seeded = seed_fusion(shop_rows, spec.seed, spec.clock_start)
    counts = store.load(engine, seeded.rows)
    with engine.begin() as conn:
        store.put_settings(conn, {"seed": str(spec.seed), "faults": spec.faults, "client_id": spec.client_id,
                                  "client_secret": spec.client_secret, "token_ttl": str(spec.token_ttl)})
        clock.start(conn, spec.clock_start.astimezone(UTC), spec.real_time)
        # Price drift counts full days from the clock's start, so the very first advance already moves prices.
        store.put_settings(conn, {"prices_changed_through": clock.iso(spec.clock_start.astimezone(UTC))})
        document = differences.fusion_document(seeded, spec.seed, clock.iso(spec.clock_start.astimezone(UTC)))
        store.put_settings(conn, {differences.FUSION_SETTING: json.dumps(document)})
        if ebs is not None:
            ebs_link.store_settings(conn, ebs, spec.clock_start.astimezone(UTC))
    engine.dispose()
    return counts


def spawn(db_url: str, host: str, port: int, workers: int) -> subprocess.Popen:
    """Serve the prepared store in a child uvicorn process (its own workers), returned running."""
    return spawn_uvicorn("prestaoracle.sandbox.oracle.app:create_app", ENV_DB_URL, db_url, host, port, workers)
