"""
### Oracle order status, shipments and invoices → PrestaShop

Every 5 minutes: reads what changed in Oracle since the watermark for the orders this product created there, and
writes it back to the shop:

* **Status** → a new `order_histories` row through the configurable state map (`status.state_map`); a state the
  order already has is never posted again, and an order never moves backwards.
* **Shipments** → `order_carriers.tracking_number`; a split shipment keeps every tracking number (one order carrier
  row per shipment).
* **Invoices** → the AR invoice numbers go into the ledger (`sync_ledger`, target `oracle_ar_invoice`).

The watermark moves only after every write of the window is done; a backfill or a run with `replay` reads exactly
its data interval and writes nothing the shop already shows. A status Oracle sends that the state map does not know
becomes a dead letter naming the key to add.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from prestaoracle.alerts import dag_failure_notifier
from prestaoracle.scheduling import API_RETRY_POLICY, with_alerts


@dag(
    schedule=CronDataIntervalTimetable("*/5 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=with_alerts(),
    on_failure_callback=dag_failure_notifier(),
    params={
        "replay": Param(False, type="boolean", title="Replay the data interval",
                        description="Read exactly the data interval instead of starting at the watermark"),
        "oracle_target": Param("", type="string", enum=["", "fusion", "ebs"], title="Oracle target",
                               description="Empty: the configured oracle_target"),
    },
    tags=["oracle", "prestashop", "orders"],
    doc_md=__doc__,
)
def oracle_status_to_prestashop():
    @task(pool="oracle_api", retry_policy=API_RETRY_POLICY)
    def sync_status(data_interval_start=None, data_interval_end=None, run_id=None, dag_run=None,
                    params=None) -> dict:
        from prestaoracle.flows.order_to_cash import status_step

        replay = dag_run.run_type == "backfill" or bool(params["replay"])
        return status_step(run_id=run_id, start=data_interval_start, end=data_interval_end, replay=replay,
                           target=params["oracle_target"] or None)

    @task
    def report(status: dict, run_id=None, params=None) -> dict:
        from prestaoracle.flows.order_to_cash import STATUS_FLOW, report_step

        return report_step(run_id=run_id, flow=STATUS_FLOW, steps={"status": status},
                           target=params["oracle_target"] or None, send_digest=False)

    report(sync_status())


oracle_status_to_prestashop()
