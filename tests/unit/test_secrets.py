"""The product's one redactor (``prestaoracle.secrets``): secret keys dropped (landing) or masked (dead letters), secret
patterns in text, and known secret values in every spelling."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prestaoracle.secrets import (
    MASK,
    Redactor,
    drop_secrets,
    is_secret_key,
    mask_card_number,
    redact,
    redact_url,
    scrub,
    scrub_text,
)
from prestaoracle.staging._common import canonical_json

SECRET_NAMES = ["passwd", "password", "secure_key", "ws_key", "token", "access_token", "client_secret",
                "authorization", "api_key", "Authorization", "X-Api-Key", "secureKey", "accessToken",
                "reset_password_token", "PASSWD", "Client-Secret", "refresh_token"]
CARD_NAMES = ["card_number", "CARD_NUMBER", "cardNumber", "Card-Number"]
MARKER = "S3CR3T"


def _random_case(draw, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if f else c.lower() for c, f in zip(name, flips, strict=True))


@st.composite
def secret_key(draw) -> str:
    name = draw(st.sampled_from(SECRET_NAMES))
    return _random_case(draw, name) if draw(st.booleans()) else name


@st.composite
def card_key(draw) -> str:
    name = draw(st.sampled_from(CARD_NAMES))
    return _random_case(draw, name) if draw(st.booleans()) else name


# Plain values never contain the marker's capitals, so any marker in the output is a leaked secret.
plain_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz _-.:/=0123456789", max_size=20)
plain_key = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda k: not is_secret_key(k) and "card" not in k and k != "pan")
secret_value = st.builds(lambda s: f"{MARKER}{s}", st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=",
                                                            min_size=1, max_size=24))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), plain_text)


@st.composite
def payloads(draw, depth: int = 3):
    """Nested JSON-like payloads where secret keys (any case) may sit at any depth, with secret values of any shape."""
    if depth == 0:
        return draw(scalars)
    kind = draw(st.sampled_from(["dict", "dict", "list", "scalar"]))
    if kind == "scalar":
        return draw(scalars)
    if kind == "list":
        return draw(st.lists(payloads(depth - 1), max_size=3))
    out = {}
    for key in draw(st.lists(plain_key, max_size=4, unique=True)):
        out[key] = draw(payloads(depth - 1))
    for _ in range(draw(st.integers(0, 3))):
        value = draw(st.one_of(secret_value, st.lists(secret_value, min_size=1, max_size=2),
                               st.dictionaries(plain_key, secret_value, min_size=1, max_size=2)))
        out[draw(secret_key())] = value
    if draw(st.booleans()):
        out[draw(card_key())] = draw(st.builds(lambda d: f"{MARKER}{d}", st.text("0123456789", min_size=4,
                                                                                   max_size=16)))
    return out


@settings(max_examples=150, deadline=None)
@given(payloads())
def test_secret_values_never_survive_scrubbing(payload) -> None:
    scrubbed = scrub(payload)
    assert MARKER not in canonical_json(scrubbed)


@settings(max_examples=100, deadline=None)
@given(payloads())
def test_scrub_keeps_everything_else_and_does_not_touch_its_input(payload) -> None:
    before = canonical_json(payload)
    scrubbed = scrub(payload)
    assert canonical_json(payload) == before
    if MARKER not in before:
        assert scrubbed == payload


@pytest.mark.parametrize("key", SECRET_NAMES + ["Passwd", "WS_KEY", "wsKey", "API-KEY", "proxy-authorization",
                                                "id_token", "oauth_client_secret"])
def test_secret_keys_are_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["id", "last_passwd_gen", "token_type", "token_url", "tracking_number", "key",
                                 "secure", "reference", "expires_in", "date_upd"])
def test_ordinary_keys_are_kept(key: str) -> None:
    assert not is_secret_key(key)


def test_card_numbers_keep_their_last_four_digits() -> None:
    assert mask_card_number("4111 1111 1111 1234") == "************1234"
    assert mask_card_number(4111111111111234) == "************1234"
    assert mask_card_number("1234") == MASK
    assert mask_card_number({"n": "4111111111111234"}) == MASK
    assert scrub({"payments": [{"card_number": "4111-1111-1111-1234", "card_brand": "Visa"}]}) == {
        "payments": [{"card_number": "************1234", "card_brand": "Visa"}]}


def test_a_prestashop_customer_keeps_its_data_but_not_its_secrets() -> None:
    customer = {"id": 1, "passwd": "$2y$10$addjPYgyaktypwCcEt0wCO", "secure_key": "73d59dab44050fff878d289164ae86ec",
                "last_passwd_gen": "2026-11-26 09:55:01", "reset_password_token": "abc", "email": "a@b.c"}
    assert scrub(customer) == {"id": 1, "passwd": MASK, "secure_key": MASK, "last_passwd_gen": "2026-11-26 09:55:01",
                               "reset_password_token": MASK, "email": "a@b.c"}


@pytest.mark.parametrize(("text", "leak"), [
    ("GET http://127.0.0.1:9101/api/orders?ws_key=ABCDEF123456&display=full failed", "ABCDEF123456"),
    ("GET http://ABCDEF123456@127.0.0.1:9101/api/orders", "ABCDEF123456"),
    ("postgresql://user:hunter2@db/staging", "hunter2"),
    ("headers: {'Authorization': 'Basic QUJDREVGOg=='}", "QUJDREVGOg=="),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", "eyJhbGciOiJIUzI1NiJ9"),
    ('{"client_secret": "s3cr3t value with blanks", "id": 1}', "blanks"),
    ("password=hunter2; retry", "hunter2"),
    ("<customer><passwd><![CDATA[$2y$10$xyz]]></passwd></customer>", "$2y$10$xyz"),
    ("token expired: access_token='abc.def'", "abc.def"),
])
def test_scrub_text_masks_credentials_in_messages(text: str, leak: str) -> None:
    scrubbed = scrub_text(text)
    assert leak not in scrubbed
    assert MASK in scrubbed


def test_scrub_text_leaves_ordinary_messages_alone() -> None:
    for text in ("Basic validation failed for field city", "Property OrderCarrier->tracking_number is not valid",
                 "HTTP 503 Service Unavailable, Retry-After: 30", "SKU demo_1 has no Oracle item"):
        assert scrub_text(text) == text


def test_quoted_json_stays_json_after_scrubbing() -> None:
    scrubbed = scrub_text('{"password": "a b c", "user": "x"}')
    assert json.loads(scrubbed) == {"password": MASK, "user": "x"}


# ------------------------------------------------------------------------------------------ dropped before landing


@settings(max_examples=150, deadline=None)
@given(payloads())
def test_secret_values_never_survive_dropping(payload) -> None:
    assert MARKER not in canonical_json(drop_secrets(payload))


@settings(max_examples=100, deadline=None)
@given(payloads())
def test_dropping_keeps_everything_else_is_stable_and_does_not_touch_its_input(payload) -> None:
    before = canonical_json(payload)
    dropped = drop_secrets(payload)
    assert canonical_json(payload) == before
    assert canonical_json(drop_secrets(payload)) == canonical_json(dropped)  # landing's hash depends on it
    if MARKER not in before:  # no secret key was drawn
        assert dropped == payload


def test_a_prestashop_customer_is_staged_without_its_secrets() -> None:
    customer = {"id": 1, "passwd": "$2y$10$addjPYgyaktypwCcEt0wCO", "secure_key": "73d59dab44050fff878d289164ae86ec",
                "last_passwd_gen": "2026-11-26 09:55:01", "reset_password_token": "", "email": "a@b.c",
                "reset_password_validity": "0000-00-00 00:00:00", "associations": {"groups": [{"id": 3}]}}
    assert drop_secrets(customer) == {"id": 1, "last_passwd_gen": "2026-11-26 09:55:01", "email": "a@b.c",
                                      "reset_password_validity": "0000-00-00 00:00:00",
                                      "associations": {"groups": [{"id": 3}]}}


def test_dropping_keeps_a_payment_card_s_last_four_digits_only() -> None:
    payment = {"card_number": "4111 1111 1111 1234", "card_brand": "Visa", "card_expiration": "12/30",
               "card_holder": "A B", "transaction_id": "T1", "card_cvv": "123"}
    assert drop_secrets(payment) == {"card_number": "************1234", "card_brand": "Visa",
                                     "card_expiration": "12/30", "card_holder": "A B", "transaction_id": "T1"}
    assert drop_secrets({"card_number": ""}) == {"card_number": ""}


# ------------------------------------------------------------------------------------------ known values

KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"


def test_a_redactor_removes_every_spelling_of_its_secrets() -> None:
    secret = "s3cret+value/with=signs"
    redactor = Redactor(KEY, secret, None, "")
    basic = base64.b64encode(f"{KEY}:".encode()).decode()
    text = (f"GET http://shop/api/orders?display=full raw {KEY} basic {basic} trimmed {basic.rstrip('=')} "
            f"form client_id=x&client_secret2={secret.replace('+', '%2B').replace('/', '%2F').replace('=', '%3D')} "
            f"b64 {base64.b64encode(secret.encode()).decode()} plain {secret}")
    clean = redactor.scrub(text)
    for leak in (KEY, basic, basic.rstrip("="), secret, "s3cret"):
        assert leak not in clean
    assert "display=full" in clean and redactor(text) == clean


def test_short_secrets_are_not_searched_for() -> None:
    assert redact("a-b-c", ["", None, "ab"]) == "a-b-c"
    assert repr(Redactor("ab")) == "Redactor(0 spellings)"


def test_urls_lose_their_credentials() -> None:
    assert redact_url(f"http://shop/api/orders?ws_key={KEY}&limit=5") == "http://shop/api/orders?ws_key=***&limit=5"
    assert redact_url(f"http://{KEY}:@shop/api/") == "http://***@shop/api/"
    assert Redactor(KEY).url(f"http://shop/api/{KEY}/orders") == "http://shop/api/***/orders"
