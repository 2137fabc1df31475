"""``validate_entity``: the quality gate for one entity's pending rows (see docs/quality.md)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from prestaoracle.reasons import REASON_CLASSES
from prestaoracle.staging import Staging, connect, metrics
from prestaoracle.staging._common import utcnow
from prestaoracle.staging.db import READ_ONLY

from . import entities, frames, gx_project, outcomes, report
from .gx_project import CheckOutcome

log = logging.getLogger(__name__)

FLOW = "quality"


@dataclass(frozen=True)
class QualityResult:
    """What one run of the gate did to one entity's batch."""

    entity: str
    source: str
    run_id: str
    rows_in: int
    passed: int
    quarantined_by_reason: dict[str, int]
    """Quarantined records per reason class (every class present, zero when none)."""
    quarantined_by_rule: dict[str, int]
    """Quarantined records per broken rule (a record breaking two rules counts under both)."""
    quarantined_keys: list[str]
    report_html: Path
    report_json: Path
    data_docs_index: Path | None
    checks: list[CheckOutcome] = field(default_factory=list)

    @property
    def quarantined(self) -> int:
        return len(self.quarantined_keys)

    @property
    def report_paths(self) -> tuple[Path, Path]:
        return self.report_html, self.report_json

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (for XCom): the counts and paths, without the per-row details."""
        return {"entity": self.entity, "source": self.source, "run_id": self.run_id, "rows_in": self.rows_in,
                "passed": self.passed, "quarantined": self.quarantined,
                "quarantined_by_reason": dict(self.quarantined_by_reason),
                "quarantined_by_rule": dict(self.quarantined_by_rule),
                "report_html": str(self.report_html), "report_json": str(self.report_json),
                "data_docs_index": None if self.data_docs_index is None else str(self.data_docs_index)}


def validate_entity(staging_db: Staging | sa.Engine | str | Path, entity: str, *, run_id: str,
                    report_dir: Path | str, gx_root: Path | str | None = None, context: Any = None,
                    flow: str = FLOW) -> QualityResult:
    """Validate the pending rows of ``entity`` (and its children) with its GX suites, mark each row ``passed`` or
    ``quarantined``, dead-letter the failing records, resolve the cured ones, record metrics, update Data Docs
    and write the run report.

    ``staging_db`` must be a database GX can open too (a SQLite file or PostgreSQL; not ``sqlite://`` in memory).
    Raises ``QualityCheckError`` (and marks nothing) when a suite cannot be evaluated.
    """
    spec = entities.get(entity)
    if isinstance(staging_db, Staging | sa.Engine):
        engine = staging_db if isinstance(staging_db, sa.Engine) else staging_db.engine
        return _validate(engine, spec, run_id=run_id, report_dir=report_dir, gx_root=gx_root, context=context,
                         flow=flow)
    staging = connect(staging_db)
    try:
        return _validate(staging.engine, spec, run_id=run_id, report_dir=report_dir, gx_root=gx_root,
                         context=context, flow=flow)
    finally:
        staging.dispose()


def _validate(engine: sa.Engine, spec: entities.Entity, *, run_id: str, report_dir: Path | str,
              gx_root: Path | str | None, context: Any, flow: str) -> QualityResult:
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        raise ValueError("the quality gate needs a staging database GX can open too: a SQLite file or PostgreSQL, "
                         "not SQLite in memory")
    started = utcnow()
    with engine.begin() as conn:
        rechecked = outcomes.recheck_missing_references(conn, spec)
    with engine.connect() as conn:
        rows, batches = frames.frames(conn.execution_options(**{READ_ONLY: True}), spec)
    keys = frames.records(rows[list(spec.key)])
    checked: list[CheckOutcome] = []
    data_docs: Path | None = None
    if keys:
        ctx = context if context is not None else gx_project.get_context(gx_root)
        with gx_project.project_lock(ctx, engine.url.render_as_string(hide_password=False)):
            gx_project.ensure_assets(ctx, [spec])
            for check in spec.checks:
                batch = batches.get(check.name)
                if check.kind == "frame" and (batch is None or batch.empty):
                    continue
                checked.append(gx_project.run_check(ctx, spec, check, run_id=run_id, frame=batch))
            data_docs = gx_project.update_data_docs(ctx, checked)
    elif context is not None or gx_root is not None:
        data_docs = gx_project.data_docs_index(context or gx_project.get_context(gx_root))

    in_hand = {spec.record_key(k) for k in keys}
    failing = {k: v for k, v in outcomes.verdicts(spec, checked).items() if k in in_hand}
    with engine.connect() as conn:
        released = outcomes.accepted(conn.execution_options(**{READ_ONLY: True}), spec, failing)
    failing = {k: v for k, v in failing.items() if k not in released}
    payloads = _payloads(spec, rows, batches, failing)
    by_reason = dict.fromkeys(REASON_CLASSES, 0)
    by_reason.update(Counter(v.reason_class for v in failing.values()))
    by_rule = dict(Counter(rule for v in failing.values() for rule in v.rules).most_common())
    passed = len(keys) - len(failing)

    summary = {
        "entity": spec.name, "source": spec.source, "table": spec.table, "run_id": run_id,
        "validated_at": started.isoformat(timespec="seconds"), "rows_in": len(keys), "rechecked": rechecked,
        "passed": passed, "released": len(released),
        "quarantined": len(failing), "quarantined_by_reason": by_reason, "quarantined_by_rule": by_rule,
        "checks": [{"check": c.check, "kind": c.kind, "suite": c.suite, "rows": c.rows,
                    "data_docs_page": c.data_docs_page,
                    "expectations": [_expectation_summary(e) for e in c.expectations]} for c in checked],
        "quarantined_records": [{"key": k, "reason_class": v.reason_class, "rules": v.rules,
                                 "message": v.message(), "how_to_fix": v.how_to_fix()}
                                for k, v in list(failing.items())[:report.SAMPLE]],
        "data_docs_index": None if data_docs is None else str(data_docs),
        "data_docs_index_url": None if data_docs is None else data_docs.as_uri(),
    }
    html_path, json_path = report.write(Path(report_dir), summary)
    with engine.begin() as conn:
        outcomes.apply(conn, spec, keys=keys, failing=failing, payloads=payloads, run_id=run_id)
        metrics.record_step(conn, run_id, flow, spec.name, started_at=started, read=len(keys), written=passed,
                            quarantined=len(failing),
                            details={"by_reason": by_reason, "by_rule": by_rule, "rechecked": rechecked,
                                     "report_html": str(html_path),
                                     "report_json": str(json_path),
                                     "data_docs_index": None if data_docs is None else str(data_docs)})
    log.info("quality %s/%s: %d rows in, %d passed, %d quarantined %s; report %s; Data Docs %s", spec.source,
             spec.name, len(keys), passed, len(failing), {k: n for k, n in by_reason.items() if n},
             html_path.as_uri(), data_docs.as_uri() if data_docs else "(nothing validated)")
    return QualityResult(entity=spec.name, source=spec.source, run_id=run_id, rows_in=len(keys), passed=passed,
                         quarantined_by_reason=by_reason, quarantined_by_rule=by_rule,
                         quarantined_keys=list(failing), report_html=html_path, report_json=json_path,
                         data_docs_index=data_docs, checks=checked)


def release(staging_db: Staging | sa.Engine | str | Path, entity: str, record_key: str | int, *, note: str) -> int:
    """Let a held record go on as it is, by a person's decision (see ``outcomes.release``); returns the dead
    letters closed. The note says who decided and why; it stays on the dead letter."""
    spec = entities.get(entity)
    staging = staging_db if isinstance(staging_db, Staging) else connect(staging_db)
    try:
        with staging.engine.begin() as conn:
            return outcomes.release(conn, spec, str(record_key), note=note)
    finally:
        if staging is not staging_db:
            staging.dispose()


def _expectation_summary(e: gx_project.ExpectationOutcome) -> dict[str, Any]:
    return {"rule": e.rule, "expectation": e.expectation, "column": e.column, "success": e.success,
            "element_count": e.element_count, "unexpected_count": e.unexpected_count}


def _payloads(spec: entities.Entity, rows: Any, batches: dict[str, Any],
              failing: dict[str, outcomes.RecordVerdict]) -> dict[str, Any]:
    """The dead-letter payload of each failing record: its row, plus its children rows under their table name."""
    if not failing:
        return {}
    keys = rows[list(spec.key)].astype(str).agg("|".join, axis=1)
    payloads = {spec.record_key(row): row for row in frames.records(rows[keys.isin(failing)])}
    for check_name, table in spec.frame_children.items():
        children = batches[check_name]
        fk = dict(spec.children)[table]
        for child in frames.records(children[children[fk].astype(str).isin(failing)]):
            payloads[str(child[fk])].setdefault(table, []).append(child)
    return payloads
