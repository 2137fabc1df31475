"""
### PrestaShop → staging

Reads the shop's orders (with their lines, carriers, histories and payments), customers and addresses, products,
combinations, stock and refunds (`order_slip`) into the staging database, maps them into typed canonical tables and
runs the data-quality gate on them.

* **Window**: a run reads from each entity's watermark (minus the overlap set on the `prestashop_default`
  connection) to the end of its data interval; a backfill, or a manual run with `replay`, reads exactly its data
  interval, so re-running any past range stages the same content again.
* **Stages**: extract every entity → map reference data (customers, products…) → map documents (orders, stock,
  refunds) → validate every entity → publish. One mapped task per entity in each stage. A bad record goes to
  `dead_letters` with its reason and never blocks the others; the run fails only for systemic problems
  (credentials, an outage past the retries).
* **Outputs**: one Airflow Asset per canonical table (`staging.ps_orders`, …) for the flows that follow; the data
  quality report and Data Docs (their paths are in each `validate` log and in the `publish` summary).
* **Limits**: the `prestashop_api` pool caps calls to the shop across all DAGs; a 429 is retried soon, refused
  credentials fail at once.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from prestaoracle.alerts import dag_failure_notifier
from prestaoracle.plans import PRESTASHOP
from prestaoracle.scheduling import API_RETRY_POLICY, staging_asset, with_alerts

PLAN = PRESTASHOP


@dag(
    schedule=CronDataIntervalTimetable("*/15 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=with_alerts(),
    on_failure_callback=dag_failure_notifier(),
    params={"replay": Param(False, type="boolean", title="Replay the data interval",
                            description="Read exactly the data interval instead of starting at the watermark")},
    tags=["prestashop", "staging", "quality"],
    doc_md=__doc__,
)
def prestashop_to_staging():
    @task(pool="prestashop_api", retry_policy=API_RETRY_POLICY)
    def extract(entity: str, data_interval_start=None, data_interval_end=None, run_id=None, dag_run=None,
                params=None) -> dict:
        from prestaoracle.flows.staging import extract_step

        replay = dag_run.run_type == "backfill" or bool(params["replay"])
        return extract_step(PLAN.source, entity, start=data_interval_start, end=data_interval_end, run_id=run_id,
                            replay=replay)

    @task(pool="prestashop_api", retry_policy=API_RETRY_POLICY)
    def map_records(entity: str, run_id=None) -> dict:
        from prestaoracle.flows.staging import map_step

        return map_step(PLAN.source, entity, run_id=run_id)

    @task
    def validate(entity: str, run_id=None) -> dict:
        from prestaoracle.flows.staging import validate_step

        return validate_step(PLAN.source, entity, run_id=run_id)

    @task(outlets=[staging_asset(t) for t in PLAN.tables])
    def publish(validated: list[dict], extracted: list[dict], reference: list[dict], documents: list[dict],
                run_id=None, outlet_events=None) -> dict:
        from prestaoracle.flows.staging import publish_step

        return publish_step(PLAN.source, validated, run_id=run_id, extracted=extracted, mapped=[*reference, *documents],
                            outlet_events=outlet_events, assets={t: staging_asset(t) for t in PLAN.tables})

    extracted = extract.expand(entity=list(PLAN.extract))
    reference = map_records.override(task_id="map_reference").expand(entity=list(PLAN.map_first))
    documents = map_records.override(task_id="map_documents").expand(entity=list(PLAN.map_then))
    validated = validate.expand(entity=list(PLAN.validate))
    extracted >> reference >> documents >> validated
    publish(validated, extracted, reference, documents)


prestashop_to_staging()
