"""The installed package registers its connection types with Airflow, with forms the 3.3 UI can render."""

from __future__ import annotations

import warnings

from prestaoracle.provider import get_provider_info


def test_airflow_discovers_both_connection_types() -> None:
    from airflow.providers_manager import ProvidersManager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        manager = ProvidersManager()
        hooks = manager.hooks
        assert "prestaoracle" in manager.providers
    assert hooks["prestashop"].hook_class_name == "prestaoracle.hooks.prestashop.PrestaShopHook"
    assert hooks["oracle_fusion"].hook_class_name == "prestaoracle.hooks.fusion.OracleFusionHook"


def test_forms_are_declarative_and_hide_unused_fields() -> None:
    types = {t["connection-type"]: t for t in get_provider_info()["connection-types"]}
    assert types["prestashop"]["ui-field-behaviour"]["relabeling"]["password"] == "Webservice key"
    assert set(types["prestashop"]["ui-field-behaviour"]["hidden-fields"]) <= {
        "description", "host", "port", "login", "password", "schema", "extra"}
    assert types["oracle_fusion"]["conn-fields"]["auth"]["schema"]["enum"] == ["oauth2", "basic"]


def test_hooks_import_only_the_task_sdk_base() -> None:
    from prestaoracle.hooks.fusion import OracleFusionHook
    from prestaoracle.hooks.prestashop import PrestaShopHook

    assert PrestaShopHook.default_conn_name == "prestashop_default"
    assert OracleFusionHook.default_conn_name == "oracle_fusion_default"
    assert PrestaShopHook.__mro__[1].__module__.startswith("airflow.sdk")
