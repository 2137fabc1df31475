"""The installed package registers its connection types with Airflow, with forms the 3.3 UI can render."""

from __future__ import annotations

import json
import warnings

import pytest
import structlog.testing

from prestaoracle.provider import get_provider_info

CONN_TYPES = [t["connection-type"] for t in get_provider_info()["connection-types"]]


def test_airflow_discovers_both_connection_types() -> None:
    from airflow.providers_manager import ProvidersManager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        manager = ProvidersManager()
        hooks = manager.hooks
        assert "prestaoracle" in manager.providers
    assert hooks["prestashop"].hook_class_name == "prestaoracle.hooks.prestashop.PrestaShopHook"
    assert hooks["oraclefusion"].hook_class_name == "prestaoracle.hooks.fusion.OracleFusionHook"
    assert "oracle_fusion" not in hooks


def test_forms_are_declarative_and_hide_unused_fields() -> None:
    types = {t["connection-type"]: t for t in get_provider_info()["connection-types"]}
    assert types["prestashop"]["ui-field-behaviour"]["relabeling"]["password"] == "Webservice key"
    assert set(types["prestashop"]["ui-field-behaviour"]["hidden-fields"]) <= {
        "description", "host", "port", "login", "password", "schema", "extra"}
    assert types["oraclefusion"]["conn-fields"]["auth"]["schema"]["enum"] == ["oauth2", "basic"]


def test_hooks_import_only_the_task_sdk_base() -> None:
    from prestaoracle.hooks.fusion import OracleFusionHook
    from prestaoracle.hooks.prestashop import PrestaShopHook

    assert PrestaShopHook.default_conn_name == "prestashop_default"
    assert OracleFusionHook.default_conn_name == "oracle_fusion_default"
    assert OracleFusionHook.conn_type == "oraclefusion"
    assert PrestaShopHook.__mro__[1].__module__.startswith("airflow.sdk")


@pytest.mark.parametrize("conn_type", CONN_TYPES)
def test_connection_types_survive_airflow_parsing_without_the_rfc3986_warning(conn_type: str) -> None:
    """Airflow warns about "_" in a type (a URI scheme) and rewrites "-" to "_" when it parses JSON or a URI: the
    type must come back unchanged from every form the docs show, and printing it as a URI must not warn."""
    from airflow.models.connection import Connection
    from airflow.sdk import Connection as TaskConnection

    as_json = json.dumps({"conn_type": conn_type, "host": "https://erp.example", "login": "id", "password": "pw"})
    with structlog.testing.capture_logs() as logs:
        parsed = [
            TaskConnection.from_json(as_json, conn_id="probe"),
            Connection.from_json(as_json, conn_id="probe"),
            Connection(conn_id="probe", uri=f"{conn_type}://id:pw@erp.example"),
        ]
        uri = Connection(conn_id="probe", conn_type=conn_type, host="erp.example").get_uri()
    assert [c.conn_type for c in parsed] == [conn_type] * 3
    assert uri.startswith(f"{conn_type}://")
    assert not [e for e in logs if "RFC3986" in str(e.get("event"))], logs


def test_the_rfc3986_check_above_can_fail() -> None:
    """The old type name is what Airflow warned about: the capture used above does see that warning."""
    from airflow.models.connection import Connection

    with structlog.testing.capture_logs() as logs:
        Connection(conn_id="probe", conn_type="oracle_fusion", host="erp.example").get_uri()
    assert any("RFC3986" in str(e.get("event")) for e in logs)
