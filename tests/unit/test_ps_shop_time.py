"""Shop time: a generated shop's dates are wall times of its zone, daylight saving time included.

PrestaShop writes dates as the shop's wall time without offset (reference §4.4), so a shop in Europe/Paris has no
date in the spring-forward gap and writes the fall-back hour twice. The generator draws real instants and writes
them that way; ``clock.instant`` turns a wall time back into an instant, refusing the ones that do not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from prestaoracle.sandbox.prestashop.clock import DEFAULT_TIMEZONE, instant, parse_instant, wall
from prestaoracle.sandbox.prestashop.generate import generate_shop
from prestaoracle.sandbox.prestashop.schema import RESOURCES

PARIS = ZoneInfo("Europe/Paris")
# 2026: clocks go forward at 2026-03-29 02:00 (to 03:00) and back at 2026-10-25 03:00 (to 02:00) in Paris.
SPRING_GAP_UTC = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
FALL_BACK_UTC = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST; the hour after it is 02:00-03:00 again


def _stamps(shop_rows: dict[str, list[dict]]) -> list[str]:
    return [row[f] for records in shop_rows.values() for row in records for f in ("date_add", "date_upd")
            if isinstance(row.get(f), str) and not row[f].startswith("0000")]


def test_default_shop_zone_is_not_utc() -> None:
    assert DEFAULT_TIMEZONE == "Europe/Paris"


def test_dates_are_the_wall_times_of_the_same_instants() -> None:
    """Same seed and instants in two zones: every date of the Paris shop is the UTC shop's date seen from Paris,
    and everything else is identical."""
    start, end = datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 30, tzinfo=UTC)
    utc = generate_shop(150, 4, start, end, timezone="UTC").rows
    paris = generate_shop(150, 4, start, end, timezone="Europe/Paris").rows
    assert utc.keys() == paris.keys()
    compared = 0
    for name, records in utc.items():
        kinds = {f.name: f.kind for f in RESOURCES[name].fields}
        for u_row, p_row in zip(records, paris[name], strict=True):
            for f, value in u_row.items():
                where = (name, u_row["id"], f)
                if kinds.get(f) == "dt" and not value.startswith("0000"):
                    assert p_row[f] == wall(datetime.fromisoformat(value).replace(tzinfo=UTC), PARIS), where
                    compared += 1
                elif kinds.get(f) == "da" and not value.startswith("0000"):
                    # a date of a moment: the same day, or the next one when Paris is past midnight already
                    shift = datetime.fromisoformat(p_row[f]) - datetime.fromisoformat(value)
                    assert shift in (timedelta(0), timedelta(days=1)), where
                elif f != "card_expiration":  # month of an instant, like the dates
                    assert p_row[f] == value, where
    assert compared > 1000


def test_no_date_falls_in_the_spring_forward_gap() -> None:
    shop = generate_shop(400, 2, SPRING_GAP_UTC - timedelta(hours=3), SPRING_GAP_UTC + timedelta(hours=3))
    orders = [o["date_add"] for o in shop.rows["orders"]]
    assert not [s for s in orders if s.startswith("2026-03-29 02:")]
    # The instants around the gap are there, written an hour apart on the wall.
    assert any(s.startswith("2026-03-29 01:") for s in orders) and any(s.startswith("2026-03-29 03:") for s in orders)
    for stamp in _stamps(shop.rows):
        instant(datetime.fromisoformat(stamp), PARIS)  # raises for a wall time that does not exist


def test_the_fall_back_hour_is_written_twice_and_dates_go_back_while_ids_go_on() -> None:
    shop = generate_shop(400, 2, FALL_BACK_UTC - timedelta(hours=1), FALL_BACK_UTC + timedelta(hours=3))
    orders = sorted(shop.rows["orders"], key=lambda o: o["id"])
    in_repeated_hour = [o for o in orders if o["date_add"].startswith("2026-10-25 02:")]
    # Two hours of orders share the wall times 02:00-02:59: about twice as many as in any other hour.
    next_hour = [o for o in orders if o["date_add"].startswith("2026-10-25 03:")]
    assert len(in_repeated_hour) > 1.5 * len(next_hour) > 0
    steps_back = [(a["id"], b["id"]) for a, b in pairwise(orders) if b["date_add"] < a["date_add"]]
    assert steps_back, "ids follow time, so the wall clock must step back once inside the repeated hour"
    assert all(a < b for a, b in steps_back)


def test_a_naive_wall_time_is_read_in_the_shop_zone() -> None:
    assert instant(datetime(2026, 7, 1, 12, 0), PARIS) == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert instant(datetime(2026, 1, 1, 12, 0), PARIS) == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    # the repeated hour: first occurrence by default, the second with fold=1
    assert instant(datetime(2026, 10, 25, 2, 30), PARIS) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert instant(datetime(2026, 10, 25, 2, 30, fold=1), PARIS) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert parse_instant("2026-10-25T02:30:00", PARIS, fold=1) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert parse_instant("2026-10-25T00:30:00Z", PARIS) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_wall_time_in_the_gap_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="does not exist in Europe/Paris"):
        instant(datetime(2026, 3, 29, 2, 30), PARIS)
    with pytest.raises(ValueError, match="does not exist"):
        generate_shop(10, 1, datetime(2026, 3, 29, 2, 30), datetime(2026, 4, 1))


def test_generated_period_bounds_are_shop_wall_times() -> None:
    """A naive period is the shop's: a Paris shop's orders of 2026-07-01 are dated that day in Paris."""
    rows = generate_shop(200, 8, datetime(2026, 7, 1), datetime(2026, 7, 1, 23, 59, 59)).rows
    dates = [o["date_add"] for o in rows["orders"]]
    assert min(dates) >= "2026-07-01 00:00:00" and max(dates) <= "2026-07-01 23:59:59"
    assert any(d < "2026-07-01 02:00:00" for d in dates)  # would be missing if the bounds were read as UTC
