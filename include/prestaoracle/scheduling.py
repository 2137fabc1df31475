"""What every DAG of the product shares: owner, retries with backoff, the API retry policy, pools and assets.

DAG files import this module at parse time, so it stays light: no HTTP client, pandas or GX import happens here
(the retry policy imports the product's error classes only when a task has failed, in the worker).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, RetryDecision, RetryPolicy

__all__ = ["API_RETRY_POLICY", "DEFAULT_ARGS", "POOLS", "TAGS", "ApiRetryPolicy", "staging_asset", "with_alerts"]

OWNER = "integration"
# Tags a DAG may carry (the integrity test holds every DAG to this set).
TAGS = frozenset({"prestashop", "oracle", "staging", "quality", "orders", "inventory", "prices", "customers",
                  "finance", "operations"})
# One pool per external API caps the product's concurrent calls across every DAG (`airflow pools set NAME N ...`).
POOLS: dict[str, tuple[int, str]] = {
    "prestashop_api": (4, "Concurrent PrestaShop webservice calls (the shop's PHP workers are few)"),
    "oracle_api": (4, "Concurrent Oracle Fusion REST / EBS database sessions"),
}

DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=20),
}


class ApiRetryPolicy(RetryPolicy):
    """Retry what time can fix, fail at once what only a person can.

    * rate limited (HTTP 429): retry soon, after the server's ``Retry-After`` when it sent one (at most 5 minutes);
    * refused credentials (401/403), a connection nobody configured, a missing shop time zone: fail now, since
      retrying a wrong key only locks the account or fills the log;
    * everything else: the task's own retries and exponential backoff.

    Airflow runs it in the worker with the real exception; the error classes are imported only then.
    """

    def evaluate(self, exception: BaseException, try_number: int, max_tries: int,
                 context: Any = None) -> RetryDecision:
        status = getattr(exception, "status", None)
        if _is_auth_failure(exception, status):
            return RetryDecision.fail(f"credentials or configuration refused: {type(exception).__name__}; "
                                      "fix the Airflow connection, then clear the task")
        if status == 429 or type(exception).__name__ == "RateLimited":
            wait = getattr(exception, "retry_after", None)
            delay = timedelta(seconds=min(float(wait), 300.0)) if wait else timedelta(seconds=30)
            return RetryDecision.retry(delay, "rate limited (429): retrying after the server's pause")
        return RetryDecision.default()

    def serialize(self) -> dict[str, Any]:
        return {"__type": type(self).__name__}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> ApiRetryPolicy:
        return cls()


def _is_auth_failure(exception: BaseException, status: object) -> bool:
    from prestaoracle.connections import ConnectionNotConfigured
    from prestaoracle.prestashop.errors import AuthError

    if isinstance(exception, ConnectionNotConfigured | AuthError):
        return True
    return status in (401, 403)


API_RETRY_POLICY = ApiRetryPolicy()


def staging_asset(table: str) -> Asset:
    """The Airflow Asset standing for one canonical staging table; later flows schedule on it."""
    return Asset(name=f"staging.{table}", uri=f"prestaoracle://staging/{table}", group="staging")


def with_alerts(args: dict[str, Any] | None = None) -> dict[str, Any]:
    """``args`` (default :data:`DEFAULT_ARGS`) plus the on-call e-mail on a task's final failure
    (:func:`prestaoracle.alerts.task_failure_notifier`; recipients from the order-to-cash configuration)."""
    from prestaoracle.alerts import task_failure_notifier

    return {**(DEFAULT_ARGS if args is None else args), "on_failure_callback": task_failure_notifier()}
