"""Every shipped spec loads, and maps a recorded record to the payload we expect — no network, no database.

In the style of dlt's ``configurations/`` tests: one case per spec. PrestaShop inputs are the recorded PrestaShop
8.1.2 responses in ``shared/fixtures/prestashop-8.1.2`` (the shop's clock is Europe/Paris here, so 15:55 local is
14:55 UTC in November); Oracle inputs are the documented Fusion shapes of ``shared/reference/oracle-fusion-and-ebs.md``
(§1.3–§1.9). The outbound specs map the order document built from the canonical rows of those same fixtures.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import FIXTURES

from prestaoracle.mapping import MappingContext, XrefIndex, load_spec, map_record, spec_names, table_rows
from prestaoracle.mapping.converters import CONVERTERS
from prestaoracle.mapping.documents import order_document_from_rows, to_ebs_order

D = Decimal
UTC_NOON = datetime(2026, 11, 26, 14, 55, 9)  # "2026-11-26 15:55:09" in Paris


def fixture(name: str, key: str) -> Any:
    return json.loads((FIXTURES / f"{name}.body.json").read_text(encoding="utf-8"))[key]


def by_id(records: list[dict], record_id: int) -> dict:
    return next(r for r in records if r["id"] == record_id)


@cache
def context() -> MappingContext:
    base = MappingContext.from_config(None, shop_timezone=ZoneInfo("Europe/Paris"))
    # What map_landed reads from the landed currencies and countries of this shop, and the canonical products.
    return base.with_lookups({"currency_iso": {"1": "USD"}, "country_iso": {"8": "FR", "21": "US"},
                              "product_sku": {"1": "demo_1"}}, override=False)


def test_every_spec_loads_and_uses_registered_converters() -> None:
    names = spec_names()
    assert len(names) >= 27
    for name in names:
        spec = load_spec(name)
        assert spec.name == name == (spec.model.target.table or spec.model.target.payload)
        steps = [s.name for d in spec.model.direct for s in d.convert]
        assert set(steps) <= set(CONVERTERS)


def test_every_landed_entity_has_one_spec_and_families_are_mapped() -> None:
    from prestaoracle.mapping.landed import specs_for

    assert [s.name for s in specs_for("prestashop", "orders")] == [
        "ps_orders", "ps_order_lines", "ps_order_carriers", "ps_order_histories", "ps_order_payments", "ps_customers",
        "ps_addresses"]
    for source, entity in [("prestashop", e) for e in ("customers", "addresses", "products", "combinations",
                                                       "stock_availables", "order_slip")] + [
            ("oracle", e) for e in ("sales_orders", "shipment_lines", "invoices", "receipts", "onhand", "prices",
                                    "accounts")]:
        assert specs_for(source, entity)[0].model.source.entity == entity


# ------------------------------------------------------------------------------------------------- PrestaShop


def test_ps_orders_from_the_recorded_order() -> None:
    order = fixture("04_get_orders_display_full_json", "orders")[0]
    assert map_record("ps_orders", order, context()) == {
        "id_order": 1, "reference": "XKBKNABJK", "id_shop": 1, "id_shop_group": 1, "id_customer": 2, "id_cart": 1,
        "id_lang": 1, "id_carrier": 2, "id_address_delivery": 5, "id_address_invoice": 5, "id_currency": 1,
        "conversion_rate": D("1.000000"), "current_state": 6, "valid": False, "payment": "Payment by check",
        "module": "ps_checkpayment", "total_paid": D("61.800000"), "total_paid_tax_incl": D("68.200000"),
        "total_paid_tax_excl": D("66.800000"), "total_paid_real": D("0.000000"), "total_products": D("59.800000"),
        "total_products_wt": D("59.800000"), "total_shipping": D("7.000000"),
        "total_shipping_tax_incl": D("8.400000"), "total_shipping_tax_excl": D("7.000000"),
        "carrier_tax_rate": D("0.000"), "total_discounts": D("0.000000"), "total_discounts_tax_incl": D("0.000000"),
        "total_discounts_tax_excl": D("0.000000"), "total_wrapping": D("0.000000"),
        "total_wrapping_tax_incl": D("0.000000"), "total_wrapping_tax_excl": D("0.000000"),
        "invoice_number": None, "invoice_date": None, "delivery_date": None,  # 0 and 0000-00-00: none yet
        "note": "Test", "date_add": UTC_NOON, "date_upd": UTC_NOON, "currency_iso": "USD",
    }


def test_ps_order_lines_carry_tax_excluded_and_included_amounts() -> None:
    detail = fixture("17_get_order_details_full_json", "order_details")[0]
    assert map_record("ps_order_lines", detail, context()) == {
        "id_order_detail": 1, "id_order": 1, "id_shop": 1, "product_id": 1, "product_attribute_id": 1,
        "sku": "demo_1", "name": "Hummingbird printed t-shirt - Color : White, Size : S", "ean13": None,
        "quantity": 1, "quantity_refunded": 0, "quantity_return": 0, "product_price": D("23.900000"),
        "original_product_price": D("23.900000"), "reduction_amount_tax_excl": D("0.000000"),
        "reduction_amount_tax_incl": D("0.000000"), "unit_price_tax_excl": D("23.900000"),
        "unit_price_tax_incl": D("23.900000"), "total_price_tax_excl": D("23.900000"),
        "total_price_tax_incl": D("23.900000"), "tax_rate": None, "id_warehouse": None,
    }


def test_ps_customers_with_a_zero_birthday_and_a_cost_center() -> None:
    anonymous, john = fixture("07_get_customers_full_json", "customers")
    row = map_record("ps_customers", anonymous, context())
    assert row == {
        "id_customer": 1, "email": "anonymous@psgdpr.com", "firstname": "Anonymous", "lastname": "Anonymous",
        "company": None, "siret": None, "id_gender": 1, "birthday": None, "id_lang": 1, "id_default_group": 3,
        "id_shop": 1, "newsletter": False, "optin": False, "active": False, "is_guest": False, "deleted": False,
        "date_add": datetime(2026, 11, 26, 14, 55, 1), "date_upd": datetime(2026, 11, 26, 14, 55, 1),
        "cost_center": "CC-WEB-RETAIL",  # group 3 (Customer) in config.default.yaml
    }
    assert map_record("ps_customers", john, context())["birthday"] == date(1970, 1, 15)
    assert "passwd" not in row and "secure_key" not in row


def test_ps_addresses_with_iso_country() -> None:
    address = by_id(fixture("08_get_addresses_full_json", "addresses"), 2)
    assert map_record("ps_addresses", address, context()) == {
        "id_address": 2, "id_customer": 2, "alias": "Mon adresse", "company": "My Company", "firstname": "John",
        "lastname": "DOE", "address1": "16, Main street", "address2": "2nd floor", "postcode": "75002",
        "city": "Paris", "id_country": 8, "id_state": None, "phone": "0102030405", "phone_mobile": None,
        "vat_number": None, "dni": None, "deleted": False, "date_add": UTC_NOON, "date_upd": UTC_NOON,
        "country_iso": "FR", "state_iso": None,
    }


def test_ps_products_and_combinations() -> None:
    product = json.loads((FIXTURES / "10_get_product_1_json.body.json").read_text())["product"]
    assert map_record("ps_products", product, context()) == {
        "id_product": 1, "sku": "demo_1", "name": "Hummingbird printed t-shirt", "price": D("23.900000"),
        "wholesale_price": D("5.490000"), "id_tax_rules_group": 9, "id_default_combination": 1, "ean13": None,
        "active": True, "date_add": UTC_NOON, "date_upd": UTC_NOON, "product_type": "combinations",
    }
    combination = fixture("22_get_combinations_full_json", "combinations")[0]
    assert map_record("ps_combinations", combination, context()) == {
        "id_product_attribute": 1, "id_product": 1, "sku": "demo_1", "ean13": None, "price": D("0.000000"),
        "wholesale_price": D("0.000000"), "minimal_quantity": 1, "default_on": True,
    }


def test_ps_stock_takes_the_sku_of_its_product() -> None:
    stock = fixture("09_get_stock_availables_full_json", "stock_availables")[0]
    assert map_record("ps_stock", stock, context()) == {
        "id_stock_available": 1, "id_product": 1, "id_product_attribute": 0, "id_shop": 1, "id_shop_group": 0,
        "quantity": 2400, "depends_on_stock": False, "out_of_stock": 2, "sku": "demo_1",
    }


def test_ps_order_payments_order_carriers_and_histories() -> None:
    payment = fixture("53c_get_order_payments_after_json", "order_payments")[0]
    assert map_record("ps_order_payments", {**payment, "card_number": "4111111111111234"}, context()) == {
        "id_order_payment": 1, "order_reference": "OHSATSERP", "id_currency": 1, "amount": D("169.900000"),
        "payment_method": "Payments by check", "conversion_rate": D("1.000000"), "transaction_id": None,
        "card_brand": None, "card_last4": "1234", "date_add": datetime(2026, 11, 26, 14, 55, 16),
        "currency_iso": "USD",
    }
    carrier = fixture("12_get_order_carriers_full_json", "order_carriers")[0]
    assert map_record("ps_order_carriers", carrier, context()) == {
        "id_order_carrier": 1, "id_order": 1, "id_carrier": 2, "id_order_invoice": None, "weight": D("0.000000"),
        "shipping_cost_tax_excl": D("7.000000"), "shipping_cost_tax_incl": D("8.400000"), "tracking_number": None,
        "date_add": UTC_NOON,
    }
    history = fixture("11_get_order_histories_full_json", "order_histories")[0]
    assert map_record("ps_order_histories", history, context()) == {
        "id_order_history": 1, "id_order": 1, "id_order_state": 1, "id_employee": None, "date_add": UTC_NOON,
    }


def test_ps_order_slips() -> None:
    # No credit slip was recorded; this is the webservice's order_slip shape (reference §5) with 8.1 spellings.
    slip = {"id": 3, "id_customer": 2, "id_order": 1, "conversion_rate": "1.000000",
            "total_products_tax_excl": "23.900000", "total_products_tax_incl": "28.680000",
            "total_shipping_tax_excl": "0.000000", "total_shipping_tax_incl": "0.000000", "amount": "28.680000",
            "shipping_cost": "0", "shipping_cost_amount": "0.000000", "partial": "0", "order_slip_type": 0,
            "date_add": "2026-11-27 09:00:00", "date_upd": "2026-11-27 09:00:00"}
    assert map_record("ps_order_slips", slip, context()) == {
        "id_order_slip": 3, "id_order": 1, "id_customer": 2, "conversion_rate": D("1.000000"),
        "total_products_tax_excl": D("23.900000"), "total_products_tax_incl": D("28.680000"),
        "total_shipping_tax_excl": D("0.000000"), "total_shipping_tax_incl": D("0.000000"), "amount": D("28.680000"),
        "shipping_cost": False, "shipping_cost_amount": D("0.000000"), "partial": False, "order_slip_type": 0,
        "date_add": datetime(2026, 11, 27, 8, 0), "date_upd": datetime(2026, 11, 27, 8, 0),
    }


# ------------------------------------------------------------------------------------------------- Oracle

SALES_ORDER = {  # §1.3 response shape, with lines expanded
    "HeaderId": 300100560012345, "OrderNumber": "520123", "SourceTransactionNumber": "XKBKNABJK",
    "SourceTransactionSystem": "PSHOP", "SourceTransactionId": "PS1-1", "BusinessUnitId": 204,
    "BusinessUnitName": "Vision Operations", "BuyingPartyId": 1006, "BuyingPartyNumber": "1006",
    "TransactionalCurrencyCode": "USD", "StatusCode": "OPEN", "Status": "Processing", "TotalAmount": 59.8,
    "TransactionOn": "2026-11-26T14:55:09+00:00", "CustomerPONumber": "XKBKNABJK",
    "LastUpdateDate": "2026-11-26T16:21:07.123+01:00",
    "lines": [{"LineId": 300100560012346, "HeaderId": 300100560012345, "LineNumber": 1, "DisplayLineNumber": "1",
               "SourceTransactionLineId": "1", "ProductNumber": "demo_1", "OrderedQuantity": 1,
               "OrderedUOMCode": "Ea", "UnitListPrice": 23.9, "UnitSellingPrice": 23.9, "ExtendedAmount": 23.9,
               "ShippedQuantity": None, "CanceledQuantity": 0, "StatusCode": "AWAITING_SHIPPING",
               "LastUpdateDate": "2026-11-26T15:21:07+00:00"}],
}


def test_ora_sales_orders_with_their_lines() -> None:
    spec = load_spec("ora_sales_orders")
    rows = table_rows(spec, map_record(spec, SALES_ORDER, context()))
    assert rows == {
        "ora_sales_orders": [{
            "header_id": 300100560012345, "order_number": "520123", "source_system": "PSHOP", "source_id": "PS1-1",
            "source_number": "XKBKNABJK", "customer_po": "XKBKNABJK", "buying_party_id": 1006, "status_code": "OPEN",
            "status": "Processing", "currency": "USD", "total_amount": D("59.8"),
            "ordered_at": UTC_NOON, "last_update": datetime(2026, 11, 26, 15, 21, 7, 123000),
            "business_unit": "Vision Operations"}],
        "ora_order_lines": [{
            "line_id": 300100560012346, "source_line_id": "1", "sku": "demo_1", "ordered_quantity": D("1"),
            "shipped_quantity": None, "canceled_quantity": D("0"), "uom": "Ea", "unit_list_price": D("23.9"),
            "unit_selling_price": D("23.9"), "extended_amount": D("23.9"), "status_code": "AWAITING_SHIPPING",
            "last_update": datetime(2026, 11, 26, 15, 21, 7), "header_id": 300100560012345, "line_number": "1"}],
    }


def test_ora_shipment_lines_onhand_prices() -> None:
    shipment = {"ShipmentLine": 7001, "Order": "520123", "SourceOrder": "XKBKNABJK", "SourceOrderLine": "1",
                "Item": "demo_1", "RequestedQuantity": 1, "ShippedQuantity": 1, "Shipment": "5001",
                "LineStatusCode": "C", "TrackingNumber": " 1Z999AA10123456784 ", "Carrier": "UPS",
                "ActualShipDate": "2026-11-27T08:00:00+00:00", "LastUpdateDate": "2026-11-27T08:00:01+00:00"}
    assert map_record("ora_shipment_lines", shipment, context()) == {
        "shipment_line_id": 7001, "order_number": "520123", "source_order": "XKBKNABJK", "source_order_line": "1",
        "sku": "demo_1", "requested_quantity": D("1"), "shipped_quantity": D("1"), "shipment": "5001",
        "line_status": "C", "tracking_number": "1Z999AA10123456784", "carrier": "UPS",
        "ship_date": datetime(2026, 11, 27, 8, 0), "last_update": datetime(2026, 11, 27, 8, 0, 1)}
    onhand = {"OrganizationId": 207, "OrganizationCode": "M1", "InventoryItemId": 149, "ItemNumber": "AS54888",
              "SubinventoryCode": "Stores", "PrimaryUOMCode": "Ea", "PrimaryQuantity": 1120,
              "SummaryLevel": "Subinventory", "LastUpdateDate": "2026-11-26T10:00:00+00:00",
              "_key": "M1:AS54888:Stores"}
    assert map_record("ora_onhand", onhand, context()) == {
        "org": "M1", "sku": "AS54888", "quantity": D("1120"), "uom": "Ea",
        "last_update": datetime(2026, 11, 26, 10, 0), "available": None}
    price = {"PriceListChargeId": 300100092000001, "PricingChargeDefinitionCode": "QP_SALE_PRICE",
             "CalculationMethodCode": "PRICE", "BasePrice": 49.9, "StartDate": "2025-01-01T00:00:00+00:00",
             "EndDate": None, "LastUpdateDate": "2026-11-01T00:00:00+00:00", "PriceListId": 300100090000001,
             "CurrencyCode": "EUR", "Item": "AS54888"}
    assert map_record("ora_prices", price, context()) == {
        "currency": "EUR", "sku": "AS54888", "price_list_id": 300100090000001, "base_price": D("49.9"),
        "start_date": datetime(2025, 1, 1), "end_date": None, "last_update": datetime(2026, 11, 1),
        "price_list": "300100090000001", "uom": None}


def test_ora_invoices_receipts_accounts() -> None:
    invoice = {"CustomerTransactionId": 9001, "TransactionNumber": "INV-1", "TransactionDate": "2026-11-28",
               "TransactionType": "Invoice", "BillToCustomerNumber": "1006", "InvoiceCurrencyCode": "USD",
               "InvoiceStatus": "Complete", "EnteredAmount": 59.8, "InvoiceBalanceAmount": 0,
               "PurchaseOrder": "XKBKNABJK", "LastUpdateDate": "2026-11-28T09:00:00+00:00",
               "receivablesInvoiceLines": [
                   {"CustomerTransactionLineId": 9101, "LineNumber": 1, "ItemNumber": "demo_1",
                    "Description": "T-shirt", "Quantity": 1, "UnitSellingPrice": 23.9, "LineAmount": 23.9,
                    "SalesOrder": "520123", "SalesOrderLine": "1"}]}
    spec = load_spec("ora_invoices")
    assert table_rows(spec, map_record(spec, invoice, context())) == {
        "ora_invoices": [{"customer_trx_id": 9001, "transaction_number": "INV-1",
                          "transaction_date": date(2026, 11, 28), "transaction_type": "Invoice",
                          "bill_to_account": "1006", "currency": "USD", "status": "Complete",
                          "entered_amount": D("59.8"), "balance_amount": D("0"), "purchase_order": "XKBKNABJK",
                          "last_update": datetime(2026, 11, 28, 9, 0), "sales_order": "520123"}],
        "ora_invoice_lines": [{"customer_trx_line_id": 9101, "line_number": 1, "sku": "demo_1",
                               "description": "T-shirt", "quantity": D("1"), "unit_selling_price": D("23.9"),
                               "line_amount": D("23.9"), "sales_order": "520123", "sales_order_line": "1",
                               "customer_trx_id": 9001}]}
    receipt = {"StandardReceiptId": 300100153164586, "ReceiptNumber": "PS-PAY-000123", "ReceiptMethod": "Manual",
               "Amount": "99.80", "Currency": "USD", "ReceiptDate": "2025-01-15", "Status": "CLEARED",
               "CustomerAccountNumber": "1004", "UnappliedAmount": 0, "LastUpdateDate": "2025-01-15T10:00:00Z"}
    assert map_record("ora_receipts", receipt, context()) == {
        "cash_receipt_id": 300100153164586, "receipt_number": "PS-PAY-000123", "receipt_date": date(2025, 1, 15),
        "receipt_method": "Manual", "amount": D("99.80"), "unapplied_amount": D("0"), "currency": "USD",
        "customer_account": "1004", "status": "CLEARED", "last_update": datetime(2025, 1, 15, 10, 0),
        "reference": None}
    person = {"PartyId": 1001, "PartyNumber": "1001", "OrganizationName": None, "PartyType": "PERSON",
              "FirstName": "Zoë", "LastName": "Ångström", "EmailAddress": "zoe@example.com", "Country": "SE",
              "CustomerAccountId": 2001, "AccountNumber": "2001", "Status": "A", "SourceSystem": "PSHOP",
              "SourceSystemReferenceValue": "42", "LastUpdateDate": "2026-11-01T00:00:00+00:00",
              "PostalCode": " 114 55 ", "City": "Stockholm", "PhoneNumber": "+46 8 123", "TaxRegistrationNumber": ""}
    assert map_record("ora_accounts", person, context()) == {
        "cust_account_id": 2001, "account_number": "2001", "party_id": 1001, "party_number": "1001",
        "email": "zoe@example.com", "country": "SE", "status": "A", "source_system": "PSHOP", "source_ref": "42",
        "last_update": datetime(2026, 11, 1), "name": "Zoë Ångström", "postcode": "114 55", "city": "Stockholm",
        "phone": "+46 8 123", "vat_number": None}


# ------------------------------------------------------------------------------------------------- outbound


def order_document() -> dict[str, Any]:
    """Order 1 of the recorded shop, as its canonical rows make it."""
    ctx = context()
    order = map_record("ps_orders", fixture("04_get_orders_display_full_json", "orders")[0], ctx)
    lines = [map_record("ps_order_lines", d, ctx) for d in fixture("17_get_order_details_full_json", "order_details")]
    customers = {c["id_customer"]: c for c in (map_record("ps_customers", c, ctx)
                                               for c in fixture("07_get_customers_full_json", "customers"))}
    addresses = {a["id_address"]: a for a in (map_record("ps_addresses", a, ctx)
                                              for a in fixture("08_get_addresses_full_json", "addresses"))}
    return order_document_from_rows(order, lines, customers, addresses)


def test_fusion_sales_order_payload() -> None:
    payload = map_record("fusion_sales_order", order_document(), context())
    address = {"PartyName": "My Company", "FirstName": "John", "LastName": "DOE", "Address1": "16, Main street",
               "Address2": "2nd floor", "City": "Miami", "PostalCode": "33133", "Country": "US",
               "Email": "pub@prestashop.com"}

    def line(n: int, sku: str, price: float) -> dict[str, Any]:
        return {"SourceTransactionLineId": str(n), "SourceTransactionLineNumber": str(n),
                "SourceTransactionScheduleId": "1", "SourceScheduleNumber": "1", "TransactionCategoryCode": "ORDER",
                "ProductNumber": sku, "OrderedQuantity": 1, "OrderedUOMCode": "Ea",
                "charges": [{"ChargeDefinitionCode": "QP_SALE_PRICE", "ChargeSubtypeCode": "ORA_PRICE",
                             "PriceTypeCode": "ONE_TIME", "ChargeTypeCode": "ORA_SALE", "ApplyTo": "PRICE",
                             "RollupFlag": False, "PrimaryFlag": True,
                             "chargeComponents": [{"PriceElementCode": "QP_NET_PRICE", "SequenceNumber": 1,
                                                   "PriceElementUsageCode": "NET_PRICE",
                                                   "ChargeCurrencyUnitPrice": price}]}]}

    assert payload == {
        "SourceTransactionNumber": "XKBKNABJK", "SourceTransactionSystem": "PSHOP", "SourceTransactionId": "PS1-1",
        "BusinessUnitName": "Vision Operations", "BuyingPartyName": "Webshop Customers US",
        "TransactionalCurrencyCode": "USD", "TransactionOn": "2026-11-26T14:55:09+00:00",
        "TransactionTypeCode": "STD", "RequestedFulfillmentOrganizationCode": "M1", "CustomerPONumber": "XKBKNABJK",
        "PaymentTerms": "NET30", "FreezePriceFlag": True, "FreezeShippingChargeFlag": True, "FreezeTaxFlag": False,
        "SubmittedFlag": True, "billToCustomer": [address], "shipToCustomer": [address],
        "lines": [line(1, "demo_1", 23.9), line(2, "demo_3", 35.9)],
    }
    json.dumps(payload)  # what the Fusion client sends: plain JSON types only


def test_fusion_sales_order_uses_bound_ids_and_converts_to_the_order_currency() -> None:
    ctx = MappingContext.from_config(None, shop_timezone=ZoneInfo("Europe/Paris"),
                                     defaults={**context().defaults, "order_currency": "EUR"},
                                     xref=XrefIndex.of([("prestashop", "customer", "2", "oracle", "1006"),
                                                        ("prestashop", "sku", "1:1", "oracle", "AS54888")]))
    payload = map_record("fusion_sales_order", order_document(), ctx.with_lookups(context().lookups))
    assert payload["BuyingPartyNumber"] == "1006" and "BuyingPartyName" not in payload
    assert payload["TransactionalCurrencyCode"] == "EUR"
    assert [x["ProductNumber"] for x in payload["lines"]] == ["AS54888", "demo_3"]
    # 23.90 USD at EUR->USD 1.08 (config.default.yaml): 22.129630 EUR
    assert payload["lines"][0]["charges"][0]["chargeComponents"][0]["ChargeCurrencyUnitPrice"] == 22.12963


def test_ebs_order_interface_rows() -> None:
    ctx = context().with_lookups({"ebs_webshop_account": {"US:USD": "1290"}, "ebs_payment_term": {"NET30": "1004"},
                                  "ebs_ship_method": {"2": "000001_UPS_P_GND"}})
    payload = map_record("ebs_order", order_document(), ctx)
    assert payload == {
        "orig_sys_document_ref": "PS1-1", "sold_to_org_id": 1290, "currency": "USD", "ordered_date": UTC_NOON,
        "customer_po_number": "XKBKNABJK", "shipping_method_code": "000001_UPS_P_GND", "payment_term_id": 1004,
        "order_type_id": None, "booked": True,
        "lines": [{"orig_sys_line_ref": "1", "sku": "demo_1", "quantity": D("1"),
                   "unit_selling_price": D("23.900000"), "unit_list_price": D("23.900000")},
                  {"orig_sys_line_ref": "2", "sku": "demo_3", "quantity": D("1"),
                   "unit_selling_price": D("35.900000"), "unit_list_price": D("35.900000")}],
    }
    order = to_ebs_order(payload)
    assert order.orig_sys_document_ref == "PS1-1" and order.sold_to_org_id == 1290
    assert order.ordered_date is not None and order.ordered_date.utcoffset() is not None
    assert [x.sku for x in order.lines] == ["demo_1", "demo_3"]


def test_prestashop_order_state_from_the_oracle_status() -> None:
    spec = load_spec("ora_sales_orders")
    rows = table_rows(spec, map_record(spec, SALES_ORDER, context()))
    doc = {**rows["ora_sales_orders"][0], "lines": rows["ora_order_lines"]}
    assert map_record("prestashop_order_state", doc, context()) == {
        "id_shop": 1, "id_order": 1, "oracle_status": "OPEN", "id_order_state": 3}
    shipped = {**doc, "lines": [{**doc["lines"][0], "status_code": "SHIPPED"}]}
    assert map_record("prestashop_order_state", shipped, context())["id_order_state"] == 4
    closed = {**doc, "status_code": "CLOSED"}
    assert map_record("prestashop_order_state", closed, context())["id_order_state"] == 5


def test_prestashop_stock_from_oracle_onhand() -> None:
    ctx = context().with_lookups({"stock_by_sku": {"demo_1": 1}, "stock_by_product": {"1:1": 20}})
    assert map_record("prestashop_stock", {"org": "M1", "sku": "demo_1", "quantity": D("1120"),
                                           "available": D("1100.5")}, ctx) == {
        "sku": "demo_1", "id_stock_available": 1, "quantity": 1100}
    bound = MappingContext(xref=XrefIndex.of([("prestashop", "sku", "1:1", "oracle", "AS54888")])).with_lookups(
        ctx.lookups)
    assert map_record("prestashop_stock", {"sku": "AS54888", "quantity": D("7")}, bound)["id_stock_available"] == 20


def test_prestashop_price_from_an_oracle_price() -> None:
    ctx = context().with_lookups({
        "product_by_sku": {"demo_1": "1:0", "demo_1-S-BLUE": "1:2"}, "product_price": {"1": D("23.900000")},
        "product_tax_group": {"1": 9}})
    product = map_record("prestashop_price", {"sku": "demo_1", "currency": "EUR", "base_price": D("25.00")}, ctx)
    assert product == {"sku": "demo_1", "id_product": 1, "id_product_attribute": 0,
                       "resource": "products", "currency": "EUR", "price_tax_excl": D("25.000000"),
                       "price_tax_incl": D("30.000000"), "price": D("25.000000")}
    combination = map_record("prestashop_price", {"sku": "demo_1-S-BLUE", "currency": "USD",
                                                  "base_price": D("32.40")}, ctx)
    # 32.40 USD = 30.00 EUR at 1.08; a combination's price is its impact over the product's 23.90.
    assert combination["resource"] == "combinations" and combination["id_product_attribute"] == 2
    assert combination["price_tax_excl"] == D("30.000000")
    assert combination["price"] == D("6.100000")


def test_customers_both_ways() -> None:
    doc = {**map_record("ps_customers", fixture("07_get_customers_full_json", "customers")[1], context()),
           "address": map_record("ps_addresses", by_id(fixture("08_get_addresses_full_json", "addresses"), 2),
                                 context())}
    assert map_record("fusion_account", doc, context()) == {
        "SourceSystem": "PSHOP", "SourceSystemReferenceValue": "2", "PartyType": "PERSON",
        "OrganizationName": "John DOE", "FirstName": "John", "LastName": "DOE",
        "EmailAddress": "pub@prestashop.com", "PhoneNumber": "0102030405", "Address1": "16, Main street",
        "Address2": "2nd floor", "City": "Paris", "PostalCode": "75002", "Country": "FR", "Status": "A"}
    account = {"cust_account_id": 2001, "party_number": "1001", "name": "Anne de la Tour",
               "email": " Anne@Example.com ", "status": "A", "source_system": "PSHOP", "source_ref": "42"}
    assert map_record("prestashop_customer", account, context()) == {
        "id_customer": 42, "firstname": "Anne", "lastname": "de la Tour", "email": "anne@example.com",
        "active": True}
    other = {**account, "source_system": "LEG", "source_ref": "LEG-1", "name": "Cher", "status": "I"}
    ctx = context().with_lookups({})
    bound = MappingContext(xref=XrefIndex.of([("prestashop", "customer", "7", "oracle", "1001")]))
    assert map_record("prestashop_customer", other, ctx)["id_customer"] is None
    assert map_record("prestashop_customer", other, bound) == {
        "id_customer": 7, "firstname": "Cher", "lastname": "Cher", "email": "anne@example.com", "active": False}


@pytest.mark.parametrize(("spec", "field"), [("fusion_sales_order", "TransactionalCurrencyCode"),
                                             ("ebs_order", "currency")])
def test_an_order_whose_currency_is_unknown_is_mapping_missing(spec: str, field: str) -> None:
    from dataclasses import replace

    from prestaoracle.mapping import MappingMissing

    doc = {**order_document(), "currency_iso": None}
    bound = replace(context(), xref=XrefIndex.of([("prestashop", "customer", "2", "oracle", "1006"),
                                                  ("prestashop", "ebs_customer", "2", "oracle", "1290")]))
    with pytest.raises(MappingMissing) as caught:
        map_record(spec, doc, bound)
    assert caught.value.field == field
    assert caught.value.how_to_fix == "Extract the shop's currencies (the order's id_currency has no ISO code in " \
                                      "staging)."
