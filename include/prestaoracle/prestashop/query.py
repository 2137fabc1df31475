"""Build the query string of a webservice list call: ``display``, ``filter[...]``, ``sort``, ``limit``, ``date``.

PrestaShop's filter grammar has no escaping (``[a|b]`` is OR, ``[a,b]`` a BETWEEN, ``>[x]`` strict greater), so a
value containing ``[ ] | ,`` would silently change the meaning of the query. Values are therefore validated here,
and anything that is not a plain literal must be spelled through the helpers (:func:`between`,
:func:`greater_than`, ...), never by string concatenation at call sites.
Dates are sent as ``YYYY-MM-DD HH:MM:SS`` in the *shop's* local time (the webservice compares strings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

__all__ = [
    "FilterValue",
    "any_of",
    "between",
    "build_params",
    "display_param",
    "format_literal",
    "greater_than",
    "less_than",
    "limit_param",
    "not_in",
    "sort_param",
]

_FORBIDDEN = set("[]|,")
_RANGE_OK = set("0123456789.:- ")
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class FilterValue(str):
    """A filter expression already in PrestaShop grammar (made by the helpers below); sent verbatim."""


def format_literal(value: object, *, tz: tzinfo | None = None) -> str:
    """One literal as PrestaShop compares it: ints/decimals as digits, datetimes in shop-local time, bools 1/0.

    An aware datetime is converted to ``tz`` (the shop's timezone) first; without ``tz`` it is refused, because
    guessing the shop's timezone would silently shift an incremental window.
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            if tz is None:
                raise ValueError(
                    f"aware datetime {value.isoformat()} given but the shop's timezone is unknown: pass shop-local "
                    "naive datetimes or set shop_timezone on the client"
                )
            value = value.astimezone(tz).replace(tzinfo=None)
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    bad = _FORBIDDEN & set(text)
    if bad:
        raise ValueError(
            f"filter value {text!r} contains {''.join(sorted(bad))!r}, which PrestaShop's filter grammar cannot escape"
        )
    if not text:
        raise ValueError("empty filter value (PrestaShop answers 400 code 33 'The filter is malformed')")
    return text


def any_of(values: Iterable[object], *, tz: tzinfo | None = None) -> FilterValue:
    """``[a|b|c]``: field equals one of the values (an empty list is refused: it would match everything)."""
    items = [format_literal(v, tz=tz) for v in values]
    if not items:
        raise ValueError("any_of() needs at least one value")
    return FilterValue("[" + "|".join(items) + "]")


def not_in(values: Iterable[object], *, tz: tzinfo | None = None) -> FilterValue:
    """``![a|b]``: field differs from every value."""
    items = [format_literal(v, tz=tz) for v in values]
    if not items:
        raise ValueError("not_in() needs at least one value")
    return FilterValue("![" + "|".join(items) + "]")


def between(low: object, high: object, *, tz: tzinfo | None = None) -> FilterValue:
    """``[low,high]``: inclusive on both ends (SQL BETWEEN). Only numbers and dates are accepted by PrestaShop."""
    lo, hi = format_literal(low, tz=tz), format_literal(high, tz=tz)
    for bound in (lo, hi):
        if not set(bound) <= _RANGE_OK:
            raise ValueError(f"range bound {bound!r} is not a number or a date; PrestaShop would compare it literally")
    return FilterValue(f"[{lo},{hi}]")


def greater_than(value: object, *, tz: tzinfo | None = None) -> FilterValue:
    """``>[x]``: strictly greater (there is no ``>=`` in the grammar)."""
    return FilterValue(f">[{format_literal(value, tz=tz)}]")


def less_than(value: object, *, tz: tzinfo | None = None) -> FilterValue:
    """``<[x]``: strictly smaller."""
    return FilterValue(f"<[{format_literal(value, tz=tz)}]")


def _filter_value(spec: object, tz: tzinfo | None) -> str:
    if isinstance(spec, FilterValue):
        return str(spec)
    if isinstance(spec, str):
        return FilterValue("[" + format_literal(spec) + "]")
    if isinstance(spec, Mapping):
        raise TypeError("a filter value cannot be a mapping")
    if isinstance(spec, Iterable):
        return any_of(spec, tz=tz)
    return "[" + format_literal(spec, tz=tz) + "]"


def display_param(display: str | Sequence[str] | None) -> str | None:
    """``full``, or ``[a,b,c]`` from a list of field names (None: ids only)."""
    if display is None:
        return None
    if isinstance(display, str):
        return display
    fields = list(display)
    if not fields:
        raise ValueError("display needs at least one field")
    return "[" + ",".join(fields) + "]"


def sort_param(sort: str | Sequence[str] | None) -> str | None:
    """``[date_upd_ASC,id_ASC]`` from ``["date_upd_ASC", "id_ASC"]`` (direction must be spelled: ASC or DESC)."""
    if sort is None:
        return None
    keys = [sort] if isinstance(sort, str) else list(sort)
    for key in keys:
        field, _, direction = key.rpartition("_")
        if not field or direction.upper() not in ("ASC", "DESC"):
            raise ValueError(f"sort key {key!r} must look like 'field_ASC' or 'field_DESC'")
    return "[" + ",".join(keys) + "]"


def limit_param(limit: int | tuple[int, int] | None) -> str | None:
    """``n`` or ``offset,n`` (offset 0-based). ``limit=0`` would return nothing, so counts must be positive."""
    if limit is None:
        return None
    if isinstance(limit, int):
        offset, count = 0, limit
    else:
        offset, count = limit
    if offset < 0 or count < 1:
        raise ValueError(f"limit needs offset >= 0 and count >= 1, got {limit!r}")
    return f"{offset},{count}" if offset else str(count)


def build_params(
    *,
    display: str | Sequence[str] | None = "full",
    filters: Mapping[str, object] | None = None,
    sort: str | Sequence[str] | None = None,
    date: bool = False,
    limit: int | tuple[int, int] | None = None,
    language: int | None = None,
    extra: Mapping[str, Any] | None = None,
    tz: tzinfo | None = None,
) -> dict[str, str]:
    """Query parameters for a list call. ``filters`` maps a field to a literal, a list (OR) or a helper's result.

    ``date=True`` is added automatically when a filter or sort uses ``date_add``/``date_upd`` (without it
    PrestaShop answers code 32 "This filter does not exist").
    """
    params: dict[str, str] = {}
    shown = display_param(display)
    if shown is not None:
        params["display"] = shown
    uses_dates = date
    for field, spec in (filters or {}).items():
        if not field or _FORBIDDEN & set(field):
            raise ValueError(f"bad filter field name {field!r}")
        params[f"filter[{field}]"] = _filter_value(spec, tz)
        uses_dates = uses_dates or field in ("date_add", "date_upd")
    sorted_by = sort_param(sort)
    if sorted_by is not None:
        params["sort"] = sorted_by
        uses_dates = uses_dates or "date_add_" in sorted_by or "date_upd_" in sorted_by
    if uses_dates:
        params["date"] = "1"
    lim = limit_param(limit)
    if lim is not None:
        params["limit"] = lim
    if language is not None:
        params["language"] = str(int(language))
    for key, value in (extra or {}).items():
        params[key] = str(value)
    return params
