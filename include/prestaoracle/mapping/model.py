"""The shape of a mapping spec, as pydantic models (unknown keys are refused everywhere).

A spec reads one source record and writes one target: a canonical staging table or an outbound payload. OCA's
mapper vocabulary, declared in YAML (see ``docs/mapping.md`` for the whole language)::

    spec: 1                                  # format of this file
    version: 3                               # this mapping's own version: bump it when the mapping changes
    description: PrestaShop orders (landed) -> ps_orders
    source: {system: prestashop, entity: orders}
    target: {table: ps_orders, key: [id_order]}      # or {payload: fusion_sales_order, omit_none: true}
    lookups:                                 # every lookup a step uses is declared, with where its pairs come from
      currency_iso: {landed: {system: prestashop, entity: currencies, value: iso_code}}
    direct:                                  # [source path, target field, converter or [converters]]
      - [id, id_order, int]
      - [total_paid_tax_incl, total_paid_tax_incl, decimal]
    computed:                                # target field: rule
      currency_iso: {from: id_currency, convert: [{lookup: {name: currency_iso, missing: "null"}}]}
    children:                                # lists inside the record, mapped by another spec or inline
      lines: {from: lines, spec: ora_order_lines}
    only_create: [date_add]                  # written on insert, never updated

A rule takes its value from exactly one of ``from`` (a path, or a list of rules giving a list), ``const``,
``context`` (``shop_id``, ``defaults.NAME``…), ``parent`` (the parent record, in children), ``root`` (the
top-level record, in children at any depth), ``output`` (a field this spec already produced), ``position``
(1-based index among siblings), ``first`` (the first rule giving a value) or ``when`` (conditions, with
``else``); then runs its ``convert`` steps, then ``default``, then ``required``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .context import CONTEXT_ROOTS
from .converters import CONVERTERS, check_params
from .paths import Path, parse_path

__all__ = ["Child", "Condition", "Direct", "LookupDecl", "Rule", "SpecModel", "StepSpec"]

SOURCES = ("from", "const", "context", "parent", "root", "output", "position", "first", "when")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# ------------------------------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class StepSpec:
    name: str
    params: Any


def _closest(name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


def _parse_step(raw: Any, info: ValidationInfo) -> StepSpec:
    if isinstance(raw, StepSpec):
        return raw
    if isinstance(raw, str):
        name, params = raw, None
    elif isinstance(raw, Mapping) and len(raw) == 1:
        name, params = next(iter(raw.items()))
    else:
        raise ValueError(f"a converter step is a name or {{name: parameters}}, got {raw!r}")
    if not isinstance(name, str) or name not in CONVERTERS:
        raise ValueError(f"unknown converter {name!r}{_closest(str(name), list(CONVERTERS))}; "
                         f"known: {', '.join(sorted(CONVERTERS))}")
    try:
        checked = check_params(name, params)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"converter {name!r}: {problems}") from None
    declared = (info.context or {}).get("lookups")
    if name == "lookup" and declared is not None and checked.name not in declared:
        raise ValueError(f"lookup {checked.name!r} is not declared under lookups:{_closest(checked.name, declared)}")
    return StepSpec(name, checked)


Step = Annotated[StepSpec, PlainValidator(_parse_step)]


def _steps(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, list) else [raw]


def _path(text: str) -> Path:
    try:
        return parse_path(text)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def _check_path(text: str) -> str:
    _path(text)
    return text


PathText = Annotated[str, AfterValidator(_check_path)]


# ------------------------------------------------------------------------------------------------- conditions

_OPERATORS = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "empty", "all_in", "any_in")
_SUBJECTS = ("field", "output", "parent", "root", "context")
_COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")


class Condition(_Strict):
    """``{field: module, in: [ps_wirepayment, bankwire]}``; ``{all: […]}``, ``{any: […]}``, ``{not: …}``. A
    comparison may name another value instead of a constant: ``{output: _home_currency, eq: {field: currency}}``."""

    field: PathText | None = None
    output: PathText | None = None
    parent: PathText | None = None
    root: PathText | None = None
    context: PathText | None = None
    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    not_in: list[Any] | None = None
    gt: Any = None
    ge: Any = None
    lt: Any = None
    le: Any = None
    empty: bool | None = None
    all_in: list[Any] | None = None
    any_in: list[Any] | None = None
    all_: list[Condition] | None = Field(None, alias="all")
    any_: list[Condition] | None = Field(None, alias="any")
    not_: Condition | None = Field(None, alias="not")

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        given = {name.rstrip("_") for name in self.model_fields_set}
        combinators = given & {"all", "any", "not"}
        if combinators:
            if len(given) != 1:
                raise ValueError("all/any/not stand alone in a condition")
            return self
        subjects = given & set(_SUBJECTS)
        operators = given & set(_OPERATORS)
        if len(subjects) != 1 or len(operators) != 1:
            raise ValueError(f"a condition names one of {', '.join(_SUBJECTS)} and one operator of "
                             f"{', '.join(_OPERATORS)}; got {sorted(given)}")
        subject = next(iter(subjects))
        if subject == "context":
            _check_context(self.context)  # type: ignore[arg-type]
        operator = next(iter(operators))
        operand = getattr(self, "in_" if operator == "in" else operator)
        if isinstance(operand, Mapping):
            if operator not in _COMPARISONS or len(operand) != 1 or next(iter(operand)) not in _SUBJECTS:
                raise ValueError(f"{operator}: a value, or one of {', '.join(_SUBJECTS)} to compare with another "
                                 f"value ({{field: currency_iso}}); got {dict(operand)!r}")
            kind, text = next(iter(operand.items()))
            _path(str(text))
            if kind == "context":
                _check_context(str(text))
        return self

    @property
    def subject(self) -> tuple[str, str]:
        for name in _SUBJECTS:
            if name in self.model_fields_set:
                return name, getattr(self, name)
        raise AssertionError("validated conditions have a subject")

    @property
    def operator(self) -> tuple[str, Any]:
        for name in _OPERATORS:
            attr = "in_" if name == "in" else name
            if attr in self.model_fields_set:
                return name, getattr(self, attr)
        raise AssertionError("validated conditions have an operator")


def _check_context(text: str) -> None:
    head = str(_path(text)[0])
    if head not in CONTEXT_ROOTS:
        raise ValueError(f"context path {text!r} must start with one of {', '.join(CONTEXT_ROOTS)}")


# ------------------------------------------------------------------------------------------------- rules


class Case(_Strict):
    if_: Condition = Field(alias="if")
    then: RuleLike


class Rule(_Strict):
    """Where a target value comes from and what happens to it (see the module docstring)."""

    from_: PathText | list[RuleLike] | None = Field(None, alias="from")
    const: Any = None
    context: PathText | None = None
    parent: PathText | None = None
    root: PathText | None = None
    output: PathText | None = None
    position: bool | None = None
    first: list[RuleLike] | None = None
    when: list[Case] | None = None
    else_: RuleLike | None = Field(None, alias="else")
    convert: Annotated[list[Step], Field(default_factory=list)]
    default: Any = None
    required: bool | Literal["invalid_data", "mapping_missing"] = False
    fix: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_step(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "convert" in data and not isinstance(data["convert"], list):
            return {**data, "convert": _steps(data["convert"])}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> Rule:
        given = [name for name in SOURCES if (name + "_" if name == "from" else name) in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(f"a rule takes its value from exactly one of {', '.join(SOURCES)}; got "
                             f"{', '.join(given) or 'none'}")
        if self.else_ is not None and self.when is None:
            raise ValueError("'else' goes with 'when'")
        if self.position is False:
            raise ValueError("position: true is the only form")
        return self

    @field_validator("context")
    @classmethod
    def _known_context(cls, value: str | None) -> str | None:
        if value is not None:
            _check_context(value)
        return value

    @property
    def source(self) -> str:
        for name in SOURCES:
            if (name + "_" if name == "from" else name) in self.model_fields_set:
                return name
        raise AssertionError("validated rules have a source")


def _rule_tag(value: Any) -> str:
    return "path" if isinstance(value, str) else "rule"


RuleLike = Annotated[
    Annotated[PathText, Tag("path")] | Annotated[Rule, Tag("rule")],
    Discriminator(_rule_tag),
]
"""A rule, or a bare string meaning ``{from: <path>}``."""


@dataclass(frozen=True)
class Direct:
    """``[source path, target field]`` or ``[source path, target field, step | [steps]]``."""

    source: str
    target: str
    convert: tuple[StepSpec, ...]


def _parse_direct(raw: Any, info: ValidationInfo) -> Direct:
    if isinstance(raw, Direct):
        return raw
    if not isinstance(raw, list) or len(raw) not in (2, 3) or not all(isinstance(x, str) for x in raw[:2]):
        raise ValueError(f"a direct pair is [source path, target field] or [source path, target field, converters]; "
                         f"got {raw!r}")
    _path(raw[0])
    steps = tuple(_parse_step(step, info) for step in _steps(raw[2])) if len(raw) == 3 else ()
    return Direct(raw[0], raw[1], steps)


DirectPair = Annotated[Direct, PlainValidator(_parse_direct)]


# ------------------------------------------------------------------------------------------------- spec


class Body(_Strict):
    direct: list[DirectPair] = []
    computed: dict[str, RuleLike] = {}
    children: dict[str, Child] = {}


class Child(Body):
    """A list inside the record (``from``; an object counts as a list of one; no ``from``: the record itself),
    mapped by a spec file (``spec``) or inline (``direct``/``computed``)."""

    from_: PathText | None = Field(None, alias="from")
    spec: str | None = None
    where: Condition | None = None

    @model_validator(mode="after")
    def _one_body(self) -> Child:
        inline = bool(self.direct or self.computed or self.children)
        if (self.spec is None) == (not inline):
            raise ValueError("a child names a spec file (spec: NAME) or maps inline (direct/computed), not both")
        return self


class LandedSource(_Strict):
    """Pairs from landed records of a source entity: the record id (or ``key``) -> ``value`` (paths)."""

    system: str
    entity: str
    value: str
    key: str | None = None


class TableSource(_Strict):
    """Pairs from a staging table: ``key`` column(s) (joined with ':') -> ``value`` (a column, or a template
    such as ``"{id_product}:{id_product_attribute}"``), optionally filtered by ``where`` equalities."""

    name: str
    key: str | list[str]
    value: str
    where: dict[str, Any] = {}


class LookupDecl(_Strict):
    description: str = ""
    landed: LandedSource | None = None
    table: TableSource | list[TableSource] | None = None

    def tables(self) -> list[TableSource]:
        if self.table is None:
            return []
        return self.table if isinstance(self.table, list) else [self.table]


class Source(_Strict):
    system: Literal["prestashop", "oracle", "staging"]
    entity: str
    id: str = "id"
    """Path of the record's own id (names the record in dead letters)."""
    within: str | None = None
    """Set on child specs: the records are the list at this path inside the entity's records."""


class Target(_Strict):
    table: str | None = None
    key: list[str] = []
    payload: str | None = None
    omit_none: bool = False
    """Payloads: leave out fields whose value is None (REST APIs prefer absent to null)."""

    @model_validator(mode="after")
    def _one_kind(self) -> Target:
        if (self.table is None) == (self.payload is None):
            raise ValueError("a target is a table (table: NAME, key: [...]) or a payload (payload: NAME)")
        if self.table is not None and not self.key:
            raise ValueError("a table target needs its key columns (key: [...])")
        if self.table is not None and self.omit_none:
            raise ValueError("omit_none is for payloads: a table row carries every column it maps")
        return self


class SpecModel(Body):
    spec: Literal[1]
    version: int = Field(ge=1)
    description: str
    source: Source
    target: Target
    family: list[str] = []
    """Landed entities extracted with this one, mapped in the same ``map_landed`` call by their own specs."""
    needs: list[str] = []
    """Canonical tables this spec's lookups read: map them first."""
    lookups: dict[str, LookupDecl] = {}
    only_create: list[str] = []


for _model in (Case, Rule, Body, Child, SpecModel):
    _model.model_rebuild()
