"""Oracle's progress back to the shop: order status, tracking numbers and AR invoices (``oracle_status_to_prestashop``).

One call of :func:`sync_status` reads what changed in the configured Oracle target during a window, keeps the orders
the order flow created there (the ledger says which: target ``oracle_fusion``/``oracle_ebs``, key ``PS1-42``) and
pushes, in this order so the shop's "shipped" e-mail can already show the parcel:

1. **Tracking numbers** (Fusion ``shipmentLines``, EBS shipped delivery details): each (order, tracking number) once.
   The first fills the tracking number of the order's ``order_carriers`` row; a further parcel of a split shipment
   gets its own row (``POST order_carriers``, same carrier), so the shop keeps every number. Ledger target
   ``prestashop_tracking``, key ``PS1-42:<tracking>``, target_id = the ``order_carriers`` id. A number PrestaShop
   would refuse (``isTrackingNumber``) is a dead letter ``invalid_data``; the others go on.
2. **AR invoices** (Fusion ``receivablesInvoices`` by their lines' sales order number, EBS invoices by order
   reference): ledger target ``oracle_ar_invoice``, key ``PS1-42:<invoice number>``, target_id = the invoice id,
   target_ref = its number. Nothing is written to the shop; the finance flows read the ledger.
3. **Status**: the order's Oracle status (see :func:`fusion_status` and :func:`ebs_status`) mapped to a PrestaShop
   state with ``status.state_map``. A status with no entry is a dead letter ``mapping_missing`` naming the key to
   add. The last Oracle status pushed per order is kept in the ledger (target ``prestashop_order_state``, key the
   order ref, target_ref = the Oracle status, target_id = the state), and a status is pushed only when it is new for
   the order *and* not behind what the shop or an earlier push already shows (:data:`PROGRESS`): an old status
   re-read in the overlap, or Oracle still saying SHIPPED when the shop shows Delivered, changes nothing. Neither
   does a status that maps to the state pushed last (SHIPPED → AWAITING_BILLING → BILLED are all "Shipped"), nor a
   shop order already cancelled or refunded (``gates.cancel_states``/``refund_states``).

Exactly once in the shop: the writer reads the order (its ``current_state``, its ``order_carriers`` rows) before any
write and again after any write whose answer was lost, so a lost reply is never posted twice; the ledger makes a
re-run or a replay of any window skip what is already there without even asking the shop.

The window is ``[watermark - overlap, end]`` (``end`` defaults to the Oracle clock: the pod's ``Date`` header, or now
for EBS), or exactly ``[start, end]`` for a replay or backfill. Fusion reads page by page (keyset on
``LastUpdateDate``); EBS reads are cut into ``ebs_slice`` long sub-windows. The watermark (source ``oracle``, entity
``order_status.<target>``) moves to ``end`` only after the whole window is pushed and committed; an explicit window
moves it only if it starts at or before it. A bad record is a dead letter and never blocks the window; a systemic
fault (Oracle or the shop unreachable past the retry budget, credentials refused) raises and leaves the watermark.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from more_itertools import batched

from prestaoracle.flows.orders.config import OrderFlowConfig
from prestaoracle.flows.orders.types import EBS_TARGET, FUSION_TARGET
from prestaoracle.oracle.ebs import EbsClient, OrderStatus
from prestaoracle.oracle.fusion import FusionClient
from prestaoracle.prestashop.errors import InvalidValueError, NotFound, RequestError
from prestaoracle.prestashop.writer import PrestaShopWriter, validate_tracking_number
from prestaoracle.reasons import INVALID_DATA, MAPPING_MISSING
from prestaoracle.staging import Staging, dead_letters, ledger, metrics, watermarks
from prestaoracle.staging.schema import LEDGER_DONE, sync_ledger

__all__ = [
    "INVOICE_TARGET", "ORDER_STATE_TARGET", "PROGRESS", "TRACKING_TARGET", "StatusResult", "ebs_status",
    "fusion_status", "sync_status", "watermark_entity",
]

log = logging.getLogger(__name__)

ORDER_STATE_TARGET = "prestashop_order_state"
TRACKING_TARGET = "prestashop_tracking"
INVOICE_TARGET = "oracle_ar_invoice"
SOURCE = "oracle"
FLOW = "order-status"
STAGE = "status_to_shop"

PROGRESS: Mapping[str, int] = {
    "DOO_DRAFT": 0, "ENTERED": 0, "CREATED": 0,
    "OPEN": 1, "BOOKED": 1,
    "AWAITING_SHIPPING": 2, "BACKORDERED": 2,
    "PICKED": 3,
    "SHIPPED": 4, "FULFILLED": 4,
    "AWAITING_BILLING": 5,
    "INVOICED": 6, "BILLED": 6,
    "CLOSED": 7,
    "CANCELED": 8, "CANCELLED": 8,
}
"""How far along an Oracle status is (Fusion header and fulfilment line codes, EBS flow status codes). A status is
never pushed over a later one; statuses missing here (a pod's own codes) are compared by the ledger only."""
CANCELLED = frozenset({"CANCELED", "CANCELLED"})
FINAL = frozenset({"CLOSED", *CANCELLED})

CREATED_OUTCOMES = (*LEDGER_DONE, "interfaced")
"""Ledger outcomes of an order the product put into Oracle (``interfaced``: EBS, until the order flow sees it
imported; its status is read as soon as Order Import has made it an order)."""
FUSION_BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)
"""Where a Fusion read starts without a watermark (keyset paging makes a long first window cheap)."""
EBS_FIRST_RUN_MARGIN = timedelta(days=7)
"""Without a watermark, EBS is read from this long before the first order the ledger sent there (nothing of ours can
have changed earlier; the margin absorbs clock differences)."""
DEFAULT_OVERLAP = timedelta(minutes=30)
"""Re-read before the watermark: Oracle batch jobs (ship confirm, AutoInvoice) commit rows stamped earlier."""
PAGE = 200
IN_CHUNK = 500  # values per IN list in ledger look-ups

_SHIPMENT_FIELDS = ("ShipmentLine,Order,SourceOrderId,TrackingNumber,Carrier,ShippedQuantity,LineStatusCode,"
                    "ActualShipDate,LastUpdateDate")
_ORDER_FIELDS = ("HeaderId,OrderNumber,SourceTransactionId,StatusCode,CanceledFlag,LastUpdateDate;"
                 "lines:LineId,StatusCode")


def watermark_entity(target: str) -> str:
    """The watermark entity of the status flow for one Oracle target (source ``oracle``)."""
    return f"order_status.{target}"


# ------------------------------------------------------------------------------------------------ result


@dataclass
class StatusResult:
    """What one run read and pushed; ``as_dict()`` is what the DAG task returns and the CLI prints."""

    target: str
    run_id: str
    window: tuple[str, str] | None = None
    orders_seen: int = 0
    states_posted: Counter[int] = field(default_factory=Counter)
    tracking_written: int = 0
    invoices_recorded: int = 0
    invoiced: dict[str, Decimal] = field(default_factory=dict)
    dead_letters: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    watermark: str | None = None
    _seen: set[str] = field(default_factory=set, repr=False)

    def saw(self, ref: str) -> None:
        if ref not in self._seen:
            self._seen.add(ref)
            self.orders_seen += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target, "run_id": self.run_id, "window": list(self.window) if self.window else None,
            "orders_seen": self.orders_seen,
            "states_posted": {str(k): v for k, v in sorted(self.states_posted.items())},
            "tracking_written": self.tracking_written, "invoices_recorded": self.invoices_recorded,
            "invoiced": {cur: str(amount) for cur, amount in sorted(self.invoiced.items())},
            "dead_letters": dict(sorted(self.dead_letters.items())),
            "skipped": dict(sorted(self.skipped.items())), "watermark": self.watermark,
        }

    def summary(self) -> str:
        posted = sum(self.states_posted.values())
        return (f"order status -> shop ({self.target}), run {self.run_id}: {self.orders_seen} orders seen, "
                f"{posted} states posted {dict(self.states_posted)}, {self.tracking_written} tracking numbers, "
                f"{self.invoices_recorded} invoices, {sum(self.dead_letters.values())} dead letters, "
                f"{sum(self.skipped.values())} already there; watermark {self.watermark or '-'}")


# ------------------------------------------------------------------------------------------------ what Oracle says


@dataclass(frozen=True)
class _Parcel:
    ref: str
    tracking: str | None
    carrier: str | None


@dataclass(frozen=True)
class _Invoice:
    ref: str
    number: str
    invoice_id: str
    amount: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class _Status:
    ref: str
    status: str
    order_number: str | None


def fusion_status(order: Mapping[str, Any]) -> str:
    """The status of a Fusion order as the shop should see it: the header's when it is final (CLOSED, CANCELED) or
    not submitted, else the least advanced of its lines that are not cancelled (an order is "shipped" when every
    line is). A line status outside :data:`PROGRESS` wins, so the operator maps it rather than it being hidden."""
    header = str(order.get("StatusCode") or "").upper()
    if order.get("CanceledFlag") in (True, 1, "Y", "true"):
        return "CANCELED"
    if header in FINAL or header == "DOO_DRAFT":
        return header
    lines = [str(line.get("StatusCode") or "").upper() for line in order.get("lines") or []]
    lines = [s for s in lines if s]
    live = [s for s in lines if s not in CANCELLED]
    if lines and not live:
        return "CANCELED"
    if not live:
        return header
    unknown = [s for s in live if s not in PROGRESS]
    if unknown:
        return unknown[0]
    return min(live, key=lambda s: PROGRESS[s])


def ebs_status(header: OrderStatus | None, *, invoiced: bool = False, shipped: bool = False) -> str | None:
    """The status of an EBS order: the header's FLOW_STATUS_CODE when it is final (CLOSED, CANCELLED), else INVOICED
    or SHIPPED when AR or shipping reported it in the window, else the header's (ENTERED, BOOKED). None when the order
    is not imported yet. EBS gives line statuses per line only; a partly shipped order counts as SHIPPED."""
    if header is None:
        return None
    flow = str(header.flow_status_code or "").upper()
    if header.cancelled_flag == "Y" or flow in CANCELLED:
        return "CANCELLED"
    if flow == "CLOSED":
        return flow
    if invoiced:
        return "INVOICED"
    if shipped:
        return "SHIPPED"
    return flow or None


# ------------------------------------------------------------------------------------------------ entry point


def sync_status(staging: sa.Engine | Staging, *, config: OrderFlowConfig, writer: PrestaShopWriter,
                fusion: FusionClient | None = None, ebs: EbsClient | None = None, start: datetime | None = None,
                end: datetime | None = None, run_id: str | None = None, overlap: timedelta = DEFAULT_OVERLAP,
                page: int = PAGE, ebs_slice: timedelta = timedelta(days=1),
                source_system: str | None = "PSHOP") -> StatusResult:
    """Push what changed in Oracle during the window to the shop (module docstring); returns what it did.

    ``staging`` is the staging ``Engine`` (or a ``Staging``); ``config.oracle_target`` picks the client to read
    (``fusion`` or ``ebs`` must be given accordingly). ``start``/``end`` are aware datetimes (a DAG passes its data
    interval end as ``end`` and no ``start``). ``source_system`` is Fusion's SourceTransactionSystem of the shop's
    orders (None: any; the ledger keeps out orders the product did not create anyway).
    """
    engine = staging.engine if isinstance(staging, Staging) else staging
    target = config.ledger_target
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime (UTC or with an offset), got {value.isoformat()}")
    if target == FUSION_TARGET and fusion is None:
        raise ValueError("oracle_target is fusion: pass fusion=FusionClient(...) (the oracle_fusion_default "
                         "connection)")
    if target == EBS_TARGET and ebs is None:
        raise ValueError("oracle_target is ebs: pass ebs=EbsClient(...) (the oracle_ebs_default connection)")
    if page < 1:
        raise ValueError("page must be at least 1")
    run = _Run(engine, config, writer, target, run_id or _run_id())
    entity = watermark_entity(target)
    with engine.connect() as conn:
        mark = watermarks.get(conn, SOURCE, entity)
    if end is None:
        end = _fusion_clock(fusion) if target == FUSION_TARGET else datetime.now(UTC)
    if start is not None:
        since = start
    elif mark is not None:
        since = _instant(mark) - overlap
    elif target == FUSION_TARGET:
        since = FUSION_BEGINNING
    else:
        since = _ebs_first_since(engine, target)
    result = run.result
    result.window = (since.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat())
    run.replay = (f"python -m prestaoracle run order-status --start {result.window[0]} --end {result.window[1]}, "
                  "or trigger oracle_status_to_prestashop with replay on this data interval")
    if since < end:
        if target == FUSION_TARGET:
            assert fusion is not None
            _sync_fusion(run, fusion, since, end, page, source_system)
        else:
            assert ebs is not None
            _sync_ebs(run, ebs, since, end, page, ebs_slice)
    with engine.begin() as conn:
        current = watermarks.get(conn, SOURCE, entity)
        # An explicit window moves the watermark only when nothing between the watermark and it stays unread.
        if start is None or (current is not None and start <= _instant(current)):
            watermarks.advance(conn, SOURCE, entity, end.astimezone(UTC), run.run_id)
        else:
            log.warning("order status %s: the window [%s, %s] starts after the watermark (%s): the watermark stays",
                        target, start, end, current or "none yet")
        metrics.record_step(conn, run.run_id, FLOW, target, read=result.orders_seen,
                            written=sum(result.states_posted.values()) + result.tracking_written
                            + result.invoices_recorded,
                            skipped=sum(result.skipped.values()), quarantined=sum(result.dead_letters.values()))
        result.watermark = watermarks.get(conn, SOURCE, entity)
    log.info("%s", result.summary())
    return result


# ------------------------------------------------------------------------------------------------ Fusion


def _sync_fusion(run: _Run, fusion: FusionClient, since: datetime, end: datetime, page: int,
                 source_system: str | None) -> None:
    lines = fusion.shipment_lines_changed_since(since, end, fields=_SHIPMENT_FIELDS, limit=min(page, 500))
    for chunk in batched(lines, page):
        shipped = [row for row in chunk if _shipped(row)]
        refs = run.refs_by_number(row.get("Order") for row in shipped)
        run.push_tracking([_Parcel(refs[str(row["Order"])], _text(row.get("TrackingNumber")),
                                   _text(row.get("Carrier")))
                           for row in shipped if str(row.get("Order")) in refs])
    for chunk in batched(fusion.invoices_changed_since(since, end, limit=min(page, 500)), page):
        numbers = {str(line["SalesOrder"]) for row in chunk for line in row.get("receivablesInvoiceLines") or []
                   if line.get("SalesOrder")}
        refs = run.refs_by_number(numbers)
        invoices = []
        for row in chunk:
            orders = {refs[n] for n in (str(line.get("SalesOrder")) for line in row.get("receivablesInvoiceLines")
                                        or []) if n in refs}
            invoices += [_Invoice(ref, str(row["TransactionNumber"]), str(row["CustomerTransactionId"]),
                                  _decimal(row.get("EnteredAmount")), _text(row.get("InvoiceCurrencyCode")))
                         for ref in sorted(orders)]
        run.record_invoices(invoices)
    orders = fusion.orders_changed_since(since, end, source_system=source_system, fields=_ORDER_FIELDS,
                                         limit=min(page, 500))
    for chunk in batched(orders, page):
        ours = run.our_orders(str(row.get("SourceTransactionId")) for row in chunk)
        run.push_states([_Status(ref, fusion_status(row), _text(row.get("OrderNumber"))) for row in chunk
                         if (ref := str(row.get("SourceTransactionId"))) in ours])


def _shipped(row: Mapping[str, Any]) -> bool:
    """A shipment line that left the warehouse (ship confirmed, or some quantity shipped)."""
    if str(row.get("LineStatusCode") or "").upper() == "C":
        return True
    try:
        return Decimal(str(row.get("ShippedQuantity") or 0)) > 0
    except InvalidOperation:
        return False


def _fusion_clock(fusion: FusionClient | None) -> datetime:
    """The pod's clock (its ``Date`` header): a window must not end in Oracle's future."""
    from prestaoracle.flows.extract import _fusion_now

    return _fusion_now(fusion, "salesOrdersForOrderHub", "HeaderId")


# ------------------------------------------------------------------------------------------------ EBS


def _sync_ebs(run: _Run, ebs: EbsClient, since: datetime, end: datetime, page: int, cut: timedelta) -> None:
    if cut <= timedelta(0):
        raise ValueError("ebs_slice must be positive")
    handled: set[str] = set()
    low = since
    while low < end:
        high = min(low + cut, end)
        shipments = ebs.shipments_since(low, high)
        invoices = ebs.invoices_since(low, high)
        shipped = {s.ref for s in shipments}
        invoiced = {ref for inv in invoices for ref in inv.refs}
        for chunk in batched(sorted(shipped | invoiced), page):
            ours = set(run.our_orders(chunk))
            run.push_tracking([_Parcel(s.ref, _text(s.tracking_number), _text(s.carrier)) for s in shipments
                               if s.ref in ours])
            run.record_invoices([_Invoice(ref, str(inv.trx_number), str(inv.customer_trx_id), _decimal(inv.amount),
                                          inv.currency) for inv in invoices for ref in inv.refs if ref in ours])
            headers = ebs.order_status(sorted(ours))
            run.push_states([_Status(ref, status, str(headers[ref].order_number)) for ref in sorted(ours)
                             if (status := ebs_status(headers.get(ref), invoiced=ref in invoiced,
                                                      shipped=ref in shipped)) is not None])
            handled |= ours
        low = high
    # Header changes (booked, closed, cancelled) that no shipment or invoice of the window announced.
    db_since, db_end = (_db_time(ebs, v) for v in (since, end))
    for chunk in run.open_ebs_orders(page):
        headers = ebs.order_status(ref for ref in chunk if ref not in handled)
        changed = [h for h in headers.values()
                   if h.last_update_date is not None and db_since < h.last_update_date <= db_end]
        run.push_states([_Status(h.ref, status, str(h.order_number)) for h in changed
                         if (status := ebs_status(h)) is not None])


def _db_time(ebs: EbsClient, value: datetime) -> datetime:
    return value.astimezone(ebs.db_timezone).replace(tzinfo=None)


def _ebs_first_since(engine: sa.Engine, target: str) -> datetime:
    t = sync_ledger
    with engine.connect() as conn:
        first = conn.execute(sa.select(sa.func.min(t.c.first_attempt_at)).where(
            t.c.target == target, t.c.outcome.in_(CREATED_OUTCOMES))).scalar()
    if first is None:
        return datetime.now(UTC)  # nothing sent to EBS yet: nothing to read
    return first.replace(tzinfo=UTC) - EBS_FIRST_RUN_MARGIN


# ------------------------------------------------------------------------------------------------ one run


class _Run:
    """The state of one run: the ledger look-ups and the pushes of each page."""

    def __init__(self, engine: sa.Engine, config: OrderFlowConfig, writer: PrestaShopWriter, target: str,
                 run_id: str) -> None:
        self.engine = engine
        self.config = config
        self.writer = writer
        self.target = target
        self.run_id = run_id
        self.prefix = f"PS{int(config.shop_id)}-"
        self.result = StatusResult(target, run_id)
        self.state_map = {str(k).upper(): int(v) for k, v in config.status.state_map.items()}
        self.protected = frozenset(config.gates.cancel_states) | frozenset(config.gates.refund_states)
        self.replay = ""
        """How to replay this run's window (dead letters that say "replay the window" name it)."""

    # -- ledger look-ups

    def _rows(self, conn: sa.Connection, target: str, keys: Iterable[str], *,
              column: sa.Column = sync_ledger.c.record_key,
              outcomes: Sequence[str] | None = None) -> Iterator[sa.Row]:
        t = sync_ledger
        for chunk in batched(sorted(set(keys)), IN_CHUNK):
            query = sa.select(t).where(t.c.target == target, column.in_(chunk))
            if outcomes is not None:
                query = query.where(t.c.outcome.in_(outcomes))
            yield from conn.execute(query)

    def our_orders(self, refs: Iterable[str]) -> dict[str, str | None]:
        """The refs among ``refs`` that the product created in the target (of this shop): ref -> order number."""
        wanted = [r for r in refs if r.startswith(self.prefix)]
        with self.engine.connect() as conn:
            return {row.record_key: row.target_ref
                    for row in self._rows(conn, self.target, wanted, outcomes=CREATED_OUTCOMES)}

    def refs_by_number(self, numbers: Iterable[Any]) -> dict[str, str]:
        """Oracle order number -> ref, for the orders the product created (the ledger's target_ref)."""
        wanted = {str(n) for n in numbers if n not in (None, "")}
        with self.engine.connect() as conn:
            return {row.target_ref: row.record_key for row in self._rows(
                conn, self.target, wanted, column=sync_ledger.c.target_ref, outcomes=CREATED_OUTCOMES)
                if row.record_key.startswith(self.prefix)}

    def ledger(self, target: str, keys: Iterable[str]) -> dict[str, sa.Row]:
        with self.engine.connect() as conn:
            return {row.record_key: row for row in self._rows(conn, target, keys)}

    def open_ebs_orders(self, size: int) -> Iterator[list[str]]:
        """This shop's orders in EBS whose last pushed status is not final, ``size`` at a time (keyset on the ref)."""
        t, s = sync_ledger, sync_ledger.alias("pushed")
        final = sa.select(s.c.record_key).where(s.c.target == ORDER_STATE_TARGET, s.c.record_key == t.c.record_key,
                                                s.c.target_ref.in_(sorted(FINAL)))
        after = ""
        while True:
            with self.engine.connect() as conn:
                chunk = list(conn.execute(
                    sa.select(t.c.record_key).where(t.c.target == self.target, t.c.outcome.in_(CREATED_OUTCOMES),
                                                    t.c.record_key > after, t.c.record_key.startswith(self.prefix),
                                                    ~final.exists())
                    .order_by(t.c.record_key).limit(size)).scalars())
            if not chunk:
                return
            yield chunk
            after = chunk[-1]

    # -- writes to the staging database

    def _commit(self, work: list[Callable[[sa.Connection], None]]) -> None:
        if work:
            with self.engine.begin() as conn:
                for step in work:
                    step(conn)
            work.clear()

    def _dead_letter(self, work: list[Callable[[sa.Connection], None]], *, entity: str, key: str, reason: str,
                     message: str, fix: str, payload: Mapping[str, Any]) -> None:
        self.result.dead_letters[reason] += 1
        log.warning("order status %s: %s", key, message)
        if self.replay and "replay the window" in fix:
            fix = f"{fix} To replay it: {self.replay}."
        work.append(lambda conn: dead_letters.quarantine(
            conn, source=SOURCE, entity=entity, record_key=key[:200], stage=STAGE, reason_class=reason,
            message=message, how_to_fix=fix, payload=dict(payload), run_id=self.run_id))

    def _done(self, work: list[Callable[[sa.Connection], None]], target: str, key: str, *, entity: str,
              target_id: Any, target_ref: str | None, outcome: str, note: str | None = None) -> None:
        def write(conn: sa.Connection) -> None:
            ledger.record_outcome(conn, target, key, outcome, run_id=self.run_id, target_id=target_id,
                                  target_ref=target_ref, error=note, source=SOURCE, entity=entity)
            dead_letters.resolve_record(conn, source=SOURCE, entity=entity, record_key=key,
                                        note=f"went through in run {self.run_id}")
        work.append(write)

    def _id_order(self, ref: str) -> int:
        return int(ref[len(self.prefix):])

    # -- tracking numbers

    def push_tracking(self, parcels: Sequence[_Parcel]) -> None:
        by_order: dict[str, list[str]] = defaultdict(list)
        carrier: dict[tuple[str, str], str | None] = {}
        work: list[Callable[[sa.Connection], None]] = []
        try:
            for p in parcels:
                self.result.saw(p.ref)
                if not p.tracking:
                    continue  # shipped without a number (a courier that has none): nothing to show
                if p.tracking not in by_order[p.ref]:
                    by_order[p.ref].append(p.tracking)
                    carrier[(p.ref, p.tracking)] = p.carrier
            keys = {f"{ref}:{t}": (ref, t) for ref, numbers in by_order.items() for t in numbers}
            known = self.ledger(TRACKING_TARGET, keys)
            todo: dict[str, list[str]] = defaultdict(list)
            for key, (ref, tracking) in keys.items():
                entry = known.get(key)
                if entry is not None and entry.outcome in LEDGER_DONE:
                    self.result.skipped["tracking"] += 1
                    continue
                try:
                    validate_tracking_number(tracking)
                except InvalidValueError as exc:
                    self._dead_letter(work, entity="tracking", key=key, reason=INVALID_DATA, message=str(exc),
                                      fix="Correct the tracking number of the shipment in Oracle; the next run "
                                          "sends the corrected one (or replay the window).",
                                      payload={"order": ref, "tracking_number": tracking,
                                               "oracle_carrier": carrier.get((ref, tracking)), "target": self.target})
                    continue
                todo[ref].append(tracking)
            if not todo:
                return
            ids = {ref: self._id_order(ref) for ref in todo}
            rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in self.writer.reader.get_by_ids("order_carriers", ids.values(), field="id_order",
                                                     display=["id", "id_order", "id_carrier", "id_order_invoice",
                                                              "tracking_number"]):
                rows[int(row["id_order"])].append(row)
            for ref, numbers in todo.items():
                carriers = sorted(rows[ids[ref]], key=lambda r: int(r["id"]))
                for tracking in numbers:
                    self._push_one_tracking(work, ref, ids[ref], tracking, carriers)
        finally:
            self._commit(work)

    def _push_one_tracking(self, work: list[Callable[[sa.Connection], None]], ref: str, id_order: int,
                           tracking: str, carriers: list[dict[str, Any]]) -> None:
        key = f"{ref}:{tracking}"
        payload = {"order": ref, "id_order": id_order, "tracking_number": tracking}
        if not carriers:
            self._dead_letter(work, entity="tracking", key=key, reason=INVALID_DATA,
                              message=f"shop order {id_order} has no order_carriers row to carry tracking number "
                                      f"{tracking}",
                              fix="Give the order a carrier in the PrestaShop back office, then replay the window.",
                              payload=payload)
            return
        same = next((r for r in carriers if str(r.get("tracking_number") or "") == tracking), None)
        empty = next((r for r in carriers if not str(r.get("tracking_number") or "").strip()), None)
        notify = self.config.status.notify_customer
        try:
            if same is not None:
                row_id, wrote = int(same["id"]), False
            elif empty is not None:
                row_id = int(empty["id"])
                wrote = self.writer.set_tracking_number(row_id, tracking, send_email=notify)
                empty["tracking_number"] = tracking
            else:
                first = carriers[0]
                row_id, wrote = self.writer.add_order_carrier(
                    id_order, tracking, id_carrier=int(first["id_carrier"]),
                    id_order_invoice=int(first.get("id_order_invoice") or 0))
                carriers.append({"id": row_id, "id_carrier": first["id_carrier"], "tracking_number": tracking,
                                 "id_order_invoice": first.get("id_order_invoice")})
        except (InvalidValueError, RequestError, NotFound) as exc:
            self._dead_letter(work, entity="tracking", key=key, reason=INVALID_DATA,
                              message=f"the shop refused tracking number {tracking} for order {id_order}: {exc}",
                              fix="Check the order and its carrier in the shop (and the number in Oracle), then "
                                  "replay the window.", payload=payload)
            return
        if wrote:
            self.result.tracking_written += 1
        else:
            self.result.skipped["tracking"] += 1
        self._done(work, TRACKING_TARGET, key, entity="tracking", target_id=row_id, target_ref=tracking,
                   outcome="created" if wrote else "skipped")

    # -- invoices

    def record_invoices(self, invoices: Sequence[_Invoice]) -> None:
        if not invoices:
            return
        keys = {f"{inv.ref}:{inv.number}": inv for inv in invoices}
        known = self.ledger(INVOICE_TARGET, keys)
        work: list[Callable[[sa.Connection], None]] = []
        for key, inv in keys.items():
            self.result.saw(inv.ref)
            if key in known and known[key].outcome in LEDGER_DONE:
                self.result.skipped["invoice"] += 1
                continue
            self.result.invoices_recorded += 1
            if inv.amount is not None:
                currency = inv.currency or "?"
                self.result.invoiced[currency] = self.result.invoiced.get(currency, Decimal(0)) + inv.amount
            work.append(lambda conn, key=key, inv=inv: ledger.record_success(
                conn, INVOICE_TARGET, key, target_id=inv.invoice_id, target_ref=inv.number, outcome="created",
                run_id=self.run_id, source=SOURCE, entity="invoices"))
        self._commit(work)

    # -- order states

    def push_states(self, statuses: Sequence[_Status]) -> None:
        if not statuses:
            return
        work: list[Callable[[sa.Connection], None]] = []
        try:
            pushed = self.ledger(ORDER_STATE_TARGET, (s.ref for s in statuses))
            candidates: list[tuple[_Status, int]] = []
            for s in statuses:
                self.result.saw(s.ref)
                state = self.state_map.get(s.status.upper())
                payload = {"order": s.ref, "order_number": s.order_number, "oracle_status": s.status,
                           "target": self.target}
                if state is None:
                    self._dead_letter(
                        work, entity="order_status", key=s.ref, reason=MAPPING_MISSING,
                        message=f"Oracle status {s.status} of order {s.ref} (Oracle order {s.order_number}) has no "
                                "PrestaShop state",
                        fix=f"Add '{s.status}: <id_order_state>' under status.state_map in {self.config.source}, "
                            "then replay the window.", payload=payload)
                    continue
                before = pushed.get(s.ref)
                if before is not None and before.outcome in LEDGER_DONE:
                    if before.target_ref == s.status:
                        self.result.skipped["state"] += 1
                        continue
                    if _behind(s.status, before.target_ref):
                        self.result.skipped["state_behind"] += 1
                        continue
                    if str(before.target_id) == str(state):
                        self.result.skipped["state"] += 1
                        self._done(work, ORDER_STATE_TARGET, s.ref, entity="order_status", target_id=state,
                                   target_ref=s.status, outcome="skipped")
                        continue
                candidates.append((s, state))
            if candidates:
                self._post_states(work, candidates)
        finally:
            self._commit(work)

    def _post_states(self, work: list[Callable[[sa.Connection], None]],
                     candidates: list[tuple[_Status, int]]) -> None:
        ids = {s.ref: self._id_order(s.ref) for s, _ in candidates}
        shop = {int(r["id"]): int(r["current_state"] or 0) for r in self.writer.reader.get_by_ids(
            "orders", ids.values(), display=["id", "current_state"])}
        for s, state in candidates:
            id_order = ids[s.ref]
            payload = {"order": s.ref, "id_order": id_order, "order_number": s.order_number,
                       "oracle_status": s.status, "state": state}
            current = shop.get(id_order)
            if current is None:
                self._dead_letter(work, entity="order_status", key=s.ref, reason=INVALID_DATA,
                                  message=f"shop order {id_order} ({s.ref}) does not exist in the shop",
                                  fix="The order was deleted in PrestaShop: nothing to update; ignore this dead "
                                      "letter, or restore the order and replay the window.", payload=payload)
                continue
            note = None
            if current != state and current in self.protected:
                note = f"the shop shows state {current} (cancelled/refunded there): {s.status} is not pushed over it"
            elif current != state and _behind(s.status, self._status_of(current)):
                note = f"the shop already shows state {current}, past {s.status}"
            if note is not None:
                log.info("order %s: %s", s.ref, note)
                self.result.skipped["state_behind"] += 1
                self._done(work, ORDER_STATE_TARGET, s.ref, entity="order_status", target_id=current,
                           target_ref=s.status, outcome="skipped", note=note)
                continue
            try:
                posted = self.writer.set_order_state(id_order, state, send_email=self.config.status.notify_customer)
            except InvalidValueError as exc:
                self._dead_letter(work, entity="order_status", key=s.ref, reason=MAPPING_MISSING,
                                  message=f"status.state_map sends {s.status} to state {state}: {exc}",
                                  fix=f"Map {s.status} to a state the shop has under status.state_map in "
                                      f"{self.config.source}, then replay the window.", payload=payload)
                continue
            except (RequestError, NotFound) as exc:
                self._dead_letter(work, entity="order_status", key=s.ref, reason=INVALID_DATA,
                                  message=f"the shop refused state {state} for order {id_order}: {exc}",
                                  fix="Check the order in the PrestaShop back office, then replay the window.",
                                  payload=payload)
                continue
            if posted:
                self.result.states_posted[state] += 1
            else:
                self.result.skipped["state"] += 1
            self._done(work, ORDER_STATE_TARGET, s.ref, entity="order_status", target_id=state, target_ref=s.status,
                       outcome="created" if posted else "skipped")

    def _status_of(self, state: int) -> str | None:
        """The earliest Oracle status (by :data:`PROGRESS`) that maps to a shop state: how far along the shop is."""
        ranked = [s for s, v in self.state_map.items() if v == state and s in PROGRESS]
        return min(ranked, key=lambda s: PROGRESS[s]) if ranked else None


def _behind(status: str, other: str | None) -> bool:
    """True when ``status`` is an earlier step than ``other`` (both known to :data:`PROGRESS`)."""
    a, b = PROGRESS.get(status.upper()), PROGRESS.get(str(other or "").upper())
    return a is not None and b is not None and a < b


# ------------------------------------------------------------------------------------------------ helpers


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _run_id() -> str:
    return f"manual__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"
