"""The hooks' Test button works against real servers and says what is wrong when it is not."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import free_port
from support.sandbox import run_sandbox

KEY = "HOOKSHOOKSHOOKSHOOKSHOOKSHOOKS12"


@pytest.fixture(scope="module")
def both() -> Iterator[tuple[str, str]]:
    ora_port = free_port()
    with run_sandbox("--prestashop-port", str(free_port()), "--oracle-port", str(ora_port), "--orders", "30",
                     "--seed", "2", "--ws-key", KEY, "--oracle-client-id", "hooks",
                     "--oracle-client-secret", "hook-secret") as shop:
        yield shop, f"http://127.0.0.1:{ora_port}"


def test_prestashop_hook_test_connection(both: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from prestaoracle.hooks.prestashop import PrestaShopHook

    shop, _ = both
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_DEFAULT",
                       json.dumps({"conn_type": "prestashop", "host": shop, "password": KEY}))
    ok, message = PrestaShopHook().test_connection()
    assert ok, message
    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_DEFAULT",
                       json.dumps({"conn_type": "prestashop", "host": shop, "password": "X" * 32}))
    ok, message = PrestaShopHook().test_connection()
    assert not ok and "X" * 32 not in message


def test_fusion_hook_test_connection(both: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from prestaoracle.hooks.fusion import OracleFusionHook

    _, pod = both
    conn = {"conn_type": "oraclefusion", "host": pod, "login": "hooks", "password": "hook-secret"}
    monkeypatch.setenv("AIRFLOW_CONN_ORACLE_FUSION_DEFAULT", json.dumps(conn))
    ok, message = OracleFusionHook().test_connection()
    assert ok, message
    monkeypatch.setenv("AIRFLOW_CONN_ORACLE_FUSION_DEFAULT", json.dumps({**conn, "extra": {"auth": "basic"}}))
    assert OracleFusionHook().test_connection()[0]
    monkeypatch.setenv("AIRFLOW_CONN_ORACLE_FUSION_DEFAULT", json.dumps({**conn, "password": "wrong-secret"}))
    ok, message = OracleFusionHook().test_connection()
    assert not ok and "wrong-secret" not in message
