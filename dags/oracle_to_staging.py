"""
### Oracle → staging

Reads Oracle Fusion's on-hand balances, price lists, customer accounts, sales-order status, shipments (with
tracking numbers), receivables invoices and receipts into the staging database, maps them into typed canonical
tables and runs the data-quality gate on them.

* **Window**: changed-since reads run from each entity's watermark (minus the overlap of the
  `oracle_fusion_default` connection, 30 minutes by default since Fusion's batch jobs commit late) to the end of the
  data interval; a backfill, or a manual run with `replay`, reads exactly its data interval. Reference data
  (on-hand, prices, accounts) is read whole and de-duplicated by key.
* **Stages**: extract → map → validate → publish, one mapped task per entity; bad records go to `dead_letters`.
* **Outputs**: one Airflow Asset per canonical table (`staging.ora_onhand`, …), the data quality report, Data Docs.
* **Limits**: the `oracle_api` pool caps calls to Oracle across all DAGs; a 429 is retried soon, refused
  credentials fail at once.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from prestaoracle.alerts import dag_failure_notifier
from prestaoracle.plans import ORACLE
from prestaoracle.scheduling import API_RETRY_POLICY, staging_asset, with_alerts

PLAN = ORACLE


@dag(
    schedule=CronDataIntervalTimetable("5 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=with_alerts(),
    on_failure_callback=dag_failure_notifier(),
    params={"replay": Param(False, type="boolean", title="Replay the data interval",
                            description="Read exactly the data interval instead of starting at the watermark")},
    tags=["oracle", "staging", "quality"],
    doc_md=__doc__,
)
def oracle_to_staging():
    @task(pool="oracle_api", retry_policy=API_RETRY_POLICY)
    def extract(entity: str, data_interval_start=None, data_interval_end=None, run_id=None, dag_run=None,
                params=None) -> dict:
        from prestaoracle.flows.staging import extract_step

        replay = dag_run.run_type == "backfill" or bool(params["replay"])
        return extract_step(PLAN.source, entity, start=data_interval_start, end=data_interval_end, run_id=run_id,
                            replay=replay)

    @task
    def map_records(entity: str, run_id=None) -> dict:
        from prestaoracle.flows.staging import map_step

        return map_step(PLAN.source, entity, run_id=run_id)

    @task
    def validate(entity: str, run_id=None) -> dict:
        from prestaoracle.flows.staging import validate_step

        return validate_step(PLAN.source, entity, run_id=run_id)

    @task(outlets=[staging_asset(t) for t in PLAN.tables])
    def publish(validated: list[dict], extracted: list[dict], mapped: list[dict], run_id=None,
                outlet_events=None) -> dict:
        from prestaoracle.flows.staging import publish_step

        return publish_step(PLAN.source, validated, run_id=run_id, extracted=extracted, mapped=mapped,
                            outlet_events=outlet_events, assets={t: staging_asset(t) for t in PLAN.tables})

    extracted = extract.expand(entity=list(PLAN.extract))
    mapped = map_records.expand(entity=list(PLAN.map_first))
    validated = validate.expand(entity=list(PLAN.validate))
    extracted >> mapped >> validated
    publish(validated, extracted, mapped)


oracle_to_staging()
