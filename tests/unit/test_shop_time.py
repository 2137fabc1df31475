"""The shop's clock at the door: window bounds across both daylight-saving edges, "certainly older" for landing,
and the connection settings that carry the shop's zone and the extraction overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from prestaoracle import connections
from prestaoracle.prestashop.shoptime import instants, local_bounds, parse_http_date
from prestaoracle.provider import get_provider_info
from prestaoracle.staging import connect

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args: int) -> datetime:
    return datetime(*args)


@pytest.mark.parametrize(
    ("low", "high", "zone", "expected"),
    [
        # an ordinary day: the plain conversion
        (utc(2026, 6, 1, 10), utc(2026, 6, 1, 12), PARIS, (local(2026, 6, 1, 12), local(2026, 6, 1, 14))),
        # fall-back: 00:40Z is 02:40 CEST, 01:45Z is 02:45 CET; both passes of 02:00–02:59 must be inside
        (utc(2026, 10, 25, 0, 40), utc(2026, 10, 25, 1, 45), PARIS,
         (local(2026, 10, 25, 1, 40), local(2026, 10, 25, 3, 45))),
        # spring-forward: 00:55Z is 01:55 CET, 01:05Z is 03:05 CEST; the gap needs nothing extra
        (utc(2026, 3, 29, 0, 55), utc(2026, 3, 29, 1, 5), PARIS, (local(2026, 3, 29, 1, 55), local(2026, 3, 29, 3, 5))),
        # west of UTC, fall-back at 06:00Z (02:00 EDT -> 01:00 EST)
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30), NEW_YORK,
         (local(2026, 11, 1, 0, 30), local(2026, 11, 1, 2, 30))),
    ],
)
def test_local_bounds_cover_every_wall_time_of_the_window(low: datetime, high: datetime, zone: ZoneInfo,
                                                          expected: tuple[datetime, datetime]) -> None:
    lo, hi = local_bounds(low, high, zone)
    assert (lo, hi) == expected
    # every minute of the window, written as the shop writes it, falls inside the bounds
    t = low
    while t <= high:
        wall = t.astimezone(zone).replace(tzinfo=None)
        assert lo <= wall <= hi, t
        t += timedelta(minutes=1)


def test_local_bounds_refuse_naive_or_reversed_windows() -> None:
    with pytest.raises(ValueError, match="aware"):
        local_bounds(datetime(2026, 1, 1), utc(2026, 1, 2), PARIS)
    with pytest.raises(ValueError, match="empty window"):
        local_bounds(utc(2026, 1, 2), utc(2026, 1, 1), PARIS)


def test_a_repeated_wall_time_means_two_instants() -> None:
    assert instants(local(2026, 10, 25, 2, 30), PARIS) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30))
    assert instants(local(2026, 6, 1, 12), PARIS) == (utc(2026, 6, 1, 10), utc(2026, 6, 1, 10))
    assert parse_http_date("Sun, 25 Oct 2026 00:20:00 GMT") == utc(2026, 10, 25, 0, 20)
    assert parse_http_date("not a date") is None


@pytest.mark.parametrize(
    ("stored", "incoming", "outcome"),
    [
        # fall-back: 02:10 (second pass, CET) after 02:50 (first pass, CEST): later in fact, so it is landed
        ("2026-10-25 02:50:00", "2026-10-25 02:10:00", "changed"),
        # outside the repeated hour an older wall time is an older version
        ("2026-10-25 04:00:00", "2026-10-25 03:10:00", "stale"),
        ("2026-10-25 01:59:00", "2026-10-25 01:10:00", "stale"),
        # spring-forward: 03:00 CEST comes a minute after 01:59:59 CET
        ("2026-03-29 01:59:59", "2026-03-29 03:00:00", "changed"),
        ("2026-03-29 03:00:01", "2026-03-29 01:59:59", "stale"),
    ],
)
def test_staleness_follows_the_shops_clock(stored: str, incoming: str, outcome: str) -> None:
    staging = connect("sqlite://", upgrade=True)
    with staging.transaction() as tx:
        tx.land("prestashop", "orders", [{"id": 1, "date_upd": stored, "v": 1}], run_id="r1", date_tz=PARIS)
        result = tx.land("prestashop", "orders", [{"id": 1, "date_upd": incoming, "v": 2}], run_id="r2",
                         date_tz=PARIS)
    assert (result.changed, result.stale) == ((1, 0) if outcome == "changed" else (0, 1))
    assert staging.landed("prestashop", "orders")[0]["v"] == (2 if outcome == "changed" else 1)


def test_offsets_and_numbers_still_compare_as_before() -> None:
    staging = connect("sqlite://", upgrade=True)
    with staging.transaction() as tx:
        tx.land("oracle", "x", [{"id": 1, "LastUpdateDate": "2026-01-01T10:00:00.000+00:00"}], run_id="a",
                date_key="LastUpdateDate")
        older = tx.land("oracle", "x", [{"id": 1, "LastUpdateDate": "2026-01-01T11:00:00+02:00", "n": 1}],
                        run_id="b", date_key="LastUpdateDate")
        tx.land("oracle", "y", [{"id": 1, "seq": "10"}], run_id="a", date_key="seq")
        smaller = tx.land("oracle", "y", [{"id": 1, "seq": "9", "n": 1}], run_id="b", date_key="seq")
    assert older.stale == 1 and smaller.stale == 1


def test_the_connection_carries_the_shop_zone_and_the_overlap() -> None:
    conn = connections.Conn("prestashop_default", "prestashop", host="http://shop", password="K" * 32,
                            extra={"shop_timezone": "America/New_York", "overlap_minutes": "12"})
    assert connections.prestashop_client(conn=conn).shop_timezone == NEW_YORK
    assert connections.extract_overlap(conn.conn_id, conn) == timedelta(minutes=12)
    assert connections.extract_overlap("x", connections.Conn("x")) is None
    with pytest.raises(connections.ConnectionNotConfigured, match="Europe/Paris"):
        connections.prestashop_client(conn=connections.Conn("p", host="http://shop", password="K" * 32,
                                                            extra={"shop_timezone": "Paris"}))
    with pytest.raises(connections.ConnectionNotConfigured, match="overlap_minutes"):
        connections.extract_overlap("x", connections.Conn("x", extra={"overlap_minutes": "-3"}))


def test_the_connection_forms_declare_the_shop_zone_and_the_overlaps() -> None:
    forms = {t["connection-type"]: t["conn-fields"] for t in get_provider_info()["connection-types"]}
    assert forms["prestashop"]["shop_timezone"]["label"] == "Shop time zone"
    assert forms["prestashop"]["overlap_minutes"]["schema"]["default"] == 5
    fusion = next(fields for name, fields in forms.items() if name != "prestashop")
    assert fusion["overlap_minutes"]["schema"]["default"] == 30
