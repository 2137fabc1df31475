"""Prices, Oracle → PrestaShop: what the DAG ``prices_to_prestashop`` runs in its tasks, and what
``python -m prestaoracle run prices`` runs in one process.

Steps: stage the shop (:data:`~prestaoracle.plans.PRICES_SHOP`) and Oracle (:data:`~prestaoracle.plans.PRICES_ORACLE`)
→ reconcile (pandas, :mod:`prestaoracle.reconcile.prices`) → push (differences only, a product's price before its
combinations' impacts; changes past the guard rail held as ``needs_review`` dead letters) → report (CSV + HTML).
Each step opens what it needs and returns a small JSON-able dict (XCom, the run summary).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from prestaoracle.plans import PRICES_ORACLE, PRICES_SHOP
from prestaoracle.settings import ConfigError

log = logging.getLogger(__name__)

__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG", "FLOW", "LEDGER_TARGET", "PricesConfig", "PricesConfigError",
           "load_config", "push_step", "reconcile_step", "report_step", "run_prices"]

FLOW = "prices"
LEDGER_TARGET = "prestashop_price"
SOURCE, ENTITY, STAGE = "oracle", "prices", "price_guard"
CONFIG_ENV = "PRESTAORACLE_PRICES_CONFIG"
DEFAULT_CONFIG = Path(__file__).with_name("prices.default.yaml")
TEMPLATES = Path(__file__).with_name("prices_templates")
REPORT_ROWS = 500  # rows per section the HTML shows; the CSV has them all


class PricesConfigError(ConfigError):
    """The prices configuration is wrong (or names no usable price list); the message says what to write.

    A kind of the order flow's ``ConfigError``, so ``python -m prestaoracle run prices`` exits 2 on it."""


@dataclass(frozen=True)
class PricesConfig:
    price_list: str | None = None
    tolerance: float = 0.005
    max_change_pct: float = 20.0
    stop_after_unanswered: int = 5


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> PricesConfig:
    """The configuration at ``path`` (default: ``PRESTAORACLE_PRICES_CONFIG`` or the packaged defaults)."""
    env = os.environ if environ is None else environ
    path = Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise PricesConfigError(f"prices configuration {path} does not exist: fix {CONFIG_ENV}") from None
    except yaml.YAMLError as exc:
        raise PricesConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise PricesConfigError(f"{path}: the top level must be a mapping of settings")
    unknown = sorted(set(raw) - {"price_list", "tolerance", "max_change_pct", "stop_after_unanswered"})
    if unknown:
        raise PricesConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; the settings are price_list, "
                                "tolerance, max_change_pct, stop_after_unanswered")
    try:
        tolerance = float(raw.get("tolerance", PricesConfig.tolerance))
        max_pct = float(raw.get("max_change_pct", PricesConfig.max_change_pct))
    except (TypeError, ValueError):
        raise PricesConfigError(f"{path}: tolerance and max_change_pct are numbers (e.g. 0.005 and 20)") from None
    if tolerance < 0 or max_pct < 0:
        raise PricesConfigError(f"{path}: tolerance and max_change_pct must not be negative")
    stop = raw.get("stop_after_unanswered", PricesConfig.stop_after_unanswered)
    if isinstance(stop, bool) or not isinstance(stop, int) or stop < 1:
        raise PricesConfigError(f"{path}: stop_after_unanswered must be a whole number >= 1, not {stop!r}")
    price_list = raw.get("price_list")
    return PricesConfig(price_list=None if price_list in (None, "") else str(price_list), tolerance=tolerance,
                        max_change_pct=max_pct, stop_after_unanswered=stop)


@contextmanager
def _staging():
    from prestaoracle import connections

    with connections.staging() as staging:
        yield staging


def _naive_utc(moment: datetime | None) -> datetime:
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def _approve_list(approve: Sequence[str] | str | None) -> list[str]:
    if isinstance(approve, str):
        approve = approve.split(",")
    return sorted({str(s).strip() for s in approve or () if str(s).strip()})


def _record_key(resource: str, object_id: int) -> str:
    from prestaoracle.reconcile.prices import PRODUCT

    return f"{'product' if resource == PRODUCT else 'combination'}:{int(object_id)}"


def _plain(value: Any) -> Any:
    """numpy/pandas scalars as JSON values (an infinite percentage, a change from 0, as None)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _gaps_path(run_id: str) -> Path:
    from prestaoracle import settings

    return settings.reports_dir() / f"{FLOW}-{settings.file_part(run_id)}-gaps.csv"


# ------------------------------------------------------------------------------------------------ reconcile


def reconcile_step(*, run_id: str, now: datetime | None = None, approve: Sequence[str] | str = (),
                   max_change_pct: float | None = None) -> dict[str, Any]:
    """Compare the staged Oracle prices with the staged shop prices; returns the changes to push or hold (in push
    order) and writes what has no counterpart (SKUs without an Oracle price, Oracle prices without a shop record)
    beside the reports."""
    import pandas as pd
    import sqlalchemy as sa

    from prestaoracle import settings
    from prestaoracle.mapping import MappingContext
    from prestaoracle.reconcile.prices import PriceListError, PriceRules, reconcile_prices, select_prices, shop_items
    from prestaoracle.staging.metrics import timed_step
    from prestaoracle.staging.schema import ora_prices, ps_combinations, ps_products, xref

    config = load_config()
    at = _naive_utc(now)
    context = MappingContext.from_config(settings.mapping_config())
    currency = str(context.defaults.get("shop_currency") or "").upper()
    if not currency:
        raise PricesConfigError("the mapping configuration has no defaults.shop_currency: set the shop's default "
                                "currency there (PRESTAORACLE_MAPPING_CONFIG)")
    limit = config.max_change_pct if max_change_pct in (None, "") else float(max_change_pct)
    approved = _approve_list(approve)
    with _staging() as staging, timed_step(staging.engine, run_id, FLOW, "reconcile") as m:
        with staging.engine.connect() as conn:
            def passed(table: sa.Table) -> pd.DataFrame:
                return pd.read_sql(sa.select(table).where(table.c.dq_status == "passed"), conn)

            prices, products, combinations = passed(ora_prices), passed(ps_products), passed(ps_combinations)
            bindings = pd.read_sql(sa.select(xref.c.external_id, xref.c.target_id).where(
                xref.c.system == "prestashop", xref.c.entity == "sku", xref.c.target == "oracle"), conn)
        others = {str(c).upper() for c in prices["currency"].dropna()} - {currency}
        rates = {c: float(r) for c in others if (r := context.rates.rate(c, currency, at.date())) is not None}
        rules = PriceRules(currency=currency, price_list=config.price_list, tolerance=config.tolerance,
                           max_change_pct=limit, approve=frozenset(approved), rates=rates)
        try:
            chosen, price_list, list_currency = select_prices(prices, rules=rules, now=at)
        except PriceListError as exc:
            raise PricesConfigError(str(exc)) from None
        result = reconcile_prices(shop_items(products, combinations, bindings), chosen, rules=rules,
                                  price_list=price_list, currency=list_currency)
        gaps = pd.concat([
            result.no_oracle_price.assign(section="no_oracle_price"),
            result.no_shop_product.assign(section="no_shop_product"),
        ], ignore_index=True)
        path = _gaps_path(run_id)
        gaps.to_csv(path, index=False)
        m.read = len(prices) + len(products) + len(combinations)
        counts = {"compared": result.compared, "to_push": len(result.pushed), "to_hold": len(result.held),
                  "no_oracle_price": len(result.no_oracle_price), "no_shop_product": len(result.no_shop_product)}
        m.details.update(counts, price_list=price_list)
    log.info("prices: list %s (%s), %s", price_list, list_currency, counts)
    return {"price_list": price_list, "currency": currency, "list_currency": list_currency,
            "now": at.isoformat(), "max_change_pct": limit, "tolerance": config.tolerance, "approve": approved,
            **counts, "gaps_csv": str(path), "changes": _records(result.changes)}


# ------------------------------------------------------------------------------------------------ push


def _how_to_fix(sku: str, run_hint: str) -> str:
    return (f"If Oracle's price is right, approve it: rerun the DAG prices_to_prestashop with param approve "
            f"[\"{sku}\"], or {run_hint} --param approve={sku}. If it is wrong, fix the price in the Oracle "
            "price list: the next run resolves this entry once the change is back within the guard rail.")


_FIX = {
    "mapping_missing": "The shop no longer has this record: stage the shop again (or bind the SKU to the right record: "
                       "python -m prestaoracle map --bind sku PRODUCT:COMBINATION SKU).",
    "invalid_data": "Check the price in Oracle and the record in the shop (the shop refuses it the same way every "
                    "time); the next run writes it once one of them is fixed.",
    "business_rule": "The shop refuses this record by a rule of its own: check the record in PrestaShop.",
    "retryable": "Nothing to fix: the shop did not answer. The next run retries this record.",
}
"""What to do about a write the shop did not take, by reason class (:func:`shop_writes.reason_for`)."""


def push_step(reconciled: Mapping[str, Any], *, run_id: str, dry_run: bool = False) -> dict[str, Any]:
    """Write the changes ``reconcile_step`` found to the shop, products before their combinations; hold the ones
    past the guard rail as ``needs_review`` dead letters; resolve dead letters of changes no longer held.

    ``dry_run``: nothing is written anywhere (shop, ledger, dead letters); the result says what would be.
    """
    from prestaoracle import connections
    from prestaoracle.flows.shop_writes import UnansweredRun, reason_for
    from prestaoracle.prestashop import PrestaShopWriter
    from prestaoracle.prestashop.errors import AuthError, PrestaShopError
    from prestaoracle.reasons import NEEDS_REVIEW, RETRYABLE
    from prestaoracle.reconcile.prices import PRODUCT
    from prestaoracle.staging import dead_letters, ledger
    from prestaoracle.staging.metrics import timed_step

    changes = list(reconciled.get("changes") or [])
    price_list = reconciled.get("price_list")
    limit = reconciled.get("max_change_pct")
    outcomes: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"pushed": 0, "unchanged": 0, "held": 0, "failed": 0, "failed_by_reason": {},
                               "resolved": 0, "dry_run": bool(dry_run)}
    if dry_run:
        for change in changes:
            action = "would_push" if change["action"] == "push" else "held"
            outcomes.append({**change, "outcome": action})
            summary["held" if action == "held" else "pushed"] += 1
        return {**summary, "outcomes": outcomes}

    run_hint = "python -m prestaoracle run prices"
    failed_products: set[int] = set()
    unanswered = UnansweredRun(load_config().stop_after_unanswered)
    with _staging() as staging, timed_step(staging.engine, run_id, FLOW, "push") as m, \
            connections.prestashop_client() as shop:
        engine = staging.engine
        writer = PrestaShopWriter(shop)
        held_keys: set[str] = set()

        def dead_letter(conn: Any, key: str, reason: str, message: str, fix: str, payload: dict) -> None:
            dead_letters.quarantine(conn, source=SOURCE, entity=ENTITY, record_key=key, stage=STAGE,
                                    reason_class=reason, message=message, how_to_fix=fix, payload=payload,
                                    run_id=run_id)

        for change in changes:
            resource, object_id, sku = change["resource"], int(change["id"]), change["sku"]
            key = _record_key(resource, object_id)
            payload = {"sku": sku, "resource": resource, "id": object_id, "old": change["old_price"],
                       "new": change["new_price"], "pct": change["pct"], "price_list": price_list}
            m.read += 1
            if change["action"] == "held":
                held_keys.add(key)
                pct = "from 0" if change["pct"] is None else f"{change['pct']:.2f}%"
                message = (f"price of {sku} ({key}) would change from {change['old_price']} to "
                           f"{change['new_price']} ({pct}), more than the guard rail's {limit}%: held for review")
                with engine.begin() as conn:
                    dead_letter(conn, key, NEEDS_REVIEW, message, _how_to_fix(sku, run_hint), payload)
                    ledger.record_outcome(conn, LEDGER_TARGET, key, "held", run_id=run_id, target_id=object_id,
                                          error=message, source=SOURCE, entity=ENTITY)
                summary["held"] += 1
                m.quarantined += 1
                outcomes.append({**change, "outcome": "held"})
                continue
            if resource != PRODUCT and int(change["id_product"]) in failed_products:
                message = (f"impact of {sku} ({key}) not written: the price of its product {change['id_product']} "
                           "could not be written, and the impact depends on it")
                with engine.begin() as conn:
                    dead_letter(conn, key, RETRYABLE, message, "Fix the product's dead letter; the next run writes "
                                "both.", payload)
                    ledger.record_failure(conn, LEDGER_TARGET, key, message, run_id=run_id, source=SOURCE,
                                          entity=ENTITY)
                summary["failed"] += 1
                summary["failed_by_reason"][RETRYABLE] = summary["failed_by_reason"].get(RETRYABLE, 0) + 1
                m.quarantined += 1
                outcomes.append({**change, "outcome": "failed"})
                continue
            value = Decimal(f"{change['new']:.6f}")
            try:
                if resource == PRODUCT:
                    wrote = writer.set_product_price(object_id, value)
                else:
                    wrote = writer.set_combination_price_impact(object_id, value)
                m.requests += 1
            except AuthError:
                raise  # the key is refused: nothing else can be written, the task fails (never a dead letter)
            except PrestaShopError as exc:
                # one record the shop refuses or does not answer is that record's dead letter; the rest goes on
                m.requests += 1
                reason = reason_for(exc)
                message = f"the shop did not take {resource} {object_id} = {value} for {sku}: {exc}"
                with engine.begin() as conn:
                    dead_letter(conn, key, reason, message, _FIX[reason], payload)
                    ledger.record_failure(conn, LEDGER_TARGET, key, message, run_id=run_id, source=SOURCE,
                                          entity=ENTITY)
                if resource == PRODUCT:
                    failed_products.add(object_id)
                summary["failed"] += 1
                summary["failed_by_reason"][reason] = summary["failed_by_reason"].get(reason, 0) + 1
                m.quarantined += 1
                outcomes.append({**change, "outcome": "failed"})
                if unanswered.failed(exc):
                    log.error("prices: %d writes in a row without an answer from the shop: stopping the push",
                              unanswered.count)
                    m.details.update({k: v for k, v in summary.items() if k != "dry_run"})
                    raise
                continue
            unanswered.answered()
            with engine.begin() as conn:
                ledger.record_success(conn, LEDGER_TARGET, key, target_id=object_id, target_ref=str(value),
                                      outcome="updated" if wrote else "skipped", run_id=run_id, source=SOURCE,
                                      entity=ENTITY)
                note = f"pushed by run {run_id}" + (" (approved)" if change["approved"] else "")
                summary["resolved"] += dead_letters.resolve_record(conn, source=SOURCE, entity=ENTITY,
                                                                   record_key=key, note=note)
            summary["pushed" if wrote else "unchanged"] += 1
            m.written += int(wrote)
            m.skipped += int(not wrote)
            outcomes.append({**change, "outcome": "pushed" if wrote else "unchanged"})

        # A change held before and neither held nor pushed now: Oracle's price is back (or the shop caught up).
        with engine.begin() as conn:
            pushed_keys = {_record_key(o["resource"], o["id"]) for o in outcomes}
            for letter in dead_letters.list_open(conn, source=SOURCE, entity=ENTITY, reason_class=NEEDS_REVIEW,
                                                 stage=STAGE):
                if letter.record_key in held_keys or letter.record_key in pushed_keys:
                    continue
                summary["resolved"] += dead_letters.resolve(conn, [letter.id], note=(
                    f"run {run_id}: the shop's price agrees with Oracle's again (within the tolerance)"))
                ledger.record_outcome(conn, LEDGER_TARGET, letter.record_key, "skipped", run_id=run_id,
                                      source=SOURCE, entity=ENTITY)
        m.details.update({k: v for k, v in summary.items() if k != "dry_run"})
    log.info("prices pushed: %s", summary)
    return {**summary, "outcomes": outcomes}


# ------------------------------------------------------------------------------------------------ report


def report_step(*, run_id: str, reconciled: Mapping[str, Any] | None, pushed: Mapping[str, Any] | None,
                dry_run: bool = False) -> dict[str, Any]:
    """The run's report: one CSV (a ``section`` column: pushed, unchanged, held, failed, would_push,
    no_oracle_price, no_shop_product), the HTML beside it with the run metrics, and the JSON summary. Runs also
    after a failed step (whatever is known is reported)."""
    import jinja2
    import pandas as pd

    from prestaoracle import settings
    from prestaoracle.staging.metrics import step_metrics

    reconciled = reconciled or {}
    pushed = pushed or {}
    outcomes = pd.DataFrame(pushed.get("outcomes") or [])
    if outcomes.empty and reconciled.get("changes"):  # the push failed: show what it was to do
        outcomes = pd.DataFrame(reconciled["changes"]).assign(outcome="not_run")
    columns = ["section", "sku", "resource", "id", "id_product", "old", "new", "old_price", "new_price", "pct",
               "approved", "price_list", "shop_sku", "oracle_price", "reason"]
    parts = []
    if not outcomes.empty:
        parts.append(outcomes.rename(columns={"outcome": "section"}))
    gaps_csv = reconciled.get("gaps_csv")
    if gaps_csv and Path(gaps_csv).exists():
        gaps = pd.read_csv(gaps_csv)
        if not gaps.empty:
            parts.append(gaps)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    frame = frame.reindex(columns=columns)
    frame[["id", "id_product"]] = frame[["id", "id_product"]].astype("Int64")  # NaN of the other sections made floats
    base = settings.reports_dir() / f"{FLOW}-{settings.file_part(run_id)}"
    csv_path, html_path, json_path = (base.with_suffix(s) for s in (".csv", ".html", ".json"))
    frame.to_csv(csv_path, index=False)

    with _staging() as staging, staging.engine.connect() as conn:
        metrics = step_metrics(conn, run_id, FLOW)
    sections = {name: _records(frame[frame["section"] == name].head(REPORT_ROWS)) for name in
                ("pushed", "would_push", "unchanged", "held", "failed", "not_run", "no_oracle_price",
                 "no_shop_product")}
    counts = {name: int((frame["section"] == name).sum()) for name in sections}
    summary = {"flow": FLOW, "run_id": run_id, "dry_run": bool(dry_run),
               "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
               "price_list": reconciled.get("price_list"), "currency": reconciled.get("currency"),
               "max_change_pct": reconciled.get("max_change_pct"), "approve": reconciled.get("approve") or [],
               "compared": reconciled.get("compared"), "counts": counts, "resolved": pushed.get("resolved", 0),
               "report_csv": str(csv_path), "report_html": str(html_path)}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)))
    html = env.get_template("report.html.j2").render(summary=summary, sections=sections, counts=counts,
                                                     shown=REPORT_ROWS, metrics=metrics)
    html_path.write_text(html, encoding="utf-8")
    json_path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str), encoding="utf-8")
    summary["summary_json"] = str(json_path)
    log.info("prices report: %s", html_path.as_uri())
    return summary


# ------------------------------------------------------------------------------------------------ one process


def run_prices(*, run_id: str, start: datetime | None = None, end: datetime | None = None, dry_run: bool = False,
               approve: Sequence[str] = (), stage: bool = True, max_change_pct: float | None = None) -> dict:
    """Every step of the prices flow in this process, in the DAG's order (the CLI and the tests).

    ``stage=False`` compares what staging already holds; ``end`` is the instant the price lines must be valid at
    (default: now); ``approve`` lets these SKUs' changes past the guard rail.
    """
    staged: dict[str, Any] = {}
    if stage:
        from prestaoracle.flows.staging import stage_plan

        for plan in (PRICES_SHOP, PRICES_ORACLE):
            validated = stage_plan(plan, start=start, end=end, run_id=run_id)
            staged[plan.source] = {v["entity"]: v["quarantined"] for v in validated}
    reconciled = reconcile_step(run_id=run_id, now=end, approve=approve, max_change_pct=max_change_pct)
    pushed = push_step(reconciled, run_id=run_id, dry_run=dry_run)
    summary = report_step(run_id=run_id, reconciled=reconciled, pushed=pushed, dry_run=dry_run)
    summary["staged_quarantined"] = staged
    return summary
