"""Shop orders into Oracle exactly once: select, gate, map for the target, take the ledger lease, load, record.

Which orders: every ``ps_orders`` row that passed the data-quality gate and that the target does not have yet
(no ledger entry, or ``failed``/``held``/``pending`` from a run that died), plus ``rejected`` ones changed in the
shop since. So an order staged by any run (this DAG's own extraction, the staging DAG, a replay) is picked up by the
next load; nothing depends on a window being read exactly once. A replay of any window therefore writes nothing new:
its orders are ``created`` in the ledger and Oracle has their keys.

Exactly once, in layers: the ledger lease (:func:`prestaoracle.staging.ledger.acquire`) keeps two overlapping runs
off the same order; the loader looks every key up in Oracle before writing and after any uncertain write; the keys
of a write in flight are kept in the task state store so a retried task re-attaches to them; Oracle itself refuses a
second order with the same source key.

Every order ends somewhere visible: in the ledger with its outcome and Oracle ids, and, when it did not go through,
in the dead letters with the reason and how to fix it (``held`` orders too, so "in Oracle or in the dead letters"
holds at every moment). When an order finally goes through, its open dead letters are resolved.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from prestaoracle.flows.orders.config import OrderFlowConfig
from prestaoracle.flows.orders.gates import GateDecision, decide
from prestaoracle.flows.orders.types import (
    EBS_TARGET,
    LoadOutcome,
    OrderLoader,
    OrderToLoad,
    TaskState,
    order_ref,
)
from prestaoracle.reasons import BUSINESS_RULE, RETRYABLE
from prestaoracle.staging import dead_letters, ledger
from prestaoracle.staging.schema import LEDGER_DONE, ps_addresses, ps_customers, ps_orders, sync_ledger

log = logging.getLogger(__name__)

__all__ = ["LEASE", "PAGE", "LoadResult", "candidate_ids", "load_orders", "record_outcomes"]

PAGE = 200
"""Orders per page: mapped, written and committed together, so memory stays flat and a crash loses one page's
progress at most (the ledger says where it was)."""
LEASE = timedelta(minutes=30)
"""How long a run's claim on an order keeps other runs off it; past it, the order counts as abandoned by a dead
run and is taken over (looked up in Oracle first)."""
SOURCE, ENTITY = "prestashop", "orders"
STAGE_GATE, STAGE_MAP, STAGE_LOAD = "order_gate", "target_map", "oracle_load"
ACCOUNT_TARGET = "oracle_fusion_account"
"""Ledger target of the Oracle accounts the flow creates (customers.mode create), record key id_customer."""
REJECTION_CLASSES = frozenset({BUSINESS_RULE, "mapping_missing", "invalid_data", "duplicate"})


@dataclass
class LoadResult:
    """What one load run did; ``rejections`` feed the business digest (small dicts, no payloads)."""

    target: str
    seen: int = 0
    outcomes: Counter = field(default_factory=Counter)
    held_by_reason: Counter = field(default_factory=Counter)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    busy: int = 0
    """Orders another run held the lease on (left to it)."""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["outcomes"] = dict(sorted(self.outcomes.items()))
        out["held_by_reason"] = dict(sorted(self.held_by_reason.items()))
        return out


def _ref_column(shop_id: int) -> sa.ColumnElement[str]:
    return sa.literal(f"PS{int(shop_id)}-") + sa.cast(ps_orders.c.id_order, sa.String)


def candidate_ids(conn: sa.Connection, *, target: str, shop_id: int, after: int = 0,
                  limit: int = PAGE) -> list[int]:
    """The next page of orders the target may still need, by id (keyset paging: the caller passes the last id)."""
    t = sync_ledger
    ref = _ref_column(shop_id)
    joined = ps_orders.outerjoin(t, sa.and_(t.c.target == target, t.c.record_key == ref))
    wanted = sa.or_(
        t.c.outcome.is_(None),
        t.c.outcome.in_(("pending", "failed", "held")),
        sa.and_(t.c.outcome == "rejected", ps_orders.c.date_upd > t.c.last_attempt_at),
    )
    query = (sa.select(ps_orders.c.id_order).select_from(joined)
             .where(ps_orders.c.dq_status == "passed", ps_orders.c.id_order > after, wanted)
             .order_by(ps_orders.c.id_order).limit(limit))
    return [int(i) for i in conn.execute(query).scalars()]


def _pages(conn: sa.Connection, target: str, shop_id: int, only: set[int] | None) -> Iterator[list[int]]:
    after = 0
    while True:
        ids = candidate_ids(conn, target=target, shop_id=shop_id, after=after)
        if not ids:
            return
        after = ids[-1]
        page = [i for i in ids if only is None or i in only]
        if page:
            yield page


def _uncertain(conn: sa.Connection, target: str, keys: Iterable[str]) -> set[str]:
    """Keys whose last attempt may have reached Oracle: ``pending`` (a run died mid-call) or ``failed`` (no
    confirmation either way)."""
    t = sync_ledger
    rows = conn.execute(sa.select(t.c.record_key).where(
        t.c.target == target, t.c.record_key.in_(list(keys)), t.c.outcome.in_(("pending", "failed"))))
    return set(rows.scalars())


def _rows(conn: sa.Connection, table: sa.Table, column: str, ids: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = conn.execute(sa.select(table).where(table.c[column].in_(wanted)))
    return {row._mapping[column]: dict(row._mapping) for row in rows}


def _unsettled_accounts(conn: sa.Connection, id_customers: Iterable[Any]) -> set[int]:
    """Customers whose Oracle account creation (customers.mode create) has not settled: their orders wait rather
    than go to the web-shop account while the account may exist."""
    t = sync_ledger
    wanted = sorted({str(i) for i in id_customers if i is not None})
    if not wanted:
        return set()
    rows = conn.execute(sa.select(t.c.record_key).where(
        t.c.target == ACCOUNT_TARGET, t.c.record_key.in_(wanted), t.c.outcome.notin_(LEDGER_DONE)))
    return {int(k) for k in rows.scalars()}


def _dependency_hold(order: Mapping[str, Any], customers: Mapping[Any, Mapping[str, Any]],
                     addresses: Mapping[Any, Mapping[str, Any]], unsettled: set[int]) -> GateDecision | None:
    """An order waits while its customer or an address is not staged or did not pass the quality gate (their own
    dead letters say why), or while its customer's Oracle account is being created; it goes as soon as they are
    fixed."""
    if order.get("id_customer") in unsettled:
        return GateDecision("hold", f"the Oracle account of customer {order.get('id_customer')} is being created "
                                    "and has not been confirmed", "Nothing: the next run checks it again.",
                            "account being created")
    customer = customers.get(order.get("id_customer"))
    if customer is None or customer.get("dq_status") != "passed":
        what = "is not staged yet" if customer is None else f"is {customer.get('dq_status')} by the quality gate"
        return GateDecision("hold", f"customer {order.get('id_customer')} {what}",
                            "Fix the customer's dead letter (or wait for its extraction); the order follows.",
                            "customer not passed")
    for key in ("id_address_delivery", "id_address_invoice"):
        address = addresses.get(order.get(key))
        if address is None or address.get("dq_status") != "passed":
            what = "is not staged yet" if address is None else f"is {address.get('dq_status')} by the quality gate"
            return GateDecision("hold", f"address {order.get(key)} ({key}) {what}",
                                "Fix the address's dead letter (or wait for its extraction); the order follows.",
                                "address not passed")
    return None


def _mapper(conn: sa.Connection, config: OrderFlowConfig, mapping_config: Any) -> Any:
    """A function mapping one order document to the target's payload (raises MappingError)."""
    from prestaoracle.mapping import MappingContext, load_spec, map_record
    from prestaoracle.mapping.documents import to_ebs_order

    name = "ebs_order" if config.oracle_target == "ebs" else "fusion_sales_order"
    spec = load_spec(name)
    ctx = MappingContext.from_config(mapping_config, shop_id=config.shop_id).with_staging(conn, [spec])
    if config.oracle_target == "ebs":
        return lambda doc: to_ebs_order(map_record(spec, doc, ctx))
    return lambda doc: map_record(spec, doc, ctx)


def _rejection(order: Mapping[str, Any], key: str, reason_class: str, message: str, how_to_fix: str | None) -> dict:
    return {"key": key, "id_order": order.get("id_order"), "reference": order.get("reference"),
            "reason_class": reason_class, "message": message, "how_to_fix": how_to_fix or ""}


def _hold(conn: sa.Connection, target: str, key: str, order: Mapping[str, Any], decision: GateDecision, *,
          stage: str, reason_class: str, run_id: str, result: LoadResult, category: str) -> None:
    """Held (looked at again next run) or given up (a business rejection): ledger + dead letter."""
    outcome = "held" if decision.verdict == "hold" else "rejected"
    ledger.record_outcome(conn, target, key, outcome, run_id=run_id, error=decision.reason, source=SOURCE,
                          entity=ENTITY)
    letter = dead_letters.quarantine(
        conn, source=SOURCE, entity=ENTITY, record_key=order["id_order"], stage=stage, reason_class=reason_class,
        message=f"{key}: {decision.reason}", how_to_fix=decision.how_to_fix, run_id=run_id,
        payload={"key": key, "current_state": order.get("current_state"), "target": target})
    result.outcomes[outcome] += 1
    if outcome == "held":
        result.held_by_reason[category] += 1
    else:
        result.rejections.append(_rejection(order, key, reason_class, letter.message, decision.how_to_fix))


def _skip(conn: sa.Connection, target: str, key: str, order: Mapping[str, Any], decision: GateDecision, *,
          run_id: str, result: LoadResult) -> None:
    """Cancelled before import: nothing to send. Recorded as ``rejected`` (never ``skipped``, which would mean Oracle
    has it) with a closed (ignored) dead letter, so the order is accounted for without asking anyone to act; it is
    looked at again only if the shop changes it."""
    ledger.record_outcome(conn, target, key, "rejected", run_id=run_id, error=decision.reason, source=SOURCE,
                          entity=ENTITY)
    letter = dead_letters.quarantine(
        conn, source=SOURCE, entity=ENTITY, record_key=order["id_order"], stage=STAGE_GATE,
        reason_class=BUSINESS_RULE, message=f"{key}: {decision.reason}", how_to_fix=decision.how_to_fix,
        run_id=run_id, payload={"key": key, "current_state": order.get("current_state"), "target": target})
    if letter.status == "open":
        dead_letters.ignore(conn, [letter.id], note="cancelled in the shop before import: nothing to send")
    result.outcomes["cancelled_in_shop"] += 1


def record_outcomes(conn: sa.Connection, target: str, outcomes: Iterable[LoadOutcome],
                    orders: Mapping[str, Mapping[str, Any]], *, run_id: str, result: LoadResult) -> None:
    """Write what the target said about each order to the ledger and the dead letters."""
    for out in outcomes:
        order = orders.get(out.key, {})
        id_order = order.get("id_order", out.key)
        if out.status in ("created", "exists"):
            ledger.record_success(conn, target, out.key, target_id=out.target_id, target_ref=out.target_ref,
                                  outcome="created" if out.status == "created" else "skipped", run_id=run_id,
                                  source=SOURCE, entity=ENTITY)
            dead_letters.resolve_record(conn, source=SOURCE, entity=ENTITY, record_key=id_order,
                                        note=f"in Oracle as {out.target_ref or out.target_id} ({run_id})")
        elif out.status == "interfaced":
            ledger.record_outcome(conn, target, out.key, "interfaced", run_id=run_id, target_id=out.target_id,
                                  source=SOURCE, entity=ENTITY)
        elif out.status == "rejected":
            reason = out.reason_class if out.reason_class in REJECTION_CLASSES else BUSINESS_RULE
            ledger.record_outcome(conn, target, out.key, "rejected", run_id=run_id, error=out.message,
                                  target_id=out.target_id, source=SOURCE, entity=ENTITY)
            letter = dead_letters.quarantine(
                conn, source=SOURCE, entity=ENTITY, record_key=id_order, stage=STAGE_LOAD, reason_class=reason,
                message=f"{out.key}: {out.message}", how_to_fix=out.how_to_fix, run_id=run_id,
                payload={"key": out.key, "target": target})
            result.rejections.append(_rejection(order or {"id_order": id_order}, out.key, reason, letter.message,
                                                out.how_to_fix))
        else:  # failed: nothing known to be written; the next run looks the key up before writing again
            ledger.record_failure(conn, target, out.key, out.message or "the target did not confirm the order",
                                  run_id=run_id, source=SOURCE, entity=ENTITY)
            dead_letters.quarantine(
                conn, source=SOURCE, entity=ENTITY, record_key=id_order, stage=STAGE_LOAD, reason_class=RETRYABLE,
                message=f"{out.key}: {out.message}", how_to_fix=out.how_to_fix or "Nothing: the next run retries it.",
                run_id=run_id, payload={"key": out.key, "target": target})
        result.outcomes[out.status] += 1


def load_orders(engine: sa.Engine, loader: OrderLoader, *, config: OrderFlowConfig, run_id: str, now: datetime,
                state: TaskState | None = None, only: Iterable[int] | None = None, mapping_config: Any = None,
                lease: timedelta = LEASE) -> LoadResult:
    """Load every order the target still needs, page by page; ``now`` (naive UTC, the run's data interval end)
    drives the payment gate's "unpaid for N days"; ``only`` restricts the run to some order ids (a webhook run)."""
    from prestaoracle.mapping.documents import order_documents
    from prestaoracle.mapping.errors import MappingError

    target = loader.target
    result = LoadResult(target=target)
    wanted = None if only is None else {int(i) for i in only}
    with engine.connect() as reader:
        pages = list(_pages(reader, target, config.shop_id, wanted))
    for ids in pages:
        keys = {order_ref(config.shop_id, i): i for i in ids}
        # An order whose last attempt may have written it (a run died holding it, or its write was never confirmed)
        # is looked up in Oracle first: whatever the shop did since, Oracle's answer decides (an order the shop has
        # cancelled meanwhile must be cancelled there, not forgotten here).
        with engine.connect() as reader:
            uncertain = _uncertain(reader, target, keys)
        known = loader.find(sorted(uncertain)) if uncertain else {}
        # The keys a killed attempt of this task was sending (task state): found now, that attempt created them.
        sent_before = set(state.get("in_flight") or ()) if state is not None else set()
        known = {key: replace(found, status="created", recovered=True) if key in sent_before else found
                 for key, found in known.items()}
        with engine.begin() as conn:
            orders = _rows(conn, ps_orders, "id_order", ids)
            customers = _rows(conn, ps_customers, "id_customer", [o["id_customer"] for o in orders.values()])
            addresses = _rows(conn, ps_addresses, "id_address",
                              [o[k] for o in orders.values() for k in ("id_address_delivery", "id_address_invoice")])
            unsettled = _unsettled_accounts(conn, customers)
            mapper = _mapper(conn, config, mapping_config)
            documents = order_documents(conn, ids)
            batch: list[OrderToLoad] = []
            by_key: dict[str, dict[str, Any]] = {}
            for id_order in ids:
                order = orders[id_order]
                key = order_ref(config.shop_id, id_order)
                result.seen += 1
                if ledger.acquire(conn, target, key, run_id, lease=lease, source=SOURCE, entity=ENTITY) is None:
                    result.busy += 1
                    continue
                if key in known:
                    record_outcomes(conn, target, [known[key]], {key: order}, run_id=run_id, result=result)
                    continue
                decision = decide(order, config.gates, now)
                if decision.verdict == "skip":
                    _skip(conn, target, key, order, decision, run_id=run_id, result=result)
                    continue
                if decision.verdict in ("hold", "give_up"):
                    _hold(conn, target, key, order, decision, stage=STAGE_GATE, reason_class=BUSINESS_RULE,
                          run_id=run_id, result=result, category=decision.category)
                    continue
                waiting = _dependency_hold(order, customers, addresses, unsettled)
                if waiting is not None:
                    _hold(conn, target, key, order, waiting, stage=STAGE_GATE, reason_class="mapping_missing",
                          run_id=run_id, result=result, category=waiting.category)
                    continue
                try:
                    payload = mapper(documents[id_order])
                except MappingError as exc:
                    # Held, not rejected: the fix is a binding or a lookup, not a change of the order, so every run
                    # tries again (cheap, local) and the order goes as soon as the operator adds what is missing.
                    _hold(conn, target, key, order,
                          GateDecision("hold", f"{exc.field}: {exc.message}", exc.how_to_fix),
                          stage=STAGE_MAP, reason_class=exc.reason_class, run_id=run_id, result=result,
                          category=f"mapping: {exc.field}")
                    continue
                batch.append(OrderToLoad(key=key, id_order=id_order, payload=payload))
                by_key[key] = order
        # The leases are committed before Oracle is called: a crash from here on leaves ``pending`` entries that
        # the next run (after the lease, or this run's retry at once) looks up in Oracle before writing.
        if not batch:
            continue
        outcomes = loader.load(batch, state=state)
        with engine.begin() as conn:
            record_outcomes(conn, target, outcomes, by_key, run_id=run_id, result=result)
        if state is not None:
            state.delete("in_flight")
        log.info("load %s: page of %d orders → %s", target, len(ids), dict(Counter(o.status for o in outcomes)))
    if target == EBS_TARGET:
        collect_interfaced(engine, loader, config=config, run_id=run_id, result=result)
    log.info("load %s: %d orders seen, outcomes %s, held %s, busy %d", target, result.seen, dict(result.outcomes),
             dict(result.held_by_reason), result.busy)
    return result


def collect_interfaced(engine: sa.Engine, loader: Any, *, config: OrderFlowConfig, run_id: str,
                       result: LoadResult) -> None:
    """EBS: orders waiting in the Order Import interface become ``created`` or ``rejected`` once the import program
    has run; the others stay ``interfaced``."""
    with engine.connect() as conn:
        waiting = [e.record_key for e in ledger.pending(conn, loader.target, outcomes=("interfaced",))]
        ids = {k: int(k.rsplit("-", 1)[1]) for k in waiting}
        rows = _rows(conn, ps_orders, "id_order", ids.values())
        orders = {k: rows[i] for k, i in ids.items() if i in rows}
    if not waiting:
        return
    outcomes = [o for o in loader.collect(waiting) if o.status != "interfaced"]
    with engine.begin() as conn:
        record_outcomes(conn, loader.target, outcomes, orders, run_id=run_id, result=result)


def busy_keys(conn: sa.Connection, target: str) -> list[str]:
    """Orders claimed by a run that has not reported back (for the run summary and the health page)."""
    return [e.record_key for e in ledger.pending(conn, target)]


def run_rejections(conn: sa.Connection, target: str, run_id: str) -> list[dict[str, Any]]:
    """The orders this run refused or gave up, for the business digest: read back from the ledger and the dead
    letters (not from a task's return value), so refusals committed by a try that failed later are not lost."""
    from prestaoracle.staging.schema import dead_letters as letters

    t = sync_ledger
    rows = conn.execute(sa.select(t.c.target, t.c.record_key).where(
        t.c.target.in_((target, f"{target}:cancel")), t.c.run_id == run_id, t.c.outcome == "rejected")).all()
    if not rows:
        return []
    ids = {key: key.rsplit("-", 1)[1] for _, key in rows}
    found = conn.execute(sa.select(letters).where(
        letters.c.source == SOURCE, letters.c.entity.in_((ENTITY, "order_changes")), letters.c.status == "open",
        letters.c.run_id == run_id, letters.c.record_key.in_(sorted(set(ids.values()))),
        letters.c.stage.in_((STAGE_GATE, STAGE_LOAD, "oracle_change")))).all()
    by_order: dict[tuple[str, str], Any] = {}
    for letter in found:
        by_order[(letter.entity, letter.record_key)] = letter
    references = {str(r.id_order): r.reference for r in conn.execute(
        sa.select(ps_orders.c.id_order, ps_orders.c.reference).where(
            ps_orders.c.id_order.in_(sorted({int(i) for i in ids.values()}))))}
    out = []
    for row_target, key in rows:
        entity = "order_changes" if row_target.endswith(":cancel") else ENTITY
        letter = by_order.get((entity, ids[key]))
        if letter is None:  # closed on purpose (cancelled before import): nothing for the business to do
            continue
        out.append({"key": key, "id_order": int(ids[key]), "reference": references.get(ids[key]),
                    "reason_class": letter.reason_class, "message": letter.message,
                    "how_to_fix": letter.how_to_fix or ""})
    return sorted(out, key=lambda r: r["id_order"])

