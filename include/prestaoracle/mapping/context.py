"""What a mapping needs besides the record: the shop's clock and id, defaults, lookups, cross-references, rates.

:class:`MappingContext` is plain data, built without Airflow from a dict or a YAML/JSON file (validated, errors
with ``file:line``) so tests, the CLI and the flows build it the same way::

    shop_id: 1
    shop_timezone: Europe/Paris          # PrestaShop dates are shop-local; canonical tables keep UTC
    language_id: 1                       # which translation of multilingual fields (default: the first given)
    defaults:                            # read by specs as {context: defaults.NAME}
      source_system: PSHOP
      business_unit: Vision Operations
      fulfillment_org: M1
    lookups:                             # many-to-one tables: {lookup: NAME} in a spec
      order_state: {OPEN: 3, CLOSED: 5}
    xref:                                # one-to-one binds shop id -> Oracle id: {xref: ENTITY} in a spec
      customer: {"42": "1006"}
    rates:                               # exchange rates for convert_currency
      - {from: EUR, to: USD, rate: "1.08", valid_from: 2025-01-01}

``config.default.yaml`` next to this module holds the values that fit the sandboxes; a real shop copies and edits
it. :meth:`MappingContext.with_staging` adds what the staging database holds (``lookup_values``, ``xref``,
``currency_rates``, and the lookups specs declare over landed or canonical rows); staging entries win, since they
are the operator's fixes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import SpecError
from .rates import Rate, Rates
from .yamlfile import Located, load_located, validation_error

__all__ = ["DEFAULT_CONFIG", "MappingContext", "XrefIndex"]

DEFAULT_CONFIG = Path(__file__).resolve().with_name("config.default.yaml")
CONTEXT_ROOTS = ("shop_id", "shop_timezone", "language_id", "defaults")
"""What ``{context: …}`` may read (``defaults.NAME`` for the configured defaults)."""


@dataclass(frozen=True)
class XrefIndex:
    """The binder's pairs in memory: ``(system, entity, target)`` -> shop id -> target id, and the way back."""

    forward: Mapping[tuple[str, str, str], Mapping[str, str]] = field(default_factory=dict)
    backward: Mapping[tuple[str, str, str], Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str, str, str, str]]) -> XrefIndex:
        """From ``(system, entity, external_id, target, target_id)`` rows."""
        forward: dict[tuple[str, str, str], dict[str, str]] = {}
        backward: dict[tuple[str, str, str], dict[str, str]] = {}
        for system, entity, external_id, target, target_id in pairs:
            forward.setdefault((system, entity, target), {})[str(external_id)] = str(target_id)
            backward.setdefault((system, entity, target), {})[str(target_id)] = str(external_id)
        return cls(forward, backward)

    def get(self, system: str, entity: str, target: str, key: str, *, reverse: bool = False) -> str | None:
        side = self.backward if reverse else self.forward
        return side.get((system, entity, target), {}).get(key)

    def merged(self, other: XrefIndex) -> XrefIndex:
        forward = {k: dict(v) for k, v in self.forward.items()}
        backward = {k: dict(v) for k, v in self.backward.items()}
        for k, v in other.forward.items():
            forward.setdefault(k, {}).update(v)
        for k, v in other.backward.items():
            backward.setdefault(k, {}).update(v)
        return XrefIndex(forward, backward)

    def __len__(self) -> int:
        return sum(len(v) for v in self.forward.values())


@dataclass(frozen=True)
class MappingContext:
    """Everything a spec may read besides the record (see the module docstring)."""

    shop_id: int = 1
    shop_timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    language_id: int | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    lookups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    xref: XrefIndex = field(default_factory=XrefIndex)
    rates: Rates = field(default_factory=Rates)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | str | Path | None = None, **overrides: Any) -> MappingContext:
        """From a dict, a YAML/JSON file, or None for ``config.default.yaml``; keyword overrides win
        (``shop_timezone`` may be a zone name)."""
        if config is None:
            config = DEFAULT_CONFIG
        located = _located(config)
        try:
            parsed = _Config.model_validate(located.data or {})
        except ValidationError as exc:
            raise validation_error(located, exc) from None
        values: dict[str, Any] = {
            "shop_id": parsed.shop_id,
            "shop_timezone": parsed.shop_timezone,
            "language_id": parsed.language_id,
            "defaults": dict(parsed.defaults),
            "lookups": {name: {_text(k): v for k, v in table.items()} for name, table in parsed.lookups.items()},
            "xref": XrefIndex.of((x.system, entity, _text(k), x.target, _text(v))
                                 for entity, x in parsed.xref_tables() for k, v in x.pairs.items()),
            "rates": Rates.of(Rate(r.source, r.target, r.rate, r.valid_from) for r in parsed.rates),
        }
        for name, value in overrides.items():
            if name == "shop_timezone" and isinstance(value, str):
                value = _zone(value)
            if name not in values:
                raise TypeError(f"MappingContext has no setting {name!r}")
            values[name] = value
        return cls(**values)

    def context_value(self, path: tuple[str | int, ...]) -> Any:
        """The value of a ``{context: …}`` path (``shop_id``, ``defaults.business_unit``), None when unset."""
        head, rest = path[0], path[1:]
        if head == "defaults":
            value: Any = self.defaults
            for step in rest:
                value = value.get(step) if isinstance(value, Mapping) else None
            return value
        value = getattr(self, str(head))
        return str(value) if isinstance(value, ZoneInfo) else value

    def with_lookups(self, extra: Mapping[str, Mapping[str, Any]], *, override: bool = True) -> MappingContext:
        """A copy with more lookup entries; ``override=False`` keeps this context's entries where both have one."""
        merged: dict[str, dict[str, Any]] = {name: dict(table) for name, table in self.lookups.items()}
        for name, table in extra.items():
            current = merged.setdefault(name, {})
            if override:
                current.update(table)
            else:
                merged[name] = {**table, **current}
        return replace(self, lookups=merged)

    def with_staging(self, conn: Any, specs: Iterable[Any] = ()) -> MappingContext:
        """A copy with the staging database's lookups, binds and rates, plus the lookups ``specs`` declare over
        landed or canonical rows (see :mod:`prestaoracle.mapping.lookups`)."""
        from . import lookups

        return lookups.enrich(self, conn, specs)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as Europe/Paris") from None


def _located(config: Mapping[str, Any] | str | Path) -> Located:
    if isinstance(config, Mapping):
        return Located("<mapping config>", dict(config), None)
    path = Path(config)
    if path.suffix == ".json":
        try:
            return Located(str(path), json.loads(path.read_text(encoding="utf-8")), None)
        except (OSError, ValueError) as exc:
            raise SpecError(str(path), None, f"cannot read the JSON configuration: {exc}") from None
    return load_located(path)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _RateRow(_Strict):
    source: str = Field(alias="from", min_length=3, max_length=3)
    target: str = Field(alias="to", min_length=3, max_length=3)
    rate: Decimal = Field(gt=0)
    valid_from: date = date(1970, 1, 1)


class _XrefTable(_Strict):
    system: str = "prestashop"
    target: str = "oracle"
    pairs: dict[str | int, str | int] = {}


class _Config(_Strict):
    shop_id: int = Field(1, ge=1)
    shop_timezone: ZoneInfo = ZoneInfo("UTC")
    language_id: int | None = None
    defaults: dict[str, Any] = {}
    lookups: dict[str, dict[str | int, Any]] = {}
    xref: dict[str, dict[str | int, str | int] | _XrefTable] = {}
    rates: list[_RateRow] = []

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    @field_validator("shop_timezone", mode="before")
    @classmethod
    def _tz(cls, value: Any) -> ZoneInfo:
        return value if isinstance(value, ZoneInfo) else _zone(str(value))

    def xref_tables(self) -> list[tuple[str, _XrefTable]]:
        return [(entity, table if isinstance(table, _XrefTable) else _XrefTable(pairs=table))
                for entity, table in self.xref.items()]
