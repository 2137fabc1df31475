"""
### PrestaShop orders → Oracle sales orders, exactly once

Every 5 minutes: stages the shop's new and changed orders (data interval plus the overlap), maps and validates them,
applies the order gates (payment rule, importable states, give up unpaid orders after N days), resolves each
customer in Oracle (match, create, or the country's web-shop account), then creates the sales orders in the
configured target: Fusion (`salesOrdersForOrderHub`, batch endpoint) or EBS (Order Import interface). Orders the shop
cancels or refunds after import are cancelled in Oracle, or dead-lettered with the reason.

* **Exactly once**: the idempotency key `PS<shop>-<id_order>` is looked up in Oracle before and after every
  uncertain write; the ledger lease keeps overlapping runs apart; a retried `load` task re-attaches, through the task
  state store, to the orders its killed attempt had sent. A replay of any window creates nothing new.
* **Where each order ends**: the ledger (`sync_ledger`: outcome, Oracle header id and order number) and, when it did
  not go through, `dead_letters` with the reason and how to fix it.
* **Alerts**: the on-call gets an e-mail when a task fails for good; the business address gets one digest per run of
  the orders Oracle refused (credit limit, unknown or inactive item or customer) and the ones given up.
* **Params**: `replay` (read exactly the data interval), `oracle_target` (empty = the configuration's), `order_ids`
  (only these orders, e.g. from a webhook).
* **Settings**: `PRESTAORACLE_ORDER_CONFIG` (docs/order-to-cash.md); connections `prestashop_default`,
  `oracle_fusion_default` or `oracle_ebs_default`, `staging_default`, `smtp_default`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from prestaoracle.alerts import dag_failure_notifier
from prestaoracle.plans import ORDERS
from prestaoracle.scheduling import API_RETRY_POLICY, with_alerts

PLAN = ORDERS


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
        "order_ids": Param([], type="array", title="Only these orders",
                           description="Shop order ids to load now (empty: every order still to load)"),
    },
    tags=["prestashop", "oracle", "orders"],
    doc_md=__doc__,
)
def prestashop_orders_to_oracle():
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

    @task(pool="oracle_api", retry_policy=API_RETRY_POLICY)
    def resolve_customers(run_id=None, params=None) -> dict:
        from prestaoracle.flows.order_to_cash import resolve_step

        return resolve_step(run_id=run_id, target=params["oracle_target"] or None)

    @task(pool="oracle_api", retry_policy=API_RETRY_POLICY)
    def load(run_id=None, data_interval_end=None, params=None, task_state_store=None) -> dict:
        from prestaoracle.flows.order_to_cash import load_step

        return load_step(run_id=run_id, now=data_interval_end, target=params["oracle_target"] or None,
                         state=task_state_store, only=params["order_ids"] or None)

    @task(pool="oracle_api", retry_policy=API_RETRY_POLICY)
    def apply_changes(run_id=None, params=None) -> dict:
        from prestaoracle.flows.order_to_cash import changes_step

        return changes_step(run_id=run_id, target=params["oracle_target"] or None)

    @task(trigger_rule="all_done")  # the digest goes out even when a step failed: its refusals are committed
    def report(customers: dict | None, loaded: dict | None, changes: dict | None, run_id=None, params=None) -> dict:
        from prestaoracle.flows.order_to_cash import report_step

        return report_step(run_id=run_id, target=params["oracle_target"] or None,
                           steps={"customers": customers, "load": loaded, "changes": changes})

    # The run must still fail when a step failed, although ``report`` (all_done) succeeds after it; no mail of its
    # own: the failed step has already told the on-call.
    @task(trigger_rule="one_failed", on_failure_callback=None)
    def run_failed() -> None:
        from airflow.sdk.exceptions import AirflowFailException  # fails at once: no retry of a verdict

        raise AirflowFailException("a step of this run failed: see its log and the on-call mail")

    extracted = extract.expand(entity=list(PLAN.extract))
    reference = map_records.override(task_id="map_reference").expand(entity=list(PLAN.map_first))
    documents = map_records.override(task_id="map_documents").expand(entity=list(PLAN.map_then))
    validated = validate.expand(entity=list(PLAN.validate))
    customers = resolve_customers()
    loaded = load()
    changes = apply_changes()
    extracted >> reference >> documents >> validated >> customers >> loaded >> changes
    report(customers, loaded, changes)
    [customers, loaded, changes] >> run_failed()


prestashop_orders_to_oracle()
