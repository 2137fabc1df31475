"""Oracle E-Business Suite as an order target: the Order Import interface, then the import program's verdict.

EBS creates orders in two steps (reference §4.1): this loader inserts them into ``OE_HEADERS_IFACE_ALL`` /
``OE_LINES_IFACE_ALL`` (``load`` → ``interfaced``), and the Order Import concurrent program (OEOIMP, on the
instance's own schedule) creates them or flags them in error. ``collect`` reads that verdict back: ``created`` with
the header id, order number and flow status, or ``rejected`` with Order Import's messages classified.

Exactly once rests on the client (:meth:`EbsClient.interface_orders`): each chunk's transaction looks every
ORIG_SYS_DOCUMENT_REF up in the interface and in the base tables before inserting, so a replay inserts nothing that
is pending or imported (``exists`` then). The refs are still put in the task state before the insert, as for Fusion.

Asking for a replacement: an order offered to :meth:`EbsOrderLoader.load` again after its interface copy failed
import (the shop order was fixed, or the dead letter replayed) replaces that failed copy: ``replace_failed`` is True
by default, because the orchestrator only offers such an order again when it means it to go. Pass
``replace_failed=False`` to leave failed copies alone; the order then comes back ``rejected`` with the import's
messages.

Cancellation is a gap: the interface could carry a cancellation (``OPERATION_CODE='UPDATE'`` with the header's
cancelled flag), but the reference does not document it and the EBS stand-in's Order Import refuses every operation
but INSERT, so nothing here could be tested. An order still waiting in the interface is withdrawn (it is never
created); an imported one is ``rejected`` (business_rule) with how to cancel it in EBS by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from prestaoracle.flows.orders.types import EBS_TARGET, LoadOutcome, OrderToLoad, TaskState, repeated_in_load
from prestaoracle.oracle.ebs import EbsClient, EbsOrder, ImportMessage, OrderStatus, classify_db_error
from prestaoracle.reasons import BUSINESS_RULE, INVALID_DATA, RETRYABLE, most_specific

__all__ = ["EbsOrderLoader"]

log = logging.getLogger(__name__)

IN_FLIGHT = "in_flight"
MAX_MESSAGE = 2000
_RETRY_FIX = "Nothing to fix in the order: the EBS database did not answer. The next run interfaces it again."
_WAITING_FIX = ("Nothing: the order waits for EBS Order Import (OEOIMP), which runs on the instance's schedule; "
                "the next run collects its result.")


class EbsOrderLoader:
    """The EBS :class:`~prestaoracle.flows.orders.types.OrderLoader` over an :class:`EbsClient`."""

    target = EBS_TARGET

    def __init__(self, client: EbsClient) -> None:
        self.client = client

    # ----------------------------------------------------------------------------------------------- find

    def find(self, keys: Sequence[str]) -> dict[str, LoadOutcome]:
        """Imported orders (``exists``, with ids and flow status) and copies waiting for Order Import
        (``interfaced``). Copies that failed import are not orders: they are left out (``collect`` reports them)."""
        states = self.client.interface_state(keys)
        out = {key: LoadOutcome(key, "interfaced") for key, where in states.items() if where == "waiting"}
        for key, status in self.client.order_status([k for k, w in states.items() if w == "imported"]).items():
            out[key] = _imported(key, "exists", status)
        return out

    # ----------------------------------------------------------------------------------------------- load

    def load(self, orders: Sequence[OrderToLoad], *, state: TaskState | None = None, replace_failed: bool = True,
             now: datetime | None = None) -> list[LoadOutcome]:
        """Insert ``orders`` into the Order Import interface; one outcome per order, in the order given.

        ``interfaced`` (inserted now, or already waiting), ``exists`` (imported before), ``rejected`` (refused at
        insert: unknown SKU or customer, bad data; or a failed copy kept because ``replace_failed`` is False),
        ``failed`` (the database did not answer). ``now`` stamps the WHO columns (default: now, in the database's
        time zone).
        """
        outcomes: dict[str, LoadOutcome] = {}
        extra: list[LoadOutcome] = []
        valid: dict[str, EbsOrder] = {}
        for order in orders:
            if order.key in outcomes or order.key in valid:
                extra.append(repeated_in_load(order.key))
                continue
            payload = order.payload
            if not isinstance(payload, EbsOrder) or payload.orig_sys_document_ref != order.key:
                what = (f"ORIG_SYS_DOCUMENT_REF {payload.orig_sys_document_ref!r} is not the order key"
                        if isinstance(payload, EbsOrder) else "the payload is not an EbsOrder")
                outcomes[order.key] = LoadOutcome(order.key, "rejected", reason_class=INVALID_DATA,
                                                  message=f"{order.key}: {what}",
                                                  how_to_fix="Fix the ebs_order mapping (mapping.documents."
                                                             "to_ebs_order), then replay the order.")
                continue
            valid[order.key] = payload
        if valid:
            if state is not None:
                state.set(IN_FLIGHT, list(valid))
            outcomes.update(self._interface(list(valid.values()), replace_failed, now))
        return [outcomes[key] for key in dict.fromkeys(o.key for o in orders)] + extra

    def _interface(self, orders: list[EbsOrder], replace_failed: bool,
                   now: datetime | None) -> dict[str, LoadOutcome]:
        refs = [o.orig_sys_document_ref for o in orders]
        try:
            result = self.client.interface_orders(orders, now=now, replace_failed=replace_failed)
        except sa.exc.DBAPIError as exc:
            reason = classify_db_error(exc)
            if reason != RETRYABLE:  # auth, privileges, a missing table: the task fails, no record is at fault
                raise
            log.warning("EBS interface insert failed (%s); %d orders left for the next run", reason, len(refs))
            return {ref: LoadOutcome(ref, "failed", reason_class=RETRYABLE,
                                     message=f"the EBS database did not take the insert: {type(exc.orig).__name__}",
                                     how_to_fix=_RETRY_FIX) for ref in refs}
        out: dict[str, LoadOutcome] = {}
        for ref in result.inserted:
            out[ref] = LoadOutcome(ref, "interfaced", message="replaced the copy that failed import"
                                   if ref in result.replaced else None)
        failed_only = set(result.pending_in_error)
        for ref in result.already_pending:
            if ref not in failed_only:
                out[ref] = LoadOutcome(ref, "interfaced")
        if failed_only:
            out.update((o.key, o) for o in self.collect(sorted(failed_only)))
        for rejection in result.rejected:
            out[rejection.ref] = LoadOutcome(rejection.ref, "rejected", reason_class=rejection.reason,
                                             message=_clip(rejection.message), how_to_fix=rejection.how_to_fix)
        if result.already_imported:
            statuses = self.client.order_status(result.already_imported)
            for ref, number in result.already_imported.items():
                status = statuses.get(ref)
                out[ref] = (_imported(ref, "exists", status) if status is not None
                            else LoadOutcome(ref, "exists", target_ref=str(number)))
        return out

    # ----------------------------------------------------------------------------------------------- collect

    def collect(self, keys: Sequence[str]) -> list[LoadOutcome]:
        """What Order Import made of interfaced orders: ``created`` (imported: header id, order number, flow
        status), ``rejected`` (failed import: its messages, classified, and how to fix), ``interfaced`` (still
        waiting), ``failed`` (found nowhere: withdrawn or lost; the next run interfaces it again)."""
        wanted = list(dict.fromkeys(keys))
        states = self.client.interface_state(wanted)
        imported = self.client.order_status([k for k in wanted if states.get(k) == "imported"])
        errors = self.client.import_errors([k for k in wanted if states.get(k) == "failed"])
        out: list[LoadOutcome] = []
        for key in wanted:
            where = states.get(key)
            if where == "imported" and key in imported:
                out.append(_imported(key, "created", imported[key]))
            elif where == "failed":
                out.append(_import_rejection(key, errors.get(key) or []))
            elif where == "waiting":
                out.append(LoadOutcome(key, "interfaced", message="waiting for Order Import",
                                       how_to_fix=_WAITING_FIX))
            else:
                out.append(LoadOutcome(key, "failed", reason_class=RETRYABLE,
                                       message=f"{key} is neither in the Order Import interface nor imported (its "
                                               "copy was withdrawn or deleted)",
                                       how_to_fix="Nothing: the next run interfaces it again."))
        return out

    # ----------------------------------------------------------------------------------------------- cancel

    def cancel(self, key: str, *, reason: str) -> LoadOutcome:
        """An order still in the interface is withdrawn (``cancelled``: EBS never creates it); one that is not in
        EBS at all needs nothing (``cancelled``); an imported one must be cancelled in EBS by hand (``rejected``,
        business_rule: cancelling through Order Import is not supported here, see the module docstring)."""
        if self.client.withdraw_unimported(key):
            return LoadOutcome(key, "cancelled", message="withdrawn from the Order Import interface before import")
        status = self.client.order_status([key]).get(key)
        if status is None:
            if self.client.interface_state([key]):  # a copy appeared meanwhile: let the next run look again
                return LoadOutcome(key, "failed", reason_class=RETRYABLE,
                                   message=f"{key} changed in the interface while being cancelled",
                                   how_to_fix="Nothing: the next run tries the cancellation again.")
            return LoadOutcome(key, "cancelled", message="not in EBS: nothing to cancel")
        if status.cancelled_flag == "Y" or status.flow_status_code == "CANCELLED":
            return _imported(key, "cancelled", status)
        fix = (f"Cancel sales order {status.order_number} in EBS Order Management (Sales Orders, Actions > Cancel; "
               f"reason: {reason}). If part of it has shipped, enter a return (RMA) for the shipped lines instead. "
               "This integration does not cancel imported EBS orders itself.")
        out = _imported(key, "rejected", status)
        return LoadOutcome(key, "rejected", target_id=out.target_id, target_ref=out.target_ref,
                           oracle_status=out.oracle_status, reason_class=BUSINESS_RULE,
                           message=f"EBS order {status.order_number} ({status.flow_status_code}) must be cancelled "
                                   "in EBS: the integration cannot cancel an imported order",
                           how_to_fix=fix)


# ------------------------------------------------------------------------------------------------- helpers


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def _imported(key: str, status: Any, row: OrderStatus) -> LoadOutcome:
    return LoadOutcome(key, status, target_id=str(row.header_id), target_ref=str(row.order_number),
                       oracle_status=row.flow_status_code)


def _import_rejection(key: str, messages: Sequence[ImportMessage]) -> LoadOutcome:
    """One outcome for a failed import: the most specific class among its messages names it; every message is kept
    (line references included) so the operator sees all there is to fix at once."""
    if not messages:
        messages = [ImportMessage(key, None, None, "Order Import flagged the order without a message", RETRYABLE,
                                  "Nothing: the next run interfaces it again (the failed copy is replaced).", None)]
    reason = most_specific(m.reason for m in messages)
    deciding = next(m for m in messages if m.reason == reason)
    texts = [f"line {m.line_ref}: {m.text}" if m.line_ref else m.text for m in messages]
    # Only a message that says "try again" makes the order ``failed`` (the next run replaces the failed copy).
    status = "failed" if reason == RETRYABLE else "rejected"
    return LoadOutcome(key, status, reason_class=reason, message=_clip("; ".join(dict.fromkeys(texts))),
                       how_to_fix=deciding.how_to_fix)
