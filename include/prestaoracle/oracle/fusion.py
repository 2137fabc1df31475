"""Oracle Fusion Cloud REST client: OAuth2/Basic auth, ADF paging and filters, batch, and idempotent order create.

Written from ``shared/reference/oracle-fusion-and-ebs.md`` (§1–§2) and ``shared/DESIGN.md``; it shares no code with
the project's emulator.

* **Auth** (§2.6): :class:`OAuth2ClientCredentials` gets a client-credentials token (client authenticated by Basic),
  caches it, refreshes it ``refresh_margin`` seconds before ``expires_in`` (at most half the lifetime early), and
  after a 401 from the API drops the token, fetches a new one and replays the request once (token expired mid-run).
  One lock per credentials object: many threads share one token. :class:`BasicAuth` sends a Fusion user.
* **Reads** (§2.1–§2.2): ``get``, ``get_item`` (None on 404), ``iter_collection`` paging with ``offset += count``
  until ``hasMore`` is false; ``q`` may be a :class:`~prestaoracle.oracle.fusion_query.Q` rendered for the
  client's ``REST-Framework-Version`` (rowmatch from 2, QBE for 1). The ``*_changed_since`` reads page by keyset
  on ``(LastUpdateDate, id)`` instead (``fusion_keyset.py``): offset paging over a moving date sort skips rows.
* **Retries** (§2.5): reads, the token endpoint and explicitly idempotent writes are retried on no answer and the
  policy's statuses (408, 429, 500, 502, 503, 504) by the product's one retry mechanism (``prestaoracle/retry.py``:
  attempts and a time budget per call, backoff with jitter, ``Retry-After``); past it a ``retryable``
  :class:`FusionError` says so. Other writes are never retried blindly.
* **Idempotent create** (§1.3): :meth:`FusionClient.create_sales_order` looks the order key
  ``SourceTransactionSystem:SourceTransactionId`` up before the POST and, after a timeout/5xx/no answer, looks it up
  again before any new POST. A 504 that committed is therefore never turned into a second order.
* **Secrets** never reach a message or a log line: errors are scrubbed of the token, client secret and password.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import requests
from more_itertools import batched
from requests.adapters import HTTPAdapter

from prestaoracle import retry
from prestaoracle.oracle import fusion_keyset as keyset
from prestaoracle.oracle import fusion_query as fq
from prestaoracle.oracle.errors import FusionError, error_from_response
from prestaoracle.oracle.fusion_query import Q
from prestaoracle.retry import GaveUp, RetryPolicy, parse_retry_after
from prestaoracle.secrets import redact

__all__ = [
    "BATCH_TYPE",
    "BasicAuth",
    "BatchResult",
    "CancelResult",
    "CreateResult",
    "FusionClient",
    "OAuth2ClientCredentials",
    "RetryPolicy",
    "order_key",
]

log = logging.getLogger(__name__)

FSCM = "fscmRestApi"
CRM = "crmRestApi"
RESOURCE_VERSION = "11.13.18.05"
# Resources served under the CX/Sales context root (§0, §1.6); everything else is SCM/Financials.
CRM_RESOURCES = frozenset({"accounts", "contacts", "hubOrganizations", "hubPersons"})
ITEM_TYPE = "application/vnd.oracle.adf.resourceitem+json"
BATCH_TYPE = "application/vnd.oracle.adf.batch+json"
ORDERS = "salesOrdersForOrderHub"
ORDER_LOOKUP_FIELDS = "HeaderId,OrderNumber,StatusCode"
# What a cancelling revision repeats of the order it revises (its key and the attributes a create requires).
CANCEL_LOOKUP_FIELDS = ("HeaderId,OrderNumber,StatusCode,SourceTransactionSystem,SourceTransactionId,"
                        "SourceTransactionNumber,SourceTransactionRevisionNumber,BusinessUnitId,"
                        "TransactionalCurrencyCode")
CANCELED = "CANCELED"
CANCEL_REASON_CODE = "CUSTOMER_REQUEST"  # [VERIFY] a code of the pod's cancel reason lookup
CANCEL_REASON_MAX = 240
_BATCH_PART = re.compile(r"\(batch\) part (\S+) \(")
DEFAULT_TOKEN_LIFETIME = 3600.0  # IAM's default when a token answer omits expires_in (§2.6)

_TRANSPORT_ERRORS = (
    requests.exceptions.ConnectionError,  # refused, reset, DNS; includes ConnectTimeout
    requests.exceptions.Timeout,  # read timeout
    requests.exceptions.ChunkedEncodingError,  # short read: the connection dropped mid-body
    requests.exceptions.ContentDecodingError,
)
T = TypeVar("T")


# ------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CreateResult:
    """Outcome of :meth:`FusionClient.create_sales_order`.

    ``created`` is True when this call made the order: a 201, or an uncertain POST (timeout, 5xx, no answer) after
    which the key lookup found the order (then ``recovered`` is True too). False when the order existed before the
    call (lookup hit, or a duplicate 400 followed by a lookup hit). ``post_attempts`` counts the POSTs sent.
    """

    header_id: int | None
    order_number: str | None
    status: str | None
    created: bool
    key: str = ""
    post_attempts: int = 0
    recovered: bool = False


@dataclass(frozen=True)
class BatchResult:
    """One part of a batch answer: the part's id, path, operation and result payload."""

    id: str
    path: str
    operation: str
    payload: Any


@dataclass(frozen=True)
class CancelResult:
    """Outcome of :meth:`FusionClient.cancel_sales_order`: ``cancelled`` is True when this call cancelled the order,
    False when it was cancelled already (nothing was sent); ``recovered`` when an uncertain POST turned out to have
    committed."""

    key: str
    header_id: int | None
    order_number: str | None
    status: str | None
    cancelled: bool
    post_attempts: int = 0
    recovered: bool = False


def order_key(source_system: str, source_id: str | int) -> str:
    """``SourceTransactionSystem:SourceTransactionId``, the OrderKey addressing the latest revision (§1.3)."""
    return f"{source_system}:{source_id}"


@dataclass
class ClientStats:
    """Counters for observability and tests: HTTP requests sent, retries, 401 replays, token fetches, lookups."""

    requests: int = 0
    retries: int = 0
    unauthorized_replays: int = 0
    order_lookups: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)


# ------------------------------------------------------------------------------------------------- HTTP core


@dataclass
class _Reply:
    status: int
    headers: Mapping[str, str]
    data: Any
    text: str = ""
    content_type: str = ""


class _Http:
    """One session, timeout and retry policy; sends requests and runs them under the retry mechanism. Knows nothing
    of auth."""

    def __init__(self, session: requests.Session, timeout: float, retries: RetryPolicy, stats: ClientStats) -> None:
        self.session = session
        self.timeout = timeout
        self.retries = retries
        self.stats = stats

    def send_once(self, method: str, url: str, *, headers: Mapping[str, str], params: Any = None,
                  data: Any = None, label: str, secrets: Iterable[str | None] = (),
                  timeout: float | None = None) -> _Reply:
        """One request. Raises a ``retryable`` FusionError when no complete answer came back."""
        self.stats.bump("requests")
        try:
            resp = self.session.request(method, url, params=params, data=data, headers=dict(headers),
                                        timeout=self.timeout if timeout is None else timeout,
                                        allow_redirects=False)
        except _TRANSPORT_ERRORS as exc:
            raise FusionError(redact(f"{label} -> no answer ({type(exc).__name__}: {_short(exc)})", secrets),
                              reason_class="retryable", request=label) from None
        ctype = resp.headers.get("Content-Type", "")
        data_out: Any = None
        if 200 <= resp.status_code < 300 and resp.content:
            try:
                data_out = resp.json()
            except ValueError:
                raise FusionError(f"{label} -> HTTP {resp.status_code} with a body that is not complete JSON",
                                  reason_class="retryable", status=resp.status_code, request=label) from None
        return _Reply(resp.status_code, resp.headers, data_out, resp.text if resp.status_code >= 300 else "", ctype)

    def transient(self, exc: BaseException) -> bool:
        """No (complete) answer, or a status of the policy's list; other ``retryable`` errors (412, 501, …) are left
        to the flow, since the same request would meet the same answer."""
        if not (isinstance(exc, FusionError) and exc.retryable):
            return False
        return exc.status is None or exc.status < 300 or exc.status in self.retries.statuses

    def retrying(self, label: str, attempt: Callable[[float], T],
                 give_up: Callable[[GaveUp], T] | None = None) -> T:
        """Run ``attempt(remaining_seconds)`` under the retry policy; past it, raise :meth:`gave_up`'s error."""

        def final(gave_up: GaveUp) -> T:
            raise self.gave_up(gave_up, label) from None

        return retry.call(self.retries, attempt, transient=self.transient, give_up=give_up or final, label=label,
                          on_retry=lambda _exc, _wait: self.stats.bump("retries"))

    def gave_up(self, gave_up: GaveUp, label: str) -> FusionError:
        err = gave_up.error
        assert isinstance(err, FusionError)
        return FusionError(f"{label}: {gave_up}. Last error: {err.message}", reason_class="retryable",
                           status=err.status, detail=err.detail, error_code=err.error_code, path=err.path,
                           request=label, details=err.details, retry_after=err.retry_after)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "…"


# ------------------------------------------------------------------------------------------------- auth


class _Auth(Protocol):
    def authorization(self, http: _Http) -> str: ...

    def unauthorized(self, sent: str) -> bool: ...

    def secrets(self) -> tuple[str, ...]: ...


class BasicAuth:
    """HTTP Basic with a Fusion user (§2.6); a 401 is final (there is nothing to refresh)."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._password = password
        self._header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")

    def authorization(self, http: _Http) -> str:
        return self._header

    def unauthorized(self, sent: str) -> bool:
        return False

    def secrets(self) -> tuple[str, ...]:
        return (self._password, self._header[6:])

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=***)"


class OAuth2ClientCredentials:
    """OAuth2 client credentials against an OCI IAM identity domain (``/oauth2/v1/token``), cached and refreshed.

    The token is refreshed ``refresh_margin`` seconds before it expires (but never earlier than half its lifetime,
    so short-lived tokens are still reused). Thread-safe: concurrent callers wait for one fetch. ``token_fetches``
    counts the tokens obtained.
    """

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str | None = None,
                 refresh_margin: float = 60) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        if refresh_margin < 0:
            raise ValueError("refresh_margin must not be negative")
        self.refresh_margin = float(refresh_margin)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self._expires_at = 0.0
        self.token_fetches = 0

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r}, secret=***)"

    def secrets(self) -> tuple[str, ...]:
        basic = base64.b64encode(f"{self.client_id}:{self._client_secret}".encode()).decode("ascii")
        return tuple(s for s in (self._client_secret, basic, self._token) if s)

    def authorization(self, http: _Http) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._refresh_at:
                self._fetch(http)
            assert self._token is not None
            return "Bearer " + self._token

    def unauthorized(self, sent: str) -> bool:
        """A 401 answered ``sent``: forget that token so the next call fetches a fresh one; replay is worth it."""
        with self._lock:
            if self._token is not None and sent == "Bearer " + self._token:
                self._token = None
        return sent.startswith("Bearer ")

    def invalidate(self) -> None:
        """Forget the cached token (the next request fetches a new one)."""
        with self._lock:
            self._token = None

    def _fetch(self, http: _Http) -> None:
        label = f"POST {urlsplit(self.token_url).path}"
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        basic = base64.b64encode(f"{self.client_id}:{self._client_secret}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {basic}", "Accept": "application/json",
                   "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
        secrets = self.secrets()

        def attempt(remaining: float) -> tuple[_Reply, float]:
            asked_at = time.monotonic()
            reply = http.send_once("POST", self.token_url, headers=headers, data=form, label=label, secrets=secrets,
                                   timeout=retry.attempt_timeout(http.timeout, remaining))
            if reply.status >= 300:
                err = error_from_response(reply.status, reply.text, reply.content_type, request=label,
                                          secrets=secrets,
                                          retry_after=parse_retry_after(reply.headers.get("Retry-After")))
                if not err.retryable:  # 400 invalid_grant, 401 invalid_client, …: credentials or setup
                    raise FusionError(f"token request refused: {err.message}", reason_class="auth",
                                      status=err.status, detail=err.detail, request=label, details=err.details)
                raise err
            return reply, asked_at

        reply, asked_at = http.retrying(label, attempt)
        body = reply.data if isinstance(reply.data, dict) else {}
        token = body.get("access_token")
        if not token or str(body.get("token_type", "Bearer")).lower() != "bearer":
            raise FusionError(f"{label} -> the token answer has no bearer access_token", reason_class="auth",
                              status=reply.status, request=label)
        try:
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        margin = min(self.refresh_margin, lifetime / 2)
        self._token = str(token)
        self._expires_at = asked_at + lifetime
        self._refresh_at = asked_at + lifetime - margin
        self.token_fetches += 1
        log.debug("got an access token for client %s, valid %.0f s", self.client_id, lifetime)


# ------------------------------------------------------------------------------------------------- the client


class FusionClient:
    """A Fusion pod's REST API (``base_url`` = ``https://<pod>``; resources under the fscm/crm context roots).

    One client may be shared by threads (one connection pool, one token). ``stats`` counts requests, retries, 401
    replays and order lookups.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: OAuth2ClientCredentials | BasicAuth,
        timeout: float = 60,
        retries: RetryPolicy | None = None,
        framework_version: int = 4,
        session: requests.Session | None = None,
        resource_version: str = RESOURCE_VERSION,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be http(s)://host[:port], got {base_url!r}")
        self.base_url = f"{parts.scheme}://{parts.netloc}"
        self.auth = auth
        self.timeout = timeout
        self.retries = retries or RetryPolicy()
        self.framework_version = int(framework_version)
        self.resource_version = resource_version
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session
        self.stats = ClientStats()
        self._http = _Http(session, timeout, self.retries, self.stats)

    def __repr__(self) -> str:
        return f"FusionClient({self.base_url!r}, auth={self.auth!r}, framework_version={self.framework_version})"

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> FusionClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------------- plumbing

    def url(self, path: str) -> str:
        """Absolute URL of ``path``: a resource path (``salesOrdersForOrderHub/…``, routed to the fscm or crm root),
        a host-absolute path (``/crmRestApi/…``) or a URL on this pod (links from answers)."""
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            if f"{parts.scheme}://{parts.netloc}" != self.base_url:
                raise ValueError("refusing to send credentials to another host than the pod's")
            return path
        if path.startswith("/"):
            return self.base_url + path
        first = path.split("/", 1)[0].split("?", 1)[0]
        root = CRM if first in CRM_RESOURCES else FSCM
        return f"{self.base_url}/{root}/resources/{self.resource_version}/{path}"

    def _secrets(self) -> tuple[str, ...]:
        return self.auth.secrets()

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = ITEM_TYPE,
        idempotent: bool,
        allow_404: bool = False,
        raise_for_status: bool = True,
    ) -> _Reply:
        """Send with auth; retry (when ``idempotent``) on transient failures; replay once after a 401."""
        url = self.url(path)
        label = f"{method} {urlsplit(url).path}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        replayed = False

        def attempt(remaining: float) -> _Reply:
            nonlocal replayed
            while True:
                authz = self.auth.authorization(self._http)
                headers = {"Authorization": authz, "Accept": "application/json",
                           "REST-Framework-Version": str(self.framework_version)}
                if data is not None:
                    headers["Content-Type"] = content_type
                reply = self._http.send_once(method, url, headers=headers, params=params, data=data, label=label,
                                             secrets=self._secrets(),
                                             timeout=retry.attempt_timeout(self.timeout, remaining))
                if reply.status == 401 and not replayed and self.auth.unauthorized(authz):
                    # Token expired or revoked mid-run: a 401 is decided before any work, so replaying is safe.
                    replayed = True
                    self.stats.bump("unauthorized_replays")
                    log.info("%s -> 401 with a token that was valid; fetching a new token and replaying", label)
                    continue
                if reply.status < 300 or (allow_404 and reply.status == 404) or not raise_for_status:
                    return reply
                raise error_from_response(reply.status, reply.text, reply.content_type, request=label,
                                          secrets=self._secrets(),
                                          retry_after=parse_retry_after(reply.headers.get("Retry-After")))

        if not idempotent:
            return attempt(float("inf"))  # sent once, with the full timeout
        return self._http.retrying(label, attempt)

    # ---------------------------------------------------------------------------------------------- reads

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` (retried) and return the decoded JSON."""
        return self._request("GET", path, params=_clean(params), idempotent=True).data

    def get_item(self, path: str, key: str | int, *, fields: str | None = None, expand: str | None = None,
                 only_data: bool = True, params: Mapping[str, Any] | None = None) -> dict | None:
        """One item ``path/{key}`` (key URL-quoted), or None when Oracle answers 404."""
        query = {"onlyData": "true" if only_data else None, "fields": fields, "expand": expand, **(params or {})}
        reply = self._request("GET", f"{path}/{quote(str(key), safe=':')}", params=_clean(query), idempotent=True,
                              allow_404=True)
        return None if reply.status == 404 else reply.data

    def iter_collection(
        self,
        path: str,
        *,
        q: Q | str | None = None,
        fields: str | None = None,
        expand: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int = 500,
        only_data: bool = True,
        finder: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[dict]:
        """Every item of a collection, page by page (``offset += count`` until ``hasMore`` is false).

        Sort by a stable key (``order_by``): without it ADF does not promise a page order (§2.2).
        """
        if not 1 <= limit <= 500:
            raise ValueError("limit must be within 1..500")
        if not isinstance(order_by, str) and order_by is not None:
            order_by = ",".join(order_by)
        base = {"q": fq.render_q(q, self.framework_version), "fields": fields, "expand": expand,
                "orderBy": order_by, "onlyData": "true" if only_data else None, "finder": finder,
                **(params or {})}
        offset = 0
        while True:
            page = self.get(path, {**base, "limit": str(limit), "offset": str(offset)})
            if not isinstance(page, dict):
                raise FusionError(f"GET {path}: the answer is not a collection", reason_class="invalid_data")
            items = page.get("items") or []
            yield from items
            if not page.get("hasMore"):
                return
            count = page.get("count", len(items))
            if not isinstance(count, int) or count <= 0:
                raise FusionError(f"GET {path}: hasMore is true but the page at offset {offset} is empty",
                                  reason_class="retryable")
            offset += count

    def collection(self, path: str, **kwargs: Any) -> list[dict]:
        """``list(iter_collection(path, **kwargs))``."""
        return list(self.iter_collection(path, **kwargs))

    # ---------------------------------------------------------------------------------------------- writes

    def post(self, path: str, payload: Any, *, idempotent: bool = False) -> Any:
        """POST a JSON body; not retried unless the caller vouches it is ``idempotent``."""
        return self._request("POST", path, body=payload, idempotent=idempotent).data

    def patch(self, path: str, payload: Any, *, idempotent: bool = False) -> Any:
        """PATCH (ADF update); retried only when ``idempotent`` (e.g. setting absolute values)."""
        return self._request("PATCH", path, body=payload, idempotent=idempotent).data

    def delete(self, path: str) -> None:
        """DELETE an item; not retried."""
        self._request("DELETE", path, idempotent=False)

    def batch(self, parts: Sequence[Mapping[str, Any]], *, root: str = FSCM) -> list[BatchResult]:
        """Run ``parts`` (``{"id"?, "path", "operation", "payload"?}``) in one all-or-nothing batch (§2.3).

        Paths are relative to the version root (``/salesOrdersForOrderHub/PSHOP:1``). A failing part raises a
        classified :class:`FusionError` naming the part; nothing of the batch was applied. Only an all-``get``
        batch is retried.
        """
        if root not in (FSCM, CRM):
            raise ValueError(f"root must be {FSCM!r} or {CRM!r}")
        body = []
        for i, part in enumerate(parts, start=1):
            op = part.get("operation")
            if op not in ("create", "get", "update", "replace", "delete", "upsert"):
                raise ValueError(f"batch part {i}: unknown operation {op!r}")
            item: dict[str, Any] = {"id": str(part.get("id") or f"part{i}"),
                                    "path": "/" + str(part["path"]).lstrip("/"), "operation": op}
            if part.get("payload") is not None:
                item["payload"] = part["payload"]
            body.append(item)
        if not body:
            return []
        idempotent = all(p["operation"] == "get" for p in body)
        path = f"/{root}/resources/{self.resource_version}"
        reply = self._request("POST", path, body={"parts": body}, content_type=BATCH_TYPE, idempotent=idempotent,
                              raise_for_status=False)
        label = f"POST {path} (batch)"
        if reply.status >= 300:
            raise self._batch_error(reply, label)
        answer = reply.data if isinstance(reply.data, dict) else {}
        return [BatchResult(str(p.get("id")), str(p.get("path")), str(p.get("operation")), p.get("payload"))
                for p in answer.get("parts") or []]

    def _batch_error(self, reply: _Reply, label: str) -> FusionError:
        try:
            failed = (json.loads(reply.text).get("parts") or [])[0]
            part_label = f"{label} part {failed.get('id')} ({failed.get('operation')} {failed.get('path')})"
            return error_from_response(reply.status, json.dumps(failed.get("payload")), "application/json",
                                       request=part_label, secrets=self._secrets())
        except (ValueError, AttributeError, IndexError, TypeError):
            # A gateway's 429/503 keeps its Retry-After: the caller decides when to send the batch again.
            return error_from_response(reply.status, reply.text, reply.content_type, request=label,
                                       secrets=self._secrets(),
                                       retry_after=parse_retry_after(reply.headers.get("Retry-After")))

    @staticmethod
    def failed_batch_part(error: FusionError) -> str | None:
        """The id of the part a refused :meth:`batch` names (its first failing part), or None when the refusal
        names no part (the batch as a whole was refused, or no answer came back)."""
        match = _BATCH_PART.search(error.request or "")
        return match.group(1) if match else None

    # ---------------------------------------------------------------------------------------------- sales orders

    def get_sales_order(self, key: str, *, fields: str | None = None, expand: str | None = None) -> dict | None:
        """The order with OrderKey ``key`` (``SYS:ID`` or ``HeaderId``), or None."""
        return self.get_item(ORDERS, key, fields=fields, expand=expand)

    def _lookup_order(self, key: str) -> dict | None:
        self.stats.bump("order_lookups")
        return self.get_item(ORDERS, key, fields=ORDER_LOOKUP_FIELDS)

    def create_sales_order(self, payload: Mapping[str, Any]) -> CreateResult:
        """Create a sales order exactly once, keyed by ``SourceTransactionSystem:SourceTransactionId``.

        1. Look the key up: found → ``created=False``.
        2. POST. 201 → ``created=True``. A duplicate 400 → look up → ``created=False``. Any other 4xx → raise.
        3. No answer, timeout, 408/429/5xx (504 included: it may have committed): wait, look the key up again;
           found → ``created=True``, ``recovered=True`` (our POST committed). Absent → POST again, within the retry
           policy. When the budget runs out, the key is looked up one last time; the error is ``retryable`` and says
           the order was not found (a later run looks it up again before posting, so nothing can double).
        """
        system, source_id = payload.get("SourceTransactionSystem"), payload.get("SourceTransactionId")
        if system in (None, "") or source_id in (None, ""):
            raise FusionError("a sales order needs SourceTransactionSystem and SourceTransactionId (its idempotency "
                              "key)", reason_class="invalid_data", path="/SourceTransactionId")
        key = order_key(str(system), str(source_id))
        found = self._lookup_order(key)
        if found is not None:
            return _create_result(found, key, created=False, attempts=0)
        label = f"POST {ORDERS} ({key})"
        posts = 0

        def attempt(remaining: float) -> CreateResult:
            nonlocal posts
            if posts:  # the last POST's outcome is unknown: never POST again before the key has been looked up
                found = self._lookup_order(key)
                if found is not None:
                    log.info("%s: the order exists after an uncertain POST; that POST committed", label)
                    return _create_result(found, key, created=True, attempts=posts, recovered=True)
            posts += 1
            try:
                reply = self._request("POST", ORDERS, body=dict(payload), idempotent=False)
            except FusionError as err:
                if err.reason_class == "duplicate":
                    found = self._lookup_order(key)
                    if found is not None:
                        return _create_result(found, key, created=False, attempts=posts)
                elif err.retryable:
                    log.warning("%s: outcome unknown (%s); looking the key up before any retry", label, err.message)
                raise
            data = reply.data if isinstance(reply.data, dict) else {}
            if data.get("HeaderId") is None:  # echo suppressed or unexpected: read it back
                data = self._lookup_order(key) or data
            return _create_result(data, key, created=True, attempts=posts)

        def give_up(gave_up: GaveUp) -> CreateResult:
            found = self._lookup_order(key)
            if found is not None:
                return _create_result(found, key, created=True, attempts=posts, recovered=True)
            final = self._http.gave_up(gave_up, label)
            raise FusionError(f"{final.message} The key {key} was looked up after the last attempt and does not "
                              "exist: the order was not created.", reason_class="retryable",
                              status=final.status, request=label, details=final.details) from None

        return self._http.retrying(label, attempt, give_up=give_up)

    def cancel_sales_order(self, key: str, reason: str, *, reason_code: str = CANCEL_REASON_CODE) -> CancelResult:
        """Cancel the whole order with OrderKey ``key`` (``SYS:ID``), once, whatever the network does.

        Order Hub cancels through a revision of the order: a POST with the same source key, a higher
        ``SourceTransactionRevisionNumber`` and a ``CancelReasonCode`` (see ``sandbox/oracle/contract.py``; the
        exact attributes are [VERIFY] on a pod). So the POST is not repeatable blindly, and each try is settled
        the way :meth:`create_sales_order` settles its own:

        1. Read the order: absent → ``mapping_missing`` error (404); already CANCELED → ``cancelled=False``.
        2. POST the cancelling revision. A refusal (a line shipped, the order closed) raises Oracle's classified 400,
           usually ``business_rule``: what shipped needs a return (RMA), not a cancellation.
        3. No answer, timeout, 429/5xx: read the order again before any new POST; CANCELED → done (``recovered``).
           Past the retry policy the error is ``retryable`` and says the order is not cancelled.
        """
        label = f"POST {ORDERS} cancel ({key})"
        current = self.get_item(ORDERS, key, fields=CANCEL_LOOKUP_FIELDS)
        if current is None:
            raise FusionError(f"{label}: no sales order has the key {key} (or the integration user cannot see its "
                              "business unit): nothing to cancel", reason_class="mapping_missing", status=404,
                              request=label)
        if current.get("StatusCode") == CANCELED:
            return _cancel_result(current, key, cancelled=False, attempts=0)
        revision = int(current.get("SourceTransactionRevisionNumber") or 1) + 1
        payload: dict[str, Any] = {k: current[k] for k in ("SourceTransactionSystem", "SourceTransactionId",
                                                           "SourceTransactionNumber", "BusinessUnitId",
                                                           "TransactionalCurrencyCode") if current.get(k) is not None}
        payload.update(SourceTransactionRevisionNumber=revision, CancelReasonCode=reason_code,
                       CancelReason=(reason or "")[:CANCEL_REASON_MAX], SubmittedFlag=True)
        posts = 0

        def reread() -> dict | None:
            self.stats.bump("order_lookups")
            found = self.get_item(ORDERS, key, fields=ORDER_LOOKUP_FIELDS)
            return found if found is not None and found.get("StatusCode") == CANCELED else None

        def attempt(remaining: float) -> CancelResult:
            nonlocal posts
            if posts:  # the last POST's outcome is unknown: read before sending the revision again
                done = reread()
                if done is not None:
                    return _cancel_result(done, key, cancelled=True, attempts=posts, recovered=True)
            posts += 1
            reply = self._request("POST", ORDERS, body=payload, idempotent=False)
            data = reply.data if isinstance(reply.data, dict) else {}
            if data.get("StatusCode") != CANCELED:  # echo suppressed or unexpected: read it back
                data = reread() or data
            return _cancel_result(data, key, cancelled=True, attempts=posts)

        def give_up(gave_up: GaveUp) -> CancelResult:
            done = reread()
            if done is not None:
                return _cancel_result(done, key, cancelled=True, attempts=posts, recovered=True)
            final = self._http.gave_up(gave_up, label)
            raise FusionError(f"{final.message} The order {key} was read after the last attempt and is not "
                              "cancelled.", reason_class="retryable", status=final.status, request=label,
                              details=final.details) from None

        return self._http.retrying(label, attempt, give_up=give_up)

    def submit_order(self, key: str) -> dict:
        """Submit a draft order (``PATCH {"SubmittedFlag": true}``); setting a flag is safe to retry."""
        return self.patch(f"{ORDERS}/{quote(key, safe=':')}", {"SubmittedFlag": True}, idempotent=True)

    # ---------------------------------------------------------------------------------------------- flow reads

    def onhand_balances(self, organization_code: str, item_numbers: Iterable[str] | None = None, *,
                        chunk_size: int = 40, fields: str | None = None) -> Iterator[dict]:
        """``inventoryOnhandBalances`` rows of one organization, for ``item_numbers`` (chunked ``in`` filters) or
        all items when None."""
        org = fq.eq("OrganizationCode", organization_code)
        order = "ItemNumber:asc,SubinventoryCode:asc"
        if item_numbers is None:
            yield from self.iter_collection("inventoryOnhandBalances", q=org, fields=fields, order_by=order)
            return
        for chunk in batched(sorted(set(item_numbers)), chunk_size):
            yield from self.iter_collection("inventoryOnhandBalances", q=org & fq.in_("ItemNumber", chunk),
                                            fields=fields, order_by=order)

    def price_lists(self, q: Q | str | None = None) -> Iterator[dict]:
        """``priceLists`` headers (PriceListId, PriceListName, CurrencyCode, StatusCode, …)."""
        yield from self.iter_collection("priceLists", q=q, order_by="PriceListId:asc")

    def price_list_charges(self, price_list_id: int | str, item_numbers: Iterable[str] | None = None, *,
                           chunk_size: int = 40) -> Iterator[dict]:
        """Items of a price list, each with its complete ``charges`` list (``BasePrice``, dates) (§1.5)."""
        path = f"priceLists/{quote(str(price_list_id), safe='')}/child/items"
        filters: list[Q | None] = [None]
        if item_numbers is not None:
            filters = [fq.in_("Item", chunk) for chunk in batched(sorted(set(item_numbers)), chunk_size)]
        for flt in filters:
            for row in self.iter_collection(path, q=flt, expand="charges", order_by="PriceListItemId:asc"):
                row["charges"] = self._child_rows(row, "charges", f"{path}/{row.get('PriceListItemId')}")
                yield row

    def shipment_lines_changed_since(self, since: dt.datetime | str, until: dt.datetime | str | None = None, *,
                                     q: Q | None = None, fields: str | None = None,
                                     after: tuple[Any, Any] | None = None, limit: int = 500) -> Iterator[dict]:
        """``shipmentLines`` with ``since < LastUpdateDate <= until`` (tracking numbers, shipped quantities).

        Like every ``*_changed_since`` read: keyset paging on ``(LastUpdateDate, id)`` (``fusion_keyset.py``), so
        rows updated during the read are not skipped; ``after=(LastUpdateDate, id)`` resumes after that row;
        ``limit`` is the page size.
        """
        yield from keyset.iter_changed(self, "shipmentLines", since, until, key="ShipmentLine", q=q, fields=fields,
                                       after=after, limit=limit)

    def invoices_changed_since(self, since: dt.datetime | str, until: dt.datetime | str | None = None, *,
                               q: Q | None = None, with_lines: bool = True,
                               after: tuple[Any, Any] | None = None, limit: int = 500) -> Iterator[dict]:
        """``receivablesInvoices`` changed in the window, each with its complete ``receivablesInvoiceLines``."""
        accessor = "receivablesInvoiceLines"
        for row in keyset.iter_changed(self, "receivablesInvoices", since, until, key="CustomerTransactionId", q=q,
                                       expand=accessor if with_lines else None, after=after, limit=limit):
            if with_lines:
                row[accessor] = self._child_rows(row, accessor,
                                                 f"receivablesInvoices/{row.get('CustomerTransactionId')}")
            yield row

    def receipts_changed_since(self, since: dt.datetime | str, until: dt.datetime | str | None = None, *,
                               q: Q | None = None, after: tuple[Any, Any] | None = None,
                               limit: int = 500) -> Iterator[dict]:
        """``standardReceipts`` changed in the window."""
        yield from keyset.iter_changed(self, "standardReceipts", since, until, key="StandardReceiptId", q=q,
                                       after=after, limit=limit)

    def orders_changed_since(self, since: dt.datetime | str, until: dt.datetime | str | None = None, *,
                             source_system: str | None = "PSHOP", fields: str | None = None,
                             with_lines: bool = False, q: Q | None = None,
                             after: tuple[Any, Any] | None = None, limit: int = 500) -> Iterator[dict]:
        """``salesOrdersForOrderHub`` changed in the window (of ``source_system`` unless None) (§3.2).

        ``with_lines`` expands ``lines`` (complete list) unless ``fields`` is given, which wins over expand in ADF:
        then name the children in it (``HeaderId,StatusCode;lines:LineId,StatusCode``).
        """
        flt = fq.and_(fq.eq("SourceTransactionSystem", source_system), q) if source_system else q
        expand = "lines" if with_lines and fields is None else None
        for row in keyset.iter_changed(self, ORDERS, since, until, key="HeaderId", q=flt, fields=fields,
                                       expand=expand, after=after, limit=limit):
            if "lines" in row:
                row["lines"] = self._child_rows(row, "lines", f"{ORDERS}/{row.get('HeaderId')}")
            yield row

    def search_accounts(self, q: Q | str | None = None, *, fields: str | None = None,
                        **equals: Any) -> Iterator[dict]:
        """CX ``accounts`` matching ``q`` and ``Attr=value`` keyword equalities (e.g. ``PartyNumber="1006"``)."""
        if isinstance(q, str):
            if equals:
                raise ValueError("give either a q string or Q/keyword filters, not both")
            flt: Q | str | None = q
        elif equals or q is not None:
            flt = fq.and_(*(fq.eq(k, v) for k, v in equals.items()), q)
        else:
            flt = None
        yield from self.iter_collection("accounts", q=flt, fields=fields, order_by="PartyId:asc")

    def accounts_by_reference(self, source_system: str, references: Iterable[str | int], *,
                              fields: str | None = None, chunk_size: int = 100) -> Iterator[dict]:
        """CX ``accounts`` carrying ``SourceSystem = source_system`` and one of ``references`` as
        ``SourceSystemReferenceValue``: one request per ``chunk_size`` references (``in`` lists)."""
        refs = sorted({str(r) for r in references if r not in (None, "")})
        for chunk in batched(refs, chunk_size):
            yield from self.iter_collection(
                "accounts", q=fq.eq("SourceSystem", source_system) & fq.in_("SourceSystemReferenceValue", chunk),
                fields=fields, order_by="PartyId:asc")

    def accounts_by_email(self, emails: Iterable[str], *, fields: str | None = None,
                          max_filter_chars: int = 4000) -> Iterator[dict]:
        """CX ``accounts`` whose ``EmailAddress``, trimmed and case-folded, equals one of ``emails`` (compared the
        same way), however Oracle spells it (``" Jane.Doe@X.com "``).

        ADF has no trim, so the filter is ``UPPER(EmailAddress) like '%JANE.DOE@X.COM%' or …`` (rowmatch,
        framework 2+), each request's filter kept under ``max_filter_chars`` characters (URL limits); what the
        wildcards let through besides is dropped here. Characters beyond ASCII become ``%`` in the pattern, since not
        every backend upper-cases them alike.
        """
        if self.framework_version < fq.ROWMATCH_MIN_VERSION:
            raise fq.QueryError("accounts_by_email needs REST framework 2+ (rowmatch UPPER and like); the client "
                                f"sends {self.framework_version}")
        wanted = sorted({e.strip().casefold() for e in emails if e and e.strip()})
        if fields is not None and "EmailAddress" not in fields.split(","):
            fields = f"{fields},EmailAddress"
        filters: list[list[str]] = [[]]
        size = 0
        for email in wanted:
            pattern = "".join(c if c.isascii() else "%" for c in email.upper())
            term = f"UPPER(EmailAddress) like {fq.literal('%' + pattern + '%')}"
            if filters[-1] and size + len(term) + 4 > max_filter_chars:
                filters.append([])
                size = 0
            filters[-1].append(term)
            size += len(term) + 4
        wanted_set, seen = set(wanted), set()
        for terms in filters:
            if not terms:
                continue
            for row in self.iter_collection("accounts", q=" or ".join(terms), fields=fields, order_by="PartyId:asc"):
                key = row.get("PartyId", row.get("PartyNumber"))
                if str(row.get("EmailAddress") or "").strip().casefold() in wanted_set and key not in seen:
                    seen.add(key)
                    yield row

    def _child_rows(self, row: dict, accessor: str, item_path: str) -> list[dict]:
        """An expanded child as a complete list: a bare array (v1/v2) or a collection object (v3+), whose further
        pages are fetched when it says ``hasMore``."""
        value = row.get(accessor)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        items = list(value.get("items") or [])
        if value.get("hasMore"):
            items = self.collection(f"{item_path}/child/{accessor}")
        return items


# ------------------------------------------------------------------------------------------------- helpers


def _create_result(data: Mapping[str, Any], key: str, *, created: bool, attempts: int,
                   recovered: bool = False) -> CreateResult:
    header = data.get("HeaderId")
    number = data.get("OrderNumber")
    return CreateResult(int(header) if header is not None else None, None if number is None else str(number),
                        data.get("StatusCode"), created, key, attempts, recovered)


def _cancel_result(data: Mapping[str, Any], key: str, *, cancelled: bool, attempts: int,
                   recovered: bool = False) -> CancelResult:
    header = data.get("HeaderId")
    number = data.get("OrderNumber")
    return CancelResult(key, int(header) if header is not None else None, None if number is None else str(number),
                        data.get("StatusCode"), cancelled, attempts, recovered)


def _clean(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if params is None:
        return None
    return {k: str(v) for k, v in params.items() if v is not None}



