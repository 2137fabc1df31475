"""The ``configurations`` rows the sandbox serves: the keys a client of the shop reads, ``PS_TIMEZONE`` among them.

A real shop has several hundred; these are the ones an integration needs: the shop's time zone (its dates are wall
times there), its defaults, and the order state ids behind the ``PS_OS_*`` keys (fresh-install values, the same
states the sandbox serves). Every row is global (no shop or shop group), written when the shop was installed.
"""

from __future__ import annotations

from collections.abc import Iterable

ORDER_STATE_KEYS: tuple[tuple[str, int], ...] = (
    ("PS_OS_CHEQUE", 1), ("PS_OS_PAYMENT", 2), ("PS_OS_PREPARATION", 3), ("PS_OS_SHIPPING", 4),
    ("PS_OS_DELIVERED", 5), ("PS_OS_CANCELED", 6), ("PS_OS_REFUND", 7), ("PS_OS_ERROR", 8),
    ("PS_OS_OUTOFSTOCK", 9), ("PS_OS_OUTOFSTOCK_PAID", 9), ("PS_OS_BANKWIRE", 10), ("PS_OS_WS_PAYMENT", 11),
    ("PS_OS_OUTOFSTOCK_UNPAID", 12), ("PS_OS_COD_VALIDATION", 13),
)


def configuration_rows(timezone: str, shop_name: str, installed: str) -> list[dict]:
    """The rows of ``ps_configuration`` for a shop in ``timezone`` installed at the shop time ``installed``."""
    values: list[tuple[str, str]] = [
        ("PS_LANG_DEFAULT", "1"), ("PS_CURRENCY_DEFAULT", "1"), ("PS_SHOP_NAME", shop_name),
        ("PS_TIMEZONE", timezone), ("PS_WEBSERVICE", "1"),
        *((name, str(state)) for name, state in ORDER_STATE_KEYS),
    ]
    return [
        {"id": i, "value": value, "name": name, "id_shop_group": None, "id_shop": None, "date_add": installed,
         "date_upd": installed}
        for i, (name, value) in enumerate(values, start=1)
    ]


def install_time(rows: dict[str, list[dict]]) -> str:
    """When the shop was installed: its oldest record's ``date_add`` (zero dates are no dates)."""
    stamps: Iterable[str] = (
        row["date_add"] for records in rows.values() for row in records
        if isinstance(row.get("date_add"), str) and not row["date_add"].startswith("0000")
    )
    return min(stamps, default="2020-01-01 00:00:00")
