"""Nothing secret is staged: every record of every recorded PrestaShop response is landed (with history), and no
stored payload holds a password hash, a secure key, a reset token or a card number, searched by the *values*
the fixtures carry, not only by key names. The rest of each record is kept, and a second read is "unchanged"."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from defusedxml import ElementTree as SafeET
from support.pg import temp_database

from prestaoracle.staging import Staging, connect, migrate, schema
from prestaoracle.staging._common import canonical_json, sha1_hex

FIXTURES = Path("/work/shared/fixtures/prestashop-8.1.2")
# The secret fields of PrestaShop 8.1.2 records (customers, orders, order payments), named here independently of the
# product's rules so that the test checks the rules instead of repeating them.
SECRET_FIELDS = ("passwd", "secure_key", "reset_password_token", "card_number")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _json_records(doc: Any) -> Iterator[dict[str, Any]]:
    """Objects with an ``id`` in a JSON answer: ``{"orders": [...]}`` lists and ``{"order": {...}}`` singles."""
    if not isinstance(doc, dict):
        return
    for value in doc.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "id" in item:
                yield item


def _xml_records(text: bytes) -> Iterator[dict[str, Any]]:
    """Entities with an ``<id>`` in an XML answer, as flat dicts of their scalar fields."""
    root = SafeET.fromstring(text)
    for entity in root:
        fields = {child.tag: (child.text or "") for child in entity if len(child) == 0}
        if fields.get("id"):
            yield fields


def recorded_records() -> dict[str, list[dict[str, Any]]]:
    """Every record of every recorded response, by fixture name."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(FIXTURES.glob("*.body.*")):
        name = path.name.split(".body.")[0]
        raw = path.read_bytes()
        if path.suffix == ".json" and raw.strip():
            records = list(_json_records(json.loads(raw)))
        elif path.suffix == ".xml" and raw.strip().startswith(b"<?xml"):
            records = list(_xml_records(raw))
        else:
            continue
        if records:
            out[name] = records
    return out


def _secret_values(records: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {str(record[field]) for batch in records.values() for record in batch for field in SECRET_FIELDS
            if record.get(field) not in (None, "")}


@pytest.fixture(params=BACKENDS)
def stg(request, tmp_path) -> Iterator[Staging]:
    if request.param == "sqlite":
        staging = connect(tmp_path / "staging.db", upgrade=True)
        yield staging
        staging.dispose()
        return
    with temp_database("prestaoracle_secrets") as url:
        staging = connect(url, upgrade=True)
        yield staging
        staging.dispose()


def test_the_fixtures_carry_real_secrets() -> None:
    """The premise of the next test: the recorded responses hold bcrypt hashes and 32-hex secure keys."""
    secrets = _secret_values(recorded_records())
    assert any(re.fullmatch(r"\$2y\$10\$.{53}", s) for s in secrets)
    assert sum(bool(re.fullmatch(r"[0-9a-f]{32}", s)) for s in secrets) >= 2  # customers' and orders' keys


def test_no_recorded_secret_is_ever_staged(stg: Staging) -> None:
    records = recorded_records()
    secrets = _secret_values(records)
    with stg.transaction() as tx:
        for name, batch in records.items():
            result = tx.land("prestashop", name[:50], batch, run_id="r1", history=True)
            assert result.written == len({str(r["id"]) for r in batch})
    stored = []
    with stg.engine.connect() as conn:
        for table in (schema.landing_records, schema.landing_history):
            stored += conn.execute(sa.select(table.c.payload)).scalars().all()
    assert len(stored) == 2 * sum(len({str(r["id"]) for r in batch}) for batch in records.values())
    text = "\n".join(stored)
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == [], f"secrets staged: {[s[:6] + '…' for s in leaked]}"
    for payload in map(json.loads, stored):
        assert not set(payload) & {"passwd", "secure_key", "reset_password_token"}


def test_staged_records_keep_everything_else_and_land_unchanged_twice(stg: Staging) -> None:
    customers = recorded_records()["07_get_customers_full_json"]
    assert stg.land("prestashop", "customers", customers, run_id="r1").new == len(customers)
    assert stg.land("prestashop", "customers", customers, run_id="r2").unchanged == len(customers)
    landed = {c["id"]: c for c in stg.landed("prestashop", "customers")}
    for customer in customers:
        kept = {k: v for k, v in customer.items() if k not in ("passwd", "secure_key", "reset_password_token")}
        assert landed[customer["id"]] == kept  # last_passwd_gen, reset_password_validity: dates, not secrets


def test_card_numbers_are_staged_as_their_last_four_digits(stg: Staging) -> None:
    payment = {"id": 9, "order_reference": "XKBKNABJK", "card_number": "4111 1111 1111 1234", "card_brand": "Visa",
               "transaction_id": "T-1", "nested": {"cvv": "123", "api_key": "k3y-value-0001"}}
    stg.land("prestashop", "order_payments", [payment], run_id="r1", history=True)
    assert stg.landed("prestashop", "order_payments") == [{
        "id": 9, "order_reference": "XKBKNABJK", "card_number": "************1234", "card_brand": "Visa",
        "transaction_id": "T-1", "nested": {}}]


def test_oracle_payloads_lose_their_tokens(stg: Staging) -> None:
    """Any source: an Oracle payload echoing OAuth material keeps its business fields only."""
    order = {"OrderNumber": "1001", "LastUpdateDate": "2026-01-02T03:04:05+00:00", "access_token": "eyJ0eXAi.x.y",
             "links": [{"rel": "self", "href": "https://pod/x", "Authorization": "Bearer abcdefghijklmnop"}],
             "ClientSecret": "s3cret-value"}
    stg.land("oracle", "sales_orders", [order], id_key="OrderNumber", date_key="LastUpdateDate", run_id="r1")
    assert stg.landed("oracle", "sales_orders") == [{
        "OrderNumber": "1001", "LastUpdateDate": "2026-01-02T03:04:05+00:00",
        "links": [{"rel": "self", "href": "https://pod/x"}]}]


PURGE = "0004"  # the revision that drops secrets landed by older releases


@pytest.fixture(params=BACKENDS)
def before_purge(request, tmp_path) -> Iterator[Staging]:
    """A staging database at the revision before the purge, as an older release left it."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            staging = connect(tmp_path / "staging.db")
        else:
            staging = connect(stack.enter_context(temp_database("prestaoracle_purge")))
        stack.callback(staging.dispose)
        migrate.upgrade(staging.engine, target=migrate.script_directory().get_revision(PURGE).down_revision)
        yield staging


def test_secrets_landed_before_the_fix_are_dropped_by_the_upgrade(before_purge: Staging) -> None:
    """The purge rewrites what older releases landed with its secrets; history versions that differed only by a
    secret become one, and the next read of the same record is "unchanged"."""
    stg = before_purge
    customer = recorded_records()["07_get_customers_full_json"][1]
    secrets = _secret_values({"c": [customer]})
    assert secrets  # this customer carries a password hash and a secure key
    clean = {k: v for k, v in customer.items() if k not in ("passwd", "secure_key", "reset_password_token")}
    old, new = canonical_json(customer), canonical_json(clean)
    other = canonical_json({**customer, "id": 99, "email": "x@y.z"})
    row = {"source": "prestashop", "entity": "customers", "date_upd": None, "run_id": "r0",
           "extracted_at": datetime(2026, 1, 2)}
    with stg.engine.begin() as conn:
        conn.execute(schema.landing_records.insert(), [
            {**row, "record_id": str(customer["id"]), "payload": old, "payload_sha1": sha1_hex(old)},
            {**row, "record_id": "99", "payload": other, "payload_sha1": sha1_hex(other)}])
        conn.execute(schema.landing_history.insert(), [
            {**row, "record_id": str(customer["id"]), "payload": old, "payload_sha1": sha1_hex(old)},
            {**row, "record_id": str(customer["id"]), "payload": new, "payload_sha1": sha1_hex(new)},
            {**row, "record_id": "99", "payload": other, "payload_sha1": sha1_hex(other)}])
    assert stg.upgrade() == migrate.head()
    with stg.engine.connect() as conn:
        records = conn.execute(sa.select(schema.landing_records)).mappings().all()
        history = conn.execute(sa.select(schema.landing_history)).mappings().all()
    stored = "\n".join(r["payload"] for r in [*records, *history])
    assert [s for s in secrets if s in stored] == []
    assert all(r["payload_sha1"] == sha1_hex(r["payload"]) for r in [*records, *history])
    assert sorted(r["record_id"] for r in history) == sorted([str(customer["id"]), "99"])
    assert stg.land("prestashop", "customers", [customer], run_id="r1").unchanged == 1
