"""A broken spec is refused when it loads, with ``file:line`` of the problem in the message.

Each case starts from a valid spec and breaks one thing; the expected line is the line of the broken text in the
file as written (counted from 1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from prestaoracle.mapping import MappingContext, SpecError, load_spec

VALID = """\
spec: 1
version: 1
description: orders
source: {system: prestashop, entity: orders}
target: {table: ps_orders, key: [id_order]}
lookups:
  currency_iso: {description: id_currency -> ISO}
direct:
  - [id, id_order, int]
  - [total_paid, total_paid, decimal]
computed:
  note:
    from: note
    convert: [{truncate: 20}]
  currency_iso:
    from: id_currency
    convert: [{lookup: currency_iso}]
"""


def write(tmp_path: Path, text: str, name: str = "ps_orders.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_valid_spec_loads(tmp_path: Path) -> None:
    assert load_spec(write(tmp_path, VALID)).version == 1


@pytest.mark.parametrize(("broken", "line", "words"), [
    pytest.param(VALID.replace("    from: note\n", "    from: note\n    colour: red\n"), 14,
                 ["computed.note.colour", "unknown key 'colour'"], id="unknown key"),
    pytest.param(VALID.replace("version: 1", "version: one"), 2, ["version", "integer"], id="wrong type"),
    pytest.param(VALID.replace("[total_paid, total_paid, decimal]", "[total_paid, total_paid, decimall]"), 10,
                 ["unknown converter 'decimall'", "did you mean 'decimal'"], id="unknown converter"),
    pytest.param(VALID.replace("{truncate: 20}", "{truncate: twenty}"), 14,
                 ["converter 'truncate'", "length", "integer"], id="converter parameter of the wrong type"),
    pytest.param(VALID.replace("{truncate: 20}", "{truncate: {length: 5, side: left}}"), 14,
                 ["converter 'truncate'", "side"], id="unknown converter parameter"),
    pytest.param(VALID.replace("[{lookup: currency_iso}]", "[{lookup: currency}]"), 17,
                 ["lookup 'currency' is not declared", "currency_iso"], id="undeclared lookup"),
    pytest.param(VALID.replace("system: prestashop", "system: presta"), 4, ["source.system", "prestashop"],
                 id="value not allowed"),
    pytest.param(VALID.replace("description: orders\n", ""), 1, ["missing key 'description'"], id="missing key"),
    pytest.param(VALID.replace("[id, id_order, int]", "[id, nope, int]"), 9, ["ps_orders has no column 'nope'"],
                 id="unknown column"),
    pytest.param(VALID.replace("key: [id_order]", "key: [id_orders]"), 5, ["key column 'id_orders'"],
                 id="unmapped key"),
    pytest.param(VALID.replace("key: [id_order]}", "key: [id_order], omit_none: true}"), 5,
                 ["omit_none is for payloads"], id="omit_none on a table"),
    pytest.param(VALID.replace("  note:\n    from: note", "  total_paid:\n    from: note"), 12,
                 ["'total_paid' is written twice", "line 10"], id="field written twice"),
    pytest.param(VALID.replace("    from: note\n", "    from: note\n    const: x\n"), 12,
                 ["exactly one of from, const"], id="two sources"),
    pytest.param(VALID.replace("    from: note\n", "    output: currency_iso\n"), 13,
                 ["output 'currency_iso' is read before"], id="output read before written"),
    pytest.param(VALID.replace("    from: note\n", "    from: 'a b'\n"), 13, ["'a b' is not a field path"],
                 id="malformed path"),
    pytest.param(VALID.replace("    from: note\n", "    context: secrets.key\n"), 13,
                 ["context path 'secrets.key'"], id="unknown context"),
    pytest.param(VALID + "children:\n  lines: {from: lines, spec: no_such_spec}\n", 19,
                 ["child spec 'no_such_spec'", "no such spec"], id="missing child spec"),
    pytest.param(VALID + "direct:\n  - [x, y]\n", 18, ["key 'direct' is repeated (first at line 8)"],
                 id="duplicate YAML key"),
    pytest.param(VALID.replace("  - [id, id_order, int]", "  - [id, id_order, int"), 10, ["YAML syntax"],
                 id="YAML syntax"),
    pytest.param(VALID.replace("convert: [{truncate: 20}]", "convert: [{truncate: 20, upper: null}]"), 14,
                 ["a converter step is a name or {name: parameters}"], id="step with two names"),
])
def test_a_broken_spec_names_file_and_line(tmp_path: Path, broken: str, line: int, words: list[str]) -> None:
    path = write(tmp_path, broken)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert caught.value.line == line
    for word in words:
        assert word in message, message


def test_the_file_name_is_the_target_entity(tmp_path: Path) -> None:
    path = write(tmp_path, VALID, name="orders.yaml")
    with pytest.raises(SpecError, match=r"orders.yaml:5: .*rename orders.yaml to ps_orders.yaml"):
        load_spec(path)


def test_a_spec_that_is_not_there_lists_those_that_are(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    with pytest.raises(SpecError, match="no such spec; specs in .*: ps_orders"):
        load_spec("fusion_sales_order", specs_dir=tmp_path)


def test_a_child_spec_cycle_is_refused(tmp_path: Path) -> None:
    child = """\
spec: 1
version: 1
description: loop
source: {system: staging, entity: thing}
target: {payload: NAME}
children:
  more: {from: more, spec: OTHER}
"""
    write(tmp_path, child.replace("NAME", "a").replace("OTHER", "b"), "a.yaml")
    write(tmp_path, child.replace("NAME", "b").replace("OTHER", "a"), "b.yaml")
    with pytest.raises(SpecError, match="cycle"):
        load_spec("a", specs_dir=tmp_path)


def test_a_corrected_spec_is_reloaded(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("version: 1", "version: one"))
    with pytest.raises(SpecError):
        load_spec(path)
    path.write_text(VALID.replace("version: 1", "version: 2"), encoding="utf-8")
    import os

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert load_spec(path).version == 2


@pytest.mark.parametrize(("config", "line", "words"), [
    ("shop_id: 1\nshop_timezone: Mars/Olympus\n", 2, ["shop_timezone", "IANA"]),
    ("shop_id: 1\ndefault:\n  x: 1\n", 2, ["unknown key 'default'"]),
    ("rates:\n  - {from: EUR, to: USD, rate: -1}\n", 2, ["rates.0.rate", "greater than 0"]),
])
def test_configuration_errors_name_file_and_line(tmp_path: Path, config: str, line: int, words: list[str]) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(config, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        MappingContext.from_config(path)
    assert str(caught.value).startswith(f"{path}:{line}: "), str(caught.value)
    for word in words:
        assert word in str(caught.value)
