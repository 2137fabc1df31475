"""The HTTP face of the emulator: routing, authentication, output format and headers as 8.1.2 answers.

``create_app()`` is an application factory so uvicorn can start several worker processes, each reading
its configuration from the environment and sharing one store (as PHP-FPM workers share MySQL).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import request_response

from prestaoracle.sandbox.prestashop import clock, query, reader, render, store
from prestaoracle.sandbox.prestashop.errors import EmptyResponse, PhpFatal, WSError, did_you_mean
from prestaoracle.sandbox.prestashop.schema import ALL_SHOP_RESOURCES, RESOURCES, Resource, key_permissions
from prestaoracle.sandbox.prestashop.writes import Writer, parse_body

if TYPE_CHECKING:
    from prestaoracle.sandbox.faults import InjectedFault

log = logging.getLogger(__name__)

ENV_DB_URL = "PRESTAORACLE_PS_DB_URL"
REALM = (
    'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as the login. '
    'No password required."'
)
PHP_POWERED = "PHP/8.2.36"
KNOWN_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
XML_TYPE = ("Content-type", "text/xml;charset=utf-8")
JSON_TYPE = ("Content-Type", "application/json")


@dataclass
class Settings:
    ws_key: str
    shop_name: str
    version: str
    timezone: ZoneInfo
    permissions: dict[str, tuple[str, ...]]  # resource -> methods granted to the key


@dataclass
class Answer:
    status: int
    body: str | None
    json: bool
    sha1: bool = True


def _output_is_json(request: Request, params: dict[str, str]) -> bool:
    # Precedence as WebserviceRequest::getOutputObject; the value is compared case-sensitively.
    for value in (
        request.headers.get("io-format"),
        request.headers.get("output-format"),
        params.get("output_format"),
        params.get("io_format"),
    ):
        if value is not None:
            return value == "JSON"
    return False


def _key_of(request: Request, params: dict[str, str]) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user = base64.b64decode(auth[6:].strip()).decode("utf-8", "replace").split(":", 1)[0]
        except ValueError:
            user = ""
        if user:
            return user
    return params.get("ws_key")


class Shop:
    """Answers one webservice request against the store."""

    def __init__(self, engine: sa.Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock.ShopClock(engine, settings.timezone)

    def handle(self, method: str, path: str, params: dict[str, str], body: bytes, base: str,
               as_json: bool, now: datetime | None = None) -> Answer:
        """One request; ``now`` is the shop clock's instant for it (read here when the caller has none)."""
        parts = [p for p in path.split("/") if p]
        permissions = self.settings.permissions
        if not parts:
            granted = [(RESOURCES[n], permissions[n]) for n in sorted(permissions)]
            return Answer(200, render.xml_api_index(granted, base, self.settings.shop_name), False)
        name = parts[0]
        if name not in ALL_SHOP_RESOURCES:
            listed = ", ".join(f'"{r}"' for r in ALL_SHOP_RESOURCES)
            raise WSError(400, (27, f'Resource of type "{name}" does not exists. Did you mean: '
                                    f'"{did_you_mean(name, list(ALL_SHOP_RESOURCES))}"? The full list is: {listed}'))
        if name not in permissions:
            raise WSError(401, (26, f'Resource of type "{name}" is not allowed with this authentication key'))
        res = RESOURCES[name]
        if method not in res.methods:
            raise WSError(405, (101, f"Method {method} is not allowed for the resource {name}"))
        if method not in permissions[name]:
            raise WSError(405, (25, f"Method {method} is not allowed for the resource {name} with this "
                                    "authentication key"))
        obj_id = parts[1] if len(parts) > 1 else None
        if method in ("GET", "HEAD"):
            return self._get(res, obj_id, params, base, as_json)
        stamp = clock.wall(now or self.clock.now(), self.settings.timezone)
        if method == "DELETE":
            return self._delete(res, obj_id, params, stamp)
        entities = parse_body(body)
        with store.begin_write(self.engine) as conn:
            writer = Writer(conn, res, stamp)
            if method == "POST":
                records, status = writer.post(entities), 201
            else:
                records, status = writer.update(entities, patch=method == "PATCH"), 200
        rec = records[-1]
        return Answer(status, render.json_single(rec) if as_json else render.xml_single(rec, base), as_json)

    def _get(self, res: Resource, obj_id: str | None, params: dict[str, str], base: str, as_json: bool) -> Answer:
        if "schema" in params:
            if params["schema"] not in ("blank", "synopsis"):
                raise WSError(400, (28, "Please select a schema of type 'synopsis' to get the whole schema "
                                        "informations (which fields are required, which kind of content...) or "
                                        "'blank' to get an empty schema to fill before using POST request"))
            return Answer(200, render.xml_single(reader.blank_record(res), base, blank=True), False)
        table = store.TABLES[res.name]
        with self.engine.connect() as conn:
            if obj_id is not None:
                return self._get_one(conn, res, obj_id, params, base, as_json)
            q = query.parse_list_query(params, res)
            order = query.order_by(q.sort, table, res, q.conditions)
            if order is None:
                rows = []  # the real query fails in MySQL and the shop swallows the error: an empty list
            else:
                stmt = sa.select(table)
                for cond in query.to_sql(q.conditions, table, res):
                    stmt = stmt.where(cond)
                # Without a sort MySQL returns index order; ties in a sort are broken the same way here.
                stmt = stmt.order_by(*order, *(table.c[f] for f in res.natural_order))
                if q.limit is not None:
                    stmt = stmt.offset(q.limit[0]).limit(q.limit[1])
                rows = list(conn.execute(stmt))
            display = q.display
            if display.ids_only:
                records = [render.Record(res, [(res.fields[0], r.id)]) for r in rows]
            elif display.full:
                records = reader.build_records(conn, res, rows)
            else:
                records = reader.build_records(conn, res, rows, display.fields, display.associations)
        if as_json:
            return Answer(200, render.json_list(res, records), True)
        return Answer(200, render.xml_list(res, records, base, ids_only=display.ids_only), False)

    def _get_one(self, conn: sa.Connection, res: Resource, obj_id: str, params: dict[str, str], base: str,
                 as_json: bool) -> Answer:
        has_display = "display" in params
        display = query.parse_display(params.get("display"), res)
        table = store.TABLES[res.name]
        row = conn.execute(sa.select(table).where(table.c.id == _int(obj_id))).first()
        if row is None:
            raise EmptyResponse(404)
        if display.fields and not display.full:
            rec = reader.build_records(conn, res, [row], display.fields, display.associations)[0]
        else:
            rec = reader.build_records(conn, res, [row])[0]
        if as_json:
            # Any display parameter turns the single object into a one-element list (the renderer checks $_GET).
            return Answer(200, render.json_list(res, [rec]) if has_display else render.json_single(rec), True)
        return Answer(200, render.xml_single(rec, base), False)

    def _delete(self, res: Resource, obj_id: str | None, params: dict[str, str], stamp: str) -> Answer:
        raw = obj_id or params.get("id", "").strip("[]")
        ids = [_int(x) for x in raw.replace("|", ",").split(",") if x.strip()]
        with store.begin_write(self.engine) as conn:
            Writer(conn, res, stamp).delete(ids)
        return Answer(200, None, False, sha1=False)


def _int(text: str) -> int:
    digits = ""
    for ch in text.strip():
        if not ch.isdigit():
            break
        digits += ch
    return int(digits or 0)


def _headers(answer: Answer, started: float, version: str, body: bytes, access_time: str
             ) -> list[tuple[str, str]]:
    headers = [("Access-Time", access_time), ("X-Powered-By", "PrestaShop Webservice"), ("PSWS-Version", version)]
    if answer.body is None:
        headers.append(("Content-Type", ""))
    else:
        headers.append(JSON_TYPE if answer.json else XML_TYPE)
    headers.append(("Execution-Time", f"{time.perf_counter() - started:.3f}"))
    if answer.body is not None and answer.sha1:
        headers.append(("Content-Sha1", hashlib.sha1(body).hexdigest()))
    return headers


def _response(status: int, body: bytes, headers: list[tuple[str, str]], head: bool = False) -> Response:
    resp = Response(content=b"" if head else body, status_code=status)
    resp.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if not head:
        resp.raw_headers.append((b"content-length", str(len(body)).encode()))
    return resp


def make_endpoint(shop: Shop):
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        now: datetime | None = request.scope.get("state", {}).get(clock.STATE_KEY)
        access_time = str(int(now.timestamp() if now is not None else time.time()))  # PHP's time()
        params = dict(parse_qsl(request.url.query, keep_blank_values=True))
        method = params.get("ps_method", request.method).upper() if request.method == "POST" else request.method
        as_json = _output_is_json(request, params)
        key = _key_of(request, params)
        if key is None:
            return _response(401, b"401 Unauthorized", [("X-Powered-By", PHP_POWERED), ("WWW-Authenticate", REALM),
                                                        ("Content-type", "text/html; charset=utf-8")])
        if key != shop.settings.ws_key:
            if key == "":
                errors = [(17, "Authentication key is empty")]
            elif len(key) != 32:
                errors = [(18, "Invalid authentication key format")]
            else:
                errors = [(20, "Authentification key is not active"), (21, "No permission for this authentication key")]
            body = (render.json_errors(errors) if as_json else render.xml_errors(errors)).encode()
            headers = [("WWW-Authenticate", REALM), ("Access-Time", access_time),
                       ("X-Powered-By", "PrestaShop Webservice"), ("PSWS-Version", "0"),
                       JSON_TYPE if as_json else XML_TYPE, ("Execution-Time", "0")]
            return _response(401, body, headers)
        if method not in KNOWN_METHODS:
            errors = [(23, f"Method {method} is not valid")]
            return _error_response(errors, 405, as_json, started, shop.settings.version, access_time)
        path = request.path_params.get("path", "")
        base = f"{request.url.scheme}://{request.url.netloc}/api/"
        body = await request.body()
        try:
            answer = await run_in_threadpool(shop.handle, method, path, params, body, base, as_json, now)
        except WSError as err:
            return _error_response(err.errors, err.status, as_json, started, shop.settings.version, access_time)
        except EmptyResponse as empty:
            answer = Answer(empty.status, None, as_json)
        except PhpFatal:
            return _response(500, b"", [("X-Powered-By", PHP_POWERED), ("Content-type", "text/html; charset=utf-8")])
        except Exception as exc:  # noqa: BLE001 - whatever fails, the client gets the shop's error document
            log.exception("PrestaShop sandbox failed on %s %s", method, request.url.path)
            return _error_response(_internal_errors(exc, method), 500, as_json, started, shop.settings.version,
                                   access_time)
        payload = (answer.body or "").encode("utf-8")
        if answer.body is not None and request.headers.get("local-content-sha1") == hashlib.sha1(payload).hexdigest():
            return _response(304, b"", _headers(Answer(304, None, as_json), started, shop.settings.version, b"",
                                                access_time))
        headers = _headers(answer, started, shop.settings.version, payload, access_time)
        return _response(answer.status, payload, headers, head=request.method == "HEAD")

    return endpoint


def _error_response(errors: list[tuple[int, str]], status: int, as_json: bool, started: float,
                    version: str, access_time: str) -> Response:
    body = (render.json_errors(errors) if as_json else render.xml_errors(errors)).encode("utf-8")
    headers = _headers(Answer(status, "", as_json, sha1=False), started, version, body, access_time)
    return _response(status, body, headers)


def _internal_errors(exc: Exception, method: str) -> list[tuple[int, str]]:
    """A failure under the webservice as the shop reports one: a database error is ``Db::displayError``'s code 97,
    and a write that could not be saved adds code 46."""
    if isinstance(exc, sa.exc.DBAPIError):
        errors = [(97, f"[SQL Error] {exc.orig}")]
    else:
        errors = [(2, f"[PHP Error #1] {type(exc).__name__}: {exc} (sandbox failure, see its log)")]
    if method not in ("GET", "HEAD"):
        errors.append((46, "Unable to save resource"))
    return errors


class _AnyMethod:
    """An ASGI endpoint, so the router passes every verb through: the shop itself answers unknown ones (code 23)."""

    def __init__(self, endpoint) -> None:
        self.app = request_response(endpoint)

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


def create_app(db_url: str | None = None) -> FastAPI:
    """The emulator app over an already loaded store (see ``prestaoracle.sandbox.prestashop.server``)."""
    url = db_url or os.environ[ENV_DB_URL]
    engine = store.create_engine(url)
    cfg = store.get_settings(engine)
    granted = cfg["ws_resources"].split(",") if cfg.get("ws_resources") else list(RESOURCES)
    shop = Shop(engine, Settings(ws_key=cfg["ws_key"], shop_name=cfg.get("shop_name", "PrestaShop"),
                                 version=cfg.get("version", "8.1.2"),
                                 timezone=clock.zone(cfg.get("shop_timezone", clock.DEFAULT_TIMEZONE)),
                                 permissions=key_permissions(granted)))
    app = FastAPI(title="PrestaShop webservice sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    endpoint = _AnyMethod(make_endpoint(shop))
    app.add_route("/api", endpoint, include_in_schema=False)
    app.add_route("/api/{path:path}", endpoint, include_in_schema=False)
    app.include_router(clock.clock_router(shop.clock))
    _install_faults(app, engine, cfg)
    # Outermost: the clock is read once per request, before any fault, and every answer carries its Date.
    app.add_middleware(clock.ClockMiddleware, clock=shop.clock)
    return app


def _install_faults(app: FastAPI, engine: sa.Engine, cfg: dict[str, str]) -> None:
    """Transport faults and the ``/sandbox/injected`` list, when the sandbox was started with ``--faults``."""
    from prestaoracle.sandbox import faults

    log = faults.InjectedLog(engine)
    app.include_router(faults.injected_router(log))
    profile = faults.parse_faults(cfg.get("faults", "none"))
    app.add_middleware(faults.FaultMiddleware, profile=profile, seed=int(cfg.get("seed", "0")), engine=engine,
                       prefixes=("/api/",), log=log, error_body=_fault_error_body)


_FAULT_MESSAGES = {
    429: "Too Many Requests (injected by sandbox)",
    500: "Internal Server Error (injected by sandbox)",
    503: "Service Unavailable (injected by sandbox)",
}


def _fault_error_body(fault: InjectedFault, scope: MutableMapping[str, Any]) -> tuple[str, bytes]:
    """An injected error as the shop's error document, in the format the request asked for (XML unless JSON)."""
    request = Request(scope)
    as_json = _output_is_json(request, dict(parse_qsl(request.url.query, keep_blank_values=True)))
    status = fault.status or 500
    if fault.kind == "lost_reply":
        # The write is saved, then a PHP warning while rendering turns the answer into a 500 (reference §7.2, 2-15).
        errors = [(3, '[PHP Warning #2] Undefined array key "id_lang" (injected by sandbox after the write was saved)')]
    else:
        errors = [(status, _FAULT_MESSAGES.get(status, "Error (injected by sandbox)"))]
    body = render.json_errors(errors) if as_json else render.xml_errors(errors)
    return (JSON_TYPE if as_json else XML_TYPE)[1], body.encode("utf-8")
