"""Query strings follow PrestaShop's filter grammar; write bodies are escaped XML; tracking numbers are validated."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from conftest import FIXTURES
from hypothesis import given
from hypothesis import strategies as st

from prestaoracle.prestashop import (
    InvalidValueError,
    PrestaShopClient,
    RetryPolicy,
    any_of,
    between,
    build_params,
    greater_than,
    validate_tracking_number,
)
from prestaoracle.prestashop.xmlbody import build_document, entity_element, entity_fields, replace_fields

KEY = "SECRETKEYSECRETKEYSECRETKEY12345"


def test_incremental_params_match_the_documented_form() -> None:
    params = build_params(
        filters={"date_upd": between(datetime(2024, 1, 1), datetime(2024, 1, 31, 23, 59, 59))},
        sort=["date_upd_ASC", "id_ASC"],
        limit=(0, 50),
    )
    assert params == {
        "display": "full",
        "filter[date_upd]": "[2024-01-01 00:00:00,2024-01-31 23:59:59]",
        "sort": "[date_upd_ASC,id_ASC]",
        "date": "1",  # added because a date field is filtered
        "limit": "50",
    }


def test_filter_shapes() -> None:
    assert build_params(display=None, filters={"id_order": [3, 1, 2]}) == {"filter[id_order]": "[3|1|2]"}
    assert build_params(display=["id", "date_upd"], filters={"id": greater_than(99)}, limit=(200, 100)) == {
        "display": "[id,date_upd]", "filter[id]": ">[99]", "limit": "200,100"}
    assert build_params(filters={"reference": "XKBKNABJK"})["filter[reference]"] == "[XKBKNABJK]"
    assert any_of(["ABC", "DEF"]) == "[ABC|DEF]"


@pytest.mark.parametrize("bad", ["a|b", "x]", "[y", "1,2", ""])
def test_unescapable_values_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        build_params(filters={"reference": bad})


def test_range_bounds_must_be_numbers_or_dates() -> None:
    with pytest.raises(ValueError):
        between("a", "b")
    with pytest.raises(ValueError):
        any_of([])


def test_aware_datetimes_need_the_shop_timezone() -> None:
    aware = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone"):
        between(aware, aware)
    assert between(aware, aware, tz=ZoneInfo("Europe/Paris")) == "[2024-01-01 13:00:00,2024-01-01 13:00:00]"


def test_sort_and_limit_validation() -> None:
    with pytest.raises(ValueError):
        build_params(sort="date_upd")
    with pytest.raises(ValueError):
        build_params(limit=(0, 0))


@pytest.mark.parametrize("good", ["1Z999AA10123456784", "TRACK-PATCH-0002", "JJD 0001 2345 (x) [y] @a/b ?c+d~:#,%&_=."])
def test_valid_tracking_numbers(good: str) -> None:
    assert validate_tracking_number(good) == good


@pytest.mark.parametrize("bad", ["AB<12>", "", "x" * 65, "line\nbreak", "naïve", 'quote"'])
def test_invalid_tracking_numbers(bad: str) -> None:
    with pytest.raises(InvalidValueError):
        validate_tracking_number(bad)


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_xml_body_round_trips_any_text(text: str) -> None:
    if any(ord(c) < 0x20 or ord(c) == 0x7F or c in "\ufffe\uffff" or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        return
    doc = build_document("order_carrier", {"id": 2, "tracking_number": text})
    back = entity_fields(entity_element(ET.fromstring(doc), "order_carrier"))
    assert back == {"id": "2", "tracking_number": text}


def test_xml_body_escapes_markup() -> None:
    doc = build_document("order_history", {"id_order": 5, "id_order_state": 4, "note": "<a>&</a>"})
    assert b"<id_order>5</id_order>" in doc and b"&lt;a&gt;&amp;&lt;/a&gt;" in doc
    with pytest.raises(ValueError):
        build_document("x", {"f": "bad\x00"})
    assert b"<price>12.500000</price>" in build_document("product", {"price": Decimal("12.500000")})


def test_put_document_keeps_every_field_of_the_recorded_one() -> None:
    recorded = ET.fromstring((FIXTURES / "54_get_order_carrier_1_before_xml.body.xml").read_bytes())
    entity = entity_element(recorded, "order_carrier")
    body = replace_fields(entity, "order_carrier", {"tracking_number": "1Z999AA10123456784"})
    sent = entity_fields(entity_element(ET.fromstring(body), "order_carrier"))
    original = entity_fields(entity)
    assert sent == {**original, "tracking_number": "1Z999AA10123456784"}
    assert b"xlink" not in body and b"\t" not in body
    # Compare with what the recorder actually sent for the same PUT (55): same fields, same values.
    expected = entity_fields(entity_element(
        ET.fromstring((FIXTURES / "55_put_order_carrier_tracking_xml.request_body.xml").read_bytes()), "order_carrier"))
    assert sent == expected


def test_put_document_drops_read_only_fields_and_keeps_languages() -> None:
    doc = ET.fromstring(
        b'<prestashop xmlns:xlink="http://www.w3.org/1999/xlink"><product><id>1</id>'
        b'<manufacturer_name notFilterable="true">X</manufacturer_name><price>1.0</price>'
        b'<name><language id="1" xlink:href="http://s/api/languages/1">T-shirt</language></name></product></prestashop>'
    )
    body = replace_fields(entity_element(doc, "product"), "product", {"price": "2.000000"}, drop=["manufacturer_name"])
    assert body.endswith(b'<prestashop><product><id>1</id><price>2.000000</price>'
                         b'<name><language id="1">T-shirt</language></name></product></prestashop>')


def test_client_configuration_never_shows_the_key() -> None:
    client = PrestaShopClient("http://127.0.0.1:9/api/", KEY, retries=RetryPolicy(attempts=2))
    assert client.base_url == "http://127.0.0.1:9" and client.api_root == "http://127.0.0.1:9/api/"
    assert KEY not in repr(client)
    with pytest.raises(ValueError) as info:
        PrestaShopClient(f"http://127.0.0.1:9/api/?ws_key={KEY}", KEY)
    assert KEY not in str(info.value)
    with pytest.raises(ValueError) as info:
        PrestaShopClient("http://127.0.0.1:9", KEY[:-1])
    assert KEY[:-1] not in str(info.value)
