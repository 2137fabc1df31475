"""The resources the emulator serves, field by field, in PrestaShop 8.1.2's order.

Each field is written ``name:kind`` or ``name:kind:resource`` where ``resource`` is what the XML ``xlink:href``
points at. Kinds follow the PHP ObjectModel types as 8.1.2 on PHP 8.x puts them on the wire:

``i``  INT column: a JSON number (``""`` when NULL)
``b``  BOOL of the main object: the string ``"0"``/``"1"`` (``""`` when NULL)
``d``  DECIMAL(20,6): a string with 6 decimals; ``d2``/``d3`` with 2 or 3
``s``  string; ``dt`` datetime ``YYYY-MM-DD HH:MM:SS``; ``da`` date ``YYYY-MM-DD``
``l``  translatable string (one language in the demo shop: a plain string in JSON, ``<language>`` in XML)
``vs``/``vi`` virtual fields with a getter: not filterable, marked ``notFilterable`` in XML

Field lists were read from the recorded fixtures (``shared/fixtures/prestashop-8.1.2``) and, for fields a
fixture drops, from the reference's class definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DECIMALS = {"d": 6, "d2": 2, "d3": 3}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    xlink: str | None = None

    @property
    def virtual(self) -> bool:
        return self.kind.startswith("v")

    @property
    def base_kind(self) -> str:
        return self.kind[1:] if self.virtual else self.kind


@dataclass(frozen=True)
class Association:
    name: str
    node: str
    fields: tuple[Field, ...]
    attrs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Resource:
    name: str  # URL name
    list_node: str
    item_node: str
    php_class: str
    description: str
    fields: tuple[Field, ...]
    associations: tuple[Association, ...] = ()
    required: tuple[str, ...] = ()
    methods: tuple[str, ...] = ("GET", "PUT", "POST", "PATCH", "DELETE", "HEAD")
    natural_order: tuple[str, ...] = ("id",)
    read_only: bool = False  # the emulator implements no write: its key is granted GET and HEAD only
    field_map: dict[str, Field] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.field_map.update({f.name: f for f in self.fields})

    @property
    def has_dates(self) -> tuple[str, ...]:
        return tuple(n for n in ("date_add", "date_upd") if n in self.field_map)


def _fields(spec: str) -> tuple[Field, ...]:
    out = []
    for token in spec.split():
        parts = token.split(":")
        out.append(Field(parts[0], parts[1], parts[2] if len(parts) > 2 else None))
    return tuple(out)


def _assoc(name: str, node: str, spec: str, **attrs: str) -> Association:
    return Association(name, node, _fields(spec), tuple(attrs.items()))


ORDERS = Resource(
    "orders", "orders", "order", "Order", "The Customers orders",
    _fields(
        "id:i id_address_delivery:i:addresses id_address_invoice:i:addresses id_cart:i:carts "
        "id_currency:i:currencies id_lang:i:languages id_customer:i:customers id_carrier:i:carriers "
        "current_state:i:order_states module:s invoice_number:i invoice_date:dt delivery_number:i "
        "delivery_date:dt valid:b date_add:dt date_upd:dt shipping_number:vs note:s id_shop_group:i id_shop:i "
        "secure_key:s payment:s recyclable:b gift:b gift_message:s mobile_theme:b total_discounts:d "
        "total_discounts_tax_incl:d total_discounts_tax_excl:d total_paid:d total_paid_tax_incl:d "
        "total_paid_tax_excl:d total_paid_real:d total_products:d total_products_wt:d total_shipping:d "
        "total_shipping_tax_incl:d total_shipping_tax_excl:d carrier_tax_rate:d3 total_wrapping:d "
        "total_wrapping_tax_incl:d total_wrapping_tax_excl:d round_mode:i round_type:i conversion_rate:d reference:s"
    ),
    (
        _assoc(
            "order_rows", "order_row",
            "id:i product_id:i:products product_attribute_id:i product_quantity:i product_name:s "
            "product_reference:s product_ean13:s product_isbn:s product_upc:s product_price:d "
            "id_customization:i:customizations unit_price_tax_incl:d unit_price_tax_excl:d",
            virtualEntity="true",
        ),
    ),
    required=(
        "id_address_delivery", "id_address_invoice", "id_cart", "id_currency", "id_lang", "id_customer",
        "id_carrier", "module", "payment", "total_paid", "total_paid_real", "total_products",
        "total_products_wt", "conversion_rate",
    ),
)

ORDER_DETAILS = Resource(
    "order_details", "order_details", "order_detail", "OrderDetail", "Details of an order",
    _fields(
        "id:i id_order:i:orders product_id:i:products product_attribute_id:i:combinations "
        "product_quantity_reinjected:i group_reduction:d2 discount_quantity_applied:i download_hash:s "
        "download_deadline:dt id_order_invoice:i:order_invoices id_warehouse:i:warehouses id_shop:i:shops "
        "id_customization:i:customizations product_name:s product_quantity:i product_quantity_in_stock:i "
        "product_quantity_return:i product_quantity_refunded:i product_price:d reduction_percent:d2 "
        "reduction_amount:d reduction_amount_tax_incl:d reduction_amount_tax_excl:d product_quantity_discount:d "
        "product_ean13:s product_isbn:s product_upc:s product_mpn:s product_reference:s "
        "product_supplier_reference:s product_weight:d tax_computation_method:i id_tax_rules_group:i:tax_rule_groups "
        "ecotax:d ecotax_tax_rate:d3 download_nb:i unit_price_tax_incl:d unit_price_tax_excl:d "
        "total_price_tax_incl:d total_price_tax_excl:d total_shipping_price_tax_excl:d "
        "total_shipping_price_tax_incl:d purchase_supplier_price:d original_product_price:d "
        "original_wholesale_price:d total_refunded_tax_excl:d total_refunded_tax_incl:d"
    ),
    (_assoc("taxes", "tax", "id:i", api="taxes"),),
    required=("id_order", "product_name", "product_quantity", "product_price", "id_warehouse", "id_shop"),
)

CUSTOMERS = Resource(
    "customers", "customers", "customer", "Customer", "The e-shop's customers",
    _fields(
        "id:i id_default_group:i:groups id_lang:i:languages newsletter_date_add:dt ip_registration_newsletter:s "
        "last_passwd_gen:dt secure_key:s deleted:b passwd:s lastname:s firstname:s email:s id_gender:i:genders "
        "birthday:da newsletter:b optin:b website:s company:s siret:s ape:s outstanding_allow_amount:d "
        "show_public_prices:b id_risk:i max_payment_days:i active:b note:s is_guest:b id_shop:i:shops "
        "id_shop_group:i:shop_groups date_add:dt date_upd:dt reset_password_token:s reset_password_validity:dt"
    ),
    (_assoc("groups", "group", "id:i", api="groups"),),
    required=("lastname", "firstname", "email", "passwd"),
)

ADDRESSES = Resource(
    "addresses", "addresses", "address", "Address", "The Customer, Brand and Customer addresses",
    _fields(
        "id:i id_customer:i:customers id_manufacturer:i:manufacturers id_supplier:i:suppliers "
        "id_warehouse:i:warehouses id_country:i:countries id_state:i:states alias:s company:s lastname:s "
        "firstname:s vat_number:s address1:s address2:s postcode:s city:s other:s phone:s phone_mobile:s "
        "dni:s deleted:b date_add:dt date_upd:dt"
    ),
    required=("id_country", "alias", "lastname", "firstname", "address1", "city"),
    natural_order=("id_customer", "id"),
)

PRODUCTS = Resource(
    "products", "products", "product", "Product", "The products",
    _fields(
        "id:i id_manufacturer:i:manufacturers id_supplier:i:suppliers id_category_default:i:categories new:b "
        "cache_default_attribute:i id_default_image:vi:images id_default_combination:vi:combinations "
        "id_tax_rules_group:i:tax_rule_groups position_in_category:vi manufacturer_name:vs quantity:vi type:vs "
        "id_shop_default:i reference:s supplier_reference:s location:s width:d height:d depth:d weight:d "
        "quantity_discount:b ean13:s isbn:s upc:s mpn:s cache_is_pack:b cache_has_attachments:b is_virtual:b "
        "state:i additional_delivery_times:i delivery_in_stock:l delivery_out_stock:l product_type:s on_sale:b "
        "online_only:b ecotax:d minimal_quantity:i low_stock_threshold:i low_stock_alert:b price:d "
        "wholesale_price:d unity:s unit_price:d unit_price_ratio:d additional_shipping_cost:d customizable:i "
        "text_fields:i uploadable_files:i active:b redirect_type:s id_type_redirected:i available_for_order:b "
        "available_date:da show_condition:b condition:s show_price:b indexed:b visibility:s "
        "advanced_stock_management:b date_add:dt date_upd:dt pack_stock_type:i meta_description:l "
        "meta_keywords:l meta_title:l link_rewrite:l name:l description:l description_short:l available_now:l "
        "available_later:l"
    ),
    (
        _assoc("categories", "category", "id:i", api="categories"),
        _assoc("images", "image", "id:i", api="images"),
        _assoc("combinations", "combination", "id:i", api="combinations"),
        _assoc("product_option_values", "product_option_value", "id:i", api="product_option_values"),
        _assoc("product_features", "product_feature", "id:i id_feature_value:i", api="product_features"),
        _assoc("stock_availables", "stock_available", "id:i id_product_attribute:i", api="stock_availables"),
    ),
    required=("price", "name", "link_rewrite"),
)

COMBINATIONS = Resource(
    "combinations", "combinations", "combination", "Combination", "The product combinations",
    _fields(
        "id:i id_product:i:products ean13:s isbn:s upc:s mpn:s reference:s supplier_reference:s "
        "wholesale_price:d price:d ecotax:d weight:d unit_price_impact:d minimal_quantity:i "
        "low_stock_threshold:i low_stock_alert:b default_on:b available_date:da available_now:l available_later:l"
    ),
    (
        _assoc("product_option_values", "product_option_value", "id:i", api="product_option_values"),
        _assoc("images", "image", "id:i", api="images"),
    ),
    required=("id_product", "minimal_quantity"),
)

STOCK_AVAILABLES = Resource(
    "stock_availables", "stock_availables", "stock_available", "StockAvailable", "Available quantities",
    _fields(
        "id:i id_product:i:products id_product_attribute:i id_shop:i:shops id_shop_group:i:shop_groups "
        "quantity:i depends_on_stock:b out_of_stock:i location:s"
    ),
    required=("id_product", "id_product_attribute", "quantity", "depends_on_stock", "out_of_stock"),
    methods=("GET", "PUT", "PATCH", "HEAD"),
)

ORDER_STATES = Resource(
    "order_states", "order_states", "order_state", "OrderState", "The Order statuses",
    _fields(
        "id:i unremovable:b delivery:b hidden:b send_email:b module_name:s invoice:b color:s logable:b "
        "shipped:b paid:b pdf_delivery:b pdf_invoice:b deleted:b name:l template:l"
    ),
    required=("name",),
)

ORDER_HISTORIES = Resource(
    "order_histories", "order_histories", "order_history", "OrderHistory", "The Order histories",
    _fields("id:i id_employee:i id_order_state:i:order_states id_order:i:orders date_add:dt"),
    required=("id_order", "id_order_state"),
    natural_order=("id_order", "id"),
)

ORDER_CARRIERS = Resource(
    "order_carriers", "order_carriers", "order_carrier", "OrderCarrier", "The Order carriers",
    _fields(
        "id:i id_order:i:orders id_carrier:i:carriers id_order_invoice:i weight:d shipping_cost_tax_excl:d "
        "shipping_cost_tax_incl:d tracking_number:s date_add:dt"
    ),
    required=("id_order", "id_carrier"),
)

ORDER_PAYMENTS = Resource(
    "order_payments", "order_payments", "order_payment", "OrderPayment", "The Order payments",
    _fields(
        "id:i order_reference:s id_currency:i:currencies amount:d payment_method:s conversion_rate:d "
        "transaction_id:s card_number:s card_brand:s card_expiration:s card_holder:s date_add:dt id_employee:i"
    ),
    required=("id_currency", "amount"),
)

ORDER_SLIP = Resource(
    "order_slip", "order_slips", "order_slip", "OrderSlip", "The Order slips",
    _fields(
        "id:i id_customer:i:customers id_order:i:orders conversion_rate:d total_products_tax_excl:d "
        "total_products_tax_incl:d total_shipping_tax_excl:d total_shipping_tax_incl:d amount:d "
        "shipping_cost:b shipping_cost_amount:d partial:i date_add:dt date_upd:dt order_slip_type:i"
    ),
    (
        _assoc(
            "order_slip_details", "order_slip_detail",
            "id:i id_order_detail:i product_quantity:i amount_tax_excl:d amount_tax_incl:d",
            virtualEntity="true",
        ),
    ),
    required=(
        "id_customer", "id_order", "conversion_rate", "total_products_tax_excl", "total_products_tax_incl",
        "total_shipping_tax_excl", "total_shipping_tax_incl",
    ),
)

CURRENCIES = Resource(
    "currencies", "currencies", "currency", "Currency", "The currencies",
    _fields(
        "id:i names:vs name:vs symbol:vs iso_code:s numeric_iso_code:s precision:i conversion_rate:d "
        "deleted:i active:i unofficial:i modified:i pattern:l"
    ),
    required=("iso_code", "conversion_rate"),
)

CARRIERS = Resource(
    "carriers", "carriers", "carrier", "Carrier", "The Carriers",
    _fields(
        "id:i deleted:b is_module:b id_tax_rules_group:i id_reference:i name:s active:b is_free:b url:s "
        "shipping_handling:b shipping_external:b range_behavior:b shipping_method:i max_width:i max_height:i "
        "max_depth:i max_weight:d grade:i external_module_name:s need_range:b position:i delay:l"
    ),
    required=("name", "active", "delay"),
)

COUNTRIES = Resource(
    "countries", "countries", "country", "Country", "The countries",
    _fields(
        "id:i id_zone:i:zones id_currency:i:currencies call_prefix:i iso_code:s active:b contains_states:b "
        "need_identification_number:b need_zip_code:b zip_code_format:s display_tax_label:b name:l"
    ),
    required=("id_zone", "iso_code", "name"),
)

# Configuration's $webserviceParameters lists ``value`` first, then the class fields; the shop ids are
# TYPE_NOTHING over INT columns (NULL for a value that holds for every shop).
CONFIGURATIONS = Resource(
    "configurations", "configurations", "configuration", "Configuration", "Shop configuration",
    _fields("id:i value:s name:s id_shop_group:i id_shop:i date_add:dt date_upd:dt"),
    required=("name",),
    read_only=True,
)

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        ADDRESSES, CARRIERS, COMBINATIONS, CONFIGURATIONS, COUNTRIES, CURRENCIES, CUSTOMERS, ORDER_CARRIERS,
        ORDER_DETAILS, ORDER_HISTORIES, ORDER_PAYMENTS, ORDER_SLIP, ORDER_STATES, ORDERS, PRODUCTS, STOCK_AVAILABLES,
    )
}

# What the recorded shop's key was granted (every method on each): the demo dataset's key by default.
RECORDED_KEY_RESOURCES: tuple[str, ...] = tuple(name for name in RESOURCES if name != "configurations")
READ_METHODS: tuple[str, ...] = ("GET", "HEAD")
ALL_METHODS: tuple[str, ...] = ("GET", "PUT", "POST", "PATCH", "DELETE", "HEAD")


def key_permissions(granted: tuple[str, ...] | list[str]) -> dict[str, tuple[str, ...]]:
    """The methods the sandbox's key holds per granted resource: all of them, or reading for read-only ones."""
    unknown = sorted(set(granted) - set(RESOURCES))
    if unknown:
        raise ValueError(f"the sandbox serves no resource {', '.join(unknown)}; it serves {', '.join(RESOURCES)}")
    return {name: READ_METHODS if RESOURCES[name].read_only else ALL_METHODS for name in granted}

# Every resource a PrestaShop 8.1.2 shop knows: an unknown name gets error 27 with this list, and a known
# resource the key is not granted gets error 26 (the recorded key holds exactly the ones served above).
ALL_SHOP_RESOURCES: tuple[str, ...] = (
    "addresses", "attachments", "carriers", "cart_rules", "carts", "categories", "combinations",
    "configurations", "contacts", "content_management_system", "countries", "currencies", "customer_messages",
    "customer_threads", "customers", "customizations", "deliveries", "employees", "groups", "guests",
    "image_types", "images", "languages", "manufacturers", "messages", "order_carriers", "order_cart_rules",
    "order_details", "order_histories", "order_invoices", "order_payments", "order_slip", "order_states",
    "orders", "price_ranges", "product_customization_fields", "product_feature_values", "product_features",
    "product_option_values", "product_options", "product_suppliers", "products", "search", "shop_groups",
    "shop_urls", "shops", "specific_price_rules", "specific_prices", "states", "stock_availables",
    "stock_movement_reasons", "stock_movements", "stocks", "stores", "suppliers", "supply_order_details",
    "supply_order_histories", "supply_order_receipt_histories", "supply_order_states", "supply_orders", "tags",
    "tax_rule_groups", "tax_rules", "taxes", "translated_configurations", "warehouse_product_locations",
    "warehouses", "weight_ranges", "zones",
)
