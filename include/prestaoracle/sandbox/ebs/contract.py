"""What the EBS stand-in assumes where the reference (§4 of ``oracle-fusion-and-ebs.md``) stops, in one place.

The product's EBS path talks to the database directly, so every table name, column, flag value and message text it
relies on is a contract. Values marked [DOC] or [2ND] come from the reference or from the public EBS code and
support queries we could read; values marked [VERIFY] are our choices: check them on the target instance and change
them here (the other modules read these constants, nothing is duplicated).

Choices made for [VERIFY] items, and other simplifications:

* Identifiers. Tables and columns use the R12 names from the reference, lower case in the metadata so that no
  backend quotes them (Oracle folds them to upper case). Only the columns the integration touches are present, plus
  the keys, flags and WHO columns Order Import needs. The emitted Oracle DDL uses byte-length ``VARCHAR2(n)`` as
  EBS does; on an AL32UTF8 database an accented 50-character reference overflows a ``VARCHAR2(50)`` (ORA-12899),
  which SQLite cannot show and PostgreSQL (character lengths) does not either, so the product must check bytes.
* Sequences. EBS takes ids from Oracle sequences (``OE_ORDER_HEADERS_S``, ``OE_MSG_ID_S`` ...). SQLite has none, so
  the stand-in keeps a counter table ``XX_EBS_SEQUENCES`` with the same sequence names (see ``SEQUENCES``).
* Order Import. ``run_order_import`` is OEOIMP without parallel children, holds, scheduling, pricing modifiers or
  defaulting rules beyond: operating unit, order type, line type, UOM, ship-from, price list by currency, and the
  primary active SHIP_TO / BILL_TO site use of the customer. It picks headers with ``NVL(ERROR_FLAG,'N')='N'``,
  ``NVL(READY_FLAG,'Y')='Y'`` and ``NVL(REJECTED_FLAG,'N')='N'``. An order is imported whole or not at all (any line
  error fails the order). Imported rows are deleted from the interface, as OEOIMP does [2ND: OEBVIMNB.pls
  Post_Process]; failed headers (and their failing lines) get ``ERROR_FLAG='Y'`` and ``REQUEST_ID``, and the messages
  go to ``OE_PROCESSING_MSGS`` + ``OE_PROCESSING_MSGS_TL`` (language ``US``; the text is in ``_TL`` only, so read
  ``NVL(m.MESSAGE_TEXT, tl.MESSAGE_TEXT)`` as OEOIMP's own report does [2ND: OEBVIMNB.pls]). Old messages are
  kept when an order is retried, so read them by the latest ``REQUEST_ID`` [VERIFY]. Only ``OPERATION_CODE``
  NULL/INSERT/CREATE are processed; UPDATE and DELETE are rejected with a message naming this stand-in.
* Two pending interface headers with the same ORDER_SOURCE_ID + ORIG_SYS_DOCUMENT_REF are both failed [VERIFY].
* Concurrency. Order Import and ``advance`` each run one request at a time (``RUN_ALONE_PROGRAMS``): two imports
  started together import every order once, and two advances ship, bill and pay once. The real instance gets the
  same effect from program incompatibilities and row locks [VERIFY: on your instance OEOIMP may be allowed to run in
  parallel for different order sources].
* The request row in ``FND_CONCURRENT_REQUESTS`` completes ``C``/``C`` (normal), or ``C``/``G`` (warning) when at
  least one order failed [VERIFY: some patch levels complete normal and only list the failures in the output].
* Message texts: the "Validation failed for the field - X" form and "Invalid unit of measure for this item." are
  real OM texts seen in public support queries [2ND]; every other text in ``MESSAGES`` is [VERIFY].
* Booking. ``BOOKED_FLAG='Y'`` gives header ``BOOKED`` and lines ``AWAITING_SHIPPING`` with one
  ``WSH_DELIVERY_DETAILS`` row each (``RELEASED_STATUS='R'``, ready to release); otherwise ``ENTERED``/``ENTERED``.
* Fulfilment (``advance``). Ship confirm is all-or-nothing per line: a line ships when the non-consigned on-hand of
  its warehouse covers it (layers consumed oldest ``DATE_RECEIVED`` first), else its delivery detail becomes ``B``
  (backordered) and is retried on the next call. One delivery per order and call, ``STATUS_CODE='CL'``; its waybill is
  the tracking number, which is also written on each delivery detail. Shipped lines are ``SHIPPED``; AutoInvoice
  then makes one ``RA_CUSTOMER_TRX_ALL`` per order and call (``INTERFACE_HEADER_CONTEXT='ORDER ENTRY'``,
  ``INTERFACE_HEADER_ATTRIBUTE1`` = order number, ``CT_REFERENCE`` = order number; lines carry ``SALES_ORDER`` and
  ``INTERFACE_LINE_ATTRIBUTE6`` = line id), ``LINE`` lines only (no tax or freight lines), a payment schedule due
  in ``PAYMENT_TERM_DAYS``, and closes the order lines (``CLOSED``); the header closes when all its lines are closed
  (EBS waits for the month-end close workflow [VERIFY]). A receipt then pays each open invoice in full.
* ``LAST_UPDATE_DATE`` moves on the rows that change: ship confirm touches order lines and WSH rows, not the order
  header (only closing the order does), so incremental reads should poll lines and shipping tables [VERIFY].
* No material transactions (``MTL_MATERIAL_TRANSACTIONS``) and no reservations are written: on-hand is read and
  decremented in ``MTL_ONHAND_QUANTITIES_DETAIL`` only.
* Seeded data. Warehouse ``M1`` feeds the shop; ``M2`` holds extra stock of some items (a read that forgets the
  organization filter sees too much); some ``M1`` layers are consigned (``IS_CONSIGNED=1``) and must not be counted.
  Items whose PrestaShop product has combinations exist as non-orderable style items; their combinations are the
  orderable items. One price list per shop currency (``PRESTASHOP <ISO>``), prices tax excluded; some items also
  have an expired older price line.
* Ship methods, carriers and tracking-number formats are invented (site-specific setup) [VERIFY].
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------- organizations

# Vision-like ids (§1 uses Vision demo data); an instance's own ids come from its setup [VERIFY].
OPERATING_UNIT_ID = 204
MASTER_ORGANIZATION_ID = 204
# organization_id, organization_code, is a shipping warehouse
ORGANIZATIONS: tuple[tuple[int, str, bool], ...] = ((204, "V1", False), (207, "M1", True), (208, "M2", True))
DEFAULT_SHIP_FROM_ORG_ID = 207
SECOND_WAREHOUSE_ORG_ID = 208

# --------------------------------------------------------------------------------------------- order management

# §4.1 [DOC]: 0 = Copy, user-defined sources from 1001.
PRESTASHOP_ORDER_SOURCE_ID = 1001
# order_source_id, name, enabled
ORDER_SOURCES: tuple[tuple[int, str, str], ...] = ((0, "Copy", "Y"), (1001, "PRESTASHOP", "Y"), (1002, "LEGACY", "N"))
DEFAULT_ORDER_TYPE_ID = 1430  # "Standard" transaction type [VERIFY]
DEFAULT_LINE_TYPE_ID = 1427
DEFAULT_UOM = "Ea"
LANGUAGE = "US"
# FND_USER id the stand-in stamps on the rows it writes itself (the product stamps its own on the interface rows).
SANDBOX_USER_ID = 1318
# Currencies Order Import accepts (FND_CURRENCIES stand-in); the shop's five.
CURRENCIES: tuple[str, ...] = ("EUR", "USD", "GBP", "CHF", "PLN")
# OEOIMP in FND_CONCURRENT_PROGRAMS (application ONT = 660) [VERIFY: ids differ per instance].
OEOIMP_PROGRAM_ID = 45280
ONT_APPLICATION_ID = 660

# Programs the stand-in runs one request at a time, as the concurrent manager does for a program made incompatible
# with itself: a second request waits for the first to finish, then sees what it did. A row of XX_EBS_SEQUENCES
# named ``XX_RUN_ALONE_<program>`` is the lock (never counted, only held for a run's transaction).
RUN_ALONE_PROGRAMS: tuple[str, ...] = ("OEOIMP", "WSHADVANCE")

# Counter rows of XX_EBS_SEQUENCES: name -> last number handed out (the next id is one more).
SEQUENCES: dict[str, int] = {
    "FND_CONCURRENT_REQUESTS_S": 7_000_000,
    "OE_ORDER_HEADERS_S": 160_000,
    "OE_ORDER_LINES_S": 370_000,
    "OE_ORDER_NUMBER_S": 69_000,  # the order type's document sequence
    "OE_MSG_ID_S": 5_000_000,
    "MTL_SYSTEM_ITEMS_S": 100_000,
    "MTL_ONHAND_QUANTITIES_S": 1_000_000,
    "QP_LIST_HEADERS_B_S": 8_000,
    "QP_LIST_LINES_S": 900_000,
    "QP_PRICING_ATTRIBUTES_S": 2_700_000,
    "HZ_PARTIES_S": 500_000,
    "HZ_PARTY_NUMBER_S": 30_000,
    "HZ_CUST_ACCOUNTS_S": 60_000,
    "HZ_ACCOUNT_NUM_S": 9_000,
    "HZ_LOCATIONS_S": 40_000,
    "HZ_PARTY_SITES_S": 70_000,
    "HZ_CUST_ACCT_SITES_S": 80_000,
    "HZ_CUST_SITE_USES_S": 90_000,
    "WSH_DELIVERY_DETAILS_S": 4_000_000,
    "WSH_NEW_DELIVERIES_S": 3_000_000,
    "WSH_DELIVERY_ASSIGNMENTS_S": 4_500_000,
    "RA_CUSTOMER_TRX_S": 1_100_000,
    "RA_CUSTOMER_TRX_LINES_S": 2_200_000,
    "RA_TRX_NUMBER_S": 10_000,
    "AR_PAYMENT_SCHEDULES_S": 1_300_000,
    "AR_CASH_RECEIPTS_S": 1_400_000,
    "AR_RECEIPT_NUMBER_S": 50_000,
    "AR_RECEIVABLE_APPLICATIONS_S": 1_500_000,
}

# Order Import messages, by the FND message name they stand for. Keys are what the code raises; ``{...}`` are tokens.
MESSAGES: dict[str, str] = {
    # [2ND] seen verbatim in public OM support queries
    "OE_INVALID_CUSTOMER": "Validation failed for the field - Customer",
    "OE_INVALID_SHIP_TO": "Validation failed for the field - Ship To",
    "OE_INVALID_BILL_TO": "Validation failed for the field - Bill To",
    "OE_CUSTOMER_NUMBER_NOT_FOUND": "Cannot get valid ID for - sold_to_org_id",
    "OE_INVALID_UOM": "Invalid unit of measure for this item.",
    "OE_INVALID_SHIPPING_METHOD": "Validation failed for the field - Shipping Method",
    # [VERIFY] same family, attribute names guessed
    "OE_INVALID_ITEM": "Validation failed for the field - Item",
    "OE_INVALID_WAREHOUSE": "Validation failed for the field - Warehouse",
    "OE_INVALID_ORDER_SOURCE": "Validation failed for the field - Order Source",
    "OE_INVALID_OPERATING_UNIT": "Validation failed for the field - Operating Unit",
    "OE_INVALID_CURRENCY": "Validation failed for the field - Currency",
    "OE_INVALID_PRICE_LIST": "Validation failed for the field - Price List",
    "OE_INVALID_QUANTITY": "Validation failed for the field - Ordered Quantity",
    "OE_INVALID_PRICE": "Validation failed for the field - Unit Selling Price",
    # [VERIFY] wording chosen for the stand-in
    "OE_ATTRIBUTE_REQUIRED": "{attribute} is a required attribute. Please specify a value.",
    "OE_ITEM_NOT_ORDERABLE": "Item {item} is not customer orderable in warehouse {warehouse} (status {status}).",
    "OE_NO_LIST_PRICE": "Unable to get a list price for item {item} on price list {price_list}.",
    "OE_DUPLICATE_ORDER": "An order with Order Source {order_source_id} and Original System Document Reference "
                          "{ref} already exists (order number {order_number}).",
    "OE_DUPLICATE_IFACE_ORDER": "More than one interface order has Order Source {order_source_id} and Original "
                                "System Document Reference {ref}.",
    "OE_DUPLICATE_LINE_REF": "Original System Line Reference {reference} is used more than once in this order.",
    "OE_BOOK_NO_LINES": "The order has no lines and cannot be booked.",
    "OE_OPERATION_NOT_SUPPORTED": "Operation code {operation} is not supported by the EBS stand-in.",
}

# --------------------------------------------------------------------------------------------- pricing

PRICE_LIST_NAME = "PRESTASHOP {currency}"
PRICE_LIST_START = "2020-01-01"

# --------------------------------------------------------------------------------------------- shipping and AR

# PrestaShop carrier id -> (party name, freight code, SCAC, ship method code, tracking number format).
# Format letters: N a digit, A an upper-case letter; anything else is literal [VERIFY: site setup].
CARRIERS: dict[int, tuple[str, str, str, str, str]] = {
    1: ("Click and collect", "PICKUP", "PKUP", "PICKUP_STORE", "CC-NNNNNNNN"),
    2: ("Colissimo", "COLISSIMO", "COLI", "COLISSIMO_P_STD", "6ANNNNNNNNNNN"),
    3: ("UPS", "UPS", "UPSN", "UPS_P_EXPRESS_SAVER", "1ZAAANNNNNNNNNNNNN"),
    4: ("DHL Parcel", "DHL", "DHLC", "DHL_P_PARCEL", "JJDNNNNNNNNNNNNNNN"),
}
DEFAULT_CARRIER = 2  # used when the order has no ship method
CUST_TRX_TYPE_INVOICE_ID = 1
BATCH_SOURCE_ORDER_ENTRY_ID = 1001  # AutoInvoice batch source "ORDER ENTRY" [VERIFY]
PAYMENT_TERM_ID = 4  # "30 NET"
PAYMENT_TERM_DAYS = 30
RECEIPT_METHOD_ID = 2001  # "Credit card" [VERIFY]
