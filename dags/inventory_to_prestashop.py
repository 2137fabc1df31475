"""
### Oracle on-hand → PrestaShop stock quantities

Every hour: stages the shop's products, combinations and stock rows and Oracle's on-hand balances (in parallel),
compares them in pandas and writes only the quantities that differ to `stock_availables.quantity`.

* **Modes**: `delta` compares the Oracle items updated since the last run that finished its writes (Oracle's
  `LastUpdateDate`, with an overlap) plus the stock rows whose last write failed; `full` compares every SKU. With
  `mode` = `auto` (the default) the run whose data interval ends at midnight UTC (`full_run_hour`) is full, the
  others are delta.
* **Quantity**: Oracle's available to reserve (on hand when Oracle gives none) or on hand, summed over the configured
  organizations, minus the safety buffer, never below 0. SKUs are matched through the `sku` binder pairs first,
  then the shop's references.
* **Never written**: the out-of-stock policy; rows that depend on advanced stock management; the product row of a
  product with combinations (PrestaShop sums them); a negative quantity (open backorders) of a product that allows
  backorders while Oracle has nothing to replace it. Each is listed in the report with its reason.
* **Writes**: read, write once, confirm (`PrestaShopWriter.set_stock`), in batches; at most `max_writes_per_run`
  per run (the rest next run); `sync_ledger` (target `prestashop_stock`, key `id_stock_available`, the quantity
  written) is committed after each batch. A write the shop refuses is a dead letter with its reason class.
* **Report**: CSV + HTML under the reports directory: what changed, what was skipped and why, SKUs on one side only,
  run metrics.
* **Params**: `mode` (`auto`, `delta`, `full`), `dry_run` (compare and report, write nothing).
* **Settings**: `PRESTAORACLE_INVENTORY_CONFIG` (docs/inventory.md); connections `prestashop_default`,
  `oracle_fusion_default`, `staging_default`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from prestaoracle import dag_tasks
from prestaoracle.alerts import dag_failure_notifier
from prestaoracle.plans import INVENTORY_ORACLE, INVENTORY_SHOP
from prestaoracle.scheduling import API_RETRY_POLICY, with_alerts


@dag(
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=with_alerts(),
    on_failure_callback=dag_failure_notifier(),
    params={
        "mode": Param("auto", type="string", enum=["auto", "delta", "full"], title="Mode",
                      description="auto: full for the run ending at the configured full_run_hour (00:00 UTC), "
                                  "else delta; delta: only the Oracle items that changed; full: every SKU"),
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Compare and report only: nothing is written to the shop or the ledger"),
    },
    tags=["oracle", "prestashop", "inventory"],
    doc_md=__doc__,
)
def inventory_to_prestashop():
    shop, _ = dag_tasks.stage(INVENTORY_SHOP, group_id="stage_shop")
    oracle, _ = dag_tasks.stage(INVENTORY_ORACLE, group_id="stage_oracle")

    @task
    def reconcile(data_interval_end=None, run_id=None, params=None) -> dict:
        from prestaoracle.flows.inventory import mode_for, reconcile_step

        return reconcile_step(run_id=run_id, mode=mode_for(params["mode"], data_interval_end))

    @task(pool="prestashop_api", retry_policy=API_RETRY_POLICY)
    def write(reconciled: dict, run_id=None, params=None) -> dict:
        from prestaoracle.flows.inventory import write_step

        return write_step(run_id=run_id, mode=reconciled["mode"], dry_run=bool(params["dry_run"]),
                          since=reconciled["since"])

    @task(trigger_rule="all_done")  # what was written and skipped is reported even when a step failed
    def report(reconciled: dict | None, written: dict | None, data_interval_end=None, run_id=None,
               params=None) -> dict:
        from prestaoracle.flows.inventory import FROM_WATERMARK, mode_for, report_step

        mode = reconciled["mode"] if reconciled else mode_for(params["mode"], data_interval_end)
        return report_step(run_id=run_id, mode=mode, dry_run=bool(params["dry_run"]),
                           since=reconciled["since"] if reconciled else FROM_WATERMARK,
                           steps={"reconcile": reconciled, "write": written})

    reconciled = reconcile()
    written = write(reconciled)
    [shop, oracle] >> reconciled
    report(reconciled, written)
    [reconciled, written] >> dag_tasks.run_failed()


inventory_to_prestashop()
