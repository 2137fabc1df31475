"""The gates an order passes before it may go to Oracle: the shop state allow-list and the payment rule.

A gate never loses an order: it says ``load``, ``hold`` (look again next run: not paid yet, not in an importable
state yet), ``give_up`` (unpaid for longer than the configured days: a business dead letter someone may override by
a replay) or ``skip`` (cancelled or refunded before it was ever imported: nothing to send, recorded and closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from prestaoracle.flows.orders.config import Gates

__all__ = ["GateDecision", "decide"]

Verdict = Literal["load", "hold", "give_up", "skip"]


@dataclass(frozen=True)
class GateDecision:
    verdict: Verdict
    reason: str = ""
    how_to_fix: str = ""
    category: str = ""
    """A short name to count decisions by in the run summary (``waiting for payment``…)."""


LOAD = GateDecision("load")


def _paid(order: Mapping[str, Any], gates: Gates) -> bool:
    return bool(order.get("valid")) or order.get("current_state") in gates.paid_states


def _payment_ok(order: Mapping[str, Any], gates: Gates) -> bool:
    if gates.payment == "never":
        return True
    if gates.payment == "authorized":
        return _paid(order, gates) or order.get("current_state") in gates.authorized_states
    return _paid(order, gates)


def decide(order: Mapping[str, Any], gates: Gates, now: datetime) -> GateDecision:
    """The gate verdict for one ``ps_orders`` row (``current_state``, ``valid``, ``date_add`` naive UTC) at ``now``
    (naive UTC: the flow passes its data interval's end, so a replay decides as the original run did)."""
    state = order.get("current_state")
    if state in gates.cancel_states or state in gates.refund_states:
        return GateDecision("skip", f"cancelled or refunded in the shop (state {state}) before it was imported",
                            "Nothing to do: a cancelled order is not sent to Oracle.", "cancelled in the shop")
    placed = order.get("date_add")
    age = now - placed if isinstance(placed, datetime) else timedelta(0)
    expired = gates.cancel_unpaid_after_days is not None and age > timedelta(days=gates.cancel_unpaid_after_days)
    if state not in gates.importable_states:
        reason = (f"shop state {state} is not in gates.importable_states "
                  f"({', '.join(map(str, sorted(gates.importable_states)))})")
        if expired:
            return GateDecision("give_up", f"{reason} after {gates.cancel_unpaid_after_days} days",
                                "Move the order to an importable state in the shop, or add its state to "
                                "gates.importable_states, then replay it.", "state not importable")
        return GateDecision("hold", reason, "It is imported by the first run after the order reaches an importable "
                                            "state.", "state not importable")
    if not _payment_ok(order, gates):
        what = "authorized" if gates.payment == "authorized" else "paid"
        if expired:
            return GateDecision("give_up", f"not {what} after {gates.cancel_unpaid_after_days} days "
                                           f"(gates.cancel_unpaid_after_days); shop state {state}",
                                "Cancel the order in the shop, or record its payment and replay it.", "unpaid too long")
        return GateDecision("hold", f"waiting for payment: gates.payment is {gates.payment!r} and the order "
                                    f"(state {state}) is not {what} yet",
                            "It is imported by the first run after the shop records the payment.",
                            "waiting for payment")
    return LOAD
