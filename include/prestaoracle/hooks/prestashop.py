"""The PrestaShop webservice as an Airflow hook (connection type ``prestashop``)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from prestaoracle import connections


class PrestaShopHook(BaseHook):
    """Builds the product's PrestaShop client from a ``prestashop`` connection (host = shop URL, password = key)."""

    conn_name_attr = "prestashop_conn_id"
    default_conn_name = connections.PRESTASHOP
    conn_type = "prestashop"
    hook_name = "PrestaShop Webservice"

    def __init__(self, prestashop_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prestashop_conn_id = prestashop_conn_id

    def get_conn(self) -> Any:
        conn = _conn(self.get_connection(self.prestashop_conn_id))
        return connections.prestashop_client(self.prestashop_conn_id, conn)

    def test_connection(self) -> tuple[bool, str]:
        """Reads one order id and the shop's time zone: proves the URL, the key, its GET permission on orders, and
        that extraction windows can be placed on the shop's clock."""
        from prestaoracle.prestashop import PrestaShopReader

        try:
            reader = PrestaShopReader(self.get_conn())
            rows = reader.get_list("orders", display="[id]", limit=(0, 1))
            zone = reader.shop_timezone()
        except Exception as exc:  # noqa: BLE001 - the UI shows the message
            return False, str(exc)
        return True, f"Connected; the key can read orders ({len(rows)} sampled); shop time zone {zone}."


def _conn(c: Any) -> connections.Conn:
    return connections.Conn(c.conn_id, c.conn_type, c.host, c.port, c.login, c.password, c.schema,
                            dict(c.extra_dejson or {}))
