"""Classification of Fusion error answers into reason classes, body parsing and redaction.

Messages are the reference's examples (§1.3 "Error responses", §2.6) and Oracle-style variants of them, in the
default plain-text form and in the framework-4 ``o:errorDetails`` form.
"""

from __future__ import annotations

import json

import pytest

from prestaoracle.oracle.errors import (
    ERROR_CLASSES,
    ErrorDetail,
    FusionError,
    classify,
    error_from_response,
    parse_error_body,
)

# (message, o:errorPath, expected class)
CASES_400 = [
    ("An item with number AS5488X doesn't exist in organization M1.", "/lines/0/ProductNumber", "mapping_missing"),
    ("The value of the attribute ProductNumber isn't valid.", None, "mapping_missing"),
    ("The value of the attribute BuyingPartyNumber isn't valid: no customer 99999 exists.", "/BuyingPartyNumber",
     "mapping_missing"),
    ("The business unit Vision Mars isn't valid.", "/BusinessUnitId", "mapping_missing"),
    ("The fulfillment organization ZZ isn't valid.", "/lines/0/RequestedFulfillmentOrganizationCode",
     "mapping_missing"),
    ("The source system SHOPX isn't valid. Register it as a trading community source system.",
     "/SourceTransactionSystem", "mapping_missing"),
    ("The value of the attribute TransactionalCurrencyCode isn't valid: XXX.", "/TransactionalCurrencyCode",
     "mapping_missing"),
    ("The customer 1033 isn't active.", "/BuyingPartyNumber", "business_rule"),
    ("The item PS-3 isn't active or can't be ordered in organization M1.", "/lines/0/ProductNumber",
     "business_rule"),
    ("The order failed the credit check: customer 1025 would have an exposure of 595.0, over its credit limit of 100.",
     "/BuyingPartyNumber", "business_rule"),
    ("The price for item PS-9 couldn't be determined in currency PLN.", "/lines/0/ProductNumber", "business_rule"),
    ("The order PSHOP:1 is closed and can't be changed.", None, "business_rule"),
    ("Only draft orders can be deleted; order 520001 has been submitted.", None, "business_rule"),
    ("An order with source transaction 7 from source system PSHOP already exists. Use the order key PSHOP:7.",
     "/SourceTransactionId", "duplicate"),
    ("The source transaction line 1 appears more than once in the order.", "/lines/1/SourceTransactionLineId",
     "invalid_data"),
    ("A value is required for the attribute TransactionalCurrencyCode.", "/TransactionalCurrencyCode",
     "invalid_data"),
    ("A value is required for the attribute BuyingPartyId, BuyingPartyNumber or BuyingPartyName.",
     "/BuyingPartyNumber", "invalid_data"),
    ("The ordered quantity -1 isn't valid. It must be greater than zero.", "/lines/0/OrderedQuantity",
     "invalid_data"),
    ("The attribute HeaderId can't be updated.", "/HeaderId", "invalid_data"),
    ('URL request parameter q with value "Name = \'x\' or credit limit" is invalid.', None, "invalid_data"),
    ("The request body isn't valid JSON.", None, "invalid_data"),
    ("Something unexpected happened.", None, "invalid_data"),
]


def _json_body(detail: str, path: str | None, code: str | None = None) -> str:
    item = {"detail": detail}
    if code:
        item["o:errorCode"] = code
    if path:
        item["o:errorPath"] = path
    return json.dumps({"title": "Bad Request", "status": "400", "o:errorDetails": [item]})


@pytest.mark.parametrize(("message", "path", "expected"), CASES_400)
def test_400_json_bodies(message: str, path: str | None, expected: str) -> None:
    err = error_from_response(400, _json_body(message, path), "application/vnd.oracle.adf.error+json",
                              request="POST /x")
    assert err.reason_class == expected, err
    assert err.detail == message and err.path == path and err.status == 400


@pytest.mark.parametrize(("message", "path", "expected"), CASES_400)
def test_400_plain_text_bodies(message: str, path: str | None, expected: str) -> None:
    # Plain text has no error path: the words of the message must carry the decision, except where only the path
    # could tell (the generic "isn't valid" of a business unit or organization keeps its subject word).
    err = error_from_response(400, message, "text/plain", request="POST /x")
    assert err.reason_class == expected, err


def test_error_code_table_wins() -> None:
    err = error_from_response(400, _json_body("Some new wording nobody foresaw.", None, "FOM-2134567"),
                              "application/json", request="POST /x")
    assert err.reason_class == "mapping_missing" and err.error_code == "FOM-2134567"


def test_several_messages_most_specific_wins() -> None:
    body = "A value is required for the attribute CustomerPONumber.\nAn order with source transaction 7 from " \
           "source system PSHOP already exists."
    err = error_from_response(400, body, "text/plain", request="POST /x")
    assert err.reason_class == "duplicate"
    assert "already exists" in err.detail and len(err.details) == 2


@pytest.mark.parametrize(("status", "expected"), [
    (401, "auth"), (403, "auth"), (404, "mapping_missing"), (405, "invalid_data"), (406, "invalid_data"),
    (408, "retryable"), (409, "duplicate"), (412, "retryable"), (415, "invalid_data"), (429, "retryable"),
    (500, "retryable"), (502, "retryable"), (503, "retryable"), (504, "retryable"), (None, "retryable"),
])
def test_status_classes(status: int | None, expected: str) -> None:
    assert classify(status, [ErrorDetail("whatever")]) == expected


def test_bodies_html_oauth_and_empty() -> None:
    html = "<html><body><h1>504 Gateway Time-out</h1></body></html>"
    assert parse_error_body(html, "text/html") == [ErrorDetail("504 Gateway Time-out")]
    oauth = json.dumps({"error": "invalid_client", "error_description": "Client authentication failed."})
    assert parse_error_body(oauth, "application/json") == [ErrorDetail("Client authentication failed.")]
    assert parse_error_body("", "text/plain") == []
    err = error_from_response(503, "", "text/plain", request="GET /x")
    assert err.reason_class == "retryable" and "(no body)" in str(err)


def test_secrets_are_scrubbed() -> None:
    body = "Bad token: Bearer abc.def.SECRETTOKEN and password hunter22"
    err = error_from_response(400, body, "text/plain", request="GET /x", secrets=["abc.def.SECRETTOKEN", "hunter22"])
    assert "SECRETTOKEN" not in str(err) and "hunter22" not in str(err) and "SECRETTOKEN" not in err.detail
    assert "***" in str(err)


def test_fusion_error_validates_reason_class() -> None:
    assert set(ERROR_CLASSES) == {"retryable", "invalid_data", "mapping_missing", "business_rule", "duplicate",
                                  "needs_review", "auth"}
    with pytest.raises(ValueError):
        FusionError("x", reason_class="oops")
    assert FusionError("x", reason_class="retryable").retryable
