"""The vocabulary of the quality gate: a rule is one GX expectation with its reason and its fix; a check is one GX
validation (one suite on one batch); an entity is a canonical table with its checks.

Rules are plain data (the GX class is named, not imported), so importing the suites costs nothing at DAG parse
time; ``gx_project`` turns them into expectations inside the task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from prestaoracle.reasons import REASON_CLASSES


@dataclass(frozen=True)
class Rule:
    """One expectation: ``expectation`` is a class of ``great_expectations.expectations`` and ``kwargs`` its
    arguments; ``problem`` says what a failing row has wrong and ``how_to_fix`` what to change, and where."""

    name: str
    expectation: str
    kwargs: Mapping[str, Any]
    reason_class: str
    problem: str
    how_to_fix: str

    def __post_init__(self) -> None:
        if self.reason_class not in REASON_CLASSES:
            raise ValueError(f"rule {self.name}: reason class {self.reason_class!r} is not one of {REASON_CLASSES}")

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the expectation reads (shown next to the key in a dead letter's message)."""
        names = [self.kwargs.get(k) for k in ("column", "column_A", "column_B")]
        return tuple(n for n in names if n)


@dataclass(frozen=True)
class Check:
    """One GX validation of an entity.

    ``frame`` checks run on the pending rows in hand as a pandas DataFrame (``frames.py`` loads them and adds the
    derived columns); ``table`` checks run in the staging database itself, through a GX SQL query asset, for rules
    that need the whole table (uniqueness, references to other tables). ``index`` names the columns GX reports for
    each unexpected row: the entity's key first, then whatever locates the row inside the record (a line id).
    """

    name: str
    kind: Literal["frame", "table"]
    index: tuple[str, ...]
    rules: tuple[Rule, ...]
    query: str | None = None

    def __post_init__(self) -> None:
        if (self.kind == "table") != (self.query is not None):
            raise ValueError(f"check {self.name}: a table check needs a query, a frame check none")
        names = [r.name for r in self.rules]
        if len(names) != len(set(names)):
            raise ValueError(f"check {self.name}: rule names repeat")


@dataclass(frozen=True)
class Entity:
    """A canonical table the gate validates: ``key`` identifies a record (and its dead letters); ``children`` are
    tables whose rows belong to a record (``(table, column holding the parent key)``) and share its outcome."""

    name: str
    source: str
    table: str
    key: tuple[str, ...]
    checks: tuple[Check, ...]
    children: tuple[tuple[str, str], ...] = ()
    frame_children: Mapping[str, str] = field(default_factory=dict)
    """Frame check name → child table whose pending rows make that frame (e.g. ``order_lines`` → ps_order_lines)."""

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for c in self.checks for r in c.rules)

    def record_key(self, values: Mapping[str, Any]) -> str:
        """The record key dead letters use: the key column's value, or the values joined by ``|``."""
        return "|".join(_key_text(values[k]) for k in self.key)

    def suite_name(self, check: Check) -> str:
        return f"{self.source}-{self.name}-{check.name}"


def _key_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ------------------------------------------------------------------------------------------ rule builders
# Small constructors for the rules every suite repeats, so each entity module reads as a list of business rules.


def required(column: str, *, what: str, fix: str, name: str | None = None) -> Rule:
    return Rule(name or f"{column}_present", "ExpectColumnValuesToNotBeNull", {"column": column}, "invalid_data",
                f"{what} is empty", fix)


def at_least(column: str, minimum: float, *, name: str, reason: str, problem: str, fix: str) -> Rule:
    return Rule(name, "ExpectColumnValuesToBeBetween", {"column": column, "min_value": minimum}, reason, problem, fix)


def at_most(column: str, maximum: float, *, name: str, reason: str, problem: str, fix: str) -> Rule:
    return Rule(name, "ExpectColumnValuesToBeBetween", {"column": column, "max_value": maximum}, reason, problem, fix)


def one_of(column: str, values: list[Any], *, name: str, reason: str, problem: str, fix: str) -> Rule:
    return Rule(name, "ExpectColumnValuesToBeInSet", {"column": column, "value_set": values}, reason, problem, fix)


def matches(column: str, regex: str, *, name: str, problem: str, fix: str) -> Rule:
    return Rule(name, "ExpectColumnValuesToMatchRegex", {"column": column, "regex": regex}, "invalid_data",
                problem, fix)


def not_below(column_a: str, column_b: str, *, name: str, reason: str, problem: str, fix: str) -> Rule:
    """``column_a >= column_b`` on every row where both are given."""
    return Rule(name, "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": column_a, "column_B": column_b, "or_equal": True,
                 "ignore_row_if": "either_value_is_missing"}, reason, problem, fix)


def found(column: str, *, name: str, problem: str, fix: str) -> Rule:
    """A ``table`` check's 1/0 column saying a referenced row exists (NULL when there is nothing to look up)."""
    return Rule(name, "ExpectColumnValuesToBeInSet", {"column": column, "value_set": [1]}, "mapping_missing",
                problem, fix)
