"""Inventory, step by step: Oracle on-hand (or available to reserve) → PrestaShop ``stock_availables.quantity``.

What the DAG ``inventory_to_prestashop`` runs in its tasks after staging both sides, and what
``python -m prestaoracle run inventory`` runs in one process (:func:`run_inventory`):

* :func:`reconcile_step` reads the passed rows of ``ps_stock`` and ``ora_onhand`` and the ``sku`` pairs of the binder,
  compares them (:mod:`prestaoracle.reconcile.inventory`) and dead-letters Oracle quantities that cannot be used;
* :func:`write_step` writes the changed quantities through :meth:`PrestaShopWriter.set_stock` (read, write once,
  confirm), at most ``max_writes_per_run``, committing the ledger after each batch;
* :func:`report_step` writes the CSV and HTML report and the run summary.

Two modes. ``full`` compares every SKU. ``delta`` compares only the Oracle items updated since the watermark of the
last run that finished its writes (minus an overlap), plus the stock rows whose last write failed; the watermark is
Oracle's ``LastUpdateDate`` (``ora_onhand.last_update``) and moves only when a run left nothing for later. The steps
recompute the same comparison from staging (it is cheap and nothing changes staging between them), so only the
watermark the run started from travels between tasks (``since`` in the reconcile step's result).

Nothing the shop already shows is written again: the writer reads each row before writing, and a retried write task
skips the rows its earlier try recorded in the ledger.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prestaoracle.plans import INVENTORY_ORACLE, INVENTORY_SHOP
from prestaoracle.settings import ConfigError

log = logging.getLogger(__name__)

__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG", "FLOW", "MODES", "TARGET", "InventoryConfig", "InventoryConfigError",
           "load_config", "mode_for", "reconcile_step", "report_step", "run_inventory", "write_step"]

FLOW = "inventory"
TARGET = "prestashop_stock"
"""Ledger target: record_key = id_stock_available, target_ref = the quantity written."""
SOURCE, STAGE = "oracle", "inventory_to_shop"
WATERMARK = ("inventory", "ora_onhand")
MODES = ("delta", "full")
CONFIG_ENV = "PRESTAORACLE_INVENTORY_CONFIG"
DEFAULT_CONFIG = Path(__file__).with_name("inventory.default.yaml")
FROM_WATERMARK = "watermark"
"""``since`` of a step called on its own: read the stored watermark."""


# ------------------------------------------------------------------------------------------------ configuration


class InventoryConfigError(ConfigError):
    """The inventory configuration is wrong; the message names the file, the key and what to write."""


@dataclass(frozen=True)
class InventoryConfig:
    rule: Any  # reconcile.inventory.InventoryRule (imported lazily: pandas is heavy)
    batch_size: int = 50
    max_writes_per_run: int = 500
    use_patch: bool = True
    stop_after_unanswered: int = 5
    overlap: timedelta = timedelta(minutes=10)
    full_run_hour: int | None = 0
    source: str = field(default=str(DEFAULT_CONFIG))


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> InventoryConfig:
    """The configuration at ``path`` (default: ``PRESTAORACLE_INVENTORY_CONFIG``, else the packaged defaults)."""
    import yaml

    from prestaoracle.reconcile.inventory import InventoryRule

    env = os.environ if environ is None else environ
    path = Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG)
    source = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise InventoryConfigError(f"inventory configuration {source} does not exist: fix {CONFIG_ENV}") from None
    except yaml.YAMLError as exc:
        raise InventoryConfigError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise InventoryConfigError(f"{source}: the top level must be a mapping of settings")
    q, w, d = (_section(raw, name, source) for name in ("quantity", "writes", "delta"))
    orgs = q.get("orgs", ["M1"])
    orgs = [orgs] if isinstance(orgs, str) else orgs
    try:
        # the staging extraction reads the on-hand of exactly these organizations (flows.staging)
        rule = InventoryRule(measure=str(q.get("measure", "available")),
                             orgs=tuple(str(o).strip() for o in orgs or ()),
                             safety_buffer=q.get("safety_buffer", 0),
                             default_allows_backorders=bool(q.get("default_allows_backorders", False)))
    except (TypeError, ValueError) as exc:
        raise InventoryConfigError(f"{source}: {exc}") from None
    hour = raw.get("full_run_hour", 0)
    config = InventoryConfig(
        rule=rule,
        batch_size=_whole(w, "writes.batch_size", 50, source, minimum=1),
        max_writes_per_run=_whole(w, "writes.max_writes_per_run", 500, source, minimum=1),
        use_patch=bool(w.get("use_patch", True)),
        stop_after_unanswered=_whole(w, "writes.stop_after_unanswered", 5, source, minimum=1),
        overlap=timedelta(minutes=_whole(d, "delta.overlap_minutes", 10, source, minimum=0)),
        full_run_hour=None if hour is None else _whole(raw, "full_run_hour", 0, source, minimum=0),
        source=source,
    )
    if config.full_run_hour is not None and config.full_run_hour > 23:
        raise InventoryConfigError(f"{source}: full_run_hour is an hour of the day (0-23) or null, not {hour!r}")
    return config


def _section(raw: Mapping[str, Any], name: str, source: str) -> Mapping[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, Mapping):
        raise InventoryConfigError(f"{source}: {name} must be a mapping of settings, got {type(value).__name__}")
    return value


def _whole(section: Mapping[str, Any], key: str, default: int, source: str, *, minimum: int) -> int:
    value = section.get(key.rpartition(".")[2], default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InventoryConfigError(f"{source}: {key} must be a whole number >= {minimum}, not {value!r}")
    return value


def mode_for(requested: str | None, data_interval_end: datetime | None, *,
             config: InventoryConfig | None = None) -> str:
    """The run's mode: ``delta`` or ``full`` as asked; ``auto`` (or nothing) is ``full`` for the run whose data
    interval ends at ``full_run_hour`` o'clock UTC, else ``delta``."""
    requested = requested or "auto"
    if requested in MODES:
        return requested
    if requested != "auto":
        raise ValueError(f"mode must be auto, delta or full, not {requested!r}")
    hour = (config or load_config()).full_run_hour
    if hour is None or data_interval_end is None:
        return "delta"
    end = data_interval_end.astimezone(UTC) if data_interval_end.tzinfo else data_interval_end
    return "full" if (end.hour, end.minute) == (hour, 0) else "delta"


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


# ------------------------------------------------------------------------------------------------ staging


_SHARED: ContextVar[Any] = ContextVar("inventory_staging", default=None)
"""The staging database :func:`run_inventory` opened once for all its steps (a DAG task opens its own)."""


@contextmanager
def _staging() -> Iterator[Any]:
    from prestaoracle import connections

    shared = _SHARED.get()
    if shared is not None:
        yield shared
        return
    with connections.staging() as staging:
        yield staging


@dataclass
class _Plan:
    result: Any  # reconcile.inventory.Reconciliation
    since: str | None
    high_water: datetime | None
    retry_ids: list[int]


def _frames(conn: Any) -> dict[str, Any]:
    import pandas as pd
    import sqlalchemy as sa

    from prestaoracle.staging.schema import ora_onhand, ps_combinations, ps_stock, xref

    s, o, x = ps_stock, ora_onhand, xref
    return {
        "stock": pd.read_sql(sa.select(s.c.id_stock_available, s.c.id_product, s.c.id_product_attribute, s.c.sku,
                                       s.c.quantity, s.c.depends_on_stock, s.c.out_of_stock)
                             .where(s.c.dq_status == "passed"), conn),
        "onhand": pd.read_sql(sa.select(o.c.org, o.c.sku, o.c.quantity, o.c.available, o.c.last_update)
                              .where(o.c.dq_status == "passed"), conn),
        "xref": pd.read_sql(sa.select(x.c.external_id, x.c.target_id).where(
            x.c.system == "prestashop", x.c.entity == "sku", x.c.target == "oracle"), conn),
        # structure, not quantities: a product has combinations whatever the gate said of their other fields
        "combination_products": [int(p) for p in conn.execute(
            sa.select(ps_combinations.c.id_product).distinct()).scalars()],
    }


def _plan(conn: Any, config: InventoryConfig, mode: str, since: str | None, run_id: str) -> _Plan:
    import pandas as pd
    import sqlalchemy as sa

    from prestaoracle.reconcile.inventory import reconcile, restrict
    from prestaoracle.staging import watermarks
    from prestaoracle.staging.schema import sync_ledger

    frames = _frames(conn)
    onhand = frames["onhand"]
    result = reconcile(frames["stock"], onhand, frames["xref"], config.rule,
                       products_with_combinations=frames["combination_products"])
    if since == FROM_WATERMARK:
        since = watermarks.get(conn, *WATERMARK) if mode == "delta" else None
    mine = onhand[onhand["org"].isin(config.rule.orgs)]
    stamps = pd.to_datetime(mine["last_update"], errors="coerce")
    high_water = None if stamps.dropna().empty else stamps.max().to_pydatetime()
    t = sync_ledger
    retry_ids = sorted(int(k) for k in conn.execute(sa.select(t.c.record_key).where(
        t.c.target == TARGET, sa.or_(t.c.outcome == "failed", t.c.run_id == run_id))).scalars())
    if mode == "delta" and since is not None:
        # items Oracle changed since the watermark (a row without a date cannot be ruled out)
        cutoff = pd.Timestamp(since).tz_localize(None) - config.overlap
        changed = mine.loc[stamps.isna() | (stamps > cutoff), "sku"]
        result = restrict(result, items=set(changed.astype(str).str.strip()), stock_ids=retry_ids)
    return _Plan(result=result, since=since, high_water=high_water, retry_ids=retry_ids)


# ------------------------------------------------------------------------------------------------ steps


def reconcile_step(*, run_id: str, mode: str = "delta") -> dict[str, Any]:
    """Compare the staged stock with Oracle; dead-letter Oracle quantities that cannot be used (``invalid_data``).

    Returns the counts and ``since``, the watermark this run compares from: pass it to the later steps."""
    import sqlalchemy as sa

    from prestaoracle.staging import dead_letters
    from prestaoracle.staging.metrics import timed_step
    from prestaoracle.staging.schema import dead_letters as dead_letter_rows

    _check_mode(mode)
    config = load_config()
    with _staging() as staging, timed_step(staging.engine, run_id, FLOW, "reconcile") as metrics:
        with staging.engine.connect() as conn:
            plan = _plan(conn, config, mode, FROM_WATERMARK, run_id)
        result = plan.result
        invalid = result.invalid
        usable = set(result.rows.loc[result.rows["new_qty"].notna(), "item"]) | set(result.oracle_only["item"])
        with staging.engine.begin() as conn:
            t = dead_letter_rows
            fixed = [k for k in conn.execute(sa.select(t.c.record_key).where(
                t.c.source == SOURCE, t.c.entity == "onhand", t.c.stage == STAGE,
                t.c.status.in_(("open", "replayed")))).scalars() if k in usable]
            for sku in fixed:  # Oracle's quantity is usable again
                dead_letters.resolve_record(conn, source=SOURCE, entity="onhand", record_key=sku,
                                            note=f"usable again in run {run_id}")
            for sku, rows in invalid.groupby("sku", sort=True):
                payload = json.loads(rows.to_json(orient="records", date_format="iso"))
                dead_letters.quarantine(
                    conn, source=SOURCE, entity="onhand", record_key=str(sku)[:200], stage=STAGE,
                    reason_class="invalid_data", payload=payload, run_id=run_id,
                    message=f"Oracle item {sku}: {'; '.join(sorted(set(rows['problem'])))} in organization(s) "
                            f"{', '.join(sorted(set(rows['org'])))}: its shop stock is left as it is",
                    how_to_fix="Correct the item's on-hand balance in Oracle Inventory (or the measure in "
                               f"{config.source}, quantity.measure), then run the inventory flow again.")
        metrics.read = len(result.rows) + len(result.oracle_only)
        metrics.skipped = result.counts["skipped"]
        metrics.quarantined = result.counts["invalid"]
        metrics.details.update(mode=mode, since=plan.since, counts=result.counts)
    log.info("inventory %s reconciliation since %s: %s", mode, plan.since or "the beginning", result.counts)
    return {"mode": mode, "since": plan.since, "counts": result.counts}


_FIX = {
    "business_rule": "The shop manages this row's stock itself (advanced stock management): turn it off for the "
                     "product in PrestaShop, or leave the row to the warehouse module.",
    "invalid_data": "Check the stock row in PrestaShop (Catalog › Stocks) and the Oracle quantity, then run the "
                    "inventory flow again.",
    "mapping_missing": "The stock row no longer exists in the shop: extract stock_availables again (python -m "
                       "prestaoracle extract --source prestashop --entity stock_availables) and run again.",
    "retryable": "Nothing to fix: the shop did not answer. The next run retries this row.",
}


def write_step(*, run_id: str, mode: str = "delta", dry_run: bool = False,
               since: str | None = FROM_WATERMARK) -> dict[str, Any]:
    """Write the changed quantities (at most ``max_writes_per_run``), the ledger committed per batch; move the
    watermark when nothing was left for later. ``dry_run`` writes nothing anywhere."""
    import pandas as pd
    from more_itertools import batched

    from prestaoracle import connections
    from prestaoracle.flows.shop_writes import UnansweredRun, reason_for
    from prestaoracle.prestashop import PrestaShopWriter
    from prestaoracle.prestashop.errors import AuthError, PrestaShopError
    from prestaoracle.staging import dead_letters, ledger, watermarks
    from prestaoracle.staging.metrics import timed_step
    from prestaoracle.staging.schema import LEDGER_DONE, sync_ledger

    _check_mode(mode)
    config = load_config()
    out: dict[str, Any] = {"mode": mode, "dry_run": dry_run, "planned": 0, "written": 0, "already": 0,
                           "landed_before": 0, "failed": 0, "deferred": 0, "failed_by_reason": {},
                           "watermark": None}
    with _staging() as staging, timed_step(staging.engine, run_id, FLOW, "write") as metrics:
        engine = staging.engine
        with engine.connect() as conn:
            plan = _plan(conn, config, mode, since, run_id)
            changes = plan.result.changes
            t = sync_ledger
            landed = pd.read_sql(t.select().with_only_columns(t.c.record_key, t.c.target_ref).where(
                t.c.target == TARGET, t.c.run_id == run_id, t.c.outcome.in_(LEDGER_DONE)), conn)
        out["planned"] = len(changes)
        # rows an earlier try of this run already wrote (the task was retried): staging still shows the old value
        wanted = pd.MultiIndex.from_arrays([changes["id_stock_available"].astype("int64").astype(str),
                                            changes["new_qty"].astype("int64").astype(str)])
        done_before = pd.MultiIndex.from_arrays([landed["record_key"].astype(str), landed["target_ref"].astype(str)])
        fresh = changes[~wanted.isin(done_before)]
        out["landed_before"] = len(changes) - len(fresh)
        todo, deferred = fresh.iloc[:config.max_writes_per_run], fresh.iloc[config.max_writes_per_run:]
        out["deferred"] = len(deferred)
        if dry_run:
            out["would_write"] = len(todo)
            metrics.read, metrics.skipped = len(changes), len(changes)
            metrics.details.update(out)
            return out
        with engine.begin() as conn:
            out["caught_up"] = _close_caught_up(conn, plan.result, run_id)
        unanswered = UnansweredRun(config.stop_after_unanswered)
        with connections.prestashop_client() as shop:
            writer = PrestaShopWriter(shop)
            for batch in batched(todo.itertuples(index=False), config.batch_size):
                done: list[tuple[int, int, bool]] = []
                failed: list[tuple[Any, BaseException]] = []
                stop: BaseException | None = None
                for row in batch:
                    try:
                        wrote = writer.set_stock(int(row.id_stock_available), int(row.new_qty),
                                                 use_patch=config.use_patch)
                    except AuthError as exc:  # nothing else can succeed: no dead letter, the task fails
                        stop = exc
                        break
                    except PrestaShopError as exc:
                        failed.append((row, exc))
                        if unanswered.failed(exc):
                            stop = exc
                            break
                        continue
                    unanswered.answered()
                    done.append((int(row.id_stock_available), int(row.new_qty), wrote))
                with engine.begin() as conn:
                    for stock_id, qty, wrote in done:
                        ledger.record_success(conn, TARGET, stock_id, target_id=stock_id, target_ref=str(qty),
                                              outcome="updated" if wrote else "skipped", run_id=run_id,
                                              source=SOURCE, entity="stock")
                        dead_letters.resolve_record(conn, source=SOURCE, entity="stock", record_key=stock_id,
                                                    note=f"written in run {run_id}")
                    for row, exc in failed:
                        reason = reason_for(exc)
                        ledger.record_failure(conn, TARGET, int(row.id_stock_available), exc, run_id=run_id,
                                              source=SOURCE, entity="stock")
                        dead_letters.quarantine(
                            conn, source=SOURCE, entity="stock", record_key=int(row.id_stock_available),
                            stage=STAGE, reason_class=reason, run_id=run_id, how_to_fix=_FIX[reason],
                            message=f"the shop did not take quantity {int(row.new_qty)} for stock row "
                                    f"{int(row.id_stock_available)} (SKU {row.sku}): {exc}",
                            payload=_payload(row))
                        out["failed_by_reason"][reason] = out["failed_by_reason"].get(reason, 0) + 1
                out["written"] += sum(1 for *_, wrote in done if wrote)
                out["already"] += sum(1 for *_, wrote in done if not wrote)
                out["failed"] += len(failed)
                if stop is not None:
                    metrics.details.update(out)
                    raise stop
        metrics.read, metrics.written, metrics.quarantined = len(changes), out["written"], out["failed"]
        if not deferred.empty:
            log.info("inventory: %d changed stock rows left for the next run (max_writes_per_run %d)",
                     len(deferred), config.max_writes_per_run)
        elif plan.high_water is not None:
            with engine.begin() as conn:
                watermarks.advance(conn, *WATERMARK, plan.high_water, run_id)
            out["watermark"] = plan.high_water.isoformat(sep=" ")
        metrics.details.update(out)
    log.info("inventory writes: %s", out)
    return out


def _close_caught_up(conn: Any, result: Any, run_id: str) -> int:
    """Close the failures of stock rows that need no write any more (the shop or Oracle caught up): otherwise their
    dead letter stays open, the ledger stays failed and every delta run takes them into its retry set again."""
    import sqlalchemy as sa

    from prestaoracle.staging import dead_letters, ledger
    from prestaoracle.staging.schema import sync_ledger

    unchanged = result.section("unchanged")
    if unchanged.empty:
        return 0
    quantities = dict(zip(unchanged["id_stock_available"].astype("int64").astype(str),
                          unchanged["new_qty"].astype("int64").astype(str), strict=True))
    # both lists are short (failures only), unlike the stock rows: filter here, not in an IN (...) of every row
    letters = {d.record_key for d in dead_letters.list_open(conn, source=SOURCE, entity="stock", stage=STAGE,
                                                            include_replayed=True)}
    t = sync_ledger
    failed = set(conn.execute(sa.select(t.c.record_key).where(t.c.target == TARGET, t.c.outcome == "failed"))
                 .scalars())
    keys = sorted((letters | failed) & quantities.keys(), key=int)
    for key in keys:
        dead_letters.resolve_record(conn, source=SOURCE, entity="stock", record_key=key,
                                    note=f"run {run_id}: the shop already shows Oracle's quantity")
        ledger.record_success(conn, TARGET, key, target_id=int(key), target_ref=quantities[key], outcome="skipped",
                              run_id=run_id, source=SOURCE, entity="stock")
    return len(keys)


def _whole_or_none(value: Any) -> int | None:
    """A quantity for a dead letter's payload: the shop's may be null (ps_stock.quantity is nullable)."""
    import pandas as pd

    return None if pd.isna(value) else int(value)


def _payload(row: Any) -> dict[str, Any]:
    return {"id_stock_available": int(row.id_stock_available), "id_product": int(row.id_product),
            "id_product_attribute": int(row.id_product_attribute), "sku": row.sku, "item": row.item,
            "shop_qty": _whole_or_none(row.shop_qty), "new_qty": _whole_or_none(row.new_qty), "orgs": row.orgs}


REPORT_COLUMNS = ("section", "reason", "outcome", "sku", "item", "link", "id_stock_available", "id_product",
                  "id_product_attribute", "shop_qty", "new_qty", "oracle_qty", "orgs", "out_of_stock")


def report_step(*, run_id: str, mode: str = "delta", dry_run: bool = False, since: str | None = FROM_WATERMARK,
                steps: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run's report (CSV + HTML: what changed, what was skipped and why, SKUs on one side only) and summary."""
    import numpy as np
    import pandas as pd
    import sqlalchemy as sa

    from prestaoracle import settings
    from prestaoracle.staging.schema import sync_ledger

    _check_mode(mode)
    config = load_config()
    with _staging() as staging, staging.engine.connect() as conn:
        plan = _plan(conn, config, mode, since, run_id)
        t = sync_ledger
        outcomes = pd.read_sql(sa.select(t.c.record_key, t.c.outcome, t.c.target_ref, t.c.last_error).where(
            t.c.target == TARGET, t.c.run_id == run_id), conn)
    result = plan.result
    rows = result.rows.copy()
    outcomes["id_stock_available"] = outcomes["record_key"].astype("int64")
    rows = rows.merge(outcomes[["id_stock_available", "outcome", "last_error"]], how="left", on="id_stock_available")
    writes = rows["section"] == "write"
    rows["outcome"] = np.where(writes & rows["outcome"].isna(), "dry_run" if dry_run else "deferred",
                               np.where(writes, rows["outcome"], None))
    rows["reason"] = rows["reason"].where(rows["reason"].notna(), rows["last_error"].where(writes))
    oracle_only = result.oracle_only.assign(section="oracle_only")
    report = pd.concat([rows[rows["section"] != "unchanged"], oracle_only], ignore_index=True)
    report = report.reindex(columns=list(REPORT_COLUMNS))
    order = {"write": 0, "skipped": 1, "oracle_only": 2, "shop_only": 3}
    report = report.sort_values(["section", "id_stock_available", "item"], key=lambda c: c.map(order)
                                if c.name == "section" else c).reset_index(drop=True)
    for column in ("id_stock_available", "id_product", "id_product_attribute", "shop_qty", "new_qty",
                   "out_of_stock"):
        report[column] = pd.to_numeric(report[column], errors="coerce").astype("Int64")
    reports = settings.reports_dir()
    stem = f"{FLOW}-{settings.file_part(run_id)}"
    csv_path, html_path, json_path = (reports / f"{stem}{ext}" for ext in (".csv", ".html", ".json"))
    report.to_csv(csv_path, index=False)
    counts = dict(result.counts)
    counts.update({f"outcome_{k}": int(v) for k, v in rows.loc[writes, "outcome"].value_counts().items()})
    summary = {"flow": FLOW, "run_id": run_id, "mode": mode, "dry_run": dry_run, "since": plan.since,
               "finished_at": datetime.now(UTC).isoformat(timespec="seconds"), "counts": counts,
               "steps": _jsonable(dict(steps or {})), "report_csv": str(csv_path), "report_html": str(html_path)}
    html_path.write_text(_render(summary, report, config), encoding="utf-8")
    json_path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str), encoding="utf-8")
    summary["summary_json"] = str(json_path)
    log.info("inventory report: %s", html_path.as_uri())
    return summary


def _render(summary: Mapping[str, Any], report: Any, config: InventoryConfig) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("prestaoracle.flows", "inventory_templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    records = json.loads(report.to_json(orient="records"))
    sections = {name: [r for r in records if r["section"] == name]
                for name in ("write", "skipped", "oracle_only", "shop_only")}
    from prestaoracle.reconcile.inventory import SKIP_REASONS

    return env.get_template("report.html.j2").render(s=summary, sections=sections, reasons=SKIP_REASONS,
                                                      rule=config.rule, config=config)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def run_inventory(*, run_id: str, start: datetime | None = None, end: datetime | None = None, mode: str = "delta",
                  dry_run: bool = False, stage: bool = True) -> dict[str, Any]:
    """Every step of the inventory flow in this process, in the DAG's order (the CLI and the tests); ``stage=False``
    compares what staging already holds. ``mode`` ``auto`` is decided like the DAG's (:func:`mode_for`) from
    ``end`` (default: now)."""
    if mode == "auto":
        mode = mode_for(mode, end or datetime.now(UTC))
    _check_mode(mode)
    staged: dict[str, Any] = {}
    if stage:
        from prestaoracle.flows.staging import stage_plan

        for plan in (INVENTORY_SHOP, INVENTORY_ORACLE):
            validated = stage_plan(plan, start=start, end=end, run_id=run_id)
            staged[plan.source] = {v["entity"]: {"passed": v["passed"], "quarantined": v["quarantined"]}
                                   for v in validated}
    with _staging() as staging:
        token = _SHARED.set(staging)
        try:
            reconciled = reconcile_step(run_id=run_id, mode=mode)
            written = write_step(run_id=run_id, mode=mode, dry_run=dry_run, since=reconciled["since"])
            return report_step(run_id=run_id, mode=mode, dry_run=dry_run, since=reconciled["since"],
                               steps={"staged": staged, "reconcile": reconciled, "write": written})
        finally:
            _SHARED.reset(token)
