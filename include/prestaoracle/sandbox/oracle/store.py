"""The emulated Fusion pod's database: one SQL table per REST resource, columns named like Oracle's attributes.

Attribute names follow the reference (``shared/reference/oracle-fusion-and-ebs.md`` §1.3–1.9). Columns whose
name starts with ``_`` are the emulator's own bookkeeping and never leave the server.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prestaoracle.sandbox.storage import create_engine  # noqa: F401 - re-exported for the app and server

METADATA = sa.MetaData()

S, INT, N, D = sa.Text, sa.BigInteger, sa.Float, sa.Text  # datetimes are ISO strings in UTC, as the API prints them


def _t(name: str, *cols: sa.Column, indexes: tuple[tuple[str, ...], ...] = ()) -> sa.Table:
    table = sa.Table(name, METADATA, *cols)
    for i, idx in enumerate(indexes):
        sa.Index(f"ix_{name}_{i}", *(table.c[c] for c in idx))
    return table


def _c(name: str, type_: Any, pk: bool = False) -> sa.Column:
    return sa.Column(name, type_(), primary_key=pk, autoincrement=False, nullable=not pk)


def _many(type_: Any, names: str) -> list[sa.Column]:
    """Columns of one type from a space-separated list: the documented attributes most rows leave empty."""
    return [_c(name, type_) for name in names.split()]


ORDERS = _t(
    "fusion_orders",
    _c("HeaderId", INT, pk=True), _c("OrderNumber", S), _c("SourceTransactionNumber", S),
    _c("SourceTransactionSystem", S), _c("SourceTransactionId", S), _c("SourceTransactionRevisionNumber", INT),
    _c("BusinessUnitId", INT), _c("BusinessUnitName", S), _c("BuyingPartyId", INT), _c("BuyingPartyNumber", S),
    _c("BuyingPartyName", S), _c("TransactionalCurrencyCode", S), _c("TransactionTypeCode", S),
    _c("TransactionOn", D), _c("RequestedShipDate", D), _c("RequestedFulfillmentOrganizationId", INT),
    _c("RequestedFulfillmentOrganizationCode", S), _c("CustomerPONumber", S), _c("FreezePriceFlag", INT),
    _c("SubmittedFlag", INT), _c("StatusCode", S), _c("Status", S), _c("OnHoldFlag", INT), _c("CanceledFlag", INT),
    _c("TotalAmount", N), _c("CreatedBy", S), _c("CreationDate", D), _c("LastUpdatedBy", S),
    _c("LastUpdateDate", D), _c("SubmittedDate", D), _c("SubmittedBy", S),
    # The rest of the header Order Management documents (GET .../salesOrdersForOrderHub/describe on a pod).
    *_many(S, "BuyingPartyPersonFirstName BuyingPartyPersonLastName BuyingPartyPersonMiddleName "
              "BuyingPartyPersonNameSuffix BuyingPartyPersonTitle BuyingPartyContactName BuyingPartyContactNumber "
              "BuyingPartyContactFirstName BuyingPartyContactLastName BuyingPartyContactMiddleName "
              "BuyingPartyContactNameSuffix BuyingPartyContactTitle TransactionType PackingInstructions "
              "ShippingInstructions ShipmentPriorityCode ShipmentPriority ShippingCarrier ShippingServiceLevelCode "
              "ShippingServiceLevel ShippingModeCode ShippingMode FOBPointCode FOBPoint DemandClassCode DemandClass "
              "FreightTermsCode FreightTerms RequestedFulfillmentOrganizationName SupplierName PaymentTerms "
              "Salesperson TransactionalCurrencyName AppliedCurrencyCode AppliedCurrencyName CurrencyConversionType "
              "PricingSegmentCode PricingSegment PricingStrategyName SegmentExplanationMessageName "
              "PricingSegmentExplanation StrategyExplanationMessageName PricingStrategyExplanation SalesChannelCode "
              "SalesChannel Comments CancelReasonCode CancelReason RequestingBusinessUnitName RequestingLegalEntity "
              "TransactionDocumentTypeCode RevisionSourceSystem TradeComplianceResultCode TradeComplianceResult "
              "OrigSystemDocumentReference OrderKey SupplierSiteName MessageText AgreementNumber"),
    *_many(INT, "BuyingPartyContactId PreferredSoldToContactPointId ShippingCarrierId SupplierId SupplierSiteId "
                "PaymentTermsCode SalespersonId PricingStrategyId RequestingBusinessUnitId RequestingLegalEntityId "
                "AgreementHeaderId AgreementVersionNumber"),
    *_many(N, "CurrencyConversionRate"),
    *_many(D, "RequestedArrivalDate LatestAcceptableShipDate LatestAcceptableArrivalDate EarliestAcceptableShipDate "
              "CurrencyConversionDate RequestedCancelDate PricedOn"),
    *_many(INT, "SubstituteAllowedFlag ShipsetFlag PartialShipAllowedFlag AllowCurrencyOverrideFlag "
                "FreezeShippingChargeFlag FreezeTaxFlag PreCreditCheckedFlag OpenFlag"),
    # The lifecycle's own bookkeeping: which step comes next, and when on the sandbox clock.
    _c("_Step", S), _c("_NextStepAt", D),
    indexes=(("LastUpdateDate",), ("StatusCode",), ("OrderNumber",), ("_NextStepAt",)),
)
# Order Management keeps one order per source key: a create racing another for the same key fails here and is
# answered as the duplicate (or the upsert) it is, never stored twice.
sa.Index("ux_fusion_orders_source_key", ORDERS.c.SourceTransactionSystem, ORDERS.c.SourceTransactionId, unique=True)

ORDER_LINES = _t(
    "fusion_order_lines",
    _c("LineId", INT, pk=True), _c("HeaderId", INT), _c("FulfillLineId", INT), _c("LineNumber", INT),
    _c("DisplayLineNumber", S), _c("SourceTransactionLineId", S), _c("SourceTransactionLineNumber", S),
    _c("SourceTransactionScheduleId", S), _c("SourceScheduleNumber", S), _c("TransactionCategoryCode", S),
    _c("ProductId", INT), _c("ProductNumber", S), _c("ProductDescription", S), _c("OrderedQuantity", N),
    _c("OrderedUOMCode", S), _c("UnitListPrice", N), _c("UnitSellingPrice", N), _c("ExtendedAmount", N),
    _c("ShippedQuantity", N), _c("CanceledQuantity", N), _c("StatusCode", S), _c("Status", S),
    _c("RequestedShipDate", D), _c("ScheduleShipDate", D), _c("ActualShipDate", D), _c("CreationDate", D),
    _c("LastUpdateDate", D),
    *_many(S, "OrderedUOM TransactionLineType TransactionLineTypeCode RequestedFulfillmentOrganizationCode "
              "RequestedFulfillmentOrganizationName PaymentTerms FOBPoint FreightTerms ShipmentPriority "
              "ShippingCarrier ShipSetName"),
    _c("RequestedFulfillmentOrganizationId", INT),
    indexes=(("HeaderId",), ("StatusCode",)),
)

ORDER_PARTIES = _t(
    "fusion_order_parties",  # billToCustomer and shipToCustomer children, told apart by _role
    _c("_Id", INT, pk=True), _c("_role", S), _c("HeaderId", INT), _c("PartyId", INT), _c("PartyName", S),
    _c("CustomerAccountId", INT), _c("AccountNumber", S), _c("SiteId", INT), _c("SiteUseId", INT), _c("Address1", S),
    _c("Address2", S), _c("City", S), _c("PostalCode", S), _c("Country", S), _c("FirstName", S),
    _c("LastName", S), _c("Email", S),
    indexes=(("HeaderId",),),
)

ACCOUNTS = _t(
    "fusion_accounts",
    _c("PartyId", INT, pk=True), _c("PartyNumber", S), _c("OrganizationName", S), _c("PartyType", S),
    _c("FirstName", S), _c("LastName", S), _c("EmailAddress", S), _c("PhoneNumber", S), _c("Address1", S),
    _c("City", S), _c("PostalCode", S), _c("Country", S), _c("CustomerAccountId", INT), _c("AccountNumber", S),
    _c("SiteUseId", INT), _c("CurrencyCode", S), _c("CreditLimit", N), _c("Status", S), _c("SourceSystem", S),
    _c("SourceSystemReferenceValue", S), _c("CreationDate", D), _c("LastUpdateDate", D),
    # The CX names of the primary address and contact, which CX clients ask for.
    *_many(S, "AddressLine1 AddressLine2 AddressLine3 Province County OwnerPartyNumber PrimaryContactPartyNumber "
              "PrimaryContactName PrimaryContactEmail PrimaryContactPhone"),
    # [VERIFY] the tax registration of the account's party: the name Receivables uses for it (reference §1.6).
    _c("TaxRegistrationNumber", S),
    indexes=(("PartyNumber",), ("EmailAddress",), ("LastUpdateDate",)),
)

ITEMS = _t(
    "fusion_items",
    _c("ItemId", INT, pk=True), _c("ItemNumber", S), _c("ItemDescription", S), _c("OrganizationId", INT),
    _c("OrganizationCode", S), _c("ItemStatusValue", S), _c("PrimaryUOMCode", S),
    _c("CustomerOrderEnabledFlag", INT), _c("CreationDate", D), _c("LastUpdateDate", D),
    *_many(S, "ItemClass ApprovalStatusValue LifecyclePhaseValue UserItemTypeValue PrimaryUOMValue SecondaryUOMValue "
              "LotControlValue SerialGenerationValue"),
    *_many(INT, "InventoryItemFlag StockEnabledFlag ShippableFlag BuildInWIPFlag AssetTrackedFlag"),
    indexes=(("ItemNumber",),),
)

ONHAND = _t(
    "fusion_onhand",
    _c("_Id", INT, pk=True), _c("OrganizationId", INT), _c("OrganizationCode", S), _c("InventoryItemId", INT),
    _c("ItemNumber", S), _c("ItemDescription", S), _c("Revision", S), _c("SubinventoryCode", S),
    _c("SummaryLevel", S), _c("PrimaryUOMCode", S), _c("PrimaryQuantity", N), _c("_Reserved", N),
    _c("LastUpdateDate", D),
    *_many(S, "SubinventoryGroup SecondaryUOMCode Locator LotNumber SerialNumber"), _c("SecondaryQuantity", N),
    indexes=(("ItemNumber", "OrganizationCode"),),
)

PRICE_LISTS = _t(
    "fusion_price_lists",
    _c("PriceListId", INT, pk=True), _c("PriceListName", S), _c("PriceListTypeCode", S), _c("BusinessUnitId", INT),
    _c("BusinessUnit", S), _c("CurrencyCode", S), _c("StatusCode", S), _c("StartDate", D), _c("EndDate", D),
    _c("PricingChargeDefinitionCode", S), _c("LineTypeCode", S), _c("CalculationMethodCode", S),
    _c("LastUpdateDate", D),
)

PRICE_LIST_ITEMS = _t(
    "fusion_price_list_items",
    _c("PriceListItemId", INT, pk=True), _c("PriceListId", INT), _c("Item", S), _c("ItemId", INT),
    _c("ItemLevelCode", S), _c("PricingUOMCode", S), _c("PrimaryPricingUOM", S), _c("LineTypeCode", S),
    _c("LastUpdateDate", D),
    indexes=(("PriceListId", "Item"),),
)

PRICE_LIST_CHARGES = _t(
    "fusion_price_list_charges",
    _c("PriceListChargeId", INT, pk=True), _c("PriceListItemId", INT), _c("PricingChargeDefinitionCode", S),
    _c("CalculationMethodCode", S), _c("BasePrice", N), _c("StartDate", D), _c("EndDate", D),
    _c("ChargeLineNumber", INT), _c("AllowManualAdjustment", S), _c("LastUpdateDate", D),
    indexes=(("PriceListItemId",),),
)

SHIPMENTS = _t(
    "fusion_shipments",
    _c("ShipmentId", INT, pk=True), _c("Shipment", S), _c("OrganizationCode", S), _c("ShipmentStatusCode", S),
    _c("Carrier", S), _c("ShipMethod", S), _c("Waybill", S), _c("ActualShipDate", D), _c("CreationDate", D),
    _c("LastUpdateDate", D),
    *_many(INT, "DeliveryId OrganizationId"),
    *_many(S, "ShipmentDescription ShipmentStatus OrganizationName ShippingMethod ServiceLevel ModeOfTransport "
              "BillOfLading WeightUOMCode VolumeUOMCode ShipToCustomer ShipToCustomerNumber ShipToLocation "
              "OpenExceptionSeverity"),
    *_many(N, "GrossWeight NetWeight Volume"),
    *_many(D, "InitialPickupDate ActualDeliveryDate ActualShipDateTime"),
)

SHIPMENT_LINES = _t(
    "fusion_shipment_lines",
    _c("ShipmentLine", INT, pk=True), _c("Order", S), _c("OrderLine", S), _c("OrderSchedule", S),
    _c("OrderTypeCode", S), _c("SourceOrder", S), _c("SourceOrderId", S), _c("SourceOrderLine", S),
    _c("SourceOrderLineId", S), _c("SourceOrderFulfillmentLineId", INT), _c("InventoryItemId", INT), _c("Item", S),
    _c("RequestedQuantity", N), _c("RequestedQuantityUOMCode", S), _c("ShippedQuantity", N),
    _c("BackorderedQuantity", N), _c("ShipmentId", INT), _c("Shipment", S), _c("LineStatusCode", S),
    _c("LineStatus", S), _c("TrackingNumber", S), _c("Carrier", S), _c("ActualShipDate", D),
    _c("ScheduledShipDate", D), _c("OrganizationCode", S), _c("LastUpdateDate", D),
    *_many(S, "OrderType SourceOrderFulfillmentLine ItemDescription Revision OrganizationName SourceSubinventory "
              "DestinationOrganizationCode DestinationSubinventory ShipmentStatusCode IntegrationStatusCode "
              "IntegrationStatus CustomerPONumber ShipToCustomer ShipToCustomerNumber SoldToCustomer "
              "SoldToCustomerNumber BillToCustomer BillToCustomerNumber ShippingMethod CurrencyCode CreatedBy "
              "LastUpdatedBy"),
    *_many(INT, "OrganizationId ShipToPartyId SoldToPartyId BillToPartyId"),
    *_many(N, "PendingQuantity PickedQuantity StagedQuantity DeliveredQuantity CancelledQuantity UnitPrice "
              "SellingPrice"),
    _c("CreationDate", D),
    indexes=(("Order",), ("SourceOrder",), ("LastUpdateDate",)),
)

INVOICES = _t(
    "fusion_invoices",
    _c("CustomerTransactionId", INT, pk=True), _c("TransactionNumber", S), _c("TransactionDate", D),
    _c("AccountingDate", D), _c("TransactionType", S), _c("TransactionSource", S), _c("BusinessUnit", S),
    _c("BillToCustomerNumber", S), _c("BillToCustomerName", S), _c("InvoiceCurrencyCode", S),
    _c("InvoiceStatus", S), _c("PaymentTerms", S), _c("DueDate", D), _c("EnteredAmount", N),
    _c("InvoiceBalanceAmount", N), _c("PurchaseOrder", S), _c("CrossReference", S), _c("ShipDate", D),
    _c("Carrier", S), _c("CreationDate", D), _c("LastUpdateDate", D),
    *_many(S, "DocumentNumber SpecialInstructions BillToSite Comments InternalNotes LegalEntityIdentifier "
              "ConversionRateType PurchaseOrderRevision FirstPartyRegistrationNumber ThirdPartyRegistrationNumber "
              "InvoicingRule ShipToCustomerName ShipToCustomerNumber ShipToSite PayingCustomerName PayingCustomerSite "
              "ShippingReference BillToContact ShipToContact PrintOption CreatedBy LastUpdatedBy PayingCustomerAccount "
              "SoldToPartyNumber RemitToAddress DefaultTaxationCountry Prepayment Intercompany "
              "DocumentFiscalClassification BankAccountNumber CreditCardAuthorizationRequestIdentifier "
              "CreditCardIssuerCode CreditCardTokenNumber CreditCardVoiceAuthorizationCode CreditCardErrorCode "
              "CreditCardErrorText CardHolderLastName CardHolderFirstName ReceiptMethod SalesPersonNumber "
              "StructuredPaymentReference InvoicePrinted DeliveryMethod Email AllowCompletion "
              "ControlCompletionReason"),
    _c("BillToPartyId", INT), *_many(N, "ConversionRate FreightAmount"),
    *_many(D, "ConversionDate PurchaseOrderDate BillingDate LastPrintDate OriginalPrintDate "
              "CreditCardExpirationDate"),
    indexes=(("LastUpdateDate",), ("PurchaseOrder",)),
)

INVOICE_LINES = _t(
    "fusion_invoice_lines",
    _c("CustomerTransactionLineId", INT, pk=True), _c("CustomerTransactionId", INT), _c("LineNumber", INT),
    _c("ItemNumber", S), _c("Description", S), _c("Quantity", N), _c("UnitSellingPrice", N),
    _c("LineAmount", N), _c("SalesOrder", S), _c("SalesOrderLine", S), _c("SalesOrderDate", D),
    indexes=(("CustomerTransactionId",), ("SalesOrder",)),
)

RECEIPTS = _t(
    "fusion_receipts",
    _c("StandardReceiptId", INT, pk=True), _c("ReceiptNumber", S), _c("ReceiptMethod", S), _c("BusinessUnit", S),
    _c("Amount", N), _c("Currency", S), _c("ReceiptDate", D), _c("AccountingDate", D), _c("State", S),
    _c("Status", S), _c("CustomerAccountNumber", S), _c("CustomerSite", S), _c("UnappliedAmount", N),
    _c("_AppliedInvoiceId", INT), _c("CreationDate", D), _c("LastUpdateDate", D),
    *_many(S, "ConversionRateType RemittanceBankName RemittanceBankBranch RemittanceBankAccountNumber "
              "RemittanceBankAllowOverride CustomerName TaxpayerIdentificationNumber CustomerBank CustomerBankBranch "
              "CustomerBankAccountNumber ReceiptAtRisk ReceivablesSpecialist Comments CreditCardTokenNumber "
              "CreditCardAuthorizationRequestIdentifier CardHolderFirstName CardHolderLastName CreditCardIssuerCode "
              "VoiceAuthorizationCode CreatedBy LastUpdatedBy"),
    _c("DocumentNumber", INT), *_many(N, "ConversionRate AccountedAmount"),
    *_many(D, "ConversionDate RemittanceBankDepositDate MaturityDate PostmarkDate CreditCardExpirationDate"),
    indexes=(("LastUpdateDate",),),
)

TOKENS = _t(
    "fusion_tokens",
    sa.Column("access_token", sa.String(80), primary_key=True), sa.Column("client_id", sa.Text()),
    sa.Column("expires_at", sa.Float()), sa.Column("revoked", sa.Integer(), default=0),
    # Issue order (1, 2, ...): the fault profile picks the tokens that die early by it, so runs replay per seed.
    sa.Column("serial", sa.BigInteger()),
)

SETTINGS = _t("fusion_settings", sa.Column("name", sa.String(64), primary_key=True), sa.Column("value", sa.Text()))

COUNTERS = _t("fusion_counters", sa.Column("name", sa.String(64), primary_key=True),
              sa.Column("value", sa.BigInteger()))

FIRST_IDS = {
    "HeaderId": 300100560000001, "LineId": 300100560500001, "FulfillLineId": 300100561000001,
    "OrderNumber": 520001, "PartyRow": 1, "ShipmentId": 3001001, "ShipmentLine": 4001001,
    "CustomerTransactionId": 300100170000001, "CustomerTransactionLineId": 300100171000001,
    "TransactionNumber": 110001, "StandardReceiptId": 300100153100001, "TokenSerial": 1, "PartyId": 1001,
}
# Rows of the counters table that are never counted, only locked: a read-modify-write that must not interleave
# with another worker's (moving the clock, catching the lifecycle up) holds one for its transaction.
LOCKS = ("clock", "catch_up", "ebs")


def reset(engine: Engine) -> None:
    METADATA.drop_all(engine)
    METADATA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(COUNTERS.insert(), [{"name": k, "value": v - 1} for k, v in FIRST_IDS.items()])
        conn.execute(COUNTERS.insert(), [{"name": f"lock:{name}", "value": 0} for name in LOCKS])


def next_ids(conn: sa.Connection, name: str, n: int = 1) -> list[int]:
    """Reserve ``n`` ids atomically, so concurrent workers never hand out the same key."""
    end = conn.execute(
        COUNTERS.update().where(COUNTERS.c.name == name).values(value=COUNTERS.c.value + n).returning(COUNTERS.c.value)
    ).scalar_one()
    return list(range(end - n + 1, end + 1))


def lock(conn: sa.Connection, name: str) -> None:
    """Hold the lock ``name`` (one of ``LOCKS``) until the transaction ends.

    The UPDATE is the transaction's write: PostgreSQL locks the row until commit, and SQLite takes its database
    write lock (waiting out the busy timeout), so the reads that follow see every earlier holder's commit.
    """
    done = conn.execute(COUNTERS.update().where(COUNTERS.c.name == f"lock:{name}").values(value=COUNTERS.c.value))
    if done.rowcount != 1:
        raise KeyError(f"unknown store lock {name}")


def load(engine: Engine, rows: dict[str, list[dict]]) -> dict[str, int]:
    """Bulk-insert seeded rows per table name; moves the id counters past what was loaded."""
    counts = {}
    with engine.begin() as conn:
        for name, records in rows.items():
            table = METADATA.tables[name]
            cols = [c.name for c in table.columns]
            for i in range(0, len(records), 5000):
                conn.execute(table.insert(), [{c: r.get(c) for c in cols} for r in records[i : i + 5000]])
            counts[name] = len(records)
        for counter, (table_name, col) in COUNTER_COLUMNS.items():
            top = conn.execute(sa.select(sa.func.max(METADATA.tables[table_name].c[col]))).scalar()
            if top is not None:
                conn.execute(COUNTERS.update().where(COUNTERS.c.name == counter, COUNTERS.c.value < int(top))
                             .values(value=int(top)))
    return counts


COUNTER_COLUMNS = {
    "HeaderId": ("fusion_orders", "HeaderId"), "LineId": ("fusion_order_lines", "LineId"),
    "PartyId": ("fusion_accounts", "PartyId"),
    "ShipmentId": ("fusion_shipments", "ShipmentId"), "ShipmentLine": ("fusion_shipment_lines", "ShipmentLine"),
    "CustomerTransactionId": ("fusion_invoices", "CustomerTransactionId"),
    "CustomerTransactionLineId": ("fusion_invoice_lines", "CustomerTransactionLineId"),
    "StandardReceiptId": ("fusion_receipts", "StandardReceiptId"),
}


def get_settings(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {r.name: r.value for r in conn.execute(sa.select(SETTINGS))}


def put_settings(conn: sa.Connection, values: dict[str, str]) -> None:
    """Set each value in place (insert when new): a delete and re-insert would race another worker's."""
    for k, v in values.items():
        if conn.execute(SETTINGS.update().where(SETTINGS.c.name == k).values(value=v)).rowcount == 0:
            conn.execute(SETTINGS.insert().values(name=k, value=v))
