"""Staging flows: extract → map → validate for every entity of one source, and the run summary.

The staging DAGs (``dags/prestashop_to_staging.py``, ``dags/oracle_to_staging.py``) call one function per task;
:func:`stage` runs the same steps in order for the CLI and the tests. Each step opens the connections it needs (so a
task retried on another worker has nothing to inherit), works through the staging database, and returns a small
JSON-able dict for XCom and the run summary.

Stages are barriers: every extraction of a run is landed before anything is mapped, reference data (products,
customers…) is mapped before the documents that look it up (orders, stock), and every entity is mapped before any is
validated, since the whole-table rules of one entity read the tables of others (an order's customer).

Windows: a scheduled or manual run reads from the entity's watermark (minus the overlap) to the end of its data
interval; a backfill, or a run with ``replay=True``, reads exactly its data interval, so re-running any past range
stages the same content again (landing de-duplicates by key and ignores unchanged payloads).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from prestaoracle.plans import ORACLE, PLANS, PRESTASHOP, Plan

log = logging.getLogger(__name__)

__all__ = ["ORACLE", "PRESTASHOP", "PLANS", "Plan", "extract_step", "map_step", "publish_step", "stage", "stage_plan",
           "validate_step"]




def _staging() -> Any:
    from prestaoracle import connections
    from prestaoracle.staging import connect

    return connect(connections.staging_url(), upgrade=True)


def _plan(source: str) -> Plan:
    if source not in PLANS:
        raise ValueError(f"unknown source {source!r}; stage one of: {', '.join(PLANS)}")
    return PLANS[source]


def extract_step(source: str, entity: str, *, start: datetime | None, end: datetime | None, run_id: str,
                 replay: bool = False) -> dict[str, Any]:
    """Land one entity for the window ending at ``end`` (the data interval's end); ``replay`` reads exactly
    ``[start, end]`` instead of starting at the watermark."""
    from prestaoracle import connections
    from prestaoracle.flows.extract import extract_oracle, extract_prestashop

    _plan(source)
    since = start if replay else None
    staging = _staging()
    try:
        if source == "prestashop":
            with connections.prestashop_client() as client:
                result = extract_prestashop(client, staging, entity, since=since, until=end, run_id=run_id,
                                            overlap=connections.extract_overlap(connections.PRESTASHOP))
        else:
            with connections.fusion_client() as client:
                result = extract_oracle(client, staging, entity, since=since, until=end, run_id=run_id,
                                        overlap=connections.extract_overlap(connections.ORACLE_FUSION),
                                        **_oracle_options(entity))
    finally:
        staging.dispose()
    log.info("%s", result.summary())
    return {"source": source, "entity": entity, "read": sum(result.read.values()),
            "new": sum(result.new.values()), "changed": sum(result.changed.values()),
            "requests": result.requests, "watermark": result.watermark,
            "windows": [list(w) for w in result.windows]}


def _oracle_options(entity: str) -> dict[str, Any]:
    """On-hand is read for every organization the inventory flow sums, so ``quantity.orgs`` never names one that
    staging left out (it would count as nothing)."""
    if entity != "onhand":
        return {}
    from prestaoracle.flows.inventory import load_config

    return {"organization": load_config().rule.orgs}


def _mapping_context(source: str) -> Any:
    from prestaoracle import connections, settings
    from prestaoracle.mapping import MappingContext

    overrides: dict[str, Any] = {}
    if source == "prestashop":
        from prestaoracle.flows.extract import shop_timezone
        from prestaoracle.prestashop import PrestaShopReader

        with connections.prestashop_client() as client:
            overrides["shop_timezone"] = shop_timezone(PrestaShopReader(client))
            if client.shop_id is not None:
                overrides["shop_id"] = client.shop_id
    return MappingContext.from_config(settings.mapping_config(), **overrides)


def map_step(source: str, entity: str, *, run_id: str) -> dict[str, Any]:
    """Map what this run landed for ``entity`` (and its family) into the canonical tables; bad records go to
    dead letters with their reason, the rest goes on."""
    from prestaoracle.mapping import map_landed

    _plan(source)
    staging = _staging()
    try:
        result = map_landed(staging, source, entity, run_id=run_id, context=_mapping_context(source))
    finally:
        staging.dispose()
    out = result.as_dict()
    log.info("mapped %s/%s: %d read, %d mapped, dead letters %s", source, entity, result.read, result.mapped,
             out["dead_lettered"] or "none")
    return out


def validate_step(source: str, entity: str, *, run_id: str) -> dict[str, Any]:
    """Run the data-quality gate on the entity's pending rows; log where the report and Data Docs are."""
    from prestaoracle import settings
    from prestaoracle.quality import validate_entity

    _plan(source)
    staging = _staging()
    try:
        result = validate_entity(staging, entity, run_id=run_id, report_dir=settings.reports_dir())
    finally:
        staging.dispose()
    # validate_entity logs the counts and the file:// links of the report and of Data Docs.
    return {"source": source, "entity": entity, "rows_in": result.rows_in, "passed": result.passed,
            "quarantined": result.quarantined,
            "quarantined_by_reason": {k: v for k, v in result.quarantined_by_reason.items() if v},
            "report_html": str(result.report_html), "report_json": str(result.report_json),
            "data_docs_index": str(result.data_docs_index) if result.data_docs_index else None}


def publish_step(source: str, validated: Iterable[Mapping[str, Any]], *, run_id: str,
                 extracted: Iterable[Mapping[str, Any]] = (), mapped: Iterable[Mapping[str, Any]] = (),
                 outlet_events: Any = None, assets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write the run summary (JSON beside the quality reports), attach counts to the tables' asset events and
    return the summary. Only counts and paths: no payload, no secret."""
    from prestaoracle import settings

    plan = _plan(source)
    validated = [dict(v) for v in validated]
    summary = {
        "source": source, "run_id": run_id, "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "extracted": {e["entity"]: {k: e[k] for k in ("read", "new", "changed", "requests")} for e in extracted},
        "mapped": {m["entity"]: {"read": m["read"], "mapped": m["mapped"], "dead_lettered": m["dead_lettered"]}
                   for m in mapped},
        "quality": {v["entity"]: {k: v[k] for k in ("rows_in", "passed", "quarantined", "quarantined_by_reason")}
                    for v in validated},
        "quarantined_by_reason": _sum_reasons(validated),
        "reports": {v["entity"]: v["report_html"] for v in validated},
        "data_docs_index": next((v["data_docs_index"] for v in validated if v.get("data_docs_index")), None),
    }
    path = settings.reports_dir() / f"{source}-staging-{settings.file_part(run_id)}.json"
    path.write_text(json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8")
    summary["summary_json"] = str(path)
    log.info("run summary: %s", path.as_uri())
    if outlet_events is not None and assets:
        for table in plan.tables:
            if table in assets:
                outlet_events[assets[table]].extra = {"run_id": run_id, "summary": str(path)}
    return summary


def stage(source: str, *, start: datetime | None = None, end: datetime | None = None, run_id: str,
          replay: bool = False) -> dict[str, Any]:
    """Every step of one source's staging run, in the DAG's order, in this process (CLI and tests)."""
    plan = _plan(source)
    extracted = [extract_step(source, e, start=start, end=end, run_id=run_id, replay=replay) for e in plan.extract]
    mapped = [map_step(source, e, run_id=run_id) for e in (*plan.map_first, *plan.map_then)]
    validated = [validate_step(source, e, run_id=run_id) for e in plan.validate]
    return publish_step(source, validated, run_id=run_id, extracted=extracted, mapped=mapped)


def stage_plan(plan: Plan, *, start: datetime | None = None, end: datetime | None = None, run_id: str,
               replay: bool = False) -> list[dict[str, Any]]:
    """Extract, map and validate ``plan``'s entities in this process, as a flow DAG's staging task group does
    (``dag_tasks.stage``); returns the validate results. The flows' ``run_*`` functions call it for the CLI."""
    for entity in plan.extract:
        extract_step(plan.source, entity, start=start, end=end, run_id=run_id, replay=replay)
    for entity in (*plan.map_first, *plan.map_then):
        map_step(plan.source, entity, run_id=run_id)
    return [validate_step(plan.source, entity, run_id=run_id) for entity in plan.validate]


def _sum_reasons(validated: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for v in validated:
        for reason, n in v.get("quarantined_by_reason", {}).items():
            total[reason] = total.get(reason, 0) + n
    return dict(sorted(total.items()))
