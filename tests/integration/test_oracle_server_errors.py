"""A failure the pod did not foresee is still answered in ADF's error format (§1.3 "Error responses", §2.4).

The store is broken under a running pod (a table renamed away, as a botched migration or a dropped connection
would), on SQLite and PostgreSQL: resource requests and the sandbox's own routes answer 500 with the error
document of the request's framework version, naming what failed without leaking SQL or a traceback, and the pod
serves again once the store is back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from conftest import free_port
from support.oracle_pod import V4_JSON, Pod
from support.oracle_store import PodStore, pod_store
from support.sandbox import run_sandbox

from prestaoracle.sandbox.oracle import contract

USER, SECRET = "prestaoracle-sandbox", "SERVER-ERRORS-SECRET"


@pytest.fixture(scope="module", params=[
    pytest.param("sqlite", marks=pytest.mark.xdist_group("oracle_errors_sqlite")),
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.xdist_group("oracle_errors_pg")]),
])
def pod(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pod, PodStore]]:
    workdir: Path = tmp_path_factory.mktemp(f"oracle-errors-{request.param}")
    with pod_store(request.param, workdir, "prestaoracle_oracle_errors") as store, run_sandbox(
            "--only", "oracle", "--oracle-port", str(free_port()), "--orders", "40", "--seed", "8",
            "--end", "2026-03-01", "--oracle-client-secret", SECRET, "--workers", "2", *store.args) as base:
        yield Pod(base, USER, SECRET, backend=request.param), store


@contextlib.contextmanager
def table_missing(store: PodStore, table: str) -> Iterator[None]:
    """Rename ``table`` away under the running pod, and back afterwards."""
    engine = sa.create_engine(store.url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE {table} RENAME TO {table}_gone"))
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE {table}_gone RENAME TO {table}"))
        engine.dispose()


def assert_no_leak(text: str) -> None:
    lowered = text.lower()
    assert "select" not in lowered and "traceback" not in lowered and "fusion_" not in lowered, text


def test_resource_failure_is_an_adf_error_in_each_framework_version(pod: tuple[Pod, PodStore]) -> None:
    """§2.4: with framework 4 and a JSON Accept the 500 is the ``o:errorDetails`` document; by default it is the
    plain-text message ADF sends, not the web framework's bare "Internal Server Error"."""
    client, store = pod
    with table_missing(store, "fusion_items"):
        v4 = client.get("/itemsV2", headers=V4_JSON)
        plain = client.get("/itemsV2")
    assert v4.status_code == 500 and v4.headers["Content-Type"].startswith(contract.JSON_ERROR_CONTENT_TYPE)
    doc = v4.json()
    assert (doc["title"], doc["status"]) == ("Internal Server Error", "500")
    (detail,) = doc["o:errorDetails"]
    assert "failed on the server" in detail["detail"] and "log" in detail["detail"]
    assert_no_leak(v4.text)
    assert plain.status_code == 500 and plain.headers["Content-Type"].startswith(contract.PLAIN_ERROR_CONTENT_TYPE)
    assert plain.text == detail["detail"]
    assert_no_leak(plain.text)
    assert client.get("/itemsV2", limit=1).status_code == 200


def test_sandbox_route_failure_is_an_adf_error(pod: tuple[Pod, PodStore]) -> None:
    """The sandbox's own routes (the clock) fail the same way when the store does."""
    client, store = pod
    with table_missing(store, "fusion_settings"):
        clock = requests.get(f"{client.base}/sandbox/clock", headers=V4_JSON, timeout=30)
        resource = client.get("/itemsV2", headers=V4_JSON)
    for resp in (clock, resource):
        assert resp.status_code == 500 and resp.headers["Content-Type"].startswith(contract.JSON_ERROR_CONTENT_TYPE)
        assert resp.json()["o:errorDetails"][0]["detail"].startswith("The request failed on the server")
        assert_no_leak(resp.text)
    assert requests.get(f"{client.base}/sandbox/clock", timeout=30).status_code == 200
