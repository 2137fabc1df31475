"""The one retry mechanism (prestaoracle.retry): backoff curve, jitter, Retry-After, attempts and the time budget.

A fake clock that only moves when the mechanism sleeps (or when an attempt "takes" time) makes every schedule exact.
"""

from __future__ import annotations

import email.utils

import pytest

from prestaoracle.retry import GaveUp, RetryPolicy, attempt_timeout, call, parse_retry_after


class Busy(Exception):
    """A transient failure, optionally with the server's Retry-After in seconds."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("503 busy")
        self.retry_after = retry_after


class Refused(Exception):
    """A final failure (a 4xx request error, an auth error)."""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run(policy: RetryPolicy, attempt, clock: Clock, **kw):  # type: ignore[no-untyped-def]
    def give_up(gave_up: GaveUp) -> object:
        raise RuntimeError(str(gave_up)) from gave_up.error

    kw.setdefault("give_up", give_up)
    return call(policy, attempt, transient=lambda exc: isinstance(exc, Busy), sleep=clock.sleep, clock=clock, **kw)


def always(error: Exception, takes: float = 0.0, clock: Clock | None = None, seen: list[float] | None = None):  # type: ignore[no-untyped-def]
    def attempt(remaining: float) -> object:
        if seen is not None:
            seen.append(remaining)
        if clock is not None:
            clock.now += takes
        raise error

    return attempt


def test_backoff_doubles_up_to_the_cap_then_attempts_run_out() -> None:
    clock = Clock()
    policy = RetryPolicy(attempts=6, budget=1000, backoff=1.0, max_backoff=5.0, jitter=0.0)
    with pytest.raises(RuntimeError, match=r"gave up after 6 attempt\(s\) in 17\.0 s \(out of attempts; retry budget "
                                           r"6 attempts / 1000 s\)"):
        run(policy, always(Busy()), clock)
    assert clock.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_spreads_the_waits_within_its_bound() -> None:
    waits = []
    for _ in range(100):
        clock = Clock()
        with pytest.raises(RuntimeError):
            run(RetryPolicy(attempts=2, backoff=1.0, jitter=0.5), always(Busy()), clock)
        waits.extend(clock.sleeps)
    assert all(1.0 <= w <= 1.5 for w in waits) and len(set(waits)) > 10


def test_retry_after_is_waited_when_longer_and_capped() -> None:
    policy = RetryPolicy(attempts=2, budget=1000, backoff=1.0, jitter=0.0, retry_after_max=30)
    for asked, waited in ((7.0, 7.0), (0.2, 1.0), (3600.0, 30.0)):
        clock = Clock()
        with pytest.raises(RuntimeError):
            run(policy, always(Busy(retry_after=asked)), clock)
        assert clock.sleeps == [waited]


def test_the_time_budget_ends_the_call_before_a_wait_would_cross_it() -> None:
    """Each try takes 0.5 s and waits 1 s: after try 7 (9.5 s in), one more wait would end at 10.5 s > 10 s."""
    clock = Clock()
    seen: list[float] = []
    policy = RetryPolicy(attempts=100, budget=10, backoff=1.0, max_backoff=1.0, jitter=0.0)
    with pytest.raises(RuntimeError) as info:
        run(policy, always(Busy(), takes=0.5, clock=clock, seen=seen), clock)
    assert "gave up after 7 attempt(s) in 9.5 s (waiting 1.0 s more would exceed the budget" in str(info.value)
    assert len(clock.sleeps) == 6 and clock.now == 9.5
    assert seen == [10.0, 8.5, 7.0, 5.5, 4.0, 2.5, 1.0]  # each try is told what is left, to bound its timeout


def test_a_retry_after_longer_than_the_budget_gives_up_at_once() -> None:
    clock = Clock()
    policy = RetryPolicy(attempts=10, budget=5, backoff=0.01, retry_after_max=60)
    with pytest.raises(RuntimeError, match=r"after 1 attempt\(s\).*waiting 30\.0 s more would exceed the budget"):
        run(policy, always(Busy(retry_after=30)), clock)
    assert clock.sleeps == []


def test_a_final_error_is_raised_at_once_and_success_ends_the_loop() -> None:
    clock = Clock()
    with pytest.raises(Refused):
        run(RetryPolicy(attempts=5), always(Refused("400 bad filter")), clock)
    assert clock.sleeps == []

    answers = iter([Busy(), Busy(), "ok"])

    def flaky(remaining: float) -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    retried: list[float] = []
    result = run(RetryPolicy(attempts=5, backoff=0.5, jitter=0.0), flaky, clock,
                 on_retry=lambda exc, wait: retried.append(wait))
    assert result == "ok" and retried == clock.sleeps == [0.5, 1.0]


def test_give_up_may_settle_the_outcome_instead_of_raising() -> None:
    """Fusion's create looks the order key up one last time: found means the uncertain POST committed."""
    clock = Clock()
    result = run(RetryPolicy(attempts=2, backoff=0.0, jitter=0.0), always(Busy()), clock,
                 give_up=lambda gave_up: ("found after", gave_up.attempts))
    assert result == ("found after", 2)


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after("7") == 7.0 and parse_retry_after(" 120 ") == 120.0 and parse_retry_after(5) == 5.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0  # in the past: retry now
    for unreadable in (None, "", "  ", "soon", "Wed, 99 Foo 2015"):
        assert parse_retry_after(unreadable) is None


def test_policy_validation_and_attempt_timeout() -> None:
    with pytest.raises(ValueError, match="attempts must be at least 1"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="must not be negative"):
        RetryPolicy(budget=-1)
    assert RetryPolicy(statuses=[503]).statuses == frozenset({503})
    assert 429 in RetryPolicy().statuses and 404 not in RetryPolicy().statuses
    assert attempt_timeout(30, 100) == 30 and attempt_timeout(30, 4.5) == 4.5 and attempt_timeout(30, 0.01) == 1.0
