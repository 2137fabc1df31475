"""``python -m prestaoracle run FLOW``: one flow once, outside the scheduler, through the functions the DAG tasks call.

Flows: ``order-to-cash``, ``order-status``, ``inventory``, ``prices``, ``customer-360``, ``finance-recon``.

Connections come from the environment (``AIRFLOW_CONN_<ID>`` JSON or URI) or, with ``_AIRFLOW_PROCESS_CONTEXT=server``,
from the Airflow metadata database. ``--start``/``--end`` choose an exact window (a replay: nothing the target has is
written again); without them the flow reads from its watermarks to now. Exit 0 when the flow ran, whatever it
quarantined; 2 for a configuration problem (the message says what to set); 1 when the flow failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["FLOWS", "add_parser", "cmd_run"]


def _order_to_cash(args: argparse.Namespace, params: dict[str, str]) -> dict[str, Any]:
    from prestaoracle.flows.order_to_cash import run_order_to_cash

    only = [int(i) for i in params["order_ids"].split(",") if i.strip()] if params.get("order_ids") else None
    return run_order_to_cash(run_id=args.run_id, start=args.start, end=args.end, replay=args.start is not None,
                             target=params.get("oracle_target"), only=only,
                             send_digest=params.get("digest", "true").lower() != "false")


def _order_status(args: argparse.Namespace, params: dict[str, str]) -> dict[str, Any]:
    from prestaoracle.flows.order_to_cash import run_order_status

    return run_order_status(run_id=args.run_id, start=args.start, end=args.end, replay=args.start is not None,
                            target=params.get("oracle_target"))


def _flag(params: dict[str, str], name: str) -> bool:
    return params.get(name, "false").strip().lower() in ("1", "true", "yes")


def _listed(params: dict[str, str], name: str) -> list[str]:
    return [item.strip() for item in params.get(name, "").split(",") if item.strip()]


def _inventory(args: argparse.Namespace, params: dict[str, str]) -> dict[str, Any]:
    from prestaoracle.flows.inventory import run_inventory

    return run_inventory(run_id=args.run_id, start=args.start, end=args.end, mode=params.get("mode", "auto"),
                         dry_run=_flag(params, "dry_run"), stage=not _flag(params, "no_stage"))


def _prices(args: argparse.Namespace, params: dict[str, str]) -> dict[str, Any]:
    from prestaoracle.flows.prices import run_prices

    pct = params.get("max_change_pct")
    return run_prices(run_id=args.run_id, start=args.start, end=args.end, dry_run=_flag(params, "dry_run"),
                      approve=_listed(params, "approve"), stage=not _flag(params, "no_stage"),
                      max_change_pct=float(pct) if pct else None)


def _customer_360(args: argparse.Namespace, params: dict[str, str]) -> dict[str, Any]:
    from prestaoracle.flows.customer_360 import run_customer_360

    return run_customer_360(run_id=args.run_id, start=args.start, end=args.end, stage=not _flag(params, "no_stage"))


def _finance_recon(args: argparse.Namespace, params: dict[str, str]) -> dict[str, Any]:
    from prestaoracle.flows.finance_recon import run_finance_recon

    if args.start is None:  # the DAG's daily interval that ended last midnight (UTC)
        args.end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        args.start = args.end - timedelta(days=1)
    breaks, amount = params.get("max_breaks"), params.get("max_break_amount")
    return run_finance_recon(run_id=args.run_id, start=args.start, end=args.end, stage=not _flag(params, "no_stage"),
                             max_breaks=int(breaks) if breaks else None,
                             max_break_amount=float(amount) if amount else None)


FLOWS: dict[str, Callable[[argparse.Namespace, dict[str, str]], dict[str, Any]]] = {
    "order-to-cash": _order_to_cash,
    "order-status": _order_status,
    "inventory": _inventory,
    "prices": _prices,
    "customer-360": _customer_360,
    "finance-recon": _finance_recon,
}
PLANNED = ("dead-letter-replay",)


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date-time such as 2026-12-01T00:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _param(value: str) -> tuple[str, str]:
    if "=" not in value:
        raise argparse.ArgumentTypeError(f"--param takes KEY=VALUE, got {value!r}")
    key, _, val = value.partition("=")
    return key.strip(), val.strip()


def add_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run one flow once through the same functions as its DAG",
                         description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("flow", choices=(*FLOWS, *PLANNED))
    run.add_argument("--start", type=_instant, help="start of an exact window (ISO; no offset: UTC): for the order "
                     "flows a replay of that window; finance-recon reconciles the days of [start, end); the other "
                     "reconciliations compare what is staged, after staging up to --end from the watermarks")
    run.add_argument("--end", type=_instant, help="end of the window (default: now)")
    run.add_argument("--param", type=_param, action="append", default=[], metavar="KEY=VALUE",
                     help="order-to-cash/order-status: oracle_target=fusion|ebs, order_ids=1,2,3, digest=false; "
                     "inventory: mode=delta|full, dry_run=true; prices: dry_run=true, approve=SKU1,SKU2, "
                     "max_change_pct=30; finance-recon: max_breaks=N, max_break_amount=X (default window: "
                     "yesterday, UTC); any reconciliation: no_stage=true (compare what staging holds, read nothing "
                     "new)")
    run.add_argument("--config", type=Path, help="order-to-cash configuration (default: PRESTAORACLE_ORDER_CONFIG "
                     "or the packaged defaults)")
    run.add_argument("--run-id", help="run id recorded in staging and the ledger (default: cli__<flow>__<time>)")
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    import os

    from prestaoracle.connections import ConnectionNotConfigured
    from prestaoracle.settings import ConfigError

    if args.flow not in FLOWS:
        print(f"error: the {args.flow} flow is not built yet; available: {', '.join(FLOWS)}", file=sys.stderr)
        return 2
    if args.start is not None and args.end is None:
        args.end = datetime.now(UTC)
    if args.start is not None and args.start >= args.end:
        print("error: --start must be before --end", file=sys.stderr)
        return 2
    if args.config is not None:
        os.environ["PRESTAORACLE_ORDER_CONFIG"] = str(args.config)
    args.run_id = args.run_id or f"cli__{args.flow}__{datetime.now(UTC).isoformat(timespec='seconds')}"
    try:
        # Library and Airflow logs go to stderr: stdout holds only the JSON summary, for scripts to read.
        with contextlib.redirect_stdout(sys.stderr):
            summary = FLOWS[args.flow](args, dict(args.param))
    except (ConnectionNotConfigured, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    return 0
