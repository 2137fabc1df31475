"""One retry mechanism for every client of the product: attempts, a time budget, backoff, ``Retry-After``.

Both HTTP clients (PrestaShop, Oracle Fusion) and the PrestaShop writer's convergence loop call :func:`call` with
the same :class:`RetryPolicy`, so a logical request obeys the same rules whichever system it talks to:

* at most ``attempts`` tries, **and** at most ``budget`` seconds from the first try to the end of the last one
  (tries, waits and the time spent in each request together). A wait that would cross the budget ends the call at
  once, rather than sleeping only to give up afterwards;
* the wait before retry *n* is ``min(max_backoff, backoff * 2**(n-1) + uniform(0, jitter))`` (exponential, with
  jitter so that parallel workers do not hit a recovering server in lockstep), or longer when the server asked for
  it with ``Retry-After`` (parsed by :func:`parse_retry_after`, capped at ``retry_after_max``);
* what is transient is the caller's decision (``transient=``): the clients retry reads on no answer, a cut body and
  :attr:`RetryPolicy.statuses`; writes are never re-sent blindly.

Built on **tenacity** rather than urllib3's ``Retry``: urllib3 retries only what urllib3 sees (connect/read errors
and statuses before the body is read), sleeps inside urllib3 where no deadline can be enforced, and has no total
time limit. The rules above also need to look at the body (PrestaShop answers a bad filter with 500 + code 32,
which must not be retried), to refresh an OAuth token, and to look an order up between two POSTs. tenacity wraps
any callable, composes stop conditions (attempts *or* deadline), takes an injectable ``sleep`` and exposes the
upcoming wait to the stop condition, which is exactly what a budget needs. urllib3 is left with the connection pool
only (``max_retries=0`` in both clients).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import tenacity
from tenacity.wait import wait_exponential_jitter

__all__ = ["TRANSIENT_STATUSES", "GaveUp", "RetryPolicy", "attempt_timeout", "call", "parse_retry_after"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# 429: rate limited; 502/503/504: a proxy or an overloaded server; 408 and 500: the server failed this time (each
# client vetoes the 500s whose body shows a request error that would repeat identically).
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# A request attempt always gets at least this long, even when less of the budget is left, so that the last try is
# not doomed by a timeout of a few milliseconds. A call can therefore overrun its budget by at most this much.
MIN_ATTEMPT_TIMEOUT = 1.0


def parse_retry_after(value: str | float | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date (RFC 9110 §10.2.3).

    None when absent or unreadable; a date in the past is 0. Capping is the policy's job (``retry_after_max``).
    """
    if value is None:
        return None
    if isinstance(value, int | float):
        return max(0.0, float(value))
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(text)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long one logical request may be retried (module docstring for the rules).

    * ``attempts``: tries in total, the first included.
    * ``budget``: seconds from the start of the first try to the end of the last one, waits included.
    * ``backoff`` / ``max_backoff`` / ``jitter``: the wait before retry *n* is
      ``min(max_backoff, backoff * 2**(n-1) + uniform(0, jitter))`` seconds.
    * ``retry_after_max``: a server's ``Retry-After`` longer than this is waited only this long.
    * ``statuses``: HTTP statuses that may be retried (reads, and writes whose outcome is settled by a lookup).
    """

    attempts: int = 5
    budget: float = 120.0
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5
    retry_after_max: float = 60.0
    statuses: frozenset[int] = field(default_factory=lambda: TRANSIENT_STATUSES)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, got {self.attempts}")
        if min(self.budget, self.backoff, self.max_backoff, self.jitter, self.retry_after_max) < 0:
            raise ValueError("RetryPolicy times (budget, backoff, max_backoff, jitter, retry_after_max) must not be "
                             "negative")
        object.__setattr__(self, "statuses", frozenset(self.statuses))

    def wait_strategy(self) -> Callable[[tenacity.RetryCallState], float]:
        """The wait before the next try: the backoff curve, or the failed try's ``retry_after`` when longer."""
        curve = wait_exponential_jitter(multiplier=self.backoff, max=self.max_backoff, jitter=self.jitter)

        def wait(state: tenacity.RetryCallState) -> float:
            seconds = curve(state)
            error = state.outcome.exception() if state.outcome is not None else None
            asked = _retry_after_of(error) if error is not None else None
            return max(seconds, min(asked, self.retry_after_max)) if asked is not None else seconds

        return wait

    def describe(self) -> str:
        return f"retry budget {self.attempts} attempts / {self.budget:g} s"


@dataclass(frozen=True)
class GaveUp:
    """Why :func:`call` stopped retrying: the last transient error, the tries made, the time spent, and the reason
    (``out of attempts`` or ``waiting … would exceed the budget``)."""

    error: BaseException
    attempts: int
    elapsed: float
    reason: str
    policy: RetryPolicy

    def __str__(self) -> str:
        return (f"gave up after {self.attempts} attempt(s) in {self.elapsed:.1f} s ({self.reason}; "
                f"{self.policy.describe()})")


def _retry_after_of(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    return value if isinstance(value, int | float) else None


def call(
    policy: RetryPolicy,
    attempt: Callable[[float], T],
    *,
    transient: Callable[[BaseException], bool],
    give_up: Callable[[GaveUp], Any],
    label: str = "request",
    on_retry: Callable[[BaseException, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``attempt(remaining_seconds)`` until it returns, raises a non-transient error, or the policy is spent.

    ``attempt`` gets the seconds left of the budget (to bound its own timeout, see :func:`attempt_timeout`).
    An exception for which ``transient`` is False propagates at once. When the policy is spent, ``give_up`` is
    called with a :class:`GaveUp`; it raises the client's own error (or returns a result, e.g. after a final
    lookup), and :func:`call` returns what it returns. ``on_retry(error, wait)`` runs before each wait.
    """
    started = clock()

    def remaining() -> float:
        return policy.budget - (clock() - started)

    def out_of_budget(state: tenacity.RetryCallState) -> bool:
        return clock() - started + state.upcoming_sleep > policy.budget

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        assert error is not None
        log.info("%s failed (%s); retry %d of %d in %.2f s", label, error, state.attempt_number,
                 policy.attempts - 1, state.upcoming_sleep)
        if on_retry is not None:
            on_retry(error, state.upcoming_sleep)

    def stopped(state: tenacity.RetryCallState) -> Any:
        error = state.outcome.exception() if state.outcome is not None else None
        assert error is not None
        if state.attempt_number >= policy.attempts:
            reason = "out of attempts"
        else:
            reason = f"waiting {state.upcoming_sleep:.1f} s more would exceed the budget"
        gave_up = GaveUp(error, state.attempt_number, clock() - started, reason, policy)
        log.warning("%s: %s. Last error: %s", label, gave_up, error)
        return give_up(gave_up)

    retrying = tenacity.Retrying(
        sleep=sleep,
        stop=tenacity.stop_after_attempt(policy.attempts) | out_of_budget,
        wait=policy.wait_strategy(),
        retry=tenacity.retry_if_exception(transient),
        before_sleep=before_sleep,
        retry_error_callback=stopped,
    )
    return retrying(lambda: attempt(remaining()))


def attempt_timeout(timeout: float, remaining: float) -> float:
    """A request timeout that keeps an attempt inside what is left of the budget (never below one second)."""
    return min(timeout, max(remaining, MIN_ATTEMPT_TIMEOUT))
