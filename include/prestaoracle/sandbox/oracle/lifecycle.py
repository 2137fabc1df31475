"""The living order: what happens to a submitted order as the sandbox clock moves.

OPEN order, lines AWAITING_SHIPPING → lines SHIPPED (shipment lines with carrier and tracking number; lines that
stock cannot cover are BACKORDERED and ship later, some orders ship in two parts) → AWAITING_BILLING → BILLED with a
receivables invoice whose lines carry the order number → for most orders a standard receipt pays the invoice and
the order CLOSES. A shop order the seeded receivables history already billed (``receivables_seed``) keeps that
invoice: it gets the order's lines, and a receipt only for a balance still open. On-hand falls by what ships; price
lists change a little every day. Every change stamps ``LastUpdateDate`` with the sandbox clock. All choices are
fixed by the seed, so runs replay.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from prestaoracle.sandbox.oracle import clock, contract, receivables_seed, store
from prestaoracle.sandbox.oracle.orders import STATUS_NAMES, stable_unit
from prestaoracle.sandbox.oracle.seed import ORGANIZATION_NAMES, ORGANIZATIONS, PAYMENT_TERMS, TRANSACTION_TYPES

CARRIERS = (("UPS", "1Z{n:016d}"), ("DHL Express", "JD{n:018d}"), ("La Poste Colissimo", "6A{n:011d}"))


def catch_up(conn: sa.Connection, seed: int, now: datetime) -> int:
    """Run every lifecycle step due by ``now`` in time order; returns how many steps ran.

    One worker catches up at a time: two running steps together would lock orders, stock and counters in
    different orders and deadlock each other. Most requests find nothing due and take no lock at all.
    """
    if not _anything_due(conn, now):
        return 0
    store.lock(conn, "catch_up")
    o = store.ORDERS
    done = 0
    while True:
        due = list(conn.execute(
            sa.select(o).where(o.c._NextStepAt.is_not(None), o.c._NextStepAt <= clock.iso(now))
            .order_by(o.c._NextStepAt, o.c.HeaderId).limit(200)))
        if not due:
            break
        for order in due:
            # Claim the step first: another worker catching up at the same moment then updates no row and skips
            # it, so no step runs twice (a second invoice, a second shipment).
            claimed = conn.execute(o.update().where(
                o.c.HeaderId == order.HeaderId, o.c._Step == order._Step, o.c._NextStepAt == order._NextStepAt,
            ).values(_NextStepAt=None)).rowcount
            if claimed != 1:
                continue
            at = clock.parse(order._NextStepAt)
            STEPS[order._Step](conn, seed, order, at)
            done += 1
    _change_prices(conn, seed, now)
    return done


def _anything_due(conn: sa.Connection, now: datetime) -> bool:
    o = store.ORDERS
    step = conn.execute(sa.select(o.c.HeaderId).where(o.c._NextStepAt.is_not(None), o.c._NextStepAt <= clock.iso(now))
                        .limit(1)).first()
    if step is not None:
        return True
    settings = store.SETTINGS
    last = conn.execute(sa.select(settings.c.value).where(settings.c.name == "prices_changed_through")).scalar()
    return last is None or now - clock.parse(last) >= timedelta(days=1)


def _set(conn: sa.Connection, order: sa.Row, at: datetime, step: str | None, delay_minutes: float = 0,
         **values: object) -> None:
    next_at = clock.iso(at + timedelta(minutes=delay_minutes)) if step else None
    conn.execute(store.ORDERS.update().where(store.ORDERS.c.HeaderId == order.HeaderId).values(
        _Step=step, _NextStepAt=next_at, LastUpdateDate=clock.iso(at), **values))


def _lines(conn: sa.Connection, order: sa.Row, *statuses: str) -> list[sa.Row]:
    t = store.ORDER_LINES
    return list(conn.execute(sa.select(t).where(t.c.HeaderId == order.HeaderId, t.c.StatusCode.in_(statuses))
                             .order_by(t.c.LineNumber)))


def _customer(conn: sa.Connection, order: sa.Row) -> sa.Row:
    """The buying party's account: shipping and AR show its name and numbers."""
    a = store.ACCOUNTS
    return conn.execute(sa.select(a).where(a.c.PartyId == order.BuyingPartyId)).one()


def _available(conn: sa.Connection, sku: str, org: str) -> sa.Row | None:
    t = store.ONHAND
    return conn.execute(sa.select(t).where(t.c.ItemNumber == sku, t.c.OrganizationCode == org)).first()


def _ship(conn: sa.Connection, seed: int, order: sa.Row, at: datetime) -> None:
    """Pick, pack and ship what stock allows; a seeded few orders ship their last line in a second parcel."""
    org = order.RequestedFulfillmentOrganizationCode or "M1"
    backordered = _lines(conn, order, "BACKORDERED")
    if backordered:
        _restock(conn, org, at, backordered)
    lines = _lines(conn, order, "AWAITING_SHIPPING", "BACKORDERED")
    split = len(lines) > 1 and stable_unit(seed, order.HeaderId, "split") < contract.SPLIT_SHIPMENT_RATE
    if split and not _lines(conn, order, "SHIPPED"):
        lines = lines[:-1]
    shippable = []
    for line in lines:
        onhand = _available(conn, line.ProductNumber, org)
        remaining = line.OrderedQuantity - (line.ShippedQuantity or 0)
        have = max(0.0, (onhand.PrimaryQuantity if onhand else 0) - (onhand._Reserved if onhand else 0))
        qty = min(remaining, have)
        if qty <= 0:
            conn.execute(store.ORDER_LINES.update().where(store.ORDER_LINES.c.LineId == line.LineId).values(
                StatusCode="BACKORDERED", Status=STATUS_NAMES["BACKORDERED"], LastUpdateDate=clock.iso(at)))
            continue
        shippable.append((line, qty, remaining, onhand))
    if shippable:
        _make_shipment(conn, seed, order, at, org, shippable)
    open_lines = _lines(conn, order, "AWAITING_SHIPPING", "BACKORDERED")
    if open_lines:
        backordered = any(line.StatusCode == "BACKORDERED" for line in open_lines)
        _set(conn, order, at, "ship", contract.BACKORDER_RETRY_MINUTES if backordered else contract.SPLIT_GAP_MINUTES)
    else:
        _set(conn, order, at, "interface", contract.AWAIT_BILLING_AFTER_MINUTES)


def _make_shipment(conn: sa.Connection, seed: int, order: sa.Row, at: datetime, org: str,
                   shippable: list[tuple[sa.Row, float, float, sa.Row]]) -> None:
    stamp = clock.iso(at)
    shipment_id = store.next_ids(conn, "ShipmentId")[0]
    carrier, pattern = CARRIERS[int(stable_unit(seed, order.HeaderId, shipment_id, "carrier") * len(CARRIERS))]
    tracking = pattern.format(n=int(stable_unit(seed, shipment_id, "tracking") * 10**11))
    method = f"{carrier} {contract.SHIPPING_SERVICE_LEVEL}"
    customer = _customer(conn, order)
    org_values = {"OrganizationCode": org, "OrganizationId": ORGANIZATIONS.get(org),
                  "OrganizationName": ORGANIZATION_NAMES.get(org)}
    conn.execute(store.SHIPMENTS.insert().values(
        ShipmentId=shipment_id, DeliveryId=shipment_id, Shipment=str(shipment_id), ShipmentStatusCode="CLOSED",
        ShipmentStatus=contract.SHIPMENT_STATUS_NAMES["CLOSED"], Carrier=carrier, ShipMethod=method,
        ShippingMethod=method, ServiceLevel=contract.SHIPPING_SERVICE_LEVEL, ModeOfTransport=contract.SHIPPING_MODE,
        Waybill=tracking, ActualShipDate=stamp, ActualShipDateTime=stamp, InitialPickupDate=stamp,
        ShipToCustomer=order.BuyingPartyName, ShipToCustomerNumber=order.BuyingPartyNumber, CreationDate=stamp,
        LastUpdateDate=stamp, **org_values))
    line_ids = store.next_ids(conn, "ShipmentLine", len(shippable))
    for (line, qty, remaining, onhand), sl_id in zip(shippable, line_ids, strict=True):
        full = qty >= remaining
        conn.execute(store.SHIPMENT_LINES.insert().values(
            ShipmentLine=sl_id, Order=order.OrderNumber, OrderLine=str(line.LineNumber), OrderSchedule="1",
            OrderTypeCode=order.TransactionTypeCode, SourceOrder=order.SourceTransactionNumber,
            SourceOrderId=order.SourceTransactionId, SourceOrderLine=line.SourceTransactionLineNumber,
            SourceOrderLineId=line.SourceTransactionLineId, SourceOrderFulfillmentLineId=line.FulfillLineId,
            InventoryItemId=line.ProductId, Item=line.ProductNumber, RequestedQuantity=remaining,
            RequestedQuantityUOMCode=line.OrderedUOMCode, ShippedQuantity=qty,
            BackorderedQuantity=0 if full else remaining - qty, ShipmentId=shipment_id, Shipment=str(shipment_id),
            LineStatusCode="C", LineStatus="Shipped", TrackingNumber=tracking, Carrier=carrier, ActualShipDate=stamp,
            ScheduledShipDate=stamp, LastUpdateDate=stamp, CreationDate=stamp, **org_values,
            OrderType=TRANSACTION_TYPES.get(order.TransactionTypeCode), SourceOrderFulfillmentLine=str(line.LineNumber),
            ItemDescription=line.ProductDescription, SourceSubinventory=onhand.SubinventoryCode,
            ShipmentStatusCode="CLOSED", PendingQuantity=0, PickedQuantity=qty, StagedQuantity=0,
            CancelledQuantity=0, CustomerPONumber=order.CustomerPONumber, ShipToPartyId=order.BuyingPartyId,
            ShipToCustomer=order.BuyingPartyName, ShipToCustomerNumber=order.BuyingPartyNumber,
            SoldToPartyId=order.BuyingPartyId, SoldToCustomer=order.BuyingPartyName,
            SoldToCustomerNumber=order.BuyingPartyNumber, BillToPartyId=order.BuyingPartyId,
            BillToCustomer=order.BuyingPartyName, BillToCustomerNumber=customer.AccountNumber, ShippingMethod=method,
            CurrencyCode=order.TransactionalCurrencyCode, UnitPrice=line.UnitListPrice,
            SellingPrice=line.UnitSellingPrice, CreatedBy=contract.SHIPPING_PROCESS_USER,
            LastUpdatedBy=contract.SHIPPING_PROCESS_USER))
        status = "SHIPPED" if full else "BACKORDERED"
        conn.execute(store.ORDER_LINES.update().where(store.ORDER_LINES.c.LineId == line.LineId).values(
            ShippedQuantity=(line.ShippedQuantity or 0) + qty, StatusCode=status, Status=STATUS_NAMES[status],
            ActualShipDate=stamp, LastUpdateDate=stamp))
        conn.execute(store.ONHAND.update().where(store.ONHAND.c._Id == onhand._Id).values(
            PrimaryQuantity=store.ONHAND.c.PrimaryQuantity - qty, LastUpdateDate=stamp))


def _restock(conn: sa.Connection, org: str, at: datetime, lines: list[sa.Row]) -> None:
    """The purchase receipt for what is backordered has arrived by the retry: on-hand rises now, stamped now."""
    for line in lines:
        onhand = _available(conn, line.ProductNumber, org)
        if onhand is not None:
            need = line.OrderedQuantity - (line.ShippedQuantity or 0)
            conn.execute(store.ONHAND.update().where(store.ONHAND.c._Id == onhand._Id).values(
                PrimaryQuantity=store.ONHAND.c.PrimaryQuantity + need + contract.RESTOCK_EXTRA,
                LastUpdateDate=clock.iso(at)))


def _interface(conn: sa.Connection, seed: int, order: sa.Row, at: datetime) -> None:
    """Shipped lines are interfaced to Receivables: AWAITING_BILLING until AutoInvoice runs."""
    conn.execute(store.ORDER_LINES.update().where(store.ORDER_LINES.c.HeaderId == order.HeaderId,
                                                  store.ORDER_LINES.c.StatusCode == "SHIPPED").values(
        StatusCode="AWAITING_BILLING", Status=STATUS_NAMES["AWAITING_BILLING"], LastUpdateDate=clock.iso(at)))
    _set(conn, order, at, "bill", contract.BILL_AFTER_MINUTES - contract.AWAIT_BILLING_AFTER_MINUTES)


def _bill(conn: sa.Connection, seed: int, order: sa.Row, at: datetime) -> None:
    """AutoInvoice: one receivables invoice per order, its lines carrying the sales order number."""
    stamp = clock.iso(at)
    lines = _lines(conn, order, "AWAITING_BILLING")
    conn.execute(store.ORDER_LINES.update().where(store.ORDER_LINES.c.HeaderId == order.HeaderId,
                                                  store.ORDER_LINES.c.StatusCode == "AWAITING_BILLING").values(
        StatusCode="BILLED", Status=STATUS_NAMES["BILLED"], LastUpdateDate=stamp))
    amount = round(sum(line.OrderedQuantity * line.UnitSellingPrice for line in lines), 2)
    ship = conn.execute(sa.select(store.SHIPMENT_LINES).where(store.SHIPMENT_LINES.c.Order == order.OrderNumber)
                        .order_by(store.SHIPMENT_LINES.c.ShipmentLine.desc())).first()
    customer = _customer(conn, order)
    history = _seeded_invoice(conn, order)
    if history is not None:
        _adopt(conn, order, at, lines, history, customer)
        return
    trx_id = store.next_ids(conn, "CustomerTransactionId")[0]
    # AR bills the customer *account* (its number), which belongs to the order's buying party.
    conn.execute(store.INVOICES.insert().values(
        CustomerTransactionId=trx_id, TransactionNumber=str(store.next_ids(conn, "TransactionNumber")[0]),
        TransactionDate=stamp[:10], AccountingDate=stamp[:10], BillingDate=stamp[:10], TransactionType="Invoice",
        TransactionSource="Distributed Order Orchestration", BusinessUnit=order.BusinessUnitName,
        BillToCustomerNumber=customer.AccountNumber, BillToCustomerName=order.BuyingPartyName,
        BillToPartyId=order.BuyingPartyId, SoldToPartyNumber=order.BuyingPartyNumber,
        ShipToCustomerName=order.BuyingPartyName, ShipToCustomerNumber=customer.AccountNumber,
        PayingCustomerName=order.BuyingPartyName, PayingCustomerAccount=customer.AccountNumber,
        DefaultTaxationCountry=customer.Country, InvoiceCurrencyCode=order.TransactionalCurrencyCode,
        InvoiceStatus="Complete", PaymentTerms=PAYMENT_TERMS, DueDate=(at + timedelta(days=30)).strftime("%Y-%m-%d"),
        EnteredAmount=amount, InvoiceBalanceAmount=amount, FreightAmount=0, Prepayment="N", Intercompany="N",
        PurchaseOrder=order.CustomerPONumber, CrossReference=order.SourceTransactionNumber,
        ShipDate=ship.ActualShipDate if ship else None, Carrier=ship.Carrier if ship else None,
        ShippingReference=ship.TrackingNumber if ship else None, CreatedBy=contract.RECEIVABLES_PROCESS_USER,
        LastUpdatedBy=contract.RECEIVABLES_PROCESS_USER, CreationDate=stamp, LastUpdateDate=stamp))
    _insert_lines(conn, order, trx_id, lines)
    pays = stable_unit(seed, order.HeaderId, "pays") < contract.PAID_RATE
    if pays:
        days = contract.PAY_AFTER_DAYS[0] + stable_unit(seed, order.HeaderId, "paydays") * (
            contract.PAY_AFTER_DAYS[1] - contract.PAY_AFTER_DAYS[0])
        _set(conn, order, at, "pay", days * 24 * 60)
    else:
        _set(conn, order, at, None)


def _seeded_invoice(conn: sa.Connection, order: sa.Row) -> sa.Row | None:
    """The invoice the seeded receivables history already holds for this shop order, if any."""
    inv = store.INVOICES
    return conn.execute(sa.select(inv).where(
        inv.c.CrossReference == order.SourceTransactionNumber, inv.c.TransactionSource == receivables_seed.SOURCE,
        inv.c.TransactionType == "Invoice").order_by(inv.c.CustomerTransactionId)).first()


def _adopt(conn: sa.Connection, order: sa.Row, at: datetime, lines: list[sa.Row], history: sa.Row,
           customer: sa.Row) -> None:
    """The shop already billed and (mostly) settled this order, and the seed holds that history: AutoInvoice links
    the order to that invoice instead of billing it a second time, which would put a second receipt for one shop
    payment into the books and make the financial reconciliation report a break that is not one."""
    stamp = clock.iso(at)
    conn.execute(store.INVOICES.update().where(
        store.INVOICES.c.CustomerTransactionId == history.CustomerTransactionId).values(
        BillToPartyId=order.BuyingPartyId, BillToCustomerNumber=customer.AccountNumber,
        BillToCustomerName=order.BuyingPartyName, PayingCustomerAccount=customer.AccountNumber,
        PayingCustomerName=order.BuyingPartyName, LastUpdateDate=stamp))
    lines_table = store.INVOICE_LINES
    conn.execute(lines_table.delete().where(lines_table.c.CustomerTransactionId == history.CustomerTransactionId,
                                            lines_table.c.SalesOrder.is_(None)))  # the seed's summary line
    _insert_lines(conn, order, history.CustomerTransactionId, lines)
    # A balance left open (the seed's missing receipt) is paid by the lifecycle like any other; none: closes now.
    _set(conn, order, at, "pay", contract.PAY_AFTER_DAYS[0] * 24 * 60 if history.InvoiceBalanceAmount > 0 else 0)


def _insert_lines(conn: sa.Connection, order: sa.Row, trx_id: int, lines: list[sa.Row]) -> None:
    ids = store.next_ids(conn, "CustomerTransactionLineId", len(lines))
    conn.execute(store.INVOICE_LINES.insert(), [{
        "CustomerTransactionLineId": line_id, "CustomerTransactionId": trx_id, "LineNumber": n,
        "ItemNumber": line.ProductNumber, "Description": line.ProductDescription, "Quantity": line.OrderedQuantity,
        "UnitSellingPrice": line.UnitSellingPrice, "LineAmount": round(line.OrderedQuantity * line.UnitSellingPrice, 2),
        "SalesOrder": order.OrderNumber, "SalesOrderLine": str(line.LineNumber),
        "SalesOrderDate": order.TransactionOn or order.CreationDate,
    } for n, (line, line_id) in enumerate(zip(lines, ids, strict=True), start=1)])


def _pay(conn: sa.Connection, seed: int, order: sa.Row, at: datetime) -> None:
    """A standard receipt for the invoice's balance; applied, it closes the order."""
    stamp = clock.iso(at)
    inv = conn.execute(sa.select(store.INVOICES).where(store.INVOICES.c.CrossReference == order.SourceTransactionNumber,
                                                       store.INVOICES.c.BillToPartyId == order.BuyingPartyId)
                       .order_by(store.INVOICES.c.CustomerTransactionId.desc())).first()
    if inv is not None and inv.InvoiceBalanceAmount > 0:
        receipt_id = store.next_ids(conn, "StandardReceiptId")[0]
        day = stamp[:10]
        conn.execute(store.RECEIPTS.insert().values(
            StandardReceiptId=receipt_id, ReceiptNumber=f"RCPT-{receipt_id}", ReceiptMethod="Manual",
            BusinessUnit=order.BusinessUnitName, Amount=inv.InvoiceBalanceAmount, Currency=inv.InvoiceCurrencyCode,
            ReceiptDate=day, AccountingDate=day, MaturityDate=day, RemittanceBankDepositDate=day, State="Cleared",
            Status="APP", CustomerAccountNumber=inv.PayingCustomerAccount, CustomerName=inv.PayingCustomerName,
            CustomerSite=None, UnappliedAmount=0, AccountedAmount=inv.InvoiceBalanceAmount,
            RemittanceBankAccountNumber=contract.REMITTANCE_BANK_ACCOUNT, RemittanceBankAllowOverride="N",
            Comments=f"Payment of invoice {inv.TransactionNumber}", CreatedBy=contract.RECEIVABLES_PROCESS_USER,
            LastUpdatedBy=contract.RECEIVABLES_PROCESS_USER, _AppliedInvoiceId=inv.CustomerTransactionId,
            CreationDate=stamp, LastUpdateDate=stamp))
        conn.execute(store.INVOICES.update().where(store.INVOICES.c.CustomerTransactionId == inv.CustomerTransactionId)
                     .values(InvoiceBalanceAmount=0, LastUpdateDate=stamp))
    conn.execute(store.ORDER_LINES.update().where(store.ORDER_LINES.c.HeaderId == order.HeaderId).values(
        StatusCode="CLOSED", Status=STATUS_NAMES["CLOSED"], LastUpdateDate=stamp))
    _set(conn, order, at, None, StatusCode="CLOSED", Status=STATUS_NAMES["CLOSED"], OpenFlag=0)


STEPS = {"ship": _ship, "interface": _interface, "bill": _bill, "pay": _pay}


def _change_prices(conn: sa.Connection, seed: int, now: datetime) -> None:
    """Each full day on the clock, a seeded handful of list prices move (and say so in LastUpdateDate).

    The charge, its price list item and the price list all get the day's LastUpdateDate, so a client polling any
    level with ``q=LastUpdateDate > mark`` sees the change.
    """
    settings = store.SETTINGS
    last_text = conn.execute(sa.select(settings.c.value).where(settings.c.name == "prices_changed_through")).scalar()
    if last_text is None:
        store.put_settings(conn, {"prices_changed_through": clock.iso(now)})
        return
    last = clock.parse(last_text)
    days = int((now - last) / timedelta(days=1))
    if days < 1:
        return
    through = last + timedelta(days=days)
    # Claim the days first (compare-and-set), so two workers catching up together apply each day once.
    claimed = conn.execute(settings.update().where(settings.c.name == "prices_changed_through",
                                                   settings.c.value == last_text)
                           .values(value=clock.iso(through))).rowcount
    if claimed != 1:
        return
    charges, items, lists = store.PRICE_LIST_CHARGES, store.PRICE_LIST_ITEMS, store.PRICE_LISTS
    ids = [r[0] for r in conn.execute(sa.select(charges.c.PriceListChargeId).order_by(charges.c.PriceListChargeId))]
    for n in range(1, days + 1 if ids else 1):
        day = last + timedelta(days=n)
        stamp = clock.iso(day)
        for k in range(contract.PRICE_CHANGES_PER_DAY):
            charge_id = ids[int(stable_unit(seed, day.date(), k, "price") * len(ids))]
            factor = 1 + (stable_unit(seed, day.date(), k, "pct") - 0.5) / 10
            # round() of a double does not exist on PostgreSQL; numeric rounds the same on both backends.
            new_price = sa.func.round(sa.cast(charges.c.BasePrice * factor, sa.Numeric), 2)
            conn.execute(charges.update().where(charges.c.PriceListChargeId == charge_id).values(
                BasePrice=sa.cast(new_price, sa.Float), LastUpdateDate=stamp))
            item_id = sa.select(charges.c.PriceListItemId).where(charges.c.PriceListChargeId == charge_id)
            conn.execute(items.update().where(items.c.PriceListItemId == item_id.scalar_subquery())
                         .values(LastUpdateDate=stamp))
            list_id = sa.select(items.c.PriceListId).where(items.c.PriceListItemId == item_id.scalar_subquery())
            conn.execute(lists.update().where(lists.c.PriceListId == list_id.scalar_subquery())
                         .values(LastUpdateDate=stamp))
