"""The emulated webservice's query language: display, filter, sort, limit, and the SQL the filters become."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.pg import no_postgres

from prestaoracle.sandbox.prestashop import query as q
from prestaoracle.sandbox.prestashop.errors import PhpFatal, WSError
from prestaoracle.sandbox.prestashop.schema import RESOURCES, Field, Resource

FIXTURES = Path(__file__).parents[3] / "shared/fixtures/prestashop-8.1.2"
PG_URL = os.environ.get("PRESTAORACLE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ORDERS = RESOURCES["orders"]
PRODUCTS = RESOURCES["products"]
ORDER_STATES = RESOURCES["order_states"]
ORDER_DETAILS = RESOURCES["order_details"]
ADDRESSES = RESOURCES["addresses"]
WARNINGS = [
    (3, "[PHP Warning #2] Trying to access array offset on value of type bool "
        f"(/var/www/html/classes/webservice/WebserviceRequest.php, line {n})")
    for n in (1333, 1334, 1335, 1336)
]
ORDER_FIELDS = ", ".join(f.name for f in ORDERS.fields)
ORDER_FILTERS = [f.name for f in ORDERS.fields if f.name not in ("date_add", "date_upd")]
QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _raises(fn, *args, **kwargs) -> WSError:
    with pytest.raises(WSError) as info:
        fn(*args, **kwargs)
    return info.value


def _list_error(code: int, message: str) -> list[tuple[int, str]]:
    return [(code, message), *WARNINGS]


# ----------------------------------------------------------------------------------------------- display


def test_display_modes() -> None:
    assert q.parse_display(None, ORDERS).ids_only
    assert q.parse_display("minimum", ORDERS).ids_only
    full = q.parse_display("full", ORDERS)
    assert full.full and not full.ids_only


def test_display_fields_and_association_subselection() -> None:
    d = q.parse_display("[id,reference,order_rows[product_id,product_quantity]]", ORDERS)
    assert (d.mode, d.fields, dict(d.associations)) == (
        "fields", ("id", "reference"), {"order_rows": ("product_id", "product_quantity")}
    )
    # Names are trimmed, a repeated association merges its sub-fields, a trailing comma is harmless.
    d = q.parse_display("[ id ,order_rows[product_id],order_rows[id],]", ORDERS)
    assert (d.fields, dict(d.associations)) == (("id",), {"order_rows": ("product_id", "id")})


def test_display_unknown_field_is_35_with_every_field_listed() -> None:
    err = _raises(q.parse_display, "[id,nope]", ORDERS)
    msg = f'Unable to display this field "nope". However, these are available: {ORDER_FIELDS}'
    assert (err.status, err.errors) == (400, [(35, msg)])
    # An association named without brackets is not a field either.
    err = _raises(q.parse_display, "[id,order_rows]", ORDERS)
    assert err.errors[0][1].startswith('Unable to display this field "order_rows". However')


def test_display_unknown_association_field_shows_var_export_details() -> None:
    err = _raises(q.parse_display, "[order_rows[product_id,it's]]", ORDERS)
    msg = (
        "Unable to display this field \"order_rows (details : array (\n  0 => 'product_id',\n  1 => 'it\\'s',\n))\". "
        f"However, these are available: {ORDER_FIELDS}"
    )
    assert err.errors == [(35, msg)]


def test_display_unknown_association() -> None:
    # Only "id" asked: PrestaShop reaches error 35; any other sub-field dereferences the missing association.
    err = _raises(q.parse_display, "[id,foo[id]]", ORDERS)
    assert err.errors[0][1].startswith("Unable to display this field \"foo (details : array (\n  0 => 'id',\n))\"")
    with pytest.raises(PhpFatal):
        q.parse_display("[id,foo[bar]]", ORDERS)
    with pytest.raises(PhpFatal):
        q.parse_display("[id,foo[id]]", ADDRESSES)


def test_display_bad_syntax_is_36() -> None:
    err = _raises(q.parse_display, "id,reference", ORDERS)
    msg = (
        "The 'display' syntax is wrong. You can set 'full' or '[field_1,field_2,field_3,...]'. "
        f"These are available: {ORDER_FIELDS}"
    )
    assert (err.status, err.errors) == (400, [(36, msg)])


def test_display_on_a_list_fails_with_the_warnings_and_sees_date_fields() -> None:
    err = _raises(q.parse_display, "[id,nope]", ORDERS, listing=True)
    assert err.status == 500 and err.errors[1:] == WARNINGS
    # date=1 adds date_add/date_upd to a class without them, on lists only.
    assert q.parse_display("[id,date_upd]", ORDER_DETAILS, listing=True, date_enabled=True).fields == ("id", "date_upd")
    with pytest.raises(WSError):
        q.parse_display("[id,date_upd]", ORDER_DETAILS, date_enabled=True)


# ----------------------------------------------------------------------------------------------- filters


def _conds(value: str, field: str = "reference", res: Resource = ORDERS, date: bool = False) -> list:
    return [(c.op, c.values) for c in q.parse_filters({f"filter[{field}]": value}, res, date)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", [("in", ("5",))]),
        ("[5]", [("in", ("5",))]),
        ("[1|5|9]", [("in", ("1", "5", "9"))]),
        ("[a|]", [("in", ("a", ""))]),
        ("[|a]", [("in", ("|a",))]),  # a leading "|" is no OR (strpos() > 0)
        ("[1,10]", [("between", ("1", "10"))]),
        ("[10,9]", [("between", ("9", "10"))]),  # numeric strings sort as numbers
        ("[2019-11-15 00:00:00,2019-11-14 13:00:00]", [("between", ("2019-11-14 13:00:00", "2019-11-15 00:00:00"))]),
        ("[10-1,5]", [("between", ("10-1", "5"))]),  # not numeric: byte order, MySQL then finds nothing
        ("[a,b]", [("in", ("a,b",))]),  # bounds outside [0-9.:- ] are one literal
        ("[Jo]%", [("like", ("", "Jo", "%"))]),
        ("%[hn]", [("like", ("%", "hn", ""))]),
        ("%[oh]%", [("like", ("%", "oh", "%"))]),
        ("x[ab]%", [("like", ("x", "ab", "%"))]),
        (">[X]", [("gt", ("X",))]),
        ("<[X]", [("lt", ("X",))]),
        ("![a]", [("not_in", ("a",))]),
        ("![a|b]", [("not_in", ("a", "b"))]),
        ("x[ab]", []),  # any other prefix builds no SQL: ignored
        ("%%[ab]", []),
        ("[<b>bold</b>]", [("in", ("bold",))]),  # pSQL() strips tags
        ("a < b", [("in", ("a < b",))]),
    ],
)
def test_filter_grammar(value: str, expected: list) -> None:
    assert _conds(value) == expected


def test_filter_params_that_are_not_filters_are_skipped() -> None:
    params = {"filter[sort]": "x", "filter[limit]": "y", "display": "full", "filterx": "1", "filter[id]": "[1]"}
    assert [(c.field, c.kind) for c in q.parse_filters(params, ORDERS, False)] == [("id", "i")]


def _fixture_errors_xml(name: str) -> list[tuple[int, str]]:
    root = ET.parse(FIXTURES / f"{name}.body.xml").getroot()
    return [(int(e.findtext("code")), e.findtext("message")) for e in root.iter("error")]


def test_unknown_filter_matches_recorded_xml_fixture() -> None:
    err = _raises(q.parse_filters, {"filter[nonexistent_field]": "[1]"}, ORDERS, False)
    meta = json.loads((FIXTURES / "37_err_bad_filter_field_xml.meta.json").read_text())
    assert err.status == meta["status"] == 500
    assert err.errors == _fixture_errors_xml("37_err_bad_filter_field_xml")


def test_unknown_filter_matches_recorded_json_fixture() -> None:
    err = _raises(q.parse_filters, {"filter[nonexistent_field]": "[1]"}, ORDERS, False)
    recorded = json.loads((FIXTURES / "38_err_bad_filter_field_json.body.json").read_text())["errors"]
    # In JSON the PHP error handler pre-escapes the path's first slash (the renderer's business).
    ours = [(c, m.replace("(/", "(\\/", 1) if c == 3 else m) for c, m in err.errors]
    assert ours == [(e["code"], e["message"]) for e in recorded]
    assert json.loads((FIXTURES / "38_err_bad_filter_field_json.meta.json").read_text())["status"] == err.status


def test_date_filters_need_date_1() -> None:
    err = _raises(q.parse_filters, {"filter[date_upd]": "[2019-01-01,2020-01-01]"}, ORDERS, False)
    listed = ", ".join(f'"{n}"' for n in ORDER_FILTERS)
    # "valid" and "note" are both 6 edits away; PHP keeps the later one.
    msg = f'This filter does not exist. Did you mean: "note"? The full list is: {listed}'
    assert (err.status, err.errors) == (500, _list_error(32, msg))
    assert _conds("[2019-01-01,2020-01-01]", "date_upd", date=True) == [("between", ("2019-01-01", "2020-01-01"))]
    # With date=1 a class without dates gets them appended to the list (and a query that finds nothing).
    err = _raises(q.parse_filters, {"filter[nope]": "1"}, ORDER_DETAILS, True)
    assert err.errors[0][1].endswith('"total_refunded_tax_incl", "date_add", "date_upd"')


def test_empty_and_dynamic_filters() -> None:
    err = _raises(q.parse_filters, {"filter[reference]": ""}, ORDERS, False)
    assert err.errors == _list_error(33, 'The filter "reference" is malformed.')
    msg = 'The field "shipping_number" is dynamic. It is not possible to filter GET query with this field.'
    err = _raises(q.parse_filters, {"filter[shipping_number]": "[X]"}, ORDERS, False)
    assert (err.status, err.errors) == (500, _list_error(34, msg))
    # The empty check comes first.
    assert _raises(q.parse_filters, {"filter[shipping_number]": ""}, ORDERS, False).errors[0][0] == 33


def test_translatable_filters() -> None:
    (cond,) = q.parse_filters({"filter[name]": "[Mug]%"}, PRODUCTS, False)
    assert (cond.kind, cond.op, cond.i18n) == ("l", "like", True)
    # Empty, it falls through to "does not exist", whose list leaves translatable fields out.
    err = _raises(q.parse_filters, {"filter[name]": ""}, PRODUCTS, False)
    assert err.errors[0][0] == 32 and '"name"' not in err.errors[0][1] and '"quantity"' in err.errors[0][1]
    # filter[name][1]=... is an array: each element filters.
    assert [c.values for c in q.parse_filters({"filter[name][1]": "[a]"}, PRODUCTS, False)] == [("a",)]


def test_array_filters() -> None:
    err = _raises(q.parse_filters, {"filter[nope][x]": "1"}, ORDERS, False)
    assert err.errors == _list_error(31, "There is no existing linked table for this resource")
    with pytest.raises(PhpFatal):
        q.parse_filters({"filter[id][x]": "1"}, ORDERS, False)


# ----------------------------------------------------------------------------------------------- sort / limit


def test_sort() -> None:
    assert q.parse_sort("[date_upd_ASC,id_ASC]", ORDERS, True) == [("date_upd", True), ("id", True)]
    assert q.parse_sort("id_DESC", ORDERS, False) == [("id", False)]
    assert q.parse_sort("total_paid_tax_incl_desc", ORDERS, False) == [("total_paid_tax_incl", False)]
    assert q.parse_sort("[name_ASC]", PRODUCTS, False) == [("name", True)]


@pytest.mark.parametrize("value", ["id", "id_UP", "[]", "[id_ASC,reference]"])
def test_sort_syntax_error_is_37(value: str) -> None:
    msg = (
        'The "sort" value has to be formed as this example: "field_ASC" or '
        "'[field_1_DESC,field_2_ASC,field_3_ASC,...]' (\"field\" has to be an available field)"
    )
    assert _raises(q.parse_sort, value, ORDERS, False).errors == _list_error(37, msg)


def test_sort_unknown_field_is_38() -> None:
    err = _raises(q.parse_sort, "[date_upd_ASC]", ORDERS, False)
    msg = f"Unable to filter by this field. However, these are available: {', '.join(ORDER_FILTERS)}, for i18n fields:"
    assert (err.status, err.errors) == (500, _list_error(38, msg))
    err = _raises(q.parse_sort, "nope_ASC", ORDER_STATES, False)
    assert err.errors[0][1].endswith("pdf_invoice, deleted, for i18n fields:name, template")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("5", (0, 5)),
        ("9,5", (9, 5)),
        ("0", (0, 0)),
        ("", (0, 0)),
        ("abc", (0, 0)),
        (" 7", (0, 7)),
        ("3x,4y", (3, 4)),
        ("1e2", (0, 100)),
        ("2.9,5", (2, 5)),
        (",5", (0, 5)),
        ("-1", (0, 0)),  # MySQL rejects a negative LIMIT; the shop answers an empty list
        ("99999999999999999999", (0, 2**63 - 1)),
    ],
)
def test_limit(value: str | None, expected: tuple[int, int] | None) -> None:
    assert q.parse_limit(value) == expected


def test_limit_with_three_parts_is_39() -> None:
    err = _raises(q.parse_limit, "1,2,3")
    assert (err.status, err.errors) == (500, _list_error(39, 'The "limit" value has to be formed as this example: '
                                                             '"5,25" or "10"'))


def test_list_query_reads_in_the_shops_order() -> None:
    params = {"display": "[nope]", "filter[reference]": "", "sort": "x", "date": "yes"}
    assert _raises(q.parse_list_query, params, ORDERS).errors[0][0] == 33
    del params["filter[reference]"]
    assert _raises(q.parse_list_query, params, ORDERS).errors[0][0] == 35
    lq = q.parse_list_query({"filter[date_upd]": ">[2020-01-01]", "sort": "date_upd_DESC", "limit": "2,2",
                             "date": "yes", "display": "[id,date_upd]"}, ORDERS)
    assert (lq.date_enabled, lq.sort, lq.limit, lq.display.fields) == (True, [("date_upd", False)], (2, 2),
                                                                       ("id", "date_upd"))
    assert not q.date_param_enabled("0") and not q.date_param_enabled("") and not q.date_param_enabled(None)


# ----------------------------------------------------------------------------------------------- SQL

TEST_RES = Resource(
    "things", "things", "thing", "Thing", "test",
    (Field("id", "i"), Field("a", "i"), Field("b", "i"), Field("s", "s"), Field("price", "d"), Field("day", "dt"),
     Field("birthday", "da"), Field("nick", "vs")),
)
META = sa.MetaData()
THINGS = sa.Table(
    "things", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("a", sa.Integer), sa.Column("b", sa.Integer), sa.Column("s", sa.Text), sa.Column("price", sa.Float),
    sa.Column("day", sa.Text), sa.Column("birthday", sa.Text), sa.Column("nick", sa.Text),
)
ENGINE = sa.create_engine("sqlite://")
META.create_all(ENGINE)


def _load(conn: sa.Connection, rows: list[dict]) -> None:
    conn.execute(THINGS.delete())
    if rows:
        full = [{c.name: r.get(c.name) for c in THINGS.columns} | {"id": i} for i, r in enumerate(rows)]
        conn.execute(THINGS.insert(), full)


def _select(conn: sa.Connection, params: dict[str, str], date: bool = True) -> list[int]:
    conds = q.parse_filters(params, TEST_RES, date)
    stmt = sa.select(THINGS.c.id).where(*q.to_sql(conds, THINGS, TEST_RES)).order_by(THINGS.c.id)
    return list(conn.scalars(stmt))


EXAMPLE_ROWS = [
    {"a": 0, "s": "Abc", "price": 12.5, "day": "2019-11-14 00:00:00", "birthday": "1990-05-01"},
    {"a": 5, "s": "abc  ", "price": 3.0, "day": "2019-11-14 13:00:00", "birthday": "1990-05-02"},
    {"a": 10, "s": "a_c", "price": None, "day": "2019-11-15 00:00:00"},
    {"a": None, "s": "ab%", "price": 0.25, "day": None},
    {"a": -3, "s": "Zed_", "price": 100.0, "day": "2019-11-15 00:00:01"},
]
EXAMPLES = [
    ({"filter[a]": "[abc]"}, [0]),  # MySQL reads 'abc' as 0
    ({"filter[a]": "5abc"}, [1]),
    ({"filter[a]": "[0|10]"}, [0, 2]),
    ({"filter[a]": "![0|10]"}, [1, 4]),  # NULL matches neither
    ({"filter[a]": "[10,-3]"}, [0, 1, 2, 4]),
    ({"filter[a]": "[10-1,5]"}, []),
    ({"filter[a]": ">[0]"}, [1, 2]),
    ({"filter[a]": "[1]%"}, [2]),
    ({"filter[s]": "[ABC]"}, [0, 1]),  # case-insensitive, trailing spaces ignored
    ({"filter[s]": "[a_]%"}, [2]),  # "_" is literal
    ({"filter[s]": "%[b%]"}, [3]),
    ({"filter[s]": "%[_]"}, [4]),
    ({"filter[s]": ">[Z]"}, [4]),
    ({"filter[s]": ">[az]"}, [2, 4]),  # upper-cased: "_" sorts after letters, as in MySQL's collation
    ({"filter[price]": "%[.5]%"}, [0]),  # DECIMAL(20,6) text is 12.500000
    ({"filter[price]": "[0.25,3]"}, [1, 3]),
    ({"filter[day]": ">[2019-11-14]"}, [1, 2, 4]),  # the literal means 2019-11-14 00:00:00
    ({"filter[day]": "[2019-11-14,2019-11-15]"}, [0, 1, 2]),
    ({"filter[day]": "[2019-11-15]%"}, [2, 4]),
    ({"filter[birthday]": "<[1990-05-01 12:00]"}, [0]),
    ({"filter[a]": "[0,10]", "filter[s]": "%[c]%"}, [0, 1, 2]),
]


@pytest.mark.parametrize(("params", "expected"), EXAMPLES)
def test_to_sql_examples_sqlite(params: dict[str, str], expected: list[int]) -> None:
    with ENGINE.begin() as conn:
        _load(conn, EXAMPLE_ROWS)
        assert _select(conn, params) == expected


@pytest.mark.postgres
def test_to_sql_examples_postgres() -> None:
    engine = sa.create_engine(PG_URL)
    try:
        conn = engine.connect()
    except sa.exc.OperationalError as exc:
        no_postgres(exc)
    try:
        conn.execute(sa.text("CREATE TEMPORARY TABLE things (id integer primary key, a integer, b integer, s text, "
                             "price double precision, day text, birthday text, nick text)"))
        _load(conn, EXAMPLE_ROWS)
        for params, expected in EXAMPLES:
            assert _select(conn, params) == expected, params
        assert _ordered(conn, [("s", True)]) == _ordered_sqlite([("s", True)])
        assert _ordered(conn, [("a", False)]) == _ordered_sqlite([("a", False)])
    finally:
        conn.close()
        engine.dispose()


def _ordered(conn: sa.Connection, sort: list[tuple[str, bool]]) -> list[int]:
    order = q.order_by(sort, THINGS, TEST_RES)
    return list(conn.scalars(sa.select(THINGS.c.id).order_by(*order, THINGS.c.id)))


def _ordered_sqlite(sort: list[tuple[str, bool]]) -> list[int]:
    with ENGINE.begin() as conn:
        _load(conn, EXAMPLE_ROWS)
        return _ordered(conn, sort)


def test_order_by() -> None:
    assert _ordered_sqlite([("s", True)]) == [3, 0, 1, 2, 4]  # AB% < ABC < "ABC  " < A_C < ZED_
    assert _ordered_sqlite([("a", True)]) == [3, 4, 0, 1, 2]  # NULL first
    assert _ordered_sqlite([("a", False)]) == [2, 1, 0, 4, 3]  # NULL last
    assert q.order_by([("nick", True)], THINGS, TEST_RES) is None  # virtual: no column in MySQL
    assert q.order_by([("date_upd", True)], THINGS, TEST_RES) is None
    # PrestaShop#42629: order_states sorted by id and a translatable name is an empty list.
    states = sa.Table("s", sa.MetaData(), *(sa.Column(f.name, sa.Text) for f in ORDER_STATES.fields))
    assert q.order_by([("id", True), ("name", True)], states, ORDER_STATES) is None
    assert q.order_by([("id", True)], states, ORDER_STATES) is not None


def test_missing_column_matches_nothing() -> None:
    conds = q.parse_filters({"filter[date_add]": ">[2000-01-01]"}, ORDER_DETAILS, True)
    table = sa.Table("od", sa.MetaData(), sa.Column("id", sa.Integer))
    assert [str(e) for e in q.to_sql(conds, table)] == ["false"]


# ----------------------------------------------------------------------------------------------- properties

INTS = st.integers(min_value=-50, max_value=50)


@st.composite
def int_filter(draw: st.DrawFn) -> tuple[str, object]:
    """A filter value of a random form and the predicate it means, written independently of the parser."""
    form = draw(st.sampled_from(["bare", "eq", "or", "between", "gt", "lt", "not", "starts", "ends", "contains"]))
    n = draw(INTS)
    if form == "bare":
        return str(n), lambda v: v == n
    if form == "eq":
        return f"[{n}]", lambda v: v == n
    if form in ("or", "not"):
        ns = draw(st.lists(INTS, min_size=1 if form == "not" else 2, max_size=4))
        text = "|".join(map(str, ns))
        if form == "or":
            return f"[{text}]", lambda v: v in ns
        return f"![{text}]", lambda v: v not in ns
    if form == "between":
        m = draw(INTS)
        return f"[{n},{m}]", lambda v: min(n, m) <= v <= max(n, m)
    if form == "gt":
        return f">[{n}]", lambda v: v > n
    if form == "lt":
        return f"<[{n}]", lambda v: v < n
    digits = str(abs(n))
    if form == "starts":
        return f"[{digits}]%", lambda v: str(v).startswith(digits)
    if form == "ends":
        return f"%[{digits}]", lambda v: str(v).endswith(digits)
    return f"%[{digits}]%", lambda v: digits in str(v)


ROWS = st.lists(st.tuples(st.one_of(st.none(), INTS), st.one_of(st.none(), INTS)), max_size=25)


@QUICK
@given(rows=ROWS, fa=st.one_of(st.none(), int_filter()), fb=st.one_of(st.none(), int_filter()))
def test_filters_select_what_the_grammar_means(rows, fa, fb) -> None:
    params, preds = {}, []
    for name, f in (("a", fa), ("b", fb)):
        if f is not None:
            params[f"filter[{name}]"] = f[0]
            preds.append((name, f[1]))
    expected = [
        i for i, (a, b) in enumerate(rows)
        if all((v := {"a": a, "b": b}[name]) is not None and pred(v) for name, pred in preds)
    ]
    with ENGINE.begin() as conn:
        _load(conn, [{"a": a, "b": b} for a, b in rows])
        assert _select(conn, params) == expected


@QUICK
@given(values=st.lists(INTS, max_size=25), lo=INTS, hi=INTS)
def test_between_is_inclusive_and_order_insensitive(values, lo, hi) -> None:
    with ENGINE.begin() as conn:
        _load(conn, [{"a": v} for v in values + [lo, hi]])
        forward = _select(conn, {"filter[a]": f"[{lo},{hi}]"})
        backward = _select(conn, {"filter[a]": f"[{hi},{lo}]"})
    everything = values + [lo, hi]
    assert forward == backward == [i for i, v in enumerate(everything) if min(lo, hi) <= v <= max(lo, hi)]
    assert {len(everything) - 2, len(everything) - 1} <= set(forward)


@QUICK
@given(values=st.lists(INTS, max_size=25), picks=st.lists(INTS, min_size=1, max_size=4))
def test_not_is_the_complement_of_or(values, picks) -> None:
    text = "|".join(map(str, picks))
    with ENGINE.begin() as conn:
        _load(conn, [{"a": v} for v in values])
        # A one-value list is plain equality ("[5]"), which "!" still complements.
        chosen = set(_select(conn, {"filter[a]": f"[{text}]"}))
        rejected = set(_select(conn, {"filter[a]": f"![{text}]"}))
    assert chosen.isdisjoint(rejected) and chosen | rejected == set(range(len(values)))


# ASCII only: SQLite's upper() folds ASCII, as this model does; no brackets, newlines or "<" (other syntax).
TEXT = st.text(alphabet="aAbB%_!|\\ .xX", max_size=8)


@QUICK
@given(values=st.lists(TEXT, max_size=20), needle=TEXT, form=st.sampled_from(["starts", "ends", "contains"]))
def test_like_treats_wildcards_in_the_value_literally(values, needle, form) -> None:
    value = {"starts": f"[{needle}]%", "ends": f"%[{needle}]", "contains": f"%[{needle}]%"}[form]
    test = {"starts": str.startswith, "ends": str.endswith, "contains": lambda s, n: n in s}[form]
    with ENGINE.begin() as conn:
        _load(conn, [{"s": v} for v in values])
        got = _select(conn, {"filter[s]": value})
    assert got == [i for i, v in enumerate(values) if test(v.upper(), needle.upper())]


@QUICK
@given(parts=st.lists(st.integers(min_value=-(2**70), max_value=2**70), min_size=1, max_size=5))
def test_limit_parts(parts) -> None:
    value = ",".join(map(str, parts))
    if len(parts) > 2:
        err = _raises(q.parse_limit, value)
        assert (err.status, err.errors[0][0]) == (500, 39)
        return
    capped = [max(-(2**63), min(2**63 - 1, p)) for p in parts]
    offset, count = (0, capped[0]) if len(capped) == 1 else capped
    assert q.parse_limit(value) == ((0, 0) if offset < 0 or count < 0 else (offset, count))
