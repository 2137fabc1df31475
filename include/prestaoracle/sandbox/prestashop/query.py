"""The list query language of the 8.1.2 webservice: ``display``, ``filter[...]``, ``sort``, ``limit`` and ``date``.

Parsing follows ``WebserviceRequest::manageFilters``/``setFieldsToDisplay`` and ``SQLUtils::getSQLRetrieveFilter``
step by step, errors included; :func:`to_sql` and :func:`order_by` then compare and sort the way MySQL does with
the shop's case-insensitive collation, on SQLite and PostgreSQL alike.

On a list request every failure of that parsing is followed, in the real shop, by four PHP warnings:
``manageFilters()`` returns ``false`` and ``getFilteredObjectList()`` reads four keys of that ``false`` (fixture
``37_err_bad_filter_field_xml``), which also turns the status into 500. Filters, sort and limit only exist on
lists, so their errors always carry the warnings; ``display`` is also read on ``/{id}``, where it fails plainly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from prestaoracle.sandbox.prestashop.errors import PhpFatal, WSError, did_you_mean
from prestaoracle.sandbox.prestashop.schema import DECIMALS, Resource

LIST_FAILURE_WARNINGS: tuple[tuple[int, str], ...] = tuple(
    (
        3,
        "[PHP Warning #2] Trying to access array offset on value of type bool "
        f"(/var/www/html/classes/webservice/WebserviceRequest.php, line {line})",
    )
    for line in range(1333, 1337)
)

DATE_FIELDS = ("date_add", "date_upd")
NUMERIC_KINDS = frozenset({"i", "b", *DECIMALS})
DATE_KINDS = frozenset({"dt", "da"})

# Tables PrestaShop associates to shops with a ``_shop`` table: their ``id`` sorts on the ``multi_shop_*`` alias,
# every other resource's sort column is qualified with an empty alias (see order_by()).
SHOP_TABLES = frozenset({"carriers", "combinations", "countries", "currencies", "products"})

_PHP_WS = " \t\n\r\x0b\x0c"
_FILTER_KEY = re.compile(r"filter\[([^\]]*)\](.*)", re.DOTALL)
_FILTER_VALUE = re.compile(r"^(.*)\[(.*)\](.*)$")
_BETWEEN = re.compile(r"^([0-9.:\- \t\n\x0b\x0c\r]+),([0-9.:\- \t\n\x0b\x0c\r]+)$")
_BRACKETED = re.compile(r"^\[(.*?)\]$")
_PHP_NUMERIC = re.compile(
    r"[ \t\n\r\x0b\x0c]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\x0b\x0c]*\Z"
)
_PHP_NUMERIC_PREFIX = re.compile(r"[ \t\n\r\x0b\x0c]*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)")
_MYSQL_DOUBLE_PREFIX = re.compile(r"[ \t\n\r\x0b\x0c]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_MYSQL_DATETIME = re.compile(
    r" *([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:[ T]([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2})(?:\.([0-9]{1,6}))?)?)? *"
)
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_LIKE_ESCAPE = "!"


def list_failure(*errors: tuple[int, str]) -> WSError:
    """The error a list request answers: the shop's own errors, then the four warnings, with status 500."""
    return WSError(500, *errors, *LIST_FAILURE_WARNINGS)


def date_param_enabled(value: str | None) -> bool:
    """``date=`` as PHP's ``!empty()`` reads it: anything but absent, ``""`` and ``"0"`` turns dates on."""
    return value not in (None, "", "0")


# --------------------------------------------------------------------------------------------------- display


@dataclass(frozen=True)
class Display:
    """What a GET shows: ``minimum`` (ids only), ``full``, or the named ``fields`` plus association sub-fields."""

    mode: str = "minimum"
    fields: tuple[str, ...] = ()
    associations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return self.mode == "full"

    @property
    def ids_only(self) -> bool:
        return self.mode == "minimum"


def parse_display(
    value: str | None, resource: Resource, *, listing: bool = False, date_enabled: bool = False
) -> Display:
    """Read ``display`` like ``setFieldsToDisplay()``; ``listing`` makes its errors those of a list request.

    On a list, ``manageFilters()`` runs first and ``date=1`` adds ``date_add``/``date_upd`` to the resource's
    fields, so they become displayable (and listed in error 35) even where the class has none.
    """
    if value is None or value == "minimum":
        return Display()
    if value == "full":
        return Display("full")
    names = _display_names(resource, listing and date_enabled)

    def fail(error: tuple[int, str]) -> WSError:
        return list_failure(error) if listing else WSError(400, error)

    m = _BRACKETED.match(value)
    if m is None:
        raise fail((36, "The 'display' syntax is wrong. You can set 'full' or '[field_1,field_2,field_3,...]'. "
                        f"These are available: {', '.join(names)}"))
    parsed = _parse_display_fields(m.group(1))
    assocs = {a.name: a for a in resource.associations}
    for name, part in parsed.items():
        if part is None:
            error = name not in names
        else:
            if not assocs:
                # array_key_exists() on the missing 'associations' key: a TypeError, PHP's own 500 page.
                raise PhpFatal("array_key_exists(): Argument #2 ($array) must be of type array, null given")
            assoc = assocs.get(name)
            error = assoc is None
            for sub in part:
                if sub == "id":
                    continue
                if assoc is None:
                    raise PhpFatal("array_key_exists(): Argument #2 ($array) must be of type array, null given")
                if sub not in {f.name for f in assoc.fields}:
                    error = True
                    break
        if error:
            details = f" (details : {_var_export_list(part)})" if part is not None else ""
            raise fail((35, f'Unable to display this field "{name}{details}". However, these are available: '
                            f"{', '.join(names)}"))
    fields = tuple(n for n, p in parsed.items() if p is None)
    associations = {n: tuple(p) for n, p in parsed.items() if p is not None}
    return Display("fields", fields, associations)


def _display_names(resource: Resource, with_dates: bool) -> list[str]:
    names = [f.name for f in resource.fields]
    if with_dates:
        names += [d for d in DATE_FIELDS if d not in resource.field_map]
    return names


def _parse_display_fields(text: str) -> dict[str, list[str] | None]:
    # WebserviceRequest::parseDisplayFields(), byte for byte: commas split only outside brackets.
    level, parts, tmp = 0, [], ""
    for ch in text:
        if ch == "," and level == 0:
            parts.append(tmp)
            tmp = ""
        else:
            tmp += ch
        if ch == "[":
            level += 1
        if ch == "]":
            level -= 1
    if tmp != "":
        parts.append(tmp)
    fields: dict[str, list[str] | None] = {}
    for part in parts:
        pos = part.find("[")
        name = (part if pos < 0 else part[:pos]).strip(" \t\n\r\0\x0b")
        fields.setdefault(name, None)
        if pos >= 0:
            sub = _php_substr(part, pos + 1, len(part) - pos - 2)
            fields[name] = (fields[name] or []) + sub.split(",")
    return fields


def _php_substr(s: str, start: int, length: int) -> str:
    end = len(s) + length if length < 0 else start + length
    return s[start:end] if start <= len(s) and end > start else ""


def _var_export_list(items: Sequence[str]) -> str:
    # PHP's var_export() of a list of strings, as error 35 prints an association's sub-fields.
    lines = []
    for i, v in enumerate(items):
        quoted = v.replace("\\", "\\\\").replace("'", "\\'")
        lines.append(f"  {i} => '{quoted}',\n")
    return "array (\n" + "".join(lines) + ")"


# --------------------------------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Condition:
    """One ``AND`` term of the list query, with literals as the shop's SQL carries them (after ``pSQL``).

    ``op`` is ``in`` (equal to any value), ``not_in`` (different from every value), ``between`` (``values`` are
    the bounds in PHP's sorted order, inclusive), ``gt``/``lt`` (one value) or ``like`` (``values`` are
    ``(head, text, tail)``: a head or tail that is exactly ``%`` is a wildcard, everything else is literal).
    """

    field: str
    kind: str
    op: str
    values: tuple[str, ...]
    i18n: bool = False


def filterable(resource: Resource, date_enabled: bool) -> tuple[list[str], list[str]]:
    """``manageFilters()``'s two lists: plain filterable names (virtual ones included) and translatable ones."""
    plain = [f.name for f in resource.fields if f.base_kind != "l"]
    i18n = [f.name for f in resource.fields if f.base_kind == "l"]
    if date_enabled:
        plain += [d for d in DATE_FIELDS if d not in plain]
    else:
        plain = [n for n in plain if n not in DATE_FIELDS]
    return plain, i18n


def parse_filters(params: Mapping[str, str], resource: Resource, date_enabled: bool) -> list[Condition]:
    """Every ``filter[name]`` parameter, in order, as conditions; errors as a list request raises them."""
    plain, i18n = filterable(resource, date_enabled)
    out: list[Condition] = []
    for key, value in params.items():
        m = _FILTER_KEY.match(key)
        if m is None:
            continue
        # PHP numbers an empty key "filter[]" from 0.
        name, rest = m.group(1) or "0", m.group(2)
        nested = rest.startswith("[") and "]" in rest
        if name in ("sort", "limit"):
            continue
        kind = _kind(resource, name)
        if name not in plain:
            if name in i18n and (nested or value != ""):
                out.extend(_conditions(name, kind, value, i18n=True))
            elif nested:
                raise list_failure((31, "There is no existing linked table for this resource"))
            else:
                raise list_failure((32, _did_you_mean("This filter does not exist", name, plain)))
        elif nested:
            raise PhpFatal("preg_match(): Argument #2 ($subject) must be of type string, array given")
        elif value == "":
            raise list_failure((33, f'The filter "{name}" is malformed.'))
        elif resource.field_map.get(name) is not None and resource.field_map[name].virtual:
            raise list_failure((34, f'The field "{name}" is dynamic. It is not possible to filter GET query with '
                                    "this field."))
        else:
            out.extend(_conditions(name, kind, value))
    return out


def _kind(resource: Resource, name: str) -> str:
    f = resource.field_map.get(name)
    return f.base_kind if f is not None else "dt"


def _did_you_mean(label: str, word: str, choices: Sequence[str]) -> str:
    full = (' The full list is: "' + '", "'.join(choices) + '"') if len(choices) > 1 else ""
    return f'{label}. Did you mean: "{did_you_mean(word, choices)}"?{full}'


def _conditions(name: str, kind: str, raw: str, i18n: bool = False) -> list[Condition]:
    """``SQLUtils::getSQLRetrieveFilter()``: one filter value to zero or one condition."""

    def cond(op: str, *values: str) -> list[Condition]:
        return [Condition(name, kind, op, values, i18n)]

    m = _FILTER_VALUE.match(raw)
    if m is None:
        return cond("in", _psql(raw))
    head, body, tail = m.groups()
    if head == "%" or tail == "%":
        return cond("like", _psql(head), _psql(body), _psql(tail))
    if head == "" and tail == "":
        if body.find("|") > 0:
            return cond("in", *(_psql(v) for v in body.split("|")))
        between = _BETWEEN.match(body)
        if between:
            lo, hi = between.groups()
            return cond("between", *((hi, lo) if _php_compare(lo, hi) > 0 else (lo, hi)))
        return cond("in", _psql(body))
    if head == ">":
        return cond("gt", _psql(body))
    if head == "<":
        return cond("lt", _psql(body))
    if head == "!":
        return cond("not_in", *(_psql(v) for v in body.split("|")))
    # Any other text before the brackets builds no SQL at all: the filter is silently ignored.
    return []


def _php_compare(a: str, b: str) -> int:
    # PHP 8 sort(): two numeric strings compare as numbers, anything else byte by byte.
    if _PHP_NUMERIC.match(a) and _PHP_NUMERIC.match(b):
        x, y = float(a), float(b)
        return (x > y) - (x < y)
    ba, bb = a.encode(), b.encode()
    return (ba > bb) - (ba < bb)


def _psql(text: str) -> str:
    """What ``pSQL()`` leaves of a literal once MySQL reads it back: the text with ``strip_tags()`` applied."""
    return _strip_tags(text) if "<" in text else text


def _strip_tags(text: str) -> str:
    # A reduced php_strip_tags(): "<" followed by whitespace is text, any other "<" opens a tag that runs to
    # its matching ">" (quotes and nested "<" respected) or to the end of the string.
    out: list[str] = []
    depth, quote, in_tag = 0, "", False
    for i, ch in enumerate(text):
        if not in_tag:
            if ch == "<" and not (i + 1 < len(text) and text[i + 1] in _PHP_WS):
                in_tag = True
            else:
                out.append(ch)
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "<":
            depth += 1
        elif ch == ">":
            if depth:
                depth -= 1
            else:
                in_tag = False
    return "".join(out)


# --------------------------------------------------------------------------------------------------- sort/limit


def parse_sort(value: str, resource: Resource, date_enabled: bool) -> list[tuple[str, bool]]:
    """``sort=[a_ASC,b_DESC]`` or ``sort=a_ASC`` as ``(field, ascending)`` pairs, split at the last ``_``."""
    plain, i18n = filterable(resource, date_enabled)
    m = _BRACKETED.match(value)
    out = []
    for item in m.group(1).split(",") if m else [value]:
        pos = item.rfind("_")
        direction = _ascii_upper(item[pos + 1 :]) if pos >= 0 else ""
        if pos < 0 or direction not in ("ASC", "DESC"):
            raise list_failure((37, 'The "sort" value has to be formed as this example: "field_ASC" or '
                                    "'[field_1_DESC,field_2_ASC,field_3_ASC,...]' (\"field\" has to be an available "
                                    "field)"))
        name = item[:pos]
        if name not in plain and name not in i18n:
            raise list_failure((38, "Unable to filter by this field. However, these are available: "
                                    f"{', '.join(plain)}, for i18n fields:{', '.join(i18n)}"))
        out.append((name, direction == "ASC"))
    return out


def _ascii_upper(text: str) -> str:
    return text.translate(str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def parse_limit(value: str | None) -> tuple[int, int] | None:
    """``limit=N`` or ``limit=offset,count`` as ``(offset, count)``; both parts cast like PHP's ``(int)``.

    A negative part makes MySQL reject ``LIMIT``; the shop swallows the SQL error into an empty list, which
    ``(0, 0)`` reproduces for callers that just apply offset and count.
    """
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) > 2:
        raise list_failure((39, 'The "limit" value has to be formed as this example: "5,25" or "10"'))
    offset, count = (0, php_int(parts[0])) if len(parts) == 1 else (php_int(parts[0]), php_int(parts[1]))
    if offset < 0 or count < 0:
        return (0, 0)
    return (offset, count)


def php_int(text: str) -> int:
    """PHP 8's ``(int)"text"``: the leading number (exponent allowed), 0 if none, capped to 64 bits."""
    m = _PHP_NUMERIC_PREFIX.match(text)
    if m is None:
        return 0
    number = m.group(1)
    if "." not in number and m.group(2) is None:
        return max(_LONG_MIN, min(_LONG_MAX, int(number)))
    d = float(number)
    if not math.isfinite(d):
        return 0
    if not (-(2.0**63) <= d < 2.0**63):
        return _LONG_MAX if d > 0 else _LONG_MIN
    return int(d)


# --------------------------------------------------------------------------------------------------- one call


@dataclass(frozen=True)
class ListQuery:
    """Everything a list GET asked for, read in the shop's order."""

    conditions: list[Condition]
    display: Display
    sort: list[tuple[str, bool]]
    limit: tuple[int, int] | None
    date_enabled: bool


def parse_list_query(params: Mapping[str, str], resource: Resource) -> ListQuery:
    """Filters, then display, then sort, then limit, as ``manageFilters()`` reads them: the first error wins."""
    date_enabled = date_param_enabled(params.get("date"))
    conditions = parse_filters(params, resource, date_enabled)
    display = parse_display(params.get("display"), resource, listing=True, date_enabled=date_enabled)
    sort = parse_sort(params["sort"], resource, date_enabled) if "sort" in params else []
    limit = parse_limit(params.get("limit"))
    return ListQuery(conditions, display, sort, limit, date_enabled)


# --------------------------------------------------------------------------------------------------- SQL


class _Bytewise(FunctionElement[Any]):
    """Text in byte order: MySQL's ``*_general_ci`` once letters are upper-cased, whatever PostgreSQL's collation."""

    name = "bytewise"
    inherit_cache = True
    type = sa.Text()


@compiles(_Bytewise)
def _bytewise_default(element: _Bytewise, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(_Bytewise, "postgresql")
def _bytewise_pg(element: _Bytewise, compiler: Any, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


class _DecimalText(FunctionElement[Any]):
    """A DECIMAL(20,scale) as MySQL turns it into text for ``LIKE``: always ``scale`` decimals."""

    name = "decimal_text"
    inherit_cache = True
    type = sa.Text()


@compiles(_DecimalText)
def _decimal_text_default(element: _DecimalText, compiler: Any, **kw: Any) -> str:
    col, scale = list(element.clauses)
    return f"CAST(ROUND(CAST({compiler.process(col, **kw)} AS NUMERIC), {compiler.process(scale, **kw)}) AS TEXT)"


@compiles(_DecimalText, "sqlite")
def _decimal_text_sqlite(element: _DecimalText, compiler: Any, **kw: Any) -> str:
    col, scale = list(element.clauses)
    col_sql = compiler.process(col, **kw)
    # SQLite's printf() prints NULL as 0.000000: keep NULL.
    return f"CASE WHEN {col_sql} IS NULL THEN NULL ELSE printf('%.{compiler.process(scale, **kw)}f', {col_sql}) END"


def to_sql(
    conditions: Sequence[Condition], table: sa.Table, resource: Resource | None = None
) -> list[ColumnElement[bool]]:
    """One boolean expression per condition, for a table whose columns are named like the fields.

    Numbers compare as MySQL compares an INT/DECIMAL column with a quoted literal (both as doubles, a non-numeric
    literal being 0); text compares case-insensitively and ignores trailing spaces, as the shop's ``*_ci``
    collation does; dates compare as text once a date-like literal is written out in full, as MySQL converts it
    to a DATETIME. A column the table lacks (``date=1`` on a class without dates) matches nothing: the real
    query fails and the shop answers an empty list. Each condition carries its field's kind, so ``resource`` is
    only accepted, not needed.
    """
    out: list[ColumnElement[bool]] = []
    for c in conditions:
        col = table.c.get(c.field)
        out.append(sa.false() if col is None else _condition_sql(c, col))
    return out


def _condition_sql(c: Condition, col: sa.ColumnElement[Any]) -> ColumnElement[bool]:
    if c.op == "like":
        return _like(c, col)
    if c.kind in NUMERIC_KINDS:
        lhs: Any = col
        values = [_number(c.kind, v) for v in c.values]
        bytewise = False
    elif c.kind in DATE_KINDS:
        # Fixed-format digits order the same under any collation, and a plain column keeps its index usable.
        lhs, values = _date_operands(c, col)
        bytewise = False
    else:
        lhs = sa.func.upper(sa.func.rtrim(col))
        values = [sa.func.upper(sa.func.rtrim(sa.literal(v, sa.Text()))) for v in c.values]
        bytewise = True
    if bytewise and c.op in ("between", "gt", "lt"):
        lhs = _Bytewise(lhs)
    if c.op == "in":
        return sa.or_(*(lhs == v for v in values))
    if c.op == "not_in":
        return sa.and_(*(lhs != v for v in values))
    if c.op == "between":
        return lhs.between(values[0], values[1])
    if c.op == "gt":
        return lhs > values[0]
    if c.op == "lt":
        return lhs < values[0]
    raise ValueError(f"unknown filter operation {c.op!r}")


def _number(kind: str, text: str) -> Any:
    d = mysql_double(text)
    # An integral literal binds as an integer so PostgreSQL keeps using the column's index (an INT compared with
    # a double is cast row by row); the answer is the one MySQL's double comparison gives.
    if kind in ("i", "b") and d.is_integer() and abs(d) < 2.0**63:
        return sa.literal(int(d), sa.BigInteger())
    return sa.literal(d, sa.Float())


def _date_operands(c: Condition, col: sa.ColumnElement[Any]) -> tuple[Any, list[Any]]:
    full = [mysql_datetime(v) for v in c.values]
    if c.kind == "da" and all(f is not None for f in full):
        # A DATE column meets a DATETIME literal as midnight of its day.
        lhs: Any = col + sa.literal(" 00:00:00", sa.Text())
    else:
        lhs = col
    return lhs, [sa.literal(f if f is not None else v, sa.Text()) for f, v in zip(full, c.values, strict=True)]


def _like(c: Condition, col: sa.ColumnElement[Any]) -> ColumnElement[bool]:
    pattern = "".join("%" if part == "%" and i != 1 else _like_escape(part) for i, part in enumerate(c.values))
    if c.kind in DECIMALS:
        lhs: Any = _DecimalText(col, sa.literal_column(str(DECIMALS[c.kind])))
    elif c.kind in NUMERIC_KINDS:
        lhs = sa.cast(col, sa.Text())
    else:
        lhs = col
    return sa.func.upper(lhs).like(sa.func.upper(sa.literal(pattern, sa.Text())), escape=_LIKE_ESCAPE)


def _like_escape(text: str) -> str:
    e = _LIKE_ESCAPE
    return text.replace(e, e + e).replace("%", e + "%").replace("_", e + "_")


def mysql_double(text: str) -> float:
    """A quoted literal as MySQL reads it against a number column: its leading number, else 0."""
    m = _MYSQL_DOUBLE_PREFIX.match(text)
    if m is None:
        return 0.0
    d = float(m.group(1))
    if math.isinf(d):
        return math.copysign(1.7976931348623157e308, d)
    return d


def mysql_datetime(text: str) -> str | None:
    """``2019-11-14`` or ``2019-11-14 13:00`` written out as ``2019-11-14 13:00:00``; None if not a date."""
    m = _MYSQL_DATETIME.fullmatch(text)
    if m is None:
        return None
    y, mo, d, h, mi, s, frac = m.groups()
    parts = [int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0)]
    if not (1 <= parts[1] <= 12 and 1 <= parts[2] <= 31 and parts[3] < 24 and parts[4] < 60 and parts[5] < 60):
        return None
    out = "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}".format(*parts)
    frac = (frac or "").rstrip("0")
    return f"{out}.{frac}" if frac else out


def order_by(
    sort: Sequence[tuple[str, bool]],
    table: sa.Table,
    resource: Resource,
    conditions: Sequence[Condition] = (),
) -> list[ColumnElement[Any]] | None:
    """ORDER BY terms as MySQL sorts (text case-insensitively, NULL lowest), or None when the real query fails.

    It fails, and the shop answers an empty list, on a field without a column (virtual fields; ``date=1`` on a
    class without dates) and on ``id`` next to a translatable filter or sort outside the shop-associated
    tables: there ``id`` is qualified with an empty alias that the joined ``_lang`` table makes ambiguous.
    """
    _, i18n = filterable(resource, True)
    joins_lang = any(c.i18n for c in conditions) or any(name in i18n for name, _ in sort)
    out: list[ColumnElement[Any]] = []
    for name, asc in sort:
        f = resource.field_map.get(name)
        col = table.c.get(name)
        if col is None or (f is not None and f.virtual):
            return None
        if name == "id" and joins_lang and resource.name not in SHOP_TABLES:
            return None
        kind = f.base_kind if f is not None else "dt"
        expr: Any = col if kind in NUMERIC_KINDS | DATE_KINDS else _Bytewise(sa.func.upper(col))
        out.append(expr.asc().nulls_first() if asc else expr.desc().nulls_last())
    return out
