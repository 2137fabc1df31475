"""Named converters a spec chains in ``convert:`` — types, text, splitting and joining, rules, lookups, money.

A step is written ``name`` or ``{name: params}``; params are checked against the converter's pydantic model when
the spec loads, so an unknown converter or a wrong parameter is a spec error with its line. One parameter can be
given bare: ``{round: 2}`` is ``{round: {places: 2}}``, ``{lookup: currency_iso}`` is ``{lookup: {name: …}}``.

Conventions every converter keeps:

* None in, None out (an absent value stays absent; ``required`` and ``default`` decide what that means), except
  where a converter is about None (``empty_to_null``) or takes a list (``join``, ``format``, money on pairs);
* a value that cannot be converted raises :class:`Failed` with ``invalid_data``; a table without the entry
  (lookup, cross-reference, rate) raises :class:`Failed` with ``mapping_missing`` and a how-to-fix text. The engine
  adds the spec file, the field and the record.

PrestaShop wire values (numeric strings, ``"0"``/``"1"`` booleans, ``0000-00-00`` dates, language arrays) go through
:mod:`prestaoracle.prestashop.normalize`, so the mapping and the client agree on what a value means.
"""

from __future__ import annotations

import contextlib
import math
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from prestaoracle.prestashop.normalize import Kind, NormalizationError, Normalizer

if TYPE_CHECKING:
    from .context import MappingContext

__all__ = ["CONVERTERS", "Converter", "Failed", "converter_names"]


class Failed(Exception):
    """A converter could not produce a value; the engine turns it into a :class:`~.errors.MappingError`."""

    def __init__(self, why: str, *, reason: str = "invalid_data", fix: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.reason = reason
        self.fix = fix


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Converter:
    name: str
    fn: Callable[[Any, Any, MappingContext], Any]
    params: type[Params] | None
    bare: str | None
    """The parameter a bare value fills (``{round: 2}``)."""
    doc: str
    keeps_none: bool = True
    """True: None passes through without calling ``fn``."""


CONVERTERS: dict[str, Converter] = {}


def converter_names() -> list[str]:
    return sorted(CONVERTERS)


def _register(name: str, params: type[Params] | None = None, bare: str | None = None,
              keeps_none: bool = True) -> Callable[[Callable], Callable]:
    def wrap(fn: Callable) -> Callable:
        CONVERTERS[name] = Converter(name, fn, params, bare, (fn.__doc__ or "").strip().splitlines()[0],
                                     keeps_none)
        return fn
    return wrap


# ------------------------------------------------------------------------------------------------- types

_NORMALIZER = Normalizer()


def _kind(kind: Kind, value: Any, ctx: MappingContext | None = None) -> Any:
    normalizer = _NORMALIZER if ctx is None or ctx.language_id is None else Normalizer(language_id=ctx.language_id)
    try:
        return normalizer.value("", None, "", kind, value)
    except NormalizationError as exc:
        why = str(exc).split(": field '' = ", 1)[-1]
        raise Failed(why) from None


def _plain(value: Any, kind: Kind, ctx: MappingContext) -> Any:
    """Values that are already typed (from canonical rows) pass; wire values go through the normaliser."""
    # Fast paths for the spellings nearly every record uses; anything else (and every error) takes the
    # normaliser's road, so the two cannot disagree on what a value means.
    kind_of = type(value)
    if kind_of is int and kind is Kind.INT or kind_of is str and kind is Kind.STRING:
        return value
    if kind_of is str and kind is Kind.DECIMAL:
        with contextlib.suppress(InvalidOperation):
            number = Decimal(value)
            if number.is_finite():
                return number
    if kind is Kind.DECIMAL and isinstance(value, float):
        if not math.isfinite(value):
            raise Failed(f"{value!r} is not a finite number")
        return Decimal(repr(value))
    if kind in (Kind.DATETIME, Kind.DATE) and isinstance(value, datetime | date):
        return value.date() if kind is Kind.DATE and isinstance(value, datetime) else value
    if kind is Kind.INT and isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise Failed(f"{value} is not a whole number")
        return int(value)
    return _kind(kind, value, ctx)


@_register("int")
def _int(value: Any, _p: None, ctx: MappingContext) -> int | None:
    """An integer (``12``, ``"12"``); ``""`` reads as None."""
    return _plain(value, Kind.INT, ctx)


@_register("decimal")
def _decimal(value: Any, _p: None, ctx: MappingContext) -> Decimal | None:
    """An exact Decimal from PrestaShop's numeric strings (``"23.900000"``) or numbers."""
    return _plain(value, Kind.DECIMAL, ctx)


@_register("bool")
def _bool(value: Any, _p: None, ctx: MappingContext) -> bool:
    """PrestaShop's ``"0"``/``"1"`` (and 0/1, true/false) as a boolean."""
    if isinstance(value, str) and value.lower() in ("true", "false", "y", "n"):
        return value.lower() in ("true", "y")
    return _plain(value, Kind.BOOL, ctx)


@_register("string")
def _string(value: Any, _p: None, ctx: MappingContext) -> str:
    """Text; numbers become their decimal spelling."""
    if isinstance(value, float):
        return repr(value)
    return _plain(value, Kind.STRING, ctx)


@_register("i18n")
def _i18n(value: Any, _p: None, ctx: MappingContext) -> str:
    """One translation of a multilingual field (the context's language_id, else the first)."""
    return _plain(value, Kind.I18N, ctx)


@_register("date")
def _date(value: Any, _p: None, ctx: MappingContext) -> date | None:
    """A calendar date (``1970-01-15``; ``0000-00-00`` reads as None; ISO timestamps keep their date)."""
    if isinstance(value, str) and "T" in value:
        return _utc_datetime(value, None, ctx).date()
    return _plain(value, Kind.DATE, ctx)


@_register("shop_datetime")
def _shop_datetime(value: Any, _p: None, ctx: MappingContext) -> datetime | None:
    """A shop-local PrestaShop timestamp as naive UTC (``0000-00-00 00:00:00`` reads as None)."""
    local = _plain(value, Kind.DATETIME, ctx)
    if local is None:
        return None
    if local.tzinfo is None:
        # fold=0: an ambiguous autumn hour is taken as its first occurrence, as PHP's DateTime does.
        local = local.replace(tzinfo=ctx.shop_timezone)
    return local.astimezone(UTC).replace(tzinfo=None)


@_register("utc_datetime")
def _utc_datetime(value: Any, _p: None, _ctx: MappingContext) -> datetime | None:
    """An ISO-8601 timestamp with an offset (Oracle's ``2025-01-15T10:21:07.123+00:00``) as naive UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise Failed(f"{value!r} is not an ISO-8601 timestamp") from None
    else:
        raise Failed(f"{value!r} is not a timestamp")
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


@_register("iso_datetime")
def _iso_datetime(value: Any, _p: None, ctx: MappingContext) -> str:
    """A timestamp as ISO-8601 text in UTC (``2025-01-15T10:21:00+00:00``), for REST payloads."""
    moment = value if isinstance(value, datetime) else _utc_datetime(value, None, ctx)
    if moment is None:
        return None  # type: ignore[return-value]
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=0).isoformat()


@_register("iso_date")
def _iso_date(value: Any, _p: None, ctx: MappingContext) -> str:
    """A date as ``YYYY-MM-DD`` text."""
    day = value.date() if isinstance(value, datetime) else value if isinstance(value, date) else _date(value, None,
                                                                                                       ctx)
    return None if day is None else day.isoformat()  # type: ignore[return-value]


@_register("number")
def _number(value: Any, _p: None, ctx: MappingContext) -> int | float:
    """A JSON number for REST payloads: whole values as int, others as float."""
    amount = _decimal(value, None, ctx)
    if amount is None:
        return None  # type: ignore[return-value]
    return int(amount) if amount == amount.to_integral_value() else float(amount)


@_register("floor_int")
def _floor_int(value: Any, _p: None, ctx: MappingContext) -> int:
    """A quantity rounded down to a whole number (PrestaShop stock is whole units)."""
    amount = _decimal(value, None, ctx)
    return None if amount is None else int(amount.to_integral_value(rounding=ROUND_FLOOR))  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------------- text


@_register("strip")
def _strip(value: Any, _p: None, _ctx: MappingContext) -> str:
    """Text without surrounding blanks."""
    return str(value).strip()


@_register("upper")
def _upper(value: Any, _p: None, _ctx: MappingContext) -> str:
    """Upper-case text."""
    return str(value).upper()


@_register("lower")
def _lower(value: Any, _p: None, _ctx: MappingContext) -> str:
    """Lower-case text."""
    return str(value).lower()


class _Length(Params):
    length: int = Field(gt=0)


@_register("truncate", _Length, bare="length")
def _truncate(value: Any, params: _Length, _ctx: MappingContext) -> str:
    """Text cut to ``length`` characters."""
    return str(value)[:params.length]


@_register("empty_to_null", keeps_none=True)
def _empty_to_null(value: Any, _p: None, _ctx: MappingContext) -> Any:
    """``""`` and blank text as None."""
    return None if isinstance(value, str) and not value.strip() else value


@_register("nonzero")
def _nonzero(value: Any, _p: None, _ctx: MappingContext) -> Any:
    """PrestaShop's "no id" (``0``, ``"0"``, ``""``) as None."""
    return None if value in (0, "0", "", False) or (isinstance(value, Decimal) and value == 0) else value


class _Sep(Params):
    sep: str = " "


def _pieces(value: Any) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    out: list[Any] = []
    for item in value:
        out.extend(_pieces(item) if isinstance(item, list | tuple) else [item])
    return out


@_register("join", _Sep, bare="sep")
def _join(value: Any, params: _Sep, _ctx: MappingContext) -> str | None:
    """Concatenate a list of values with ``sep``, skipping empty ones (None when all are empty)."""
    parts = [str(v).strip() for v in _pieces(value) if v is not None and str(v).strip()]
    return params.sep.join(parts) if parts else None


@_register("first_present", keeps_none=True)
def _first_present(value: Any, _p: None, _ctx: MappingContext) -> Any:
    """The first non-empty element of a list (``lines[*].SalesOrder``); None when there is none."""
    for item in _pieces(value):
        if item is not None and not (isinstance(item, str) and not item.strip()):
            return item
    return None


class _Template(Params):
    template: str


@_register("format", _Template, bare="template")
def _format(value: Any, params: _Template, _ctx: MappingContext) -> str | None:
    """``str.format`` with the list's values as ``{0}``, ``{1}``… (None when any of them is None)."""
    args = value if isinstance(value, list | tuple) else [value]
    if any(a is None for a in args):
        return None
    try:
        return params.template.format(*args)
    except (IndexError, KeyError, ValueError) as exc:
        raise Failed(f"template {params.template!r} does not fit {list(args)!r}: {exc}") from None


class _Split(Params):
    sep: str = ":"
    index: int = 0


@_register("split", _Split)
def _split(value: Any, params: _Split, _ctx: MappingContext) -> str | None:
    """One part of text split on ``sep`` (``index`` 0 is the first; -1 the last); None when absent."""
    parts = str(value).split(params.sep)
    try:
        return parts[params.index]
    except IndexError:
        return None


class _Match(Params):
    pattern: str
    group: int | str = 1


@_register("match", _Match)
def _match(value: Any, params: _Match, _ctx: MappingContext) -> str:
    """A group of a regular expression that must match the whole text (else invalid data)."""
    found = re.fullmatch(params.pattern, str(value))
    if not found:
        raise Failed(f"{value!r} does not match {params.pattern!r}")
    return found.group(params.group)


class _NamePart(Params):
    part: Literal["first", "last"]


@_register("split_name", _NamePart, bare="part")
def _split_name(value: Any, params: _NamePart, _ctx: MappingContext) -> str | None:
    """First or last name from a full name: the first word is the first name, the rest the last name
    ("Anne de la Tour" -> "Anne" / "de la Tour"); a single word is a last name."""
    words = str(value).split()
    if not words:
        return None
    if len(words) == 1:
        return None if params.part == "first" else words[0]
    return words[0] if params.part == "first" else " ".join(words[1:])


class _Wrap(Params):
    width: int = Field(gt=0)
    line: int = Field(ge=1)
    sep: str = ", "


@_register("wrap_lines", _Wrap)
def _wrap_lines(value: Any, params: _Wrap, _ctx: MappingContext) -> str | None:
    """Address parts joined with ``sep`` and re-cut at word boundaries into lines of at most ``width``
    characters; returns line number ``line`` (None when the address is shorter)."""
    parts = [str(v).strip() for v in _pieces(value) if v is not None and str(v).strip()]
    if not parts:
        return None
    if all(len(p) <= params.width for p in parts):
        lines = parts  # each part fits its own line: keep the source's own line breaks
    else:
        lines = textwrap.wrap(params.sep.join(parts), width=params.width, break_long_words=True,
                              break_on_hyphens=False)
    return lines[params.line - 1] if params.line <= len(lines) else None


@_register("last4")
def _last4(value: Any, _p: None, _ctx: MappingContext) -> str | None:
    """The last four digits of a card number (never more: the rest is a secret)."""
    digits = re.sub(r"\D", "", str(value))
    return digits[-4:] if digits else None


# ------------------------------------------------------------------------------------------------- rules, lookups


class _Cases(Params):
    values: dict[str, Any]
    otherwise: Literal["null", "keep"] = "null"


@_register("cases", _Cases, bare="values")
def _cases(value: Any, params: _Cases, _ctx: MappingContext) -> Any:
    """A dispatch table: the value's entry (keys compared as text); no entry gives None (``otherwise: keep``
    keeps the value) so ``default`` applies."""
    key = _key(value)
    if key in params.values:
        return params.values[key]
    return value if params.otherwise == "keep" else None


Missing = Literal["error", "null", "keep"]


class _Lookup(Params):
    name: str
    missing: Missing = "error"


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return ":".join(_key(v) for v in value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(value)


@_register("lookup", _Lookup, bare="name")
def _lookup(value: Any, params: _Lookup, ctx: MappingContext) -> Any:
    """The value of a lookup table (declared in the spec's ``lookups:``) for this key; a list key is joined
    with ``:``."""
    table = ctx.lookups.get(params.name)
    key = _key(value)
    if table is not None and key in table:
        return table[key]
    if params.missing == "null":
        return None
    if params.missing == "keep":
        return value
    raise Failed(f"lookup {params.name!r} has no entry for {key!r}", reason="mapping_missing",
                 fix=f"Add the pair to the lookup: python -m prestaoracle map --set-lookup {params.name} "
                     f"{_quote(key)} VALUE (staging table lookup_values), or under lookups.{params.name} in the "
                     "mapping configuration.")


class _Xref(Params):
    entity: str
    direction: Literal["to_internal", "to_external"] = "to_internal"
    system: str = "prestashop"
    target: str = "oracle"
    missing: Missing = "error"


@_register("xref", _Xref, bare="entity")
def _xref(value: Any, params: _Xref, ctx: MappingContext) -> Any:
    """The bound id on the other side (binder table ``xref``): ``to_internal`` maps the shop's id to the
    target's, ``to_external`` the way back."""
    key = _key(value)
    found = ctx.xref.get(params.system, params.entity, params.target, key, reverse=params.direction == "to_external")
    if found is not None:
        return found
    if params.missing == "null":
        return None
    if params.missing == "keep":
        return value
    side = "target id" if params.direction == "to_internal" else "shop id"
    raise Failed(f"no {params.entity} cross-reference for {key!r} ({params.system} -> {params.target}, {side} "
                 "unknown)", reason="mapping_missing",
                 fix=f"Bind the pair: python -m prestaoracle map --bind {params.entity} "
                     f"{_quote(key) if params.direction == 'to_internal' else 'SHOP_ID'} "
                     f"{'TARGET_ID' if params.direction == 'to_internal' else _quote(key)} (staging table xref).")


def _quote(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_.:@/-]+", text) else "'" + text.replace("'", "'\\''") + "'"


# ------------------------------------------------------------------------------------------------- money


class _Places(Params):
    places: int = Field(ge=0, le=9)


def _quantize(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@_register("round", _Places, bare="places")
def _round(value: Any, params: _Places, ctx: MappingContext) -> Decimal | None:
    """A decimal rounded half-up to ``places``."""
    amount = _decimal(value, None, ctx)
    return None if amount is None else _quantize(amount, params.places)


def _pair(value: Any, what: str, ctx: MappingContext, size: int = 2) -> list[Decimal | None]:
    if not isinstance(value, list | tuple) or len(value) != size:
        raise Failed(f"{what} takes a list of {size} values, got {value!r}")
    return [_decimal(v, None, ctx) for v in value]


class _OptPlaces(Params):
    places: int | None = Field(default=None, ge=0, le=9)


def _maybe_round(amount: Decimal, places: int | None) -> Decimal:
    return amount if places is None else _quantize(amount, places)


@_register("tax_incl", _OptPlaces, bare="places", keeps_none=False)
def _tax_incl(value: Any, params: _OptPlaces, ctx: MappingContext) -> Decimal | None:
    """``[amount tax excluded, tax rate %]`` -> the amount tax included."""
    amount, rate = _pair(value, "tax_incl", ctx)
    if amount is None:
        return None
    return _maybe_round(amount * (1 + (rate or Decimal(0)) / 100), params.places)


@_register("tax_excl", _OptPlaces, bare="places", keeps_none=False)
def _tax_excl(value: Any, params: _OptPlaces, ctx: MappingContext) -> Decimal | None:
    """``[amount tax included, tax rate %]`` -> the amount tax excluded."""
    amount, rate = _pair(value, "tax_excl", ctx)
    if amount is None:
        return None
    return _maybe_round(amount / (1 + (rate or Decimal(0)) / 100), params.places)


@_register("subtract", keeps_none=False)
def _subtract(value: Any, _p: None, ctx: MappingContext) -> Decimal | None:
    """``[a, b]`` -> ``a - b`` (None when either is None)."""
    a, b = _pair(value, "subtract", ctx)
    return None if a is None or b is None else a - b


@_register("multiply", keeps_none=False)
def _multiply(value: Any, _p: None, ctx: MappingContext) -> Decimal | None:
    """``[a, b]`` -> ``a * b`` (None when either is None)."""
    a, b = _pair(value, "multiply", ctx)
    return None if a is None or b is None else a * b


@_register("convert_currency", _OptPlaces, bare="places", keeps_none=False)
def _convert_currency(value: Any, params: _OptPlaces, ctx: MappingContext) -> Decimal | None:
    """``[amount, from currency, to currency]`` or ``[…, on date]`` -> the amount in the target currency, by the
    rates table (direct, inverse or through a common currency). A missing target currency means "no conversion"."""
    if not isinstance(value, list | tuple) or len(value) not in (3, 4):
        raise Failed(f"convert_currency takes [amount, from, to] or [amount, from, to, date], got {value!r}")
    amount = _decimal(value[0], None, ctx)
    source, target = value[1], value[2]
    on = value[3] if len(value) == 4 else None
    if amount is None:
        return None
    if target in (None, "") or source == target:
        return _maybe_round(amount, params.places)
    if source in (None, ""):
        raise Failed(f"amount {amount} has no currency to convert from")
    day = on.date() if isinstance(on, datetime) else on if isinstance(on, date) else None
    rate = ctx.rates.rate(str(source), str(target), day)
    if rate is None:
        raise Failed(f"no exchange rate {source} -> {target}" + (f" valid on {day}" if day else ""),
                     reason="mapping_missing",
                     fix=f"Add the rate: python -m prestaoracle map --set-rate {source} {target} RATE "
                         "(staging table currency_rates), or under rates: in the mapping configuration.")
    return _maybe_round(amount * rate, params.places)


def check_params(name: str, raw: Any) -> Any:
    """Validated parameters for converter ``name`` (raises KeyError/ValueError with a readable message)."""
    conv = CONVERTERS.get(name)
    if conv is None:
        raise KeyError(name)
    if conv.params is None:
        if raw is not None:
            raise ValueError(f"converter {name!r} takes no parameters")
        return None
    fields = set(conv.params.model_fields)
    if raw is None:
        data: Mapping[str, Any] = {}
    elif isinstance(raw, Mapping) and (conv.bare is None or not _bare_is_mapping(conv) or set(raw) <= fields):
        data = raw
    elif conv.bare is not None:
        data = {conv.bare: raw}
    else:
        raise ValueError(f"converter {name!r} takes parameters {sorted(fields)}")
    return conv.params.model_validate(data)


def _bare_is_mapping(conv: Converter) -> bool:
    annotation = conv.params.model_fields[conv.bare].annotation if conv.params and conv.bare else None
    return getattr(annotation, "__origin__", annotation) is dict
