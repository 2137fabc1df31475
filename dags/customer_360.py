"""
### Customer 360: PrestaShop customers ⇄ Oracle accounts

Every day at 02:30 UTC: stages the shop's customers, addresses and orders and Oracle's accounts, sales orders and
invoices (in parallel), decides which Oracle account each shop customer is, and rebuilds one unified customer table.

* **Rules, in order**: the shop reference on the account (`SourceSystem` = the shop's source system, reference =
  `id_customer`), the e-mail (case and spaces ignored), the VAT number; only an *active* account counts, and two
  candidates for one key leave the customer for review. Then a probabilistic model (splink on DuckDB: name
  Jaro-Winkler, postcode, phone digits) on what is left: matched at `match_threshold` or more, review from
  `review_threshold`.
* **Results**: `customer_matches` (one decision per shop customer: matched, review or unmatched, the rule, the
  score, the compared values) and `customer_360` (`ps:<id_customer>` for every shop customer, `ora:<account id>`
  for accounts no customer matched; orders, revenue and open AR balance from both systems). A run changes only the
  rows that changed: a second run over the same data writes nothing.
* **Report**: CSV + HTML under the reports directory: probable duplicate customers (one e-mail under several ids,
  e.g. a guest who registered later; customers the model finds alike) and accounts several customers were matched
  to, plus the decisions left for review. Customers with neither e-mail nor name are dead letters.
* **Settings**: `PRESTAORACLE_CUSTOMER360_CONFIG` (docs/customer-360.md); connections `prestashop_default`,
  `oracle_fusion_default`, `staging_default`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

from prestaoracle import dag_tasks
from prestaoracle.alerts import dag_failure_notifier
from prestaoracle.plans import CUSTOMERS_ORACLE, CUSTOMERS_SHOP
from prestaoracle.scheduling import with_alerts


@dag(
    schedule=CronDataIntervalTimetable("30 2 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=with_alerts(),
    on_failure_callback=dag_failure_notifier(),
    params={},
    tags=["prestashop", "oracle", "customers"],
    doc_md=__doc__,
)
def customer_360():
    shop, _ = dag_tasks.stage(CUSTOMERS_SHOP, group_id="stage_shop")
    oracle, _ = dag_tasks.stage(CUSTOMERS_ORACLE, group_id="stage_oracle")

    @task
    def match(run_id=None) -> dict:
        from prestaoracle.flows.customer_360 import match_step

        return match_step(run_id=run_id)

    @task
    def build_360(matched: dict, run_id=None) -> dict:
        from prestaoracle.flows.customer_360 import build_step

        return build_step(run_id=run_id)

    @task(trigger_rule="all_done")  # the duplicates and the decisions to review are reported even after a failure
    def report(matched: dict | None, built: dict | None, run_id=None) -> dict:
        from prestaoracle.flows.customer_360 import report_step

        return report_step(run_id=run_id, steps={"match": matched, "build_360": built})

    matched = match()
    built = build_360(matched)
    [shop, oracle] >> matched
    report(matched, built)
    [matched, built] >> dag_tasks.run_failed()


customer_360()
