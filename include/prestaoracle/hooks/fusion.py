"""Oracle Fusion Cloud REST as an Airflow hook (connection type ``oraclefusion``)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from prestaoracle import connections
from prestaoracle.hooks.prestashop import _conn
from prestaoracle.provider import ORACLE_FUSION_CONN_TYPE


class OracleFusionHook(BaseHook):
    """Builds the product's Fusion client: host = pod URL, login/password = OAuth client (or Basic user)."""

    conn_name_attr = "oracle_fusion_conn_id"
    default_conn_name = connections.ORACLE_FUSION
    conn_type = ORACLE_FUSION_CONN_TYPE
    hook_name = "Oracle Fusion Cloud (REST)"

    def __init__(self, oracle_fusion_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.oracle_fusion_conn_id = oracle_fusion_conn_id

    def get_conn(self) -> Any:
        return connections.fusion_client(self.oracle_fusion_conn_id,
                                         _conn(self.get_connection(self.oracle_fusion_conn_id)))

    def test_connection(self) -> tuple[bool, str]:
        """Gets a token (OAuth2) and reads one item: proves the URL, the credentials and a read role."""
        try:
            client = self.get_conn()
            client.get("itemsV2", {"limit": "1", "onlyData": "true"})
        except Exception as exc:  # noqa: BLE001 - the UI shows the message
            return False, str(exc)
        return True, "Connected; the client can read the item master."
