"""Extraction: read one entity from a source system into the staging database's landing table, chunk by chunk.

Public API (the CLI, the demo and the Airflow tasks call these)::

    extract_prestashop(client, staging, entity, *, since=None, until=None, run_id=None, overlap=None,
                       chunk=1000) -> ExtractResult
    extract_oracle(client, staging, entity, *, since=None, until=None, run_id=None, overlap=None, chunk=500,
                   organization="M1", source_system="PSHOP") -> ExtractResult

* ``client`` is a ``PrestaShopClient`` / ``FusionClient``, ``staging`` a ``Staging``; ``entity`` is one of
  ``PRESTASHOP_INCREMENTAL``/``PRESTASHOP_FULL`` or ``ORACLE_ENTITIES``.
* ``organization``: the inventory organization code, or several, whose on-hand ``onhand`` reads (one landing key
  per organization, item and subinventory); the staging flow passes the inventory configuration's ``quantity.orgs``.
* ``until``: aware datetime, the end of the window. A DAG passes its ``data_interval_end``. Without it the window
  ends at the source's own clock, read from the HTTP ``Date`` header of its answers, never this machine's clock. A
  PrestaShop ``until`` later than the shop's clock is brought back to it (a window must not end in the future).
* ``since``: aware datetime, for a manual re-read or backfill: the window is exactly ``[since, until]``, keeps no
  checkpoint, and moves the watermark only when it starts at or before it (no gap). By default (``None``, what a DAG
  passes) the window starts at the watermark minus ``overlap``.
* ``overlap``: how much before the watermark to re-read (records committed late with an earlier date, clock skew).
  Default ``PRESTASHOP_OVERLAP`` (5 min) and ``FUSION_OVERLAP`` (30 min: Fusion batch jobs commit late); the
  connections' ``overlap_minutes`` extra and the CLI's ``--overlap-minutes`` set it.
* ``chunk``: records per committed chunk (PrestaShop: ids per page, whose order family comes along).
* Naive datetimes are refused: inside the product every instant is UTC (or carries its offset); the PrestaShop
  reader converts to the shop's local time at the door.

What it guarantees (docs/connectors.md, "Extraction guarantees", lists the tests):

1. **Nothing is lost.** Every record whose cursor lies in the window is landed by this window or, if it changes
   while the window is read, by the next one (which starts ``overlap`` before this one's ``until``).
2. **The watermark never passes ``until``.** It moves to ``until`` exactly, in the transaction that commits the
   window's last chunk; a record read with a cursor after ``until`` (updated during the run) is landed, and read
   again by the next window.
3. **A crash resumes.** Every chunk commits its records with a checkpoint of the window (since, until, last
   position); the next run finishes that window from the last committed position, then goes on.
4. **Time zones.** Watermarks and windows are UTC instants; PrestaShop's shop-local dates are interpreted with the
   shop's time zone (connection extra ``shop_timezone``, else ``PS_TIMEZONE``), daylight-saving changes included.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

from more_itertools import batched

from prestaoracle.staging import watermarks
from prestaoracle.staging.db import READ_ONLY

log = logging.getLogger(__name__)
T = TypeVar("T")

# What an ``orders`` extraction also brings, by parent key, so a staged order is complete.
ORDER_CHILDREN = (("order_details", "id_order"), ("order_carriers", "id_order"), ("order_histories", "id_order"))
PRESTASHOP_INCREMENTAL = {"orders": "date_upd", "customers": "date_upd", "addresses": "date_upd",
                          "products": "date_upd", "order_slip": "date_upd"}
PRESTASHOP_FULL = ("stock_availables", "combinations", "order_states", "currencies", "carriers", "countries")
# Incremental Fusion entities: (resource path, id attribute); read by keyset on (LastUpdateDate, id).
ORACLE_INCREMENTAL = {"sales_orders": ("salesOrdersForOrderHub", "HeaderId"),
                      "shipment_lines": ("shipmentLines", "ShipmentLine"),
                      "invoices": ("receivablesInvoices", "CustomerTransactionId"),
                      "receipts": ("standardReceipts", "StandardReceiptId")}
ORACLE_ENTITIES = (*ORACLE_INCREMENTAL, "onhand", "prices", "accounts")
PRESTASHOP_OVERLAP = timedelta(minutes=5)
FUSION_OVERLAP = timedelta(minutes=30)
PRESTASHOP_CHUNK = 1000
FUSION_CHUNK = 500
# Where a Fusion read without a watermark starts (LastUpdateDate > this).
FUSION_BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)
STEP = "extract"


@dataclass
class ExtractResult:
    """What one extraction read and wrote, per landed entity."""

    source: str
    entity: str
    run_id: str
    read: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    chunks: int = 0
    windows: list[tuple[str | None, str]] = field(default_factory=list)
    watermark: str | None = None

    def __post_init__(self) -> None:
        for counts in (self.read, self.new, self.changed, self.unchanged):
            counts.setdefault(self.entity, 0)  # "read 0" is an answer too

    def summary(self) -> str:
        rows = [f"{e}: read {n}, new {self.new.get(e, 0)}, changed {self.changed.get(e, 0)}, "
                f"unchanged {self.unchanged.get(e, 0)}" for e, n in self.read.items()]
        windows = "; ".join(f"[{s or 'beginning'}, {u}]" for s, u in self.windows) or "-"
        return (f"{self.source}/{self.entity} run {self.run_id}: {self.requests} requests, {self.chunks} chunks; "
                f"window {windows}; watermark {self.watermark or '-'}\n  " + "\n  ".join(rows))


@dataclass(frozen=True)
class _Window:
    """A window to read: aware bounds (``since`` None = from the beginning), where to resume, and whether it keeps
    the entity's checkpoint (windows that follow the watermark do; explicit manual windows do not)."""

    since: datetime | None
    until: datetime
    position: str | None = None
    checkpointed: bool = True


class _RequestCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return response


# ------------------------------------------------------------------------------------------------ PrestaShop


def extract_prestashop(client: Any, staging: Any, entity: str, *, since: datetime | None = None,
                       until: datetime | None = None, run_id: str | None = None, overlap: timedelta | None = None,
                       chunk: int = PRESTASHOP_CHUNK) -> ExtractResult:
    """Land one PrestaShop entity (orders bring their lines, carriers, histories, payments, customers, addresses).

    See the module docstring for the window, the watermark and the guarantees.
    """
    from prestaoracle.prestashop import PrestaShopReader

    if entity not in PRESTASHOP_INCREMENTAL and entity not in PRESTASHOP_FULL:
        known = ", ".join(sorted([*PRESTASHOP_INCREMENTAL, *PRESTASHOP_FULL]))
        raise ValueError(f"unknown PrestaShop entity {entity!r}; extract one of: {known}")
    _require_aware(since=since, until=until)
    run_id = run_id or _run_id()
    result = ExtractResult("prestashop", entity, run_id)
    counter = _RequestCounter()
    client.session.hooks.setdefault("response", []).append(counter)
    reader = PrestaShopReader(client, id_page_size=chunk)
    try:
        if entity in PRESTASHOP_FULL:
            chunks = batched(reader.iter_all(entity), chunk)
            _land_in_chunks(staging, "prestashop", entity, chunks, result, lambda: counter.count, land_kwargs={})
            return result
        tz = shop_timezone(reader)
        shop_now = reader.shop_now(entity)
        if until is not None and until > shop_now:
            log.warning("PrestaShop %s: until %s is after the shop's clock %s; the window ends at the shop's clock",
                        entity, until.isoformat(), shop_now.isoformat())
        end = min(until, shop_now) if until is not None else shop_now
        overlap = PRESTASHOP_OVERLAP if overlap is None else overlap
        for window in _windows(staging, "prestashop", entity, since, end, overlap, tz):
            _prestashop_window(reader, staging, entity, window, tz, result, counter)
        if not result.windows:
            _nothing_to_read(staging, result, counter.count)
    finally:
        client.session.hooks["response"].remove(counter)
    result.watermark = staging.watermark("prestashop", entity)
    return result


def shop_timezone(reader: Any) -> tzinfo:
    """The shop's time zone (connection extra, else ``PS_TIMEZONE``); unknown → ``ConnectionNotConfigured``."""
    from prestaoracle.connections import ConnectionNotConfigured
    from prestaoracle.prestashop.shoptime import ShopTimezoneUnknown

    try:
        return reader.shop_timezone()
    except ShopTimezoneUnknown as exc:
        # A setting only a person can fix: the same class as a missing connection, so tasks fail without retrying.
        raise ConnectionNotConfigured(str(exc)) from None


def _prestashop_window(reader: Any, staging: Any, entity: str, window: _Window, tz: tzinfo, result: ExtractResult,
                       counter: _RequestCounter) -> None:
    cursor = PRESTASHOP_INCREMENTAL[entity]
    result.windows.append((_text(window.since), _text(window.until)))
    pages = reader.iter_changed_pages(entity, window.since, window.until, cursor=cursor, overlap=timedelta(0),
                                      after_id=int(window.position or 0))
    parties: dict[str, set[int]] = {"customers": set(), "addresses": set()}

    def with_family(page: Any) -> tuple[Any, list[tuple[str, list[dict], str]]]:
        batches: list[tuple[str, list[dict], str]] = [(entity, page.records, cursor)]
        if entity == "orders" and page.records:
            batches.extend(_order_family(reader, page.records, parties))
        return page, batches

    # The next page is read while this one is landed: the shop and the database work at the same time.
    for page, batches in _read_ahead(with_family(p) for p in pages):
        with staging.transaction() as tx:
            for name, records, date_key in batches:
                landed = tx.land("prestashop", name, records, date_key=date_key, run_id=result.run_id, date_tz=tz)
                _count(result, name, len(records), landed)
            if window.checkpointed:
                watermarks.save_checkpoint(tx.conn, "prestashop", entity, since=window.since, until=window.until,
                                           position=page.last_id, run_id=result.run_id)
            result.chunks += 1
            _record(tx, result, counter.count)
    _close_window(staging, "prestashop", entity, window, result, lambda: counter.count, tz)


def _order_family(reader: Any, orders: list[dict], parties: dict[str, set[int]]) -> list[tuple[str, list[dict], str]]:
    """The children and parties of a page of orders, one call per 100 parents, never one per order. Customers and
    addresses already read by an earlier page of the run (``parties``, ids only) are not read again."""
    ids = [o["id"] for o in orders]
    out: list[tuple[str, list[dict], str]] = []
    for resource, key in ORDER_CHILDREN:
        out.append((resource, reader.get_by_ids(resource, ids, field=key), "date_add"))
    references = sorted({o["reference"] for o in orders if o.get("reference")})
    out.append(("order_payments", reader.get_by_ids("order_payments", references, field="order_reference"),
                "date_add"))
    customers = {int(o["id_customer"]) for o in orders if o.get("id_customer")} - parties["customers"]
    addresses = {int(o[k]) for o in orders for k in ("id_address_delivery", "id_address_invoice")
                 if o.get(k)} - parties["addresses"]
    for name, wanted in (("customers", customers), ("addresses", addresses)):
        out.append((name, reader.get_by_ids(name, sorted(wanted)), "date_upd"))
        parties[name] |= wanted
    return out


# ------------------------------------------------------------------------------------------------ Oracle Fusion


def extract_oracle(client: Any, staging: Any, entity: str, *, since: datetime | None = None,
                   until: datetime | None = None, run_id: str | None = None, overlap: timedelta | None = None,
                   chunk: int = FUSION_CHUNK, organization: str | Sequence[str] = "M1",
                   source_system: str = "PSHOP") -> ExtractResult:
    """Land one Oracle Fusion entity; changed-since reads use ``LastUpdateDate`` and the entity's watermark.

    See the module docstring for the window, the watermark and the guarantees.
    """
    if entity not in ORACLE_ENTITIES:
        raise ValueError(f"unknown Oracle entity {entity!r}; extract one of: {', '.join(ORACLE_ENTITIES)}")
    _require_aware(since=since, until=until)
    organizations = _organizations(organization)
    run_id = run_id or _run_id()
    result = ExtractResult("oracle", entity, run_id)
    requests_before = client.stats.requests

    def requests() -> int:
        return client.stats.requests - requests_before

    if entity not in ORACLE_INCREMENTAL:
        read, id_key = _oracle_full_reader(client, entity, organizations)
        _land_in_chunks(staging, "oracle", entity, batched(read(), chunk), result, requests,
                        land_kwargs={"id_key": id_key, "date_key": "LastUpdateDate"})
        return result
    path, key = ORACLE_INCREMENTAL[entity]
    end = until or _fusion_now(client, path, key)
    overlap = FUSION_OVERLAP if overlap is None else overlap
    for window in _windows(staging, "oracle", entity, since, end, overlap, None):
        result.windows.append((_text(window.since), _text(window.until)))
        rows = _fusion_rows(client, entity, window, source_system, chunk)
        for part in batched(rows, chunk):
            with staging.transaction() as tx:
                landed = tx.land("oracle", entity, part, id_key=key, date_key="LastUpdateDate", run_id=run_id)
                _count(result, entity, len(part), landed)
                if window.checkpointed:
                    watermarks.save_checkpoint(tx.conn, "oracle", entity, since=window.since, until=window.until,
                                               position=_fusion_position(part[-1], key), run_id=run_id)
                result.chunks += 1
                _record(tx, result, requests())
        _close_window(staging, "oracle", entity, window, result, requests, None)
    if not result.windows:
        _nothing_to_read(staging, result, requests())
    result.watermark = staging.watermark("oracle", entity)
    return result


def _fusion_rows(client: Any, entity: str, window: _Window, source_system: str, page: int) -> Iterator[dict]:
    since = window.since or FUSION_BEGINNING
    after = _parse_fusion_position(window.position) if window.position else None
    limit = max(1, min(page, 500))
    if entity == "sales_orders":
        return client.orders_changed_since(since, window.until, source_system=source_system, with_lines=True,
                                           after=after, limit=limit)
    method = {"shipment_lines": client.shipment_lines_changed_since, "invoices": client.invoices_changed_since,
              "receipts": client.receipts_changed_since}[entity]
    return method(since, window.until, after=after, limit=limit)


def _fusion_position(row: dict, key: str) -> str:
    return f"{row['LastUpdateDate']}|{row[key]}"


def _parse_fusion_position(text: str) -> tuple[str, Any]:
    stamp, _, key = text.rpartition("|")
    return stamp, int(key) if key.lstrip("-").isdigit() else key


def _fusion_now(client: Any, path: str, key: str) -> datetime:
    """The pod's clock, from the ``Date`` header of one small read of ``path``."""
    from prestaoracle.prestashop.shoptime import parse_http_date

    seen: list[str] = []

    def capture(response: Any, *args: Any, **kwargs: Any) -> Any:
        if response.headers.get("Date"):
            seen.append(response.headers["Date"])
        return response

    hooks = client.session.hooks.setdefault("response", [])
    hooks.append(capture)
    try:
        client.get(path, {"limit": 1, "fields": key, "onlyData": "true"})
    finally:
        hooks.remove(capture)
    now = parse_http_date(seen[-1] if seen else None)
    if now is None:
        raise ValueError(f"Oracle answered GET {path} without a readable Date header, so the pod's clock is unknown; "
                         "pass the end of the window explicitly (until=…, or --until on the command line)")
    return now


def _organizations(organization: str | Sequence[str]) -> tuple[str, ...]:
    """Organization codes, once each, in the order given; none at all is a mistake, not an empty read."""
    codes = [organization] if isinstance(organization, str) else list(organization)
    cleaned = tuple(dict.fromkeys(str(c).strip() for c in codes if str(c).strip()))
    if not cleaned:
        raise ValueError("organization: name at least one Oracle inventory organization code (e.g. M1)")
    return cleaned


def _oracle_full_reader(client: Any, entity: str,
                        organizations: Sequence[str]) -> tuple[Callable[[], Iterable[dict]], str]:
    if entity == "onhand":
        def onhand() -> Iterator[dict]:
            for organization in organizations:
                for row in client.onhand_balances(organization):
                    key = f"{row.get('OrganizationCode')}:{row.get('ItemNumber')}:{row.get('SubinventoryCode')}"
                    yield {**row, "_key": key}
        return onhand, "_key"
    if entity == "prices":
        return lambda: _all_prices(client), "PriceListChargeId"
    return lambda: client.search_accounts(), "PartyNumber"


def _all_prices(client: Any) -> Iterator[dict]:
    for price_list in client.price_lists():
        for item in client.price_list_charges(price_list["PriceListId"]):
            for charge in item.get("charges", []) or []:
                yield {**charge, "PriceListId": price_list["PriceListId"], "CurrencyCode": price_list["CurrencyCode"],
                       "Item": item.get("Item")}


# ------------------------------------------------------------------------------------------------ windows


def _windows(staging: Any, source: str, entity: str, since: datetime | None, until: datetime, overlap: timedelta,
             tz: tzinfo | None) -> Iterator[_Window]:
    """The windows this run reads: an explicit ``[since, until]``; or first the window a previous run left
    unfinished (its checkpoint), then the one from the watermark (read again once that window has committed)."""
    if since is not None:
        if since < until:
            yield _Window(since, until, checkpointed=False)
        return
    with staging.engine.connect() as conn:
        checkpoint = watermarks.get_checkpoint(conn.execution_options(**{READ_ONLY: True}), source, entity)
    if checkpoint is not None:
        log.info("%s/%s: resuming the window [%s, %s] after %s", source, entity, checkpoint.since, checkpoint.until,
                 checkpoint.position)
        yield _Window(_instant(checkpoint.since, tz) if checkpoint.since else None, _instant(checkpoint.until, tz),
                      checkpoint.position)
    mark = staging.watermark(source, entity)
    if mark is None:
        yield _Window(None, until)
    elif _instant(mark, tz) < until:
        yield _Window(_instant(mark, tz) - overlap, until)


def _close_window(staging: Any, source: str, entity: str, window: _Window, result: ExtractResult,
                  requests: Callable[[], int], tz: tzinfo | None) -> None:
    """The window is read and committed: move the watermark to ``until`` (unless the window left a gap after the
    watermark) and forget the checkpoint, in one transaction."""
    with staging.transaction() as tx:
        mark = tx.watermark(source, entity)
        # An explicit window (a replay, a backfill) moves the watermark only when it starts at the beginning or
        # at/before the watermark: on a fresh database a replay of the last hour must not hide the history before.
        starts_covered = window.since is None or (mark is not None and window.since <= _instant(mark, tz))
        if starts_covered:
            tx.advance_watermark(source, entity, window.until.astimezone(UTC), run_id=result.run_id)
        else:
            log.warning("%s/%s: the window [%s, %s] starts after the watermark (%s): the watermark stays, so the "
                        "next scheduled run still reads what lies before", source, entity, window.since, window.until,
                        mark or "none yet")
        if window.checkpointed:
            watermarks.clear_checkpoint(tx.conn, source, entity)
        _record(tx, result, requests())


def _nothing_to_read(staging: Any, result: ExtractResult, requests: int) -> None:
    """The watermark is already at the window's end (a rerun within the same second, a backfill behind it): the
    run still leaves its metrics."""
    log.info("%s/%s: the watermark is already at the end of the window; nothing to read", result.source,
             result.entity)
    with staging.transaction() as tx:
        _record(tx, result, requests)


def _instant(text: str, tz: tzinfo | None) -> datetime:
    """A stored watermark or bound as an aware instant. Naive text predates UTC watermarks: a PrestaShop one is
    shop-local (the earliest instant it can mean, so nothing is skipped), anything else UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is not None:
        return value
    if tz is None:
        return value.replace(tzinfo=UTC)
    from prestaoracle.prestashop.shoptime import to_utc

    return to_utc(value, tz)


# ------------------------------------------------------------------------------------------------ landing


def _read_ahead(items: Iterator[T]) -> Iterator[T]:
    """``items``, each next one computed in a worker thread while the caller handles the current one (at most two
    in memory). The generator runs in that one thread only; its exceptions reach the caller at the item they
    replace, so whatever came before is handled first."""
    end = object()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract-ahead")
    try:
        future = pool.submit(next, items, end)
        while True:
            item = future.result()
            if item is end:
                return
            future = pool.submit(next, items, end)
            yield item  # type: ignore[misc]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _land_in_chunks(staging: Any, source: str, entity: str, chunks: Iterable[Sequence[dict]], result: ExtractResult,
                    requests: Callable[[], int], *, land_kwargs: dict[str, Any]) -> None:
    """Entities read in full: one transaction per chunk (no watermark; a rerun rewrites nothing unchanged)."""
    for part in chunks:
        with staging.transaction() as tx:
            landed = tx.land(source, entity, part, run_id=result.run_id, **land_kwargs)
            _count(result, entity, len(part), landed)
            result.chunks += 1
            _record(tx, result, requests())
    if not result.chunks:
        with staging.transaction() as tx:
            _record(tx, result, requests())


def _record(tx: Any, result: ExtractResult, requests: int) -> None:
    """The run's counts so far (the metrics row is replaced at each commit, so a crash leaves what was done)."""
    result.requests = requests
    tx.record_step(result.run_id, STEP, f"{result.source}.{result.entity}", read=sum(result.read.values()),
                   written=sum(result.new.values()) + sum(result.changed.values()),
                   skipped=sum(result.unchanged.values()), requests=requests)


def _count(result: ExtractResult, name: str, read: int, landed: Any) -> None:
    result.read[name] = result.read.get(name, 0) + read
    result.new[name] = result.new.get(name, 0) + landed.new
    result.changed[name] = result.changed.get(name, 0) + landed.changed
    result.unchanged[name] = result.unchanged.get(name, 0) + landed.unchanged


def _require_aware(**values: datetime | None) -> None:
    for name, value in values.items():
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{name} must be an aware datetime (UTC or with an offset), got {value.isoformat()}: "
                             "inside the product every instant is UTC; the shop's local time is handled at the door")


def _text(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(sep=" ")


def _run_id() -> str:
    return f"manual__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"
