"""Orders changed in the shop after they reached Oracle: a cancellation or a refund becomes the matching change in
Oracle (the order is cancelled there), or a dead letter that says why it cannot (already shipped: a return is
Oracle's business, not the integration's).

Each change is applied once: it has its own ledger entry (target ``<order target>:cancel``, same record key), taken
with the same lease as a create, so a re-run, a replay or an overlapping run does not send it again.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from prestaoracle.flows.orders.config import OrderFlowConfig
from prestaoracle.flows.orders.load import LEASE, SOURCE
from prestaoracle.flows.orders.types import LoadOutcome, OrderLoader
from prestaoracle.reasons import BUSINESS_RULE, RETRYABLE
from prestaoracle.staging import dead_letters, ledger
from prestaoracle.staging.schema import LEDGER_DONE, ps_orders, sync_ledger

log = logging.getLogger(__name__)

__all__ = ["ChangeResult", "apply_changes", "change_target"]

ENTITY = "order_changes"
STAGE = "oracle_change"


def change_target(target: str) -> str:
    return f"{target}:cancel"


@dataclass
class ChangeResult:
    target: str
    seen: int = 0
    outcomes: Counter = field(default_factory=Counter)
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "seen": self.seen, "outcomes": dict(sorted(self.outcomes.items())),
                "rejections": self.rejections}


def _changed(conn: sa.Connection, target: str, config: OrderFlowConfig) -> list[tuple[str, dict[str, Any], str]]:
    """Orders in Oracle (or, on EBS, waiting in the Order Import interface) whose shop state is now a cancel or
    refund state and whose change is not done yet, with the order's own ledger outcome."""
    states = sorted(config.gates.cancel_states | config.gates.refund_states)
    if not states:
        return []
    created, change = sync_ledger.alias("created"), sync_ledger.alias("change")
    ref = sa.literal(f"PS{int(config.shop_id)}-") + sa.cast(ps_orders.c.id_order, sa.String)
    query = (
        sa.select(ps_orders, created.c.outcome.label("_loaded_as"))
        .join(created, sa.and_(created.c.target == target, created.c.record_key == ref,
                               created.c.outcome.in_((*LEDGER_DONE, "interfaced"))))
        .outerjoin(change, sa.and_(change.c.target == change_target(target), change.c.record_key == ref))
        .where(ps_orders.c.current_state.in_(states),
               sa.or_(change.c.outcome.is_(None), change.c.outcome.notin_(LEDGER_DONE)),
               # a change Oracle refused is tried again only when the shop order changes again
               sa.or_(change.c.outcome.is_distinct_from("rejected"), ps_orders.c.date_upd > change.c.last_attempt_at))
        .order_by(ps_orders.c.id_order)
    )
    out = []
    for row in conn.execute(query):
        order = dict(row._mapping)
        loaded_as = order.pop("_loaded_as")
        out.append((f"PS{int(config.shop_id)}-{row.id_order}", order, loaded_as))
    return out


def apply_changes(engine: sa.Engine, loader: OrderLoader, *, config: OrderFlowConfig, run_id: str,
                  lease: timedelta = LEASE) -> ChangeResult:
    """Cancel in Oracle every imported order the shop has since cancelled or refunded."""
    target = change_target(loader.target)
    result = ChangeResult(target=target)
    with engine.connect() as conn:
        changed = _changed(conn, loader.target, config)
    for key, order, loaded_as in changed:
        result.seen += 1
        with engine.begin() as conn:
            if ledger.acquire(conn, target, key, run_id, lease=lease, source=SOURCE, entity=ENTITY) is None:
                result.outcomes["busy"] += 1
                continue
        refunded = order.get("current_state") in config.gates.refund_states
        why = "refunded" if refunded else "cancelled"
        try:
            outcome = loader.cancel(key, reason=f"{why} in the shop (state {order.get('current_state')})")
        except Exception as exc:  # noqa: BLE001 - an auth error or outage must fail the task, after recording it
            with engine.begin() as conn:
                ledger.record_failure(conn, target, key, exc, run_id=run_id, source=SOURCE, entity=ENTITY)
            raise
        with engine.begin() as conn:
            _record(conn, target, key, order, outcome, why=why, run_id=run_id, result=result)
            if outcome.status == "cancelled" and loaded_as == "interfaced":
                # Withdrawn from the Order Import interface before EBS imported it: it will never be in Oracle.
                ledger.record_outcome(conn, loader.target, key, "rejected", run_id=run_id, source=SOURCE,
                                      entity="orders", error=f"{why} in the shop while waiting in the Order Import "
                                                             "interface: withdrawn before import")
    log.info("changes %s: %d orders, %s", target, result.seen, dict(result.outcomes))
    return result


def _record(conn: sa.Connection, target: str, key: str, order: dict[str, Any], out: LoadOutcome, *, why: str,
            run_id: str, result: ChangeResult) -> None:
    id_order = order["id_order"]
    if out.status == "cancelled":
        ledger.record_success(conn, target, key, target_id=out.target_id, target_ref=out.oracle_status or "CANCELED",
                              outcome="updated", run_id=run_id, source=SOURCE, entity=ENTITY)
        dead_letters.resolve_record(conn, source=SOURCE, entity=ENTITY, record_key=id_order,
                                    note=f"cancelled in Oracle ({run_id})")
    elif out.status == "rejected":
        ledger.record_outcome(conn, target, key, "rejected", run_id=run_id, error=out.message, source=SOURCE,
                              entity=ENTITY)
        message = f"{key} was {why} in the shop but Oracle cannot cancel it: {out.message}"
        dead_letters.quarantine(conn, source=SOURCE, entity=ENTITY, record_key=id_order, stage=STAGE,
                                reason_class=out.reason_class or BUSINESS_RULE, message=message,
                                how_to_fix=out.how_to_fix, run_id=run_id, payload={"key": key, "change": why})
        result.rejections.append({"key": key, "id_order": id_order, "reference": order.get("reference"),
                                  "reason_class": out.reason_class or BUSINESS_RULE, "message": message,
                                  "how_to_fix": out.how_to_fix or ""})
    else:
        ledger.record_failure(conn, target, key, out.message or f"the {why} change was not confirmed",
                              run_id=run_id, source=SOURCE, entity=ENTITY)
        dead_letters.quarantine(conn, source=SOURCE, entity=ENTITY, record_key=id_order, stage=STAGE,
                                reason_class=RETRYABLE, message=f"{key}: {out.message}",
                                how_to_fix="Nothing: the next run tries again.", run_id=run_id,
                                payload={"key": key, "change": why})
    result.outcomes[out.status] += 1
