"""The order gates (payment rule, importable states, give up unpaid orders) and the order-to-cash configuration."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from prestaoracle.flows.orders.config import ConfigError, Gates, load_config
from prestaoracle.flows.orders.gates import decide

NOW = datetime(2026, 12, 1, 12, 0)


def order(state: int, *, valid: bool = False, age_days: float = 1) -> dict:
    return {"id_order": 1, "current_state": state, "valid": valid, "date_add": NOW - timedelta(days=age_days)}


@pytest.mark.parametrize(("payment", "state", "valid", "verdict"), [
    ("paid", 2, True, "load"),           # payment accepted
    ("paid", 10, False, "hold"),         # awaiting bank wire: not paid yet
    ("paid", 13, False, "hold"),         # cash on delivery awaiting validation
    ("authorized", 13, False, "load"),   # ... is an authorised payment
    ("authorized", 10, False, "hold"),
    ("never", 10, False, "load"),        # no payment check at all
    ("paid", 3, False, "load"),          # processing counts as paid (paid_states) even if valid is not set
])
def test_payment_rule(payment: str, state: int, valid: bool, verdict: str) -> None:
    assert decide(order(state, valid=valid), Gates(payment=payment), NOW).verdict == verdict


def test_unpaid_orders_are_given_up_after_the_configured_days_and_not_before() -> None:
    gates = Gates(cancel_unpaid_after_days=14)
    assert decide(order(10, age_days=13.9), gates, NOW).verdict == "hold"
    given_up = decide(order(10, age_days=14.1), gates, NOW)
    assert given_up.verdict == "give_up" and "14 days" in given_up.reason
    assert decide(order(10, age_days=400), Gates(cancel_unpaid_after_days=None), NOW).verdict == "hold"


def test_states_outside_the_allow_list_wait_and_cancelled_orders_are_skipped() -> None:
    gates = Gates(importable_states=frozenset({2}))
    held = decide(order(3, valid=True), gates, NOW)
    assert held.verdict == "hold" and "importable_states" in held.reason
    assert decide(order(6, valid=True), gates, NOW).verdict == "skip"
    assert decide(order(7, valid=True), gates, NOW).verdict == "skip"


def test_the_default_configuration_loads_and_the_environment_wins(tmp_path: Path) -> None:
    config = load_config(environ={})
    assert (config.oracle_target, config.gates.payment, config.customers.mode) == ("fusion", "paid", "match")
    assert config.status.state_map["SHIPPED"] == 4
    env = load_config(environ={"PRESTAORACLE_ORACLE_TARGET": "ebs", "PRESTAORACLE_ONCALL_EMAIL": "a@x.test, b@x.test"})
    assert env.oracle_target == "ebs" and env.ledger_target == "oracle_ebs"
    assert env.alerts.on_call == ("a@x.test", "b@x.test")


@pytest.mark.parametrize(("text", "message"), [
    ("oracle_target: sap\n", "oracle_target is 'sap'; write one of fusion, ebs"),
    ("gates: {payment: maybe}\n", "gates.payment"),
    ("gates: {paid_states: [two]}\n", "gates.paid_states must be a list of PrestaShop order state ids"),
    ("fusion: {batch_size: 0}\n", "fusion.batch_size must be at least 1"),
    ("oracle_target: ebs\ncustomers: {mode: create}\n", "create is for Fusion only"),
    ("status: {state_map: {SHIPPED: shipped}}\n", "status.state_map"),
])
def test_configuration_errors_name_the_key_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)
