"""Errors of the Fusion REST client, each with a *reason class* the flows act on.

A :class:`FusionError` carries what Oracle said (``status``, ``detail``, ``error_code``, ``path`` = ``o:errorPath``)
and one ``reason_class`` of ``prestaoracle.reasons.ERROR_CLASSES`` (``shared/DESIGN.md``, "Per-record outcomes"):

``retryable``        the same request may succeed later; nothing is wrong with the record.
``invalid_data``     the payload is malformed or incomplete; fix the mapping code or the source record.
``mapping_missing``  a value we sent has no counterpart in Oracle (item, customer, business unit, org, currency,
                     source system): add the cross-reference, or create the master record in Oracle.
``business_rule``    Oracle knows every value but refuses by policy (credit check, inactive customer or item, no
                     price, closed order): someone has to decide in Oracle, not in the mapping.
``duplicate``        the record already exists in Oracle (for orders: same SourceTransactionSystem + Id).
``auth``             credentials, token or roles (401/403): a systemic fault, not a record's.

Rule table (first match wins; 400 bodies may be plain text, one message per line, or the framework-4
``o:errorDetails`` document; every message of the body is classified and the most specific class wins, in the
order ``duplicate`` > ``mapping_missing`` > ``business_rule`` > ``invalid_data``):

====================================================  =================================================
condition                                             reason class
====================================================  =================================================
no HTTP answer: timeout, connection reset, short read ``retryable``
401, 403                                              ``auth``
408, 429, 5xx (502/503/504 included)                  ``retryable``
412 (If-Match: changed since read; re-read and retry) ``retryable``
409                                                   ``duplicate``
404                                                   ``mapping_missing`` (the key has no Oracle record)
400 + ``o:errorCode`` listed in :data:`CODE_CLASSES`  that class (empty but for the reference's example;
                                                      add real pod codes there when you learn them)
400 "request parameter … is invalid" (bad q, fields)  ``invalid_data``
400 "value is required" / "required" / "missing"      ``invalid_data``
400 "already exists" / "duplicate" (not a line)       ``duplicate``
400 "credit check" / "credit limit" / "credit hold"   ``business_rule``
400 "isn't active" / "inactive" / "can't be ordered"  ``business_rule`` (customer or item exists, disabled)
400 price "couldn't be determined" / "no price"       ``business_rule`` (pricing setup lacks the item)
400 "closed" / "only draft" / "can't be changed"      ``business_rule``
400 "doesn't exist" / "not found" / "isn't valid" /   ``mapping_missing`` when the subject is an item,
    "invalid" / "unknown"                             customer, business unit, organization, currency or
                                                      source system (``o:errorPath`` last segment first,
                                                      else words of the message); ``invalid_data`` otherwise
any other 4xx (400, 405, 406, 415, …)                 ``invalid_data``
====================================================  =================================================

Message wording on a real pod is [VERIFY] (reference §1.3: "message wording is illustrative"), so the rules look
at the error path and at loose phrases rather than exact sentences. Messages never carry credentials: the client
scrubs every secret it knows (token, client secret, Basic password) out of any text it puts in an error, with
``prestaoracle.secrets`` (the product's one redactor).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prestaoracle.reasons import ERROR_CLASSES, most_specific
from prestaoracle.secrets import redact

__all__ = [
    "CODE_CLASSES",
    "ERROR_CLASSES",
    "ErrorDetail",
    "FusionError",
    "classify",
    "classify_detail",
    "error_from_response",
    "parse_error_body",
]

RETRYABLE_STATUSES = frozenset({408, 412, 429})

# Oracle message codes with a known class. Reference §1.3 shows one example (item not in the organization); codes
# on a real pod are [VERIFY], so text rules stay the general mechanism.
CODE_CLASSES: dict[str, str] = {
    "FOM-2134567": "mapping_missing",
}

MAX_DETAIL_CHARS = 2000


@dataclass(frozen=True)
class ErrorDetail:
    """One message of an error answer: the text, Oracle's message code and the payload path, when given."""

    detail: str
    error_code: str | None = None
    path: str | None = None


class FusionError(Exception):
    """A failed Fusion call, classified. ``str()`` is one line an operator can act on; no secrets in it."""

    def __init__(
        self,
        message: str,
        *,
        reason_class: str,
        status: int | None = None,
        detail: str | None = None,
        error_code: str | None = None,
        path: str | None = None,
        request: str | None = None,
        details: Sequence[ErrorDetail] = (),
        retry_after: float | None = None,
    ) -> None:
        if reason_class not in ERROR_CLASSES:
            raise ValueError(f"unknown reason class {reason_class!r}")
        super().__init__(message)
        self.message = message
        self.reason_class = reason_class
        self.status = status
        self.detail = detail if detail is not None else message
        self.error_code = error_code
        self.path = path
        self.request = request  # "METHOD /resource/path" without query string
        self.details: tuple[ErrorDetail, ...] = tuple(details)
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.reason_class == "retryable"

    def __repr__(self) -> str:
        return (f"FusionError({self.message!r}, reason_class={self.reason_class!r}, status={self.status!r}, "
                f"error_code={self.error_code!r}, path={self.path!r})")


# ------------------------------------------------------------------------------------------------- parsing bodies


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS] + "…"


_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t]+")


def parse_error_body(text: str, content_type: str | None = None) -> list[ErrorDetail]:
    """The messages of an error body: ``o:errorDetails`` JSON, an OAuth ``error_description``, HTML or plain text."""
    text = text or ""
    ctype = (content_type or "").split(";")[0].strip().lower()
    stripped = text.strip()
    if "json" in ctype or stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            out = []
            for item in doc.get("o:errorDetails") or []:
                if isinstance(item, dict) and item.get("detail") not in (None, ""):
                    code, where = _str_or_none(item.get("o:errorCode")), _str_or_none(item.get("o:errorPath"))
                    out.append(ErrorDetail(_clip(str(item["detail"])), code, where))
            if out:
                return out
            for key in ("detail", "error_description", "title", "error", "message"):
                if doc.get(key) not in (None, ""):
                    return [ErrorDetail(_clip(str(doc[key])))]
    if "html" in ctype or stripped.lower().startswith("<"):
        stripped = _SPACES.sub(" ", _TAGS.sub(" ", stripped))
    lines = [_clip(line) for line in stripped.splitlines() if line.strip()]
    return [ErrorDetail(line) for line in lines]


def _str_or_none(value: object) -> str | None:
    return None if value in (None, "") else str(value)


# ------------------------------------------------------------------------------------------------- classification

_BAD_PARAM = re.compile(r"\brequest parameter\b|\bREST framework version\b|\bmedia type\b", re.I)
_REQUIRED = re.compile(r"\b(value is required|is required|are required|required attribute|missing)\b", re.I)
_DUPLICATE = re.compile(r"\b(already exists?|duplicate)\b", re.I)
_LINE_DUPLICATE = re.compile(r"\bmore than once\b|\bduplicate (source transaction )?line\b", re.I)
_CREDIT = re.compile(r"\bcredit (check|limit|hold)\b|\bexceeds? (the )?credit\b", re.I)
_INACTIVE = re.compile(r"\b(isn't|is not|isnt) active\b|\binactive\b|\bcan't be ordered\b|\bcannot be ordered\b|"
                       r"\b(is|was) disabled\b|\bnot enabled for\b|\bend[- ]dated\b", re.I)
_NO_PRICE = re.compile(r"\bpric(e|ing)\b.*\b(couldn't|could not|can't|cannot|wasn't|was not|not) be "
                       r"(determined|found|calculated|derived)\b|\bno price\b|\bpricing (failed|error)\b", re.I)
_STATE = re.compile(r"\bis closed\b|\bonly draft\b|\bcan't be changed\b|\bcannot be changed\b|\bon hold\b|"
                    r"\bhas been (submitted|canceled|cancelled)\b", re.I)
_NOT_FOUND = re.compile(r"\b(doesn't|does not|don't|do not) exist\b|\bnot found\b|\bno \w+ (\S+ )?exists\b|"
                        r"\b(isn't|is not|aren't|are not) valid\b|\binvalid\b|\bunknown\b", re.I)

# Attribute names (last segment of o:errorPath, or named in the message) whose values come from cross-references.
_SUBJECT_ATTRS = re.compile(
    r"^(Product(Number|Id|Description)?|Item(Number|Id)?|InventoryItemId|"
    r"BuyingParty\w*|Party(Id|Number|Name)?|CustomerAccount\w*|AccountNumber|SiteUseId|SiteId|BillTo\w*|ShipTo\w*|"
    r"BusinessUnit\w*|RequestingBusinessUnit\w*|RequestedFulfillmentOrganization\w*|OrganizationCode|"
    r"OrganizationId|SourceTransactionSystem|TransactionalCurrency\w*|CurrencyCode|TransactionType\w*)$"
)
_SUBJECT_WORDS = re.compile(r"\b(item|product|customer|party|account|business unit|organization|organisation|"
                            r"source system|currency|transaction type)\b", re.I)
_ATTR_IN_TEXT = re.compile(r"\battribute (\w+)\b", re.I)


def _has_subject(d: ErrorDetail) -> bool:
    if d.path:
        last = d.path.rstrip("/").rsplit("/", 1)[-1]
        if not last.isdigit():
            return bool(_SUBJECT_ATTRS.match(last))
    named = _ATTR_IN_TEXT.search(d.detail)
    if named:
        return bool(_SUBJECT_ATTRS.match(named.group(1)))
    return bool(_SUBJECT_WORDS.search(d.detail))


def _on_a_line(d: ErrorDetail) -> bool:
    return bool(d.path and re.match(r"^/?lines\b", d.path))


def classify_detail(d: ErrorDetail) -> str:
    """The reason class of one 400 message (see the module's rule table)."""
    if d.error_code and d.error_code in CODE_CLASSES:
        return CODE_CLASSES[d.error_code]
    text = d.detail
    if _BAD_PARAM.search(text) or _REQUIRED.search(text):
        return "invalid_data"
    if _DUPLICATE.search(text) and not _LINE_DUPLICATE.search(text) and not _on_a_line(d):
        return "duplicate"
    if _CREDIT.search(text) or _INACTIVE.search(text) or _NO_PRICE.search(text) or _STATE.search(text):
        return "business_rule"
    if _NOT_FOUND.search(text) and _has_subject(d):
        return "mapping_missing"
    return "invalid_data"


def classify(status: int | None, details: Iterable[ErrorDetail] = ()) -> str:
    """The reason class of an HTTP answer (``status`` None = no answer at all: timeout or connection error)."""
    if status is None or status >= 500 or status in RETRYABLE_STATUSES:
        return "retryable"
    if status in (401, 403):
        return "auth"
    if status == 409:
        return "duplicate"
    if status == 404:
        return "mapping_missing"
    if status == 400:
        return most_specific(classify_detail(d) for d in details)
    return "invalid_data"


def error_from_response(
    status: int,
    body: str,
    content_type: str | None,
    *,
    request: str,
    secrets: Iterable[str | None] = (),
    retry_after: float | None = None,
) -> FusionError:
    """A classified :class:`FusionError` for one non-2xx answer."""
    secrets = list(secrets)
    details = [ErrorDetail(redact(d.detail, secrets), d.error_code, d.path)
               for d in parse_error_body(body, content_type)]
    reason = classify(status, details)
    # The message that decided the class leads (for a 400 with several messages); otherwise the first one.
    deciding = [d for d in details if status == 400 and classify_detail(d) == reason]
    first = (deciding or details or [None])[0]
    detail = first.detail if first else ""
    summary = "; ".join(d.detail for d in details) if details else "(no body)"
    message = f"{request} -> HTTP {status} [{reason}]: {summary}"
    return FusionError(_clip(message), reason_class=reason, status=status, detail=detail,
                       error_code=first.error_code if first else None, path=first.path if first else None,
                       request=request, details=details, retry_after=retry_after)
