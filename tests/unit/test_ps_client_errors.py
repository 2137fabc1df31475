"""Error answers recorded from a real PrestaShop 8.1.2 become the right exception, with useful, key-free messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from prestaoracle.prestashop import (
    AuthError,
    NotFound,
    RateLimited,
    RequestError,
    RetryBudgetExhausted,
    ServerError,
    error_from_response,
    parse_error_document,
)
from prestaoracle.secrets import Redactor, redact_url

KEY = "SECRETKEYSECRETKEYSECRETKEY12345"


def fixture(name: str) -> tuple[int, bytes, str]:
    """(status, body, content type) of one recorded exchange."""
    meta = json.loads((FIXTURES / f"{name}.meta.json").read_text(encoding="utf-8"))
    body = (FIXTURES / meta["response_body_file"]).read_bytes() if meta["response_body_file"] else b""
    ctype = next((v for k, v in meta["response_headers"] if k.lower() == "content-type"), "")
    return meta["status"], body, ctype


def classify(name: str, resource: str = "orders", method: str = "GET") -> Exception:
    status, body, ctype = fixture(name)
    return error_from_response(status=status, body=body, content_type=ctype, method=method,
                               url="http://shop/api/" + resource, resource=resource, scrub=Redactor(KEY).scrub)


@pytest.mark.parametrize("name", ["30_err_wrong_key_xml", "31_err_wrong_key_json"])
def test_wrong_key_is_auth_error_with_codes_20_and_21(name: str) -> None:
    err = classify(name)
    assert isinstance(err, AuthError)
    assert err.status == 401 and err.codes == (20, 21)
    assert "Authentification key is not active" in err.message  # PrestaShop's own spelling
    assert "unknown or disabled" in err.message
    assert "check the webservice key in the prestashop_default connection and its permissions for orders" in (
        err.message.lower())


def test_no_key_plain_text_401() -> None:
    err = classify("32_err_no_key")
    assert isinstance(err, AuthError) and err.codes == ()
    assert "no webservice key reached the shop" in err.message


def test_resource_not_granted_names_the_resource() -> None:
    err = classify("39_err_resource_not_permitted_json", resource="employees")
    assert isinstance(err, AuthError) and err.codes == (26,)
    assert "not granted the resource 'employees'" in err.message
    assert "permissions for employees" in err.message


@pytest.mark.parametrize("name", ["33_err_unknown_resource_xml", "34_err_unknown_resource_json"])
def test_unknown_resource_is_request_error_27(name: str) -> None:
    err = classify(name, resource="ordres")
    assert isinstance(err, RequestError) and err.status == 400 and err.codes == (27,)
    assert 'Did you mean: "orders"' in err.errors[0].message


@pytest.mark.parametrize("name", ["37_err_bad_filter_field_xml", "38_err_bad_filter_field_json"])
def test_bad_filter_500_code_32_is_a_request_error_not_an_outage(name: str) -> None:
    err = classify(name)
    # 8.1 answers 500, but the request is at fault: retrying cannot help, so it must not look transient.
    assert isinstance(err, RequestError) and not isinstance(err, ServerError)
    assert err.status == 500
    assert err.codes[0] == 32 and set(err.codes[1:]) == {3}
    assert "This filter does not exist" in err.message


@pytest.mark.parametrize("name", ["35_err_unknown_id_xml", "36_err_unknown_id_json"])
def test_unknown_id_404_with_empty_body(name: str) -> None:
    status, body, _ = fixture(name)
    assert status == 404 and body == b""
    err = classify(name)
    assert isinstance(err, NotFound) and err.codes == ()


def test_validation_error_85_is_unescaped() -> None:
    err = classify("41_err_post_order_history_missing_fields_json", resource="order_histories", method="POST")
    assert isinstance(err, RequestError) and err.codes == (85,)
    assert err.errors[0].message == 'Validation error: "Property OrderHistory->id_order is empty."'


def test_malformed_xml_500_code_127_is_a_request_error() -> None:
    err = classify("42_err_post_malformed_xml", resource="order_histories", method="POST")
    assert isinstance(err, RequestError) and 127 in err.codes


def test_bare_500_without_document_is_a_retryable_server_error() -> None:
    err = classify("40_err_post_order_history_invalid_order_xml", resource="order_histories", method="POST")
    assert isinstance(err, ServerError) and err.retryable and err.codes == ()


def test_deterministic_server_codes_are_not_retryable() -> None:
    body = b'{"errors":[{"code":133,"message":"depends on stock"},{"code":46,"message":"Unable to save resource"}]}'
    err = error_from_response(status=500, body=body, content_type="application/json", method="PUT",
                              url="u", resource="stock_availables")
    assert isinstance(err, RequestError)  # 133 is the request's fault
    body = b'{"errors":[{"code":46,"message":"Unable to save resource"}]}'
    err = error_from_response(status=500, body=body, content_type="application/json", method="PUT",
                              url="u", resource="stock_availables")
    assert isinstance(err, ServerError) and not err.retryable


def test_429_and_retry_after() -> None:
    err = error_from_response(status=429, body=b"", content_type="", method="GET", url="u", resource="orders",
                              retry_after="7")
    assert isinstance(err, RateLimited) and err.retry_after == 7.0


def test_method_not_granted_405_code_25_is_an_auth_problem() -> None:
    body = b'{"errors":[{"code":25,"message":"Method PUT is not allowed for the resource orders with this key"}]}'
    err = error_from_response(status=405, body=body, content_type="application/json", method="PUT", url="u",
                              resource="orders")
    assert isinstance(err, AuthError) and "not granted PUT on 'orders'" in err.message


def test_parse_error_document_ignores_non_documents() -> None:
    assert parse_error_document(b"") == []
    assert parse_error_document(b"401 Unauthorized") == []
    assert parse_error_document(b"<html><body>502 Bad Gateway</body></html>") == []
    assert parse_error_document(b"[]") == []
    # An entity-expansion bomb is refused by defusedxml, not expanded.
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><prestashop><errors><error><code>1</code>' \
           b"<message>&a;</message></error></errors></prestashop>"
    assert parse_error_document(bomb) == []


def test_every_error_fixture_parses() -> None:
    for meta_path in sorted(Path(FIXTURES).glob("*_err_*.meta.json")):
        name = meta_path.name.removesuffix(".meta.json")
        status, body, ctype = fixture(name)
        if status >= 400 and body.strip().startswith((b"{", b"<")):
            assert parse_error_document(body, ctype), name


def test_key_is_scrubbed_from_messages_and_urls() -> None:
    import base64

    scrub = Redactor(KEY).scrub
    b64 = base64.b64encode(f"{KEY}:".encode()).decode()
    text = f"GET http://shop/api/orders?ws_key={KEY}&display=full Authorization: Basic {b64} raw {KEY}"
    clean = scrub(text)
    assert KEY not in clean and b64 not in clean and "display=full" in clean
    assert redact_url(f"http://shop/api/orders?ws_key={KEY}&limit=5") == "http://shop/api/orders?ws_key=***&limit=5"
    assert KEY not in redact_url(f"http://{KEY}:@shop/api/")
    body = json.dumps({"errors": [{"code": 3, "message": f"warning in url ?ws_key={KEY}"}]}).encode()
    err = error_from_response(status=500, body=body, content_type="application/json", method="GET",
                              url="http://shop/api/orders", resource="orders", scrub=scrub)
    assert KEY not in str(err) and KEY not in repr(err.errors)


def test_retry_budget_message() -> None:
    err = RetryBudgetExhausted(method="GET", url="http://shop/api/orders?display=full", attempts=5, last_status=503)
    assert "after 5 attempt(s)" in str(err) and "last status 503" in str(err)
    assert err.attempts == 5 and err.last_status == 503
