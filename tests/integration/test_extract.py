"""Extraction into staging from the sandboxes over real HTTP, on SQLite and PostgreSQL.

The issue's bar: 10,000 orders with their lines, customers and addresses land on both backends; a second run with
nothing new makes only a handful of requests; a run under the ``flaky`` profile lands exactly what a clean run does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import free_port
from support.pg import temp_database
from support.sandbox import run_sandbox

from prestaoracle.flows.extract import extract_prestashop
from prestaoracle.prestashop import PrestaShopClient
from prestaoracle.staging import connect

KEY = "EXTRACTEXTRACTEXTRACTEXTRACTEX12"
SHOP = ("--only", "prestashop", "--seed", "21", "--ws-key", KEY, "--end", "2026-10-01", "--days", "120")
pytestmark = pytest.mark.xdist_group("extract")


@pytest.fixture(scope="module")
def big_shop() -> Iterator[str]:
    with run_sandbox(*SHOP, "--orders", "10000", "--prestashop-port", str(free_port()), startup_timeout=180) as base:
        yield base


@pytest.fixture(params=["sqlite", "postgres"])
def staging_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'staging.db'}"
    else:
        with temp_database("extract") as url:
            yield url


def _count(base: str, resource: str) -> int:
    """How many records the shop holds, read independently of the client under test (ids only, one call)."""
    body = requests.get(f"{base}/api/{resource}", params={"output_format": "JSON"}, auth=(KEY, ""), timeout=60).json()
    return len(body[resource]) if isinstance(body, dict) else 0


@pytest.mark.timeout(900)  # ~1 min alone; the shared 2-core CI machine runs other sandboxes at the same time
def test_ten_thousand_orders_land_and_a_rerun_is_cheap(big_shop: str, staging_url: str) -> None:
    staging = connect(staging_url, upgrade=True)
    client = PrestaShopClient(big_shop, KEY)
    first = extract_prestashop(client, staging, "orders", run_id="r1")
    assert first.read["orders"] == first.new["orders"] == _count(big_shop, "orders") == 10_000
    assert first.read["order_details"] == _count(big_shop, "order_details")
    assert first.read["customers"] > 1000 and first.read["addresses"] >= first.read["customers"]
    assert len(staging.landed("prestashop", "order_details")) == first.read["order_details"]
    assert first.watermark is not None

    second = extract_prestashop(client, staging, "orders", run_id="r2")
    assert second.requests <= 10, second.summary()
    assert sum(second.new.values()) == sum(second.changed.values()) == 0
    assert staging.step_metrics("r2")[0]["requests"] == second.requests


def test_a_flaky_shop_lands_what_a_clean_shop_does(tmp_path: Path) -> None:
    landed: dict[str, dict[str, list]] = {}
    for profile in ("none", "flaky:slow_page_seconds=0.3"):
        with run_sandbox(*SHOP, "--orders", "400", "--faults", profile, "--prestashop-port", str(free_port())) as base:
            staging = connect(f"sqlite:///{tmp_path / profile.split(':')[0]}.db", upgrade=True)
            extract_prestashop(PrestaShopClient(base, KEY), staging, "orders", run_id=profile)
            landed[profile] = {e: staging.landed("prestashop", e) for e in ("orders", "order_details", "customers")}
            if profile != "none":
                faults = requests.get(f"{base}/sandbox/injected", params={"category": "transport"}, timeout=10).json()
                assert any(f["kind"] not in ("latency", "slow_page") for f in faults["transport"])
    assert landed["flaky:slow_page_seconds=0.3"] == landed["none"]
    assert len(landed["none"]["orders"]) == 400


def test_cli_extract_uses_the_airflow_connections(tmp_path: Path) -> None:
    with run_sandbox(*SHOP, "--orders", "50", "--prestashop-port", str(free_port())) as base:
        env = dict(os.environ)
        env["AIRFLOW_CONN_PRESTASHOP_DEFAULT"] = json.dumps({"conn_type": "prestashop", "host": base, "password": KEY})
        env["AIRFLOW_CONN_STAGING_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "s.db")})
        cmd = [sys.executable, "-m", "prestaoracle", "extract", "--source", "prestashop", "--entity", "orders"]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "orders: read 50, new 50" in out.stdout
    assert KEY not in out.stdout + out.stderr
    env.pop("AIRFLOW_CONN_STAGING_DEFAULT")
    missing = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "AIRFLOW_CONN_STAGING_DEFAULT" in missing.stderr
