"""
### PrestaShop → staging

Reads the shop's orders (with their lines, carriers, histories and payments), customers and addresses, products,
combinations, stock and refunds (`order_slip`) into the staging database, maps them into typed canonical tables and
runs the data-quality gate on them.

* **Window**: each run reads the changes of its data interval (plus the overlap set on the `prestashop_default`
  connection), so a backfill over any range stages the same content again, and duplicates are removed by key.
* **Per entity**: extract → map → validate, one mapped task per entity. A bad record goes to `dead_letters` with its
  reason and never blocks the others; the run fails only for systemic problems (credentials, outage past retries).
* **Outputs**: one Airflow Asset per canonical table (`staging.ps_orders`, …) for the flows that follow; the data
  quality report and Data Docs (paths in the `validate` task log and in the run summary).
* **Limits**: the `prestashop_api` pool caps calls to the shop across all DAGs; a 429 is retried soon, refused
  credentials fail at once.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

from prestaoracle.scheduling import API_RETRY_POLICY, DEFAULT_ARGS, staging_asset

ENTITIES = ["orders", "customers", "addresses", "products", "combinations", "stock_availables", "order_slip"]
TABLES = ["ps_orders", "ps_order_lines", "ps_order_carriers", "ps_order_histories", "ps_order_payments",
          "ps_customers", "ps_addresses", "ps_products", "ps_combinations", "ps_stock", "ps_order_slips"]


@dag(
    schedule=CronDataIntervalTimetable("*/15 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["prestashop", "staging", "quality"],
    doc_md=__doc__,
)
def prestashop_to_staging():
    @task(pool="prestashop_api", retry_policy=API_RETRY_POLICY)
    def extract(entity: str, data_interval_start=None, data_interval_end=None, run_id=None) -> dict:
        from prestaoracle.flows.staging import extract_step

        return extract_step("prestashop", entity, start=data_interval_start, end=data_interval_end, run_id=run_id)

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

        return publish_step("prestashop", list(results), run_id=run_id, outlet_events=outlet_events,
                            assets={t: staging_asset(t) for t in TABLES})

    extracted = extract.expand(entity=ENTITIES)
    publish(validate.expand(mapped=map_records.expand(extracted=extracted)))


prestashop_to_staging()
