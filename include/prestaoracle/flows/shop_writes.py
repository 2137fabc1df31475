"""What a flow that writes record by record to the shop does when one write fails, shared by the inventory and the
prices flows so both treat the shop's errors alike.

One refused or unanswered record becomes a dead letter with the reason class from here, and the run goes on: a
product that always gets a 500 must not keep every record after it from being written. Only two things stop the
run: the key no longer works (:class:`~prestaoracle.prestashop.errors.AuthError`, nothing else can succeed), or
the shop stopped answering (``stop_after_unanswered`` writes in a row without an answer: an outage, the task's
retry comes back later instead of dead-lettering the whole catalogue).
"""

from __future__ import annotations

from dataclasses import dataclass

from prestaoracle.reasons import BUSINESS_RULE, INVALID_DATA, MAPPING_MISSING, RETRYABLE

__all__ = ["UNANSWERED", "UnansweredRun", "reason_for"]

UNANSWERED = ("RetryBudgetExhausted", "RateLimited", "WriteOutcomeUnknown", "UnexpectedResponse")
"""Errors where the shop gave no usable answer (by class name: the flows import the client lazily)."""


def reason_for(exc: BaseException) -> str:
    """The reason class of a write the shop did not take."""
    from prestaoracle.prestashop.errors import InvalidValueError, NotFound, RequestError, ServerError

    if isinstance(exc, InvalidValueError):
        return BUSINESS_RULE if "depends on stock" in str(exc) else INVALID_DATA
    if isinstance(exc, NotFound):
        return MAPPING_MISSING
    if isinstance(exc, RequestError):
        # 133: the stock row depends on stock (advanced stock management owns it)
        return BUSINESS_RULE if 133 in exc.codes else INVALID_DATA
    if isinstance(exc, ServerError) and not exc.retryable:
        return INVALID_DATA  # the shop fails the same way on every attempt: something in the record
    return RETRYABLE


@dataclass
class UnansweredRun:
    """Counts the writes in a row the shop did not answer; :meth:`failed` says when the run must stop."""

    limit: int
    count: int = 0

    def answered(self) -> None:
        self.count = 0

    def failed(self, exc: BaseException) -> bool:
        """Note a failed write; True when the run must stop (the key is refused, or ``limit`` unanswered in a
        row)."""
        from prestaoracle.prestashop.errors import AuthError

        if isinstance(exc, AuthError):
            return True
        self.count = self.count + 1 if type(exc).__name__ in UNANSWERED else 0
        return self.count >= self.limit
