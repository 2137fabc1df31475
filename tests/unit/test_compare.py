"""The response comparator must pass every recorded response against itself and catch the changes that matter.

A comparator that passes everything would make the contract tests worthless, so each kind of difference the
contract relies on (value, JSON type, key order, XML attribute, order of items, headers) is proven to be caught.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import FIXTURES
from support.compare import (
    Leeway,
    compare_body,
    compare_headers,
    compare_json,
    compare_xml_bodies,
    json_style_differences,
    parse_json,
    php_json_encode,
    sha1_hex,
    substitute_base_url,
)

INDEX: list[dict[str, Any]] = json.loads((FIXTURES / "index.json").read_text(encoding="utf-8"))
BY_NAME = {meta["name"]: meta for meta in INDEX}
SANDBOX = "http://127.0.0.1:5555"


def body(name: str) -> bytes:
    return (FIXTURES / BY_NAME[name]["response_body_file"]).read_bytes()


def kind(name: str) -> str:
    return BY_NAME[name]["response_body_file"].rsplit(".", 1)[1]


def headers(name: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in BY_NAME[name]["response_headers"]]


# ------------------------------------------------------------------------------------------- fixtures vs themselves


@pytest.mark.parametrize("name", list(BY_NAME))
def test_fixture_passes_against_itself(name: str) -> None:
    """Body and headers of every fixture compare equal to themselves, also after moving the xlinks to the sandbox."""
    raw = body(name)
    assert compare_body(kind(name), raw, raw) == []
    moved = substitute_base_url(raw, SANDBOX)
    assert compare_body(kind(name), moved, moved) == []
    # HEAD carries the Content-Sha1 of the GET body (fixture 02 is the same request with GET).
    hashed = body("02_get_orders_xml") if BY_NAME[name]["method"] == "HEAD" else raw
    assert compare_headers(headers(name), headers(name), hashed) == []


def test_recorded_content_sha1_is_sha1_of_the_body() -> None:
    """The header rule the contract applies (SHA-1 of the body sent) is what the real shop does."""
    for name in BY_NAME:
        sha = dict((k.lower(), v) for k, v in headers(name)).get("content-sha1")
        if sha and BY_NAME[name]["method"] != "HEAD":
            assert sha == sha1_hex(body(name)), name


def test_host_substitution_matters() -> None:
    """xlinks built from another host are a difference until the recorded host is substituted."""
    raw = body("06_get_order_1_xml")
    diffs = compare_xml_bodies(raw, substitute_base_url(raw, SANDBOX))
    assert any("xlink:href" in d for d in diffs)
    assert compare_xml_bodies(substitute_base_url(raw, SANDBOX + "/"), substitute_base_url(raw, SANDBOX)) == []


# ------------------------------------------------------------------------------------------------------------- JSON


def test_catches_changed_value() -> None:
    raw = body("05_get_order_1_json")
    changed = raw.replace(b'"reference":"XKBKNABJK"', b'"reference":"XKBKNABJX"')
    assert changed != raw
    diffs = compare_body("json", raw, changed)
    assert len(diffs) == 1 and diffs[0].startswith("order[id=1].reference:")


def test_catches_changed_json_type() -> None:
    raw = body("05_get_order_1_json")
    changed = raw.replace(b'"id_customer":2,', b'"id_customer":"2",')
    assert changed != raw
    diffs = compare_body("json", raw, changed)
    assert len(diffs) == 1 and "order[id=1].id_customer: JSON type int != str" in diffs[0]


@pytest.mark.parametrize(
    ("expected", "actual"),
    [(1, True), (1, 1.0), (None, ""), ("0", 0), ([], {}), ({"a": 1}, [1])],
)
def test_catches_lookalike_types(expected: Any, actual: Any) -> None:
    """Python's == would call these equal or falsy-alike; on the wire they are different JSON."""
    assert compare_json({"x": expected}, {"x": actual}) != []


def test_catches_reordered_key() -> None:
    doc = parse_json(body("05_get_order_1_json"))
    order = doc["order"]
    keys = list(order)
    keys[1], keys[2] = keys[2], keys[1]
    reordered = {"order": {k: order[k] for k in keys}}
    diffs = compare_json(doc, reordered)
    assert diffs and "key order differs" in diffs[0]


def test_catches_missing_and_extra_key() -> None:
    doc = parse_json(body("60_get_stock_available_1_after_json"))
    missing = {"stock_available": {k: v for k, v in doc["stock_available"].items() if k != "out_of_stock"}}
    assert "missing ['out_of_stock']" in compare_json(doc, missing)[0]
    extra = {"stock_available": {**doc["stock_available"], "location": ""}}
    assert "unexpected ['location']" in compare_json(doc, extra)[0]


def test_catches_duplicate_keys_and_invalid_json() -> None:
    assert compare_body("json", b'{"a":1}', b'{"a":1,"a":1}') != []
    assert compare_body("json", b"[]", b"") != []
    assert compare_body("json", b"[]", b"{}") != []


def test_list_order_is_exact_unless_unordered() -> None:
    raw = body("11_get_order_histories_full_json")
    doc = parse_json(raw)
    by_id = {"order_histories": sorted(doc["order_histories"], key=lambda h: h["id"])}
    assert compare_json(doc, by_id) != []
    assert compare_json(doc, by_id, Leeway(unordered=frozenset({"order_histories"}))) == []
    # Inside the items, key order and types stay exact even when the list order does not matter.
    first = dict(reversed(list(by_id["order_histories"][0].items())))
    broken = {"order_histories": [first, *by_id["order_histories"][1:]]}
    assert compare_json(doc, broken, Leeway(unordered=frozenset({"order_histories"}))) != []
    # A missing item is still missing.
    shorter = {"order_histories": by_id["order_histories"][1:]}
    assert compare_json(doc, shorter, Leeway(unordered=frozenset({"order_histories"}))) != []


def test_timestamp_leeway_is_scoped_to_its_path() -> None:
    doc = parse_json(body("53b_get_order_histories_order2_after_json"))
    later = json.loads(json.dumps(doc))
    for item in later["order_histories"]:
        item["date_add"] = "2031-01-02 03:04:05"
    leeway = Leeway(timestamps=frozenset({"order_histories[id=8].date_add", "order_histories[id=9].date_add"}))
    diffs = compare_json(doc, later, leeway)
    # Only id 2 (demo data, not written by the run) is reported.
    assert len(diffs) == 1 and diffs[0].startswith("order_histories[id=2].date_add")
    later["order_histories"][1]["date_add"] = "yesterday"
    assert any(d.startswith("order_histories[id=8].date_add") for d in compare_json(doc, later, leeway))
    later["order_histories"][1]["date_add"] = 1
    assert any(d.startswith("order_histories[id=8].date_add") for d in compare_json(doc, later, leeway))


def test_json_style_is_phps() -> None:
    """Recorded JSON is PHP's json_encode output; Python's default json.dumps would differ on slashes and spaces."""
    for name in BY_NAME:
        if kind(name) == "json" and name != "38_err_bad_filter_field_json":  # 38: see BODY_CORRECTIONS
            assert json_style_differences(body(name)) == [], name
    assert php_json_encode({"a": "b/c", "é": 1}) == '{"a":"b\\/c","é":1}'.encode()
    assert json_style_differences(b'{"a": 1}') != []
    assert json_style_differences(b'{"a":"b/c"}') != []
    assert json_style_differences(b'{"a":"\\u00e9"}') != []


# -------------------------------------------------------------------------------------------------------------- XML


def test_catches_missing_xml_attribute() -> None:
    raw = body("06_get_order_1_xml")
    no_xlink = raw.replace(b'<id_carrier xlink:href="http://127.0.0.1:8099/api/carriers/2">', b"<id_carrier>")
    assert no_xlink != raw
    diffs = compare_xml_bodies(raw, no_xlink)
    assert len(diffs) == 1 and diffs[0].startswith("order[id=1]/id_carrier: attributes differ: missing ['xlink:href']")
    no_flag = raw.replace(b' notFilterable="true"', b"")
    assert compare_xml_bodies(raw, no_flag)[0].startswith("order[id=1]/shipping_number: attributes differ")


def test_catches_xml_text_children_and_namespace_changes() -> None:
    raw = body("06_get_order_1_xml")
    assert compare_xml_bodies(raw, raw.replace(b"[XKBKNABJK]", b"[XKBKNABJ]"))[0].startswith("order[id=1]/reference")
    # CDATA or not, and indentation, are not differences: they parse to the same tree.
    assert compare_xml_bodies(raw, raw.replace(b"<![CDATA[XKBKNABJK]]>", b"XKBKNABJK").replace(b"\t", b"  ")) == []
    # Whitespace inside a value is a difference.
    assert compare_xml_bodies(raw, raw.replace(b"[XKBKNABJK]", b"[ XKBKNABJK]")) != []
    swapped = raw.replace(b"<module>", b"<modulx>").replace(b"</module>", b"</modulx>")
    assert compare_xml_bodies(raw, swapped) != []
    no_ns = raw.replace(b' xmlns:xlink="http://www.w3.org/1999/xlink"', b"", 1)
    assert compare_xml_bodies(raw, no_ns) != []  # xlink prefix now unbound: not well-formed
    no_decl = raw.split(b"\n", 1)[1]
    assert any("declaration" in d for d in compare_xml_bodies(raw, no_decl))
    assert compare_xml_bodies(raw, b"<prestashop>")[0].startswith("body is not well-formed XML")


def test_catches_missing_or_reordered_xml_items() -> None:
    raw = body("02_get_orders_xml")
    lines = raw.split(b"\n")
    reordered = b"\n".join([*lines[:3], lines[4], lines[3], *lines[5:]])
    assert compare_xml_bodies(raw, reordered) != []
    assert compare_xml_bodies(raw, reordered, Leeway(unordered=frozenset({"orders"}))) == []
    dropped = b"\n".join([*lines[:3], *lines[4:]])
    diffs = compare_xml_bodies(raw, dropped, Leeway(unordered=frozenset({"orders"})))
    assert diffs and "missing ['orders/order[id=1]']" in diffs[0]
    # Fewer identical items (errors carry no id) is caught too.
    errors = body("37_err_bad_filter_field_xml")
    one_less = errors.replace(errors[errors.rindex(b"<error>") : errors.rindex(b"</errors>")], b"")
    assert compare_xml_bodies(errors, one_less) != []


def test_xml_timestamp_leeway() -> None:
    raw = body("51_post_order_history_ok_xml")
    later = raw.replace(b"2026-11-26 15:55:16", b"2031-01-02 03:04:05")
    assert compare_xml_bodies(raw, later) != []
    assert compare_xml_bodies(raw, later, Leeway(timestamps=frozenset({"order_history[id=8]/date_add"}))) == []
    empty = raw.replace(b"2026-11-26 15:55:16", b"")
    assert compare_xml_bodies(raw, empty, Leeway(timestamps=frozenset({"order_history[id=8]/date_add"}))) != []


def test_text_bodies_are_exact() -> None:
    assert compare_body("txt", b"401 Unauthorized", b"401 Unauthorized") == []
    assert compare_body("txt", b"401 Unauthorized", b"401 Unauthorized\n") != []
    assert compare_body("txt", b"", b" ") != []
    assert compare_body("xml", b"", b"<x/>") != []  # HEAD: no body at all


# ---------------------------------------------------------------------------------------------------------- headers


def _replace(hs: list[tuple[str, str]], name: str, value: str | None) -> list[tuple[str, str]]:
    out = [(k, v) for k, v in hs if k.lower() != name.lower()]
    return out if value is None else [*out, (name, value)]


def test_headers_catch_what_matters() -> None:
    name = "01_get_api_root"
    rec, raw = headers(name), body(name)
    assert compare_headers(rec, _replace(rec, "PSWS-Version", None), raw) != []
    assert compare_headers(rec, _replace(rec, "PSWS-Version", "8.1.3"), raw) != []
    assert compare_headers(rec, _replace(rec, "Content-type", "text/xml; charset=utf-8"), raw) != []
    assert compare_headers(rec, _replace(rec, "X-Powered-By", "PHP/8.2.36"), raw) != []
    assert compare_headers(rec, _replace(rec, "Execution-Time", None), raw) != []
    assert compare_headers(rec, _replace(rec, "Execution-Time", "fast"), raw) != []
    assert compare_headers(rec, _replace(rec, "Access-Time", None), raw) != []
    assert compare_headers(rec, _replace(rec, "Content-Sha1", None), raw) != []
    assert compare_headers(rec, rec, raw + b" ") != []  # checksum of another body
    assert compare_headers(rec, [*rec, ("WWW-Authenticate", "Basic")], raw) != []
    assert compare_headers(rec, [*rec, ("Content-Type", "text/xml;charset=utf-8")], raw) != []  # duplicated
    assert compare_headers(rec, [*rec, ("X-Debug", "1")], raw) != []
    # Names are case-insensitive; values vary per request; transport headers are ignored.
    lowered = [(k.lower(), v) for k, v in rec]
    timed = _replace(_replace(lowered, "execution-time", "0.2"), "access-time", "1800000000")
    assert compare_headers(rec, [*timed, ("content-length", str(len(raw))), ("server", "uvicorn")], raw) == []
    assert compare_headers(rec, _replace(rec, "Set-Cookie", None), raw) == []


def test_headers_empty_content_type_and_no_key() -> None:
    """404 has an empty Content-Type (present but empty); the no-key 401 has no PrestaShop headers at all."""
    rec = headers("35_err_unknown_id_xml")
    assert compare_headers(rec, _replace(rec, "Content-Type", None), b"") != []
    assert compare_headers(rec, _replace(rec, "Content-Type", "text/xml;charset=utf-8"), b"") != []
    no_key = headers("32_err_no_key")
    assert compare_headers(no_key, [*no_key, ("PSWS-Version", "8.1.2")], body("32_err_no_key")) != []
    assert compare_headers(no_key, [*no_key, ("Access-Time", "1")], body("32_err_no_key")) != []
