"""Order Import (OEOIMP) for the EBS stand-in: interface tables in, sales orders or error messages out.

On a real instance the product inserts into ``OE_HEADERS_IFACE_ALL`` / ``OE_LINES_IFACE_ALL``, submits the
concurrent program and reads back either the created order (by ORDER_SOURCE_ID + ORIG_SYS_DOCUMENT_REF) or
``ERROR_FLAG='Y'`` and ``OE_PROCESSING_MSGS``. ``run_order_import`` reproduces exactly those observable effects
(rows, flags, messages, the request row) so the product's EBS path can be tested without Oracle; the rules it checks
and the shortcuts it takes are listed in ``contract.py``.

The whole run is one transaction and reads the interface set-wise (a few queries per run, not per order), so
1,000 orders import in well under a second on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prestaoracle.sandbox.ebs import contract
from prestaoracle.sandbox.ebs import schema as s

__all__ = [
    "FailedOrder",
    "ImportMessage",
    "ImportResult",
    "ImportedOrder",
    "run_order_import",
]

_CHUNK = 500  # bound IN lists (Oracle allows 1,000 items; SQLite builds older than 3.32 allow 999 binds)
_H, _L = s.OE_HEADERS_IFACE_ALL, s.OE_LINES_IFACE_ALL


@dataclass(frozen=True)
class ImportMessage:
    """One row of OE_PROCESSING_MSGS (+ its _TL text) as the run wrote it."""

    entity_code: str  # HEADER or LINE
    orig_sys_line_ref: str | None
    attribute_code: str | None
    text: str


@dataclass(frozen=True)
class ImportedOrder:
    order_source_id: int
    orig_sys_document_ref: str
    header_id: int
    order_number: int
    flow_status_code: str
    line_count: int


@dataclass(frozen=True)
class FailedOrder:
    order_source_id: int
    orig_sys_document_ref: str
    messages: tuple[ImportMessage, ...]


@dataclass
class ImportResult:
    """What one Order Import request did; the same facts are in the database for the product to find."""

    request_id: int
    imported: list[ImportedOrder] = field(default_factory=list)
    failed: list[FailedOrder] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def status_code(self) -> str:
        """FND_CONCURRENT_REQUESTS.STATUS_CODE of the request: C normal, G warning."""
        return "G" if self.failed else "C"

    def failed_refs(self) -> dict[str, list[str]]:
        """ORIG_SYS_DOCUMENT_REF -> message texts, for assertions and logs."""
        return {f.orig_sys_document_ref: [m.text for m in f.messages] for f in self.failed}


def _chunks(values: Iterable[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _ref_sort_key(ref: str | None) -> tuple[int, int, str]:
    text = ref or ""
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


# --------------------------------------------------------------------------------------------- reference data


class _Lookups:
    """Everything validation needs, loaded once per run for the ids and codes the pending orders mention."""

    def __init__(self, conn: sa.Connection, headers: Sequence[dict], lines: Sequence[dict], now: datetime) -> None:
        self.sources = {r.order_source_id: r.enabled_flag for r in conn.execute(
            sa.select(s.OE_ORDER_SOURCES.c.order_source_id, s.OE_ORDER_SOURCES.c.enabled_flag))}
        self.orgs = {r.organization_id: r.organization_code for r in conn.execute(
            sa.select(s.MTL_PARAMETERS.c.organization_id, s.MTL_PARAMETERS.c.organization_code))}
        cs = s.WSH_CARRIER_SERVICES
        self.ship_methods = {r.ship_method_code for r in conn.execute(
            sa.select(cs.c.ship_method_code).where(cs.c.enabled_flag == "Y"))}
        self._load_customers(conn, headers)
        self._load_items(conn, headers, lines)
        self._load_prices(conn, now)
        self._load_existing(conn, headers)

    def _load_customers(self, conn: sa.Connection, headers: Sequence[dict]) -> None:
        ca = s.HZ_CUST_ACCOUNTS
        self.accounts: dict[int, str] = {}
        self.account_by_number: dict[str, int] = {}
        ids = {h["sold_to_org_id"] for h in headers if h["sold_to_org_id"] is not None}
        numbers = {h["customer_number"] for h in headers if h["sold_to_org_id"] is None and h["customer_number"]}
        for chunk in _chunks(sorted(ids)):
            self.accounts.update(conn.execute(sa.select(ca.c.cust_account_id, ca.c.status)
                                              .where(ca.c.cust_account_id.in_(chunk))).all())
        for chunk in _chunks(sorted(numbers)):
            for row in conn.execute(sa.select(ca.c.cust_account_id, ca.c.account_number, ca.c.status)
                                    .where(ca.c.account_number.in_(chunk))):
                self.account_by_number[row.account_number] = row.cust_account_id
                self.accounts[row.cust_account_id] = row.status
        su, site = s.HZ_CUST_SITE_USES_ALL, s.HZ_CUST_ACCT_SITES_ALL
        # site_use_id -> (account, SHIP_TO/BILL_TO, active); only the customers' own sites can be valid for them
        self.site_uses: dict[int, tuple[int, str, bool]] = {}
        self.primary_use: dict[tuple[int, str], int] = {}
        for chunk in _chunks(sorted(self.accounts)):
            query = (sa.select(su.c.site_use_id, su.c.site_use_code, su.c.status, su.c.primary_flag,
                               site.c.cust_account_id, site.c.status.label("site_status"))
                     .join(site, site.c.cust_acct_site_id == su.c.cust_acct_site_id)
                     .where(site.c.cust_account_id.in_(chunk)).order_by(su.c.site_use_id))
            for row in conn.execute(query):
                active = row.status == "A" and row.site_status == "A"
                self.site_uses[row.site_use_id] = (row.cust_account_id, row.site_use_code, active)
                if active and row.primary_flag == "Y":
                    self.primary_use.setdefault((row.cust_account_id, row.site_use_code), row.site_use_id)

    def _load_items(self, conn: sa.Connection, headers: Sequence[dict], lines: Sequence[dict]) -> None:
        msi = s.MTL_SYSTEM_ITEMS_B
        orgs = {contract.DEFAULT_SHIP_FROM_ORG_ID}
        orgs.update(h["ship_from_org_id"] for h in headers if h["ship_from_org_id"] is not None)
        orgs.update(line["ship_from_org_id"] for line in lines if line["ship_from_org_id"] is not None)
        ids = {line["inventory_item_id"] for line in lines if line["inventory_item_id"] is not None}
        skus = {line["inventory_item"] for line in lines if line["inventory_item_id"] is None and
                line["inventory_item"]}
        cols = (msi.c.inventory_item_id, msi.c.organization_id, msi.c.segment1, msi.c.primary_uom_code,
                msi.c.inventory_item_status_code, msi.c.enabled_flag, msi.c.customer_order_flag,
                msi.c.customer_order_enabled_flag, msi.c.description)
        self.items_by_id: dict[tuple[int, int], Any] = {}
        self.items_by_sku: dict[tuple[int, str], Any] = {}
        org_filter = msi.c.organization_id.in_(sorted(orgs))
        rows: list[Any] = []
        for chunk in _chunks(sorted(ids)):
            rows += conn.execute(sa.select(*cols).where(org_filter, msi.c.inventory_item_id.in_(chunk))).all()
        for chunk in _chunks(sorted(skus)):
            rows += conn.execute(sa.select(*cols).where(org_filter, msi.c.segment1.in_(chunk))).all()
        for row in rows:
            self.items_by_id[(row.organization_id, row.inventory_item_id)] = row
            self.items_by_sku.setdefault((row.organization_id, row.segment1), row)

    def _load_prices(self, conn: sa.Connection, now: datetime) -> None:
        hb, tl = s.QP_LIST_HEADERS_B, s.QP_LIST_HEADERS_TL
        query = (sa.select(hb.c.list_header_id, hb.c.currency_code, hb.c.active_flag, tl.c.name)
                 .outerjoin(tl, sa.and_(tl.c.list_header_id == hb.c.list_header_id, tl.c.language == contract.LANGUAGE))
                 .where(hb.c.list_type_code == "PRL").order_by(hb.c.list_header_id))
        self.price_lists: dict[int, tuple[str, bool, str]] = {}
        self.list_by_currency: dict[str, int] = {}
        for row in conn.execute(query):
            active = row.active_flag == "Y"
            self.price_lists[row.list_header_id] = (row.currency_code, active, row.name or str(row.list_header_id))
            if active:
                self.list_by_currency.setdefault(row.currency_code, row.list_header_id)
        v = s.QP_PRICE_LIST_LINES_V
        item_ids = sorted({key[1] for key in self.items_by_id})
        self.prices: dict[tuple[int, int], Decimal] = {}
        for chunk in _chunks(item_ids):
            query = (sa.select(v.c.list_header_id, v.c.product_attr_value, v.c.operand)
                     .where(v.c.list_line_type_code == "PLL", v.c.product_attribute_context == "ITEM",
                            v.c.product_attribute == "PRICING_ATTRIBUTE1",
                            v.c.product_attr_value.in_([str(i) for i in chunk]),
                            sa.func.coalesce(v.c.start_date_active, now) <= now,
                            sa.func.coalesce(v.c.end_date_active, now) >= now)
                     .order_by(v.c.list_header_id, v.c.product_attr_value, v.c.product_precedence))
            for row in conn.execute(query):
                self.prices.setdefault((row.list_header_id, int(row.product_attr_value)), Decimal(row.operand))

    def _load_existing(self, conn: sa.Connection, headers: Sequence[dict]) -> None:
        oh = s.OE_ORDER_HEADERS_ALL
        self.existing: dict[tuple[int, str], int] = {}
        for chunk in _chunks(sorted({h["orig_sys_document_ref"] for h in headers})):
            query = sa.select(oh.c.order_source_id, oh.c.orig_sys_document_ref, oh.c.order_number).where(
                oh.c.orig_sys_document_ref.in_(chunk))
            for row in conn.execute(query):
                self.existing[(row.order_source_id, row.orig_sys_document_ref)] = row.order_number


# --------------------------------------------------------------------------------------------- validation


@dataclass
class _Order:
    header: dict
    lines: list[dict]
    messages: list[ImportMessage] = field(default_factory=list)
    bad_lines: set[str | None] = field(default_factory=set)
    values: dict[str, Any] = field(default_factory=dict)  # resolved header values
    line_values: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, str]:
        return self.header["order_source_id"], self.header["orig_sys_document_ref"]

    def error(self, name: str, attribute_code: str | None, line_ref: str | None = None, *, line: bool = False,
              **tokens: Any) -> None:
        text = contract.MESSAGES[name].format(**tokens)
        self.messages.append(ImportMessage("LINE" if line else "HEADER", line_ref, attribute_code, text))
        if line:
            self.bad_lines.add(line_ref)


def _site_use(order: _Order, look: _Lookups, account: int | None, given: int | None, code: str, booked: bool,
              line_ref: str | None = None, inherited: int | None = None) -> int | None:
    """Validate a SHIP_TO/BILL_TO site use id, or default it (header: primary use; line: the header's)."""
    name, attribute = (("OE_INVALID_SHIP_TO", "SHIP_TO_ORG_ID") if code == "SHIP_TO"
                       else ("OE_INVALID_BILL_TO", "INVOICE_TO_ORG_ID"))
    is_line = line_ref is not None
    if account is None:
        # The customer is already in error (and fails the order); its sites cannot be judged.
        return given if given is not None else inherited
    if given is not None:
        use = look.site_uses.get(given)
        if use is None or use[0] != account or use[1] != code or not use[2]:
            order.error(name, attribute, line_ref, line=is_line)
            return None
        return given
    if is_line:
        return inherited
    chosen = look.primary_use.get((account, code))
    if chosen is None and booked:
        order.error(name, attribute)
    return chosen


def _validate(order: _Order, look: _Lookups, duplicated: bool, now: datetime) -> None:
    h = order.header
    source, ref = order.key
    booked = (h["booked_flag"] or "N") == "Y"
    operation = (h["operation_code"] or "INSERT").upper()
    if operation not in ("INSERT", "CREATE"):
        order.error("OE_OPERATION_NOT_SUPPORTED", "OPERATION_CODE", operation=operation)
        return
    if duplicated:
        order.error("OE_DUPLICATE_IFACE_ORDER", "ORIG_SYS_DOCUMENT_REF", order_source_id=source, ref=ref)
    if order.key in look.existing:
        order.error("OE_DUPLICATE_ORDER", "ORIG_SYS_DOCUMENT_REF", order_source_id=source, ref=ref,
                    order_number=look.existing[order.key])
    if look.sources.get(source) != "Y":
        order.error("OE_INVALID_ORDER_SOURCE", "ORDER_SOURCE_ID")
    org_id = h["org_id"] if h["org_id"] is not None else contract.OPERATING_UNIT_ID
    if org_id != contract.OPERATING_UNIT_ID:
        order.error("OE_INVALID_OPERATING_UNIT", "ORG_ID")

    account = h["sold_to_org_id"]
    if account is None and h["customer_number"]:
        account = look.account_by_number.get(h["customer_number"])
        if account is None:
            order.error("OE_CUSTOMER_NUMBER_NOT_FOUND", "SOLD_TO_ORG_ID")
    elif account is None:
        order.error("OE_ATTRIBUTE_REQUIRED", "SOLD_TO_ORG_ID", attribute="Customer")
    elif look.accounts.get(account) != "A":
        order.error("OE_INVALID_CUSTOMER", "SOLD_TO_ORG_ID")
        account = None
    ship_to = _site_use(order, look, account, h["ship_to_org_id"], "SHIP_TO", booked)
    invoice_to = _site_use(order, look, account, h["invoice_to_org_id"], "BILL_TO", booked)

    currency = h["transactional_curr_code"]
    if not currency:
        order.error("OE_ATTRIBUTE_REQUIRED", "TRANSACTIONAL_CURR_CODE", attribute="Currency")
    elif currency not in contract.CURRENCIES:
        order.error("OE_INVALID_CURRENCY", "TRANSACTIONAL_CURR_CODE")
    price_list = h["price_list_id"]
    if price_list is not None:
        known = look.price_lists.get(price_list)
        if known is None or not known[1] or known[0] != currency:
            order.error("OE_INVALID_PRICE_LIST", "PRICE_LIST_ID")
    elif currency:
        price_list = look.list_by_currency.get(currency)
    ship_from = h["ship_from_org_id"] if h["ship_from_org_id"] is not None else contract.DEFAULT_SHIP_FROM_ORG_ID
    if ship_from not in look.orgs:
        order.error("OE_INVALID_WAREHOUSE", "SHIP_FROM_ORG_ID")
    method = h["shipping_method_code"]
    if method is not None and method not in look.ship_methods:
        order.error("OE_INVALID_SHIPPING_METHOD", "SHIPPING_METHOD_CODE")
    if booked and not order.lines:
        order.error("OE_BOOK_NO_LINES", None)
    ordered_date = h["ordered_date"] or now
    order.values = {
        "org_id": org_id, "sold_to_org_id": account, "ship_to_org_id": ship_to, "invoice_to_org_id": invoice_to,
        "price_list_id": price_list, "ship_from_org_id": ship_from, "ordered_date": ordered_date, "booked": booked,
    }
    line_refs = Counter(line["orig_sys_line_ref"] for line in order.lines)
    for line in order.lines:
        _validate_line(order, look, line, line_refs[line["orig_sys_line_ref"]] > 1)


def _validate_line(order: _Order, look: _Lookups, line: dict, duplicated: bool) -> None:
    hv = order.values
    ref = line["orig_sys_line_ref"]

    def error(name: str, attribute_code: str | None, **tokens: Any) -> None:
        order.error(name, attribute_code, ref, line=True, **tokens)

    operation = (line["operation_code"] or "INSERT").upper()
    if operation not in ("INSERT", "CREATE"):
        error("OE_OPERATION_NOT_SUPPORTED", "OPERATION_CODE", operation=operation)
        return
    if not ref:
        error("OE_ATTRIBUTE_REQUIRED", "ORIG_SYS_LINE_REF", attribute="Original System Line Reference")
    elif duplicated:
        error("OE_DUPLICATE_LINE_REF", "ORIG_SYS_LINE_REF", reference=ref)
    ship_from = line["ship_from_org_id"] if line["ship_from_org_id"] is not None else hv["ship_from_org_id"]
    item = None
    if ship_from not in look.orgs:
        error("OE_INVALID_WAREHOUSE", "SHIP_FROM_ORG_ID")
    elif line["inventory_item_id"] is not None:
        item = look.items_by_id.get((ship_from, line["inventory_item_id"]))
    elif line["inventory_item"]:
        item = look.items_by_sku.get((ship_from, line["inventory_item"]))
    else:
        error("OE_ATTRIBUTE_REQUIRED", "INVENTORY_ITEM_ID", attribute="Item")
    if ship_from in look.orgs and (line["inventory_item_id"] is not None or line["inventory_item"]):
        if item is None:
            error("OE_INVALID_ITEM", "INVENTORY_ITEM_ID")
        elif not (item.customer_order_enabled_flag == "Y" and item.customer_order_flag == "Y"
                  and item.enabled_flag == "Y" and item.inventory_item_status_code == "Active"):
            error("OE_ITEM_NOT_ORDERABLE", "INVENTORY_ITEM_ID", item=item.segment1, warehouse=look.orgs[ship_from],
                  status=item.inventory_item_status_code)
            item = None
    qty = line["ordered_quantity"]
    if qty is None:
        error("OE_ATTRIBUTE_REQUIRED", "ORDERED_QUANTITY", attribute="Ordered Quantity")
    elif Decimal(qty) <= 0:
        error("OE_INVALID_QUANTITY", "ORDERED_QUANTITY")
    uom = line["order_quantity_uom"]
    if item is not None and uom is not None and uom != item.primary_uom_code:
        error("OE_INVALID_UOM", "ORDER_QUANTITY_UOM")

    price_list = line["price_list_id"] if line["price_list_id"] is not None else hv["price_list_id"]
    list_price = look.prices.get((price_list, item.inventory_item_id)) if item is not None else None
    calculate = (line["calculate_price_flag"] or "N").upper()
    selling = line["unit_selling_price"]
    if calculate == "Y":
        if item is not None and list_price is None:
            name = look.price_lists.get(price_list, ("", False, str(price_list)))[2]
            error("OE_NO_LIST_PRICE", "UNIT_LIST_PRICE", item=item.segment1, price_list=name)
        selling = list_price
    elif selling is None:
        error("OE_ATTRIBUTE_REQUIRED", "UNIT_SELLING_PRICE", attribute="Unit Selling Price")
    elif Decimal(selling) < 0:
        error("OE_INVALID_PRICE", "UNIT_SELLING_PRICE")
    ship_to = _site_use(order, look, hv["sold_to_org_id"], line["ship_to_org_id"], "SHIP_TO", False, ref or "",
                        hv["ship_to_org_id"])
    invoice_to = _site_use(order, look, hv["sold_to_org_id"], line["invoice_to_org_id"], "BILL_TO", False, ref or "",
                           hv["invoice_to_org_id"])
    if item is None:
        return
    list_price_value = line["unit_list_price"] if line["unit_list_price"] is not None else list_price
    order.line_values.append({
        "line": line, "item": item, "ship_from_org_id": ship_from, "price_list_id": price_list,
        "unit_selling_price": selling, "unit_list_price": list_price_value if list_price_value is not None else selling,
        "calculate_price_flag": calculate, "uom": uom or item.primary_uom_code,
        "ship_to_org_id": ship_to, "invoice_to_org_id": invoice_to,
    })


# --------------------------------------------------------------------------------------------- the program


def _pending(conn: sa.Connection, order_source_id: int | None, ref: str | None) -> tuple[list[dict], list[dict]]:
    conditions = [sa.func.coalesce(_H.c.error_flag, "N") == "N", sa.func.coalesce(_H.c.ready_flag, "Y") == "Y",
                  sa.func.coalesce(_H.c.rejected_flag, "N") == "N"]
    if order_source_id is not None:
        conditions.append(_H.c.order_source_id == order_source_id)
    if ref is not None:
        conditions.append(_H.c.orig_sys_document_ref == ref)
    # Runs do not overlap (run_alone); FOR UPDATE SKIP LOCKED still keeps a run off orders someone else is
    # changing on PostgreSQL and Oracle (SQLite has no row locks and omits it).
    header_query = (sa.select(_H).where(*conditions).order_by(_H.c.order_source_id, _H.c.orig_sys_document_ref)
                    .with_for_update(skip_locked=True))
    headers = [dict(row) for row in conn.execute(header_query).mappings()]
    pending = (sa.select(_H.c.order_source_id, _H.c.orig_sys_document_ref).where(*conditions)).subquery()
    line_query = sa.select(_L).join(pending, sa.and_(pending.c.order_source_id == _L.c.order_source_id,
                                                     pending.c.orig_sys_document_ref == _L.c.orig_sys_document_ref))
    lines = [dict(row) for row in conn.execute(line_query).mappings()]
    return headers, lines


def run_order_import(engine: Engine, request_id: int | None = None, *, order_source_id: int | None = None,
                     orig_sys_document_ref: str | None = None, now: datetime | None = None) -> ImportResult:
    """Run Order Import over every pending interface order (or those of one source / one reference).

    ``request_id`` is the concurrent request to record (a new one is numbered when omitted); ``now`` is the
    database clock (SYSDATE) to stamp, truncated to seconds like an Oracle DATE. Running it again imports nothing
    new: imported orders have left the interface and failed ones carry ERROR_FLAG='Y' until someone resets it.
    """
    started = time.perf_counter()
    now = (now or datetime.now()).replace(microsecond=0, tzinfo=None)
    with engine.begin() as conn:
        s.run_alone(conn, "OEOIMP")
        if request_id is None:
            request_id = s.allocate_ids(conn, "FND_CONCURRENT_REQUESTS_S")
        headers, lines = _pending(conn, order_source_id, orig_sys_document_ref)
        by_key: dict[tuple[int, str], list[dict]] = defaultdict(list)
        for line in lines:
            by_key[(line["order_source_id"], line["orig_sys_document_ref"])].append(line)
        look = _Lookups(conn, headers, lines, now)
        key_count = Counter((h["order_source_id"], h["orig_sys_document_ref"]) for h in headers)
        orders = []
        for header in headers:
            key = (header["order_source_id"], header["orig_sys_document_ref"])
            own = sorted(by_key.get(key, []), key=lambda r: (r["line_number"] is None, r["line_number"] or 0,
                                                             _ref_sort_key(r["orig_sys_line_ref"])))
            order = _Order(header, own)
            _validate(order, look, key_count[key] > 1, now)
            orders.append(order)
        good = [o for o in orders if not o.messages]
        bad = [o for o in orders if o.messages]
        result = ImportResult(request_id)
        result.imported = _create_orders(conn, good, request_id, now)
        _flag_failures(conn, bad, request_id, now)
        result.failed = [FailedOrder(*o.key, tuple(o.messages)) for o in bad]
        _record_request(conn, request_id, result, order_source_id, orig_sys_document_ref, now)
    result.elapsed_s = time.perf_counter() - started
    return result


def _create_orders(conn: sa.Connection, orders: list[_Order], request_id: int, now: datetime) -> list[ImportedOrder]:
    if not orders:
        return []
    n_lines = sum(len(o.line_values) for o in orders)
    header_ids = iter(range(s.allocate_ids(conn, "OE_ORDER_HEADERS_S", len(orders)), 10**18))
    order_numbers = iter(range(s.allocate_ids(conn, "OE_ORDER_NUMBER_S", len(orders)), 10**18))
    line_ids = iter(range(s.allocate_ids(conn, "OE_ORDER_LINES_S", n_lines), 10**18)) if n_lines else iter(())
    n_booked_lines = sum(len(o.line_values) for o in orders if o.values["booked"])
    detail_ids = (iter(range(s.allocate_ids(conn, "WSH_DELIVERY_DETAILS_S", n_booked_lines), 10**18))
                  if n_booked_lines else iter(()))
    headers, lines, details, imported = [], [], [], []
    for order in orders:
        h, hv = order.header, order.values
        header_id, number = next(header_ids), next(order_numbers)
        booked = hv["booked"]
        who = {"created_by": h["created_by"], "creation_date": now, "last_updated_by": h["created_by"],
               "last_update_date": now, "last_update_login": None}
        headers.append({
            "header_id": header_id, "org_id": hv["org_id"],
            "order_type_id": h["order_type_id"] or contract.DEFAULT_ORDER_TYPE_ID, "order_number": number,
            "order_source_id": h["order_source_id"], "orig_sys_document_ref": h["orig_sys_document_ref"],
            "source_document_type_id": None, "ordered_date": hv["ordered_date"], "request_date": hv["ordered_date"],
            "cust_po_number": h["customer_po_number"], "sold_to_org_id": hv["sold_to_org_id"],
            "ship_to_org_id": hv["ship_to_org_id"], "invoice_to_org_id": hv["invoice_to_org_id"],
            "ship_from_org_id": hv["ship_from_org_id"], "price_list_id": hv["price_list_id"],
            "transactional_curr_code": h["transactional_curr_code"], "salesrep_id": h["salesrep_id"],
            "payment_term_id": h["payment_term_id"] or contract.PAYMENT_TERM_ID,
            "shipping_method_code": h["shipping_method_code"], "freight_terms_code": h["freight_terms_code"],
            "booked_flag": "Y" if booked else "N", "booked_date": now if booked else None, "open_flag": "Y",
            "cancelled_flag": "N", "flow_status_code": "BOOKED" if booked else "ENTERED",
            "change_sequence": h["change_sequence"], **who,
        })
        for number_in_order, lv in enumerate(order.line_values, start=1):
            line, item, line_id = lv["line"], lv["item"], next(line_ids)
            lines.append({
                "line_id": line_id, "header_id": header_id, "org_id": hv["org_id"],
                "line_type_id": line["line_type_id"] or contract.DEFAULT_LINE_TYPE_ID, "line_number": number_in_order,
                "shipment_number": 1, "order_source_id": h["order_source_id"],
                "orig_sys_document_ref": h["orig_sys_document_ref"], "orig_sys_line_ref": line["orig_sys_line_ref"],
                "orig_sys_shipment_ref": line["orig_sys_shipment_ref"], "inventory_item_id": item.inventory_item_id,
                "ordered_item": item.segment1, "ordered_quantity": line["ordered_quantity"],
                "order_quantity_uom": lv["uom"], "shipped_quantity": None, "invoiced_quantity": None,
                "unit_selling_price": lv["unit_selling_price"], "unit_list_price": lv["unit_list_price"],
                "calculate_price_flag": lv["calculate_price_flag"], "price_list_id": lv["price_list_id"],
                "ship_from_org_id": lv["ship_from_org_id"], "ship_to_org_id": lv["ship_to_org_id"],
                "invoice_to_org_id": lv["invoice_to_org_id"], "sold_to_org_id": hv["sold_to_org_id"],
                "request_date": line["request_date"] or hv["ordered_date"],
                "schedule_ship_date": line["schedule_ship_date"], "actual_shipment_date": None,
                "shipping_method_code": h["shipping_method_code"], "booked_flag": "Y" if booked else "N",
                "open_flag": "Y", "cancelled_flag": "N",
                "flow_status_code": "AWAITING_SHIPPING" if booked else "ENTERED",
                "invoice_interface_status_code": None, **who,
            })
            if booked:
                details.append({
                    "delivery_detail_id": next(detail_ids), "source_code": "OE", "source_header_id": header_id,
                    "source_line_id": line_id, "source_header_number": str(number),
                    "customer_id": hv["sold_to_org_id"], "inventory_item_id": item.inventory_item_id,
                    "organization_id": lv["ship_from_org_id"], "requested_quantity": line["ordered_quantity"],
                    "requested_quantity_uom": lv["uom"], "shipped_quantity": None, "released_status": "R",
                    "ship_method_code": h["shipping_method_code"], "carrier_id": None, "tracking_number": None,
                    "date_scheduled": line["schedule_ship_date"] or now, **s.stamp(now),
                })
        imported.append(ImportedOrder(h["order_source_id"], h["orig_sys_document_ref"], header_id, number,
                                      "BOOKED" if booked else "ENTERED", len(order.line_values)))
    conn.execute(s.OE_ORDER_HEADERS_ALL.insert(), headers)
    if lines:
        conn.execute(s.OE_ORDER_LINES_ALL.insert(), lines)
    if details:
        conn.execute(s.WSH_DELIVERY_DETAILS.insert(), details)
    keys = [{"k_source": o.key[0], "k_ref": o.key[1]} for o in orders]
    for table in (_L, _H):
        conn.execute(sa.delete(table).where(table.c.order_source_id == sa.bindparam("k_source"),
                                            table.c.orig_sys_document_ref == sa.bindparam("k_ref")), keys)
    return imported


def _flag_failures(conn: sa.Connection, orders: list[_Order], request_id: int, now: datetime) -> None:
    if not orders:
        return
    keys = [{"k_source": o.key[0], "k_ref": o.key[1]} for o in orders]
    conn.execute(sa.update(_H).where(_H.c.order_source_id == sa.bindparam("k_source"),
                                     _H.c.orig_sys_document_ref == sa.bindparam("k_ref"))
                 .values(error_flag="Y", request_id=request_id), keys)
    conn.execute(sa.update(_L).where(_L.c.order_source_id == sa.bindparam("k_source"),
                                     _L.c.orig_sys_document_ref == sa.bindparam("k_ref"))
                 .values(request_id=request_id), keys)
    bad_lines = [{"k_source": o.key[0], "k_ref": o.key[1], "k_line": ref}
                 for o in orders for ref in sorted(o.bad_lines, key=lambda r: r or "") if ref]
    if bad_lines:
        conn.execute(sa.update(_L).where(_L.c.order_source_id == sa.bindparam("k_source"),
                                         _L.c.orig_sys_document_ref == sa.bindparam("k_ref"),
                                         _L.c.orig_sys_line_ref == sa.bindparam("k_line"))
                     .values(error_flag="Y"), bad_lines)
    n_messages = sum(len(o.messages) for o in orders)
    first = s.allocate_ids(conn, "OE_MSG_ID_S", n_messages)
    msgs, texts = [], []
    transaction_id = first
    for order in orders:
        for message in order.messages:
            h = order.header
            who = {"created_by": h["created_by"], "creation_date": now, "last_updated_by": h["created_by"],
                   "last_update_date": now, "last_update_login": None}
            msgs.append({
                "transaction_id": transaction_id, "request_id": request_id, "entity_code": message.entity_code,
                "entity_ref": message.orig_sys_line_ref if message.entity_code == "LINE" else None,
                "entity_id": None, "header_id": None, "line_id": None, "order_source_id": order.key[0],
                "original_sys_document_ref": order.key[1], "original_sys_document_line_ref": message.orig_sys_line_ref,
                "orig_sys_shipment_ref": None, "change_sequence": h["change_sequence"],
                "attribute_code": message.attribute_code,
                # OM writes the text to the _TL table only; the base column stays NULL (readers NVL the two).
                "message_text": None, "type": "ERROR", "message_source_code": "C", "message_status_code": "OPEN",
                "org_id": h["org_id"] if h["org_id"] is not None else contract.OPERATING_UNIT_ID, **who,
            })
            texts.append({"transaction_id": transaction_id, "language": contract.LANGUAGE,
                          "source_lang": contract.LANGUAGE, "message_text": message.text[:2000], **who})
            transaction_id += 1
    conn.execute(s.OE_PROCESSING_MSGS.insert(), msgs)
    conn.execute(s.OE_PROCESSING_MSGS_TL.insert(), texts)


def _record_request(conn: sa.Connection, request_id: int, result: ImportResult, order_source_id: int | None,
                    ref: str | None, now: datetime) -> None:
    req = s.FND_CONCURRENT_REQUESTS
    text = (f"{len(result.imported)} orders imported, {len(result.failed)} failed" if result.imported or result.failed
            else "No orders to import")
    values = {
        "program_application_id": contract.ONT_APPLICATION_ID, "concurrent_program_id": contract.OEOIMP_PROGRAM_ID,
        "phase_code": "C", "status_code": result.status_code,
        "argument_text": ", ".join(str(a) if a is not None else "" for a in
                                   (contract.OPERATING_UNIT_ID, order_source_id, ref, None, "N")),
        "actual_start_date": now, "actual_completion_date": now, "completion_text": text,
        "last_updated_by": contract.SANDBOX_USER_ID, "last_update_date": now,
    }
    # A request the product "submitted" itself (its own REQUEST_ID) is completed in place.
    done = conn.execute(req.update().where(req.c.request_id == request_id).values(**values))
    if done.rowcount == 0:
        conn.execute(req.insert().values(request_id=request_id, requested_by=contract.SANDBOX_USER_ID,
                                         request_date=now, **values))
