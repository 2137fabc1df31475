"""Task groups every flow DAG shares: stage a source (extract → map → validate) and fail a run whose step failed.

DAG files import this at parse time, so it imports only the Task SDK and the product's light modules; each task
imports its flow code when it runs, in the worker.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import TaskGroup, task

from prestaoracle.plans import Plan
from prestaoracle.scheduling import API_RETRY_POLICY

__all__ = ["POOL_OF", "STAGE_CHOICES", "run_failed", "stage", "stage_or_skip"]

POOL_OF = {"prestashop": "prestashop_api", "oracle": "oracle_api"}
"""The pool that caps the calls a source's extraction makes."""
STAGE_CHOICES = ("auto", "always", "never")
"""The ``stage`` param of a backfillable DAG: ``auto`` stages in scheduled and manual runs and not in backfills."""


def stage(plan: Plan, *, group_id: str, window: str = "watermark") -> tuple[TaskGroup, Any]:
    """A task group that stages ``plan``'s entities: extract each, map reference data, map documents, validate each.

    ``window`` says what an extraction reads: ``watermark`` (from each entity's watermark to the end of the data
    interval, so a backfill of a past day re-reads nothing it already has) or ``interval`` (exactly the data
    interval on a backfill or with the ``replay`` param, as the staging DAGs do). Returns the group and the
    validate results (a list of dicts) for the tasks downstream.
    """
    if window not in ("watermark", "interval"):
        raise ValueError(f"window must be 'watermark' or 'interval', not {window!r}")
    pool = POOL_OF[plan.source]
    source = plan.source

    with TaskGroup(group_id=group_id, tooltip=f"Stage {source}: extract, map, validate") as group:

        @task(pool=pool, retry_policy=API_RETRY_POLICY)
        def extract(entity: str, data_interval_start=None, data_interval_end=None, run_id=None, dag_run=None,
                    params=None) -> dict:
            from prestaoracle.flows.staging import extract_step

            replay = window == "interval" and (dag_run.run_type == "backfill" or bool((params or {}).get("replay")))
            return extract_step(source, entity, start=data_interval_start, end=data_interval_end, run_id=run_id,
                                replay=replay)

        @task(pool=pool, retry_policy=API_RETRY_POLICY)
        def map_records(entity: str, run_id=None) -> dict:
            from prestaoracle.flows.staging import map_step

            return map_step(source, entity, run_id=run_id)

        @task
        def validate(entity: str, run_id=None) -> dict:
            from prestaoracle.flows.staging import validate_step

            return validate_step(source, entity, run_id=run_id)

        extracted = extract.expand(entity=list(plan.extract))
        steps: list[Any] = [extracted]
        if plan.map_first:
            steps.append(map_records.override(task_id="map_reference").expand(entity=list(plan.map_first)))
        if plan.map_then:
            steps.append(map_records.override(task_id="map_documents").expand(entity=list(plan.map_then)))
        validated = validate.expand(entity=list(plan.validate))
        steps.append(validated)
        for before, after in zip(steps, steps[1:], strict=False):
            before >> after
    return group, validated


@task.short_circuit(ignore_downstream_trigger_rules=False)
def stage_or_skip(dag_run=None, params=None) -> bool:
    """Whether this run stages first (param ``stage``: auto, always, never).

    ``auto`` skips staging in a backfill: its days are in the past, staging already holds them (the scheduled runs
    keep it current), and seven backfill runs each re-reading both systems would only compete for the APIs' pools.
    The tasks after the staging groups must accept skipped upstreams (``trigger_rule="none_failed"``).
    """
    choice = (params or {}).get("stage") or "auto"
    if choice not in STAGE_CHOICES:
        raise ValueError(f"param stage is {choice!r}; use one of {', '.join(STAGE_CHOICES)}")
    if choice == "auto":
        return dag_run.run_type != "backfill"
    return choice == "always"


@task(trigger_rule="one_failed", on_failure_callback=None)
def run_failed() -> None:
    """Fail the run when a step failed although a report (``all_done``) ran after it; no mail of its own: the
    failed step has already told the on-call."""
    from airflow.sdk.exceptions import AirflowFailException  # fails at once: no retry of a verdict

    raise AirflowFailException("a step of this run failed: see its log and the on-call mail")
