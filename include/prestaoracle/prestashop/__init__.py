"""PrestaShop webservice client: reads (lists, full scans, incremental windows, children by parent ids), typed
normalisation of wire records, and at-most-once writes (order status, tracking, stock, prices).

Typical use::

    client = PrestaShopClient("https://shop.example", key, shop_timezone=ZoneInfo("Europe/Paris"))
    reader, writer = PrestaShopReader(client), PrestaShopWriter(client)
    for raw in reader.iter_changed("orders", since, until):
        land(raw); order = normalize_record("orders", raw)
    writer.set_order_state(5, 4)

Written from the webservice contract (``reference/prestashop-webservice.md`` and the 8.1.2 fixtures); it shares no
code with the sandbox emulator.
"""

from prestaoracle.retry import RetryPolicy
from prestaoracle.secrets import Redactor, redact_url

from .client import PrestaShopClient
from .errors import (
    ApiError,
    AuthError,
    InvalidValueError,
    NotFound,
    PrestaShopError,
    RateLimited,
    RequestError,
    RetryBudgetExhausted,
    ServerError,
    UnexpectedResponse,
    WriteOutcomeUnknown,
    error_from_response,
    parse_error_document,
)
from .normalize import FIELD_KINDS, Kind, NormalizationError, Normalizer, normalize_record
from .query import any_of, between, build_params, greater_than, less_than, not_in
from .reader import DATE_COLUMNS, PrestaShopReader
from .writer import PrestaShopWriter, validate_tracking_number

__all__ = [
    "DATE_COLUMNS",
    "FIELD_KINDS",
    "ApiError",
    "AuthError",
    "InvalidValueError",
    "Kind",
    "NormalizationError",
    "Normalizer",
    "NotFound",
    "PrestaShopClient",
    "PrestaShopError",
    "PrestaShopReader",
    "PrestaShopWriter",
    "RateLimited",
    "Redactor",
    "RequestError",
    "RetryBudgetExhausted",
    "RetryPolicy",
    "ServerError",
    "UnexpectedResponse",
    "WriteOutcomeUnknown",
    "any_of",
    "between",
    "build_params",
    "error_from_response",
    "greater_than",
    "less_than",
    "normalize_record",
    "not_in",
    "parse_error_document",
    "redact_url",
    "validate_tracking_number",
]
