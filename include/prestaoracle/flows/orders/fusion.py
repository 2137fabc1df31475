"""Oracle Fusion as an order target: Order Hub sales orders created through the batch endpoint, exactly once.

Why batches: one ``POST /fscmRestApi/resources/11.13.18.05`` carries ``batch_size`` creates, so a page of orders
costs a handful of round trips instead of two per order (lookup + POST). Why it stays exactly once although a batch
POST is not repeatable:

* one key lookup for the whole page before writing (:meth:`FusionOrderLoader.find`, a filtered collection query):
  orders Oracle already has are never sent;
* before each write the keys it carries go to the task state (``in_flight``); a retried task finds them there and
  reports the orders the killed attempt made as ``created`` (``recovered``) instead of sending them again;
* a batch runs in one transaction (reference §2.3): a refusal (HTTP 400 naming one part) applied nothing, so the
  guilty order is ``rejected`` with Oracle's reason and the batch goes again without it;
* an uncertain batch (no answer, timeout, 5xx, 504 after commit) is settled by looking its keys up before anything
  is sent again: found → ``created``/``recovered``, missing → sent again, within the client's retry policy (attempts
  and time budget); a 429 was not processed, so it is sent again after its ``Retry-After`` without a lookup. Past
  the budget the keys still missing are ``failed`` (retryable): never ``created`` without proof.
* 401 after the client's token refresh and 403 are raised: credentials are not a record's fault.

``batch_size=1`` creates one order per POST through :meth:`FusionClient.create_sales_order` (lookup, POST, lookup
after an uncertain answer), the slow path for pods where batches are not allowed.

Cancellation goes through :meth:`FusionClient.cancel_sales_order` (a cancelling revision of the order).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from more_itertools import batched

from prestaoracle import retry
from prestaoracle.flows.orders.types import FUSION_TARGET, LoadOutcome, OrderToLoad, TaskState, repeated_in_load
from prestaoracle.oracle import fusion_query as fq
from prestaoracle.oracle.errors import FusionError
from prestaoracle.oracle.fusion import ORDERS, BatchResult, FusionClient, order_key
from prestaoracle.reasons import AUTH, BUSINESS_RULE, DUPLICATE, INVALID_DATA, MAPPING_MISSING, RETRYABLE
from prestaoracle.retry import GaveUp, RetryPolicy

__all__ = ["FIND_CHUNK", "FusionOrderLoader", "how_to_fix"]

log = logging.getLogger(__name__)

FIND_CHUNK = 50
"""Keys per lookup query (``SourceTransactionId in (…)``): short enough for any URL limit, one request per chunk."""
FIND_FIELDS = "HeaderId,OrderNumber,StatusCode,SourceTransactionId,SourceTransactionRevisionNumber"
IN_FLIGHT = "in_flight"

_FIXES = {
    MAPPING_MISSING: "Oracle does not know a value the order names (item, customer, business unit, organization, "
                     "currency): create it in Oracle or fix the cross-reference/mapping, then replay the order from "
                     "the dead letters.",
    BUSINESS_RULE: "Oracle knows every value but refuses the order by policy (credit limit, inactive customer or "
                   "item, no price, closed): decide in Oracle (raise the limit, activate, price), then replay the "
                   "order from the dead letters.",
    INVALID_DATA: "The payload is malformed or incomplete for Oracle: fix the shop order or the "
                  "fusion_sales_order mapping, then replay the order from the dead letters.",
    DUPLICATE: "Oracle already has an order with this source key that this integration cannot read back: check "
               "the order in Order Management and record it in the ledger by hand.",
    RETRYABLE: "Nothing to fix in the order: Oracle did not confirm it in time. The next run looks the key up "
               "before sending anything again.",
}
_CANCEL_FIX = ("Part of the order has shipped (or it is closed), so Oracle cannot cancel it: create a return (RMA) "
               "in Oracle Order Management for what shipped, then refund the customer in PrestaShop.")


def how_to_fix(reason_class: str, path: str | None = None) -> str:
    """What the operator does about an order Oracle refused for ``reason_class`` (``path``: Oracle's o:errorPath)."""
    text = _FIXES.get(reason_class, _FIXES[INVALID_DATA])
    return f"{text} (Oracle points at {path}.)" if path else text


class _Exhausted(Exception):
    """The retry policy ran out while a write was still unconfirmed."""

    def __init__(self, gave_up: GaveUp) -> None:
        super().__init__(str(gave_up))
        self.gave_up = gave_up


class FusionOrderLoader:
    """The Fusion :class:`~prestaoracle.flows.orders.types.OrderLoader`: ``batch_size`` orders per batch POST.

    ``source_system`` is the ``SourceTransactionSystem`` the mapping writes (``defaults.source_system``): keys are
    looked up under it, and an order whose payload names another one is refused before anything is sent.
    ``write_retries`` bounds how often an unconfirmed batch is settled and sent again (default: the client's policy,
    which also bounds every read). A lookup Oracle does not answer within the client's policy fails the call: nothing
    is written without the lookup first.
    """

    target = FUSION_TARGET

    def __init__(self, client: FusionClient, *, batch_size: int = 25, source_system: str = "PSHOP",
                 write_retries: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.client = client
        self.batch_size = batch_size
        self.source_system = source_system
        self.write_retries = write_retries or client.retries
        self._sleep = sleep

    # ----------------------------------------------------------------------------------------------- find

    def find(self, keys: Sequence[str]) -> dict[str, LoadOutcome]:
        """The orders of ``keys`` Oracle has (``exists``, with HeaderId, OrderNumber and StatusCode): one filtered
        collection query per :data:`FIND_CHUNK` keys (an all-``get`` batch would fail whole on the first missing
        key). Where a key has several revisions, the latest counts."""
        wanted = list(dict.fromkeys(str(k) for k in keys))
        best: dict[str, dict] = {}
        for chunk in batched(wanted, FIND_CHUNK):
            flt = fq.eq("SourceTransactionSystem", self.source_system) & fq.in_("SourceTransactionId", chunk)
            for row in self.client.iter_collection(ORDERS, q=flt, fields=FIND_FIELDS, order_by="HeaderId:asc"):
                key = str(row.get("SourceTransactionId"))
                if key in best and _revision(best[key]) > _revision(row):
                    continue
                best[key] = row
        asked = set(wanted)
        return {key: _outcome(key, "exists", row) for key, row in best.items() if key in asked}

    # ----------------------------------------------------------------------------------------------- load

    def load(self, orders: Sequence[OrderToLoad], *, state: TaskState | None = None) -> list[LoadOutcome]:
        """Create ``orders`` in Oracle exactly once; one outcome per order, in the order given."""
        outcomes: dict[str, LoadOutcome] = {}
        extra: list[LoadOutcome] = []
        todo: dict[str, OrderToLoad] = {}
        for order in orders:
            if order.key in todo or order.key in outcomes:
                extra.append(repeated_in_load(order.key))
                continue
            problem = self._payload_problem(order)
            if problem:
                outcomes[order.key] = LoadOutcome(order.key, "rejected", reason_class=INVALID_DATA, message=problem,
                                                  how_to_fix=how_to_fix(INVALID_DATA))
            else:
                todo[order.key] = order
        in_flight = set(state.get(IN_FLIGHT) or ()) if state is not None else set()
        if todo:
            # Keys a killed attempt sent are among those looked up here: found → it made them; never re-sent.
            for key, found in self.find(list(todo)).items():
                outcomes[key] = _outcome(key, "created", found, recovered=True) if key in in_flight else found
                todo.pop(key)
            if in_flight & set(outcomes):
                log.info("fusion load: %d order(s) sent by an earlier attempt were found in Oracle",
                         len(in_flight & set(outcomes)))
        for chunk in batched(list(todo.values()), self.batch_size):
            if self.batch_size == 1:
                self._create_one(chunk[0], state, outcomes)
            else:
                self._write_batch(list(chunk), state, outcomes)
        return [outcomes[key] for key in dict.fromkeys(o.key for o in orders)] + extra

    def _payload_problem(self, order: OrderToLoad) -> str | None:
        payload = order.payload
        if not isinstance(payload, Mapping):
            return f"the payload of {order.key} is not a Fusion sales order (a JSON object)"
        system, source_id = payload.get("SourceTransactionSystem"), payload.get("SourceTransactionId")
        if system != self.source_system:
            return (f"SourceTransactionSystem is {system!r} but the loader looks orders up under "
                    f"{self.source_system!r}: align mapping defaults.source_system and the loader")
        if str(source_id) != order.key:
            return f"SourceTransactionId {source_id!r} is not the order key {order.key!r}"
        return None

    # ---------------------------------------------------------------------------------------- one by one

    def _create_one(self, order: OrderToLoad, state: TaskState | None, outcomes: dict[str, LoadOutcome]) -> None:
        if state is not None:
            state.set(IN_FLIGHT, [order.key])
        try:
            result = self.client.create_sales_order(order.payload)
        except FusionError as err:
            if err.reason_class == AUTH:
                raise
            outcomes[order.key] = self._refusal(order.key, err)
            return
        data = {"HeaderId": result.header_id, "OrderNumber": result.order_number, "StatusCode": result.status}
        outcomes[order.key] = _outcome(order.key, "created" if result.created else "exists", data,
                                       recovered=result.recovered)

    # ---------------------------------------------------------------------------------------- batches

    def _write_batch(self, chunk: list[OrderToLoad], state: TaskState | None,
                     outcomes: dict[str, LoadOutcome]) -> None:
        """Send ``chunk`` until every order has an outcome: refused parts are taken out, uncertain sends settled."""
        pending = {o.key: o for o in chunk}
        sent: set[str] = set()  # keys sent at least once without a confirmed outcome
        while pending:
            try:
                results = self._send(pending, state, sent, outcomes)
            except _Exhausted as exc:
                self._settle(pending, sent, outcomes, f"Oracle did not confirm the batch ({exc.gave_up}); last "
                                                      f"answer: {exc.gave_up.error}")
                return
            except FusionError as err:
                if err.reason_class == AUTH:
                    raise
                if err.retryable:  # retryable but not worth repeating at once (412, 501…): settle and stop
                    self._settle(pending, sent, outcomes, err.message)
                    return
                guilty = FusionClient.failed_batch_part(err)
                if guilty not in pending:
                    guilty = next(iter(pending)) if len(pending) == 1 else None
                if guilty is None:  # refused as a whole: send each order alone so the answer names it
                    log.warning("fusion batch of %d refused without naming a part (%s); sending one by one",
                                len(pending), err.message)
                    for order in list(pending.values()):
                        self._write_batch([order], state, outcomes)
                    return
                self._refused(guilty, err, sent, outcomes)
                pending.pop(guilty)
                continue
            self._record(results, pending, outcomes)
            return

    def _send(self, pending: dict[str, OrderToLoad], state: TaskState | None, sent: set[str],
              outcomes: dict[str, LoadOutcome]) -> list[BatchResult]:
        """One batch POST of ``pending``, repeated under the retry policy while the answer is uncertain; before a
        repeat, keys that turn out to exist are taken out (``created``/``recovered``)."""
        uncertain = False

        def attempt(remaining: float) -> list[BatchResult]:
            nonlocal uncertain
            if uncertain:
                self._recover(pending, outcomes)
                uncertain = False
                if not pending:
                    return []
            keys = list(pending)
            if state is not None:
                state.set(IN_FLIGHT, keys)
            sent.update(keys)
            try:
                return self.client.batch([{"id": key, "path": f"/{ORDERS}", "operation": "create",
                                           "payload": dict(pending[key].payload)} for key in keys])
            except FusionError as err:
                # A 429 was refused before any work (nothing to look up); any other transient answer may hide a
                # commit, so the keys are looked up before the batch goes again.
                uncertain = err.retryable and err.status != 429
                if err.retryable:
                    log.warning("fusion batch of %d: %s; %s", len(keys), err.message,
                                "looking the keys up before sending again" if uncertain else "sending again")
                raise

        def give_up(gave_up: GaveUp) -> list[BatchResult]:
            raise _Exhausted(gave_up)

        return retry.call(self.write_retries, attempt, transient=self._transient, give_up=give_up,
                          label=f"fusion batch of {len(pending)} orders", sleep=self._sleep)

    def _transient(self, exc: BaseException) -> bool:
        return (isinstance(exc, FusionError) and exc.retryable
                and (exc.status is None or exc.status in self.write_retries.statuses))

    def _recover(self, pending: dict[str, OrderToLoad], outcomes: dict[str, LoadOutcome]) -> None:
        for key, found in self.find(list(pending)).items():
            outcomes[key] = _outcome(key, "created", found, recovered=True)
            pending.pop(key, None)
            log.info("fusion: %s exists after an uncertain batch; that batch committed it", key)

    def _settle(self, pending: dict[str, OrderToLoad], sent: set[str], outcomes: dict[str, LoadOutcome],
                why: str) -> None:
        """Out of retries: one last lookup; what Oracle has is ``created``, the rest ``failed`` (retryable)."""
        try:
            found = self.find(list(pending)) if sent & set(pending) else {}
        except FusionError as err:
            if err.reason_class == AUTH:
                raise
            found = {}
            why = f"{why}; the lookup that should settle it failed too ({err.message})"
        for key in list(pending):
            if key in found:
                outcomes[key] = _outcome(key, "created", found[key], recovered=True)
            else:
                outcomes[key] = LoadOutcome(key, "failed", reason_class=RETRYABLE,
                                            message=f"not confirmed by Oracle: {why}", how_to_fix=_FIXES[RETRYABLE])
            pending.pop(key)

    def _refused(self, key: str, err: FusionError, sent: set[str], outcomes: dict[str, LoadOutcome]) -> None:
        if err.reason_class == DUPLICATE:
            # Oracle has the key although the lookup before writing did not: another writer, or an earlier send of
            # ours that committed. Read it back rather than reject a good order.
            found = self.find([key]).get(key)
            if found is not None:
                outcomes[key] = _outcome(key, "created", found, recovered=True) if key in sent else found
                return
        outcomes[key] = self._refusal(key, err)

    def _refusal(self, key: str, err: FusionError) -> LoadOutcome:
        reason = err.reason_class if err.reason_class != AUTH else INVALID_DATA
        if reason == RETRYABLE:
            return LoadOutcome(key, "failed", reason_class=RETRYABLE, message=err.message,
                               how_to_fix=_FIXES[RETRYABLE])
        return LoadOutcome(key, "rejected", reason_class=reason, message=err.detail or err.message,
                           how_to_fix=how_to_fix(reason, err.path))

    def _record(self, results: list[BatchResult], pending: dict[str, OrderToLoad],
                outcomes: dict[str, LoadOutcome]) -> None:
        unanswered = dict(pending)
        for part in results:
            data = part.payload if isinstance(part.payload, Mapping) else {}
            if part.id in unanswered and data.get("HeaderId") is not None:
                outcomes[part.id] = _outcome(part.id, "created", data)
                unanswered.pop(part.id)
        if unanswered:  # a 200 without the part's echo: it committed with the batch, read it back
            found = self.find(list(unanswered))
            for key in unanswered:
                outcomes[key] = (_outcome(key, "created", found[key]) if key in found else
                                 LoadOutcome(key, "failed", reason_class=RETRYABLE,
                                             message="the batch was accepted but Oracle does not show the order",
                                             how_to_fix=_FIXES[RETRYABLE]))
        pending.clear()

    # ----------------------------------------------------------------------------------------------- cancel

    def cancel(self, key: str, *, reason: str) -> LoadOutcome:
        """Cancel the order in Oracle: ``cancelled`` (also when it already was), ``rejected`` when something has
        shipped (a return is needed) or Oracle has no such order, ``failed`` when Oracle did not answer in time."""
        try:
            result = self.client.cancel_sales_order(order_key(self.source_system, key), reason)
        except FusionError as err:
            if err.reason_class == AUTH:
                raise
            if err.retryable:
                return LoadOutcome(key, "failed", reason_class=RETRYABLE, message=err.message,
                                   how_to_fix="Nothing: the next run asks Oracle again.")
            if err.status == 404:
                return LoadOutcome(key, "rejected", reason_class=MAPPING_MISSING, message=err.message,
                                   how_to_fix="Oracle has no order with this key (or the integration user cannot see "
                                              "its business unit): check the ledger entry and Order Management.")
            fix = _CANCEL_FIX if err.reason_class == BUSINESS_RULE else how_to_fix(err.reason_class, err.path)
            return LoadOutcome(key, "rejected", reason_class=err.reason_class, message=err.detail or err.message,
                               how_to_fix=fix)
        return LoadOutcome(key, "cancelled", target_id=_text(result.header_id), target_ref=result.order_number,
                           oracle_status=result.status, recovered=result.recovered,
                           message=None if result.cancelled else "already cancelled in Oracle")


# ------------------------------------------------------------------------------------------------- helpers


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _revision(row: Mapping[str, Any]) -> tuple[int, int]:
    return int(row.get("SourceTransactionRevisionNumber") or 0), int(row.get("HeaderId") or 0)


def _outcome(key: str, status: Any, data: Mapping[str, Any] | LoadOutcome, *, recovered: bool = False) -> LoadOutcome:
    if isinstance(data, LoadOutcome):
        return LoadOutcome(key, status, target_id=data.target_id, target_ref=data.target_ref,
                           oracle_status=data.oracle_status, recovered=recovered)
    return LoadOutcome(key, status, target_id=_text(data.get("HeaderId")), target_ref=_text(data.get("OrderNumber")),
                       oracle_status=data.get("StatusCode"), recovered=recovered)
