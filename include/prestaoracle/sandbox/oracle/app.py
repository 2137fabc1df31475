"""The HTTP face of the Fusion emulator: token endpoint, ADF resources, batch, sandbox controls and faults.

``create_app()`` is a factory so uvicorn can run several worker processes over one store.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import sqlalchemy as sa
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from prestaoracle.sandbox import faults
from prestaoracle.sandbox.oracle import adf, auth, clock, contract, differences, lifecycle, orders, rest, store
from prestaoracle.sandbox.oracle.ebs_link import EbsLink
from prestaoracle.sandbox.oracle.resources import CRM, FSCM, RESOURCES, VERSIONS, Resource

ENV_DB_URL = "PRESTAORACLE_ORACLE_DB_URL"
_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")
COLLECTION_TYPE = "application/vnd.oracle.adf.resourcecollection+json"
ITEM_TYPE = "application/vnd.oracle.adf.resourceitem+json"
JSON_BODY_TYPES = ("application/json", ITEM_TYPE, "application/vnd.oracle.adf.resourceitem+json")
BATCH_TYPE = "application/vnd.oracle.adf.batch+json"
ACCEPTABLE = ("*/*", "application/*", "application/json", "application/vnd.oracle.adf")
ORACLE_FAULTS = {  # faults only an ERP pod shows: rate per request they apply to
    "none": {"timeout_after_commit": 0.0, "token_expiry": 0.0},
    "flaky": {"timeout_after_commit": 0.15, "token_expiry": 0.05},
    "hostile": {"timeout_after_commit": 0.15, "token_expiry": 0.05},
}


def token_life(seed: int, serial: int | None, rate: float) -> int | None:
    """How many uses the ``serial``-th issued token survives, or None when it lives out its TTL.

    "Token expired mid-run": a seeded share (``rate`` x 10) of tokens is revoked on use number 3..22. The choice
    depends on the seed and the token's issue number only, so the same run of requests replays identically.
    """
    if serial is None or orders.stable_unit(seed, "token", serial, "dies") >= rate * 10:
        return None
    return 3 + int(orders.stable_unit(seed, "token", serial, "life") * 20)


class Pod:
    """One emulated Fusion pod over a store."""

    def __init__(self, engine: sa.Engine, cfg: dict[str, str]) -> None:
        self.engine = engine
        self.seed = int(cfg.get("seed", "0"))
        self.creds = auth.Credentials(cfg["client_id"], cfg["client_secret"], int(cfg.get("token_ttl", "3600")))
        self.profile_name = faults.parse_faults(cfg.get("faults", "none")).name
        self.rates = ORACLE_FAULTS.get(self.profile_name, ORACLE_FAULTS["none"])
        self.counter = faults.AttemptCounter(engine)
        self.log = faults.InjectedLog(engine)

    # ---------------------------------------------------------------------------------------------- dispatch

    def handle(self, method: str, root: str, rest_path: str, params: dict[str, str], headers: dict[str, str],
               body: bytes, host: str) -> tuple[int, dict[str, str], bytes]:
        version = contract.DEFAULT_FRAMEWORK_VERSION
        accept = headers.get("accept")
        try:
            version = adf.framework_version(headers)  # a bad header is a 400 (answered as version 1 would be)
            user = self._authenticate(method, f"/{root}/resources/{rest_path}", headers)
            with self.engine.begin() as conn:
                lifecycle.catch_up(conn, self.seed, clock.now(conn))
            parts = [p for p in rest_path.split("/") if p]
            if not parts or parts[0] not in VERSIONS:
                raise adf.AdfError(404, "The requested resource version doesn't exist.")
            base = f"{host}/{root}/resources/{parts[0]}"
            _check_accept(accept)
            if len(parts) == 1:
                if method != "POST":
                    raise adf.AdfError(405, f"Method {method} isn't allowed on the resource catalog.")
                status, batch_headers, answer = self._batch(root, base, version, headers, body, user)
                if status == 200 and self._batch_timeout_after_commit(answer):
                    return 504, {"Content-Type": "text/html"}, (b"<html><body><h1>504 Gateway Time-out</h1>"
                                                                b"</body></html>")
                return status, batch_headers, answer
            status, out_headers, payload, content_type = self._in_transaction(
                lambda conn: self.dispatch(conn, method, root, parts[1:], params, headers, body, base, version, user))
            if self._timeout_after_commit(method, parts[1:], payload):
                return 504, {"Content-Type": "text/html"}, b"<html><body><h1>504 Gateway Time-out</h1></body></html>"
            out = b"" if payload is None else json.dumps(payload).encode()
            return status, {"Content-Type": content_type, **out_headers}, out
        except auth.AuthError as err:
            return 401, {"WWW-Authenticate": err.challenge, "Content-Type": "text/plain"}, b"Unauthorized"
        except adf.AdfError as err:
            status, ctype, out = adf.render_error(err, version, accept)
            return status, {"Content-Type": ctype}, out
        except Exception as exc:  # noqa: BLE001 - whatever escapes is still answered the way the pod answers
            _LOG.exception("%s %s/%s failed", method, root, rest_path)
            status, ctype, out = adf.render_error(server_error(exc), version, accept)
            return status, {"Content-Type": ctype}, out

    def _in_transaction(self, work: Callable[[sa.Connection], _T]) -> _T:
        """Run ``work`` in a transaction; once more after losing a unique-key race to another worker.

        The second run sees the winner's row, so the loser gets the answer a later request would get (the
        duplicate's 400, or the upsert's update) instead of the database's constraint error.
        """
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except sa.exc.IntegrityError:
            with self.engine.begin() as conn:
                return work(conn)

    def _authenticate(self, method: str, path: str, headers: dict[str, str]) -> str:
        authorization = headers.get("authorization", "")
        user = auth.check(self.engine, self.creds, authorization)
        if authorization.lower().startswith("bearer ") and self.rates["token_expiry"]:
            life = token_life(self.seed, auth.serial(self.engine, authorization), self.rates["token_expiry"])
            if life is not None:
                uses = self.counter.next(f"token {authorization[7:].strip()}")
                if uses == life:
                    auth.revoke(self.engine, authorization)
                    self.log.add_transport(faults.InjectedFault("token_expiry", uses, status=401),
                                           f"{method} {path}")
                    raise auth.AuthError("token expired")
        return user

    def _timeout_after_commit(self, method: str, parts: list[str], payload: Any) -> bool:
        """The classic duplicate trap: the order (or an account carrying a source system reference, which the
        integration creates once by that reference) is created, but the caller gets a 504."""
        if method != "POST" or not isinstance(payload, dict):
            return False
        if parts == ["salesOrdersForOrderHub"]:
            key = f"{payload.get('SourceTransactionSystem')}:{payload.get('SourceTransactionId')}"
        elif parts == ["accounts"] and payload.get("SourceSystem") and payload.get("SourceSystemReferenceValue"):
            key = f"accounts {payload['SourceSystem']}:{payload['SourceSystemReferenceValue']}"
        else:
            return False
        if orders.stable_unit(self.seed, key, "504") >= self.rates["timeout_after_commit"]:
            return False
        if self.counter.next(f"504 {key}") != 1:
            return False
        self.log.add_transport(faults.InjectedFault("timeout_after_commit", 1, status=504), f"POST {key}")
        return True

    def _batch_timeout_after_commit(self, answer: bytes) -> bool:
        """A committed batch that created orders loses its answer the same way (a long batch is the likelier one to
        outlive the gateway): decided by its first created order's key, once per key, like a single create."""
        for part in json.loads(answer).get("parts") or []:
            payload = part.get("payload")
            if part.get("operation") not in ("create", "upsert") or not isinstance(payload, dict) \
                    or str(part.get("path", "")).strip("/") != "salesOrdersForOrderHub":
                continue
            key = f"{payload.get('SourceTransactionSystem')}:{payload.get('SourceTransactionId')}"
            if orders.stable_unit(self.seed, key, "504") >= self.rates["timeout_after_commit"]:
                return False
            if self.counter.next(f"504 {key}") != 1:
                return False
            self.log.add_transport(faults.InjectedFault("timeout_after_commit", 1, status=504),
                                   f"POST batch {key}")
            return True
        return False

    def dispatch(self, conn: sa.Connection, method: str, root: str, parts: list[str], params: dict[str, str],
                 headers: dict[str, str], body: bytes, base: str, version: int,
                 user: str) -> tuple[int, dict[str, str], Any, str]:
        """One request inside a transaction: ``parts`` is the path after the version."""
        ctx = rest.Ctx(base, version, params)
        name = parts[0]
        if root == FSCM and name == "availableQuantityDetails":
            return self._available(conn, method, body, headers)
        res = RESOURCES.get((root, name))
        if res is None:
            raise adf.AdfError(404, f"The resource {name} doesn't exist.")
        if len(parts) == 1:
            if method == "GET":
                return 200, {}, rest.collection(conn, res, ctx, name), COLLECTION_TYPE
            if method == "POST" and "POST" in res.methods:
                return self._create(conn, res, headers, body, ctx, user)
            raise adf.AdfError(405, f"Method {method} isn't allowed on {name}.")
        row = self._find(conn, res, parts[1])
        path = name
        key: Any = parts[1]
        parent: Resource = res
        parent_href: str | None = None
        i = 2
        while i < len(parts):
            if parts[i] != "child" or i + 1 >= len(parts):
                raise adf.AdfError(404, "The requested URL doesn't name a resource.")
            child = parent.child(parts[i + 1])
            if child is None:
                raise adf.AdfError(404, f"The child {parts[i + 1]} doesn't exist.")
            parent_href = adf.item_href(ctx.base, path, key)
            path = f"{path}/{adf.item_href('', '', key).lstrip('/')}/child/{child.accessor}"
            scope = child.resource.table.c[child.fk] == row[child.parent_column]
            if i + 2 >= len(parts):
                if method != "GET":
                    raise adf.AdfError(405, f"Method {method} isn't allowed on {child.accessor}.")
                return 200, {}, rest.collection(conn, child.resource, ctx, path, scope, parent_href=parent_href), \
                    COLLECTION_TYPE
            t = child.resource.table
            key = parts[i + 2]
            found = conn.execute(sa.select(t).where(scope, t.c[child.resource.key] == _key_value(child.resource, key),
                                                    *[t.c[c] == v for c, v in child.resource.where])).first()
            if found is None:
                raise adf.AdfError(404, f"No {child.accessor} item with key {key} exists.")
            row, parent = found._mapping, child.resource
            i += 3
        if method == "GET":
            item = rest.item(conn, parent, row, ctx, path, key, parent_href=parent_href)
            return 200, {"ETag": rest.change_indicator(row)}, item, ITEM_TYPE
        if parent is not res:
            raise adf.AdfError(405, f"Method {method} isn't allowed on a child item here.")
        return self._modify(conn, res, row, method, headers, body, ctx, path, key, user)

    def _find(self, conn: sa.Connection, res: Resource, key: str) -> Any:
        if res.name == "salesOrdersForOrderHub":
            row = orders.find_by_key(conn, key)
        else:
            t = res.table
            try:
                value = _key_value(res, key)
            except ValueError:
                value = None
            row = conn.execute(sa.select(t).where(t.c[res.key] == value)).first() if value is not None else None
        if row is None:
            raise adf.AdfError(404, f"The {res.name} item with key {key} doesn't exist or you can't access it.")
        return row._mapping

    # ---------------------------------------------------------------------------------------------- writes

    def _create(self, conn: sa.Connection, res: Resource, headers: dict[str, str], body: bytes, ctx: rest.Ctx,
                user: str) -> tuple[int, dict[str, str], Any, str]:
        payload = _json_body(headers, body)
        now = clock.now(conn)
        if res.name == "salesOrdersForOrderHub":
            upsert = headers.get("upsert-mode", "").lower() == "true"
            row, created = orders.create(conn, payload, now, self.seed, user, upsert=upsert)
            key = f"{row.SourceTransactionSystem}:{row.SourceTransactionId}"
        elif res.name == "accounts":
            row, created = _create_account(conn, payload, now), True
            key = row.PartyNumber
        else:
            row, created = _create_receipt(conn, payload, now, user), True
            key = row.StandardReceiptId
        item = rest.item(conn, res, row._mapping, ctx, res.name, key)
        location = adf.item_href(ctx.base, res.name, key)
        return (201 if created else 200), {"Location": location, "ETag": rest.change_indicator(row._mapping)}, \
            item, ITEM_TYPE

    def _modify(self, conn: sa.Connection, res: Resource, row: Any, method: str, headers: dict[str, str],
                body: bytes, ctx: rest.Ctx, path: str, key: Any, user: str) -> tuple[int, dict[str, str], Any, str]:
        if method not in res.methods or method not in ("PATCH", "DELETE"):
            raise adf.AdfError(405, f"Method {method} isn't allowed on {res.name} items.")
        if_match = headers.get("if-match")
        if if_match and if_match.strip('"') != rest.change_indicator(row):
            raise adf.AdfError(412, "The item was changed by another user; read it again before you change it.")
        now = clock.now(conn)
        if method == "DELETE":
            if res.name != "salesOrdersForOrderHub":
                raise adf.AdfError(405, f"Method DELETE isn't allowed on {res.name} items.")
            orders.delete(conn, row)
            return 204, {}, None, ITEM_TYPE
        payload = _json_body(headers, body)
        if res.name == "salesOrdersForOrderHub":
            new = orders.patch(conn, row, payload, now, self.seed, user)
        else:
            new = _patch_plain(conn, res, row, payload, now)
        item = rest.item(conn, res, new._mapping, ctx, path, key)
        return 200, {"ETag": rest.change_indicator(new._mapping)}, item, ITEM_TYPE

    def _available(self, conn: sa.Connection, method: str, body: bytes,
                   headers: dict[str, str]) -> tuple[int, dict[str, str], Any, str]:
        """``availableQuantityDetails``: a request/response resource, answered with on-hand, ATT and ATR."""
        if method != "POST":
            raise adf.AdfError(405, "availableQuantityDetails only answers POST.")
        payload = _json_body(headers, body)
        org, sku = payload.get("OrganizationCode"), payload.get("ItemNumber")
        if not org or not sku:
            raise adf.AdfError(400, "OrganizationCode and ItemNumber are required.", path="/ItemNumber")
        t = store.ONHAND
        row = conn.execute(sa.select(t).where(t.c.OrganizationCode == org, t.c.ItemNumber == sku)).first()
        if row is None:
            out = {**payload, "ReturnStatus": "ERROR", "ReturnMessage": f"The item {sku} doesn't exist in {org}."}
            return 201, {}, out, ITEM_TYPE
        available = max(0.0, row.PrimaryQuantity - (row._Reserved or 0))
        out = {**payload, "QuantityOnhand": row.PrimaryQuantity, "AvailableToTransact": available,
               "AvailableToReserve": available, "PrimaryUnitOfMeasure": "Each", "ReturnStatus": "SUCCESS"}
        return 201, {}, out, ITEM_TYPE

    def _batch(self, root: str, base: str, version: int, headers: dict[str, str], body: bytes,
               user: str) -> tuple[int, dict[str, str], bytes]:
        """Parts run in order in one transaction: the first failure rolls everything back."""
        if not headers.get("content-type", "").startswith(BATCH_TYPE):
            raise adf.AdfError(415, f"A batch request must be sent as {BATCH_TYPE}.")
        try:
            parts = json.loads(body)["parts"]
            assert isinstance(parts, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            raise adf.AdfError(400, 'The batch body must be {"parts": [...]}.') from None
        methods = {"create": "POST", "get": "GET", "update": "PATCH", "delete": "DELETE", "upsert": "POST"}

        def run(conn: sa.Connection) -> list[dict[str, Any]]:
            results: list[dict[str, Any]] = []
            for part in parts:
                op = part.get("operation")
                if op not in methods:
                    raise _PartError(part, adf.AdfError(400, f"The batch operation {op} isn't supported."))
                part_headers = {"content-type": "application/json",
                                **({"upsert-mode": "true"} if op == "upsert" else {})}
                segs = [p for p in str(part.get("path", "")).split("?")[0].split("/") if p]
                try:
                    _s, _h, payload, _c = self.dispatch(
                        conn, methods[op], root, segs, {}, part_headers,
                        json.dumps(part.get("payload") or {}).encode(), base, version, user)
                except adf.AdfError as err:
                    raise _PartError(part, err) from None
                results.append({"id": part.get("id"), "path": part.get("path"), "operation": op,
                                "payload": payload})
            return results

        try:
            results = self._in_transaction(run)
        except _PartError as failed:
            _s, _c, text = adf.render_error(failed.error, max(version, 4), "application/json")
            results = [{"id": failed.part.get("id"), "path": failed.part.get("path"),
                        "operation": failed.part.get("operation"), "payload": json.loads(text)}]
            return failed.error.status, {"Content-Type": BATCH_TYPE}, json.dumps({"parts": results}).encode()
        return 200, {"Content-Type": BATCH_TYPE}, json.dumps({"parts": results}).encode()


def server_error(exc: BaseException) -> adf.AdfError:
    """The 500 for an unexpected failure: ADF's error document naming what failed, never the traceback."""
    return adf.AdfError(500, f"The request failed on the server ({type(exc).__name__}); the pod's log has the "
                             "details. Retry it; if it fails again, report it with the time of the request.")


class _PartError(Exception):
    def __init__(self, part: dict, error: adf.AdfError) -> None:
        super().__init__(error.detail)
        self.part, self.error = part, error


def _check_accept(accept: str | None) -> None:
    if not accept:
        return
    kinds = [a.split(";")[0].strip().lower() for a in accept.split(",")]
    if not any(k.startswith(ACCEPTABLE) for k in kinds):
        raise adf.AdfError(406, f"The media type {accept} can't be produced; ask for JSON.")


def _json_body(headers: dict[str, str], body: bytes) -> Any:
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in JSON_BODY_TYPES:
        raise adf.AdfError(415, f"The media type {ctype or '(none)'} isn't supported; send application/json.")
    try:
        return json.loads(body or b"{}")
    except ValueError:
        raise adf.AdfError(400, "The request body isn't valid JSON.") from None


def _key_value(res: Resource, key: str) -> Any:
    column = res.table.c[res.key]
    return int(key) if isinstance(column.type, sa.BigInteger | sa.Integer) else key


def _create_account(conn: sa.Connection, payload: Any, now: Any) -> Any:
    if not isinstance(payload, dict) or not payload.get("OrganizationName"):
        raise adf.AdfError(400, "A value is required for the attribute OrganizationName.", path="/OrganizationName")
    t = store.ACCOUNTS
    party_id = store.next_ids(conn, "PartyId")[0]
    cols = {c.name for c in t.columns if not c.name.startswith("_")}
    values = {k: v for k, v in payload.items() if k in cols}
    stamp = clock.iso(now)
    # Address1 and AddressLine1 name the same primary address line (the emulator's name and the CX name).
    values["Address1"] = values["AddressLine1"] = values.get("AddressLine1") or values.get("Address1")
    values.update(PartyId=party_id, PartyNumber=str(party_id), Status=values.get("Status") or "A",
                  CreationDate=stamp, LastUpdateDate=stamp)
    conn.execute(t.insert().values(**values))
    return conn.execute(sa.select(t).where(t.c.PartyId == party_id)).one()


def _create_receipt(conn: sa.Connection, payload: Any, now: Any, user: str) -> Any:
    required = ("ReceiptNumber", "ReceiptMethod", "BusinessUnit", "Amount", "Currency")
    if not isinstance(payload, dict):
        raise adf.AdfError(400, "The request body must be a JSON object.")
    for attr in required:
        if payload.get(attr) in (None, ""):
            raise adf.AdfError(400, f"A value is required for the attribute {attr}.", path=f"/{attr}")
    payer = _paying_account(conn, payload.get("CustomerAccountNumber"))
    t = store.RECEIPTS
    receipt_id = store.next_ids(conn, "StandardReceiptId")[0]
    stamp = clock.iso(now)
    cols = {c.name for c in t.columns if not c.name.startswith("_")}
    values = {k: v for k, v in payload.items() if k in cols}
    day = payload.get("ReceiptDate") or stamp[:10]
    values.update(StandardReceiptId=receipt_id, Amount=float(payload["Amount"]),
                  UnappliedAmount=float(payload["Amount"]), AccountedAmount=float(payload["Amount"]),
                  State="Confirmed", Status="UNAPP", ReceiptDate=day, AccountingDate=stamp[:10],
                  MaturityDate=values.get("MaturityDate") or day,
                  RemittanceBankDepositDate=values.get("RemittanceBankDepositDate") or day,
                  RemittanceBankAllowOverride=values.get("RemittanceBankAllowOverride") or "N",
                  CreatedBy=user, LastUpdatedBy=user, CreationDate=stamp, LastUpdateDate=stamp)
    if payer is not None:
        values["CustomerName"] = payer.OrganizationName
    conn.execute(t.insert().values(**values))
    return conn.execute(sa.select(t).where(t.c.StandardReceiptId == receipt_id)).one()


def _paying_account(conn: sa.Connection, account_number: Any) -> Any:
    """The account a receipt names by ``CustomerAccountNumber`` (None when it names none); unknown is a 400."""
    if account_number in (None, ""):
        return None
    a = store.ACCOUNTS
    found = conn.execute(sa.select(a).where(a.c.AccountNumber == str(account_number))).first()
    if found is None:
        raise adf.AdfError(400, f"The value of the attribute CustomerAccountNumber isn't valid: no customer account "
                                f"{account_number} exists.", path="/CustomerAccountNumber")
    return found


def _patch_plain(conn: sa.Connection, res: Resource, row: Any, payload: Any, now: Any) -> Any:
    if not isinstance(payload, dict):
        raise adf.AdfError(400, "The request body must be a JSON object.")
    for k in payload:
        attr = res.attr_map.get(k)
        if attr is None or not attr.updatable or k in (res.key, "CreationDate", "LastUpdateDate"):
            raise adf.AdfError(400, f"The attribute {k} can't be updated.", path=f"/{k}")
    t = res.table
    conn.execute(t.update().where(t.c[res.key] == row[res.key]).values(**payload, LastUpdateDate=clock.iso(now)))
    return conn.execute(sa.select(t).where(t.c[res.key] == row[res.key])).one()


def _transport_error_body(fault: faults.InjectedFault, _scope: Any) -> tuple[str, bytes]:
    """Body of an injected 429/500/503: plain text, as the pod's gateway answers (§1.3: clients treat them as text)."""
    status = fault.status or 500
    reason = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Error")
    return "text/plain", f"{status} {reason}".encode()


def make_app(pod: Pod, profile: faults.FaultProfile, ebs: EbsLink | None = None) -> FastAPI:
    """The pod's routes; with ``ebs`` (an EBS stand-in runs next to the pod) also ``POST /sandbox/ebs/import``."""
    app = FastAPI(title="Oracle Fusion sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/oauth2/v1/token")
    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        try:
            body = await run_in_threadpool(auth.issue_token, pod.engine, pod.creds,
                                           request.headers.get("authorization", ""), form)
        except auth.TokenError as err:
            return JSONResponse(err.body, status_code=err.status)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def resources(request: Request) -> Response:
        if request.path_params["root"] not in (FSCM, CRM):
            return Response(b"Not Found", status_code=404, media_type="text/plain")
        params = dict(parse_qsl(request.url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in request.headers.items()}
        method = request.method
        if method == "POST" and headers.get("x-http-method-override"):
            method = headers["x-http-method-override"].upper()
        host = f"{request.url.scheme}://{request.url.netloc}"
        status, out_headers, body = await run_in_threadpool(
            pod.handle, method, request.path_params["root"], request.path_params["rest"], params, headers,
            await request.body(), host)
        ctype = out_headers.pop("Content-Type", ITEM_TYPE)
        return Response(body, status_code=status, headers=out_headers, media_type=ctype)

    app.add_api_route("/{root}/resources/{rest:path}", resources,
                      methods=["GET", "POST", "PATCH", "DELETE", "PUT"], include_in_schema=False)

    @app.get("/sandbox/clock")
    def get_clock() -> dict:
        with pod.engine.connect() as conn:
            return {"now": clock.iso(clock.now(conn))}

    @app.post("/sandbox/clock/advance")
    def advance(minutes: float = 0) -> dict:
        with pod.engine.begin() as conn:
            new = clock.advance(conn, minutes)
            steps = lifecycle.catch_up(conn, pod.seed, new)
        out: dict[str, Any] = {"now": clock.iso(new), "steps": steps}
        if ebs is not None:
            # The stand-in lives on the same clock: what two weeks ship, invoice and pay there is done on return.
            out["ebs"] = ebs.catch_up()
        return out

    @app.get("/sandbox/differences")
    def get_differences() -> Response:
        """What the pod (and its EBS stand-in) were seeded to disagree on, and the rules order creates apply."""
        try:
            return JSONResponse(differences.load(pod.engine))
        except LookupError as err:
            return JSONResponse({"detail": str(err)}, status_code=409)

    @app.post("/sandbox/ebs/import")
    def ebs_import() -> Response:
        """Run EBS Order Import now (pod time), as the concurrent manager does on its schedule."""
        if ebs is None:
            return JSONResponse({"detail": "This pod runs without an EBS stand-in: start the sandbox with "
                                           "--ebs-db-url URL to have one."}, status_code=404)
        return JSONResponse(ebs.import_orders())

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        """The sandbox routes' last resort; resource requests are answered inside ``Pod.handle`` already."""
        try:
            version = adf.framework_version(dict(request.headers))
        except adf.AdfError:
            version = contract.DEFAULT_FRAMEWORK_VERSION
        status, ctype, out = adf.render_error(server_error(exc), version, request.headers.get("accept"))
        return Response(out, status_code=status, media_type=ctype)

    app.include_router(faults.injected_router(pod.log))
    if profile.transport_active:
        app.add_middleware(faults.FaultMiddleware, profile=profile, seed=pod.seed, engine=pod.engine,
                           prefixes=(f"/{FSCM}/", f"/{CRM}/"), log=pod.log, error_body=_transport_error_body,
                           lost_reply=False)  # the pod loses replies its own way: 504 after an order commits
    return app


def create_app(db_url: str | None = None) -> FastAPI:
    engine = store.create_engine(db_url or os.environ[ENV_DB_URL])
    cfg = store.get_settings(engine)
    profile = faults.parse_faults(cfg.get("faults", "none"))
    return make_app(Pod(engine, cfg), profile, EbsLink.from_settings(engine, cfg))
