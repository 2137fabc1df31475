"""Customer 360, step by step: what the DAG ``customer_360`` runs after staging both systems, and what
``run_customer_360`` runs in one process (the CLI and the tests).

* :func:`match_step` decides, for every shop customer, which Oracle account it is (:mod:`prestaoracle.reconcile.
  customers`) and rewrites ``customer_matches``; customers with neither e-mail nor name become dead letters.
* :func:`build_step` rebuilds ``customer_360`` from the decisions and both systems' orders and receivables.
* :func:`report_step` writes the probable duplicates (CSV + HTML) and the run summary.

Both tables are rewritten so they equal what this run computed, but only the rows that changed are touched (in one
transaction per table), so a second run over the same staging data writes nothing and leaves every row, its
``run_id`` and its timestamp, as it was. Only rows the data-quality gate passed are read.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prestaoracle.plans import CUSTOMERS_ORACLE, CUSTOMERS_SHOP
from prestaoracle.settings import ConfigError

log = logging.getLogger(__name__)

__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG", "FLOW", "Customer360Config", "Customer360ConfigError", "build_step",
           "load_config", "match_step", "report_step", "run_customer_360"]

FLOW = "customer-360"
STAGE = "customer_360"
CONFIG_ENV = "PRESTAORACLE_CUSTOMER360_CONFIG"
DEFAULT_CONFIG = Path(__file__).with_name("customer_360.default.yaml")
_MATCH_COMPARE = ("cust_account_id", "account_number", "decision", "rule", "score", "details")
_360_COMPARE = ("id_customer", "cust_account_id", "account_number", "party_id", "email", "name", "country",
                "is_guest", "match_rule", "match_score", "currency", "shop_orders", "shop_revenue", "oracle_orders",
                "oracle_revenue", "open_ar_balance")


# ------------------------------------------------------------------------------------------------ configuration


class Customer360ConfigError(ConfigError):
    """The customer 360 configuration is wrong; the message names the file, the key and what to write."""


@dataclass(frozen=True)
class Customer360Config:
    settings: Any  # reconcile.customers.MatchSettings (imported lazily: pandas is heavy)
    source: str = field(default=str(DEFAULT_CONFIG))


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> Customer360Config:
    """The configuration at ``path`` (default: ``PRESTAORACLE_CUSTOMER360_CONFIG``, else the packaged defaults);
    keys the file leaves out keep the packaged defaults."""
    import yaml

    from prestaoracle.reconcile.customers import Comparison, MatchSettings

    env = os.environ if environ is None else environ
    path = Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG)
    try:
        defaults = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
        ours = yaml.safe_load(path.read_text(encoding="utf-8")) or {} if path != DEFAULT_CONFIG else {}
    except (OSError, yaml.YAMLError) as exc:
        raise Customer360ConfigError(f"{path}: cannot read the customer 360 configuration: {exc}") from exc
    if not isinstance(ours, dict):
        raise Customer360ConfigError(f"{path}: expected a mapping of settings (see {DEFAULT_CONFIG.name})")
    unknown = set(ours) - set(defaults)
    if unknown:
        raise Customer360ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; known: {sorted(defaults)}")
    merged = {**defaults, **ours}
    prob = {**defaults["probabilistic"], **(merged.get("probabilistic") or {})}
    try:
        name = prob["name"]
        settings = MatchSettings(
            source_system=str(merged["source_system"] or _mapping_source_system()),
            currency=str(merged["currency"]).upper(),
            catch_all_prefixes=tuple(str(p) for p in merged["catch_all_prefixes"] or ()),
            match_threshold=float(prob["match_threshold"]), review_threshold=float(prob["review_threshold"]),
            duplicate_threshold=float(prob["duplicate_threshold"]), training=str(prob["training"]),
            prior=float(prob["prior"]), blocking=tuple(prob["blocking"]),
            name_thresholds=tuple(float(t) for t in name["thresholds"]),
            name=Comparison(m=tuple(map(float, name["m"])), u=tuple(map(float, name["u"]))),
            postcode=Comparison(m=tuple(map(float, prob["postcode"]["m"])), u=tuple(map(float, prob["postcode"]["u"]))),
            phone=Comparison(m=tuple(map(float, prob["phone"]["m"])), u=tuple(map(float, prob["phone"]["u"]))),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise Customer360ConfigError(f"{path}: {exc} (compare with {DEFAULT_CONFIG})") from exc
    return Customer360Config(settings=settings, source=str(path))


def _mapping_source_system() -> str:
    """The shop's SourceSystem in Oracle: the mapping's ``defaults.source_system``, as the order flow uses it."""
    from prestaoracle import settings
    from prestaoracle.mapping import MappingContext

    return str(MappingContext.from_config(settings.mapping_config()).defaults.get("source_system") or "PSHOP")


# ------------------------------------------------------------------------------------------------ staging I/O


@contextmanager
def _staging() -> Iterator[Any]:
    from prestaoracle import connections

    with connections.staging() as staging:
        yield staging


def _passed(conn: Any, table: Any, columns: tuple[str, ...]) -> Any:
    import pandas as pd
    import sqlalchemy as sa

    query = sa.select(*(table.c[c] for c in columns)).where(table.c.dq_status == "passed")
    return pd.read_sql(query, conn)


def _inputs(conn: Any) -> dict[str, Any]:
    from prestaoracle.staging import schema as s

    return {
        "customers": _passed(conn, s.ps_customers, ("id_customer", "email", "firstname", "lastname", "company",
                                                    "is_guest", "deleted")),
        "addresses": _passed(conn, s.ps_addresses, ("id_address", "id_customer", "postcode", "city", "country_iso",
                                                    "phone", "phone_mobile", "vat_number", "company", "deleted",
                                                    "date_upd")),
        "accounts": _passed(conn, s.ora_accounts, ("cust_account_id", "account_number", "party_id", "name", "email",
                                                   "country", "status", "source_system", "source_ref", "postcode",
                                                   "city", "phone", "vat_number")),
    }


def _prepared(conn: Any) -> tuple[Any, Any, Any]:
    from prestaoracle.reconcile.customers import prepare_accounts, prepare_customers

    frames = _inputs(conn)
    prepared = prepare_customers(frames["customers"], frames["addresses"])
    return prepared.customers, prepared.bad, prepare_accounts(frames["accounts"])


def _records(frame: Any) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _rewrite(conn: Any, table: Any, new: Any, *, key: str, compare: tuple[str, ...], stamp: dict[str, Any]) -> dict:
    """Make ``table`` hold exactly ``new``, touching only the rows that differ (see ``changed_rows``)."""
    import pandas as pd
    import sqlalchemy as sa
    from more_itertools import batched

    from prestaoracle.reconcile.customers import changed_rows

    old = pd.read_sql(sa.select(table.c[key], *(table.c[c] for c in compare)), conn)
    changes = changed_rows(new, old, key=key, compare=compare)
    for chunk in batched(changes.delete, 500):
        conn.execute(table.delete().where(table.c[key].in_(list(chunk))))
    if not changes.insert.empty:
        conn.execute(table.insert(), [{**row, **stamp} for row in _records(changes.insert)])
    return changes.counts


# ------------------------------------------------------------------------------------------------ steps


def match_step(*, run_id: str, config: Customer360Config | None = None) -> dict[str, Any]:
    """Decide every shop customer's account and rewrite ``customer_matches``; dead-letter unmatchable customers."""
    from prestaoracle.reasons import INVALID_DATA
    from prestaoracle.reconcile.customers import decide
    from prestaoracle.staging import dead_letters
    from prestaoracle.staging.metrics import timed_step
    from prestaoracle.staging.schema import customer_matches

    config = config or load_config()
    now = _now()
    with _staging() as staging, timed_step(staging, run_id, FLOW, "match") as counts:
        with staging.engine.connect() as conn:
            customers, bad, accounts = _prepared(conn)
        decisions = decide(customers, accounts, config.settings, bad)
        with staging.engine.begin() as conn:
            # a customer given an e-mail or a name since is matchable now: close its dead letter (this stage's only)
            matchable = {str(k) for k in customers["id_customer"]}
            fixed = [d.id for d in dead_letters.list_open(conn, source="prestashop", entity="customers", stage=STAGE,
                                                          include_replayed=True) if d.record_key in matchable]
            resolved = dead_letters.resolve(conn, fixed, note=f"run {run_id}: the customer can be matched now")
            for row in _records(bad[["id_customer", "email", "name", "is_guest"]]):
                dead_letters.quarantine(
                    conn, source="prestashop", entity="customers", record_key=row["id_customer"], stage=STAGE,
                    reason_class=INVALID_DATA, message="customer has neither an e-mail nor a name: cannot be matched",
                    how_to_fix="give the customer an e-mail or a name in the shop; the next run matches it",
                    payload=row, run_id=run_id)
            written = _rewrite(conn, customer_matches, decisions, key="id_customer", compare=_MATCH_COMPARE,
                               stamp={"decided_at": now, "run_id": run_id})
        by = decisions.groupby(["decision", "rule"]).size()
        result = {"customers": len(decisions), "accounts": len(accounts), "quarantined": len(bad),
                  "resolved": resolved,
                  "by_decision": {str(k): int(v) for k, v in decisions["decision"].value_counts().sort_index().items()},
                  "by_rule": {f"{d}/{r}": int(n) for (d, r), n in by.items()}, "written": written}
        counts.add(read=len(decisions) + len(accounts), written=written["inserted"] + written["updated"]
                   + written["deleted"], quarantined=len(bad))
        counts.details.update(result)
    return result


def build_step(*, run_id: str, config: Customer360Config | None = None) -> dict[str, Any]:
    """Rebuild ``customer_360`` from ``customer_matches`` and both systems' orders and open receivables."""
    import pandas as pd
    import sqlalchemy as sa

    from prestaoracle.reconcile.customers import build_360, shop_rates, unconverted_currencies
    from prestaoracle.staging import schema as s
    from prestaoracle.staging.metrics import timed_step

    config = config or load_config()
    with _staging() as staging, timed_step(staging, run_id, FLOW, "build_360") as counts:
        with staging.engine.connect() as conn:
            customers, bad, accounts = _prepared(conn)
            decisions = pd.read_sql(sa.select(s.customer_matches.c.id_customer, s.customer_matches.c.cust_account_id,
                                              s.customer_matches.c.account_number, s.customer_matches.c.decision,
                                              s.customer_matches.c.rule, s.customer_matches.c.score), conn)
            shop_orders = _passed(conn, s.ps_orders, ("id_order", "id_customer", "valid", "total_paid_tax_incl",
                                                     "conversion_rate", "currency_iso", "date_add"))
            oracle_orders = _passed(conn, s.ora_sales_orders, ("header_id", "buying_party_id", "status_code",
                                                               "total_amount", "currency"))
            invoices = _passed(conn, s.ora_invoices, ("customer_trx_id", "bill_to_account", "balance_amount",
                                                     "currency"))
        rates = shop_rates(shop_orders, config.settings.currency)
        everyone = pd.concat([customers, bad], ignore_index=True).sort_values("id_customer", ignore_index=True)
        rows = build_360(everyone, accounts, decisions, shop_orders=shop_orders, oracle_orders=oracle_orders,
                         invoices=invoices, rates=rates, settings=config.settings)
        unconverted = unconverted_currencies(rates, oracle_orders["currency"], invoices["currency"])
        with staging.engine.begin() as conn:
            written = _rewrite(conn, s.customer_360, rows, key="customer_key", compare=_360_COMPARE,
                               stamp={"updated_at": _now(), "run_id": run_id})
        result = {"rows": len(rows), "shop_rows": int(rows["customer_key"].str.startswith("ps:").sum()),
                  "oracle_only_rows": int(rows["customer_key"].str.startswith("ora:").sum()),
                  "currency": config.settings.currency, "unconverted_currencies": unconverted, "written": written}
        counts.add(read=len(rows), written=written["inserted"] + written["updated"] + written["deleted"])
        counts.details.update(result)
    if unconverted:
        log.warning("customer 360: no shop rate for %s; those Oracle amounts are left out", ", ".join(unconverted))
    return result


def report_step(*, run_id: str, steps: Mapping[str, Any] | None = None,
                config: Customer360Config | None = None) -> dict[str, Any]:
    """Probable duplicates (CSV + HTML) and the run summary (JSON) in ``settings.reports_dir()``."""
    import pandas as pd
    import sqlalchemy as sa

    from prestaoracle import settings as product_settings
    from prestaoracle.reconcile.customers import probable_duplicates
    from prestaoracle.staging import schema as s
    from prestaoracle.staging.metrics import timed_step

    config = config or load_config()
    with _staging() as staging, timed_step(staging, run_id, FLOW, "report") as counts:
        with staging.engine.connect() as conn:
            customers, _bad, accounts = _prepared(conn)
            decisions = pd.read_sql(sa.select(s.customer_matches), conn)
        duplicates = probable_duplicates(customers, decisions, accounts, config.settings)
        reports = product_settings.reports_dir()
        stem = f"{FLOW}-{product_settings.file_part(run_id)}"
        csv_path, html_path, json_path = (reports / f"{stem}{ext}" for ext in (".csv", ".html", ".json"))
        duplicates.to_csv(csv_path, index=False)
        review = decisions[decisions["decision"] == "review"].sort_values("id_customer")
        summary = {"flow": FLOW, "run_id": run_id, "finished_at": _now().isoformat(timespec="seconds"),
                   "config": config.source, "steps": _jsonable(dict(steps or {})),
                   "decisions": {str(k): int(v) for k, v in decisions["decision"].value_counts().sort_index().items()},
                   "duplicates": {str(k): int(v) for k, v in duplicates["kind"].value_counts().sort_index().items()},
                   "report_csv": str(csv_path), "report_html": str(html_path)}
        html_path.write_text(_render(summary, duplicates, review, config), encoding="utf-8")
        json_path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str), encoding="utf-8")
        summary["summary_json"] = str(json_path)
        counts.add(read=len(decisions), written=len(duplicates))
        counts.details.update(duplicates=summary["duplicates"])
    log.info("customer 360 report: %s", html_path.as_uri())
    return summary


def _render(summary: Mapping[str, Any], duplicates: Any, review: Any, config: Customer360Config) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("prestaoracle.flows", "customer_360_templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("report.html.j2").render(
        s=summary, duplicates=json.loads(duplicates.to_json(orient="records")),
        review=json.loads(review.to_json(orient="records")), settings=config.settings, config=config)


def run_customer_360(*, run_id: str, start: datetime | None = None, end: datetime | None = None,
                     stage: bool = True) -> dict[str, Any]:
    """Every step in this process, in the DAG's order (the CLI and the tests); ``stage=False`` matches what
    staging already holds."""
    config = load_config()  # a wrong configuration fails before anything is staged
    staged: dict[str, Any] = {}
    if stage:
        from prestaoracle.flows.staging import stage_plan

        for plan in (CUSTOMERS_SHOP, CUSTOMERS_ORACLE):
            validated = stage_plan(plan, start=start, end=end, run_id=run_id)
            staged[plan.source] = {v["entity"]: v.get("quarantined", 0) for v in validated}
    steps: dict[str, Any] = {"staged_quarantined": staged} if stage else {}
    steps["match"] = match_step(run_id=run_id, config=config)
    steps["build_360"] = build_step(run_id=run_id, config=config)
    return report_step(run_id=run_id, steps=steps, config=config)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
