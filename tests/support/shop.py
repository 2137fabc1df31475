"""Driving the PrestaShop sandbox from extraction tests: its clock, order changes the way a shop makes them, and
counts read independently of the client under test."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from prestaoracle.prestashop import PrestaShopClient, PrestaShopWriter


def set_clock(base: str, at: str | None = None, *, fold: int = 0, frozen: bool | None = None) -> datetime:
    """Pin (and optionally freeze) the shop's clock; ``at`` is an instant with offset or a shop wall time.
    Returns the clock's instant (aware UTC)."""
    params: dict[str, Any] = {"fold": fold}
    if at is not None:
        params["at"] = at
    if frozen is not None:
        params["frozen"] = "true" if frozen else "false"
    resp = requests.post(f"{base}/sandbox/clock", params=params, timeout=30)
    resp.raise_for_status()
    return datetime.fromisoformat(resp.json()["now"].replace("Z", "+00:00"))


def shop_clock(base: str) -> dict[str, Any]:
    resp = requests.get(f"{base}/sandbox/clock", timeout=30)
    resp.raise_for_status()
    return resp.json()


def shop_now(base: str) -> datetime:
    return datetime.fromisoformat(shop_clock(base)["now"].replace("Z", "+00:00"))


def change_order(base: str, key: str, order_id: int) -> int:
    """Move an order to another state (``POST order_histories``), which bumps its ``date_upd`` to the shop's now,
    as a status change in the back office does. Returns the new state."""
    client = PrestaShopClient(base, key)
    try:
        current = int(raw(base, key, "orders", {"filter[id]": f"[{order_id}]", "display": "[id,current_state]"})[0]
                      ["current_state"])
        state = 3 if current != 3 else 4
        PrestaShopWriter(client).set_order_state(order_id, state)
        return state
    finally:
        client.close()


def raw(base: str, key: str, resource: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A list call made without the product's client (so a test does not check the client with itself)."""
    resp = requests.get(f"{base}/api/{resource}", params={"output_format": "JSON", **(params or {})},
                        auth=(key, ""), timeout=60)
    resp.raise_for_status()
    body = resp.json()
    return body[resource] if isinstance(body, dict) else []


def order_ids(base: str, key: str) -> set[int]:
    return {int(o["id"]) for o in raw(base, key, "orders")}
