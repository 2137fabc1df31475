"""
### Oracle price-list prices → PrestaShop product and combination prices

Daily at 03:00 UTC: stages the shop's products and combinations and Oracle's price-list prices (in parallel), then
compares them in pandas and writes only the differences to the shop, tax excluded, in the shop's default currency.

* **Which prices**: the price list named in the configuration (`price_list`), else the only list in the shop
  currency; lines valid at the end of the data interval. A product gets its SKU's price; a combination gets the
  impact that makes its full price its own SKU's price (written after its product's new price).
* **Guard rail**: a price change above `max_change_pct` (default 20 %), or from a price of 0, is not pushed: it
  waits in `dead_letters` (reason `needs_review`, with SKU, old and new price, percentage and price list). Rerun
  with the SKU in the `approve` param to push it, or fix the price in Oracle; either way the dead letter is resolved.
* **Where it ends**: `sync_ledger` (target `prestashop_price`, keys `product:<id>` / `combination:<id>`, outcome
  `updated` or `held`) and the report (CSV + HTML: pushed, held, SKUs without an Oracle price, Oracle prices
  without a shop product, run metrics) under the reports directory.
* **Params**: `dry_run` (compare and report, write nothing), `approve` (SKUs let past the guard rail this run),
  `max_change_pct` (empty: the configuration's).
* **Settings**: `PRESTAORACLE_PRICES_CONFIG` (docs/prices.md), the mapping's `defaults.shop_currency`; connections
  `prestashop_default`, `oracle_fusion_default`, `staging_default`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from prestaoracle import dag_tasks
from prestaoracle.alerts import dag_failure_notifier
from prestaoracle.plans import PRICES_ORACLE, PRICES_SHOP
from prestaoracle.scheduling import API_RETRY_POLICY, with_alerts


@dag(
    schedule=CronDataIntervalTimetable("0 3 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=with_alerts(),
    on_failure_callback=dag_failure_notifier(),
    params={
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Compare and report only: nothing is written to the shop, ledger or dead letters"),
        "approve": Param([], type="array", title="Approve these SKUs",
                         description="SKUs whose held price change is pushed this run despite the guard rail"),
        "max_change_pct": Param(None, type=["null", "number"], minimum=0, title="Guard rail (%)",
                                description="Empty: the configuration's max_change_pct"),
    },
    tags=["oracle", "prestashop", "prices"],
    doc_md=__doc__,
)
def prices_to_prestashop():
    shop, _ = dag_tasks.stage(PRICES_SHOP, group_id="stage_shop")
    oracle, _ = dag_tasks.stage(PRICES_ORACLE, group_id="stage_oracle")

    @task
    def reconcile(data_interval_end=None, run_id=None, params=None) -> dict:
        from prestaoracle.flows.prices import reconcile_step

        return reconcile_step(run_id=run_id, now=data_interval_end, approve=params["approve"] or (),
                              max_change_pct=params["max_change_pct"])

    @task(pool="prestashop_api", retry_policy=API_RETRY_POLICY)
    def push(reconciled: dict, run_id=None, params=None) -> dict:
        from prestaoracle.flows.prices import push_step

        return push_step(reconciled, run_id=run_id, dry_run=bool(params["dry_run"]))

    @task(trigger_rule="all_done")  # what was pushed and held is reported even when a step failed
    def report(reconciled: dict | None, pushed: dict | None, run_id=None, params=None) -> dict:
        from prestaoracle.flows.prices import report_step

        return report_step(run_id=run_id, reconciled=reconciled, pushed=pushed, dry_run=bool(params["dry_run"]))

    reconciled = reconcile()
    pushed = push(reconciled)
    [shop, oracle] >> reconciled
    report(reconciled, pushed)
    [reconciled, pushed] >> dag_tasks.run_failed()


prices_to_prestashop()
