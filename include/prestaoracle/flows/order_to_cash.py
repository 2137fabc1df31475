"""Order-to-cash, step by step: what the DAGs ``prestashop_orders_to_oracle`` and ``oracle_status_to_prestashop``
run in their tasks, and what ``python -m prestaoracle run order-to-cash|order-status`` runs in one process.

Every step opens the connections it needs (a retried task on another worker inherits nothing), works through the
staging database and returns a small JSON-able dict (XCom, the run summary). The logic lives in
:mod:`prestaoracle.flows.orders`; this module wires it to connections and settings.

Steps of the order flow: stage the shop's orders (the staging steps, on the :data:`~prestaoracle.plans.ORDERS`
plan) → resolve customers in Oracle → load (gates, mapping for the target, the ledger, the target) → apply changes
made in the shop after import (cancellations, refunds) → report (summary JSON + the business digest e-mail).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from prestaoracle.plans import ORDERS

log = logging.getLogger(__name__)

__all__ = ["ORDERS", "changes_step", "load_step", "report_step", "resolve_step", "run_order_status",
           "run_order_to_cash", "status_step"]

FLOW = "order-to-cash"
STATUS_FLOW = "order-status"


def _config(target: str | None = None) -> Any:
    from prestaoracle.flows.orders.config import load_config

    return load_config().with_target(target)


@contextmanager
def _staging():
    from prestaoracle import connections

    with connections.staging() as staging:
        yield staging


@contextmanager
def _loader(config: Any):
    """The configured Oracle target behind the OrderLoader interface (the client closed afterwards)."""
    from prestaoracle import connections

    if config.oracle_target == "ebs":
        from prestaoracle.flows.orders.ebs import EbsOrderLoader
        from prestaoracle.oracle.ebs import EbsClient

        engine = connections.ebs_engine()
        try:
            yield EbsOrderLoader(EbsClient(engine, order_source_id=config.ebs.order_source_id,
                                           org_id=config.ebs.org_id, ship_from_org=config.ebs.ship_from_org))
        finally:
            engine.dispose()
    else:
        from prestaoracle.flows.orders.fusion import FusionOrderLoader

        client = connections.fusion_client()
        try:
            yield FusionOrderLoader(client, batch_size=config.fusion.batch_size, source_system=_source_system())
        finally:
            client.close()


def _source_system() -> str:
    """Fusion's SourceTransactionSystem of the shop's orders: the mapping's ``defaults.source_system``, so the
    payloads, the loader's lookups and the status flow agree on it."""
    from prestaoracle import settings
    from prestaoracle.mapping import MappingContext

    return str(MappingContext.from_config(settings.mapping_config()).defaults.get("source_system") or "PSHOP")


def _naive_utc(moment: datetime | None) -> datetime:
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def resolve_step(*, run_id: str, target: str | None = None) -> dict[str, Any]:
    """Bind the customers of the orders still to load to their Oracle accounts (config ``customers.mode``)."""
    from prestaoracle import connections
    from prestaoracle.flows.orders.customers import resolve_customers
    from prestaoracle.flows.orders.load import candidate_ids
    from prestaoracle.staging.schema import ps_orders

    config = _config(target)
    if config.customers.mode == "webshop" and config.oracle_target == "fusion":
        return {"mode": "webshop", "customers": 0}
    with _staging() as staging:
        engine = staging.engine
        with engine.connect() as conn:
            ids: list[int] = []
            after = 0
            while page := candidate_ids(conn, target=config.ledger_target, shop_id=config.shop_id, after=after):
                ids.extend(page)
                after = page[-1]
            customers = sorted({int(c) for c in conn.execute(
                ps_orders.select().with_only_columns(ps_orders.c.id_customer)
                .where(ps_orders.c.id_order.in_(ids))).scalars() if c is not None}) if ids else []
        if not customers and config.oracle_target == "fusion":
            return {"mode": config.customers.mode, "customers": 0}
        if config.oracle_target == "ebs":  # also without customers: it refreshes the catch-all accounts' lookup
            from prestaoracle.oracle.ebs import EbsClient

            ebs_engine = connections.ebs_engine()
            try:
                with engine.begin() as conn:
                    result = resolve_customers(conn, customers, config=config, run_id=run_id,
                                               ebs=EbsClient(ebs_engine, order_source_id=config.ebs.order_source_id,
                                                             org_id=config.ebs.org_id,
                                                             ship_from_org=config.ebs.ship_from_org))
            finally:
                ebs_engine.dispose()
        else:
            with connections.fusion_client() as client, engine.begin() as conn:
                result = resolve_customers(conn, customers, config=config, run_id=run_id, fusion=client)
    return {"mode": config.customers.mode, "customers": len(customers), "by_rule": dict(result.counts),
            "kept": len(result.kept), "failed": sorted(result.failed), "warnings": list(result.warnings)}


def load_step(*, run_id: str, now: datetime | None = None, target: str | None = None, state: Any = None,
              only: Iterable[int] | None = None) -> dict[str, Any]:
    """Load every order the target still needs (see :mod:`prestaoracle.flows.orders.load`)."""
    from prestaoracle import settings
    from prestaoracle.flows.orders.load import load_orders
    from prestaoracle.flows.orders.types import MemoryState

    config = _config(target)
    state = state if state is not None else MemoryState()
    with _staging() as staging, _loader(config) as loader:
        result = load_orders(staging.engine, loader, config=config, run_id=run_id, now=_naive_utc(now),
                             state=state, only=only, mapping_config=settings.mapping_config())
    return result.as_dict()


def changes_step(*, run_id: str, target: str | None = None) -> dict[str, Any]:
    """Cancel in Oracle the imported orders the shop has cancelled or refunded since."""
    from prestaoracle.flows.orders.changes import apply_changes

    config = _config(target)
    with _staging() as staging, _loader(config) as loader:
        return apply_changes(staging.engine, loader, config=config, run_id=run_id).as_dict()


def report_step(*, run_id: str, flow: str = FLOW, steps: Mapping[str, Any], target: str | None = None,
                send_digest: bool = True) -> dict[str, Any]:
    """The run summary (JSON beside the other reports) and the business digest of what Oracle refused."""
    from prestaoracle import settings

    config = _config(target)
    rejections: list[dict[str, Any]] = []
    if flow == FLOW:
        from prestaoracle.flows.orders.load import run_rejections

        with _staging() as staging, staging.engine.connect() as conn:
            rejections = run_rejections(conn, config.ledger_target, run_id)
    summary = {"flow": flow, "run_id": run_id, "oracle_target": config.oracle_target,
               "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
               "steps": {name: _without(step, "rejections") for name, step in steps.items()},
               "rejected": len(rejections),
               "rejected_by_reason": _count(r["reason_class"] for r in rejections)}
    if send_digest:
        from prestaoracle.alerts import send_business_digest

        digest = send_business_digest(rejections, run_id=run_id, flow=flow, to=config.alerts.business or None,
                                      smtp_conn_id=config.alerts.smtp_conn_id)
        summary["digest"] = _jsonable(digest.as_dict() if hasattr(digest, "as_dict") else vars(digest))
    path = settings.reports_dir() / f"{flow}-{settings.file_part(run_id)}.json"
    path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str), encoding="utf-8")
    summary["summary_json"] = str(path)
    log.info("run summary: %s", path.as_uri())
    return summary


def status_step(*, run_id: str, start: datetime | None, end: datetime | None, replay: bool = False,
                target: str | None = None) -> dict[str, Any]:
    """Oracle's progress since the watermark (or exactly ``[start, end)`` on a replay) back to the shop."""
    from prestaoracle import connections
    from prestaoracle.flows.orders.status import sync_status
    from prestaoracle.prestashop import PrestaShopWriter

    config = _config(target)
    with _staging() as staging, connections.prestashop_client() as shop:
        writer = PrestaShopWriter(shop)
        kwargs: dict[str, Any] = {"config": config, "writer": writer, "start": start if replay else None,
                                  "end": end, "run_id": run_id}
        if config.oracle_target == "ebs":
            from prestaoracle.oracle.ebs import EbsClient

            engine = connections.ebs_engine()
            try:
                result = sync_status(staging.engine, ebs=EbsClient(engine, order_source_id=config.ebs.order_source_id,
                                                                   org_id=config.ebs.org_id,
                                                                   ship_from_org=config.ebs.ship_from_org), **kwargs)
            finally:
                engine.dispose()
        else:
            with connections.fusion_client() as client:
                result = sync_status(staging.engine, fusion=client, source_system=_source_system(), **kwargs)
    return _jsonable(result.as_dict())


def run_order_to_cash(*, run_id: str, start: datetime | None = None, end: datetime | None = None,
                      replay: bool = False, target: str | None = None, only: Sequence[int] | None = None,
                      send_digest: bool = True) -> dict[str, Any]:
    """Every step of the order flow in this process, in the DAG's order (the CLI and the tests)."""
    from prestaoracle.flows.staging import extract_step, map_step, validate_step

    source = ORDERS.source
    extracted = [extract_step(source, e, start=start, end=end, run_id=run_id, replay=replay) for e in ORDERS.extract]
    mapped = [map_step(source, e, run_id=run_id) for e in (*ORDERS.map_first, *ORDERS.map_then)]
    validated = [validate_step(source, e, run_id=run_id) for e in ORDERS.validate]
    steps = {
        "staged": {"extracted": {e["entity"]: e["read"] for e in extracted},
                   "mapped": {m["entity"]: m["mapped"] for m in mapped},
                   "quarantined": {v["entity"]: v["quarantined"] for v in validated}},
        "customers": resolve_step(run_id=run_id, target=target),
        "load": load_step(run_id=run_id, now=end, target=target, only=only),
        "changes": changes_step(run_id=run_id, target=target),
    }
    return report_step(run_id=run_id, steps=steps, target=target, send_digest=send_digest)


def run_order_status(*, run_id: str, start: datetime | None = None, end: datetime | None = None,
                     replay: bool = False, target: str | None = None) -> dict[str, Any]:
    """The status flow in this process (the CLI and the tests)."""
    status = status_step(run_id=run_id, start=start, end=end, replay=replay, target=target)
    return report_step(run_id=run_id, flow=STATUS_FLOW, steps={"status": status}, target=target, send_digest=False)


def _without(step: Any, key: str) -> Any:
    return {k: v for k, v in step.items() if k != key} if isinstance(step, Mapping) else step


def _count(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
