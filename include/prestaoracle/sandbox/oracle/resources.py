"""The Fusion REST resources the emulator serves, mapped onto the store's tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from prestaoracle.sandbox.oracle import contract, orders, store
from prestaoracle.sandbox.oracle.adf import Attr

FSCM = "fscmRestApi"
CRM = "crmRestApi"
VERSIONS = ("11.13.18.05", "latest")


def attrs_of(table: sa.Table, read_only: tuple[str, ...] = (), required: tuple[str, ...] = ()) -> tuple[Attr, ...]:
    """Attribute types follow the column: *Flag booleans, *Date/TransactionOn datetimes, numbers, strings."""
    out = []
    for col in table.columns:
        if col.name.startswith("_"):
            continue
        if col.name.endswith("Flag"):
            kind = "boolean"
        elif col.name.endswith(("Date", "DateTime")) or col.name in ("TransactionOn", "PricedOn"):
            kind = "datetime"
        elif isinstance(col.type, sa.BigInteger | sa.Integer):
            kind = "integer"
        elif isinstance(col.type, sa.Float):
            kind = "number"
        else:
            kind = "string"
        out.append(Attr(col.name, kind, queryable=True, updatable=col.name not in read_only,
                        required=col.name in required))
    return tuple(out)


@dataclass(frozen=True)
class Child:
    accessor: str
    resource: Resource
    parent_column: str  # column of the parent whose value the child's fk holds
    fk: str  # column of the child table


@dataclass(frozen=True)
class Resource:
    name: str
    root: str
    table: sa.Table
    key: str
    attrs: tuple[Attr, ...]
    methods: tuple[str, ...] = ("GET",)
    children: tuple[Child, ...] = ()
    where: tuple[tuple[str, str], ...] = ()  # fixed column filters (billTo vs shipTo rows)
    finders: tuple[str, ...] = ("PrimaryKey",)
    attr_map: dict[str, Attr] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.attr_map.update({a.name: a for a in self.attrs})

    def child(self, accessor: str) -> Child | None:
        return next((c for c in self.children if c.accessor == accessor), None)


def _simple(name: str, root: str, table: sa.Table, key: str, methods: tuple[str, ...] = ("GET",),
            children: tuple[Child, ...] = (), read_only: tuple[str, ...] = (), **kw: object) -> Resource:
    return Resource(name, root, table, key, attrs_of(table, read_only=read_only), methods, children, **kw)


LINES = _simple("lines", FSCM, store.ORDER_LINES, "LineId")
BILL_TO = _simple("billToCustomer", FSCM, store.ORDER_PARTIES, "_Id", where=(("_role", "billTo"),))
SHIP_TO = _simple("shipToCustomer", FSCM, store.ORDER_PARTIES, "_Id", where=(("_role", "shipTo"),))

SALES_ORDERS = Resource(
    "salesOrdersForOrderHub", FSCM, store.ORDERS, "HeaderId",
    attrs_of(store.ORDERS, read_only=("HeaderId", "OrderNumber", "StatusCode", "Status", "CreationDate",
                                      "LastUpdateDate", "TotalAmount", *contract.ORDER_PATCH_NOT_UPDATABLE,
                                      *orders.HEADER_DERIVED)),
    ("GET", "POST", "PATCH", "DELETE"),
    (
        Child("lines", LINES, "HeaderId", "HeaderId"),
        Child("billToCustomer", BILL_TO, "HeaderId", "HeaderId"),
        Child("shipToCustomer", SHIP_TO, "HeaderId", "HeaderId"),
    ),
    finders=("PrimaryKey", "findBySourceOrderAndSystem"),
)

PRICE_CHARGES = _simple("charges", FSCM, store.PRICE_LIST_CHARGES, "PriceListChargeId")
PRICE_ITEMS = _simple("items", FSCM, store.PRICE_LIST_ITEMS, "PriceListItemId",
                      children=(Child("charges", PRICE_CHARGES, "PriceListItemId", "PriceListItemId"),))
PRICE_LISTS = _simple("priceLists", FSCM, store.PRICE_LISTS, "PriceListId",
                      children=(Child("items", PRICE_ITEMS, "PriceListId", "PriceListId"),))

INVOICE_LINES = _simple("receivablesInvoiceLines", FSCM, store.INVOICE_LINES, "CustomerTransactionLineId")
INVOICES = _simple("receivablesInvoices", FSCM, store.INVOICES, "CustomerTransactionId",
                   children=(Child("receivablesInvoiceLines", INVOICE_LINES, "CustomerTransactionId",
                                   "CustomerTransactionId"),))

SHIPMENT_LINES = _simple("shipmentLines", FSCM, store.SHIPMENT_LINES, "ShipmentLine")
SHIPMENTS = _simple("shipments", FSCM, store.SHIPMENTS, "ShipmentId",
                    children=(Child("shipmentLines", SHIPMENT_LINES, "ShipmentId", "ShipmentId"),))

RESOURCES: dict[tuple[str, str], Resource] = {
    (r.root, r.name): r
    for r in (
        SALES_ORDERS,
        _simple("inventoryOnhandBalances", FSCM, store.ONHAND, "_Id"),
        PRICE_LISTS,
        SHIPMENTS,
        SHIPMENT_LINES,
        INVOICES,
        _simple("standardReceipts", FSCM, store.RECEIPTS, "StandardReceiptId", methods=("GET", "POST")),
        _simple("itemsV2", FSCM, store.ITEMS, "ItemId"),
        _simple("accounts", CRM, store.ACCOUNTS, "PartyNumber", methods=("GET", "POST", "PATCH"),
                read_only=("PartyId", "PartyNumber", "CustomerAccountId", "AccountNumber", "SiteUseId",
                           "CreationDate", "LastUpdateDate")),
    )
}
# availableQuantityDetails is a request/response resource (POST only); see app.py.
