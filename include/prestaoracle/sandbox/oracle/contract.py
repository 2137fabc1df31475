"""Every behaviour of the emulated ADF REST framework that the reference only guesses at, in one place.

Each constant cites its section of ``shared/reference/oracle-fusion-and-ebs.md`` and says whether Oracle documents
it ([DOC], [2ND]: a third-party write-up) or whether it is our pick for a [VERIFY] item. When a real pod disagrees,
change the value here: ``adf.py`` reads these at call time, so a test may also monkeypatch them.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------- framework version

# §1.1 [DOC]: the request header that selects the framework version.
FRAMEWORK_VERSION_HEADER = "REST-Framework-Version"
# §1.1 [DOC]: version 1 when the header is absent.
DEFAULT_FRAMEWORK_VERSION = 1
# §1.1 [VERIFY choice]: Sales docs list versions up to 9; anything higher (or not a positive integer) is a 400.
MAX_FRAMEWORK_VERSION = 9
# §1.1/§2.1 [DOC]: from version 2 ``q`` is a rowmatch expression instead of query-by-example.
ROWMATCH_MIN_VERSION = 2
# §1.1/§2.2 [DOC]: from version 3 an expanded child is a collection object instead of a bare array.
NESTED_COLLECTION_MIN_VERSION = 3
# §1.1/§1.3/§2.4 [DOC]: from version 4 a JSON Accept gets the ``o:errorDetails`` error document.
JSON_ERROR_MIN_VERSION = 4
# §2.1 [VERIFY choice]: "``in`` needs ≥ v4/5"; we take the lower bound. Set 5 for the strictest reading.
IN_OPERATOR_MIN_VERSION = 4
# §2.1 [VERIFY choice]: v2+ reads only rowmatch; a QBE string (``A=x;B=y``) under v2+ is a 400, not a fallback.
ROWMATCH_FALLS_BACK_TO_QBE = False

# --------------------------------------------------------------------------------------------- paging

# §2.1/§2.2 [DOC]: page size when ``limit`` is absent.
DEFAULT_LIMIT = 25
# §0/§2.1/§8.2 [2ND, VERIFY]: the largest page (some report 499).
MAX_LIMIT = 500
# §2.1 [VERIFY choice]: "capped or refused": "cap" serves MAX_LIMIT rows (and echoes limit=MAX_LIMIT), "reject" is
# a 400.
LIMIT_OVER_MAX = "cap"
# §2.1 [VERIFY choice]: ``limit=0`` is a 400, so an ``offset += count`` loop can never spin on empty pages.
MIN_LIMIT = 1
# §2.2 [VERIFY choice]: v3+ expanded children are a first page of this size with ``hasMore``; v1/v2 arrays hold
# every child row.
EXPANDED_CHILD_LIMIT = 25
# §2.1 [VERIFY choice]: ``totalResults``/``onlyData`` accept true/false (any case); any other value is a 400.
BOOLEAN_PARAM_STRICT = True

# --------------------------------------------------------------------------------------------- errors

# §1.3 "Error responses" [CODE]: default error body (v1–3, or no JSON Accept) is plain text.
PLAIN_ERROR_CONTENT_TYPE = "text/plain"
# §1.1 response media types [DOC]: content type of the JSON error document.
JSON_ERROR_CONTENT_TYPE = "application/vnd.oracle.adf.error+json"
# §0/§1.3/§2.4 [DOC]: Accept media types that select the JSON error document (with version >= 4).
JSON_ERROR_ACCEPT_TYPES = ("application/json", "application/vnd.oracle.adf.error+json")
# §1.3 [VERIFY choice]: the ``type`` member, RFC 2616 section links as in the reference example; statuses not
# listed get no ``type``.
ERROR_TYPE_URLS = {
    400: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
    401: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.2",
    403: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.4",
    404: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.5",
    405: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.6",
    406: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.7",
    409: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.10",
    412: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.13",
    415: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.16",
    500: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.1",
    503: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.4",
    504: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.5",
}
# §1.3 [VERIFY choice]: ``o:errorCode``/``o:errorPath`` are left out of a detail that has none (never null).
ERROR_DETAIL_OMIT_ABSENT = True
# §1.3 [CODE]: "the concatenated messages"; we put one message per line.
PLAIN_ERROR_SEPARATOR = "\n"
# §1.3 [VERIFY choice]: wording of every bad query parameter (q syntax, unknown or non-queryable attribute, bad
# orderBy/limit/offset/fields/expand/finder/totalResults/onlyData). One message, as Oracle gives no reason.
INVALID_PARAM_MESSAGE = 'URL request parameter {param} with value "{value}" is invalid.'
# §1.1 [VERIFY choice]: wording of a bad REST-Framework-Version header.
INVALID_FRAMEWORK_VERSION_MESSAGE = 'The REST framework version "{value}" is not supported.'

# --------------------------------------------------------------------------------------------- q semantics

# §2.1 [VERIFY choice]: ``*`` in a QBE string equality (quoted or not) matches any run of characters (LIKE).
QBE_WILDCARD = "*"
# §2.1 [DOC]: rowmatch ``like`` wildcards for "any run of characters".
LIKE_ANY_WILDCARDS = ("%", "*")
# §2.1 [VERIFY choice]: rowmatch ``like`` treats ``_`` as one character, as Oracle SQL does.
LIKE_UNDERSCORE_IS_WILDCARD = True
# §2.1 [VERIFY choice]: string =, !=, in, like are case-sensitive, as Oracle SQL is; clients wanting otherwise use
# UPPER(Attr). False compares UPPER() of both sides everywhere. Either way <, >, between and orderBy compare code
# points (Oracle NLS_SORT=BINARY), never the database's locale.
CASE_SENSITIVE_STRINGS = True
# §2.1 [VERIFY choice]: SQL three-valued logic: a comparison with NULL is unknown, so ``not (X)`` keeps only rows
# where X is false and drops those where X is unknown (Oracle evaluates rowmatch as a SQL WHERE clause). False
# would make ``not (X)`` the exact complement of X.
NOT_USES_THREE_VALUED_LOGIC = True
# §2.1 [VERIFY choice]: a datetime literal without zone (the QBE example ``2025-01-15T10:00:00``) is UTC, and a bare
# date against a datetime attribute means midnight UTC.
NAIVE_DATETIME_IS_UTC = True
# §2.1 [VERIFY choice]: boolean literals (any case, quoted or not); booleans are stored as 1/0.
BOOLEAN_TRUE_LITERALS = ("true", "y")
BOOLEAN_FALSE_LITERALS = ("false", "n")
# §2.1 [VERIFY choice]: an empty or blank ``q`` filters nothing out.
EMPTY_Q_MATCHES_ALL = True
# Emulator safety, not an Oracle fact: deeper parenthesis nesting in q is a 400 instead of a recursion error.
MAX_Q_NESTING = 64

# --------------------------------------------------------------------------------------------- orderBy, fields, expand

# §2.1 [VERIFY choice]: only queryable attributes may be sorted on.
ORDER_BY_REQUIRES_QUERYABLE = True
# §2.1 [VERIFY choice, Oracle SQL default]: NULLs sort high: last ascending, first descending.
NULLS_SORT_HIGH = True
# §2.1 [VERIFY choice]: ``fields`` returns attributes in the resource's definition order, not the listed order.
FIELDS_IN_DEFINITION_ORDER = True
# §2.1 [VERIFY choice]: an accessor that ``fields`` only names on the way to a nested one (``lines`` in
# ``fields=lines.charges:ChargeId``), or a top level when only child segments are given, shows links only.
FIELDS_UNLISTED_LEVEL_SHOWS_ALL = False
# §2.1 [VERIFY choice]: ``expand=all`` expands the immediate children only, not grandchildren.
EXPAND_ALL_RECURSIVE = False
# §2.1 [VERIFY choice]: finder variable values may be single-quoted; the quotes are removed (``''`` is a quote).
FINDER_UNQUOTES_VALUES = True

# --------------------------------------------------------------------------------------------- links

# §1.3/§2.2 [VERIFY choice]: characters left unescaped when a key goes into an href (``PSHOP:123`` stays as is).
KEY_SAFE_CHARS = ":,~-_."
# §2.1 [DOC]: ``links=self,canonical`` keeps only those link relations in each item; the names ADF defines (§1.3).
LINK_RELS = ("self", "canonical", "parent", "child", "lov", "enclosure", "describe")
# §2.1 [VERIFY choice]: ``links`` filters the items' links only; a collection keeps its own ``self`` link (paging
# clients follow it). An unknown relation name is a 400.
LINKS_PARAM_FILTERS_COLLECTION = False

# --------------------------------------------------------------------------------------------- order management
# The wording and codes of Order Management's rejections are [VERIFY] (§1.3 "Error responses": "message wording is
# illustrative"); the codes follow the DOO-/FOM- prefixes the reference shows. Clients should classify by status and
# code, never by text.

MSG_REQUIRED = "A value is required for the attribute {attr}."
CODE_REQUIRED = "DOO-2621470"
MSG_BAD_PAYLOAD = "The request body must be a JSON object describing one sales order."
MSG_NO_LINES = "The order must have at least one line in lines."
MSG_UNKNOWN_SOURCE_SYSTEM = "The source system {value} isn't valid. Register it as a trading community source system."
CODE_UNKNOWN_SOURCE_SYSTEM = "DOO-2621471"
MSG_UNKNOWN_CURRENCY = "The value of the attribute TransactionalCurrencyCode isn't valid: {value}."
CODE_UNKNOWN_CURRENCY = "DOO-2621472"
MSG_UNKNOWN_BU = "The business unit {value} isn't valid."
CODE_UNKNOWN_BU = "DOO-2621473"
MSG_UNKNOWN_ORGANIZATION = "The fulfillment organization {value} isn't valid."
CODE_UNKNOWN_ORGANIZATION = "DOO-2621474"
MSG_UNKNOWN_CUSTOMER = "The value of the attribute {attr} isn't valid: no customer {value} exists."
CODE_UNKNOWN_CUSTOMER = "DOO-2621475"
MSG_INACTIVE_CUSTOMER = "The customer {value} isn't active."
CODE_INACTIVE_CUSTOMER = "DOO-2621476"
MSG_UNKNOWN_ITEM = "An item with number {sku} doesn't exist in organization {org}."
CODE_UNKNOWN_ITEM = "FOM-2134567"
MSG_INACTIVE_ITEM = "The item {sku} isn't active or can't be ordered in organization {org}."
CODE_INACTIVE_ITEM = "FOM-2134568"
MSG_BAD_QUANTITY = "The ordered quantity {value} isn't valid. It must be greater than zero."
CODE_BAD_QUANTITY = "DOO-2621477"
MSG_NO_PRICE = "The price for item {sku} couldn't be determined in currency {currency}."
CODE_NO_PRICE = "QP-2750001"
MSG_DUPLICATE_LINE = "The source transaction line {value} appears more than once in the order."
CODE_DUPLICATE_LINE = "DOO-2621478"
# §1.3 "Duplicate create" [VERIFY]: a 400 whose message says the order already exists.
MSG_DUPLICATE_ORDER = ("An order with source transaction {id} from source system {system} already exists. "
                       "Use the order key {system}:{id} to read or change it, or send Upsert-Mode: true.")
CODE_DUPLICATE_ORDER = "DOO-2621480"
MSG_CREDIT_LIMIT = ("The order failed the credit check: customer {party} would have an exposure of {exposure}, over "
                    "its credit limit of {limit}.")
CODE_CREDIT_LIMIT = "DOO-2621481"
MSG_CLOSED_ORDER = "The order {key} is closed and can't be changed."
CODE_CLOSED_ORDER = "DOO-2621482"
# §1.3 [VERIFY choice]: an upsert replaces the order's lines, so it is refused once a line has shipped (Oracle keeps
# shipped fulfillment lines; changing them needs a return or a change order).
MSG_ORDER_IN_FULFILLMENT = "The order {key} has shipped lines and can't be replaced."
CODE_ORDER_IN_FULFILLMENT = "DOO-2621485"
# §1.3 [VERIFY choice]: attributes a PATCH may not change. The order key, and what Order Management validated on
# create (business unit, customer, currency, warehouse), change only through an upsert that validates them again.
ORDER_PATCH_NOT_UPDATABLE = (
    "SourceTransactionSystem", "SourceTransactionId", "BusinessUnitId", "BusinessUnitName", "BuyingPartyId",
    "BuyingPartyNumber", "BuyingPartyName", "TransactionalCurrencyCode", "RequestedFulfillmentOrganizationId",
    "RequestedFulfillmentOrganizationCode",
)
MSG_NOT_UPDATABLE = "The attribute {attr} can't be updated."
CODE_NOT_UPDATABLE = "DOO-2621483"
MSG_DELETE_NOT_DRAFT = "Only draft orders can be deleted; order {number} has been submitted."
CODE_DELETE_NOT_DRAFT = "DOO-2621484"

# §1.3 [VERIFY choice]: how an Order Hub order is cancelled over REST. The reference lists the header attributes
# CancelReasonCode, CancelReason, CanceledFlag and RequestCancelDate but no cancel operation. Oracle documents two
# routes: a *revision* of the order (a POST with the same SourceTransactionSystem + SourceTransactionId and a higher
# SourceTransactionRevisionNumber) and, for mass cancellations, the asynchronous ``salesOrderActionRequests``
# resource (ActionCode, HeaderId, CancelReasonCode; answered PRE_PROCESSING, polled for the outcome). We emulate the
# revision: a POST carrying an existing key, a CancelReasonCode and a revision number above the stored one cancels
# the whole order. Simplifications: the emulator keeps one row per key, so the revision is applied in place (no new
# HeaderId), the answer is 200 with the cancelled order, and any non-empty reason code is accepted (a pod checks it
# against its cancel reason lookup). An order with a shipped line, or closed, is refused: what shipped needs a return
# (RMA). Cancelling a cancelled order again changes nothing and answers 200.
CANCEL_REQUEST_ATTRIBUTE = "CancelReasonCode"
CANCELED_STATUS = "CANCELED"
MSG_CANCEL_SHIPPED = ("The order {key} has shipped lines and can't be changed by a cancellation. Create a return "
                      "(RMA) for what shipped.")
CODE_CANCEL_SHIPPED = "DOO-2621486"
MSG_CANCEL_REVISION = ("The revision number {value} isn't valid for order {key}: a revision must be greater than the "
                       "current revision {current}.")
CODE_CANCEL_REVISION = "DOO-2621487"
MSG_CANCEL_UNKNOWN = "The order {key} doesn't exist, so it can't be canceled."
CODE_CANCEL_UNKNOWN = "DOO-2621488"
MSG_CANCELED_ORDER = "The order {key} has been canceled and can't be changed."
CODE_CANCELED_ORDER = "DOO-2621489"

# --------------------------------------------------------------------------------------------- lifecycle
# How fast the emulated warehouse and AR move, in sandbox-clock time ([VERIFY]: real pods depend on setup).
SHIP_AFTER_MINUTES = (30, 240)  # submit → first shipment
SPLIT_SHIPMENT_RATE = 0.08  # orders of several lines whose last line ships in a second parcel
SPLIT_GAP_MINUTES = 24 * 60
BACKORDER_RETRY_MINUTES = 2 * 24 * 60  # a backordered line waits for a purchase receipt
RESTOCK_EXTRA = 10
AWAIT_BILLING_AFTER_MINUTES = 15  # fully shipped → lines interfaced to AR (AWAITING_BILLING, §7.3)
BILL_AFTER_MINUTES = 60  # fully shipped → AutoInvoice (BILLED)
PAID_RATE = 0.85  # invoices the customer pays; the rest stay open for reconciliation to find
PAY_AFTER_DAYS = (1, 5)
PRICE_CHANGES_PER_DAY = 3
# §1.7 [VERIFY]: the REST attribute of the tracking number on shipmentLines.
TRACKING_ATTRIBUTE = "TrackingNumber"

# --------------------------------------------------------------------------------------------- documented attributes
# Values for attributes the pod fills that the references document by name only ([VERIFY] on a pod's describe
# and sample rows). Attributes that stay empty in this emulator (holds, agreements, credit cards, flexfield-like
# details) are present and null, so clients that ask for them with ``fields=`` get an answer, not a 400.
# The users the pod's own processes stamp in CreatedBy / LastUpdatedBy (Fusion ESS application ids).
SHIPPING_PROCESS_USER = "FUSION_APPS_SCM_ESS_APPID"
RECEIVABLES_PROCESS_USER = "FUSION_APPS_FIN_ESS_APPID"
# itemsV2 of a plain finished good: not lot or serial controlled, stocked and shipped.
ITEM_DEFAULTS = {
    "ItemClass": "Root Item Class", "ApprovalStatusValue": "Approved", "LifecyclePhaseValue": "Production",
    "UserItemTypeValue": "Finished Good", "LotControlValue": "No lot control",
    "SerialGenerationValue": "No serial number control", "InventoryItemFlag": 1, "StockEnabledFlag": 1,
    "ShippableFlag": 1, "BuildInWIPFlag": 0, "AssetTrackedFlag": 0,
}
# shipments made by the emulated warehouse: closed parcels with a standard service.
SHIPMENT_STATUS_NAMES = {"CLOSED": "Closed"}
SHIPPING_SERVICE_LEVEL = "Standard"
SHIPPING_MODE = "Parcel"
# §1.9: the remittance bank account of the receipts the pod takes itself (the value of Oracle's receipt examples).
REMITTANCE_BANK_ACCOUNT = "10271-17621-619"
