"""The suites of the PrestaShop canonical tables: what an order, a customer, an address… must satisfy before it
may go to Oracle.

Frame checks read the columns ``frames.py`` derives (``totals_gap_tax_incl``, ``line_count``, ``has_country``…);
table checks read the columns their query computes over the whole staging table, for the pending rows only.
"""

from __future__ import annotations

from . import codes
from .rules import Check, Entity, Rule, at_least, at_most, found, matches, not_below, one_of, required

# Money rules allow one cent: PrestaShop rounds per line (round_type 1) or per total, and both are right.
CENT = 0.01
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
"""An address with one ``@``, a dotted domain and no blanks: what PrestaShop's own isEmail lets through, minus
the forms no mail server accepts. Unicode letters are fine."""
CARD_LAST4 = r"^[0-9]{4}$"


def _currency_known(column: str = "currency_iso") -> Rule:
    return one_of(column, list(codes.currencies()), name="currency_known", reason="mapping_missing",
                  problem="the currency is not an ISO 4217 currency in use",
                  fix="set the currency's ISO code in the shop (International › Localization › Currencies) to a "
                      "current ISO 4217 code Oracle knows")


# ------------------------------------------------------------------------------------------ orders

_ORDER_REQUIRED = (
    ("reference", "the order reference"), ("id_customer", "the customer"), ("id_cart", "the cart"),
    ("id_address_delivery", "the delivery address"), ("id_address_invoice", "the invoice address"),
    ("currency_iso", "the currency"), ("total_paid_tax_incl", "the total paid (tax incl.)"),
    ("total_paid_tax_excl", "the total paid (tax excl.)"), ("date_add", "the order date"),
)

ORDER_FRAME = Check("orders", "frame", ("id_order",), (
    *(required(c, what=what, fix=f"fill {what} of the order in the shop; Oracle needs it on the sales order")
      for c, what in _ORDER_REQUIRED),
    at_least("line_count", 1, name="order_has_lines", reason="invalid_data", problem="the order has no lines",
             fix="check the order in the shop back office; re-extract it once its products are there"),
    _currency_known(),
    at_least("conversion_rate", 1e-9, name="conversion_rate_positive", reason="invalid_data",
             problem="the conversion rate is not a positive number",
             fix="set the currency's exchange rate in the shop (Localization › Currencies)"),
    at_most("totals_gap_tax_incl", CENT, name="totals_add_up", reason="business_rule",
            problem="lines + shipping + wrapping − discounts differ from the total paid (tax incl.) by more than "
                    "0.01",
            fix="correct the order totals in the shop (or the cart rules that changed them), then re-sync it; "
                "Oracle would bill a different amount than the customer paid"),
    at_most("totals_gap_tax_excl", CENT, name="totals_add_up_tax_excl", reason="business_rule",
            problem="lines + shipping + wrapping − discounts differ from the total paid (tax excl.) by more than "
                    "0.01",
            fix="correct the order's tax-excluded totals in the shop, then re-sync it"),
    not_below("total_paid_tax_incl", "total_paid_tax_excl", name="total_tax_incl_at_least_excl",
              reason="business_rule", problem="the total paid tax included is below the total tax excluded",
              fix="check the order's tax rules in the shop: a tax-included amount is never below its tax-excluded "
                  "amount"),
    not_below("total_shipping_tax_incl", "total_shipping_tax_excl", name="shipping_tax_incl_at_least_excl",
              reason="business_rule", problem="shipping tax included is below shipping tax excluded",
              fix="check the carrier's tax rule in the shop"),
))

LINE_FRAME = Check("order_lines", "frame", ("id_order", "id_order_detail"), (
    at_least("quantity", 1, name="line_quantity_positive", reason="invalid_data",
             problem="an order line has a quantity below 1",
             fix="correct the line's quantity in the shop; a return is a credit slip (order_slip), never a "
                 "negative line"),
    required("sku", what="a line's SKU (product reference)", name="line_sku_present",
             fix="give the product (or its combination) a reference in the shop catalogue, then re-sync the "
                 "order; without it the line cannot be matched to an Oracle item"),
    not_below("total_price_tax_incl", "total_price_tax_excl", name="line_tax_incl_at_least_excl",
              reason="business_rule", problem="a line's total tax included is below its total tax excluded",
              fix="check the product's tax rule in the shop"),
    at_least("unit_price_tax_excl", 0, name="line_price_not_negative", reason="invalid_data",
             problem="a line has a negative unit price", fix="correct the line's price in the shop"),
))

# Orders of one cart sharing one reference are PrestaShop's own split (one order per carrier): legitimate. Two
# references on one cart are two checkouts of the same cart (a double-click, a payment module calling back twice).
ORDER_TABLE = Check("orders_table", "table", ("id_order",), (
    at_most("same_id_orders", 1, name="order_id_unique", reason="duplicate", problem="the order id appears twice",
            fix="the staging table was edited by hand: remove the copy"),
    at_most("references_per_cart", 1, name="cart_one_order", reason="duplicate",
            problem="another order with a different reference was placed from the same cart (duplicate order)",
            fix="decide in the shop which of the orders is real and cancel the other (set it to 'Canceled'); the "
                "gate never picks one. Then release the real one: python -m prestaoracle.quality release --entity "
                "orders --key ID --note 'WHO: why'"),
    at_most("carts_per_reference", 1, name="reference_one_cart", reason="duplicate",
            problem="the order reference is also used by an order of another cart",
            fix="give each order its own reference in the shop (a module re-using references?)"),
    found("customer_found", name="customer_resolvable", problem="the order's customer is not in staging",
          fix="extract the customer (python -m prestaoracle extract --source prestashop --entity customers); "
              "if the shop deleted it, restore it or cancel the order"),
    found("delivery_address_found", name="delivery_address_resolvable",
          problem="the order's delivery address is not in staging",
          fix="extract addresses (python -m prestaoracle extract --source prestashop --entity addresses)"),
    found("invoice_address_found", name="invoice_address_resolvable",
          problem="the order's invoice address is not in staging",
          fix="extract addresses (python -m prestaoracle extract --source prestashop --entity addresses)"),
), query="""
SELECT w.id_order, w.id_cart, w.reference, w.id_customer,
       w.same_id_orders, w.references_per_cart, w.carts_per_reference,
       CASE WHEN w.id_customer IS NULL THEN NULL WHEN c.id_customer IS NULL THEN 0 ELSE 1 END AS customer_found,
       CASE WHEN w.id_address_delivery IS NULL THEN NULL WHEN ad.id_address IS NULL THEN 0 ELSE 1 END
            AS delivery_address_found,
       CASE WHEN w.id_address_invoice IS NULL THEN NULL WHEN ai.id_address IS NULL THEN 0 ELSE 1 END
            AS invoice_address_found
FROM (SELECT o.id_order, o.id_cart, o.reference, o.id_customer, o.id_address_delivery, o.id_address_invoice,
             o.dq_status,
             COUNT(*) OVER (PARTITION BY o.id_order) AS same_id_orders,
             CASE WHEN o.id_cart IS NULL THEN NULL
                  WHEN MIN(o.reference) OVER (PARTITION BY o.id_cart) < MAX(o.reference) OVER (PARTITION BY o.id_cart)
                  THEN 2 ELSE 1 END AS references_per_cart,
             CASE WHEN o.reference IS NULL THEN NULL
                  WHEN MIN(o.id_cart) OVER (PARTITION BY o.reference) < MAX(o.id_cart) OVER (PARTITION BY o.reference)
                  THEN 2 ELSE 1 END AS carts_per_reference
      FROM ps_orders o) w
LEFT JOIN ps_customers c ON c.id_customer = w.id_customer
LEFT JOIN ps_addresses ad ON ad.id_address = w.id_address_delivery
LEFT JOIN ps_addresses ai ON ai.id_address = w.id_address_invoice
WHERE w.dq_status = 'pending'
""")

# A SKU is known when the staged catalogue has it, as a product or as a combination: that is what the mapping's
# SKU map translates into an Oracle item. Lines without a SKU are line_sku_present's, not this rule's (NULL here).
LINE_TABLE = Check("order_lines_table", "table", ("id_order", "id_order_detail"), (
    found("sku_known", name="line_sku_known",
          problem="a line's SKU matches no product or combination of the catalogue",
          fix="add the SKU to the shop catalogue (or correct the line's reference) and extract products and "
              "combinations; if the item exists in Oracle under another number, add the pair to the SKU map"),
), query="""
SELECT l.id_order, l.id_order_detail, l.sku,
       CASE WHEN l.sku IS NULL OR l.sku = '' THEN NULL
            WHEN EXISTS (SELECT 1 FROM ps_products p WHERE p.sku = l.sku) THEN 1
            WHEN EXISTS (SELECT 1 FROM ps_combinations pc WHERE pc.sku = l.sku) THEN 1
            ELSE 0 END AS sku_known
FROM ps_order_lines l
JOIN ps_orders o ON o.id_order = l.id_order
WHERE o.dq_status = 'pending'
""")

ORDERS = Entity("orders", "prestashop", "ps_orders", ("id_order",), (ORDER_FRAME, LINE_FRAME, ORDER_TABLE, LINE_TABLE),
                children=(("ps_order_lines", "id_order"), ("ps_order_carriers", "id_order"),
                          ("ps_order_histories", "id_order")),
                frame_children={"order_lines": "ps_order_lines"})

# ------------------------------------------------------------------------------------------ customers, addresses

CUSTOMERS = Entity("customers", "prestashop", "ps_customers", ("id_customer",), (
    Check("customers", "frame", ("id_customer",), (
        required("email", what="the e-mail address", fix="enter the customer's e-mail address in the shop"),
        matches("email", EMAIL, name="email_format", problem="the e-mail address is not a valid address",
                fix="correct the customer's e-mail address in the shop (Customers › edit); Oracle uses it to "
                    "match and contact the customer"),
        required("lastname", what="the last name", fix="enter the customer's last name in the shop"),
        required("firstname", what="the first name", fix="enter the customer's first name in the shop"),
    )),
    Check("customers_table", "table", ("id_customer",), (
        at_most("same_id_customers", 1, name="customer_id_unique", reason="duplicate",
                problem="the customer id appears twice", fix="the staging table was edited by hand: remove the copy"),
    ), query="""
SELECT w.id_customer, w.same_id_customers
FROM (SELECT c.id_customer, c.dq_status, COUNT(*) OVER (PARTITION BY c.id_customer) AS same_id_customers
      FROM ps_customers c) w
WHERE w.dq_status = 'pending'
"""),
))

ADDRESSES = Entity("addresses", "prestashop", "ps_addresses", ("id_address",), (
    Check("addresses", "frame", ("id_address",), (
        one_of("has_country", [True], name="country_present", reason="invalid_data",
               problem="the address has no country",
               fix="choose the country of the address in the shop (Customers › Addresses)"),
        one_of("country_code", list(codes.countries()), name="country_known", reason="mapping_missing",
               problem="the address's country has no ISO 3166 code",
               fix="set the country's ISO code in the shop (International › Locations › Countries)"),
        required("address1", what="the street address", fix="enter the street address in the shop"),
        required("city", what="the city", fix="enter the city in the shop"),
        required("lastname", what="the addressee's last name", fix="enter the last name on the address"),
    )),
    Check("addresses_table", "table", ("id_address",), (
        found("customer_found", name="address_customer_resolvable",
              problem="the address's customer is not in staging",
              fix="extract the customer (python -m prestaoracle extract --source prestashop --entity customers)"),
    ), query="""
SELECT a.id_address,
       CASE WHEN a.id_customer IS NULL OR a.id_customer = 0 THEN NULL
            WHEN c.id_customer IS NULL THEN 0 ELSE 1 END AS customer_found
FROM ps_addresses a
LEFT JOIN ps_customers c ON c.id_customer = a.id_customer
WHERE a.dq_status = 'pending'
"""),
))

# ------------------------------------------------------------------------------------------ catalogue and stock

# A SKU names one product. A product's combinations may share its reference (PrestaShop's demo shop does, and
# the SKU map is keyed by product and combination, so that is fine); two different products with one reference
# cannot be told apart by anyone matching on SKU (Oracle items, feeds, the warehouse).
_CATALOGUE = """
(SELECT u.kind, u.id, u.id_product, u.sku, u.dq_status,
        CASE WHEN u.sku IS NULL OR u.sku = '' THEN NULL
             WHEN MIN(u.id_product) OVER (PARTITION BY u.sku) < MAX(u.id_product) OVER (PARTITION BY u.sku)
             THEN 2 ELSE 1 END AS sku_products
 FROM (SELECT 'product' AS kind, id_product AS id, id_product, sku, dq_status FROM ps_products
       UNION ALL
       SELECT 'combination', id_product_attribute, id_product, sku, dq_status FROM ps_combinations) u) w"""
"""Every product and combination with the number of products (1, or 2 for more) sharing its SKU."""

_SKU_ONE_PRODUCT = at_most("sku_products", 1, name="sku_one_product", reason="duplicate",
                           problem="another product uses the same SKU (reference)",
                           fix="give each product its own reference in the shop (Catalog › Products): a SKU that "
                               "names two products cannot be matched to one Oracle item")

PRODUCTS = Entity("products", "prestashop", "ps_products", ("id_product",), (
    Check("products", "frame", ("id_product",), (
        required("name", what="the product name", fix="enter the product's name in the shop"),
        one_of("has_sku", [True], name="sku_present", reason="invalid_data",
               problem="the product has no reference (SKU) and no combinations",
               fix="give the product a reference in the shop catalogue"),
        at_least("price", 0, name="price_not_negative", reason="invalid_data", problem="the price is negative",
                 fix="correct the product's price in the shop"),
    )),
    Check("products_table", "table", ("id_product",), (_SKU_ONE_PRODUCT,), query=f"""
SELECT w.id AS id_product, w.sku, w.sku_products
FROM {_CATALOGUE}
WHERE w.kind = 'product' AND w.dq_status = 'pending'
"""),
))

# A combination without a reference of its own is sold under its product's (PrestaShop copies that onto the
# order line), so only a combination with neither has no SKU.
COMBINATIONS = Entity("combinations", "prestashop", "ps_combinations", ("id_product_attribute",), (
    Check("combinations_table", "table", ("id_product_attribute",), (
        required("effective_sku", what="the SKU (the combination's reference, else its product's)",
                 name="sku_present",
                 fix="give the combination (or its product) a reference in the shop (Catalog › Products › "
                     "Combinations)"),
        _SKU_ONE_PRODUCT,
        found("product_found", name="combination_product_resolvable",
              problem="the combination's product is not in staging",
              fix="extract products (python -m prestaoracle extract --source prestashop --entity products)"),
    ), query=f"""
SELECT w.id AS id_product_attribute, w.id_product,
       CASE WHEN w.sku IS NOT NULL AND w.sku <> '' THEN w.sku
            WHEN p.sku IS NOT NULL AND p.sku <> '' THEN p.sku END AS effective_sku,
       w.sku_products,
       CASE WHEN p.id_product IS NULL THEN 0 ELSE 1 END AS product_found
FROM {_CATALOGUE}
LEFT JOIN ps_products p ON p.id_product = w.id_product
WHERE w.kind = 'combination' AND w.dq_status = 'pending'
"""),
))

STOCK = Entity("stock", "prestashop", "ps_stock", ("id_stock_available",), (
    Check("stock", "frame", ("id_stock_available",), (
        required("quantity", what="the stock quantity", fix="re-extract stock_availables from the shop"),
        one_of("out_of_stock", [0, 1, 2], name="out_of_stock_policy_known", reason="invalid_data",
               problem="the out-of-stock policy is not 0, 1 or 2",
               fix="set the product's 'when out of stock' option in the shop"),
    )),
    Check("stock_table", "table", ("id_stock_available",), (
        found("product_found", name="stock_product_resolvable", problem="the stock row's product is not in staging",
              fix="extract products (python -m prestaoracle extract --source prestashop --entity products)"),
    ), query="""
SELECT s.id_stock_available,
       CASE WHEN p.id_product IS NULL THEN 0 ELSE 1 END AS product_found
FROM ps_stock s
LEFT JOIN ps_products p ON p.id_product = s.id_product
WHERE s.dq_status = 'pending'
"""),
))

# ------------------------------------------------------------------------------------------ refunds and payments

ORDER_SLIPS = Entity("order_slips", "prestashop", "ps_order_slips", ("id_order_slip",), (
    Check("order_slips", "frame", ("id_order_slip",), (
        required("amount", what="the refunded amount", fix="check the credit slip in the shop (Orders › Credit "
                                                            "slips)"),
        at_least("amount", 0, name="slip_amount_not_negative", reason="invalid_data",
                 problem="the refunded amount is negative", fix="check the credit slip in the shop"),
        not_below("total_products_tax_incl", "total_products_tax_excl", name="slip_tax_incl_at_least_excl",
                  reason="business_rule", problem="the refund tax included is below the refund tax excluded",
                  fix="check the credit slip's tax in the shop"),
    )),
    Check("order_slips_table", "table", ("id_order_slip",), (
        found("order_found", name="slip_order_resolvable", problem="the refunded order is not in staging",
              fix="extract the order (python -m prestaoracle extract --source prestashop --entity orders)"),
    ), query="""
SELECT s.id_order_slip, CASE WHEN o.id_order IS NULL THEN 0 ELSE 1 END AS order_found
FROM ps_order_slips s
LEFT JOIN ps_orders o ON o.id_order = s.id_order
WHERE s.dq_status = 'pending'
"""),
))

ORDER_PAYMENTS = Entity("order_payments", "prestashop", "ps_order_payments", ("id_order_payment",), (
    Check("order_payments", "frame", ("id_order_payment",), (
        required("amount", what="the payment amount", fix="check the payment on the order in the shop"),
        required("payment_method", what="the payment method", fix="check the payment on the order in the shop"),
        _currency_known(),
        matches("card_last4", CARD_LAST4, name="card_last4_format",
                problem="the card's last digits are not four digits",
                fix="the payment module stored a malformed card number; correct the payment in the shop"),
    )),
    Check("order_payments_table", "table", ("id_order_payment",), (
        found("order_found", name="payment_order_resolvable",
              problem="no staged order has the payment's order reference",
              fix="extract the order (python -m prestaoracle extract --source prestashop --entity orders)"),
    ), query="""
SELECT pay.id_order_payment,
       CASE WHEN pay.order_reference IS NULL THEN NULL
            WHEN EXISTS (SELECT 1 FROM ps_orders o WHERE o.reference = pay.order_reference) THEN 1 ELSE 0 END
            AS order_found
FROM ps_order_payments pay
WHERE pay.dq_status = 'pending'
"""),
))

ENTITIES: tuple[Entity, ...] = (ORDERS, CUSTOMERS, ADDRESSES, PRODUCTS, COMBINATIONS, STOCK, ORDER_SLIPS,
                                ORDER_PAYMENTS)
