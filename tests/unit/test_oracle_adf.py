"""The emulated ADF REST framework layer: q (QBE and rowmatch), orderBy, fields/expand, finder, paging, envelopes.

Examples come from shared/reference/oracle-fusion-and-ebs.md (section cited per test). Filters run against SQLite
in memory and a temporary table on the local PostgreSQL, which must select the same rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.pg import no_postgres

from prestaoracle.sandbox.oracle import adf
from prestaoracle.sandbox.oracle import contract as C
from prestaoracle.sandbox.oracle.adf import AdfError, Attr

PG_URL = os.environ.get("PRESTAORACLE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
QUICK = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ORDER_ATTRS = (
    Attr("HeaderId", "integer", updatable=False),
    Attr("OrderNumber", "string"),
    Attr("StatusCode", "string"),
    Attr("LastUpdateDate", "datetime"),
    Attr("Amount", "number"),
    Attr("SubmittedFlag", "boolean"),
    Attr("RequestedDate", "date"),
    Attr("OrganizationCode", "string"),
    Attr("ItemNumber", "string"),
    Attr("Internal", "string", queryable=False),
)
ATTRS = {a.name: a for a in ORDER_ATTRS}
ATTR_ORDER = [a.name for a in ORDER_ATTRS]


def _sa_type(kind: str) -> Any:
    return {"integer": sa.BigInteger, "boolean": sa.BigInteger, "number": sa.Float}.get(kind, sa.Text)


META = sa.MetaData()
ORDERS = sa.Table(
    "adf_orders", META,
    *(sa.Column(a.name, _sa_type(a.type), primary_key=a.name == "HeaderId", autoincrement=False) for a in ORDER_ATTRS),
    prefixes=["TEMPORARY"],
)
PROPS = sa.Table(
    "adf_props", META,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("n", sa.BigInteger), sa.Column("ts", sa.Text), sa.Column("s", sa.Text),
    prefixes=["TEMPORARY"],
)
PAGED = sa.Table(
    "adf_paged", META,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False), sa.Column("n", sa.BigInteger),
    sa.Column("s", sa.Text),
    prefixes=["TEMPORARY"],
)
PROP_ATTRS = {"id": Attr("id", "integer"), "n": Attr("n", "integer"), "ts": Attr("ts", "datetime"),
              "s": Attr("s", "string")}
PAGED_ATTRS = {"id": Attr("id", "integer"), "n": Attr("n", "integer"), "s": Attr("s", "string")}


def _order(hid: int, number: str, status: str | None, updated: str | None, amount: float | None,
           flag: int | None, requested: str | None, org: str, item: str) -> dict[str, Any]:
    return {"HeaderId": hid, "OrderNumber": number, "StatusCode": status, "LastUpdateDate": updated,
            "Amount": amount, "SubmittedFlag": flag, "RequestedDate": requested, "OrganizationCode": org,
            "ItemNumber": item, "Internal": "x"}


ORDER_ROWS = [
    _order(1, "520123", "OPEN", "2025-01-15T10:00:00.000+00:00", 100.5, 1, "2025-01-20", "M1", "AS54888"),
    _order(2, "520124", "CLOSED", "2025-01-15T09:59:59.999+00:00", 20.0, 0, "2025-01-21", "M1", "AS54889"),
    _order(3, "520125", "DOO_DRAFT", "2025-01-16T00:00:00.000+00:00", None, 0, None, "M2", "AS54888"),
    _order(4, "520126", None, None, 0.25, None, "2025-02-01", "V1", "as54888"),
    _order(5, "O'Neil_1", "open", "2025-01-15T10:00:00.001+00:00", 3000.0, 1, "2025-01-15", "M1", "AS5*88"),
]

# --------------------------------------------------------------------------------------------- databases

BASE = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)
MS_OFFSETS = [-86_400_000, -3_600_000, -1000, -1, 0, 1, 999, 1000, 60_000, 86_400_000]


def _stored(t: dt.datetime) -> str:
    return f"{t.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}+00:00"


def _prop_rows() -> list[dict[str, Any]]:
    rnd = random.Random(20250115)
    rows = []
    for i in range(90):
        rows.append({
            "id": i,
            "n": None if rnd.random() < 0.12 else rnd.randint(-5, 5),
            "ts": None if rnd.random() < 0.12 else _stored(BASE + dt.timedelta(milliseconds=rnd.choice(MS_OFFSETS))),
            "s": None if rnd.random() < 0.12 else "".join(rnd.choice("aA%_*[?b") for _ in range(rnd.randint(1, 3))),
        })
    return rows


PROP_ROWS = _prop_rows()


@dataclass
class Db:
    name: str
    conn: sa.Connection

    def ids(self, where: sa.ColumnElement[bool], table: sa.Table = ORDERS) -> list[int]:
        key = table.c.HeaderId if "HeaderId" in table.c else table.c.id
        return list(self.conn.scalars(sa.select(key).where(where).order_by(key)))


def _connect(name: str) -> Iterator[Db]:
    if name == "sqlite":
        engine = sa.create_engine("sqlite://")
        conn = engine.connect()
    else:
        engine = sa.create_engine(PG_URL)
        try:
            conn = engine.connect()
        except sa.exc.OperationalError as exc:
            engine.dispose()
            no_postgres(exc)
    try:
        META.create_all(conn)
        if name == "postgres":
            _linguistic_text(conn)
        conn.execute(ORDERS.insert(), ORDER_ROWS)
        conn.execute(PROPS.insert(), PROP_ROWS)
        conn.commit()
        yield Db(name, conn)
    finally:
        conn.rollback()
        META.drop_all(conn)
        conn.commit()
        conn.close()
        engine.dispose()


def _linguistic_text(conn: sa.Connection) -> None:
    """Give PostgreSQL's text columns a linguistic collation (as an en_US database has), so that only the binary
    comparisons the adf layer asks for make both databases agree."""
    if conn.scalar(sa.text("SELECT count(*) FROM pg_collation WHERE collname = 'en-x-icu'")) == 0:
        return
    for table in META.sorted_tables:
        for col in table.columns:
            if isinstance(col.type, sa.Text):
                column = f'"{col.name}"'
                conn.execute(sa.text(f'ALTER TABLE {table.name} ALTER COLUMN {column} TYPE text COLLATE "en-x-icu"'))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    yield from _connect(request.param)


def _select(db: Db, q: str, version: int) -> list[int]:
    return db.ids(adf.to_sql(adf.parse_q(q, version, ATTRS), ORDERS))


def _q_error(q: str) -> str:
    return C.INVALID_PARAM_MESSAGE.format(param="q", value=q)


# =============================================================================================== framework version


def test_framework_version_header() -> None:
    """§1.1: REST-Framework-Version selects the version, 1 when absent; a bad value is a 400."""
    assert adf.framework_version({}) == 1
    assert adf.framework_version({"REST-Framework-Version": "4"}) == 4
    assert adf.framework_version({"rest-framework-version": " 2 "}) == 2
    for bad in ("abc", "0", "-1", "", "2.0", str(C.MAX_FRAMEWORK_VERSION + 1)):
        with pytest.raises(AdfError) as info:
            adf.framework_version({"REST-Framework-Version": bad})
        assert info.value.status == 400
        assert info.value.detail == C.INVALID_FRAMEWORK_VERSION_MESSAGE.format(value=bad)


# =============================================================================================== errors


def test_error_is_plain_text_by_default() -> None:
    """§1.3 "Error responses" / §2.4: framework v1–3, or v4 without a JSON Accept, answer text/plain."""
    err = AdfError(400, "The value of the attribute ProductNumber isn't valid.")
    for version, accept in ((1, "application/json"), (3, "application/json"), (4, None), (4, "text/html"),
                            (4, "application/json;q=0")):
        assert adf.render_error(err, version, accept) == (
            400, "text/plain", b"The value of the attribute ProductNumber isn't valid."
        )


def test_error_json_from_framework_v4() -> None:
    """§1.3 "Error responses": v4 + JSON Accept gives the o:errorDetails document (reference example)."""
    err = AdfError(400, "An item with number AS5488X doesn't exist in organization M1.",
                   error_code="FOM-2134567", path="/lines/0/ProductNumber")
    for accept in ("application/json", "application/vnd.oracle.adf.error+json",
                   "text/html, application/vnd.oracle.adf.error+json; q=0.5"):
        status, ctype, body = adf.render_error(err, 4, accept)
        assert (status, ctype) == (400, "application/vnd.oracle.adf.error+json")
        doc = json.loads(body)
        assert list(doc) == ["type", "title", "status", "o:errorDetails"]
        assert doc == {
            "type": "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
            "title": "Bad Request",
            "status": "400",
            "o:errorDetails": [{"detail": "An item with number AS5488X doesn't exist in organization M1.",
                                "o:errorCode": "FOM-2134567", "o:errorPath": "/lines/0/ProductNumber"}],
        }


def test_error_json_details_and_titles() -> None:
    """§1.3/§2.4: absent code/path are left out; several messages; other statuses keep their own title."""
    err = AdfError(404, "not found", more=[adf.ErrorDetail("second", "X-1")])
    doc = json.loads(adf.render_error(err, 5, "application/json")[2])
    assert doc["title"] == "Not Found" and doc["status"] == "404"
    assert doc["o:errorDetails"] == [{"detail": "not found"}, {"detail": "second", "o:errorCode": "X-1"}]
    assert adf.render_error(err, 1, None)[2] == b"not found\nsecond"
    assert "type" not in json.loads(adf.render_error(AdfError(418, "teapot"), 4, "application/json")[2])


# =============================================================================================== q: parsing


def test_qbe_reference_example_parses() -> None:
    """§0/§2.1: v1 QBE ``q=OrganizationCode=M1;ItemNumber=AS54888`` is an AND of two equalities."""
    assert adf.parse_q("OrganizationCode=M1;ItemNumber=AS54888", 1, ATTRS) == adf.And((
        adf.Compare("OrganizationCode", "string", "=", "M1"),
        adf.Compare("ItemNumber", "string", "=", "AS54888"),
    ))


def test_qbe_range_shorthand_and_wildcard() -> None:
    """§2.1: ``Deptno>=10 and <= 30`` range shorthand; ``*`` in a string equality is a LIKE."""
    assert adf.parse_q("HeaderId>=10 and <= 30", 1, ATTRS) == adf.And((
        adf.Compare("HeaderId", "integer", ">=", 10), adf.Compare("HeaderId", "integer", "<=", 30),
    ))
    assert adf.parse_q("ItemNumber=AS5*", 1, ATTRS) == adf.Like("ItemNumber", "string", ("AS5", adf.Wild.ANY))
    # "and" without an operator after it is part of the value.
    assert adf.parse_q("OrderNumber=Smith and Sons", 1, ATTRS) == adf.Compare(
        "OrderNumber", "string", "=", "Smith and Sons")


def test_rowmatch_reference_example_parses() -> None:
    """§2.1: ``LastUpdateDate >= '2025-01-15T10:00:00+00:00' and StatusCode in ('OPEN','CLOSED')``."""
    q = "LastUpdateDate >= '2025-01-15T10:00:00+00:00' and StatusCode in ('OPEN','CLOSED')"
    assert adf.parse_q(q, 4, ATTRS) == adf.And((
        adf.Compare("LastUpdateDate", "datetime", ">=", "2025-01-15T10:00:00.000+00:00"),
        adf.InList("StatusCode", "string", ("OPEN", "CLOSED")),
    ))


def test_rowmatch_precedence() -> None:
    """§2.1: ``and`` binds tighter than ``or``; ``not`` tighter than both; parentheses group."""
    a, b, c = (adf.Compare("HeaderId", "integer", "=", i) for i in (1, 2, 3))
    assert adf.parse_q("HeaderId = 1 or HeaderId = 2 and HeaderId = 3", 2, ATTRS) == adf.Or((a, adf.And((b, c))))
    assert adf.parse_q("not HeaderId = 1 and HeaderId = 2", 2, ATTRS) == adf.And((adf.Not(a), b))
    assert adf.parse_q("NOT (HeaderId = 1 OR HeaderId = 2)", 2, ATTRS) == adf.Not(adf.Or((a, b)))


def test_empty_q_filters_nothing() -> None:
    """§2.1 [VERIFY choice in contract]: an absent or blank q is no filter."""
    assert adf.parse_q(None, 1, ATTRS) == adf.TRUE
    assert adf.parse_q("  ", 4, ATTRS) == adf.TRUE


@pytest.mark.parametrize(("q", "version"), [
    ("Foo=1", 1), ("Internal=x", 1), ("HeaderId=abc", 1), ("HeaderId", 1), ("=1", 1), ("HeaderId=", 1),
    ("HeaderId=1;", 1), ("HeaderId=1;;StatusCode=A", 1), ("SubmittedFlag>true", 1), ("SubmittedFlag=maybe", 1),
    ("LastUpdateDate>yesterday", 1), ("RequestedDate=2025-02-30", 1), ("OrderNumber='abc", 1),
    ("OrderNumber='abc' x", 1),
    ("StatusCode = OPEN", 2), ("OrganizationCode=M1;ItemNumber=AS54888", 2), ("StatusCode = 'OPEN", 2),
    ("(HeaderId = 1", 2), ("HeaderId = 1)", 2), ("HeaderId = 1 and", 2), ("HeaderId in (1,2)", 2),
    ("HeaderId in (1,2)", 3), ("lines.LineId = 1", 4), ("UPPER(HeaderId) = 1", 4), ("HeaderId like '1%'", 4),
    ("Foo = 1", 4), ("Internal = 'x'", 4), ("LastUpdateDate > 2025", 4), ("HeaderId = 1 HeaderId = 2", 4),
    ("HeaderId between 1", 4), ("StatusCode is 'x'", 4), ("HeaderId in ()", 4), ("StatusCode = \"OPEN\"", 4),
    ("SubmittedFlag < true", 4), ("LastUpdateDate > '2025-01-15T10:00:00+24:00'", 4),
    ("(" * 100 + "HeaderId = 1" + ")" * 100, 4),
])
def test_bad_q_is_400(q: str, version: int) -> None:
    """§2.1/§7.4: unknown or non-queryable attribute, bad literal or bad syntax is a 400 (message in contract)."""
    with pytest.raises(AdfError) as info:
        adf.parse_q(q, version, ATTRS)
    assert (info.value.status, info.value.detail) == (400, _q_error(q))


@pytest.mark.parametrize(("text", "stored"), [
    ("2025-01-15T10:00:00Z", "2025-01-15T10:00:00.000+00:00"),
    ("2025-01-15T10:00:00+00:00", "2025-01-15T10:00:00.000+00:00"),
    ("2025-01-15T10:00:00", "2025-01-15T10:00:00.000+00:00"),
    ("2025-01-15 10:00", "2025-01-15T10:00:00.000+00:00"),
    ("2025-01-15T12:30:00.5+02:30", "2025-01-15T10:00:00.500+00:00"),
    ("2025-01-15T10:00:00.123456Z", "2025-01-15T10:00:00.123456+00:00"),
    ("2025-01-15T10:00:00.120000Z", "2025-01-15T10:00:00.120+00:00"),
    ("2025-01-01T00:30:00+0100", "2024-12-31T23:30:00.000+00:00"),
    ("2025-01-15", "2025-01-15T00:00:00.000+00:00"),
])
def test_datetime_literals_normalise_to_stored_format(text: str, stored: str) -> None:
    """§2.1: datetime literals (``Z``, ``+00:00``, none; any precision) become the stored UTC format."""
    assert adf.instant(text) == stored


@pytest.mark.parametrize("text", ["2025-13-01", "2025-01-15T25:00:00Z", "x", "0001-01-01T00:30:00+01:00",
                                  "2025-01-15Z", "2025-1-5"])
def test_bad_datetime_literals(text: str) -> None:
    with pytest.raises(ValueError):
        adf.instant(text)


# =============================================================================================== q: evaluation

EXAMPLES: list[tuple[str, int, list[int]]] = [
    # v1 QBE (§0, §2.1)
    ("OrganizationCode=M1;ItemNumber=AS54888", 1, [1]),
    ("OrganizationCode=M1", 1, [1, 2, 5]),
    ("HeaderId>=2 and <= 4", 1, [2, 3, 4]),
    ("HeaderId<2 or >4", 1, [1, 5]),
    ("ItemNumber=AS5*", 1, [1, 2, 3, 5]),  # case-sensitive: as54888 is out
    ("ItemNumber=AS5*88", 1, [1, 3, 5]),
    ("ItemNumber!=AS5*", 1, [4]),
    ("LastUpdateDate>2025-01-15T10:00:00", 1, [3, 5]),  # §2.1 QBE timestamp, read as UTC
    ("LastUpdateDate>=2025-01-15T10:00:00Z", 1, [1, 3, 5]),
    ("StatusCode!=OPEN", 1, [2, 3, 5]),  # NULL is neither equal nor different
    ("SubmittedFlag=true", 1, [1, 5]),
    ("SubmittedFlag=N", 1, [2, 3]),
    ("Amount>20", 1, [1, 5]),
    ("Amount<=20", 1, [2, 4]),
    ("OrderNumber='O''Neil_1'", 1, [5]),
    ("OrderNumber=O'Neil_*", 1, [5]),
    ("OrderNumber=520_2*", 1, []),  # QBE's only wildcard is *: "_" and "%" are literal
    ("OrderNumber=520%", 1, []),
    ("RequestedDate<2025-01-21", 1, [1, 5]),
    # v2+ rowmatch (§2.1)
    ("LastUpdateDate >= '2025-01-15T10:00:00+00:00' and StatusCode in ('OPEN','CLOSED')", 4, [1]),
    ("StatusCode = 'OPEN' and LastUpdateDate > '2025-01-15T10:00:00Z'", 2, []),
    ("UPPER(StatusCode) = 'OPEN' and LastUpdateDate > '2025-01-15T10:00:00Z'", 2, [5]),
    ("LastUpdateDate > '2025-01-15T11:00:00.0005+01:00'", 2, [3, 5]),
    ("LastUpdateDate >= '2025-01-15T10:00:00.0005Z'", 2, [3, 5]),
    ("LastUpdateDate <= '2025-01-15T10:00:00.0005Z'", 2, [1, 2]),
    ("LastUpdateDate = '2025-01-15T10:00:00.000000Z'", 2, [1]),
    ("LastUpdateDate between '2025-01-15' and '2025-01-15T23:59:59Z'", 2, [1, 2, 5]),
    ("StatusCode is null", 2, [4]),
    ("StatusCode is not null and not (StatusCode = 'OPEN')", 2, [2, 3, 5]),
    ("not (StatusCode = 'OPEN')", 2, [2, 3, 5]),  # three-valued: row 4 (NULL) is out
    ("not (Amount > 50 or StatusCode = 'OPEN')", 2, [2]),
    ("OrderNumber like 'O''Neil%'", 2, [5]),
    ("OrderNumber like '5201_3'", 2, [1]),
    ("ItemNumber like 'AS5*'", 2, [1, 2, 3, 5]),
    ("UPPER(ItemNumber) like 'AS548%'", 2, [1, 2, 3, 4]),
    ("ItemNumber not like 'AS%'", 2, [4]),
    ("ItemNumber = 'AS5*88'", 2, [5]),  # no wildcard in rowmatch equality
    ("HeaderId in (1, 3, '5')", 4, [1, 3, 5]),
    ("HeaderId not in (1,2)", 4, [3, 4, 5]),
    ("(HeaderId = 1 or HeaderId = 2) and SubmittedFlag = false", 2, [2]),
    ("Amount between 0.25 and 100.5", 2, [1, 2, 4]),
    ("Amount not between 0.25 and 100.5", 2, [5]),
    ("OrderNumber = 520123", 2, [1]),
    ("OrderNumber > '520124'", 2, [3, 4, 5]),
    ("StatusCode < 'a'", 2, [1, 2, 3]),  # code-point order: upper case before lower case
    ("RequestedDate >= '2025-01-21'", 2, [2, 4]),
    ("HeaderId <> 3 and HeaderId != 4 and HeaderId > -1", 2, [1, 2, 5]),
    ("", 2, [1, 2, 3, 4, 5]),
]


@pytest.mark.parametrize(("q", "version", "expected"), EXAMPLES)
def test_q_examples_sqlite(q: str, version: int, expected: list[int]) -> None:
    """§2.1: documented and edge-case filters select the expected orders on SQLite."""
    for conn in _connect("sqlite"):
        assert _select(conn, q, version) == expected


@pytest.mark.postgres
def test_q_examples_postgres() -> None:
    """§2.1: the same filters select the same orders on PostgreSQL."""
    for conn in _connect("postgres"):
        for q, version, expected in EXAMPLES:
            assert _select(conn, q, version) == expected, q


def test_not_two_valued_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """contract.NOT_USES_THREE_VALUED_LOGIC=False makes ``not (X)`` the exact complement of X."""
    monkeypatch.setattr(C, "NOT_USES_THREE_VALUED_LOGIC", False)
    for conn in _connect("sqlite"):
        assert _select(conn, "not (StatusCode = 'OPEN')", 2) == [2, 3, 4, 5]


def test_case_insensitive_strings_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """contract.CASE_SENSITIVE_STRINGS=False folds case on both sides of string comparisons."""
    monkeypatch.setattr(C, "CASE_SENSITIVE_STRINGS", False)
    for conn in _connect("sqlite"):
        assert _select(conn, "StatusCode = 'open'", 2) == [1, 5]
        assert _select(conn, "ItemNumber=as5*", 1) == [1, 2, 3, 4, 5]


# =============================================================================================== orderBy


def test_parse_order_by() -> None:
    """§2.1: ``orderBy=LastUpdateDate:asc,HeaderId:desc``; ascending by default; bad attribute is a 400."""
    assert adf.parse_order_by("LastUpdateDate:asc,HeaderId:desc", ATTRS) == [("LastUpdateDate", True),
                                                                              ("HeaderId", False)]
    assert adf.parse_order_by("HeaderId", ATTRS) == [("HeaderId", True)]
    assert adf.parse_order_by(None, ATTRS) == []
    for bad in ("Foo:asc", "HeaderId:up", "Internal", "HeaderId,", "HeaderId:asc:desc"):
        with pytest.raises(AdfError) as info:
            adf.parse_order_by(bad, ATTRS)
        assert info.value.detail == C.INVALID_PARAM_MESSAGE.format(param="orderBy", value=bad)


def test_order_by_sql(db: Db) -> None:
    """§2.1 orderBy: strings in code-point order, NULLs high (last asc, first desc), same on both databases."""
    def ordered(spec: str) -> list[int]:
        terms = adf.order_by_sql(adf.parse_order_by(spec, ATTRS), ORDERS, ATTRS)
        return list(db.conn.scalars(sa.select(ORDERS.c.HeaderId).order_by(*terms)))

    assert ordered("StatusCode:asc") == [2, 3, 1, 5, 4]
    assert ordered("StatusCode:desc") == [4, 5, 1, 3, 2]
    assert ordered("SubmittedFlag:asc,HeaderId:desc") == [3, 2, 5, 1, 4]
    assert ordered("LastUpdateDate") == [2, 1, 5, 3, 4]


# =============================================================================================== fields / expand


def test_parse_fields_reference_example() -> None:
    """§2.1 fields: ``HeaderId,OrderNumber;lines:LineId,StatusCode``; ``A.B:x`` nests; ``fields=`` is links only."""
    spec = adf.parse_fields("HeaderId,OrderNumber;lines:LineId,StatusCode")
    assert spec == adf.FieldsSpec(("HeaderId", "OrderNumber"), {"lines": adf.FieldsSpec(("LineId", "StatusCode"))})
    nested = adf.parse_fields("HeaderId;lines.charges:ChargeId;lines:LineId")
    assert nested == adf.FieldsSpec(("HeaderId",), {
        "lines": adf.FieldsSpec(("LineId",), {"charges": adf.FieldsSpec(("ChargeId",))}),
    })
    assert adf.parse_fields("") == adf.FieldsSpec(())
    assert adf.parse_fields("lines:") == adf.FieldsSpec(None, {"lines": adf.FieldsSpec(())})
    assert adf.parse_fields(None) is None
    for bad in ("Head Id", "HeaderId;;lines:LineId", "HeaderId,", ":LineId", "lines..x:LineId", "a;b-c:x"):
        with pytest.raises(AdfError) as info:
            adf.parse_fields(bad)
        assert info.value.detail == C.INVALID_PARAM_MESSAGE.format(param="fields", value=bad)


def test_parse_expand() -> None:
    """§2.1 expand: ``lines,billToCustomer``, ``all``, nested ``lines.charges`` (implies ``lines``)."""
    spec = adf.parse_expand("lines,billToCustomer")
    assert spec.select(["lines", "billToCustomer", "shipToCustomer", "totals"]) == ["lines", "billToCustomer"]
    everything = adf.parse_expand("all")
    assert everything.select(["lines", "totals"]) == ["lines", "totals"]
    assert everything.child("lines").select(["charges"]) == []  # contract: all is one level deep
    nested = adf.parse_expand("lines.charges")
    assert nested.select(["lines", "totals"]) == ["lines"]
    assert nested.child("lines").select(["charges", "lotSerials"]) == ["charges"]
    assert adf.parse_expand(None).select(["lines"]) == []
    with pytest.raises(AdfError) as info:
        adf.parse_expand("lines,nope").select(["lines"])
    assert info.value.detail == C.INVALID_PARAM_MESSAGE.format(param="expand", value="lines,nope")
    with pytest.raises(AdfError):
        adf.parse_expand("lines,,totals")


def test_fields_wins_over_expand() -> None:
    """§2.1: fields and expand are not combinable; with both, only fields counts (and expands what it names)."""
    fields, expand = adf.parse_shape({"fields": "HeaderId;lines:LineId", "expand": "all"})
    assert fields == adf.FieldsSpec(("HeaderId",), {"lines": adf.FieldsSpec(("LineId",))})
    assert expand.select(["lines", "billToCustomer"]) == ["lines"]
    fields, expand = adf.parse_shape({"expand": "billToCustomer"})
    assert fields is None and expand.select(["lines", "billToCustomer"]) == ["billToCustomer"]


def test_select_fields() -> None:
    """§2.1 fields: attributes in definition order, expanded children named by fields, links kept."""
    item = {"HeaderId": 1, "OrderNumber": "520123", "StatusCode": "OPEN", "lines": [{"LineId": 9}],
            "links": [{"rel": "self"}]}
    spec = adf.parse_fields("StatusCode,HeaderId;lines:LineId")
    assert spec is not None
    out = adf.select_fields(item, ATTR_ORDER, spec, children=["lines"])
    assert list(out) == ["HeaderId", "StatusCode", "lines", "links"]
    assert adf.select_fields(item, ATTR_ORDER, adf.FieldsSpec(())) == {"links": [{"rel": "self"}]}
    assert adf.select_fields(item, ATTR_ORDER, None) == item
    with pytest.raises(AdfError):
        adf.select_fields(item, ATTR_ORDER, adf.parse_fields("HeaderId,Nope") or adf.FieldsSpec(()))
    with pytest.raises(AdfError):
        adf.select_fields(item, ATTR_ORDER, adf.parse_fields("nope:X") or adf.FieldsSpec(()), children=["lines"])


# =============================================================================================== finder


def test_parse_finder() -> None:
    """§2.1 finder: ``PrimaryKey;DeliveryId=123`` and ``Name;var1=a,var2=b``; empty and quoted values."""
    assert adf.parse_finder("PrimaryKey;DeliveryId=123") == ("PrimaryKey", {"DeliveryId": "123"})
    assert adf.parse_finder("Name;var1=a,var2=b") == ("Name", {"var1": "a", "var2": "b"})
    assert adf.parse_finder("PyEmployeeFinder;EmpPrnVar=WK,EmpTermDate=,EmpTypeVar=H") == (
        "PyEmployeeFinder", {"EmpPrnVar": "WK", "EmpTermDate": "", "EmpTypeVar": "H"})
    assert adf.parse_finder("ByName;Name='Smith, O''Neil'") == ("ByName", {"Name": "Smith, O'Neil"})
    assert adf.parse_finder("PrimaryKey") == ("PrimaryKey", {})
    for bad in ("", ";x=1", "Name;var1", "Name;=1", "Na me;x=1", "Name;x='a'b"):
        with pytest.raises(AdfError) as info:
            adf.parse_finder(bad)
        assert info.value.detail == C.INVALID_PARAM_MESSAGE.format(param="finder", value=bad)


# =============================================================================================== paging and flags


def test_page_defaults_and_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """§2.1/§2.2: limit 25 and offset 0 by default; limit above 500 is capped (contract); bad values are 400s."""
    assert adf.page({}) == (25, 0)
    assert adf.page({"limit": "10", "offset": "30"}) == (10, 30)
    assert adf.page({"limit": "500"}) == (500, 0)
    assert adf.page({"limit": "501"}) == (500, 0)
    for params in ({"limit": "-1"}, {"limit": "abc"}, {"limit": "0"}, {"offset": "-5"}, {"offset": "1.5"},
                   {"limit": ""}):
        with pytest.raises(AdfError) as info:
            adf.page(params)
        (name, value), = params.items()
        assert info.value.detail == C.INVALID_PARAM_MESSAGE.format(param=name, value=value)
    monkeypatch.setattr(C, "LIMIT_OVER_MAX", "reject")
    with pytest.raises(AdfError):
        adf.page({"limit": "501"})


def test_total_results_and_only_data_flags() -> None:
    """§2.1: ``totalResults=true`` and ``onlyData=true``; absent is false; other values are 400 (contract)."""
    assert adf.wants_total({"totalResults": "true"}) and not adf.wants_total({})
    assert adf.only_data({"onlyData": "TRUE"}) and not adf.only_data({"onlyData": "false"})
    with pytest.raises(AdfError):
        adf.wants_total({"totalResults": "yes"})


# =============================================================================================== envelopes

POD = "https://pod/fscmRestApi/resources/11.13.18.05"


def test_item_links_like_reference() -> None:
    """§1.3 "Successful response" / §2.2: self (with changeIndicator), canonical, then child links."""
    links = adf.item_links(POD, "salesOrdersForOrderHub", "PSHOP:123", "ACED0005737200",
                           ["lines", "billToCustomer"])
    href = f"{POD}/salesOrdersForOrderHub/PSHOP:123"
    assert links == [
        {"rel": "self", "href": href, "name": "salesOrdersForOrderHub", "kind": "item",
         "properties": {"changeIndicator": "ACED0005737200"}},
        {"rel": "canonical", "href": href, "name": "salesOrdersForOrderHub", "kind": "item"},
        {"rel": "child", "href": f"{href}/child/lines", "name": "lines", "kind": "collection"},
        {"rel": "child", "href": f"{href}/child/billToCustomer", "name": "billToCustomer", "kind": "collection"},
    ]
    assert all(list(link)[:4] == ["rel", "href", "name", "kind"] for link in links)


def test_child_item_links() -> None:
    """§1.3: a child item's links are named after the accessor and point back to their parent."""
    links = adf.item_links(POD, "salesOrdersForOrderHub/300100560012345/child/lines", 77,
                           parent_href=f"{POD}/salesOrdersForOrderHub/300100560012345", canonical_key="77")
    assert [(lk["rel"], lk["name"], lk["kind"]) for lk in links] == [
        ("self", "lines", "item"), ("canonical", "lines", "item"), ("parent", "salesOrdersForOrderHub", "item")]
    assert links[0]["href"] == f"{POD}/salesOrdersForOrderHub/300100560012345/child/lines/77"
    assert "properties" not in links[0]
    assert adf.item_href(POD, "accounts", "A B/1") == f"{POD}/accounts/A%20B%2F1"


def test_collection_envelope_key_order() -> None:
    """§2.2: keys exactly items, totalResults (only when asked), count, hasMore, limit, offset, links."""
    self_href = f"{POD}/salesOrdersForOrderHub?limit=25&offset=0&totalResults=true"
    env = adf.collection([{"HeaderId": 1}] * 25, limit=25, offset=0, has_more=True, self_href=self_href, total=89)
    assert list(env) == ["items", "totalResults", "count", "hasMore", "limit", "offset", "links"]
    assert (env["totalResults"], env["count"], env["hasMore"], env["limit"], env["offset"]) == (89, 25, True, 25, 0)
    assert env["links"] == [{"rel": "self", "href": self_href, "name": "salesOrdersForOrderHub",
                             "kind": "collection"}]
    plain = adf.collection([], limit=25, offset=50, has_more=False, self_href=f"{POD}/shipmentLines")
    assert list(plain) == ["items", "count", "hasMore", "limit", "offset", "links"]
    assert plain["count"] == 0


def test_expanded_child_per_framework_version() -> None:
    """§2.2: an expanded child is a bare array for v1/v2 and a collection object from v3."""
    rows = [{"LineId": i} for i in range(30)]
    href = f"{POD}/salesOrdersForOrderHub/PSHOP:123/child/lines"
    assert adf.expanded_child(rows, 1, self_href=href) == rows
    assert adf.expanded_child(rows, 2, self_href=href) == rows
    nested = adf.expanded_child(rows, 3, self_href=href)
    assert isinstance(nested, dict)
    assert list(nested) == ["items", "count", "hasMore", "limit", "offset", "links"]
    assert (nested["count"], nested["hasMore"], nested["limit"], nested["offset"]) == (25, True, 25, 0)
    assert nested["links"][0]["name"] == "lines"
    small = adf.expanded_child(rows[:2], 4, self_href=href)
    assert isinstance(small, dict) and (small["count"], small["hasMore"]) == (2, False)


# =============================================================================================== properties

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
Truth = bool | None
Pred = Callable[[dict[str, Any]], Truth]


def _cmp(value: Any, op: str, literal: Any) -> Truth:
    return None if value is None else OPS[op](value, literal)


def _row_instant(row: dict[str, Any]) -> dt.datetime | None:
    return None if row["ts"] is None else dt.datetime.fromisoformat(row["ts"])


def _and(values: list[Truth]) -> Truth:
    return False if False in values else None if None in values else True


def _or(values: list[Truth]) -> Truth:
    return True if True in values else None if None in values else False


INT_LITERALS = st.integers(min_value=-6, max_value=6)
CMP_OPS = st.sampled_from(sorted(OPS))


@st.composite
def instants(draw: st.DrawFn) -> tuple[dt.datetime, str]:
    """An instant near the stored ones and one of its many spellings (zone, precision)."""
    ms = draw(st.sampled_from(MS_OFFSETS))
    micro = draw(st.sampled_from([0, 0, 1, 500, 999, 250_000]))
    when = BASE + dt.timedelta(milliseconds=ms, microseconds=micro)
    offset = draw(st.sampled_from([0, 0, 330, -480, 60]))
    local = when + dt.timedelta(minutes=offset)
    text = f"{local:%Y-%m-%dT%H:%M:%S}"
    if when.microsecond or draw(st.booleans()):
        text += f".{when.microsecond // 1000:03d}" if when.microsecond % 1000 == 0 else f".{when.microsecond:06d}"
    sign, mins = ("-" if offset < 0 else "+"), abs(offset)
    zones = [f"{sign}{mins // 60:02d}:{mins % 60:02d}", f"{sign}{mins // 60:02d}{mins % 60:02d}"]
    if offset == 0:
        zones += ["Z", ""]
    return when, text + draw(st.sampled_from(zones))


@st.composite
def int_or_ts_comparison(draw: st.DrawFn) -> tuple[str, Pred]:
    op = draw(CMP_OPS)
    if draw(st.booleans()):
        n = draw(INT_LITERALS)
        return f"n {op} {n}", lambda r: _cmp(r["n"], op, n)
    when, text = draw(instants())
    return f"ts {op} '{text}'", lambda r: _cmp(_row_instant(r), op, when)


def _like_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if ch in "%*" else "." if ch == "_" else re.escape(ch) for ch in pattern),
                      re.DOTALL)


def _rowmatch_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def leaf(draw: st.DrawFn) -> tuple[str, Pred]:
    kind = draw(st.sampled_from(["cmp", "cmp", "like", "s_eq", "null", "between", "in"]))
    if kind == "cmp":
        return draw(int_or_ts_comparison())
    if kind == "like":
        pattern = draw(st.text(alphabet="aA%_*[?b'", max_size=4))
        rx = _like_regex(pattern)
        return f"s like {_rowmatch_string(pattern)}", lambda r: None if r["s"] is None else bool(rx.fullmatch(r["s"]))
    if kind == "s_eq":
        op = draw(CMP_OPS)
        text = draw(st.text(alphabet="aA%_*b", min_size=1, max_size=3))
        return f"s {op} {_rowmatch_string(text)}", lambda r: _cmp(r["s"], op, text)
    if kind == "null":
        col, neg = draw(st.sampled_from(["n", "ts", "s"])), draw(st.booleans())
        return f"{col} is {'not ' if neg else ''}null", lambda r: (r[col] is None) != neg
    if kind == "between":
        lo, hi = draw(INT_LITERALS), draw(INT_LITERALS)
        return f"n between {lo} and {hi}", lambda r: _and([_cmp(r["n"], ">=", lo), _cmp(r["n"], "<=", hi)])
    values = draw(st.lists(INT_LITERALS, min_size=1, max_size=3))
    return (f"n in ({', '.join(map(str, values))})",
            lambda r: None if r["n"] is None else r["n"] in values)


def _extend(children: st.SearchStrategy[tuple[str, Pred]]) -> st.SearchStrategy[tuple[str, Pred]]:
    def combine(parts: list[tuple[str, Pred]], word: str) -> tuple[str, Pred]:
        fold = _and if word == "and" else _or
        preds = [p for _, p in parts]
        return f" {word} ".join(f"({t})" for t, _ in parts), lambda r: fold([p(r) for p in preds])

    def negate(part: tuple[str, Pred]) -> tuple[str, Pred]:
        text, pred = part

        def neg(r: dict[str, Any]) -> Truth:
            v = pred(r)
            return None if v is None else not v

        return f"not ({text})", neg

    pairs = st.lists(children, min_size=2, max_size=3)
    return st.one_of(
        st.builds(combine, pairs, st.just("and")), st.builds(combine, pairs, st.just("or")), children.map(negate)
    )


EXPRESSIONS = st.recursive(leaf(), _extend, max_leaves=6)


def _prop_ids(db: Db, q: str, version: int = 4) -> list[int]:
    return db.ids(adf.to_sql(adf.parse_q(q, version, PROP_ATTRS), PROPS), PROPS)


def _model_ids(pred: Pred, want: Truth = True) -> list[int]:
    return [r["id"] for r in PROP_ROWS if pred(r) is want]


@QUICK
@given(st.lists(int_or_ts_comparison(), min_size=1, max_size=4))
def test_conjunctions_match_python_model(db: Db, comparisons: list[tuple[str, Pred]]) -> None:
    """§2.1 rowmatch: random ANDs of integer and datetime comparisons (any literal spelling) select what Python does."""
    q = " and ".join(text for text, _ in comparisons)
    assert _prop_ids(db, q, 2) == _model_ids(lambda r: _and([p(r) for _, p in comparisons])), q


@QUICK
@given(EXPRESSIONS)
def test_not_selects_the_false_rows(db: Db, expr: tuple[str, Pred]) -> None:
    """§2.1 ``not``: three-valued logic (contract): X selects the true rows, ``not (X)`` exactly the false ones;
    rows where X is unknown (NULLs) are in neither, every other row is in exactly one."""
    text, pred = expr
    selected, negated = _prop_ids(db, text), _prop_ids(db, f"not ({text})")
    assert selected == _model_ids(pred, True), text
    assert negated == _model_ids(pred, False), text
    unknown = _model_ids(pred, None)
    assert sorted(selected + negated + unknown) == [r["id"] for r in PROP_ROWS]


@st.composite
def qbe_and_rowmatch(draw: st.DrawFn) -> tuple[str, str]:
    """One criterion written both ways: v1 QBE and the equivalent v2+ rowmatch."""
    kind = draw(st.sampled_from(["n", "ts", "s", "range"]))
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
    if kind == "n":
        n = draw(INT_LITERALS)
        return f"n{op}{n}", f"n {op} {n}"
    if kind == "range":
        lo, hi = draw(INT_LITERALS), draw(INT_LITERALS)
        return f"n>={lo} and <={hi}", f"n between {lo} and {hi}"
    if kind == "ts":
        _, text = draw(instants())
        return f"ts{op}{text}", f"ts {op} '{text}'"
    value = draw(st.text(alphabet="aAb*", min_size=1, max_size=3))
    if "*" in value and op in ("=", "!="):
        return f"s{op}{value}", f"s {'not ' if op == '!=' else ''}like '{value}'"
    return f"s{op}{value}", f"s {op} '{value}'"


@QUICK
@given(st.lists(qbe_and_rowmatch(), min_size=1, max_size=3))
def test_qbe_equals_rowmatch(db: Db, criteria: list[tuple[str, str]]) -> None:
    """§2.1: a v1 QBE filter and its v2+ rowmatch spelling select the same rows."""
    qbe = ";".join(a for a, _ in criteria)
    rowmatch = " and ".join(b for _, b in criteria)
    assert _prop_ids(db, qbe, 1) == _prop_ids(db, rowmatch, 4), (qbe, rowmatch)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.one_of(st.none(), st.integers(-3, 3)), st.sampled_from([None, "a", "B", "b"])),
             max_size=40),
    st.integers(min_value=1, max_value=9),
    st.sampled_from(["n:asc,id", "n:desc,id:asc", "s,n:desc,id:desc", "id:desc"]),
)
def test_paging_visits_every_row_once(db: Db, values: list[tuple[int | None, str | None]], limit: int,
                                      order: str) -> None:
    """§2.2 pagination: ``offset += count`` while ``hasMore`` over a stable sort visits each row exactly once,
    in the sort's order (NULLs high)."""
    rows = [{"id": i, "n": n, "s": s} for i, (n, s) in enumerate(values)]
    db.conn.execute(PAGED.delete())
    if rows:
        db.conn.execute(PAGED.insert(), rows)
    sort = adf.order_by_sql(adf.parse_order_by(order, PAGED_ATTRS), PAGED, PAGED_ATTRS)
    seen: list[int] = []
    offset, pages = 0, 0
    while True:
        size, start = adf.page({"limit": str(limit), "offset": str(offset)})
        fetched = list(db.conn.scalars(sa.select(PAGED.c.id).order_by(*sort).limit(size + 1).offset(start)))
        env = adf.collection(fetched[:size], limit=size, offset=start, has_more=len(fetched) > size,
                             self_href=f"{POD}/paged?offset={start}")
        seen.extend(env["items"])
        offset += env["count"]
        pages += 1
        assert pages <= len(rows) + 1
        if not env["hasMore"]:
            break
    db.conn.rollback()
    assert seen == _python_sorted(rows, order)


def _python_sorted(rows: list[dict[str, Any]], order: str) -> list[int]:
    out = list(rows)
    for name, asc in reversed(adf.parse_order_by(order, PAGED_ATTRS)):
        # Oracle puts NULLs high: last ascending, first descending (stable sorts from the last key back).
        out.sort(key=lambda r, n=name: (r[n] is None, r[n] if r[n] is not None else 0), reverse=not asc)
    return [r["id"] for r in out]
