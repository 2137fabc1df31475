"""Extraction: read one entity from a source system into the staging database's landing table.

Each run reads the window after the entity's watermark (re-reading an overlap), lands raw payloads (unchanged ones
are not rewritten), and advances the watermark in the same transaction, so it moves only once the batch is
committed. Entities without a change date are read in full, or by the ids of their parents. The same function
serves the CLI, the DAG tasks and the tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# What an ``orders`` extraction also brings, by parent key, so a staged order is complete.
ORDER_CHILDREN = (("order_details", "id_order"), ("order_carriers", "id_order"), ("order_histories", "id_order"))
PRESTASHOP_INCREMENTAL = {"orders": "date_upd", "customers": "date_upd", "addresses": "date_upd",
                          "products": "date_upd", "order_slip": "date_upd"}
PRESTASHOP_FULL = ("stock_availables", "combinations", "order_states", "currencies", "carriers", "countries")
ORACLE_ENTITIES = ("sales_orders", "shipment_lines", "invoices", "receipts", "onhand", "prices", "accounts")
OVERLAP = timedelta(minutes=5)


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
    watermark: str | None = None

    def summary(self) -> str:
        rows = [f"{e}: read {n}, new {self.new.get(e, 0)}, changed {self.changed.get(e, 0)}, "
                f"unchanged {self.unchanged.get(e, 0)}" for e, n in self.read.items()]
        return (f"{self.source}/{self.entity} run {self.run_id}: {self.requests} requests; watermark "
                f"{self.watermark or '-'}\n  " + "\n  ".join(rows))


class _RequestCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return response


def _shop_time(value: str | None) -> datetime | None:
    """PrestaShop dates are shop-local and naive: compare them as such."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=None)


def extract_prestashop(client: Any, staging: Any, entity: str, *, since: datetime | None = None,
                       until: datetime | None = None, run_id: str | None = None) -> ExtractResult:
    """Land one PrestaShop entity (orders bring their lines, carriers, histories, payments, customers, addresses)."""
    from prestaoracle.prestashop import PrestaShopReader

    if entity not in PRESTASHOP_INCREMENTAL and entity not in PRESTASHOP_FULL:
        known = ", ".join(sorted([*PRESTASHOP_INCREMENTAL, *PRESTASHOP_FULL]))
        raise ValueError(f"unknown PrestaShop entity {entity!r}; extract one of: {known}")
    run_id = run_id or _run_id()
    result = ExtractResult("prestashop", entity, run_id)
    counter = _RequestCounter()
    client.session.hooks.setdefault("response", []).append(counter)
    reader = PrestaShopReader(client)
    try:
        batches: list[tuple[str, list[dict], str | None]] = []
        if entity in PRESTASHOP_INCREMENTAL:
            cursor = PRESTASHOP_INCREMENTAL[entity]
            start = since or _shop_time(staging.watermark("prestashop", entity))
            end = until or datetime.now().replace(microsecond=0)
            records = list(reader.iter_changed(entity, start, end, cursor=cursor, overlap=OVERLAP if since is None
                                               else timedelta(0)))
            batches.append((entity, records, cursor))
            if entity == "orders" and records:
                batches.extend(_order_family(reader, records))
        else:
            batches.append((entity, list(reader.iter_all(entity)), None))
        with staging.transaction() as tx:
            for name, records, date_key in batches:
                landed = tx.land("prestashop", name, records, date_key=date_key or "date_upd", run_id=run_id)
                _count(result, name, len(records), landed)
            if entity in PRESTASHOP_INCREMENTAL:
                newest = max((r.get(PRESTASHOP_INCREMENTAL[entity]) or "" for r in batches[0][1]), default="")
                if newest and not newest.startswith("0000"):
                    tx.advance_watermark("prestashop", entity, newest.replace(" ", "T"), run_id=run_id)
            result.requests = counter.count
            tx.record_step(run_id, "extract", f"prestashop.{entity}", read=sum(result.read.values()),
                           written=sum(result.new.values()) + sum(result.changed.values()),
                           skipped=sum(result.unchanged.values()), requests=counter.count)
        result.watermark = staging.watermark("prestashop", entity)
    finally:
        client.session.hooks["response"].remove(counter)
    return result


def _order_family(reader: Any, orders: list[dict]) -> list[tuple[str, list[dict], str | None]]:
    """The children and parties of a batch of orders, one call per 100 parents, never one per order."""
    ids = [o["id"] for o in orders]
    out: list[tuple[str, list[dict], str | None]] = []
    for resource, key in ORDER_CHILDREN:
        out.append((resource, reader.get_by_ids(resource, ids, field=key), "date_add"))
    references = sorted({o["reference"] for o in orders if o.get("reference")})
    out.append(("order_payments", reader.get_by_ids("order_payments", references, field="order_reference"),
                "date_add"))
    customers = sorted({o["id_customer"] for o in orders if o.get("id_customer")}, key=int)
    out.append(("customers", reader.get_by_ids("customers", customers), "date_upd"))
    addresses = sorted({o[k] for o in orders for k in ("id_address_delivery", "id_address_invoice") if o.get(k)},
                       key=int)
    out.append(("addresses", reader.get_by_ids("addresses", addresses), "date_upd"))
    return out


def extract_oracle(client: Any, staging: Any, entity: str, *, since: datetime | None = None,
                   until: datetime | None = None, run_id: str | None = None,
                   organization: str = "M1", source_system: str = "PSHOP") -> ExtractResult:
    """Land one Oracle Fusion entity; changed-since reads use ``LastUpdateDate`` and the entity's watermark."""
    if entity not in ORACLE_ENTITIES:
        raise ValueError(f"unknown Oracle entity {entity!r}; extract one of: {', '.join(ORACLE_ENTITIES)}")
    run_id = run_id or _run_id()
    result = ExtractResult("oracle", entity, run_id)
    requests_before = client.stats.requests
    mark = staging.watermark("oracle", entity)
    start = since or (datetime.fromisoformat(mark) - OVERLAP if mark else datetime(2000, 1, 1, tzinfo=UTC))
    end = until or datetime.now(UTC)
    readers: dict[str, tuple[Callable[[], Iterable[dict]], str]] = {
        "sales_orders": (lambda: client.orders_changed_since(start, end, source_system=source_system,
                                                             with_lines=True), "HeaderId"),
        "shipment_lines": (lambda: client.shipment_lines_changed_since(start, end), "ShipmentLine"),
        "invoices": (lambda: client.invoices_changed_since(start, end), "CustomerTransactionId"),
        "receipts": (lambda: client.receipts_changed_since(start, end), "StandardReceiptId"),
        "onhand": (lambda: client.onhand_balances(organization), ""),
        "prices": (lambda: _all_prices(client), "PriceListChargeId"),
        "accounts": (lambda: client.search_accounts(), "PartyNumber"),
    }
    read, id_key = readers[entity]
    records = [dict(r) for r in read()]
    if entity == "onhand":
        for r in records:
            r["_key"] = f"{r.get('OrganizationCode')}:{r.get('ItemNumber')}:{r.get('SubinventoryCode')}"
        id_key = "_key"
    incremental = entity in ("sales_orders", "shipment_lines", "invoices", "receipts")
    with staging.transaction() as tx:
        landed = tx.land("oracle", entity, records, id_key=id_key, date_key="LastUpdateDate", run_id=run_id)
        _count(result, entity, len(records), landed)
        if incremental:
            newest = max((r.get("LastUpdateDate") or "" for r in records), default="")
            if newest:
                tx.advance_watermark("oracle", entity, newest, run_id=run_id)
        result.requests = client.stats.requests - requests_before
        tx.record_step(run_id, "extract", f"oracle.{entity}", read=len(records),
                       written=landed.new + landed.changed, skipped=landed.unchanged, requests=result.requests)
    result.watermark = staging.watermark("oracle", entity)
    return result


def _all_prices(client: Any) -> Iterable[dict]:
    for price_list in client.price_lists():
        for item in client.price_list_charges(price_list["PriceListId"]):
            for charge in item.get("charges", []) or []:
                yield {**charge, "PriceListId": price_list["PriceListId"], "CurrencyCode": price_list["CurrencyCode"],
                       "Item": item.get("Item")}


def _count(result: ExtractResult, name: str, read: int, landed: Any) -> None:
    result.read[name] = result.read.get(name, 0) + read
    result.new[name] = result.new.get(name, 0) + landed.new
    result.changed[name] = result.changed.get(name, 0) + landed.changed
    result.unchanged[name] = result.unchanged.get(name, 0) + landed.unchanged


def _run_id() -> str:
    return f"manual__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"
