"""Where a PrestaShop extraction window ends and where the watermark goes, against the sandbox over HTTP.

The shop keeps its dates as wall times of its own zone (Europe/Paris by default, America/New_York below) and says
the time in its ``Date`` headers; the tests run the extraction as a worker on UTC would, and check that the window
follows the shop's clock, that the watermark never passes the window's end even when orders change during the
read, and that the daylight-saving changes neither cut records out of a window nor make an update look stale.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import free_port
from support.sandbox import run_sandbox
from support.shop import change_order, order_ids, raw, set_clock, shop_now

from prestaoracle.flows.extract import extract_prestashop
from prestaoracle.prestashop import PrestaShopClient
from prestaoracle.staging import connect

KEY = "WINDOWWINDOWWINDOWWINDOWWINDOW12"
PARIS = ZoneInfo("Europe/Paris")
pytestmark = pytest.mark.xdist_group("extract_window")


def _shop(*extra: str, orders: int = 120, end: str = "2026-11-20", days: int = 30) -> Any:
    return run_sandbox("--only", "prestashop", "--seed", "5", "--ws-key", KEY, "--orders", str(orders), "--end", end,
                       "--days", str(days), "--prestashop-port", str(free_port()), *extra)


def _staging(tmp_path: Path, name: str = "staging") -> Any:
    return connect(f"sqlite:///{tmp_path / name}.db", upgrade=True)


def _instant(text: str | None) -> datetime:
    assert text is not None
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, f"watermark {text!r} is not an instant"
    return value


def _landed(staging: Any, entity: str = "orders") -> dict[int, dict]:
    return {int(r["id"]): r for r in staging.landed("prestashop", entity)}


# ------------------------------------------------------------------------------ the watermark and changes mid-read


@pytest.fixture(scope="module")
def paris_shop() -> Iterator[str]:
    with _shop() as base:
        yield base


def test_orders_changed_during_the_read_never_push_the_watermark_past_until(paris_shop: str, tmp_path: Path) -> None:
    """The window's ids are listed, then fetched; an order changed in between comes back with a date after
    ``until``. The watermark must stay at ``until``, or every order changed between ``until`` and that date is
    skipped for good by the next run."""
    staging = _staging(tmp_path)
    client = PrestaShopClient(paris_shop, KEY, shop_timezone=PARIS)
    until = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)  # mid-period: many orders changed after it
    touched: list[int] = []

    def change_after_listing(response: Any, *args: Any, **kwargs: Any) -> Any:
        url = response.request.url or ""
        if not touched and "filter%5Bdate_upd%5D" in url and "display=%5Bid%5D" in url:
            first = int(response.json()["orders"][0]["id"])
            touched.append(first)
            change_order(paris_shop, KEY, first)  # the shop stamps it with its "now", after until
        return response

    client.session.hooks["response"].append(change_after_listing)
    first = extract_prestashop(client, staging, "orders", until=until, run_id="r1")
    client.session.hooks["response"].remove(change_after_listing)
    assert touched, "the id listing call was not seen"
    assert _instant(first.watermark) == until
    assert touched[0] in _landed(staging)

    second = extract_prestashop(client, staging, "orders", run_id="r2")
    assert set(_landed(staging)) == order_ids(paris_shop, KEY)
    assert second.read["orders"] > 0
    assert _instant(second.watermark) <= shop_now(paris_shop)


def test_cli_on_a_utc_worker_reads_orders_a_paris_shop_changed_a_minute_ago(tmp_path: Path) -> None:
    """The reported run: shop in Europe/Paris, worker on UTC, five orders changed a minute before ``extract``."""
    with _shop(orders=60) as base:
        env = {**os.environ, "TZ": "UTC",
               "AIRFLOW_CONN_PRESTASHOP_DEFAULT": json.dumps({"conn_type": "prestashop", "host": base,
                                                              "password": KEY}),
               "AIRFLOW_CONN_STAGING_DEFAULT": json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "cli.db")})}
        cmd = [sys.executable, "-m", "prestaoracle", "extract", "--source", "prestashop", "--entity", "orders"]
        first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert first.returncode == 0, first.stderr
        changed = sorted(order_ids(base, KEY))[10:15]
        for order_id in changed:
            change_order(base, KEY, order_id)
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        assert "orders: read 5, new 0, changed 5" in second.stdout, second.stdout
        fresh = {int(o["id"]): o["current_state"] for o in raw(base, KEY, "orders", {"display": "[id,current_state]"})}
    landed = _landed(connect(f"sqlite:///{tmp_path / 'cli.db'}"))
    assert all(str(landed[i]["current_state"]) == str(fresh[i]) for i in changed)


# ------------------------------------------------------------------------------ a shop west of UTC, frozen clock


def test_the_window_ends_at_the_shops_clock_west_of_utc(tmp_path: Path) -> None:
    """New York is behind UTC: a window ending at the worker's UTC time would end in the shop's future, and a
    window asked to end later than the shop's clock is brought back to it."""
    with _shop("--shop-timezone", "America/New_York", "--shop-clock", "2026-11-25T15:00:00Z", "--shop-clock-frozen",
               orders=40) as base:
        staging = _staging(tmp_path)
        client = PrestaShopClient(base, KEY)
        now = shop_now(base)
        first = extract_prestashop(client, staging, "orders", run_id="r1")
        assert _instant(first.watermark) == now
        assert first.read["orders"] == 40
        again = extract_prestashop(client, staging, "orders", run_id="r1b")  # same second on the shop's clock
        assert again.windows == [] and again.read["orders"] == 0
        assert staging.step_metrics("r1b")[0]["requests"] == again.requests == 1  # the shop's clock, nothing else
        later = set_clock(base, "2026-11-25T15:10:00Z")
        second = extract_prestashop(client, staging, "orders", until=later + timedelta(hours=5), run_id="r2")
        assert _instant(second.watermark) == later


def test_a_key_that_cannot_read_the_time_zone_gets_told_how_to_set_it(tmp_path: Path) -> None:
    granted = "orders,order_details,order_carriers,order_histories,order_payments,customers,addresses,order_states"
    with _shop("--ws-resources", granted, orders=10) as base:
        conn: dict[str, Any] = {"conn_type": "prestashop", "host": base, "password": KEY}
        env = {**os.environ, "TZ": "UTC",
               "AIRFLOW_CONN_STAGING_DEFAULT": json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "s.db")})}
        cmd = [sys.executable, "-m", "prestaoracle", "extract", "--source", "prestashop", "--entity", "orders"]
        env["AIRFLOW_CONN_PRESTASHOP_DEFAULT"] = json.dumps(conn)
        refused = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert '{"shop_timezone": "Europe/Paris"}' in refused.stderr
        assert "Shop time zone" in refused.stderr and "configurations" in refused.stderr
        assert KEY not in refused.stderr
        env["AIRFLOW_CONN_PRESTASHOP_DEFAULT"] = json.dumps({**conn, "extra": {"shop_timezone": "Europe/Paris"}})
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "orders: read 10, new 10" in done.stdout


# ------------------------------------------------------------------------------ daylight saving, frozen Paris clock


@pytest.fixture(scope="module")
def dst_shop() -> Iterator[str]:
    with _shop("--shop-clock", "2026-10-24T12:00:00Z", "--shop-clock-frozen", orders=60, end="2026-03-20",
               days=20) as base:
        yield base


def _at(base: str, instant: str, order_id: int) -> str:
    """Change ``order_id`` at ``instant`` (UTC) and return the shop-local date_upd the shop wrote."""
    set_clock(base, instant)
    change_order(base, KEY, order_id)
    return raw(base, KEY, "orders", {"filter[id]": f"[{order_id}]", "display": "[id,date_upd]"})[0]["date_upd"]


def test_fall_back_window_keeps_both_passes_of_the_repeated_hour(dst_shop: str, tmp_path: Path) -> None:
    """On 2026-10-25 Paris goes from 03:00 CEST back to 02:00 CET. A window 00:40Z–01:45Z is 02:40 CEST to 02:45
    CET in shop time: as a plain local range it would be five minutes wide and drop what changed in between."""
    a, b = sorted(order_ids(dst_shop, KEY))[:2]
    assert _at(dst_shop, "2026-10-25T00:50:00Z", a) == "2026-10-25 02:50:00"  # first pass (CEST)
    assert _at(dst_shop, "2026-10-25T01:10:00Z", b) == "2026-10-25 02:10:00"  # second pass (CET)
    set_clock(dst_shop, "2026-10-25T02:00:00Z")
    result = extract_prestashop(PrestaShopClient(dst_shop, KEY, shop_timezone=PARIS), _staging(tmp_path), "orders",
                                since=datetime(2026, 10, 25, 0, 40, tzinfo=UTC),
                                until=datetime(2026, 10, 25, 1, 45, tzinfo=UTC), run_id="fall")
    assert {a, b} <= set(_landed(_staging(tmp_path)))
    assert result.read["orders"] >= 2


def test_an_update_in_the_repeated_hour_is_not_dropped_as_stale(dst_shop: str, tmp_path: Path) -> None:
    """The first version says 02:50 (CEST), the update after it 02:20 (CET): earlier as a wall time, later in fact."""
    order = sorted(order_ids(dst_shop, KEY))[5]
    staging = _staging(tmp_path)
    client = PrestaShopClient(dst_shop, KEY, shop_timezone=PARIS)
    since = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    assert _at(dst_shop, "2026-10-25T00:50:00Z", order) == "2026-10-25 02:50:00"
    set_clock(dst_shop, "2026-10-25T00:55:00Z")
    extract_prestashop(client, staging, "orders", since=since, until=datetime(2026, 10, 25, 0, 55, tzinfo=UTC),
                       run_id="before")
    assert _landed(staging)[order]["date_upd"] == "2026-10-25 02:50:00"
    state = change_order_at(dst_shop, "2026-10-25T01:20:00Z", order)
    set_clock(dst_shop, "2026-10-25T01:30:00Z")
    after = extract_prestashop(client, staging, "orders", since=since, until=datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
                               run_id="after")
    landed = _landed(staging)[order]
    assert landed["date_upd"] == "2026-10-25 02:20:00"
    assert str(landed["current_state"]) == str(state)
    assert after.changed["orders"] >= 1


def change_order_at(base: str, instant: str, order_id: int) -> int:
    set_clock(base, instant)
    return change_order(base, KEY, order_id)


def test_spring_forward_window_spans_the_gap(dst_shop: str, tmp_path: Path) -> None:
    """On 2026-03-29 Paris jumps from 02:00 CET to 03:00 CEST: 00:55Z–01:05Z is 01:55 to 03:05 in shop time."""
    c, d = sorted(order_ids(dst_shop, KEY))[2:4]
    assert _at(dst_shop, "2026-03-29T00:58:00Z", c) == "2026-03-29 01:58:00"
    assert _at(dst_shop, "2026-03-29T01:02:00Z", d) == "2026-03-29 03:02:00"
    staging = _staging(tmp_path)
    client = PrestaShopClient(dst_shop, KEY, shop_timezone=PARIS)
    set_clock(dst_shop, "2026-03-29T01:10:00Z")
    extract_prestashop(client, staging, "orders", since=datetime(2026, 3, 29, 0, 55, tzinfo=UTC),
                       until=datetime(2026, 3, 29, 1, 5, tzinfo=UTC), run_id="spring")
    assert {c, d} <= set(_landed(staging))
    # an update after the gap replaces the version from before it
    state = change_order_at(dst_shop, "2026-03-29T01:03:00Z", c)
    extract_prestashop(client, staging, "orders", since=datetime(2026, 3, 29, 0, 55, tzinfo=UTC),
                       until=datetime(2026, 3, 29, 1, 5, tzinfo=UTC), run_id="spring2")
    assert _landed(staging)[c]["date_upd"] == "2026-03-29 03:03:00"
    assert str(_landed(staging)[c]["current_state"]) == str(state)


# ------------------------------------------------------------------------------ the overlap is a setting


def test_the_overlap_is_a_setting(dst_shop: str, tmp_path: Path) -> None:
    set_clock(dst_shop, "2026-04-10T08:00:00Z")
    staging = _staging(tmp_path)
    client = PrestaShopClient(dst_shop, KEY)
    mark = _instant(extract_prestashop(client, staging, "orders", run_id="o1").watermark)
    set_clock(dst_shop, "2026-04-10T08:30:00Z")
    default = extract_prestashop(client, staging, "orders", run_id="o2")
    assert default.windows == [(str(mark - timedelta(minutes=5)), "2026-04-10 08:30:00+00:00")]
    set_clock(dst_shop, "2026-04-10T09:00:00Z")
    wide = extract_prestashop(client, staging, "orders", overlap=timedelta(hours=2), run_id="o3")
    assert wide.windows == [("2026-04-10 06:30:00+00:00", "2026-04-10 09:00:00+00:00")]

    env = {**os.environ, "TZ": "UTC",
           "AIRFLOW_CONN_PRESTASHOP_DEFAULT": json.dumps({"conn_type": "prestashop", "host": dst_shop,
                                                          "password": KEY, "extra": {"overlap_minutes": 45}}),
           "AIRFLOW_CONN_STAGING_DEFAULT": json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "staging.db")})}
    set_clock(dst_shop, "2026-04-10T09:10:00Z")
    cmd = [sys.executable, "-m", "prestaoracle", "extract", "--source", "prestashop", "--entity", "orders"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "window [2026-04-10 08:15:00+00:00, 2026-04-10 09:10:00+00:00]" in out.stdout
