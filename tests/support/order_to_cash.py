"""Harness for the order-to-cash proofs: the product wired to real sandboxes through ``AIRFLOW_CONN_*`` variables,
and readers of what the systems really hold, straight from their own stores.

The assertions of the end-to-end and exactly-once tests never trust the product's account of itself: Oracle's orders
are read from the Fusion pod's SQLite store or the EBS stand-in's tables, the shop's orders, states and tracking
numbers from the shop's store, and the faults from ``/sandbox/injected``. Only the ledger and the dead letters are
the product's (they are what it claims, compared against those stores).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import yaml

KEY = "ORDERTOCASHE2EKEYORDERTOCASHE2E1"
CLIENT_ID, SECRET = "o2c-test", "o2c-test-secret"
FAST_RETRIES = {"backoff": 0.05, "max_backoff": 0.5, "jitter": 0.05, "retry_after_max": 0.5}
"""Same attempts and budget as the product's default policy, shorter waits: what the waits are worth is the retry
module's tests' business; here they would only cost minutes (a hostile 429 asks for up to 8 s)."""
SOUND_KINDS = frozenset({"unicode_names", "zero_dates"})
"""Injected bad-row kinds that are not defects: an accented name or a 0000-00-00 date must go through."""
DUPLICATE_TEXTS = ("already exists (order number", "More than one interface order")
"""How EBS Order Import words a second copy of an order (stand-in contract OE_DUPLICATE_ORDER / _IFACE_ORDER)."""


# ------------------------------------------------------------------------------------------------ wiring


@dataclass
class Systems:
    """Where the sandboxes answer and keep their data."""

    shop: str
    pod: str
    data_dir: Path
    ebs_url: str | None = None

    @property
    def shop_db(self) -> str:
        return f"sqlite:///{self.data_dir / 'prestashop.sqlite'}"

    @property
    def pod_db(self) -> str:
        return f"sqlite:///{self.data_dir / 'oracle.sqlite'}"


def sandbox_args(*, orders: int, seed: int, faults: str, data_dir: Path, shop_port: int, pod_port: int,
                 ebs_url: str | None = None, end: str = "2026-11-01", days: int = 30) -> list[str]:
    """Arguments of ``prestaoracle sandbox`` for one shop and its Oracle (EBS stand-in too when ``ebs_url``)."""
    args = ["--prestashop-port", str(shop_port), "--oracle-port", str(pod_port), "--orders", str(orders),
            "--seed", str(seed), "--ws-key", KEY, "--oracle-client-id", CLIENT_ID, "--oracle-client-secret", SECRET,
            "--faults", faults, "--data-dir", str(data_dir), "--end", end, "--days", str(days), "--workers", "1"]
    if ebs_url:
        # Order Import runs when the test says (POST /sandbox/ebs/import), as a scheduled program would between runs.
        args += ["--ebs-db-url", ebs_url, "--ebs-import-every", "0"]
    return args


def product_env(systems: Systems, *, staging_url: str, workdir: Path, target: str,
                batch_size: int | None = None) -> dict[str, str]:
    """The environment a deployment gives the product: connections as ``AIRFLOW_CONN_*`` JSON, settings."""
    env = {
        "AIRFLOW_CONN_PRESTASHOP_DEFAULT": json.dumps({"conn_type": "prestashop", "host": systems.shop,
                                                       "password": KEY}),
        "AIRFLOW_CONN_ORACLE_FUSION_DEFAULT": json.dumps({"conn_type": "oraclefusion", "host": systems.pod,
                                                          "login": CLIENT_ID, "password": SECRET}),
        "AIRFLOW_CONN_STAGING_DEFAULT": json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": staging_url}}),
        "PRESTAORACLE_REPORTS_DIR": str(workdir / "reports"),
        "PRESTAORACLE_GX_ROOT": str(workdir / "gx"),
        "PRESTAORACLE_ORACLE_TARGET": target,
    }
    if systems.ebs_url:
        env["AIRFLOW_CONN_ORACLE_EBS_DEFAULT"] = json.dumps({"conn_type": "generic",
                                                            "extra": {"sqlalchemy_url": systems.ebs_url}})
    if batch_size is not None:
        env["PRESTAORACLE_ORDER_CONFIG"] = str(order_config(workdir, batch_size=batch_size))
    return env


def order_config(workdir: Path, *, batch_size: int) -> Path:
    """The packaged order-to-cash configuration with another Fusion batch size (more batches, more faults)."""
    from prestaoracle.flows.orders.config import DEFAULT_PATH

    raw = yaml.safe_load(Path(DEFAULT_PATH).read_text(encoding="utf-8"))
    raw["fusion"]["batch_size"] = batch_size
    path = workdir / f"order-config-{batch_size}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def apply_env(mp: pytest.MonkeyPatch, env: Mapping[str, str]) -> None:
    for name, value in env.items():
        mp.setenv(name, value)
    for name in ("PRESTAORACLE_ORDER_CONFIG",):
        if name not in env:
            mp.delenv(name, raising=False)


def fast_retries(mp: pytest.MonkeyPatch) -> None:
    """Shorter retry waits for the clients this process builds (attempts, budget and every retry rule unchanged)."""
    from prestaoracle.oracle import fusion
    from prestaoracle.prestashop.client import PrestaShopClient
    from prestaoracle.retry import RetryPolicy

    mp.setitem(PrestaShopClient.__init__.__kwdefaults__, "retries", RetryPolicy(**FAST_RETRIES))
    mp.setattr(fusion, "RetryPolicy", lambda *a, **k: RetryPolicy(*a, **{**FAST_RETRIES, **k}))


# ------------------------------------------------------------------------------------------------ observing the writes


@dataclass
class Sent:
    """One order write the product sent to Fusion (batch POST or single create) and how Fusion answered."""

    keys: list[str]
    status: int | None = None
    reason: str | None = None


@dataclass
class FusionSpy:
    """Records every order write of the real Fusion client in this process; changes nothing.

    A write Fusion refuses as a duplicate means the product sent an order Oracle already had: the pod's unique key
    kept it from being stored twice, but the product did not know what it had done.
    """

    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, mp: pytest.MonkeyPatch) -> FusionSpy:
        from prestaoracle.oracle.errors import FusionError
        from prestaoracle.oracle.fusion import FusionClient

        spy = self
        real_batch, real_create = FusionClient.batch, FusionClient.create_sales_order

        def record(keys: list[str], call: Any) -> Any:
            entry = Sent(keys)
            with spy.lock:
                spy.sent.append(entry)
            try:
                return call()
            except FusionError as err:
                entry.status, entry.reason = err.status, err.reason_class
                raise

        def batch(client: Any, parts: Any, **kwargs: Any) -> Any:
            keys = [str(p.get("id")) for p in parts if p.get("operation") in ("create", "upsert")]
            if not keys:
                return real_batch(client, parts, **kwargs)
            return record(keys, lambda: real_batch(client, parts, **kwargs))

        def create(client: Any, payload: Any, *args: Any, **kwargs: Any) -> Any:
            return record([str(payload.get("SourceTransactionId"))],
                          lambda: real_create(client, payload, *args, **kwargs))

        mp.setattr(FusionClient, "batch", batch)
        mp.setattr(FusionClient, "create_sales_order", create)
        return self

    def duplicates(self) -> list[Sent]:
        return [s for s in self.sent if s.reason == "duplicate"]

    def answered(self, status: int) -> list[Sent]:
        return [s for s in self.sent if s.status == status]


class FileState:
    """A TaskState kept in a JSON file: what Airflow's task state store gives the next try of a killed task."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, key: str, default: Any = None) -> Any:
        return self._read().get(key, default)

    def set(self, key: str, value: Any) -> None:
        values = {**self._read(), key: value}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(values))
        os.replace(tmp, self.path)  # never half a file, even if the process dies right here

    def delete(self, key: str) -> None:
        values = self._read()
        if values.pop(key, None) is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(values))
            os.replace(tmp, self.path)


# ------------------------------------------------------------------------------------------------ sandbox control


def pod_now(pod: str) -> datetime:
    return datetime.fromisoformat(requests.get(f"{pod}/sandbox/clock", timeout=30).json()["now"])


def advance(pod: str, days: float) -> datetime:
    """Move the pod's clock (and the EBS stand-in's fulfilment): Oracle ships, bills and closes."""
    resp = requests.post(f"{pod}/sandbox/clock/advance", params={"minutes": days * 24 * 60}, timeout=600)
    resp.raise_for_status()
    return datetime.fromisoformat(resp.json()["now"])


def ebs_import(pod: str) -> dict[str, Any]:
    """Run EBS Order Import now (the concurrent program an EBS instance schedules)."""
    resp = requests.post(f"{pod}/sandbox/ebs/import", timeout=300)
    resp.raise_for_status()
    return resp.json()


def injected(base: str) -> dict[str, list[dict[str, Any]]]:
    resp = requests.get(f"{base}/sandbox/injected", timeout=60)
    resp.raise_for_status()
    return resp.json()


def differences(pod: str) -> dict[str, Any]:
    resp = requests.get(f"{pod}/sandbox/differences", timeout=60)
    resp.raise_for_status()
    return resp.json()


WRITE_FAULTS = frozenset({"timeout_after_commit", "lost_reply", "drop_connection", "http_429", "http_500",
                          "http_503"})


def write_faults(faults: list[dict[str, Any]], path_part: str) -> Counter:
    """Faults that hit writes (method not GET) whose path or key contains ``path_part``, by kind."""
    return Counter(f["kind"] for f in faults if f["method"] not in ("GET", "HEAD", "OPTIONS")
                   and f["kind"] in WRITE_FAULTS and path_part in f"{f['path']} {f.get('query') or ''}")


# ------------------------------------------------------------------------------------------------ reading the stores


@contextmanager
def engine_of(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def rows(url: str, query: str, **params: Any) -> list[sa.Row]:
    with engine_of(url) as engine, engine.connect() as conn:
        return list(conn.execute(sa.text(query), params))


def fusion_orders(systems: Systems) -> dict[str, list[dict[str, Any]]]:
    """The pod's PSHOP orders per SourceTransactionId (a list: exactly once means one element each)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows(systems.pod_db, 'SELECT "HeaderId", "OrderNumber", "SourceTransactionId", "StatusCode" '
                                  "FROM fusion_orders WHERE \"SourceTransactionSystem\" = 'PSHOP'"):
        out[str(r.SourceTransactionId)].append({"header_id": str(r.HeaderId), "number": str(r.OrderNumber),
                                                 "status": r.StatusCode})
    return dict(out)


def ebs_orders(url: str, order_source_id: int = 1001) -> dict[str, list[dict[str, Any]]]:
    """The stand-in's orders from the web shop's order source per ORIG_SYS_DOCUMENT_REF."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows(url, "SELECT header_id, order_number, orig_sys_document_ref, flow_status_code "
                       "FROM oe_order_headers_all WHERE order_source_id = :s", s=order_source_id):
        out[str(r.orig_sys_document_ref)].append({"header_id": str(r.header_id), "number": str(r.order_number),
                                                   "status": r.flow_status_code})
    return dict(out)


def oracle_orders(systems: Systems, target: str) -> dict[str, list[dict[str, Any]]]:
    return ebs_orders(systems.ebs_url or "") if target == "ebs" else fusion_orders(systems)


def ebs_duplicate_attempts(url: str) -> list[tuple[str, str]]:
    """(ref, message) of every Order Import message saying an order was sent while EBS had it (or twice)."""
    found = rows(url, "SELECT m.original_sys_document_ref AS ref, COALESCE(t.message_text, m.message_text) AS text "
                      "FROM oe_processing_msgs m LEFT JOIN oe_processing_msgs_tl t "
                      "ON t.transaction_id = m.transaction_id")
    return [(r.ref, r.text) for r in found if any(d in (r.text or "") for d in DUPLICATE_TEXTS)]


def ebs_interface_copies(url: str) -> Counter:
    """Interface header rows per ref (a second copy of one order waiting or failed would be a double send)."""
    return Counter(str(r.orig_sys_document_ref) for r in rows(
        url, "SELECT orig_sys_document_ref FROM oe_headers_iface_all"))


def fusion_shipped(systems: Systems) -> dict[str, dict[str, Any]]:
    """Per PSHOP key the pod shipped: tracking numbers, header status, line statuses."""
    orders = {r.OrderNumber: r for r in rows(
        systems.pod_db, 'SELECT "HeaderId", "OrderNumber", "SourceTransactionId", "StatusCode", "CanceledFlag" '
                        "FROM fusion_orders WHERE \"SourceTransactionSystem\" = 'PSHOP'")}
    lines: dict[Any, list[str]] = defaultdict(list)
    for r in rows(systems.pod_db, 'SELECT "HeaderId", "StatusCode" FROM fusion_order_lines'):
        lines[r.HeaderId].append(str(r.StatusCode or ""))
    out: dict[str, dict[str, Any]] = {}
    for r in rows(systems.pod_db, 'SELECT "Order", "TrackingNumber" FROM fusion_shipment_lines '
                                  "WHERE \"TrackingNumber\" IS NOT NULL AND \"TrackingNumber\" <> ''"):
        order = orders.get(r.Order)
        if order is None:
            continue
        entry = out.setdefault(str(order.SourceTransactionId), {
            "tracking": set(), "header": str(order.StatusCode or ""), "lines": lines[order.HeaderId]})
        entry["tracking"].add(str(r.TrackingNumber))
    return out


def ebs_shipped(url: str, order_source_id: int = 1001) -> dict[str, dict[str, Any]]:
    """Per web-shop ref the stand-in shipped: tracking numbers of shipped delivery details, header flow status."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows(url, "SELECT h.orig_sys_document_ref AS ref, h.flow_status_code AS flow, d.tracking_number AS num "
                       "FROM wsh_delivery_details d JOIN oe_order_headers_all h ON h.header_id = d.source_header_id "
                       "WHERE h.order_source_id = :s AND d.released_status = 'C' AND d.tracking_number IS NOT NULL "
                       "AND d.tracking_number <> ''", s=order_source_id):
        out.setdefault(str(r.ref), {"tracking": set(), "header": str(r.flow or "")})["tracking"].add(str(r.num))
    return out


def shop_orders(systems: Systems) -> dict[int, dict[str, Any]]:
    return {int(r.id): dict(r._mapping) for r in rows(systems.shop_db, "SELECT * FROM ps_orders")}


def shop_tracking(systems: Systems) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    for r in rows(systems.shop_db, "SELECT id_order, tracking_number FROM ps_order_carriers "
                                   "WHERE tracking_number IS NOT NULL AND tracking_number <> ''"):
        out[int(r.id_order)].add(str(r.tracking_number))
    return dict(out)


def shop_writes_done(systems: Systems) -> tuple[int, int]:
    """(order_histories rows, order_carriers rows): what a replay of the status flow must not add to."""
    return (rows(systems.shop_db, "SELECT count(*) AS n FROM ps_order_histories")[0].n,
            rows(systems.shop_db, "SELECT count(*) AS n FROM ps_order_carriers")[0].n)


def prediction_input(systems: Systems, ids: set[int]) -> list[dict[str, Any]]:
    """The shop's orders ``ids`` shaped for ``support.differences.predict_*`` (read from the shop's store)."""
    from support.differences import shop_orders as shape

    tables = {name: [dict(r._mapping) for r in rows(systems.shop_db, f"SELECT * FROM ps_{name}")]
              for name in ("countries", "currencies", "addresses", "order_details")}
    tables["orders"] = [dict(r._mapping) for r in rows(systems.shop_db, "SELECT * FROM ps_orders")
                        if int(r.id) in ids]
    return shape(tables)


def ebs_bindable(diff: dict[str, Any], systems: Systems) -> dict[str, Any]:
    """``diff`` with its EBS customers cut to those the product's ``match`` mode can bind, read from the stand-in.

    ``predict_ebs`` takes every customer the stand-in has as bound to its account. The resolver binds an account
    that carries the shop reference (``PRESTASHOP-<id>``, even inactive), else the only *active* account with the
    customer's e-mail (docs/order-to-cash.md, Customers); the others are booked on the catch-all account, as if EBS
    did not know them. The stand-in seeds half its accounts without the reference, so an inactive one of those is
    never bound and its orders go through on the catch-all.
    """
    fold = {int(r.id): (r.email or "").strip().casefold() for r in rows(systems.shop_db,
                                                                          "SELECT id, email FROM ps_customers")}
    accounts = {int(r.cust_account_id): r for r in rows(
        systems.ebs_url or "", "SELECT a.cust_account_id, a.status, a.orig_system_reference AS ref, p.email_address "
                               "FROM hz_cust_accounts a JOIN hz_parties p ON p.party_id = a.party_id")}
    active_by_email = Counter((a.email_address or "").strip().casefold() for a in accounts.values()
                              if a.status == "A" and a.email_address)
    kept = []
    for customer in diff["ebs"]["customers"]:
        account, cid = accounts[int(customer["CUST_ACCOUNT_ID"])], int(customer["id_customer"])
        email = (account.email_address or "").strip().casefold()
        by_reference = account.ref == f"PRESTASHOP-{cid}"
        by_email = account.status == "A" and email and email == fold.get(cid) and active_by_email[email] == 1
        if by_reference or by_email:
            kept.append(customer)
    return {**diff, "ebs": {**diff["ebs"], "customers": kept}}


def ledger(staging_url: str, target: str) -> dict[str, tuple[str, str | None, str | None]]:
    """The product's ledger for one target: key -> (outcome, target_id, target_ref)."""
    return {str(r.record_key): (r.outcome, r.target_id, r.target_ref) for r in rows(
        staging_url, "SELECT record_key, outcome, target_id, target_ref FROM sync_ledger WHERE target = :t",
        t=target)}


def order_dead_letters(staging_url: str) -> dict[int, list[dict[str, Any]]]:
    """The shop orders' dead letters (source prestashop, entity orders) per id_order."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows(staging_url, "SELECT record_key, stage, reason_class, status, message FROM dead_letters "
                               "WHERE source = 'prestashop' AND entity = 'orders'"):
        out[int(r.record_key)].append(dict(r._mapping))
    return dict(out)


def staged_orders(staging_url: str) -> dict[int, str]:
    """id_order -> dq_status of the staged orders (the quality gate's verdict)."""
    return {int(r.id_order): r.dq_status for r in rows(staging_url, "SELECT id_order, dq_status FROM ps_orders")}


def id_of(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


def utcnow() -> datetime:
    return datetime.now(UTC)
