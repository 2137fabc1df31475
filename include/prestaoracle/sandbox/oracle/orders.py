"""``salesOrdersForOrderHub`` writes: create (with Oracle's business rules), upsert, submit, cancel, delete a draft.

Order Management does not create customers or items: both must exist, be active, and the order must pass the
account's credit check. Rejections are business errors (HTTP 400 with a message an operator can act on), never
transport errors, so a client can tell "fix the data" from "try again".
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from prestaoracle.sandbox.oracle import contract, store
from prestaoracle.sandbox.oracle.adf import AdfError
from prestaoracle.sandbox.oracle.clock import iso
from prestaoracle.sandbox.oracle.seed import (
    BUSINESS_UNITS,
    CURRENCIES,
    CURRENCY_NAMES,
    ORGANIZATION_NAMES,
    ORGANIZATIONS,
    PAYMENT_TERMS,
    SOURCE_SYSTEMS,
    TRANSACTION_TYPES,
    UOM_NAMES,
)

HEADER_REQUIRED = ("SourceTransactionNumber", "SourceTransactionSystem", "SourceTransactionId",
                   "TransactionalCurrencyCode")
LINE_REQUIRED = ("SourceTransactionLineId", "SourceTransactionLineNumber", "OrderedQuantity")
# What Order Management fills from the key, the customer, the currency and the warehouse (never the caller's value).
HEADER_DERIVED = (
    "OrderKey", "OpenFlag", "TransactionType", "TransactionalCurrencyName", "AppliedCurrencyCode",
    "AppliedCurrencyName", "RequestedFulfillmentOrganizationName", "BuyingPartyPersonFirstName",
    "BuyingPartyPersonLastName", "BuyingPartyPersonMiddleName", "BuyingPartyPersonNameSuffix",
    "BuyingPartyPersonTitle", "PricedOn", "MessageText", "TradeComplianceResultCode", "TradeComplianceResult",
)
HEADER_WRITABLE = {c.name for c in store.ORDERS.columns if not c.name.startswith("_")} - {
    "HeaderId", "OrderNumber", "StatusCode", "Status", "CreationDate", "LastUpdateDate", "TotalAmount",
    "CreatedBy", "LastUpdatedBy", "SubmittedDate", "SubmittedBy", "OnHoldFlag", "CanceledFlag", *HEADER_DERIVED}
LINE_PASSED_ON = ("PaymentTerms", "FOBPoint", "FreightTerms", "ShipmentPriority", "ShippingCarrier", "ShipSetName")
STATUS_NAMES = {"DOO_DRAFT": "Draft", "OPEN": "Processing", "CLOSED": "Closed", "CREATED": "Created",
                "AWAITING_SHIPPING": "Awaiting Shipping", "BACKORDERED": "Backordered", "SHIPPED": "Shipped",
                "AWAITING_BILLING": "Awaiting Billing", "BILLED": "Billed", contract.CANCELED_STATUS: "Canceled"}


def _bad(detail: str, code: str, path: str | None = None) -> AdfError:
    return AdfError(400, detail, error_code=code, path=path)


def _flags_as_numbers(values: dict[str, Any]) -> None:
    """Boolean attributes are stored 0/1 (the store's convention), whatever JSON form the caller used."""
    for name, value in values.items():
        if name.endswith("Flag") and value is not None:
            values[name] = 1 if value in (True, "true", "Y", 1) else 0


def _derived(system: str, source_id: str, currency: str, party: sa.Row, org: tuple[int, str] | None,
             type_code: str, stamp: str) -> dict[str, Any]:
    """The header attributes Order Management fills in itself on create."""
    person = party.PartyType == "PERSON"
    return {
        "OrderKey": f"{system}:{source_id}", "OpenFlag": 1, "TransactionType": TRANSACTION_TYPES.get(type_code),
        "TransactionalCurrencyName": CURRENCY_NAMES.get(currency), "AppliedCurrencyCode": currency,
        "AppliedCurrencyName": CURRENCY_NAMES.get(currency),
        "RequestedFulfillmentOrganizationName": ORGANIZATION_NAMES.get(org[1]) if org else None,
        "BuyingPartyPersonFirstName": party.FirstName if person else None,
        "BuyingPartyPersonLastName": party.LastName if person else None, "PricedOn": stamp,
    }


def stable_unit(seed: int | str, *parts: object) -> float:
    """A number in [0, 1) fixed by its inputs: the lifecycle's decisions replay identically per seed."""
    digest = hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def find_by_key(conn: sa.Connection, key: str) -> sa.Row | None:
    """An order by ``SourceTransactionSystem:SourceTransactionId`` (latest revision) or by ``HeaderId``."""
    t = store.ORDERS
    if ":" in key:
        system, _, source_id = key.partition(":")
        stmt = sa.select(t).where(t.c.SourceTransactionSystem == system, t.c.SourceTransactionId == source_id)
        return conn.execute(stmt.order_by(t.c.SourceTransactionRevisionNumber.desc().nulls_last())).first()
    if key.isdigit():
        return conn.execute(sa.select(t).where(t.c.HeaderId == int(key))).first()
    return None


def _party(conn: sa.Connection, payload: dict) -> sa.Row:
    a = store.ACCOUNTS
    for attr, col in (("BuyingPartyId", a.c.PartyId), ("BuyingPartyNumber", a.c.PartyNumber),
                      ("BuyingPartyName", a.c.OrganizationName)):
        if payload.get(attr) not in (None, ""):
            value = payload[attr]
            row = conn.execute(sa.select(a).where(col == (int(value) if attr == "BuyingPartyId" else str(value))))
            found = row.first()
            if found is None:
                raise _bad(contract.MSG_UNKNOWN_CUSTOMER.format(attr=attr, value=value), contract.CODE_UNKNOWN_CUSTOMER,
                           f"/{attr}")
            if found.Status != "A":
                raise _bad(contract.MSG_INACTIVE_CUSTOMER.format(value=value), contract.CODE_INACTIVE_CUSTOMER,
                           f"/{attr}")
            return found
    raise _bad(contract.MSG_REQUIRED.format(attr="BuyingPartyId, BuyingPartyNumber or BuyingPartyName"),
               contract.CODE_REQUIRED, "/BuyingPartyNumber")


def _organization(payload: dict, path: str) -> tuple[int, str] | None:
    code = payload.get("RequestedFulfillmentOrganizationCode")
    org_id = payload.get("RequestedFulfillmentOrganizationId")
    if code in (None, "") and org_id in (None, ""):
        return None
    by_id = {v: k for k, v in ORGANIZATIONS.items()}
    if code not in (None, "") and code in ORGANIZATIONS:
        return ORGANIZATIONS[code], code
    if org_id not in (None, "") and int(org_id) in by_id:
        return int(org_id), by_id[int(org_id)]
    value = code if code not in (None, "") else org_id
    raise _bad(contract.MSG_UNKNOWN_ORGANIZATION.format(value=value), contract.CODE_UNKNOWN_ORGANIZATION,
               f"{path}/RequestedFulfillmentOrganizationCode")


def _business_unit(payload: dict) -> tuple[int, str]:
    if payload.get("BusinessUnitId") not in (None, ""):
        bu_id = int(payload["BusinessUnitId"])
        if bu_id in BUSINESS_UNITS:
            return bu_id, BUSINESS_UNITS[bu_id]
        value = payload["BusinessUnitId"]
    elif payload.get("BusinessUnitName") not in (None, ""):
        names = {v: k for k, v in BUSINESS_UNITS.items()}
        if payload["BusinessUnitName"] in names:
            return names[payload["BusinessUnitName"]], payload["BusinessUnitName"]
        value = payload["BusinessUnitName"]
    else:
        raise _bad(contract.MSG_REQUIRED.format(attr="BusinessUnitId or BusinessUnitName"), contract.CODE_REQUIRED,
                   "/BusinessUnitId")
    raise _bad(contract.MSG_UNKNOWN_BU.format(value=value), contract.CODE_UNKNOWN_BU, "/BusinessUnitId")


def _price(conn: sa.Connection, line: dict, sku: str, currency: str, path: str) -> tuple[float, float]:
    """(list price, selling price): the source's frozen charge when sent, else the currency's price list."""
    list_price = _list_price(conn, sku, currency)
    for charge in line.get("charges") or []:
        for comp in charge.get("chargeComponents") or []:
            if comp.get("PriceElementUsageCode") == "NET_PRICE" and comp.get("ChargeCurrencyUnitPrice") is not None:
                net = float(comp["ChargeCurrencyUnitPrice"])
                return (list_price if list_price is not None else net), net
    if list_price is None:
        raise _bad(contract.MSG_NO_PRICE.format(sku=sku, currency=currency), contract.CODE_NO_PRICE,
                   f"{path}/ProductNumber")
    return list_price, list_price


def _list_price(conn: sa.Connection, sku: str, currency: str) -> float | None:
    pl, it, ch = store.PRICE_LISTS, store.PRICE_LIST_ITEMS, store.PRICE_LIST_CHARGES
    stmt = (sa.select(ch.c.BasePrice).select_from(pl.join(it, it.c.PriceListId == pl.c.PriceListId)
                                                  .join(ch, ch.c.PriceListItemId == it.c.PriceListItemId))
            .where(pl.c.CurrencyCode == currency, pl.c.StatusCode == "APPROVED", it.c.Item == sku))
    value = conn.execute(stmt).scalar()
    return float(value) if value is not None else None


def _lines(conn: sa.Connection, payload: dict, currency: str) -> list[dict]:
    lines = payload.get("lines")
    if not isinstance(lines, list) or not lines:
        raise _bad(contract.MSG_NO_LINES, contract.CODE_REQUIRED, "/lines")
    items = store.ITEMS
    out, seen = [], set()
    for i, line in enumerate(lines):
        path = f"/lines/{i}"
        if not isinstance(line, dict):
            raise _bad(contract.MSG_REQUIRED.format(attr="lines"), contract.CODE_REQUIRED, path)
        for attr in LINE_REQUIRED:
            if line.get(attr) in (None, ""):
                raise _bad(contract.MSG_REQUIRED.format(attr=attr), contract.CODE_REQUIRED, f"{path}/{attr}")
        if str(line["SourceTransactionLineId"]) in seen:
            raise _bad(contract.MSG_DUPLICATE_LINE.format(value=line["SourceTransactionLineId"]),
                       contract.CODE_DUPLICATE_LINE, f"{path}/SourceTransactionLineId")
        seen.add(str(line["SourceTransactionLineId"]))
        org = _organization(line, path) or _organization(payload, "") or (ORGANIZATIONS["M1"], "M1")
        sku = line.get("ProductNumber")
        stmt = sa.select(items).where(items.c.OrganizationCode == org[1])
        if sku not in (None, ""):
            item = conn.execute(stmt.where(items.c.ItemNumber == str(sku))).first()
        elif line.get("ProductId") not in (None, ""):
            item = conn.execute(stmt.where(items.c.ItemId == int(line["ProductId"]))).first()
            sku = line["ProductId"]
        else:
            raise _bad(contract.MSG_REQUIRED.format(attr="ProductNumber"), contract.CODE_REQUIRED,
                       f"{path}/ProductNumber")
        if item is None:
            raise _bad(contract.MSG_UNKNOWN_ITEM.format(sku=sku, org=org[1]), contract.CODE_UNKNOWN_ITEM,
                       f"{path}/ProductNumber")
        if item.ItemStatusValue != "Active" or not item.CustomerOrderEnabledFlag:
            raise _bad(contract.MSG_INACTIVE_ITEM.format(sku=sku, org=org[1]), contract.CODE_INACTIVE_ITEM,
                       f"{path}/ProductNumber")
        try:
            qty = float(line["OrderedQuantity"])
        except (TypeError, ValueError):
            qty = -1
        if qty <= 0:
            raise _bad(contract.MSG_BAD_QUANTITY.format(value=line["OrderedQuantity"]), contract.CODE_BAD_QUANTITY,
                       f"{path}/OrderedQuantity")
        list_price, selling = _price(conn, line, item.ItemNumber, currency, path)
        out.append({"line": line, "item": item, "org": org, "qty": qty, "list": list_price, "price": selling})
    return out


def _credit_check(conn: sa.Connection, party: sa.Row, total: float, exclude_header: int | None = None) -> None:
    o = store.ORDERS
    stmt = sa.select(sa.func.coalesce(sa.func.sum(o.c.TotalAmount), 0)).where(
        o.c.BuyingPartyId == party.PartyId, o.c.StatusCode.in_(("OPEN", "DOO_DRAFT")))
    if exclude_header is not None:
        stmt = stmt.where(o.c.HeaderId != exclude_header)
    exposure = float(conn.execute(stmt).scalar() or 0)
    if party.CreditLimit is not None and exposure + total > float(party.CreditLimit):
        raise _bad(contract.MSG_CREDIT_LIMIT.format(party=party.PartyNumber, limit=party.CreditLimit,
                                                    exposure=round(exposure + total, 2)),
                   contract.CODE_CREDIT_LIMIT, "/BuyingPartyNumber")


def create(conn: sa.Connection, payload: Any, now: datetime, seed: int, user: str,
           upsert: bool = False) -> tuple[sa.Row, bool]:
    """Validate and store a source order; returns (header row, created). Raises AdfError with Oracle's answer."""
    if not isinstance(payload, dict):
        raise _bad(contract.MSG_BAD_PAYLOAD, contract.CODE_REQUIRED)
    for attr in HEADER_REQUIRED:
        if payload.get(attr) in (None, ""):
            raise _bad(contract.MSG_REQUIRED.format(attr=attr), contract.CODE_REQUIRED, f"/{attr}")
    system, source_id = str(payload["SourceTransactionSystem"]), str(payload["SourceTransactionId"])
    if system not in SOURCE_SYSTEMS:
        raise _bad(contract.MSG_UNKNOWN_SOURCE_SYSTEM.format(value=system), contract.CODE_UNKNOWN_SOURCE_SYSTEM,
                   "/SourceTransactionSystem")
    currency = str(payload["TransactionalCurrencyCode"])
    if currency not in CURRENCIES:
        raise _bad(contract.MSG_UNKNOWN_CURRENCY.format(value=currency), contract.CODE_UNKNOWN_CURRENCY,
                   "/TransactionalCurrencyCode")
    existing = find_by_key(conn, f"{system}:{source_id}")
    if payload.get(contract.CANCEL_REQUEST_ATTRIBUTE) not in (None, ""):
        if existing is None:
            raise _bad(contract.MSG_CANCEL_UNKNOWN.format(key=f"{system}:{source_id}"), contract.CODE_CANCEL_UNKNOWN,
                       "/SourceTransactionId")
        return cancel(conn, existing, payload, now, user), False
    if existing is not None and not upsert:
        raise _bad(contract.MSG_DUPLICATE_ORDER.format(system=system, id=source_id), contract.CODE_DUPLICATE_ORDER,
                   "/SourceTransactionId")
    if existing is not None:
        key = f"{system}:{source_id}"
        if existing.StatusCode == "CLOSED":
            raise _bad(contract.MSG_CLOSED_ORDER.format(key=key), contract.CODE_CLOSED_ORDER)
        if existing.StatusCode == contract.CANCELED_STATUS:
            raise _bad(contract.MSG_CANCELED_ORDER.format(key=key), contract.CODE_CANCELED_ORDER)
        if _has_shipped(conn, existing.HeaderId):
            raise _bad(contract.MSG_ORDER_IN_FULFILLMENT.format(key=key), contract.CODE_ORDER_IN_FULFILLMENT)
    bu_id, bu_name = _business_unit(payload)
    header_org = _organization(payload, "")
    party = _party(conn, payload)
    lines = _lines(conn, payload, currency)
    total = round(sum(x["qty"] * x["price"] for x in lines), 2)
    _credit_check(conn, party, total, exclude_header=existing.HeaderId if existing is not None else None)
    submitted = bool(payload.get("SubmittedFlag"))
    stamp = iso(now)
    values = {k: v for k, v in payload.items() if k in HEADER_WRITABLE and not isinstance(v, list | dict)}
    _flags_as_numbers(values)
    for flag in ("FreezePriceFlag", "FreezeShippingChargeFlag", "FreezeTaxFlag", "PartialShipAllowedFlag"):
        values.setdefault(flag, 0)
    values.setdefault("PaymentTerms", PAYMENT_TERMS)
    values.setdefault("RequestingBusinessUnitId", bu_id)
    values.setdefault("RequestingBusinessUnitName", bu_name)
    type_code = payload.get("TransactionTypeCode") or "STD"
    values.update(_derived(system, source_id, currency, party, header_org, type_code, stamp))
    values.update(
        BusinessUnitId=bu_id, BusinessUnitName=bu_name, BuyingPartyId=party.PartyId,
        BuyingPartyNumber=party.PartyNumber, BuyingPartyName=party.OrganizationName,
        TransactionTypeCode=type_code, TotalAmount=total,
        RequestedFulfillmentOrganizationId=header_org[0] if header_org else None,
        RequestedFulfillmentOrganizationCode=header_org[1] if header_org else None,
        StatusCode="OPEN" if submitted else "DOO_DRAFT", LastUpdatedBy=user, LastUpdateDate=stamp,
        SubmittedFlag=1 if submitted else 0,
    )
    values["Status"] = STATUS_NAMES[values["StatusCode"]]
    if existing is None:
        header_id = store.next_ids(conn, "HeaderId")[0]
        values.update(HeaderId=header_id, OrderNumber=str(store.next_ids(conn, "OrderNumber")[0]),
                      CreatedBy=user, CreationDate=stamp, OnHoldFlag=0, CanceledFlag=0)
        if submitted:
            values.update(SubmittedDate=stamp, SubmittedBy=user)
            values.update(_schedule_first_step(seed, header_id, now))
        conn.execute(store.ORDERS.insert().values(**values))
    else:
        header_id = existing.HeaderId
        if submitted and not existing.SubmittedFlag:
            values.update(SubmittedDate=stamp, SubmittedBy=user, **_schedule_first_step(seed, header_id, now))
        conn.execute(store.ORDERS.update().where(store.ORDERS.c.HeaderId == header_id).values(**values))
        conn.execute(store.ORDER_LINES.delete().where(store.ORDER_LINES.c.HeaderId == header_id))
        conn.execute(store.ORDER_PARTIES.delete().where(store.ORDER_PARTIES.c.HeaderId == header_id))
    _insert_lines(conn, header_id, lines, {**payload, **values}, submitted, stamp)
    _insert_parties(conn, header_id, payload, party)
    return conn.execute(sa.select(store.ORDERS).where(store.ORDERS.c.HeaderId == header_id)).one(), existing is None


def _has_shipped(conn: sa.Connection, header_id: int) -> bool:
    t = store.ORDER_LINES
    return conn.execute(sa.select(sa.func.count()).select_from(t).where(
        t.c.HeaderId == header_id,
        sa.or_(t.c.ShippedQuantity > 0, t.c.StatusCode.in_(("SHIPPED", "AWAITING_BILLING", "BILLED", "CLOSED"))),
    )).scalar_one() > 0


def _schedule_first_step(seed: int, header_id: int, now: datetime) -> dict[str, str]:
    minutes = contract.SHIP_AFTER_MINUTES[0] + stable_unit(seed, header_id, "ship") * (
        contract.SHIP_AFTER_MINUTES[1] - contract.SHIP_AFTER_MINUTES[0])
    return {"_Step": "ship", "_NextStepAt": iso(now + timedelta(minutes=minutes))}


def _insert_lines(conn: sa.Connection, header_id: int, lines: list[dict], header: dict, submitted: bool,
                  stamp: str) -> None:
    """The order's lines; ``header`` is the stored header (what a line does not say, it takes from there)."""
    line_ids = store.next_ids(conn, "LineId", len(lines))
    fulfill_ids = store.next_ids(conn, "FulfillLineId", len(lines))
    rows = []
    for n, (x, line_id, fulfill_id) in enumerate(zip(lines, line_ids, fulfill_ids, strict=True), start=1):
        line, item = x["line"], x["item"]
        status = "AWAITING_SHIPPING" if submitted else "CREATED"
        rows.append({
            "LineId": line_id, "HeaderId": header_id, "FulfillLineId": fulfill_id, "LineNumber": n,
            "DisplayLineNumber": str(n), "SourceTransactionLineId": str(line["SourceTransactionLineId"]),
            "SourceTransactionLineNumber": str(line["SourceTransactionLineNumber"]),
            "SourceTransactionScheduleId": str(line.get("SourceTransactionScheduleId") or "1"),
            "SourceScheduleNumber": str(line.get("SourceScheduleNumber") or "1"),
            "TransactionCategoryCode": line.get("TransactionCategoryCode") or "ORDER",
            "ProductId": item.ItemId, "ProductNumber": item.ItemNumber, "ProductDescription": item.ItemDescription,
            "OrderedQuantity": x["qty"], "OrderedUOMCode": line.get("OrderedUOMCode") or item.PrimaryUOMCode,
            "UnitListPrice": x["list"], "UnitSellingPrice": x["price"],
            "ExtendedAmount": round(x["qty"] * x["price"], 2), "ShippedQuantity": 0, "CanceledQuantity": 0,
            "StatusCode": status, "Status": STATUS_NAMES[status],
            "RequestedShipDate": line.get("RequestedShipDate") or header.get("RequestedShipDate"),
            "CreationDate": stamp, "LastUpdateDate": stamp,
            "OrderedUOM": UOM_NAMES.get(line.get("OrderedUOMCode") or item.PrimaryUOMCode),
            "TransactionLineType": line.get("TransactionLineType") or "Buy",
            "TransactionLineTypeCode": line.get("TransactionLineTypeCode") or "ORA_BUY",
            "RequestedFulfillmentOrganizationId": x["org"][0], "RequestedFulfillmentOrganizationCode": x["org"][1],
            "RequestedFulfillmentOrganizationName": ORGANIZATION_NAMES.get(x["org"][1]),
            **{k: line.get(k) or header.get(k) for k in LINE_PASSED_ON},
        })
    conn.execute(store.ORDER_LINES.insert(), rows)


def _insert_parties(conn: sa.Connection, header_id: int, payload: dict, party: sa.Row) -> None:
    cols = {c.name for c in store.ORDER_PARTIES.columns}
    rows = []
    for role, accessor in (("billTo", "billToCustomer"), ("shipTo", "shipToCustomer")):
        items = payload.get(accessor) or [{}]
        for item in items if isinstance(items, list) else [items]:
            row = {k: v for k, v in (item or {}).items() if k in cols and not k.startswith("_")}
            row.setdefault("PartyId", party.PartyId)
            row.setdefault("PartyName", party.OrganizationName)
            row.setdefault("CustomerAccountId", party.CustomerAccountId)
            row.setdefault("AccountNumber", party.AccountNumber)
            if role == "billTo":
                row.setdefault("SiteUseId", party.SiteUseId)
            rows.append({**row, "_Id": store.next_ids(conn, "PartyRow")[0], "_role": role, "HeaderId": header_id})
    conn.execute(store.ORDER_PARTIES.insert(), [{c: r.get(c) for c in cols} for r in rows])


def patch(conn: sa.Connection, row: sa.Row, payload: Any, now: datetime, seed: int, user: str) -> sa.Row:
    """PATCH of a header: submit a draft (``SubmittedFlag: true``) or change a writable attribute."""
    if not isinstance(payload, dict):
        raise _bad(contract.MSG_BAD_PAYLOAD, contract.CODE_REQUIRED)
    bad = [k for k in payload if k not in HEADER_WRITABLE or k in contract.ORDER_PATCH_NOT_UPDATABLE]
    if bad:
        raise _bad(contract.MSG_NOT_UPDATABLE.format(attr=bad[0]), contract.CODE_NOT_UPDATABLE, f"/{bad[0]}")
    if row.StatusCode == "CLOSED":
        key = f"{row.SourceTransactionSystem}:{row.SourceTransactionId}"
        raise _bad(contract.MSG_CLOSED_ORDER.format(key=key), contract.CODE_CLOSED_ORDER)
    if row.StatusCode == contract.CANCELED_STATUS:
        key = f"{row.SourceTransactionSystem}:{row.SourceTransactionId}"
        raise _bad(contract.MSG_CANCELED_ORDER.format(key=key), contract.CODE_CANCELED_ORDER)
    stamp = iso(now)
    values: dict[str, Any] = {k: v for k, v in payload.items() if not isinstance(v, list | dict)}
    _flags_as_numbers(values)
    values.update(LastUpdateDate=stamp, LastUpdatedBy=user)
    if payload.get("SubmittedFlag") in (True, "true", "Y", 1) and not row.SubmittedFlag:
        values.update(SubmittedFlag=1, SubmittedDate=stamp, SubmittedBy=user, StatusCode="OPEN", Status="Processing",
                      **_schedule_first_step(seed, row.HeaderId, now))
        conn.execute(store.ORDER_LINES.update().where(store.ORDER_LINES.c.HeaderId == row.HeaderId)
                     .values(StatusCode="AWAITING_SHIPPING", Status=STATUS_NAMES["AWAITING_SHIPPING"],
                             LastUpdateDate=stamp))
    elif "SubmittedFlag" in values:
        values["SubmittedFlag"] = row.SubmittedFlag
    conn.execute(store.ORDERS.update().where(store.ORDERS.c.HeaderId == row.HeaderId).values(**values))
    return conn.execute(sa.select(store.ORDERS).where(store.ORDERS.c.HeaderId == row.HeaderId)).one()


def cancel(conn: sa.Connection, row: sa.Row, payload: dict, now: datetime, user: str) -> sa.Row:
    """A cancelling revision (``contract.CANCEL_REQUEST_ATTRIBUTE`` set): the whole order and its lines CANCELED.

    Nothing may have shipped (that needs a return); the revision number must move up; a cancelled order stays as it
    is (a repeated cancellation is a no-op). The lifecycle stops: no shipment, invoice or receipt follows.
    """
    key = f"{row.SourceTransactionSystem}:{row.SourceTransactionId}"
    if row.StatusCode == contract.CANCELED_STATUS:
        return row
    if row.StatusCode == "CLOSED" or _has_shipped(conn, row.HeaderId):
        raise _bad(contract.MSG_CANCEL_SHIPPED.format(key=key), contract.CODE_CANCEL_SHIPPED)
    current = row.SourceTransactionRevisionNumber or 1
    value = payload.get("SourceTransactionRevisionNumber")
    if value in (None, ""):
        raise _bad(contract.MSG_REQUIRED.format(attr="SourceTransactionRevisionNumber"), contract.CODE_REQUIRED,
                   "/SourceTransactionRevisionNumber")
    try:
        revision = int(value)
    except (TypeError, ValueError):
        revision = 0
    if revision <= current:
        raise _bad(contract.MSG_CANCEL_REVISION.format(value=value, key=key, current=current),
                   contract.CODE_CANCEL_REVISION, "/SourceTransactionRevisionNumber")
    stamp = iso(now)
    status = contract.CANCELED_STATUS
    conn.execute(store.ORDERS.update().where(store.ORDERS.c.HeaderId == row.HeaderId).values(
        StatusCode=status, Status=STATUS_NAMES[status], CanceledFlag=1, OpenFlag=0,
        CancelReasonCode=str(payload[contract.CANCEL_REQUEST_ATTRIBUTE]),
        CancelReason=payload.get("CancelReason"), RequestedCancelDate=stamp, SourceTransactionRevisionNumber=revision,
        LastUpdateDate=stamp, LastUpdatedBy=user, _Step=None, _NextStepAt=None))
    lines = store.ORDER_LINES
    conn.execute(lines.update().where(lines.c.HeaderId == row.HeaderId).values(
        StatusCode=status, Status=STATUS_NAMES[status], CanceledQuantity=lines.c.OrderedQuantity,
        LastUpdateDate=stamp))
    return conn.execute(sa.select(store.ORDERS).where(store.ORDERS.c.HeaderId == row.HeaderId)).one()


def delete(conn: sa.Connection, row: sa.Row) -> None:
    if row.StatusCode != "DOO_DRAFT":
        raise _bad(contract.MSG_DELETE_NOT_DRAFT.format(number=row.OrderNumber), contract.CODE_DELETE_NOT_DRAFT)
    for table in (store.ORDER_LINES, store.ORDER_PARTIES):
        conn.execute(table.delete().where(table.c.HeaderId == row.HeaderId))
    conn.execute(store.ORDERS.delete().where(store.ORDERS.c.HeaderId == row.HeaderId))
