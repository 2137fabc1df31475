"""
### Financial reconciliation: shop payments and refunds ↔ Oracle receivables, one day at a time

Daily at 00:00 UTC, for the UTC day that just ended: `stage_or_skip` decides whether to stage (param `stage`),
`stage_shop` / `stage_oracle` stage the shop's orders, payments and refunds (`order_slip`) and Oracle's sales
orders, receivables invoices and credit memos, and standard receipts; `reconcile` classifies every shop payment and
refund and every Oracle receipt and credit memo dated that business day as `matched`, `amount_mismatch`,
`missing_in_oracle`, `missing_in_shop` or `timing_difference`; `report`, `alert`, `run_failed` follow. Business
days are the shop's calendar days: Oracle dates receivables without a time, so shop timestamps are taken in the
shop's time zone. West of UTC the shop's day D is not over at 00:00 UTC on D+1: its last hours appear when D is
backfilled later.

* **Result**: the day's rows of `finance_recon_items` (a re-run replaces them in one transaction) and the reports
  `finance-recon-<day>.html` / `.csv` in the reports directory (a re-run writes the same bytes).
* **Alert**: one e-mail to the business recipients when the unexplained breaks (everything but matched and timing)
  pass the threshold. A missing counterpart dated within `timing_days` of the interval's end may still arrive: it
  is reported as provisional and not counted (so a daily run alerts on mismatches; a weekly backfill also on missing
  items). Records that cannot be compared go to `dead_letters` (`invalid_data`), resolved once they are fixed.
* **Which day a run covers**: a scheduled run or a backfill with logical date D covers `[D, D+1)`; a **manual**
  trigger with logical date D covers `[D-1, D)` (Airflow's manual interval on this timetable). To redo 20 November,
  backfill it: `airflow backfill create --dag-id financial_reconciliation --from-date 2026-11-20 --to-date
  2026-11-20 --reprocess-behavior completed --max-active-runs 1` (or trigger manually with logical date 21 November).
  A backfill does not stage (param `stage`, `auto` by default): it reconciles what staging holds, so it gives
  today's answer for that day; pass `{"stage": "always"}` as the backfill's run conf to read both systems first.
* **Params**: `max_breaks`, `max_break_amount` (override the configured alert threshold; empty: the configuration's).
* **Settings**: `PRESTAORACLE_FINANCE_CONFIG` (docs/finance-recon.md); connections `prestashop_default`,
  `oracle_fusion_default`, `staging_default`, `smtp_default`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from prestaoracle import dag_tasks
from prestaoracle.alerts import dag_failure_notifier
from prestaoracle.plans import FINANCE_ORACLE, FINANCE_SHOP
from prestaoracle.scheduling import with_alerts


def _limit(value: object) -> float | None:
    return None if value in (None, "") else float(value)  # type: ignore[arg-type]


@dag(
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=with_alerts(),
    on_failure_callback=dag_failure_notifier(),
    params={
        "stage": Param("auto", type="string", enum=list(dag_tasks.STAGE_CHOICES), title="Stage both systems first",
                       description="auto: in scheduled and manual runs, not in backfills (they reconcile what "
                                   "staging holds); always; never"),
        "max_breaks": Param(None, type=["null", "integer"], minimum=0, title="Alert above this many breaks",
                            description="Empty: alert.max_breaks of the finance configuration"),
        "max_break_amount": Param(None, type=["null", "number"], minimum=0, title="Alert above this break amount",
                                  description="Empty: alert.max_break_amount of the finance configuration"),
    },
    tags=["prestashop", "oracle", "finance"],
    doc_md=__doc__,
)
def financial_reconciliation():
    shop_group, _ = dag_tasks.stage(FINANCE_SHOP, group_id="stage_shop", window="watermark")
    oracle_group, _ = dag_tasks.stage(FINANCE_ORACLE, group_id="stage_oracle", window="watermark")
    dag_tasks.stage_or_skip() >> [shop_group, oracle_group]

    @task(trigger_rule="none_failed")  # staging may have been skipped (a backfill): reconcile what is staged
    def reconcile(data_interval_start=None, data_interval_end=None, run_id=None) -> dict:
        from prestaoracle.flows.finance_recon import reconcile_step

        return reconcile_step(run_id=run_id, start=data_interval_start, end=data_interval_end)

    @task(trigger_rule="all_done")  # the report shows what was reconciled even when a later step failed
    def report(reconciled: dict | None, data_interval_start=None, data_interval_end=None, run_id=None) -> dict:
        from prestaoracle.flows.finance_recon import report_step

        return report_step(run_id=run_id, start=data_interval_start, end=data_interval_end)

    @task
    def alert(reconciled: dict, data_interval_start=None, data_interval_end=None, run_id=None,
              params=None) -> dict:
        from prestaoracle.flows.finance_recon import alert_step

        limit = _limit(params.get("max_breaks"))
        return alert_step(run_id=run_id, start=data_interval_start, end=data_interval_end,
                          max_breaks=None if limit is None else int(limit),
                          max_break_amount=_limit(params.get("max_break_amount")))

    reconciled = reconcile()
    [shop_group, oracle_group] >> reconciled
    reported = report(reconciled)
    alerted = alert(reconciled)
    reported >> alerted
    [reconciled, reported, alerted] >> dag_tasks.run_failed()


financial_reconciliation()
