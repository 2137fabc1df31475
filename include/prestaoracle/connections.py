"""Connections, resolved the Airflow way, and the clients built from them.

Secrets live only in Airflow connections (the metadata DB, an external secrets backend, or ``AIRFLOW_CONN_<ID>``
environment variables, JSON or URI). Inside a task the Task SDK resolves them through the Execution API; outside a
task (the CLI, the demo, a cron job) the core model reads environment, secrets backends *and* the metadata DB, which
the Task SDK alone would not (see docs/connections.md).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa

PRESTASHOP = "prestashop_default"
ORACLE_FUSION = "oracle_fusion_default"
ORACLE_EBS = "oracle_ebs_default"
STAGING = "staging_default"
SMTP = "smtp_default"


class ConnectionNotConfigured(LookupError):
    """A connection id nobody defined; the message says how to define it."""


@dataclass
class Conn:
    """The parts of an Airflow connection the product reads (a plain object, so tests need no Airflow)."""

    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _in_task() -> bool:
    try:
        from airflow.sdk import get_current_context

        get_current_context()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not inside a running task"
        return False


def get(conn_id: str) -> Conn:
    """Resolve ``conn_id`` from Airflow: inside a task via the Task SDK, elsewhere via the core model."""
    try:
        if _in_task():
            from airflow.sdk import BaseHook

            c = BaseHook.get_connection(conn_id)
        else:
            os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
            from airflow.models.connection import Connection

            c = Connection.get_connection_from_secrets(conn_id)
    except Exception as exc:
        if type(exc).__name__ != "AirflowNotFoundException":
            raise
        env = f"AIRFLOW_CONN_{conn_id.upper()}"
        raise ConnectionNotConfigured(
            f"The Airflow connection {conn_id!r} is not defined. Add it in the Airflow UI (Admin → Connections), "
            f"with `airflow connections add {conn_id} …`, or as the environment variable {env} (JSON); "
            "docs/connections.md lists the fields."
        ) from None
    return Conn(conn_id, c.conn_type, c.host, c.port, c.login, c.password, c.schema, dict(c.extra_dejson or {}))


def prestashop_client(conn_id: str = PRESTASHOP, conn: Conn | None = None) -> Any:
    """A PrestaShopClient from ``host`` (shop base URL) and ``password`` (webservice key); ``extra.shop_timezone``
    (an IANA name such as ``Europe/Paris``) is the shop's time zone, read from ``PS_TIMEZONE`` when absent."""
    from prestaoracle.prestashop import PrestaShopClient

    c = conn or get(conn_id)
    if not c.host or not c.password:
        raise ConnectionNotConfigured(f"{conn_id}: set host to the shop's base URL and password to the webservice key")
    extra = c.extra
    kwargs: dict[str, Any] = {}
    for name, cast in (("timeout", float), ("page_size", int), ("max_in_flight", int), ("shop_id", int)):
        if extra.get(name) not in (None, ""):
            kwargs[name] = cast(extra[name])
    if extra.get("shop_timezone") not in (None, ""):
        kwargs["shop_timezone"] = _zone(conn_id, str(extra["shop_timezone"]))
    return PrestaShopClient(_url(c.host, c.port), c.password, **kwargs)


def _zone(conn_id: str, name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConnectionNotConfigured(
            f"{conn_id}: shop_timezone {name!r} is not a time zone name; use the shop's PS_TIMEZONE value, an IANA "
            'name such as "Europe/Paris" or "America/New_York"'
        ) from None


def extract_overlap(conn_id: str, conn: Conn | None = None) -> timedelta | None:
    """The connection's ``extra.overlap_minutes`` (how far before the watermark extraction re-reads), or None for
    the flow's default (PrestaShop 5 minutes, Oracle Fusion 30)."""
    c = conn or get(conn_id)
    value = c.extra.get("overlap_minutes")
    if value in (None, ""):
        return None
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        minutes = -1.0
    if minutes < 0:
        raise ConnectionNotConfigured(f"{conn_id}: overlap_minutes must be a number of minutes >= 0, got {value!r}")
    return timedelta(minutes=minutes)


def fusion_client(conn_id: str = ORACLE_FUSION, conn: Conn | None = None) -> Any:
    """A FusionClient: OAuth2 client credentials by default, Basic when ``extra.auth`` is ``basic``."""
    from prestaoracle.oracle.fusion import BasicAuth, FusionClient, OAuth2ClientCredentials

    c = conn or get(conn_id)
    if not c.host or not c.login or not c.password:
        raise ConnectionNotConfigured(f"{conn_id}: set host to the pod's base URL, login/password to the OAuth "
                                      "client id/secret (or the Basic user/password with extra auth=basic)")
    base = _url(c.host, c.port)
    extra = c.extra
    if extra.get("auth", "oauth2") == "basic":
        auth: Any = BasicAuth(c.login, c.password)
    else:
        auth = OAuth2ClientCredentials(extra.get("token_url") or f"{base}/oauth2/v1/token", c.login, c.password,
                                       scope=extra.get("scope"))
    kwargs: dict[str, Any] = {}
    if extra.get("timeout") not in (None, ""):
        kwargs["timeout"] = float(extra["timeout"])
    return FusionClient(base, auth=auth, **kwargs)


def ebs_engine(conn_id: str = ORACLE_EBS, conn: Conn | None = None) -> sa.Engine:
    """SQLAlchemy engine for EBS: ``oracle+oracledb`` in production, any URL in ``extra.sqlalchemy_url`` for tests."""
    import sqlalchemy as sa

    c = conn or get(conn_id)
    if c.extra.get("sqlalchemy_url"):
        return sa.create_engine(c.extra["sqlalchemy_url"], pool_pre_ping=True)
    service = c.extra.get("service_name") or c.schema
    if not c.host or not service:
        raise ConnectionNotConfigured(f"{conn_id}: set host, port and the service name (schema or extra.service_name)")
    url = sa.engine.URL.create("oracle+oracledb", username=c.login, password=c.password, host=c.host,
                               port=c.port or 1521, query={"service_name": service})
    return sa.create_engine(url, pool_pre_ping=True)


def staging_url(conn_id: str = STAGING, conn: Conn | None = None) -> str:
    """The staging database: SQLite (``host`` = file path) or PostgreSQL (host, port, login, password, schema = db)."""
    import sqlalchemy as sa

    c = conn or get(conn_id)
    if c.extra.get("sqlalchemy_url"):
        return str(c.extra["sqlalchemy_url"])
    if c.conn_type == "sqlite":
        if not c.host:
            raise ConnectionNotConfigured(f"{conn_id}: a sqlite connection needs host = the database file path")
        return f"sqlite:///{c.host}"
    if c.conn_type in ("postgres", "postgresql"):
        return sa.engine.URL.create("postgresql+psycopg", username=c.login, password=c.password, host=c.host,
                                    port=c.port or 5432, database=c.schema or "postgres").render_as_string(False)
    raise ConnectionNotConfigured(f"{conn_id}: conn_type must be sqlite or postgres, not {c.conn_type!r}")


@contextlib.contextmanager
def staging(conn_id: str = STAGING, *, upgrade: bool = True) -> Iterator[Any]:
    """The staging database of ``conn_id`` for one step (migrated to the head first unless ``upgrade=False``),
    disposed of afterwards: what every flow step opens."""
    from prestaoracle.staging import connect

    opened = connect(staging_url(conn_id), upgrade=upgrade)
    try:
        yield opened
    finally:
        opened.dispose()


def _url(host: str, port: int | None) -> str:
    base = host if "://" in host else f"http://{host}"
    if port and base.count(":") < 2:
        base = f"{base}:{port}"
    return base.rstrip("/")
