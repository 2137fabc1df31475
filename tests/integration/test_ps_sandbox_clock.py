"""The PrestaShop sandbox keeps a shop's time the way a real shop does, over HTTP.

Dates are wall times of the shop's zone (``PS_TIMEZONE``, Europe/Paris unless told otherwise), writes stamp the
shop's "now", date filters compare those wall times as text, ``configurations`` tells the zone to a key allowed to
read it, and every answer carries the server's clock in its ``Date`` header. Tests can pin that clock, freeze it
and move it, for example through the hour that happens twice when daylight saving time ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from conftest import free_port
from support.sandbox import run_sandbox

from prestaoracle.sandbox.prestashop.generate import generate_shop

KEY = "SHOPCLOCKSHOPCLOCKSHOPCLOCK12345"
PARIS = ZoneInfo("Europe/Paris")
SHOP = ("--only", "prestashop", "--orders", "60", "--seed", "9", "--ws-key", KEY, "--workers", "2")
# 02:30 CEST on the day Paris turns its clocks back from 03:00 CEST to 02:00 CET.
FIRST_0230 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
HISTORY = ('<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n'
           "<order_history><id_order>{order}</id_order><id_order_state>{state}</id_order_state></order_history>\n"
           "</prestashop>\n")
WALL = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def api(base: str, path: str, **params: str) -> requests.Response:
    return requests.get(f"{base}/api/{path}", params={"output_format": "JSON", **params}, auth=(KEY, ""), timeout=30)


def post_history(base: str, order: int, state: int) -> requests.Response:
    return requests.post(f"{base}/api/order_histories", params={"output_format": "JSON"}, auth=(KEY, ""),
                         data=HISTORY.format(order=order, state=state).encode(), timeout=30)


def header_instant(resp: requests.Response) -> datetime:
    return parsedate_to_datetime(resp.headers["Date"])


@pytest.fixture(scope="module")
def default_shop() -> Iterator[str]:
    """A shop started with no time option at all: the defaults are what is under test."""
    with run_sandbox(*SHOP, "--prestashop-port", str(free_port()), "--end", "2026-06-01") as base:
        yield base


@pytest.fixture(scope="module")
def pinned() -> Iterator[tuple[str, dict]]:
    """A shop started on a clock that stands still at 02:30 CEST, the first of the two 02:30 of 2026-10-25,
    and its clock as read right after the start."""
    with run_sandbox(*SHOP, "--prestashop-port", str(free_port()), "--shop-clock", "2026-10-25T02:30:00",
                     "--shop-clock-frozen") as base:
        yield base, requests.get(f"{base}/sandbox/clock", timeout=30).json()


@pytest.fixture()
def pinned_shop(pinned: tuple[str, dict]) -> str:
    """The pinned shop, its clock put back to the first 02:30 CEST (tests move it)."""
    base = pinned[0]
    reset = requests.post(f"{base}/sandbox/clock", params={"at": "2026-10-25T00:30:00Z", "frozen": "true"}, timeout=30)
    assert reset.status_code == 200, reset.text
    return base


# --- the default shop -------------------------------------------------------------------------------------------


def test_configurations_tell_the_shop_zone_and_it_is_not_utc(default_shop: str) -> None:
    resp = api(default_shop, "configurations", display="full", **{"filter[name]": "[PS_TIMEZONE]"})
    assert resp.status_code == 200, resp.text
    (row,) = resp.json()["configurations"]
    assert list(row) == ["id", "value", "name", "id_shop_group", "id_shop", "date_add", "date_upd"]
    assert (row["name"], row["value"]) == ("PS_TIMEZONE", "Europe/Paris")
    assert type(row["id"]) is int and row["id_shop_group"] == "" and row["id_shop"] == ""
    assert WALL.match(row["date_add"]) and WALL.match(row["date_upd"])
    # The documented lookup of order state ids works too (reference §5.7).
    shipping = api(default_shop, "configurations", display="[name,value]", **{"filter[name]": "[PS_OS_SHIPPING]"})
    assert shipping.json() == {"configurations": [{"value": "4", "name": "PS_OS_SHIPPING"}]}


def test_configurations_in_xml_as_the_devdocs_show_them(default_shop: str) -> None:
    resp = requests.get(f"{default_shop}/api/configurations", auth=(KEY, ""), timeout=30,
                        params={"display": "[id,name,value]", "filter[name]": "[PS_TIMEZONE]"})
    assert resp.status_code == 200
    body = re.sub(r"\s+", "", resp.text)
    assert re.search(r"<configurations><configuration><id><!\[CDATA\[\d+\]\]></id>"
                     r"<value><!\[CDATA\[Europe/Paris\]\]></value><name><!\[CDATA\[PS_TIMEZONE\]\]></name>"
                     r"</configuration></configurations>", body), resp.text


def test_configurations_are_read_only_for_the_key(default_shop: str) -> None:
    body = ("<prestashop><configuration><id>1</id><name>PS_TIMEZONE</name><value>UTC</value></configuration>"
            "</prestashop>")
    resp = requests.put(f"{default_shop}/api/configurations/1", params={"output_format": "JSON"}, auth=(KEY, ""),
                        data=body.encode(), timeout=30)
    assert resp.status_code == 405
    assert resp.json() == {"errors": [{"code": 25, "message": "Method PUT is not allowed for the resource "
                                                              "configurations with this authentication key"}]}
    index = requests.get(f"{default_shop}/api/", auth=(KEY, ""), timeout=30).text
    assert re.search(r'<configurations xlink:href="[^"]+/api/configurations" get="true" put="false" post="false" '
                     r'patch="false" delete="false" head="true">', index), index[:2000]


def test_a_write_stamps_the_shop_time_of_the_servers_clock(default_shop: str) -> None:
    """date_add of a new row is the instant of the answer's Date header, as a Paris wall time."""
    resp = post_history(default_shop, 3, 3)
    assert resp.status_code == 201, resp.text
    stamped = resp.json()["order_history"]["date_add"]
    assert stamped == header_instant(resp).astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
    order = api(default_shop, "orders/3").json()["order"]
    assert order["date_upd"] == stamped


def test_every_answer_has_a_date_header(default_shop: str) -> None:
    answers = [api(default_shop, "orders", limit="1"), api(default_shop, "orders/999999"),
               api(default_shop, "nonsense"), requests.get(f"{default_shop}/api/orders", timeout=30),
               requests.get(f"{default_shop}/sandbox/clock", timeout=30)]
    for resp in answers:
        assert resp.headers.get("Date"), (resp.status_code, resp.url)
        assert header_instant(resp).tzinfo is not None
    assert [r.status_code for r in answers] == [200, 404, 400, 401, 200]


def test_generated_dates_are_paris_wall_times(default_shop: str) -> None:
    """The served shop is the generator's shop for Europe/Paris, and not the one a UTC shop would have."""
    end = datetime(2026, 6, 1)
    paris = generate_shop(60, 9, end - timedelta(days=90), end, timezone="Europe/Paris").rows["customers"]
    utc = generate_shop(60, 9, end - timedelta(days=90), end, timezone="UTC").rows["customers"]
    served = api(default_shop, "customers", display="[id,date_add]", sort="[id_ASC]").json()["customers"]
    assert [c["date_add"] for c in served] == [c["date_add"] for c in paris]
    assert [c["date_add"] for c in served] != [c["date_add"] for c in utc]


# --- the pinned clock -------------------------------------------------------------------------------------------


def test_the_shop_clock_option_pins_the_clock(pinned: tuple[str, dict]) -> None:
    assert pinned[1] == {"now": "2026-10-25T00:30:00Z", "shop_time": "2026-10-25 02:30:00",
                         "timezone": "Europe/Paris", "utc_offset": "+02:00", "dst": True, "frozen": True}


def test_the_pinned_clock_is_in_the_date_and_access_time_headers(pinned_shop: str) -> None:
    resp = api(pinned_shop, "orders", limit="1")
    assert resp.headers["Date"] == "Sun, 25 Oct 2026 00:30:00 GMT"
    assert resp.headers["Access-Time"] == str(int(FIRST_0230.timestamp()))


def test_orders_through_the_repeated_hour_go_back_in_shop_time(pinned_shop: str) -> None:
    """Two state changes 40 minutes apart, across the end of summer time: 02:30, then 02:10 on the wall."""
    first = post_history(pinned_shop, 5, 3)
    moved = requests.post(f"{pinned_shop}/sandbox/clock/advance", params={"minutes": 40}, timeout=30).json()
    assert moved["now"] == "2026-10-25T01:10:00Z" and moved["utc_offset"] == "+01:00" and not moved["dst"]
    second = post_history(pinned_shop, 5, 4)
    assert first.status_code == second.status_code == 201
    a, b = first.json()["order_history"], second.json()["order_history"]
    assert (a["date_add"], b["date_add"]) == ("2026-10-25 02:30:00", "2026-10-25 02:10:00")
    assert int(b["id"]) > int(a["id"])
    assert second.headers["Date"] == "Sun, 25 Oct 2026 01:10:00 GMT"
    # A date filter compares the shop's wall times as text, as MySQL does: both rows are in 02:00-02:59.
    found = api(pinned_shop, "order_histories", display="[id,date_add]", date="1", sort="[id_ASC]",
                **{"filter[date_add]": "[2026-10-25 02:00:00,2026-10-25 02:59:59]"}).json()["order_histories"]
    assert [(h["id"], h["date_add"]) for h in found] == [(int(a["id"]), a["date_add"]), (int(b["id"]), b["date_add"])]
    order = api(pinned_shop, "orders/5").json()["order"]
    assert order["date_upd"] == "2026-10-25 02:10:00"  # the later change, although it reads earlier


def test_the_clock_can_be_set_to_either_occurrence_and_refuses_the_gap(pinned_shop: str) -> None:
    second = requests.post(f"{pinned_shop}/sandbox/clock", timeout=30,
                           params={"at": "2026-10-25T02:30:00", "fold": "1"}).json()
    assert (second["now"], second["shop_time"], second["utc_offset"]) == ("2026-10-25T01:30:00Z",
                                                                         "2026-10-25 02:30:00", "+01:00")
    gap = requests.post(f"{pinned_shop}/sandbox/clock", params={"at": "2026-03-29T02:30:00"}, timeout=30)
    assert gap.status_code == 400 and "does not exist in Europe/Paris" in gap.json()["detail"]
    spring = requests.post(f"{pinned_shop}/sandbox/clock", params={"at": "2026-03-29T00:59:59Z"}, timeout=30)
    assert spring.json()["shop_time"] == "2026-03-29 01:59:59"
    after = requests.post(f"{pinned_shop}/sandbox/clock/advance", params={"minutes": 1 / 60}, timeout=30).json()
    assert after["shop_time"] == "2026-03-29 03:00:00"  # 02:00-02:59 never happens on the wall


def test_a_running_clock_moves_on_from_where_it_was_pinned(pinned_shop: str) -> None:
    running = requests.post(f"{pinned_shop}/sandbox/clock", timeout=30,
                            params={"at": "2030-01-01T12:00:00+01:00", "frozen": "false"}).json()
    assert not running["frozen"] and running["now"].startswith("2030-01-01T11:")
    resp = post_history(pinned_shop, 6, 3)
    assert resp.json()["order_history"]["date_add"].startswith("2030-01-01 12:")
    assert header_instant(resp).astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S") == \
        resp.json()["order_history"]["date_add"]


# --- the key's permissions --------------------------------------------------------------------------------------


def test_the_recorded_keys_shop_refuses_configurations() -> None:
    """The demo shop's key is the recorded one: configurations are not among its resources (fixture 39's rule)."""
    with run_sandbox("--only", "prestashop", "--dataset", "demo", "--ws-key", KEY, "--workers", "1",
                     "--prestashop-port", str(free_port())) as demo:
        resp = api(demo, "configurations", **{"filter[name]": "[PS_TIMEZONE]"})
        assert resp.status_code == 401
        assert resp.json() == {"errors": [{"code": 26, "message": 'Resource of type "configurations" is not '
                                                                  "allowed with this authentication key"}]}
        assert "configurations" not in requests.get(f"{demo}/api/", auth=(KEY, ""), timeout=30).text
        assert api(demo, "orders").status_code == 200


def test_ws_resources_grants_exactly_what_it_lists() -> None:
    with run_sandbox(*SHOP, "--prestashop-port", str(free_port()), "--ws-resources", "orders,configurations",
                     "--shop-timezone", "America/New_York") as base:
        assert api(base, "customers").json()["errors"][0]["code"] == 26
        zone = api(base, "configurations", display="[value]", **{"filter[name]": "[PS_TIMEZONE]"}).json()
        assert zone == {"configurations": [{"value": "America/New_York"}]}
        resp = api(base, "orders", limit="1")
        assert resp.status_code == 200
        clock = requests.get(f"{base}/sandbox/clock", timeout=30).json()
        assert clock["timezone"] == "America/New_York" and clock["utc_offset"] in ("-05:00", "-04:00")
