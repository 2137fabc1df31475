"""One retry policy for every transient failure of a PrestaShop call, whoever detects it.

Two layers see transient failures and both must obey the same budget:

* **urllib3** (inside ``requests``) sees connection failures, read errors before the headers, and the statuses a
  proxy or an overloaded shop answers with (429/502/503/504). It retries those itself, honouring ``Retry-After``,
  with exponential backoff and jitter. :meth:`RetryPolicy.urllib3_retry` builds its ``Retry`` object.
* **the client** sees what urllib3 cannot: a connection cut *while the body is read* (``ChunkedEncodingError``),
  and 500 answers, which must be looked at first (PrestaShop 8.1 answers a bad filter with 500 + code 32: retrying
  that is pointless). It uses :meth:`RetryPolicy.delay` for the same backoff curve.

``attempts`` counts HTTP tries of one logical request across both layers (the client hands urllib3 only what is
left), so a request is never tried more than ``attempts`` times whatever mix of failures it meets.
Writes are not retried here on an ambiguous failure (see ``writer.py``); urllib3 only retries connection failures
for them (nothing was sent yet), because ``allowed_methods`` holds the read verbs only.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass, field

from urllib3.util.retry import Retry

__all__ = ["RetryPolicy", "parse_retry_after"]

READ_METHODS = frozenset({"GET", "HEAD"})


def parse_retry_after(value: str | float | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date); None when absent or unreadable."""
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
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    * ``attempts``: HTTP tries of one request in total (first one included), across urllib3 and the client.
    * ``backoff_factor`` / ``backoff_max`` / ``backoff_jitter``: the delay before retry *n* is
      ``min(backoff_max, backoff_factor * 2**(n-1)) + uniform(0, backoff_jitter)`` seconds (jitter spreads the
      retries of parallel workers so they do not hit a recovering shop in lockstep).
    * ``statuses``: answers treated as transient for reads. 500 is in the set but is only retried when the body is
      not a PrestaShop request error (the client checks).
    * ``respect_retry_after`` / ``retry_after_max``: a ``Retry-After`` header (429/503) replaces the backoff delay,
      capped so a hostile header cannot park a task for hours.
    """

    attempts: int = 5
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    backoff_jitter: float = 0.5
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    respect_retry_after: bool = True
    retry_after_max: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, got {self.attempts}")
        if min(self.backoff_factor, self.backoff_max, self.backoff_jitter, self.retry_after_max) < 0:
            raise ValueError("RetryPolicy delays must not be negative")
        object.__setattr__(self, "statuses", frozenset(self.statuses))

    def urllib3_retry(self, remaining_retries: int) -> Retry:
        """The urllib3 ``Retry`` for one request that may still be retried ``remaining_retries`` times.

        500 is left out of ``status_forcelist``: the client reads the body before deciding. ``raise_on_status`` is
        off so that, when the budget runs out on a status, the client gets the last answer and can report it.
        """
        remaining = max(0, remaining_retries)
        return Retry(
            total=remaining,
            connect=remaining,
            read=remaining,
            status=remaining,
            other=0,
            redirect=0,
            allowed_methods=READ_METHODS,
            status_forcelist=self.statuses - {500},
            backoff_factor=self.backoff_factor,
            backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_jitter,
            respect_retry_after_header=self.respect_retry_after,
            retry_after_max=int(math.ceil(self.retry_after_max)),
            raise_on_status=False,
            raise_on_redirect=False,
        )

    def delay(self, retry_number: int, retry_after: str | float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1 = first retry), honouring ``Retry-After`` if allowed."""
        if self.respect_retry_after:
            wait = parse_retry_after(retry_after)
            if wait is not None and wait > 0:
                return min(wait, self.retry_after_max)
        base = min(self.backoff_max, self.backoff_factor * (2 ** max(0, retry_number - 1)))
        return base + (random.random() * self.backoff_jitter if self.backoff_jitter else 0.0)
