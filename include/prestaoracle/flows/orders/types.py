"""What the order flow hands a target and what it gets back: the interface both Oracle targets implement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = ["EBS_TARGET", "FUSION_TARGET", "LoadOutcome", "MemoryState", "OrderLoader", "OrderToLoad", "TaskState",
           "order_ref", "repeated_in_load"]

FUSION_TARGET = "oracle_fusion"
EBS_TARGET = "oracle_ebs"
"""Ledger ``target`` of a sales order in each Oracle; the ledger ``record_key`` is :func:`order_ref`."""

Status = Literal["created", "exists", "interfaced", "rejected", "failed", "cancelled"]


def order_ref(shop_id: int, id_order: int) -> str:
    """The idempotency key ``(shop_id, id_order)`` as Oracle sees it: Fusion ``SourceTransactionId`` and EBS
    ``ORIG_SYS_DOCUMENT_REF`` (``PS1-42``); also the ledger ``record_key`` of the order on either target."""
    return f"PS{int(shop_id)}-{int(id_order)}"


@dataclass(frozen=True)
class OrderToLoad:
    """One mapped order ready for its target: ``payload`` is the Fusion JSON dict or an ``EbsOrder``."""

    key: str
    id_order: int
    payload: Any


@dataclass(frozen=True)
class LoadOutcome:
    """What became of one order in the target.

    ``created``     this call made it (``recovered=True``: an uncertain write turned out to have committed)
    ``exists``      it was there before this call (a replay, or an earlier attempt that never reported back)
    ``interfaced``  EBS only: in the Order Import interface, waiting for the import program
    ``rejected``    the target refused it for a reason in the record (``reason_class`` business_rule,
                    mapping_missing, invalid_data): it goes to the dead letters, the batch goes on
    ``failed``      the target could not be reached or answered out of turn (``reason_class`` retryable): nothing
                    is known to be written; the next run looks the key up before writing again
    ``cancelled``   a cancellation was applied in the target
    """

    key: str
    status: Status
    target_id: str | None = None
    target_ref: str | None = None
    oracle_status: str | None = None
    reason_class: str | None = None
    message: str | None = None
    how_to_fix: str | None = None
    recovered: bool = False


def repeated_in_load(key: str) -> LoadOutcome:
    """The outcome of a second copy of ``key`` in one ``load`` call (the first copy is the one loaded)."""
    return LoadOutcome(key, "rejected", reason_class="duplicate",
                       message=f"{key} appears twice in one load; the first copy was loaded",
                       how_to_fix="Nothing: the order was handled once.")


class TaskState(Protocol):
    """The part of Airflow's task state store the loaders use (``context["task_state_store"]``); outside Airflow a
    :class:`MemoryState` does. Values must be JSON and small (64 KB)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryState:
    """A :class:`TaskState` kept in memory: the CLI's stand-in for the task state store (one process, no retries
    across processes) and the tests' way to hand one attempt's state to the next."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


class OrderLoader(Protocol):
    """A sales-order target. Every method is safe to call again with the same keys: nothing is written twice."""

    target: str

    def find(self, keys: Sequence[str]) -> Mapping[str, LoadOutcome]:
        """The orders of ``keys`` that exist in the target (status ``exists``, or ``interfaced`` on EBS)."""
        ...

    def load(self, orders: Sequence[OrderToLoad], *, state: TaskState | None = None) -> list[LoadOutcome]:
        """Create ``orders`` in the target; one outcome per order, in any order.

        Before any write, the keys about to be sent are saved in ``state`` (when given); a retried task finds them
        there and looks them up in the target before sending anything again, so it re-attaches to what the killed
        attempt already sent.
        """
        ...

    def cancel(self, key: str, *, reason: str) -> LoadOutcome:
        """Cancel an order the target has (``cancelled``), or say why it cannot (``rejected`` with how to fix)."""
        ...
