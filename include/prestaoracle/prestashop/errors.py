"""Exceptions of the PrestaShop client, and the one function that turns an HTTP error answer into one of them.

Callers decide what to do from the *class* (flows: auth and retry-budget errors fail the task; a ``RequestError`` on
one record goes to dead letters), so the classification follows what PrestaShop means, not only the HTTP status:
PrestaShop 8.1 answers a bad filter with **500** code 32, a missing key with a plain-text 401, an unknown id with a
404 and an empty body, and a resource outside the key's permissions with **401** code 26 (see
``reference/prestashop-webservice.md`` §1.2, §7). Every message is built from redacted text: no exception of this
package ever carries the webservice key.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from defusedxml import ElementTree as SafeET

from prestaoracle.retry import parse_retry_after

__all__ = [
    "ApiError",
    "AuthError",
    "InvalidValueError",
    "NotFound",
    "PrestaShopError",
    "RateLimited",
    "RequestError",
    "RetryBudgetExhausted",
    "ServerError",
    "UnexpectedResponse",
    "WriteOutcomeUnknown",
    "error_from_response",
    "parse_error_document",
]

# Codes PrestaShop uses for a request it could not accept, whatever the HTTP status it picked (8.1 answers an unknown
# filter field with 500 + code 32, a malformed XML body with 500 + code 127, a stock row that depends on stock with
# 500 + 133). Retrying these can never help.
REQUEST_CODES = frozenset({27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 41, 84, 85, 86, 89, 90, 91, 92, 93,
                           101, 123, 127, 133})
# Server-side codes that repeat identically on every attempt (save refused, SQL error in debug mode, bad shop group).
DETERMINISTIC_SERVER_CODES = frozenset({46, 88, 97, 999})
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class ApiError:
    """One ``<error>`` of a PrestaShop error document (code may be None when the server sent none)."""

    code: int | None
    message: str


class PrestaShopError(Exception):
    """Base class: anything that went wrong talking to the PrestaShop webservice.

    ``status`` is the HTTP status (None when no answer arrived), ``errors`` the parsed error document, ``url`` the
    redacted URL, ``method`` the HTTP verb.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: Sequence[ApiError] = (),
        url: str = "",
        method: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = tuple(errors)
        self.url = url
        self.method = method

    @property
    def codes(self) -> tuple[int, ...]:
        """PrestaShop error codes of the answer, in order (e.g. ``(20, 21)`` for an unknown key)."""
        return tuple(e.code for e in self.errors if e.code is not None)

    def __str__(self) -> str:
        return self.message


class AuthError(PrestaShopError):
    """The key is missing, wrong, disabled, or not granted this resource/method/shop: fix the configuration."""


class NotFound(PrestaShopError):
    """The object does not exist (GET of an unknown id answers 404 with an empty body; DELETE gives code 87)."""


class RequestError(PrestaShopError):
    """PrestaShop refused the request itself (400/405, or a 5xx carrying a request error code such as 32 or 127)."""


class ServerError(PrestaShopError):
    """The shop (or a proxy in front of it) failed: 5xx without a request error code.

    ``retryable`` is False when the error document carries a code that repeats identically on every attempt.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return not (set(self.codes) & DETERMINISTIC_SERVER_CODES)


class RateLimited(PrestaShopError):
    """429 from a proxy/WAF in front of the shop (core PrestaShop has no rate limiting); ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class UnexpectedResponse(PrestaShopError):
    """A success status whose body is not what the webservice sends (HTML page, PHP warnings before the JSON...)."""


class WriteOutcomeUnknown(PrestaShopError):
    """A write was sent but no complete answer came back: it may or may not have been applied.

    Never resend on this blindly; read the target first (the writer does exactly that).
    """


class RetryBudgetExhausted(PrestaShopError):
    """The retry policy is spent (attempts or time budget) and the last try still failed with a transient error.

    ``why`` is the retry module's account (``gave up after 3 attempt(s) in 12.0 s (waiting … would exceed the
    budget; …)``).
    """

    def __init__(
        self,
        *,
        method: str,
        url: str,
        attempts: int,
        last_status: int | None,
        last_error: str | None = None,
        why: str | None = None,
    ) -> None:
        what = f"last status {last_status}" if last_status is not None else "no HTTP answer"
        detail = f" ({last_error})" if last_error else ""
        account = why or f"still failing after {attempts} attempt(s)"
        super().__init__(
            f"PrestaShop {method} {url} {account}: {what}{detail}. "
            "The shop or its hosting is unavailable; the run can be retried later (nothing was skipped).",
            status=last_status,
            url=url,
            method=method,
        )
        self.attempts = attempts
        self.last_status = last_status
        self.last_error = last_error


class InvalidValueError(PrestaShopError, ValueError):
    """A value was rejected locally before any request, because PrestaShop would refuse it (or store garbage)."""


def parse_error_document(body: bytes | str, content_type: str = "") -> list[ApiError]:
    """Errors of a PrestaShop error body, JSON (``{"errors":[...]}``) or XML (``<errors><error>``), else ``[]``.

    Messages are HTML-unescaped (8.1 sends ``OrderHistory-&gt;id_order``) and bodies that are not error documents
    (empty 404, plain-text 401, an HTML 502 page) yield an empty list rather than an exception.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    text = raw.strip()
    if not text:
        return []
    if text[:1] in (b"{", b"["):
        try:
            doc = json.loads(text.decode("utf-8", errors="replace"))
        except ValueError:
            return []
        items = doc.get("errors") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            return []
        return [_api_error(item.get("code"), item.get("message")) for item in items if isinstance(item, dict)]
    if text[:1] == b"<" and b"<errors" in text:
        try:
            root = SafeET.fromstring(text)
        except (ET.ParseError, ValueError):  # defusedxml's refusals are ValueErrors
            return []
        return [
            _api_error(err.findtext("code"), err.findtext("message"))
            for err in root.iter("error")
        ]
    return []


def _api_error(code: object, message: object) -> ApiError:
    try:
        number: int | None = int(str(code).strip())
    except (TypeError, ValueError):
        number = None
    return ApiError(number, html.unescape(str(message or "")).strip())


def _describe(errors: Sequence[ApiError]) -> str:
    parts = []
    for err in errors:
        msg = err.message if len(err.message) <= _MAX_MESSAGE else err.message[:_MAX_MESSAGE] + "…"
        parts.append(f"code {err.code}: {msg}" if err.code is not None else msg)
    return "; ".join(parts)


def error_from_response(
    *,
    status: int,
    body: bytes,
    content_type: str,
    method: str,
    url: str,
    resource: str,
    retry_after: str | None = None,
    scrub: object = None,
) -> PrestaShopError:
    """Classify one HTTP error answer. ``url`` must already be redacted; ``scrub`` (a callable) cleans messages."""
    clean = scrub if callable(scrub) else (lambda s: s)
    errors = [ApiError(e.code, clean(e.message)) for e in parse_error_document(body, content_type)]
    codes = {e.code for e in errors}
    described = _describe(errors)
    where = f"PrestaShop {method} {url} answered {status}"
    kwargs = {"status": status, "errors": errors, "url": url, "method": method}
    target = resource or "this resource"

    if status == 401 or (status == 403 and 132 in codes) or (status == 405 and 25 in codes):
        if not errors:
            why = "no webservice key reached the shop (plain-text 401; a CGI/FastCGI setup may strip Authorization)"
        elif codes & {17, 18}:
            why = "the webservice key is empty or not 32 characters long"
        elif codes & {20, 21}:
            why = "the webservice key is unknown or disabled in the shop"
        elif 26 in codes:
            why = f"the webservice key is not granted the resource {target!r}"
        elif 25 in codes:
            why = f"the webservice key is not granted {method} on {target!r}"
        elif 132 in codes:
            why = "the webservice key is not attached to the requested shop"
        else:
            why = "authentication failed"
        detail = f" ({described})" if described else ""
        return AuthError(
            f"{where}: {why}{detail}. Check the webservice key in the prestashop_default connection and its "
            f"permissions for {target}.",
            **kwargs,  # type: ignore[arg-type]
        )
    if status == 404:
        detail = f": {described}" if described else " (no such object)"
        return NotFound(f"{where}{detail}", **kwargs)  # type: ignore[arg-type]
    if status == 429:
        return RateLimited(
            f"{where}: too many requests{f' ({described})' if described else ''}",
            retry_after=parse_retry_after(retry_after),
            **kwargs,  # type: ignore[arg-type]
        )
    if status >= 500 and not (codes & REQUEST_CODES):
        detail = f": {described}" if described else " (no PrestaShop error document)"
        return ServerError(f"{where}{detail}", retry_after=parse_retry_after(retry_after), **kwargs)  # type: ignore[arg-type]
    detail = f": {described}" if described else ""
    return RequestError(f"{where}{detail}", **kwargs)  # type: ignore[arg-type]
