"""From GX results to per-record outcomes, and from outcomes to the staging database: ``dq_status`` per row, one
``validate`` dead letter per failing record, and the open ``validate`` dead letters of records that now pass
resolved.

Everything is written in the caller's transaction, so a run either marks its whole batch or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from more_itertools import batched

from prestaoracle.reasons import most_specific
from prestaoracle.staging import dead_letters
from prestaoracle.staging.schema import DQ_STATUSES, TABLES
from prestaoracle.staging.schema import dead_letters as dead_letters_table

from .frames import DQ_STATUS
from .gx_project import CheckOutcome
from .rules import Entity, Rule

STAGE = "validate"
MARK_CHUNK = 500
PENDING, PASSED, QUARANTINED = DQ_STATUSES


@dataclass(frozen=True)
class Finding:
    """One broken rule on one record; ``where`` locates it (``{"id_order_detail": 17, "quantity": -2}``)."""

    rule: Rule
    check: str
    where: Mapping[str, Any]

    def describe(self) -> str:
        detail = ", ".join(f"{k}={v!r}" for k, v in self.where.items())
        return f"{self.rule.name}: {self.rule.problem}" + (f" ({detail})" if detail else "")


@dataclass
class RecordVerdict:
    key: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def reason_class(self) -> str:
        """One class per record (the dead letter's): the most specific of its broken rules' classes."""
        return most_specific(f.rule.reason_class for f in self.findings)

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(f.rule.name for f in self.findings))

    def message(self) -> str:
        lines = [f"failed {len(self.rules)} expectation(s): {', '.join(self.rules)}"]
        lines += [f"- {f.describe()}" for f in self.findings]
        return "\n".join(lines)

    def how_to_fix(self) -> str:
        fixes = dict.fromkeys(f"{f.rule.name}: {f.rule.how_to_fix}" for f in self.findings)
        return "\n".join(fixes)


def verdicts(entity: Entity, outcomes: Iterable[CheckOutcome]) -> dict[str, RecordVerdict]:
    """The failing records, by record key, each with every rule it broke."""
    found: dict[str, RecordVerdict] = {}
    for outcome in outcomes:
        check = next(c for c in entity.checks if c.name == outcome.check)
        rules = {r.name: r for r in check.rules}
        for expectation in outcome.expectations:
            for entry in expectation.unexpected:
                key = entity.record_key(entry)
                where = {k: v for k, v in entry.items() if k not in entity.key}
                verdict = found.setdefault(key, RecordVerdict(key))
                verdict.findings.append(Finding(rules[expectation.rule], outcome.check, where))
    return dict(sorted(found.items(), key=lambda item: _natural(item[0])))


def _natural(key: str) -> tuple:
    """Record keys in the order people expect (``9`` before ``10``, composite keys part by part)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in key.split("|"))


def apply(conn: sa.Connection, entity: Entity, *, keys: list[dict[str, Any]], failing: Mapping[str, RecordVerdict],
          payloads: Mapping[str, Any], run_id: str) -> None:
    """Mark every validated row (and its children), write the dead letters and resolve the cured ones."""
    status_of = {entity.record_key(k): (QUARANTINED if entity.record_key(k) in failing else PASSED) for k in keys}
    marks = [(tuple(k[c] for c in entity.key), status_of[entity.record_key(k)]) for k in keys]
    _mark(conn, entity.table, entity.key, marks)
    for table, fk in entity.children:
        _mark(conn, table, (fk,), marks)
    for key, verdict in failing.items():
        dead_letters.quarantine(conn, source=entity.source, entity=entity.name, record_key=key, stage=STAGE,
                                reason_class=verdict.reason_class, message=verdict.message(),
                                how_to_fix=verdict.how_to_fix(), payload=payloads.get(key), run_id=run_id)
    _resolve_cured(conn, entity, status_of, failing)


def _mark(conn: sa.Connection, table: str, columns: tuple[str, ...], marks: list[tuple[tuple[Any, ...], str]]) -> None:
    """Set the status of the rows whose ``columns`` equal each mark's values, a few hundred keys per statement.

    No ``dq_status = 'pending'`` condition: it would not tell a row re-mapped during the run from the one read
    (both are pending), and SQLite, without statistics, then walks the low-selectivity ``dq_status`` index instead
    of the key (every pending row per statement)."""
    t = sa.table(table, *(sa.column(c) for c in columns), sa.column(DQ_STATUS))
    key = sa.tuple_(*(t.c[c] for c in columns)) if len(columns) > 1 else t.c[columns[0]]
    by_status: dict[str, list[Any]] = {}
    for values, status in marks:
        by_status.setdefault(status, []).append(values if len(columns) > 1 else values[0])
    for status, keys in by_status.items():
        for chunk in batched(keys, MARK_CHUNK):
            conn.execute(sa.update(t).where(key.in_(chunk)).values({DQ_STATUS: status}))


def accepted(conn: sa.Connection, entity: Entity, failing: Mapping[str, RecordVerdict]) -> set[str]:
    """The failing records a person has released (``release``): their ``ignored`` ``validate`` dead letter named
    every rule they break now, so the gate lets them pass while the problem stays the same. A record that breaks a
    rule nobody released (even one of the same reason class) is held again."""
    if not failing:
        return set()
    t = dead_letters_table
    released: dict[str, set[str]] = {}
    for chunk in batched(list(failing), MARK_CHUNK):
        rows = conn.execute(sa.select(t.c.record_key, t.c.message).where(
            t.c.source == entity.source, t.c.entity == entity.name, t.c.stage == STAGE, t.c.status == "ignored",
            t.c.record_key.in_(chunk)))
        for key, message in rows:
            released.setdefault(key, set()).update(_released_rules(message))
    return {key for key, rules in released.items() if set(failing[key].rules) <= rules}


def _released_rules(message: str) -> set[str]:
    """The rule names a dead letter's message lists on its first line (``failed 2 expectation(s): a, b``)."""
    head = (message or "").split("\n", 1)[0]
    _, _, names = head.partition(": ")
    return {name.strip() for name in names.split(",") if name.strip()}


def release(conn: sa.Connection, entity: Entity, record_key: str, *, note: str) -> int:
    """A person's decision that a held record may go on as it is (e.g. the real order of a duplicate pair, the
    other one cancelled in the shop): its open ``validate`` dead letters become ``ignored`` with ``note`` and the
    record (with its children) ``passed``; later runs let the same problem through. Returns the letters closed."""
    letters = dead_letters.list_open(conn, source=entity.source, entity=entity.name, stage=STAGE,
                                     record_keys=[record_key], include_replayed=True)
    if not letters:
        raise LookupError(f"{entity.source}/{entity.name} {record_key} has no open dead letter of the quality gate")
    closed = dead_letters.ignore(conn, [d.id for d in letters], note=note)
    table = TABLES[entity.table]
    values = tuple(_typed(table.c[c], part) for c, part in zip(entity.key, record_key.split("|"), strict=True))
    _mark(conn, entity.table, entity.key, [(values, PASSED)])
    for child, fk in entity.children:
        _mark(conn, child, (fk,), [(values, PASSED)])
    return closed


def recheck_missing_references(conn: sa.Connection, entity: Entity) -> int:
    """Make the quarantined records whose open ``validate`` dead letter is ``mapping_missing`` pending again, so
    this run checks them with the rest: what they referenced (a customer, an address, a catalogue SKU) may have
    been staged since, and nothing about the record itself would change to bring it back. Returns how many."""
    letters = dead_letters.list_open(conn, source=entity.source, entity=entity.name, stage=STAGE,
                                     reason_class="mapping_missing", include_replayed=True)
    if not letters:
        return 0
    table = TABLES[entity.table]
    marks = [(tuple(_typed(table.c[c], part) for c, part in zip(entity.key, d.record_key.split("|"), strict=True)),
              PENDING) for d in letters]
    _mark(conn, entity.table, entity.key, marks)
    return len(marks)


def _typed(column: sa.Column, text: str) -> Any:
    return int(text) if isinstance(column.type, sa.Integer) else text


def _resolve_cured(conn: sa.Connection, entity: Entity, status_of: Mapping[str, str],
                   failing: Mapping[str, RecordVerdict]) -> None:
    """Close open ``validate`` letters of records that pass now, and of other reason classes for failing ones."""
    cured = []
    for letter in dead_letters.list_open(conn, source=entity.source, entity=entity.name, stage=STAGE,
                                         include_replayed=True):
        if letter.record_key not in status_of:
            continue
        verdict = failing.get(letter.record_key)
        if verdict is None or verdict.reason_class != letter.reason_class:
            cured.append(letter.id)
    if cured:
        dead_letters.resolve(conn, cured, note="passes the quality gate now")
