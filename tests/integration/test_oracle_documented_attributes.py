"""Every attribute the references document for a Fusion resource can be asked for with ``fields=``, and the values
the pod fills in agree with the related resources.

A client written against a real pod names attributes in ``fields=`` (§2.1); the ADF framework refuses the whole
request with a 400 when one of them is unknown, so a missing attribute breaks that client outright. The lists below
are transcribed from the sources, not from the emulator:

* ``salesOrdersForOrderHub``: the header attributes a real pod returned, in describe order, as mapped by a public
  client of it (github.com/Kymeta, EnterpriseBroker ``GetOrderResponse``); lines, billToCustomer and shipToCustomer
  from §1.3 of ``shared/reference/oracle-fusion-and-ebs.md``.
* ``accounts``: §1.6, and the CX address and contact names public CX clients send and read (``AddressLine1``,
  ``PrimaryContactName``, ...).
* ``inventoryOnhandBalances``: §1.4. ``availableQuantityDetails``: §1.4 (Oracle's use case response).
* ``priceLists``, ``items``, ``charges``: §1.5.
* ``shipments``, ``shipmentLines``: §1.7, and the field lists of a public SCM client (shipments keyed by
  ``DeliveryId``, shipment lines with picked/staged/pending quantities).
* ``receivablesInvoices``: §1.8 and the singer-io/tap-oracle-fusion ``receivables_invoices`` schema; lines §1.8.
* ``standardReceipts``: §1.9 and Oracle's "Create a Standard Receipt" response (farfa, 23d-25d).
* ``itemsV2``: §1.2 and the item fields of a public SCM client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import free_port
from support.oracle_pod import CRM, V4_JSON, Pod
from support.sandbox import run_sandbox

pytestmark = pytest.mark.xdist_group("oracle_documented_attributes")

USER, SECRET = "prestaoracle-sandbox", "DOCUMENTED-ATTRIBUTES-SECRET"
ORDERS = "/salesOrdersForOrderHub"


def names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


ORDER_HEADER = names("""
    HeaderId OrderNumber SourceTransactionNumber SourceTransactionSystem SourceTransactionId BusinessUnitId
    BusinessUnitName TransactionOn BuyingPartyId BuyingPartyName BuyingPartyNumber BuyingPartyPersonFirstName
    BuyingPartyPersonLastName BuyingPartyPersonMiddleName BuyingPartyPersonNameSuffix BuyingPartyPersonTitle
    BuyingPartyContactId BuyingPartyContactName BuyingPartyContactNumber BuyingPartyContactFirstName
    BuyingPartyContactLastName BuyingPartyContactMiddleName BuyingPartyContactNameSuffix BuyingPartyContactTitle
    PreferredSoldToContactPointId CustomerPONumber TransactionTypeCode TransactionType SubstituteAllowedFlag
    PackingInstructions ShippingInstructions ShipsetFlag PartialShipAllowedFlag RequestedShipDate RequestedArrivalDate
    LatestAcceptableShipDate LatestAcceptableArrivalDate EarliestAcceptableShipDate ShipmentPriorityCode
    ShipmentPriority ShippingCarrierId ShippingCarrier ShippingServiceLevelCode ShippingServiceLevel ShippingModeCode
    ShippingMode FOBPointCode FOBPoint DemandClassCode DemandClass FreightTermsCode FreightTerms
    RequestedFulfillmentOrganizationId RequestedFulfillmentOrganizationCode RequestedFulfillmentOrganizationName
    SupplierId SupplierName SupplierSiteId PaymentTermsCode PaymentTerms SalespersonId Salesperson PricedOn
    TransactionalCurrencyCode TransactionalCurrencyName AppliedCurrencyCode CurrencyConversionDate
    CurrencyConversionRate CurrencyConversionType PricingSegmentCode PricingSegment PricingStrategyId
    PricingStrategyName AllowCurrencyOverrideFlag SegmentExplanationMessageName PricingSegmentExplanation
    StrategyExplanationMessageName PricingStrategyExplanation SalesChannelCode SalesChannel Comments StatusCode Status
    OnHoldFlag CanceledFlag CancelReasonCode CancelReason RequestedCancelDate RequestingBusinessUnitId
    RequestingBusinessUnitName RequestingLegalEntityId RequestingLegalEntity FreezePriceFlag FreezeShippingChargeFlag
    FreezeTaxFlag SubmittedFlag SubmittedBy SubmittedDate TransactionDocumentTypeCode PreCreditCheckedFlag
    RevisionSourceSystem SourceTransactionRevisionNumber TradeComplianceResultCode TradeComplianceResult
    LastUpdatedBy LastUpdateDate CreatedBy CreationDate OpenFlag OrigSystemDocumentReference OrderKey
    AppliedCurrencyName SupplierSiteName MessageText AgreementHeaderId AgreementNumber AgreementVersionNumber
""")
ORDER_LINES = names("""
    SourceTransactionLineId SourceTransactionLineNumber SourceTransactionScheduleId SourceScheduleNumber ProductNumber
    ProductId ProductDescription OrderedQuantity OrderedUOMCode OrderedUOM UnitListPrice UnitSellingPrice
    TransactionCategoryCode TransactionLineType TransactionLineTypeCode RequestedFulfillmentOrganizationId
    RequestedFulfillmentOrganizationCode RequestedFulfillmentOrganizationName RequestedShipDate PaymentTerms FOBPoint
    FreightTerms ShipmentPriority ShippingCarrier ShipSetName LineId FulfillLineId HeaderId LineNumber
    DisplayLineNumber StatusCode Status ExtendedAmount ShippedQuantity ActualShipDate ScheduleShipDate
    CanceledQuantity LastUpdateDate
""")
BILL_TO = names("CustomerAccountId SiteUseId PartyName AccountNumber Address1 City")
SHIP_TO = names("PartyId SiteId PartyName Address1 City PostalCode Country")
ACCOUNTS = names("""
    PartyId PartyNumber OrganizationName SourceSystem SourceSystemReferenceValue AddressLine1 AddressLine2
    AddressLine3 City Province PostalCode County Country OwnerPartyNumber PrimaryContactPartyNumber PrimaryContactName
    PrimaryContactEmail PrimaryContactPhone
""")
ONHAND = names("""
    OrganizationId OrganizationCode InventoryItemId ItemNumber ItemDescription Revision SubinventoryCode
    SubinventoryGroup SummaryLevel PrimaryUOMCode PrimaryQuantity SecondaryUOMCode SecondaryQuantity Locator LotNumber
    SerialNumber
""")
AVAILABLE = names("OrganizationCode ItemNumber QuantityOnhand AvailableToTransact AvailableToReserve "
                  "PrimaryUnitOfMeasure ReturnStatus")
PRICE_LISTS = names("""
    PriceListId PriceListName PriceListTypeCode BusinessUnit BusinessUnitId CurrencyCode StatusCode StartDate EndDate
    PricingChargeDefinitionCode LineTypeCode CalculationMethodCode LastUpdateDate
""")
PRICE_ITEMS = names("PriceListItemId Item ItemId ItemLevelCode PricingUOMCode PrimaryPricingUOM LineTypeCode")
PRICE_CHARGES = names("""
    PriceListChargeId PricingChargeDefinitionCode CalculationMethodCode BasePrice StartDate EndDate ChargeLineNumber
    AllowManualAdjustment
""")
SHIPMENTS = names("""
    DeliveryId Shipment ShipmentDescription ShipmentStatus ShipmentStatusCode OrganizationId OrganizationCode
    OrganizationName InitialPickupDate ActualShipDate ActualShipDateTime ActualDeliveryDate Carrier ShippingMethod
    ServiceLevel ModeOfTransport BillOfLading Waybill GrossWeight NetWeight WeightUOMCode Volume VolumeUOMCode
    ShipToCustomer ShipToCustomerNumber ShipToLocation OpenExceptionSeverity LastUpdateDate
""")
SHIPMENT_LINES = names("""
    ShipmentLine Shipment ShipmentId OrderTypeCode OrderType Order OrderLine OrderSchedule SourceOrder SourceOrderId
    SourceOrderLine SourceOrderLineId SourceOrderFulfillmentLine SourceOrderFulfillmentLineId InventoryItemId Item
    ItemDescription Revision OrganizationId OrganizationCode OrganizationName SourceSubinventory
    DestinationOrganizationCode DestinationSubinventory RequestedQuantity RequestedQuantityUOMCode PendingQuantity
    PickedQuantity StagedQuantity ShippedQuantity DeliveredQuantity BackorderedQuantity CancelledQuantity LineStatus
    LineStatusCode ShipmentStatusCode ScheduledShipDate ActualShipDate IntegrationStatus IntegrationStatusCode
    TrackingNumber Carrier CustomerPONumber ShipToCustomer ShipToCustomerNumber SoldToCustomer SoldToCustomerNumber
    BillToCustomer BillToCustomerNumber ShippingMethod CurrencyCode UnitPrice SellingPrice CreatedBy CreationDate
    LastUpdatedBy LastUpdateDate
""")
INVOICES = names("""
    CustomerTransactionId DueDate ConversionDate ConversionRate InvoiceCurrencyCode SpecialInstructions CrossReference
    DocumentNumber TransactionNumber TransactionDate TransactionType TransactionSource BillToCustomerNumber BillToSite
    Comments InternalNotes PaymentTerms LegalEntityIdentifier ConversionRateType PurchaseOrder PurchaseOrderDate
    PurchaseOrderRevision FirstPartyRegistrationNumber ThirdPartyRegistrationNumber InvoicingRule ShipToCustomerName
    ShipToCustomerNumber BillingDate BillToPartyId BusinessUnit InvoiceStatus AccountingDate ShipToSite
    PayingCustomerName PayingCustomerSite BillToCustomerName FreightAmount Carrier ShipDate ShippingReference
    BillToContact ShipToContact PrintOption CreatedBy CreationDate LastUpdatedBy LastUpdateDate PayingCustomerAccount
    SoldToPartyNumber RemitToAddress DefaultTaxationCountry EnteredAmount InvoiceBalanceAmount Prepayment Intercompany
    DocumentFiscalClassification BankAccountNumber CreditCardAuthorizationRequestIdentifier CreditCardExpirationDate
    CreditCardIssuerCode CreditCardTokenNumber CreditCardVoiceAuthorizationCode CreditCardErrorCode
    CreditCardErrorText CardHolderLastName CardHolderFirstName ReceiptMethod SalesPersonNumber
    StructuredPaymentReference InvoicePrinted LastPrintDate OriginalPrintDate DeliveryMethod Email AllowCompletion
    ControlCompletionReason
""")
INVOICE_LINES = names("CustomerTransactionLineId LineNumber ItemNumber Description Quantity UnitSellingPrice "
                      "LineAmount SalesOrder SalesOrderLine SalesOrderDate")
RECEIPTS = names("""
    StandardReceiptId ReceiptNumber BusinessUnit ReceiptMethod ReceiptDate DocumentNumber Amount Currency
    ConversionRateType ConversionDate ConversionRate State Status RemittanceBankName RemittanceBankBranch
    RemittanceBankAccountNumber RemittanceBankDepositDate RemittanceBankAllowOverride CustomerName
    TaxpayerIdentificationNumber CustomerSite CustomerAccountNumber CustomerBank CustomerBankBranch
    CustomerBankAccountNumber UnappliedAmount AccountedAmount AccountingDate MaturityDate PostmarkDate ReceiptAtRisk
    ReceivablesSpecialist Comments CreditCardTokenNumber CreditCardAuthorizationRequestIdentifier CardHolderFirstName
    CardHolderLastName CreditCardIssuerCode CreditCardExpirationDate VoiceAuthorizationCode CreatedBy CreationDate
    LastUpdateDate LastUpdatedBy
""")
ITEMS = names("""
    ItemId OrganizationId OrganizationCode ItemNumber ItemDescription ItemClass ApprovalStatusValue ItemStatusValue
    LifecyclePhaseValue UserItemTypeValue PrimaryUOMValue SecondaryUOMValue InventoryItemFlag StockEnabledFlag
    ShippableFlag BuildInWIPFlag AssetTrackedFlag LotControlValue SerialGenerationValue
""")


def party_order(source_id: str, account: dict, sku: str, **extra: Any) -> dict:
    body = {
        "SourceTransactionNumber": f"PS-{source_id}", "SourceTransactionSystem": "PSHOP",
        "SourceTransactionId": source_id, "BusinessUnitId": 204, "BuyingPartyNumber": account["PartyNumber"],
        "TransactionalCurrencyCode": "EUR", "RequestedFulfillmentOrganizationCode": "M1", "SubmittedFlag": True,
        "CustomerPONumber": f"PO-{source_id}",
        "shipToCustomer": [{"FirstName": "Ana", "LastName": "Ruiz", "Address1": "3 rue Verte", "City": "Nantes",
                            "PostalCode": "44000", "Country": "FR"}],
        "lines": [{"SourceTransactionLineId": "1", "SourceTransactionLineNumber": "1", "ProductNumber": sku,
                   "OrderedQuantity": 1, "OrderedUOMCode": "Ea"}],
    }
    body.update(extra)
    return body


@pytest.fixture(scope="module")
def pod() -> Iterator[Pod]:
    with run_sandbox("--only", "oracle", "--oracle-port", str(free_port()), "--orders", "150", "--seed", "13",
                     "--end", "2026-03-01", "--oracle-clock-start", "2026-03-01T00:00:00",
                     "--oracle-client-secret", SECRET, "--workers", "1") as base:
        yield Pod(base, USER, SECRET)


@pytest.fixture(scope="module")
def lived(pod: Pod) -> dict[str, Any]:
    """Orders for a company account and a person account, lived through shipping, billing and payment."""
    accounts = pod.items("/accounts", CRM, q="Status=A")
    company = next(a for a in accounts if a["OrganizationName"] == "Webshop Customers FR")
    person = next(a for a in accounts if a["PartyType"] == "PERSON" and a["CreditLimit"] > 1000
                  and a["AccountNumber"] and a["EmailAddress"])
    stock = {r["ItemNumber"]: r["PrimaryQuantity"]
             for r in pod.items("/inventoryOnhandBalances", q="OrganizationCode=M1")}
    active = [i["ItemNumber"] for i in pod.items("/itemsV2", q="ItemStatusValue=Active") if stock.get(i["ItemNumber"],
                                                                                                      0) > 5]
    keys = []
    for n, account in enumerate([company, person] * 10):
        source_id = f"DOC-{n}"
        resp = pod.post(ORDERS, party_order(source_id, account, active[n % len(active)]))
        assert resp.status_code == 201, resp.text
        keys.append(f"PSHOP:{source_id}")
    pod.advance(7 * 24 * 60)  # ship, interface, bill, and (for most) pay
    return {"company": company, "person": person, "keys": keys}


def assert_fields(pod: Pod, path: str, fields: str, wanted: dict[str, tuple[str, ...]], root: str = "") -> None:
    """``fields=`` with every documented attribute: 200, and every row of each level carries all of them."""
    kwargs: dict[str, Any] = {"fields": fields, "onlyData": "true", "limit": 3}
    resp = pod.get(path, root, headers=V4_JSON, **kwargs) if root else pod.get(path, headers=V4_JSON, **kwargs)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    rows = body.get("items", [body])
    assert rows, f"{path} has no rows to show"
    for row in rows:
        for level, attrs in wanted.items():
            # Framework 4 nests an expanded child as a collection object (§2.2).
            nested = [row] if level == "" else row[level]["items"]
            assert nested, f"{path}: no {level} rows to show"
            for item in nested:
                assert set(attrs) <= set(item), (path, level, sorted(set(attrs) - set(item)))


def fields_of(attrs: tuple[str, ...]) -> str:
    return ",".join(attrs)


def test_orders_lines_and_parties_answer_every_documented_attribute(pod: Pod, lived: dict) -> None:
    """§1.3 + the pod-derived header list: header, lines, billToCustomer and shipToCustomer."""
    fields = (f"{fields_of(ORDER_HEADER)};lines:{fields_of(ORDER_LINES)};billToCustomer:{fields_of(BILL_TO)};"
              f"shipToCustomer:{fields_of(SHIP_TO)}")
    assert_fields(pod, ORDERS, fields, {"": ORDER_HEADER, "lines": ORDER_LINES, "billToCustomer": BILL_TO,
                                        "shipToCustomer": SHIP_TO})
    assert_fields(pod, f"{ORDERS}/{lived['keys'][0]}", fields_of(ORDER_HEADER), {"": ORDER_HEADER})


@pytest.mark.parametrize(("path", "attrs"), [
    ("/inventoryOnhandBalances", ONHAND), ("/itemsV2", ITEMS), ("/receivablesInvoices", INVOICES),
    ("/standardReceipts", RECEIPTS), ("/shipments", SHIPMENTS), ("/shipmentLines", SHIPMENT_LINES),
])
def test_collections_answer_every_documented_attribute(pod: Pod, lived: dict, path: str,
                                                       attrs: tuple[str, ...]) -> None:
    assert_fields(pod, path, fields_of(attrs), {"": attrs})


def test_accounts_answer_every_documented_attribute(pod: Pod, lived: dict) -> None:
    """§1.6 on the CRM root."""
    assert_fields(pod, "/accounts", fields_of(ACCOUNTS), {"": ACCOUNTS}, root=CRM)


def test_children_answer_every_documented_attribute(pod: Pod, lived: dict) -> None:
    """§1.5 price list items and charges, §1.8 invoice lines, §1.7 a shipment's lines (nested ``fields``)."""
    assert_fields(pod, "/priceLists", f"{fields_of(PRICE_LISTS)};items:{fields_of(PRICE_ITEMS)};"
                  f"items.charges:{fields_of(PRICE_CHARGES)}", {"": PRICE_LISTS})
    (plist,) = pod.items("/priceLists", q="CurrencyCode=EUR")
    assert_fields(pod, f"/priceLists/{plist['PriceListId']}/child/items",
                  f"{fields_of(PRICE_ITEMS)};charges:{fields_of(PRICE_CHARGES)}",
                  {"": PRICE_ITEMS, "charges": PRICE_CHARGES})
    assert_fields(pod, "/receivablesInvoices", f"{fields_of(INVOICES)};receivablesInvoiceLines:"
                  f"{fields_of(INVOICE_LINES)}", {"": INVOICES, "receivablesInvoiceLines": INVOICE_LINES})
    assert_fields(pod, "/shipments", f"ShipmentId;shipmentLines:{fields_of(SHIPMENT_LINES)}",
                  {"": ("ShipmentId",), "shipmentLines": SHIPMENT_LINES})


def test_available_quantity_answers_the_documented_attributes(pod: Pod, lived: dict) -> None:
    """§1.4 availableQuantityDetails (request/response): the response carries Oracle's attributes."""
    (row, *_) = pod.items("/inventoryOnhandBalances")
    resp = pod.post("/availableQuantityDetails", {"OrganizationCode": row["OrganizationCode"],
                                                  "ItemNumber": row["ItemNumber"]})
    assert resp.status_code == 201 and set(AVAILABLE) <= set(resp.json())


# --------------------------------------------------------------------------------------------- values agree


def test_order_values_agree_with_the_account_key_and_currency(pod: Pod, lived: dict) -> None:
    """The header's derived attributes come from its key, its customer and its warehouse; lines inherit."""
    person = lived["person"]
    for key in lived["keys"][:2]:
        order = pod.get(f"{ORDERS}/{key}", onlyData="true", expand="lines").json()
        assert order["OrderKey"] == key == f"{order['SourceTransactionSystem']}:{order['SourceTransactionId']}"
        assert order["AppliedCurrencyCode"] == order["TransactionalCurrencyCode"] == "EUR"
        assert order["TransactionalCurrencyName"] == order["AppliedCurrencyName"] == "Euro"
        assert order["TransactionType"] == "Standard Orders" and order["TransactionTypeCode"] == "STD"
        assert order["OpenFlag"] is (order["StatusCode"] != "CLOSED")
        for line in order["lines"]:
            assert line["RequestedFulfillmentOrganizationCode"] == order["RequestedFulfillmentOrganizationCode"]
            assert line["RequestedFulfillmentOrganizationName"] == order["RequestedFulfillmentOrganizationName"]
            assert (line["OrderedUOMCode"], line["OrderedUOM"]) == ("Ea", "Each")
        if order["BuyingPartyId"] == person["PartyId"]:
            assert (order["BuyingPartyPersonFirstName"], order["BuyingPartyPersonLastName"]) == (
                person["FirstName"], person["LastName"])
        else:
            assert order["BuyingPartyPersonFirstName"] is None


def test_invoices_and_receipts_name_the_paying_account(pod: Pod, lived: dict) -> None:
    """§1.8/§1.9: an invoice bills the order's customer account (number, name, party); the receipt that pays it names
    the same account and its name (CustomerName), for the invoice's amount."""
    accounts = {a["AccountNumber"]: a for a in pod.items("/accounts", CRM) if a["AccountNumber"]}
    invoices = {i["CustomerTransactionId"]: i for i in pod.items("/receivablesInvoices")}
    orders = {o["SourceTransactionNumber"]: o for o in pod.items(ORDERS, q="SourceTransactionId=DOC-*")}
    mine = [i for i in invoices.values() if i["CrossReference"] in orders]
    assert len(mine) == len(lived["keys"])
    for inv in mine:
        order = orders[inv["CrossReference"]]
        account = accounts[inv["BillToCustomerNumber"]]
        assert account["PartyId"] == inv["BillToPartyId"] == order["BuyingPartyId"]
        assert inv["BillToCustomerName"] == inv["PayingCustomerName"] == account["OrganizationName"]
        assert inv["PayingCustomerAccount"] == account["AccountNumber"]
        assert inv["PurchaseOrder"] == order["CustomerPONumber"]
        (shipped, *_) = pod.items("/shipmentLines", q=f"Order={order['OrderNumber']}")
        assert inv["ShippingReference"] == shipped["TrackingNumber"]
    paid = [r for r in pod.items("/standardReceipts") if r["ReceiptNumber"].startswith("RCPT-")]
    paid_invoices = [i for i in mine if i["InvoiceBalanceAmount"] == 0]
    assert paid and paid_invoices
    by_amount = {(i["PayingCustomerAccount"], i["EnteredAmount"]) for i in paid_invoices}
    for receipt in paid:
        account = accounts[receipt["CustomerAccountNumber"]]
        assert receipt["CustomerName"] == account["OrganizationName"]
        assert receipt["AccountedAmount"] == receipt["Amount"] and receipt["MaturityDate"] == receipt["ReceiptDate"]
    assert by_amount <= {(r["CustomerAccountNumber"], r["Amount"]) for r in paid}


def test_posted_receipt_takes_the_name_of_the_account_it_names(pod: Pod, lived: dict) -> None:
    """§1.9 POST with CustomerAccountNumber: the receipt shows that account's name; an unknown account is a 400."""
    person = lived["person"]
    body = {"ReceiptNumber": "DOC-PAY-1", "ReceiptMethod": "Manual", "BusinessUnit": "Vision Operations",
            "Amount": "12.50", "Currency": "EUR", "CustomerAccountNumber": person["AccountNumber"]}
    created = pod.post("/standardReceipts", body)
    assert created.status_code == 201, created.text
    receipt = created.json()
    assert receipt["CustomerName"] == person["OrganizationName"] and receipt["CreatedBy"] == USER
    assert pod.get("/standardReceipts", q=f"CustomerName={person['OrganizationName']}", onlyData="true"
                   ).json()["count"] >= 1
    unknown = pod.post("/standardReceipts", {**body, "ReceiptNumber": "DOC-PAY-2", "CustomerAccountNumber": "0"},
                       headers=V4_JSON)
    assert unknown.status_code == 400 and unknown.json()["o:errorDetails"][0]["o:errorPath"] == "/CustomerAccountNumber"


def test_shipments_agree_with_their_order_item_and_warehouse(pod: Pod, lived: dict) -> None:
    """§1.7: a shipment is its delivery (DeliveryId), for the order's customer; its lines describe the ordered item
    at the order's prices, from the warehouse on-hand lists."""
    items = {i["ItemNumber"]: i for i in pod.items("/itemsV2")}
    warehouses = {r["OrganizationCode"]: r["OrganizationId"] for r in pod.items("/inventoryOnhandBalances")}
    for key in lived["keys"][:4]:
        order = pod.get(f"{ORDERS}/{key}", onlyData="true", expand="lines").json()
        (line,) = order["lines"]
        (shipped,) = pod.items("/shipmentLines", q=f"Order={order['OrderNumber']}")
        assert shipped["ItemDescription"] == items[shipped["Item"]]["ItemDescription"] == line["ProductDescription"]
        assert (shipped["UnitPrice"], shipped["SellingPrice"]) == (line["UnitListPrice"], line["UnitSellingPrice"])
        assert shipped["CustomerPONumber"] == order["CustomerPONumber"]
        assert shipped["OrganizationId"] == warehouses[shipped["OrganizationCode"]]
        assert shipped["PickedQuantity"] == shipped["ShippedQuantity"] == line["ShippedQuantity"]
        assert shipped["SoldToCustomer"] == shipped["ShipToCustomer"] == order["BuyingPartyName"]
        shipment = pod.get(f"/shipments/{shipped['ShipmentId']}", onlyData="true").json()
        assert shipment["DeliveryId"] == shipment["ShipmentId"] == shipped["ShipmentId"]
        assert shipment["ShipToCustomer"] == order["BuyingPartyName"]
        assert shipment["ShippingMethod"] == shipped["ShippingMethod"] and shipment["Waybill"] == shipped[
            "TrackingNumber"]


def test_accounts_and_items_fill_their_documented_names(pod: Pod, lived: dict) -> None:
    """§1.6: the CX address and contact attributes repeat the account's own; itemsV2 names its UOM."""
    person = pod.get(f"/accounts/{lived['person']['PartyNumber']}", CRM, onlyData="true").json()
    assert person["AddressLine1"] == person["Address1"] and person["PrimaryContactEmail"] == person["EmailAddress"]
    assert person["PrimaryContactName"] == person["OrganizationName"]
    created = pod.post("/accounts", {"OrganizationName": "Atelier Sud", "AddressLine1": "9 quai Est"}, root=CRM)
    assert created.status_code == 201 and created.json()["Address1"] == "9 quai Est"
    for item in pod.items("/itemsV2")[:5]:
        assert (item["PrimaryUOMCode"], item["PrimaryUOMValue"]) == ("Ea", "Each") and item["ShippableFlag"] is True
