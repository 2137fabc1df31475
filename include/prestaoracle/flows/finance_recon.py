"""Financial reconciliation, step by step: the shop's payments and refunds against Oracle receipts and credit memos,
one business day at a time.

What the DAG ``financial_reconciliation`` runs after staging both sides, and what ``run_finance_recon`` runs in one
process. Every step takes the data interval (``start``, ``end``) explicitly and reads only staging, so re-running
any past day recomputes the same answer:

* :func:`reconcile_step` reads the staged rows around the interval, dead-letters the records that cannot be
  compared, classifies every item (:mod:`prestaoracle.reconcile.finance`) and replaces the interval's rows of
  ``finance_recon_items`` in one transaction;
* :func:`report_step` writes ``finance-recon-<day>.html`` and ``.csv`` per business day from those rows alone, so a
  second run writes byte-identical files;
* :func:`alert_step` mails the business recipients when the unexplained breaks pass the threshold.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from prestaoracle.plans import FINANCE_ORACLE, FINANCE_SHOP
from prestaoracle.settings import ConfigError

log = logging.getLogger(__name__)

__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG", "FLOW", "FinanceConfig", "FinanceConfigError", "alert_step",
           "load_config", "reconcile_step", "report_path", "report_step", "run_finance_recon"]

FLOW = "finance-recon"
STAGE = "finance_recon"
CONFIG_ENV = "PRESTAORACLE_FINANCE_CONFIG"
DEFAULT_CONFIG = Path(__file__).with_name("finance_recon.default.yaml")
TEMPLATES = Path(__file__).with_name("finance_templates")
DOCS = "docs/finance-recon.md"


# ------------------------------------------------------------------------------------------------ configuration


class FinanceConfigError(ConfigError):
    """The finance configuration is wrong; the message names the file, the key and what to write."""


@dataclass(frozen=True)
class FinanceConfig:
    ledger_timezone: str = ""
    amount_tolerance: float = 0.01
    timing_days: int = 3
    credit_memo_type: str = "Credit Memo"
    max_breaks: int | None = 0
    max_break_amount: float | None = None
    recipients: tuple[str, ...] = ()
    smtp_conn_id: str = ""
    source: str = field(default=str(DEFAULT_CONFIG))


def _number(raw: Mapping[str, Any], key: str, source: str, kind: type, default: Any) -> Any:
    value = raw.get(key, default)
    if value is None:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise FinanceConfigError(f"{source}: {key} must be a {kind.__name__} or null, got {value!r}") from None
    if number < 0:
        raise FinanceConfigError(f"{source}: {key} must be >= 0, got {value!r}")
    return number


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> FinanceConfig:
    """The configuration at ``path`` (default: ``PRESTAORACLE_FINANCE_CONFIG``, else the packaged defaults)."""
    import yaml

    env = os.environ if environ is None else environ
    path = Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG)
    source = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise FinanceConfigError(f"{source}: cannot read the finance configuration ({exc}); fix {CONFIG_ENV}") from exc
    if not isinstance(raw, dict):
        raise FinanceConfigError(f"{source}: expected a mapping of settings (see {DEFAULT_CONFIG.name})")
    alert = raw.get("alert") or {}
    if not isinstance(alert, dict):
        raise FinanceConfigError(f"{source}: alert must be a mapping (max_breaks, max_break_amount, recipients)")
    zone = str(raw.get("ledger_timezone") or "")
    if zone:
        _zone(zone, source)
    recipients = alert.get("recipients") or ()
    if isinstance(recipients, str):
        recipients = [r.strip() for r in recipients.replace(";", ",").split(",") if r.strip()]
    timing = _number(raw, "timing_days", source, int, 3)
    return FinanceConfig(
        ledger_timezone=zone,
        amount_tolerance=_number(raw, "amount_tolerance", source, float, 0.01) or 0.0,
        timing_days=3 if timing is None else timing,
        credit_memo_type=str(raw.get("credit_memo_type") or "Credit Memo"),
        max_breaks=_number(alert, "max_breaks", source, int, 0),
        max_break_amount=_number(alert, "max_break_amount", source, float, None),
        recipients=tuple(str(r) for r in recipients),
        smtp_conn_id=str(alert.get("smtp_conn_id") or ""),
        source=source,
    )


def _zone(name: str, source: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FinanceConfigError(f"{source}: ledger_timezone {name!r} is not a time zone name; use an IANA name "
                                 "such as Europe/Paris, or leave it empty for the shop's") from None


_SHOP_ZONES: dict[str, str] = {}
"""PS_TIMEZONE read from a shop, per shop URL: asked once per process (a backfill's runs need not reach the shop)."""


def _ledger_zone(config: FinanceConfig) -> str:
    """The configured ledger time zone, else the shop's (its connection's extra, else PS_TIMEZONE read from the shop
    once per process)."""
    if config.ledger_timezone:
        return config.ledger_timezone
    from prestaoracle import connections
    from prestaoracle.prestashop.reader import PrestaShopReader

    with connections.prestashop_client() as client:
        if client.shop_timezone is not None:
            return str(getattr(client.shop_timezone, "key", None) or client.shop_timezone)
        url = client.base_url
        if url not in _SHOP_ZONES:
            zone = PrestaShopReader(client).shop_timezone()
            _SHOP_ZONES[url] = str(getattr(zone, "key", None) or zone)
        return _SHOP_ZONES[url]


# ------------------------------------------------------------------------------------------------ plumbing


@contextmanager
def _staging(*, upgrade: bool = True) -> Iterator[Any]:
    from prestaoracle import connections

    with connections.staging(upgrade=upgrade) as staging:
        yield staging


def _utc_naive(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _days(start: datetime | str, end: datetime | str) -> list[date]:
    from prestaoracle.reconcile.finance import business_days

    return business_days(_utc_naive(start), _utc_naive(end))


def report_path(day: date, suffix: str) -> Path:
    """Where the report of business ``day`` goes (``suffix``: ``html`` or ``csv``)."""
    from prestaoracle import settings

    return settings.reports_dir() / f"{FLOW}-{day.isoformat()}.{suffix}"


# ------------------------------------------------------------------------------------------------ reconcile


def _chunks(values: Any, size: int = 500) -> Iterator[list[Any]]:
    values = sorted({v for v in values if v is not None and v == v})
    for at in range(0, len(values), size):
        yield values[at:at + size]


def _frames(conn: Any, days: list[date]) -> dict[str, Any]:
    """The staged records (not quarantined) of every order the ``days`` touch, whatever their dates.

    First the records dated on the days (shop instants a day either side: a shop-local day is at most 14 hours off
    its UTC date) name the orders; then every record of those orders is read. An order's records pair among
    themselves, so reading all of them makes a day's answer the same whichever interval it is reconciled in.
    """
    import pandas as pd
    import sqlalchemy as sa

    from prestaoracle.reconcile.finance import receipt_orders
    from prestaoracle.staging import schema as s

    def read(statement: Any) -> pd.DataFrame:
        return pd.read_sql(statement, conn)

    def read_in(build: Any, values: Any) -> pd.DataFrame:
        parts = [read(build(chunk)) for chunk in _chunks(values)]
        return pd.concat(parts, ignore_index=True) if parts else read(build([]))

    ok = "quarantined"
    pay, slips, orders, rec, inv, so = (s.ps_order_payments, s.ps_order_slips, s.ps_orders, s.ora_receipts,
                                        s.ora_invoices, s.ora_sales_orders)
    lo = datetime.combine(days[0], datetime.min.time()) - timedelta(days=1)
    hi = datetime.combine(days[-1], datetime.min.time()) + timedelta(days=2)
    first, after = days[0], days[-1] + timedelta(days=1)

    pay_query = (sa.select(pay.c.id_order_payment, pay.c.order_reference, pay.c.currency_iso, pay.c.amount,
                           pay.c.date_add, orders.c.id_order)
                 .join(orders, orders.c.reference == pay.c.order_reference, isouter=True)
                 .where(pay.c.dq_status != ok))
    slip_query = sa.select(slips.c.id_order_slip, slips.c.id_order, slips.c.amount, slips.c.date_add).where(
        slips.c.dq_status != ok)
    memo_query = sa.select(inv.c.customer_trx_id, inv.c.transaction_number, inv.c.transaction_type,
                           inv.c.transaction_date, inv.c.currency, inv.c.entered_amount, inv.c.purchase_order).where(
        inv.c.dq_status != ok)

    # The days' own records.
    payments = read(pay_query.where(pay.c.date_add >= lo, pay.c.date_add < hi))
    refunds = read(slip_query.where(slips.c.date_add >= lo, slips.c.date_add < hi))
    memos = read(memo_query.where(inv.c.transaction_date >= first, inv.c.transaction_date < after))
    # Receipts name their order in free text: read them all (narrow) and find the orders here, not in SQL.
    receipts = read(sa.select(rec.c.cash_receipt_id, rec.c.receipt_number, rec.c.receipt_date, rec.c.amount,
                              rec.c.currency, rec.c.reference).where(rec.c.dq_status != ok))
    numbers = receipts["reference"].fillna("").str.extract(r"(?i)\binvoice\s+([A-Za-z0-9_-]+)", expand=False)
    dated = pd.to_datetime(receipts["receipt_date"], errors="coerce")
    in_days = (dated >= pd.Timestamp(first)) & (dated < pd.Timestamp(after))
    named = read_in(lambda chunk: sa.select(inv.c.transaction_number, inv.c.purchase_order)
                    .where(inv.c.transaction_number.in_(chunk)), numbers[in_days].dropna())
    slip_refs = read_in(lambda chunk: sa.select(orders.c.reference).where(orders.c.id_order.in_(chunk)),
                        refunds["id_order"])
    touched = (set(payments["order_reference"].dropna()) | set(slip_refs["reference"].dropna())
               | set(memos["purchase_order"].dropna())
               | set(receipt_orders(receipts[in_days], named).dropna()))

    # Every record of those orders.
    payments = pd.concat([payments, read_in(lambda chunk: pay_query.where(pay.c.order_reference.in_(chunk)),
                                            touched)], ignore_index=True)
    order_rows = read_in(lambda chunk: sa.select(orders.c.id_order, orders.c.reference, orders.c.currency_iso)
                         .where(orders.c.reference.in_(chunk)), touched)
    refunds = pd.concat([refunds, read_in(lambda chunk: slip_query.where(slips.c.id_order.in_(chunk)),
                                          order_rows["id_order"])], ignore_index=True)
    order_rows = pd.concat([order_rows, read_in(
        lambda chunk: sa.select(orders.c.id_order, orders.c.reference, orders.c.currency_iso)
        .where(orders.c.id_order.in_(chunk)), refunds["id_order"])], ignore_index=True)
    billed = read_in(lambda chunk: memo_query.where(inv.c.purchase_order.in_(chunk)), touched)
    memos = pd.concat([memos, billed], ignore_index=True)
    named = pd.concat([named, billed[["transaction_number", "purchase_order"]]], ignore_index=True)
    of_order = receipt_orders(receipts, named)
    receipts = receipts[in_days | of_order.isin(touched)]
    sales = read(sa.select(so.c.source_number.label("order_reference"), so.c.order_number.label("oracle_order_number"))
                 .where(so.c.source_number.is_not(None)))
    return {"payments": payments.drop_duplicates("id_order_payment", keep="first"),
            "refunds": refunds.drop_duplicates("id_order_slip", keep="first"),
            "orders": order_rows.drop_duplicates("id_order", keep="first"), "receipts": receipts,
            "memos": memos.drop_duplicates("customer_trx_id", keep="first"),
            "named_invoices": named.drop_duplicates("transaction_number", keep="last"), "sales_orders": sales}


def _quarantine_bad(conn: Any, bad: Any, *, source: str, entity: str, key: str, run_id: str) -> int:
    from prestaoracle import reasons
    from prestaoracle.staging import dead_letters

    for record in bad.to_dict("records"):  # one dead letter per bad record: an API-like write, not a comparison
        payload = {k: (None if v is None or v != v else str(v)) for k, v in record.items() if k != "problem"}
        dead_letters.quarantine(
            conn, source=source, entity=entity, record_key=record[key], stage=STAGE,
            reason_class=reasons.INVALID_DATA, message=f"{entity} {record[key]}: {record['problem']}",
            how_to_fix=f"Correct the {entity} record in {'the shop' if source == 'prestashop' else 'Oracle'}; the "
                       "next run of its day reconciles it", payload=payload, run_id=run_id)
    return len(bad)


def _resolve_fixed(conn: Any, good: Mapping[tuple[str, str], Any]) -> int:
    """Close the open dead letters of records this run found fine: corrected at the source, they must not stay open
    (nor be counted again by the next rerun). One read of the stage's open rows, one update."""
    from prestaoracle.staging import dead_letters

    fine = {(source, entity, str(key)) for (source, entity), keys in good.items() for key in keys.tolist()}
    ids = [d.id for d in dead_letters.list_open(conn, stage=STAGE, include_replayed=True)
           if (d.source, d.entity, d.record_key) in fine]
    return dead_letters.resolve(conn, ids, note="the record reconciles now") if ids else 0


def _db_value(value: Any) -> Any:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float):
        return Decimal(str(round(value, 6)))
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def reconcile_step(*, run_id: str, start: datetime | str, end: datetime | str,
                   config: FinanceConfig | None = None) -> dict[str, Any]:
    """Classify the items of the interval's business days and replace their rows in ``finance_recon_items``."""
    import pandas as pd
    import sqlalchemy as sa

    from prestaoracle.reconcile import finance as fin
    from prestaoracle.staging import metrics
    from prestaoracle.staging.schema import finance_recon_items

    config = config or load_config()
    days = _days(start, end)
    tz = _ledger_zone(config)
    tolerances = fin.Tolerances(amount=config.amount_tolerance, timing_days=config.timing_days)
    with _staging() as staging, metrics.timed_step(staging.engine, run_id, FLOW, "reconcile") as m:
        with staging.engine.begin() as conn:
            frames = _frames(conn, days)
            payments, bad_payments = fin.split_invalid(
                frames["payments"], key="id_order_payment", required=("order_reference", "currency_iso"),
                amount="amount", date_column="date_add")
            refunds = frames["refunds"].merge(frames["orders"], on="id_order", how="left")
            refunds, bad_refunds = fin.split_invalid(
                refunds, key="id_order_slip", required=("reference", "currency_iso"), amount="amount",
                date_column="date_add")
            receipts, bad_receipts = fin.split_invalid(
                frames["receipts"], key="cash_receipt_id", required=("currency",), amount="amount",
                date_column="receipt_date")
            memos, bad_memos = fin.split_invalid(
                frames["memos"][frames["memos"]["transaction_type"].fillna("").str.casefold()
                                == config.credit_memo_type.casefold()],
                key="customer_trx_id", required=("currency",), amount="entered_amount",
                date_column="transaction_date")
            quarantined = (
                _quarantine_bad(conn, bad_payments, source="prestashop", entity="order_payments",
                                key="id_order_payment", run_id=run_id)
                + _quarantine_bad(conn, bad_refunds, source="prestashop", entity="order_slips",
                                  key="id_order_slip", run_id=run_id)
                + _quarantine_bad(conn, bad_receipts, source="oracle", entity="receipts", key="cash_receipt_id",
                                  run_id=run_id)
                + _quarantine_bad(conn, bad_memos, source="oracle", entity="credit_memos", key="customer_trx_id",
                                  run_id=run_id))
            resolved = _resolve_fixed(conn, {
                ("prestashop", "order_payments"): payments["id_order_payment"],
                ("prestashop", "order_slips"): refunds["id_order_slip"],
                ("oracle", "receipts"): receipts["cash_receipt_id"],
                ("oracle", "credit_memos"): memos["customer_trx_id"]})
            shop = pd.concat([fin.payment_side(payments, tz),
                              fin.refund_side(refunds.drop(columns=["reference", "currency_iso"]),
                                              frames["orders"], tz)], ignore_index=True)
            oracle = pd.concat([fin.receipt_side(receipts, pd.concat([frames["named_invoices"], memos])),
                                fin.credit_memo_side(memos, config.credit_memo_type)], ignore_index=True)
            items = fin.reconcile(shop, oracle, days=days, tolerances=tolerances,
                                  order_numbers=frames["sales_orders"])
            rows = [{k: _db_value(v) for k, v in record.items()} | {"run_id": run_id}
                    for record in items.to_dict("records")]
            starts = [datetime.combine(d, datetime.min.time()) for d in days]
            # Replace the days' rows as one unit: a reader sees the old answer or the new one, never half of each.
            deleted = conn.execute(finance_recon_items.delete().where(
                finance_recon_items.c.interval_start.in_(starts))).rowcount
            if rows:
                conn.execute(sa.insert(finance_recon_items), rows)
        m.read += len(shop) + len(oracle)
        m.written = len(rows)
        m.quarantined = quarantined
        by_status = items["status"].value_counts().sort_index().to_dict()
        m.details.update(days=[d.isoformat() for d in days], ledger_timezone=tz, replaced=deleted, resolved=resolved,
                         by_status={k: int(v) for k, v in by_status.items()})
    breaks, amount = fin.unexplained(items, exclude=fin.provisional(
        items, end=days[-1] + timedelta(days=1), timing_days=config.timing_days))
    return {"flow": FLOW, "step": "reconcile", "days": [d.isoformat() for d in days], "ledger_timezone": tz,
            "items": len(rows), "by_status": {k: int(v) for k, v in by_status.items()},
            "unexplained_breaks": breaks, "unexplained_amount": amount, "quarantined": quarantined,
            "resolved": resolved}


# ------------------------------------------------------------------------------------------------ read back


def _items(conn: Any, days: list[date]) -> Any:
    import pandas as pd
    import sqlalchemy as sa

    from prestaoracle.reconcile.finance import ITEM_COLUMNS
    from prestaoracle.staging.schema import finance_recon_items as t

    starts = [datetime.combine(d, datetime.min.time()) for d in days]
    frame = pd.read_sql(sa.select(*[t.c[c] for c in ITEM_COLUMNS]).where(t.c.interval_start.in_(starts))
                        .order_by(t.c.interval_start, t.c.kind, t.c.item_key), conn)
    for column in ("shop_amount", "oracle_amount", "difference"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in ("interval_start", "interval_end", "shop_date", "oracle_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


# ------------------------------------------------------------------------------------------------ report


def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["csv"] = _csv_cell
    return env


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if any(c in text for c in ',"\n\r'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def _fmt(value: Any, kind: str) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == "money":
        return f"{float(value):.2f}"
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if kind == "datetime":
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")
    if kind == "int":
        return str(int(value))
    return str(value)


_FORMATS = {"interval_start": "date", "interval_end": "date", "shop_amount": "money", "oracle_amount": "money",
            "difference": "money", "shop_date": "datetime", "oracle_date": "date", "id_order": "int"}


PROVISIONAL = " (provisional: may still arrive)"


def _view(day: date, items: Any, provisional: Any = None) -> dict[str, Any]:
    """What the templates show of ``items``; ``provisional`` (a mask) marks the missing items whose counterpart may
    still come: they are listed, said to be provisional, and left out of the break count."""
    from prestaoracle.reconcile.finance import ITEM_COLUMNS, STATUSES, UNEXPLAINED, summarize, unexplained

    if provisional is not None and len(items):
        items = items.assign(explanation=items["explanation"].where(~provisional,
                                                                    items["explanation"] + PROVISIONAL))
    rows = [{c: _fmt(r[c], _FORMATS.get(c, "text")) for c in ITEM_COLUMNS} for r in items.to_dict("records")]
    summary = summarize(items) if len(items) else None
    table = [] if summary is None else [
        {"currency": r["currency"], "status": r["status"], "count": int(r["count"]),
         "shop_amount": _fmt(r["shop_amount"], "money"), "oracle_amount": _fmt(r["oracle_amount"], "money"),
         "break_amount": _fmt(r["break_amount"], "money")} for r in summary.to_dict("records")]
    counts = items["status"].value_counts().to_dict() if len(items) else {}
    breaks, amount = unexplained(items, exclude=provisional) if len(items) else (0, 0.0)
    pending = int(provisional.sum()) if provisional is not None and len(items) else 0
    return {"day": day.isoformat(), "provisional": pending, "columns": list(ITEM_COLUMNS), "rows": rows,
            "summary": table,
            "counts": [(s, int(counts.get(s, 0))) for s in STATUSES], "unexplained_statuses": list(UNEXPLAINED),
            "breaks": breaks, "break_amount": f"{amount:.2f}", "total": len(rows), "docs": DOCS}


def report_step(*, run_id: str, start: datetime | str, end: datetime | str,
                config: FinanceConfig | None = None) -> dict[str, Any]:
    """Write the HTML and CSV report of each business day of the interval, from its stored items and the interval
    alone: the same rows give the same bytes (no run id, no clock inside; the run id is in ``run_metrics``)."""
    from prestaoracle.reconcile.finance import provisional
    from prestaoracle.staging import metrics

    config = config or load_config()
    days = _days(start, end)
    env = _env()
    written: list[str] = []
    # Only reads what reconcile_step wrote, after it brought the schema up to date.
    with _staging(upgrade=False) as staging, metrics.timed_step(staging.engine, run_id, FLOW, "report") as m:
        with staging.engine.connect() as conn:
            items = _items(conn, days)
        for day in days:
            of_day = items[items["interval_start"].dt.date == day]
            view = _view(day, of_day, provisional(of_day, end=days[-1] + timedelta(days=1),
                                                  timing_days=config.timing_days))
            for suffix in ("html", "csv"):
                path = report_path(day, suffix)
                path.write_text(env.get_template(f"report.{suffix}.j2").render(**view), encoding="utf-8")
                written.append(str(path))
            m.read += view["total"]
        m.written = len(written)
        m.details["reports"] = written
    return {"flow": FLOW, "step": "report", "days": [d.isoformat() for d in days], "reports": written,
            "items": int(len(items))}


# ------------------------------------------------------------------------------------------------ alert


def _over(breaks: int, amount: float, max_breaks: int | None, max_amount: float | None) -> bool:
    return (max_breaks is not None and breaks > max_breaks) or (max_amount is not None and amount > max_amount)


def alert_step(*, run_id: str, start: datetime | str, end: datetime | str, max_breaks: int | None = None,
               max_break_amount: float | None = None, config: FinanceConfig | None = None) -> dict[str, Any]:
    """Mail the business recipients when the interval's unexplained breaks pass the threshold (count or amount;
    ``max_breaks`` / ``max_break_amount`` override the configuration's). Timing differences never count."""
    from prestaoracle import alerts
    from prestaoracle.reconcile.finance import UNEXPLAINED, provisional, unexplained
    from prestaoracle.staging import metrics

    config = config or load_config()
    limit = config.max_breaks if max_breaks is None else max_breaks
    limit_amount = config.max_break_amount if max_break_amount is None else max_break_amount
    days = _days(start, end)
    result: dict[str, Any] = {"flow": FLOW, "step": "alert", "days": [d.isoformat() for d in days], "sent": False,
                              "max_breaks": limit, "max_break_amount": limit_amount}
    with _staging(upgrade=False) as staging, metrics.timed_step(staging.engine, run_id, FLOW, "alert") as m:
        with staging.engine.connect() as conn:
            items = _items(conn, days)
        # A missing counterpart that may still be dated after the interval is not a break yet.
        pending = provisional(items, end=days[-1] + timedelta(days=1), timing_days=config.timing_days)
        breaks, amount = unexplained(items, exclude=pending) if len(items) else (0, 0.0)
        result.update(breaks=breaks, break_amount=amount, provisional=int(pending.sum()))
        m.read = len(items)
        if not _over(breaks, amount, limit, limit_amount):
            log.info("finance recon %s: %d unexplained break(s), %.2f in total: under the threshold, no mail",
                     result["days"], breaks, amount)
            return result
        recipients = config.recipients or alerts.business_recipients()
        conn_id = config.smtp_conn_id or alerts._default_conn_id()
        result["recipients"] = list(recipients)
        if not recipients:
            log.warning("finance recon %s: %d unexplained break(s) over the threshold but nobody to tell; set "
                        "alert.recipients (%s) or PRESTAORACLE_BUSINESS_EMAIL", result["days"], breaks, CONFIG_ENV)
            return result
        if not alerts._connection_exists(conn_id):
            log.warning("finance recon %s: alert not mailed, no %r connection (see docs/alerts.md)",
                        result["days"], conn_id)
            return result
        env = _env()
        shown = items[items["status"].isin(UNEXPLAINED) & ~pending]
        view = _view(days[0], shown) | {"days": result["days"], "run_id": run_id,
                                        "max_breaks": limit, "max_break_amount": limit_amount}
        html = alerts.clean_text(env.get_template("alert.html.j2").render(**view), limit=10**6)
        subject = " ".join(env.get_template("alert_subject.txt.j2").render(**view).split())
        try:
            with alerts._DigestSmtpHook(smtp_conn_id=conn_id) as hook:
                hook.send_email_smtp(to=list(recipients), subject=subject, html_content=html)
        except Exception as exc:
            raise alerts.DigestNotSent(
                f"finance recon alert for {result['days']} not sent through {conn_id}: "
                f"{alerts.clean_text(f'{type(exc).__name__}: {exc}')}; the task fails so that Airflow retries it"
            ) from exc
        m.written = 1
        result["sent"] = True
    return result


# ------------------------------------------------------------------------------------------------ all in one


def run_finance_recon(*, run_id: str, start: datetime, end: datetime, stage: bool = True,
                      max_breaks: int | None = None, max_break_amount: float | None = None) -> dict[str, Any]:
    """Every step in this process: stage both sides (``stage=True``), reconcile, report, alert. JSON-able."""
    summary: dict[str, Any] = {"flow": FLOW, "run_id": run_id, "start": _utc_naive(start).isoformat(),
                               "end": _utc_naive(end).isoformat()}
    if stage:
        from prestaoracle.flows.staging import stage_plan

        summary["staged"] = {plan.source: stage_plan(plan, start=start, end=end, run_id=run_id)
                             for plan in (FINANCE_SHOP, FINANCE_ORACLE)}
    summary["reconcile"] = reconcile_step(run_id=run_id, start=start, end=end)
    summary["report"] = report_step(run_id=run_id, start=start, end=end)
    summary["alert"] = alert_step(run_id=run_id, start=start, end=end, max_breaks=max_breaks,
                                  max_break_amount=max_break_amount)
    return summary
