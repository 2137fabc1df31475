"""The Fusion client's q builder: no value can break out of its quotes, in rowmatch (v2+) or QBE (v1).

The filters are parsed back with a tokenizer and a recursive-descent parser written here from the reference's
grammar (§2.1: single-quoted strings with ``''`` for a quote, ``and``/``or``/``not``, parentheses, ``in``,
``between``, ``is null``, ``like``), independent of the client and of the emulator, and the parse must give back
exactly the tree that was built, with every value intact.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prestaoracle.oracle import fusion_query as fq
from prestaoracle.oracle.fusion_query import Q, QueryError

SETTINGS = settings(max_examples=200, deadline=None)
TREES = settings(max_examples=120, deadline=None)

# ------------------------------------------------------------------------------------------------- a tiny parser

_TOKEN = re.compile(
    r"\s*(?:(?P<str>')|(?P<num>-?[0-9]+(?:\.[0-9]+)?)(?![A-Za-z0-9_])|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>>=|<=|!=|=|<|>)|(?P<punct>[(),]))"
)


def tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while text[pos:].strip():
        m = _TOKEN.match(text, pos)
        assert m is not None, f"cannot tokenize at {pos}: {text[pos:pos + 20]!r}"
        kind = m.lastgroup or ""
        if kind == "str":
            i, chunks = m.end(), []
            while True:
                j = text.index("'", i)  # ValueError = unterminated string: a failed test
                chunks.append(text[i:j])
                if text.startswith("''", j):
                    chunks.append("'")
                    i = j + 2
                    continue
                pos = j + 1
                break
            out.append(("str", "".join(chunks)))
            continue
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class Parser:
    """or < and < not < (parenthesised | predicate); returns nested tuples."""

    def __init__(self, text: str) -> None:
        self.toks = tokenize(text) + [("end", "")]
        self.i = 0

    def parse(self) -> Any:
        tree = self.or_()
        assert self.toks[self.i] == ("end", ""), f"trailing tokens: {self.toks[self.i:]}"
        return tree

    def take(self) -> tuple[str, str]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def kw(self, word: str) -> bool:
        kind, text = self.toks[self.i]
        return kind == "ident" and text.lower() == word

    def or_(self) -> Any:
        terms = [self.and_()]
        while self.kw("or"):
            self.take()
            terms.append(self.and_())
        return terms[0] if len(terms) == 1 else ("or", tuple(terms))

    def and_(self) -> Any:
        terms = [self.not_()]
        while self.kw("and"):
            self.take()
            terms.append(self.not_())
        return terms[0] if len(terms) == 1 else ("and", tuple(terms))

    def not_(self) -> Any:
        if self.kw("not"):
            self.take()
            return ("not", self.not_())
        if self.toks[self.i] == ("punct", "("):
            self.take()
            inner = self.or_()
            assert self.take() == ("punct", ")")
            return inner
        return self.predicate()

    def predicate(self) -> Any:
        kind, attr = self.take()
        assert kind == "ident"
        kind, text = self.take()
        if kind == "op":
            return ("cmp", attr, text, self.take())
        if text == "is":
            negated = self.kw("not")
            if negated:
                self.take()
            assert self.take() == ("ident", "null")
            return ("null", attr, negated)
        negated = text == "not"
        if negated:
            kind, text = self.take()
        if text == "in":
            assert self.take() == ("punct", "(")
            values = [self.take()]
            while self.toks[self.i] == ("punct", ","):
                self.take()
                values.append(self.take())
            assert self.take() == ("punct", ")")
            return ("in", attr, negated, tuple(values))
        if text == "like":
            return ("like", attr, negated, self.take())
        if text == "between":
            low = self.take()
            assert self.take() == ("ident", "and")
            return ("between", attr, low, self.take())
        raise AssertionError(f"unexpected {text!r}")


# ------------------------------------------------------------------------------------------------- expectations


def token_of(value: Any) -> tuple[str, str]:
    if isinstance(value, bool):
        return ("ident", "true" if value else "false")
    if isinstance(value, int):
        return ("num", str(value))
    if isinstance(value, dt.datetime):
        return ("str", fq.format_datetime(value))
    if isinstance(value, str):
        return ("str", value)
    raise AssertionError(value)


def expected(node: Any, version: int) -> Any:
    """The tree the parser must read back from ``build(node).render(version)``."""
    kind = node[0]
    if kind == "cmp":
        return ("cmp", node[1], node[2], token_of(node[3]))
    if kind == "in":
        if version >= fq.IN_MIN_VERSION:
            return ("in", node[1], False, tuple(token_of(v) for v in node[2]))
        items = tuple(("cmp", node[1], "=", token_of(v)) for v in node[2])
        return items[0] if len(items) == 1 else ("or", items)
    if kind == "not":
        return ("not", expected(node[1], version))
    terms = []
    for child in node[1]:
        sub = expected(child, version)
        # the builder flattens nested and/and and or/or, the parser reads them flat too
        if sub[0] == kind and child[0] == kind:
            terms.extend(sub[1])
        else:
            terms.append(sub)
    return terms[0] if len(terms) == 1 else (kind, tuple(terms))


def build(node: Any) -> Q:
    kind = node[0]
    if kind == "cmp":
        return {"=": fq.eq, "!=": fq.ne, "<": fq.lt, "<=": fq.le, ">": fq.gt, ">=": fq.ge}[node[2]](node[1], node[3])
    if kind == "in":
        return fq.in_(node[1], node[2])
    if kind == "not":
        return fq.not_(build(node[1]))
    return (fq.and_ if kind == "and" else fq.or_)(*(build(c) for c in node[1]))


attrs = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda a: a.lower() not in ("and", "or", "not", "in", "is", "like", "between", "null", "true", "false"))
instants = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                                                   dt.timezone(dt.timedelta(hours=-8))]))
values = st.one_of(st.text(), st.integers(-(10**12), 10**12), st.booleans(), instants,
                   st.text(alphabet="' ;()=<>!,andor*%\"\\\n\t"))
ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
leaves = st.one_of(
    st.tuples(st.just("cmp"), attrs, ops, values),
    st.tuples(st.just("in"), attrs, st.lists(st.one_of(st.text(), st.integers()), min_size=1, max_size=4)),
)
trees = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.tuples(st.just("and"), st.lists(kids, min_size=2, max_size=3)),
        st.tuples(st.just("or"), st.lists(kids, min_size=2, max_size=3)),
        st.tuples(st.just("not"), kids),
    ),
    max_leaves=8,
)


# ------------------------------------------------------------------------------------------------- rowmatch


@SETTINGS
@given(attr=attrs, value=st.text(), version=st.integers(2, 9))
def test_any_string_stays_one_quoted_literal(attr: str, value: str, version: int) -> None:
    text = fq.eq(attr, value).render(version)
    assert tokenize(text) == [("ident", attr), ("op", "="), ("str", value)]


@TREES
@given(tree=trees, version=st.integers(2, 9))
def test_any_tree_parses_back_to_itself(tree: Any, version: int) -> None:
    text = build(tree).render(version)
    assert Parser(text).parse() == expected(tree, version)


@SETTINGS
@given(moment=instants)
def test_datetimes_are_iso_utc_and_exact(moment: dt.datetime) -> None:
    text = fq.format_datetime(moment)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?\+00:00", text)
    assert dt.datetime.fromisoformat(text) == moment


@SETTINGS
@given(number=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.decimals(allow_nan=False,
                                                                                      allow_infinity=False)))
def test_numbers_are_plain_decimals(number: float | Decimal) -> None:
    text = fq.literal(number)
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text), text
    assert Decimal(text) == Decimal(repr(number) if isinstance(number, float) else number)


@SETTINGS
@given(name=st.text())
def test_attribute_names_cannot_carry_syntax(name: str) -> None:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        assert fq.eq(name, 1).render(4) == f"{name} = 1"
    else:
        with pytest.raises(QueryError):
            fq.eq(name, 1)


def test_examples_from_the_reference() -> None:
    since = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)
    flt = fq.gt("LastUpdateDate", since) & fq.eq("SourceTransactionSystem", "PSHOP")
    assert flt.render(2) == "LastUpdateDate > '2025-01-15T10:00:00+00:00' and SourceTransactionSystem = 'PSHOP'"
    assert fq.in_("StatusCode", ["OPEN", "CLOSED"]).render(5) == "StatusCode in ('OPEN', 'CLOSED')"
    assert fq.in_("StatusCode", ["OPEN", "CLOSED"]).render(4) == "(StatusCode = 'OPEN' or StatusCode = 'CLOSED')"
    assert fq.eq("Name", "O'Brien").render() == "Name = 'O''Brien'"
    assert (fq.eq("A", 1) | fq.eq("B", 2)) & fq.eq("C", True) == fq.and_(fq.or_(fq.eq("A", 1), fq.eq("B", 2)),
                                                                          fq.eq("C", True))
    assert ((fq.eq("A", 1) | fq.eq("B", 2)) & fq.eq("C", True)).render() == "(A = 1 or B = 2) and C = true"
    assert (~fq.is_null("X") | fq.between("N", 1, 2.5)).render() == "not (X is null) or N between 1 and 2.5"
    assert fq.like("Name", "Web%").render() == "Name like 'Web%'"
    assert fq.eq("D", dt.date(2025, 1, 2)).render() == "D = '2025-01-02'"
    naive = dt.datetime(2025, 1, 15, 10, 0, 0, 123000)
    assert fq.literal(naive) == "'2025-01-15T10:00:00.123+00:00'"


def test_bad_values_are_refused() -> None:
    for bad in (None, float("nan"), float("inf"), Decimal("NaN"), object(), b"bytes"):
        with pytest.raises(QueryError):
            fq.eq("A", bad)
    with pytest.raises(QueryError):
        fq.in_("A", [])
    with pytest.raises(QueryError):
        fq.and_()


# ------------------------------------------------------------------------------------------------- QBE (v1)


def qbe_criteria(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Split QBE into criteria: ``Attr op value (and|or op value)*`` separated by ``;`` outside quotes."""
    out = []
    pos = 0
    while True:
        m = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)").match(text, pos)
        assert m, text[pos:]
        attr, pos = m.group(1), m.end()
        chain: list[tuple[str, str]] = []
        while True:
            om = re.compile(r"(>=|<=|!=|=|<|>)").match(text, pos)
            assert om, text[pos:]
            op, pos = om.group(1), om.end()
            if text.startswith("'", pos):
                i, chunks = pos + 1, []
                while True:
                    j = text.index("'", i)
                    chunks.append(text[i:j])
                    if text.startswith("''", j):
                        chunks.append("'")
                        i = j + 2
                        continue
                    pos = j + 1
                    break
                value = "".join(chunks)
            else:
                vm = re.compile(r"[A-Za-z0-9_.:+@/-]+").match(text, pos)
                assert vm, text[pos:]
                value, pos = vm.group(0), vm.end()
            chain.append((op, value))
            cm = re.compile(r" (and|or) ").match(text, pos)
            if not cm:
                break
            pos = cm.end()
        out.append((attr, chain))
        if pos == len(text):
            return out
        assert text[pos] == ";", text[pos:]
        pos += 1


qbe_text = st.text().filter(lambda s: "*" not in s)


@SETTINGS
@given(pairs=st.lists(st.tuples(attrs, qbe_text), min_size=1, max_size=4))
def test_qbe_values_cannot_break_out(pairs: list[tuple[str, str]]) -> None:
    text = fq.and_(*(fq.eq(a, v) for a, v in pairs)).render(1)
    assert qbe_criteria(text) == [(a, [("=", v)]) for a, v in pairs]


@SETTINGS
@given(attr=attrs, chosen=st.lists(qbe_text, min_size=1, max_size=4), other=attrs, when=instants)
def test_qbe_in_chains_and_dates(attr: str, chosen: list[str], other: str, when: dt.datetime) -> None:
    text = (fq.in_(attr, chosen) & fq.gt(other, when)).render(1)
    assert qbe_criteria(text) == [(attr, [("=", v) for v in chosen]), (other, [(">", fq.format_datetime(when))])]


def test_qbe_examples_and_limits() -> None:
    assert (fq.eq("OrganizationCode", "M1") & fq.eq("ItemNumber", "AS54888")).render(1) == \
        "OrganizationCode=M1;ItemNumber=AS54888"
    assert fq.between("Deptno", 10, 30).render(1) == "Deptno>=10 and <=30"
    assert fq.eq("Name", "and").render(1) == "Name='and'"
    assert fq.like("Name", "Web*").render(1) == "Name='Web*'"
    for q in (fq.eq("A", 1) | fq.eq("B", 1), fq.not_(fq.eq("A", 1)), fq.is_null("A"), fq.eq("A", "x*y"),
              fq.like("A", "x%")):
        with pytest.raises(QueryError):
            q.render(1)
