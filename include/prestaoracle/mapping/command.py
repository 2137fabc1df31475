"""``python -m prestaoracle map``: dry runs of the mapping, spec checks, and the operator's fixes.

::

    map --entity order --id 42          the canonical rows, the Fusion payload and the EBS interface rows of one
                                        staged order (landed or canonical), as JSON; nothing is written
    map --entity customer --id 7        the canonical customer and the Oracle account payload
    map --entity sales_order --id 300100560012345   the PrestaShop order state an Oracle order means
    map --check                         load and validate every spec (exit 2 with file:line on the first error)
    map --bind sku 12:34 AS54888        bind a shop id to its Oracle counterpart (binder table xref)
    map --unbind sku 12:34
    map --set-lookup order_state OPEN 3 add or replace a lookup pair (table lookup_values)
    map --set-rate EUR USD 1.08 [--valid-from 2025-01-01]

The arguments are declared in ``prestaoracle/cli.py`` (so ``--help`` stays fast); this module runs them. The
staging database is the ``staging_default`` connection (as for ``extract``); the mapping configuration is
``--config`` (YAML/JSON), else ``$PRESTAORACLE_MAPPING_CONFIG``, else ``mapping/config.default.yaml``; the shop's
time zone and id come from the ``prestashop_default`` connection's extra when it is defined.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

__all__ = ["build_context", "run"]

def build_context(config: Path | None = None, *, with_connection: bool = True) -> Any:
    """The mapping context of the CLI: configuration file, then the PrestaShop connection's shop time zone/id."""
    from prestaoracle.mapping import MappingContext

    path = config or (Path(os.environ["PRESTAORACLE_MAPPING_CONFIG"])
                      if os.environ.get("PRESTAORACLE_MAPPING_CONFIG") else None)
    overrides: dict[str, Any] = {}
    if with_connection:
        from prestaoracle import connections

        try:
            extra = connections.get(connections.PRESTASHOP).extra
        except connections.ConnectionNotConfigured:
            extra = {}
        if extra.get("shop_timezone"):
            overrides["shop_timezone"] = str(extra["shop_timezone"])
        if extra.get("shop_id") not in (None, ""):
            overrides["shop_id"] = int(extra["shop_id"])
    return MappingContext.from_config(path, **overrides)


def run(args: argparse.Namespace) -> int:
    from prestaoracle import connections
    from prestaoracle.mapping import SpecError

    try:
        if args.check:
            return _check()
        if args.entity and not args.id:
            raise ValueError("--entity needs --id")
        from prestaoracle.staging import connect

        # Log lines (Airflow's and Alembic's go to stdout) must not mix with the JSON a dry run prints.
        with contextlib.redirect_stdout(sys.stderr):
            staging = connect(connections.staging_url(), upgrade=True)
            try:
                output = (json.dumps(_preview(staging, args), indent=2, ensure_ascii=False, default=_json)
                          if args.entity else _fix(staging, args))
            finally:
                staging.dispose()
        print(output)
    except (connections.ConnectionNotConfigured, SpecError, ValueError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _check() -> int:
    from prestaoracle.mapping import load_spec, spec_names

    names = spec_names()
    for name in names:
        spec = load_spec(name)
        print(f"ok  {spec.file}  version {spec.version}: {spec.model.description}")
    print(f"{len(names)} specs valid")
    return 0


def _fix(staging: Any, args: argparse.Namespace) -> str:
    from . import binder, lookups

    with staging.transaction() as tx:
        if args.bind:
            entity, shop_id, target_id = args.bind
            changed = binder.bind(tx.conn, entity, shop_id, target_id, system=args.system, target=args.target,
                                  note="python -m prestaoracle map --bind")
            return f"{'bound' if changed else 'already bound'}: {args.system} {entity} {shop_id} -> " \
                   f"{args.target} {target_id}"
        if args.unbind:
            entity, shop_id = args.unbind
            done = binder.unbind(tx.conn, entity, shop_id, system=args.system, target=args.target)
            return f"{'unbound' if done else 'was not bound'}: {args.system} {entity} {shop_id}"
        if args.set_lookup:
            name, key, value = args.set_lookup
            lookups.set_lookup(tx.conn, name, key, value, note="python -m prestaoracle map --set-lookup")
            return f"lookup {name}: {key} -> {value}"
        source, target, rate = args.set_rate
        try:
            amount = Decimal(rate)
        except InvalidOperation:
            raise ValueError(f"rate {rate!r} is not a number") from None
        lookups.set_rate(tx.conn, source, target, amount, valid_from=args.valid_from)
        return f"rate {source.upper()} -> {target.upper()}: {amount}" + (
            f" from {args.valid_from}" if args.valid_from else "")


def _preview(staging: Any, args: argparse.Namespace) -> dict[str, Any]:
    from . import preview

    context = build_context(args.config)
    with staging.engine.connect() as conn:
        if args.entity == "order":
            return preview.order(conn, int(args.id), context)
        if args.entity == "customer":
            return preview.customer(conn, int(args.id), context)
        return preview.sales_order(conn, int(args.id), context)
