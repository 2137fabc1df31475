"""A pod on the real-time clock (``--oracle-real-time``) serves parallel requests while a day boundary passes: the
day's price drift is applied exactly once, whichever worker or thread gets there first, on SQLite and PostgreSQL.

Every request catches the pod's state up with the clock, so in real time several requests (uvicorn runs handlers
in a thread pool) reach the same due change together. Sections cited are of
``shared/reference/oracle-fusion-and-ebs.md``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests
from conftest import free_port
from support.pg import temp_database
from support.sandbox import run_sandbox

from prestaoracle.sandbox.oracle import contract
from prestaoracle.sandbox.oracle.orders import stable_unit

USER, SECRET = "prestaoracle-sandbox", "CONCURRENCY-SECRET-2"
FSCM = "/fscmRestApi/resources/11.13.18.05"
SEED = 3
CLOCK_START = datetime.fromisoformat("2026-03-01T00:00:00+00:00")


@contextlib.contextmanager
def _db_args(backend: str) -> Iterator[list[str]]:
    if backend == "sqlite":
        yield []
    else:
        with temp_database("prestaoracle_oracle_concurrency") as url:
            yield ["--oracle-db-url", url]


@pytest.fixture(scope="session", params=[
    pytest.param("sqlite", marks=pytest.mark.xdist_group("oracle_concurrency_sqlite")),
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.xdist_group("oracle_concurrency_pg")]),
])
def base(request: pytest.FixtureRequest) -> Iterator[str]:
    with _db_args(request.param) as db_args, run_sandbox(
            "--only", "oracle", "--oracle-port", str(free_port()), "--orders", "200", "--seed", str(SEED),
            "--end", "2026-03-01", "--oracle-clock-start", CLOCK_START.isoformat(), "--oracle-real-time",
            "--oracle-client-secret", SECRET, "--workers", "1", *db_args) as url:
        yield url


def charges(base: str) -> dict[int, dict]:
    out = {}
    with requests.Session() as s:
        s.auth = (USER, SECRET)
        for plist in s.get(f"{base}{FSCM}/priceLists", params={"onlyData": "true"}, timeout=30).json()["items"]:
            items = s.get(f"{base}{FSCM}/priceLists/{plist['PriceListId']}/child/items", timeout=30,
                          params={"onlyData": "true", "expand": "charges", "limit": 500}).json()
            assert not items["hasMore"]
            for item in items["items"]:
                out.update((c["PriceListChargeId"], c) for c in item["charges"])
    return out


def test_day_boundary_under_parallel_requests_moves_prices_once(base: str) -> None:
    """§1.5/§7.3 (prices change over time, LastUpdateDate moves) with §2.5's concurrent clients: 24 parallel requests
    just after the first day boundary all answer 200, and the charges the seed picks for that day moved once."""
    before = charges(base)
    assert all(c["LastUpdateDate"] < CLOCK_START.isoformat() for c in before.values())
    # Move the real-time clock to one second before the first day ends, then hit the pod from all sides after it.
    now = datetime.fromisoformat(requests.get(f"{base}/sandbox/clock", timeout=30).json()["now"])
    boundary = CLOCK_START + timedelta(days=1)
    minutes = (boundary - timedelta(seconds=1) - now) / timedelta(minutes=1)
    assert requests.post(f"{base}/sandbox/clock/advance", params={"minutes": minutes}, timeout=30).status_code == 200
    time.sleep(1.2)

    def hit(n: int) -> int:
        return requests.get(f"{base}{FSCM}/itemsV2", params={"limit": 1, "offset": n}, auth=(USER, SECRET),
                            timeout=60).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(hit, range(24)))
    assert statuses == [200] * 24

    # The day's drift as the seed defines it, applied once (round half up to the cent, like SQL's round).
    ids = sorted(before)
    expected = {cid: Decimal(str(c["BasePrice"])) for cid, c in before.items()}
    day = boundary.date()
    for k in range(contract.PRICE_CHANGES_PER_DAY):
        cid = ids[int(stable_unit(SEED, day, k, "price") * len(ids))]
        factor = 1 + (stable_unit(SEED, day, k, "pct") - 0.5) / 10
        expected[cid] = Decimal(repr(float(expected[cid]) * factor)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    after = charges(base)
    moved = {cid for cid in ids if after[cid]["BasePrice"] != before[cid]["BasePrice"]}
    assert moved and moved <= {cid for cid in ids if expected[cid] != Decimal(str(before[cid]["BasePrice"]))}
    for cid in ids:
        assert after[cid]["BasePrice"] == pytest.approx(float(expected[cid]), abs=0.011), cid
        stamped = after[cid]["LastUpdateDate"] == boundary.isoformat(timespec="milliseconds")
        assert stamped == (cid in moved or after[cid]["LastUpdateDate"] != before[cid]["LastUpdateDate"])
