"""HTTP transport to one PrestaShop webservice: auth, pooled session, JSON/XML answers, retries, error mapping.

Everything above this module (``reader``, ``writer``) speaks in resources and records; everything about sockets,
status codes and backoff lives here, so that the rules "reads are retried, writes are never re-sent blindly" and
"the key never shows up anywhere" are enforced in one place.

* Auth: HTTP Basic with the key as user name and an empty password (the recommended form; the ``ws_key`` query
  parameter would put the secret into every URL, log line and proxy log).
* Reads ask for JSON with the ``Output-Format: JSON`` header (the value is case-sensitive), writes send XML (the
  webservice reads nothing else) and get XML back, parsed with defusedxml.
* One ``requests.Session`` with a connection pool sized to ``max_in_flight`` and ``pool_block=True``: the reader's
  thread pool can never open more connections than the shop was promised.
* Reads are retried under the product's one :class:`~prestaoracle.retry.RetryPolicy` (attempts and a time budget,
  see ``prestaoracle/retry.py``): no answer, a body cut mid-read, 429/502/503/504, and 500s whose body is not a
  PrestaShop request error. Writes are sent once (retried only when the connection could not even be opened); an
  answer that leaves the outcome unknown raises :class:`WriteOutcomeUnknown` for the writer to settle.
"""

from __future__ import annotations

import json
import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import tzinfo
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import requests
from defusedxml import ElementTree as SafeET
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from prestaoracle import retry
from prestaoracle.retry import GaveUp, RetryPolicy
from prestaoracle.secrets import Redactor, redact_url

from .errors import (
    PrestaShopError,
    RateLimited,
    RetryBudgetExhausted,
    ServerError,
    UnexpectedResponse,
    WriteOutcomeUnknown,
    error_from_response,
)

__all__ = ["PrestaShopClient"]

log = logging.getLogger("prestaoracle.prestashop")

_NO_ANSWER = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
_BODY_CUT = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)


class PrestaShopClient:
    """Talks to ``<base_url>/api/`` with one webservice key. Thread-safe for concurrent reads.

    ``base_url`` is the shop's base URL (``https://shop.example`` or ``https://example.com/prestashop``); a trailing
    ``/api`` is accepted too. ``shop_id`` adds ``id_shop=N`` to every call (multishop context). ``shop_timezone``
    lets callers pass aware datetimes to date filters (the webservice compares shop-local strings).
    ``session`` may be supplied (tests count requests through its hooks); the client mounts its own adapter on it.
    """

    def __init__(
        self,
        base_url: str,
        ws_key: str,
        *,
        timeout: float = 30.0,
        page_size: int = 100,
        max_in_flight: int = 4,
        retries: RetryPolicy = RetryPolicy(),
        shop_id: int | None = None,
        session: requests.Session | None = None,
        shop_timezone: tzinfo | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(ws_key, str) or len(ws_key) != 32:
            # PrestaShop answers 401 code 18 for any other length; say it before the first call, without the key.
            raise ValueError("the PrestaShop webservice key must be a 32-character string")
        if page_size < 1 or max_in_flight < 1 or timeout <= 0:
            raise ValueError("page_size and max_in_flight must be >= 1 and timeout > 0")
        self._redactor = Redactor(ws_key)
        self.base_url = self._clean_base_url(base_url)
        self.api_root = self.base_url + "/api/"
        self.timeout = float(timeout)
        self.page_size = int(page_size)
        self.max_in_flight = int(max_in_flight)
        self.retries = retries
        self.shop_id = shop_id
        self.shop_timezone = shop_timezone
        self.sleep = sleep  # between tries; injectable so tests need not wait for real
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.session.auth = (ws_key, "")
        # PrestaShop sets a session cookie on webservice answers; sending it back is useless and a cookie jar is
        # shared mutable state between threads.
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        # Retries are the retry module's job (one budget for everything); urllib3 only pools connections.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.max_in_flight, pool_block=True, max_retries=0)
        origin = "{0.scheme}://{0.netloc}/".format(urlsplit(self.base_url))
        self.session.mount(origin, adapter)

    # -- plumbing ------------------------------------------------------------------------------------------------

    def _clean_base_url(self, base_url: str) -> str:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"PrestaShop base URL must be http(s)://host[/path], got {redact_url(base_url)!r}")
        if "@" in parts.netloc or parts.query or parts.fragment:
            raise ValueError(
                f"PrestaShop base URL must not carry credentials, a query or a fragment: {redact_url(base_url)!r} "
                "(the key goes in the connection's password field)"
            )
        path = parts.path.rstrip("/")
        if path.endswith("/api"):
            path = path[: -len("/api")]
        return f"{parts.scheme}://{parts.netloc}{path}"

    def scrub(self, text: object) -> str:
        """Text with the key removed in every spelling (for callers building their own messages)."""
        return self._redactor.scrub(text)

    def _display_url(self, url: str, params: Mapping[str, str] | None) -> str:
        prepared = requests.Request("GET", url, params=dict(params or {})).prepare().url or url
        return unquote_plus(self._redactor.url(prepared))

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, str]:
        out = {k: str(v) for k, v in (params or {}).items()}
        if self.shop_id is not None:
            out.setdefault("id_shop", str(self.shop_id))
        return out

    def url_for(self, path: str) -> str:
        """Absolute URL of ``path`` under ``/api/`` (``orders``, ``orders/5``)."""
        return self.api_root + path.lstrip("/")

    def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> PrestaShopClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PrestaShopClient({self.base_url!r}, ws_key='***', shop_id={self.shop_id!r})"

    # -- reads ---------------------------------------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *, resource: str | None = None) -> Any:
        """GET ``/api/<path>`` as JSON (dict, or the bare ``[]`` PrestaShop sends for an empty list)."""
        resp = self._read("GET", path, self._params(params), {"Output-Format": "JSON"}, resource)
        text = resp.content.decode("utf-8", errors="replace").strip()
        if not text:
            raise UnexpectedResponse(
                f"PrestaShop GET {self._display_url(resp.url, None)} answered {resp.status_code} with an empty body",
                status=resp.status_code,
                url=self._display_url(resp.url, None),
                method="GET",
            )
        try:
            return json.loads(text)
        except ValueError:
            raise UnexpectedResponse(
                f"PrestaShop GET {self._display_url(resp.url, None)} answered {resp.status_code} with a body that is "
                f"not JSON (PHP warnings or an HTML page?): {self.scrub(text[:200])!r}",
                status=resp.status_code,
                url=self._display_url(resp.url, None),
                method="GET",
            ) from None

    def get_xml(self, path: str, params: Mapping[str, Any] | None = None, *, resource: str | None = None) -> ET.Element:
        """GET ``/api/<path>`` as XML (used to fetch the complete document a full-replacement PUT needs)."""
        resp = self._read("GET", path, self._params(params), {}, resource)
        return self._parse_xml(resp, "GET")

    def _read(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        headers: Mapping[str, str],
        resource: str | None,
    ) -> requests.Response:
        """One logical read under the retry policy. Returns a response whose body is fully read."""
        url = self.url_for(path)
        shown = self._display_url(url, params)
        resource = resource or path.split("/", 1)[0]

        def attempt(remaining: float) -> requests.Response:
            started = time.monotonic()
            resp = self.session.request(method, url, params=params, headers=dict(headers), stream=True,
                                        timeout=retry.attempt_timeout(self.timeout, remaining))
            try:
                _ = resp.content  # read the whole body now: a cut shows up here, not in the caller
            finally:
                resp.close()
            log.debug("PrestaShop %s %s -> %d in %.3fs", method, shown, resp.status_code,
                      time.monotonic() - started)
            if resp.status_code >= 400:
                raise self._error(resp, method, shown, resource)
            return resp

        def give_up(gave_up: GaveUp) -> requests.Response:
            raise self._exhausted(method, shown, gave_up) from None

        return retry.call(self.retries, attempt, transient=self.is_transient, give_up=give_up,
                          label=f"PrestaShop {method} {shown}", sleep=self.sleep)

    def is_transient(self, exc: BaseException) -> bool:
        """Whether trying again may help: no answer, a cut body, a 429, a transient 5xx, or (for the writer's
        read-compare-send loop) a write whose outcome is unknown. Auth and request errors are final."""
        if isinstance(exc, _NO_ANSWER + _BODY_CUT + (RateLimited, WriteOutcomeUnknown)):
            return True
        return isinstance(exc, ServerError) and exc.retryable and exc.status in self.retries.statuses

    def _exhausted(self, method: str, shown: str, gave_up: GaveUp) -> RetryBudgetExhausted:
        error = gave_up.error
        if isinstance(error, PrestaShopError):
            status, detail = error.status, error.message
        else:
            status, detail = None, self._describe_exc(error)
        return RetryBudgetExhausted(method=method, url=shown, attempts=gave_up.attempts, last_status=status,
                                    last_error=detail, why=str(gave_up))

    # -- writes --------------------------------------------------------------------------------------------------

    def send_xml(
        self,
        method: str,
        path: str,
        body: bytes,
        params: Mapping[str, Any] | None = None,
        *,
        resource: str | None = None,
    ) -> ET.Element | None:
        """Send one write (POST/PUT/PATCH/DELETE) with an XML body, exactly once; return the answer's XML root.

        A connection that could not even be opened is retried under the policy (nothing was sent). Anything after
        the request left (timeout, cut answer, 5xx, 429) raises, and only the caller can tell whether it landed.
        """
        url = self.url_for(path)
        params = self._params(params)
        shown = self._display_url(url, params)
        resource = resource or path.split("/", 1)[0]

        def attempt(remaining: float) -> requests.Response:
            try:
                return self.session.request(
                    method, url, params=params, data=body, timeout=self.timeout, stream=True,
                    headers={"Content-Type": "application/xml; charset=utf-8"},
                )
            except _NO_ANSWER as exc:
                if self._never_sent(exc):
                    raise
                raise WriteOutcomeUnknown(
                    f"PrestaShop {method} {shown}: no answer ({self._describe_exc(exc)}); the write may have been "
                    "applied",
                    url=shown, method=method,
                ) from None

        def give_up(gave_up: GaveUp) -> requests.Response:
            raise self._exhausted(method, shown, gave_up) from None

        resp = retry.call(self.retries, attempt, transient=lambda exc: isinstance(exc, _NO_ANSWER), give_up=give_up,
                          label=f"PrestaShop {method} {shown}", sleep=self.sleep)
        try:
            _ = resp.content
        except _BODY_CUT as exc:
            raise WriteOutcomeUnknown(
                f"PrestaShop {method} {shown}: answer {resp.status_code} cut short ({type(exc).__name__}); "
                "the write may have been applied",
                status=resp.status_code, url=shown, method=method,
            ) from None
        finally:
            resp.close()
        log.debug("PrestaShop %s %s -> %d", method, shown, resp.status_code)
        if resp.status_code >= 400:
            raise self._error(resp, method, shown, resource)
        if not resp.content.strip():
            return None
        return self._parse_xml(resp, method)

    @staticmethod
    def _never_sent(exc: Exception) -> bool:
        """True when the failure happened while connecting, i.e. the request cannot have reached the shop."""
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return True
        reason = exc.args[0] if exc.args else None
        return isinstance(reason, MaxRetryError) and isinstance(reason.reason, ConnectTimeoutError)

    # -- answers -------------------------------------------------------------------------------------------------

    def _describe_exc(self, exc: BaseException) -> str:
        return self.scrub(f"{type(exc).__name__}: {exc}")[:300]

    def _error(self, resp: requests.Response, method: str, shown: str, resource: str) -> PrestaShopError:
        return error_from_response(
            status=resp.status_code,
            body=resp.content or b"",
            content_type=resp.headers.get("Content-Type", ""),
            method=method,
            url=shown,
            resource=resource,
            retry_after=resp.headers.get("Retry-After"),
            scrub=self.scrub,
        )

    def _parse_xml(self, resp: requests.Response, method: str) -> ET.Element:
        shown = self._display_url(resp.url, None)
        try:
            return SafeET.fromstring(resp.content)
        except (ET.ParseError, ValueError):
            raise UnexpectedResponse(
                f"PrestaShop {method} {shown} answered {resp.status_code} with a body that is not XML: "
                f"{self.scrub(resp.content[:200].decode('utf-8', errors='replace'))!r}",
                status=resp.status_code, url=shown, method=method,
            ) from None

