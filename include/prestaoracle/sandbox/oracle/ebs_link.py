"""The EBS stand-in run next to the pod by ``python -m prestaoracle sandbox --ebs-db-url URL``.

On a real EBS instance the product only writes the Order Import interface and reads tables; the concurrent manager
runs Order Import (OEOIMP) on a schedule, and Shipping and AutoInvoice move booked orders along. The stand-in has
those programs as functions (``sandbox.ebs``: ``run_order_import``, ``advance``); this module runs them the way an
instance would, on the pod's clock:

* ``prepare_ebs`` creates the schema and seeds it from the sandbox's shop, unless the same shop already seeded it
  (a restart keeps the orders it holds). What the seed planted is kept in the EBS database itself
  (``xx_sandbox_seed``, a table of the sandbox, not of EBS), so a restart serves the same ``ebs`` differences.
* ``EbsLink.import_orders`` is one Order Import request, stamped with the pod clock's time.
* ``EbsLink.catch_up`` moves the stand-in's fulfilment to the pod clock: ``advance`` as if Interface Trip Stop,
  AutoInvoice and receipts ran every hour of pod time (``EBS_STEP``) from where it last stopped (``ebs_through``
  in the pod's settings) to the clock's now, so two weeks of clock ship, invoice and pay. Only the hourly runs
  that find work are made, so a jump of a year costs what it does, not 8,760 runs.
* ``ConcurrentManager`` runs both every N seconds of real time in a thread of the sandbox command.

EBS ``DATE`` columns carry no time zone: the stand-in's time is the pod clock in UTC without its offset, which is
also the product's ``EbsClient`` default (``db_timezone=UTC``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from prestaoracle.sandbox import ebs
from prestaoracle.sandbox.ebs import schema as ebs_schema
from prestaoracle.sandbox.oracle import clock, store
from prestaoracle.sandbox.oracle.differences import EBS_SETTING
from prestaoracle.sandbox.storage import create_engine

__all__ = [
    "EBS_STEP",
    "next_due",
    "ConcurrentManager",
    "EbsLink",
    "EbsSeedMismatch",
    "EbsStandIn",
    "import_result_document",
    "prepare_ebs",
    "report_document",
]

_LOG = logging.getLogger(__name__)
EBS_STEP = timedelta(hours=1)
# The delays of Shipping, AutoInvoice and receipts; passed to ``advance`` so the due times computed here agree.
SHIP_AFTER, INVOICE_AFTER, PAY_AFTER = timedelta(days=1), timedelta(days=1), timedelta(days=2)
MAX_RUNS = 100_000  # a guard: each run finishes something due, so real catch-ups stop far earlier
URL_SETTING, THROUGH_SETTING = "ebs_db_url", "ebs_through"
_META = sa.MetaData()
SEED_TABLE = sa.Table("xx_sandbox_seed", _META, sa.Column("name", sa.String(64), primary_key=True),
                      sa.Column("value", sa.Text()))
# The stand-in stores Decimal amounts; SQLite keeps them as floats and says so once per process.
warnings.filterwarnings("ignore", message=r"Dialect sqlite\+pysqlite does \*not\* support Decimal")


class EbsSeedMismatch(RuntimeError):
    """The database at ``--ebs-db-url`` holds a stand-in seeded from other data (or data the sandbox did not seed)."""


@dataclass(frozen=True)
class EbsStandIn:
    """A prepared stand-in: its URL, the ``ebs`` section of ``/sandbox/differences``, and whether it was seeded now."""

    url: str
    document: dict[str, Any]
    seeded_now: bool


# --------------------------------------------------------------------------------------------- seeding


def fingerprint(shop_rows: dict[str, list[dict]], seed: int) -> str:
    """What the stand-in's data is a function of: the shop rows and the seed."""
    digest = hashlib.sha256(f"ebs-seed:{seed}:".encode())
    digest.update(json.dumps(shop_rows, sort_keys=True, default=str, separators=(",", ":")).encode())
    return digest.hexdigest()


def prepare_ebs(db_url: str, shop_rows: dict[str, list[dict]], seed: int) -> EbsStandIn:
    """Create the schema and seed the stand-in from ``shop_rows``, unless it already holds exactly that seeding.

    Raises ``EbsSeedMismatch`` when the database holds another seeding or EBS data the sandbox did not seed: seeding
    on top would duplicate every SKU and customer.
    """
    engine = create_engine(db_url)
    try:
        ebs.create_schema(engine)
        _META.create_all(engine)
        with engine.connect() as conn:
            stored = dict(conn.execute(sa.select(SEED_TABLE.c.name, SEED_TABLE.c.value)).all())
            items = conn.execute(sa.select(sa.func.count()).select_from(ebs_schema.MTL_SYSTEM_ITEMS_B)).scalar_one()
        wanted = fingerprint(shop_rows, seed)
        if stored.get("fingerprint") == wanted and stored.get("report"):
            return EbsStandIn(db_url, json.loads(stored["report"]), False)
        if stored.get("fingerprint"):
            raise EbsSeedMismatch(
                f"the EBS stand-in was seeded from another shop (seed {stored.get('seed')}): start with the same "
                "--seed, --orders, --start/--end (or --days and the same day), --dataset and --faults as then, or "
                "give --ebs-db-url an empty database")
        if items:
            raise EbsSeedMismatch(
                "the EBS database holds items the sandbox did not seed (or a seeding that was interrupted): give "
                "--ebs-db-url an empty database")
        document = report_document(ebs.seed(engine, shop_rows, seed), seed)
        with engine.begin() as conn:
            conn.execute(SEED_TABLE.insert(), [
                {"name": "fingerprint", "value": wanted}, {"name": "seed", "value": str(seed)},
                {"name": "report", "value": json.dumps(document)}])
        return EbsStandIn(db_url, document, True)
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    """JSON-friendly form of a report field nobody gave a layout yet (a field added to ``SeedReport`` later)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _plain(v) for k, v in sorted(value.items())}
        return [{"key": _plain(k), "value": _plain(v)} for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))]
    return value


def report_document(report: ebs.SeedReport, seed: int) -> dict[str, Any]:
    """The ``ebs`` section of ``/sandbox/differences`` from the stand-in's ``SeedReport``.

    Customers are listed by shop ``id_customer`` with their TCA ids (``CUST_ACCOUNT_ID``, ...); prices are in the
    shop's default currency (EUR) as the seed compares them; on-hand is the non-consigned stock of warehouse M1.
    """
    customers = [
        {"id_customer": cid, "CUST_ACCOUNT_ID": c.cust_account_id, "ACCOUNT_NUMBER": c.account_number,
         "PARTY_ID": c.party_id, "variant": c.variant, "status": c.status,
         "SHIP_TO_SITE_USE_ID": c.ship_to_site_use_id, "BILL_TO_SITE_USE_ID": c.bill_to_site_use_id}
        for cid, c in sorted(report.customers.items())]
    known = {"items", "orderable_skus", "style_skus", "missing_skus", "inactive_skus", "price_eur", "price_differs",
             "onhand_m1", "onhand_differs", "consigned_skus", "price_lists", "customers", "absent_customers",
             "ebs_only_accounts"}
    document: dict[str, Any] = {
        "seed": seed,
        "missing_skus": sorted(report.missing_skus),
        "inactive_skus": sorted(report.inactive_skus),
        "not_orderable_skus": sorted(report.style_skus),
        "consigned_skus": sorted(report.consigned_skus),
        "prices": [{"currency": "EUR", "sku": sku, "shop": float(shop), "ebs": float(theirs)}
                   for sku, (shop, theirs) in sorted(report.price_differs.items())],
        "onhand": [{"sku": sku, "shop": shop, "ebs": theirs}
                   for sku, (shop, theirs) in sorted(report.onhand_differs.items())],
        "customers": customers,
        "absent_customers": sorted(report.absent_customers),
        "inactive_customers": [{k: c[k] for k in ("id_customer", "CUST_ACCOUNT_ID", "ACCOUNT_NUMBER")}
                               for c in customers if c["status"] != "A"],
        "ebs_only_accounts": sorted(report.ebs_only_accounts),
        "price_lists": [{"currency": currency, "LIST_HEADER_ID": list_id}
                        for currency, list_id in sorted(report.price_lists.items())],
        "order_rules": _ebs_order_rules(),
    }
    webshop = getattr(report, "webshop_accounts", None)
    if webshop is not None:  # the catch-all accounts of (country, currency), once the seed plants them
        known.add("webshop_accounts")
        document["webshop_accounts"] = [{"country": country, "currency": currency, "CUST_ACCOUNT_ID": account}
                                        for (country, currency), account in sorted(webshop.items())]
    for f in fields(report):
        if f.name not in known:
            document[f.name] = _plain(getattr(report, f.name))
    return document


def _ebs_order_rules() -> dict[str, Any]:
    """What Order Import (``sandbox.ebs.order_import``) refuses, as far as shop data can trip it."""
    return {
        "whole_order": True,
        "all_messages": True,
        "credit_check": False,
        "checks": [
            {"rule": "inactive_account", "message": "OE_INVALID_CUSTOMER", "attribute_code": "SOLD_TO_ORG_ID",
             "description": "SOLD_TO_ORG_ID is an account with STATUS A (inactive_customers are I)"},
            {"rule": "no_site", "message": "OE_INVALID_SHIP_TO / OE_INVALID_BILL_TO",
             "attribute_code": "SHIP_TO_ORG_ID / INVOICE_TO_ORG_ID",
             "description": "a booked order without site ids needs the account's primary active SHIP_TO and "
                            "BILL_TO (customers whose SHIP_TO_SITE_USE_ID is null have none)"},
            {"rule": "missing_sku", "message": "OE_INVALID_ITEM", "attribute_code": "INVENTORY_ITEM_ID",
             "description": "the item exists in the ship-from warehouse (M1); missing_skus do not"},
            {"rule": "inactive_sku", "message": "OE_ITEM_NOT_ORDERABLE", "attribute_code": "INVENTORY_ITEM_ID",
             "description": "the item is Active and customer-orderable: inactive_skus are Inactive, "
                            "not_orderable_skus are style items whose combinations are the orderable SKUs"},
        ],
        "no_stock_check": "Order Import books whatever stock says; a line M1 cannot cover is backordered at "
                          "ship confirm (advance) and ships once stock covers it",
    }


def import_result_document(result: ebs.ImportResult, now: datetime) -> dict[str, Any]:
    """One Order Import request as JSON: the imported references and the failed ones with their messages."""
    return {
        "request_id": result.request_id,
        "status_code": result.status_code,
        "now": now.isoformat(),
        "imported": [{"orig_sys_document_ref": o.orig_sys_document_ref, "order_source_id": o.order_source_id,
                      "header_id": o.header_id, "order_number": o.order_number,
                      "flow_status_code": o.flow_status_code, "line_count": o.line_count} for o in result.imported],
        "failed": [{"orig_sys_document_ref": f.orig_sys_document_ref, "order_source_id": f.order_source_id,
                    "messages": [{"entity_code": m.entity_code, "orig_sys_line_ref": m.orig_sys_line_ref,
                                  "attribute_code": m.attribute_code, "text": m.text} for m in f.messages]}
                   for f in result.failed],
        "elapsed_s": round(result.elapsed_s, 3),
    }


def store_settings(conn: sa.Connection, stand_in: EbsStandIn, clock_start: datetime) -> None:
    """Tell the pod's workers where the stand-in is, what it planted, and that its time starts with the clock."""
    store.put_settings(conn, {URL_SETTING: stand_in.url, EBS_SETTING: json.dumps(stand_in.document),
                              THROUGH_SETTING: clock.iso(clock_start)})


# --------------------------------------------------------------------------------------------- running it


def _db_time(moment: datetime) -> datetime:
    """The stand-in's DATE value of a pod clock instant: UTC wall time, whole seconds."""
    return clock.parse(clock.iso(moment)).replace(tzinfo=None, microsecond=0)


def next_due(engine: sa.Engine) -> datetime | None:
    """The earliest time at which ``advance`` has something to do: a booked line to ship, a shipped line to
    invoice or an open invoice to pay; None when nothing waits. Backordered lines are left out: nothing in the
    stand-in adds stock, so they are only retried with whatever run comes next."""
    dd, ol, oh = ebs_schema.WSH_DELIVERY_DETAILS, ebs_schema.OE_ORDER_LINES_ALL, ebs_schema.OE_ORDER_HEADERS_ALL
    ps = ebs_schema.AR_PAYMENT_SCHEDULES_ALL
    with engine.connect() as conn:
        ship = conn.execute(sa.select(sa.func.min(oh.c.booked_date))
                            .select_from(dd.join(ol, ol.c.line_id == dd.c.source_line_id)
                                         .join(oh, oh.c.header_id == ol.c.header_id))
                            .where(dd.c.source_code == "OE", dd.c.released_status == "R", ol.c.open_flag == "Y",
                                   ol.c.flow_status_code == "AWAITING_SHIPPING")).scalar()
        invoice = conn.execute(sa.select(sa.func.min(ol.c.actual_shipment_date))
                               .where(ol.c.flow_status_code == "SHIPPED", ol.c.open_flag == "Y")).scalar()
        pay = conn.execute(sa.select(sa.func.min(ps.c.trx_date))
                           .where(ps.c["class"] == "INV", ps.c.status == "OP")).scalar()
    due = [at + delay for at, delay in ((ship, SHIP_AFTER), (invoice, INVOICE_AFTER), (pay, PAY_AFTER))
           if at is not None]
    return min(due) if due else None


def _grid(start: datetime, at: datetime, step: timedelta) -> datetime:
    """The first run of the schedule (``start`` + k x ``step``) at or after ``at``."""
    if at <= start:
        return start
    return start + step * -((start - at) // step)


class EbsLink:
    """The pod's handle on its EBS stand-in (one per process: uvicorn worker or the sandbox command)."""

    def __init__(self, pod_engine: sa.Engine, ebs_url: str, step: timedelta = EBS_STEP) -> None:
        self.pod = pod_engine
        self.ebs = create_engine(ebs_url)
        self.step = step

    @classmethod
    def from_settings(cls, pod_engine: sa.Engine, cfg: dict[str, str]) -> EbsLink | None:
        """The link the pod's settings describe, or None when the pod runs without an EBS stand-in."""
        url = cfg.get(URL_SETTING)
        return cls(pod_engine, url) if url else None

    def now(self) -> datetime:
        with self.pod.connect() as conn:
            return clock.now(conn)

    def import_orders(self) -> dict[str, Any]:
        """Run Order Import over every pending interface order now (pod time); returns its JSON result."""
        now = _db_time(self.now())
        return import_result_document(ebs.run_order_import(self.ebs, now=now), now)

    def catch_up(self) -> dict[str, Any]:
        """Ship, invoice and pay what is due on the stand-in up to the pod clock's now; returns what changed.

        Holds the pod's ``ebs`` lock while it runs, so callers take turns and each instant runs once; a caller that
        waited finds the work done. ``advance`` is idempotent per instant besides, so a run cut short (its
        ``ebs_through`` not committed) is simply redone.
        """
        changed: dict[str, Any] = {"steps": 0, "shipped_lines": [], "backordered_lines": [], "deliveries": [],
                                   "invoices": [], "receipts": [], "closed_orders": []}
        with self.pod.connect() as conn:
            if not self._behind(conn):
                changed["through"] = self._through(conn)
                return changed
        with self.pod.begin() as conn:
            store.lock(conn, "ebs")
            now = clock.now(conn)
            through = clock.parse(self._through(conn))
            for at in self._runs(through, now):
                result = ebs.advance(self.ebs, now=_db_time(at), ship_after=SHIP_AFTER,
                                     invoice_after=INVOICE_AFTER, pay_after=PAY_AFTER)
                changed["steps"] += 1
                for name in ("shipped_lines", "backordered_lines", "deliveries", "invoices", "receipts",
                             "closed_orders"):
                    changed[name] += getattr(result, name)
            if now > through:
                store.put_settings(conn, {THROUGH_SETTING: clock.iso(now)})
            changed["through"] = clock.iso(max(now, through))
        return changed

    def _runs(self, through: datetime, now: datetime) -> Iterator[datetime]:
        """The instants in ``(through, now]`` at which the programs find work, then ``now``.

        The programs run every ``step`` of pod time (an hourly schedule); a run with nothing due changes nothing,
        so only the runs that have work are made: each is the first scheduled instant at or after the next due
        time, which is why stamps fall on the schedule however far the clock jumps.
        """
        if now <= through:
            return
        last = through
        for _ in range(MAX_RUNS):
            due = next_due(self.ebs)
            if due is None:
                break
            at = max(_grid(through, due.replace(tzinfo=UTC), self.step), last + self.step)
            if at >= now:
                break
            yield at
            last = at
        yield now

    def _through(self, conn: sa.Connection) -> str:
        value = conn.execute(sa.select(store.SETTINGS.c.value).where(store.SETTINGS.c.name == THROUGH_SETTING)
                             ).scalar()
        if value is None:
            raise LookupError("The pod's store does not say how far the EBS stand-in has run; restart the sandbox.")
        return str(value)

    def _behind(self, conn: sa.Connection) -> bool:
        return clock.parse(self._through(conn)) < clock.now(conn)

    def dispose(self) -> None:
        self.ebs.dispose()


class ConcurrentManager(threading.Thread):
    """Runs Order Import, then the fulfilment catch-up, every ``every`` seconds of real time until stopped.

    A failed run is logged and the next one tries again, as a concurrent request that errors does not stop the
    manager. ``every`` 0 runs nothing on its own (``POST /sandbox/ebs/import`` still does).
    """

    def __init__(self, pod_db_url: str, every: float) -> None:
        super().__init__(name="ebs-concurrent-manager", daemon=True)
        self.pod_db_url, self.every = pod_db_url, every
        self._stop_event = threading.Event()
        self.runs = 0

    def run(self) -> None:
        if self.every <= 0:
            return
        pod = create_engine(self.pod_db_url)
        link = EbsLink.from_settings(pod, store.get_settings(pod))
        if link is None:
            pod.dispose()
            return
        try:
            while not self._stop_event.wait(self.every):
                try:
                    imported = link.import_orders()
                    link.catch_up()
                    self.runs += 1
                    if imported["imported"] or imported["failed"]:
                        _LOG.info("EBS Order Import request %s: %d imported, %d failed", imported["request_id"],
                                  len(imported["imported"]), len(imported["failed"]))
                except Exception:  # noqa: BLE001 - the manager outlives a failed request, as EBS's does
                    _LOG.exception("EBS concurrent manager: a scheduled run failed; the next one retries")
        finally:
            link.dispose()
            pod.dispose()

    def stop(self, timeout: float = 10) -> None:
        self._stop_event.set()
        self.join(timeout)
