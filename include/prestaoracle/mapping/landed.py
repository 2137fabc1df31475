"""``map_landed``: the landing rows not mapped yet, mapped into their canonical tables.

For ``(source, entity)`` it takes the spec reading that entity and the specs of its ``family`` (the entities the
extraction lands with it: an order's lines, carriers, histories, payments, customer and addresses), and for each
reads the landing rows whose version has not been mapped (``mapped_sha1`` NULL or not ``payload_sha1``), whatever
run landed them, in chunks (keyset on ``record_id``: memory stays bounded whatever the backlog's size). A run that
died after landing part of a window, or whose map step failed, thus leaves nothing behind: the next run maps it.
Each chunk is mapped record by record and written in one transaction:

* rows are upserted by the target's key, ``run_id`` and ``dq_status = 'pending'`` added; a row that maps to what
  the table already holds is left alone (``upsert`` compares all but bookkeeping columns), and ``only_create``
  columns are written on insert only;
* a record that cannot be mapped goes to ``dead_letters`` (stage ``map``, its reason class, message, how to fix,
  the landed payload) and the others go on — also when the database refuses one row of the chunk (the chunk is
  written again record by record, in savepoints); a record that maps after an earlier failure closes its open
  ``map`` dead letters;
* the landing rows of the records written get ``mapped_sha1 = payload_sha1`` (the version read), in the same
  transaction; a record that failed stays unmapped and is tried again by the next call (its dead letter counts
  one more occurrence until the operator's fix makes it map).

``run_id`` is the run doing the mapping: it goes on the canonical rows and dead letters, and the counts are returned
and recorded in ``run_metrics`` (flow ``map``, step ``source.entity``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from prestaoracle.staging import dead_letters as dead_letter_store
from prestaoracle.staging import metrics
from prestaoracle.staging._common import utcnow
from prestaoracle.staging.schema import dead_letters, landing_records
from prestaoracle.staging.upsert import upsert

from .context import MappingContext
from .engine import Scope
from .errors import InvalidData, MappingError
from .mapper import table_rows
from .spec import SPECS_DIR, Spec, load_spec, spec_names

__all__ = ["MapResult", "map_landed", "specs_for"]

STAGE = "map"
CHUNK = 1000


@dataclass
class MapResult:
    """What one ``map_landed`` call did."""

    source: str
    entity: str
    run_id: str
    read: int = 0
    mapped: int = 0
    dead_lettered: dict[str, int] = field(default_factory=dict)
    """Records sent to dead letters, by reason class."""
    written: dict[str, int] = field(default_factory=dict)
    """Rows inserted or changed, by table."""
    unchanged: dict[str, int] = field(default_factory=dict)
    resolved: int = 0
    """Open ``map`` dead letters closed because their record now maps."""
    per_entity: dict[str, int] = field(default_factory=dict)
    """Landed records read, by entity."""

    @property
    def failed(self) -> int:
        return sum(self.dead_lettered.values())

    @property
    def tables(self) -> list[str]:
        return sorted(set(self.written) | set(self.unchanged))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able counts (for XCom and the CLI)."""
        return {"source": self.source, "entity": self.entity, "run_id": self.run_id, "read": self.read,
                "mapped": self.mapped, "dead_lettered": dict(self.dead_lettered), "written": dict(self.written),
                "unchanged": dict(self.unchanged), "resolved": self.resolved, "per_entity": dict(self.per_entity),
                "tables": self.tables}

    def summary(self) -> str:
        failed = ", ".join(f"{k} {v}" for k, v in sorted(self.dead_lettered.items())) or "none"
        written = ", ".join(f"{k} {v}" for k, v in sorted(self.written.items())) or "nothing"
        return (f"map {self.source}/{self.entity} run {self.run_id}: read {self.read}, mapped {self.mapped}, "
                f"dead letters: {failed}; written: {written}; resolved {self.resolved}")


def _index(specs_dir: Path) -> dict[tuple[str, str], Spec]:
    found: dict[tuple[str, str], Spec] = {}
    for name in spec_names(specs_dir):
        spec = load_spec(name, specs_dir=specs_dir)
        source = spec.model.source
        if spec.table is None or source.within is not None or source.system == "staging":
            continue
        key = (source.system, source.entity)
        if key in found:
            raise ValueError(f"two specs read {source.system}/{source.entity}: {found[key].name} and {spec.name}")
        found[key] = spec
    return found


def specs_for(source: str, entity: str, *, specs_dir: Path = SPECS_DIR) -> list[Spec]:
    """The spec mapping ``source/entity`` into its table, then those of its family."""
    index = _index(specs_dir)
    main = index.get((source, entity))
    if main is None:
        known = ", ".join(f"{s}/{e}" for s, e in sorted(index))
        raise ValueError(f"no spec maps landed {source}/{entity} into a staging table; mapped entities: {known}")
    out = [main]
    for member in main.model.family:
        spec = index.get((source, member))
        if spec is None:
            raise ValueError(f"{main.file}: family entity {source}/{member} has no spec")
        out.append(spec)
    return out


def _staging_engine(staging: Any) -> sa.Engine:
    if isinstance(staging, sa.Engine):
        return staging
    engine = getattr(staging, "engine", None)
    if not isinstance(engine, sa.Engine):
        raise TypeError("map_landed needs a Staging (prestaoracle.staging.connect) or an Engine")
    return engine


def map_landed(staging: Any, source: str, entity: str, *, run_id: str, context: MappingContext | None = None,
               chunk_size: int = CHUNK, specs_dir: Path = SPECS_DIR) -> MapResult:
    """Map the landing rows of ``source/entity`` (and its family) not mapped yet into canonical tables, as run
    ``run_id``."""
    engine = _staging_engine(staging)
    started = utcnow()
    specs = specs_for(source, entity, specs_dir=specs_dir)
    with engine.connect() as conn:
        ctx = (context or MappingContext.from_config()).with_staging(conn, specs)
    result = MapResult(source, entity, run_id)
    for spec in specs:
        landed_entity = spec.model.source.entity
        for chunk in _chunks(engine, source, landed_entity, chunk_size):
            with engine.begin() as conn:
                _map_chunk(conn, spec, ctx, source, landed_entity, chunk, run_id, result)
    _record(engine, result, started)
    return result


def _chunks(engine: sa.Engine, source: str, entity: str, size: int) -> Iterator[list[tuple[str, str, str]]]:
    """``(record_id, payload, payload_sha1)`` of the landing rows whose version is not mapped, in chunks."""
    t = landing_records
    last: str | None = None
    while True:
        query = (sa.select(t.c.record_id, t.c.payload, t.c.payload_sha1)
                 .where(t.c.source == source, t.c.entity == entity,
                        sa.or_(t.c.mapped_sha1.is_(None), t.c.mapped_sha1 != t.c.payload_sha1))
                 .order_by(t.c.record_id).limit(size))
        if last is not None:
            query = query.where(t.c.record_id > last)
        with engine.connect() as conn:
            rows = [(r, p, h) for r, p, h in conn.execute(query)]
        if not rows:
            return
        yield rows
        last = rows[-1][0]
        if len(rows) < size:
            return


@dataclass
class _Mapped:
    record_id: str
    sha1: str
    record: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]]


def _map_chunk(conn: sa.Connection, spec: Spec, ctx: MappingContext, source: str, entity: str,
               chunk: list[tuple[str, str, str]], run_id: str, result: MapResult) -> None:
    mapped: list[_Mapped] = []
    for record_id, payload, sha1 in chunk:
        result.read += 1
        result.per_entity[entity] = result.per_entity.get(entity, 0) + 1
        record: Any = None
        try:
            record = json.loads(payload)
            if not isinstance(record, dict):
                raise InvalidData("the landed payload is not a JSON object", field="",
                                  how_to_fix="Check the extraction of this entity.", spec=spec.file)
            mapped.append(_Mapped(record_id, sha1, record, table_rows(spec, spec.run(Scope(record, ctx)))))
        except json.JSONDecodeError as exc:
            _quarantine(conn, source, entity, record_id, InvalidData(
                f"the landed payload is not JSON: {exc.msg}", field="", spec=spec.file,
                how_to_fix="Extract the record again."), payload, run_id, result)
        except MappingError as exc:
            _quarantine(conn, source, entity, record_id, exc, record, run_id, result)
    writers = _table_specs(spec)
    try:
        with conn.begin_nested():
            _write_all(conn, writers, mapped, run_id, result)
    except (sa.exc.DataError, sa.exc.IntegrityError):
        # The database refused a value the spec let through (a text longer than its column, a number out of
        # range on PostgreSQL): find the record(s) one by one, the others go on.
        written = []
        for item in mapped:
            try:
                with conn.begin_nested():
                    _write_all(conn, writers, [item], run_id, result)
                written.append(item)
            except (sa.exc.DataError, sa.exc.IntegrityError) as exc:
                refused = InvalidData(f"the staging database refused the row: {_first_line(exc.orig)}",
                                      field="", spec=spec.file, how_to_fix=(
                                          f"Shorten or correct the value at the source, or give the column room "
                                          f"(a staging revision); the rule is in {spec.file}."))
                _quarantine(conn, source, entity, item.record_id, refused, item.record, run_id, result)
        mapped = written
    result.mapped += len(mapped)
    _mark_mapped(conn, source, entity, mapped)
    result.resolved += _resolve(conn, source, entity, [item.record_id for item in mapped])


def _mark_mapped(conn: sa.Connection, source: str, entity: str, mapped: list[_Mapped]) -> None:
    """Record the version each written record had when read: a version landed since stays unmapped."""
    if not mapped:
        return
    t = landing_records
    conn.execute(t.update().where(t.c.source == source, t.c.entity == entity,
                                  t.c.record_id == sa.bindparam("b_record_id"))
                 .values(mapped_sha1=sa.bindparam("b_sha1")),
                 [{"b_record_id": item.record_id, "b_sha1": item.sha1} for item in mapped])


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error is not None and str(error).strip() else "no reason given"


def _write_all(conn: sa.Connection, writers: dict[str, Spec], mapped: list[_Mapped], run_id: str,
               result: MapResult) -> None:
    rows: dict[str, list[dict[str, Any]]] = {}
    for item in mapped:
        for table, table_rows_ in item.rows.items():
            rows.setdefault(table, []).extend(dict(row) for row in table_rows_)
    counts = MapResult(result.source, result.entity, result.run_id)
    for table, table_rows_ in rows.items():
        _write(conn, writers[table], table_rows_, run_id, counts)
    for table, n in counts.written.items():
        result.written[table] = result.written.get(table, 0) + n
    for table, n in counts.unchanged.items():
        result.unchanged[table] = result.unchanged.get(table, 0) + n


def _table_specs(spec: Spec) -> dict[str, Spec]:
    """Which spec writes each table a spec's rows go to (its own, then its children's)."""
    out = {spec.table or "": spec}
    for _name, child in spec.children():
        if child is not None:
            out.update(_table_specs(child))
    return out


def _write(conn: sa.Connection, spec: Spec, rows: list[dict[str, Any]], run_id: str, result: MapResult) -> None:
    for row in rows:
        row["run_id"] = run_id
        row["dq_status"] = "pending"
    key = spec.key
    update = [c for c in rows[0] if c not in key and c not in spec.only_create]
    done = upsert(conn, spec.table or "", rows, key, update_cols=update)
    table = spec.table or ""
    result.written[table] = result.written.get(table, 0) + done.changed
    result.unchanged[table] = result.unchanged.get(table, 0) + done.unchanged


def _quarantine(conn: sa.Connection, source: str, entity: str, record_id: str, exc: MappingError, payload: Any,
                run_id: str, result: MapResult) -> None:
    where = f" ({exc.spec})" if exc.spec else ""
    message = f"{source} {entity} {record_id}: {exc.message}" + (f" [field {exc.field}]" if exc.field else "")
    dead_letter_store.quarantine(conn, source=source, entity=entity, record_key=record_id, stage=STAGE,
                                 reason_class=exc.reason_class, message=message + where,
                                 how_to_fix=exc.how_to_fix, payload=payload, run_id=run_id)
    result.dead_lettered[exc.reason_class] = result.dead_lettered.get(exc.reason_class, 0) + 1


def _resolve(conn: sa.Connection, source: str, entity: str, record_ids: list[str]) -> int:
    """Close the open ``map`` dead letters of records that mapped this time (other stages keep theirs)."""
    if not record_ids:
        return 0
    t = dead_letters
    done = conn.execute(t.update().where(
        t.c.source == source, t.c.entity == entity, t.c.stage == STAGE, t.c.status.in_(("open", "replayed")),
        t.c.record_key.in_(record_ids)).values(status="resolved", status_note="mapped on a later run"))
    return done.rowcount


def _record(engine: sa.Engine, result: MapResult, started: Any) -> None:
    with engine.begin() as conn:
        metrics.record_step(conn, result.run_id, "map", f"{result.source}.{result.entity}", started_at=started,
                            read=result.read,
                            written=sum(result.written.values()), skipped=sum(result.unchanged.values()),
                            quarantined=result.failed,
                            details={"dead_lettered": result.dead_lettered, "resolved": result.resolved})
