"""Wire records -> clean Python values, from declared field types, never from what a value happens to look like.

The same shop data arrives in several spellings (reference §4.4): INT columns are JSON numbers on 8.0/8.1 + PHP 8.1
and numeric strings on 1.7/8.2+/9; decimals are always strings with 6 places; booleans are "0"/"1" (or 0/1 on some
virtual fields); unset dates are ``0000-00-00 00:00:00``; translatable fields are ``[{"id":..,"value":..}]`` or a
bare string when one language is in scope; single-object JSON drops every falsy field. Guessing types from values
("looks numeric -> int") would turn a postcode or an EAN into an int, so each resource has a table of field kinds
taken from the classes' ``$definition`` (reference §5) and the recorded fixtures. Fields not in the table (module
overrides add some) are passed through unchanged, and ``id`` is always an int.

The input record is never modified: landing keeps the original payload; this module builds a new dict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

__all__ = ["ASSOCIATION_KINDS", "FIELD_KINDS", "Kind", "NormalizationError", "Normalizer", "normalize_record"]


class Kind(Enum):
    """What a field holds, independent of how the wire spells it."""

    INT = "int"
    DECIMAL = "decimal"
    BOOL = "bool"
    DATETIME = "datetime"
    DATE = "date"
    STRING = "string"
    I18N = "i18n"


class NormalizationError(ValueError):
    """A value does not fit its declared kind (a per-record problem: the record goes to dead letters, not the run)."""

    def __init__(self, resource: str, record_id: object, field: str, value: object, why: str) -> None:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:80] + "…"
        super().__init__(f"{resource} {record_id}: field {field!r} = {shown} {why}")
        self.resource = resource
        self.record_id = record_id
        self.field = field
        self.value = value


def _kinds(**groups: str) -> dict[str, Kind]:
    names = {"I": Kind.INT, "D": Kind.DECIMAL, "B": Kind.BOOL, "T": Kind.DATETIME, "DT": Kind.DATE,
             "S": Kind.STRING, "L": Kind.I18N}
    out: dict[str, Kind] = {"id": Kind.INT}
    for group, fields in groups.items():
        for name in fields.split():
            out[name] = names[group]
    return out


_ID_ONLY = _kinds()
FIELD_KINDS: dict[str, dict[str, Kind]] = {
    "orders": _kinds(
        I="id_address_delivery id_address_invoice id_cart id_currency id_lang id_customer id_carrier current_state "
          "invoice_number delivery_number id_shop_group id_shop round_mode round_type",
        D="total_discounts total_discounts_tax_incl total_discounts_tax_excl total_paid total_paid_tax_incl "
          "total_paid_tax_excl total_paid_real total_products total_products_wt total_shipping "
          "total_shipping_tax_incl total_shipping_tax_excl carrier_tax_rate total_wrapping total_wrapping_tax_incl "
          "total_wrapping_tax_excl conversion_rate",
        B="valid recyclable gift mobile_theme",
        T="invoice_date delivery_date date_add date_upd",
        S="module shipping_number note secure_key payment gift_message reference",
    ),
    "order_details": _kinds(
        I="id_order product_id product_attribute_id product_quantity_reinjected discount_quantity_applied "
          "id_order_invoice id_warehouse id_shop id_customization product_quantity product_quantity_in_stock "
          "product_quantity_return product_quantity_refunded tax_computation_method id_tax_rules_group download_nb",
        D="group_reduction product_price reduction_percent reduction_amount reduction_amount_tax_incl "
          "reduction_amount_tax_excl product_quantity_discount product_weight ecotax ecotax_tax_rate "
          "unit_price_tax_incl unit_price_tax_excl total_price_tax_incl total_price_tax_excl "
          "total_shipping_price_tax_excl total_shipping_price_tax_incl purchase_supplier_price "
          "original_product_price original_wholesale_price total_refunded_tax_excl total_refunded_tax_incl tax_rate",
        T="download_deadline",
        S="download_hash product_name product_ean13 product_isbn product_upc product_mpn product_reference "
          "product_supplier_reference tax_name",
    ),
    "customers": _kinds(
        I="id_default_group id_lang id_gender id_risk max_payment_days id_shop id_shop_group",
        D="outstanding_allow_amount",
        B="deleted newsletter optin show_public_prices active is_guest",
        T="newsletter_date_add last_passwd_gen date_add date_upd reset_password_validity",
        DT="birthday",
        S="ip_registration_newsletter secure_key passwd lastname firstname email website company siret ape note "
          "reset_password_token",
    ),
    "addresses": _kinds(
        I="id_customer id_manufacturer id_supplier id_warehouse id_country id_state",
        B="deleted",
        T="date_add date_upd",
        S="alias company lastname firstname vat_number address1 address2 postcode city other phone phone_mobile dni",
    ),
    "stock_availables": _kinds(
        I="id_product id_product_attribute id_shop id_shop_group quantity out_of_stock",
        B="depends_on_stock",
        S="location",
    ),
    "products": _kinds(
        I="id_manufacturer id_supplier id_category_default cache_default_attribute id_default_image "
          "id_default_combination id_tax_rules_group position_in_category quantity id_shop_default state "
          "additional_delivery_times minimal_quantity low_stock_threshold pack_stock_type id_type_redirected "
          "customizable text_fields uploadable_files",
        D="width height depth weight ecotax price wholesale_price unit_price unit_price_ratio "
          "additional_shipping_cost",
        B="new on_sale online_only low_stock_alert active available_for_order show_condition show_price indexed "
          "quantity_discount cache_is_pack cache_has_attachments is_virtual advanced_stock_management",
        T="date_add date_upd",
        DT="available_date",
        S="manufacturer_name type reference supplier_reference location ean13 isbn upc mpn product_type "
          "redirect_type condition visibility unity",
        L="delivery_in_stock delivery_out_stock meta_description meta_keywords meta_title link_rewrite name "
          "description description_short available_now available_later",
    ),
    "combinations": _kinds(
        I="id_product minimal_quantity low_stock_threshold quantity",
        D="wholesale_price price ecotax weight unit_price_impact",
        B="low_stock_alert default_on",
        DT="available_date",
        S="ean13 isbn upc mpn reference supplier_reference location",
        L="available_now available_later",
    ),
    "order_states": _kinds(
        B="unremovable delivery hidden send_email invoice logable shipped paid pdf_delivery pdf_invoice deleted",
        S="module_name color",
        L="name template",
    ),
    "order_histories": _kinds(I="id_employee id_order_state id_order", T="date_add"),
    "order_carriers": _kinds(
        I="id_order id_carrier id_order_invoice",
        D="weight shipping_cost_tax_excl shipping_cost_tax_incl",
        S="tracking_number",
        T="date_add",
    ),
    "order_payments": _kinds(
        I="id_currency id_employee",
        D="amount conversion_rate",
        S="order_reference payment_method transaction_id card_number card_brand card_expiration card_holder",
        T="date_add",
    ),
    "order_slip": _kinds(
        I="id_customer id_order partial order_slip_type",
        D="conversion_rate total_products_tax_excl total_products_tax_incl total_shipping_tax_excl "
          "total_shipping_tax_incl amount shipping_cost_amount",
        B="shipping_cost",
        T="date_add date_upd",
    ),
    "currencies": _kinds(
        I="precision",
        D="conversion_rate",
        B="deleted active unofficial modified",
        S="iso_code numeric_iso_code symbol name",
        L="names pattern",
    ),
    "carriers": _kinds(
        I="id_tax_rules_group id_reference shipping_method max_width max_height max_depth grade position",
        D="max_weight",
        B="deleted is_module active is_free shipping_handling shipping_external range_behavior need_range",
        S="name url external_module_name",
        L="delay",
    ),
    "countries": _kinds(
        I="id_zone id_currency call_prefix", B="active contains_states need_identification_number "
        "need_zip_code display_tax_label", S="iso_code zip_code_format", L="name",
    ),
}
# Association rows, by association name (reference §4.5, §5).
ASSOCIATION_KINDS: dict[str, dict[str, Kind]] = {
    "order_rows": _kinds(
        I="product_id product_attribute_id product_quantity id_customization",
        D="product_price unit_price_tax_incl unit_price_tax_excl",
        S="product_name product_reference product_ean13 product_isbn product_upc",
    ),
    "product_features": _kinds(I="id_feature_value"),
    "stock_availables": _kinds(I="id_product_attribute"),
    "product_bundle": _kinds(I="id_product_attribute quantity"),
    "order_slip_details": _kinds(I="id_order_detail product_quantity", D="amount_tax_excl amount_tax_incl"),
}
_EMPTY: dict[Kind, Any] = {Kind.INT: 0, Kind.DECIMAL: Decimal("0"), Kind.BOOL: False, Kind.DATETIME: None,
                           Kind.DATE: None, Kind.STRING: "", Kind.I18N: ""}
_INT = re.compile(r"-?\d+")
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?")


@dataclass(frozen=True)
class Normalizer:
    """Converts records of any resource. ``language_id`` picks the translation of i18n fields (None: the first one
    given). ``fill_missing`` adds absent known fields with their empty value: use it for single-object JSON (8.x
    drops "0", "" and null fields there); list records are complete and must not be padded (a ``display=[a,b]``
    read would otherwise grow invented zeros)."""

    language_id: int | None = None
    fill_missing: bool = False

    def record(self, resource: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """A new dict with typed values; ``raw`` is left untouched."""
        kinds = FIELD_KINDS.get(resource, _ID_ONLY)
        record_id = raw.get("id")
        out: dict[str, Any] = {}
        for name, value in raw.items():
            if name == "associations":
                out[name] = self._associations(resource, record_id, value)
                continue
            kind = kinds.get(name)
            out[name] = value if kind is None else self.value(resource, record_id, name, kind, value)
        if self.fill_missing:
            for name, kind in kinds.items():
                if name not in out:
                    out[name] = _EMPTY[kind]
        return out

    def _associations(self, resource: str, record_id: object, value: Any) -> dict[str, list[dict[str, Any]]]:
        if value in (None, "", []):
            return {}
        if not isinstance(value, Mapping):
            raise NormalizationError(resource, record_id, "associations", value, "is not an object")
        out: dict[str, list[dict[str, Any]]] = {}
        for assoc, rows in value.items():
            kinds = ASSOCIATION_KINDS.get(assoc, _ID_ONLY)
            if rows in (None, ""):
                out[assoc] = []
                continue
            if not isinstance(rows, list):
                raise NormalizationError(resource, record_id, f"associations.{assoc}", rows, "is not a list")
            out[assoc] = [
                {
                    name: (v if (kind := kinds.get(name)) is None
                           else self.value(resource, record_id, f"{assoc}.{name}", kind, v))
                    for name, v in row.items()
                }
                for row in rows
            ]
        return out

    def value(self, resource: str, record_id: object, field: str, kind: Kind, value: Any) -> Any:
        """One value of a known kind; raises :class:`NormalizationError` rather than guessing."""

        def bad(why: str) -> NormalizationError:
            return NormalizationError(resource, record_id, field, value, why)

        if kind is Kind.STRING:
            if value is None:
                return ""
            if isinstance(value, str):
                return value
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                return str(value)
            raise bad("is not a string")
        if kind is Kind.I18N:
            return self._translation(value, bad)
        if kind is Kind.INT:
            if value is None or value == "":
                return None
            if isinstance(value, bool):
                raise bad("is a boolean, expected an integer")
            if isinstance(value, int):
                return value
            if isinstance(value, str) and _INT.fullmatch(value.strip()):
                return int(value.strip())
            raise bad("is not an integer")
        if kind is Kind.DECIMAL:
            if value is None or value == "":
                return None
            if isinstance(value, bool):
                raise bad("is a boolean, expected a decimal")
            if isinstance(value, int | Decimal):
                return Decimal(value)
            if isinstance(value, float):
                return Decimal(repr(value))
            if isinstance(value, str):
                try:
                    number = Decimal(value.strip())
                except InvalidOperation:
                    raise bad("is not a decimal number") from None
                if not number.is_finite():
                    raise bad("is not a finite number")
                return number
            raise bad("is not a decimal number")
        if kind is Kind.BOOL:
            # PHP truthiness of what PrestaShop stores: "0"/0/""/NULL are false, "1"/1 true.
            if value in (None, "", "0", 0, False):
                return False
            if value in ("1", 1, True):
                return True
            raise bad("is not a 0/1 boolean")
        if kind in (Kind.DATETIME, Kind.DATE):
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                raise bad("is not a date string")
            text = value.strip()
            if text.startswith("0000-00-00"):
                return None
            match = _DATETIME.fullmatch(text)
            if not match:
                raise bad("is not YYYY-MM-DD[ HH:MM:SS]")
            try:
                parts = [int(p) for p in match.groups() if p is not None]
                stamp = datetime(*parts)  # type: ignore[arg-type]
            except ValueError:
                raise bad("is not a valid calendar date") from None
            return stamp.date() if kind is Kind.DATE else stamp
        raise AssertionError(kind)  # pragma: no cover

    def _translation(self, value: Any, bad: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value  # one language in scope: PrestaShop sends the bare string
        if isinstance(value, list):
            entries = [e for e in value if isinstance(e, Mapping) and "value" in e]
            if len(entries) != len(value):
                raise bad("is not a list of {id, value} translations")
            if not entries:
                return ""
            if self.language_id is None:
                chosen = entries[0]
            else:
                matches = [e for e in entries if str(e.get("id")).strip() == str(self.language_id)]
                if not matches:
                    raise bad(f"has no translation for language {self.language_id}")
                chosen = matches[0]
            text = chosen.get("value")
            return "" if text is None else str(text)
        raise bad("is not a translatable value")


def normalize_record(
    resource: str, raw: Mapping[str, Any], *, language_id: int | None = None, fill_missing: bool = False
) -> dict[str, Any]:
    """Typed copy of one wire record of ``resource`` (see :class:`Normalizer`)."""
    return Normalizer(language_id=language_id, fill_missing=fill_missing).record(resource, raw)

