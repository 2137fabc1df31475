"""The generic Oracle ADF REST framework layer of the Fusion emulator: query parameters, errors and envelopes.

Every Fusion resource is a SQL table whose columns carry the Oracle attribute names, described by :class:`Attr`.
This module turns the framework's query parameters (``q``, ``orderBy``, ``fields``, ``expand``, ``finder``,
``limit``/``offset``, ``totalResults``, ``onlyData``) into checked values and SQLAlchemy Core expressions that
select the same rows on SQLite and PostgreSQL, and builds the JSON shapes (links, collections, errors) that ADF
returns. Behaviour the reference marks [VERIFY] is read from :mod:`contract` so it can change in one place.

Storage conventions the SQL relies on: datetimes are ``YYYY-MM-DDTHH:MM:SS.fff+00:00`` strings in UTC, dates
``YYYY-MM-DD``, booleans 0/1 integers. Fixed-width UTC strings order like the instants they name, so datetime
literals are rewritten into the same format and compared as text under a binary collation.
"""

from __future__ import annotations

import datetime as dt
import enum
import http
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from prestaoracle.sandbox.oracle import contract as C

ATTR_TYPES = frozenset({"string", "integer", "number", "boolean", "datetime", "date"})
_TEXT_KINDS = frozenset({"string", "datetime", "date"})


@dataclass(frozen=True)
class Attr:
    """One attribute of a resource as ``/describe`` lists it; ``type`` is one of :data:`ATTR_TYPES`."""

    name: str
    type: str
    queryable: bool = True
    updatable: bool = True
    required: bool = False

    def __post_init__(self) -> None:
        if self.type not in ATTR_TYPES:
            raise ValueError(f"attribute {self.name}: unknown type {self.type!r}")


# =============================================================================================== errors


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of ``o:errorDetails``: a message, optionally an Oracle message code and the payload path."""

    detail: str
    error_code: str | None = None
    path: str | None = None


class AdfError(Exception):
    """An HTTP error as the ADF framework answers it; :func:`render_error` turns it into a response body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        error_code: str | None = None,
        path: str | None = None,
        title: str | None = None,
        more: Sequence[ErrorDetail] = (),
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.details: tuple[ErrorDetail, ...] = (ErrorDetail(detail, error_code, path), *more)
        self.title = title if title is not None else _phrase(status)

    @property
    def detail(self) -> str:
        return self.details[0].detail


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def invalid_param(param: str, value: str) -> AdfError:
    """The 400 every malformed query parameter gets (one Oracle-like wording, see ``contract``)."""
    return AdfError(400, C.INVALID_PARAM_MESSAGE.format(param=param, value=value))


def render_error(err: AdfError, framework_version: int, accept_header: str | None) -> tuple[int, str, bytes]:
    """``(status, content type, body)``: plain text, or the ``o:errorDetails`` document from v4 with a JSON Accept."""
    if framework_version >= C.JSON_ERROR_MIN_VERSION and _accepts_json_error(accept_header):
        doc: dict[str, Any] = {}
        if err.status in C.ERROR_TYPE_URLS:
            doc["type"] = C.ERROR_TYPE_URLS[err.status]
        doc["title"] = err.title
        doc["status"] = str(err.status)
        doc["o:errorDetails"] = [_detail_json(d) for d in err.details]
        return err.status, C.JSON_ERROR_CONTENT_TYPE, json.dumps(doc, ensure_ascii=False).encode()
    text = C.PLAIN_ERROR_SEPARATOR.join(d.detail for d in err.details)
    return err.status, C.PLAIN_ERROR_CONTENT_TYPE, text.encode()


def _detail_json(d: ErrorDetail) -> dict[str, Any]:
    out: dict[str, Any] = {"detail": d.detail}
    for key, value in (("o:errorCode", d.error_code), ("o:errorPath", d.path)):
        if value is not None or not C.ERROR_DETAIL_OMIT_ABSENT:
            out[key] = value
    return out


def _accepts_json_error(accept: str | None) -> bool:
    for media_range in (accept or "").split(","):
        media, *params = (p.strip() for p in media_range.split(";"))
        if media.lower() not in C.JSON_ERROR_ACCEPT_TYPES:
            continue
        weight = next((p.partition("=")[2] for p in params if p.lower().startswith("q=")), "1")
        try:
            if float(weight) > 0:
                return True
        except ValueError:
            return True
    return False


_POSITIVE_INT = re.compile(r"[0-9]+")


def framework_version(headers: Mapping[str, str]) -> int:
    """The ``REST-Framework-Version`` the request asks for (header names are case-insensitive)."""
    raw = headers.get(C.FRAMEWORK_VERSION_HEADER)
    if raw is None:
        wanted = C.FRAMEWORK_VERSION_HEADER.lower()
        raw = next((v for k, v in headers.items() if k.lower() == wanted), None)
    if raw is None:
        return C.DEFAULT_FRAMEWORK_VERSION
    text = raw.strip()
    if not _POSITIVE_INT.fullmatch(text) or not 1 <= int(text) <= C.MAX_FRAMEWORK_VERSION:
        raise AdfError(400, C.INVALID_FRAMEWORK_VERSION_MESSAGE.format(value=raw))
    return int(text)


# =============================================================================================== expressions

Value = str | int | float


class Wild(enum.Enum):
    """A LIKE wildcard inside a pattern, kept apart from literal text so no escaping rules leak between dialects."""

    ANY = "any"
    ONE = "one"


Pattern = tuple[str | Wild, ...]


@dataclass(frozen=True)
class Compare:
    """``attr op value`` with ``op`` one of ``= != < <= > >=``; ``upper`` compares ``UPPER(attr)``."""

    attr: str
    kind: str
    op: str
    value: Value
    upper: bool = False


@dataclass(frozen=True)
class Between:
    attr: str
    kind: str
    low: Value
    high: Value
    negated: bool = False
    upper: bool = False


@dataclass(frozen=True)
class InList:
    attr: str
    kind: str
    values: tuple[Value, ...]
    negated: bool = False
    upper: bool = False


@dataclass(frozen=True)
class Like:
    attr: str
    kind: str
    pattern: Pattern
    negated: bool = False
    upper: bool = False


@dataclass(frozen=True)
class IsNull:
    attr: str
    negated: bool = False


@dataclass(frozen=True)
class And:
    """All terms; ``And(())`` is true (an absent or empty ``q``)."""

    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    term: Expr


Expr = Compare | Between | InList | Like | IsNull | And | Or | Not
TRUE: Expr = And(())

# --------------------------------------------------------------------------------------------- literal values

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_INT64 = 2**63


class _Reject(ValueError):
    """Text that does not parse or fit its attribute; the caller turns it into the parameter's 400."""


def _coerce(attr: Attr, text: str) -> Value:
    kind = attr.type
    if kind == "string":
        return text
    if kind in ("integer", "number"):
        if not _NUMBER.fullmatch(text):
            raise _Reject
        return _number(text)
    if kind == "boolean":
        low = text.lower()
        if low in C.BOOLEAN_TRUE_LITERALS:
            return 1
        if low in C.BOOLEAN_FALSE_LITERALS:
            return 0
        raise _Reject
    if kind == "date":
        return _date(text)
    return instant(text)


def _number(text: str) -> int | float:
    if re.fullmatch(r"[+-]?[0-9]+", text) and abs(int(text)) < _INT64:
        return int(text)
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise _Reject
    return value


def _date(text: str) -> str:
    m = _DATE.fullmatch(text)
    if m is None:
        raise _Reject
    try:
        return dt.date(*map(int, m.groups())).isoformat()
    except ValueError:
        raise _Reject from None


def instant(text: str) -> str:
    """A datetime literal rewritten as the stored UTC format, so text order is time order.

    Accepts ``Z``, ``±HH:MM``/``±HHMM`` or no zone (UTC, per ``contract``), any number of fraction digits, and a
    bare date (midnight). Digits past the millisecond are kept after the three stored ones: ``+`` sorts below
    every digit, so ``…00.000+00:00`` < ``…00.0005+00:00`` < ``…00.001+00:00`` still holds as text.
    Raises ``ValueError`` for anything else.
    """
    m = _DATETIME.fullmatch(text.strip())
    if m is None:
        raise _Reject
    y, mo, d, h, mi, s, frac, zone = m.groups()
    try:
        when = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
        if zone and zone not in ("Z", "z"):
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = int(zone[1:3]), int(zone[-2:])
            if hours > 23 or minutes > 59:
                raise _Reject
            when -= sign * dt.timedelta(hours=hours, minutes=minutes)
        elif not zone and not C.NAIVE_DATETIME_IS_UTC:
            raise _Reject
    except (ValueError, OverflowError):
        raise _Reject from None
    if not 1 <= when.year <= 9999:
        raise _Reject
    digits = frac or ""
    millis, extra = (digits + "000")[:3], digits[3:].rstrip("0")
    return f"{when:%Y-%m-%dT%H:%M:%S}.{millis}{extra}+00:00"


def _check_op(attr: Attr, op: str) -> None:
    if attr.type == "boolean" and op not in ("=", "!="):
        raise _Reject


def _lookup(attrs: Mapping[str, Attr], name: str) -> Attr:
    attr = attrs.get(name)
    if attr is None or not attr.queryable:
        raise _Reject
    return attr


# --------------------------------------------------------------------------------------------- q: entry point


def parse_q(q: str | None, version: int, attrs: Mapping[str, Attr]) -> Expr:
    """``q`` as QBE (framework v1) or rowmatch (v2+), checked against the resource's queryable attributes."""
    if q is None or not q.strip():
        if C.EMPTY_Q_MATCHES_ALL or q is None:
            return TRUE
        raise invalid_param("q", q)
    try:
        if version >= C.ROWMATCH_MIN_VERSION:
            try:
                return _Rowmatch(q, version, attrs).parse()
            except _Reject:
                if not C.ROWMATCH_FALLS_BACK_TO_QBE:
                    raise
        return _parse_qbe(q, attrs)
    except _Reject:
        raise invalid_param("q", q) from None


# --------------------------------------------------------------------------------------------- q: QBE (v1)

_QBE_ATTR = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|<>|=|>|<)")
_QBE_BREAK = re.compile(r";|\s+(and|or)\s*(?=>=|<=|!=|<>|=|>|<)", re.IGNORECASE)
_QBE_OP = re.compile(r"\s*(>=|<=|!=|<>|=|>|<)")


def _parse_qbe(q: str, attrs: Mapping[str, Attr]) -> Expr:
    """``Attr=val;Attr2>5``: ``;`` is AND; a value may chain ``and``/``or`` + operator on the same attribute."""
    terms: list[Expr] = []
    pos = 0
    while True:
        m = _QBE_ATTR.match(q, pos)
        if m is None:
            raise _Reject
        attr = _lookup(attrs, m.group(1))
        op, pos = m.group(2), m.end()
        # One attribute's criteria: ``>=10 and <= 30`` ; ``and`` binds tighter than ``or``.
        groups: list[list[Expr]] = [[]]
        while True:
            text, pos = _qbe_value(q, pos)
            groups[-1].append(_qbe_condition(attr, "!=" if op == "<>" else op, text))
            brk = _QBE_BREAK.match(q, pos)
            if brk is None or brk.group(1) is None:
                break
            if brk.group(1).lower() == "or":
                groups.append([])
            om = _QBE_OP.match(q, brk.end())
            assert om is not None  # the lookahead above saw an operator
            op, pos = om.group(1), om.end()
        ors = [g[0] if len(g) == 1 else And(tuple(g)) for g in groups]
        terms.append(ors[0] if len(ors) == 1 else Or(tuple(ors)))
        if pos == len(q):
            break
        if q[pos] != ";":
            raise _Reject
        pos += 1
    return terms[0] if len(terms) == 1 else And(tuple(terms))


def _qbe_value(q: str, pos: int) -> tuple[str, int]:
    """The value starting at ``pos`` (quoted with ``''`` escapes, or bare up to ``;``/a chained criterion)."""
    lead = len(q[pos:]) - len(q[pos:].lstrip())
    if q.startswith("'", pos + lead):
        text, end = _quoted(q, pos + lead)
        rest = len(q) - len(q[end:].lstrip())
        if rest == len(q) or q[rest] == ";":
            return text, rest
        brk = _QBE_BREAK.match(q, end)
        if brk is None or brk.group(1) is None:
            raise _Reject
        return text, end
    brk = _QBE_BREAK.search(q, pos)
    end = brk.start() if brk else len(q)
    text = q[pos:end].strip()
    if not text:
        raise _Reject
    return text, end


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """A single-quoted literal at ``pos`` (``''`` is a quote); returns its text and the index after it."""
    out, i = [], pos + 1
    while True:
        j = text.find("'", i)
        if j < 0:
            raise _Reject
        out.append(text[i:j])
        if text.startswith("''", j):
            out.append("'")
            i = j + 2
            continue
        return "".join(out), j + 1


def _qbe_condition(attr: Attr, op: str, text: str) -> Expr:
    _check_op(attr, op)
    if attr.type == "string" and op in ("=", "!=") and C.QBE_WILDCARD in text:
        parts: list[str | Wild] = []
        for i, chunk in enumerate(text.split(C.QBE_WILDCARD)):
            if i:
                parts.append(Wild.ANY)
            if chunk:
                parts.append(chunk)
        return Like(attr.name, attr.type, tuple(parts), negated=op == "!=")
    return Compare(attr.name, attr.type, op, _coerce(attr, text))


# --------------------------------------------------------------------------------------------- q: rowmatch (v2+)

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<str>')"
    r"|(?P<num>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)(?![A-Za-z0-9_])"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>>=|<=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),])"
    r")"
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # str | num | ident | op | punct | end
    text: str

    def kw(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.lower() in words


def _tokenize(q: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while q[pos:].strip():
        m = _TOKEN.match(q, pos)
        if m is None:
            raise _Reject
        kind = m.lastgroup or ""
        if kind == "str":
            text, pos = _quoted(q, m.start("str"))
            out.append(_Tok("str", text))
            continue
        out.append(_Tok(kind, m.group(kind)))
        pos = m.end()
    out.append(_Tok("end", ""))
    return out


class _Rowmatch:
    """Recursive descent over ``or`` < ``and`` < ``not`` < predicate, with SQL's precedence."""

    def __init__(self, q: str, version: int, attrs: Mapping[str, Attr]) -> None:
        self.toks = _tokenize(q)
        self.i = 0
        self.version = version
        self.attrs = attrs
        self.depth = 0

    def parse(self) -> Expr:
        expr = self.or_()
        if self.peek.kind != "end":
            raise _Reject
        return expr

    @property
    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind == "end":
            raise _Reject
        self.i += 1
        return tok

    def expect(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.take()
        if tok.kind != kind or (text is not None and tok.text.lower() != text):
            raise _Reject
        return tok

    def or_(self) -> Expr:
        terms = [self.and_()]
        while self.peek.kw("or"):
            self.take()
            terms.append(self.and_())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def and_(self) -> Expr:
        terms = [self.not_()]
        while self.peek.kw("and"):
            self.take()
            terms.append(self.not_())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def not_(self) -> Expr:
        if self.peek.kw("not"):
            self.take()
            return Not(self.not_())
        if self.peek.kind == "punct" and self.peek.text == "(":
            self.take()
            self.depth += 1
            if self.depth > C.MAX_Q_NESTING:
                raise _Reject
            expr = self.or_()
            self.depth -= 1
            self.expect("punct", ")")
            return expr
        return self.predicate()

    def predicate(self) -> Expr:
        name = self.expect("ident").text
        upper = False
        if name.upper() == "UPPER" and self.peek.kind == "punct" and self.peek.text == "(":
            self.take()
            name = self.expect("ident").text
            self.expect("punct", ")")
            upper = True
        attr = _lookup(self.attrs, name)
        if upper and attr.type != "string":
            raise _Reject
        tok = self.take()
        if tok.kind == "op":
            op = "!=" if tok.text == "<>" else tok.text
            _check_op(attr, op)
            return Compare(attr.name, attr.type, op, self.literal(attr), upper)
        if tok.kw("is"):
            negated = self.peek.kw("not")
            if negated:
                self.take()
            if not self.take().kw("null"):
                raise _Reject
            return IsNull(attr.name, negated)
        negated = tok.kw("not")
        if negated:
            tok = self.take()
        if tok.kw("like"):
            pattern = self.expect("str").text
            if attr.type != "string":
                raise _Reject
            return Like(attr.name, attr.type, _like_pattern(pattern), negated, upper)
        if tok.kw("between"):
            _check_op(attr, "<")
            low = self.literal(attr)
            self.expect("ident", "and")
            return Between(attr.name, attr.type, low, self.literal(attr), negated, upper)
        if tok.kw("in"):
            if self.version < C.IN_OPERATOR_MIN_VERSION:
                raise _Reject
            self.expect("punct", "(")
            values = [self.literal(attr)]
            while self.peek.kind == "punct" and self.peek.text == ",":
                self.take()
                values.append(self.literal(attr))
            self.expect("punct", ")")
            return InList(attr.name, attr.type, tuple(values), negated, upper)
        raise _Reject

    def literal(self, attr: Attr) -> Value:
        tok = self.take()
        if tok.kind == "str":
            return _coerce(attr, tok.text)
        if tok.kind == "num" and attr.type in ("integer", "number", "string"):
            return tok.text if attr.type == "string" else _number(tok.text)
        if tok.kind == "ident" and attr.type == "boolean" and tok.text.lower() in ("true", "false"):
            return _coerce(attr, tok.text)
        raise _Reject


def _like_pattern(text: str) -> Pattern:
    parts: list[str | Wild] = []
    buf = ""
    for ch in text:
        wild = (
            Wild.ANY if ch in C.LIKE_ANY_WILDCARDS
            else Wild.ONE if ch == "_" and C.LIKE_UNDERSCORE_IS_WILDCARD
            else None
        )
        if wild is None:
            buf += ch
            continue
        if buf:
            parts.append(buf)
            buf = ""
        parts.append(wild)
    if buf:
        parts.append(buf)
    return tuple(parts)


# =============================================================================================== SQL


class _Binary(FunctionElement[Any]):
    """Text compared by code point on every backend (SQLite's default; PostgreSQL needs ``COLLATE "C"``)."""

    name = "adf_binary"
    inherit_cache = True
    type = sa.Text()


@compiles(_Binary)
def _binary_default(element: _Binary, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(_Binary, "postgresql")
def _binary_pg(element: _Binary, compiler: Any, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


class _CaseSensitiveLike(FunctionElement[Any]):
    """``operand LIKE pattern`` that is case-sensitive on SQLite too, where it becomes ``GLOB``.

    Carries the pattern written both ways as bound parameters (so statement caching stays correct); each dialect
    renders the one it needs.
    """

    name = "adf_like"
    inherit_cache = True
    type = sa.Boolean()


_LIKE_ESCAPE = "!"


@compiles(_CaseSensitiveLike)
def _like_default(element: _CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    operand, pattern, _glob = list(element.clauses)
    return f"({compiler.process(operand, **kw)} LIKE {compiler.process(pattern, **kw)} ESCAPE '{_LIKE_ESCAPE}')"


@compiles(_CaseSensitiveLike, "sqlite")
def _like_sqlite(element: _CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    operand, _pattern, glob = list(element.clauses)
    return f"({compiler.process(operand, **kw)} GLOB {compiler.process(glob, **kw)})"


def _sql_like_pattern(pattern: Pattern) -> str:
    out = []
    for part in pattern:
        if part is Wild.ANY:
            out.append("%")
        elif part is Wild.ONE:
            out.append("_")
        else:
            e = _LIKE_ESCAPE
            out.append(part.replace(e, e + e).replace("%", e + "%").replace("_", e + "_"))
    return "".join(out)


def _glob_pattern(pattern: Pattern) -> str:
    out = []
    for part in pattern:
        if part is Wild.ANY:
            out.append("*")
        elif part is Wild.ONE:
            out.append("?")
        else:
            out.append("".join(f"[{ch}]" if ch in "*?[" else ch for ch in part))
    return "".join(out)


def _upper_pattern(pattern: Pattern) -> Pattern:
    return tuple(p.upper() if isinstance(p, str) else p for p in pattern)


def _bind(value: Value) -> ColumnElement[Any]:
    if isinstance(value, str):
        return sa.literal(value, sa.Text())
    if isinstance(value, int):
        return sa.literal(value, sa.BigInteger())
    return sa.literal(value, sa.Float())


def to_sql(expr: Expr, table: sa.Table) -> ColumnElement[bool]:
    """A WHERE clause for ``expr`` over ``table`` (columns named like the attributes), same rows on SQLite and PG."""
    if isinstance(expr, And):
        return sa.and_(*(to_sql(t, table) for t in expr.terms)) if expr.terms else sa.true()
    if isinstance(expr, Or):
        return sa.or_(*(to_sql(t, table) for t in expr.terms))
    if isinstance(expr, Not):
        inner = to_sql(expr.term, table)
        if C.NOT_USES_THREE_VALUED_LOGIC:
            return sa.not_(inner)
        return sa.not_(sa.func.coalesce(inner, sa.false()))
    col: ColumnElement[Any] = table.c[expr.attr]
    if isinstance(expr, IsNull):
        return col.is_not(None) if expr.negated else col.is_(None)
    folded = expr.kind == "string" and not expr.upper and not C.CASE_SENSITIVE_STRINGS
    if expr.upper or folded:
        col = sa.func.upper(col, type_=sa.Text())

    def lit(v: Value) -> ColumnElement[Any]:
        return _bind(v.upper() if folded and isinstance(v, str) else v)

    if isinstance(expr, Like):
        pattern = _upper_pattern(expr.pattern) if folded else expr.pattern
        like = _CaseSensitiveLike(
            col, sa.literal(_sql_like_pattern(pattern), sa.Text()), sa.literal(_glob_pattern(pattern), sa.Text())
        )
        return sa.not_(like) if expr.negated else like
    if isinstance(expr, InList):
        values = [lit(v) for v in expr.values]
        return col.not_in(values) if expr.negated else col.in_(values)
    ordered = _Binary(col) if expr.kind in _TEXT_KINDS else col
    if isinstance(expr, Between):
        between = ordered.between(lit(expr.low), lit(expr.high))
        return sa.not_(between) if expr.negated else between
    value = lit(expr.value)
    match expr.op:
        case "=":
            return col == value
        case "!=":
            return col != value
        case "<":
            return ordered < value
        case "<=":
            return ordered <= value
        case ">":
            return ordered > value
        case ">=":
            return ordered >= value
    raise ValueError(f"unknown operator {expr.op!r}")


# =============================================================================================== orderBy


def parse_order_by(value: str | None, attrs: Mapping[str, Attr]) -> list[tuple[str, bool]]:
    """``orderBy=LastUpdateDate:asc,HeaderId:desc`` as ``(attribute, ascending)`` pairs; asc by default."""
    if value is None or not value.strip():
        return []
    out = []
    for item in value.split(","):
        name, sep, direction = (p.strip() for p in item.partition(":"))
        attr = attrs.get(name)
        if attr is None or (C.ORDER_BY_REQUIRES_QUERYABLE and not attr.queryable):
            raise invalid_param("orderBy", value)
        if sep and direction.lower() not in ("asc", "desc"):
            raise invalid_param("orderBy", value)
        out.append((name, direction.lower() != "desc"))
    return out


def order_by_sql(
    order: Sequence[tuple[str, bool]], table: sa.Table, attrs: Mapping[str, Attr]
) -> list[ColumnElement[Any]]:
    """ORDER BY terms that sort alike on SQLite and PostgreSQL: text by code point, NULLs where Oracle puts them."""
    out = []
    for name, asc in order:
        col: ColumnElement[Any] = table.c[name]
        if attrs[name].type in _TEXT_KINDS:
            col = _Binary(col)
        nulls_last = asc == C.NULLS_SORT_HIGH
        term = col.asc() if asc else col.desc()
        out.append(term.nulls_last() if nulls_last else term.nulls_first())
    return out


# =============================================================================================== fields / expand

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ExpandSpec:
    """Which child accessors to expand at one level; ``all`` means every child of that level."""

    all: bool = False
    children: Mapping[str, ExpandSpec] = field(default_factory=dict)
    raw: str = field(default="", compare=False)
    param: str = field(default="expand", compare=False)  # which query parameter asked, for the 400

    def select(self, available: Sequence[str]) -> list[str]:
        """The accessors of ``available`` to expand, in its order; a name it lacks is a 400."""
        unknown = [n for n in self.children if n not in available]
        if unknown:
            raise invalid_param(self.param, self.raw)
        return [n for n in available if self.all or n in self.children]

    def child(self, name: str) -> ExpandSpec:
        """What to expand inside the child ``name``."""
        sub = self.children.get(name)
        if sub is not None:
            return ExpandSpec(sub.all or (self.all and C.EXPAND_ALL_RECURSIVE), sub.children, self.raw, self.param)
        return ExpandSpec(self.all and C.EXPAND_ALL_RECURSIVE, {}, self.raw, self.param)


def parse_expand(value: str | None) -> ExpandSpec:
    """``expand=lines,billToCustomer``, ``expand=all`` or nested ``lines.charges`` (which expands ``lines`` too)."""
    if value is None or not value.strip():
        return ExpandSpec(raw=value or "")
    root: dict[str, Any] = {"all": False, "children": {}}
    for item in value.split(","):
        item = item.strip()
        if item.lower() == "all":
            root["all"] = True
            continue
        node = root
        for name in item.split("."):
            if not _NAME.fullmatch(name):
                raise invalid_param("expand", value)
            node = node["children"].setdefault(name, {"all": False, "children": {}})
    return _freeze_expand(root, value)


def _freeze_expand(node: Mapping[str, Any], raw: str) -> ExpandSpec:
    return ExpandSpec(node["all"], {k: _freeze_expand(v, raw) for k, v in node["children"].items()}, raw)


@dataclass(frozen=True)
class FieldsSpec:
    """What ``fields`` keeps at one level: ``attrs`` (``None`` when only a child path names the level)."""

    attrs: tuple[str, ...] | None
    children: Mapping[str, FieldsSpec] = field(default_factory=dict)
    raw: str = field(default="", compare=False)

    def expand(self) -> ExpandSpec:
        """``fields`` expands every child it names, and only those."""
        return ExpandSpec(False, {k: v.expand() for k, v in self.children.items()}, self.raw, "fields")


def parse_fields(value: str | None) -> FieldsSpec | None:
    """``fields=HeaderId,OrderNumber;lines:LineId,StatusCode`` (``A.B:x`` nests); ``fields=`` is links only."""
    if value is None:
        return None
    root: dict[str, Any] = {"attrs": None, "children": {}}
    if not value.strip():
        root["attrs"] = []
    for segment in value.split(";") if value.strip() else ():
        path, sep, names = segment.rpartition(":") if ":" in segment else ("", "", segment)
        node = root
        if sep:
            for accessor in path.split("."):
                if not _NAME.fullmatch(accessor.strip()):
                    raise invalid_param("fields", value)
                node = node["children"].setdefault(accessor.strip(), {"attrs": None, "children": {}})
        listed = [x.strip() for x in names.split(",")] if names.strip() or not sep else []
        if not all(_NAME.fullmatch(x) for x in listed):
            raise invalid_param("fields", value)
        node["attrs"] = list(dict.fromkeys([*(node["attrs"] or []), *listed]))
    return _freeze_fields(root, value)


def _freeze_fields(node: Mapping[str, Any], raw: str) -> FieldsSpec:
    attrs = None if node["attrs"] is None else tuple(node["attrs"])
    return FieldsSpec(attrs, {k: _freeze_fields(v, raw) for k, v in node["children"].items()}, raw)


def parse_shape(params: Mapping[str, str]) -> tuple[FieldsSpec | None, ExpandSpec]:
    """``fields`` and ``expand`` read together: a given ``fields`` decides the expansion and ``expand`` is ignored."""
    fields = parse_fields(params.get("fields"))
    if fields is not None:
        return fields, fields.expand()
    return None, parse_expand(params.get("expand"))


def select_fields(
    item: Mapping[str, Any],
    attrs_order: Sequence[str],
    fields_spec: FieldsSpec | None,
    children: Collection[str] | None = None,
) -> dict[str, Any]:
    """Project one level of ``item`` (attributes, expanded children, ``links``) to what ``fields`` asked for.

    Nested levels are the caller's: project each child row with ``fields_spec.children[name]``. Naming an
    attribute missing from ``attrs_order`` (or a child missing from ``children``, when given) is a 400.
    """
    if fields_spec is None:
        return dict(item)
    listed = fields_spec.attrs
    known = set(attrs_order)
    if any(a not in known for a in listed or ()) or (
        children is not None and any(c not in children for c in fields_spec.children)
    ):
        raise invalid_param("fields", fields_spec.raw)
    if listed is None:
        names: Sequence[str] = attrs_order if C.FIELDS_UNLISTED_LEVEL_SHOWS_ALL else ()
    elif C.FIELDS_IN_DEFINITION_ORDER:
        wanted = set(listed)
        names = [a for a in attrs_order if a in wanted]
    else:
        names = listed
    out = {a: item[a] for a in names if a in item}
    out.update((c, item[c]) for c in fields_spec.children if c in item)
    if "links" in item:
        out["links"] = item["links"]
    return out


# =============================================================================================== finder


def parse_finder(value: str) -> tuple[str, dict[str, str]]:
    """``finder=PrimaryKey;DeliveryId=123`` or ``finder=Name;var1=a,var2=b`` as ``(name, variables)``."""
    name, _, rest = value.partition(";")
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise invalid_param("finder", value)
    variables: dict[str, str] = {}
    if not rest.strip():
        return name, variables
    try:
        for binding in _split_unquoted(rest, ","):
            var, sep, val = binding.partition("=")
            var, val = var.strip(), val.strip()
            if not sep or not _NAME.fullmatch(var):
                raise _Reject
            if C.FINDER_UNQUOTES_VALUES and val.startswith("'"):
                text, end = _quoted(val, 0)
                if end != len(val):
                    raise _Reject
                val = text
            variables[var] = val
    except _Reject:
        raise invalid_param("finder", value) from None
    return name, variables


def _split_unquoted(text: str, sep: str) -> list[str]:
    parts, buf, quoted = [], "", False
    for ch in text:
        if ch == "'" and C.FINDER_UNQUOTES_VALUES:
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    return parts


# =============================================================================================== paging and flags


def page(params: Mapping[str, str]) -> tuple[int, int]:
    """``(limit, offset)``: defaults 25 and 0, the cap per ``contract``; anything but digits is a 400."""
    limit = _count(params, "limit", C.DEFAULT_LIMIT)
    if limit < C.MIN_LIMIT:
        raise invalid_param("limit", params["limit"])
    if limit > C.MAX_LIMIT:
        if C.LIMIT_OVER_MAX != "cap":
            raise invalid_param("limit", params["limit"])
        limit = C.MAX_LIMIT
    return limit, _count(params, "offset", 0)


def _count(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not _POSITIVE_INT.fullmatch(raw.strip()):
        raise invalid_param(name, raw)
    return int(raw)


def link_rels(params: Mapping[str, str]) -> frozenset[str] | None:
    """``links=self,canonical``: the link relations items keep (None: all of them); an unknown name is a 400."""
    raw = params.get("links")
    if raw is None:
        return None
    rels = frozenset(r.strip() for r in raw.split(",") if r.strip())
    if not rels or any(r not in C.LINK_RELS for r in rels):
        raise invalid_param("links", raw)
    return rels


def wants_total(params: Mapping[str, str]) -> bool:
    """``totalResults=true``: add the (extra count query) ``totalResults`` member to the envelope."""
    return _flag(params, "totalResults")


def only_data(params: Mapping[str, str]) -> bool:
    """``onlyData=true``: items without ``links``."""
    return _flag(params, "onlyData")


def _flag(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name)
    if raw is None:
        return False
    low = raw.strip().lower()
    if low == "true":
        return True
    if low != "false" and C.BOOLEAN_PARAM_STRICT:
        raise invalid_param(name, raw)
    return False


# =============================================================================================== links and envelopes


def link(rel: str, href: str, name: str, kind: str, properties: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One ADF link object, keys in Oracle's order: ``rel, href, name, kind[, properties]``."""
    out: dict[str, Any] = {"rel": rel, "href": href, "name": name, "kind": kind}
    if properties:
        out["properties"] = dict(properties)
    return out


def item_href(base_url: str, resource_path: str, key: str | int) -> str:
    """``{base}/{resource path}/{key}`` with the key escaped for a path segment."""
    return f"{base_url.rstrip('/')}/{resource_path.strip('/')}/{quote(str(key), safe=C.KEY_SAFE_CHARS)}"


def item_links(
    base_url: str,
    resource_path: str,
    key: str | int,
    change_indicator: str | None = None,
    children: Sequence[str] = (),
    *,
    canonical_key: str | int | None = None,
    parent_href: str | None = None,
) -> list[dict[str, Any]]:
    """An item's ``self`` (with ``changeIndicator``), ``canonical``, optional ``parent`` and ``child`` links.

    ``resource_path`` is relative to ``base_url``: ``salesOrdersForOrderHub`` or, for a child item,
    ``salesOrdersForOrderHub/PSHOP:123/child/lines``; its last segment names the links.
    """
    name = resource_path.strip("/").rsplit("/", 1)[-1]
    href = item_href(base_url, resource_path, key)
    props = {"changeIndicator": change_indicator} if change_indicator is not None else None
    links = [
        link("self", href, name, "item", props),
        link("canonical", item_href(base_url, resource_path, key if canonical_key is None else canonical_key),
             name, "item"),
    ]
    if parent_href is not None:
        segments = urlsplit(parent_href).path.rstrip("/").split("/")
        links.append(link("parent", parent_href, segments[-2] if len(segments) > 1 else segments[-1], "item"))
    links.extend(link("child", f"{href}/child/{c}", c, "collection") for c in children)
    return links


def collection(
    items: Sequence[Any],
    *,
    limit: int,
    offset: int,
    has_more: bool,
    self_href: str,
    total: int | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The collection envelope, keys exactly ``items[, totalResults], count, hasMore, limit, offset, links``."""
    out: dict[str, Any] = {"items": list(items)}
    if total is not None:
        out["totalResults"] = total
    out["count"] = len(items)
    out["hasMore"] = has_more
    out["limit"] = limit
    out["offset"] = offset
    out["links"] = [link("self", self_href, name or _last_segment(self_href), "collection")]
    return out


def _last_segment(href: str) -> str:
    return urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1]


def expanded_child(
    rows: Sequence[Any], version: int, *, self_href: str, limit: int | None = None
) -> list[Any] | dict[str, Any]:
    """An expanded child: every row as a bare list for v1/v2, a first page as a collection object for v3+.

    ``rows`` are all the child's rows (or at least one more than ``limit``, so ``hasMore`` is right).
    """
    if version < C.NESTED_COLLECTION_MIN_VERSION:
        return list(rows)
    size = C.EXPANDED_CHILD_LIMIT if limit is None else limit
    return collection(rows[:size], limit=size, offset=0, has_more=len(rows) > size, self_href=self_href)
