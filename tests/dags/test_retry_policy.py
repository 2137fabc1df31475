"""The API retry policy the DAGs attach to their calling tasks: soon after a 429, never after refused credentials."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk import RetryAction

from prestaoracle.connections import ConnectionNotConfigured
from prestaoracle.oracle.errors import FusionError
from prestaoracle.prestashop.errors import AuthError, RateLimited, ServerError
from prestaoracle.scheduling import API_RETRY_POLICY


def _decide(exc: BaseException):
    return API_RETRY_POLICY.evaluate(exc, try_number=1, max_tries=4)


@pytest.mark.parametrize("exc", [
    AuthError("PrestaShop 401: bad key", status=401),
    FusionError("Fusion 401", reason_class="invalid_data", status=401),
    FusionError("Fusion 403", reason_class="invalid_data", status=403),
    ConnectionNotConfigured("prestashop_default is not defined"),
], ids=["ps-401", "fusion-401", "fusion-403", "no-connection"])
def test_refused_credentials_fail_at_once(exc: BaseException) -> None:
    decision = _decide(exc)
    assert decision.action is RetryAction.FAIL
    assert "connection" in (decision.reason or "")


def test_rate_limit_retries_after_the_servers_pause() -> None:
    decision = _decide(RateLimited("429", status=429, retry_after=12.0))
    assert decision.action is RetryAction.RETRY
    assert decision.retry_delay == timedelta(seconds=12)


def test_rate_limit_pause_is_capped_and_defaulted() -> None:
    assert _decide(RateLimited("429", status=429, retry_after=86400)).retry_delay == timedelta(minutes=5)
    assert _decide(FusionError("429", reason_class="retryable", status=429)).retry_delay == timedelta(seconds=30)


def test_other_failures_use_the_task_backoff() -> None:
    assert _decide(ServerError("502", status=502)).action is RetryAction.DEFAULT
    assert _decide(ValueError("boom")).action is RetryAction.DEFAULT
