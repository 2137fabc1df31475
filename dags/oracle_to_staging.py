"""
### Oracle → staging

Reads Oracle's on-hand balances, price lists, customer accounts, sales-order status, shipments (with tracking
numbers), receivables invoices and receipts into the staging database, maps them into typed canonical tables and
runs the data-quality gate on them. The target (Fusion REST or EBS) follows the `oracle_fusion_default` /
`oracle_ebs_default` connections.

* **Window**: changed-since reads follow the run's data interval (plus Fusion's larger overlap, since its batch jobs
  commit late); reference data (on-hand, prices, accounts) is read whole and de-duplicated by key.
* **Per entity**: extract → map → validate, one mapped task per entity; bad records go to `dead_letters`.
* **Outputs**: one Airflow Asset per canonical table (`staging.ora_onhand`, …), the data quality report, Data Docs.
* **Limits**: the `oracle_api` pool caps calls to Oracle across all DAGs; a 429 is retried soon, refused credentials
  fail at once.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

from prestaoracle.scheduling import API_RETRY_POLICY, DEFAULT_ARGS, staging_asset

ENTITIES = ["onhand", "prices", "accounts", "sales_orders", "shipment_lines", "invoices", "receipts"]
TABLES = ["ora_onhand", "ora_prices", "ora_accounts", "ora_sales_orders", "ora_order_lines", "ora_shipment_lines",
          "ora_invoices", "ora_invoice_lines", "ora_receipts"]


@dag(
    schedule=CronDataIntervalTimetable("5 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["oracle", "staging", "quality"],
    doc_md=__doc__,
)
def oracle_to_staging():
    @task(pool="oracle_api", retry_policy=API_RETRY_POLICY)
    def extract(entity: str, data_interval_start=None, data_interval_end=None, run_id=None) -> dict:
        from prestaoracle.flows.staging import extract_step

        return extract_step("oracle", entity, start=data_interval_start, end=data_interval_end, run_id=run_id)

    @task
    def map_records(extracted: dict, run_id=None) -> dict:
        from prestaoracle.flows.staging import map_step

        return map_step(extracted, run_id=run_id)

    @task
    def validate(mapped: dict, run_id=None) -> dict:
        from prestaoracle.flows.staging import validate_step

        return validate_step(mapped, run_id=run_id)

    @task(outlets=[staging_asset(t) for t in TABLES])
    def publish(results: list[dict], run_id=None, outlet_events=None) -> dict:
        from prestaoracle.flows.staging import publish_step

        return publish_step("oracle", list(results), run_id=run_id, outlet_events=outlet_events,
                            assets={t: staging_asset(t) for t in TABLES})

    extracted = extract.expand(entity=ENTITIES)
    publish(validate.expand(mapped=map_records.expand(extracted=extracted)))


oracle_to_staging()
